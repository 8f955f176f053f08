//! The offline audit of a published log (`docs/audit-log.md` §12): from
//! the `public/` folder alone (and checkpoints the auditor kept), every
//! checkpoint's signature, one root per size, the latest checkpoint being
//! the largest, every entry bundle and tile against the entries, every
//! checkpoint's root, and consistency between consecutive checkpoints.
//! Given the clinic's journal ([`AuditOptions::journal`], §12.2), also
//! its entries against the published ones and every record's chain of
//! events, shredded events (§11.5) checked by their entry's place only.
//!
//! The first inconsistency found ends the audit and is reported with its
//! evidence: the raw signed checkpoints and, where one applies, the proof
//! that fails.
//!
//! ```
//! use btc_anchor::bitcoin::Network;
//! use btc_anchor_log::audit::{audit, AuditOptions};
//! use btc_anchor_log::note::Signer;
//! use btc_anchor_log::writer::LogWriter;
//! # use btc_anchor_log::entry::{ActorRef, RecordRef, Salt};
//! # use btc_anchor_log::event::{Event, EventKind};
//!
//! let dir = tempfile::tempdir()?;
//! let mut log = LogWriter::create(&dir.path().join("log"), Signer::generate("clinic.example/audit")?)?;
//! # let salt = Salt::random()?;
//! # let event = Event { kind: EventKind::Read, time: 1_767_225_600,
//! #     record: RecordRef::new(b"r", &salt), actor: ActorRef::new(b"a", &salt),
//! #     content: None, prev: None, codes: Default::default() };
//! log.append(vec![event.clone(), event])?;
//! log.checkpoint()?;
//! let options = AuditOptions::new(Network::Bitcoin);
//! let report = audit(&dir.path().join("log/public"), "clinic.example/audit", &log.verifier(), &options)?;
//! assert!(report.finding.is_none());
//! assert_eq!(report.size, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::{Network, OutPoint, Transaction};
use btc_anchor::file::{read_any, ProofFile};
use btc_anchor::merkle::{leaf_hash, verify_consistency, NodeHash, Tree};
use btc_anchor::verification::{verify_file, Document, Headers, Outcome};
use btc_anchor::verify::VerifyOptions;

use crate::checkpoint::{Checkpoint, OpenError};
use crate::entry::{Entry, RecordRef};
use crate::journal::{self, JournalError};
use crate::note::{Note, Verifier, MAX_NOTE_LEN};
use crate::store::empty_root;
use crate::tile::{
    decode_bundle, decode_tile, TileError, TileKind, TilePath, MAX_BUNDLE_LEN, TILE_WIDTH,
};

/// What an audit is given besides the log: checkpoints kept from
/// earlier, and how to check the anchor proofs of checkpoints.
#[derive(Clone, Copy)]
pub struct AuditOptions<'a> {
    /// Signed checkpoints the auditor kept (raw notes).
    pub known: &'a [Vec<u8>],
    /// The network anchors must be on.
    pub network: Network,
    /// Where the anchors' blocks are checked.
    pub headers: Headers<'a>,
    /// The log's first seal output, published with its key: when given,
    /// the anchors must form the seal chain from it (§13).
    pub seal_genesis: Option<OutPoint>,
    /// The clinic's journal (`DIR/journal`, §11.2): when given, its
    /// entries are compared with the published ones and every record's
    /// chain is checked (§12.2).
    pub journal: Option<&'a Path>,
}

impl AuditOptions<'_> {
    /// No kept checkpoints; anchors on `network`, checked from their proof
    /// files alone.
    pub fn new(network: Network) -> AuditOptions<'static> {
        AuditOptions {
            known: &[],
            network,
            headers: Headers::ProofOnly,
            seal_genesis: None,
            journal: None,
        }
    }
}

/// The anchor proof of one checkpoint (`checkpoints/<N>.anchor.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorCheck {
    /// The checkpoint's tree size.
    pub size: u64,
    /// The proof's verdict.
    pub outcome: Outcome,
    /// Its block's height, once in a block.
    pub height: Option<u32>,
    /// The time the checkpoint existed by, when valid (Unix seconds).
    pub not_later_than: Option<u32>,
    /// Why it is not valid, by its stable name.
    pub reason: Option<&'static str>,
}

/// Most checkpoints one audit reads.
pub const MAX_CHECKPOINTS: usize = 100_000;

/// What stops an audit before it can judge the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file system refused an operation.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// More than [`MAX_CHECKPOINTS`] checkpoints.
    #[error("more than {MAX_CHECKPOINTS} checkpoints")]
    TooManyCheckpoints,
    /// The clinic's journal cannot be read.
    #[error("cannot read the journal")]
    Journal(#[source] JournalError),
    /// A [`LogSource`] other than a folder could not give a file.
    #[error("cannot read {path} from {location}")]
    Fetch {
        /// The source: a server's URL.
        location: String,
        /// The file asked for, under the published folder.
        path: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A log's history of signed checkpoints: each file's name under
/// `checkpoints/` and its bytes.
pub type History = Vec<(String, Vec<u8>)>;

/// Where an audit reads a published log from (§12): the `public/` folder
/// of §11.1 ([`DirSource`]), or a server of its files as C2SP tlog-tiles
/// lays them out (§14, `btc_anchor_log::remote::HttpLog` with the `http`
/// feature).
pub trait LogSource {
    /// Where the log is read from, for reports and errors: a folder's path
    /// or a URL.
    fn location(&self) -> String;

    /// The file at `path` under the published folder (`checkpoint`,
    /// `tile/0/000`, `tile/entries/000.p/5`), reading at most `limit`
    /// bytes and one more (so that a longer file is told from one of the
    /// limit); `None` when the log has no such file.
    ///
    /// # Errors
    ///
    /// An [`AuditError`] when the source cannot answer.
    fn read(&mut self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, AuditError>;

    /// The log's history, `checkpoints/<N>` (names and bytes, at most
    /// [`MAX_NOTE_LEN`] and one more each), or `None` when the source does
    /// not publish it (a tlog-tiles server serves only the latest
    /// checkpoint).
    ///
    /// # Errors
    ///
    /// An [`AuditError`] when the source cannot answer, or
    /// [`AuditError::TooManyCheckpoints`].
    fn history(&mut self) -> Result<Option<History>, AuditError>;
}

/// A published log in a folder on this machine (`DIR/public`, or a copy).
#[derive(Clone, Copy, Debug)]
pub struct DirSource<'a> {
    /// The published folder.
    pub public: &'a Path,
}

impl LogSource for DirSource<'_> {
    fn location(&self) -> String {
        self.public.display().to_string()
    }

    fn read(&mut self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, AuditError> {
        read_limited(&self.public.join(path), limit)
    }

    fn history(&mut self) -> Result<Option<History>, AuditError> {
        let history = self.public.join("checkpoints");
        let rd = match fs::read_dir(&history) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(vec![])),
            Err(e) => return Err(io_err("list", &history)(e)),
        };
        let mut out = vec![];
        for e in rd {
            let e = e.map_err(io_err("list", &history))?;
            if out.len() >= MAX_CHECKPOINTS {
                return Err(AuditError::TooManyCheckpoints);
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(ANCHOR_SUFFIX) || name.starts_with('.') {
                continue;
            }
            if let Some(bytes) = read_limited(&e.path(), MAX_NOTE_LEN)? {
                out.push((name, bytes));
            }
        }
        Ok(Some(out))
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> AuditError + 'a {
    move |source| AuditError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The first inconsistency an audit found, with its evidence. Signed
/// checkpoints are given as their raw note text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// A checkpoint that does not open: malformed, another origin, or not
    /// signed by the log's key.
    BadCheckpoint {
        /// Where it was found (a file, or `known[i]`).
        source: String,
        /// Why it does not open.
        reason: String,
    },
    /// No `checkpoint` is published.
    NoCheckpoint,
    /// Two signed checkpoints of one size with different roots: a fork.
    Fork {
        /// One signed checkpoint.
        a: String,
        /// The other.
        b: String,
    },
    /// The published checkpoint is smaller than another signed one: an old
    /// checkpoint replayed, or the log rolled back.
    Rollback {
        /// The published checkpoint.
        published: String,
        /// The larger signed checkpoint.
        larger: String,
    },
    /// A tile or bundle the checkpoints need is not published: a truncated
    /// log.
    Missing {
        /// Its path.
        path: String,
    },
    /// A tile or bundle that is not what its kind must hold.
    Malformed {
        /// Its path.
        path: String,
        /// The cause.
        reason: String,
    },
    /// A tile, or a partial bundle, that the entries do not give: an
    /// edited entry or tile.
    TileMismatch {
        /// Its path.
        path: String,
    },
    /// The entries do not give the published checkpoint's root.
    RootMismatch {
        /// The published checkpoint.
        checkpoint: String,
        /// The root the entries give.
        computed: NodeHash,
    },
    /// An anchoring transaction that does not spend the previous anchor's
    /// seal output (or, for the first, is not the genesis's): the anchors
    /// do not form one chain.
    SealBreak {
        /// The anchor proof's file, under `checkpoints/`.
        file: String,
        /// The seal output it had to spend (or be).
        expected: OutPoint,
    },
    /// A checkpoint's anchor proof that does not verify, or is of another
    /// network.
    BadAnchor {
        /// The checkpoint's file, under `checkpoints/`.
        file: String,
        /// The verdict's reason.
        reason: String,
    },
    /// An older checkpoint that the published one does not extend: the
    /// history was rewritten after it was signed.
    Inconsistent {
        /// The older signed checkpoint.
        old: String,
        /// The newer signed checkpoint.
        new: String,
        /// The consistency proof the published tiles give, which fails.
        proof: Vec<NodeHash>,
    },
    /// The journal holds fewer whole records than the log published: it
    /// is cut short, or the record at `records` is damaged.
    JournalShort {
        /// Whole records read.
        records: u64,
        /// The published checkpoint's size.
        published: u64,
    },
    /// A journal record whose opening does not commit to its entry.
    JournalOpening {
        /// The record's index.
        index: u64,
    },
    /// A journal entry that is not the published entry of its index.
    JournalMismatch {
        /// The index.
        index: u64,
        /// The journal's entry.
        journal: Entry,
        /// The entry bundle's.
        published: Entry,
    },
    /// An event whose `prev` is not the entry of its record's previous
    /// event in log order (nor a shredded entry after it).
    ChainBreak {
        /// The index of the record's first event in the journal: which
        /// record's chain.
        chain: u64,
        /// The event that breaks it.
        index: u64,
        /// The record's previous event (`None` for its first).
        expected_index: Option<u64>,
        /// Its entry, the `prev` expected (`None`: no `prev`).
        expected: Option<Entry>,
        /// The `prev` found.
        found: Option<Entry>,
        /// The index of the entry found in the journal, if it is one.
        found_index: Option<u64>,
    },
}

impl Finding {
    /// A short kebab-case name of the finding.
    pub fn name(&self) -> &'static str {
        match self {
            Finding::BadCheckpoint { .. } => "bad-checkpoint",
            Finding::NoCheckpoint => "no-checkpoint",
            Finding::Fork { .. } => "fork",
            Finding::Rollback { .. } => "rollback",
            Finding::Missing { .. } => "missing",
            Finding::Malformed { .. } => "malformed",
            Finding::TileMismatch { .. } => "tile-mismatch",
            Finding::RootMismatch { .. } => "root-mismatch",
            Finding::Inconsistent { .. } => "inconsistent",
            Finding::BadAnchor { .. } => "bad-anchor",
            Finding::SealBreak { .. } => "seal-break",
            Finding::JournalShort { .. } => "journal-short",
            Finding::JournalOpening { .. } => "journal-opening",
            Finding::JournalMismatch { .. } => "journal-mismatch",
            Finding::ChainBreak { .. } => "chain-break",
        }
    }
}

/// What an audit checked, trusted and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The log's origin.
    pub origin: String,
    /// The published checkpoint's size (0 when none opened).
    pub size: u64,
    /// Signed checkpoints checked (the published one, the log's history
    /// and those the auditor kept).
    pub checkpoints: usize,
    /// Hash tiles read and checked.
    pub tiles: usize,
    /// Entry bundles read and checked.
    pub bundles: usize,
    /// The checkpoints' anchor proofs, by size.
    pub anchors: Vec<AnchorCheck>,
    /// What the clinic's journal held, when it was given.
    pub journal: Option<JournalCheck>,
    /// What was checked, in words.
    pub checked: Vec<&'static str>,
    /// What was trusted or not checked, in words.
    pub trusted: Vec<&'static str>,
    /// The first inconsistency, if any.
    pub finding: Option<Finding>,
}

/// What an audit read in the clinic's journal (§12.2). Counts only: the
/// events themselves are never reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalCheck {
    /// Whole records in the journal (the published entries and any
    /// appended since the checkpoint).
    pub entries: u64,
    /// Of them, shredded ones (§11.5).
    pub shredded: u64,
    /// Records with at least one event not shredded: the chains checked.
    pub chains: u64,
    /// Records an interrupted shred lists (finished when the writer next
    /// opens the log).
    pub pending_shreds: u64,
}

/// One signed checkpoint read for the audit.
struct Signed {
    text: String,
    cp: Checkpoint,
}

/// Audits the published log in `public` (its `checkpoint`, `checkpoints/`
/// with their anchor proofs, and `tile/`) against the log's key, with the
/// checkpoints the auditor kept and the anchor checks of `options`.
///
/// # Errors
///
/// An [`AuditError`] only when the folder cannot be read; everything
/// wrong with the log is a [`Finding`] in the report.
pub fn audit(
    public: &Path,
    origin: &str,
    verifier: &Verifier,
    options: &AuditOptions<'_>,
) -> Result<AuditReport, AuditError> {
    audit_with(
        &mut DirSource { public },
        Some(public),
        origin,
        verifier,
        options,
    )
}

/// Audits a published log read from `source` as [`audit`] does a folder,
/// except for the anchor proofs and the seal chain, which are files beside
/// the history in a folder and are not checked here (the report says so,
/// as it says when the source publishes no history).
///
/// # Errors
///
/// An [`AuditError`] only when the source cannot be read; everything
/// wrong with the log is a [`Finding`] in the report.
pub fn audit_source(
    source: &mut dyn LogSource,
    origin: &str,
    verifier: &Verifier,
    options: &AuditOptions<'_>,
) -> Result<AuditReport, AuditError> {
    audit_with(source, None, origin, verifier, options)
}

fn audit_with(
    source: &mut dyn LogSource,
    anchors: Option<&Path>,
    origin: &str,
    verifier: &Verifier,
    options: &AuditOptions<'_>,
) -> Result<AuditReport, AuditError> {
    let mut report = AuditReport {
        origin: origin.to_owned(),
        size: 0,
        checkpoints: 0,
        tiles: 0,
        bundles: 0,
        anchors: Vec::new(),
        journal: None,
        checked: vec![
            "every checkpoint's signature by the log's key, and its origin",
            "one root per tree size across all checkpoints (no fork)",
            "the published checkpoint is the largest (no rollback)",
            "every entry bundle and hash tile the checkpoints need, against the entries",
            "every checkpoint's root, from the entries",
            "consistency between each pair of consecutive checkpoints",
        ],
        trusted: vec!["the log's public key, given by the auditor"],
        finding: None,
    };
    if options.journal.is_some() {
        report.checked.extend([
            "the clinic's journal: each entry is the published entry of its index, and each opening commits to its entry",
            "per-record chains: each event's prev is the entry of its record's previous event in log order (none for its first)",
        ]);
        report.trusted.push(
            "shredded events (erased on request) are not checked: an event whose prev names a shredded entry is checked only against that entry's value and position (after its record's previous event, before it), not its record",
        );
    } else {
        report.trusted.push(
            "events are hidden: each entry is a salted commitment; per-record chains need the clinic's journal",
        );
    }
    let history = source.history()?;
    if history.is_none() {
        report.trusted.push(
            "the log's history (checkpoints/) is not served: only the served checkpoint and those the auditor kept were checked",
        );
    }
    match anchors {
        Some(_) => {
            report.checked.push(
                "every checkpoint's anchor proof (checkpoints/<N>.anchor.json) against the checkpoint's bytes",
            );
            report.trusted.push(
                "anchors' blocks: as far as the header source given (the proof files alone unless a headers file or server is named)",
            );
            report.trusted.push(match options.seal_genesis {
                Some(_) => "the seal chain's first outpoint, given by the auditor",
                None => {
                    "the seal chain between anchors was not checked (no genesis outpoint given)"
                }
            });
            if options.seal_genesis.is_some() {
                report.checked.push(
                    "the anchors form one seal chain: each transaction spends the previous one's seal output",
                );
            }
        }
        None => {
            report.trusted.push(
                "the checkpoints' anchor proofs and the seal chain were not checked (not served; audit a copy of the log's public folder for them)",
            );
            report.trusted.push(
                "the server may show other clients another log (a split view): compare the checkpoint with others', or ask witnesses",
            );
        }
    }
    let mut published = options.journal.map(|_| Vec::new());
    report.finding = run(
        source,
        history.unwrap_or_default(),
        origin,
        verifier,
        options.known,
        &mut report,
        published.as_mut(),
    )?;
    if let (None, Some(path), Some(published)) = (&report.finding, options.journal, &published) {
        report.finding = check_journal(path, published, &mut report)?;
    }
    if let (None, Some(public)) = (&report.finding, anchors) {
        report.finding = check_anchors(public, options, &mut report)?;
    }
    Ok(report)
}

fn run(
    source: &mut dyn LogSource,
    history: History,
    origin: &str,
    verifier: &Verifier,
    known: &[Vec<u8>],
    report: &mut AuditReport,
    mut published: Option<&mut Vec<Entry>>,
) -> Result<Option<Finding>, AuditError> {
    let keys = std::slice::from_ref(verifier);
    let open = |bytes: &[u8], source: String| -> Result<Signed, Finding> {
        Checkpoint::open(bytes, origin, keys)
            .map(|cp| Signed {
                text: String::from_utf8_lossy(bytes).into_owned(),
                cp,
            })
            .map_err(|e: OpenError| Finding::BadCheckpoint {
                source,
                reason: btc_anchor::text::with_sources(&e),
            })
    };

    // The published checkpoint, the log's history, the auditor's own.
    let Some(bytes) = source.read("checkpoint", MAX_NOTE_LEN)? else {
        return Ok(Some(Finding::NoCheckpoint));
    };
    let latest = match open(&bytes, "checkpoint".into()) {
        Ok(s) => s,
        Err(f) => return Ok(Some(f)),
    };
    let mut all = vec![];
    for (name, bytes) in history {
        match open(&bytes, format!("checkpoints/{name}")) {
            Ok(s) => all.push(s),
            Err(f) => return Ok(Some(f)),
        }
    }
    for (i, bytes) in known.iter().enumerate() {
        match open(bytes, format!("known[{i}]")) {
            Ok(s) => all.push(s),
            Err(f) => return Ok(Some(f)),
        }
    }
    report.checkpoints = all.len() + 1;
    report.size = latest.cp.size;

    // One root per size; the published one the largest.
    let mut by_size: BTreeMap<u64, &Signed> = BTreeMap::new();
    by_size.insert(latest.cp.size, &latest);
    for s in &all {
        let first = *by_size.entry(s.cp.size).or_insert(s);
        if first.cp.root != s.cp.root {
            return Ok(Some(Finding::Fork {
                a: first.text.clone(),
                b: s.text.clone(),
            }));
        }
    }
    if let Some((_, largest)) = by_size.last_key_value() {
        if largest.cp.size > latest.cp.size {
            return Ok(Some(Finding::Rollback {
                published: latest.text.clone(),
                larger: largest.text.clone(),
            }));
        }
    }

    // The entries, from the bundles of the published size.
    let size = latest.cp.size;
    let mut leaves = Vec::with_capacity(size as usize);
    let tile_count = size.div_ceil(TILE_WIDTH);
    for index in 0..tile_count {
        let path =
            TilePath::for_size(TileKind::Entries, index, size).expect("index below the count");
        let entries = match read_tile_file(source, &path, MAX_BUNDLE_LEN, |b| {
            decode_bundle(b, path.width)
        })? {
            Ok(e) => e,
            Err(f) => return Ok(Some(f)),
        };
        report.bundles += 1;
        leaves.extend(entries.iter().map(|e| leaf_hash(e)));
        if let Some(kept) = published.as_deref_mut() {
            // Bundles of this log hold 32-byte entries; another length is
            // no entry of the journal's, and compares unequal.
            kept.extend(
                entries
                    .iter()
                    .map(|e| Entry(<[u8; 32]>::try_from(e.as_slice()).unwrap_or([0xff; 32]))),
            );
        }
    }
    let Ok(tree) = Tree::new(leaves) else {
        // The empty log: its root is the hash of nothing.
        return Ok(
            (latest.cp.root != empty_root()).then(|| Finding::RootMismatch {
                checkpoint: latest.text.clone(),
                computed: empty_root(),
            }),
        );
    };

    // Every tile and partial bundle each checkpoint size needs, the
    // published size first.
    let order = std::iter::once(size).chain(by_size.keys().copied().filter(|&m| m != size));
    for m in order {
        for level in 0..=u8::MAX {
            let shift = 8 * u32::from(level);
            if shift >= 64 || (m >> shift) == 0 {
                break;
            }
            let count = (m >> shift).div_ceil(TILE_WIDTH);
            // Full tiles once (at the published size), partial ones of
            // every size.
            let first = if m == size { 0 } else { count - 1 };
            for index in first..count {
                let path = TilePath::for_size(TileKind::Hashes { level }, index, m)
                    .expect("index below the count");
                if m != size && path.is_full() {
                    continue;
                }
                let hashes =
                    match read_tile_file(source, &path, 32 * usize::from(path.width), |b| {
                        decode_tile(b, path.width)
                    })? {
                        Ok(h) => h,
                        Err(f) => return Ok(Some(f)),
                    };
                report.tiles += 1;
                let start = (index * TILE_WIDTH) as usize;
                let expected = &tree.level(8 * u32::from(level))[start..start + hashes.len()];
                if hashes != expected {
                    return Ok(Some(Finding::TileMismatch {
                        path: path.to_path(),
                    }));
                }
            }
        }
        // The partial bundle of an older size holds the same entries.
        if m != size && !m.is_multiple_of(TILE_WIDTH) {
            let path =
                TilePath::for_size(TileKind::Entries, m / TILE_WIDTH, m).expect("a partial bundle");
            let entries = match read_tile_file(source, &path, MAX_BUNDLE_LEN, |b| {
                decode_bundle(b, path.width)
            })? {
                Ok(e) => e,
                Err(f) => return Ok(Some(f)),
            };
            report.bundles += 1;
            let start = (m / TILE_WIDTH * TILE_WIDTH) as usize;
            let mismatch = entries
                .iter()
                .zip(&tree.level(0)[start..])
                .any(|(e, l)| NodeHash::from(leaf_hash(e)) != *l);
            if mismatch {
                return Ok(Some(Finding::TileMismatch {
                    path: path.to_path(),
                }));
            }
        }
    }

    // Every root, and consistency between consecutive checkpoints.
    let computed = tree.root();
    if computed != latest.cp.root {
        return Ok(Some(Finding::RootMismatch {
            checkpoint: latest.text.clone(),
            computed,
        }));
    }
    // Each older checkpoint is a prefix of the published one: evidence is
    // the two signed checkpoints and the proof the tiles give, which fails.
    for old in by_size
        .values()
        .filter(|s| 0 < s.cp.size && s.cp.size < size)
    {
        let (Ok(proof), Ok(old_root)) = (
            tree.consistency_proof_between(old.cp.size, size),
            tree.subtree_hash(0, old.cp.size),
        ) else {
            continue;
        };
        if old_root != old.cp.root {
            return Ok(Some(Finding::Inconsistent {
                old: old.text.clone(),
                new: latest.text.clone(),
                proof,
            }));
        }
    }
    // And each consecutive pair, as a monitor checks them.
    let sizes: Vec<&Signed> = by_size.values().copied().collect();
    for pair in sizes.windows(2) {
        let (old, new) = (pair[0], pair[1]);
        if old.cp.size == 0 {
            continue;
        }
        let Ok(proof) = tree.consistency_proof_between(old.cp.size, new.cp.size) else {
            continue;
        };
        if verify_consistency(old.cp.size, new.cp.size, &old.cp.root, &new.cp.root, &proof).is_err()
        {
            return Ok(Some(Finding::Inconsistent {
                old: old.text.clone(),
                new: new.text.clone(),
                proof,
            }));
        }
    }
    Ok(None)
}

/// The events of one record, as the chain check follows them.
struct Chain {
    first: u64,
    last: u64,
    head: Entry,
}

/// Checks the clinic's journal against the published entries and every
/// record's chain (§12.2).
fn check_journal(
    path: &Path,
    published: &[Entry],
    report: &mut AuditReport,
) -> Result<Option<Finding>, AuditError> {
    // Entry, and (record, prev) unless shredded, of every record.
    let mut entries: Vec<Entry> = Vec::new();
    let mut events: Vec<Option<(RecordRef, Option<Entry>)>> = Vec::new();
    let read = journal::read(path, |r| {
        entries.push(r.entry);
        events.push(r.opening.map(|o| (o.event.record, o.event.prev)));
    });
    let summary = match read {
        Ok(s) => s,
        Err(JournalError::BadRecord { index }) => {
            return Ok(Some(Finding::JournalOpening { index }))
        }
        Err(e) => return Err(AuditError::Journal(e)),
    };
    let mut check = JournalCheck {
        entries: summary.records,
        shredded: summary.shredded,
        chains: 0,
        pending_shreds: summary.pending_shreds,
    };
    if entries.len() < published.len() {
        report.journal = Some(check);
        return Ok(Some(Finding::JournalShort {
            records: entries.len() as u64,
            published: published.len() as u64,
        }));
    }
    for (index, (j, p)) in entries.iter().zip(published).enumerate() {
        if j != p {
            report.journal = Some(check);
            return Ok(Some(Finding::JournalMismatch {
                index: index as u64,
                journal: *j,
                published: *p,
            }));
        }
    }
    let mut position: std::collections::HashMap<Entry, u64> =
        std::collections::HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        position.entry(*e).or_insert(i as u64);
    }
    let mut chains: std::collections::HashMap<RecordRef, Chain> = std::collections::HashMap::new();
    let mut finding = None;
    for (i, event) in events.iter().enumerate() {
        let Some((record, prev)) = event else {
            continue;
        };
        let index = i as u64;
        let chain = chains.get(record);
        let after = chain.map(|c| c.last);
        // A prev may name a shredded entry between the record's previous
        // event and this one: only its value and place can be checked.
        let shredded_between = |p: &Entry| {
            position.get(p).is_some_and(|&j| {
                j < index && after.is_none_or(|a| a < j) && events[j as usize].is_none()
            })
        };
        let expected = chain.map(|c| c.head);
        let ok = *prev == expected || prev.as_ref().is_some_and(shredded_between);
        if !ok {
            finding = Some(Finding::ChainBreak {
                chain: chain.map_or(index, |c| c.first),
                index,
                expected_index: after,
                expected,
                found: *prev,
                found_index: prev.and_then(|p| position.get(&p).copied()),
            });
            break;
        }
        let first = chain.map_or(index, |c| c.first);
        chains.insert(
            *record,
            Chain {
                first,
                last: index,
                head: entries[i],
            },
        );
    }
    check.chains = chains.len() as u64;
    report.journal = Some(check);
    Ok(finding)
}

/// The suffix of a checkpoint's anchor proof beside it.
const ANCHOR_SUFFIX: &str = ".anchor.json";

/// Verifies the anchor proof beside each checkpoint of the history that
/// has one.
fn check_anchors(
    public: &Path,
    options: &AuditOptions<'_>,
    report: &mut AuditReport,
) -> Result<Option<Finding>, AuditError> {
    let history = public.join("checkpoints");
    let Ok(rd) = fs::read_dir(&history) else {
        return Ok(None);
    };
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ANCHOR_SUFFIX))
        .collect();
    names.sort();
    let verify = VerifyOptions::new(options.network);
    // The anchoring transactions in a block, by checkpoint size.
    let mut chain: Vec<(u64, String, Transaction)> = Vec::new();
    for name in names {
        let stem = name.trim_end_matches(ANCHOR_SUFFIX);
        let Some(bytes) = read_limited(&history.join(stem), MAX_NOTE_LEN)? else {
            continue;
        };
        let Ok(cp) = Checkpoint::parse(
            Note::parse(&bytes)
                .map(|n| n.text().to_owned())
                .unwrap_or_default()
                .as_str(),
        ) else {
            continue;
        };
        let v = match verify_file(
            &history.join(&name),
            Document::Content(&mut bytes.as_slice()),
            options.headers,
            &verify,
        ) {
            Ok(v) => v,
            Err(e) => {
                return Ok(Some(Finding::BadAnchor {
                    file: name,
                    reason: btc_anchor::text::with_sources(&e),
                }))
            }
        };
        let outcome = v.outcome();
        if matches!(outcome, Outcome::Invalid | Outcome::WrongNetwork) {
            return Ok(Some(Finding::BadAnchor {
                file: name,
                reason: v
                    .error()
                    .map(btc_anchor::text::with_sources)
                    .or(v.reason().map(str::to_owned))
                    .unwrap_or_else(|| "wrong-network".to_owned()),
            }));
        }
        if v.block_height().is_some() {
            if let Ok(ProofFile::Native(p)) = read_any(&history.join(&name)) {
                if let Some(anchor) = p.anchor {
                    chain.push((cp.size, name.clone(), anchor.tx));
                }
            }
        }
        report.anchors.push(AnchorCheck {
            size: cp.size,
            outcome,
            height: v.block_height(),
            not_later_than: v.not_later_than(),
            reason: v.reason(),
        });
    }
    report.anchors.sort_by_key(|a| a.size);
    let Some(genesis) = options.seal_genesis else {
        return Ok(None);
    };
    chain.sort_by_key(|(size, ..)| *size);
    let mut previous: Option<btc_anchor::bitcoin::Txid> = None;
    for (_, file, tx) in chain {
        let txid = tx.compute_txid();
        if previous == Some(txid) {
            continue; // two checkpoints in one batch
        }
        let ok = match previous {
            None => txid == genesis.txid && tx.output.len() > genesis.vout as usize,
            Some(prev) => {
                let seal = OutPoint {
                    txid: prev,
                    vout: genesis.vout,
                };
                tx.input.iter().any(|i| i.previous_output == seal)
            }
        };
        if !ok {
            let expected = match previous {
                None => genesis,
                Some(txid) => OutPoint {
                    txid,
                    vout: genesis.vout,
                },
            };
            return Ok(Some(Finding::SealBreak { file, expected }));
        }
        previous = Some(txid);
    }
    Ok(None)
}

/// Reads a file of at most `limit` bytes; `None` when absent.
fn read_limited(path: &Path, limit: usize) -> Result<Option<Vec<u8>>, AuditError> {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err("read", path))?;
    Ok(Some(bytes))
}

/// Reads and decodes a tile or bundle; a finding when it is missing or
/// malformed.
fn read_tile_file<T>(
    source: &mut dyn LogSource,
    path: &TilePath,
    limit: usize,
    decode: impl FnOnce(&[u8]) -> Result<T, TileError>,
) -> Result<Result<T, Finding>, AuditError> {
    let Some(bytes) = source.read(&path.to_path(), limit)? else {
        return Ok(Err(Finding::Missing {
            path: path.to_path(),
        }));
    };
    Ok(decode(&bytes).map_err(|e| Finding::Malformed {
        path: path.to_path(),
        reason: btc_anchor::text::with_sources(&e),
    }))
}
