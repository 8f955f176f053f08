//! The anchoring commands as a user runs them, against a real regtest stack
//! (bcoin + ElectrumX), including crashes: the process is killed with
//! SIGKILL right after signing and right after broadcasting, and the next
//! run must neither lose the batch nor anchor it twice.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use btc_anchor_testenv::regtest::{TestEnv, DEFAULT_TIMEOUT};
use serde_json::Value;

pub(crate) struct Env {
    pub(crate) stack: TestEnv,
    pub(crate) data: tempfile::TempDir,
    pub(crate) docs: tempfile::TempDir,
}

fn cmd(env: &Env) -> Command {
    let mut c = Command::cargo_bin("btc-anchor").unwrap();
    c.env("BTC_ANCHOR_DATA_DIR", env.data.path())
        .env("BTC_ANCHOR_NETWORK", "regtest")
        .env("BTC_ANCHOR_ELECTRUM", env.stack.electrum_url())
        .env_remove("BTC_ANCHOR_PAUSE_AT")
        .env_remove("BTC_ANCHOR_PAGE_SIZE");
    c
}

pub(crate) fn run(env: &Env, args: &[&str]) -> (i32, String, String) {
    let out = cmd(env).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn ok(env: &Env, args: &[&str]) -> String {
    let (code, out, err) = run(env, args);
    assert_eq!(code, 0, "btc-anchor {args:?}: {out}\n{err}");
    out
}

pub(crate) fn json(env: &Env, args: &[&str]) -> Value {
    crate::support::parse_json(&ok(env, args))
}

/// A stack and a data directory with a funded wallet, and some documents.
pub(crate) fn setup(files: usize) -> Env {
    let env = Env {
        stack: TestEnv::new().unwrap(),
        data: tempfile::tempdir().unwrap(),
        docs: tempfile::tempdir().unwrap(),
    };
    let out = ok(&env, &["wallet", "create"]);
    assert!(out.contains("write down these 12 words"), "{out}");
    let address = ok(&env, &["wallet", "address"]).trim().to_owned();
    env.stack
        .fund(
            &btc_anchor_testenv::regtest::parse_address(&address).unwrap(),
            btc_anchor::bitcoin::Amount::ONE_BTC,
        )
        .unwrap();
    env.stack.mine_blocks(2, None).unwrap();
    let dir = env.docs.path().join("records");
    std::fs::create_dir_all(dir.join("2026/11")).unwrap();
    for i in 0..files {
        let sub = if i % 2 == 0 { "2026/11" } else { "" };
        std::fs::write(
            dir.join(sub).join(format!("record-{i}.txt")),
            format!("patient record {i}\n"),
        )
        .unwrap();
    }
    std::fs::write(dir.join(".DS_Store"), b"hidden").unwrap();
    env
}

fn records(env: &Env) -> std::path::PathBuf {
    env.docs.path().join("records")
}

fn all_docs(dir: &Path) -> Vec<std::path::PathBuf> {
    let c = btc_anchor::hash::collect_files(&[dir], Default::default()).unwrap();
    c.files
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".txt"))
        .collect()
}

fn verify_all(env: &Env, expect: i32) {
    for doc in all_docs(&records(env)) {
        let (code, out, err) = run(
            env,
            &["verify", doc.to_str().unwrap(), "--network", "regtest"],
        );
        assert_eq!(code, expect, "{}: {out}{err}", doc.display());
    }
}

#[test]
fn the_whole_story_from_the_command_line() {
    let env = setup(12);
    let out = ok(&env, &["stamp", records(&env).to_str().unwrap()]);
    assert!(out.contains("queued 12 records"), "{out}");
    assert!(out.contains(".DS_Store (hidden)"), "{out}");
    verify_all(&env, 3);
    let st = json(&env, &["status", "--json"]);
    assert_eq!(st["queued"].as_array().unwrap().len(), 12);

    let a = json(&env, &["anchor", "--json"]);
    let txid = a["batches"][0]["txid"].as_str().unwrap().to_owned();
    assert_eq!(a["batches"][0]["records"], 12);
    assert!(a["batches"][0]["vsize"].as_u64().unwrap() <= 155);
    env.stack
        .wait_until_electrum_sees_txid(txid.parse().unwrap(), DEFAULT_TIMEOUT)
        .unwrap();
    verify_all(&env, 3);
    // Nothing queued now: a distinct exit code, nothing changed.
    let (code, _, err) = run(&env, &["anchor"]);
    assert_eq!(code, 9, "{err}");

    env.stack.mine_blocks(1, None).unwrap();
    let up = json(&env, &["upgrade", "--json"]);
    assert_eq!(up["batches"][0]["state"], "final");
    assert_eq!(up["batches"][0]["proofs_written"], 12);
    verify_all(&env, 0);
    let st = json(&env, &["status", "--json"]);
    assert_eq!(st["batches"][0]["state"], "final");
    assert_eq!(st["batches"][0]["txids"].as_array().unwrap().len(), 1);

    // Online: the block is in the Electrum server's best chain.
    let doc = all_docs(&records(&env)).remove(0);
    let url = env.stack.electrum_url();
    let out = ok(
        &env,
        &[
            "verify",
            doc.to_str().unwrap(),
            "--network",
            "regtest",
            "--electrum",
            &url,
        ],
    );
    assert!(out.contains("VALID"), "{out}");
    assert!(out.contains("Electrum server"), "{out}");
    env.stack.mine_blocks(2, None).unwrap();
    let v = json(
        &env,
        &[
            "verify",
            doc.to_str().unwrap(),
            "--network",
            "regtest",
            "--electrum",
            &url,
            "--json",
        ],
    );
    assert_eq!(v["chain"]["confirmations"], 3, "{v}");

    // Lost complete proofs come back from the store, byte for byte: one
    // with `proof`, all with `upgrade --rewrite`.
    let docs = all_docs(&records(&env));
    let proof_of = |d: &Path| std::path::PathBuf::from(format!("{}.anchor.json", d.display()));
    let originals: Vec<Vec<u8>> = docs
        .iter()
        .map(|d| std::fs::read(proof_of(d)).unwrap())
        .collect();
    std::fs::remove_file(proof_of(&docs[1])).unwrap();
    let p = ok(&env, &["proof", docs[1].to_str().unwrap()]);
    assert_eq!(p.as_bytes(), [&originals[1][..], b"\n"].concat());
    let out = env.docs.path().join("again.anchor.json");
    let j = json(
        &env,
        &[
            "proof",
            docs[1].to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(j["stage"], "confirmed", "{j}");
    assert_eq!(std::fs::read(&out).unwrap(), originals[1]);
    let (code, _, err) = run(
        &env,
        &[
            "proof",
            docs[1].to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 4, "an existing file is kept without --force: {err}");
    for d in &docs {
        std::fs::remove_file(proof_of(d)).ok();
    }
    let up = json(&env, &["upgrade", "--rewrite", "--json"]);
    assert_eq!(up["rewritten"]["written"], 12, "{up}");
    for (d, original) in docs.iter().zip(&originals) {
        assert_eq!(
            &std::fs::read(proof_of(d)).unwrap(),
            original,
            "{}",
            d.display()
        );
    }
    verify_all(&env, 0);

    // OpenTimestamps: export, then check with the reference implementation.
    export_and_cross_check(&env, &doc);
}

/// Exports `doc`'s proof as `.ots`, verifies it with our own `.ots`
/// verifier online, and checks it with the OpenTimestamps reference
/// library and client (`regtest/ots-venv.sh`).
fn export_and_cross_check(env: &Env, doc: &Path) {
    let proof_path = format!("{}.anchor.json", doc.display());
    let ots = env.docs.path().join("exported.ots");
    ok(
        env,
        &[
            "export",
            "--ots",
            &proof_path,
            "--out",
            ots.to_str().unwrap(),
        ],
    );
    let url = env.stack.electrum_url();
    let out = ok(
        env,
        &[
            "verify",
            doc.to_str().unwrap(),
            "--proof",
            ots.to_str().unwrap(),
            "--network",
            "regtest",
            "--electrum",
            &url,
        ],
    );
    assert!(out.starts_with("VALID"), "{out}");
    let native = json(
        env,
        &[
            "verify",
            doc.to_str().unwrap(),
            "--network",
            "regtest",
            "--json",
        ],
    );
    let height = native["block"]["height"].as_u64().unwrap();
    let proof: Value = serde_json::from_slice(&std::fs::read(&proof_path).unwrap()).unwrap();
    let header = hex::decode(proof["anchor"]["block"]["header"].as_str().unwrap()).unwrap();
    let merkle_root = hex::encode(&header[36..68]);

    let vars = ots_venv();
    ots_reference_check(&vars, &ots, doc, height, &merkle_root);
    let info = StdCommand::new(&vars["OTS_BIN"])
        .args(["info", ots.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "ots info: {text}{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        text.contains(&format!("BitcoinBlockHeaderAttestation({height})")),
        "{text}"
    );
}

/// The OpenTimestamps reference library and client (`regtest/ots-venv.sh`,
/// installed on first use): `OTS_PYTHON` and `OTS_BIN`.
pub(crate) fn ots_venv() -> std::collections::HashMap<String, String> {
    let venv = StdCommand::new("bash")
        .arg(btc_anchor_testenv::repo_file("regtest/ots-venv.sh"))
        .output()
        .unwrap();
    assert!(
        venv.status.success(),
        "{}",
        String::from_utf8_lossy(&venv.stderr)
    );
    String::from_utf8_lossy(&venv.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Checks the `.ots` file `ots` of `doc` with the reference library
/// (`regtest/ots_check.py`): a Bitcoin attestation at `height` whose
/// computed merkle root is `merkle_root` (hex, as in the header).
pub(crate) fn ots_reference_check(
    vars: &std::collections::HashMap<String, String>,
    ots: &Path,
    doc: &Path,
    height: u64,
    merkle_root: &str,
) {
    let check = StdCommand::new(&vars["OTS_PYTHON"])
        .arg(btc_anchor_testenv::repo_file("regtest/ots_check.py"))
        .args([
            ots.to_str().unwrap(),
            doc.to_str().unwrap(),
            &height.to_string(),
            merkle_root,
        ])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "reference library: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Runs `anchor` paused after `step`, kills it with SIGKILL there, and
/// returns what it printed.
pub(crate) fn anchor_killed_at(env: &Env, step: &str) {
    let bin = assert_cmd::cargo::cargo_bin("btc-anchor");
    let mut child = StdCommand::new(bin)
        .arg("anchor")
        .env("BTC_ANCHOR_DATA_DIR", env.data.path())
        .env("BTC_ANCHOR_NETWORK", "regtest")
        .env("BTC_ANCHOR_ELECTRUM", env.stack.electrum_url())
        .env("BTC_ANCHOR_PAUSE_AT", step)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), format!("paused after {step}"));
    // While it holds the data directory, other commands are turned away.
    let (code, _, err) = run(env, &["status"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("another btc-anchor command"), "{err}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn crash_then_rerun(step: &str) {
    let env = setup(5);
    ok(&env, &["stamp", records(&env).to_str().unwrap()]);
    anchor_killed_at(&env, step);
    let st = json(&env, &["status", "--json"]);
    let batch = &st["batches"][0];
    let signed: Vec<String> = batch["txids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(signed.len(), 1, "{st}");
    assert_eq!(st["queued"].as_array().unwrap().len(), 0);
    // The next run finishes the same batch with the same transaction.
    let out = ok(&env, &["anchor"]);
    assert!(out.contains("finished an interrupted run"), "{out}");
    assert!(out.contains(&signed[0]), "{out}");
    env.stack
        .wait_until_electrum_sees_txid(signed[0].parse().unwrap(), DEFAULT_TIMEOUT)
        .unwrap();
    // And one more run has nothing to do: no second transaction.
    assert_eq!(run(&env, &["anchor"]).0, 9);
    env.stack.mine_blocks(1, None).unwrap();
    ok(&env, &["upgrade"]);
    let st = json(&env, &["status", "--json"]);
    assert_eq!(st["batches"].as_array().unwrap().len(), 1);
    assert_eq!(st["batches"][0]["txids"].as_array().unwrap().len(), 1);
    assert_eq!(st["batches"][0]["state"], "final");
    verify_all(&env, 0);
}

/// Pages of 4 records (the debug builds' `BTC_ANCHOR_PAGE_SIZE`): 9 files
/// in two folders are stamped over three pages, in the order a whole walk
/// gives them, the hidden file still skipped; the batch is built from
/// three pages of the queue, and upgrade verifies and writes over three
/// pages of the batch. Every proof verifies, each at its own leaf.
#[test]
fn stamp_anchor_and_upgrade_across_page_boundaries() {
    let env = setup(9);
    let paged = |args: &[&str]| {
        let out = cmd(&env)
            .env("BTC_ANCHOR_PAGE_SIZE", "4")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let dir = records(&env);
    let stamped = crate::support::parse_json(&paged(&["stamp", "--json", dir.to_str().unwrap()]));
    assert_eq!(stamped["queued"], 9, "{stamped}");
    let labels: Vec<&str> = stamped["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    let walked: Vec<String> = all_docs(&dir)
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    assert_eq!(labels, walked);
    assert_eq!(stamped["skipped"].as_array().unwrap().len(), 1, "{stamped}");
    // Stamped again, page by page: all there already.
    let again = crate::support::parse_json(&paged(&["stamp", "--json", dir.to_str().unwrap()]));
    assert_eq!(
        (again["queued"].as_u64(), again["already_stamped"].as_u64()),
        (Some(0), Some(9))
    );
    paged(&["anchor"]);
    let st = json(&env, &["status", "--json"]);
    let txid: String = st["batches"][0]["txids"][0].as_str().unwrap().to_owned();
    env.stack
        .wait_until_electrum_sees_txid(txid.parse().unwrap(), DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    paged(&["upgrade"]);
    let st = json(&env, &["status", "--json"]);
    assert_eq!(st["batches"][0]["state"], "final", "{st}");
    assert_eq!(st["batches"][0]["records"], 9, "{st}");
    verify_all(&env, 0);
    let mut leaves: Vec<u64> = all_docs(&dir)
        .iter()
        .map(|d| {
            let proof = btc_anchor::file::proof_path(d);
            let p = btc_anchor::proof::Proof::from_json(&std::fs::read(proof).unwrap()).unwrap();
            p.batch.unwrap().index
        })
        .collect();
    leaves.sort_unstable();
    assert_eq!(leaves, (0..9).collect::<Vec<_>>());
    // Five more documents queued (two pages); status lists them page by
    // page; every proof lost is written again by upgrade --rewrite, the
    // batch's over three pages, the queue's over two, each byte for byte.
    let more = dir.join("more");
    std::fs::create_dir(&more).unwrap();
    for i in 0..5 {
        std::fs::write(more.join(format!("m{i}.txt")), format!("more {i}")).unwrap();
    }
    paged(&["stamp", "--quiet", more.to_str().unwrap()]);
    let st = crate::support::parse_json(&paged(&["status", "--json", "--labels"]));
    let listed: Vec<&str> = st["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..5)
        .map(|i| more.join(format!("m{i}.txt")).display().to_string())
        .collect();
    assert_eq!(listed, expected, "{st}");
    assert!(paged(&["status"]).starts_with("5 records queued\n"));
    let docs = all_docs(&dir);
    assert_eq!(docs.len(), 14);
    let originals: Vec<Vec<u8>> = docs
        .iter()
        .map(|d| std::fs::read(btc_anchor::file::proof_path(d)).unwrap())
        .collect();
    for d in &docs {
        std::fs::remove_file(btc_anchor::file::proof_path(d)).unwrap();
    }
    let up = crate::support::parse_json(&paged(&["upgrade", "--rewrite", "--json"]));
    assert_eq!(up["rewritten"]["written"], 14, "{up}");
    for (d, original) in docs.iter().zip(&originals) {
        let now = std::fs::read(btc_anchor::file::proof_path(d)).unwrap();
        assert_eq!(&now, original, "{}", d.display());
    }
}

#[test]
fn killed_after_signing_loses_nothing_and_anchors_once() {
    crash_then_rerun("signed");
}

#[test]
fn killed_after_broadcasting_loses_nothing_and_anchors_once() {
    crash_then_rerun("broadcast");
}

#[test]
fn faults_get_one_line_errors_and_distinct_exit_codes() {
    let stack = TestEnv::new().unwrap();
    stack.mine_blocks(101, None).unwrap();
    let env = Env {
        stack,
        data: tempfile::tempdir().unwrap(),
        docs: tempfile::tempdir().unwrap(),
    };
    // No wallet yet.
    let (code, _, err) = run(&env, &["wallet", "address"]);
    assert_eq!(code, 7, "{err}");
    ok(&env, &["wallet", "create"]);
    let doc = env.docs.path().join("a.txt");
    std::fs::write(&doc, b"a").unwrap();
    ok(&env, &["stamp", doc.to_str().unwrap()]);
    // An unfunded wallet: exit 7, the record stays queued.
    let (code, _, err) = run(&env, &["anchor"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.starts_with("error: insufficient funds"), "{err}");
    assert_eq!(err.lines().count(), 2);
    assert_eq!(
        json(&env, &["status", "--json"])["queued"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A port nobody listens on, TLS to a plain TCP server, a server on
    // another network, an unknown network, plain TCP outside regtest.
    let port = env.stack.electrum_addr().port().to_string();
    for (args, code) in [
        (vec!["anchor", "--electrum", "tcp://127.0.0.1:1"], 6),
        (
            vec!["anchor", "--electrum", &format!("ssl://127.0.0.1:{port}")],
            6,
        ),
        (vec!["anchor", "--electrum", "127.0.0.1:50001"], 6),
        (vec!["anchor", "--network", "moonnet"], 2),
    ] {
        let (got, _, err) = run(&env, &args);
        assert_eq!(got, code, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 2, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains("\nhint: "),
            "{err}"
        );
    }
    let signet = tempfile::tempdir().unwrap();
    let (got, _, err) = {
        let out = Command::cargo_bin("btc-anchor")
            .unwrap()
            .args(["wallet", "balance", "--network", "signet", "--electrum"])
            .arg(env.stack.electrum_url())
            .env("BTC_ANCHOR_DATA_DIR", signet.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(got, 6, "{err}");
    assert!(err.contains("unencrypted"), "{err}");
    // The record is still queued after all that.
    assert_eq!(
        json(&env, &["status", "--json"])["queued"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The secret file is owner-only and never printed by other commands.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(env.data.path().join("wallet.secret"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

/// The stack's chain as a raw headers file and as a checkpoint table, from
/// headers 0..=tip fetched through the Electrum adapter.
fn chain_files(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    use btc_anchor::bitcoin::{consensus, Network};
    let server = btc_anchor_electrum::Electrum::connect(
        &env.stack.electrum_url(),
        Network::Regtest,
        Default::default(),
    )
    .unwrap();
    let tip = server.tip_height().unwrap();
    let headers = server.headers(0, tip + 1, None).unwrap();
    let raw: Vec<u8> = headers.iter().flat_map(consensus::serialize).collect();
    let headers_file = env.docs.path().join("regtest-headers.bin");
    std::fs::write(&headers_file, raw).unwrap();
    let table =
        btc_anchor::checkpoints::Checkpoints::from_headers(Network::Regtest, &headers, false);
    let table_file = env.docs.path().join("regtest-checkpoints.txt");
    std::fs::write(&table_file, table.to_text()).unwrap();
    (headers_file, table_file)
}

#[test]
fn sealing_from_the_command_line() {
    let env = setup(3);
    ok(&env, &["stamp", records(&env).to_str().unwrap()]);
    let a = json(&env, &["anchor", "--json"]);
    env.stack
        .wait_until_electrum_sees_txid(
            a["batches"][0]["txid"].as_str().unwrap().parse().unwrap(),
            btc_anchor_testenv::regtest::DEFAULT_TIMEOUT,
        )
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    ok(&env, &["upgrade"]);
    let docs = all_docs(&records(&env));
    let proofs: Vec<String> = docs
        .iter()
        .map(|d| format!("{}.anchor.json", d.display()))
        .collect();
    // A record stamped since: queued, not sealable.
    let late = records(&env).join("late.txt");
    std::fs::write(&late, b"late record\n").unwrap();
    ok(&env, &["stamp", late.to_str().unwrap()]);
    let queued = format!("{}.anchor.json", late.display());
    let url = env.stack.electrum_url();

    // Before the epoch closes: pending, how far to go, nothing changed.
    let before = std::fs::read(&proofs[0]).unwrap();
    let tip = env.stack.tip().unwrap();
    let (code, out, err) = run(
        &env,
        &[
            "seal",
            &proofs[0],
            &queued,
            "--electrum",
            &url,
            "--network",
            "regtest",
        ],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains(&format!(
            "closes at block 2015, {} blocks to go",
            2015 - tip
        )),
        "{out}"
    );
    assert!(out.contains("not confirmed"), "{out}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(std::fs::read(&proofs[0]).unwrap(), before);

    env.stack.mine_blocks(2015 - tip + 2, None).unwrap();
    let (headers_file, table_file) = chain_files(&env);
    let table = table_file.to_str().unwrap();

    // Two proofs over Electrum (and the queued one left as it is).
    let v = json(
        &env,
        &[
            "seal",
            &proofs[0],
            &proofs[1],
            &queued,
            "--electrum",
            &url,
            "--network",
            "regtest",
            "--checkpoints",
            table,
            "--json",
        ],
    );
    assert_eq!(v["result"], "sealed", "{v}");
    assert_eq!(v["sealed"], 2, "{v}");
    assert_eq!(v["not_yet"], 1, "{v}");
    assert_eq!(v["proofs"][0]["epoch_end"], 2015, "{v}");
    assert_eq!(v["proofs"][0]["checkpoint_epoch"], 0, "{v}");
    assert_eq!(v["proofs"][2]["result"], "not-confirmed", "{v}");
    let p: Value = serde_json::from_slice(&std::fs::read(&proofs[0]).unwrap()).unwrap();
    let height = p["anchor"]["block"]["height"].as_u64().unwrap();
    assert_eq!(
        p["anchor"]["block"]["headers_after"]
            .as_array()
            .unwrap()
            .len() as u64,
        2015 - height
    );
    // Rewritten in place, no temporary file left beside it.
    let dir = Path::new(&proofs[0]).parent().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "{name}");
    }

    // The third from a headers file; the first is sealed already.
    let out = ok(
        &env,
        &[
            "seal",
            &proofs[2],
            &proofs[0],
            "--headers",
            headers_file.to_str().unwrap(),
            "--network",
            "regtest",
        ],
    );
    assert!(
        out.contains(&format!("sealed {}: block", proofs[2])),
        "{out}"
    );
    assert!(
        out.contains(&format!("already sealed {}", proofs[0])),
        "{out}"
    );

    // Offline, each on the stack's checkpoint.
    for doc in &docs {
        let v = json(
            &env,
            &[
                "verify",
                doc.to_str().unwrap(),
                "--network",
                "regtest",
                "--checkpoints",
                table,
                "--json",
            ],
        );
        assert_eq!(v["result"], "valid", "{v}");
        assert_eq!(v["block"]["checkpoint_epoch"], 0, "{v}");
        assert_eq!(v["block"]["height_checked"], true, "{v}");
    }

    // A damaged file among good ones: its own line, and the two-line error.
    let damaged = env.docs.path().join("damaged.anchor.json");
    std::fs::write(&damaged, b"{}").unwrap();
    let (code, out, err) = run(
        &env,
        &[
            "seal",
            &proofs[0],
            damaged.to_str().unwrap(),
            "--electrum",
            &url,
            "--network",
            "regtest",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("already sealed"), "{out}");
    assert!(out.contains("failed"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[1].starts_with("hint: "), "{err}");

    // The workflow seals the batch (rewriting the proofs the store wrote),
    // then has nothing more to do.
    let v = json(&env, &["upgrade", "--seal", "--json"]);
    assert_eq!(v["sealed"][0]["result"], "sealed", "{v}");
    assert_eq!(v["sealed"][0]["proofs_written"], 3, "{v}");
    let (code, out, err) = run(&env, &["upgrade", "--seal"]);
    assert_eq!(code, 9, "{out}{err}");
    assert!(out.contains("nothing to upgrade or seal"), "{out}");
    assert_eq!(err, "", "nothing to do is not a failure");
    let v: Value = crate::support::parse_json(&run(&env, &["upgrade", "--json"]).1);
    assert_eq!(v["result"], "nothing-to-do", "{v}");
    for doc in &docs {
        ok(
            &env,
            &[
                "verify",
                doc.to_str().unwrap(),
                "--network",
                "regtest",
                "--checkpoints",
                table,
            ],
        );
    }
}

/// `stamp --no-label`: nothing in the store says where a document or its
/// proof is; the proofs beside the documents are completed by `upgrade
/// PATH...`, which finds them by content.
#[test]
fn stamp_without_labels_then_upgrade_by_path() {
    let env = setup(6);
    let dir = records(&env);
    let dir_s = dir.to_str().unwrap();
    let out = ok(&env, &["stamp", "--no-label", dir_s]);
    assert!(out.contains("queued 6 records"), "{out}");
    let docs = all_docs(&dir);
    assert_eq!(docs.len(), 6);
    for doc in &docs {
        assert!(
            btc_anchor::file::proof_path(doc).is_file(),
            "{}",
            doc.display()
        );
    }
    verify_all(&env, 3);

    // The store holds no label and no path: not in its rows, and no
    // document's name anywhere in its files.
    for name in ["store.sqlite", "store.sqlite-wal"] {
        let Ok(bytes) = std::fs::read(env.data.path().join(name)) else {
            continue;
        };
        for needle in ["record-", "2026/11", env.docs.path().to_str().unwrap()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{name} holds {needle:?}"
            );
        }
    }
    {
        let conn = rusqlite::Connection::open_with_flags(
            env.data.path().join("store.sqlite"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT label, proof_path FROM records")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 6);
        for (label, path) in rows {
            assert_eq!((label.as_str(), path.as_str()), ("", ""));
        }
    }
    // Status shows the records, without labels even when asked for them.
    let st = json(&env, &["status", "--labels", "--json"]);
    let queued = st["queued"].as_array().unwrap();
    assert_eq!(queued.len(), 6);
    for q in queued {
        assert_eq!(q["label"], "");
        assert_eq!(q["proof"], Value::Null);
        assert_eq!(q["digest"].as_str().unwrap().len(), 64);
    }
    let text = ok(&env, &["status", "--labels"]);
    assert!(text.starts_with("6 records queued\n"), "{text}");
    assert_eq!(
        text.matches("(stamped --no-label: no path stored)").count(),
        6,
        "{text}"
    );

    // Stamped again: recognised by the proof files' content; a lost one is
    // written again from the store.
    std::fs::remove_file(btc_anchor::file::proof_path(&docs[0])).unwrap();
    let again = json(&env, &["stamp", "--no-label", dir_s, "--json"]);
    assert_eq!(again["queued"], 0, "{again}");
    assert_eq!(again["already_stamped"], 6);
    assert_eq!(again["proofs_rewritten"], 1);
    assert!(btc_anchor::file::proof_path(&docs[0]).is_file());

    let a = json(&env, &["anchor", "--json"]);
    assert_eq!(a["batches"][0]["records"], 6);
    let txid = a["batches"][0]["txid"].as_str().unwrap().to_owned();
    env.stack
        .wait_until_electrum_sees_txid(txid.parse().unwrap(), DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();

    // A plain upgrade completes the batch, and says it wrote no file.
    let up = json(&env, &["upgrade", "--json"]);
    assert_eq!(up["batches"][0]["state"], "final", "{up}");
    assert_eq!(up["batches"][0]["proofs_written"], 0);
    assert_eq!(up["batches"][0]["without_path"], 6);
    verify_all(&env, 3);

    // By path: every proof in the folder completed in place.
    let up = json(&env, &["upgrade", dir_s, "--json"]);
    assert_eq!(up["batches"].as_array().unwrap().len(), 0, "{up}");
    assert_eq!(up["files"]["completed"], 6, "{up}");
    assert_eq!(up["files"]["failed"], 0);
    verify_all(&env, 0);
    for doc in &docs {
        let r = json(
            &env,
            &[
                "verify",
                doc.to_str().unwrap(),
                "--network",
                "regtest",
                "--json",
            ],
        );
        assert_eq!(r["result"], "valid");
        assert_eq!(r["stage"], "confirmed");
    }
    // Nothing left to do: exit 9.
    let (code, out, _) = run(&env, &["upgrade", dir_s]);
    assert_eq!(code, 9, "{out}");
    assert!(out.contains("nothing to upgrade"), "{out}");

    // Another data directory's pending proof among the paths is named and
    // left alone: exit 12 (partial).
    let vector: Value = serde_json::from_slice(
        &std::fs::read(btc_anchor_testenv::repo_file(
            "fixtures/vectors/pending-queued.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let foreign = dir.join("foreign.txt.anchor.json");
    let foreign_text = serde_json::to_string_pretty(&vector["proof"]).unwrap();
    std::fs::write(&foreign, &foreign_text).unwrap();
    let (code, out, err) = run(&env, &["upgrade", dir_s]);
    assert_eq!(code, 12, "{out}{err}");
    assert!(out.contains("foreign.txt.anchor.json: no record"), "{out}");
    assert!(out.contains("6 complete already, 1 failed"), "{out}");
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), foreign_text);

    // A document with no proof beside it, a proof of another network and a
    // damaged one: each named for what it is, and left alone.
    let lone = env.docs.path().join("lone.txt");
    std::fs::write(&lone, b"never stamped").unwrap();
    let mut signet = vector["proof"].clone();
    signet["network"] = "signet".into();
    let other = env.docs.path().join("other.txt.anchor.json");
    std::fs::write(&other, serde_json::to_string(&signet).unwrap()).unwrap();
    let damaged = env.docs.path().join("damaged.txt.anchor.json");
    std::fs::write(&damaged, &foreign_text[..foreign_text.len() / 2]).unwrap();
    let paths = [
        lone.to_str().unwrap(),
        other.to_str().unwrap(),
        damaged.to_str().unwrap(),
    ];
    let mut args = vec!["upgrade"];
    args.extend(paths);
    let (code, out, err) = run(&env, &args);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        out.contains("lone.txt.anchor.json: no such proof file"),
        "{out}"
    );
    assert!(out.contains("a proof of signet"), "{out}");
    assert!(out.contains("--network signet"), "{out}");
    assert!(
        out.contains("damaged.txt.anchor.json: damaged, or not a btc-anchor proof"),
        "{out}"
    );
    args.push("--json");
    let v = crate::support::parse_json(&run(&env, &args).1);
    let results: Vec<&str> = v["files"]["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["missing", "other-network", "not-a-proof"], "{v}");
    assert!(!env.docs.path().join("lone.txt.anchor.json").exists());
}
