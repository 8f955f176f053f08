//! The offline audit against real log folders, clean and tampered with:
//! each kind of damage gives its own finding, with the evidence.

use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor_log::audit::{audit, AuditOptions, AuditReport, Finding};
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::note::Signer;
use btc_anchor_log::writer::LogWriter;

use crate::{event, log_signer, other_signer, ORIGIN};

/// A log written with checkpoints at 300, 700 and 1,000 entries, under
/// `root/name`; returns its public folder.
fn log_with_history(root: &Path, name: &str, offset: u64) -> PathBuf {
    let dir = root.join(name);
    let mut log = LogWriter::create(&dir, log_signer()).unwrap();
    let mut at = 0;
    for size in [300, 700, 1000] {
        log.append((at..size).map(|i| event(i + offset, None)).collect())
            .unwrap();
        log.checkpoint().unwrap();
        at = size;
    }
    dir.join("public")
}

fn run(public: &Path, known: &[Vec<u8>]) -> AuditReport {
    let options = AuditOptions {
        known,
        ..AuditOptions::new(Network::Regtest)
    };
    audit(public, ORIGIN, &log_signer().verifier(), &options).unwrap()
}

fn finding(public: &Path) -> Finding {
    run(public, &[]).finding.expect("a finding")
}

fn flip(file: &Path, at: usize) {
    let mut b = std::fs::read(file).unwrap();
    b[at] ^= 1;
    std::fs::write(file, b).unwrap();
}

#[test]
fn a_clean_log_passes_and_says_what_was_checked() {
    let dir = tempfile::tempdir().unwrap();
    let public = log_with_history(dir.path(), "log", 0);
    let r = run(&public, &[]);
    assert_eq!(r.finding, None);
    assert_eq!((r.size, r.checkpoints), (1000, 4));
    // 4 bundles at 1,000; the partial ones of 300 and 700.
    assert_eq!(r.bundles, 6);
    // Level 0: 3 full + 1 partial at 1,000, partials at 300 and 700;
    // level 1: one partial per size.
    assert_eq!(r.tiles, 9);
    assert!(r.checked.iter().any(|c| c.contains("consistency")));
    assert!(r.trusted.iter().any(|t| t.contains("public key")));
    // A checkpoint the auditor kept from before still matches.
    let old = std::fs::read(public.join("checkpoints/700")).unwrap();
    assert_eq!(run(&public, &[old]).finding, None);
}

#[test]
fn an_edited_entry_or_tile_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let public = log_with_history(dir.path(), "log", 0);
    // An entry in a full bundle: its leaf no longer matches tile 0.
    flip(&public.join("tile/entries/000"), 100);
    assert_eq!(
        finding(&public),
        Finding::TileMismatch {
            path: "tile/0/000".into()
        }
    );
    flip(&public.join("tile/entries/000"), 100);
    // A hash in a full tile.
    flip(&public.join("tile/0/001"), 5);
    assert_eq!(
        finding(&public),
        Finding::TileMismatch {
            path: "tile/0/001".into()
        }
    );
    flip(&public.join("tile/0/001"), 5);
    // The partial bundle an older checkpoint size needs.
    flip(&public.join("tile/entries/001.p/44"), 40);
    assert_eq!(
        finding(&public),
        Finding::TileMismatch {
            path: "tile/entries/001.p/44".into()
        }
    );
    flip(&public.join("tile/entries/001.p/44"), 40);
    // A level-1 tile.
    flip(&public.join("tile/1/000.p/3"), 0);
    assert_eq!(
        finding(&public),
        Finding::TileMismatch {
            path: "tile/1/000.p/3".into()
        }
    );
    flip(&public.join("tile/1/000.p/3"), 0);
    // A tile cut short is malformed.
    let t = public.join("tile/0/000");
    let good = std::fs::read(&t).unwrap();
    std::fs::write(&t, &good[..good.len() - 1]).unwrap();
    assert_eq!(finding(&public).name(), "malformed");
    std::fs::write(&t, &good).unwrap();
    assert_eq!(run(&public, &[]).finding, None, "restored");
}

#[test]
fn a_truncated_log_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let public = log_with_history(dir.path(), "log", 0);
    std::fs::remove_file(public.join("tile/entries/003.p/232")).unwrap();
    assert_eq!(
        finding(&public),
        Finding::Missing {
            path: "tile/entries/003.p/232".into()
        }
    );
    std::fs::remove_file(public.join("checkpoint")).unwrap();
    assert_eq!(finding(&public), Finding::NoCheckpoint);
}

#[test]
fn a_fork_a_rollback_and_a_foreign_signature_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let public = log_with_history(dir.path(), "log", 0);
    // The log's key signs a second, different tree of size 700.
    let fork = Checkpoint {
        origin: ORIGIN.into(),
        size: 700,
        root: btc_anchor::merkle::NodeHash([7; 32]),
        extensions: vec![],
    }
    .sign(&[&log_signer()])
    .unwrap()
    .to_text();
    std::fs::write(public.join("checkpoints/700-fork"), &fork).unwrap();
    match finding(&public) {
        Finding::Fork { a, b } => {
            let real = std::fs::read_to_string(public.join("checkpoints/700")).unwrap();
            let mut both = [a, b];
            both.sort();
            let mut expected = [real, fork.clone()];
            expected.sort();
            assert_eq!(both, expected, "both signed checkpoints are the evidence");
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(public.join("checkpoints/700-fork")).unwrap();

    // An old checkpoint replayed as the published one.
    let latest = std::fs::read(public.join("checkpoint")).unwrap();
    std::fs::copy(public.join("checkpoints/300"), public.join("checkpoint")).unwrap();
    assert_eq!(finding(&public).name(), "rollback");
    std::fs::write(public.join("checkpoint"), &latest).unwrap();

    // A checkpoint signed by another key.
    let other = Signer::from_seed(ORIGIN, &[9; 32]).unwrap();
    let foreign = Checkpoint::parse(btc_anchor_log::note::Note::parse(&latest).unwrap().text())
        .unwrap()
        .sign(&[&other])
        .unwrap()
        .to_text();
    std::fs::write(public.join("checkpoints/1000"), foreign).unwrap();
    match finding(&public) {
        Finding::BadCheckpoint { source, .. } => assert_eq!(source, "checkpoints/1000"),
        other => panic!("{other:?}"),
    }
    let _ = other_signer();
}

#[test]
fn a_rewritten_history_is_found_against_a_kept_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // The auditor kept the checkpoint of 700 of the real log; the log was
    // then rebuilt with other entries, and its own history replaced.
    let real = log_with_history(dir.path(), "real", 0);
    let kept = std::fs::read(real.join("checkpoints/700")).unwrap();
    let rewritten = log_with_history(dir.path(), "rewritten", 5);
    assert_eq!(run(&rewritten, &[]).finding, None, "consistent on its own");
    // Same size, other root: a fork, shown with both signed checkpoints.
    assert_eq!(
        run(&rewritten, std::slice::from_ref(&kept))
            .finding
            .unwrap()
            .name(),
        "fork"
    );
    // Without the log's own 700 in the way: inconsistent with the proof.
    std::fs::remove_file(rewritten.join("checkpoints/700")).unwrap();
    match run(&rewritten, std::slice::from_ref(&kept))
        .finding
        .unwrap()
    {
        Finding::Inconsistent { old, new, proof } => {
            assert_eq!(old.as_bytes(), &kept[..]);
            assert!(new.contains("\n1000\n"));
            assert!(!proof.is_empty());
        }
        other => panic!("{other:?}"),
    }
}
