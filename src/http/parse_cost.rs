//! What reading a request body may cost in memory, counted before a handler reads it.
//!
//! A body reserves its own bytes from the listener's shared budget (`max_buffered_bytes`)
//! before it is read; reading it into values takes more: serde_json gives every object a
//! B-tree node of ~650 bytes, every array slot 32 bytes and every string an allocation, and
//! handlers copy the text a few times (a callback as UTF-8 text, its fields' texts, the
//! decoded fields; a GoIP form with `+` written out as `%20`). Eight authenticated events of
//! 1 MiB of `"data":[{"a":0},…]` took the agent to 205 MB. So, once read, a body also
//! reserves [`parse_bound`]: the most reading it may take, counted from its punctuation in one
//! pass (strings skipped), and for a form (`a=1&b=%7B…`) from its decoded bytes too.
//! `tests/parse_cost.rs` measures what serde_json takes against it, shape by shape.

use std::mem::size_of;

/// A `serde_json::Value` (32 bytes on 64-bit targets, 16 on 32-bit ones).
const VALUE: usize = size_of::<serde_json::Value>();
/// What the allocator adds to a block, at most (glibc: a word and rounding to 16 bytes).
const BLOCK: usize = 4 * size_of::<usize>();
/// A B-tree leaf of an object's map: 11 keys (`String`) and 11 values, and its links.
const LEAF: usize = 11 * (size_of::<String>() + VALUE) + 2 * size_of::<usize>() + BLOCK;
/// An inner node: a leaf and 12 links to the nodes below.
const INNER: usize = LEAF + 12 * size_of::<usize>();
/// An empty object: none in a `Value`, but a struct of fields where a handler reads one
/// into that (the ingest's event: a few values and a map, boxed).
const EMPTY_OBJECT: usize = 8 * VALUE + BLOCK;
/// A form's `key=value` pair (or a member of a JSON body's outermost object, which a
/// callback reads as one): two strings (and their blocks) in a list that doubles as it
/// grows, then in a map of fields, then copied into the event's `extra`.
const PER_PAIR: usize = 8 * size_of::<String>() + 4 * BLOCK + LEAF / 5;
/// Copies of the body's text handlers make, at most: the text itself, up to three times its
/// length with `+` written out as `%20`, the strings of the values, the fields' texts.
const TEXT_COPIES: usize = 6;
/// Copies of the values handlers make, at most: a GoIP push keeps each row it cannot read
/// as it came, a callback its fields under `extra` (a route that copies none says so:
/// `Added::moves_values`).
pub const VALUE_COPIES: usize = 2;
/// Containers open at once that are counted one by one (serde_json reads 128 at most:
/// deeper input fails as soon as it is reached).
const MAX_DEPTH: usize = 256;

/// The most an object of `members` members takes: one leaf up to 11, beyond that leaves
/// at least half full (5 keys) and the inner nodes above them.
fn object_cost(members: usize) -> usize {
    match members {
        0 => EMPTY_OBJECT,
        1..=11 => LEAF,
        n => {
            let leaves = n.div_ceil(5);
            leaves.saturating_mul(LEAF).saturating_add((leaves / 4 + 1).saturating_mul(INNER))
        }
    }
}

/// The most an array of `items` items takes: its vector doubles as it grows (from 4), and
/// for a moment holds both its old and its new buffer.
fn array_cost(items: usize) -> usize {
    // Saturating: on a 32-bit target a body of a few hundred MB could overflow the count.
    let capacity = items.checked_next_power_of_two().unwrap_or(usize::MAX).max(4);
    capacity.saturating_add(capacity / 2).saturating_mul(VALUE).saturating_add(2 * BLOCK)
}

/// The most reading `body` (JSON, a form, or a form that carries JSON) may allocate,
/// besides the body itself, by a handler that makes `copies` of its values (1: none).
pub fn parse_bound(body: &[u8], copies: usize) -> usize {
    let json = values_bound(body.iter().copied());
    // A form's keys and values are each decoded and read on their own (a quote in one
    // must not hide the JSON of the next).
    let form = if memchr::memchr3(b'%', b'&', b'=', body).or_else(|| memchr::memchr(b'+', body)).is_some() {
        body.split(|&b| b == b'&')
            .map(|pair| {
                let (key, value) = pair.split_at(pair.iter().position(|&b| b == b'=').unwrap_or(pair.len()));
                values_bound(percent_decoded(key))
                    .saturating_add(values_bound(percent_decoded(value.get(1..).unwrap_or_default())))
                    .saturating_add(PER_PAIR)
            })
            .fold(0, usize::saturating_add)
    } else {
        0
    };
    json.max(form).saturating_mul(copies).saturating_add(body.len().saturating_mul(TEXT_COPIES))
}

/// `body` with `%XX` decoded and `+` read as a space, as a form's values are.
fn percent_decoded(body: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16)).map(|d| d as u8);
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *body.get(i)?;
        i += 1;
        if b == b'%'
            && let (Some(high), Some(low)) = (hex(body.get(i)), hex(body.get(i + 1)))
        {
            i += 2;
            return Some(high << 4 | low);
        }
        Some(if b == b'+' { b' ' } else { b })
    })
}

/// The most reading `bytes` as JSON into values may allocate besides copies of its text:
/// counted from its punctuation, strings skipped.
fn values_bound(mut bytes: impl Iterator<Item = u8>) -> usize {
    // The containers open around the current byte: whether an object, and its members (or
    // the commas between its items).
    let mut open: Vec<(bool, usize)> = Vec::new();
    let mut total: usize = 0;
    let mut longest_escaped = 0;
    let close = |container: (bool, usize)| match container {
        (true, members) => object_cost(members),
        (false, commas) => array_cost(commas + 1),
    };
    while let Some(b) = bytes.next() {
        if !matches!(b, b'"' | b'{' | b'[' | b':' | b',' | b'}' | b']') {
            continue;
        }
        let cost = match b {
            b'"' => {
                // Every string is a block of its own; one with escapes is first written out
                // in serde_json's scratch buffer (as long as the longest such string).
                let (mut len, mut escaped) = (0usize, false);
                while let Some(c) = bytes.next() {
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
                BLOCK
            }
            b'{' | b'[' if open.len() < MAX_DEPTH => {
                open.push((b == b'{', 0));
                0
            }
            // Deeper than serde_json reads: counted as if each were a container of its own.
            b'{' => object_cost(1),
            b'[' => array_cost(1),
            b':' | b',' => {
                match open.last_mut() {
                    Some((true, members)) if b == b':' => *members += 1,
                    Some((false, commas)) if b == b',' => *commas += 1,
                    _ => {}
                }
                0
            }
            b'}' | b']' => match open.pop() {
                Some((true, members)) if open.is_empty() => {
                    object_cost(members).saturating_add(members.saturating_mul(PER_PAIR))
                }
                container => container.map_or(0, close),
            },
            _ => 0,
        };
        total = total.saturating_add(cost);
    }
    // Left open: the parse fails, but may have taken what a closed one would.
    open.into_iter().map(close).fold(total, usize::saturating_add).saturating_add(longest_escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_events_are_bounded_at_a_few_times_their_size() {
        let event = br#"{"source":"pbx/main","type":"cdr.new","class":"critical","dedup_key":"cdr-991","data":{"caller":"+8613800138000","callee":"8001","start":"2026-11-22T09:23:28Z","seconds":182,"trunk":"sip-1","tags":["in","vip"],"cost":0.42}}"#;
        // Alone, its members count as a callback's fields too.
        let bound = parse_bound(event, VALUE_COPIES);
        assert!(bound <= 56 * event.len(), "bound {bound} for {} bytes", event.len());
        let batch = format!("[{}]", vec![std::str::from_utf8(event).expect("utf8"); 100].join(","));
        let bound = parse_bound(batch.as_bytes(), VALUE_COPIES);
        assert!(bound <= 28 * batch.len(), "bound {bound} for {} bytes", batch.len());
    }

    #[test]
    fn punctuation_inside_strings_is_not_counted() {
        let plain = parse_bound(br#"{"a":"xxxxxxxx"}"#, VALUE_COPIES);
        assert_eq!(parse_bound(br#"{"a":"{[:,]}x{"}"#, VALUE_COPIES), plain);
        assert!(
            parse_bound(br#"{"a":"{[:,]}\"{"}"#, VALUE_COPIES) > plain,
            "a string with escapes is written out once more"
        );
        assert!(parse_bound(br#"{"a":{"b":[1,2]}}"#, VALUE_COPIES) > plain);
        assert_eq!(parse_bound(b"xy", VALUE_COPIES), 2 * TEXT_COPIES, "no punctuation: copies of the text");
    }

    #[test]
    fn json_in_a_form_is_counted_as_decoded() {
        let plain = parse_bound(br#"d={"a":[{"b":0},{"c":0}]}"#, VALUE_COPIES);
        let encoded = parse_bound(b"d=%7B%22a%22%3A%5B%7B%22b%22%3A0%7D%2C%7B%22c%22%3A0%7D%5D%7D", VALUE_COPIES);
        assert!(encoded >= plain, "{encoded} < {plain}");
        assert!(encoded >= 3 * LEAF + array_cost(2));
        // Every pair counts, and a quote in one hides nothing of the next.
        assert!(parse_bound(b"a&b&c&d", VALUE_COPIES) >= 4 * PER_PAIR);
        assert!(parse_bound(br#"x="&d={"a":[{"b":0},{"c":0}]}"#, VALUE_COPIES) >= plain);
    }

    #[test]
    fn a_body_cut_anywhere_is_still_counted() {
        let body = br#"[{"a":"x\"y","b":[1,{"c":"\u00e9"}]},{}]"#;
        let whole = parse_bound(body, VALUE_COPIES);
        for cut in 0..body.len() {
            assert!(parse_bound(&body[..cut], VALUE_COPIES) >= cut, "cut at {cut}");
        }
        // Containers left open count as if closed.
        assert_eq!(parse_bound(&body[..body.len() - 2], VALUE_COPIES) + 2 * TEXT_COPIES, whole);
        assert!(parse_bound(br#"{"a":"\"#, VALUE_COPIES) > 0);
        assert!(parse_bound(&[b'['; 1000], VALUE_COPIES) >= 1000 * array_cost(1), "deeper than 256 too");
    }
}
