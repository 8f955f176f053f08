//! A fault-injecting proxy in front of an Electrum server: it relays
//! newline-delimited JSON-RPC, swallows requests, or lies about merkle
//! proofs and headers, as [`ProxyMode`] says at the time of each message.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::Value;

/// What the proxy does with the messages it relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProxyMode {
    /// Relay everything unchanged.
    Pass,
    /// Swallow client requests: the server never sees them and the client
    /// waits for replies that never come.
    Drop,
    /// Change one byte of the first hash of every
    /// `blockchain.transaction.get_merkle` answer.
    LieMerkle,
    /// Change the merkle root in every `blockchain.block.header` answer.
    LieHeader,
}

impl ProxyMode {
    fn from_u8(v: u8) -> ProxyMode {
        match v {
            1 => ProxyMode::Drop,
            2 => ProxyMode::LieMerkle,
            3 => ProxyMode::LieHeader,
            _ => ProxyMode::Pass,
        }
    }
}

struct Shared {
    mode: AtomicU8,
    stopping: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

/// A running proxy (threads on a loopback port); stopped when dropped.
pub struct Proxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port in front of `upstream`.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(ProxyMode::Pass as u8),
            stopping: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        let accept = thread::spawn(move || {
            for client in listener.incoming() {
                if s.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                if let Err(e) = relay(&s, client, server) {
                    eprintln!("electrum proxy: {e}");
                }
            }
        });
        Ok(Proxy {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// `tcp://127.0.0.1:PORT` of the proxy.
    pub fn electrum_url(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// Switches the proxy's behaviour for the following messages.
    pub fn set(&self, mode: ProxyMode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn relay(s: &Arc<Shared>, client: TcpStream, server: TcpStream) -> std::io::Result<()> {
    {
        let mut streams = s.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.push(client.try_clone()?);
        streams.push(server.try_clone()?);
    }
    let up = (client.try_clone()?, server.try_clone()?);
    let s1 = Arc::clone(s);
    thread::spawn(move || pipe(&s1, up.0, up.1, true));
    let s2 = Arc::clone(s);
    thread::spawn(move || pipe(&s2, server, client, false));
    Ok(())
}

fn pipe(s: &Shared, from: TcpStream, mut to: TcpStream, to_server: bool) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let mode = ProxyMode::from_u8(s.mode.load(Ordering::SeqCst));
        let out = if to_server {
            if mode == ProxyMode::Drop {
                continue;
            }
            line.clone()
        } else {
            tamper(&line, mode)
        };
        if to.write_all(&out).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

fn flip_hex(s: &str, pos: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[pos] = if b[pos] == b'0' { b'1' } else { b'0' };
    String::from_utf8_lossy(&b).into_owned()
}

fn tamper(line: &[u8], mode: ProxyMode) -> Vec<u8> {
    let Ok(mut msg) = serde_json::from_slice::<Value>(line) else {
        return line.to_vec();
    };
    // Batches and notifications pass unchanged.
    let Some(res) = msg.get_mut("result") else {
        return line.to_vec();
    };
    match mode {
        ProxyMode::LieMerkle => match res.get_mut("merkle").and_then(|m| m.get_mut(0)) {
            Some(Value::String(h)) if h.len() > 10 => *h = flip_hex(h, 10),
            _ => return line.to_vec(),
        },
        // Bytes 36..68 of a header are the merkle root.
        ProxyMode::LieHeader => match res {
            Value::String(h) if h.len() == 160 => *h = flip_hex(h, 80),
            _ => return line.to_vec(),
        },
        ProxyMode::Pass | ProxyMode::Drop => return line.to_vec(),
    }
    let mut out = msg.to_string().into_bytes();
    out.push(b'\n');
    out
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop, then end every relayed connection.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lies_change_one_hex_digit_and_only_what_they_name() {
        let merkle = br#"{"id":1,"result":{"block_height":5,"merkle":["00000000000000000000","ab"],"pos":1}}"#;
        let lied: Value = serde_json::from_slice(&tamper(merkle, ProxyMode::LieMerkle)).unwrap();
        assert_eq!(lied["result"]["merkle"][0], "00000000001000000000");
        assert_eq!(lied["result"]["merkle"][1], "ab");
        assert_eq!(tamper(merkle, ProxyMode::LieHeader), merkle.to_vec());
        assert_eq!(tamper(merkle, ProxyMode::Pass), merkle.to_vec());

        let header = format!(r#"{{"id":2,"result":"{}"}}"#, "0".repeat(160));
        let lied: Value =
            serde_json::from_slice(&tamper(header.as_bytes(), ProxyMode::LieHeader)).unwrap();
        let h = lied["result"].as_str().unwrap();
        assert_eq!(&h[80..81], "1");
        assert_eq!(h.matches('1').count(), 1);

        for other in [
            &br#"[{"id":1,"result":{"merkle":["00"]}}]"#[..],
            b"not json\n",
        ] {
            assert_eq!(tamper(other, ProxyMode::LieMerkle), other.to_vec());
        }
    }
}
