//! The tile store at a million entries against the core tree building the
//! same root.
//!
//! * `core_tree`: the leaf hashes of 1,000,000 entries and [`Tree::new`]
//!   over them, then the root.
//! * `tile_store`: [`TileStore::write`] of the same entries into an empty
//!   store (3,907 level-0 tiles and as many bundles, 16 level-1 tiles, one
//!   level-2 tile, each written whole and synced, and each tile's inner
//!   rows beside it as the log's writer keeps them, `docs/audit-log.md`
//!   §5.4), then [`TileReader::root`] from the tiles alone, as the writer
//!   computes the root it signs. Criterion times it on the
//!   folder named by `BTC_ANCHOR_LOG_BENCH_DIR` (default: the system's
//!   temporary folder); on tmpfs (`/dev/shm`) syncing costs nothing, so the
//!   figure is the computing and file-writing work alone.
//!
//! `cargo bench -p btc-anchor-log --bench log` prints criterion's report
//! and a `RESULT` line with the ratio of the two means. Under
//! `cargo test --benches` the same code runs once on 10,000 entries.
//!
//! [`TileReader::root`]: btc_anchor_log::store::TileReader::root

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use btc_anchor::merkle::{leaf_hash, NodeHash, Tree};
use btc_anchor_log::entry::Entry;
use btc_anchor_log::store::TileStore;
use criterion::Criterion;
use sha2::{Digest as _, Sha256};

fn entries(n: u64) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry(Sha256::digest(i.to_le_bytes()).into()))
        .collect()
}

fn core_root(es: &[Entry]) -> NodeHash {
    let leaves = es.iter().map(|e| leaf_hash(&e.0)).collect();
    Tree::new(leaves).unwrap().root()
}

fn tiles_root(base: &std::path::Path, es: &[Entry]) -> NodeHash {
    let dir = tempfile::tempdir_in(base).unwrap();
    let store = TileStore::with_rows(dir.path().join("public"), dir.path().join("rows"));
    store.write(es, 0).unwrap();
    let root = store
        .without_rows()
        .reader(es.len() as u64)
        .unwrap()
        .root()
        .unwrap();
    drop(dir);
    root
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = if bench { 1_000_000 } else { 10_000 };
    let base = std::env::var_os("BTC_ANCHOR_LOG_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let es = entries(n);
    assert_eq!(
        core_root(&es),
        tiles_root(&base, &es),
        "tiles and tree disagree"
    );
    if !bench {
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let mut g = c.benchmark_group("log_1m");
    // Total time and iterations of each, over every sample.
    let mut totals = [(0f64, 0u64); 2];
    g.bench_function("core_tree", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(core_root(black_box(&es)));
            }
            let d = t.elapsed();
            totals[0].0 += d.as_secs_f64();
            totals[0].1 += iters;
            d
        })
    });
    g.bench_function("tile_store", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(tiles_root(&base, black_box(&es)));
            }
            let d = t.elapsed();
            totals[1].0 += d.as_secs_f64();
            totals[1].1 += iters;
            d
        })
    });
    g.finish();
    c.final_summary();
    let means = totals.map(|(t, n)| if n == 0 { 0.0 } else { t / n as f64 });
    if means.contains(&0.0) {
        // A filter left one of the two out: no ratio.
        return;
    }
    println!(
        "RESULT log_1m: tile store {:.3} s, core tree {:.3} s, ratio {:.2} (folder {})",
        means[1],
        means[0],
        means[1] / means[0],
        base.display()
    );
}
