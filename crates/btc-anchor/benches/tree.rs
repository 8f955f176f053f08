//! The batch tree at a million records: time and peak memory.
//!
//! * Time: hashing 1,000,000 record leaves, [`Tree::new`] over them and
//!   every inclusion proof (each index read into one reused buffer), against
//!   the bare SHA-256 work the same inputs need: n leaf-sized inputs
//!   (1 + 16 + 32 bytes, one compression each) and n node-sized ones
//!   (65 bytes, two compressions each) through `sha2`. Leaf hashing is
//!   timed on both sides; the made-up record digests are prepared once,
//!   outside the timing.
//! * Memory: the same work in a child process (this binary run again with
//!   `BTC_ANCHOR_BENCH_CHILD=tree-mem`), which prints its peak resident
//!   size (`VmHWM`); the digests it starts from are counted in the peak.
//!
//! `cargo bench --bench tree` prints criterion's report and the `RESULT`
//! lines. Times are CPU time of the measuring thread (criterion is handed
//! them too), steadier than the wall clock on a shared machine.
//! Under `cargo test --benches` the same code runs once on a small tree.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use btc_anchor::hash::RecordDigest;
use btc_anchor::merkle::{record_leaf, NodeHash, Salt, Tree, MAX_PATH_LEN};
use criterion::{Criterion, SamplingMode, Throughput};
use sha2::{Digest as _, Sha256};

#[path = "support/timing.rs"]
mod timing;

use timing::{test_mode, Samples, Stopwatch};

/// The variable that makes this binary the memory-measuring child.
const CHILD_VAR: &str = "BTC_ANCHOR_BENCH_CHILD";
/// The number of leaves the child builds.
const CHILD_LEAVES_VAR: &str = "BTC_ANCHOR_BENCH_LEAVES";
/// Peak memory allowed for a million-leaf tree and all its proofs.
const MEMORY_TARGET_MB: f64 = 200.0;

/// Made-up record digests, cheap to produce (splitmix64 output).
fn digests(n: usize) -> Vec<RecordDigest> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            let mut d = [0u8; 32];
            for chunk in d.chunks_mut(8) {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            RecordDigest(d)
        })
        .collect()
}

fn salt() -> Salt {
    Salt::from_bytes(&[0x5a; 16]).expect("a 16-byte salt")
}

/// The measured work: leaves, tree, and every proof. Returns the root.
fn build_and_prove(digests: &[RecordDigest], salt: &Salt) -> NodeHash {
    let leaves = digests.iter().map(|d| record_leaf(salt, d)).collect();
    let tree = Tree::new(leaves).expect("a non-empty tree");
    let mut path = Vec::with_capacity(MAX_PATH_LEN);
    for i in 0..tree.size() {
        tree.inclusion_proof_into(i, &mut path)
            .expect("an index in range");
        black_box(&path);
    }
    tree.root()
}

/// The reference: the same number of SHA-256 computations over inputs of
/// the same sizes, nothing else. Each node input holds the previous output
/// so no hash can be skipped.
fn bare_sha256(digests: &[RecordDigest], salt: &Salt) -> [u8; 32] {
    let mut leaf = [0u8; 49];
    leaf[1..17].copy_from_slice(salt.as_bytes());
    let mut node = [1u8; 65];
    let mut last = [0u8; 32];
    for d in digests {
        leaf[17..].copy_from_slice(d.as_bytes());
        let h: [u8; 32] = Sha256::digest(leaf).into();
        node[1..33].copy_from_slice(&h);
        node[33..].copy_from_slice(&last);
        last = Sha256::digest(node).into();
    }
    last
}

/// Peak and current resident size from `/proc/self/status`, in kB.
fn vm_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The child: build, walk every proof, print the peak.
fn memory_child() {
    let n: usize = std::env::var(CHILD_LEAVES_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let before = vm_kb("VmHWM:").unwrap_or(0);
    let input = digests(n);
    let root = build_and_prove(&input, &salt());
    drop(input);
    println!(
        "child leaves={n} root={root} hwm_before_kb={before} hwm_kb={}",
        vm_kb("VmHWM:").unwrap_or(0)
    );
}

/// Runs the child and returns (peak kB, peak before building kB).
fn measure_memory(n: usize) -> Option<(u64, u64)> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .env(CHILD_VAR, "tree-mem")
        .env(CHILD_LEAVES_VAR, n.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<u64> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))?
            .parse()
            .ok()
    };
    if !out.status.success() {
        println!(
            "note: memory child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some((field("hwm_kb=")?, field("hwm_before_kb=")?))
}

fn main() {
    if std::env::var(CHILD_VAR).as_deref() == Ok("tree-mem") {
        memory_child();
        return;
    }
    let quick = test_mode();
    let n: usize = if quick { 4096 } else { 1_000_000 };
    let label = if quick { "tree_4096_test" } else { "tree_1m" };
    let input = digests(n);
    let salt = salt();
    // The reference hashes differently; check the measured side once.
    let leaves: Vec<_> = input.iter().map(|d| record_leaf(&salt, d)).collect();
    let root = Tree::new(leaves).expect("a non-empty tree").root();
    assert_eq!(build_and_prove(&input, &salt), root);

    let mut c = Criterion::default().configure_from_args();
    let samples = 10;
    let tree_samples = Samples::default();
    let sha_samples = Samples::default();
    {
        let mut g = c.benchmark_group("tree");
        g.sample_size(samples)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if quick { 1 } else { 8 }))
            .throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{label}/leaves_tree_all_proofs"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for _ in 0..iters {
                    black_box(build_and_prove(black_box(&input), &salt));
                }
                tree_samples.record(iters, watch.stop())
            })
        });
        g.measurement_time(Duration::from_secs(if quick { 1 } else { 4 }));
        g.bench_function(format!("{label}/bare_sha256_2n"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for _ in 0..iters {
                    black_box(bare_sha256(black_box(&input), &salt));
                }
                sha_samples.record(iters, watch.stop())
            })
        });
        g.finish();
    }
    c.final_summary();

    match (
        tree_samples.cpu(samples),
        sha_samples.cpu(samples),
        tree_samples.wall(samples),
        sha_samples.wall(samples),
    ) {
        (Some(t), Some(r), Some(tw), Some(rw)) => println!(
            "RESULT {label}: {:.0} ms for leaves + tree + all {n} proofs vs bare SHA-256 of the same 2n inputs {:.0} ms = {:.2}x (target <= 2x; CPU time; wall clock {:.0} vs {:.0} ms)",
            t * 1e3,
            r * 1e3,
            t / r,
            tw * 1e3,
            rw * 1e3
        ),
        _ => println!("RESULT {label}: skipped (filtered out)"),
    }
    match measure_memory(n) {
        Some((peak, before)) => {
            // VmHWM is in KiB; MB here are 10^6 bytes.
            let mb = peak as f64 * 1024.0 / 1e6;
            println!(
                "RESULT {label}_memory: peak {mb:.0} MB (VmHWM; {:.0} MB before building) vs target {MEMORY_TARGET_MB:.0} MB = {:.0}%",
                before as f64 * 1024.0 / 1e6,
                100.0 * mb / MEMORY_TARGET_MB
            );
        }
        None => println!("RESULT {label}_memory: skipped (no /proc/self/status or child failed)"),
    }
}
