//! Hashing throughput, each figure against a reference measured in the same
//! run (timings move with the machine and its load; ratios much less):
//!
//! * one 1 GiB file through [`hash_file`] against `openssl speed -evp sha256`
//!   on one core, and against `sha2` over a 64 MiB buffer in memory;
//! * 10,000 files of 4 KiB through [`hash_files`] on a pool of one thread
//!   and of two, and the one-thread figure against a plain
//!   `fs::read` + `sha2` loop.
//!
//! `cargo bench --bench hashing` prints criterion's report and one `RESULT`
//! line per figure. The machine may be shared, so the large-file figures
//! are per CPU second of the process (the time the code actually ran,
//! which is also how `openssl speed` counts) and criterion is handed that
//! CPU time, with the wall-clock rate beside it; the thread-pool figures
//! are wall clock, with the CPU time per file beside them. Under `cargo test --benches` the same code runs once on small
//! inputs, so that it stays checked without taking minutes.

use std::fs::{self, File};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use btc_anchor::hash::{hash_file, hash_files, RecordDigest, READ_BUFFER_BYTES};
use criterion::{Criterion, SamplingMode, Throughput};
use sha2::{Digest as _, Sha256};

#[path = "support/timing.rs"]
mod timing;

use timing::{test_mode, Samples};

/// CPU time of the whole process, all threads (Linux: `/proc/self/stat`,
/// user and system time in ticks of 1/100 s); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let s = fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = s.get(s.rfind(')')? + 2..)?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Wall-clock and CPU time of one timed stretch, counting every thread
/// of the process (a hashing routine may read on a helper thread).
struct ProcessStopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl ProcessStopwatch {
    fn start() -> ProcessStopwatch {
        ProcessStopwatch {
            cpu: process_cpu(),
            wall: Instant::now(),
        }
    }

    /// (wall, CPU) elapsed; process CPU time comes in 10 ms units, so
    /// for short stretches, or where it cannot be read, the wall clock
    /// stands in.
    fn stop(&self) -> (Duration, Duration) {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, process_cpu()) {
            (Some(a), Some(b)) if wall >= Duration::from_millis(200) => b.saturating_sub(a),
            _ => wall,
        };
        (wall, cpu)
    }
}

/// A small fast generator (xorshift64*): incompressible-looking bytes
/// without depending on a random number crate.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Writes `size` pseudo-random bytes to `path` in 1 MiB pieces (never the
/// whole file in memory) and returns their SHA-256, computed on the way.
fn write_random_file(path: &Path, size: u64, seed: u64) -> RecordDigest {
    let mut file = File::create(path).expect("create the test file");
    let mut gen = Bytes(seed | 1);
    let mut chunk = vec![0u8; 1 << 20];
    let mut hasher = Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        gen.fill(&mut chunk[..n]);
        hasher.update(&chunk[..n]);
        file.write_all(&chunk[..n]).expect("write the test file");
        left -= n as u64;
    }
    file.sync_all().ok();
    RecordDigest(hasher.finalize().into())
}

/// Single-core SHA-256 throughput of `openssl speed` on 16 KiB blocks, in
/// bytes per second; `None` (and a note why) if it cannot be had.
fn openssl_sha256(seconds: u32) -> Option<f64> {
    let out = match Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-bytes", "16384", "-seconds"])
        .arg(seconds.to_string())
        .output()
    {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            println!("note: openssl speed failed ({})", out.status);
            return None;
        }
        Err(e) => {
            println!("note: openssl not runnable ({e})");
            return None;
        }
    };
    // "sha256   1474013.87k": thousands of bytes per second, one column
    // since only one block size was asked for.
    let text = String::from_utf8_lossy(&out.stdout);
    let figure = text
        .lines()
        .filter(|l| l.trim_start().to_ascii_lowercase().starts_with("sha256"))
        .filter_map(|l| l.split_whitespace().last()?.strip_suffix('k'))
        .filter_map(|k| k.parse::<f64>().ok())
        .next_back();
    if figure.is_none() {
        println!("note: no sha256 figure in the output of openssl speed");
    }
    figure.map(|k| k * 1000.0)
}

/// Streams a file through `read` into a buffer of `READ_BUFFER_BYTES`,
/// hashing nothing: what reading alone costs [`hash_file`].
fn read_only(path: &Path) -> u64 {
    let mut file = File::open(path).expect("open the test file");
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    let mut total = 0u64;
    loop {
        match file.read(&mut buf).expect("read the test file") {
            0 => return total,
            n => total += u64::from(buf[n - 1]) + n as u64,
        }
    }
}

fn gbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn large_file(c: &mut Criterion, quick: bool) {
    let size: u64 = if quick { 4 << 20 } else { 1 << 30 };
    let label = if quick { "hash_4mib_test" } else { "hash_1gib" };
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("large.bin");
    let expected = write_random_file(&path, size, 0x6a09_e667_f3bc_c908);
    // One pass to check the result and leave the page cache warm.
    assert_eq!(hash_file(&path).expect("hash the test file"), expected);

    let secs = if quick { 1 } else { 3 };
    let openssl_before = openssl_sha256(secs);

    let memory = {
        let mut buf = vec![0u8; 64 << 20];
        Bytes(0xbb67_ae85_84ca_a73b).fill(&mut buf);
        buf
    };
    let file_samples = Samples::default();
    let read_samples = Samples::default();
    let memory_samples = Samples::default();
    let samples = 10;
    {
        let mut g = c.benchmark_group("hashing");
        g.sample_size(samples)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if quick { 1 } else { 12 }));
        g.throughput(Throughput::Bytes(size));
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let watch = ProcessStopwatch::start();
                for _ in 0..iters {
                    black_box(hash_file(black_box(&path)).expect("hash the test file"));
                }
                file_samples.record(iters, watch.stop())
            })
        });
        g.measurement_time(Duration::from_secs(if quick { 1 } else { 3 }));
        g.bench_function(format!("{label}_read_only"), |b| {
            b.iter_custom(|iters| {
                let watch = ProcessStopwatch::start();
                for _ in 0..iters {
                    black_box(read_only(black_box(&path)));
                }
                read_samples.record(iters, watch.stop())
            })
        });
        g.throughput(Throughput::Bytes(memory.len() as u64));
        g.bench_function("sha2_64mib_in_memory", |b| {
            b.iter_custom(|iters| {
                let watch = ProcessStopwatch::start();
                for _ in 0..iters {
                    black_box(Sha256::digest(black_box(&memory[..])));
                }
                memory_samples.record(iters, watch.stop())
            })
        });
        g.finish();
    }
    let openssl_after = openssl_sha256(secs);

    let (Some(file_cpu), Some(file_wall), Some(read_cpu), Some(mem_cpu)) = (
        file_samples.cpu(samples),
        file_samples.wall(samples),
        read_samples.cpu(samples),
        memory_samples.cpu(samples),
    ) else {
        println!("RESULT {label}: skipped (filtered out)");
        return;
    };
    // Per CPU second, as `openssl speed` counts by default (its user time),
    // so that other work on the machine does not tilt the ratio.
    let ours = gbps(size, file_cpu);
    let wall = gbps(size, file_wall);
    let sha2_mem = gbps(memory.len() as u64, mem_cpu);
    let read = gbps(size, read_cpu);
    let openssl: Vec<f64> = [openssl_before, openssl_after]
        .into_iter()
        .flatten()
        .collect();
    if openssl.is_empty() {
        println!("RESULT {label}: {ours:.2} GB/s vs openssl sha256: skipped (openssl missing)");
    } else {
        let reference = openssl.iter().sum::<f64>() / openssl.len() as f64 / 1e9;
        let runs: Vec<String> = openssl.iter().map(|b| format!("{:.2}", b / 1e9)).collect();
        println!(
            "RESULT {label}: {ours:.2} GB/s vs openssl sha256 {reference:.2} GB/s = {:.0}% (per CPU second, all threads, as openssl speed counts; openssl before/after {} GB/s)",
            100.0 * ours / reference,
            runs.join(", ")
        );
        println!(
            "RESULT {label}_wall_clock: {wall:.2} GB/s vs openssl sha256 {reference:.2} GB/s = {:.0}% (wall clock; {:.2} CPUs busy)",
            100.0 * wall / reference,
            file_cpu / file_wall
        );
        println!(
            "RESULT sha2_64mib_in_memory: {sha2_mem:.2} GB/s vs openssl sha256 {reference:.2} GB/s = {:.0}% (per CPU second)",
            100.0 * sha2_mem / reference
        );
    }
    // Reading and hashing take turns on one thread, so the file rate is
    // bounded by 1 / (1/read + 1/sha2).
    let serial = 1.0 / (1.0 / read + 1.0 / sha2_mem);
    println!(
        "RESULT {label}_vs_sha2: {ours:.2} GB/s vs sha2 in memory {sha2_mem:.2} GB/s = {:.0}% (per CPU second; read alone {read:.2} GB/s, so read then hash in turn predicts {serial:.2} GB/s)",
        100.0 * ours / sha2_mem
    );
}

fn small_files(c: &mut Criterion, quick: bool) {
    let count: usize = if quick { 200 } else { 10_000 };
    let size = 4096;
    let label = if quick {
        "hash_files_200_test"
    } else {
        "hash_files_10k"
    };
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut gen = Bytes(0x3c6e_f372_fe94_f82b);
    let mut content = vec![0u8; size];
    let mut paths: Vec<PathBuf> = Vec::with_capacity(count);
    let mut expected = Vec::with_capacity(count);
    for i in 0..count {
        gen.fill(&mut content);
        let p = dir.path().join(format!("f{i:05}.bin"));
        fs::write(&p, &content).expect("write a small file");
        expected.push(RecordDigest::of_bytes(&content));
        paths.push(p);
    }
    let pools: Vec<(usize, rayon::ThreadPool)> = [1, 2]
        .into_iter()
        .map(|k| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(k)
                .build()
                .expect("thread pool");
            (k, pool)
        })
        .collect();
    // Correctness, and a warm page cache.
    for (_, pool) in &pools {
        let got: Vec<RecordDigest> = pool
            .install(|| hash_files(&paths, |_| {}))
            .into_iter()
            .map(|r| r.expect("hash a small file"))
            .collect();
        assert_eq!(got, expected);
    }

    let samples = 10;
    let per_pool: Vec<Samples> = pools.iter().map(|_| Samples::default()).collect();
    let plain = Samples::default();
    {
        let mut g = c.benchmark_group("hashing");
        g.sample_size(samples)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if quick { 1 } else { 4 }))
            .throughput(Throughput::Elements(count as u64));
        for ((k, pool), rec) in pools.iter().zip(&per_pool) {
            g.bench_function(format!("{label}/{k}_thread"), |b| {
                b.iter_custom(|iters| {
                    let watch = ProcessStopwatch::start();
                    for _ in 0..iters {
                        black_box(pool.install(|| hash_files(black_box(&paths), |_| {})));
                    }
                    rec.record_wall(iters, watch.stop())
                })
            });
        }
        // The reference: the least a caller could do on one thread.
        g.bench_function(format!("{label}/read_sha2_loop"), |b| {
            b.iter_custom(|iters| {
                let watch = ProcessStopwatch::start();
                for _ in 0..iters {
                    for p in &paths {
                        let bytes = fs::read(black_box(p)).expect("read a small file");
                        black_box(Sha256::digest(&bytes));
                    }
                }
                plain.record_wall(iters, watch.stop())
            })
        });
        g.finish();
    }

    let files = count as f64;
    let (Some(wall1), Some(wall2), Some(cpu1), Some(cpu2), Some(busy2), Some(loop_cpu)) = (
        per_pool[0].wall(samples),
        per_pool[1].wall(samples),
        per_pool[0].cpu(samples),
        per_pool[1].cpu(samples),
        per_pool[1].cpus(samples),
        plain.cpu(samples),
    ) else {
        println!("RESULT {label}: skipped (filtered out)");
        return;
    };
    let (one, two) = (files / wall1, files / wall2);
    println!(
        "RESULT {label}: 2 threads {two:.0} files/s vs 1 thread {one:.0} files/s = {:.2}x speed-up (wall clock; the 2-thread runs had {busy2:.2} of {} CPUs)",
        two / one,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "RESULT {label}_cpu_per_file: 2 threads {:.1} us vs 1 thread {:.1} us = {:.0}% (CPU time of all threads; 100% means no parallel overhead, so two free cores give 2x)",
        cpu2 / files * 1e6,
        cpu1 / files * 1e6,
        100.0 * cpu1 / cpu2
    );
    println!(
        "RESULT {label}_1_thread: {:.0} files/s vs fs::read + sha2 loop {:.0} files/s = {:.0}% (per CPU second)",
        files / cpu1,
        files / loop_cpu,
        100.0 * loop_cpu / cpu1
    );
}

fn main() {
    let quick = test_mode();
    let mut c = Criterion::default().configure_from_args();
    large_file(&mut c, quick);
    small_files(&mut c, quick);
    c.final_summary();
}
