//! bcoin's JSON-RPC (Bitcoin-Core-like) over one plain HTTP/1.1 request per
//! call on a std `TcpStream`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::Error;

/// Where a node's RPC listens and its API key (the basic-auth password).
#[derive(Debug, Clone)]
pub struct RpcClient {
    addr: SocketAddr,
    api_key: String,
}

impl RpcClient {
    /// A client for `127.0.0.1:port` with `api_key`.
    pub fn new(addr: SocketAddr, api_key: &str) -> RpcClient {
        RpcClient {
            addr,
            api_key: api_key.to_owned(),
        }
    }

    /// The RPC's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key (the basic-auth password; any user name).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Calls `method` with `params`; the result, or the node's error.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, Error> {
        let body =
            json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}).to_string();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("x:{}", self.api_key));
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            auth,
            body.len()
        )?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply)?;
        let reply = String::from_utf8_lossy(&reply);
        let (head, body) = reply
            .split_once("\r\n\r\n")
            .ok_or_else(|| Error::Rpc(method.to_owned(), format!("no HTTP body: {reply:?}")))?;
        let v: Value = serde_json::from_str(body).map_err(|e| {
            let status = head.lines().next().unwrap_or_default();
            Error::Rpc(method.to_owned(), format!("{status}: {e}: {body:?}"))
        })?;
        match &v["error"] {
            Value::Null => Ok(v["result"].clone()),
            e => Err(Error::Rpc(
                method.to_owned(),
                e["message"]
                    .as_str()
                    .map_or_else(|| e.to_string(), str::to_owned),
            )),
        }
    }
}
