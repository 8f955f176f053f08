//! Keeping a headers file in step with a header source
//! (`docs/headers-file.md` §4).
//!
//! [`sync_headers_file`] creates a headers file, or brings one up to date,
//! from any [`HeaderSource`] (an Electrum server, in the command line):
//!
//! 1. the file is opened (created if missing, once the source has answered
//!    with the network's genesis block) and locked for the whole sync;
//!    another sync of the same file is [`SyncError::Busy`];
//! 2. a partial header at its end, which only an interrupted sync leaves,
//!    is cut off, and the file is validated ([`crate::validate`]); a file
//!    that fails is left as it is ([`SyncError::InvalidFile`]);
//! 3. the source's header at the file's tip height is compared with the
//!    file's; if they are the same, the source's headers after the tip are
//!    fetched, each validated against the file's chain before it is
//!    written;
//! 4. if they differ, the fork point is found (the highest height where
//!    both agree), and the file is cut back to it only if the source's
//!    branch after it has more work than the file's
//!    ([`SyncError::NoMoreWork`] otherwise, the file kept byte for byte);
//! 5. headers are appended a batch (at most [`EPOCH_BLOCKS`]) at a time,
//!    each batch written whole and flushed to disk before the next is
//!    fetched (a new file's folder entry is flushed too), so that a sync
//!    stopped at any point leaves only validated headers, possibly followed
//!    by part of one, which the next sync removes;
//! 6. steps 3 to 5 repeat while the source's tip moves during the sync, at
//!    most [`ATTEMPTS`] times.
//!
//! [`LockedHeadersFile`] splits the same sync in two, for a caller that
//! wants the file locked, repaired and checked before it opens a
//! connection: [`LockedHeadersFile::open`], then
//! [`LockedHeadersFile::sync`].
//!
//! Nothing is printed: progress goes to a callback ([`SyncProgress`]), and
//! the outcome is a [`SyncReport`].

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{consensus, Network};

use crate::checkpoints::{Checkpoints, EPOCH_BLOCKS};
use crate::headers::{HeaderSource, HeaderSourceError, HeadersFile, SourceKind, HEADER_LEN};
use crate::validate::{ChainError, ChainParams, ChainState, ChainValidator};

/// Most attempts at catching up with a source whose tip moves (a new
/// block, a reorganisation) during a sync. A sync that runs out of them
/// still succeeds, with the file as far as it got ([`SyncReport::file`]
/// behind [`SyncReport::server_tip`], or on an older branch).
pub const ATTEMPTS: u32 = 5;

/// Why a headers file could not be synced.
///
/// Whatever the error, the file holds only whole headers that were
/// validated before they were written (or is as it was found).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The path names a folder.
    #[error("cannot write headers file {path}: it is a folder")]
    Folder {
        /// The path.
        path: PathBuf,
    },
    /// The file cannot be opened (or created).
    #[error("cannot open headers file {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// The file cannot be locked.
    #[error("cannot lock headers file {path}")]
    Lock {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// Another sync holds the file's lock.
    #[error("another sync is writing headers file {path}")]
    Busy {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be read.
    #[error("cannot read headers file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// The file cannot be written (or cut back, or flushed to disk).
    #[error("cannot write headers file {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid chain of the network's headers (another
    /// network, or changed since it was written): not a whole number of
    /// headers once a partial last one is cut off, too large, or a header
    /// that breaks a rule ([`HeaderSourceError::Invalid`]). It is left as
    /// it is.
    #[error(transparent)]
    InvalidFile(HeaderSourceError),
    /// The file was found empty once synced: something else cut it.
    #[error("headers file {path} is empty")]
    Emptied {
        /// The file.
        path: PathBuf,
    },
    /// The source failed (unreachable, refused, or an answer its own checks
    /// reject).
    #[error(transparent)]
    Server(HeaderSourceError),
    /// The source knows no chain (no best height, or no genesis block).
    #[error("{server} knows no chain")]
    NoChain {
        /// The source.
        server: SourceKind,
    },
    /// The source's genesis block is not the network's (checked before a
    /// new file is created).
    #[error("{server} is not on {network} (its genesis block differs)")]
    OtherChain {
        /// The source.
        server: SourceKind,
        /// The network of the file.
        network: Network,
    },
    /// The source sent a header that fails validation against the file's
    /// chain; nothing of it was written.
    #[error("{server} sent a header that fails validation")]
    BadHeader {
        /// The source.
        server: SourceKind,
        /// The rule broken, and where.
        #[source]
        source: ChainError,
    },
    /// The source's chain ends before the file's first header.
    #[error(
        "{server} ends at height {server_tip}, before the file's first header (height {start})"
    )]
    EndsBeforeFile {
        /// The source.
        server: SourceKind,
        /// The source's tip height.
        server_tip: u32,
        /// The height of the file's first header.
        start: u32,
    },
    /// The source has none of the file's headers: it follows another
    /// chain.
    #[error("{server} shares no header with the file at or after its first height {start}")]
    NoCommonHeader {
        /// The source.
        server: SourceKind,
        /// The height of the file's first header.
        start: u32,
    },
    /// The source follows a branch that forks from the file's chain with no
    /// more work than the file's branch: the file is kept byte for byte.
    #[error("{server} follows a branch that forks from the file's chain after height {fork} with no more work than the file's; the file is kept")]
    NoMoreWork {
        /// The source.
        server: SourceKind,
        /// The last height both chains share.
        fork: u32,
    },
}

/// The kinds of [`SyncError`], for exit codes and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncErrorKind {
    /// The file cannot be opened, locked, read or written, or is a folder.
    Io,
    /// Another sync is writing the file.
    Busy,
    /// The file is not a valid chain of the network's headers.
    InvalidFile,
    /// The source failed, sent a header that fails validation, or follows
    /// a chain the file cannot take.
    Server,
}

impl SyncError {
    /// Which kind of error this is.
    pub fn kind(&self) -> SyncErrorKind {
        match self {
            SyncError::Folder { .. }
            | SyncError::Open { .. }
            | SyncError::Lock { .. }
            | SyncError::Read { .. }
            | SyncError::Write { .. }
            | SyncError::Emptied { .. } => SyncErrorKind::Io,
            SyncError::Busy { .. } => SyncErrorKind::Busy,
            SyncError::InvalidFile(_) => SyncErrorKind::InvalidFile,
            SyncError::Server(_)
            | SyncError::NoChain { .. }
            | SyncError::OtherChain { .. }
            | SyncError::BadHeader { .. }
            | SyncError::EndsBeforeFile { .. }
            | SyncError::NoCommonHeader { .. }
            | SyncError::NoMoreWork { .. } => SyncErrorKind::Server,
        }
    }

    /// An error of validating or reading the file: a read failure is an
    /// input/output error, anything else an invalid file.
    fn from_file(e: HeaderSourceError) -> SyncError {
        match e {
            HeaderSourceError::Read { path, source } => SyncError::Read { path, source },
            other => SyncError::InvalidFile(other),
        }
    }
}

/// How far the appending of headers has got, for a progress bar.
///
/// Reported when a run of appends starts (with `appended` 0) and after
/// each batch is written; a sync that has to look again (the source's tip
/// moved) starts a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncProgress {
    /// Headers this run fetches: from the file's tip (or the fork point)
    /// to the source's tip.
    pub total: u64,
    /// Headers of this run appended so far.
    pub appended: u64,
}

/// What a sync did, and the file it left.
#[derive(Debug)]
#[non_exhaustive]
pub struct SyncReport {
    /// The file as validated at the end of the sync: its first and tip
    /// heights, tip hash and total work ([`HeadersFile::state`]).
    pub file: HeadersFile,
    /// The source's tip height when last asked (below the file's tip if
    /// the source is behind the file).
    pub server_tip: u32,
    /// Headers appended (the genesis block of a new file included).
    pub appended: u64,
    /// Headers removed in a reorganisation (0 if none).
    pub rolled_back: u64,
    /// The height the file was cut back to in a reorganisation, if one
    /// was.
    pub fork_height: Option<u32>,
    /// Bytes of a partial header removed from the end of the file (left by
    /// an interrupted sync), 0 if none.
    pub trimmed_bytes: u64,
    /// Whether the file did not exist before the sync.
    pub created: bool,
}

/// Creates the headers file at `path`, or brings it up to date, from
/// `server`'s best chain, validating every header before it is written
/// (see the [module documentation](self) for the steps). `progress` is
/// called as headers are appended.
///
/// A missing file is created only once `server` has answered with the
/// network's genesis block. To check an existing file before connecting
/// to a server, use [`LockedHeadersFile`].
///
/// # Errors
///
/// A [`SyncError`]: the file cannot be opened, locked, read or written
/// ([`SyncErrorKind::Io`]), another sync holds it ([`SyncError::Busy`]),
/// it is not a valid chain for `network` ([`SyncError::InvalidFile`]), or
/// the source failed, sent a header that fails validation or follows a
/// chain the file cannot take ([`SyncErrorKind::Server`]). The file then
/// holds only whole validated headers.
pub fn sync_headers_file(
    path: &Path,
    network: Network,
    server: &dyn HeaderSource,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    if !path.exists() {
        check_genesis(server, network)?;
    }
    LockedHeadersFile::open(path, network)?.sync(server, progress)
}

/// Checks that the source's genesis block is the network's.
fn check_genesis(server: &dyn HeaderSource, network: Network) -> Result<(), SyncError> {
    let theirs = server.header_range(0, 1).map_err(SyncError::Server)?;
    let genesis = ChainParams::new(network).genesis();
    match theirs.first() {
        None => Err(SyncError::NoChain {
            server: server.kind(),
        }),
        Some(h) if h.block_hash() != genesis.block_hash() => Err(SyncError::OtherChain {
            server: server.kind(),
            network,
        }),
        Some(_) => Ok(()),
    }
}

/// A headers file opened for a sync: locked (for as long as this value
/// lives), a partial header at its end cut off, and its chain validated.
#[derive(Debug)]
pub struct LockedHeadersFile {
    path: PathBuf,
    file: File,
    network: Network,
    created: bool,
    trimmed: u64,
    /// The file as validated by [`LockedHeadersFile::open`] (`None` if
    /// empty), for the first attempt of the sync.
    checked: Option<Option<HeadersFile>>,
}

impl LockedHeadersFile {
    /// Opens the headers file at `path` (creating it, empty, if it does
    /// not exist) and locks it, without waiting; cuts off a partial header
    /// at its end (made durable) and validates it for `network`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Folder`], [`SyncError::Open`], [`SyncError::Lock`],
    /// [`SyncError::Busy`] (another sync holds the lock),
    /// [`SyncError::Read`] and [`SyncError::Write`] (cutting the partial
    /// header), and [`SyncError::InvalidFile`] (left as it is, but for the
    /// partial header).
    pub fn open(path: &Path, network: Network) -> Result<LockedHeadersFile, SyncError> {
        if path.is_dir() {
            return Err(SyncError::Folder {
                path: path.to_path_buf(),
            });
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|source| SyncError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(SyncError::Busy {
                    path: path.to_path_buf(),
                })
            }
            Err(TryLockError::Error(source)) => {
                return Err(SyncError::Lock {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        let mut locked = LockedHeadersFile {
            path: path.to_path_buf(),
            file,
            network,
            created: !existed,
            trimmed: 0,
            checked: None,
        };
        // A partial header at the end is what an interrupted sync leaves.
        let len = locked.len()?;
        let torn = len % HEADER_LEN as u64;
        if torn != 0 {
            locked.truncate(len - torn)?;
            locked.trimmed = torn;
        }
        locked.checked = Some(locked.validated()?);
        Ok(locked)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether [`LockedHeadersFile::open`] created the file.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Bytes of a partial header [`LockedHeadersFile::open`] cut off.
    pub fn trimmed_bytes(&self) -> u64 {
        self.trimmed
    }

    /// Brings the file up to date from `server`'s best chain (steps 3 to
    /// 6 of the [module documentation](self)), calling `progress` as
    /// headers are appended, and releases the lock.
    ///
    /// An empty file gets the network's genesis block first. The source's
    /// genesis block is not asked for: connect to a source that checks it
    /// (as the Electrum adapter does), or use [`sync_headers_file`].
    ///
    /// # Errors
    ///
    /// As [`sync_headers_file`]: the file holds only whole validated
    /// headers whatever fails.
    pub fn sync(
        mut self,
        server: &dyn HeaderSource,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport, SyncError> {
        let network = self.network;
        let params = ChainParams::new(network);
        let table = Checkpoints::builtin(network);
        let mut appended = 0;
        let mut rolled_back = 0;
        let mut fork_height = None;
        let mut server_tip = 0;
        for _ in 0..ATTEMPTS {
            server_tip = server
                .best_height()
                .map_err(SyncError::Server)?
                .ok_or_else(|| SyncError::NoChain {
                    server: server.kind(),
                })?;
            // The file as validated by open, for the first attempt; later
            // attempts validate it again as they find it.
            let current = match self.checked.take() {
                Some(c) => c,
                None => self.validated()?,
            };
            let Some(file) = current else {
                // A new file: the genesis block.
                let mut v = ChainValidator::new(&params, table).map_err(|e| self.invalid(e))?;
                v.push_header(&params.genesis())
                    .map_err(|e| bad_header(server, e))?;
                self.append(0, &consensus::serialize(&params.genesis()))?;
                if self.created {
                    sync_parent(&self.path);
                }
                appended += 1;
                continue;
            };
            let state = file.state().clone();
            let (tip, start) = (state.tip_height(), state.start_height());
            let common = tip.min(server_tip);
            if common < start {
                return Err(SyncError::EndsBeforeFile {
                    server: server.kind(),
                    server_tip,
                    start,
                });
            }
            let Some(theirs) = server
                .header_range(common, 1)
                .map_err(SyncError::Server)?
                .first()
                .copied()
            else {
                // The source's chain got shorter meanwhile: look again.
                continue;
            };
            let ours = file.header_at(common).map_err(SyncError::from_file)?;
            let mut validator = if ours.map(|h| h.block_hash()) == Some(theirs.block_hash()) {
                if server_tip <= tip {
                    // Up to date (or the source is behind the file).
                    break;
                }
                ChainValidator::resume(&params, table, state).map_err(|e| self.invalid(e))?
            } else {
                let fork = find_fork(server, &file, start, common)?;
                let file_work = branch_work(&file, fork + 1, tip)?;
                let at_fork = file
                    .validator_at(&params, table, fork)
                    .map_err(SyncError::from_file)?;
                // Only a branch with more work replaces the file's.
                let mut dry = at_fork.clone();
                match append_from(server, &mut dry, server_tip, None, Some(file_work))? {
                    Run::Beat => {}
                    // The source's chain changed again: look once more.
                    Run::Moved => continue,
                    Run::Reached => {
                        return Err(SyncError::NoMoreWork {
                            server: server.kind(),
                            fork,
                        })
                    }
                }
                self.truncate(u64::from(fork - start + 1) * HEADER_LEN as u64)?;
                rolled_back += u64::from(tip - fork);
                fork_height = Some(fork);
                at_fork
            };
            drop(file);
            let to = validator.next_height().unwrap_or(0);
            let total = u64::from(server_tip.saturating_sub(to)) + 1;
            progress(SyncProgress { total, appended: 0 });
            let start_len = self.len()?;
            let mut sink = Sink {
                out: &self,
                total,
                done: 0,
                progress: &mut *progress,
            };
            append_from(server, &mut validator, server_tip, Some(&mut sink), None)?;
            appended += (self.len()? - start_len) / HEADER_LEN as u64;
        }

        let file = self.validated()?.ok_or_else(|| SyncError::Emptied {
            path: self.path.clone(),
        })?;
        Ok(SyncReport {
            file,
            server_tip,
            appended,
            rolled_back,
            fork_height,
            trimmed_bytes: self.trimmed,
            created: self.created,
        })
    }

    fn read_err(&self, source: io::Error) -> SyncError {
        SyncError::Read {
            path: self.path.clone(),
            source,
        }
    }

    fn write_err(&self, source: io::Error) -> SyncError {
        SyncError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// A validator that cannot be made for the file's network (a built-in
    /// table of another network: never).
    fn invalid(&self, error: ChainError) -> SyncError {
        SyncError::InvalidFile(HeaderSourceError::Invalid {
            path: self.path.clone(),
            error,
        })
    }

    fn len(&self) -> Result<u64, SyncError> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| self.read_err(e))
    }

    /// Writes whole headers at `offset` and makes them durable.
    fn append(&self, offset: u64, bytes: &[u8]) -> Result<(), SyncError> {
        self.file
            .write_all_at(bytes, offset)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.write_err(e))
    }

    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, len: u64) -> Result<(), SyncError> {
        self.file
            .set_len(len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| self.write_err(e))
    }

    /// Opens and validates the file as it is now (`None` if empty).
    fn validated(&self) -> Result<Option<HeadersFile>, SyncError> {
        if self.len()? == 0 {
            return Ok(None);
        }
        HeadersFile::open(&self.path, self.network)
            .map(Some)
            .map_err(SyncError::from_file)
    }
}

fn bad_header(server: &dyn HeaderSource, source: ChainError) -> SyncError {
    SyncError::BadHeader {
        server: server.kind(),
        source,
    }
}

/// Makes a new file's directory entry durable.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        // Best effort: some file systems refuse to sync a directory.
        let _ = dir.sync_all();
    }
}

/// The highest height at or below `from` where the source and the file
/// have the same header.
fn find_fork(
    server: &dyn HeaderSource,
    file: &HeadersFile,
    start: u32,
    from: u32,
) -> Result<u32, SyncError> {
    let mut hi = from;
    loop {
        let lo = hi.saturating_sub(EPOCH_BLOCKS - 1).max(start);
        let theirs = server
            .header_range(lo, hi - lo + 1)
            .map_err(SyncError::Server)?;
        let ours = file
            .header_range(lo, hi - lo + 1)
            .map_err(SyncError::from_file)?;
        let same = theirs
            .iter()
            .zip(&ours)
            .rposition(|(a, b)| a.block_hash() == b.block_hash());
        if let Some(i) = same {
            return Ok(lo + i as u32);
        }
        if lo == start {
            return Err(SyncError::NoCommonHeader {
                server: server.kind(),
                start,
            });
        }
        hi = lo - 1;
    }
}

/// The work of the file's headers from `from` to `to`.
fn branch_work(file: &HeadersFile, from: u32, to: u32) -> Result<Work, SyncError> {
    let mut work = Work::from_be_bytes([0; 32]);
    let mut next = from;
    while next <= to {
        let n = (to - next + 1).min(EPOCH_BLOCKS);
        let headers = file.header_range(next, n).map_err(SyncError::from_file)?;
        for h in &headers {
            work = work + h.work();
        }
        match next.checked_add(n) {
            Some(n) => next = n,
            None => break,
        }
    }
    Ok(work)
}

/// Where [`append_from`] writes: the file, and the progress of the run.
struct Sink<'a> {
    out: &'a LockedHeadersFile,
    total: u64,
    done: u64,
    progress: &'a mut dyn FnMut(SyncProgress),
}

/// How a run of [`append_from`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Reached the height asked for (or the source's chain ended).
    Reached,
    /// The headers fetched hold more work than asked for.
    Beat,
    /// A batch did not link to the tip: the source reorganised meanwhile.
    Moved,
}

/// Fetches the source's headers after the validator's tip up to `to`,
/// validating each, and appends them to the file batch by batch (when
/// `out` is given, reporting progress). With `beat`, stops as soon as the
/// headers fetched hold more work than it.
fn append_from(
    server: &dyn HeaderSource,
    validator: &mut ChainValidator<'_>,
    to: u32,
    mut out: Option<&mut Sink<'_>>,
    beat: Option<Work>,
) -> Result<Run, SyncError> {
    let mut work = Work::from_be_bytes([0; 32]);
    let Some(start) = validator.state().map(ChainState::start_height) else {
        return Ok(Run::Reached);
    };
    while let Some(next) = validator.next_height().filter(|n| *n <= to) {
        let n = (to - next + 1).min(EPOCH_BLOCKS);
        let batch: Vec<Header> = server.header_range(next, n).map_err(SyncError::Server)?;
        let Some(first) = batch.first() else {
            return Ok(Run::Reached);
        };
        if Some(first.prev_blockhash) != validator.state().map(ChainState::tip_hash) {
            return Ok(Run::Moved);
        }
        let mut bytes = Vec::with_capacity(batch.len() * HEADER_LEN);
        for h in &batch {
            validator
                .push_header(h)
                .map_err(|e| bad_header(server, e))?;
            bytes.extend_from_slice(&consensus::serialize(h));
            work = work + h.work();
            if beat.is_some_and(|b| work > b) {
                return Ok(Run::Beat);
            }
        }
        if let Some(sink) = out.as_deref_mut() {
            sink.out
                .append(u64::from(next - start) * HEADER_LEN as u64, &bytes)?;
            sink.done += batch.len() as u64;
            (sink.progress)(SyncProgress {
                total: sink.total,
                appended: sink.done,
            });
        }
    }
    Ok(Run::Reached)
}
