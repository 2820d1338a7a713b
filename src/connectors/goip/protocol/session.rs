//! The secure session's lifecycle (spec section 1b), pure: when to open a session, the
//! next `seq`, expiry, and detecting which auth-hash order the device accepts. The clock
//! is passed in. A new agent process always opens a new session, so `seq` never repeats
//! within one, even across restarts, without persisting it.

use super::crypto::AuthOrder;

/// Reopen this long before the device would expire the session.
const EXPIRY_MARGIN_MS: u64 = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    id: Option<String>,
    /// The auth sent to open the session: every body key of the session is made with it.
    open_auth: String,
    seq: u64,
    lifetime_ms: u64,
    expires_at_ms: u64,
    /// The auth order the device accepted; None until detected.
    order: Option<AuthOrder>,
}

impl Session {
    /// True when a request needs a (new) session first.
    pub fn needs_open(&self, now_ms: u64) -> bool {
        self.id.is_none() || now_ms + EXPIRY_MARGIN_MS >= self.expires_at_ms
    }

    /// The device answered `crypt_sess.json` (sent with `open_auth`) with `id`, valid
    /// `expires_secs` after last use.
    pub fn opened(&mut self, id: String, open_auth: String, expires_secs: u64, now_ms: u64) {
        self.id = Some(id);
        self.open_auth = open_auth;
        self.seq = 0;
        self.lifetime_ms = expires_secs * 1000;
        self.expires_at_ms = now_ms + self.lifetime_ms;
    }

    /// The session id and the `seq` for the next request (strictly increasing); each use
    /// renews the lifetime. None when there is no open session.
    pub fn next(&mut self, now_ms: u64) -> Option<(String, u64)> {
        let id = self.id.clone()?;
        self.seq += 1;
        self.expires_at_ms = now_ms + self.lifetime_ms;
        Some((id, self.seq))
    }

    /// An auth error or expiry: the next request opens a new session.
    pub fn invalidate(&mut self) {
        self.id = None;
    }

    /// The orders to try for a request: the detected one, or both (seed order first).
    pub fn orders(&self) -> Vec<AuthOrder> {
        match self.order {
            Some(o) => vec![o],
            None => vec![AuthOrder::PathThenSeq, AuthOrder::SeqThenPath],
        }
    }

    /// The device accepted a request signed with `order`: use it from now on.
    pub fn detected(&mut self, order: AuthOrder) {
        self.order = Some(order);
    }

    /// The auth the session was opened with.
    pub fn open_auth(&self) -> &str {
        &self.open_auth
    }

    pub fn order(&self) -> Option<AuthOrder> {
        self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_opened_used_with_increasing_seq_and_renewed_by_use() {
        let mut s = Session::default();
        assert!(s.needs_open(0));
        assert_eq!(s.next(0), None);
        s.opened("S".into(), "A0".into(), 180, 1_000);
        assert!(!s.needs_open(1_000));
        assert_eq!(s.next(2_000), Some(("S".into(), 1)));
        assert_eq!(s.next(100_000), Some(("S".into(), 2)));
        // Used at 100 s: valid until 280 s, reopened 10 s before.
        assert!(!s.needs_open(260_000));
        assert!(s.needs_open(271_000));
    }

    #[test]
    fn an_invalidated_session_is_reopened_with_seq_from_one() {
        let mut s = Session::default();
        s.opened("A".into(), "A0".into(), 180, 0);
        s.next(0);
        s.next(0);
        s.invalidate();
        assert!(s.needs_open(0));
        s.opened("B".into(), "A1".into(), 180, 0);
        assert_eq!(s.next(0), Some(("B".into(), 1)));
    }

    #[test]
    fn both_auth_orders_are_tried_until_one_is_detected() {
        let mut s = Session::default();
        assert_eq!(s.orders(), vec![AuthOrder::PathThenSeq, AuthOrder::SeqThenPath]);
        s.detected(AuthOrder::SeqThenPath);
        assert_eq!(s.orders(), vec![AuthOrder::SeqThenPath]);
        s.invalidate();
        assert_eq!(s.order(), Some(AuthOrder::SeqThenPath), "the order is a property of the device, kept");
    }
}
