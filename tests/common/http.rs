//! A minimal blocking HTTP/1.1 client for tests: one request per connection, or many on one
//! kept connection ([`Kept`]).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends a raw request to 127.0.0.1; the body is sent as given.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Reply> {
    request_to("127.0.0.1", port, method, path, headers, body)
}

/// Sends a raw request to `host` (e.g. a simulator inside a namespace).
pub fn request_to(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // RFC 9112: the port belongs in Host when it is not the default.
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| std::io::Error::other("no header end"))?;
    let headers = String::from_utf8_lossy(&raw[..split]).to_string();
    let status =
        headers.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other("no status"))?;
    Ok(Reply { status, headers, body: raw[split + 4..].to_vec() })
}

pub fn get(port: u16, path: &str) -> std::io::Result<Reply> {
    get_at("127.0.0.1", port, path)
}

pub fn get_at(host: &str, port: u16, path: &str) -> std::io::Result<Reply> {
    request_to(host, port, "GET", path, &[], b"")
}

/// A counter or gauge from the agent's `/metrics` (None: not there, or no answer).
pub fn metric(port: u16, name: &str) -> Option<u64> {
    let body = get(port, "/metrics").ok()?.body;
    String::from_utf8_lossy(&body).lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

pub fn post_json(port: u16, path: &str, token: Option<&str>, body: &Value) -> std::io::Result<Reply> {
    post_json_at("127.0.0.1", port, path, token, body)
}

pub fn post_json_at(host: &str, port: u16, path: &str, token: Option<&str>, body: &Value) -> std::io::Result<Reply> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    request_to(host, port, "POST", path, &headers, body.to_string().as_bytes())
}

/// One connection kept open for request after request (HTTP/1.1 keep-alive), as a client
/// with a connection pool sends them.
pub struct Kept {
    port: u16,
    stream: BufReader<TcpStream>,
}

impl Kept {
    pub fn connect(port: u16) -> std::io::Result<Kept> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Kept { port, stream: BufReader::new(stream) })
    }

    /// POSTs `body` as JSON on this connection and reads the reply (framed by its
    /// `Content-Length`); the connection stays open for the next.
    pub fn post_json(&mut self, path: &str, token: &str, body: &Value) -> std::io::Result<Reply> {
        let body = body.to_string();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(&[head.as_bytes(), body.as_bytes()].concat())?;
        let mut headers = String::new();
        loop {
            let before = headers.len();
            if self.stream.read_line(&mut headers)? == 0 {
                return Err(std::io::Error::other("closed before the reply's end"));
            }
            if headers[before..].trim_end().is_empty() {
                break;
            }
        }
        let reply = Reply { status: 0, headers: headers.trim_end().to_string(), body: vec![] };
        let status = reply
            .headers
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        let length: usize = reply.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(Reply { status, body, ..reply })
    }
}
