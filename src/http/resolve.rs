//! Name resolution for the HTTP client: a host written as an IP address (a LAN device's usual
//! `http://192.168.1.20`) is used as written; only a host name is looked up, by ureq's own
//! resolver. That one runs every lookup on a new thread when the request has a timeout (every
//! request here has one), IP addresses included: each poll of a device started and ended a
//! thread (30 faxes fetched and ~40 s of polling: 104 threads created, now 6).

use std::net::{IpAddr, SocketAddr};
use ureq::config::{Config, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// A resolver (ureq's by default) skipped for an IP address.
#[derive(Debug, Default)]
pub struct LiteralFirst<R = DefaultResolver>(R);

impl LiteralFirst {
    /// ureq's resolver behind it.
    pub fn new() -> Self {
        LiteralFirst(DefaultResolver::default())
    }
}

impl<R: Resolver> Resolver for LiteralFirst<R> {
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

    /// A stand-in for ureq's resolver that answers every lookup with 192.0.2.1: an answer
    /// with that address is one that reached it.
    #[derive(Debug)]
    struct Named;

    impl Resolver for Named {
        fn resolve(&self, _: &Uri, _: &Config, _: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
            let mut addrs = self.empty();
            addrs.push(addr("192.0.2.1:1"));
            Ok(addrs)
        }
    }

    fn resolve(url: &str, config: &Config) -> Vec<SocketAddr> {
        let addrs = LiteralFirst(Named).resolve(&url.parse().expect("uri"), config, NextTimeout::default());
        addrs.expect("resolved").iter().copied().collect()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn an_ip_address_is_used_as_written_with_its_port_or_the_schemes() {
        let any = Config::default();
        assert_eq!(resolve("http://192.168.1.20/goip", &any), vec![addr("192.168.1.20:80")]);
        assert_eq!(resolve("https://10.0.0.7:8443/", &any), vec![addr("10.0.0.7:8443")]);
        assert_eq!(resolve("http://[::1]:8080/x", &any), vec![addr("[::1]:8080")]);
    }

    #[test]
    fn a_host_name_or_an_address_the_config_leaves_out_goes_to_the_resolver() {
        assert_eq!(resolve("http://fax.lan:8080/", &Config::default()), vec![addr("192.0.2.1:1")]);
        let v4 = ureq::Agent::config_builder().ip_family(IpFamily::Ipv4Only).build();
        assert_eq!(resolve("http://[::1]:8080/", &v4), vec![addr("192.0.2.1:1")]);
    }

    #[test]
    fn ureqs_resolver_still_looks_up_names() {
        let addrs = LiteralFirst::new()
            .resolve(&"http://localhost:9/".parse().expect("uri"), &Config::default(), NextTimeout::default())
            .expect("resolved");
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9), "{addrs:?}");
    }
}
