//! Progress bars on stderr (indicatif) for what the libraries report:
//! bytes hashed ([`btc_anchor::hash::HashProgress`]) and records stamped,
//! anchored and written ([`btc_anchor_workflow::anchoring::Progress`]).
//!
//! A bar is drawn only on a terminal, never with `--quiet`, and only for
//! work long enough to need one; it is cleared when the work is done, so
//! that stdout and the lines a command prints read as without it.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use btc_anchor_workflow::anchoring::{Progress, Step};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Fewer records than this get no bar: the step is over at once.
const MIN_RECORDS: u64 = 100;

/// Less than this to hash (in bytes, and in fewer than
/// [`MIN_FILES`] files) gets no bar.
const MIN_BYTES: u64 = 32 << 20;

/// Fewer files than this to hash (and less than [`MIN_BYTES`]) get no bar.
const MIN_FILES: usize = 20;

/// Whether bars may be drawn: stderr is a terminal and `--quiet` was not
/// given.
pub fn visible(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A bar of `len` units in `template`, drawn on stderr if `show`, redrawn
/// at least every tenth of a second.
fn bar(len: u64, template: &str, show: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if show {
        bar.enable_steady_tick(Duration::from_millis(100));
    }
    bar
}

/// The bar for hashing `files` files of `bytes` bytes in all, counted in
/// bytes.
pub fn hashing(files: usize, bytes: u64, quiet: bool) -> ProgressBar {
    let show = visible(quiet) && (files >= MIN_FILES || bytes >= MIN_BYTES);
    bar(
        bytes,
        "hashing {binary_bytes}/{binary_total_bytes} {wide_bar} {binary_bytes_per_sec} {eta}",
        show,
    )
}

/// Bars drawn one under another on stderr, such as a stamp's hashing bar
/// over the whole run and, under it, the records bar of each page's
/// steps ([`Records::under`]).
pub fn stacked(bars: &[&ProgressBar]) -> MultiProgress {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    for bar in bars.iter().filter(|b| !b.is_hidden()) {
        multi.add((*bar).clone());
    }
    multi
}

/// Records bars for the workflow's steps: one at a time, each cleared at
/// its end.
pub struct Records {
    show: bool,
    current: Mutex<Option<ProgressBar>>,
    under: Option<MultiProgress>,
}

impl Records {
    /// Bars drawn if [`visible`].
    pub fn new(quiet: bool) -> Records {
        Records {
            show: visible(quiet),
            current: Mutex::new(None),
            under: None,
        }
    }

    /// Bars drawn if [`visible`], under the bars of `multi`.
    pub fn under(multi: MultiProgress, quiet: bool) -> Records {
        Records {
            under: Some(multi),
            ..Records::new(quiet)
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A panic elsewhere while holding the lock leaves a bar to draw.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Progress for Records {
    fn begin(&self, step: Step, total: u64) {
        let what = match step {
            Step::Stamp => "stamping",
            Step::WriteProofs => "writing proofs",
            Step::Anchor => "batching",
            Step::ProofFiles => "reading proofs",
            _ => "working",
        };
        let template = format!("{what} {{pos}}/{{len}} records {{wide_bar}} {{eta}}");
        let mut new = bar(total, &template, self.show && total >= MIN_RECORDS);
        if let Some(multi) = self.under.as_ref().filter(|_| !new.is_hidden()) {
            new = multi.add(new);
        }
        if let Some(old) = self.current().replace(new) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.current().as_ref() {
            bar.inc(n);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.current().take() {
            bar.finish_and_clear();
        }
    }
}
