//! `btc-anchor seal` over synthetic chains, without a server.

use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::Checkpoints;
use btc_anchor::seal::is_sealed;
use btc_anchor_testenv::chain::{fork, Chain};

const RT: Network = Network::Regtest;

fn anchored(height: u32, after: u32, carried: usize) -> (Chain, btc_anchor::proof::Proof) {
    btc_anchor_testenv::chain::anchored(RT, height, after, carried)
}

fn table_text(chain: &Chain) -> String {
    Checkpoints::from_headers(RT, &chain.headers, false).to_text()
}

/// `btc-anchor seal --headers FILE` over a synthetic chain, without a
/// server.
#[test]
fn the_command_over_a_headers_file() {
    let run = |args: &[&str]| {
        let r = crate::support::run(args);
        (r.code, r.stdout, r.stderr)
    };
    let dir = tempfile::tempdir().unwrap();
    let (chain, proof) = anchored(1000, 1030, 6);
    let proof_file = dir.path().join("record.anchor.json");
    std::fs::write(&proof_file, proof.to_json()).unwrap();
    let p = proof_file.to_str().unwrap();
    let short = dir.path().join("short.bin");
    let mut part = chain.clone();
    part.headers.truncate(1501);
    std::fs::write(&short, part.headers_file_bytes()).unwrap();
    let full = dir.path().join("full.bin");
    std::fs::write(&full, chain.headers_file_bytes()).unwrap();
    let table = dir.path().join("checkpoints.txt");
    std::fs::write(&table, table_text(&chain)).unwrap();
    let rt = ["--network", "regtest"];

    // The file's chain ends before the epoch does: pending, unchanged.
    let (code, out, err) =
        run(&[&["seal", p, "--headers", short.to_str().unwrap()][..], &rt].concat());
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("closes at block 2015, 515 blocks to go"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&proof_file).unwrap(),
        proof.to_json()
    );

    // Sealed from the whole file, then verified offline on its checkpoint.
    let (code, out, err) =
        run(&[&["seal", p, "--headers", full.to_str().unwrap()][..], &rt].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("now carries headers to block 2015"), "{out}");
    assert!(out.contains("(1009 headers added)"), "{out}");
    let sealed = btc_anchor::proof::read_proof_file(&proof_file).unwrap();
    assert!(is_sealed(&sealed));
    let digest = proof.record.digest.to_hex();
    let (code, out, err) = run(&[
        &[
            "verify",
            "--digest",
            &digest,
            "--proof",
            p,
            "--checkpoints",
            table.to_str().unwrap(),
        ][..],
        &rt,
        &["--json"],
    ]
    .concat());
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = crate::support::parse_json(&out);
    assert_eq!(v["block"]["checkpoint_epoch"], 0, "{v}");

    // Once more: already sealed, exit 0, the file as it was.
    let before = std::fs::read(&proof_file).unwrap();
    let (code, out, _) = run(&[
        &["seal", p, "--headers", full.to_str().unwrap(), "--json"][..],
        &rt,
    ]
    .concat());
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = crate::support::parse_json(&out);
    assert_eq!(v["proofs"][0]["result"], "already-sealed", "{v}");
    assert_eq!(std::fs::read(&proof_file).unwrap(), before);

    // A proof whose block is not in the file's chain: exit 1, two lines.
    let mut forked = Chain::new(RT);
    forked.headers = fork(&chain, 999, 1);
    let forked_file = dir.path().join("forked.bin");
    std::fs::write(&forked_file, forked.headers_file_bytes()).unwrap();
    std::fs::write(&proof_file, proof.to_json()).unwrap();
    let (code, out, err) = run(&[
        &["seal", p, "--headers", forked_file.to_str().unwrap()][..],
        &rt,
    ]
    .concat());
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("failed "), "{out}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("not in the header source's best chain"),
        "{err}"
    );

    // A missing proof: exit 4; the default network (bitcoin) with a
    // regtest headers file: exit 1.
    let (code, _, err) = run(&[
        &[
            "seal",
            "missing.anchor.json",
            "--headers",
            full.to_str().unwrap(),
        ][..],
        &rt,
    ]
    .concat());
    assert_eq!(code, 4, "{err}");
    let (code, _, err) = run(&["seal", p, "--headers", full.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("genesis"), "{err}");
}
