//! The HTTP API over real loopback sockets, requests written by hand so
//! that every byte (Content-Length, chunked bodies) is the test's: the
//! texts and statuses of `docs/server-api.md` §5.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use btc_anchor::bitcoin::Network;
use btc_anchor::ots::{Attestation, Timestamp};
use btc_anchor_server::health::Health;
use btc_anchor_server::http::{router, AppState};
use btc_anchor_server::sqlite::SqliteStorage;

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn request(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let body = out[split + 4..].to_vec();
    let status = head[9..12].parse().unwrap();
    Reply { status, head, body }
}

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Reply {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    request(addr, &raw)
}

fn get(addr: SocketAddr, path: &str, accept: &str) -> Reply {
    request(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: {accept}\r\n\r\n")
            .as_bytes(),
    )
}

const URI: &str = "http://127.0.0.1:1";

fn start(
    dir: &std::path::Path,
    running: bool,
) -> (SocketAddr, Arc<Health>, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir, Network::Regtest, 100).unwrap());
    let health = Arc::new(Health::new(3600));
    health.update(|s| s.running = running);
    let state = Arc::new(AppState {
        storage,
        health: health.clone(),
        public_url: URI.into(),
        network: Network::Regtest,
        min_depth: 1,
        max_digests: 100,
    });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        axum::serve(listener, router(state, Duration::from_secs(5)))
            .await
            .unwrap()
    });
    (addr, health, rt)
}

#[test]
fn the_calendar_api_as_the_stock_calendar_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, health, _rt) = start(dir.path(), true);

    // A 32-byte digest: a pending timestamp ending at the commitment.
    let digest = [0x5a; 32];
    let r = post(addr, "/digest", &digest);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.head.contains("content-type: application/octet-stream"),
        "{}",
        r.head
    );
    let ts = Timestamp::from_bytes(&r.body, 32).unwrap();
    let found = ts.attestations_from(&digest);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].attestation,
        Attestation::Pending { uri: URI.into() }
    );
    let commitment = hex::encode(&found[0].message);

    let r = get(
        addr,
        &format!("/timestamp/{commitment}"),
        "application/vnd.opentimestamps.v1",
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"Pending confirmation in Bitcoin blockchain");
    assert!(
        r.head.contains("cache-control: public, max-age=60"),
        "{}",
        r.head
    );
    // Upper-case hex is the same commitment.
    let r = get(
        addr,
        &format!("/timestamp/{}", commitment.to_uppercase()),
        "*/*",
    );
    assert_eq!(r.body, b"Pending confirmation in Bitcoin blockchain");

    // Other lengths are hashed first, up to 64 bytes.
    for len in [0usize, 20, 64] {
        let r = post(addr, "/digest", &vec![1; len]);
        assert_eq!(r.status, 200, "{len}");
        let ts = Timestamp::from_bytes(&r.body, len).unwrap();
        assert_eq!(ts.attestations_from(&vec![1; len]).len(), 1);
    }
    let r = post(addr, "/digest", &[1; 65]);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (400, &b"digest too long"[..])
    );
    let r = request(
        addr,
        b"POST /digest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n0123456789abcdef0123456789abcdef\r\n0\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.body.as_slice()),
        (400, &b"invalid Content-Length"[..])
    );

    let r = get(addr, "/timestamp/abc", "*/*");
    assert_eq!(r.status, 400);
    assert_eq!(r.body, b"commitment must be hex-encoded bytes");
    assert!(
        r.head.contains("cache-control: public, max-age=31536000"),
        "{}",
        r.head
    );
    let r = get(addr, "/timestamp/zz", "*/*");
    assert_eq!(r.status, 400);
    let r = get(addr, &format!("/timestamp/{}", "00".repeat(32)), "*/*");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"Not found"[..]));
    let r = get(addr, "/timestamp/00", "*/*");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"Not found"[..]));
    let r = get(addr, "/nowhere", "*/*");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"Not found"[..]));

    // The status page, in JSON when asked.
    let r = get(addr, "/", "application/json");
    assert_eq!(r.status, 200);
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["accepting"], true);
    assert_eq!(j["pending_commitments"], 4);
    let r = get(addr, "/", "text/html");
    assert!(String::from_utf8_lossy(&r.body).contains("<html>"));

    // The native API.
    let body = serde_json::json!({"digests": [hex::encode([1u8; 32]), hex::encode([2u8; 32])]});
    let r = post(addr, "/api/v1/digests", body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let receipts = j["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[1]["digest"], hex::encode([2u8; 32]));
    let id = receipts[0]["id"].as_str().unwrap();
    let r = get(addr, &format!("/api/v1/proofs/{id}"), "*/*");
    assert_eq!(r.status, 202);
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["state"], "queued");
    let r = get(addr, &format!("/api/v1/proofs/{}", "11".repeat(32)), "*/*");
    assert_eq!(r.status, 404);
    let r = get(addr, "/api/v1/proofs/xyz", "*/*");
    assert_eq!(r.status, 400);
    let r = post(addr, "/api/v1/digests", br#"{"digests": ["ab"]}"#);
    assert_eq!(r.status, 400);
    let r = post(addr, "/api/v1/digests", br#"{"digests": []}"#);
    assert_eq!(r.status, 400);

    // When the anchorer cannot work, nothing is accepted.
    health.update(|s| s.cannot_pay = true);
    let r = post(addr, "/digest", &digest);
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        b"calendar unavailable: the wallet cannot pay the next anchor"
    );
    let r = post(addr, "/api/v1/digests", body.to_string().as_bytes());
    assert_eq!(r.status, 503);
    // Lookups go on.
    let r = get(addr, &format!("/timestamp/{commitment}"), "*/*");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"Pending confirmation in Bitcoin blockchain");
}

#[test]
fn an_anchorer_that_is_not_running_refuses_submissions() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _health, _rt) = start(dir.path(), false);
    let r = post(addr, "/digest", &[0; 32]);
    assert_eq!(r.status, 503);
    assert!(r.head.contains("retry-after: 60"), "{}", r.head);
    assert_eq!(r.body, b"calendar unavailable: the anchorer is not running");
    let r = get(addr, "/", "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["accepting"], false);
    assert_eq!(j["reason"], "the anchorer is not running");
}

#[test]
fn group_commit_serves_many_concurrent_submitters() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _health, _rt) = start(dir.path(), true);
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..50u8 {
                    let r = post(
                        addr,
                        "/digest",
                        &[
                            t, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 0,
                        ],
                    );
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let took = started.elapsed();
    let r = get(addr, "/", "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["pending_commitments"], 400);
    eprintln!("400 submissions from 8 clients in {took:?}");
}
