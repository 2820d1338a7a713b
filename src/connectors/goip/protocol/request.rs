//! Building the gateway's HTTP requests (every call of the spec), pure: path, query and
//! body, with plain or secure-session authentication and body encryption applied.
//! The clock and the nonce are not needed here: the session layer passes `seq` in.

use super::crypto::{self, AuthOrder, Cipher};
use serde_json::{Value, json};

/// How a request proves who sends it.
#[derive(Debug, Clone)]
pub enum Auth<'a> {
    /// `username` and `password` in the query of every request.
    Plain { user: &'a str, password: &'a str },
    /// Inside a secure session: `seq`, `session`, `auth` instead of the password.
    Session {
        user: &'a str,
        password: &'a str,
        session: &'a str,
        /// The auth sent to `/crypt_sess.json` when the session was opened (the body key's).
        open_auth: &'a str,
        seq: u64,
        order: AuthOrder,
        cipher: Cipher,
    },
}

/// An HTTP request to send to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub post: bool,
    pub path: String,
    /// Already percent-encoded `k=v` pairs joined with `&`.
    pub query: String,
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// `path?query`, the part after `http://host:port`.
    pub fn target(&self) -> String {
        if self.query.is_empty() { self.path.clone() } else { format!("{}?{}", self.path, self.query) }
    }
}

/// The calls of the spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Opens a secure session (sent with the plain credentials' hash, never in a session).
    CryptSess {
        cnonce: String,
        expires: u32,
        crypt: Cipher,
    },
    /// Subscribes (`period` > 0) or cancels (`0`) status pushes to `url`.
    GetStatus {
        url: String,
        period: u32,
        all_sims: bool,
    },
    /// `goip_send_cmd`: the JSON command body (`{"type":"command","op":…}`) for the port
    /// operations, or — for `op=get`/`op=set` — no body and the parameters in the query
    /// (`op=set&sms_url=…`). Seed 004 §5.1.3 lists only lock, unlock, switch, reset, save,
    /// reboot and multiple as body ops; get/set are §5.1.2 URL parameters ("par_name(n)").
    SendCmd {
        body: Option<Value>,
        params: Vec<(String, String)>,
    },
    /// `goip_post_sms`: the whole `send-sms` body.
    PostSms {
        body: Value,
    },
    PauseSms {
        tids: Option<Vec<u64>>,
    },
    ResumeSms {
        tids: Option<Vec<u64>>,
    },
    RemoveSms {
        tids: Option<Vec<u64>>,
    },
    GetTasks {
        port: u16,
        pos: u32,
        num: u32,
        has_content: bool,
    },
    GetSms {
        sms_id: u64,
        sms_num: u32,
        sms_del: bool,
    },
    GetSmsStat {
        ports: String,
        slots: String,
        period: u8,
    },
    GetCallStat {
        ports: String,
        slots: String,
        period: u8,
    },
}

fn tids_body(tids: &Option<Vec<u64>>) -> Value {
    match tids {
        Some(t) => json!({ "tids": t }),
        None => json!({}),
    }
}

/// Builds `call` with `auth`. `crypt_sess_path` is the device's session path (the spec
/// allows another than `/crypt_sess.json`).
pub fn build(call: &Call, auth: &Auth<'_>, crypt_sess_path: &str) -> Request {
    let (post, path, mut params, body): (bool, &str, Vec<(&str, String)>, Option<Value>) = match call {
        Call::CryptSess { .. } => (false, crypt_sess_path, vec![], None),
        Call::GetStatus { url, period, all_sims } => (
            false,
            "/goip_get_status.html",
            vec![("url", url.clone()), ("period", period.to_string()), ("all_sims", u8::from(*all_sims).to_string())],
            None,
        ),
        Call::SendCmd { body, params } => {
            (true, "/goip_send_cmd.html", params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(), body.clone())
        }
        Call::PostSms { body } => (true, "/goip_post_sms.html", vec![], Some(body.clone())),
        Call::PauseSms { tids } => (true, "/goip_pause_sms.html", vec![], Some(tids_body(tids))),
        Call::ResumeSms { tids } => (true, "/goip_resume_sms.html", vec![], Some(tids_body(tids))),
        Call::RemoveSms { tids } => (true, "/goip_remove_sms.html", vec![], Some(tids_body(tids))),
        Call::GetTasks { port, pos, num, has_content } => (
            false,
            "/goip_get_tasks.html",
            vec![
                ("port", port.to_string()),
                ("pos", pos.to_string()),
                ("num", num.to_string()),
                ("has_content", u8::from(*has_content).to_string()),
            ],
            None,
        ),
        Call::GetSms { sms_id, sms_num, sms_del } => (
            false,
            "/goip_get_sms.html",
            vec![
                ("sms_id", sms_id.to_string()),
                ("sms_num", sms_num.to_string()),
                ("sms_del", u8::from(*sms_del).to_string()),
            ],
            None,
        ),
        Call::GetSmsStat { ports, slots, period } | Call::GetCallStat { ports, slots, period } => (
            false,
            if matches!(call, Call::GetSmsStat { .. }) {
                "/goip_get_sms_stat.html"
            } else {
                "/goip_get_call_stat.html"
            },
            vec![("ports", ports.clone()), ("slots", slots.clone()), ("type", period.to_string())],
            None,
        ),
    };
    let mut body = body.map(|b| b.to_string().into_bytes());
    let mut query: Vec<(&str, String)> = Vec::new();
    match (call, auth) {
        (
            Call::CryptSess { cnonce, expires, crypt },
            Auth::Plain { user, password } | Auth::Session { user, password, .. },
        ) => {
            query.push(("username", user.to_string()));
            query.push(("cnonce", cnonce.clone()));
            query.push(("auth", crypto::session_open_auth(user, password, cnonce, crypt_sess_path)));
            query.push(("expires", expires.to_string()));
            query.push(("crypt", crypt.as_str().to_string()));
        }
        (_, Auth::Plain { user, password }) => {
            query.push(("version", "1.1".into()));
            query.push(("username", user.to_string()));
            query.push(("password", password.to_string()));
        }
        (_, Auth::Session { user, password, session, open_auth, seq, order, cipher }) => {
            let auth = crypto::request_auth(user, password, session, path, *seq, *order);
            if let Some(b) = body.take() {
                let key = crypto::body_key(user, password, open_auth, session, *seq);
                body = Some(crypto::encrypt(*cipher, &key, &b));
            }
            query.push(("version", "1.1".into()));
            query.push(("seq", seq.to_string()));
            query.push(("session", session.to_string()));
            query.push(("auth", auth));
        }
    }
    query.append(&mut params);
    let query = crate::http::url::query_string(&query);
    Request { post, path: path.to_string(), query, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Auth<'static> = Auth::Plain { user: "admin", password: "p&w" };

    #[test]
    fn plain_requests_carry_version_and_encoded_credentials() {
        let r = build(&Call::GetSms { sms_id: 3, sms_num: 0, sms_del: false }, &PLAIN, "/crypt_sess.json");
        assert_eq!(
            r.target(),
            "/goip_get_sms.html?version=1.1&username=admin&password=p%26w&sms_id=3&sms_num=0&sms_del=0"
        );
        assert!(!r.post && r.body.is_none());
    }

    #[test]
    fn the_status_subscription_url_is_percent_encoded() {
        let call = Call::GetStatus { url: "http://10.0.0.2:8080/goip/gw1/k3y?x=1".into(), period: 60, all_sims: false };
        let r = build(&call, &PLAIN, "/crypt_sess.json");
        assert!(
            r.query.contains("url=http%3A%2F%2F10.0.0.2%3A8080%2Fgoip%2Fgw1%2Fk3y%3Fx%3D1&period=60"),
            "{}",
            r.query
        );
    }

    #[test]
    fn a_session_request_is_signed_and_its_body_encrypted_with_the_session_opening_key() {
        let open_auth = crypto::session_open_auth("admin", "admin", "a1b2c3d4", "/crypt_sess.json");
        let auth = Auth::Session {
            user: "admin",
            password: "admin",
            session: "5f3c9d2e7a",
            open_auth: &open_auth,
            seq: 1,
            order: AuthOrder::PathThenSeq,
            cipher: Cipher::AesEcb,
        };
        let body = json!({"tids": [2, 3]});
        let r = build(&Call::PauseSms { tids: Some(vec![2, 3]) }, &auth, "/crypt_sess.json");
        let expected_auth =
            crypto::request_auth("admin", "admin", "5f3c9d2e7a", "/goip_pause_sms.html", 1, AuthOrder::PathThenSeq);
        assert_eq!(r.query, format!("version=1.1&seq=1&session=5f3c9d2e7a&auth={expected_auth}"));
        let key = crypto::body_key("admin", "admin", &open_auth, "5f3c9d2e7a", 1);
        let plain = crypto::decrypt(Cipher::AesEcb, &key, r.body.as_deref().expect("body")).expect("decrypts");
        assert_eq!(plain, body.to_string().into_bytes());
        assert!(r.post);
    }

    #[test]
    fn opening_a_session_hashes_the_nonce_with_the_session_path() {
        let call = Call::CryptSess { cnonce: "a1b2c3d4".into(), expires: 180, crypt: Cipher::Rc4 };
        let r = build(&call, &Auth::Plain { user: "admin", password: "admin" }, "/crypt_sess.json");
        let auth = crypto::session_open_auth("admin", "admin", "a1b2c3d4", "/crypt_sess.json");
        assert_eq!(
            r.target(),
            format!("/crypt_sess.json?username=admin&cnonce=a1b2c3d4&auth={auth}&expires=180&crypt=rc4")
        );
    }
}
