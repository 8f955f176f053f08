//! The event journal (`docs/audit-log.md` §11.2): the clinic's private,
//! append-only file of every entry with its opening, from which the tiles
//! are written and event proofs made.
//!
//! ```text
//! file   = magic record*
//! magic  = "btc-anchor-log/journal/v1\n"
//! record = length (4 bytes, big-endian, of body) ‖ body ‖ check
//! body   = entry (32 bytes) ‖ salt (32 bytes) ‖ canonical event JSON
//! check  = the first 8 bytes of SHA-256(length ‖ body)
//! ```
//!
//! A record is acknowledged only once the file is synced after it, so a
//! crash can leave only unacknowledged bytes after the last sync: reading
//! stops at the first record that is cut short or fails its check, and
//! [`Journal::open`] moves those bytes aside and truncates the file there.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::entry::{Entry, RecordRef, SALT_LEN};
use crate::event::MAX_EVENT_LEN;
use crate::proof::Opening;

/// The journal's first bytes.
pub const MAGIC: &[u8] = b"btc-anchor-log/journal/v1\n";
/// Longest record body: entry, salt and the longest event.
pub const MAX_BODY_LEN: usize = 32 + SALT_LEN + MAX_EVENT_LEN;
const CHECK_LEN: usize = 8;

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
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
    /// A file that does not start with [`MAGIC`].
    #[error("{} is not an event journal", path.display())]
    NotJournal {
        /// The path.
        path: PathBuf,
    },
    /// A record that passes its check but whose entry is not the
    /// commitment of its opening.
    #[error("journal record {index} does not commit to its event")]
    BadRecord {
        /// The record's index.
        index: u64,
    },
    /// A damaged record among those the log has already published: not
    /// a torn write, which only follows the last sync.
    #[error("journal record {index} is damaged, and the log published {published} entries")]
    Damaged {
        /// The first damaged record.
        index: u64,
        /// Entries the log's checkpoint covers.
        published: u64,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What opening a journal found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of unacknowledged records cut off its end.
    pub torn_bytes: u64,
    /// Where they were kept, if any.
    pub kept_at: Option<PathBuf>,
}

/// An open journal: the entries and where each record starts.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    entries: Vec<Entry>,
    offsets: Vec<u64>,
    heads: HashMap<RecordRef, Entry>,
    len: u64,
}

fn check(body_with_len: &[u8]) -> [u8; CHECK_LEN] {
    let d = Sha256::digest(body_with_len);
    let mut c = [0u8; CHECK_LEN];
    c.copy_from_slice(&d[..CHECK_LEN]);
    c
}

/// Encodes one record: `opening` and the entry it commits to.
fn encode_record(entry: &Entry, opening: &Opening, out: &mut Vec<u8>) {
    let bytes = opening.to_bytes();
    let start = out.len();
    out.extend_from_slice(&((32 + bytes.len()) as u32).to_be_bytes());
    out.extend_from_slice(&entry.0);
    out.extend_from_slice(&bytes);
    let c = check(&out[start..]);
    out.extend_from_slice(&c);
}

impl Journal {
    /// Creates an empty journal (failing if the file exists), synced with
    /// its folder.
    ///
    /// # Errors
    ///
    /// [`JournalError::Io`] when the file cannot be created.
    pub fn create(path: &Path) -> Result<Journal, JournalError> {
        // Appending mode: reads of openings move the file position, and
        // writes must still go to the end.
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode_0600()
            .open(path)
            .map_err(io_err("create", path))?;
        file.write_all(MAGIC)
            .and_then(|()| file.sync_all())
            .map_err(io_err("write", path))?;
        sync_parent(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            entries: Vec::new(),
            offsets: Vec::new(),
            heads: HashMap::new(),
            len: MAGIC.len() as u64,
        })
    }

    /// Opens a journal and reads every record, cutting off a torn tail
    /// (kept beside it as `<name>.torn-<offset>`). `published` is the size
    /// of the log's latest checkpoint: a damaged record below it is
    /// [`JournalError::Damaged`], never cut off.
    ///
    /// # Errors
    ///
    /// A [`JournalError`] when the file cannot be read, is not a journal,
    /// or is damaged where the log already published it.
    pub fn open(path: &Path, published: u64) -> Result<(Journal, Recovery), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_err("open", path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err("read", path))?;
        if !bytes.starts_with(MAGIC) {
            return Err(JournalError::NotJournal {
                path: path.to_path_buf(),
            });
        }
        let mut at = MAGIC.len();
        let (mut entries, mut offsets, mut heads) = (Vec::new(), Vec::new(), HashMap::new());
        while let Some(end) = record_end(&bytes, at) {
            let body = &bytes[at + 4..end - CHECK_LEN];
            let opening =
                Opening::from_bytes(&body[32..]).map_err(|_| JournalError::BadRecord {
                    index: entries.len() as u64,
                })?;
            let entry = opening.entry();
            if entry.0 != body[..32] {
                return Err(JournalError::BadRecord {
                    index: entries.len() as u64,
                });
            }
            heads.insert(opening.event.record, entry);
            entries.push(entry);
            offsets.push(at as u64);
            at = end;
        }
        let mut recovery = Recovery::default();
        if at < bytes.len() {
            if (entries.len() as u64) < published {
                return Err(JournalError::Damaged {
                    index: entries.len() as u64,
                    published,
                });
            }
            let kept = path.with_extension(format!("torn-{at}"));
            fs::write(&kept, &bytes[at..]).map_err(io_err("keep the torn tail in", &kept))?;
            file.set_len(at as u64)
                .and_then(|()| file.sync_all())
                .map_err(io_err("truncate", path))?;
            recovery = Recovery {
                torn_bytes: (bytes.len() - at) as u64,
                kept_at: Some(kept),
            };
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                entries,
                offsets,
                heads,
                len: at as u64,
            },
            recovery,
        ))
    }

    /// The entries, in log order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of the latest event of a record: the `prev` its next
    /// event must carry.
    pub fn head(&self, record: &RecordRef) -> Option<Entry> {
        self.heads.get(record).copied()
    }

    /// Appends records and syncs the file once: when this returns, all of
    /// them are durable. On an error none is acknowledged, and the file is
    /// cut back to where it was.
    ///
    /// # Errors
    ///
    /// [`JournalError::Io`] when writing or syncing fails.
    pub fn append(&mut self, openings: &[Opening]) -> Result<(), JournalError> {
        let mut buf = Vec::new();
        let mut offsets = Vec::with_capacity(openings.len());
        let entries: Vec<Entry> = openings.iter().map(Opening::entry).collect();
        for (o, e) in openings.iter().zip(&entries) {
            offsets.push(self.len + buf.len() as u64);
            encode_record(e, o, &mut buf);
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(self.len);
            return Err(io_err("append to", &self.path)(e));
        }
        self.len += buf.len() as u64;
        self.offsets.extend(offsets);
        for (o, e) in openings.iter().zip(entries) {
            self.heads.insert(o.event.record, e);
            self.entries.push(e);
        }
        Ok(())
    }

    /// The opening of entry `index`, read back from the file.
    ///
    /// # Errors
    ///
    /// [`JournalError::BadRecord`] for an index out of range or a record
    /// changed since it was read, or an I/O error.
    pub fn opening(&self, index: u64) -> Result<Opening, JournalError> {
        let bad = JournalError::BadRecord { index };
        let start = *self.offsets.get(index as usize).ok_or(bad)?;
        let end = self
            .offsets
            .get(index as usize + 1)
            .copied()
            .unwrap_or(self.len);
        let mut buf = vec![0u8; (end - start) as usize];
        let mut f = &self.file;
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.read_exact(&mut buf))
            .map_err(io_err("read", &self.path))?;
        let bad = || JournalError::BadRecord { index };
        if record_end(&buf, 0) != Some(buf.len()) {
            return Err(bad());
        }
        let body = &buf[4..buf.len() - CHECK_LEN];
        let opening = Opening::from_bytes(&body[32..]).map_err(|_| bad())?;
        if opening.entry().0 != body[..32]
            || Some(&opening.entry()) != self.entries.get(index as usize)
        {
            return Err(bad());
        }
        Ok(opening)
    }
}

/// The end of the record at `at`, if a whole record that passes its check
/// is there.
fn record_end(bytes: &[u8], at: usize) -> Option<usize> {
    let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    if !(32 + SALT_LEN..=MAX_BODY_LEN).contains(&len) {
        return None;
    }
    let end = at + 4 + len + CHECK_LEN;
    let record = bytes.get(at..end)?;
    (check(&record[..4 + len]) == record[4 + len..]).then_some(end)
}

/// Syncs the folder holding `path`, so a new name in it is durable.
pub(crate) fn sync_parent(path: &Path) -> Result<(), JournalError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync folder", dir))
}

/// `OpenOptions::mode(0o600)` where the platform has modes.
trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for OpenOptions {
    #[cfg(unix)]
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt as _;
        self.mode(0o600)
    }
    #[cfg(not(unix))]
    fn mode_0600(&mut self) -> &mut Self {
        self
    }
}
