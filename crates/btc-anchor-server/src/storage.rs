//! The storage seam: what the HTTP side needs from a backend. SQLite
//! ([`crate::sqlite::SqliteStorage`]) is the embedded default; a
//! PostgreSQL backend for several instances ([`crate::postgres::PgStorage`])
//! implements the same trait.

use bitcoin::Network;
use bitcoin::Txid;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::merkle::Salt;
use btc_anchor::merkle::{record_leaf, Tree};
use btc_anchor::proof::Proof;
use btc_anchor::proof::{BatchPath, Record};
use btc_anchor::verify::{verify, VerifyOptions};
use btc_anchor_workflow::store::{BatchState, Journal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use btc_anchor::hash::RecordDigest;
use tokio::sync::oneshot;

use crate::calendar::{commitment, Submission};

/// Errors of a storage backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The workflow's store failed.
    #[error(transparent)]
    Store(#[from] btc_anchor_workflow::store::StoreError),
    /// The database failed.
    #[error("calendar database")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL database failed.
    #[error("calendar database")]
    Postgres(#[from] postgres::Error),
    /// The shared database serves another network.
    #[error("the database is for {found}, not {expected}")]
    WrongNetwork {
        /// Its network.
        found: Network,
        /// This server's.
        expected: Network,
    },
    /// The writer's queue is full.
    #[error("the writer's queue is full")]
    Overloaded,
    /// The writer has stopped (shutting down, or failed).
    #[error("the writer has stopped")]
    Stopped,
    /// A salt could not be drawn, or a batch tree built.
    #[error("cannot draw a salt or build a batch tree")]
    Merkle(#[from] btc_anchor::merkle::MerkleError),
    /// A complete proof built from the store does not verify or export.
    #[error("the complete proof built from the store does not check out")]
    Proof(#[from] btc_anchor::ots::OtsExportError),
    /// The store holds a final batch without its block.
    #[error("final batch {0} has no block kept in the store")]
    NoBlock(i64),
    /// The block kept for a batch does not parse.
    #[error("the block kept for batch {0} does not parse")]
    BadBlock(i64, #[source] btc_anchor::proof::ProofError),
}

/// A submission made durable.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// What was submitted.
    pub submission: Submission,
    /// Its fresh salt.
    pub salt: Salt,
    /// Its commitment (leaf hash).
    pub commitment: [u8; 32],
}

/// Where a commitment stands (`docs/server-api.md` §5.2).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Lookup {
    /// Not a commitment of this calendar.
    Unknown,
    /// Queued, or in a batch whose transaction is not broadcast yet.
    Pending {
        /// Whether it is in a batch already.
        batched: bool,
    },
    /// In a broadcast transaction, not yet final.
    Timestamped {
        /// The newest transaction (or the confirmed one).
        txid: Txid,
        /// Whether it confirmed (below the required depth).
        confirmed: bool,
    },
    /// Final: the complete proof, verified.
    Complete(Box<Proof>),
}

/// The queue at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSummary {
    /// Records waiting for a batch.
    pub pending: u64,
    /// When the oldest was submitted (seconds since 1970).
    pub oldest_at: Option<i64>,
}

/// The reply to a submission: resolved once its group is committed.
pub type Committed = oneshot::Receiver<Result<Vec<Accepted>, StorageError>>;

/// A storage backend for the calendar.
pub trait Storage: Send + Sync + 'static {
    /// Queues `submissions` for the next group commit, without blocking;
    /// the receiver resolves once they are durable, never before.
    ///
    /// # Errors
    ///
    /// [`StorageError::Overloaded`] when the queue is full,
    /// [`StorageError::Stopped`] once the writer has stopped.
    fn submit(&self, submissions: Vec<Submission>) -> Result<Committed, StorageError>;

    /// Where `commitment` stands (blocking: call from a blocking thread).
    ///
    /// # Errors
    ///
    /// A store that cannot be read, or a complete proof that does not
    /// check out.
    fn lookup(&self, commitment: &[u8]) -> Result<Lookup, StorageError>;

    /// The queue at a glance (blocking).
    ///
    /// # Errors
    ///
    /// A store that cannot be read.
    fn queue(&self) -> Result<QueueSummary, StorageError>;

    /// Stops taking submissions, commits every one queued, and waits for
    /// the writer (blocking).
    fn close(&self);
}

/// Reader sessions of a backend: lookups run on as many at once.
pub const READERS: usize = 4;

/// The readers of a backend ([`READERS`] of them): a lookup takes a free
/// one, or waits its turn on one.
#[derive(Debug)]
pub(crate) struct Pool<R> {
    readers: Vec<Mutex<R>>,
    next: AtomicUsize,
}

impl<R> Pool<R> {
    /// A pool of `readers` (at least one).
    pub(crate) fn new(readers: Vec<R>) -> Pool<R> {
        Pool {
            readers: readers.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `f` on a free reader, or on the next one once it is free.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut R) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        for r in &self.readers {
            if let Ok(mut guard) = r.try_lock() {
                return f(&mut guard);
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let mut guard = self.readers[i].lock().map_err(|_| StorageError::Stopped)?;
        f(&mut guard)
    }

    /// Runs `f` on every reader, each once it is free.
    pub(crate) fn each(&self, mut f: impl FnMut(&mut R)) {
        for r in &self.readers {
            if let Ok(mut guard) = r.lock() {
                f(&mut guard);
            }
        }
    }
}

/// The tree of the final batch looked up last, shared by a backend's
/// readers: a reader looks up many records of one batch, and a batch's
/// tree is built once for them all.
#[derive(Debug, Default)]
pub struct TreeCache(Mutex<Option<(i64, Arc<Tree>)>>);

impl TreeCache {
    /// The tree of `batch_id`, built by `build` unless it is the one kept.
    fn get(
        &self,
        batch_id: i64,
        build: impl FnOnce() -> Result<Tree, StorageError>,
    ) -> Result<Arc<Tree>, StorageError> {
        let mut kept = self.0.lock().map_err(|_| StorageError::Stopped)?;
        if let Some((id, tree)) = &*kept {
            if *id == batch_id {
                return Ok(tree.clone());
            }
        }
        let tree = Arc::new(build()?);
        *kept = Some((batch_id, tree.clone()));
        Ok(tree)
    }
}

/// Where the record `record_id` of `journal` (the one a commitment names,
/// if any) stands; a final batch's complete proof is built from the
/// journal, verified, and returned. `trees` keeps the tree of the batch
/// looked up last.
///
/// # Errors
///
/// A journal that cannot be read, or a complete proof that does not
/// check out.
pub fn lookup_record(
    journal: &dyn Journal,
    network: Network,
    trees: &TreeCache,
    record_id: Option<i64>,
) -> Result<Lookup, StorageError> {
    let Some(record) = (match record_id {
        Some(id) => journal.record(id)?,
        None => None,
    }) else {
        return Ok(Lookup::Unknown);
    };
    let Some((batch_id, index)) = record.batch else {
        return Ok(Lookup::Pending { batched: false });
    };
    let Some(batch) = journal.batch(batch_id)? else {
        return Ok(Lookup::Pending { batched: false });
    };
    let newest = || -> Result<Option<bitcoin::Txid>, StorageError> {
        Ok(journal.batch_txs(batch_id)?.last().map(|t| t.txid))
    };
    match batch.state {
        BatchState::Batched => Ok(Lookup::Pending { batched: true }),
        BatchState::Broadcast => Ok(match newest()? {
            Some(txid) => Lookup::Timestamped {
                txid,
                confirmed: false,
            },
            None => Lookup::Pending { batched: true },
        }),
        BatchState::Final => {
            let block = journal
                .batch_block(batch_id)?
                .ok_or(StorageError::NoBlock(batch_id))?;
            let first = Proof::from_json(block.as_bytes())
                .map_err(|e| StorageError::BadBlock(batch_id, e))?;
            let tree = trees.get(batch_id, || {
                let leaves = journal
                    .batch_records(batch_id)?
                    .iter()
                    .map(|r| record_leaf(&r.salt, &r.digest))
                    .collect();
                Ok(Tree::new(leaves)?)
            })?;
            let proof = Proof {
                network,
                record: Record {
                    digest: record.digest,
                    salt: record.salt,
                },
                batch: Some(BatchPath {
                    size: tree.size(),
                    index,
                    path: tree.inclusion_proof(index)?,
                    root: tree.root(),
                }),
                anchor: first.anchor,
            };
            verify(
                &proof,
                &proof.record.digest,
                &EmbeddedOnly,
                &VerifyOptions::new(network),
            )
            .map_err(|e| StorageError::Proof(e.into()))?;
            Ok(Lookup::Complete(Box::new(proof)))
        }
        // Confirmed below the depth, or a state added later.
        _ => Ok(match batch.confirmation.map(|c| c.txid).or(newest()?) {
            Some(txid) => Lookup::Timestamped {
                txid,
                confirmed: true,
            },
            None => Lookup::Pending { batched: true },
        }),
    }
}

/// Most records in one group commit.
pub const MAX_GROUP_RECORDS: usize = 50_000;
/// A group commit slower than this is logged as a warning.
pub const SLOW_COMMIT: Duration = Duration::from_millis(200);
/// The label of every record the calendar queues (no label from a
/// client is ever stored).
pub const LABEL: &str = "calendar submission";

/// Submissions queued for the writer, and where their reply goes.
pub(crate) type Job = (
    Vec<Submission>,
    oneshot::Sender<Result<Vec<Accepted>, StorageError>>,
);

/// The one writer thread of a backend (§3): every submission that arrived
/// while the previous group was being committed goes into the next one
/// (at most [`MAX_GROUP_RECORDS`] records), so a reply waits for at most
/// two commits and the database sees one commit per group.
#[derive(Debug)]
pub(crate) struct GroupWriter {
    sender: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl GroupWriter {
    /// Starts the writer, whose queue holds at most `max_queued`
    /// submissions; `commit` makes one group durable and returns what it
    /// accepted, in the order of the jobs.
    pub(crate) fn start(
        max_queued: usize,
        mut commit: impl FnMut(&[Job]) -> Result<Vec<Accepted>, StorageError> + Send + 'static,
    ) -> Result<GroupWriter, StorageError> {
        let (sender, receiver) = sync_channel(max_queued.max(1));
        let writer = std::thread::Builder::new()
            .name("calendar-writer".into())
            .spawn(move || write_loop(&receiver, &mut commit))
            .map_err(|_| StorageError::Stopped)?;
        Ok(GroupWriter {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Queues `submissions` without blocking ([`Storage::submit`]).
    pub(crate) fn submit(&self, submissions: Vec<Submission>) -> Result<Committed, StorageError> {
        let (tx, rx) = oneshot::channel();
        let guard = self.sender.lock().map_err(|_| StorageError::Stopped)?;
        let sender = guard.as_ref().ok_or(StorageError::Stopped)?;
        match sender.try_send((submissions, tx)) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(StorageError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(StorageError::Stopped),
        }
    }

    /// Stops taking submissions, lets the writer commit every one queued,
    /// and waits for it.
    pub(crate) fn close(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

fn write_loop<C>(receiver: &Receiver<Job>, commit: &mut C)
where
    C: FnMut(&[Job]) -> Result<Vec<Accepted>, StorageError>,
{
    while let Ok(first) = receiver.recv() {
        let mut count = first.0.len();
        let mut jobs = vec![first];
        while count < MAX_GROUP_RECORDS {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.0.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        match commit(&jobs) {
            Ok(mut accepted) => {
                let took = started.elapsed();
                if took > SLOW_COMMIT {
                    tracing::warn!(records = count, ?took, "slow group commit");
                } else {
                    tracing::debug!(records = count, ?took, "group commit");
                }
                // Replies in the order of the jobs.
                for (subs, reply) in jobs.into_iter().rev() {
                    let mine = accepted.split_off(accepted.len() - subs.len());
                    let _ = reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!(error = %btc_anchor::text::with_sources(&e), "group commit failed");
                for (_, reply) in jobs {
                    let _ = reply.send(Err(StorageError::Stopped));
                }
            }
        }
    }
}

/// A journal row: digest, salt, label, proof path (always empty: the
/// calendar writes no proof files, and a record without a path costs the
/// store no entry in its index of paths).
pub(crate) type Row = (RecordDigest, Salt, String, PathBuf);

/// Gives every submission of `jobs` a fresh salt: the journal's rows and
/// what is accepted, in the same order.
pub(crate) fn salt_all(jobs: &[Job]) -> Result<(Vec<Row>, Vec<Accepted>), StorageError> {
    let count = jobs.iter().map(|(subs, _)| subs.len()).sum();
    let mut accepted = Vec::with_capacity(count);
    let mut rows = Vec::with_capacity(count);
    for (subs, _) in jobs {
        for s in subs {
            let salt = Salt::random()?;
            let c = commitment(&salt, &s.digest);
            rows.push((s.digest, salt.clone(), LABEL.to_owned(), PathBuf::new()));
            accepted.push(Accepted {
                submission: s.clone(),
                salt,
                commitment: c,
            });
        }
    }
    Ok((rows, accepted))
}
