//! A broker's gate for tests: a TCP relay on 127.0.0.1 in front of a real broker that ends
//! the connection when the client publishes a retained message, as AWS IoT does when a
//! thing's policy lacks `iot:RetainPublish`, or on a topic its policy denies. Everything
//! else passes through untouched.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct RetainGate {
    pub port: u16,
    cuts: Arc<AtomicUsize>,
}

impl RetainGate {
    /// Starts relaying to the broker on `broker`.
    pub fn start(broker: u16) -> RetainGate {
        RetainGate::denying(broker, "")
    }

    /// Also ends the connection over a publish whose topic contains `denied` (not empty).
    pub fn denying(broker: u16, denied: &str) -> RetainGate {
        let denied = denied.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind gate");
        let port = listener.local_addr().expect("addr").port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let counted = cuts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (counted, denied) = (counted.clone(), denied.clone());
                std::thread::spawn(move || relay(client, broker, &denied, &counted));
            }
        });
        RetainGate { port, cuts }
    }

    /// Connections ended over a retained publish so far.
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }
}

/// Pipes the broker's bytes back as they come, and the client's packet by packet.
fn relay(client: TcpStream, broker: u16, denied: &str, cuts: &AtomicUsize) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", broker)) else { return };
    let (mut down_r, mut down_w) = (upstream.try_clone().expect("clone"), client.try_clone().expect("clone"));
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut down_r, &mut down_w);
        let _ = down_w.shutdown(Shutdown::Both);
    });
    let (mut from, mut to) = (client, upstream);
    while let Some(packet) = read_packet(&mut from) {
        // PUBLISH is type 3; bit 0 of its first byte is RETAIN.
        if packet[0] >> 4 == 3 && (packet[0] & 1 == 1 || (!denied.is_empty() && topic(&packet).contains(denied))) {
            cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if to.write_all(&packet).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A PUBLISH packet's topic: after the fixed header, a 2-byte length and the name.
fn topic(packet: &[u8]) -> String {
    let start = 1 + packet[1..].iter().position(|b| b & 0x80 == 0).unwrap_or(0) + 1;
    let len = usize::from(u16::from_be_bytes([packet[start], packet[start + 1]]));
    String::from_utf8_lossy(&packet[start + 2..start + 2 + len]).into_owned()
}

/// One whole MQTT control packet: its fixed header (the type byte and the remaining
/// length, 1–4 bytes of 7 bits each) and the rest.
fn read_packet(from: &mut TcpStream) -> Option<Vec<u8>> {
    let mut packet = vec![0u8];
    from.read_exact(&mut packet).ok()?;
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let mut b = [0u8];
        from.read_exact(&mut b).ok()?;
        packet.push(b[0]);
        len |= usize::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 || shift >= 21 {
            break;
        }
        shift += 7;
    }
    let start = packet.len();
    packet.resize(start + len, 0);
    from.read_exact(&mut packet[start..]).ok()?;
    Some(packet)
}
