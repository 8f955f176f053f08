//! Durable appends with group commit against the floor of writing the same
//! bytes durably.
//!
//! * `group_commit`: 50 threads (as many clients) each append 400
//!   single-event requests through [`GroupCommit`] to a fresh log: every
//!   request returns only once its event is synced to the journal.
//!   20,000 events.
//! * `raw_sync`: the floor: one thread appends the same number of
//!   journal-sized records (136 bytes) to a plain file, syncing
//!   (`fdatasync`) after every 64 records, with nothing computed.
//!
//! The folder is `BTC_ANCHOR_LOG_BENCH_DIR` (default: the system's
//! temporary folder); run it on the disk the log would live on.
//! `cargo bench -p btc-anchor-log --bench append` prints criterion's report
//! and a `RESULT` line: events per second and the ratio of the two means.
//! Under `cargo test --benches` it runs once on 800 events.

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use btc_anchor_log::entry::{ActorRef, RecordRef, Salt};
use btc_anchor_log::event::{Event, EventKind};
use btc_anchor_log::note::Signer;
use btc_anchor_log::writer::{GroupCommit, LogWriter};
use criterion::Criterion;

const THREADS: u64 = 50;

fn event(i: u64) -> Event {
    let salt = Salt([7; 32]);
    Event {
        kind: EventKind::Read,
        time: 1_767_225_600 + i,
        record: RecordRef::new(format!("record {}", i % 1000).as_bytes(), &salt),
        actor: ActorRef::new(b"clinician 7", &salt),
        content: None,
        prev: None,
        codes: Default::default(),
    }
}

fn group_commit(base: &Path, per_thread: u64) {
    let dir = tempfile::tempdir_in(base).unwrap();
    let signer = Signer::from_seed("bench.example/log", &[1; 32]).unwrap();
    let log = Arc::new(GroupCommit::new(
        LogWriter::create(&dir.path().join("log"), signer).unwrap(),
    ));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    black_box(log.append(vec![event(t * per_thread + i)]).unwrap());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let log = Arc::into_inner(log).unwrap().into_inner().unwrap();
    assert_eq!(log.entries().len() as u64, THREADS * per_thread);
}

fn raw_sync(base: &Path, records: u64) {
    let dir = tempfile::tempdir_in(base).unwrap();
    let mut f = std::fs::File::create(dir.path().join("raw")).unwrap();
    let record = [0x5au8; 136];
    let mut buf = Vec::with_capacity(64 * record.len());
    for i in 0..records {
        buf.extend_from_slice(&record);
        if (i + 1) % 64 == 0 || i + 1 == records {
            f.write_all(&buf).unwrap();
            f.sync_data().unwrap();
            buf.clear();
        }
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let per_thread = if bench { 400 } else { 16 };
    let base = std::env::var_os("BTC_ANCHOR_LOG_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    group_commit(&base, per_thread);
    raw_sync(&base, THREADS * per_thread);
    if !bench {
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    let mut g = c.benchmark_group("append_20k");
    // Total time and iterations of each, over every sample.
    let mut totals = [(0f64, 0u64); 2];
    g.bench_function("group_commit", |b| {
        b.iter_custom(|iters| {
            let mut d = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                group_commit(&base, per_thread);
                d += t.elapsed();
            }
            totals[0].0 += d.as_secs_f64();
            totals[0].1 += iters;
            d
        })
    });
    g.bench_function("raw_sync", |b| {
        b.iter_custom(|iters| {
            let mut d = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                raw_sync(&base, THREADS * per_thread);
                d += t.elapsed();
            }
            totals[1].0 += d.as_secs_f64();
            totals[1].1 += iters;
            d
        })
    });
    g.finish();
    c.final_summary();
    let means = totals.map(|(t, n)| if n == 0 { 0.0 } else { t / n as f64 });
    if means.contains(&0.0) {
        return;
    }
    let events = (THREADS * per_thread) as f64;
    println!(
        "RESULT append_20k: group commit {:.0} events/s ({:.3} s), raw synced writes {:.0} records/s ({:.3} s), ratio {:.2} (folder {})",
        events / means[0],
        means[0],
        events / means[1],
        means[1],
        means[0] / means[1],
        base.display()
    );
}
