//! `btc-anchor serve` as an operator runs it, against a real regtest stack
//! (bcoin + ElectrumX): the stock OpenTimestamps client and a clinic
//! stamping with `btc-anchor stamp --server` share one server, one wallet
//! and one transaction; and the server's faults: an empty wallet, a lost
//! Electrum server, `kill -9` under load and in the middle of anchoring;
//! and two instances on one PostgreSQL database, the anchoring one killed
//! in the middle of anchoring and the standby finishing its batch.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use btc_anchor_testenv::regtest::{TestEnv, DEFAULT_TIMEOUT};
use serde_json::Value;

use crate::cli_anchoring::{ok, ots_reference_check, ots_venv, run, setup, Env};

/// A running `btc-anchor serve`.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The settings of a server that makes a batch once its oldest record has
/// waited `interval` seconds, and follows the chain every second.
fn configure(data: &Path, interval: u32) {
    std::fs::write(
        data.join("server.toml"),
        format!("anchor_interval_secs = {interval}\npoll_interval_secs = 1\n"),
    )
    .unwrap();
}

/// Starts `btc-anchor serve` on a free port of 127.0.0.1 over `env`'s data
/// directory (`pause_at`: the crash-test hook) and waits for its address.
fn serve(env: &Env, electrum: &str, pause_at: Option<&str>) -> Server {
    serve_in(env.data.path(), electrum, pause_at, &[])
}

/// [`serve`] over the data directory `data`, with more arguments.
fn serve_in(data: &Path, electrum: &str, pause_at: Option<&str>, more: &[&str]) -> Server {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("btc-anchor"));
    c.args(["serve", "--listen", "127.0.0.1:0", "--log-level", "warn"])
        .args(more)
        .env_remove("BTC_ANCHOR_POSTGRES")
        .env("BTC_ANCHOR_DATA_DIR", data)
        .env("BTC_ANCHOR_NETWORK", "regtest")
        .env("BTC_ANCHOR_ELECTRUM", electrum)
        .env_remove("BTC_ANCHOR_PAUSE_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(step) = pause_at {
        c.env("BTC_ANCHOR_PAUSE_AT", step);
    }
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = crate::support::listening_addr(&line, "calendar", more.contains(&"--json"));
    Server { child, addr }
}

/// One HTTP/1.1 exchange written by hand: the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&out[9..12]).parse().unwrap();
    (status, out[split + 4..].to_vec())
}

fn status(server: &Server) -> Value {
    let (code, body) = http(server.addr, "GET", "/", b"");
    assert_eq!(code, 200);
    serde_json::from_slice(&body).unwrap()
}

/// Waits until the server's status satisfies `ready`.
fn wait_for(server: &Server, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let s = status(server);
        if ready(&s) {
            return s;
        }
        assert!(Instant::now() < until, "waiting for {what}: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn accepting(server: &Server) -> Value {
    wait_for(server, "accepting", |s| s["accepting"] == true)
}

/// Waits until every pending commitment is in a broadcast transaction, and
/// returns the mempool.
fn wait_anchored(env: &Env, server: &Server) -> Vec<btc_anchor::bitcoin::Txid> {
    wait_for(server, "the anchor", |s| {
        s["pending_commitments"] == 0 && s["txs_waiting_for_confirmation"].as_u64() >= Some(1)
    });
    let txid: btc_anchor::bitcoin::Txid = status(server)["last_anchor_txid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    env.stack
        .wait_until_electrum_sees_txid(txid, DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mempool().unwrap()
}

/// Mines one block and waits until the server holds every batch final.
fn confirm(env: &Env, server: &Server) {
    env.stack.mine_blocks(1, None).unwrap();
    env.stack
        .wait_until_electrum_sees_block(DEFAULT_TIMEOUT)
        .unwrap();
    wait_for(server, "the batch to be final", |s| {
        s["txs_waiting_for_confirmation"] == 0
    });
}

fn ots(
    vars: &std::collections::HashMap<String, String>,
    dir: &Path,
    args: &[&str],
) -> (i32, String) {
    let out = StdCommand::new(&vars["OTS_BIN"])
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A clinic without a data directory of its own: `stamp --server` and
/// `upgrade --server` with a data directory that does not exist.
fn clinic(args: &[&str]) -> (i32, String, String) {
    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("btc-anchor"))
        .args(args)
        .env("BTC_ANCHOR_DATA_DIR", "/nonexistent/btc-anchor-clinic")
        .env("BTC_ANCHOR_NETWORK", "regtest")
        .env_remove("BTC_ANCHOR_ELECTRUM")
        .env_remove("BTC_ANCHOR_SERVER")
        .env_remove("BTC_ANCHOR_API_KEY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_stock_client_and_a_clinic_share_one_server_and_one_transaction() {
    let env = setup(0);
    // Long enough for both clients to submit before the batch is made.
    configure(env.data.path(), 8);
    let server = serve(&env, &env.stack.electrum_url(), None);
    let url = server.url();
    let st = accepting(&server);
    assert_eq!(st["network"], "regtest");
    let vars = ots_venv();
    let work = env.docs.path();

    // The stock client: one calendar, -m 1.
    std::fs::write(work.join("a.txt"), b"lab result 1\n").unwrap();
    let (code, out) = ots(
        &vars,
        work,
        &["--no-cache", "stamp", "-c", &url, "-m", "1", "a.txt"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(work.join("a.txt.ots").exists());
    // The default -m 2 with one calendar fails as it does with the stock
    // calendar, and writes nothing.
    std::fs::write(work.join("b.txt"), b"lab result 2\n").unwrap();
    let (code, out) = ots(&vars, work, &["--no-cache", "stamp", "-c", &url, "b.txt"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("cannot be greater than available calendar"),
        "{out}"
    );
    assert!(!work.join("b.txt.ots").exists());

    // A clinic with no wallet and no data directory.
    let records = work.join("records");
    std::fs::create_dir_all(&records).unwrap();
    for i in 0..3 {
        std::fs::write(records.join(format!("r{i}.txt")), format!("record {i}\n")).unwrap();
    }
    let (code, out, err) = clinic(&["stamp", "--server", &url, p(&records)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("queued 3 records; the server anchors them"),
        "{out}"
    );
    assert!(!Path::new("/nonexistent/btc-anchor-clinic").exists());
    // Stamping again sends nothing new.
    let (code, out, _) = clinic(&["stamp", "--server", &url, p(&records), "--json"]);
    assert_eq!(code, 0);
    let j = crate::support::parse_json(&out);
    assert_eq!(
        (j["queued"].as_u64(), j["already_stamped"].as_u64()),
        (Some(0), Some(3)),
        "{j}"
    );

    // While pending: the stock upgrade fails, ours says it waits.
    let (code, out) = ots(
        &vars,
        work,
        &["--no-cache", "-l", &url, "upgrade", "a.txt.ots"],
    );
    assert_ne!(code, 0, "{out}");
    let (code, out, err) = clinic(&["upgrade", "--server", &url, p(&records)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 completed"), "{out}");

    // One transaction for the four records of both clients.
    let mempool = wait_anchored(&env, &server);
    assert_eq!(mempool.len(), 1, "{mempool:?}");
    confirm(&env, &server);

    let (code, out) = ots(
        &vars,
        work,
        &["--no-cache", "-l", &url, "upgrade", "a.txt.ots"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Success! Timestamp complete"), "{out}");
    let (code, out, err) = clinic(&["upgrade", "--server", &url, p(&records), "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let j = crate::support::parse_json(&out);
    assert_eq!(j["completed"], 3, "{j}");
    let height = j["proofs"][0]["height"].as_u64().unwrap();

    // Both verify offline against a headers file synced from the chain,
    // and the .ots with the reference library.
    let headers = work.join("regtest.headers");
    ok(
        &env,
        &[
            "headers",
            "sync",
            "--electrum",
            &env.stack.electrum_url(),
            "--out",
            p(&headers),
            "--network",
            "regtest",
        ],
    );
    let doc = work.join("a.txt");
    let out = ok(
        &env,
        &[
            "verify",
            p(&doc),
            "--proof",
            p(&work.join("a.txt.ots")),
            "--network",
            "regtest",
            "--headers",
            p(&headers),
        ],
    );
    assert!(out.starts_with("VALID"), "{out}");
    for i in 0..3 {
        let d = records.join(format!("r{i}.txt"));
        let out = ok(
            &env,
            &[
                "verify",
                p(&d),
                "--network",
                "regtest",
                "--headers",
                p(&headers),
            ],
        );
        assert!(out.starts_with("VALID"), "{out}");
    }
    let block = env
        .stack
        .get_block(&env.stack.block_hash(height as u32).unwrap())
        .unwrap();
    assert_eq!(block.txdata.len(), 2, "the coinbase and the one anchor");
    use btc_anchor::bitcoin::hashes::Hash as _;
    let root = hex::encode(block.header.merkle_root.to_byte_array());
    ots_reference_check(&vars, &work.join("a.txt.ots"), &doc, height, &root);

    // Nothing left to do; a proof another server made is not ours.
    let (code, out, _) = clinic(&["upgrade", "--server", &url, p(&records)]);
    assert_eq!(code, 9, "{out}");
}

#[test]
fn an_empty_wallet_and_a_lost_electrum_server_refuse_digests() {
    let mut env = Env {
        stack: TestEnv::new().unwrap(),
        data: tempfile::tempdir().unwrap(),
        docs: tempfile::tempdir().unwrap(),
    };
    ok(&env, &["wallet", "create"]);
    // Asked before the server holds the data directory.
    let address = ok(&env, &["wallet", "address"]).trim().to_owned();
    configure(env.data.path(), 1);
    let server = serve(&env, &env.stack.electrum_url(), None);
    let st = wait_for(&server, "the first round", |s| s["balance_sat"].is_u64());
    assert_eq!(st["accepting"], false);
    assert_eq!(st["reason"], "the wallet cannot pay the next anchor");
    let (code, body) = http(server.addr, "POST", "/digest", &[7; 32]);
    assert_eq!(code, 503);
    assert_eq!(
        body,
        b"calendar unavailable: the wallet cannot pay the next anchor"
    );
    let (code, out, err) = clinic(&[
        "stamp",
        "--server",
        &server.url(),
        "--digest",
        &"ab".repeat(32),
    ]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(
        err.contains("the wallet cannot pay the next anchor"),
        "{err}"
    );

    // Funded: accepting. The Electrum server lost: refusing, then back.
    env.stack
        .fund(
            &btc_anchor_testenv::regtest::parse_address(&address).unwrap(),
            btc_anchor::bitcoin::Amount::ONE_BTC,
        )
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    accepting(&server);
    env.stack.stop_electrum().unwrap();
    let st = wait_for(&server, "the loss", |s| s["accepting"] == false);
    assert_eq!(st["reason"], "the anchorer is not running", "{st}");
    let (code, _) = http(server.addr, "POST", "/digest", &[8; 32]);
    assert_eq!(code, 503);
    env.stack.start_electrum().unwrap();
    accepting(&server);
    let (code, _) = http(server.addr, "POST", "/digest", &[8; 32]);
    assert_eq!(code, 200);
}

/// Submits batches of 10 digests from 4 threads until `stop`; every id the
/// server answered 200 for.
fn load(
    addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..4u8)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let digests: Vec<String> = (0..10)
                        .map(|i| {
                            n += 1;
                            let mut d = [t; 32];
                            d[..4].copy_from_slice(&n.to_be_bytes());
                            d[4] = i;
                            hex::encode(d)
                        })
                        .collect();
                    let body = serde_json::json!({ "digests": digests }).to_string();
                    // A connection cut by the kill is no acknowledgement.
                    let Ok(r) = std::panic::catch_unwind(|| {
                        http(addr, "POST", "/api/v1/digests", body.as_bytes())
                    }) else {
                        break;
                    };
                    if r.0 != 200 {
                        continue;
                    }
                    let v: Value = serde_json::from_slice(&r.1).unwrap();
                    ids.extend(
                        v["receipts"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|r| r["id"].as_str().unwrap().to_owned()),
                    );
                }
                ids
            })
        })
        .collect()
}

#[test]
fn kill_9_loses_no_acknowledged_digest_and_anchors_each_batch_once() {
    let env = setup(0);
    configure(env.data.path(), 1);
    let electrum = env.stack.electrum_url();

    // Under load, killed: every acknowledged id is known after a restart.
    let server = serve(&env, &electrum, Some("signed"));
    accepting(&server);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients = load(server.addr, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let ids: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(ids.len() >= 100, "only {} acknowledged", ids.len());
    // The first anchoring paused after signing, and was killed there.
    assert!(env.stack.mempool().unwrap().is_empty());

    // Killed again right after the broadcast.
    let server = serve(&env, &electrum, Some("broadcast"));
    for id in ids.iter().step_by(7) {
        let (code, body) = http(server.addr, "GET", &format!("/api/v1/proofs/{id}"), b"");
        assert_eq!(code, 202, "{id}: {}", String::from_utf8_lossy(&body));
    }
    let until = Instant::now() + DEFAULT_TIMEOUT;
    while env.stack.mempool().unwrap().is_empty() {
        assert!(Instant::now() < until, "no broadcast after the restart");
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill();

    // A clean run finishes: every acknowledged digest anchored, each batch
    // (the one killed twice, and the records queued meanwhile) in exactly
    // one transaction.
    let server = serve(&env, &electrum, None);
    let mempool = wait_anchored(&env, &server);
    confirm(&env, &server);
    for id in &ids {
        let (code, body) = http(server.addr, "GET", &format!("/api/v1/proofs/{id}"), b"");
        assert_eq!(code, 200, "{id}: {}", String::from_utf8_lossy(&body));
    }
    let (code, _, err) = run(&env, &["status"]);
    assert_eq!(code, 8, "the server holds the data directory: {err}");
    server.kill();
    let st = crate::cli_anchoring::json(&env, &["status", "--json"]);
    let batches = st["batches"].as_array().unwrap();
    let mut txids: Vec<String> = Vec::new();
    for b in batches {
        assert_eq!(b["state"], "final", "{b}");
        assert_eq!(
            b["txids"].as_array().unwrap().len(),
            1,
            "one transaction per batch: {b}"
        );
        txids.push(b["txids"][0].as_str().unwrap().to_owned());
    }
    let mut mined: Vec<String> = mempool.iter().map(|t| t.to_string()).collect();
    mined.sort();
    txids.sort();
    assert_eq!(
        txids, mined,
        "every batch's transaction, and no other, was broadcast"
    );
    let tip = env.stack.tip().unwrap();
    let block = env
        .stack
        .get_block(&env.stack.block_hash(tip).unwrap())
        .unwrap();
    assert_eq!(block.txdata.len(), 1 + batches.len());
}

/// Submits `n` digests (made of `tag`) to the native API, and returns the
/// receipts' ids.
fn submit(server: &Server, tag: u8, n: u8) -> Vec<String> {
    let digests: Vec<String> = (0..n)
        .map(|i| {
            let mut d = [7u8; 32];
            d[0] = tag;
            d[1] = i;
            hex::encode(d)
        })
        .collect();
    let body = serde_json::json!({ "digests": digests }).to_string();
    let (code, reply) = http(server.addr, "POST", "/api/v1/digests", body.as_bytes());
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&reply));
    let v: Value = serde_json::from_slice(&reply).unwrap();
    v["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn two_instances_on_one_postgres_fail_over_and_anchor_each_batch_once() {
    let pg = match btc_anchor_testenv::postgres::PgCluster::start() {
        Ok(c) => c,
        Err(btc_anchor_testenv::postgres::PgError::NotInstalled) => {
            return btc_anchor_testenv::skip("PostgreSQL is not installed")
        }
        Err(e) => panic!("cannot start PostgreSQL: {e}"),
    };
    let url = pg.url();
    let env = setup(0);
    configure(env.data.path(), 2);
    // The standby: another data directory with the same keys and
    // settings; the wallet's changes are in the database.
    let standby = tempfile::tempdir().unwrap();
    for f in ["wallet.secret", "server.toml"] {
        std::fs::copy(env.data.path().join(f), standby.path().join(f)).unwrap();
    }
    let electrum = env.stack.electrum_url();
    let shared = ["--postgres", url.as_str()];
    let leader = "this instance (shared database)";
    let other = "another instance (shared database)";

    // The first instance anchors (and will pause after signing); the
    // second stands by, takes submissions and answers from the database.
    let a = serve_in(env.data.path(), &electrum, Some("signed"), &shared);
    wait_for(&a, "a to anchor", |s| {
        s["anchorer"] == leader && s["accepting"] == true
    });
    // (It says where it listens in JSON.)
    let b = serve_in(
        standby.path(),
        &electrum,
        None,
        &["--postgres", url.as_str(), "--json"],
    );
    wait_for(&b, "b to stand by", |s| {
        s["anchorer"] == other && s["accepting"] == true
    });
    let mut ids = submit(&a, 1, 20);
    ids.extend(submit(&b, 2, 30));
    for id in ids.iter().step_by(5) {
        let (code, _) = http(b.addr, "GET", &format!("/api/v1/proofs/{id}"), b"");
        assert_eq!(code, 202, "every instance knows every digest: {id}");
    }

    // A signs the batch's transaction, stores it, and is killed before
    // broadcasting it.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let until = Instant::now() + DEFAULT_TIMEOUT;
    let signed: Vec<u8> = loop {
        if let Some(row) = db.query_opt("SELECT txid FROM anchor_txs", &[]).unwrap() {
            break row.get(0);
        }
        assert!(Instant::now() < until, "a never signed an anchor");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(300));
    a.kill();
    assert!(
        env.stack.mempool().unwrap().is_empty(),
        "killed before the broadcast"
    );

    // B takes the lock, and broadcasts the transaction A signed: no second
    // one for the batch.
    wait_for(&b, "b to take over", |s| s["anchorer"] == leader);
    let mempool = wait_anchored(&env, &b);
    let mut signed_txid = signed.clone();
    signed_txid.reverse();
    assert_eq!(
        mempool.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        vec![hex::encode(&signed_txid)],
        "the standby broadcast the stored transaction"
    );
    // A restarted stands by now.
    let a = serve_in(env.data.path(), &electrum, None, &shared);
    wait_for(&a, "a to stand by", |s| s["anchorer"] == other);
    confirm(&env, &b);
    for id in &ids {
        for server in [&a, &b] {
            let (code, body) = http(server.addr, "GET", &format!("/api/v1/proofs/{id}"), b"");
            assert_eq!(code, 200, "{id}: {}", String::from_utf8_lossy(&body));
        }
    }
    let batches = db
        .query(
            "SELECT b.state, (SELECT COUNT(*) FROM anchor_txs t WHERE t.batch_id = b.id)
             FROM batches b",
            &[],
        )
        .unwrap();
    assert_eq!(batches.len(), 1, "one batch for every digest");
    for row in &batches {
        let (state, txs): (String, i64) = (row.get(0), row.get(1));
        assert_eq!((state.as_str(), txs), ("final", 1));
    }
    let tip = env.stack.tip().unwrap();
    let block = env
        .stack
        .get_block(&env.stack.block_hash(tip).unwrap())
        .unwrap();
    assert_eq!(block.txdata.len(), 2, "the coinbase and the one anchor");
    // The complete proof verifies offline.
    let (code, body) = http(b.addr, "GET", &format!("/api/v1/proofs/{}", ids[0]), b"");
    assert_eq!(code, 200);
    let proof = btc_anchor::proof::Proof::from_json(&body).unwrap();
    assert_eq!(proof.stage(), btc_anchor::proof::Stage::Confirmed);
}
