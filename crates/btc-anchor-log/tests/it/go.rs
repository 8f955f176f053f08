//! The Go reference: `tests/go/verify.go` checks, with
//! `golang.org/x/mod/sumdb/{note,tlog}`, a signed checkpoint, the tiles and
//! an offline proof this crate wrote. It runs in GOPATH mode against the
//! Debian packages `golang-go` and `golang-golang-x-mod-dev`; nothing is
//! downloaded. Without them the test skips, except in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::entry::Entry;
use btc_anchor_log::proof::TlogProof;
use btc_anchor_log::store::TileStore;

use btc_anchor_log::note::Signer;

use crate::{derive, ORIGIN};

const GOPATH: &str = "/usr/share/gocode";

fn go_available() -> Result<(), String> {
    let ok = Command::new("go")
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

#[test]
fn go_sumdb_verifies_our_checkpoint_tiles_and_proof() {
    if let Err(reason) = go_available() {
        btc_anchor_testenv::skip(reason);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 70,000 entries: full and partial tiles at levels 0, 1 and 2.
    let entries: Vec<Entry> = (0..70_000u32)
        .map(|i| Entry(derive(&format!("go entry {i}"))))
        .collect();
    let store = TileStore::new(d);
    store.write(&entries[..600], 0).unwrap();
    store.write(&entries, 600).unwrap();
    let size = entries.len() as u64;
    let mut r = store.reader(size).unwrap();
    // A key whose vkey and skey base64 hold a '+', which Go must read as
    // we do.
    let key = (0u8..)
        .map(|i| Signer::from_seed(ORIGIN, &[i; 32]).unwrap())
        .find(|k| {
            k.verifier().to_vkey().matches('+').count() > 2 && k.to_skey().matches('+').count() > 4
        })
        .unwrap();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: r.root().unwrap(),
        extensions: vec![],
    };
    let note = cp.sign(&[&key]).unwrap();
    let index = 65_790;
    let proof = TlogProof {
        extra: None,
        index,
        path: r.inclusion_proof(index).unwrap(),
        checkpoint: note.clone(),
    };
    std::fs::write(d.join("vkey"), key.verifier().to_vkey()).unwrap();
    std::fs::write(d.join("skey"), key.to_skey()).unwrap();
    std::fs::write(d.join("checkpoint"), note.to_text()).unwrap();
    std::fs::write(d.join("entry.hex"), entries[index as usize].to_hex()).unwrap();
    std::fs::write(d.join("proof.tlog-proof"), proof.to_text()).unwrap();
    // Consistency from the first size written to the checkpoint's.
    let old = 600;
    let mut lines = vec![
        old.to_string(),
        BASE64.encode(store.reader(old).unwrap().root().unwrap().as_bytes()),
    ];
    lines.extend(
        r.consistency_proof(old)
            .unwrap()
            .iter()
            .map(|h| BASE64.encode(h.as_bytes())),
    );
    std::fs::write(d.join("consistency"), lines.join("\n")).unwrap();

    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/go/verify.go");
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-build");
    let out = go_run(&program, d, &cache);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "go verify failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // It refuses a damaged tile: one hash changed in the partial level-1
    // tile that the root needs.
    let tile = d.join("tile/1/001.p/17");
    let good = std::fs::read(&tile).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 1;
    std::fs::write(&tile, &bad).unwrap();
    let out = go_run(&program, d, &cache);
    assert!(!out.status.success(), "a damaged tile passed");
    assert!(String::from_utf8_lossy(&out.stdout).contains("tiles"));
    std::fs::write(&tile, &good).unwrap();

    // And it refuses a checkpoint signed by a key it was not given.
    let other = crate::other_signer();
    std::fs::write(d.join("checkpoint"), cp.sign(&[&other]).unwrap().to_text()).unwrap();
    let out = go_run(&program, d, &cache);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("checkpoint:"));
}

/// `go run verify.go DIR` in GOPATH mode, nothing downloaded.
fn go_run(program: &Path, dir: &Path, cache: &Path) -> std::process::Output {
    Command::new("go")
        .arg("run")
        .arg(program)
        .arg(dir)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOCACHE", cache)
        .output()
        .unwrap()
}

/// `tests/go/cosignature.go` checks a checkpoint our witness cosigned
/// (C2SP tlog-cosignature) with Go's sumdb note parser (the log's
/// signature, the cosignature line passed over as a key it was not given)
/// and Go's own Ed25519, from the spec's definitions alone; it refuses a
/// changed cosignature, timestamp or witness key.
#[test]
fn go_verifies_our_witness_cosignature() {
    if let Err(reason) = go_available() {
        btc_anchor_testenv::skip(reason);
        return;
    }
    use btc_anchor_log::cosignature::Cosigner;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = Signer::from_seed(ORIGIN, &[7; 32]).unwrap();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: 70_000,
        root: btc_anchor::merkle::NodeHash(derive("a root")),
        extensions: vec![],
    };
    let mut note = cp.sign(&[&log]).unwrap();
    let witness = Cosigner::from_seed("witness.example/w1", &[9; 32]).unwrap();
    let ts = 1_767_225_600;
    let cosignature = witness.cosign(note.text(), ts);
    witness
        .verifier()
        .verify(note.text(), &cosignature)
        .unwrap();
    note.push_signature(cosignature);
    let cosigned = note.to_text();
    std::fs::write(d.join("vkey"), log.verifier().to_vkey()).unwrap();
    std::fs::write(d.join("witness.vkey"), witness.verifier().to_vkey()).unwrap();
    std::fs::write(d.join("cosigned"), &cosigned).unwrap();

    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/go/cosignature.go");
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-build");
    let out = go_run(&program, d, &cache);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == format!("ok {ts}"),
        "go cosignature check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Refused: one bit of the Ed25519 signature, the timestamp, or the
    // witness key changed.
    let line = cosigned.lines().last().unwrap();
    let (head, b64) = line.rsplit_once(' ').unwrap();
    let sig = BASE64.decode(b64).unwrap();
    for (at, why) in [(sig.len() - 1, "does not verify"), (11, "does not verify")] {
        let mut bad = sig.clone();
        bad[at] ^= 1;
        let text = cosigned.replace(line, &format!("{head} {}", BASE64.encode(&bad)));
        std::fs::write(d.join("cosigned"), text).unwrap();
        let out = go_run(&program, d, &cache);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && stdout.contains(why),
            "{at}: {stdout}"
        );
    }
    std::fs::write(d.join("cosigned"), &cosigned).unwrap();
    let other = Cosigner::from_seed("witness.example/w1", &[10; 32]).unwrap();
    std::fs::write(d.join("witness.vkey"), other.verifier().to_vkey()).unwrap();
    let out = go_run(&program, d, &cache);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && stdout.contains("no line of"),
        "{stdout}"
    );
}
