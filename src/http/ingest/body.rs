//! Reading an ingest body (`POST /v1/events`) into events: straight into each event's fields
//! with serde visitors, the same result as reading it into a `serde_json::Value` first (the
//! tests compare both), for ~15 % of a batched event's work.

use super::MAX_BATCH;
use crate::event::{Class, NewEvent};
use crate::mqtt::topics::{is_event_type, is_source};
use serde_json::{Map, Value};

/// Parses the body into events, or says what is wrong with which one.
pub fn parse_events(body: &[u8]) -> Result<Vec<NewEvent>, String> {
    let list = match serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))? {
        Body::List(list) => list,
        Body::One(fields) => vec![Some(Box::new(fields))],
        Body::Other => return Err("body must be an event object or an array of them".into()),
    };
    if list.is_empty() || list.len() > MAX_BATCH {
        return Err(format!("a request carries 1 to {MAX_BATCH} events"));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, fields)| {
            let event = fields.ok_or_else(|| "must be an object".to_string()).and_then(|f| f.into_event());
            event.map_err(|e| format!("event {i}: {e}"))
        })
        .collect()
}

/// One event object's fields as they came: those the agent reads, and the rest (kept).
/// A name given twice keeps its last value, as a JSON object read into a map does.
#[derive(Default)]
struct Fields {
    source: Option<Value>,
    kind: Option<Value>,
    class: Option<Value>,
    dedup_key: Option<Value>,
    data: Option<Value>,
    extra: Map<String, Value>,
}

impl Fields {
    fn insert(&mut self, name: std::borrow::Cow<'_, str>, value: Value) {
        let slot = match &*name {
            "source" => &mut self.source,
            "type" => &mut self.kind,
            "class" => &mut self.class,
            "dedup_key" => &mut self.dedup_key,
            "data" => &mut self.data,
            _ => {
                self.extra.insert(name.into_owned(), value);
                return;
            }
        };
        *slot = Some(value);
    }

    fn into_event(self) -> Result<NewEvent, String> {
        let source = text(self.source, "source")?.ok_or("`source` is required")?;
        if !is_source(&source) || source == "agent" || source.starts_with("agent/") {
            return Err("`source` must be 1-4 levels of A-Z a-z 0-9 . _ - and not `agent`".into());
        }
        let kind = text(self.kind, "type")?.ok_or("`type` is required")?;
        if !is_event_type(&kind) {
            return Err("`type` must be 1-64 characters of a-z 0-9 . _ -".into());
        }
        let class = match text(self.class, "class")?.as_deref() {
            None | Some("critical") => Class::Critical,
            Some("telemetry") => Class::Telemetry,
            Some(other) => {
                return Err(format!("`class` must be critical or telemetry, not {other:?}"));
            }
        };
        let dedup_key = text(self.dedup_key, "dedup_key")?;
        if dedup_key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
            return Err("`dedup_key` must be 1-200 characters".into());
        }
        let mut event = NewEvent::new(source, kind, self.data.unwrap_or(Value::Null), class);
        event.dedup_key = dedup_key;
        event.extra = self.extra;
        Ok(event)
    }
}

/// A field that must be text when given (`null` counts as not given).
fn text(value: Option<Value>, name: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` must be a string")),
    }
}

/// A request body: a list of events (`None` for an element that is not an object), one
/// event, or something else.
enum Body {
    /// Boxed: a slot per element, up to `MAX_BATCH` + 1, is a pointer (what `parse_cost`
    /// counts for an array's slot), not the fields themselves.
    List(Vec<Option<Box<Fields>>>),
    One(Fields),
    Other,
}

/// Reads any JSON value as far as the ingest needs it: an object into its fields; at the top,
/// a list element by element (each read again with `top: false`); below the top, a list or
/// anything else read and dropped ([`Body::Other`]).
struct Shape {
    top: bool,
}

impl<'de> serde::de::Visitor<'de> for Shape {
    type Value = Body;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut fields = Fields::default();
        while let Some(Name(name)) = map.next_key()? {
            fields.insert(name, map.next_value()?);
        }
        Ok(Body::One(fields))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        if !self.top {
            // Read as values and dropped, not skipped: serde_json checks what it skips less
            // strictly (numbers out of range, bad escapes, nesting, trailing commas), and the
            // error a body gets must not depend on where in it the fault is.
            while seq.next_element::<Value>()?.is_some() {}
            return Ok(Body::Other);
        }
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_BATCH));
        // Every element is read (a fault anywhere is the body's error), but no more than one
        // past the limit is kept: a body of a million `0,` holds ~1,000 entries, not a million.
        while let Some(Element(item)) = seq.next_element()? {
            if list.len() <= MAX_BATCH {
                list.push(item);
            }
        }
        Ok(Body::List(list))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
        Ok(Body::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
        Ok(Body::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
        Ok(Body::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
        Ok(Body::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<Body, E> {
        Ok(Body::Other)
    }

    fn visit_unit<E>(self) -> Result<Body, E> {
        Ok(Body::Other)
    }
}

impl<'de> serde::Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Shape { top: true })
    }
}

/// An element of the list: an event object's fields, or `None`.
struct Element(Option<Box<Fields>>);

impl<'de> serde::Deserialize<'de> for Element {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(Shape { top: false })? {
            Body::One(fields) => Ok(Element(Some(Box::new(fields)))),
            Body::List(_) | Body::Other => Ok(Element(None)),
        }
    }
}

/// A field's name, borrowed from the body unless it had escapes.
struct Name<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(s)))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_or_an_array_parses_and_unknown_fields_are_kept() {
        let one = parse_events(br#"{"source":"pbx/1","type":"cdr.new","data":{"a":1},"vendor":7}"#).expect("one");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].extra["vendor"], 7);
        assert_eq!(one[0].class, Class::Critical);
        let two =
            parse_events(br#"[{"source":"a","type":"x"},{"source":"b","type":"y","class":"telemetry"}]"#).expect("two");
        assert_eq!(two[1].class, Class::Telemetry);
    }

    #[test]
    fn bad_events_are_refused_with_the_index_and_field() {
        for (body, needle) in [
            (&b"[]"[..], "1 to"),
            (br#"{"type":"x"}"#, "event 0: `source`"),
            (br#"[{"source":"a","type":"x"},{"source":"a/+","type":"x"}]"#, "event 1: `source`"),
            (br#"{"source":"agent","type":"x"}"#, "`source`"),
            (br#"{"source":"a","type":"Bad Type"}"#, "`type`"),
            (br#"{"source":"a","type":"x","class":"urgent"}"#, "`class`"),
            (br#"{"source":1,"type":"x"}"#, "`source` must be a string"),
            (b"nope", "not JSON"),
        ] {
            let err = parse_events(body).expect_err("refused");
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }

    /// The reading this replaces: the body into a `serde_json::Value`, then its fields.
    fn via_value(body: &[u8]) -> Result<Vec<NewEvent>, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let list = match value {
            Value::Array(list) => list,
            obj @ Value::Object(_) => vec![obj],
            _ => return Err("body must be an event object or an array of them".into()),
        };
        if list.is_empty() || list.len() > MAX_BATCH {
            return Err(format!("a request carries 1 to {MAX_BATCH} events"));
        }
        let event = |value: Value| {
            let Value::Object(mut map) = value else { return Err("must be an object".to_string()) };
            let fields = Fields {
                source: map.remove("source"),
                kind: map.remove("type"),
                class: map.remove("class"),
                dedup_key: map.remove("dedup_key"),
                data: map.remove("data"),
                extra: map,
            };
            fields.into_event()
        };
        list.into_iter().enumerate().map(|(i, v)| event(v).map_err(|e| format!("event {i}: {e}"))).collect()
    }

    #[test]
    fn bodies_read_as_reading_them_into_a_value_first_would() {
        let many = format!("[{}]", vec![r#"{"source":"a","type":"x"}"#; MAX_BATCH + 1].join(","));
        let nested = format!(r#"[{{"source":"a","type":"x"}},{}{}]"#, "[".repeat(130), "]".repeat(130));
        let unclosed = "[".repeat(200);
        let bad_utf8 = b"[{\"source\":\"a\",\"type\":\"x\"},[\"\xff\"]]".to_vec();
        let deep = format!("{{\"source\":\"a\",\"type\":\"x\",\"data\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let bodies: Vec<&[u8]> = vec![
            br#"{"source":"pbx/1","type":"cdr.new","data":{"a":[1,2.5,null,true,"s"]},"vendor":7,"class":"telemetry"}"#,
            br#"[{"source":"a","type":"x","dedup_key":"k"},{"source":"b","type":"y","data":"text"}]"#,
            br#"{"source":"a","source":"b","type":"x","v":1,"v":2,"data":1,"data":{"z":0}}"#,
            br#"{"sour\u0063e":"a","type":"x","\u0076endor":"kept","data":null}"#,
            br#"{"source":"a","type":"x","class":null,"dedup_key":null,"extra":{"deep":[{}]}}"#,
            br#"[{"source":"a","type":"x"},3,"s",null,true,[{"source":"a"}],{"source":"a","type":"x"}]"#,
            br#"[{"source":"a","type":"x"},{"source":7,"type":"x"}]"#,
            br#"{"source":"a","type":"x","class":1}"#,
            br#"{"source":"a","type":"x","class":"urgent"}"#,
            br#"{"source":"a","type":"x","dedup_key":""}"#,
            br#"{"source":"agent/x","type":"x"}"#,
            br#"{"type":"x"}"#,
            br#"{"source":"a"}"#,
            br#"{"source":"a","type":"Bad Type"}"#,
            b"[]",
            b"{}",
            b"[1]",
            b"\"text\"",
            b"12",
            b"null",
            b"true",
            b"",
            b"nope",
            br#"{"source":"a","type":"x""#,
            br#"{"source":"a","type":"x"} trailing"#,
            br#"[{"source":"a","type":"x"},]"#,
            br#"{"source":"a","type":"x","data":"\ud800"}"#,
            many.as_bytes(),
            deep.as_bytes(),
            nested.as_bytes(),
            unclosed.as_bytes(),
            &bad_utf8,
        ];
        // Each kind of value where an event should be, after a good one.
        let not_objects: Vec<String> = [
            "3",
            "-3",
            "2.5",
            "1e400",
            "\"s\"",
            "\"\\u0073\"",
            "null",
            "true",
            "false",
            "[]",
            "[{}]",
            // Faults inside a value that is not an event are found as strictly.
            "[1e400]",
            "[\"\\ud800\"]",
            "[\"\\uZZZZ\"]",
            "[[1,]]",
            "[{\"a\":1,}]",
            "[{\"a\":1e999}]",
        ]
        .iter()
        .map(|v| format!(r#"[{{"source":"a","type":"x"}},{v}]"#))
        .collect();
        for body in bodies.into_iter().chain(not_objects.iter().map(|b| b.as_bytes())) {
            let (direct, reference) = (parse_events(body), via_value(body));
            assert_eq!(format!("{direct:?}"), format!("{reference:?}"), "{}", String::from_utf8_lossy(body));
        }
    }
}
