//! Timing shared by the benchmarks: CPU time as well as wall-clock time per
//! sample, so figures stay steady on a shared machine (see
//! `docs/performance.md`). Included by each bench with `#[path]`.
#![allow(dead_code)]

use std::cell::RefCell;
use std::time::{Duration, Instant};

/// Whether criterion runs each benchmark once as a test (`cargo test
/// --benches`, or `--test`) rather than measuring; the same rule as
/// criterion's own.
pub fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

/// CPU time the calling thread has run (Linux: `/proc/thread-self/schedstat`,
/// nanoseconds, kernel time on its behalf included); `None` elsewhere.
pub fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Wall-clock and CPU time of one timed stretch on the calling thread.
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            cpu: thread_cpu(),
            wall: Instant::now(),
        }
    }

    /// (wall, CPU) elapsed. The kernel brings a thread's CPU time up to
    /// date only at scheduler ticks (4 ms at 250 Hz), so for stretches too
    /// short to resolve, or where it cannot be read, the wall clock stands
    /// in.
    pub fn stop(&self) -> (Duration, Duration) {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, thread_cpu()) {
            (Some(a), Some(b)) if wall >= Duration::from_millis(50) => b.saturating_sub(a),
            _ => wall,
        };
        (wall, cpu)
    }
}

/// Wall-clock and CPU time per iteration of every sample criterion takes,
/// so the `RESULT` lines report the very samples criterion analyses.
#[derive(Default)]
pub struct Samples(RefCell<Vec<(f64, f64)>>);

impl Samples {
    /// Records a sample and returns its CPU time, which criterion then
    /// analyses: on a shared machine the time the code actually ran is a
    /// steadier measure of its cost than the wall clock.
    pub fn record(&self, iters: u64, (wall, cpu): (Duration, Duration)) -> Duration {
        let k = iters.max(1) as f64;
        self.0
            .borrow_mut()
            .push((wall.as_secs_f64() / k, cpu.as_secs_f64() / k));
        cpu
    }

    /// The last `n` samples: the measured ones (criterion's warm-up calls
    /// come first).
    pub fn last(&self, n: usize) -> Vec<(f64, f64)> {
        let all = self.0.borrow();
        all[all.len().saturating_sub(n)..].to_vec()
    }

    /// Median CPU seconds per iteration over the measured samples.
    pub fn cpu(&self, n: usize) -> Option<f64> {
        median(self.last(n).iter().map(|s| s.1).collect())
    }

    /// Median wall-clock seconds per iteration over the measured samples.
    pub fn wall(&self, n: usize) -> Option<f64> {
        median(self.last(n).iter().map(|s| s.0).collect())
    }
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

impl Samples {
    /// Records a sample and returns its wall-clock time, which criterion
    /// then analyses: what more threads buy is a wall-clock matter.
    pub fn record_wall(&self, iters: u64, (wall, cpu): (Duration, Duration)) -> Duration {
        self.record(iters, (wall, cpu));
        wall
    }

    /// CPU time over wall-clock time of the measured samples: how many
    /// CPUs the work had on average.
    pub fn cpus(&self, n: usize) -> Option<f64> {
        let last = self.last(n);
        let wall: f64 = last.iter().map(|s| s.0).sum();
        let cpu: f64 = last.iter().map(|s| s.1).sum();
        (wall > 0.0).then(|| cpu / wall)
    }
}
