//! Port names and port lists (spec sections 2, 3, 7), pure.
//!
//! A port is written `"2B"` (port 2, SIM slot B) or `"2.02"` (port 2, slot 2); both
//! normalise to [`Port`]. Lists are `all`/`*`, or comma-separated numbers, names and
//! ranges (`1-3,5,7A`).

use std::fmt;

/// One SIM position: port number (1-based) and slot (1-based; A = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    pub port: u16,
    pub slot: u8,
}

impl Port {
    /// Parses `"2B"`, `"2.02"`, `"2.2"` or a bare `"2"` (slot 1).
    pub fn parse(s: &str) -> Option<Port> {
        let s = s.trim();
        if let Some((p, slot)) = s.split_once('.') {
            let port = p.parse().ok().filter(|p| *p > 0)?;
            let slot = slot.parse().ok().filter(|s| *s > 0)?;
            return Some(Port { port, slot });
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let port = s[..digits].parse().ok().filter(|p| *p > 0)?;
        match &s[digits..] {
            "" => Some(Port { port, slot: 1 }),
            letter if letter.len() == 1 => {
                let c = letter.as_bytes()[0].to_ascii_uppercase();
                c.is_ascii_uppercase().then(|| Port { port, slot: c - b'A' + 1 })
            }
            _ => None,
        }
    }
}

impl fmt::Display for Port {
    /// The primary form, `"2B"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.port, (b'A' + self.slot.saturating_sub(1)) as char)
    }
}

impl serde::Serialize for Port {
    /// As the primary form, `"2B"`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A port selection as the device's `ports` parameter takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortList {
    All,
    Items(Vec<PortItem>),
}

/// One element of a list: a port (all its slots), a port+slot, or a range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortItem {
    Port(u16),
    Slot(Port),
    Range(u16, u16),
}

impl PortList {
    /// Parses `all`, `*`, `1-3,5,7A,2.02`; None on anything else (empty items included).
    pub fn parse(s: &str) -> Option<PortList> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") || s == "*" {
            return Some(PortList::All);
        }
        let items = s
            .split(',')
            .map(|item| {
                let item = item.trim();
                if let Some((a, b)) = item.split_once('-') {
                    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                    return (a > 0 && a <= b).then_some(PortItem::Range(a, b));
                }
                if !item.is_empty() && item.bytes().all(|b| b.is_ascii_digit()) {
                    return item.parse().ok().filter(|p| *p > 0).map(PortItem::Port);
                }
                Port::parse(item).map(PortItem::Slot)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(PortList::Items(items))
    }

    /// Whether the list selects `port`.
    pub fn contains(&self, port: Port) -> bool {
        match self {
            PortList::All => true,
            PortList::Items(items) => items.iter().any(|i| match *i {
                PortItem::Port(p) => p == port.port,
                PortItem::Slot(s) => s == port,
                PortItem::Range(a, b) => (a..=b).contains(&port.port),
            }),
        }
    }
}

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortList::All => f.write_str("all"),
            PortList::Items(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        PortItem::Port(p) => p.to_string(),
                        PortItem::Slot(s) => s.to_string(),
                        PortItem::Range(a, b) => format!("{a}-{b}"),
                    })
                    .collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_port_spellings_normalise_to_the_same_port() {
        assert_eq!(Port::parse("2B"), Some(Port { port: 2, slot: 2 }));
        assert_eq!(Port::parse("2.02"), Some(Port { port: 2, slot: 2 }));
        assert_eq!(Port::parse("32d"), Some(Port { port: 32, slot: 4 }));
        assert_eq!(Port::parse("7"), Some(Port { port: 7, slot: 1 }));
        assert_eq!(Port { port: 1, slot: 1 }.to_string(), "1A");
        for bad in ["", "0A", "A", "2BB", "2.0", "x.1", "2-"] {
            assert_eq!(Port::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn port_lists_parse_ranges_names_and_all() {
        let list = PortList::parse("1-3, 5,7A,2.02").expect("list");
        assert_eq!(list.to_string(), "1-3,5,7A,2B");
        assert!(list.contains(Port { port: 3, slot: 4 }));
        assert!(list.contains(Port { port: 7, slot: 1 }));
        assert!(!list.contains(Port { port: 7, slot: 2 }));
        assert!(!list.contains(Port { port: 4, slot: 1 }));
        assert_eq!(PortList::parse("all"), Some(PortList::All));
        assert_eq!(PortList::parse("*"), Some(PortList::All));
        for bad in ["", "1,,2", "3-1", "0", "a-b", "1-"] {
            assert_eq!(PortList::parse(bad), None, "{bad}");
        }
    }
}
