//! `btc-anchor watch` against a real regtest stack (bcoin + ElectrumX):
//! files dropped in are stamped once settled, anchored on schedule or
//! after N records and completed once mined; a changed file gets a new
//! version; the watcher survives a lost Electrum server, SIGKILL (between
//! stamping and anchoring, and right after signing) and restarts, with
//! every file ending with a complete proof and every batch anchored by
//! exactly one transaction; SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use btc_anchor_testenv::regtest::{parse_address, TestEnv};
use serde_json::Value;

struct Env {
    stack: TestEnv,
    data: tempfile::TempDir,
    docs: tempfile::TempDir,
}

impl Env {
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("btc-anchor").unwrap();
        c.env("BTC_ANCHOR_DATA_DIR", self.data.path())
            .env("BTC_ANCHOR_NETWORK", "regtest")
            .env("BTC_ANCHOR_ELECTRUM", self.stack.electrum_url())
            .env_remove("BTC_ANCHOR_PAUSE_AT");
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "btc-anchor {args:?}: {out}\n{err}");
        out
    }

    /// `status --json`, run while a watcher may be in a step: a busy data
    /// directory (exit 8) is tried again, anything else must succeed.
    fn status(&self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, out, err) = self.run(&["status", "--json"]);
            match code {
                0 => return crate::support::parse_json(&out),
                8 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => panic!("status: {code}: {out}{err}"),
            }
        }
    }

    fn records(&self) -> PathBuf {
        self.docs.path().join("records")
    }

    fn verify(&self, doc: &Path, proof: Option<&Path>) -> i32 {
        let mut args = vec!["verify", doc.to_str().unwrap(), "--network", "regtest"];
        if let Some(p) = proof {
            args.extend(["--proof", p.to_str().unwrap()]);
        }
        let (code, out, err) = self.run(&args);
        assert!(code == 0 || code == 3, "{}: {out}{err}", doc.display());
        code
    }
}

/// A running `btc-anchor watch`, its log lines read as they come.
struct Watch {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// Lines already matched by [`Watch::expect`].
    cursor: usize,
}

impl Watch {
    fn start(env: &Env, args: &[&str], pause_at: Option<&str>) -> Watch {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("btc-anchor"));
        cmd.arg("watch")
            .arg(env.records())
            .args([
                "--settle",
                "300ms",
                "--upgrade-every",
                "200ms",
                "--retry-max",
                "1s",
            ])
            .args(args)
            .env("BTC_ANCHOR_DATA_DIR", env.data.path())
            .env("BTC_ANCHOR_NETWORK", "regtest")
            .env("BTC_ANCHOR_ELECTRUM", env.stack.electrum_url())
            .env_remove("BTC_ANCHOR_PAUSE_AT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(step) = pause_at {
            cmd.env("BTC_ANCHOR_PAUSE_AT", step);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("watch: {line}");
                sink.lock().unwrap().push(line);
            }
        });
        Watch {
            child,
            lines,
            cursor: 0,
        }
    }

    fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits for the next line (after the last one matched) that holds
    /// `text`, and returns it.
    fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let lines = self.all();
            if let Some(i) = lines[self.cursor..].iter().position(|l| l.contains(text)) {
                self.cursor += i + 1;
                return lines[self.cursor - 1].clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the watcher exited ({status}) before '{text}':\n{}",
                    self.all().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "no line with '{text}':\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, whatever it is doing.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and its exit code once it has stopped.
    fn terminate(mut self) -> (i32, Vec<String>) {
        let ok = StdCommand::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.all())
    }
}

/// The 64 hex digits after `sha256:` in a log line.
fn digest_in(line: &str) -> String {
    let at = line.find("sha256:").unwrap() + 7;
    line[at..at + 64].to_owned()
}

/// The word after `transaction ` in a log line.
fn txid_in(line: &str) -> String {
    let at = line.find("transaction ").unwrap() + 12;
    line[at..].split(' ').next().unwrap().to_owned()
}

fn setup() -> Env {
    let env = Env {
        stack: TestEnv::new().unwrap(),
        data: tempfile::tempdir().unwrap(),
        docs: tempfile::tempdir().unwrap(),
    };
    env.ok(&["wallet", "create"]);
    let address = env.ok(&["wallet", "address"]).trim().to_owned();
    env.stack
        .fund(
            &parse_address(&address).unwrap(),
            btc_anchor::bitcoin::Amount::ONE_BTC,
        )
        .unwrap();
    env.stack.mine_blocks(2, None).unwrap();
    let dir = env.records();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), "patient record a\n").unwrap();
    std::fs::write(dir.join("sub/b.txt"), "patient record b\n").unwrap();
    // Neither is a record: a hidden file, an editor's backup.
    std::fs::write(dir.join(".DS_Store"), "hidden").unwrap();
    std::fs::write(dir.join("a.txt~"), "backup").unwrap();
    env
}

#[test]
fn watch_stamps_anchors_and_completes_through_a_lost_server_and_kill_9() {
    let mut env = setup();
    let records = env.records();
    let doc = |name: &str| records.join(name);

    // 1. The files already there are stamped, anchored after --every and
    //    completed once mined; no path is logged without --labels.
    let mut w = Watch::start(&env, &["--every", "2s"], None);
    let started = w.expect("watching 1 folder");
    assert!(started.contains("2 files found"), "{started}");
    w.expect("stamped sha256:");
    w.expect("stamped sha256:");
    // Other commands run between the watcher's steps.
    let st = env.status();
    assert_eq!(st["queued"].as_array().unwrap().len(), 2, "{st}");
    let anchored = w.expect("anchored batch 1: 2 records");
    env.stack.mine_blocks(1, None).unwrap();
    w.expect("batch 1: complete in block");
    assert_eq!(env.verify(&doc("a.txt"), None), 0);
    assert_eq!(env.verify(&doc("sub/b.txt"), None), 0);
    let records_text = records.display().to_string();
    assert!(
        w.all().iter().all(|l| !l.contains(&records_text)),
        "a path was logged: {:?}",
        w.all()
    );
    assert!(anchored.contains("transaction "), "{anchored}");

    // 2. A file written in pieces, in a new folder, is stamped once, with
    //    its whole content; a changed file gets a new version, its older
    //    proof kept beside it.
    std::fs::create_dir_all(doc("new")).unwrap();
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(doc("new/c.txt")).unwrap();
        f.write_all(b"patient record c, ").unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(120));
        f.write_all(b"written slowly\n").unwrap();
    }
    let old_a = std::fs::read(doc("a.txt")).unwrap();
    std::fs::write(doc("a.txt"), "patient record a, amended\n").unwrap();
    let one = w.expect("stamped");
    let two = w.expect("stamped");
    let amended = [&one, &two]
        .into_iter()
        .find(|l| l.contains("new version"))
        .unwrap_or_else(|| panic!("no new version: {one}\n{two}"));
    assert_eq!(
        digest_in(amended),
        btc_anchor::hash::hash_file(&doc("a.txt")).unwrap().to_hex()
    );
    w.expect("anchored batch 2: 2 records");
    env.stack.mine_blocks(1, None).unwrap();
    w.expect("batch 2: complete in block");
    assert_eq!(env.verify(&doc("new/c.txt"), None), 0);
    assert_eq!(env.verify(&doc("a.txt"), None), 0);
    let old_digest = btc_anchor::hash::RecordDigest::of_bytes(&old_a).to_hex();
    let older_proof = doc(&format!("a.txt.{}.anchor.json", &old_digest[..16]));
    let old_copy = env.docs.path().join("a-old.txt");
    std::fs::write(&old_copy, &old_a).unwrap();
    assert_eq!(env.verify(&old_copy, Some(&older_proof)), 0);
    let c_versions = std::fs::read_dir(doc("new"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "c.txt")
        .count();
    assert_eq!(c_versions, 1, "c.txt was stamped once, when complete");

    // 3. The Electrum server goes away: files are still stamped, anchoring
    //    fails and is retried, and goes through once the server is back.
    env.stack.stop_electrum().unwrap();
    std::fs::write(doc("sub/d.txt"), "patient record d\n").unwrap();
    w.expect("stamped sha256:");
    let failed = w.expect("anchor failed: ");
    assert!(failed.contains("Electrum server"), "{failed}");
    assert!(failed.contains("trying again in"), "{failed}");
    env.stack.start_electrum().unwrap();
    w.expect("anchor works again");
    w.expect("anchored batch 3: 1 record");
    env.stack.mine_blocks(1, None).unwrap();
    w.expect("batch 3: complete in block");

    // 4. SIGKILL between stamping and anchoring; a file arrives while the
    //    watcher is down.
    std::fs::write(doc("e.txt"), "patient record e\n").unwrap();
    w.expect("stamped sha256:");
    w.kill9();
    std::fs::write(doc("sub/f.txt"), "patient record f\n").unwrap();

    // 5. Restarted, anchoring after 2 records only, and SIGKILLed right
    //    after signing the batch's transaction. With --labels, paths show.
    let mut w = Watch::start(&env, &["--after", "2", "--labels"], Some("signed"));
    let started = w.expect("watching 1 folder");
    assert!(started.contains("1 record queued"), "{started}");
    let f_line = w.expect("stamped sha256:");
    assert!(
        f_line.ends_with(&doc("sub/f.txt").display().to_string()),
        "{f_line}"
    );
    let signed = w.expect("signed and stored");
    let signed_txid = txid_in(&signed);
    w.expect("paused after signed");
    // A second watcher on the same data directory is refused.
    let (code, _, err) = env.run(&["watch", records.to_str().unwrap()]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("another btc-anchor watch"), "{err}");
    w.kill9();

    // 6. Restarted again: the interrupted batch is sent with the very
    //    transaction signed before, and completed.
    let mut w = Watch::start(&env, &["--every", "2s"], None);
    let started = w.expect("watching 1 folder");
    assert!(
        started.contains("0 records queued, 1 batch waiting"),
        "{started}"
    );
    let resumed = w.expect("anchored batch 4: 2 records");
    assert!(resumed.contains("finished an interrupted run"), "{resumed}");
    assert_eq!(txid_in(&resumed), signed_txid);
    env.stack.mine_blocks(1, None).unwrap();
    w.expect("batch 4: complete in block");

    // Nothing lost, nothing doubled: every batch final with one
    // transaction, nothing queued, every file complete and valid.
    let st = env.status();
    assert_eq!(st["queued"].as_array().unwrap().len(), 0, "{st}");
    let batches = st["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 4, "{st}");
    let mut txids = std::collections::HashSet::new();
    let mut records_total = 0;
    for b in batches {
        assert_eq!(b["state"], "final", "{st}");
        assert_eq!(b["txids"].as_array().unwrap().len(), 1, "{st}");
        assert!(txids.insert(b["txids"][0].as_str().unwrap().to_owned()));
        records_total += b["records"].as_u64().unwrap();
    }
    // a, b; c, a's new version; d; e, f.
    assert_eq!(records_total, 7, "{st}");
    assert!(env.stack.mempool().unwrap().is_empty());
    for name in [
        "a.txt",
        "sub/b.txt",
        "new/c.txt",
        "sub/d.txt",
        "e.txt",
        "sub/f.txt",
    ] {
        assert_eq!(env.verify(&doc(name), None), 0, "{name}");
    }

    // 7. SIGTERM: a clean stop, exit 0.
    let (code, lines) = w.terminate();
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines.last().is_some_and(|l| l.contains("stopping")),
        "{lines:?}"
    );
}

/// `watch --log DIR`: the watcher checkpoints an audit log on its
/// schedule, stamps each new checkpoint with the watched files and
/// anchors them; the anchored checkpoint verifies as a record and the
/// log's audit passes.
#[test]
fn watch_checkpoints_an_audit_log_and_anchors_its_checkpoints() {
    let env = setup();
    let log = env.docs.path().join("audit");
    let log_s = log.to_str().unwrap();
    let vkey = crate::support::parse_json(&env.ok(&[
        "log",
        "init",
        log_s,
        "--origin",
        "clinic.example/audit",
        "--json",
    ]))["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let append = |n: usize| {
        for i in 0..n {
            let record = format!("MRN {i}");
            env.ok(&[
                "log", "append", log_s, "--kind", "read", "--record", &record, "--actor", "dr-1",
            ]);
        }
    };
    append(5);

    // Not a log, and --checkpoint-every without --log: refused.
    let records = env.records();
    let records_s = records.to_str().unwrap();
    let (code, _, err) = env.run(&["watch", records_s, "--log", records_s]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("btc-anchor log init"), "{err}");
    // Nothing was left in the folder that is no log.
    assert!(!records.join("lock").exists());
    let (code, _, err) = env.run(&["watch", records_s, "--checkpoint-every", "1s"]);
    assert_eq!(code, 2, "{err}");

    let mut w = Watch::start(
        &env,
        &["--log", log_s, "--checkpoint-every", "1s", "--after", "3"],
        None,
    );
    w.expect("watching 2 folders");
    // The checkpoint of the 5 events, stamped with a.txt and sub/b.txt.
    let all = |w: &mut Watch| {
        w.expect("log clinic.example/audit: signed the checkpoint of size 5");
        w.expect("anchored batch 1: 3 records")
    };
    all(&mut w);
    env.stack.mine_blocks(1, None).unwrap();
    w.expect("batch 1: complete in block");
    let checkpoint = log.join("public/checkpoints/5");
    assert_eq!(env.verify(&checkpoint, None), 0);
    let audit = env.run(&[
        "log",
        "audit",
        log.join("public").to_str().unwrap(),
        "--vkey",
        &vkey,
        "--network",
        "regtest",
        "--json",
    ]);
    assert_eq!(audit.0, 0, "{}{}", audit.1, audit.2);
    assert_eq!(crate::support::parse_json(&audit.1)["consistent"], true);

    // More events: the next round signs a checkpoint of the new size, and
    // the watcher stamps it; no round signs one while the log has not grown.
    append(2);
    w.expect("log clinic.example/audit: signed the checkpoint of size 7");
    w.expect("stamped sha256:");
    std::thread::sleep(Duration::from_secs(2));
    let (code, lines) = w.terminate();
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("signed the checkpoint"))
            .count(),
        2,
        "{lines:?}"
    );
    assert!(log.join("public/checkpoints/7.anchor.json").is_file());
}
