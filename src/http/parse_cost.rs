//! What reading a request body as JSON may cost in memory, counted before it is read.
//!
//! A body reserves its own bytes from the shared budget (`http.max_buffered_bytes`) before it
//! is read; reading it into values takes more: serde_json gives every object a B-tree node of
//! ~650 bytes, every array slot 32 bytes and every string an allocation. Eight bodies of
//! 1 MiB of `[{"a":0},…]` took ~700 MB. So, once read and before a handler parses it, a
//! body also reserves [`parse_bound`] from the budget: the most its values can take, counted
//! from its punctuation in one pass (strings skipped). The bound holds for any input
//! (`tests/parse_cost.rs` measures the memory serde_json takes against it).

use std::mem::size_of;

/// A `serde_json::Value` (32 bytes on 64-bit targets, 16 on 32-bit ones).
const VALUE: usize = size_of::<serde_json::Value>();
/// What the allocator adds to a block, at most (glibc: a word and rounding to 16 bytes).
const BLOCK: usize = 4 * size_of::<usize>();
/// A B-tree leaf of an object's map: 11 keys (`String`) and 11 values, and its links.
const LEAF: usize = 11 * (size_of::<String>() + VALUE) + 2 * size_of::<usize>() + BLOCK;
/// An inner node: a leaf and 12 links to the nodes below.
const INNER: usize = LEAF + 12 * size_of::<usize>();
/// Containers open at once that are counted one by one (serde_json reads 128 at most:
/// deeper input fails as soon as it is reached).
const MAX_DEPTH: usize = 256;

/// The most an object of `members` members takes: no node when empty, one leaf up to 11,
/// beyond that leaves at least half full (5 keys) and the inner nodes above them.
fn object_cost(members: usize) -> usize {
    match members {
        0 => 0,
        1..=11 => LEAF,
        n => {
            let leaves = n.div_ceil(5);
            leaves * LEAF + (leaves / 4 + 1) * INNER
        }
    }
}

/// The most an array of `items` items takes: its vector doubles as it grows (from 4), and
/// for a moment holds both its old and its new buffer.
fn array_cost(items: usize) -> usize {
    let capacity = items.next_power_of_two().max(4);
    (capacity + capacity / 2) * VALUE + 2 * BLOCK
}

/// The most reading `body` into `serde_json` values (or into fields of them, as the ingest
/// does) may allocate, besides the body itself: counted in one pass over its punctuation,
/// strings skipped. Not JSON: whatever it is, the count is of the same characters.
pub fn parse_bound(body: &[u8]) -> usize {
    // The containers open around the current byte: whether an object, and its members (or
    // the commas between its items).
    let mut open: Vec<(bool, usize)> = Vec::new();
    let mut total = body.len();
    let mut longest_escaped = 0;
    let mut bytes = body.iter();
    let close = |container: (bool, usize)| match container {
        (true, members) => object_cost(members),
        (false, commas) => array_cost(commas + 1),
    };
    while let Some(&b) = bytes.next() {
        match b {
            b'"' => {
                // Every string is a block of its own; one with escapes is first written out
                // in serde_json's scratch buffer (as long as the longest such string).
                total += BLOCK;
                let (mut len, mut escaped) = (0, false);
                while let Some(&c) = bytes.next() {
                    len += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            escaped = true;
                            bytes.next();
                            len += 1;
                        }
                        _ => {}
                    }
                }
                if escaped {
                    longest_escaped = longest_escaped.max(len);
                }
            }
            b'{' | b'[' if open.len() < MAX_DEPTH => open.push((b == b'{', 0)),
            // Deeper than serde_json reads: counted as if each were a container of its own.
            b'{' => total += object_cost(1),
            b'[' => total += array_cost(1),
            b':' | b',' => match open.last_mut() {
                Some((true, members)) if b == b':' => *members += 1,
                Some((false, commas)) if b == b',' => *commas += 1,
                _ => {}
            },
            b'}' | b']' => total += open.pop().map_or(0, close),
            _ => {}
        }
    }
    // Left open: the parse fails, but may have taken what a closed one would.
    total + open.into_iter().map(close).sum::<usize>() + longest_escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_events_are_bounded_at_a_few_times_their_size() {
        let event = br#"{"source":"pbx/main","type":"cdr.new","class":"critical","dedup_key":"cdr-991","data":{"caller":"+8613800138000","callee":"8001","start":"2026-11-22T09:23:28Z","seconds":182,"trunk":"sip-1","tags":["in","vip"],"cost":0.42}}"#;
        let bound = parse_bound(event);
        println!("{} bytes, bound {bound}", event.len());
        assert!(bound <= 12 * event.len(), "bound {bound} for {} bytes", event.len());
    }

    #[test]
    fn punctuation_inside_strings_is_not_counted() {
        let plain = parse_bound(br#"{"a":"xxxxxxxx"}"#);
        assert_eq!(parse_bound(br#"{"a":"{[:,]}x{"}"#), plain);
        assert!(parse_bound(br#"{"a":"{[:,]}\"{"}"#) > plain, "a string with escapes is written out once more");
        assert!(parse_bound(br#"{"a":{"b":[1,2]}}"#) > plain);
        assert_eq!(parse_bound(b"xy"), 2, "no punctuation: the body's own bytes");
    }
}
