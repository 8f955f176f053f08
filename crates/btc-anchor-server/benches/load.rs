//! The calendar server's load generator: concurrent clients on loopback
//! against the real HTTP stack and storage (group commit, a reply only
//! after the commit), each figure beside the same load against a reference
//! server measured in the same run. The servers run in a child process of
//! their own (this program again, with `BTC_ANCHOR_LOAD_SERVE` set), so the
//! memory figure is the server's alone, never the clients'.
//!
//! * `native`: 50 clients, one keep-alive connection each, post
//!   `POST /api/v1/digests` requests of 100 digests as fast as they are
//!   answered until 200,000 digests are accepted (a closed loop, the
//!   server saturated): digests per second, p50/p99 request latency.
//! * `native at 20,000/s`: the same 50 clients post requests of 100
//!   digests on a fixed schedule, 200 requests a second in all (20,000
//!   digests/s, the target load) for 10 seconds (an open loop). Each
//!   latency counts from the moment the request was due, not from when it
//!   was sent, so a stalled server cannot hide the requests it held back.
//! * `digest`: 50 clients post single `POST /digest` requests until 50,000
//!   are accepted: requests per second, p50/p99.
//! * `reference`: the same loads against a server with the same HTTP
//!   stack in the same child process whose handlers answer a fixed body of
//!   the same size at once (no storage, no salt, no commit): the ceiling of
//!   HTTP on this machine.
//! * `memory`: 1,000,000 more digests queued (100 requests of 10,000 from
//!   10 clients), then the server process's peak resident memory
//!   (`VmHWM`), with every digest of the run pending.
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

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
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
/// Set in the child: the store's folder; the child serves.
const SERVE_ENV: &str = "BTC_ANCHOR_LOAD_SERVE";
/// Set in the child with the PostgreSQL backend: the database's URL.
const PG_ENV: &str = "BTC_ANCHOR_LOAD_PG_URL";

/// What one load gave: accepted units per second and request latencies.
struct Load {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    accepted: u64,
}

impl Load {
    fn new(mut lat: Vec<Duration>, took: Duration, per_request: u64) -> Load {
        lat.sort();
        let q = |f: f64| lat[((lat.len() as f64 * f) as usize).min(lat.len() - 1)];
        let accepted = lat.len() as u64 * per_request;
        Load {
            per_sec: accepted as f64 / took.as_secs_f64(),
            p50: q(0.50),
            p99: q(0.99),
            accepted,
        }
    }
}

/// The request bodies of one phase of the run: its own digests.
#[derive(Clone, Copy)]
struct Requests {
    path: &'static str,
    per_request: u64,
    native: bool,
    phase: u8,
}

impl Requests {
    fn native(per_request: u64, phase: u8) -> Requests {
        Requests {
            path: "/api/v1/digests",
            per_request,
            native: true,
            phase,
        }
    }

    fn digest(phase: u8) -> Requests {
        Requests {
            path: "/digest",
            per_request: 1,
            native: false,
            phase,
        }
    }

    /// Request `n`'s body: digests no other request of the run has.
    fn body(&self, n: u64) -> Vec<u8> {
        let digest = |i: u64| {
            let mut d = [0x5a; 32];
            d[0] = self.phase;
            d[8..16].copy_from_slice(&n.to_be_bytes());
            d[16..24].copy_from_slice(&i.to_be_bytes());
            d
        };
        if self.native {
            let list: Vec<String> = (0..self.per_request)
                .map(|i| format!("\"{}\"", hex::encode(digest(i))))
                .collect();
            format!("{{\"digests\":[{}]}}", list.join(",")).into_bytes()
        } else {
            digest(0).to_vec()
        }
    }

    fn send(&self, c: &mut Conn, n: u64) {
        let status = c.post(self.path, &self.body(n));
        assert_eq!(status, 200, "{}", self.path);
    }
}

/// Runs `clients` threads, thread `k` with a connection of its own doing
/// `client(k, conn)`; every latency they measured.
fn run_clients<F>(addr: SocketAddr, clients: usize, client: F) -> Vec<Duration>
where
    F: Fn(u64, Conn) -> Vec<Duration> + Send + Sync + 'static,
{
    let client = Arc::new(client);
    let threads: Vec<_> = (0..clients as u64)
        .map(|k| {
            let client = client.clone();
            std::thread::spawn(move || client(k, Conn::new(addr)))
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

/// A closed loop: `clients` threads post requests as fast as they are
/// answered until `total` units are accepted.
fn saturate(addr: SocketAddr, clients: usize, total: u64, req: Requests) -> Load {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let lat = run_clients(addr, clients, move |_, mut c| {
        let mut lat = Vec::new();
        loop {
            let n = next.fetch_add(1, Ordering::SeqCst);
            if n * req.per_request >= total {
                return lat;
            }
            let t = Instant::now();
            req.send(&mut c, n);
            lat.push(t.elapsed());
        }
    });
    Load::new(lat, start.elapsed(), req.per_request)
}

/// An open loop: `clients` threads post `rate` requests a second in all,
/// each on its schedule, for `period`; each latency counts from when the
/// request was due.
fn paced(addr: SocketAddr, clients: usize, rate: f64, period: Duration, req: Requests) -> Load {
    let count = (rate * period.as_secs_f64()) as u64;
    let start = Instant::now() + Duration::from_millis(100);
    let lat = run_clients(addr, clients, move |k, mut c| {
        let mut lat = Vec::new();
        for n in (k..count).step_by(clients) {
            let due = start + Duration::from_secs_f64(n as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            req.send(&mut c, n);
            lat.push(due.elapsed());
        }
        lat
    });
    Load::new(lat, start.elapsed(), req.per_request)
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

/// The child: opens the storage in `dir` (or the database of
/// [`PG_ENV`]), serves it and the reference, prints `LISTEN ours
/// reference`, and answers each line on stdin: `pending` with the count
/// of pending digests; end of input closes the storage and exits.
fn serve(dir: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let storage: Arc<dyn Storage> = match std::env::var(PG_ENV) {
        Err(_) => Arc::new(SqliteStorage::open(dir, Network::Regtest, 10_000).unwrap()),
        Ok(url) => Arc::new(PgStorage::open(&url, Network::Regtest, 10_000).unwrap()),
    };
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
    let mut out = std::io::stdout().lock();
    writeln!(out, "LISTEN {ours} {reference}").unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lines() {
        if line.unwrap().trim() == "pending" {
            writeln!(out, "{}", storage.queue().unwrap().pending).unwrap();
            out.flush().unwrap();
        }
    }
    storage.close();
}

/// The parent's handle on the serving child.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    ours: SocketAddr,
    reference: SocketAddr,
}

impl Server {
    fn start(dir: &std::path::Path, pg_url: Option<String>) -> Server {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env(SERVE_ENV, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(url) = pg_url {
            cmd.env(PG_ENV, url);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let mut words = line.split_whitespace().skip(1);
        let mut addr = || words.next().unwrap().parse().unwrap();
        let (ours, reference) = (addr(), addr());
        Server {
            child,
            stdin,
            stdout,
            ours,
            reference,
        }
    }

    fn pending(&mut self) -> u64 {
        writeln!(self.stdin, "pending").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().parse().unwrap()
    }

    /// The child's resident memory now and at its peak, in MB.
    fn rss_mb(&self) -> (f64, f64) {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            s.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Closes the storage (committing everything) and waits for the child.
    fn stop(self) {
        let Server {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        assert!(child.wait().unwrap().success(), "the server failed");
    }
}

fn main() {
    if let Some(dir) = std::env::var_os(SERVE_ENV) {
        serve(std::path::Path::new(&dir));
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let (native_total, digest_total, paced_period, memory_total) = if full {
        (200_000, 50_000, Duration::from_secs(10), 1_000_000)
    } else {
        (5_000, 1_000, Duration::from_secs(1), 20_000)
    };
    let base = std::env::var_os("BTC_ANCHOR_LOAD_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).unwrap();
    let pg = (std::env::var("BTC_ANCHOR_LOAD_BACKEND").as_deref() == Ok("postgres"))
        .then(|| btc_anchor_testenv::postgres::PgCluster::start().unwrap());
    let backend = if pg.is_some() { "postgres" } else { "sqlite" };
    let mut server = Server::start(dir.path(), pg.as_ref().map(|c| c.url()));
    let (ours, reference) = (server.ours, server.reference);

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
    let r = saturate(reference, CLIENTS, native_total, Requests::native(100, 0));
    let l = saturate(ours, CLIENTS, native_total, Requests::native(100, 1));
    show(
        "native, 50 clients, 100 digests a request",
        "digests",
        &l,
        &r,
    );
    let mut accepted = l.accepted;

    // The target load: 200 requests of 100 a second.
    let r = paced(
        reference,
        CLIENTS,
        200.0,
        paced_period,
        Requests::native(100, 0),
    );
    let l = paced(ours, CLIENTS, 200.0, paced_period, Requests::native(100, 2));
    show(
        "native at 20,000 digests/s (open loop, from when each was due)",
        "digests",
        &l,
        &r,
    );
    accepted += l.accepted;

    let r = saturate(reference, CLIENTS, digest_total, Requests::digest(0));
    let l = saturate(ours, CLIENTS, digest_total, Requests::digest(3));
    show("/digest, 50 clients", "requests", &l, &r);
    accepted += l.accepted;

    // A million more pending (10,000 a request, 10 clients at a time).
    let (before, _) = server.rss_mb();
    let l = saturate(ours, 10, memory_total, Requests::native(10_000, 4));
    accepted += l.accepted;
    let queued = server.pending();
    let (now, peak) = server.rss_mb();
    println!(
        "RESULT {backend} memory: {queued} digests pending, server peak RSS {peak:.0} MB (now {now:.0} MB; before the million: {before:.0} MB), {:.0} digests/s in requests of 10,000",
        l.per_sec
    );
    assert_eq!(queued, accepted, "every accepted digest is in the store");
    server.stop();
}
