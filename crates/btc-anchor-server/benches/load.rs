//! The calendar server's load generator: concurrent clients on loopback
//! against the real HTTP stack and SQLite storage (group commit, a reply
//! only after the commit), each figure beside the same load against a
//! reference server measured in the same run.
//!
//! * `native`: 50 clients, one keep-alive connection each, post
//!   `POST /api/v1/digests` requests of 100 digests until 200,000 digests
//!   are accepted: digests per second, p50/p99 request latency.
//! * `digest`: 50 clients post single `POST /digest` requests until 50,000
//!   are accepted: requests per second, p50/p99.
//! * `reference`: the same two loads against a server with the same HTTP
//!   stack whose handlers answer a fixed body of the same size at once
//!   (no storage, no salt, no commit): the ceiling of HTTP on this machine.
//! * `memory`: 1,000,000 digests queued (100 requests of 10,000 from 10
//!   clients), then the
//!   process's peak resident memory (server and clients alike).
//!
//! Every accepted digest is then counted in the store: none may be lost.
//!
//! `BTC_ANCHOR_LOAD_BACKEND=postgres` runs it against the PostgreSQL
//! backend instead (`docs/server-api.md` §12), on a throwaway cluster on
//! 127.0.0.1 started for the run.
//!
//! `cargo bench -p btc-anchor-server --bench load` runs it in full and
//! prints `RESULT` lines; under `cargo test --benches` it runs once on a
//! few thousand digests. `BTC_ANCHOR_LOAD_DIR` picks the folder of the
//! store (default: the system's temporary folder).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use btc_anchor::bitcoin::Network;
use btc_anchor_server::health::Health;
use btc_anchor_server::http::{router, AppState};
use btc_anchor_server::postgres::PgStorage;
use btc_anchor_server::sqlite::SqliteStorage;
use btc_anchor_server::storage::Storage;
use btc_anchor_testenv::http::Conn;

const CLIENTS: usize = 50;

/// What one load gave: accepted units per second and request latencies.
struct Load {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    accepted: u64,
}

/// `clients` threads post `body(n)` to `path` until `total` units (of
/// `per_request` each) are accepted.
fn load(
    addr: SocketAddr,
    clients: usize,
    path: &'static str,
    total: u64,
    per_request: u64,
    native: bool,
) -> Load {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut c = Conn::new(addr);
                let mut lat = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n * per_request >= total {
                        return lat;
                    }
                    let body = request_body(n, per_request, native);
                    let t = Instant::now();
                    let status = c.post(path, &body);
                    lat.push(t.elapsed());
                    assert_eq!(status, 200, "{path}");
                }
            })
        })
        .collect();
    let mut lat: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let took = start.elapsed();
    lat.sort();
    let q = |f: f64| lat[((lat.len() as f64 * f) as usize).min(lat.len() - 1)];
    Load {
        per_sec: total as f64 / took.as_secs_f64(),
        p50: q(0.50),
        p99: q(0.99),
        accepted: total,
    }
}

/// Request `n`'s body: distinct digests.
fn request_body(n: u64, per_request: u64, native: bool) -> Vec<u8> {
    let digest = |i: u64| {
        let mut d = [0x5a; 32];
        d[..8].copy_from_slice(&n.to_be_bytes());
        d[8..16].copy_from_slice(&i.to_be_bytes());
        d
    };
    if native {
        let list: Vec<String> = (0..per_request)
            .map(|i| format!("\"{}\"", hex::encode(digest(i))))
            .collect();
        format!("{{\"digests\":[{}]}}", list.join(",")).into_bytes()
    } else {
        digest(0).to_vec()
    }
}

fn spawn(rt: &tokio::runtime::Runtime, app: axum::Router) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The reference: the same HTTP stack answering a fixed body at once.
fn reference(rt: &tokio::runtime::Runtime) -> SocketAddr {
    // A pending timestamp is about 100 bytes; a receipt about 180.
    let digest = || async { vec![0u8; 100] };
    let native = |body: axum::body::Bytes| async move {
        let n = body.iter().filter(|b| **b == b',').count() + 1;
        axum::Json(
            serde_json::json!({"network": "regtest", "receipts": vec![serde_json::json!({"id": "0".repeat(64), "digest": "0".repeat(64), "salt": "0".repeat(32)}); n]}),
        )
    };
    spawn(
        rt,
        axum::Router::new()
            .route("/digest", post(digest))
            .route("/api/v1/digests", post(native)),
    )
}

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let (native_total, digest_total, memory_total) = if full {
        (200_000, 50_000, 1_000_000)
    } else {
        (5_000, 1_000, 20_000)
    };
    let base = std::env::var_os("BTC_ANCHOR_LOAD_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pg = (std::env::var("BTC_ANCHOR_LOAD_BACKEND").as_deref() == Ok("postgres"))
        .then(|| btc_anchor_testenv::postgres::PgCluster::start().unwrap());
    let storage: Arc<dyn Storage> = match &pg {
        None => Arc::new(SqliteStorage::open(dir.path(), Network::Regtest, 10_000).unwrap()),
        Some(c) => Arc::new(PgStorage::open(&c.url(), Network::Regtest, 10_000).unwrap()),
    };
    let backend = if pg.is_some() { "postgres" } else { "sqlite" };
    let health = Arc::new(Health::new(86_400));
    health.update(|s| s.running = true);
    let state = Arc::new(AppState {
        storage: storage.clone(),
        health,
        public_url: "http://127.0.0.1:8600".into(),
        network: Network::Regtest,
        min_depth: 1,
        max_digests: 10_000,
    });
    let ours = spawn(&rt, router(state, Duration::from_secs(30)));
    let reference = reference(&rt);

    let show = |name: &str, unit: &str, l: &Load, r: &Load| {
        println!(
            "RESULT {backend} {name}: {:.0} {unit}/s, p50 {:.1} ms, p99 {:.1} ms; reference {:.0} {unit}/s, p99 {:.1} ms; ratio {:.2}",
            l.per_sec,
            l.p50.as_secs_f64() * 1e3,
            l.p99.as_secs_f64() * 1e3,
            r.per_sec,
            r.p99.as_secs_f64() * 1e3,
            l.per_sec / r.per_sec
        );
    };
    let r = load(
        reference,
        CLIENTS,
        "/api/v1/digests",
        native_total,
        100,
        true,
    );
    let l = load(ours, CLIENTS, "/api/v1/digests", native_total, 100, true);
    show(
        "native, 50 clients, 100 digests a request",
        "digests",
        &l,
        &r,
    );
    let mut accepted = l.accepted;
    let r = load(reference, CLIENTS, "/digest", digest_total, 1, false);
    let l = load(ours, CLIENTS, "/digest", digest_total, 1, false);
    show("/digest, 50 clients", "requests", &l, &r);
    accepted += l.accepted;

    // A million pending (10,000 a request, 10 clients at a time).
    let before = peak_rss_mb();
    let l = load(ours, 10, "/api/v1/digests", memory_total, 10_000, true);
    accepted += l.accepted;
    let queued = storage.queue().unwrap().pending;
    println!(
        "RESULT {backend} memory: {queued} digests pending, peak RSS {:.0} MB (before the million: {before:.0} MB), {:.0} digests/s in requests of 10,000",
        peak_rss_mb(),
        l.per_sec
    );
    assert_eq!(queued, accepted, "every accepted digest is in the store");
    storage.close();
}
