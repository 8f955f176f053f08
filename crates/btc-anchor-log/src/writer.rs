//! A log on disk (`docs/audit-log.md` §11): the one writer that appends
//! events durably, keeps each record's chain, writes tiles and signs
//! checkpoints, and makes event proofs.
//!
//! ```text
//! DIR/                 0700, the clinic's; never served
//!   key                the log's signer key (0600, §3.4)
//!   refkey             the secret that salts record and actor references
//!                      (0600, §11.4)
//!   journal            every entry with its opening (0600, §11.2)
//!   lock               held by the one writer
//!   public/            what may be published or served (tlog-tiles)
//!     checkpoint       the latest signed checkpoint
//!     checkpoints/<N>  every signed checkpoint, by size
//!     tile/…           tiles and entry bundles (§5)
//! ```
//!
//! ```
//! use btc_anchor_log::entry::{ActorRef, RecordRef, Salt};
//! use btc_anchor_log::event::{Event, EventKind};
//! use btc_anchor_log::note::Signer;
//! use btc_anchor_log::writer::LogWriter;
//!
//! let dir = tempfile::tempdir()?;
//! let dir = dir.path().join("log");
//! let mut log = LogWriter::create(&dir, Signer::generate("clinic.example/audit")?)?;
//! let salt = Salt::random()?;
//! let event = |kind| Event {
//!     kind,
//!     time: 1_767_225_600,
//!     record: RecordRef::new(b"record 17", &salt),
//!     actor: ActorRef::new(b"dr. who", &salt),
//!     content: None,
//!     prev: None,
//!     codes: Default::default(),
//! };
//! let first = log.append(vec![event(EventKind::Create)])?;
//! let second = log.append(vec![event(EventKind::Read)])?;
//! // The second event of the record names the first.
//! assert_eq!(log.opening(second[0])?.event.prev, Some(log.entries()[first[0] as usize]));
//! let checkpoint = log.checkpoint()?.expect("the log grew");
//! let proof = log.prove(1, true)?;
//! let (read, _) = proof.verify_event("clinic.example/audit", &log.verifier())?;
//! assert_eq!(read.kind, EventKind::Read);
//! # let _ = checkpoint;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use btc_anchor::merkle::{verify_consistency, verify_inclusion, NodeHash};

use crate::checkpoint::{Checkpoint, OpenError};
use sha2::{Digest as _, Sha256};

use crate::entry::{ActorRef, Entry, RecordRef, RngError, Salt};
use crate::event::{Event, EventError};
use crate::event_proof::EventProof;
use crate::journal::{sync_parent, Journal, JournalError, Recovery};
use crate::keyfile::{read_key_file, write_key_file, KeyFileError};
use crate::note::{Note, Signer, Verifier};
use crate::proof::{Opening, TlogProof};
use crate::store::{StoreError, TileReader, TileStore};

/// Most events one [`LogWriter::append`] takes.
pub const MAX_APPEND: usize = 100_000;

/// Errors of a log on disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
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
    /// Another writer holds the log.
    #[error("another process is writing the log in {}", path.display())]
    Locked {
        /// The log's folder.
        path: PathBuf,
    },
    /// A folder where a log was to be created is not empty.
    #[error("{} exists and is not empty", path.display())]
    Exists {
        /// The folder.
        path: PathBuf,
    },
    /// The key file.
    #[error("cannot use the log's key")]
    Key(#[from] KeyFileError),
    /// A refkey file its group or other users may access.
    #[error("{} is accessible to other users (mode {mode:o}); it must be 0600", path.display())]
    RefkeyPermissions {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A refkey file that is not 64 hex digits.
    #[error("{} does not hold a reference key", path.display())]
    BadRefkey {
        /// The path.
        path: PathBuf,
    },
    /// The journal.
    #[error("cannot use the log's journal")]
    Journal(#[from] JournalError),
    /// The tiles.
    #[error("cannot use the log's tiles")]
    Tiles(#[from] StoreError),
    /// The latest checkpoint is not one this key signed, or not of this
    /// log.
    #[error("the log's latest checkpoint does not open")]
    Checkpoint(#[from] OpenError),
    /// The latest checkpoint is larger than the journal: entries the log
    /// published are missing.
    #[error("the checkpoint covers {published} entries but the journal holds {journal}")]
    Truncated {
        /// The checkpoint's size.
        published: u64,
        /// Entries in the journal.
        journal: u64,
    },
    /// The tiles do not give the checkpoint's root.
    #[error("the tiles do not give the latest checkpoint's root")]
    RootMismatch,
    /// A proof read from the tiles that does not lead to the root of the
    /// signed checkpoint it is for: the tiles were changed.
    #[error("the tiles do not prove entry {index} in the signed checkpoint of size {size}")]
    TilesDisagree {
        /// The entry (or, for a consistency proof, the older size).
        index: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// An event that cannot be written.
    #[error("an event cannot be written")]
    Event(#[from] EventError),
    /// An event whose `prev` is not its record's latest entry.
    #[error("event {index} of the append does not follow its record's latest event")]
    Chain {
        /// The event's position in the append.
        index: usize,
    },
    /// More than [`MAX_APPEND`] events at once.
    #[error("{found} events in one append, over the limit of {MAX_APPEND}")]
    TooMany {
        /// Events given.
        found: usize,
    },
    /// An index that is not in the latest checkpoint.
    #[error("entry {index} is not in the latest checkpoint (size {size})")]
    NotPublished {
        /// The index asked for.
        index: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// A proof of an entry whose event was shredded (§11.5): only its
    /// entry is left, which shows nothing.
    #[error(
        "the event was shredded (entry {index}, erased on request): no proof of it can be made"
    )]
    Shredded {
        /// The entry's index.
        index: u64,
    },
    /// The system's random number generator failed.
    #[error("cannot draw a salt")]
    Rng(#[from] RngError),
    /// An earlier group commit failed.
    #[error("the group commit failed")]
    Group(#[source] Arc<LogError>),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The one writer of a log on disk.
pub struct LogWriter {
    dir: PathBuf,
    signer: Signer,
    refkey: [u8; 32],
    journal: Journal,
    tiles: TileStore,
    published: u64,
    latest: Option<Note>,
    recovery: Recovery,
    _lock: File,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("dir", &self.dir)
            .field("origin", &self.signer.name())
            .field("entries", &self.journal.entries().len())
            .field("published", &self.published)
            .finish_non_exhaustive()
    }
}

fn take_lock(dir: &Path) -> Result<File, LogError> {
    let path = dir.join("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(LogError::Locked {
            path: dir.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &path)(e)),
    }
}

/// The domain of the reference salts derived from the refkey (§11.4).
pub const REFERENCE_SALT_DOMAIN: &[u8] = b"btc-anchor/log-ref-salt/v1\0";

fn write_refkey(path: &Path, key: &[u8; 32]) -> Result<(), LogError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io_err("create", path))?;
    std::io::Write::write_all(&mut f, hex::encode(key).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_err("write", path))?;
    Ok(sync_parent(path)?)
}

fn read_refkey(path: &Path) -> Result<[u8; 32], LogError> {
    let text = fs::read_to_string(path).map_err(io_err("read", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(path)
            .map_err(io_err("read", path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(LogError::RefkeyPermissions {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
    }
    crate::entry::parse_hex32(text.trim_end()).ok_or_else(|| LogError::BadRefkey {
        path: path.to_path_buf(),
    })
}

fn make_dir(path: &Path) -> Result<(), LogError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path).map_err(io_err("create folder", path))
}

/// Writes a file whole and durably ([`btc_anchor::file::write_atomic`]):
/// a temporary file, synced, renamed over the name, the folder synced.
fn write_atomic(file: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let options = btc_anchor::file::WriteOptions {
        replace: true,
        durable: true,
    };
    btc_anchor::file::write_atomic(file, bytes, options).map_err(io_err("write", file))
}

impl LogWriter {
    /// Creates a log in `dir` (made 0700; it must be absent or empty),
    /// signed by `signer`, whose name is the log's origin.
    ///
    /// # Errors
    ///
    /// [`LogError::Exists`] for a folder that is not empty, and the errors
    /// of creating its files.
    pub fn create(dir: &Path, signer: Signer) -> Result<LogWriter, LogError> {
        if fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
            return Err(LogError::Exists {
                path: dir.to_path_buf(),
            });
        }
        make_dir(dir)?;
        let lock = take_lock(dir)?;
        make_dir(&dir.join("public/checkpoints"))?;
        write_key_file(&dir.join("key"), &signer)?;
        let refkey = Salt::random()?.0;
        write_refkey(&dir.join("refkey"), &refkey)?;
        let journal = Journal::create(&dir.join("journal"))?;
        Ok(LogWriter {
            dir: dir.to_path_buf(),
            signer,
            refkey,
            journal,
            tiles: tile_store(dir),
            published: 0,
            latest: None,
            recovery: Recovery::default(),
            _lock: lock,
        })
    }

    /// Opens the log in `dir` as its one writer: reads the key, the latest
    /// checkpoint (checked against the tiles) and the journal, cutting off
    /// a torn tail left by a crash (see [`LogWriter::recovery`]).
    ///
    /// # Errors
    ///
    /// [`LogError::Locked`] when another writer holds it, and a
    /// [`LogError`] for a log whose files do not agree.
    pub fn open(dir: &Path) -> Result<LogWriter, LogError> {
        // A folder without a key is no log: refused before the lock file
        // is made, so that nothing is left in it.
        let key = dir.join("key");
        fs::symlink_metadata(&key).map_err(io_err("read", &key))?;
        let lock = take_lock(dir)?;
        let signer = read_key_file(&dir.join("key"))?;
        let refkey = read_refkey(&dir.join("refkey"))?;
        let tiles = tile_store(dir);
        let cp_path = dir.join("public/checkpoint");
        let (published, latest) = match fs::read(&cp_path) {
            Ok(bytes) => {
                let cp = Checkpoint::open(&bytes, signer.name(), &[signer.verifier()])?;
                if tiles.without_rows().reader(cp.size)?.root()? != cp.root {
                    return Err(LogError::RootMismatch);
                }
                (cp.size, Some(Note::parse(&bytes).map_err(OpenError::from)?))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (0, None),
            Err(e) => return Err(io_err("read", &cp_path)(e)),
        };
        let (journal, recovery) = Journal::open(&dir.join("journal"), published)?;
        let held = journal.entries().len() as u64;
        if held < published {
            return Err(LogError::Truncated {
                published,
                journal: held,
            });
        }
        Ok(LogWriter {
            dir: dir.to_path_buf(),
            signer,
            refkey,
            journal,
            tiles,
            published,
            latest,
            recovery,
            _lock: lock,
        })
    }

    /// The log's origin (its key's name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The key that verifies the log's checkpoints.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// The reference of the record `id` in this log's events: the same id
    /// always gives the same reference, so its events chain (§11.4).
    pub fn record_ref(&self, id: &[u8]) -> RecordRef {
        RecordRef::new(id, &self.reference_salt(b"record", id))
    }

    /// The reference of the actor `id`, as [`LogWriter::record_ref`].
    pub fn actor_ref(&self, id: &[u8]) -> ActorRef {
        ActorRef::new(id, &self.reference_salt(b"actor", id))
    }

    /// SHA-256(domain ‖ refkey ‖ role ‖ 0x00 ‖ id).
    fn reference_salt(&self, role: &[u8], id: &[u8]) -> Salt {
        let mut h = Sha256::new();
        h.update(REFERENCE_SALT_DOMAIN);
        h.update(self.refkey);
        h.update(role);
        h.update([0]);
        h.update(id);
        Salt(h.finalize().into())
    }

    /// What opening the log cut off the journal's end.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Every entry appended, in log order.
    pub fn entries(&self) -> &[Entry] {
        self.journal.entries()
    }

    /// The size of the latest checkpoint.
    pub fn published(&self) -> u64 {
        self.published
    }

    /// The latest signed checkpoint.
    pub fn latest_checkpoint(&self) -> Option<&Note> {
        self.latest.as_ref()
    }

    /// The opening of entry `index`.
    ///
    /// # Errors
    ///
    /// A [`LogError::Journal`] for an index out of range or a damaged
    /// record.
    pub fn opening(&self, index: u64) -> Result<Opening, LogError> {
        Ok(self.journal.opening(index)?)
    }

    /// How many entries are shredded.
    pub fn shredded(&self) -> u64 {
        self.journal.shredded()
    }

    /// Whether the event of entry `index` was shredded.
    pub fn is_shredded(&self, index: u64) -> bool {
        self.journal.is_shredded(index)
    }

    /// Shreds every event of the record `id` (an erasure request,
    /// `docs/audit-log.md` §11.5): the salt and event of each are erased
    /// from the journal, their entries stay, so the log's tiles,
    /// checkpoints, anchors and other events' proofs stay valid. The
    /// record's next event starts a new chain.
    ///
    /// # Errors
    ///
    /// The errors of [`Journal::shred`], as [`LogError::Journal`].
    pub fn shred_record(&mut self, id: &[u8]) -> Result<Shred, LogError> {
        let record = self.record_ref(id);
        let indices = self.journal.indices_of(&record)?;
        self.shred_entries(&indices)
    }

    /// Shreds the events of the entries `indices` (§11.5), as
    /// [`LogWriter::shred_record`]; those already shredded are counted,
    /// not shredded again. A record whose latest event is shredded gets
    /// its latest event left as the `prev` of its next one.
    ///
    /// # Errors
    ///
    /// [`JournalError::NoSuchRecord`] for an index not in the journal
    /// (then nothing is shredded), and the errors of [`Journal::shred`].
    pub fn shred_entries(&mut self, indices: &[u64]) -> Result<Shred, LogError> {
        let shredded = self.journal.shred(indices)?;
        let asked: std::collections::BTreeSet<u64> = indices.iter().copied().collect();
        Ok(Shred {
            already: (asked.len() - shredded.len()) as u64,
            shredded,
        })
    }

    /// Appends events durably, each under a fresh salt, with one sync:
    /// when this returns their indices, all are on disk. An event without
    /// `prev` gets its record's latest entry; one with a `prev` must name
    /// it.
    ///
    /// # Errors
    ///
    /// [`LogError::Chain`] for a `prev` that is not its record's latest
    /// entry, [`LogError::TooMany`], an event that cannot be written, or
    /// an I/O error: then none of the events is appended.
    pub fn append(&mut self, events: Vec<Event>) -> Result<Vec<u64>, LogError> {
        if events.len() > MAX_APPEND {
            return Err(LogError::TooMany {
                found: events.len(),
            });
        }
        let mut heads = std::collections::HashMap::new();
        let mut openings = Vec::with_capacity(events.len());
        for (i, mut event) in events.into_iter().enumerate() {
            let head = heads
                .get(&event.record)
                .copied()
                .or_else(|| self.journal.head(&event.record));
            match (event.prev, head) {
                (None, head) => event.prev = head,
                (Some(p), Some(h)) if p == h => {}
                (Some(_), _) => return Err(LogError::Chain { index: i }),
            }
            let record = event.record;
            let opening = Opening::new(event, Salt::random()?)?;
            heads.insert(record, opening.entry());
            openings.push(opening);
        }
        let first = self.journal.entries().len() as u64;
        self.journal.append(&openings)?;
        Ok((first..first + openings.len() as u64).collect())
    }

    /// Writes the tiles of every entry appended and signs a checkpoint of
    /// them, kept in `public/checkpoints/<size>` and published as
    /// `public/checkpoint`; `None` when the log did not grow.
    ///
    /// # Errors
    ///
    /// A [`LogError`] when the tiles or the checkpoint cannot be written.
    pub fn checkpoint(&mut self) -> Result<Option<Note>, LogError> {
        let entries = self.journal.entries();
        let size = entries.len() as u64;
        if size == self.published {
            return Ok(None);
        }
        self.tiles.write(entries, self.published)?;
        // The root signed is the tiles' own, never the rows' (a cache).
        let cp = Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root: self.tiles.without_rows().reader(size)?.root()?,
            extensions: vec![],
        };
        let note = cp.sign(&[&self.signer])?;
        let text = note.to_text();
        write_atomic(
            &self.dir.join(format!("public/checkpoints/{size}")),
            text.as_bytes(),
        )?;
        write_atomic(&self.dir.join("public/checkpoint"), text.as_bytes())?;
        self.published = size;
        self.latest = Some(note.clone());
        Ok(Some(note))
    }

    /// [`LogWriter::checkpoint`], unless the latest checkpoint is younger
    /// than `min_interval` (by its file's modification time): a cadence
    /// that signs at most one checkpoint per interval, and only when the
    /// log grew.
    ///
    /// # Errors
    ///
    /// As [`LogWriter::checkpoint`].
    pub fn checkpoint_if_due(
        &mut self,
        min_interval: std::time::Duration,
    ) -> Result<Option<Note>, LogError> {
        if self.latest.is_some() {
            let path = self.dir.join("public/checkpoint");
            let age = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(io_err("read", &path))?
                .elapsed()
                .unwrap_or_default();
            if age < min_interval {
                return Ok(None);
            }
        }
        self.checkpoint()
    }

    /// Appends a beacon: an event of kind `beacon` whose content is the
    /// hash of a Bitcoin block (its 32 bytes in the order the block hash is
    /// hashed, not displayed) and whose type names the network and height,
    /// `btc-anchor/beacon|<network>:<height>`. Every later entry was
    /// written after that block was found: a "not earlier than" bound.
    ///
    /// # Errors
    ///
    /// As [`LogWriter::append`].
    pub fn beacon(
        &mut self,
        block: [u8; 32],
        network: &str,
        height: u32,
        time: u64,
    ) -> Result<u64, LogError> {
        let event = Event {
            kind: crate::event::EventKind::Beacon,
            time,
            record: self.record_ref(b"btc-anchor/beacon"),
            actor: self.actor_ref(b"btc-anchor"),
            content: Some(crate::entry::ContentDigest(block)),
            prev: None,
            codes: crate::event::Codes {
                r#type: Some(format!("btc-anchor/beacon|{network}:{height}")),
                ..Default::default()
            },
        };
        Ok(self.append(vec![event])?[0])
    }

    /// The proof of entry `index` in the latest checkpoint; with
    /// `disclose`, it carries the event and its salt.
    ///
    /// # Errors
    ///
    /// [`LogError::NotPublished`] for an entry the latest checkpoint does
    /// not cover, [`LogError::Shredded`] for a shredded one, and the errors
    /// of reading tiles and the journal.
    pub fn prove(&self, index: u64, disclose: bool) -> Result<TlogProof, LogError> {
        let not = LogError::NotPublished {
            index,
            size: self.published,
        };
        let checkpoint = match &self.latest {
            Some(n) if index < self.published => n.clone(),
            _ => return Err(not),
        };
        if self.journal.is_shredded(index) {
            return Err(LogError::Shredded { index });
        }
        let extra = if disclose {
            Some(self.journal.opening(index)?.to_bytes())
        } else {
            None
        };
        Ok(TlogProof {
            extra,
            index,
            path: self.inclusion_path(index, &checkpoint)?,
            checkpoint,
        })
    }
}

/// What a shred did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shred {
    /// The entries whose events were shredded now, in order.
    pub shredded: Vec<u64>,
    /// Entries asked for that were shredded before.
    pub already: u64,
}

/// Most checkpoints [`LogWriter::prove_anchored`] looks through.
pub const MAX_CHECKPOINTS: usize = 100_000;

impl LogWriter {
    /// The event proof of entry `index` that reaches Bitcoin
    /// (`docs/audit-log.md` §15.3): the entry's inclusion in the first
    /// checkpoint that holds it, the consistency proof from there to the
    /// first checkpoint that holds it and whose anchor proof
    /// (`public/checkpoints/<N>.anchor.json`) is in a block, and that
    /// anchor proof. `None` when no anchored checkpoint holds the entry
    /// yet. With `disclose`, it carries the event and its salt.
    ///
    /// # Errors
    ///
    /// [`LogError::NotPublished`] for an entry the latest checkpoint does
    /// not cover, [`LogError::Shredded`] for a shredded one, and the errors
    /// of reading the checkpoints, tiles and journal.
    pub fn prove_anchored(
        &self,
        index: u64,
        disclose: bool,
    ) -> Result<Option<EventProof>, LogError> {
        if index >= self.published {
            return Err(LogError::NotPublished {
                index,
                size: self.published,
            });
        }
        if self.journal.is_shredded(index) {
            return Err(LogError::Shredded { index });
        }
        let history = self.dir.join("public/checkpoints");
        let mut sizes = Vec::new();
        for e in fs::read_dir(&history).map_err(io_err("list", &history))? {
            let e = e.map_err(io_err("list", &history))?;
            if sizes.len() >= MAX_CHECKPOINTS {
                break;
            }
            let name = e.file_name();
            let size = name
                .to_str()
                .and_then(|n| crate::checkpoint::parse_decimal(n, self.published));
            if let Some(size) = size.filter(|&s| s > index) {
                sizes.push(size);
            }
        }
        sizes.sort_unstable();
        let mut found = None;
        for &size in &sizes {
            let path = history.join(format!("{size}.anchor.json"));
            let Some(bytes) = read_capped(&path, btc_anchor::proof::MAX_PROOF_BYTES)? else {
                continue;
            };
            let confirmed = btc_anchor::proof::Proof::from_json(&bytes)
                .is_ok_and(|p| p.anchor.is_some_and(|a| a.block.is_some()));
            if confirmed {
                found = Some((size, bytes));
                break;
            }
        }
        let Some((anchored_size, anchor)) = found else {
            return Ok(None);
        };
        // The first checkpoint that holds the entry (at most the anchored
        // one, which holds it too).
        let first = sizes[0];
        let read_note = |size: u64| -> Result<Vec<u8>, LogError> {
            let path = history.join(size.to_string());
            read_capped(&path, crate::note::MAX_NOTE_LEN)?.ok_or_else(|| LogError::Io {
                action: "read",
                path,
                source: io::ErrorKind::NotFound.into(),
            })
        };
        let checkpoint = Note::parse(&read_note(first)?).map_err(OpenError::from)?;
        let anchored = read_note(anchored_size)?;
        let extra = if disclose {
            Some(self.journal.opening(index)?.to_bytes())
        } else {
            None
        };
        let consistency = if first == anchored_size {
            vec![]
        } else {
            let old = Checkpoint::parse(checkpoint.text()).map_err(OpenError::from)?;
            let new = Note::parse(&anchored).map_err(OpenError::from)?;
            let new = Checkpoint::parse(new.text()).map_err(OpenError::from)?;
            self.checked_proof(
                new.size,
                old.size,
                |r| r.consistency_proof(old.size),
                |proof| verify_consistency(old.size, new.size, &old.root, &new.root, proof).is_ok(),
            )?
        };
        Ok(Some(EventProof {
            vkey: self.verifier(),
            entry: self.journal.entries()[index as usize],
            inclusion: TlogProof {
                extra,
                index,
                path: self.inclusion_path(index, &checkpoint)?,
                checkpoint,
            },
            anchored,
            consistency,
            anchor,
        }))
    }
}

impl LogWriter {
    /// The inclusion path of entry `index` in the tree `checkpoint` signs,
    /// read from the tiles and their rows (§5.4) and checked against the
    /// checkpoint's root and the journal's entry: when the rows (a cache)
    /// do not give it, the tiles are read again alone.
    fn inclusion_path(&self, index: u64, checkpoint: &Note) -> Result<Vec<NodeHash>, LogError> {
        let cp = Checkpoint::parse(checkpoint.text()).map_err(OpenError::from)?;
        let leaf = self.journal.entries()[index as usize].leaf();
        self.checked_proof(
            cp.size,
            index,
            |r| r.inclusion_proof(index),
            |path| verify_inclusion(index, cp.size, &leaf, path, &cp.root).is_ok(),
        )
    }

    /// A proof `read` from the tree of `size` in the tiles and their rows
    /// (§5.4), passed by `check`; when the rows (a cache) give one that
    /// fails, read again from the tiles alone, and
    /// [`LogError::TilesDisagree`] (naming `index`) if that fails too.
    fn checked_proof(
        &self,
        size: u64,
        index: u64,
        read: impl Fn(&mut TileReader<'_>) -> Result<Vec<NodeHash>, StoreError>,
        check: impl Fn(&[NodeHash]) -> bool,
    ) -> Result<Vec<NodeHash>, LogError> {
        for store in [self.tiles.clone(), self.tiles.without_rows()] {
            let proof = read(&mut store.reader(size)?)?;
            if check(&proof) {
                return Ok(proof);
            }
        }
        Err(LogError::TilesDisagree { index, size })
    }
}

/// The tile store of the log in `dir`: `public/`, with the tiles' rows
/// (§5.4) kept privately in `rows/`.
fn tile_store(dir: &Path) -> TileStore {
    TileStore::with_rows(dir.join("public"), dir.join("rows"))
}

/// Reads a file of at most `cap` bytes (a longer one is cut at `cap + 1`,
/// for its parser to refuse); `None` when it does not exist.
fn read_capped(path: &Path, cap: usize) -> Result<Option<Vec<u8>>, LogError> {
    use std::io::Read as _;
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let mut bytes = Vec::new();
    f.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err("read", path))?;
    Ok(Some(bytes))
}

/// The indices a request got, or why its group failed.
type Committed = Result<Vec<u64>, Arc<LogError>>;

/// Appends the requests of one group with one sync; when that fails, each
/// request alone, so that one bad request fails only itself.
fn commit_group(writer: &mut LogWriter, batch: Vec<(u64, Vec<Event>)>) -> Vec<(u64, Committed)> {
    if batch.len() > 1 {
        let all: Vec<Event> = batch.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
        if let Ok(indices) = writer.append(all) {
            let mut at = 0;
            return batch
                .into_iter()
                .map(|(t, e)| {
                    at += e.len();
                    (t, Ok(indices[at - e.len()..at].to_vec()))
                })
                .collect();
        }
    }
    batch
        .into_iter()
        .map(|(t, e)| (t, writer.append(e).map_err(Arc::new)))
        .collect()
}

/// A [`LogWriter`] shared by many threads, which commits their appends in
/// groups: while one group is being synced, the next gathers, and each
/// thread returns once its events are durable.
#[derive(Debug)]
pub struct GroupCommit {
    state: Mutex<Group>,
    done: Condvar,
}

#[derive(Debug)]
struct Group {
    writer: Option<LogWriter>,
    queue: Vec<(u64, Vec<Event>)>,
    next_ticket: u64,
    results: std::collections::HashMap<u64, Committed>,
}

impl GroupCommit {
    /// Shares `writer`.
    pub fn new(writer: LogWriter) -> GroupCommit {
        GroupCommit {
            state: Mutex::new(Group {
                writer: Some(writer),
                queue: Vec::new(),
                next_ticket: 0,
                results: std::collections::HashMap::new(),
            }),
            done: Condvar::new(),
        }
    }

    /// Appends `events` in the next group; returns their indices once
    /// they are durable.
    ///
    /// # Errors
    ///
    /// [`LogError::Group`] when the group they were in failed (none of
    /// its events is appended).
    pub fn append(&self, events: Vec<Event>) -> Result<Vec<u64>, LogError> {
        let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = g.next_ticket;
        g.next_ticket += 1;
        g.queue.push((ticket, events));
        loop {
            if let Some(r) = g.results.remove(&ticket) {
                return r.map_err(LogError::Group);
            }
            let Some(mut writer) = g.writer.take() else {
                g = self.done.wait(g).unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            // This thread commits the group gathered so far, up to
            // MAX_APPEND events (at least one request).
            let mut total = 0;
            let take = g
                .queue
                .iter()
                .take_while(|(_, e)| {
                    total += e.len();
                    total <= MAX_APPEND
                })
                .count()
                .max(1);
            let batch: Vec<(u64, Vec<Event>)> = g.queue.drain(..take).collect();
            drop(g);
            let results = commit_group(&mut writer, batch);
            g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            g.writer = Some(writer);
            g.results.extend(results);
            self.done.notify_all();
        }
    }

    /// Runs `f` on the writer between groups (to checkpoint or prove).
    pub fn with_writer<T>(&self, f: impl FnOnce(&mut LogWriter) -> T) -> T {
        let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(mut writer) = g.writer.take() {
                drop(g);
                let out = f(&mut writer);
                let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                g.writer = Some(writer);
                self.done.notify_all();
                return out;
            }
            g = self.done.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The writer back, once no thread uses it.
    pub fn into_inner(self) -> Option<LogWriter> {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .writer
    }
}
