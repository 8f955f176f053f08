//! The event journal (`docs/audit-log.md` §11.2): the clinic's private,
//! append-only file of every entry with its opening, from which the tiles
//! are written and event proofs made.
//!
//! ```text
//! file     = magic record*
//! magic    = "btc-anchor-log/journal/v1\n" | "btc-anchor-log/journal/v2\n"
//! record   = open | shredded
//! open     = length (4 bytes, big-endian, of body) ‖ body ‖ check
//! body     = entry (32 bytes) ‖ salt (32 bytes) ‖ canonical event JSON
//! shredded = (0x8000_0000 | length) ‖ entry ‖ zero bytes (length − 32) ‖ check
//! check    = the first 8 bytes of SHA-256(the 4 length bytes ‖ what follows them)
//! ```
//!
//! A record is acknowledged only once the file is synced after it, so a
//! crash can leave only unacknowledged bytes after the last sync: reading
//! stops at the first record that is cut short or fails its check, and
//! [`Journal::open`] moves those bytes aside and truncates the file there.
//!
//! Shredding (§11.5) erases the salt and event of records in place, in a
//! record of the same length that keeps the entry, after the list of what
//! to shred is made durable in `<journal>.shred`: opening a journal whose
//! list is still there finishes the shred first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::entry::{Entry, RecordRef, SALT_LEN};
use crate::event::MAX_EVENT_LEN;
use crate::proof::Opening;

/// The first bytes of a journal that holds no shredded record.
pub const MAGIC: &[u8] = b"btc-anchor-log/journal/v1\n";
/// The first bytes of a journal that may hold shredded records (§11.5):
/// written before the first shred, so that a reader of version 1 only
/// refuses the file rather than cut it at a record it does not know.
pub const MAGIC_V2: &[u8] = b"btc-anchor-log/journal/v2\n";
/// The first bytes of a shred list (`<journal>.shred`, §11.5).
pub const SHRED_MAGIC: &[u8] = b"btc-anchor-log/shred/v1\n";
/// Longest record body: entry, salt and the longest event.
pub const MAX_BODY_LEN: usize = 32 + SALT_LEN + MAX_EVENT_LEN;
const MIN_BODY_LEN: usize = 32 + SALT_LEN;
const CHECK_LEN: usize = 8;
/// The bit of a record's length field that marks it shredded.
const SHREDDED: u32 = 0x8000_0000;
/// Index, offset, body length and entry of one record in a shred list.
const SHRED_ITEM_LEN: usize = 8 + 8 + 4 + 32;

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
    /// A file that does not start with [`MAGIC`] or [`MAGIC_V2`].
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
    /// The opening of a record that was shredded: its salt and event are
    /// erased, only its entry is kept.
    #[error("the event of journal record {index} was shredded: its salt and event are erased")]
    Shredded {
        /// The record's index.
        index: u64,
    },
    /// An index past the journal's end.
    #[error("the journal holds {size} records, not record {index}")]
    NoSuchRecord {
        /// The index asked for.
        index: u64,
        /// Records in the journal.
        size: u64,
    },
    /// A shred list that is not in the form of §11.5.
    #[error("{} is not a shred list", path.display())]
    BadShredList {
        /// The list's path.
        path: PathBuf,
    },
    /// A shred list naming a record the journal does not hold where the
    /// list says (another journal's list).
    #[error("{} names journal record {index}, which the journal does not hold where the list says", path.display())]
    ShredMismatch {
        /// The list's path.
        path: PathBuf,
        /// The record.
        index: u64,
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
    /// Records an interrupted shred listed, whose shred was finished.
    pub shreds_finished: u64,
}

/// An open journal: the entries and where each record starts.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    entries: Vec<Entry>,
    offsets: Vec<u64>,
    heads: HashMap<RecordRef, Entry>,
    shredded: BTreeSet<u64>,
    v2: bool,
    len: u64,
}

fn check(record_before_check: &[u8]) -> [u8; CHECK_LEN] {
    let d = Sha256::digest(record_before_check);
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

/// The shredded record of `entry` whose body is `len` bytes (§11.5).
fn shredded_record(entry: &Entry, len: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + len as usize + CHECK_LEN);
    out.extend_from_slice(&(SHREDDED | len).to_be_bytes());
    out.extend_from_slice(&entry.0);
    out.resize(4 + len as usize, 0);
    let c = check(&out);
    out.extend_from_slice(&c);
    out
}

/// One record of a shred list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ShredItem {
    index: u64,
    offset: u64,
    len: u32,
    entry: Entry,
}

/// A shred list (§11.5): magic, count, items by increasing index, check.
fn encode_shred_list(items: &[ShredItem]) -> Vec<u8> {
    let mut out = SHRED_MAGIC.to_vec();
    out.extend_from_slice(&(items.len() as u32).to_be_bytes());
    for i in items {
        out.extend_from_slice(&i.index.to_be_bytes());
        out.extend_from_slice(&i.offset.to_be_bytes());
        out.extend_from_slice(&i.len.to_be_bytes());
        out.extend_from_slice(&i.entry.0);
    }
    let c = check(&out);
    out.extend_from_slice(&c);
    out
}

fn parse_shred_list(bytes: &[u8]) -> Option<Vec<ShredItem>> {
    let rest = bytes.strip_prefix(SHRED_MAGIC)?;
    let count = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let want = count
        .checked_mul(SHRED_ITEM_LEN)?
        .checked_add(SHRED_MAGIC.len() + 4 + CHECK_LEN)?;
    if bytes.len() != want || count == 0 {
        return None;
    }
    let (body, c) = bytes.split_at(want - CHECK_LEN);
    if check(body) != c {
        return None;
    }
    let mut items: Vec<ShredItem> = Vec::with_capacity(count);
    for raw in rest[4..4 + count * SHRED_ITEM_LEN].chunks_exact(SHRED_ITEM_LEN) {
        let item = ShredItem {
            index: u64::from_be_bytes(raw[..8].try_into().ok()?),
            offset: u64::from_be_bytes(raw[8..16].try_into().ok()?),
            len: u32::from_be_bytes(raw[16..20].try_into().ok()?),
            entry: Entry(raw[20..52].try_into().ok()?),
        };
        let ordered = items
            .last()
            .is_none_or(|p| p.index < item.index && p.offset < item.offset);
        let len_ok = (MIN_BODY_LEN..=MAX_BODY_LEN).contains(&(item.len as usize));
        if !ordered || !len_ok || item.offset < MAGIC.len() as u64 {
            return None;
        }
        items.push(item);
    }
    Some(items)
}

/// The shred list beside `journal`, and the temporary name it is written
/// under first.
fn shred_paths(journal: &Path) -> (PathBuf, PathBuf) {
    (
        journal.with_extension("shred"),
        journal.with_extension("shred.tmp"),
    )
}

/// Reads the shred list beside `journal`, if there is one, and checks
/// that every record it names is where it says in `bytes` (either form:
/// its entry and length are the same in both, even torn).
fn pending_shreds(journal: &Path, bytes: &[u8]) -> Result<Vec<ShredItem>, JournalError> {
    let (list, _) = shred_paths(journal);
    let raw = match fs::read(&list) {
        Ok(raw) => raw,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_err("read", &list)(e)),
    };
    let items =
        parse_shred_list(&raw).ok_or_else(|| JournalError::BadShredList { path: list.clone() })?;
    for item in &items {
        let at = item.offset as usize;
        let end = at + 4 + item.len as usize + CHECK_LEN;
        let held = bytes.get(at..end).is_some_and(|r| {
            u32::from_be_bytes([r[0], r[1], r[2], r[3]]) & !SHREDDED == item.len
                && r[4..36] == item.entry.0
        });
        if !held {
            return Err(JournalError::ShredMismatch {
                path: list,
                index: item.index,
            });
        }
    }
    Ok(items)
}

/// Steps 3 and 4 of a shred (§11.5): overwrites each listed record with
/// its shredded form (the magic with [`MAGIC_V2`] if need be), syncs the
/// journal, then removes the list and syncs the folder.
fn finish_shred(journal: &Path, items: &[ShredItem]) -> Result<(), JournalError> {
    // Not the appending handle: with O_APPEND, positioned writes go to the
    // end.
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(journal)
        .map_err(io_err("open", journal))?;
    let mut magic = [0u8; MAGIC_V2.len()];
    f.read_exact(&mut magic).map_err(io_err("read", journal))?;
    if magic != MAGIC_V2 {
        write_at(&mut f, 0, MAGIC_V2)
            .and_then(|()| f.sync_data())
            .map_err(io_err("write", journal))?;
    }
    for item in items {
        write_at(&mut f, item.offset, &shredded_record(&item.entry, item.len))
            .map_err(io_err("shred a record in", journal))?;
    }
    f.sync_data().map_err(io_err("sync", journal))?;
    let (list, _) = shred_paths(journal);
    fs::remove_file(&list).map_err(io_err("remove", &list))?;
    sync_parent(&list)
}

fn write_at(f: &mut File, offset: u64, bytes: &[u8]) -> io::Result<()> {
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(bytes)
}

/// One record as [`read`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its index: the entry's index in the log.
    pub index: u64,
    /// Where it starts in the file.
    pub offset: u64,
    /// The entry.
    pub entry: Entry,
    /// The opening it commits to; `None` once shredded.
    pub opening: Option<Opening>,
}

/// What [`read`] found in a journal.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    /// Whole records read.
    pub records: u64,
    /// Of them, shredded records (those a pending shred list names
    /// included).
    pub shredded: u64,
    /// Records a shred list names whose shred was not finished yet.
    pub pending_shreds: u64,
    /// Bytes after the last whole record: a torn tail, or a damaged
    /// record and what follows it.
    pub unread_bytes: u64,
}

/// Reads every record of the journal at `path` in order, without
/// changing any file (the writer may hold the log): records that an
/// unfinished shred lists are given as shredded, as opening the journal
/// would make them. Reading stops at the first record that is cut short
/// or fails its check ([`ReadSummary::unread_bytes`]).
///
/// # Errors
///
/// [`JournalError::BadRecord`] for a record that passes its check but
/// does not commit to its opening (the records before it were given),
/// and the errors of reading the files.
pub fn read(path: &Path, mut each: impl FnMut(Record)) -> Result<ReadSummary, JournalError> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    let v2 = version(&bytes, path)?;
    let pending = pending_shreds(path, &bytes)?;
    let by_offset: BTreeMap<u64, ShredItem> = pending.iter().map(|i| (i.offset, *i)).collect();
    let mut summary = ReadSummary {
        pending_shreds: pending.len() as u64,
        ..ReadSummary::default()
    };
    let end = scan(&bytes, v2, &by_offset, |r| {
        summary.records += 1;
        summary.shredded += u64::from(r.opening.is_none());
        each(r);
    })?;
    summary.unread_bytes = (bytes.len() - end) as u64;
    Ok(summary)
}

/// Whether `bytes` start with [`MAGIC_V2`] (else [`MAGIC`]).
fn version(bytes: &[u8], path: &Path) -> Result<bool, JournalError> {
    if bytes.starts_with(MAGIC_V2) {
        Ok(true)
    } else if bytes.starts_with(MAGIC) {
        Ok(false)
    } else {
        Err(JournalError::NotJournal {
            path: path.to_path_buf(),
        })
    }
}

/// Reads the records of `bytes` after the magic, giving each to `each`,
/// and returns where reading stopped. A record at an offset `pending`
/// names is taken as shredded whatever its bytes.
fn scan(
    bytes: &[u8],
    v2: bool,
    pending: &BTreeMap<u64, ShredItem>,
    mut each: impl FnMut(Record),
) -> Result<usize, JournalError> {
    let mut at = MAGIC.len();
    let mut index = 0u64;
    loop {
        if let Some(item) = pending.get(&(at as u64)) {
            each(Record {
                index,
                offset: at as u64,
                entry: item.entry,
                opening: None,
            });
            at += 4 + item.len as usize + CHECK_LEN;
        } else {
            match record_at(bytes, at, v2) {
                None => return Ok(at),
                Some((end, Parsed::Shredded(entry))) => {
                    each(Record {
                        index,
                        offset: at as u64,
                        entry,
                        opening: None,
                    });
                    at = end;
                }
                Some((end, Parsed::Open(entry, body))) => {
                    let opening = Opening::from_bytes(body)
                        .ok()
                        .filter(|o| o.entry() == entry)
                        .ok_or(JournalError::BadRecord { index })?;
                    each(Record {
                        index,
                        offset: at as u64,
                        entry,
                        opening: Some(opening),
                    });
                    at = end;
                }
            }
        }
        index += 1;
    }
}

/// A whole record that passes its check.
enum Parsed<'a> {
    /// Its entry and the opening's bytes (salt ‖ event).
    Open(Entry, &'a [u8]),
    /// A shredded record's entry.
    Shredded(Entry),
}

/// The record at `at` and its end, if a whole record that passes its
/// check is there; shredded records only in a version 2 journal.
fn record_at(bytes: &[u8], at: usize, v2: bool) -> Option<(usize, Parsed<'_>)> {
    let field = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
    let shredded = field & SHREDDED != 0;
    let len = (field & !SHREDDED) as usize;
    if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&len) || (shredded && !v2) {
        return None;
    }
    let end = at + 4 + len + CHECK_LEN;
    let record = bytes.get(at..end)?;
    if check(&record[..4 + len]) != record[4 + len..] {
        return None;
    }
    let entry = Entry(record[4..36].try_into().ok()?);
    let rest = &record[36..4 + len];
    if !shredded {
        return Some((end, Parsed::Open(entry, rest)));
    }
    // A shredded record holds nothing but zeros after its entry.
    rest.iter()
        .all(|&b| b == 0)
        .then_some((end, Parsed::Shredded(entry)))
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
            shredded: BTreeSet::new(),
            v2: false,
            len: MAGIC.len() as u64,
        })
    }

    /// Opens a journal and reads every record, after finishing a shred
    /// that was interrupted (§11.5) and before cutting off a torn tail
    /// (kept beside it as `<name>.torn-<offset>`). `published` is the size
    /// of the log's latest checkpoint: a damaged record below it is
    /// [`JournalError::Damaged`], never cut off.
    ///
    /// # Errors
    ///
    /// A [`JournalError`] when the file cannot be read, is not a journal,
    /// is damaged where the log already published it, or has a shred list
    /// beside it that is not its own.
    pub fn open(path: &Path, published: u64) -> Result<(Journal, Recovery), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_err("open", path))?;
        let mut recovery = Recovery::default();
        // A list never renamed into place was never acted on.
        let (_, tmp) = shred_paths(path);
        match fs::remove_file(&tmp) {
            Ok(()) => sync_parent(&tmp)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &tmp)(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err("read", path))?;
        version(&bytes, path)?;
        let pending = pending_shreds(path, &bytes)?;
        if !pending.is_empty() {
            finish_shred(path, &pending)?;
            recovery.shreds_finished = pending.len() as u64;
            bytes.clear();
            let mut f = File::open(path).map_err(io_err("open", path))?;
            f.read_to_end(&mut bytes).map_err(io_err("read", path))?;
        }
        let v2 = version(&bytes, path)?;
        let (mut entries, mut offsets, mut shredded) = (Vec::new(), Vec::new(), BTreeSet::new());
        let mut heads = HashMap::new();
        let at = scan(&bytes, v2, &BTreeMap::new(), |r| {
            offsets.push(r.offset);
            match &r.opening {
                Some(o) => {
                    heads.insert(o.event.record, r.entry);
                }
                None => {
                    shredded.insert(r.index);
                }
            }
            entries.push(r.entry);
        })?;
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
            recovery.torn_bytes = (bytes.len() - at) as u64;
            recovery.kept_at = Some(kept);
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                entries,
                offsets,
                heads,
                shredded,
                v2,
                len: at as u64,
            },
            recovery,
        ))
    }

    /// The entries, in log order (shredded ones included: only their
    /// openings are erased).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of the latest event of a record that is not shredded:
    /// the `prev` its next event must carry.
    pub fn head(&self, record: &RecordRef) -> Option<Entry> {
        self.heads.get(record).copied()
    }

    /// Whether the record `index` was shredded.
    pub fn is_shredded(&self, index: u64) -> bool {
        self.shredded.contains(&index)
    }

    /// How many records are shredded.
    pub fn shredded(&self) -> u64 {
        self.shredded.len() as u64
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
    /// [`JournalError::Shredded`] for a shredded record,
    /// [`JournalError::BadRecord`] for an index out of range or a record
    /// changed since it was read, or an I/O error.
    pub fn opening(&self, index: u64) -> Result<Opening, JournalError> {
        if self.is_shredded(index) {
            return Err(JournalError::Shredded { index });
        }
        let bad = || JournalError::BadRecord { index };
        let buf = self.record_bytes(index).ok_or_else(bad)??;
        match record_at(&buf, 0, self.v2) {
            Some((end, Parsed::Open(entry, body))) if end == buf.len() => {
                let opening = Opening::from_bytes(body).map_err(|_| bad())?;
                if opening.entry() != entry || Some(&entry) != self.entries.get(index as usize) {
                    return Err(bad());
                }
                Ok(opening)
            }
            _ => Err(bad()),
        }
    }

    /// The bytes of record `index` in the file; `None` out of range.
    fn record_bytes(&self, index: u64) -> Option<Result<Vec<u8>, JournalError>> {
        let start = *self.offsets.get(index as usize)?;
        let end = self
            .offsets
            .get(index as usize + 1)
            .copied()
            .unwrap_or(self.len);
        let mut buf = vec![0u8; (end - start) as usize];
        let mut f = &self.file;
        Some(
            f.seek(SeekFrom::Start(start))
                .and_then(|_| f.read_exact(&mut buf))
                .map(|()| buf)
                .map_err(io_err("read", &self.path)),
        )
    }

    /// The indices of every record of `record` that is not shredded, read
    /// from the file once.
    ///
    /// # Errors
    ///
    /// The errors of reading the journal.
    pub fn indices_of(&self, record: &RecordRef) -> Result<Vec<u64>, JournalError> {
        let mut found = Vec::new();
        self.each_record(|r| {
            if r.opening.is_some_and(|o| o.event.record == *record) {
                found.push(r.index);
            }
        })?;
        Ok(found)
    }

    /// Reads the whole file back and gives every record to `each`.
    fn each_record(&self, each: impl FnMut(Record)) -> Result<(), JournalError> {
        let mut bytes = vec![0u8; self.len as usize];
        let mut f = &self.file;
        f.seek(SeekFrom::Start(0))
            .and_then(|_| f.read_exact(&mut bytes))
            .map_err(io_err("read", &self.path))?;
        scan(&bytes, self.v2, &BTreeMap::new(), each)?;
        Ok(())
    }

    /// Shreds the records `indices` (§11.5): erases the salt and event of
    /// each from the file by overwriting them in place, keeping its entry,
    /// so that the log's tiles, checkpoints, anchors and other events'
    /// proofs stay valid. Returns the indices newly shredded, in order
    /// (those already shredded are skipped).
    ///
    /// The list of records to shred is made durable first; a crash at any
    /// point leaves a journal that [`Journal::open`] opens, with the shred
    /// either not begun or finished there. Afterwards each record's head
    /// is its latest event that is not shredded.
    ///
    /// # Errors
    ///
    /// [`JournalError::NoSuchRecord`] for an index past the end (then
    /// nothing is shredded), and I/O errors: the shred is then finished by
    /// the next [`Journal::open`] if its list was written.
    pub fn shred(&mut self, indices: &[u64]) -> Result<Vec<u64>, JournalError> {
        let size = self.entries.len() as u64;
        if let Some(&index) = indices.iter().find(|&&i| i >= size) {
            return Err(JournalError::NoSuchRecord { index, size });
        }
        let todo: BTreeSet<u64> = indices
            .iter()
            .copied()
            .filter(|i| !self.shredded.contains(i))
            .collect();
        if todo.is_empty() {
            return Ok(vec![]);
        }
        let items: Vec<ShredItem> = todo
            .iter()
            .map(|&index| {
                let i = index as usize;
                let offset = self.offsets[i];
                let end = self.offsets.get(i + 1).copied().unwrap_or(self.len);
                ShredItem {
                    index,
                    offset,
                    len: (end - offset) as u32 - 4 - CHECK_LEN as u32,
                    entry: self.entries[i],
                }
            })
            .collect();
        // 1. The version that admits shredded records, durable first.
        if !self.v2 {
            let mut f = OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(io_err("open", &self.path))?;
            write_at(&mut f, 0, MAGIC_V2)
                .and_then(|()| f.sync_data())
                .map_err(io_err("write", &self.path))?;
            self.v2 = true;
        }
        // 2. The list, durable under its name.
        let (list, tmp) = shred_paths(&self.path);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode_0600()
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        f.write_all(&encode_shred_list(&items))
            .and_then(|()| f.sync_all())
            .map_err(io_err("write", &tmp))?;
        drop(f);
        fs::rename(&tmp, &list).map_err(io_err("rename", &tmp))?;
        sync_parent(&list)?;
        // 3 and 4. The records overwritten and synced, the list removed.
        finish_shred(&self.path, &items)?;
        self.shredded.extend(todo.iter().copied());
        // Each record's head is now its latest event not shredded.
        let mut heads = HashMap::new();
        self.each_record(|r| {
            if let Some(o) = r.opening {
                heads.insert(o.event.record, r.entry);
            }
        })?;
        self.heads = heads;
        Ok(todo.into_iter().collect())
    }
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
