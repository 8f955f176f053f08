//! A keep-alive HTTP/1.1 client for load generators and tests of the
//! calendar server: requests written by hand, so the bytes on the wire are
//! the caller's, and nothing but the socket between.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// A keep-alive HTTP/1.1 client connection, requests written by hand.
pub struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`.
    pub fn new(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Conn { s, buf: Vec::new() }
    }

    /// Posts `body` (JSON) to `path`; the status.
    pub fn post(&mut self, path: &str, body: &[u8]) -> u16 {
        self.request("POST", path, body).0
    }

    /// `GET path` asking for JSON; the status and the body.
    pub fn get(&mut self, path: &str) -> (u16, Vec<u8>) {
        self.request("GET", path, b"")
    }

    /// One exchange on the connection; the status and the body.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: l\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.s.write_all(&req).unwrap();
        // Head, then Content-Length bytes of body.
        let mut chunk = [0u8; 16384];
        let (end, len) = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..p]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                break (p + 4, len);
            }
            let n = self.s.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        while self.buf.len() < end + len {
            let n = self.s.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let status = String::from_utf8_lossy(&self.buf[9..12]).parse().unwrap();
        let reply = self.buf[end..end + len].to_vec();
        self.buf.drain(..end + len);
        (status, reply)
    }
}
