//! Port names and port lists (spec sections 2, 3, 7), pure.
//!
//! A port is written `"2B"` (port 2, SIM slot B) or `"2.02"` (port 2, slot 2); both
//! normalise to [`Port`]. Lists are `all`/`*`, or comma-separated numbers, names and
//! ranges (`1-3,5,7A`).

use std::fmt;

/// One SIM position: port number (1-based), slot (1-based; A = 1), and for a SIM-pool
/// position the pool it is in (`"12.sp256.101"`: port 12, pool 256, slot 101).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    pub port: u16,
    pub slot: u16,
    pub pool: Option<u16>,
}

impl Port {
    pub const fn new(port: u16, slot: u16) -> Port {
        Port { port, slot, pool: None }
    }

    /// Parses every form the field sends: `"2B"` (slot letter), `"2.02"` / `"2.2"` /
    /// `"4.28"` (port.slot, slots past `Z` too), a bare `"2"` (slot 1), and SIM-pool names
    /// `"12.sp256.101"` (port.pool.slot). None for anything else.
    pub fn parse(s: &str) -> Option<Port> {
        let s = s.trim();
        let number = |t: &str| t.parse::<u16>().ok().filter(|n| *n > 0);
        let parts: Vec<&str> = s.split('.').collect();
        match parts.as_slice() {
            [p, slot] => return Some(Port::new(number(p)?, number(slot)?)),
            [p, pool, slot] => {
                let pool = pool.get(..2).filter(|sp| sp.eq_ignore_ascii_case("sp")).and(pool.get(2..))?;
                return Some(Port { port: number(p)?, slot: number(slot)?, pool: Some(number(pool)?) });
            }
            [_] => {}
            _ => return None,
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let port = number(&s[..digits])?;
        match &s[digits..] {
            "" => Some(Port::new(port, 1)),
            letter if letter.len() == 1 => {
                let c = letter.as_bytes()[0].to_ascii_uppercase();
                c.is_ascii_uppercase().then(|| Port::new(port, u16::from(c - b'A' + 1)))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Port {
    /// The primary form: `"2B"` for slots A–Z; past `Z` the seed's other form, `"4.28"`
    /// (two digits at least); a SIM-pool position as `"12.sp256.101"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pool {
            Some(pool) => write!(f, "{}.sp{pool}.{}", self.port, self.slot),
            None if (1..=26).contains(&self.slot) => {
                write!(f, "{}{}", self.port, char::from(b'A' + (self.slot - 1) as u8))
            }
            None => write!(f, "{}.{:02}", self.port, self.slot),
        }
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
        assert_eq!(Port::parse("2B"), Some(Port::new(2, 2)));
        assert_eq!(Port::parse("2.02"), Some(Port::new(2, 2)));
        assert_eq!(Port::parse("32d"), Some(Port::new(32, 4)));
        assert_eq!(Port::parse("7"), Some(Port::new(7, 1)));
        assert_eq!(Port::new(1, 1).to_string(), "1A");
        for bad in ["", "0A", "A", "2BB", "2.0", "x.1", "2-", "1.2.3", "12.xx256.101", "1.2.3.4"] {
            assert_eq!(Port::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn slots_past_z_and_sim_pool_names_parse_and_print_in_a_form_that_reads_back() {
        // Issue 10 item 3: `"4.28"` (max-slot 32) became `"4\\"`; `"12.sp256.101"` was refused.
        let past_z = Port::parse("4.28").expect("slot 28");
        assert_eq!((past_z.port, past_z.slot, past_z.to_string()), (4, 28, "4.28".to_string()));
        assert_eq!(Port::parse("4.26").map(|p| p.to_string()), Some("4Z".into()));
        let pooled = Port::parse("12.SP256.101").expect("pool");
        assert_eq!((pooled.port, pooled.pool, pooled.slot), (12, Some(256), 101));
        assert_eq!(pooled.to_string(), "12.sp256.101");
        for name in ["4.28", "12.sp256.101", "2B", "32.09"] {
            let p = Port::parse(name).expect(name);
            assert_eq!(Port::parse(&p.to_string()), Some(p), "{name} reads back");
        }
    }

    #[test]
    fn port_lists_parse_ranges_names_and_all() {
        let list = PortList::parse("1-3, 5,7A,2.02").expect("list");
        assert_eq!(list.to_string(), "1-3,5,7A,2B");
        assert!(list.contains(Port::new(3, 4)));
        assert!(list.contains(Port::new(7, 1)));
        assert!(!list.contains(Port::new(7, 2)));
        assert!(!list.contains(Port::new(4, 1)));
        assert_eq!(PortList::parse("all"), Some(PortList::All));
        assert_eq!(PortList::parse("*"), Some(PortList::All));
        for bad in ["", "1,,2", "3-1", "0", "a-b", "1-"] {
            assert_eq!(PortList::parse(bad), None, "{bad}");
        }
    }
}
