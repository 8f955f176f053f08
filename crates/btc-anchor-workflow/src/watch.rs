//! Unattended operation: watch folders, stamp each file that appears or
//! changes once it has settled, anchor the queue on a schedule, complete
//! the proofs as their batches confirm, and carry on through restarts and
//! a lost server.
//!
//! [`Watcher::run`] is the whole loop; `btc-anchor watch` only parses its
//! options, renders its [`WatchEvent`]s and stops it on a signal.
//!
//! # What it stamps
//!
//! Regular files under the watched folders, recursively, as
//! `btc-anchor stamp FOLDER` does: proofs go beside each file
//! ([`btc_anchor::file::proof_path`]); symbolic links are never followed;
//! hidden entries are skipped unless [`WatchOptions::include_hidden`]; and
//! these are never stamped ([`is_ignored_name`]): proof files
//! (`*.anchor.json`, older versions' `FILE.<16 hex>.anchor.json`, `*.ots`),
//! temporary files of editors, browsers and copy tools (`*.tmp`, `*.part`,
//! `*.partial`, `*.crdownload`, `*.swp`, `*~`, `~$*`, `.~lock.*`), and
//! anything inside the data directory.
//!
//! A file is stamped once its size and modification time have stayed the
//! same for [`WatchOptions::settle`] (it is still being written until
//! then). A changed file is stamped again as a new version, its older
//! proof kept beside it ([`crate::anchoring::StampOutcome::Amended`]).
//!
//! # Restarts and crashes
//!
//! On start the folders are scanned: files that appeared or changed while
//! the watcher was down are stamped (the others are recognised by their
//! digest and left alone, after hashing), a batch an interrupted run fixed
//! is finished with its own transaction, and batches waiting for
//! confirmation are followed. The schedule counts from the oldest queued
//! record's time in the store, so a restart does not put anchoring off.
//! Every step is the [`Anchoring`] workflow's own, durable before its side
//! effect: killed at any point, the watcher loses no accepted record and
//! never anchors a batch twice.
//!
//! # The data directory's lock
//!
//! The watcher takes the data directory's lock for each step only (a
//! stamp, an anchoring, an upgrade), so that `status`, `proof`, `backup`,
//! `wallet` and the other commands run between its steps; a step that
//! finds the lock held waits for it ([`WatchEvent::Busy`]). A second
//! watcher on the same data directory is refused for as long as the first
//! runs (`watch.lock`, [`WatchError::AlreadyWatching`]).
//!
//! # A lost server
//!
//! A step that fails (the server unreachable, no funds, a fee above the
//! limit) is logged ([`WatchEvent::Failed`]) and tried again after a delay
//! that doubles from [`WatchOptions::retry_first`] up to
//! [`WatchOptions::retry_max`]; files keep being stamped meanwhile, and
//! the first step that works again says so ([`WatchEvent::Recovered`]).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use bitcoin::{Network, Txid};
use btc_anchor::file;
use btc_anchor::hash::{self, HashError, RecordDigest, WalkOptions};
use btc_anchor_electrum::{ConnectOptions, Electrum, ElectrumError};

use crate::anchoring::{
    AnchorStep, Anchored, Anchoring, AnchoringError, FeeOptions, StampItem, StampOutcome,
};
use crate::backend::ChainBackend;
use crate::config::Config;
use crate::store::{self, BatchState, StoreError};
use crate::wallet::AnchorWallet;

/// File name of the watcher's own lock inside the data directory.
pub const WATCH_LOCK_FILE: &str = "watch.lock";

/// How often the loop wakes up at most, to look at the files settling and
/// at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// How long a step waits before trying the data directory's lock again.
const BUSY_RETRY: Duration = Duration::from_millis(500);

/// What to watch and when to anchor.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The folders to watch, recursively.
    pub folders: Vec<PathBuf>,
    /// Also stamp hidden files and files in hidden folders.
    pub include_hidden: bool,
    /// How long a file's size and modification time must stay the same
    /// before it is stamped.
    pub settle: Duration,
    /// Anchor once the oldest queued record has waited this long.
    pub anchor_every: Option<Duration>,
    /// Anchor once this many records are queued.
    pub anchor_after: Option<usize>,
    /// How often batches waiting for confirmation are looked at.
    pub upgrade_every: Duration,
    /// The first delay before a failed step is tried again.
    pub retry_first: Duration,
    /// The longest delay between two tries of a failing step.
    pub retry_max: Duration,
    /// Fee settings for each anchoring.
    pub fees: FeeOptions,
}

impl WatchOptions {
    /// Watching `folders`: settle 2 s, anchor every 10 minutes, look for
    /// confirmations every minute, retry after 1 s doubling to 5 minutes.
    pub fn new(folders: Vec<PathBuf>) -> WatchOptions {
        WatchOptions {
            folders,
            include_hidden: false,
            settle: Duration::from_secs(2),
            anchor_every: Some(Duration::from_secs(600)),
            anchor_after: None,
            upgrade_every: Duration::from_secs(60),
            retry_first: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            fees: FeeOptions::default(),
        }
    }
}

/// Errors that stop the watcher (a failing step does not: it is retried).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// A folder to watch is missing or cannot be read.
    #[error("cannot watch {path}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A path to watch is not a folder.
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    /// No folder to watch was given.
    #[error("no folder to watch")]
    NoFolder,
    /// Another watcher runs on this data directory.
    #[error("another btc-anchor watch is using the data directory {0}")]
    AlreadyWatching(PathBuf),
    /// The watcher's lock file cannot be used.
    #[error("cannot take {path}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's file notifications cannot be set up.
    #[error("cannot watch for changes")]
    Notify(#[source] notify::Error),
    /// The data directory or the wallet cannot be used (checked once on
    /// start: a wrong network, no wallet, a damaged store).
    #[error(transparent)]
    Anchoring(#[from] AnchoringError),
}

/// How the watcher reaches the chain and pays for anchoring.
/// [`ElectrumWallet`] is the Electrum server and the BDK wallet of the
/// data directory; an embedder may bring others.
pub trait WatchBackend {
    /// The chain backend it connects to.
    type Chain: ChainBackend;

    /// Checks once on start that anchoring can work at all (for example,
    /// that the wallet exists), so that a watcher that could never anchor
    /// stops at once instead of retrying for ever.
    fn check(&mut self, flow: &Anchoring) -> Result<(), AnchoringError>;

    /// Connects to the chain backend (again, after a failure).
    fn connect(&mut self, network: Network) -> Result<Self::Chain, AnchoringError>;

    /// Anchors the queue with [`Anchoring::anchor`], paying with its
    /// wallet over `chain`.
    fn anchor(
        &mut self,
        flow: &mut Anchoring,
        chain: &Self::Chain,
        fees: &FeeOptions,
        on_step: &mut dyn FnMut(AnchorStep),
    ) -> Result<Vec<Anchored>, AnchoringError>;
}

/// An Electrum server and the data directory's BDK wallet (opened for each
/// anchoring, under the data directory's lock).
#[derive(Debug, Clone)]
pub struct ElectrumWallet {
    url: String,
    options: ConnectOptions,
}

impl ElectrumWallet {
    /// The server at `url`, connected with `options`.
    pub fn new(url: impl Into<String>, options: ConnectOptions) -> ElectrumWallet {
        ElectrumWallet {
            url: url.into(),
            options,
        }
    }
}

impl WatchBackend for ElectrumWallet {
    type Chain = Electrum;

    /// The wallet must exist, and the server's address be one to use: a
    /// malformed URL, plain TCP outside regtest or a server on another
    /// network stop the watcher; a server that does not answer yet does
    /// not.
    fn check(&mut self, flow: &Anchoring) -> Result<(), AnchoringError> {
        AnchorWallet::open(flow.data_dir(), flow.config().network)?;
        match Electrum::connect(&self.url, flow.config().network, self.options) {
            Err(
                e @ (ElectrumError::BadUrl(_)
                | ElectrumError::Insecure(_)
                | ElectrumError::WrongChain { .. }),
            ) => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn connect(&mut self, network: Network) -> Result<Electrum, AnchoringError> {
        Ok(Electrum::connect(&self.url, network, self.options)?)
    }

    fn anchor(
        &mut self,
        flow: &mut Anchoring,
        chain: &Electrum,
        fees: &FeeOptions,
        on_step: &mut dyn FnMut(AnchorStep),
    ) -> Result<Vec<Anchored>, AnchoringError> {
        let mut wallet = AnchorWallet::open(flow.data_dir(), flow.config().network)?;
        flow.anchor(&mut wallet.payer(chain), chain, fees, on_step)
    }
}

/// A step of the loop, as named in [`WatchEvent::Failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Stamping files.
    Stamp,
    /// Anchoring the queue.
    Anchor,
    /// Following batches to their confirmation.
    Upgrade,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Stamp => "stamp",
            Step::Anchor => "anchor",
            Step::Upgrade => "upgrade",
        })
    }
}

/// Why a file was not stamped.
#[derive(Debug)]
#[non_exhaustive]
pub enum NotStampedReason {
    /// It could not be read.
    Unreadable(HashError),
    /// Its proof path holds a proof this data directory did not write,
    /// which is never overwritten.
    ProofExists,
    /// The workflow refused it (its proof cannot be written, say).
    Failed(AnchoringError),
}

/// What the watcher did, one event per line of a log.
///
/// Events about a file carry its path: a path at a clinic may name a
/// patient, so a renderer shows it only when asked (as `status --labels`
/// does).
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchEvent {
    /// Watching has begun: the folders are watched and were scanned.
    Started {
        /// Folders watched.
        folders: usize,
        /// Files found by the scan, to be stamped once settled (or
        /// recognised as stamped already).
        files: usize,
        /// Records queued in the store.
        queued: usize,
        /// Batches waiting to be sent or confirmed.
        waiting: usize,
    },
    /// A file was queued.
    Stamped {
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        digest: RecordDigest,
        /// For a new version of a file stamped before: where the older
        /// version's proof is now.
        older: Option<PathBuf>,
    },
    /// A file stamped before had lost its proof, which was written again.
    ProofRewritten {
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        digest: RecordDigest,
    },
    /// A file was not stamped; it is tried again when it changes (or on
    /// the next start).
    NotStamped {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: NotStampedReason,
    },
    /// Another command holds the data directory; the step waits for it.
    Busy {
        /// The step waiting.
        step: Step,
    },
    /// A batch's transaction is signed and stored, not yet broadcast.
    Signed {
        /// The batch.
        batch_id: i64,
        /// The transaction.
        txid: Txid,
    },
    /// A batch's transaction was broadcast.
    Anchored(Anchored),
    /// A batch's transaction is in a block, not yet deep enough.
    Confirmed {
        /// The batch.
        batch_id: i64,
        /// The block's height.
        height: u32,
        /// Its confirmations.
        confirmations: u32,
        /// The confirmations its proofs complete at.
        min_depth: u32,
    },
    /// A batch's proofs are complete.
    Completed {
        /// The batch.
        batch_id: i64,
        /// The block's height.
        height: u32,
        /// Proof files written.
        proofs: usize,
    },
    /// A batch's block left the best chain; its transaction is followed
    /// again.
    Reorged {
        /// The batch.
        batch_id: i64,
    },
    /// A step failed; it is tried again after `retry_in`.
    Failed {
        /// The step.
        step: Step,
        /// Why.
        error: AnchoringError,
        /// The delay before the next try.
        retry_in: Duration,
    },
    /// A step works again after failing.
    Recovered {
        /// The step.
        step: Step,
    },
    /// The file notifications missed events (too many at once): the
    /// folders are scanned again.
    Rescan,
    /// Asked to stop: the step under way was finished, and the watcher
    /// returns.
    Stopping,
}

/// The files waiting for their size and modification time to stay the
/// same for the settle time: the debounce of files still being written.
#[derive(Debug, Default)]
struct Settling {
    files: HashMap<PathBuf, Seen>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    stat: Option<Stat>,
    since: Instant,
}

/// What tells a file's versions apart without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    len: u64,
    modified: Option<SystemTime>,
}

impl Settling {
    /// Something happened to `path` at `now`: it settles from now on.
    fn touch(&mut self, path: PathBuf, now: Instant) {
        self.files.insert(
            path,
            Seen {
                stat: None,
                since: now,
            },
        );
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn len(&self) -> usize {
        self.files.len()
    }

    /// The files whose stat (`stat`, `None` when gone or no longer a
    /// regular file) has not changed for `settle` by `now`, in path
    /// order; they leave the set. A file gone leaves it too.
    fn poll(
        &mut self,
        now: Instant,
        settle: Duration,
        stat: impl Fn(&Path) -> Option<Stat>,
    ) -> Vec<PathBuf> {
        let mut ready = Vec::new();
        self.files.retain(|path, seen| {
            let Some(current) = stat(path) else {
                return false;
            };
            if seen.stat != Some(current) {
                seen.stat = Some(current);
                seen.since = now;
                return true;
            }
            if now.duration_since(seen.since) >= settle {
                ready.push(path.clone());
                return false;
            }
            true
        });
        ready.sort();
        ready
    }
}

fn stat_of(path: &Path) -> Option<Stat> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.file_type().is_file().then(|| Stat {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// The delay before a failing step is tried again: doubling from `first`
/// up to `max`, back to `first` once it works.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    failing: bool,
    not_before: Option<Instant>,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max: max.max(first),
            next: first,
            failing: false,
            not_before: None,
        }
    }

    /// A failure at `now`: the delay before the next try.
    fn failed(&mut self, now: Instant) -> Duration {
        let delay = self.next;
        self.not_before = Some(now + delay);
        self.next = (self.next * 2).min(self.max);
        self.failing = true;
        delay
    }

    /// A success: whether it follows failures.
    fn succeeded(&mut self) -> bool {
        self.next = self.first;
        self.not_before = None;
        std::mem::replace(&mut self.failing, false)
    }

    fn may_try(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }
}

/// What the store holds that the schedule needs, read under the lock at
/// each step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Queue {
    /// Records queued.
    queued: usize,
    /// The oldest queued record's time (seconds since 1970).
    oldest: Option<i64>,
    /// Batches fixed but not accepted by a server (after a crash).
    unsent: usize,
    /// Batches broadcast or confirmed, not final.
    waiting: usize,
}

/// Whether the queue is due to be anchored at `now` (seconds since 1970):
/// a batch an interrupted run left unsent always is; otherwise once
/// `after` records are queued, or once the oldest has waited `every`.
fn anchor_due(queue: &Queue, every: Option<Duration>, after: Option<usize>, now: i64) -> bool {
    if queue.unsent > 0 {
        return true;
    }
    if queue.queued == 0 {
        return false;
    }
    if after.is_some_and(|n| queue.queued >= n.max(1)) {
        return true;
    }
    match (every, queue.oldest) {
        (Some(every), Some(oldest)) => {
            now.saturating_sub(oldest) >= i64::try_from(every.as_secs()).unwrap_or(i64::MAX)
        }
        _ => false,
    }
}

/// Whether a file name is never stamped: proof files and the temporary
/// files of editors, browsers and copy tools (see the
/// [module documentation](self)).
pub fn is_ignored_name(path: &Path) -> bool {
    if file::is_proof_file_name(path) {
        return true;
    }
    let Some(name) = path.file_name() else {
        return true;
    };
    let name = name.to_string_lossy();
    const SUFFIXES: [&str; 7] = [
        ".tmp",
        ".part",
        ".partial",
        ".crdownload",
        ".swp",
        ".swx",
        "~",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.starts_with("~$")
        || name.starts_with(".~lock.")
}

/// The watcher over one data directory; see the
/// [module documentation](self).
pub struct Watcher<B: WatchBackend> {
    data_dir: PathBuf,
    config: Config,
    options: WatchOptions,
    backend: B,
    folders: Vec<PathBuf>,
    /// The data directory, canonical, whose files are never stamped.
    own_dir: Option<PathBuf>,
    chain: Option<B::Chain>,
    settling: Settling,
    /// Settled files waiting for the data directory's lock.
    ready: Vec<PathBuf>,
    queue: Queue,
    server: Backoff,
    /// After a failure to stamp, when to try again.
    stamp_retry: Option<Instant>,
    /// After finding the data directory held, when to try again.
    lock_retry: Option<Instant>,
    /// The step waiting for the data directory, once said.
    busy: Option<Step>,
    next_upgrade: Instant,
    confirmations: HashMap<i64, u32>,
    rescan: bool,
    _watch_lock: File,
}

impl<B: WatchBackend> std::fmt::Debug for Watcher<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("data_dir", &self.data_dir)
            .field("folders", &self.folders)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<B: WatchBackend> Watcher<B> {
    /// Prepares to watch: takes the watcher's own lock on `data_dir`,
    /// checks the folders, the data directory (its network) and the
    /// backend ([`WatchBackend::check`]). Nothing is stamped yet.
    ///
    /// # Errors
    ///
    /// A folder that is missing or not a folder, another watcher on the
    /// data directory, or a data directory or wallet that cannot be used.
    /// A data directory that another command holds is waited for.
    pub fn new(
        data_dir: &Path,
        config: Config,
        options: WatchOptions,
        mut backend: B,
        stop: &AtomicBool,
    ) -> Result<Watcher<B>, WatchError> {
        if options.folders.is_empty() {
            return Err(WatchError::NoFolder);
        }
        let mut folders = Vec::new();
        for f in &options.folders {
            let canonical = std::fs::canonicalize(f).map_err(|source| WatchError::Folder {
                path: f.clone(),
                source,
            })?;
            if !canonical.is_dir() {
                return Err(WatchError::NotAFolder(f.clone()));
            }
            folders.push(canonical);
        }
        let lock_path = data_dir.join(WATCH_LOCK_FILE);
        let lock_err = |source| WatchError::Lock {
            path: lock_path.clone(),
            source,
        };
        store::create_private_dir(data_dir).map_err(lock_err)?;
        store::create_private_file(&lock_path).map_err(lock_err)?;
        let lock = std::fs::OpenOptions::new()
            .write(true)
            .open(&lock_path)
            .map_err(lock_err)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(WatchError::AlreadyWatching(data_dir.to_path_buf()))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_err(e)),
        }
        // Checked once, waiting for a data directory another command holds.
        let queue = loop {
            match Anchoring::open(data_dir, config.clone()) {
                Ok(flow) => {
                    backend.check(&flow)?;
                    break read_queue(&flow)?;
                }
                Err(AnchoringError::Store(StoreError::Locked(_)))
                    if !stop.load(Ordering::SeqCst) =>
                {
                    std::thread::sleep(BUSY_RETRY)
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Watcher {
            data_dir: data_dir.to_path_buf(),
            own_dir: std::fs::canonicalize(data_dir).ok(),
            server: Backoff::new(options.retry_first, options.retry_max),
            options,
            config,
            backend,
            folders,
            chain: None,
            settling: Settling::default(),
            ready: Vec::new(),
            queue,
            stamp_retry: None,
            lock_retry: None,
            busy: None,
            next_upgrade: Instant::now(),
            confirmations: HashMap::new(),
            rescan: false,
            _watch_lock: lock,
        })
    }

    fn open(&self) -> Result<Anchoring, AnchoringError> {
        Anchoring::open(&self.data_dir, self.config.clone())
    }

    /// Watches until `stop` is set (checked between steps, every 100 ms
    /// at most while idle), calling `on_event` for each event. A step
    /// under way when `stop` is set is finished first.
    ///
    /// # Errors
    ///
    /// Only when the file notifications cannot be set up or fail for
    /// good; failing steps are retried.
    pub fn run(
        mut self,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(&WatchEvent),
    ) -> Result<(), WatchError> {
        use notify::Watcher as _;
        let (tx, rx) = mpsc::channel();
        let mut notifier = notify::recommended_watcher(move |event| {
            // The receiver is gone only once the loop has returned.
            let _ = tx.send(event);
        })
        .map_err(WatchError::Notify)?;
        for f in &self.folders {
            notifier
                .watch(f, notify::RecursiveMode::Recursive)
                .map_err(WatchError::Notify)?;
        }
        // Scanned once the notifications are on, so that nothing written
        // meanwhile falls between the two.
        self.scan_all(Instant::now());
        on_event(&WatchEvent::Started {
            folders: self.folders.len(),
            files: self.settling.len(),
            queued: self.queue.queued,
            waiting: self.queue.waiting + self.queue.unsent,
        });
        loop {
            if stop.load(Ordering::SeqCst) {
                on_event(&WatchEvent::Stopping);
                return Ok(());
            }
            match rx.recv_timeout(TICK) {
                Ok(event) => {
                    self.note(event, Instant::now());
                    while let Ok(event) = rx.try_recv() {
                        self.note(event, Instant::now());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(WatchError::Notify(notify::Error::generic(
                        "the file notifications stopped",
                    )))
                }
            }
            if std::mem::take(&mut self.rescan) {
                on_event(&WatchEvent::Rescan);
                self.scan_all(Instant::now());
            }
            self.step(stop, on_event);
        }
    }

    /// One turn of the loop after the notifications are read: stamps what
    /// settled, anchors and upgrades when due. Each step checks `stop`
    /// before it starts.
    fn step(&mut self, stop: &AtomicBool, on_event: &mut dyn FnMut(&WatchEvent)) {
        let now = Instant::now();
        let settled = self.settling.poll(now, self.options.settle, stat_of);
        self.ready.extend(settled);
        if self.lock_retry.is_some_and(|t| now < t) {
            return;
        }
        let stamp_ok = self.stamp_retry.is_none_or(|t| now >= t);
        if !self.ready.is_empty() && stamp_ok && !stop.load(Ordering::SeqCst) {
            self.stamp_ready(on_event);
        }
        let due = anchor_due(
            &self.queue,
            self.options.anchor_every,
            self.options.anchor_after,
            store::now(),
        );
        if due && self.server.may_try(Instant::now()) && !stop.load(Ordering::SeqCst) {
            self.anchor(on_event);
        }
        let now = Instant::now();
        if self.queue.waiting > 0
            && now >= self.next_upgrade
            && self.server.may_try(now)
            && !stop.load(Ordering::SeqCst)
        {
            self.upgrade(on_event);
        }
    }

    /// Reads one notification: paths that may be new or changed files
    /// settle from now; a new folder is scanned (files moved in with it
    /// raise no event of their own).
    fn note(&mut self, event: notify::Result<notify::Event>, now: Instant) {
        let event = match event {
            Ok(e) => e,
            Err(_) => {
                self.rescan = true;
                return;
            }
        };
        if event.need_rescan() {
            self.rescan = true;
        }
        // Reading a file or a folder (the watcher's own hashing and scans
        // among them) changes nothing: only new entries, writes, renames
        // and a writer closing a file do. Only a folder created or moved
        // in is scanned.
        use notify::event::{AccessKind, AccessMode, ModifyKind};
        use notify::EventKind;
        let new_folder = match event.kind {
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_)) => true,
            EventKind::Modify(_) | EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            _ => return,
        };
        for path in event.paths {
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                // Gone: dropped from the set when it is polled.
                continue;
            };
            if meta.is_dir() {
                if new_folder && self.wanted(&path) {
                    self.scan(&path, now);
                }
            } else if meta.file_type().is_file() && self.wanted(&path) {
                self.settling.touch(path, now);
            }
        }
    }

    /// Whether a path under the watched folders is one to stamp (or, for
    /// a folder, to look into): not ignored by name, not hidden unless
    /// asked, not inside the data directory.
    fn wanted(&self, path: &Path) -> bool {
        if self.own_dir.as_deref().is_some_and(|d| path.starts_with(d)) {
            return false;
        }
        let Some(root) = self.folders.iter().find(|f| path.starts_with(f)) else {
            return false;
        };
        let Ok(rel) = path.strip_prefix(root) else {
            return false;
        };
        if !self.options.include_hidden
            && rel
                .components()
                .any(|c| c.as_os_str().as_encoded_bytes().first() == Some(&b'.'))
        {
            return false;
        }
        path.is_dir() || !is_ignored_name(path)
    }

    fn scan_all(&mut self, now: Instant) {
        for f in self.folders.clone() {
            self.scan(&f, now);
        }
    }

    /// Puts every file to stamp under `folder` in the settling set. A
    /// folder that cannot be read is passed over (its files come back
    /// with their next change, or the next start).
    fn scan(&mut self, folder: &Path, now: Instant) {
        let walk = WalkOptions {
            include_hidden: self.options.include_hidden,
        };
        let Ok(found) = hash::collect_files(&[folder], walk) else {
            return;
        };
        for f in found.files {
            if self.wanted(&f) {
                self.settling.touch(f, now);
            }
        }
    }

    /// Hashes and stamps the settled files, under the data directory's
    /// lock.
    fn stamp_ready(&mut self, on_event: &mut dyn FnMut(&WatchEvent)) {
        let files = std::mem::take(&mut self.ready);
        // Hashed before the data directory is taken, so that other
        // commands wait only for the stamp itself.
        let digests = hash::hash_files(&files, |_| {});
        let mut flow = match self.open() {
            Ok(flow) => flow,
            Err(e) => {
                self.ready = files;
                self.wait_or_fail(Step::Stamp, e, on_event);
                return;
            }
        };
        self.busy = None;
        self.stamp_retry = None;
        let mut items = Vec::new();
        for (path, digest) in files.into_iter().zip(digests) {
            match digest {
                Ok(digest) => items.push(StampItem {
                    digest,
                    label: path.display().to_string(),
                    proof_path: file::proof_path(&path),
                }),
                // Gone since it settled: nothing to say.
                Err(HashError::NotFound { .. }) => {}
                Err(e) => on_event(&WatchEvent::NotStamped {
                    path,
                    reason: NotStampedReason::Unreadable(e),
                }),
            }
        }
        match flow.stamp(&items) {
            Ok(summary) => report_stamps(&items, &summary.outcomes, on_event),
            // One at a time, so that one file whose proof cannot be
            // written does not hold up the others.
            Err(_) if items.len() > 1 => {
                for item in &items {
                    match flow.stamp(std::slice::from_ref(item)) {
                        Ok(summary) => {
                            report_stamps(std::slice::from_ref(item), &summary.outcomes, on_event)
                        }
                        Err(error) => on_event(&WatchEvent::NotStamped {
                            path: PathBuf::from(&item.label),
                            reason: NotStampedReason::Failed(error),
                        }),
                    }
                }
            }
            Err(error) => {
                if let Some(item) = items.first() {
                    on_event(&WatchEvent::NotStamped {
                        path: PathBuf::from(&item.label),
                        reason: NotStampedReason::Failed(error),
                    });
                }
            }
        }
        self.refresh(&flow);
    }

    /// Anchors the queue (finishing first any batch an interrupted run
    /// left unsent).
    fn anchor(&mut self, on_event: &mut dyn FnMut(&WatchEvent)) {
        let mut flow = match self.open() {
            Ok(flow) => flow,
            Err(e) => return self.wait_or_fail(Step::Anchor, e, on_event),
        };
        self.busy = None;
        let result = match self.chain() {
            Ok(()) => {
                let chain = self.chain.as_ref().expect("connected just now");
                let fees = self.options.fees;
                self.backend.anchor(&mut flow, chain, &fees, &mut |step| {
                    if let AnchorStep::Signed { batch_id, txid } = step {
                        on_event(&WatchEvent::Signed { batch_id, txid })
                    }
                })
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(done) => {
                self.recovered(Step::Anchor, on_event);
                for a in done {
                    on_event(&WatchEvent::Anchored(a));
                }
                // Looked at again after a while: a block takes longer.
                self.next_upgrade = Instant::now() + self.options.upgrade_every;
            }
            Err(AnchoringError::EmptyQueue) => {}
            Err(e) => self.failed(Step::Anchor, e, on_event),
        }
        self.refresh(&flow);
    }

    /// Follows the batches waiting for confirmation, completing their
    /// proofs at the required depth.
    fn upgrade(&mut self, on_event: &mut dyn FnMut(&WatchEvent)) {
        let mut flow = match self.open() {
            Ok(flow) => flow,
            Err(e) => return self.wait_or_fail(Step::Upgrade, e, on_event),
        };
        self.busy = None;
        self.next_upgrade = Instant::now() + self.options.upgrade_every;
        let result = match self.chain() {
            Ok(()) => flow.upgrade(self.chain.as_ref().expect("connected just now")),
            Err(e) => Err(e),
        };
        match result {
            Ok(ups) => {
                self.recovered(Step::Upgrade, on_event);
                let min_depth = flow.config().min_depth;
                for u in ups {
                    if u.reorged {
                        self.confirmations.remove(&u.batch_id);
                        on_event(&WatchEvent::Reorged {
                            batch_id: u.batch_id,
                        });
                    }
                    match (u.state, u.confirmation) {
                        (BatchState::Final, Some(c)) => {
                            self.confirmations.remove(&u.batch_id);
                            on_event(&WatchEvent::Completed {
                                batch_id: u.batch_id,
                                height: c.height,
                                proofs: u.proofs_written,
                            });
                        }
                        (BatchState::Confirmed, Some(c)) => {
                            let seen = self.confirmations.insert(u.batch_id, c.confirmations);
                            if seen != Some(c.confirmations) {
                                on_event(&WatchEvent::Confirmed {
                                    batch_id: u.batch_id,
                                    height: c.height,
                                    confirmations: c.confirmations,
                                    min_depth,
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => self.failed(Step::Upgrade, e, on_event),
        }
        self.refresh(&flow);
    }

    /// Connects to the chain backend unless connected.
    fn chain(&mut self) -> Result<(), AnchoringError> {
        if self.chain.is_none() {
            self.chain = Some(self.backend.connect(self.config.network)?);
        }
        Ok(())
    }

    /// The data directory could not be opened for `step`: held by another
    /// command (waited for, said once), or failing.
    fn wait_or_fail(
        &mut self,
        step: Step,
        error: AnchoringError,
        on_event: &mut dyn FnMut(&WatchEvent),
    ) {
        let now = Instant::now();
        if let AnchoringError::Store(StoreError::Locked(_)) = error {
            if self.busy.is_none() {
                on_event(&WatchEvent::Busy { step });
            }
            self.busy = Some(step);
            self.lock_retry = Some(now + BUSY_RETRY);
            return;
        }
        match step {
            Step::Stamp => {
                let retry_in = self.options.retry_first;
                self.stamp_retry = Some(now + retry_in);
                on_event(&WatchEvent::Failed {
                    step,
                    error,
                    retry_in,
                });
            }
            _ => self.failed(step, error, on_event),
        }
    }

    /// A step failed: the connection is dropped (a new one is made for
    /// the next try) and the next try waits.
    fn failed(&mut self, step: Step, error: AnchoringError, on_event: &mut dyn FnMut(&WatchEvent)) {
        self.chain = None;
        let retry_in = self.server.failed(Instant::now());
        on_event(&WatchEvent::Failed {
            step,
            error,
            retry_in,
        });
    }

    fn recovered(&mut self, step: Step, on_event: &mut dyn FnMut(&WatchEvent)) {
        if self.server.succeeded() {
            on_event(&WatchEvent::Recovered { step });
        }
    }

    /// Reads the queue from the store; on failure, keeps what was known.
    fn refresh(&mut self, flow: &Anchoring) {
        if let Ok(q) = read_queue(flow) {
            self.queue = q;
        }
    }
}

fn report_stamps(
    items: &[StampItem],
    outcomes: &[StampOutcome],
    on_event: &mut dyn FnMut(&WatchEvent),
) {
    for (item, outcome) in items.iter().zip(outcomes) {
        let path = PathBuf::from(&item.label);
        let digest = item.digest;
        match outcome {
            StampOutcome::Queued => on_event(&WatchEvent::Stamped {
                path,
                digest,
                older: None,
            }),
            StampOutcome::Amended { older } => on_event(&WatchEvent::Stamped {
                path,
                digest,
                older: Some(older.clone()),
            }),
            StampOutcome::Rewritten => on_event(&WatchEvent::ProofRewritten { path, digest }),
            StampOutcome::ProofExists => on_event(&WatchEvent::NotStamped {
                path,
                reason: NotStampedReason::ProofExists,
            }),
            // Stamped before, as it is: the scan on start meets many.
            _ => {}
        }
    }
}

fn read_queue(flow: &Anchoring) -> Result<Queue, AnchoringError> {
    let s = flow.store();
    let queued = s.queued_records()?;
    Ok(Queue {
        queued: queued.len(),
        oldest: queued.iter().map(|r| r.stamped_at).min(),
        unsent: s.batches_in(&[BatchState::Batched])?.len(),
        waiting: s
            .batches_in(&[BatchState::Broadcast, BatchState::Confirmed])?
            .len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(len: u64, secs: u64) -> Option<Stat> {
        Some(Stat {
            len,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        })
    }

    #[test]
    fn a_file_is_ready_once_unchanged_for_the_settle_time() {
        let settle = Duration::from_millis(500);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut s = Settling::default();
        s.touch(PathBuf::from("a"), t0);
        s.touch(PathBuf::from("b"), t0);
        let growing = std::cell::Cell::new(10);
        let look = |p: &Path| match p.to_str() {
            Some("a") => stat(growing.get(), 1),
            _ => stat(5, 1),
        };
        // First look: both seen, neither settled.
        assert!(s.poll(at(0), settle, look).is_empty());
        assert!(s.poll(at(400), settle, look).is_empty());
        // `a` grows: it settles from the time it was seen to change.
        growing.set(20);
        assert_eq!(s.poll(at(500), settle, look), vec![PathBuf::from("b")]);
        assert!(s.poll(at(900), settle, look).is_empty());
        assert_eq!(s.poll(at(1000), settle, look), vec![PathBuf::from("a")]);
        assert!(s.is_empty());

        // Touched again (a notification) while settling: from then on.
        s.touch(PathBuf::from("c"), at(0));
        assert!(s.poll(at(0), settle, |_| stat(1, 1)).is_empty());
        s.touch(PathBuf::from("c"), at(400));
        assert!(s.poll(at(400), settle, |_| stat(1, 1)).is_empty());
        assert!(s.poll(at(600), settle, |_| stat(1, 1)).is_empty());
        assert_eq!(s.poll(at(900), settle, |_| stat(1, 1)).len(), 1);

        // A new modification time alone is a change; a file gone leaves.
        s.touch(PathBuf::from("d"), at(0));
        s.touch(PathBuf::from("e"), at(0));
        assert!(s.poll(at(0), settle, |_| stat(1, 1)).is_empty());
        let later = |p: &Path| (p == Path::new("d")).then(|| stat(1, 2)).flatten();
        assert!(s.poll(at(600), settle, later).is_empty());
        assert_eq!(s.len(), 1);
        assert_eq!(s.poll(at(1100), settle, later), vec![PathBuf::from("d")]);
    }

    #[test]
    fn the_queue_is_anchored_on_schedule_or_after_enough_records() {
        let min = Some(Duration::from_secs(60));
        let q = |queued, oldest, unsent| Queue {
            queued,
            oldest,
            unsent,
            waiting: 0,
        };
        assert!(!anchor_due(&q(0, None, 0), min, Some(1), 1000));
        assert!(!anchor_due(&q(3, Some(1000), 0), min, None, 1059));
        assert!(anchor_due(&q(3, Some(1000), 0), min, None, 1060));
        assert!(!anchor_due(&q(3, Some(1000), 0), min, Some(4), 1010));
        assert!(anchor_due(&q(4, Some(1000), 0), min, Some(4), 1010));
        assert!(anchor_due(&q(4, Some(1000), 0), None, Some(4), 1000));
        // Only a count: a few records wait for more.
        assert!(!anchor_due(&q(3, Some(0), 0), None, Some(4), 1_000_000));
        // A batch an interrupted run left unsent is finished at once.
        assert!(anchor_due(&q(0, None, 1), min, None, 0));
        // A clock set back does not anchor early.
        assert!(!anchor_due(&q(1, Some(1000), 0), min, None, 10));
    }

    #[test]
    fn failures_back_off_doubling_to_the_limit() {
        let t0 = Instant::now();
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        assert!(b.may_try(t0));
        assert_eq!(b.failed(t0), Duration::from_secs(1));
        assert!(!b.may_try(t0));
        assert!(b.may_try(t0 + Duration::from_secs(1)));
        let delays: Vec<u64> = (0..4).map(|_| b.failed(t0).as_secs()).collect();
        assert_eq!(delays, [2, 4, 5, 5]);
        assert!(b.succeeded(), "a success after failures is a recovery");
        assert!(!b.succeeded());
        assert_eq!(b.failed(t0), Duration::from_secs(1));
    }

    #[test]
    fn proofs_and_temporary_files_are_never_stamped() {
        for name in [
            "a.pdf.anchor.json",
            "a.pdf.0123456789abcdef.anchor.json",
            "a.pdf.ots",
            ".a.pdf.anchor.json.123-0.tmp",
            "scan.pdf.part",
            "scan.pdf.crdownload",
            "~$report.docx",
            ".~lock.report.odt#",
            "notes.txt~",
            ".notes.txt.swp",
        ] {
            assert!(is_ignored_name(Path::new(name)), "{name}");
        }
        for name in ["a.pdf", "report.docx", "anchor.json.txt", "x.tmp.pdf"] {
            assert!(!is_ignored_name(Path::new(name)), "{name}");
        }
    }
}
