//! Offline verification speed of complete proofs from a batch of 1,000,000
//! records: carrying six headers after the anchoring block, and sealed
//! (carrying headers up to the last block of the block's epoch, linked to
//! a checkpoint table made from the same chain).
//!
//! * `verify()` on parsed proofs, with [`EmbeddedOnly`];
//! * parsing the JSON bytes, then `verify()`.
//!
//! Both are measured on one core over 64 proofs of different leaves, taken
//! in turn, and reported in proofs per second against the 150,000/s target.
//! The same-run reference is the bare SHA-256 work a verification needs,
//! over inputs of the same sizes: the leaf, every path node, the txid, the
//! block merkle branch and the seven headers.
//!
//! `cargo bench --bench verify` prints criterion's report and the `RESULT`
//! lines. Times are CPU time of the measuring thread (criterion is handed
//! them too), steadier than the wall clock on a shared machine.
//! Under `cargo test --benches` the same code runs once on a small batch.

use std::hint::black_box;
use std::time::Duration;

use btc_anchor::bitcoin::{consensus, Network};
use btc_anchor::checkpoints::Checkpoints;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::proof::Proof;
use btc_anchor::verify::{verify, Verdict, VerifyOptions};
use criterion::{Criterion, SamplingMode, Throughput};
use sha2::{Digest as _, Sha256};

#[path = "support/timing.rs"]
mod timing;

use timing::{test_mode, Samples, Stopwatch};

use btc_anchor_testenv::chain;

use chain::{anchor_tx, Batch, Chain};

/// The target rate of offline verification on one core.
const TARGET_PER_SEC: f64 = 150_000.0;
/// Different proofs verified in turn.
const PROOFS: usize = 64;
/// Headers carried after the anchoring block.
const HEADERS_AFTER: u32 = 6;
/// Transactions in the anchoring block (coinbase included).
const BLOCK_TXS: u32 = 2000;

/// One SHA-256 input of a verification, and whether it is hashed twice
/// (Bitcoin's double SHA-256).
struct Input {
    bytes: Vec<u8>,
    double: bool,
}

/// The SHA-256 inputs verifying `proof` needs, with their real sizes (and
/// contents where they are at hand).
fn hash_inputs(proof: &Proof) -> Vec<Input> {
    let batch = proof.batch.as_ref().expect("a batched proof");
    let anchor = proof.anchor.as_ref().expect("an anchored proof");
    let block = anchor.block.as_ref().expect("a confirmed proof");
    let mut out = Vec::new();
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(proof.record.salt.as_bytes());
    leaf.extend_from_slice(proof.record.digest.as_bytes());
    out.push(Input {
        bytes: leaf,
        double: false,
    });
    for p in &batch.path {
        let mut node = vec![1u8];
        node.extend_from_slice(p.as_bytes());
        node.extend_from_slice(p.as_bytes());
        out.push(Input {
            bytes: node,
            double: false,
        });
    }
    out.push(Input {
        bytes: consensus::serialize(&anchor.tx),
        double: true,
    });
    for b in &block.branch {
        out.push(Input {
            bytes: [*b, *b].concat(),
            double: true,
        });
    }
    for h in std::iter::once(&block.header).chain(&block.headers_after) {
        out.push(Input {
            bytes: consensus::serialize(h),
            double: true,
        });
    }
    out
}

/// SHA-256 compression-function calls for `len` bytes.
fn blocks(len: usize) -> usize {
    (len + 9).div_ceil(64)
}

fn compressions(inputs: &[Input]) -> usize {
    inputs
        .iter()
        .map(|i| blocks(i.bytes.len()) + if i.double { 1 } else { 0 })
        .sum()
}

fn bare_sha256(inputs: &[Input]) -> u8 {
    let mut acc = 0u8;
    for i in inputs {
        let h = Sha256::digest(&i.bytes);
        let h = if i.double { Sha256::digest(h) } else { h };
        acc ^= h[0];
    }
    acc
}

/// One kind of proof, measured three ways.
struct Scenario {
    label: String,
    proofs: Vec<Proof>,
    options: VerifyOptions,
    target_per_sec: Option<f64>,
}

fn main() {
    let quick = test_mode();
    let n: u64 = if quick { 1024 } else { 1_000_000 };
    let suffix = if quick { "_test" } else { "" };

    // A batch anchored at position 1234 of a 2000-transaction block, with
    // six blocks on top; proofs of 64 leaves spread over the batch.
    let batch = Batch::numbered(n, 1);
    let mut chain = Chain::new(Network::Regtest);
    let tx = anchor_tx(&batch.tree.root().0, 7);
    let placed = chain.place(tx.clone(), 1234, BLOCK_TXS);
    // Up to the last block of the first epoch, so the same block also
    // gives checkpoint-linked (sealed) proofs.
    let to_epoch_end = btc_anchor::rules::headers_to_epoch_end(placed.height);
    chain.mine_empty(to_epoch_end);
    let table = Checkpoints::from_headers(Network::Regtest, &chain.headers, false);
    let leaves = |after: u32| -> Vec<Proof> {
        (0..PROOFS as u64)
            .map(|k| {
                let i = (k * 0x9e37_79b9 + 17) % n;
                batch.proof(
                    Network::Regtest,
                    i,
                    Some(&tx),
                    Some((&placed, &chain, after as usize)),
                )
            })
            .collect()
    };
    let scenarios = [
        Scenario {
            label: format!("verify_1m{suffix}"),
            proofs: leaves(HEADERS_AFTER),
            options: VerifyOptions::new(Network::Regtest),
            target_per_sec: Some(TARGET_PER_SEC),
        },
        Scenario {
            label: format!("verify_1m_checkpoint_linked{suffix}"),
            proofs: leaves(to_epoch_end),
            options: VerifyOptions::new(Network::Regtest).with_checkpoints(table.clone()),
            target_per_sec: None,
        },
    ];
    drop(batch);
    let mut c = Criterion::default().configure_from_args();
    for s in &scenarios {
        measure(&mut c, s, quick);
    }
    c.final_summary();
}

fn measure(c: &mut Criterion, s: &Scenario, quick: bool) {
    let (label, proofs, options) = (&s.label, &s.proofs, &s.options);
    let json: Vec<Vec<u8>> = proofs.iter().map(|p| p.to_json().into_bytes()).collect();
    for (p, j) in proofs.iter().zip(&json) {
        let report = verify(p, &p.record.digest, &EmbeddedOnly, options).expect("valid proof");
        assert_eq!(report.verdict, Verdict::Valid);
        assert_eq!(&Proof::from_json(j).expect("parses"), p);
    }
    let inputs: Vec<Vec<Input>> = proofs.iter().map(hash_inputs).collect();
    let per_proof = compressions(&inputs[0]);
    let path_len = proofs[0].batch.as_ref().map_or(0, |b| b.path.len());
    let json_len = json.iter().map(Vec::len).sum::<usize>() / json.len();

    let samples = 10;
    let parsed = Samples::default();
    let from_json = Samples::default();
    let reference = Samples::default();
    let skim = Samples::default();
    {
        let mut g = c.benchmark_group("verify");
        // Flat sampling: every sample long enough (~400 ms) for the CPU
        // clock's 4 ms resolution.
        g.sample_size(samples)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if quick { 1 } else { 4 }))
            .throughput(Throughput::Elements(1));
        g.bench_function(format!("{label}/parsed"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for k in 0..iters as usize {
                    let p = &proofs[k % PROOFS];
                    black_box(
                        verify(black_box(p), &p.record.digest, &EmbeddedOnly, options)
                            .expect("valid proof"),
                    );
                }
                parsed.record(iters, watch.stop())
            })
        });
        g.bench_function(format!("{label}/parse_and_verify"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for k in 0..iters as usize {
                    let p = Proof::from_json(black_box(&json[k % PROOFS])).expect("parses");
                    black_box(
                        verify(&p, &p.record.digest, &EmbeddedOnly, options).expect("valid proof"),
                    );
                }
                from_json.record(iters, watch.stop())
            })
        });
        g.bench_function(format!("{label}/bare_sha256"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for k in 0..iters as usize {
                    black_box(bare_sha256(black_box(&inputs[k % PROOFS])));
                }
                reference.record(iters, watch.stop())
            })
        });
        g.bench_function(format!("{label}/json_skim"), |b| {
            b.iter_custom(|iters| {
                let watch = Stopwatch::start();
                for k in 0..iters as usize {
                    black_box(
                        serde_json::from_slice::<serde::de::IgnoredAny>(black_box(
                            &json[k % PROOFS],
                        ))
                        .expect("JSON"),
                    );
                }
                skim.record(iters, watch.stop())
            })
        });
        g.finish();
    }
    if let Some(k) = skim.cpu(samples) {
        println!(
            "RESULT {label}_json_skim: {:.1} us/proof to scan the same JSON with serde_json and keep nothing (the floor of any serde-based parse)",
            k * 1e6
        );
    }

    let (Some(v), Some(j), Some(r), Some(vw), Some(jw)) = (
        parsed.cpu(samples),
        from_json.cpu(samples),
        reference.cpu(samples),
        parsed.wall(samples),
        from_json.wall(samples),
    ) else {
        println!("RESULT {label}: skipped (filtered out)");
        return;
    };
    let target = |rate: f64| match s.target_per_sec {
        Some(t) => format!(" vs target {t:.0}/s = {:.0}%", 100.0 * rate / t),
        None => String::new(),
    };
    println!(
        "RESULT {label}_parsed: {:.0} proofs/s on one core{}; {:.1} us/proof vs bare SHA-256 {:.1} us ({per_proof} compressions, path {path_len}) = {:.2}x (CPU time; wall clock {:.0} proofs/s)",
        1.0 / v,
        target(1.0 / v),
        v * 1e6,
        r * 1e6,
        v / r,
        1.0 / vw
    );
    println!(
        "RESULT {label}_parse_and_verify: {:.0} proofs/s on one core{}; {:.1} us/proof vs bare SHA-256 {:.1} us = {:.2}x (CPU time; wall clock {:.0} proofs/s; JSON {json_len} bytes)",
        1.0 / j,
        target(1.0 / j),
        j * 1e6,
        r * 1e6,
        j / r,
        1.0 / jw
    );
}
