//! Allow-lists of callback sources: addresses and CIDR blocks, IPv4 and IPv6 (pure).

use std::net::IpAddr;

/// One allow-list entry: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `192.168.1.7` (a /32), `2001:db8::/32`, `::1`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.trim().split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// Whether `ip` is inside the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(&a.octets(), &b.octets(), self.bits),
            (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(&a.octets(), &b.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// Whether `ip` may call: an empty list allows everyone.
pub fn allowed(list: &[Cidr], ip: IpAddr) -> bool {
    list.is_empty() || list.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn blocks_match_by_their_leading_bits() {
        let net = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(Cidr::parse("192.168.1.7").expect("host").contains(ip("192.168.1.7")));
        assert!(!Cidr::parse("192.168.1.7").expect("host").contains(ip("192.168.1.8")));
        assert!(Cidr::parse("172.16.0.0/12").expect("odd bits").contains(ip("172.31.255.255")));
        assert!(!Cidr::parse("172.16.0.0/12").expect("odd bits").contains(ip("172.32.0.0")));
        assert!(Cidr::parse("2001:db8::/32").expect("v6").contains(ip("2001:db8:1::5")));
        assert!(Cidr::parse("0.0.0.0/0").expect("all").contains(ip("8.8.8.8")));
    }

    #[test]
    fn an_ipv4_mapped_address_is_checked_as_ipv4() {
        assert!(Cidr::parse("127.0.0.0/8").expect("cidr").contains(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn nonsense_is_not_a_block() {
        for bad in ["", "10.0.0.0/33", "::/129", "host.example", "10.0.0/8", "10.0.0.0/x"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_empty_list_allows_everyone() {
        assert!(allowed(&[], ip("203.0.113.9")));
        let list = [Cidr::parse("127.0.0.1").expect("cidr")];
        assert!(!allowed(&list, ip("203.0.113.9")));
    }
}
