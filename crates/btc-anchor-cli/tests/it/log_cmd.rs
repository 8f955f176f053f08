//! `btc-anchor log`: a clinic's audit log from the command line, from
//! `init` to an offline `audit` that catches tampering.

use std::path::Path;

use crate::support::*;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_audit_log_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let created = run([
        "log",
        "init",
        p(&dir),
        "--origin",
        "clinic.example/audit",
        "--json",
    ]);
    created.expect_code(VALID);
    let vkey = created.json()["vkey"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("clinic.example/audit+"));
    let shown = run(["log", "vkey", p(&dir)]);
    assert_eq!(shown.expect_code(VALID).stdout.trim(), vkey);
    run(["log", "init", p(&dir), "--origin", "clinic.example/audit"])
        .expect_code(IO)
        .two_line_error();

    // Events by their fields, and FHIR AuditEvents.
    let a = run([
        "log",
        "append",
        p(&dir),
        "--kind",
        "create",
        "--record",
        "MRN 4711",
        "--actor",
        "dr-17",
        "--time",
        "2026-12-03T09:15:00+01:00",
        "--json",
    ]);
    assert_eq!(
        a.expect_code(VALID).json()["indices"],
        serde_json::json!([0])
    );
    let fhir = btc_anchor_testenv::repo_root().join("fixtures/fhir");
    let a = run([
        "log",
        "append",
        p(&dir),
        "--fhir-audit-event",
        p(&fhir.join("r4-read.json")),
        "--fhir-audit-event",
        p(&fhir.join("r5-update.json")),
    ]);
    assert_eq!(
        a.expect_code(VALID).stdout,
        "appended events 1 to 2 (durable; published at the next checkpoint)\n"
    );
    // A broken resource appends nothing.
    let bad = run([
        "log",
        "append",
        p(&dir),
        "--fhir-audit-event",
        p(&fhir.join("r4-read.json")),
        "--fhir-audit-event",
        p(&fhir.join("bad-no-actor.json")),
    ]);
    let (error, _) = bad.expect_code(INVALID).two_line_error();
    assert!(
        error.contains("bad-no-actor.json") && error.contains("no agent"),
        "{error}"
    );
    run([
        "log",
        "append",
        p(&dir),
        "--kind",
        "peek!",
        "--record",
        "r",
        "--actor",
        "a",
    ])
    .expect_code(USAGE);
    run(["log", "append", p(&dir), "--kind", "read", "--record", "r"]).expect_code(USAGE);
    run([
        "log",
        "append",
        p(&dir),
        "--kind",
        "read",
        "--record",
        "r",
        "--actor",
        "a",
        "--time",
        "yesterday",
    ])
    .expect_code(USAGE);

    // Events as JSON lines, all or nothing.
    let lines = tmp.path().join("events.jsonl");
    std::fs::write(&lines, "{\"kind\":\"read\",\"record\":\"MRN 4711\",\"actor\":\"dr-17\",\"time\":\"2026-12-03T10:00:00Z\"}\n\n{\"kind\":\"export\",\"record\":\"MRN 4711\",\"actor\":\"dr-17\"}\n").unwrap();
    let bulk = run(["log", "append", p(&dir), "--events", p(&lines), "--json"]);
    assert_eq!(
        bulk.expect_code(VALID).json()["indices"],
        serde_json::json!([3, 4])
    );
    std::fs::write(&lines, "{\"kind\":\"read\",\"record\":\"r\",\"actor\":\"a\"}\n{\"kind\":\"read\",\"record\":\"r\"}\n").unwrap();
    let (error, _) = run(["log", "append", p(&dir), "--events", p(&lines)])
        .expect_code(INVALID)
        .two_line_error();
    assert!(error.contains("line 2: no actor"), "{error}");
    std::fs::write(
        &lines,
        "{\"kind\":\"read\",\"record\":\"r\",\"actor\":\"a\",\"name\":\"x\"}\n",
    )
    .unwrap();
    run(["log", "append", p(&dir), "--events", p(&lines)]).expect_code(INVALID);
    let stdin = command()
        .args(["log", "append", p(&dir), "--events", "-", "--json"])
        .write_stdin("{\"kind\":\"amend\",\"record\":\"MRN 4712\",\"actor\":\"dr-17\"}\n")
        .output()
        .unwrap();
    let stdin: Run = stdin.into();
    assert_eq!(
        stdin.expect_code(VALID).json()["indices"],
        serde_json::json!([5])
    );

    // No identifier reaches the published folder or the journal's clear text.
    let c = run(["log", "checkpoint", p(&dir), "--json"]);
    assert_eq!(c.expect_code(VALID).json()["size"], 6);
    let again = run(["log", "checkpoint", p(&dir), "--json"]);
    assert_eq!(again.expect_code(9).json()["result"], "nothing-to-do");
    // A cadence: the log grew, but the latest checkpoint is too young.
    run([
        "log",
        "append",
        p(&dir),
        "--kind",
        "read",
        "--record",
        "MRN 4711",
        "--actor",
        "dr-17",
    ])
    .expect_code(VALID);
    let young = run(["log", "checkpoint", p(&dir), "--min-interval", "3600"]);
    assert!(
        young.expect_code(9).stdout.contains("younger than 3600 s"),
        "{}",
        young.stdout
    );
    let due = run([
        "log",
        "checkpoint",
        p(&dir),
        "--min-interval",
        "0",
        "--json",
    ]);
    assert_eq!(due.expect_code(VALID).json()["size"], 7);
    for file in walk(&dir) {
        let bytes = std::fs::read(&file).unwrap();
        for id in [
            &b"MRN 4711"[..],
            b"dr-17",
            b"Practitioner/pr-17",
            b"DocumentReference/lab-2291",
        ] {
            assert!(
                !bytes.windows(id.len()).any(|w| w == id),
                "{} holds an identifier",
                file.display()
            );
        }
    }

    // A proof of one event, disclosed, that verifies with the vkey.
    let out = tmp.path().join("event1.tlog-proof");
    let proved = run([
        "log",
        "prove",
        p(&dir),
        "1",
        "--disclose",
        "--out",
        p(&out),
        "--json",
    ]);
    assert_eq!(proved.expect_code(VALID).json()["disclosed"], true);
    let proof = btc_anchor_log::proof::TlogProof::parse(&std::fs::read(&out).unwrap()).unwrap();
    let key = btc_anchor_log::note::Verifier::parse(&vkey).unwrap();
    let (event, cp) = proof.verify_event("clinic.example/audit", &key).unwrap();
    assert_eq!((event.kind.as_str(), cp.size), ("read", 7));
    run(["log", "prove", p(&dir), "1", "--out", p(&out)]).expect_code(IO);
    run([
        "log",
        "prove",
        p(&dir),
        "7",
        "--out",
        p(&tmp.path().join("x")),
    ])
    .expect_code(INVALID);

    // The audit: consistent, then a tampered tile is found.
    let public = dir.join("public");
    let audit = run(["log", "audit", p(&public), "--vkey", &vkey, "--json"]);
    let report = audit.expect_code(VALID).json();
    assert_eq!(
        (report["consistent"].clone(), report["size"].clone()),
        (true.into(), 7.into())
    );
    let text = run(["log", "audit", p(&public), "--vkey", &vkey]);
    assert!(text
        .expect_code(VALID)
        .stdout
        .starts_with("CONSISTENT: the log clinic.example/audit of 7 entries"));
    let tile = public.join("tile/0/000.p/7");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&tile, &bytes).unwrap();
    let audit = run(["log", "audit", p(&public), "--vkey", &vkey, "--json"]);
    let report = audit.expect_code(INVALID).json();
    assert_eq!(report["finding"]["name"], "tile-mismatch");
    assert_eq!(report["finding"]["evidence"]["path"], "tile/0/000.p/7");
    let (error, _) = run(["log", "audit", p(&public), "--vkey", &vkey])
        .expect_code(INVALID)
        .two_line_error();
    assert!(error.contains("tile/0/000.p/7"), "{error}");
    // A wrong key is a finding too; a bad vkey a usage error.
    let other = run([
        "log",
        "init",
        p(&tmp.path().join("other")),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .json();
    let audit = run([
        "log",
        "audit",
        p(&public),
        "--vkey",
        other["vkey"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        audit.expect_code(INVALID).json()["finding"]["name"],
        "bad-checkpoint"
    );
    run(["log", "audit", p(&public), "--vkey", "nonsense"]).expect_code(USAGE);
    run(["log", "audit", p(&tmp.path().join("none")), "--vkey", &vkey]).expect_code(IO);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The log's checkpoints anchored on a real regtest stack as ordinary
/// records (`stamp` of the checkpoints folder, `anchor`, `upgrade`), and
/// the audit checking every anchor proof.
#[test]
fn checkpoints_anchored_in_bitcoin_are_audited() {
    use crate::cli_anchoring::{json, ok, run as run_in, setup};
    let env = setup(0);
    let dir = env.docs.path().join("audit");
    let vkey = json(
        &env,
        &[
            "log",
            "init",
            p(&dir),
            "--origin",
            "clinic.example/audit",
            "--json",
        ],
    )["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let history = dir.join("public/checkpoints");
    // A beacon: the tip of a validated headers file, as entry 0.
    let headers = env.docs.path().join("regtest.headers");
    let url = env.stack.electrum_url();
    ok(
        &env,
        &[
            "headers",
            "sync",
            "--electrum",
            &url,
            "--out",
            p(&headers),
            "--network",
            "regtest",
        ],
    );
    let beacon = ok(
        &env,
        &[
            "log",
            "beacon",
            p(&dir),
            "--headers",
            p(&headers),
            "--network",
            "regtest",
        ],
    );
    assert!(beacon.starts_with("appended beacon 0: block "), "{beacon}");
    for round in 0..2 {
        for i in 0..5 {
            let record = format!("MRN {}", i % 2);
            ok(
                &env,
                &[
                    "log",
                    "append",
                    p(&dir),
                    "--kind",
                    "read",
                    "--record",
                    &record,
                    "--actor",
                    "dr-17",
                ],
            );
        }
        ok(&env, &["log", "checkpoint", p(&dir)]);
        // The checkpoints folder stamped: only the new checkpoint is queued.
        let stamped = json(&env, &["stamp", p(&history), "--json"]);
        assert_eq!(stamped["queued"], 1, "round {round}: {stamped}");
        ok(&env, &["anchor"]);
        env.stack.mine_blocks(1, None).unwrap();
        ok(&env, &["upgrade"]);
    }
    let public = dir.join("public");
    let report = json(
        &env,
        &[
            "log",
            "audit",
            p(&public),
            "--vkey",
            &vkey,
            "--network",
            "regtest",
            "--json",
        ],
    );
    assert_eq!(report["consistent"], true, "{report}");
    let anchors = report["anchors"].as_array().unwrap();
    assert_eq!(anchors.len(), 2);
    for (a, size) in anchors.iter().zip([6, 11]) {
        assert_eq!(
            (a["size"].as_u64(), a["outcome"].as_str()),
            (Some(size), Some("valid"))
        );
        assert!(a["height"].as_u64().is_some() && a["not_later_than"].is_string());
    }
    let text = ok(
        &env,
        &[
            "log",
            "audit",
            p(&public),
            "--vkey",
            &vkey,
            "--network",
            "regtest",
        ],
    );
    assert!(
        text.contains("anchored: the log clinic.example/audit had 11 entries no later than block "),
        "{text}"
    );
    // Event proofs from the real anchors: entry 2 is in the checkpoint of
    // 6, itself anchored; with that anchor put aside, the proof reaches
    // the anchored checkpoint of 11 through a consistency proof.
    let proof = env.docs.path().join("event2.proof");
    let out = json(
        &env,
        &[
            "log",
            "prove",
            p(&dir),
            "2",
            "--disclose",
            "--out",
            p(&proof),
            "--json",
        ],
    );
    assert_eq!(
        (out["size"].as_u64(), out["anchored_size"].as_u64()),
        (Some(6), Some(6))
    );
    let aside = env.docs.path().join("6.anchor.json");
    std::fs::rename(history.join("6.anchor.json"), &aside).unwrap();
    let out = json(
        &env,
        &[
            "log",
            "prove",
            p(&dir),
            "2",
            "--out",
            p(&proof),
            "--force",
            "--json",
        ],
    );
    std::fs::rename(&aside, history.join("6.anchor.json")).unwrap();
    assert_eq!(
        (out["size"].as_u64(), out["anchored_size"].as_u64()),
        (Some(6), Some(11))
    );
    // Checked offline against a headers file brought up to date.
    ok(
        &env,
        &[
            "headers",
            "sync",
            "--electrum",
            &url,
            "--out",
            p(&headers),
            "--network",
            "regtest",
        ],
    );
    let verified = json(
        &env,
        &[
            "verify",
            p(&proof),
            "--vkey",
            &vkey,
            "--headers",
            p(&headers),
            "--network",
            "regtest",
            "--json",
        ],
    );
    assert_eq!(
        (
            verified["result"].as_str(),
            verified["checkpoint_size"].as_u64(),
            verified["anchored_size"].as_u64(),
            verified["event"].is_null(),
        ),
        (Some("valid"), Some(6), Some(11), true),
        "{verified}"
    );
    assert_eq!(
        verified["anchor"]["chain"]["source"], "headers-file",
        "{verified}"
    );
    let text = ok(
        &env,
        &[
            "verify",
            p(&proof),
            "--vkey",
            &vkey,
            "--headers",
            p(&headers),
            "--network",
            "regtest",
        ],
    );
    assert!(
        text.starts_with("VALID: the entry was entry 2 of the log clinic.example/audit, which had 11 entries no later than "),
        "{text}"
    );
    // A checkpoint anchored on regtest is no evidence on mainnet.
    let (code, out, _) = run_in(
        &env,
        &[
            "log",
            "audit",
            p(&public),
            "--vkey",
            &vkey,
            "--network",
            "bitcoin",
            "--json",
        ],
    );
    assert_eq!(code, INVALID);
    assert_eq!(
        crate::support::parse_json(&out)["finding"]["name"],
        "bad-anchor"
    );
    // An anchor proof of another checkpoint: found.
    std::fs::copy(
        history.join("6.anchor.json"),
        history.join("11.anchor.json"),
    )
    .unwrap();
    let (code, out, _) = run_in(
        &env,
        &[
            "log",
            "audit",
            p(&public),
            "--vkey",
            &vkey,
            "--network",
            "regtest",
            "--json",
        ],
    );
    assert_eq!(code, INVALID, "{out}");
    let report = crate::support::parse_json(&out);
    assert_eq!(report["finding"]["name"], "bad-anchor");
    assert_eq!(
        report["finding"]["evidence"]["path"],
        "checkpoints/11.anchor.json"
    );
}

/// A data directory with `seal_chain = true` on a real regtest stack: each
/// anchoring transaction spends the previous one's seal output (a bump
/// keeps it), a new batch waits for the previous to confirm, and the audit
/// follows the chain from its genesis outpoint.
#[test]
fn sealed_anchors_form_one_chain_the_audit_follows() {
    use crate::cli_anchoring::{json, ok, run as run_in, setup};
    use btc_anchor::bitcoin::{Amount, OutPoint, Transaction};
    // Two anchors and a replacement on a real stack.
    let env = setup(0);
    std::fs::write(env.data.path().join("config.toml"), "seal_chain = true\n").unwrap();
    let dir = env.docs.path().join("audit");
    let vkey = json(
        &env,
        &[
            "log",
            "init",
            p(&dir),
            "--origin",
            "clinic.example/audit",
            "--json",
        ],
    )["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let history = dir.join("public/checkpoints");
    let checkpoint = |n: usize| {
        for i in 0..n {
            let record = format!("MRN {i}");
            ok(
                &env,
                &[
                    "log",
                    "append",
                    p(&dir),
                    "--kind",
                    "amend",
                    "--record",
                    &record,
                    "--actor",
                    "dr-2",
                ],
            );
        }
        ok(&env, &["log", "checkpoint", p(&dir)]);
        ok(&env, &["stamp", p(&history)]);
    };
    let anchor_tx = |size: u64| -> Transaction {
        match btc_anchor::file::read_any(&history.join(format!("{size}.anchor.json"))).unwrap() {
            btc_anchor::file::ProofFile::Native(p) => p.anchor.expect("anchored").tx,
            _ => panic!("not a native proof"),
        }
    };

    checkpoint(3);
    // The first anchor signed but never sent (killed), then replaced at a
    // higher fee: the replacement keeps the seal output. (bcoin relays no
    // replacement of a transaction it has.)
    crate::cli_anchoring::anchor_killed_at(&env, "signed");
    ok(&env, &["anchor", "--bump", "--fee-rate", "5"]);
    // The next batch waits for the first anchor to confirm.
    checkpoint(2);
    let (code, out, err) = run_in(&env, &["anchor"]);
    assert_eq!(code, 9, "{out}{err}");
    assert!(out.contains("has not confirmed"), "{out}");
    env.stack.mine_blocks(1, None).unwrap();
    ok(&env, &["upgrade"]);
    ok(&env, &["anchor"]);
    env.stack.mine_blocks(1, None).unwrap();
    ok(&env, &["upgrade"]);

    let (first, second) = (anchor_tx(3), anchor_tx(5));
    let genesis = OutPoint {
        txid: first.compute_txid(),
        vout: 1,
    };
    for tx in [&first, &second] {
        assert_eq!(
            tx.output[1].value,
            Amount::from_sat(1_000),
            "the seal output"
        );
        assert!(tx.output[0].script_pubkey.is_op_return(), "the commitment");
    }
    assert!(
        second.input.iter().any(|i| i.previous_output == genesis),
        "the second anchor spends the first one's seal"
    );

    let public = dir.join("public");
    let genesis_arg = genesis.to_string();
    let base = [
        "log",
        "audit",
        p(&public),
        "--vkey",
        &vkey,
        "--network",
        "regtest",
        "--json",
    ];
    let mut args = base.to_vec();
    args.extend(["--seal-genesis", &genesis_arg]);
    let report = json(&env, &args);
    assert_eq!(report["consistent"], true, "{report}");
    assert!(report["checked"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().contains("seal chain")));
    // Another genesis: the chain does not start there.
    let other = OutPoint {
        txid: second.compute_txid(),
        vout: 1,
    }
    .to_string();
    let mut args = base.to_vec();
    args.extend(["--seal-genesis", &other]);
    let (code, out, _) = run_in(&env, &args);
    assert_eq!(code, INVALID, "{out}");
    let report = crate::support::parse_json(&out);
    assert_eq!(report["finding"]["name"], "seal-break");
    assert_eq!(report["finding"]["evidence"]["expected_seal"], other);
}

/// Debian's `golang-go` and `golang-golang-x-mod-dev`, GOPATH mode.
const GOPATH: &str = "/usr/share/gocode";

fn go_available() -> Result<(), String> {
    let ok = std::process::Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Err("no `go` on PATH (apt-get install golang-go)".into());
    }
    if !Path::new(GOPATH)
        .join("src/golang.org/x/mod/sumdb/tlog")
        .is_dir()
    {
        return Err(format!(
            "no golang.org/x/mod under {GOPATH} (apt-get install golang-golang-x-mod-dev)"
        ));
    }
    Ok(())
}

/// `go run tests/go/tlog_client.go URL VKEY STATE`, nothing downloaded:
/// its exit status and stdout.
fn go_client(url: &str, vkey: &str, state: &Path) -> (bool, String) {
    let program =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/go/tlog_client.go");
    let out = std::process::Command::new("go")
        .arg("run")
        .arg(program)
        .args([url, vkey, p(state)])
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env(
            "GOCACHE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-build"),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() && !stdout.contains("FAIL") {
        panic!("go run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), stdout)
}

/// A running `btc-anchor log serve`, stopped when dropped.
struct LogServer {
    child: std::process::Child,
    url: String,
}

impl LogServer {
    fn start(dir: &Path) -> LogServer {
        LogServer::start_with(&["log", "serve", p(dir), "--listen", "127.0.0.1:0"])
    }

    /// Starts a server that prints `listening on http://ADDR` first.
    fn start_with(args: &[&str]) -> LogServer {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("btc-anchor"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let service = if args[0] == "witness" {
            "witness"
        } else {
            "log"
        };
        let addr = listening_addr(&line, service, args.contains(&"--json"));
        LogServer {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// Stops the server with SIGTERM: its exit status and stderr.
    fn stop(mut self) -> (Option<i32>, String) {
        use std::io::Read as _;
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.code(), stderr)
    }
}

impl Drop for LogServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends `n` events to the log in `dir` in one durable append.
fn append_many(dir: &Path, n: usize) {
    let lines: String = (0..n)
        .map(|i| {
            format!(
                "{{\"kind\":\"read\",\"record\":\"MRN {}\",\"actor\":\"dr-{}\"}}\n",
                i % 97,
                i % 7
            )
        })
        .collect();
    let out = command()
        .args(["log", "append", p(dir), "--events", "-"])
        .write_stdin(lines)
        .output()
        .unwrap();
    Run::from(out).expect_code(VALID);
}

#[test]
fn log_serve_is_read_by_the_go_tlog_client() {
    if let Err(reason) = go_available() {
        btc_anchor_testenv::skip(reason);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let state = tmp.path().join("go-state");
    std::fs::create_dir(&state).unwrap();
    let vkey = run([
        "log",
        "init",
        p(&dir),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .expect_code(VALID)
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    append_many(&dir, 300);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);

    // The server reads the log as it grows: one server for both sizes.
    let server = LogServer::start(&dir);
    let (ok, out) = go_client(&server.url, &vkey, &state);
    assert!(ok, "{out}");
    assert_eq!(
        out,
        "checkpoint clinic.example/audit 300 verified\ntree 300 ok\n\
         record 0 ok\nrecord 150 ok\nrecord 299 ok\nok\n"
    );
    // 70,000 entries: full and partial tiles at levels 0, 1 and 2.
    append_many(&dir, 69_700);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    let (ok, out) = go_client(&server.url, &vkey, &state);
    assert!(ok, "{out}");
    assert_eq!(
        out,
        "checkpoint clinic.example/audit 70000 verified\ntree 70000 ok\n\
         record 0 ok\nrecord 35000 ok\nrecord 69999 ok\nconsistent 300 -> 70000\nok\n"
    );

    // A key the checkpoint is not signed by: Go refuses it.
    let other = tmp.path().join("other");
    let other_vkey = run([
        "log",
        "init",
        p(&other),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .expect_code(VALID)
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out) = go_client(&server.url, &other_vkey, &state);
    assert!(!ok && out.starts_with("FAIL: checkpoint:"), "{out}");

    // A torn tile the tree needs is not served (500, and a log line), so
    // the client fails instead of reading garbage.
    let tile = dir.join("public/tile/1/000");
    let good = std::fs::read(&tile).unwrap();
    std::fs::write(&tile, &good[..4096]).unwrap();
    let (ok, out) = go_client(&server.url, &vkey, &state);
    assert!(!ok && out.contains("HTTP 500"), "{out}");
    // An edited one is served (the server has no key to tell), and the
    // client's check against the signed root catches it.
    let mut edited = good.clone();
    edited[100] ^= 1;
    std::fs::write(&tile, &edited).unwrap();
    let (ok, out) = go_client(&server.url, &vkey, &state);
    assert!(
        !ok && out.contains("FAIL") && !out.contains("HTTP") && !out.contains("record 0 ok"),
        "{out}"
    );
    std::fs::write(&tile, &good).unwrap();

    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("tile/1/000") && stderr.contains("torn or damaged"),
        "{stderr}"
    );
}

#[test]
fn log_serve_refuses_a_folder_without_a_log_and_a_taken_address() {
    let tmp = tempfile::tempdir().unwrap();
    let (error, hint) = run(["log", "serve", p(tmp.path()), "--listen", "127.0.0.1:0"])
        .expect_code(IO)
        .two_line_error();
    assert!(error.contains("holds no published log"), "{error}");
    assert!(hint.contains("log init"), "{hint}");
    let dir = tmp.path().join("audit");
    run(["log", "init", p(&dir), "--origin", "clinic.example/audit"]).expect_code(VALID);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (error, _) = run(["log", "serve", p(&dir), "--listen", &addr])
        .expect_code(IO)
        .two_line_error();
    assert!(error.contains(&addr), "{error}");
}

/// A complete btc-anchor proof of `bytes` on a synthetic regtest chain:
/// what an anchored checkpoint gets beside it.
fn synthetic_anchor(bytes: &[u8]) -> String {
    use btc_anchor::bitcoin::Network;
    use btc_anchor::hash::RecordDigest;
    use btc_anchor_testenv::chain::{anchor_tx, Batch, Chain};
    let batch = Batch::new(&[RecordDigest::of_bytes(bytes)], 3);
    let mut chain = Chain::new(Network::Regtest);
    let tx = anchor_tx(&batch.tree.root().0, 3);
    let placed = chain.place(tx.clone(), 1, 2);
    chain.mine_empty(5);
    batch
        .proof(Network::Regtest, 0, Some(&tx), Some((&placed, &chain, 5)))
        .to_json()
}

#[test]
fn log_prove_writes_event_proofs_that_verify_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let vkey = run([
        "log",
        "init",
        p(&dir),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .expect_code(VALID)
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    append_many(&dir, 5);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    append_many(&dir, 4);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    let out = tmp.path().join("event2.proof");
    // No anchor yet: the plain tlog-proof, and it says why.
    let plain = run(["log", "prove", p(&dir), "2", "--out", p(&out), "--json"]);
    let j = plain.expect_code(VALID).json();
    assert_eq!(
        (j["size"].clone(), j["anchored_size"].clone()),
        (9.into(), serde_json::Value::Null)
    );
    assert!(std::fs::read(&out)
        .unwrap()
        .starts_with(b"c2sp.org/tlog-proof@v1\n"));
    // The checkpoint of 9 anchored: an event proof, from the first
    // checkpoint that holds the event to the anchored one.
    let history = dir.join("public/checkpoints");
    let c9 = std::fs::read(history.join("9")).unwrap();
    std::fs::write(history.join("9.anchor.json"), synthetic_anchor(&c9)).unwrap();
    let proved = run([
        "log",
        "prove",
        p(&dir),
        "2",
        "--disclose",
        "--out",
        p(&out),
        "--force",
    ]);
    assert_eq!(
        proved.expect_code(VALID).stdout,
        format!(
            "wrote the event proof of event 2 (in the checkpoint of size 5, anchored in Bitcoin with the checkpoint of size 9) to {} (it discloses the event)\n",
            out.display()
        )
    );
    let text = run(["verify", p(&out), "--vkey", &vkey, "--network", "regtest"]);
    let stdout = &text.expect_code(VALID).stdout;
    assert!(
        stdout.starts_with(
            "VALID: the event was entry 2 of the log clinic.example/audit, which had 9 entries no later than "
        ) && stdout.contains("Bitcoin regtest block 1,"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the log's key, as given with --vkey"),
        "{stdout}"
    );
    let j = run([
        "verify",
        p(&out),
        "--vkey",
        &vkey,
        "--network",
        "regtest",
        "--json",
    ]);
    let j = j.expect_code(VALID).json();
    assert_eq!(
        (
            j["result"].clone(),
            j["index"].clone(),
            j["checkpoint_size"].clone(),
            j["anchored_size"].clone(),
            j["vkey_from"].clone()
        ),
        ("valid".into(), 2.into(), 5.into(), 9.into(), "given".into())
    );
    assert_eq!(j["event"]["kind"], "read");
    assert_eq!(j["anchor"]["result"], "valid");
    // Without --vkey: the key the file names, and the output says it is
    // trusted as such.
    let named = run(["verify", p(&out), "--network", "regtest"]);
    assert!(named
        .expect_code(VALID)
        .stdout
        .contains("the log's key as the proof file names it: anyone can make a log"));
    // On mainnet it is no evidence.
    run(["verify", p(&out), "--vkey", &vkey])
        .expect_code(WRONG_NETWORK)
        .two_line_error();
    // --plain keeps the C2SP form; --vkey on other files is refused.
    run([
        "log",
        "prove",
        p(&dir),
        "2",
        "--plain",
        "--out",
        p(&out),
        "--force",
    ])
    .expect_code(VALID);
    assert!(std::fs::read(&out)
        .unwrap()
        .starts_with(b"c2sp.org/tlog-proof@v1\n"));
    run(["verify", p(&out), "--vkey", &vkey])
        .expect_code(USAGE)
        .two_line_error();
}

#[test]
fn verify_gives_every_event_proof_vector_its_outcome() {
    let root = btc_anchor_testenv::repo_root().join("fixtures/log");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let vectors: Vec<&serde_json::Value> = index["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "event-proof")
        .collect();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let file = root.join(v["file"].as_str().unwrap());
        let vkey = v["vkeys"][0].as_str().unwrap();
        let network = v["network"].as_str().unwrap();
        let r = run([
            "verify",
            p(&file),
            "--vkey",
            vkey,
            "--network",
            network,
            "--json",
        ]);
        let valid = v["expect"] == "valid";
        r.expect_code(if valid { VALID } else { INVALID });
        let j = r.json();
        assert_eq!(j["result"] == "valid", valid, "{v}: {j}");
        assert_eq!(j["format"], "btc-anchor-event-proof", "{v}");
        if !valid {
            assert!(j["reason"].is_string(), "{v}: {j}");
            let text = run(["verify", p(&file), "--vkey", vkey, "--network", network]);
            assert!(
                text.expect_code(INVALID).stdout.starts_with("INVALID: "),
                "{v}"
            );
            let (error, _) = text.two_line_error();
            assert!(
                error.starts_with("the event proof does not verify ("),
                "{error}"
            );
        }
    }
}

#[test]
fn log_audit_reads_a_log_from_log_serve_and_catches_a_tampered_tile() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let vkey = run([
        "log",
        "init",
        p(&dir),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .expect_code(VALID)
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    append_many(&dir, 300);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    append_many(&dir, 700);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    let kept = dir.join("public/checkpoints/300");
    assert!(kept.is_file());
    let server =
        LogServer::start_with(&["log", "serve", p(&dir), "--listen", "127.0.0.1:0", "--json"]);

    // The same audit as of the folder: with the kept checkpoint of 300,
    // every tile and bundle the folder audit read, read over HTTP.
    let folder = run([
        "log",
        "audit",
        p(&dir.join("public")),
        "--vkey",
        &vkey,
        "--json",
    ]);
    let folder = folder.expect_code(VALID).json();
    let by_url = run([
        "log",
        "audit",
        &server.url,
        "--vkey",
        &vkey,
        "--known",
        p(&kept),
        "--json",
    ]);
    let by_url = by_url.expect_code(VALID).json();
    assert_eq!(by_url["consistent"], true);
    assert_eq!(by_url["size"], 1000);
    assert_eq!(by_url["checkpoints"], 2);
    for k in ["tiles", "bundles", "size", "origin"] {
        assert_eq!(by_url[k], folder[k], "{k}");
    }
    assert_eq!(by_url["anchors"], serde_json::json!([]));
    let trusted = by_url["trusted"].to_string();
    assert!(
        trusted.contains("history (checkpoints/) is not served"),
        "{trusted}"
    );
    assert!(
        trusted.contains("anchor proofs and the seal chain were not checked"),
        "{trusted}"
    );
    assert!(!by_url["checked"].to_string().contains("anchor proof"));
    let text = run(["log", "audit", &server.url, "--vkey", &vkey]);
    let text = &text.expect_code(VALID).stdout;
    assert!(
        text.starts_with(
            "CONSISTENT: the log clinic.example/audit of 1000 entries checks out (1 checkpoints,"
        ),
        "{text}"
    );
    assert!(
        text.contains("  trusted: the server may show other clients another log"),
        "{text}"
    );

    // An edited tile is served as it is (the server holds no key), and
    // the audit over HTTP names it.
    let tile = dir.join("public/tile/0/001");
    let good = std::fs::read(&tile).unwrap();
    let mut edited = good.clone();
    edited[40] ^= 1;
    std::fs::write(&tile, &edited).unwrap();
    let r = run(["log", "audit", &server.url, "--vkey", &vkey, "--json"]);
    let (error, _) = r.expect_code(INVALID).two_line_error();
    assert!(
        error.contains("tile/0/001 is not what the entries give"),
        "{error}"
    );
    assert_eq!(r.json()["finding"]["name"], "tile-mismatch");
    assert_eq!(r.json()["finding"]["evidence"]["path"], "tile/0/001");
    // A torn one the server refuses (500): the audit cannot read the log.
    std::fs::write(&tile, &good[..100]).unwrap();
    let (error, hint) = run(["log", "audit", &server.url, "--vkey", &vkey])
        .expect_code(IO)
        .two_line_error();
    assert!(
        error.contains("cannot read tile/0/001 from http://127.0.0.1:")
            && error.contains("answered 500"),
        "{error}"
    );
    assert!(hint.contains("log serve"), "{hint}");
    std::fs::write(&tile, &good).unwrap();
    run(["log", "audit", &server.url, "--vkey", &vkey]).expect_code(VALID);

    // A checkpoint of another log's key is refused as for a folder.
    let other = tmp.path().join("other");
    let other_vkey = run([
        "log",
        "init",
        p(&other),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .expect_code(VALID)
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = run(["log", "audit", &server.url, "--vkey", &other_vkey, "--json"]);
    r.expect_code(INVALID);
    assert_eq!(r.json()["finding"]["name"], "bad-checkpoint");

    // Anchors are not served: their flags are refused with a URL.
    let (error, hint) = run([
        "log",
        "audit",
        &server.url,
        "--vkey",
        &vkey,
        "--seal-genesis",
        "0000000000000000000000000000000000000000000000000000000000000001:1",
    ])
    .expect_code(USAGE)
    .two_line_error();
    assert!(error.contains("not serve"), "{error}");
    assert!(hint.contains("copy of the log's public folder"), "{hint}");
    let url = server.url.clone();
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    // No server: a one-line cause and a hint.
    let (error, _) = run(["log", "audit", &url, "--vkey", &vkey])
        .expect_code(IO)
        .two_line_error();
    assert!(
        error.contains("cannot read checkpoint from http://127.0.0.1:"),
        "{error}"
    );
    assert!(error.contains("cannot reach the server"), "{error}");
    // Plain http beyond this machine is refused before any connection.
    let (error, _) = run(["log", "audit", "http://192.0.2.1:8601", "--vkey", &vkey])
        .expect_code(USAGE)
        .two_line_error();
    assert!(
        error.contains("plain http to http://192.0.2.1:8601"),
        "{error}"
    );
}

#[test]
fn a_witness_cosigns_consistent_checkpoints_and_refuses_the_rest() {
    use btc_anchor_log::cosignature::CosignatureVerifier;
    use btc_anchor_log::note::{Note, Signer};
    use btc_anchor_log::remote::{HttpLog, HttpOptions};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let vkey = run([
        "log",
        "init",
        p(&dir),
        "--origin",
        "clinic.example/audit",
        "--json",
    ])
    .expect_code(VALID)
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    append_many(&dir, 300);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);

    // A witness in its own private folder, knowing this log.
    let wdir = tmp.path().join("witness");
    let created = run([
        "witness",
        "init",
        p(&wdir),
        "--name",
        "hospital.example/witness",
        "--json",
    ])
    .expect_code(VALID)
    .json();
    assert_eq!(created["result"], "witness-created");
    assert_eq!(created["name"], "hospital.example/witness");
    let wvkey = created["vkey"].as_str().unwrap().to_owned();
    // Made again over an existing witness: refused, in JSON too.
    let again = run([
        "witness",
        "init",
        p(&wdir),
        "--name",
        "x.example/w",
        "--json",
    ]);
    assert_eq!(again.expect_code(IO).json()["result"], "error");
    let witness_key = CosignatureVerifier::parse(&wvkey).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&wdir), 0o700);
        assert_eq!(mode(&wdir.join("witness.key")), 0o600);
    }
    assert_eq!(
        run(["witness", "vkey", p(&wdir)])
            .expect_code(VALID)
            .stdout
            .trim(),
        wvkey
    );
    let j = run(["witness", "vkey", p(&wdir), "--json"])
        .expect_code(VALID)
        .json();
    assert_eq!(
        (j["result"].as_str(), j["name"].as_str(), j["vkey"].as_str()),
        (
            Some("witness-vkey"),
            Some("hospital.example/witness"),
            Some(wvkey.as_str())
        )
    );
    let j = run(["witness", "add-log", p(&wdir), &vkey, "--json"])
        .expect_code(VALID)
        .json();
    assert_eq!(j["result"], "witness-log-added");
    assert_eq!(j["origin"], "clinic.example/audit");
    assert_eq!(j["added"], true);
    let again = run(["witness", "add-log", p(&wdir), &vkey]);
    assert!(again.expect_code(VALID).stdout.contains("already knew"));
    let j = run(["witness", "add-log", p(&wdir), &vkey, "--json"])
        .expect_code(VALID)
        .json();
    assert_eq!(j["added"], false);
    let server = LogServer::start_with(&[
        "witness",
        "serve",
        p(&wdir),
        "--listen",
        "127.0.0.1:0",
        "--json",
    ]);

    // First cosignature: from size 0.
    let w = |d: &Path| {
        run([
            "log",
            "witness",
            p(d),
            &server.url,
            "--witness-vkey",
            &wvkey,
        ])
    };
    let first = w(&dir);
    let first = &first.expect_code(VALID).stdout;
    assert!(
        first.contains("cosigned the checkpoint of size 300"),
        "{first}"
    );
    assert!(!first.contains("it held size"), "{first}");
    let cosigned = std::fs::read(dir.join("public/cosigned/300")).unwrap();
    let note = Note::parse(&cosigned).unwrap();
    let sig = note
        .signatures()
        .iter()
        .find(|s| witness_key.is_mine(s))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t = witness_key.verify(note.text(), sig).unwrap();
    assert!(t.abs_diff(now) < 600, "{t} vs {now}");
    // The log's own key still opens it (the cosignature is ignored).
    let log_key = btc_anchor_log::note::Verifier::parse(&vkey).unwrap();
    btc_anchor_log::checkpoint::Checkpoint::open(&cosigned, "clinic.example/audit", &[log_key])
        .unwrap();

    // The log grows: the client sends old 0, the witness answers 409 with
    // 300, and the client sends the consistency proof from 300.
    append_many(&dir, 700);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    let second = w(&dir);
    let second = &second.expect_code(VALID).stdout;
    assert!(
        second.contains("cosigned the checkpoint of size 1000")
            && second.contains("it held size 300"),
        "{second}"
    );
    assert!(dir.join("public/cosigned/1000").is_file());
    // Once more, in JSON: the witness holds 1000, so the first request
    // gets a 409 and the second the same checkpoint's cosignature.
    let j = run([
        "log",
        "witness",
        p(&dir),
        &server.url,
        "--witness-vkey",
        &wvkey,
        "--json",
    ]);
    let j = j.expect_code(VALID).json();
    assert_eq!(j["result"], "log-witnessed");
    assert_eq!(
        (j["size"].as_u64(), j["held"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(j["witness"], "hospital.example/witness");
    let kept = Note::parse(&std::fs::read(dir.join("public/cosigned/1000")).unwrap()).unwrap();
    assert_eq!(
        kept.signatures()
            .iter()
            .filter(|s| witness_key.is_mine(s))
            .count(),
        1,
        "one line per witness key"
    );

    // Raw requests, as any tlog-witness client sends them.
    let mut client = HttpLog::new(&server.url, HttpOptions::default()).unwrap();
    let signer = btc_anchor_log::keyfile::read_key_file(&dir.join("key")).unwrap();
    let signed = |signer: &Signer, size: u64, root: [u8; 32]| {
        btc_anchor_log::checkpoint::Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: btc_anchor::merkle::NodeHash(root),
            extensions: vec![],
        }
        .sign(&[signer])
        .unwrap()
        .to_text()
    };
    let post = |body: String| client.post("add-checkpoint", body.as_bytes()).unwrap();
    let real = std::fs::read_to_string(dir.join("public/checkpoint")).unwrap();
    // A stale old size: 409 with the witness's size.
    let (status, body) = post(format!("old 300\n\n{real}"));
    assert_eq!((status, body.as_slice()), (409, &b"1000\n"[..]));
    // The same checkpoint again: cosigned (same size, same root).
    let (status, body) = post(format!("old 1000\n\n{real}"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // A fork: size 1000 with another root, signed by the log's key.
    let (status, body) = post(format!("old 1000\n\n{}", signed(&signer, 1000, [7; 32])));
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("fork"));
    // A larger checkpoint whose proof does not verify.
    let proof: String = (0..10)
        .map(|_| "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n")
        .collect();
    let (status, body) = post(format!(
        "old 1000\n{proof}\n{}",
        signed(&signer, 1500, [9; 32])
    ));
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("does not verify"));
    // An unknown log, and a checkpoint of this origin signed by another key.
    let stranger = Signer::generate("stranger.example/log").unwrap();
    let (status, _) = post(format!("old 0\n\n{}", signed(&stranger, 5, [1; 32])));
    assert_eq!(status, 404);
    let impostor = Signer::generate("clinic.example/audit").unwrap();
    let (status, _) = post(format!("old 1000\n\n{}", signed(&impostor, 1000, [7; 32])));
    assert_eq!(status, 403);
    // An old size over the checkpoint's, and a malformed body.
    let (status, _) = post(format!("old 1001\n\n{real}"));
    assert_eq!(status, 400);
    let (status, _) = post("old 01\n\nnothing".to_owned());
    assert_eq!(status, 400);
    // After all that, the witness still holds 1000 and the real root.
    let (status, body) = post(format!("old 0\n\n{real}"));
    assert_eq!((status, body.as_slice()), (409, &b"1000\n"[..]));
    // Monitors read it with its cosignature, by the origin's hash.
    let origin_hash = {
        use btc_anchor::bitcoin::hashes::{sha256, Hash as _};
        sha256::Hash::hash(b"clinic.example/audit").to_string()
    };
    let monitor = client
        .get(&format!("{origin_hash}/checkpoint"), 65_536)
        .unwrap()
        .unwrap();
    let note = Note::parse(&monitor).unwrap();
    assert_eq!(
        note.text().as_bytes(),
        &real.as_bytes()[..note.text().len()]
    );
    let sig = note
        .signatures()
        .iter()
        .find(|s| witness_key.is_mine(s))
        .unwrap();
    witness_key.verify(note.text(), sig).unwrap();
    let unknown = "0".repeat(64);
    assert_eq!(
        client
            .get(&format!("{unknown}/checkpoint"), 65_536)
            .unwrap(),
        None
    );

    // A log the witness does not know: refused, exit 1.
    let other = tmp.path().join("other");
    run(["log", "init", p(&other), "--origin", "other.example/audit"]).expect_code(VALID);
    append_many(&other, 3);
    run(["log", "checkpoint", p(&other)]).expect_code(VALID);
    let (error, _) = w(&other).expect_code(INVALID).two_line_error();
    assert!(error.contains("refused the checkpoint (404)"), "{error}");
    // Another key for the witness: its cosignature is not accepted.
    let wrong = CosignatureVerifier::parse(
        &btc_anchor_log::cosignature::Cosigner::generate("hospital.example/witness")
            .unwrap()
            .verifier()
            .to_vkey(),
    )
    .unwrap();
    let r = run([
        "log",
        "witness",
        p(&dir),
        &server.url,
        "--witness-vkey",
        &wrong.to_vkey(),
    ]);
    let (error, _) = r.expect_code(6).two_line_error();
    assert!(error.contains("cosignature"), "{error}");
    // Plain http beyond this machine is refused before any connection.
    let r = run([
        "log",
        "witness",
        p(&dir),
        "http://192.0.2.1:8602",
        "--witness-vkey",
        &wvkey,
    ]);
    r.expect_code(USAGE);

    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("refused an inconsistent checkpoint"),
        "{stderr}"
    );
}

#[test]
fn log_shred_erases_a_record_and_the_audit_checks_every_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    run(["log", "init", p(&dir), "--origin", "clinic.example/audit"]).expect_code(VALID);
    // A digest no other event carries, to look for in the journal.
    let marker = "5ec2e7".repeat(10) + "abcd";
    for (i, record) in ["MRN 4711", "MRN 0815", "MRN 4711", "MRN 0815", "MRN 4711"]
        .iter()
        .enumerate()
    {
        let mut args = vec![
            "log",
            "append",
            p(&dir),
            "--kind",
            "read",
            "--record",
            record,
            "--actor",
            "dr-17",
        ];
        if *record == "MRN 4711" && i == 2 {
            args.extend(["--content", &marker]);
        }
        run(args).expect_code(VALID);
    }
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    let journal = dir.join("journal");
    let has = |s: &str| {
        let bytes = std::fs::read(&journal).unwrap();
        bytes.windows(s.len()).any(|w| w == s.as_bytes())
    };
    assert!(has(&marker));

    let shred = run(["log", "shred", p(&dir), "--record", "MRN 4711", "--json"]);
    let out = shred.expect_code(VALID).json();
    assert_eq!(out["result"], "log-shredded");
    assert_eq!(
        (out["shredded"].as_u64(), out["total"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(!has(&marker), "the event's bytes are gone");
    let text = run(["log", "shred", p(&dir), "--record", "MRN 4711"]);
    text.expect_code(9);
    assert!(!text.stdout.contains("4711"), "no identifier printed");
    let twice = run(["log", "shred", p(&dir), "--entry", "0", "--entry", "1"]);
    assert!(twice
        .expect_code(VALID)
        .stdout
        .starts_with("shredded 1 event "));
    run(["log", "shred", p(&dir), "--entry", "99"])
        .expect_code(USAGE)
        .two_line_error();
    run(["log", "shred", p(&dir)]).expect_code(USAGE);

    // No proof of a shredded event; others still.
    let proof = tmp.path().join("p");
    let (error, _) = run([
        "log",
        "prove",
        p(&dir),
        "2",
        "--out",
        p(&proof),
        "--disclose",
    ])
    .expect_code(INVALID)
    .two_line_error();
    assert!(error.starts_with("the event was shredded"), "{error}");
    assert!(!proof.exists());
    run(["log", "prove", p(&dir), "3", "--out", p(&proof)]).expect_code(VALID);

    // An event after the shred; the audit with the journal.
    run([
        "log",
        "append",
        p(&dir),
        "--kind",
        "amend",
        "--record",
        "MRN 0815",
        "--actor",
        "dr-17",
    ])
    .expect_code(VALID);
    run(["log", "checkpoint", p(&dir)]).expect_code(VALID);
    let vkey = run(["log", "vkey", p(&dir)]).stdout.trim().to_owned();
    let public = dir.join("public");
    let audit = |journal: &Path| {
        run([
            "log",
            "audit",
            p(&public),
            "--vkey",
            &vkey,
            "--journal",
            p(journal),
            "--json",
        ])
    };
    let report = audit(&dir);
    let r = report.expect_code(VALID).json();
    assert_eq!(r["journal"]["shredded"], 4);
    assert_eq!(r["journal"]["entries"], 6);
    assert_eq!(r["journal"]["chains"], 1);
    let text = run([
        "log",
        "audit",
        p(&public),
        "--vkey",
        &vkey,
        "--journal",
        p(&journal),
    ]);
    assert!(text
        .expect_code(VALID)
        .stdout
        .contains("journal: 6 entries, 4 shredded, 1 record chains checked"));
    let plain = run(["log", "audit", p(&public), "--vkey", &vkey, "--json"]);
    assert_eq!(
        plain.expect_code(VALID).json()["journal"],
        serde_json::Value::Null
    );

    // A byte of a shredded record changed: caught.
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[26 + 40] = 1;
    let edited = tmp.path().join("edited");
    std::fs::write(&edited, &bytes).unwrap();
    let r = audit(&edited);
    assert_eq!(
        r.expect_code(INVALID).json()["finding"]["name"],
        "journal-short"
    );
    run([
        "log",
        "audit",
        p(&public),
        "--vkey",
        &vkey,
        "--journal",
        p(&tmp.path().join("none")),
    ])
    .expect_code(IO);
}
