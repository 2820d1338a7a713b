//! GoIP port names and port lists (digest sections 2 and 3): `"1A"`…`"32D"` (port number
//! and SIM slot letter) or `"1.01"` (port.slot), and lists such as `"1A,2B,3C,4-32"`,
//! `"all"` or `"*"`.

use std::fmt;

/// One SIM slot of one port (both 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub port: u16,
    pub slot: u8,
}

impl Port {
    /// `"2B"` or `"2.02"` (digest: "normalise both to (port, slot)").
    pub fn parse(s: &str) -> Option<Port> {
        let s = s.trim();
        if let Some((p, sl)) = s.split_once('.') {
            let (port, slot) = (digits(p)?, digits(sl)?);
            return (port > 0 && slot > 0).then_some(Port { port, slot: u8::try_from(slot).ok()? });
        }
        let letter = s.chars().last()?;
        if !letter.is_ascii_alphabetic() {
            return None;
        }
        let port = digits(&s[..s.len() - 1])?;
        let slot = letter.to_ascii_uppercase() as u8 - b'A' + 1;
        (port > 0).then_some(Port { port, slot })
    }
}

/// The primary form, `"2B"`.
impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = char::from(b'A'.saturating_add(self.slot.saturating_sub(1)));
        write!(f, "{}{letter}", self.port)
    }
}

fn digits(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One element of a port list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortItem {
    /// A whole port (every slot).
    Port(u16),
    /// Ports `a..=b`, every slot.
    Range(u16, u16),
    /// One slot of one port.
    Slot(Port),
}

/// A port list: `all`/`*` or items separated by commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortList {
    All,
    Items(Vec<PortItem>),
}

impl PortList {
    /// Parses `"all"`, `"*"`, `"1A, 2.02,3,4-32"`; `None` for anything else (or nothing).
    pub fn parse(s: &str) -> Option<PortList> {
        let s = s.trim();
        if s == "*" || s.eq_ignore_ascii_case("all") {
            return Some(PortList::All);
        }
        let mut items = Vec::new();
        for part in s.split(',').map(str::trim) {
            let item = if let Some((a, b)) = part.split_once('-') {
                let (a, b) = (digits(a.trim())?, digits(b.trim())?);
                if a == 0 || a > b {
                    return None;
                }
                PortItem::Range(a, b)
            } else if let Some(n) = digits(part) {
                if n == 0 {
                    return None;
                }
                PortItem::Port(n)
            } else {
                PortItem::Slot(Port::parse(part)?)
            };
            items.push(item);
        }
        Some(PortList::Items(items))
    }

    /// Whether the list names this slot of this port.
    pub fn contains(&self, p: Port) -> bool {
        match self {
            PortList::All => true,
            PortList::Items(items) => items.iter().any(|i| match i {
                PortItem::Port(n) => *n == p.port,
                PortItem::Range(a, b) => (*a..=*b).contains(&p.port),
                PortItem::Slot(s) => *s == p,
            }),
        }
    }

    /// Whether every item is a port number or range (no slot named).
    pub fn ports_only(&self) -> bool {
        match self {
            PortList::All => true,
            PortList::Items(items) => items.iter().all(|i| !matches!(i, PortItem::Slot(_))),
        }
    }
}

/// A number list of the statistics queries (`ports=`, `slots=`): `all`, `2`, `1-3,4`.
pub fn number_list(s: &str) -> Option<Vec<(u16, u16)>> {
    match PortList::parse(s)? {
        PortList::All => Some(vec![(1, u16::MAX)]),
        PortList::Items(items) => items
            .into_iter()
            .map(|i| match i {
                PortItem::Port(n) => Some((n, n)),
                PortItem::Range(a, b) => Some((a, b)),
                PortItem::Slot(_) => None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_port_forms_normalise_to_port_and_slot() {
        assert_eq!(Port::parse("2B"), Some(Port { port: 2, slot: 2 }));
        assert_eq!(Port::parse("2.02"), Some(Port { port: 2, slot: 2 }));
        assert_eq!(Port::parse("32d"), Some(Port { port: 32, slot: 4 }));
        assert_eq!(Port::parse("B"), None);
        assert_eq!(Port::parse("0A"), None);
        assert_eq!(Port { port: 12, slot: 3 }.to_string(), "12C");
        let l = PortList::parse("1A, 2.02,3,4-6").expect("list");
        assert!(l.contains(Port { port: 1, slot: 1 }) && !l.contains(Port { port: 1, slot: 2 }));
        assert!(l.contains(Port { port: 2, slot: 2 }) && l.contains(Port { port: 3, slot: 4 }));
        assert!(l.contains(Port { port: 5, slot: 1 }) && !l.contains(Port { port: 7, slot: 1 }));
        assert!(!l.ports_only() && PortList::parse("1,4-6").is_some_and(|l| l.ports_only()));
        assert_eq!(PortList::parse("*"), Some(PortList::All));
        assert_eq!(PortList::parse("ALL"), Some(PortList::All));
        assert_eq!(PortList::parse(""), None);
        assert_eq!(PortList::parse("3-1"), None);
        assert_eq!(number_list("1-3, 4"), Some(vec![(1, 3), (4, 4)]));
    }
}
