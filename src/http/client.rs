//! The agent's one outbound HTTP client, on ureq 3 (rustls with the ring provider, the same
//! TLS stack as the uplink): LAN devices (gateways, fax servers), documents and uploads,
//! and the cloud vendors.
//!
//! ureq is blocking: each exchange runs on tokio's blocking pool, at most
//! [`MAX_IN_FLIGHT`] at once per [`Client`] (one per peer; the GoIP session serialises its
//! own requests on top). Every exchange has a whole-exchange timeout and a limit on the
//! reply's size. A [`Reach::Lan`] client never uses a proxy and asks for `Connection:
//! close` (small devices keep few sockets); a [`Reach::Internet`] client honours
//! `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` from the environment and reuses
//! connections. HTTP statuses are answers, not errors: the caller reads them.

use hyper::body::Bytes;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest reply body read, in bytes.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// Exchanges of one client running at once, at most.
pub const MAX_IN_FLIGHT: usize = 4;

/// Why an exchange failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The URL as [`shown`].
    #[error("bad url {0:?}: only http(s)://host[:port][/path] is supported")]
    BadUrl(String),
    #[error("tls: {0}")]
    Tls(String),
    /// No connection was made (refused, unreachable, no such host, proxy refused): nothing
    /// reached the peer.
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("http: {0}")]
    Http(String),
    /// The reply was longer than the caller allowed.
    #[error("reply larger than {0} bytes")]
    TooLarge(usize),
}

impl ClientError {
    /// Nothing reached the peer (no connection was made): any request may be sent again.
    /// Otherwise the request may have arrived and only its answer been lost.
    pub fn nothing_sent(&self) -> bool {
        matches!(self, ClientError::Connect { .. } | ClientError::BadUrl(_) | ClientError::Tls(_))
    }
}

/// A URL as an error shows it: without its query, fragment and user info, where tokens
/// travel (a presigned download's signature, `user:password@`) that are no configured
/// secret the scrubber knows (an update's URL comes in a command). User info ends at the
/// last `@`, since a bad URL's password may hold `/`, `?` or `#` (an `@` in a path hides
/// the host too: this is for errors).
fn shown(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let rest = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    let (rest, tail) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], &rest[i..=i]),
        None => (rest, ""),
    };
    let user = if url.contains('@') { "…@" } else { "" };
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    let cut = if tail.is_empty() { "" } else { "…" };
    format!("{scheme}{user}{rest}{tail}{cut}")
}

/// An absolute `http(s)://` URL, split the way requests use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub target: String,
    pub tls: bool,
}

impl Url {
    /// Parses `http://host[:port][/path]` (or `https://`; a bare `host[:port]` is `http`).
    pub fn parse(s: &str) -> Result<Url, ClientError> {
        let bad = || ClientError::BadUrl(shown(s));
        let full = if s.contains("://") { s.to_string() } else { format!("http://{s}") };
        let uri: hyper::http::Uri = full.parse().map_err(|_| bad())?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad()),
        };
        // http::Uri keeps a port it cannot read as a number; a URL must not.
        let authority = uri.authority().map_or("", |a| a.as_str());
        if authority
            .rsplit_once(':')
            .is_some_and(|(h, p)| !p.ends_with(']') && !h.is_empty() && p.parse::<u16>().is_err())
        {
            return Err(bad());
        }
        let host = uri.host().map(|h| h.trim_start_matches('[').trim_end_matches(']')).unwrap_or("");
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        let target = if target.is_empty() { "/" } else { target };
        Ok(Url { host: host.to_string(), port, target: target.to_string(), tls })
    }

    /// `scheme://host:port`, with an IPv6 host in brackets.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A reply: the status and the whole body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// One request.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    pub method: hyper::Method,
    /// Path and query, sent to the URL's host.
    pub target: &'a str,
    pub content_type: Option<&'a str>,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<Vec<u8>>,
    /// For the whole exchange: connect, send, and read the reply.
    pub timeout: Duration,
    pub max_reply_bytes: usize,
}

/// Where a client's peers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Gateways and fax servers beside the agent: never through a proxy.
    Lan,
    /// Cloud vendors, documents and uploads: through the environment's proxy, if any.
    Internet,
}

/// The HTTP client of one peer: its TLS roots (one PEM file of CAs, or the system's),
/// read once on first use, off the async threads.
#[derive(Debug)]
pub struct Client {
    reach: Reach,
    ca_file: String,
    /// For `http://` (no roots read) and for `https://`, each built on first use; a failed
    /// build (an unreadable CA file, fixed later) is tried again next time.
    plain: OnceLock<ureq::Agent>,
    secure: OnceLock<ureq::Agent>,
    permits: Arc<Semaphore>,
}

impl Client {
    /// `ca_file` empty = the system's roots (read only when an `https://` URL needs them).
    pub fn new(reach: Reach, ca_file: &str) -> Client {
        Client {
            reach,
            ca_file: ca_file.to_string(),
            plain: OnceLock::new(),
            secure: OnceLock::new(),
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// One exchange with `url`'s host (its target replaced by the exchange's).
    pub async fn exchange(&self, url: &Url, ex: Exchange<'_>) -> Result<Reply, ClientError> {
        // The permit goes with the exchange: a caller that gives up does not free a slot
        // while its exchange still runs.
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| ClientError::Http(e.to_string()))?;
        let request = self.request(url, &ex)?;
        let agent = self.agent(url.tls).await?;
        let (timeout, limit) = (ex.timeout, ex.max_reply_bytes);
        let addr = format!("{}:{}", url.host, url.port);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            run(&agent, request, timeout, limit, &addr)
        })
        .await
        .map_err(|e| ClientError::Http(format!("client task: {e}")))?
    }

    /// A plain exchange: no extra headers, the default reply limit.
    pub async fn send(
        &self,
        url: &Url,
        method: hyper::Method,
        target: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        let ex =
            Exchange { method, target, content_type, headers: &[], body, timeout, max_reply_bytes: MAX_REPLY_BYTES };
        self.exchange(url, ex).await
    }

    /// GETs `url` whole, at most `limit` bytes (files: documents, recordings); any status
    /// is an answer for the caller to read.
    pub async fn get(&self, url: &Url, limit: usize, timeout: Duration) -> Result<Reply, ClientError> {
        let ex = Exchange {
            method: hyper::Method::GET,
            target: &url.target,
            content_type: None,
            headers: &[],
            body: None,
            timeout,
            max_reply_bytes: limit,
        };
        self.exchange(url, ex).await
    }

    fn request(&self, url: &Url, ex: &Exchange<'_>) -> Result<hyper::http::Request<Vec<u8>>, ClientError> {
        let uri = format!("{}{}", url.base(), ex.target);
        let mut req = hyper::http::Request::builder().method(ex.method.clone()).uri(&uri);
        if self.reach == Reach::Lan {
            req = req.header(hyper::header::CONNECTION, "close");
        }
        if let Some(ct) = ex.content_type {
            req = req.header(hyper::header::CONTENT_TYPE, ct);
        }
        for (name, value) in ex.headers {
            req = req.header(*name, *value);
        }
        req.body(ex.body.clone().unwrap_or_default()).map_err(|e| ClientError::BadUrl(format!("{}: {e}", shown(&uri))))
    }

    /// The ureq agent, built on first use (reading the CA file or the system's roots
    /// only for a client that meets an `https://` URL).
    async fn agent(&self, tls: bool) -> Result<ureq::Agent, ClientError> {
        let cell = if tls { &self.secure } else { &self.plain };
        if let Some(built) = cell.get() {
            return Ok(built.clone());
        }
        let (reach, ca_file) = (self.reach, self.ca_file.clone());
        let built = tokio::task::spawn_blocking(move || build_agent(reach, &ca_file, tls))
            .await
            .map_err(|e| ClientError::Tls(format!("client setup task: {e}")))?
            .map_err(ClientError::Tls)?;
        Ok(cell.get_or_init(|| built).clone())
    }
}

/// The CAs of `ca_file`, or the system's roots.
fn roots(ca_file: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<CertificateDer<'static>> = if ca_file.is_empty() {
        rustls_native_certs::load_native_certs().certs
    } else {
        CertificateDer::pem_file_iter(ca_file)
            .map_err(|e| format!("{ca_file}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{ca_file}: {e}"))?
    };
    if certs.is_empty() {
        let place = if ca_file.is_empty() { "the system's roots" } else { ca_file };
        return Err(format!("{place}: no CA certificates found"));
    }
    Ok(certs.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect())
}

fn build_agent(reach: Reach, ca_file: &str, tls: bool) -> Result<ureq::Agent, String> {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls_config =
        TlsConfig::builder().provider(TlsProvider::Rustls).unversioned_rustls_crypto_provider(provider);
    if tls {
        tls_config = tls_config.root_certs(RootCerts::Specific(Arc::new(roots(ca_file)?)));
    }
    let proxy = match reach {
        Reach::Lan => None,
        Reach::Internet => ureq::Proxy::try_from_env(),
    };
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls_config.build())
        .proxy(proxy)
        .max_redirects(if reach == Reach::Lan { 0 } else { 5 })
        .user_agent(concat!("telbridge/", env!("CARGO_PKG_VERSION")));
    if reach == Reach::Lan {
        config = config.max_idle_connections(0);
    }
    let connector = ureq::unversioned::transport::DefaultConnector::default();
    Ok(ureq::Agent::with_parts(config.build(), connector, super::resolve::LiteralFirst::new()))
}

/// Runs one exchange on the blocking pool.
fn run(
    agent: &ureq::Agent,
    request: hyper::http::Request<Vec<u8>>,
    timeout: Duration,
    limit: usize,
    addr: &str,
) -> Result<Reply, ClientError> {
    let (parts, body) = request.into_parts();
    // Redirects only for reads: a 307/308 would make ureq send a POST (a send!) again.
    let redirects = if matches!(parts.method, hyper::Method::GET | hyper::Method::HEAD) { None } else { Some(0) };
    let result = if body.is_empty() && !matches!(parts.method, hyper::Method::POST | hyper::Method::PUT) {
        let mut req =
            agent.configure_request(hyper::http::Request::from_parts(parts, ())).timeout_global(Some(timeout));
        if let Some(n) = redirects {
            req = req.max_redirects(n);
        }
        agent.run(req.build())
    } else {
        let mut req =
            agent.configure_request(hyper::http::Request::from_parts(parts, body)).timeout_global(Some(timeout));
        if let Some(n) = redirects {
            req = req.max_redirects(n);
        }
        agent.run(req.build())
    };
    let mut resp = result.map_err(|e| client_error(e, timeout, limit, addr))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(limit as u64)
        .read_to_vec()
        .map_err(|e| client_error(e, timeout, limit, addr))?;
    Ok(Reply { status, body: Bytes::from(body) })
}

/// ureq's error as the agent classifies it: no connection made, timeout, too large, other.
fn client_error(e: ureq::Error, timeout: Duration, limit: usize, addr: &str) -> ClientError {
    use std::io::ErrorKind;
    use ureq::Error;
    let connect = |reason: String| ClientError::Connect { addr: addr.to_string(), reason };
    match e {
        Error::BodyExceedsLimit(_) => ClientError::TooLarge(limit),
        Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
            connect(format!("timed out after {timeout:?}"))
        }
        Error::Timeout(_) => ClientError::Timeout(timeout),
        e @ (Error::HostNotFound | Error::ConnectionFailed | Error::ConnectProxyFailed(_) | Error::InvalidProxyUrl) => {
            connect(e.to_string())
        }
        Error::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::HostUnreachable
            ) =>
        {
            connect(io.to_string())
        }
        Error::Io(io) if io.kind() == ErrorKind::TimedOut => ClientError::Timeout(timeout),
        e @ (Error::Tls(_) | Error::Rustls(_)) => ClientError::Tls(format!("{addr}: {e}")),
        Error::BadUri(u) => ClientError::BadUrl(shown(&u)),
        other => ClientError::Http(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_and_without_scheme_port_and_path() {
        let u = Url::parse("http://10.0.0.5:8080/goip/gw1/k?x=1").expect("url");
        assert_eq!((u.host.as_str(), u.port, u.target.as_str()), ("10.0.0.5", 8080, "/goip/gw1/k?x=1"));
        let u = Url::parse("192.168.1.9").expect("bare");
        assert_eq!((u.port, u.target.as_str(), u.base()), (80, "/", "http://192.168.1.9:80".to_string()));
        let u = Url::parse("http://[::1]:81/").expect("v6");
        assert_eq!((u.host.as_str(), u.port, u.base().as_str()), ("::1", 81, "http://[::1]:81"));
        let u = Url::parse("https://files.example/a.pdf").expect("https");
        assert_eq!((u.tls, u.port, u.target.as_str()), (true, 443, "/a.pdf"));
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://:80").is_err());
        assert!(Url::parse("http://h:notaport").is_err());
    }

    #[test]
    fn a_bad_url_is_shown_without_its_query_or_user_info() {
        let e = Url::parse("ftp://user:pw-s3cret@files.example/bin?X-Amz-Signature=s3cret").expect_err("ftp");
        let text = e.to_string();
        assert!(text.contains("ftp://…@files.example/bin?…"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(shown("http://u:p?w@h/x#frag"), "http://…@h/x#…");
        assert_eq!(shown("http://u:p/w@h"), "http://…@h");
        assert_eq!(shown("https://[::1]:8/p?t=1"), "https://[::1]:8/p?…");
        assert_eq!(shown("h:1/a"), "h:1/a");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error_and_a_silent_peer_a_timeout() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let client = Client::new(Reach::Lan, "");
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
        let e =
            client.send(&url, hyper::Method::GET, "/", None, None, Duration::from_secs(2)).await.expect_err("refused");
        // qemu-user does not translate the errno a non-blocking connect leaves in SO_ERROR
        // (the host's 111, where MIPS says ECONNREFUSED with 146): under emulation the
        // refusal arrives unnamed. A real MIPS kernel names it.
        let emulated = std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty());
        let unnamed_by_qemu = matches!(&e, ClientError::Http(m) if m.contains("os error 111"));
        assert!(matches!(e, ClientError::Connect { .. }) || (emulated && unnamed_by_qemu), "{e:?}");
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = Url::parse(&format!("http://{}/", silent.local_addr().expect("addr"))).expect("url");
        let e = client
            .send(&url, hyper::Method::GET, "/", None, None, Duration::from_millis(300))
            .await
            .expect_err("silent");
        assert!(matches!(e, ClientError::Timeout(_)), "{e:?}");
    }

    #[tokio::test]
    async fn a_reply_over_the_limit_is_too_large() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = server.local_addr().expect("addr");
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = server.accept().expect("accept");
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let body = "x".repeat(5000);
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        });
        let client = Client::new(Reach::Lan, "");
        let url = Url::parse(&format!("http://{addr}/")).expect("url");
        let ex = Exchange {
            method: hyper::Method::GET,
            target: "/",
            content_type: None,
            headers: &[],
            body: None,
            timeout: Duration::from_secs(5),
            max_reply_bytes: 1000,
        };
        assert!(matches!(client.exchange(&url, ex).await, Err(ClientError::TooLarge(1000))));
    }
}
