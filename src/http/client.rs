//! A small HTTP/1.1 client for LAN peers (gateways, fax servers) and for the simulators'
//! pushes: one connection per request, a whole-exchange timeout, bodies read fully.
//!
//! Built on hyper's client connection (hyper is already in the binary for the ingress),
//! so no second HTTP stack and no blocking threads. LAN peers speak plain `http://`;
//! `https://` (for documents and uploads in the cloud) goes through rustls with the ring
//! provider, the same TLS stack as the uplink, given a client config in the exchange.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use std::time::Duration;

/// Largest reply body read, in bytes.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad url {0:?}: only http(s)://host[:port][/path] is supported")]
    BadUrl(String),
    #[error("tls: {0}")]
    Tls(String),
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("http: {0}")]
    Http(String),
    /// The reply was longer than the caller allowed.
    #[error("reply larger than {0} bytes")]
    TooLarge(usize),
}

/// The TLS settings for `https://` URLs: the CAs of one PEM file (or the system's roots),
/// read once, off the async threads, on first use.
#[derive(Debug, Default)]
pub struct TlsRoots {
    ca_file: String,
    built: tokio::sync::OnceCell<Result<std::sync::Arc<rustls::ClientConfig>, String>>,
}

impl TlsRoots {
    /// `ca_file` empty = the system's roots.
    pub fn new(ca_file: &str) -> TlsRoots {
        TlsRoots { ca_file: ca_file.to_string(), built: tokio::sync::OnceCell::new() }
    }

    /// The TLS client config for `url`, when it is `https://`.
    pub async fn for_url(&self, url: &Url) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, ClientError> {
        if !url.tls {
            return Ok(None);
        }
        let ca_file = self.ca_file.clone();
        let built = self
            .built
            .get_or_init(|| async move {
                let settings = crate::config::TlsConfig { enabled: true, ca_file, ..Default::default() };
                tokio::task::spawn_blocking(move || crate::tls::client_config(&settings).map_err(|e| e.to_string()))
                    .await
                    .unwrap_or_else(|e| Err(format!("tls setup task: {e}")))
            })
            .await;
        built.clone().map(Some).map_err(ClientError::Tls)
    }
}

/// Where to send: host, port, and the path with its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub target: String,
    /// `https://`.
    pub tls: bool,
}

impl Url {
    /// Parses `http(s)://host[:port][/path?query]` (also bare `host[:port]`, plain http).
    pub fn parse(s: &str) -> Result<Url, ClientError> {
        let bad = || ClientError::BadUrl(s.to_string());
        let (rest, tls) = match s.split_once("://") {
            Some(("http", rest)) => (rest, false),
            Some(("https", rest)) => (rest, true),
            Some(_) => return Err(bad()),
            None => (s, false),
        };
        let (authority, target) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().map_err(|_| bad())?),
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Url { host: host.to_string(), port, target: target.to_string(), tls })
    }

    /// `http(s)://host:port` without the path.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    fn authority(&self) -> String {
        let base = self.base();
        let authority = base.split_once("://").map_or(base.as_str(), |(_, a)| a);
        let default = if self.tls { ":443" } else { ":80" };
        authority.strip_suffix(default).unwrap_or(authority).to_string()
    }
}

/// A reply: status and the whole body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// One request beyond the simple case: extra headers, a reply size limit.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    pub method: hyper::Method,
    /// Path and query.
    pub target: &'a str,
    pub content_type: Option<&'a str>,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
    pub max_reply_bytes: usize,
    /// The TLS client config for `https://` URLs (refused without one).
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// Sends one request to `base` (its path is ignored) for `target`, within `timeout`.
pub async fn send(
    base: &Url,
    method: hyper::Method,
    target: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Reply, ClientError> {
    let ex = Exchange {
        method,
        target,
        content_type,
        headers: &[],
        body,
        timeout,
        max_reply_bytes: MAX_REPLY_BYTES,
        tls: None,
    };
    exchange(base, ex).await
}

/// Sends `ex` to `base` within its timeout.
pub async fn exchange(base: &Url, ex: Exchange<'_>) -> Result<Reply, ClientError> {
    let timeout = ex.timeout;
    tokio::time::timeout(timeout, run(base, ex)).await.map_err(|_| ClientError::Timeout(timeout))?
}

async fn run(base: &Url, ex: Exchange<'_>) -> Result<Reply, ClientError> {
    let addr = format!("{}:{}", base.host, base.port);
    let stream = tokio::net::TcpStream::connect((base.host.as_str(), base.port))
        .await
        .map_err(|source| ClientError::Connect { addr: addr.clone(), source })?;
    let _ = stream.set_nodelay(true);
    if !base.tls {
        return over(stream, base, ex).await;
    }
    let config = ex.tls.clone().ok_or_else(|| ClientError::Tls(format!("no TLS settings for {}", base.base())))?;
    let name = rustls::pki_types::ServerName::try_from(base.host.clone())
        .map_err(|e| ClientError::Tls(format!("{}: {e}", base.host)))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| ClientError::Tls(format!("{addr}: {e}")))?;
    over(stream, base, ex).await
}

/// The exchange over an established connection, plain or TLS.
async fn over<S>(stream: S, base: &Url, ex: Exchange<'_>) -> Result<Reply, ClientError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            log::debug!("http client connection: {e}");
        }
    });
    let host = base.authority();
    let mut req = hyper::Request::builder()
        .method(ex.method)
        .uri(ex.target)
        .header(hyper::header::HOST, host.as_str())
        .header(hyper::header::CONNECTION, "close");
    if let Some(ct) = ex.content_type {
        req = req.header(hyper::header::CONTENT_TYPE, ct);
    }
    for (name, value) in ex.headers {
        req = req.header(*name, *value);
    }
    let req =
        req.body(Full::new(Bytes::from(ex.body.unwrap_or_default()))).map_err(|e| ClientError::Http(e.to_string()))?;
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| ClientError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), ex.max_reply_bytes)
            .collect()
            .await
            .map_err(|e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                Some(_) => ClientError::TooLarge(ex.max_reply_bytes),
                None => ClientError::Http(e.to_string()),
            })?
            .to_bytes();
        Ok(Reply { status, body })
    }
    .await;
    driver.abort();
    result
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
        assert_eq!(u.authority(), "192.168.1.9");
        let u = Url::parse("http://[::1]:81/").expect("v6");
        assert_eq!((u.host.as_str(), u.port, u.authority().as_str()), ("::1", 81, "[::1]:81"));
        let u = Url::parse("https://files.example/a.pdf").expect("https");
        assert_eq!((u.tls, u.port, u.authority().as_str()), (true, 443, "files.example"));
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://:80").is_err());
        assert!(Url::parse("http://h:notaport").is_err());
    }
}
