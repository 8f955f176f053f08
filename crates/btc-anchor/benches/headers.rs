//! Validation speed of a headers file: `HeadersFile::open` on a file of
//! 250,000 regtest headers (linkage, proof of work, retarget rule, median
//! time past, versions, checkpoints; read streaming from a warm page
//! cache), in headers per second against the 1,000,000/s target.
//!
//! The same-run reference is bare SHA-256d (`sha2`) over the same bytes,
//! 80 bytes at a time, already in memory: the one hash per header that
//! validation cannot avoid.
//!
//! `cargo bench --bench headers` prints criterion's report and the
//! `RESULT` lines. Times are CPU time of the measuring thread (criterion
//! is handed them too), steadier than the wall clock on a shared machine.
//! Under `cargo test --benches` the same code runs once on a small file.

use std::hint::black_box;
use std::time::Duration;

use btc_anchor::bitcoin::block::{Header, Version};
use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{consensus, Network, TxMerkleNode};
use btc_anchor::headers::HeadersFile;
use criterion::{Criterion, SamplingMode, Throughput};
use sha2::{Digest as _, Sha256};

#[path = "support/timing.rs"]
mod timing;

use timing::{test_mode, Samples, Stopwatch};

use btc_anchor_testenv::chain;

/// The target rate of validation on one core.
const TARGET_PER_SEC: f64 = 1_000_000.0;

/// `n` regtest headers from the genesis block, 600 s apart, each with its
/// own merkle root, as the bytes of a headers file.
fn regtest_file_bytes(n: u32) -> Vec<u8> {
    let genesis = btc_anchor::bitcoin::constants::genesis_block(Network::Regtest).header;
    let mut out = Vec::with_capacity(n as usize * 80);
    out.extend_from_slice(&consensus::serialize(&genesis));
    let mut prev = genesis;
    for i in 1..n {
        let mut root = [0u8; 32];
        root[..4].copy_from_slice(&i.to_le_bytes());
        let mut h = Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: prev.block_hash(),
            merkle_root: TxMerkleNode::from_byte_array(root),
            time: prev.time + 600,
            bits: genesis.bits,
            nonce: 0,
        };
        chain::mine_header(&mut h);
        out.extend_from_slice(&consensus::serialize(&h));
        prev = h;
    }
    out
}

fn bare_sha256d(bytes: &[u8]) -> u8 {
    let mut acc = 0u8;
    for h in bytes.chunks_exact(80) {
        acc ^= Sha256::digest(Sha256::digest(h))[0];
    }
    acc
}

fn main() {
    let quick = test_mode();
    let n: u32 = if quick { 4_096 } else { 250_000 };
    let label = if quick {
        "headers_4096_test"
    } else {
        "headers_250k"
    };
    let bytes = regtest_file_bytes(n);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("headers.bin");
    std::fs::write(&path, &bytes).expect("the headers file is written");
    let file = HeadersFile::open(&path, Network::Regtest).expect("a valid file");
    assert_eq!(file.len(), n);

    let mut c = Criterion::default().configure_from_args();
    let samples = 10;
    let open = Samples::default();
    let reference = Samples::default();
    {
        let mut g = c.benchmark_group("headers");
        // Flat sampling: every sample long enough for the CPU clock's 4 ms
        // resolution (one open of 250,000 headers takes some 100 ms).
        g.sample_size(samples)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if quick { 1 } else { 5 }))
            .throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(format!("{label}/open"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for _ in 0..iters {
                    let f = HeadersFile::open(black_box(&path), Network::Regtest)
                        .expect("a valid file");
                    black_box(f.tip_hash());
                }
                open.record(iters, watch.stop())
            })
        });
        g.bench_function(format!("{label}/bare_sha256d"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for _ in 0..iters {
                    black_box(bare_sha256d(black_box(&bytes)));
                }
                reference.record(iters, watch.stop())
            })
        });
        g.finish();
    }
    c.final_summary();

    let (Some(v), Some(r), Some(vw)) = (
        open.cpu(samples),
        reference.cpu(samples),
        open.wall(samples),
    ) else {
        println!("RESULT {label}: skipped (filtered out)");
        return;
    };
    let per_sec = f64::from(n) / v;
    println!(
        "RESULT {label}_open: {per_sec:.0} headers/s on one core vs target {TARGET_PER_SEC:.0}/s = {:.0}%; {:.0} ns/header vs bare SHA-256d {:.0} ns = {:.2}x (CPU time; wall clock {:.0} headers/s; {} MB file, page cache warm)",
        100.0 * per_sec / TARGET_PER_SEC,
        v * 1e9 / f64::from(n),
        r * 1e9 / f64::from(n),
        v / r,
        f64::from(n) / vw,
        bytes.len() / 1_000_000,
    );
}
