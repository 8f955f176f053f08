//! The anchoring workflow: stamp records, anchor the queued batch in one
//! transaction, bump it if stuck, upgrade proofs once confirmed, report
//! status.
//!
//! Every step writes its state to the [`Store`] before the side effect it
//! enables (see the store's documentation), and every step is safe to run
//! again: after a crash, the next run finishes what was started instead of
//! starting something new.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use bitcoin::{Amount, FeeRate, Network, OutPoint, Transaction, Txid};

use crate::backend::{ChainBackend, Checked, Payer, Seal, TxStatus, SEAL_VALUE, SEAL_VOUT};
use crate::config::Config;
use crate::remote::NotPending;
use crate::store::{
    BatchState, Confirmation, DataLock, Journal, Store, StoreError, StoredBatch, StoredRecord,
    StoredTx,
};
use crate::wallet::WalletError;
use btc_anchor::chain::BranchError;
use btc_anchor::checkpoints::{epoch_end, epoch_of};
use btc_anchor::commitment::commitment_script;
use btc_anchor::file::{older_version_proof_path, write_atomic, write_over, WriteOptions};
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::merkle::{record_leaf, MerkleError, Salt, Tree};
use btc_anchor::proof::{
    read_proof_file, Anchor, BatchPath, BlockProof, Proof, Record, Stage, MAX_HEADERS_AFTER,
};
use btc_anchor::rules::ServedHeaderError;
use btc_anchor::seal::{block_is_sealed, seal, SealError, Sealed};
use btc_anchor::verify::{verify, VerifyError, VerifyOptions};
use btc_anchor_electrum::ElectrumError;

pub use crate::backend::BROADCAST_WAIT;

/// Errors of the workflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchoringError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store's records are anchored on another network than the
    /// configuration's.
    #[error("the data directory's store is for {store}, not {config}")]
    WrongNetwork {
        /// The store's network.
        store: Network,
        /// The configuration's.
        config: Network,
    },
    /// The wallet failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The server failed.
    #[error(transparent)]
    Electrum(#[from] ElectrumError),
    /// Another chain backend or payer failed.
    #[error("the chain backend or payer failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The chain backend sent a header that fails its checks.
    #[error("the chain backend sent a bad header for height {height}")]
    BadHeader {
        /// The height it was sent for.
        height: u32,
        /// The check it fails.
        #[source]
        source: ServedHeaderError,
    },
    /// The chain backend's merkle branch for a transaction does not lead to
    /// its block header's merkle root.
    #[error(
        "the chain backend's merkle branch for {txid} does not lead to block {height}'s header"
    )]
    BadInclusion {
        /// The transaction.
        txid: Txid,
        /// The block height.
        height: u32,
        /// Why the branch is refused, when it is malformed.
        #[source]
        source: Option<BranchError>,
    },
    /// The chain backend served another number of headers than its tip
    /// height implies.
    #[error("the chain backend sent {got} headers from height {start}, not the {wanted} its tip implies")]
    ShortChain {
        /// The first height asked for.
        start: u32,
        /// Headers asked for.
        wanted: u32,
        /// Headers served.
        got: u32,
    },
    /// The chain backend took a transaction but never showed it.
    #[error("the chain backend did not relay transaction {txid} (it may have been rejected)")]
    NotRelayed {
        /// The transaction.
        txid: Txid,
    },
    /// The tree could not be built.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    /// Nothing is queued and nothing is waiting to be broadcast.
    #[error("nothing to anchor: no record is queued")]
    EmptyQueue,
    /// A data directory that chains its anchors on a seal anchors one
    /// batch at a time: the previous one has not confirmed yet.
    #[error(
        "the previous anchor (batch {batch_id}) has not confirmed yet: the next spends its seal"
    )]
    SealInFlight {
        /// The unconfirmed batch.
        batch_id: i64,
    },
    /// A transaction the wallet built that does not carry the seal on:
    /// it does not spend the previous seal, or has no seal output.
    #[error("transaction {txid} does not carry the seal on")]
    SealBroken {
        /// The transaction.
        txid: Txid,
    },
    /// No fee rate given and the server has no estimate.
    #[error("the server has no fee estimate")]
    NoFeeEstimate,
    /// A fee rate outside what is sensible.
    #[error("fee rate {0} sat/vB is out of range (1 to 10000)")]
    BadFeeRate(f64),
    /// Nothing unconfirmed to bump.
    #[error("no broadcast batch is waiting for confirmation")]
    NothingToBump,
    /// A proof file could not be written.
    #[error("cannot write proof {path}")]
    WriteProof {
        /// The proof file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The stored transaction does not commit to its batch root.
    #[error("stored transaction {0} has no commitment to its batch root")]
    NoCommitmentOutput(Txid),
    /// A proof built for writing does not pass the library's own verifier,
    /// so no proof of its batch (or stamp) was written: a bug, or data
    /// from the backend that slipped past the workflow's checks.
    #[error("the proof built for {path} does not verify; no proof was written")]
    ProofInvalid {
        /// Where the proof was to be written.
        path: PathBuf,
        /// Why it does not verify.
        #[source]
        source: Box<VerifyError>,
    },
    /// A final batch's proofs could not be sealed.
    #[error("cannot seal the proofs of batch {batch_id}")]
    Seal {
        /// The batch.
        batch_id: i64,
        /// Why.
        #[source]
        source: SealError,
    },
}

/// A record to stamp.
#[derive(Debug, Clone)]
pub struct StampItem {
    /// SHA-256 of the document.
    pub digest: RecordDigest,
    /// What it is (a path, or a label for a bare digest).
    pub label: String,
    /// Where its proof goes.
    pub proof_path: PathBuf,
}

/// What [`Anchoring::rewrite_all`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Proof files written.
    pub written: usize,
    /// Proofs of batches completed by a version that kept no block, not
    /// written (restore them from a backup).
    pub missing_complete: Vec<PathBuf>,
}

/// What became of one item of [`Anchoring::stamp`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StampOutcome {
    /// Newly queued; its queued proof is written.
    Queued,
    /// A new version of a document stamped before at the same proof path:
    /// queued, and the older version's proof (its record unchanged) moved
    /// to `older`, [`btc_anchor::file::older_version_proof_path`].
    Amended {
        /// Where the older version's proof is now.
        older: PathBuf,
    },
    /// Stamped before with this digest and proof path: nothing to do.
    Already,
    /// Stamped before, but its proof file was missing: written again from
    /// the store.
    Rewritten,
    /// Stamped before, and its proof file is missing, but cannot be written
    /// from the store alone: its batch is final, and a complete proof
    /// carries a block the store does not keep. Restore it from a backup.
    MissingComplete,
    /// Not stamped: the proof path holds a proof this store did not write
    /// (another data directory's, perhaps complete), which is never
    /// overwritten, or one taken by another item of the same call.
    ProofExists,
}

impl StampOutcome {
    /// Whether the item was not stamped.
    pub fn is_refused(&self) -> bool {
        matches!(self, StampOutcome::ProofExists)
    }
}

/// What a stamp did: one outcome per item, in the items' order, and the
/// counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StampSummary {
    /// Each item's outcome, in order.
    pub outcomes: Vec<StampOutcome>,
    /// Records newly queued (new versions of amended documents included).
    pub queued: usize,
    /// Of those, new versions of documents stamped before.
    pub amended: usize,
    /// Records already stamped with this digest and proof path.
    pub already: usize,
    /// Of those, records whose proof file was missing and is written again.
    pub rewritten: usize,
    /// Of those, records whose proof file is missing and cannot be written
    /// from the store alone ([`StampOutcome::MissingComplete`]).
    pub missing_complete: Vec<PathBuf>,
    /// Items not stamped ([`StampOutcome::ProofExists`]).
    pub refused: usize,
}

/// A step of [`Anchoring::anchor`], reported as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnchorStep {
    /// A batch was fixed (its root).
    Batched {
        /// The batch.
        batch_id: i64,
        /// Its number of records.
        size: u64,
    },
    /// The transaction is signed and stored, not yet broadcast.
    Signed {
        /// The batch.
        batch_id: i64,
        /// The transaction.
        txid: Txid,
    },
    /// A server accepted the transaction (proofs and state not yet
    /// updated).
    Broadcast {
        /// The batch.
        batch_id: i64,
        /// The transaction.
        txid: Txid,
    },
}

/// Fee settings for one anchoring.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeeOptions {
    /// Fee rate in sat/vB; `None` asks the server.
    pub fee_rate: Option<f64>,
    /// Largest fee in satoshis; `None` takes the configuration's.
    pub max_fee_sat: Option<u64>,
}

/// The result of anchoring one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchored {
    /// The batch.
    pub batch_id: i64,
    /// Its number of records.
    pub size: u64,
    /// The transaction.
    pub txid: Txid,
    /// Fee paid.
    pub fee: Amount,
    /// Its virtual size.
    pub vsize: u64,
    /// Whether this run resumed a batch fixed by an earlier, interrupted run.
    pub resumed: bool,
}

/// What an upgrade found for one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    /// The batch.
    pub batch_id: i64,
    /// Its state now.
    pub state: BatchState,
    /// Where it confirmed.
    pub confirmation: Option<Confirmation>,
    /// Proof files written.
    pub proofs_written: usize,
    /// Records of the batch stamped without paths
    /// ([`RecordPaths::Withheld`]), whose proof files were not written:
    /// [`Anchoring::upgrade_files`] completes them.
    pub without_path: usize,
    /// Whether its block had left the best chain.
    pub reorged: bool,
}

/// What [`Anchoring::upgrade_files`] did with one proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileUpgrade {
    /// The complete proof, verified, is written in place.
    Completed {
        /// Its block height.
        height: u32,
    },
    /// Complete already: left alone.
    AlreadyComplete,
    /// Its batch is not complete yet: left alone.
    Waiting {
        /// How far along it is.
        stage: Stage,
        /// The anchoring transaction, once broadcast.
        txid: Option<Txid>,
    },
    /// No record of this store has the file's digest and salt (another
    /// data directory's proof): left alone.
    Unknown,
    /// No file at the path: a document never stamped, or whose proof was
    /// moved.
    Missing,
    /// A native proof of another network: left alone.
    OtherNetwork {
        /// Its network.
        network: Network,
    },
    /// The file is damaged, or not a native proof (a `.ots` file, say):
    /// left alone.
    NotAProof,
    /// Its batch was completed by a version that kept no block, so its
    /// complete proof cannot be rebuilt: left alone.
    BlockNotKept,
}

impl From<NotPending> for FileUpgrade {
    fn from(why: NotPending) -> FileUpgrade {
        match why {
            NotPending::Missing => FileUpgrade::Missing,
            NotPending::OtherNetwork(network) => FileUpgrade::OtherNetwork { network },
            NotPending::NotAProof => FileUpgrade::NotAProof,
        }
    }
}

/// The status of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStatus {
    /// The batch.
    pub batch: StoredBatch,
    /// Its transactions, oldest first.
    pub txs: Vec<StoredTx>,
}

/// What [`Anchoring::seal_final`] did for one final batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// The batch.
    pub batch_id: i64,
    /// Its block's height.
    pub height: u32,
    /// The block's difficulty epoch.
    pub epoch: u32,
    /// The epoch's last block's height.
    pub epoch_end: u32,
    /// What happened.
    pub outcome: BatchSeal,
}

/// The outcome of sealing one final batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchSeal {
    /// Its proofs were rewritten, carrying every header up to the epoch's
    /// last block.
    Sealed {
        /// Proof files written.
        proofs_written: usize,
    },
    /// Its epoch has not closed yet; nothing was written.
    EpochOpen {
        /// Blocks still to be mined before the epoch closes.
        blocks_to_go: u32,
    },
}

/// What the workflow does with the proofs of a batch that moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProofFiles {
    /// Each record's proof file is written at its proof path (the command
    /// line's way: proofs beside the documents).
    #[default]
    Written,
    /// No proof file is written: every proof is verified all the same, and
    /// a final batch's block is kept in the store, from which
    /// [`Anchoring::current_proofs`] (or a reader of the store) builds
    /// any proof on demand. For a calendar server, whose records have no
    /// document beside them.
    StoreOnly,
}

/// What the store keeps of the records [`Anchoring::stamp`] queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecordPaths {
    /// Each record's label and absolute proof path: later steps write its
    /// proof file by themselves.
    #[default]
    Stored,
    /// No path at all: no label, no proof path (file paths at a clinic may
    /// name patients). The queued proof is written beside the document all
    /// the same; later proofs are written by [`Anchoring::upgrade_files`],
    /// which finds the proof files by their content (digest and salt), or
    /// from the store on demand ([`Anchoring::current_proofs`]).
    Withheld,
}

/// A long step of the workflow, as [`Progress`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// [`Anchoring::stamp`]: the items looked up in the store.
    Stamp,
    /// Proof files written: the queued ones of a stamp, the complete ones
    /// of a batch ([`Anchoring::upgrade`], [`Anchoring::seal_final`]).
    WriteProofs,
    /// [`Anchoring::anchor`]: the queued records put in the batch's tree.
    Anchor,
    /// [`Anchoring::upgrade_files`]: the proof files looked at.
    ProofFiles,
}

/// Where the workflow reports how far a long step has got, in records,
/// for a progress bar ([`Anchoring::set_progress`]). Called from several
/// threads at once.
pub trait Progress: Send + Sync {
    /// A step over `total` records begins.
    fn begin(&self, step: Step, total: u64);
    /// `n` more records of the step are done.
    fn advance(&self, n: u64);
    /// The step is over (done, or stopped by an error).
    fn end(&self);
}

/// The progress sink of an [`Anchoring`], if any.
#[derive(Clone, Default)]
struct Reporter(Option<std::sync::Arc<dyn Progress>>);

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reporter(set)"
        } else {
            "Reporter(none)"
        })
    }
}

impl Reporter {
    /// Begins `step`; the step ends when the guard is dropped.
    fn begin(&self, step: Step, total: usize) -> StepGuard<'_> {
        if let Some(p) = &self.0 {
            p.begin(step, total as u64);
        }
        StepGuard(self)
    }

    fn advance(&self, n: usize) {
        if let Some(p) = &self.0 {
            p.advance(n as u64);
        }
    }
}

/// Ends a step when dropped, on success and on error alike.
struct StepGuard<'a>(&'a Reporter);

impl Drop for StepGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = &self.0 .0 {
            p.end();
        }
    }
}

/// The workflow over one data directory, holding its lock.
#[derive(Debug)]
pub struct Anchoring {
    data_dir: PathBuf,
    config: Config,
    store: Box<dyn Journal>,
    proof_files: ProofFiles,
    record_paths: RecordPaths,
    progress: Reporter,
    page: usize,
    _lock: DataLock,
}

/// Records read from the store, or files stamped, per step of a long
/// command by default ([`Anchoring::set_page_size`]): what a command holds
/// of its records at once, whatever their number. A large batch holds
/// only its tree besides (64 bytes a record).
pub const PAGE_SIZE: usize = 10_000;

fn fee_rate_from(sat_per_vb: f64) -> Result<FeeRate, AnchoringError> {
    if !(1.0..=10_000.0).contains(&sat_per_vb) {
        return Err(AnchoringError::BadFeeRate(sat_per_vb));
    }
    Ok(FeeRate::from_sat_per_kwu((sat_per_vb * 250.0).ceil() as u64))
}

/// Checks that `tx` carries `seal` on: output [`SEAL_VOUT`] of
/// [`SEAL_VALUE`], and the previous seal output among its inputs.
fn check_seal(tx: &Transaction, seal: Option<Seal>) -> Result<(), AnchoringError> {
    let Some(seal) = seal else {
        return Ok(());
    };
    let output = tx
        .output
        .get(SEAL_VOUT as usize)
        .is_some_and(|o| o.value == SEAL_VALUE && !o.script_pubkey.is_op_return());
    let spent = seal
        .spend
        .is_none_or(|p| tx.input.iter().any(|i| i.previous_output == p));
    if output && spent {
        Ok(())
    } else {
        Err(AnchoringError::SealBroken {
            txid: tx.compute_txid(),
        })
    }
}

fn commitment_output(tx: &Transaction, root: &[u8; 32]) -> Option<u32> {
    let script = commitment_script(root);
    tx.output
        .iter()
        .position(|o| o.script_pubkey == script)
        .map(|i| i as u32)
}

impl Anchoring {
    /// Opens the data directory, taking its lock (fails at once if another
    /// command holds it). A new store records `config.network`; a store
    /// recorded for another network is refused
    /// ([`AnchoringError::WrongNetwork`]), so that records queued for one
    /// network are never anchored on another.
    pub fn open(data_dir: &Path, config: Config) -> Result<Anchoring, AnchoringError> {
        let lock = DataLock::acquire(data_dir)?;
        let store = Store::open(data_dir)?;
        Self::with_journal(data_dir, lock, Box::new(store), config)
    }

    /// The workflow over another journal than the data directory's own
    /// store (a calendar server's shared PostgreSQL one), the data
    /// directory still holding the configuration and the wallet, and
    /// `lock` on it. The journal's network is checked, or recorded, as
    /// [`Anchoring::open`] does.
    pub fn with_journal(
        data_dir: &Path,
        lock: DataLock,
        mut store: Box<dyn Journal>,
        config: Config,
    ) -> Result<Anchoring, AnchoringError> {
        // A data directory serves one network for good: recorded on first
        // use, refused on any other.
        match store.network()? {
            Some(n) if n != config.network => {
                return Err(AnchoringError::WrongNetwork {
                    store: n,
                    config: config.network,
                })
            }
            Some(_) => {}
            None => store.record_network(config.network)?,
        }
        Ok(Anchoring {
            data_dir: data_dir.to_path_buf(),
            config,
            store,
            proof_files: ProofFiles::default(),
            record_paths: RecordPaths::default(),
            progress: Reporter::default(),
            page: PAGE_SIZE,
            _lock: lock,
        })
    }

    /// Chooses what [`Anchoring::upgrade`] and [`Anchoring::seal_final`]
    /// do with the proofs of the batches they move on (default:
    /// [`ProofFiles::Written`]).
    pub fn set_proof_files(&mut self, proof_files: ProofFiles) {
        self.proof_files = proof_files;
    }

    /// Chooses what the store keeps of the records [`Anchoring::stamp`]
    /// queues from now on (default: [`RecordPaths::Stored`]).
    pub fn set_record_paths(&mut self, paths: RecordPaths) {
        self.record_paths = paths;
    }

    /// Reads at most `records` records from the store per step from now on
    /// (default [`PAGE_SIZE`]; at least 1): less memory, more steps. A
    /// caller stamping many files hands [`Anchoring::stamp`] as many at a
    /// time.
    pub fn set_page_size(&mut self, records: usize) {
        self.page = records.max(1);
    }

    /// Records per step ([`Anchoring::set_page_size`]).
    pub fn page_size(&self) -> usize {
        self.page
    }

    /// Reports the progress of the long steps (stamping, anchoring,
    /// writing proofs) to `progress` from now on.
    pub fn set_progress(&mut self, progress: std::sync::Arc<dyn Progress>) {
        self.progress = Reporter(Some(progress));
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The journal (read access).
    pub fn store(&self) -> &dyn Journal {
        self.store.as_ref()
    }

    fn network(&self) -> Network {
        self.config.network
    }

    /// The record whose proof is at `absolute`; failing that, one an
    /// earlier version stored under the path as given (`given`, relative to
    /// the folder it was stamped in), whose path is then made absolute.
    fn stored_at(
        &mut self,
        absolute: &Path,
        given: &Path,
    ) -> Result<Option<StoredRecord>, AnchoringError> {
        if let Some(r) = self.store.record_at_proof_path(absolute)? {
            return Ok(Some(r));
        }
        if given.is_absolute() {
            return Ok(None);
        }
        match self.store.record_at_proof_path(given)? {
            Some(r) => {
                self.store.set_proof_path(r.id, absolute)?;
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// Queues records and writes a queued proof for each. A record already
    /// stamped with the same digest and proof path is skipped; a proof path
    /// holding another record's proof, or any file this store did not write,
    /// is refused before anything is queued. Proof paths are stored
    /// absolute, so that later calls find the proofs from any working
    /// directory.
    ///
    /// With [`RecordPaths::Withheld`], the store keeps neither label nor
    /// proof path, and a record is recognised by its proof file's content
    /// instead: a file at the proof path that proves one of this store's
    /// records with the same digest is already stamped, one proving another
    /// digest is an older version (moved aside as above), and with no file
    /// a record stamped before without paths with the same digest has its
    /// current proof written there.
    pub fn stamp(&mut self, items: &[StampItem]) -> Result<StampSummary, AnchoringError> {
        // The store keeps every proof path absolute, so that later commands
        // find the proofs from any working directory.
        // A folder of many files is resolved once.
        let mut folders = HashMap::new();
        let items = items
            .iter()
            .map(|i| {
                let proof_path = absolute_path(&i.proof_path, &mut folders).map_err(|source| {
                    AnchoringError::WriteProof {
                        path: i.proof_path.clone(),
                        source,
                    }
                })?;
                Ok((i, proof_path))
            })
            .collect::<Result<Vec<_>, AnchoringError>>()?;
        if self.record_paths == RecordPaths::Withheld {
            return self.stamp_withheld(&items);
        }
        // Proof paths taken by earlier items of this same call.
        let mut this_call: HashMap<&Path, RecordDigest> = HashMap::new();
        let mut new = Vec::new();
        // Per new record: its item, and for a new version, the older
        // record's id and where its proof moves.
        let mut new_items = Vec::new();
        let mut missing = Vec::new();
        let mut summary = StampSummary {
            outcomes: vec![StampOutcome::Already; items.len()],
            ..StampSummary::default()
        };
        let progress = self.progress.clone();
        let step = progress.begin(Step::Stamp, items.len());
        for (n, (item, proof_path)) in items.iter().enumerate() {
            progress.advance(1);
            let (known, stored) = match this_call.get(proof_path.as_path()) {
                Some(d) => (Some(*d), None),
                None => {
                    let r = self.stored_at(proof_path, &item.proof_path)?;
                    (r.as_ref().map(|r| r.digest), r)
                }
            };
            let older = match (known, stored) {
                (Some(d), stored) if d == item.digest => {
                    summary.already += 1;
                    // Stamped before, but its proof file is gone (deleted,
                    // or never written before a crash): written again.
                    if let Some(r) = stored.filter(|_| !proof_path.exists()) {
                        missing.push((n, r));
                    }
                    continue;
                }
                // Two versions at one proof path in the same call.
                (Some(_), None) => {
                    summary.outcomes[n] = StampOutcome::ProofExists;
                    summary.refused += 1;
                    continue;
                }
                // A new version of a document stamped before: the older
                // proof moves aside, under its digest, and stays valid.
                (Some(_), Some(r)) => {
                    let to = older_version_proof_path(proof_path, &r.digest);
                    // Only the older record's own proof is moved: a file
                    // put there since (another data directory's proof) is
                    // never touched.
                    let ours = || {
                        read_proof_file(proof_path)
                            .is_ok_and(|p| p.record.digest == r.digest && p.record.salt == r.salt)
                    };
                    if proof_path.exists() && (to.exists() || !ours()) {
                        summary.outcomes[n] = StampOutcome::ProofExists;
                        summary.refused += 1;
                        continue;
                    }
                    Some((r.id, to))
                }
                // A file this store did not write (another data
                // directory's proof, complete perhaps): never overwritten.
                (None, _) if proof_path.exists() => {
                    summary.outcomes[n] = StampOutcome::ProofExists;
                    summary.refused += 1;
                    continue;
                }
                (None, _) => None,
            };
            this_call.insert(proof_path, item.digest);
            new.push((
                item.digest,
                Salt::random()?,
                item.label.clone(),
                proof_path.clone(),
            ));
            new_items.push((n, older));
        }
        // Each queued proof is verified before anything is stored, moved or
        // written, and built again to be written: cheap, and no proof of a
        // large stamp is held in memory.
        let network = self.network();
        let queued = |digest: RecordDigest, salt: &Salt| Proof {
            network,
            record: Record {
                digest,
                salt: salt.clone(),
            },
            batch: None,
            anchor: None,
        };
        {
            use rayon::prelude::*;
            new.par_iter().try_for_each(|(digest, salt, _, path)| {
                check_proof(&queued(*digest, salt), path)
            })?;
        }
        // Older versions first: each older proof is moved aside, then its
        // record follows it in the store. A crash between the two leaves
        // the record at a path with no file, and the next stamp moves it
        // again (there is nothing left to move); a crash after leaves the
        // new version unqueued, and the next stamp queues it.
        for ((_, _, _, path), (_, older)) in new.iter().zip(&new_items) {
            if let Some((id, to)) = older {
                move_proof(path, to)?;
                self.store.set_proof_path(*id, to)?;
            }
        }
        // Committed before any proof file is written: a crash here loses
        // nothing, the proofs are rewritten when the batch moves on.
        self.store.add_records(&new)?;
        drop(step);
        let _step = progress.begin(Step::WriteProofs, new.len());
        // Creating files is latency-bound: several written at once.
        proof_writers(&self.data_dir)?.install(|| {
            use rayon::prelude::*;
            new.par_iter().try_for_each(|(digest, salt, _, path)| {
                // Not flushed: the store holds the record, and the proof is
                // written again when its batch moves on.
                write_proof(path, &queued(*digest, salt), false)?;
                progress.advance(1);
                Ok::<_, AnchoringError>(())
            })
        })?;
        for (n, older) in new_items {
            summary.queued += 1;
            summary.outcomes[n] = match older {
                Some((_, older)) => {
                    summary.amended += 1;
                    StampOutcome::Amended { older }
                }
                None => StampOutcome::Queued,
            };
        }
        self.rewrite_proofs(&missing, &mut summary)?;
        Ok(summary)
    }

    /// [`Anchoring::stamp`] with [`RecordPaths::Withheld`]: `items` with
    /// their absolute proof paths.
    fn stamp_withheld(
        &mut self,
        items: &[(&StampItem, PathBuf)],
    ) -> Result<StampSummary, AnchoringError> {
        // Records are found by digest here, once per item.
        self.store.index_digests()?;
        let mut summary = StampSummary {
            outcomes: vec![StampOutcome::Already; items.len()],
            ..StampSummary::default()
        };
        let mut this_call: HashSet<&Path> = HashSet::new();
        // Per new record: its item's index, its salt, and for a new version
        // where the older proof moves.
        let mut new: Vec<(usize, Salt, Option<PathBuf>)> = Vec::new();
        // Records stamped before without paths whose proof is missing here:
        // the item's index and the record.
        let mut missing: Vec<(usize, StoredRecord)> = Vec::new();
        let progress = self.progress.clone();
        let step = progress.begin(Step::Stamp, items.len());
        for (n, (item, proof_path)) in items.iter().enumerate() {
            progress.advance(1);
            if !this_call.insert(proof_path.as_path()) {
                summary.outcomes[n] = StampOutcome::ProofExists;
                summary.refused += 1;
                continue;
            }
            let older = if std::fs::symlink_metadata(proof_path).is_ok() {
                match self.record_of_proof_file(proof_path)? {
                    // This very record: nothing to do.
                    Some(r) if r.digest == item.digest => {
                        summary.already += 1;
                        continue;
                    }
                    // An older version's proof, which moves aside.
                    Some(r) => {
                        let to = older_version_proof_path(proof_path, &r.digest);
                        if std::fs::symlink_metadata(&to).is_ok() {
                            summary.outcomes[n] = StampOutcome::ProofExists;
                            summary.refused += 1;
                            continue;
                        }
                        Some(to)
                    }
                    // Not this store's: never overwritten.
                    None => {
                        summary.outcomes[n] = StampOutcome::ProofExists;
                        summary.refused += 1;
                        continue;
                    }
                }
            } else {
                let before = self
                    .store
                    .records_with_digest(&item.digest)?
                    .into_iter()
                    .find(|r| !r.has_proof_path());
                if let Some(r) = before {
                    summary.already += 1;
                    missing.push((n, r));
                    continue;
                }
                None
            };
            new.push((n, Salt::random()?, older));
        }
        for (n, salt, _) in &new {
            let (item, path) = &items[*n];
            check_proof(&self.queued_proof(item.digest, salt.clone()), path)?;
        }
        for (n, _, older) in &new {
            if let Some(to) = older {
                move_proof(&items[*n].1, to)?;
            }
        }
        let rows: Vec<_> = new
            .iter()
            .map(|(n, salt, _)| {
                (
                    items[*n].0.digest,
                    salt.clone(),
                    String::new(),
                    PathBuf::new(),
                )
            })
            .collect();
        self.store.add_records(&rows)?;
        drop(step);
        let write_step = progress.begin(Step::WriteProofs, new.len());
        for (n, salt, older) in new {
            let (item, path) = &items[n];
            write_proof(path, &self.queued_proof(item.digest, salt), false)?;
            progress.advance(1);
            summary.queued += 1;
            summary.outcomes[n] = match older {
                Some(older) => {
                    summary.amended += 1;
                    StampOutcome::Amended { older }
                }
                None => StampOutcome::Queued,
            };
        }
        drop(write_step);
        // The current proofs of records stamped before, where they are
        // missing.
        let records: Vec<&StoredRecord> = missing.iter().map(|(_, r)| r).collect();
        let mut complete = Vec::new();
        let mut written = vec![false; records.len()];
        self.each_current_proof(&records, &mut |i, proof| {
            if let Some(proof) = proof {
                let path = &items[missing[i].0].1;
                write_proof(path, &proof, false)?;
                if proof.stage() == Stage::Confirmed {
                    complete.push(path.as_path());
                }
                written[i] = true;
            }
            Ok(())
        })?;
        sync_file_systems(complete.into_iter())?;
        for ((n, _), written) in missing.iter().zip(written) {
            if written {
                summary.rewritten += 1;
                summary.outcomes[*n] = StampOutcome::Rewritten;
            } else {
                summary.missing_complete.push(items[*n].1.clone());
                summary.outcomes[*n] = StampOutcome::MissingComplete;
            }
        }
        Ok(summary)
    }

    /// The record of this store that the proof file at `path` proves (its
    /// digest and salt, on this network), if it is one.
    fn record_of_proof_file(&self, path: &Path) -> Result<Option<StoredRecord>, AnchoringError> {
        let Ok(proof) = read_proof_file(path) else {
            return Ok(None);
        };
        if proof.network != self.network() {
            return Ok(None);
        }
        Ok(self
            .store
            .records_with_digest(&proof.record.digest)?
            .into_iter()
            .find(|r| r.salt == proof.record.salt))
    }

    /// Completes proof files found by path: for each file of `proofs` that
    /// is a pending proof of one of this store's records (matched by digest
    /// and salt, whatever the store knows of its path), writes the
    /// record's complete proof in place, once its batch is complete
    /// ([`Anchoring::upgrade`] moves the batches on first). Each proof is
    /// verified before it is written; the files written are flushed to
    /// disk together at the end. This is how the proofs of records stamped
    /// with [`RecordPaths::Withheld`] are completed; others' are completed
    /// too.
    ///
    /// # Errors
    ///
    /// A store that cannot be read, a proof that does not verify, or a
    /// file that cannot be written (files written before it stay written).
    pub fn upgrade_files(&self, proofs: &[PathBuf]) -> Result<Vec<FileUpgrade>, AnchoringError> {
        // Records are found by digest, once per file.
        self.store.index_digests()?;
        let mut outcomes: Vec<Option<FileUpgrade>> = Vec::with_capacity(proofs.len());
        // The files to look up in the store: index in `proofs`, record.
        let mut found: Vec<(usize, StoredRecord)> = Vec::new();
        let _step = self.progress.begin(Step::ProofFiles, proofs.len());
        for (i, path) in proofs.iter().enumerate() {
            self.progress.advance(1);
            let local = match crate::remote::pending_candidate(path, self.network()) {
                Ok(p) => p,
                Err(why) => {
                    outcomes.push(Some(why.into()));
                    continue;
                }
            };
            if local.stage() == Stage::Confirmed {
                outcomes.push(Some(FileUpgrade::AlreadyComplete));
                continue;
            }
            let record = self
                .store
                .records_with_digest(&local.record.digest)?
                .into_iter()
                .find(|r| r.salt == local.record.salt);
            match record {
                Some(r) => {
                    outcomes.push(None);
                    found.push((i, r));
                }
                None => outcomes.push(Some(FileUpgrade::Unknown)),
            }
        }
        let records: Vec<&StoredRecord> = found.iter().map(|(_, r)| r).collect();
        let mut written = Vec::new();
        self.each_current_proof(&records, &mut |k, proof| {
            let i = found[k].0;
            outcomes[i] = Some(match proof {
                None => FileUpgrade::BlockNotKept,
                Some(p) => match p.anchor.as_ref().and_then(|a| a.block.as_ref()) {
                    Some(block) => {
                        let height = block.height;
                        write_proof(&proofs[i], &p, false)?;
                        written.push(proofs[i].as_path());
                        FileUpgrade::Completed { height }
                    }
                    None => FileUpgrade::Waiting {
                        stage: p.stage(),
                        txid: p.anchor.as_ref().map(|a| a.tx.compute_txid()),
                    },
                },
            });
            Ok(())
        })?;
        sync_file_systems(written.into_iter())?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(FileUpgrade::Unknown))
            .collect())
    }

    /// The block part kept for a final batch ([`Store::set_batch_block`]).
    fn kept_block(&self, batch_id: i64) -> Result<Option<BlockProof>, AnchoringError> {
        let Some(json) = self.store.batch_block(batch_id)? else {
            return Ok(None);
        };
        let damaged = StoreError::Damaged {
            what: "kept block of a batch",
            row: batch_id,
        };
        let proof = Proof::from_json(json.as_bytes()).map_err(|_| damaged)?;
        Ok(proof.anchor.and_then(|a| a.block))
    }

    /// A queued record's proof.
    fn queued_proof(&self, digest: RecordDigest, salt: Salt) -> Proof {
        Proof {
            network: self.network(),
            record: Record { digest, salt },
            batch: None,
            anchor: None,
        }
    }

    /// Writes the current proofs of `missing` again, from the store
    /// ([`Anchoring::each_current_proof`]). A record whose batch was
    /// completed by a version that kept no block is only listed in
    /// `summary`.
    fn rewrite_proofs(
        &self,
        missing: &[(usize, StoredRecord)],
        summary: &mut StampSummary,
    ) -> Result<(), AnchoringError> {
        let records: Vec<&StoredRecord> = missing.iter().map(|(_, r)| r).collect();
        let written = self.write_current_proofs(&records)?;
        for ((n, record), written) in missing.iter().zip(written) {
            if written {
                summary.rewritten += 1;
                summary.outcomes[*n] = StampOutcome::Rewritten;
            } else {
                summary.missing_complete.push(record.proof_path.clone());
                summary.outcomes[*n] = StampOutcome::MissingComplete;
            }
        }
        Ok(())
    }

    /// Writes the current proof of each of `records` to its proof path
    /// ([`Anchoring::each_current_proof`]), complete ones made durable
    /// with one flush of their file systems. Says for each whether it was
    /// written: not for a record whose batch was completed by a version
    /// that kept no block.
    fn write_current_proofs(&self, records: &[&StoredRecord]) -> Result<Vec<bool>, AnchoringError> {
        let mut written = vec![false; records.len()];
        let mut complete = Vec::new();
        self.each_current_proof(records, &mut |i, proof| {
            if let Some(proof) = proof.filter(|_| records[i].has_proof_path()) {
                write_proof(&records[i].proof_path, &proof, false)?;
                if proof.stage() == Stage::Confirmed {
                    complete.push(records[i].proof_path.as_path());
                }
                written[i] = true;
            }
            Ok(())
        })?;
        sync_file_systems(complete.into_iter())?;
        Ok(written)
    }

    /// The current proof of each of `records`, rebuilt from the store and
    /// verified: queued, batched, with the batch's newest transaction (the
    /// confirmed one once confirmed), or complete with the block kept for
    /// the batch. `None` for a record whose batch was completed by a
    /// version that kept no block: its complete proof carries a block the
    /// store does not hold.
    ///
    /// # Errors
    ///
    /// A store that cannot be read or is damaged, or a proof that does not
    /// verify.
    pub fn current_proofs(
        &self,
        records: &[StoredRecord],
    ) -> Result<Vec<Option<Proof>>, AnchoringError> {
        let refs: Vec<&StoredRecord> = records.iter().collect();
        let mut out = vec![None; records.len()];
        self.each_current_proof(&refs, &mut |i, proof| {
            out[i] = proof;
            Ok(())
        })?;
        Ok(out)
    }

    /// Writes every record's proof file again from the store (each
    /// verified first; complete ones flushed to disk): for proof files
    /// lost, damaged or edited. Records whose batch was completed by a
    /// version that kept no block are listed, not written; records stamped
    /// without paths are left to [`Anchoring::upgrade_files`].
    ///
    /// # Errors
    ///
    /// As [`Anchoring::current_proofs`], or a proof file that cannot be
    /// written.
    pub fn rewrite_all(&mut self) -> Result<Rewritten, AnchoringError> {
        // Records stamped without paths have no file the store knows of:
        // `upgrade_files` finds theirs. Read a page at a time, one batch
        // after another: no more than a page of records and one batch's
        // tree are held.
        let mut done = Rewritten::default();
        self.each_queued_page(&mut |page| {
            for r in page.iter().filter(|r| r.has_proof_path()) {
                let proof = self.queued_proof(r.digest, r.salt.clone());
                check_proof(&proof, &r.proof_path)?;
                write_proof(&r.proof_path, &proof, false)?;
                done.written += 1;
            }
            Ok(())
        })?;
        let all = [
            BatchState::Batched,
            BatchState::Broadcast,
            BatchState::Confirmed,
            BatchState::Final,
        ];
        for batch in self.store.batches_in(&all)? {
            let txs = self.store.batch_txs(batch.id)?;
            let block = match batch.state {
                BatchState::Final => match self.kept_block(batch.id)? {
                    Some(block) => Some(block),
                    None => {
                        self.each_batch_page(&batch, &mut |page| {
                            done.missing_complete.extend(
                                page.iter()
                                    .filter(|r| r.has_proof_path())
                                    .map(|r| r.proof_path.clone()),
                            );
                            Ok(())
                        })?;
                        continue;
                    }
                },
                _ => None,
            };
            let tx = batch_tx(&batch, &txs).map(|t| &t.tx);
            // Each file replaced whole: complete proofs may be final.
            let (written, _) = self.write_batch_proofs(&batch, tx, block, false)?;
            done.written += written;
        }
        Ok(done)
    }

    /// Calls `each` with the index in `records` and the current proof of
    /// every record ([`Anchoring::current_proofs`]), one batch at a time:
    /// each batch's tree is built once however many of its records are
    /// asked for, and no more than one proof is held at a time.
    fn each_current_proof(
        &self,
        records: &[&StoredRecord],
        each: &mut dyn FnMut(usize, Option<Proof>) -> Result<(), AnchoringError>,
    ) -> Result<(), AnchoringError> {
        let mut by_batch: BTreeMap<i64, Vec<(usize, &StoredRecord)>> = BTreeMap::new();
        for (i, record) in records.iter().enumerate() {
            match record.batch {
                None => {
                    let proof = self.queued_proof(record.digest, record.salt.clone());
                    check_proof(&proof, &record.proof_path)?;
                    each(i, Some(proof))?;
                }
                Some((batch_id, _)) => by_batch.entry(batch_id).or_default().push((i, record)),
            }
        }
        for (batch_id, wanted) in by_batch {
            let batch = self.store.batch(batch_id)?.ok_or(StoreError::Damaged {
                what: "record (its batch is not stored)",
                row: wanted[0].1.id,
            })?;
            let txs = self.store.batch_txs(batch_id)?;
            let tx = batch_tx(&batch, &txs);
            // A final batch's proofs carry its block, kept in the store;
            // a batch completed by a version that kept none has none.
            let block = match batch.state {
                BatchState::Final => match self.kept_block(batch_id)? {
                    Some(block) => Some(block),
                    None => {
                        for (i, _) in wanted {
                            each(i, None)?;
                        }
                        continue;
                    }
                },
                _ => None,
            };
            let tree = self.batch_tree(&batch)?;
            let proofs = self.batch_proofs(&batch, &tree, tx.map(|t| &t.tx), block)?;
            for (i, record) in wanted {
                // The record is the leaf its index names in the tree.
                let leaf = leaf_index(record)?;
                if tree.leaf(leaf) != Some(record_leaf(&record.salt, &record.digest)) {
                    return Err(StoreError::Damaged {
                        what: "record (not among its batch's records)",
                        row: record.id,
                    }
                    .into());
                }
                let proof = proofs.proof(record, true)?;
                check_proof(&proof, &record.proof_path)?;
                each(i, Some(proof))?;
            }
        }
        Ok(())
    }

    fn checked<'c, C: ChainBackend>(&self, chain: &'c C) -> Checked<'c, C> {
        Checked::new(chain, self.network())
    }

    fn fee_rate<C: ChainBackend>(
        &self,
        chain: &Checked<'_, C>,
        fees: &FeeOptions,
    ) -> Result<FeeRate, AnchoringError> {
        if let Some(r) = fees.fee_rate {
            return fee_rate_from(r);
        }
        if let Some(r) = chain.estimate_fee_rate(self.config.fee_target_blocks)? {
            return Ok(r);
        }
        match self.config.fallback_fee_rate {
            Some(r) => fee_rate_from(r),
            None => Err(AnchoringError::NoFeeEstimate),
        }
    }

    fn max_fee(&self, fees: &FeeOptions) -> Amount {
        Amount::from_sat(fees.max_fee_sat.unwrap_or(self.config.max_fee_sat))
    }

    /// Anchors: finishes any batch an interrupted run left unbroadcast, then
    /// fixes one batch over everything queued and commits its root in one
    /// transaction, paid by `payer` and broadcast through `chain`.
    /// `on_step` hears each step as it is made durable.
    pub fn anchor<P: Payer, C: ChainBackend>(
        &mut self,
        payer: &mut P,
        chain: &C,
        fees: &FeeOptions,
        on_step: &mut dyn FnMut(AnchorStep),
    ) -> Result<Vec<Anchored>, AnchoringError> {
        let chain = &self.checked(chain);
        let wallet = payer;
        let mut done = Vec::new();
        // 1. Resume what an interrupted run left: batches fixed but not
        //    accepted by a server.
        for batch in self.store.batches_in(&[BatchState::Batched])? {
            done.push(self.finish_batch(&batch, wallet, chain, fees, on_step, None)?);
        }
        // 2. A new batch over the queue.
        let (queued, _) = self.store.queue_summary()?;
        if queued == 0 {
            if done.is_empty() {
                return Err(AnchoringError::EmptyQueue);
            }
            return Ok(done);
        }
        // A sealed chain anchors one batch at a time: the records stay
        // queued until the previous anchor confirms.
        let seal = match self.next_seal(None) {
            Err(AnchoringError::SealInFlight { .. }) if !done.is_empty() => return Ok(done),
            other => other?,
        };
        // Check funds and fees before fixing the batch, so a wallet without
        // funds leaves the records queued, as they were.
        wallet.sync().map_err(Into::into)?;
        let fee_rate = self.fee_rate(chain, fees)?;
        // The queue is read page by page: only each record's id and leaf
        // are kept (40 bytes a record), not its label and proof path.
        let step = self.progress.begin(Step::Anchor, queued as usize);
        let mut ids = Vec::with_capacity(queued as usize);
        let mut leaves = Vec::with_capacity(queued as usize);
        self.each_queued_page(&mut |page| {
            for r in page {
                ids.push(r.id);
                leaves.push(record_leaf(&r.salt, &r.digest));
            }
            self.progress.advance(page.len());
            Ok(())
        })?;
        drop(step);
        if ids.is_empty() {
            // Taken by another anchorer of a shared journal meanwhile.
            if done.is_empty() {
                return Err(AnchoringError::EmptyQueue);
            }
            return Ok(done);
        }
        let tree = Tree::new(leaves)?;
        let (tx, fee) = wallet
            .build_anchor_tx(&tree.root().0, fee_rate, self.max_fee(fees), seal)
            .map_err(Into::into)?;
        if commitment_output(&tx, &tree.root().0).is_none() {
            return Err(AnchoringError::NoCommitmentOutput(tx.compute_txid()));
        }
        check_seal(&tx, seal)?;
        let batch_id = self.store.create_batch(&tree.root(), &ids)?;
        drop(ids);
        on_step(AnchorStep::Batched {
            batch_id,
            size: tree.size(),
        });
        // Stored before it is broadcast (in `finish_batch`).
        self.store.add_tx(
            batch_id,
            &tx,
            fee.to_sat(),
            fee.to_sat() as f64 / tx.vsize() as f64,
        )?;
        let batch = self.store.batch(batch_id)?.ok_or(StoreError::Damaged {
            what: "batch",
            row: batch_id,
        })?;
        done.push(self.finish_batch(&batch, wallet, chain, fees, on_step, Some(&tree))?);
        Ok(done)
    }

    /// The seal the next anchoring transaction carries on, in a data
    /// directory that chains its anchors (`None` in one that does not):
    /// the seal output of the newest batch's confirmed transaction, or
    /// none to spend for the first anchor. `except` is the batch being
    /// anchored.
    ///
    /// # Errors
    ///
    /// [`AnchoringError::SealInFlight`] while the newest batch with a
    /// transaction is not confirmed.
    fn next_seal(&self, except: Option<i64>) -> Result<Option<Seal>, AnchoringError> {
        if !self.config.seal_chain {
            return Ok(None);
        }
        let mut newest = None;
        for b in self.store.batches()? {
            if Some(b.id) != except && !self.store.batch_txs(b.id)?.is_empty() {
                newest = Some(b);
            }
        }
        match newest {
            None => Ok(Some(Seal { spend: None })),
            Some(b) => match b.confirmation {
                Some(c) => Ok(Some(Seal {
                    spend: Some(OutPoint {
                        txid: c.txid,
                        vout: SEAL_VOUT,
                    }),
                })),
                None => Err(AnchoringError::SealInFlight { batch_id: b.id }),
            },
        }
    }

    fn finish_batch<P: Payer, C: ChainBackend>(
        &mut self,
        batch: &StoredBatch,
        wallet: &mut P,
        server: &Checked<'_, C>,
        fees: &FeeOptions,
        on_step: &mut dyn FnMut(AnchorStep),
        tree: Option<&Tree>,
    ) -> Result<Anchored, AnchoringError> {
        // A batch fixed by this run comes with its tree; one an earlier,
        // interrupted run fixed is resumed, its tree built from the store.
        let resumed = tree.is_none();
        let existing = self.store.batch_txs(batch.id)?;
        let stored = match existing.last() {
            // Signed by an earlier run: broadcast that very transaction,
            // never a second one.
            Some(t) => t.clone(),
            None => {
                let seal = self.next_seal(Some(batch.id))?;
                wallet.sync().map_err(Into::into)?;
                let fee_rate = self.fee_rate(server, fees)?;
                let (tx, fee) = wallet
                    .build_anchor_tx(&batch.root.0, fee_rate, self.max_fee(fees), seal)
                    .map_err(Into::into)?;
                if commitment_output(&tx, &batch.root.0).is_none() {
                    return Err(AnchoringError::NoCommitmentOutput(tx.compute_txid()));
                }
                check_seal(&tx, seal)?;
                let rate = fee.to_sat() as f64 / tx.vsize() as f64;
                self.store.add_tx(batch.id, &tx, fee.to_sat(), rate)?;
                self.store
                    .batch_txs(batch.id)?
                    .pop()
                    .ok_or(StoreError::Damaged {
                        what: "anchoring transaction",
                        row: batch.id,
                    })?
            }
        };
        on_step(AnchorStep::Signed {
            batch_id: batch.id,
            txid: stored.txid,
        });
        wallet.note_sent(&stored.tx).map_err(Into::into)?;
        server.broadcast(&stored.tx)?;
        on_step(AnchorStep::Broadcast {
            batch_id: batch.id,
            txid: stored.txid,
        });
        // No proof file is rewritten before confirmation: the store holds
        // the batch and its transaction durably, the proof files beside the
        // documents keep their stamped (queued) state until upgrade
        // completes them, and `current_proofs` builds a pending one at any
        // time. The transaction is held to one proof of the batch all the
        // same. A crash before the state is marked leaves the batch
        // `batched`, and the next run broadcasts the same transaction again
        // (the server already has it) and finishes here.
        self.check_batch_anchor(batch, &stored.tx, tree)?;
        self.store.mark_broadcast(&stored.txid)?;
        Ok(Anchored {
            batch_id: batch.id,
            size: batch.size,
            txid: stored.txid,
            fee: Amount::from_sat(stored.fee_sat),
            vsize: stored.tx.vsize() as u64,
            resumed,
        })
    }

    /// Replaces the newest unconfirmed batch transaction (RBF) by one
    /// paying `fees.fee_rate` (default: 1.5 times the old rate), committing
    /// to the same root. This also serves a transaction that was signed but
    /// never accepted by a server. Both stay in the store: proofs follow
    /// whichever confirms.
    pub fn bump<P: Payer, C: ChainBackend>(
        &mut self,
        payer: &mut P,
        chain: &C,
        fees: &FeeOptions,
    ) -> Result<Anchored, AnchoringError> {
        let server = &self.checked(chain);
        let wallet = payer;
        let mut batch = None;
        for b in self
            .store
            .batches_in(&[BatchState::Batched, BatchState::Broadcast])?
        {
            if !self.store.batch_txs(b.id)?.is_empty() {
                batch = Some(b);
            }
        }
        let batch = batch.ok_or(AnchoringError::NothingToBump)?;
        let last = self
            .store
            .batch_txs(batch.id)?
            .pop()
            .ok_or(AnchoringError::NothingToBump)?;
        wallet.sync().map_err(Into::into)?;
        wallet.note_sent(&last.tx).map_err(Into::into)?;
        let rate = match fees.fee_rate {
            Some(r) => r,
            None => (last.fee_rate * 1.5).max(last.fee_rate + 1.0),
        };
        let (tx, fee) = wallet
            .build_bump(last.txid, fee_rate_from(rate)?, self.max_fee(fees))
            .map_err(Into::into)?;
        if commitment_output(&tx, &batch.root.0).is_none() {
            return Err(AnchoringError::NoCommitmentOutput(tx.compute_txid()));
        }
        if self.config.seal_chain {
            // The replacement spends every input of the one it replaces
            // (the seal among them) and keeps its seal output.
            let kept = last.tx.input.iter().all(|old| {
                tx.input
                    .iter()
                    .any(|i| i.previous_output == old.previous_output)
            }) && tx.output.get(SEAL_VOUT as usize)
                == last.tx.output.get(SEAL_VOUT as usize);
            if !kept {
                return Err(AnchoringError::SealBroken {
                    txid: tx.compute_txid(),
                });
            }
        }
        let vrate = fee.to_sat() as f64 / tx.vsize() as f64;
        let txid = self.store.add_tx(batch.id, &tx, fee.to_sat(), vrate)?;
        wallet.note_sent(&tx).map_err(Into::into)?;
        server.broadcast(&tx)?;
        self.check_batch_anchor(&batch, &tx, None)?;
        self.store.mark_broadcast(&txid)?;
        Ok(Anchored {
            batch_id: batch.id,
            size: batch.size,
            txid,
            fee,
            vsize: tx.vsize() as u64,
            resumed: false,
        })
    }

    /// Follows every broadcast or shallowly confirmed batch: checks where
    /// its transaction (or a replacement) confirmed, checks the backend's
    /// merkle branch against the (checked) header, sends a batch whose
    /// block left the best chain back to `broadcast`, and at the required
    /// depth writes complete proofs carrying the headers after the block.
    pub fn upgrade<C: ChainBackend>(&mut self, chain: &C) -> Result<Vec<Upgraded>, AnchoringError> {
        let server = &self.checked(chain);
        let mut out = Vec::new();
        let tip = server.tip_height()?;
        for batch in self
            .store
            .batches_in(&[BatchState::Broadcast, BatchState::Confirmed])?
        {
            let mut reorged = false;
            if let Some(c) = batch.confirmation {
                let still = c.height <= tip && server.header(c.height)?.hash == c.block_hash;
                if !still {
                    self.store.unconfirm(batch.id)?;
                    reorged = true;
                }
            }
            let txs = self.store.batch_txs(batch.id)?;
            let mut found = None;
            let mut any_known = false;
            for t in txs.iter().rev() {
                match server.status(&t.tx)? {
                    TxStatus::Confirmed(h) => {
                        found = Some((t, h));
                        break;
                    }
                    TxStatus::Mempool => any_known = true,
                    TxStatus::Unknown => {}
                }
            }
            let Some((t, height)) = found else {
                if !any_known {
                    // Dropped (a reorg, a restarted server): send the
                    // newest transaction again; a failure is not fatal.
                    if let Some(last) = txs.last() {
                        server.rebroadcast(&last.tx);
                    }
                }
                out.push(Upgraded {
                    batch_id: batch.id,
                    state: BatchState::Broadcast,
                    confirmation: None,
                    proofs_written: 0,
                    without_path: 0,
                    reorged,
                });
                continue;
            };
            let (header, inclusion) = server.inclusion(&t.txid, height)?;
            let confirmations = tip.saturating_sub(height) + 1;
            let c = Confirmation {
                txid: t.txid,
                height,
                block_hash: header.hash,
                confirmations,
            };
            if confirmations < self.config.min_depth {
                self.store
                    .set_confirmation(batch.id, &c, BatchState::Confirmed)?;
                out.push(Upgraded {
                    batch_id: batch.id,
                    state: BatchState::Confirmed,
                    confirmation: Some(c),
                    proofs_written: 0,
                    without_path: 0,
                    reorged,
                });
                continue;
            }
            let after_count = (tip - height).min(MAX_HEADERS_AFTER as u32);
            let headers_after = server.headers_after(&header, after_count)?;
            let block = BlockProof {
                height,
                header: header.header,
                tx_index: inclusion.pos,
                branch: inclusion.branch,
                headers_after,
            };
            // Upgraded after the epoch closed, the proofs are sealed already.
            let sealed = block_is_sealed(&block);
            let (written, without_path) =
                self.write_batch_proofs(&batch, Some(&t.tx), Some(block), true)?;
            self.store
                .set_confirmation(batch.id, &c, BatchState::Final)?;
            if sealed {
                self.store.mark_sealed(batch.id, &c.block_hash)?;
            }
            out.push(Upgraded {
                batch_id: batch.id,
                state: BatchState::Final,
                confirmation: Some(c),
                proofs_written: written,
                without_path,
                reorged,
            });
        }
        Ok(out)
    }

    /// Seals the proofs of every final batch whose block's difficulty
    /// epoch has closed on `chain`'s best chain and that is not sealed yet:
    /// rewrites each of its proof files to carry every header up to the
    /// epoch's last block ([`btc_anchor::seal`]), which a checkpoint table pins,
    /// so that the proof places its block in the real chain from the file
    /// alone. Batches whose epoch is still open are reported with the
    /// blocks to go; sealed batches are not looked at again.
    ///
    /// Opt-in, and mind the size: a sealed proof carries up to 2,015 more
    /// headers, about 330 KB of hex, so sealing every proof of a
    /// 100,000-record batch writes some 33 GB. Seal the batches whose
    /// proofs must stand alone for years (or seal single proof files with
    /// [`btc_anchor::seal::seal`] when they are handed out), not all of them by
    /// default.
    ///
    /// The block and its merkle branch are fetched again and checked
    /// against the header the store recorded; the sealed proofs are
    /// verified, like every proof the workflow writes, before any is
    /// written, and flushed to disk before the batch counts as sealed.
    pub fn seal_final<C: ChainBackend>(
        &mut self,
        chain: &C,
    ) -> Result<Vec<SealedBatch>, AnchoringError> {
        let server = &self.checked(chain);
        let tip = server.tip_height()?;
        let mut out = Vec::new();
        for batch in self.store.batches_in(&[BatchState::Final])? {
            let Some(c) = batch.confirmation else {
                continue;
            };
            if self.store.is_sealed(&batch)? {
                continue;
            }
            let epoch = epoch_of(c.height);
            let end = epoch_end(epoch);
            let mut done = SealedBatch {
                batch_id: batch.id,
                height: c.height,
                epoch,
                epoch_end: end,
                outcome: BatchSeal::EpochOpen {
                    blocks_to_go: end.saturating_sub(tip),
                },
            };
            if tip < end {
                out.push(done);
                continue;
            }
            let seal_err = |source| AnchoringError::Seal {
                batch_id: batch.id,
                source,
            };
            let tx = self
                .store
                .batch_txs(batch.id)?
                .into_iter()
                .find(|t| t.txid == c.txid)
                .ok_or(StoreError::Damaged {
                    what: "batch (its confirmed transaction is not stored)",
                    row: batch.id,
                })?;
            let (header, inclusion) = server.inclusion(&c.txid, c.height)?;
            let found = header.hash;
            if found != c.block_hash {
                return Err(seal_err(SealError::NotInChain {
                    height: c.height,
                    expected: c.block_hash,
                    found,
                }));
            }
            let block = BlockProof {
                height: c.height,
                header: header.header,
                tx_index: inclusion.pos,
                branch: inclusion.branch,
                headers_after: Vec::new(),
            };
            // Sealed once, on the first record's proof: every proof of the
            // batch shares the block.
            let first = self.first_record(&batch)?.ok_or(StoreError::Damaged {
                what: "batch (it holds no record)",
                row: batch.id,
            })?;
            let tree = self.batch_tree(&batch)?;
            let first = self
                .batch_proofs(&batch, &tree, Some(&tx.tx), Some(block))?
                .proof(&first, true)?;
            drop(tree);
            let options = VerifyOptions::new(self.network());
            let sealed = match seal(
                &first,
                server as &dyn btc_anchor::headers::HeaderSource,
                &options,
            )
            .map_err(seal_err)?
            {
                Sealed::Extended { proof, .. } => proof,
                Sealed::EpochOpen { blocks_to_go, .. } => {
                    // The server's tip went back between the two calls.
                    done.outcome = BatchSeal::EpochOpen { blocks_to_go };
                    out.push(done);
                    continue;
                }
                // A block at its epoch's last height needs no header after
                // it: rewritten as it is.
                _ => Box::new(first),
            };
            let block = sealed.anchor.and_then(|a| a.block);
            // Complete proofs are replaced whole: none is ever torn.
            let (written, _) = self.write_batch_proofs(&batch, Some(&tx.tx), block, false)?;
            self.store.mark_sealed(batch.id, &c.block_hash)?;
            done.outcome = BatchSeal::Sealed {
                proofs_written: written,
            };
            out.push(done);
        }
        Ok(out)
    }

    /// Checks that `tx` anchors `batch`: the pending proof of its first
    /// record, with `tx`, passes the library's verifier.
    fn check_batch_anchor(
        &self,
        batch: &StoredBatch,
        tx: &Transaction,
        tree: Option<&Tree>,
    ) -> Result<(), AnchoringError> {
        let Some(first) = self.first_record(batch)? else {
            return Ok(());
        };
        let built;
        let tree = match tree {
            Some(t) => t,
            None => {
                built = self.batch_tree(batch)?;
                &built
            }
        };
        let proofs = self.batch_proofs(batch, tree, Some(tx), None)?;
        proofs.check_whole(&first)
    }

    /// The first record of a batch (leaf 0), if it has one.
    fn first_record(&self, batch: &StoredBatch) -> Result<Option<StoredRecord>, AnchoringError> {
        Ok(self.store.batch_page(batch.id, 0, 1)?.pop())
    }

    /// Calls `each` with the records waiting for a batch, page by page
    /// ([`Anchoring::set_page_size`]), oldest first: the queue is never
    /// held whole, however long it is.
    ///
    /// # Errors
    ///
    /// The store's errors, and those `each` returns.
    pub fn each_queued_page(
        &self,
        each: &mut dyn FnMut(&[StoredRecord]) -> Result<(), AnchoringError>,
    ) -> Result<(), AnchoringError> {
        let mut after = 0;
        loop {
            let page = self.store.queued_page(after, self.page)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            each(&page)?;
        }
    }

    /// Calls `each` with the records of a batch, page by page in leaf order
    /// ([`Anchoring::set_page_size`]), checking that their leaves are
    /// numbered 0, 1, 2, ... and that there are as many as the batch's
    /// size.
    fn each_batch_page(
        &self,
        batch: &StoredBatch,
        each: &mut dyn FnMut(&[StoredRecord]) -> Result<(), AnchoringError>,
    ) -> Result<(), AnchoringError> {
        let mut from = 0u64;
        loop {
            let page = self.store.batch_page(batch.id, from, self.page)?;
            for r in &page {
                if leaf_index(r)? != from {
                    return Err(StoreError::Damaged {
                        what: "record (its leaf index is not its place in the batch)",
                        row: r.id,
                    }
                    .into());
                }
                from += 1;
            }
            if page.is_empty() {
                break;
            }
            each(&page)?;
            if page.len() < self.page {
                break;
            }
        }
        if from != batch.size {
            return Err(StoreError::Damaged {
                what: "batch (it holds another number of records than its size)",
                row: batch.id,
            }
            .into());
        }
        Ok(())
    }

    /// The tree of a batch, built from its records read page by page
    /// (only the tree is kept: 64 bytes a record) and checked against the
    /// batch's root.
    fn batch_tree(&self, batch: &StoredBatch) -> Result<Tree, AnchoringError> {
        let mut leaves = Vec::with_capacity(usize::try_from(batch.size).unwrap_or(0));
        self.each_batch_page(batch, &mut |page| {
            leaves.extend(page.iter().map(|r| record_leaf(&r.salt, &r.digest)));
            Ok(())
        })?;
        let tree = Tree::new(leaves)?;
        if tree.root() != batch.root {
            return Err(StoreError::Damaged {
                what: "batch (its records do not give its root)",
                row: batch.id,
            }
            .into());
        }
        Ok(tree)
    }

    /// Rebuilds the proofs of a batch from the store, verifies them all
    /// ([`BatchProofs::verify`]) and only then writes them (none with
    /// [`ProofFiles::StoreOnly`], nor those of records stored without
    /// paths); the number of files written, and of records without paths.
    ///
    /// The records are read page by page, twice: once to verify every
    /// proof, once to write them. Only the tree (64 bytes a record) and one
    /// page of records are held at a time, whatever the batch's size.
    ///
    /// With `in_place`, each proof is written over the queued or pending
    /// one before it ([`write_proof_over`]), as `upgrade` does: the batch
    /// is not final until they are flushed, so a torn one is written again.
    /// Without, each replaces the file whole, as a complete proof that is
    /// already final must be.
    fn write_batch_proofs(
        &mut self,
        batch: &StoredBatch,
        tx: Option<&Transaction>,
        block: Option<BlockProof>,
        in_place: bool,
    ) -> Result<(usize, usize), AnchoringError> {
        // Complete proofs are flushed to disk before the batch is marked
        // final, and the store keeps their shared block part (as the first
        // record's proof), so that a lost one can be written again. Pending
        // ones are rewritten as the batch moves on and need not be.
        let durable = block.is_some();
        let tree = self.batch_tree(batch)?;
        let proofs = self.batch_proofs(batch, &tree, tx, block)?;
        let first = self.first_record(batch)?.ok_or(StoreError::Damaged {
            what: "batch (it holds no record)",
            row: batch.id,
        })?;
        // Flushing is latency-bound: many files in flight at once.
        let pool = proof_writers(&self.data_dir)?;
        // 1. Every proof verified before any is written.
        proofs.check_whole(&first)?;
        let (mut with_path, mut without_path) = (0, 0);
        self.each_batch_page(batch, &mut |page| {
            pool.install(|| proofs.verify(page))?;
            let n = page.iter().filter(|r| r.has_proof_path()).count();
            with_path += n;
            without_path += page.len() - n;
            Ok(())
        })?;
        if durable {
            self.store
                .set_batch_block(batch.id, &proofs.proof(&first, true)?.to_json())?;
        }
        if self.proof_files == ProofFiles::StoreOnly {
            return Ok((0, 0));
        }
        // 2. Written, page by page. Complete proofs are made durable with
        // one flush of each file system they are on, not one per file.
        let step = self.progress.begin(Step::WriteProofs, with_path);
        let progress = &self.progress;
        let mut folders: HashSet<PathBuf> = HashSet::new();
        self.each_batch_page(batch, &mut |page| {
            pool.install(|| {
                use rayon::prelude::*;
                // Each proof is built as it is written: a batch's proofs
                // share their anchor (up to 2,016 headers), which is not
                // held once per record in memory.
                page.par_iter()
                    .filter(|r| r.has_proof_path())
                    .try_for_each(|r| {
                        // Written only as it was verified: the record read
                        // again is the leaf the tree holds.
                        let leaf = leaf_index(r)?;
                        if tree.leaf(leaf) != Some(record_leaf(&r.salt, &r.digest)) {
                            return Err(StoreError::Damaged {
                                what: "record (changed while its proofs were written)",
                                row: r.id,
                            }
                            .into());
                        }
                        let proof = proofs.proof(r, true)?;
                        if FLUSH_EACH || !in_place {
                            write_proof(&r.proof_path, &proof, durable && FLUSH_EACH)?;
                        } else {
                            write_proof_over(&r.proof_path, &proof)?;
                        }
                        progress.advance(1);
                        Ok::<_, AnchoringError>(())
                    })
            })?;
            if durable && !FLUSH_EACH {
                for r in page.iter().filter(|r| r.has_proof_path()) {
                    if let Some(dir) = r.proof_path.parent() {
                        if !folders.contains(dir) {
                            folders.insert(dir.to_path_buf());
                        }
                    }
                }
            }
            Ok(())
        })?;
        drop(step);
        if durable {
            sync_folders(folders.iter().map(PathBuf::as_path))?;
        }
        Ok((with_path, without_path))
    }

    fn batch_proofs<'t>(
        &self,
        batch: &StoredBatch,
        tree: &'t Tree,
        tx: Option<&Transaction>,
        block: Option<BlockProof>,
    ) -> Result<BatchProofs<'t>, AnchoringError> {
        if tree.root() != batch.root {
            return Err(StoreError::Damaged {
                what: "batch (its records do not give its root)",
                row: batch.id,
            }
            .into());
        }
        let anchor = match tx {
            None => None,
            Some(tx) => {
                let output = commitment_output(tx, &batch.root.0)
                    .ok_or_else(|| AnchoringError::NoCommitmentOutput(tx.compute_txid()))?;
                Some(Anchor {
                    tx: btc_anchor::chain::without_witness(tx),
                    output,
                    block,
                })
            }
        };
        Ok(BatchProofs {
            network: self.network(),
            tree,
            anchor,
        })
    }

    /// Every batch with its transactions, oldest first.
    pub fn batches_status(&self) -> Result<Vec<BatchStatus>, AnchoringError> {
        self.store
            .batches()?
            .into_iter()
            .map(|b| {
                Ok(BatchStatus {
                    txs: self.store.batch_txs(b.id)?,
                    batch: b,
                })
            })
            .collect()
    }
}

/// Threads writing proof files at once.
const PROOF_WRITERS: usize = 16;

/// A pool of [`PROOF_WRITERS`] threads (`data_dir` names a failure to
/// start one).
fn proof_writers(data_dir: &Path) -> Result<rayon::ThreadPool, AnchoringError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(PROOF_WRITERS)
        .build()
        .map_err(|e| AnchoringError::WriteProof {
            path: data_dir.to_path_buf(),
            source: std::io::Error::other(e),
        })
}

/// The leaf index of a batched record.
fn leaf_index(r: &StoredRecord) -> Result<u64, AnchoringError> {
    r.batch.map(|(_, i)| i).ok_or_else(|| {
        StoreError::Damaged {
            what: "record (not in a batch)",
            row: r.id,
        }
        .into()
    })
}

/// The proofs of one batch, built one at a time from what they share (the
/// tree, the anchor) and what each has (its record and place).
struct BatchProofs<'t> {
    network: Network,
    tree: &'t Tree,
    anchor: Option<Anchor>,
}

impl BatchProofs<'_> {
    /// The proof of `r` (a record of the batch, at its leaf index), with
    /// the batch's anchor or without it.
    fn proof(&self, r: &StoredRecord, with_anchor: bool) -> Result<Proof, AnchoringError> {
        let index = leaf_index(r)?;
        Ok(Proof {
            network: self.network,
            record: Record {
                digest: r.digest,
                salt: r.salt.clone(),
            },
            batch: Some(BatchPath {
                size: self.tree.size(),
                index,
                path: self.tree.inclusion_proof(index)?,
                root: self.tree.root(),
            }),
            anchor: if with_anchor {
                self.anchor.clone()
            } else {
                None
            },
        })
    }

    /// Verifies the proof of `first` whole, anchor included.
    fn check_whole(&self, first: &StoredRecord) -> Result<(), AnchoringError> {
        check_proof(&self.proof(first, true)?, &first.proof_path)
    }

    /// Verifies the proofs of `records` (a page of the batch) with the
    /// library's verifier, offline, before any is written; any error
    /// refuses them all.
    ///
    /// The proofs of a batch differ only in their record and its place in
    /// the tree; the anchor (transaction, block, headers after it) is the
    /// same value in each and commits to the same root. The verifier's
    /// answer for record `i`'s proof is therefore the answer for the first
    /// proof's anchor ([`BatchProofs::check_whole`], once a batch)
    /// together with that for record `i`'s inclusion: each proof here is
    /// verified without its anchor (digest, leaf, path to the shared root).
    /// That keeps a batch of 100,000 proofs carrying 2,016 headers to about
    /// one inclusion check per proof, instead of 2,016 header checks each.
    fn verify(&self, records: &[StoredRecord]) -> Result<(), AnchoringError> {
        use rayon::prelude::*;
        records
            .par_iter()
            .try_for_each(|r| check_proof(&self.proof(r, false)?, &r.proof_path))
    }
}

/// The transaction a batch's proofs carry: none while batched, the newest
/// while broadcast, the confirmed one once confirmed.
fn batch_tx<'t>(batch: &StoredBatch, txs: &'t [StoredTx]) -> Option<&'t StoredTx> {
    match batch.state {
        BatchState::Batched => None,
        BatchState::Broadcast => txs.last(),
        BatchState::Confirmed | BatchState::Final => batch
            .confirmation
            .and_then(|c| txs.iter().find(|t| t.txid == c.txid))
            .or(txs.last()),
    }
}

/// Verifies a proof about to be written, offline with the network's
/// built-in checkpoints: valid, pending and inconclusive verdicts pass
/// (a fresh mainnet proof with few headers is inconclusive from the file
/// alone), an error refuses it.
fn check_proof(proof: &Proof, path: &Path) -> Result<(), AnchoringError> {
    let options = VerifyOptions::new(proof.network);
    verify(proof, &proof.record.digest, &EmbeddedOnly, &options)
        .map(|_| ())
        .map_err(|source| AnchoringError::ProofInvalid {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
}

/// `path` made absolute, its folder in canonical form when it exists (no
/// `..`, no symbolic link that could later point elsewhere). `folders`
/// remembers each folder's canonical form (`None`: it does not exist).
fn absolute_path(
    path: &Path,
    folders: &mut HashMap<PathBuf, Option<PathBuf>>,
) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    if let (Some(dir), Some(name)) = (absolute.parent(), absolute.file_name()) {
        let canonical = folders
            .entry(dir.to_path_buf())
            .or_insert_with(|| std::fs::canonicalize(dir).ok());
        if let Some(dir) = canonical {
            return Ok(dir.join(name));
        }
    }
    Ok(absolute)
}

/// A proof file or folder that could not be flushed to disk.
pub(crate) struct WriteFailed {
    pub(crate) path: PathBuf,
    pub(crate) source: std::io::Error,
}

impl From<WriteFailed> for AnchoringError {
    fn from(WriteFailed { path, source }: WriteFailed) -> Self {
        AnchoringError::WriteProof { path, source }
    }
}

/// Flushes to disk everything written to the file systems holding the
/// folders of `paths` (files and directory entries alike): `syncfs(2)`
/// once per file system, however many files were written there.
#[cfg(target_os = "linux")]
pub(crate) fn sync_file_systems<'p>(
    paths: impl Iterator<Item = &'p Path>,
) -> Result<(), WriteFailed> {
    let mut folders = std::collections::HashSet::new();
    sync_folders(
        paths
            .map(|p| p.parent().unwrap_or(Path::new("")))
            .filter(|d| folders.insert(*d)),
    )
}

/// Flushes to disk everything written to the file systems holding
/// `folders` (the empty path is the working directory): `syncfs(2)` once
/// per file system.
#[cfg(target_os = "linux")]
fn sync_folders<'p>(folders: impl Iterator<Item = &'p Path>) -> Result<(), WriteFailed> {
    use std::os::unix::fs::MetadataExt as _;
    let mut devices = std::collections::HashSet::new();
    for dir in folders {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let fail = |source| WriteFailed {
            path: dir.to_path_buf(),
            source,
        };
        let folder = std::fs::File::open(dir).map_err(fail)?;
        if devices.insert(folder.metadata().map_err(fail)?.dev()) {
            rustix::fs::syncfs(&folder).map_err(|e| fail(e.into()))?;
        }
    }
    Ok(())
}

/// Elsewhere each file is flushed in turn.
#[cfg(not(target_os = "linux"))]
pub(crate) fn sync_file_systems<'p>(
    paths: impl Iterator<Item = &'p Path>,
) -> Result<(), WriteFailed> {
    for path in paths {
        std::fs::File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(|source| WriteFailed {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

/// Elsewhere, [`FLUSH_EACH`]: each complete proof was flushed, with its
/// folder, as it was written.
#[cfg(not(target_os = "linux"))]
fn sync_folders<'p>(_folders: impl Iterator<Item = &'p Path>) -> Result<(), WriteFailed> {
    Ok(())
}

/// Whether complete proofs are flushed one by one as they are written:
/// where there is no `syncfs(2)` to flush them all at once.
const FLUSH_EACH: bool = cfg!(not(target_os = "linux"));

/// Moves an older version's proof from `from` to `to`, durably (the
/// folder is synced): a proof that is not there any more (moved before a
/// crash) is left as it is, and one already at `to` is never overwritten.
fn move_proof(from: &Path, to: &Path) -> Result<(), AnchoringError> {
    let fail = |source| AnchoringError::WriteProof {
        path: to.to_path_buf(),
        source,
    };
    if !from.exists() {
        return Ok(());
    }
    // A hard link fails if `to` exists: nothing is ever overwritten.
    std::fs::hard_link(from, to).map_err(fail)?;
    std::fs::remove_file(from).map_err(fail)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
    }
    Ok(())
}

/// Writes a batch's proof over the one already at `path` in place when it
/// is no longer ([`write_over`]; a complete proof is always longer than its
/// queued one): replacing it by a rename would free its blocks, and on some
/// file systems each rename then waits for a discard. Not atomic, and not
/// flushed: its batch becomes final only after [`sync_folders`], and until
/// then every `upgrade` writes all the batch's proofs again.
fn write_proof_over(path: &Path, proof: &Proof) -> Result<(), AnchoringError> {
    write_over(path, proof.to_json().as_bytes()).map_err(|source| AnchoringError::WriteProof {
        path: path.to_path_buf(),
        source,
    })
}

fn write_proof(path: &Path, proof: &Proof, durable: bool) -> Result<(), AnchoringError> {
    let options = WriteOptions {
        replace: true,
        durable,
    };
    write_atomic(path, proof.to_json().as_bytes(), options).map_err(|source| {
        AnchoringError::WriteProof {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::{transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut, Witness};

    fn records(n: usize) -> Vec<StoredRecord> {
        (0..n)
            .map(|i| StoredRecord {
                id: i as i64 + 1,
                digest: RecordDigest::of_bytes(format!("record {i}").as_bytes()),
                salt: Salt::from_bytes(&[i as u8; 16]).unwrap(),
                label: format!("r{i}"),
                proof_path: PathBuf::from(format!("r{i}.anchor.json")),
                stamped_at: 0,
                batch: Some((1, i as u64)),
            })
            .collect()
    }

    fn tree(records: &[StoredRecord]) -> Tree {
        Tree::new(
            records
                .iter()
                .map(|r| record_leaf(&r.salt, &r.digest))
                .collect(),
        )
        .unwrap()
    }

    fn tx_committing_to(root: &[u8; 32]) -> Transaction {
        Transaction {
            version: transaction::Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::ZERO,
                script_pubkey: commitment_script(root),
            }],
        }
    }

    #[test]
    fn every_proof_is_verified_before_any_is_written() {
        let recs = records(5);
        let t = tree(&recs);
        let root = t.root();
        let broadcast = BatchProofs {
            network: Network::Regtest,
            tree: &t,
            anchor: Some(Anchor {
                tx: tx_committing_to(&root.0),
                output: 0,
                block: None,
            }),
        };
        let verify_all = |proofs: &BatchProofs<'_>, recs: &[StoredRecord]| {
            proofs.check_whole(&recs[0])?;
            proofs.verify(recs)
        };
        verify_all(&broadcast, &recs).unwrap();

        // A transaction committing to another root: refused on the first
        // proof, whose anchor is checked whole.
        let wrong = BatchProofs {
            anchor: Some(Anchor {
                tx: tx_committing_to(&[9; 32]),
                output: 0,
                block: None,
            }),
            ..broadcast
        };
        let e = verify_all(&wrong, &recs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the proof built for r0.anchor.json does not verify; no proof was written"
        );
        match e {
            AnchoringError::ProofInvalid { path, source } => {
                assert_eq!(path, PathBuf::from("r0.anchor.json"));
                assert_eq!(source.kind(), "wrong-commitment");
            }
            other => panic!("{other}"),
        }

        // A record that is not the one the tree was built over: its own
        // inclusion is checked, with or without an anchor.
        let mut changed = recs.clone();
        changed[3].digest = RecordDigest::of_bytes(b"another");
        for anchor in [
            None,
            wrong.anchor.clone().map(|mut a| {
                a.tx = tx_committing_to(&root.0);
                a
            }),
        ] {
            let proofs = BatchProofs {
                network: Network::Regtest,
                tree: &t,
                anchor,
            };
            match verify_all(&proofs, &changed).unwrap_err() {
                AnchoringError::ProofInvalid { path, source } => {
                    assert_eq!(path, PathBuf::from("r3.anchor.json"));
                    assert_eq!(source.kind(), "root-mismatch");
                }
                other => panic!("{other}"),
            }
        }
    }
}
