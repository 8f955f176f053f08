//! A published log of 1,000,000 entries: the offline audit, an inclusion
//! proof from the tiles and the verification of an event proof, each
//! against a reference measured in the same run.
//!
//! * `audit_1m/audit`: [`audit`] of the log's `public/` folder (every
//!   bundle read and hashed, every tile compared, roots and consistency of
//!   its 4 checkpoints); reference `audit_1m/core_tree`: the leaf hashes of
//!   the same entries and [`Tree::new`] over them, in memory.
//! * `inclusion/tiles`: a fresh [`TileReader`] of the store as the log's
//!   writer keeps it, tiles and their inner rows (`docs/audit-log.md`
//!   §5.4), and the inclusion proof of one entry (five rows files read:
//!   the entry's level-0 and level-1 tiles, the partial level-2 tile, and
//!   the partial tiles of the tree's right edge);
//!   `inclusion/tiles_without_rows` the same from the published tiles
//!   alone (about 650 node hashes between their rows to compute); and
//!   `inclusion/tiles_kept_reader` from one reader kept across proofs
//!   (its tiles and their inner rows cached, as a server keeps it);
//!   reference `inclusion/core_tree`: the same proof from the tree in
//!   memory.
//! * `event_proof/verify_event`: parsing a disclosed event proof and
//!   verifying it (the opening, the checkpoint's signature, the inclusion
//!   path); reference `event_proof/ed25519`: parsing and verifying the
//!   signed checkpoint alone (one Ed25519 verification).
//!
//! The log is written under `BTC_ANCHOR_LOG_BENCH_DIR` (default: the
//! system's temporary folder). `cargo bench -p btc-anchor-log --bench audit`
//! prints criterion's report and `RESULT` lines with the ratios. Under
//! `cargo test --benches` it runs once on 10,000 entries.
//!
//! [`TileReader`]: btc_anchor_log::store::TileReader

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use btc_anchor::bitcoin::Network;
use btc_anchor::merkle::{leaf_hash, Tree};
use btc_anchor_log::audit::{audit, AuditOptions};
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::entry::{ActorRef, Entry, RecordRef, Salt};
use btc_anchor_log::event::{Event, EventKind};
use btc_anchor_log::note::{Note, Signer};
use btc_anchor_log::proof::{Opening, TlogProof};
use btc_anchor_log::store::TileStore;
use criterion::Criterion;
use sha2::{Digest as _, Sha256};

const ORIGIN: &str = "bench.example/log";

/// Writes a log of `n` entries (entry `n/2` the commitment of a real
/// event) with checkpoints at n/8, n/4, n/2 and n; returns the disclosed
/// proof of entry `n/2`.
fn write_log(public: &Path, rows: &Path, n: u64, key: &Signer) -> TlogProof {
    let salt = Salt([3; 32]);
    let event = Event {
        kind: EventKind::Read,
        time: 1_767_225_600,
        record: RecordRef::new(b"record 17", &salt),
        actor: ActorRef::new(b"clinician 7", &salt),
        content: None,
        prev: None,
        codes: Default::default(),
    };
    let opening = Opening::new(event, salt).unwrap();
    let mut entries: Vec<Entry> = (0..n)
        .map(|i| Entry(Sha256::digest(i.to_le_bytes()).into()))
        .collect();
    entries[(n / 2) as usize] = opening.entry();
    let store = TileStore::with_rows(public, rows);
    std::fs::create_dir_all(public.join("checkpoints")).unwrap();
    let mut old = 0;
    let mut note = None;
    for size in [n / 8, n / 4, n / 2, n] {
        store.write(&entries[..size as usize], old).unwrap();
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: store.reader(size).unwrap().root().unwrap(),
            extensions: vec![],
        };
        let signed = cp.sign(&[key]).unwrap();
        std::fs::write(public.join(format!("checkpoints/{size}")), signed.to_text()).unwrap();
        note = Some(signed);
        old = size;
    }
    let note = note.unwrap();
    std::fs::write(public.join("checkpoint"), note.to_text()).unwrap();
    TlogProof {
        extra: Some(opening.to_bytes()),
        index: n / 2,
        path: store.reader(n).unwrap().inclusion_proof(n / 2).unwrap(),
        checkpoint: note,
    }
}

fn core_tree(entries: &[Entry]) -> Tree {
    Tree::new(entries.iter().map(|e| leaf_hash(&e.0)).collect()).unwrap()
}

/// Times `f` `iters` times, adding to `total`.
fn timed(total: &mut (f64, u64), iters: u64, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    let d = t.elapsed();
    total.0 += d.as_secs_f64();
    total.1 += iters;
    d
}

fn mean(total: (f64, u64)) -> f64 {
    total.0 / total.1.max(1) as f64
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: u64 = if bench { 1_000_000 } else { 10_000 };
    let base = std::env::var_os("BTC_ANCHOR_LOG_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&base).unwrap();
    let public = dir.path().join("public");
    let rows = dir.path().join("rows");
    let key = Signer::from_seed(ORIGIN, &[5; 32]).unwrap();
    let vkey = key.verifier();
    let proof = write_log(&public, &rows, n, &key);
    let options = AuditOptions::new(Network::Regtest);
    let report = audit(&public, ORIGIN, &vkey, &options).unwrap();
    assert_eq!((report.finding, report.size), (None, n));
    let proof_text = proof.to_text();
    let note_text = proof.checkpoint.to_text();
    let entries: Vec<Entry> = {
        let store = TileStore::new(&public);
        let mut r = store.reader(n).unwrap();
        (0..n)
            .map(|i| Entry(r.entry(i).unwrap().try_into().unwrap()))
            .collect()
    };
    let tree = core_tree(&entries);
    let store = TileStore::with_rows(&public, &rows);
    let tiles_only = store.without_rows();
    for k in [0, n / 3, n / 2, n - 1] {
        let expected = tree.inclusion_proof(k).unwrap();
        assert_eq!(
            store.reader(n).unwrap().inclusion_proof(k).unwrap(),
            expected
        );
        assert_eq!(
            tiles_only.reader(n).unwrap().inclusion_proof(k).unwrap(),
            expected
        );
    }
    if !bench {
        return;
    }

    let mut c = Criterion::default().configure_from_args();
    let mut t = [(0f64, 0u64); 8];
    {
        let mut g = c.benchmark_group("audit_1m");
        g.sample_size(10).measurement_time(Duration::from_secs(30));
        g.bench_function("audit", |b| {
            b.iter_custom(|i| {
                timed(&mut t[0], i, || {
                    black_box(audit(&public, ORIGIN, &vkey, &options).unwrap());
                })
            })
        });
        g.bench_function("core_tree", |b| {
            b.iter_custom(|i| timed(&mut t[1], i, || drop(black_box(core_tree(&entries)))))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("inclusion");
        let mut k = 0u64;
        g.bench_function("tiles", |b| {
            b.iter_custom(|i| {
                timed(&mut t[2], i, || {
                    k = (k + 7919) % n;
                    black_box(store.reader(n).unwrap().inclusion_proof(k).unwrap());
                })
            })
        });
        g.bench_function("tiles_without_rows", |b| {
            b.iter_custom(|i| {
                timed(&mut t[7], i, || {
                    k = (k + 7919) % n;
                    black_box(tiles_only.reader(n).unwrap().inclusion_proof(k).unwrap());
                })
            })
        });
        let mut reader = store.reader(n).unwrap();
        g.bench_function("tiles_kept_reader", |b| {
            b.iter_custom(|i| {
                timed(&mut t[6], i, || {
                    k = (k + 7919) % n;
                    black_box(reader.inclusion_proof(k).unwrap());
                })
            })
        });
        g.bench_function("core_tree", |b| {
            b.iter_custom(|i| {
                timed(&mut t[3], i, || {
                    k = (k + 7919) % n;
                    black_box(tree.inclusion_proof(k).unwrap());
                })
            })
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("event_proof");
        g.bench_function("verify_event", |b| {
            b.iter_custom(|i| {
                timed(&mut t[4], i, || {
                    let p = TlogProof::parse(proof_text.as_bytes()).unwrap();
                    black_box(p.verify_event(ORIGIN, &vkey).unwrap());
                })
            })
        });
        g.bench_function("ed25519", |b| {
            b.iter_custom(|i| {
                timed(&mut t[5], i, || {
                    let note = Note::parse(note_text.as_bytes()).unwrap();
                    black_box(note.verify(std::slice::from_ref(&vkey)).unwrap());
                })
            })
        });
        g.finish();
    }
    c.final_summary();
    if t.iter().any(|x| x.1 == 0) {
        return;
    }
    let m = t.map(mean);
    println!(
        "RESULT audit_1m: audit {:.3} s, core tree {:.3} s, ratio {:.2}",
        m[0],
        m[1],
        m[0] / m[1]
    );
    println!(
        "RESULT inclusion: from tiles and rows {:.1} us (tiles alone {:.1} us, a kept reader {:.1} us), from the tree in memory {:.2} us, ratio {:.1} ({:.1}, {:.1})",
        m[2] * 1e6,
        m[7] * 1e6,
        m[6] * 1e6,
        m[3] * 1e6,
        m[2] / m[3],
        m[7] / m[3],
        m[6] / m[3]
    );
    println!(
        "RESULT event_proof: verify {:.1} us, one ed25519 note verify {:.1} us, ratio {:.2}",
        m[4] * 1e6,
        m[5] * 1e6,
        m[4] / m[5]
    );
}
