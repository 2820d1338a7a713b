//! A small HTTPS server for tests (rustls over blocking sockets, one request per
//! connection): GET answers `document`, POST records the request and answers 200.
//! Its certificate is signed by the CA of [`super::tls::make`].

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

pub struct HttpsServer {
    pub port: u16,
    pub ca: PathBuf,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl HttpsServer {
    pub fn start(dir: &Path, document: Vec<u8>) -> HttpsServer {
        let files = super::tls::make(dir);
        let chain = CertificateDer::pem_file_iter(&files.server_cert)
            .expect("cert")
            .collect::<Result<Vec<_>, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(&files.server_key).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let conn = rustls::ServerConnection::new(config.clone()).expect("connection");
                let mut tls = rustls::StreamOwned::new(conn, stream);
                if let Some(req) = read_request(&mut tls) {
                    let body = if req.method == "GET" { document.clone() } else { b"{\"ok\":true}".to_vec() };
                    sink.lock().expect("lock").push(req);
                    let head =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    let _ = tls.write_all(head.as_bytes()).and_then(|()| tls.write_all(&body));
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        HttpsServer { port, ca: files.ca, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

fn read_request(stream: &mut impl Read) -> Option<Received> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut first = head.lines().next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let mut req = Received { method, path, head, body: raw[end + 4..].to_vec() };
    let length: usize = req.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while req.body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        req.body.extend_from_slice(&buf[..n]);
    }
    Some(req)
}
