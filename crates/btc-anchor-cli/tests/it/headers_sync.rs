//! `btc-anchor headers sync` against a real regtest stack (bcoin +
//! ElectrumX, `regtest/`): a new file, incremental syncs, a reorganisation,
//! a torn header, a longer local branch, and `verify --headers` of a proof
//! anchored on that chain; and the Electrum header source's batched ranges.

use std::fs;
use std::path::Path;

use btc_anchor::bitcoin::Network;
use btc_anchor::headers::{HeaderSource, HeadersFile};
use btc_anchor_testenv::chain::{regtest_chain, write_headers};

use crate::support::{command, Run, SERVER, VALID};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct StackEnv {
    stack: btc_anchor_testenv::regtest::TestEnv,
    data: tempfile::TempDir,
}

impl StackEnv {
    fn run(&self, args: &[&str]) -> Run {
        command()
            .env("BTC_ANCHOR_DATA_DIR", self.data.path())
            .env("BTC_ANCHOR_NETWORK", "regtest")
            .env("BTC_ANCHOR_ELECTRUM", self.stack.electrum_url())
            .args(args)
            .output()
            .unwrap()
            .into()
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        r.expect_code(VALID);
        r
    }

    fn sync(&self, out: &Path) -> Run {
        let url = self.stack.electrum_url();
        self.run(&[
            "headers",
            "sync",
            "--electrum",
            &url,
            "--out",
            p(out),
            "--network",
            "regtest",
            "--json",
        ])
    }
}

#[test]
fn headers_sync_follows_a_regtest_stack() {
    let env = StackEnv {
        stack: btc_anchor_testenv::regtest::TestEnv::new().unwrap(),
        data: tempfile::tempdir().unwrap(),
    };
    let url = env.stack.electrum_url();
    // A complete proof of a document, anchored on this chain.
    env.ok(&["wallet", "create"]);
    let address = env.ok(&["wallet", "address"]).stdout.trim().to_owned();
    env.stack
        .fund(
            &btc_anchor_testenv::regtest::parse_address(&address).unwrap(),
            btc_anchor::bitcoin::Amount::ONE_BTC,
        )
        .unwrap();
    env.stack.mine_blocks(2, None).unwrap();
    let doc = env.data.path().join("record.txt");
    fs::write(&doc, b"a record to anchor\n").unwrap();
    env.ok(&["stamp", p(&doc)]);
    let a: serde_json::Value = crate::support::parse_json(&env.ok(&["anchor", "--json"]).stdout);
    env.stack
        .wait_until_electrum_sees_txid(
            a["batches"][0]["txid"].as_str().unwrap().parse().unwrap(),
            btc_anchor_testenv::regtest::DEFAULT_TIMEOUT,
        )
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    env.ok(&["upgrade"]);
    let tip = env.stack.tip().unwrap();

    // A new file: every header from the genesis block.
    let file = env.data.path().join("headers.bin");
    let r = env.sync(&file);
    r.expect_code(VALID);
    let v = r.json();
    assert_eq!(v["created"], true);
    assert_eq!(v["appended"], u64::from(tip) + 1);
    assert_eq!(v["last_height"], tip);
    assert_eq!(
        fs::metadata(&file).unwrap().len(),
        80 * (u64::from(tip) + 1)
    );
    let verify = |expect: i32| {
        let r = env.run(&[
            "verify",
            p(&doc),
            "--network",
            "regtest",
            "--headers",
            p(&file),
            "--json",
        ]);
        r.expect_code(expect);
        r.json()
    };
    let v = verify(VALID);
    assert_eq!(v["chain"]["checked"], true, "{v}");

    // The library's Electrum source serves the same chain, in batches.
    let server = btc_anchor_electrum::Electrum::connect(
        &url,
        Network::Regtest,
        btc_anchor_electrum::ConnectOptions::default(),
    )
    .unwrap();
    let local = HeadersFile::open(&file, Network::Regtest).unwrap();
    assert_eq!(
        server.header_range(0, tip + 10).unwrap(),
        local.header_range(0, tip + 10).unwrap()
    );
    assert_eq!(
        server.header_at(tip).unwrap(),
        local.header_at(tip).unwrap()
    );
    drop(local);

    // Incremental: only the new headers.
    env.stack.mine_blocks(5, None).unwrap();
    let v = env.sync(&file).json();
    assert_eq!(
        (v["appended"].as_u64(), v["rolled_back"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(v["created"], false);
    let v = env.sync(&file).json();
    assert_eq!(v["appended"], 0);

    // A reorganisation above the anchoring block: cut back to the fork,
    // then the new branch.
    let before = env.stack.tip().unwrap();
    env.stack.reorg(2).unwrap();
    let r = env.sync(&file);
    r.expect_code(VALID);
    let v = r.json();
    assert_eq!(v["rolled_back"], 2, "{v}");
    assert_eq!(v["fork_height"], before - 2);
    assert_eq!(v["appended"], 3);
    assert_eq!(v["last_height"], env.stack.tip().unwrap());
    let v = verify(VALID);
    assert_eq!(
        v["chain"]["confirmations"],
        env.stack.tip().unwrap() - tip + 1,
        "{v}"
    );

    // What a sync killed mid-write leaves: a partial header, removed.
    let whole = fs::read(&file).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[80..117]);
    fs::write(&file, &torn).unwrap();
    let v = env.sync(&file).json();
    assert_eq!(
        (v["trimmed_bytes"].as_u64(), v["appended"].as_u64()),
        (Some(37), Some(0))
    );
    assert_eq!(fs::read(&file).unwrap(), whole);

    // A file on a branch with more blocks than the server's is kept.
    let mut longer = regtest_chain(env.stack.tip().unwrap() + 10);
    longer
        .headers
        .truncate(env.stack.tip().unwrap() as usize + 11);
    let other = write_headers(env.data.path(), "other.bin", &longer.headers);
    let before = fs::read(&other).unwrap();
    let r = env.sync(&other);
    r.expect_code(SERVER);
    let (error, _) = r.two_line_error();
    assert!(error.contains("no more work"), "{error}");
    assert_eq!(fs::read(&other).unwrap(), before);

    // The file is what info and verify expect.
    let r = env.run(&[
        "headers",
        "info",
        p(&file),
        "--network",
        "regtest",
        "--json",
    ]);
    r.expect_code(VALID);
    assert_eq!(r.json()["last_height"], env.stack.tip().unwrap());
}
