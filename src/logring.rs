//! The agent's recent log lines in memory, for `agent.logs`: a ring of at most
//! `agent.log_ring_bytes` (the oldest lines go first), filled by the logger with lines
//! already scrubbed of secrets. Nothing is sent unless asked for: remote logging that
//! floods a thin link is what users of other agents complain of.

use std::collections::VecDeque;
use std::sync::Mutex;

/// One logged line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Counts every line since start: a cursor for asking again (`after_seq`).
    pub seq: u64,
    pub ts_ms: u64,
    pub level: log::Level,
    pub target: String,
    pub text: String,
}

impl Line {
    fn size(&self) -> usize {
        self.text.len() + self.target.len() + 48
    }
}

struct Ring {
    lines: VecDeque<Line>,
    bytes: usize,
    limit: usize,
    next_seq: u64,
}

static RING: Mutex<Ring> = Mutex::new(Ring { lines: VecDeque::new(), bytes: 0, limit: 256 * 1024, next_seq: 1 });

fn ring() -> std::sync::MutexGuard<'static, Ring> {
    RING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sets the ring's size (0: keep nothing); lines beyond it are dropped, oldest first.
pub fn set_limit(bytes: usize) {
    let mut r = ring();
    r.limit = bytes;
    trim(&mut r);
}

fn trim(r: &mut Ring) {
    while r.bytes > r.limit {
        match r.lines.pop_front() {
            Some(l) => r.bytes -= l.size(),
            None => break,
        }
    }
}

/// Keeps a line (already scrubbed).
pub fn push(level: log::Level, target: &str, text: &str) {
    let mut r = ring();
    let line = Line {
        seq: r.next_seq,
        ts_ms: crate::event::now_ms(),
        level,
        target: target.to_string(),
        text: text.to_string(),
    };
    r.next_seq += 1;
    if r.limit == 0 {
        return;
    }
    r.bytes += line.size();
    r.lines.push_back(line);
    trim(&mut r);
}

/// What `agent.logs` asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// This level and more severe (`warn` gives warnings and errors).
    pub level: Option<log::Level>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    /// Only lines after this `seq` (the previous answer's `next_after_seq`).
    pub after_seq: u64,
    /// Text the line must contain.
    pub contains: Option<String>,
}

/// The lines that match, oldest first, up to `budget` bytes of text; and whether more
/// matched beyond it.
pub fn read(q: &Query, budget: usize) -> (Vec<Line>, bool) {
    let r = ring();
    let mut out = Vec::new();
    let mut used = 0;
    for l in r.lines.iter().filter(|l| matches(l, q)) {
        if used + l.size() > budget && !out.is_empty() {
            return (out, true);
        }
        used += l.size();
        out.push(l.clone());
    }
    (out, false)
}

fn matches(l: &Line, q: &Query) -> bool {
    l.seq > q.after_seq
        && q.level.is_none_or(|lv| l.level <= lv)
        && q.since_ms.is_none_or(|s| l.ts_ms >= s)
        && q.until_ms.is_none_or(|u| l.ts_ms <= u)
        && q.contains.as_deref().is_none_or(|c| l.text.contains(c))
}

/// Lines kept and their bytes.
pub fn stats() -> (usize, usize, usize) {
    let r = ring();
    (r.lines.len(), r.bytes, r.limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_lines_within_its_size_and_filters_by_level_and_cursor() {
        let _one = crate::scrub::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_limit(1000);
        for i in 0..40 {
            push(if i % 10 == 0 { log::Level::Error } else { log::Level::Debug }, "t", &format!("line {i}"));
        }
        let (all, more) = read(&Query::default(), usize::MAX);
        assert!(!more && all.len() < 40 && all.last().is_some_and(|l| l.text == "line 39"), "{all:?}");
        let (errors, _) = read(&Query { level: Some(log::Level::Warn), ..Query::default() }, usize::MAX);
        assert!(errors.iter().all(|l| l.level == log::Level::Error));
        let (page, more) = read(&Query::default(), 100);
        assert!(more && page.len() < all.len());
        let next = Query { after_seq: page.last().map(|l| l.seq).unwrap_or(0), ..Query::default() };
        assert_eq!(read(&next, usize::MAX).0.first().map(|l| l.seq), page.last().map(|l| l.seq + 1));
        set_limit(256 * 1024);
    }
}
