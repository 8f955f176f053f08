//! `btc-anchor headers info|checkpoints|sync` offline, on the committed
//! header fixtures and synthetic chains (`headers_sync.rs` runs `headers
//! sync` against a real regtest stack).

use std::fs;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::Checkpoints;
use btc_anchor::headers::HeadersFile;
use btc_anchor_testenv::chain::{regtest_chain, write_headers};

fn fixture(rel: &str) -> PathBuf {
    btc_anchor_testenv::repo_file("fixtures").join(rel)
}

use crate::support::{run as btc_anchor, INVALID, IO, SERVER, USAGE, VALID};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn headers_info_describes_a_valid_file() {
    let r = btc_anchor([
        "headers",
        "info",
        "fixtures/headers/regtest-a.bin",
        "--network",
        "regtest",
        "--json",
    ]);
    r.expect_code(VALID);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let v = r.json();
    let a = HeadersFile::open(&fixture("headers/regtest-a.bin"), Network::Regtest).unwrap();
    assert_eq!(v["result"], "valid");
    assert_eq!(v["network"], "regtest");
    assert_eq!(v["start"], "genesis");
    assert_eq!(v["first_height"], 0);
    assert_eq!(v["last_height"], 15);
    assert_eq!(v["headers"], 16);
    assert_eq!(v["tip_hash"], a.tip_hash().to_string());
    // Regtest blocks are worth two hashes each: 16 headers, 2^5.
    assert_eq!(v["work_log2"], 5.0);
    assert_eq!(v["checkpoints"]["agreed"], 0);

    let r = btc_anchor([
        "headers",
        "info",
        "fixtures/headers/regtest-a.bin",
        "--network",
        "regtest",
    ]);
    r.expect_code(VALID);
    assert!(r
        .stdout
        .starts_with("VALID: headers file fixtures/headers/regtest-a.bin\n"));
    assert!(
        r.stdout
            .contains("0 to 15 (16 headers, from the genesis block)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&a.tip_hash().to_string()));
    assert!(r.stdout.contains("2^5.00 hashes"), "{}", r.stdout);

    // Mainnet: the genesis block alone reaches no checkpoint.
    let r = btc_anchor([
        "headers",
        "info",
        "fixtures/headers/bitcoin-genesis-only.bin",
    ]);
    r.expect_code(VALID);
    assert!(
        r.stdout.contains("none reached (473 built-in"),
        "{}",
        r.stdout
    );
}

#[test]
fn headers_info_on_bad_and_missing_files() {
    for (file, network, reason) in [
        (
            "fixtures/headers/regtest-unlinked.bin",
            "regtest",
            "not-linked",
        ),
        (
            "fixtures/headers/regtest-truncated.bin",
            "regtest",
            "bad-length",
        ),
        (
            "fixtures/headers/bitcoin-genesis-only.bin",
            "regtest",
            "unknown-start",
        ),
        ("fixtures/headers/regtest-a.bin", "bitcoin", "unknown-start"),
    ] {
        let r = btc_anchor(["headers", "info", file, "--network", network, "--json"]);
        r.expect_code(INVALID);
        let v = r.json();
        assert_eq!(v["result"], "invalid", "{file}");
        assert_eq!(v["reason"], reason, "{file}");
        let (error, hint) = r.two_line_error();
        assert!(error.contains(reason), "{error}");
        assert!(hint.contains("--network"), "{hint}");
        let r = btc_anchor(["headers", "info", file, "--network", network]);
        r.expect_code(INVALID);
        assert!(
            r.stdout.starts_with("INVALID: headers file"),
            "{}",
            r.stdout
        );
    }
    let r = btc_anchor([
        "headers",
        "info",
        "fixtures/headers/regtest-unlinked.bin",
        "--network",
        "regtest",
        "--json",
    ]);
    assert_eq!(r.json()["height"], 3);

    let dir = tempfile::tempdir().unwrap();
    for path in [dir.path().join("missing.bin"), dir.path().to_path_buf()] {
        let r = btc_anchor(["headers", "info", p(&path), "--network", "regtest"]);
        r.expect_code(IO);
        assert!(r.stdout.is_empty());
        r.two_line_error();
    }
}

#[test]
fn headers_checkpoints_prints_the_table_of_the_file() {
    let c = regtest_chain(4100);
    let dir = tempfile::tempdir().unwrap();
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    for (flag, with_targets) in [(None, false), (Some("--with-targets"), true)] {
        let mut args = vec!["headers", "checkpoints", p(&path), "--network", "regtest"];
        args.extend(flag);
        let r = btc_anchor(&args);
        r.expect_code(VALID);
        let table = Checkpoints::parse(&r.stdout).unwrap();
        assert_eq!(
            table,
            Checkpoints::from_headers(Network::Regtest, &c.headers, with_targets)
        );
        assert_eq!(r.stdout, table.to_text());

        // The same table as one JSON object.
        args.push("--json");
        let j = btc_anchor(&args).expect_code(VALID).json();
        assert_eq!(j["result"], "headers-checkpoints");
        assert_eq!(j["network"], "regtest");
        let rows = j["checkpoints"].as_array().unwrap();
        assert_eq!(rows.len(), table.len());
        assert!(rows.len() >= 2, "4,100 headers close two epochs");
        for (i, (row, c)) in rows.iter().zip(table.entries()).enumerate() {
            assert_eq!(row["epoch"], i);
            assert_eq!(row["height"], 2016 * i + 2015);
            assert_eq!(row["hash"], c.hash.to_string());
            match c.next_bits {
                Some(b) => assert_eq!(row["next_bits"], format!("{:08x}", b.to_consensus())),
                None => assert!(row["next_bits"].is_null()),
            }
            assert_eq!(c.next_bits.is_some(), with_targets);
        }
    }
    // A failure in JSON too: one object on stdout.
    let r = btc_anchor([
        "headers",
        "checkpoints",
        "fixtures/headers/regtest-unlinked.bin",
        "--network",
        "regtest",
        "--json",
    ]);
    assert_eq!(r.expect_code(INVALID).json()["result"], "error");
    let r = btc_anchor([
        "headers",
        "checkpoints",
        "fixtures/headers/bitcoin-genesis-only.bin",
        "--network",
        "testnet",
        "--with-targets",
    ]);
    r.expect_code(USAGE);
    r.two_line_error();
    let r = btc_anchor([
        "headers",
        "checkpoints",
        "fixtures/headers/regtest-unlinked.bin",
        "--network",
        "regtest",
    ]);
    r.expect_code(INVALID);
    assert!(r.stdout.is_empty());
    r.two_line_error();
    let r = btc_anchor(["headers", "checkpoints", p(&dir.path().join("nope"))]);
    r.expect_code(IO);
}

/// A port on the loopback interface that nothing listens on.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("tcp://127.0.0.1:{port}")
}

#[test]
fn headers_sync_checks_the_file_before_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = closed_port();
    // No server: a server error, and no file left behind.
    let new = dir.path().join("new.bin");
    let r = btc_anchor([
        "headers",
        "sync",
        "--electrum",
        &url,
        "--out",
        p(&new),
        "--network",
        "regtest",
    ]);
    r.expect_code(SERVER);
    r.two_line_error();
    assert!(!new.exists());
    // A folder to write to.
    let r = btc_anchor([
        "headers",
        "sync",
        "--electrum",
        &url,
        "--out",
        p(dir.path()),
        "--network",
        "regtest",
    ]);
    r.expect_code(IO);
    r.two_line_error();
    // A file that fails validation is refused before the server is asked.
    let bad = dir.path().join("bad.bin");
    fs::copy(fixture("headers/regtest-unlinked.bin"), &bad).unwrap();
    let before = fs::read(&bad).unwrap();
    let r = btc_anchor([
        "headers",
        "sync",
        "--electrum",
        &url,
        "--out",
        p(&bad),
        "--network",
        "regtest",
    ]);
    r.expect_code(INVALID);
    let (error, _) = r.two_line_error();
    assert!(error.contains("does not link"), "{error}");
    assert_eq!(fs::read(&bad).unwrap(), before);
    // A partial header at the end (an interrupted sync) is removed.
    let torn = dir.path().join("torn.bin");
    let mut bytes = fs::read(fixture("headers/regtest-a.bin")).unwrap();
    let whole = bytes.len();
    bytes.extend_from_slice(&[0xab; 37]);
    fs::write(&torn, &bytes).unwrap();
    let r = btc_anchor([
        "headers",
        "sync",
        "--electrum",
        &url,
        "--out",
        p(&torn),
        "--network",
        "regtest",
    ]);
    r.expect_code(SERVER);
    assert_eq!(fs::read(&torn).unwrap().len(), whole);
    // Usage: --out is required.
    let r = btc_anchor(["headers", "sync", "--electrum", &url]);
    r.expect_code(USAGE);
    let (_, hint) = r.two_line_error();
    assert!(hint.contains("btc-anchor headers sync"), "{hint}");
}

#[test]
fn help_documents_the_headers_commands() {
    let r = btc_anchor(["--help"]);
    r.expect_code(VALID);
    assert!(r.stdout.contains("headers"), "{}", r.stdout);
    let r = btc_anchor(["headers", "sync", "--help"]);
    r.expect_code(VALID);
    for s in [
        "--electrum",
        "--out",
        "--network",
        "6  server error",
        "8  busy",
    ] {
        assert!(r.stdout.contains(s), "{s}: {}", r.stdout);
    }
}
