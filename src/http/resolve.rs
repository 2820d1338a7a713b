//! Name resolution for the HTTP client: a host written as an IP address (a LAN device's usual
//! `http://192.168.1.20`) is used as written; only a host name is looked up, by ureq's own
//! resolver. That one runs every lookup on a new thread when the request has a timeout (every
//! request here has one), IP addresses included: each poll of a device started and ended a
//! thread (30 faxes fetched: 105 threads in 7 s).

use std::net::{IpAddr, SocketAddr};
use ureq::config::{Config, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// ureq's resolver, skipped for an IP address.
#[derive(Debug, Default)]
pub struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal(uri) {
            // An address of a family the config leaves out goes to ureq, which refuses it.
            Some(addr) if config.ip_family() == IpFamily::Any => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            _ => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP address (IPv6 in brackets), with its port
/// or the scheme's.
fn literal(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host();
    let ip: IpAddr = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()?;
    let port = match (authority.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("http")) => 80,
        (None, Some("https")) => 443,
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn resolve(url: &str, within: Duration) -> Result<Vec<SocketAddr>, ureq::Error> {
        let timeout =
            NextTimeout { after: within.into(), reason: ureq::Timeout::Resolve, per_read: None, per_write: None };
        let addrs = LiteralFirst::default().resolve(&url.parse().expect("uri"), &Config::default(), timeout)?;
        Ok(addrs.iter().copied().collect())
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn an_ip_address_is_used_as_written_with_its_port_or_the_schemes() {
        assert_eq!(literal(&"http://192.168.1.20/goip".parse().expect("uri")), Some(addr("192.168.1.20:80")));
        assert_eq!(literal(&"https://10.0.0.7:8443/".parse().expect("uri")), Some(addr("10.0.0.7:8443")));
        assert_eq!(literal(&"http://[::1]:8080/x".parse().expect("uri")), Some(addr("[::1]:8080")));
        // No time left: ureq's resolver would wait for its lookup thread and time out.
        assert_eq!(resolve("http://127.0.0.1:9/", Duration::ZERO).expect("resolved"), vec![addr("127.0.0.1:9")]);
    }

    #[test]
    fn a_host_name_is_looked_up() {
        assert_eq!(literal(&"http://fax.lan:8080/".parse().expect("uri")), None);
        let addrs = resolve("http://localhost:9/", Duration::from_secs(5)).expect("resolved");
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9), "{addrs:?}");
    }
}
