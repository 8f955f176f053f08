//! Proof files on disk: reading one of either kind, a btc-anchor proof or
//! an OpenTimestamps `.ots` file, from a path (opened once, read with a
//! cap, and told apart by its first bytes); where a document's proof is
//! kept ([`proof_path`], [`ots_path`], [`locate_proof`]); and writing a
//! file whole or not at all ([`write_atomic`]), or over itself where that
//! frees nothing ([`write_over`]).
//!
//! Opening once matters for what can only be read once: a pipe
//! (`--proof <(curl …)`, `/dev/stdin`) or a FIFO. Looking at the first bytes
//! and then opening the path again to parse it would lose them, or wait
//! forever for a second writer.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::hash::RecordDigest;
use crate::ots::{has_ots_magic, DetachedTimestamp, OtsError, MAGIC, MAX_OTS_BYTES};
use crate::proof::{Proof, ProofError, MAX_PROOF_BYTES};
use crate::text::escape_path;

/// The most bytes [`read_any`] reads: the larger of the two formats'
/// limits ([`MAX_PROOF_BYTES`], [`MAX_OTS_BYTES`]). One byte more is read,
/// to tell a file at the limit from a longer one.
pub const MAX_ANY_BYTES: usize = if MAX_PROOF_BYTES > MAX_OTS_BYTES {
    MAX_PROOF_BYTES
} else {
    MAX_OTS_BYTES
};

/// A proof file as read by [`read_any`].
// One value per file read, handed straight to its verifier: boxing the
// larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofFile {
    /// A btc-anchor proof (`docs/proof-format.md`).
    Native(Proof),
    /// An OpenTimestamps detached timestamp (`docs/ots.md`).
    Ots(DetachedTimestamp),
}

/// Which format a file's first bytes say it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// Anything not starting with the OpenTimestamps magic: read as a
    /// btc-anchor proof.
    Native,
    /// Starts with the OpenTimestamps magic ([`MAGIC`]).
    Ots,
}

impl FileKind {
    /// The kind of a file starting with `head`.
    pub fn detect(head: &[u8]) -> FileKind {
        if has_ots_magic(head) {
            FileKind::Ots
        } else {
            FileKind::Native
        }
    }
}

/// Why [`read_any`] gave no proof.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadAnyError {
    /// The file could not be opened or read (missing, unreadable, a
    /// folder).
    #[error("cannot read proof file {}", escape_path(path))]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid btc-anchor proof.
    #[error(transparent)]
    Proof(ProofError),
    /// The file starts like an OpenTimestamps file but is not a valid one.
    #[error(transparent)]
    Ots(OtsError),
}

impl ReadAnyError {
    /// Whether the file could not be read at all, rather than read and
    /// found malformed.
    pub fn is_io(&self) -> bool {
        matches!(self, ReadAnyError::Io { .. })
    }

    /// The format the file was read as, if it was read.
    pub fn kind(&self) -> Option<FileKind> {
        match self {
            ReadAnyError::Io { .. } => None,
            ReadAnyError::Proof(_) => Some(FileKind::Native),
            ReadAnyError::Ots(_) => Some(FileKind::Ots),
        }
    }
}

/// A file's first bytes, read with a cap.
#[derive(Debug)]
pub(crate) struct Capped {
    /// At most the cap plus one byte.
    pub bytes: Vec<u8>,
    /// The file's size, when it is known without reading it (a regular
    /// file), else `None` (a pipe, a FIFO, a device).
    pub size: Option<u64>,
}

impl Capped {
    /// Whether more than `limit` bytes are there.
    pub fn over(&self, limit: usize) -> bool {
        self.bytes.len() > limit || self.size.is_some_and(|s| s > limit as u64)
    }

    /// The size to report for a file over a limit: the file's own size
    /// when known, else what was read (the limit and one byte).
    pub fn reported_size(&self) -> usize {
        let read = self.bytes.len() as u64;
        let size = self.size.filter(|&s| s >= read).unwrap_or(read);
        usize::try_from(size).unwrap_or(usize::MAX)
    }
}

/// Opens `path` once and reads at most `cap + 1` bytes of it. A folder is
/// refused with [`io::ErrorKind::IsADirectory`]. A regular file whose size
/// is already over the cap is not read beyond `head` bytes, enough to tell
/// its format.
pub(crate) fn read_capped(path: &Path, cap: usize, head: usize) -> io::Result<Capped> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a folder, not a file",
        ));
    }
    let size = meta.is_file().then_some(meta.len());
    let limit = match size {
        Some(s) if s > cap as u64 => head as u64,
        _ => cap as u64 + 1,
    };
    let mut bytes = Vec::with_capacity(size.map_or(8192, |s| s.min(limit) as usize).min(cap + 1));
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Capped { bytes, size })
}

/// Reads a proof file of either format: opens `path` once, reads at most
/// [`MAX_ANY_BYTES`] + 1 bytes, tells the format from the first bytes
/// (a `.ots` file starts with [`MAGIC`], whatever its name), and parses it
/// with [`Proof::from_json`] or [`DetachedTimestamp::from_bytes`].
///
/// A file over its format's size limit is refused with that format's
/// `TooLarge` error, which carries the file's size when the file system
/// knows it (a regular file; a large one is then not read at all), or the
/// number of bytes read otherwise (a pipe).
///
/// # Errors
///
/// [`ReadAnyError`]: the file could not be read ([`ReadAnyError::is_io`]),
/// or it is not a valid proof of the format its first bytes announce.
pub fn read_any(path: &Path) -> Result<ProofFile, ReadAnyError> {
    let capped =
        read_capped(path, MAX_ANY_BYTES, MAGIC.len()).map_err(|source| ReadAnyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    match FileKind::detect(&capped.bytes) {
        FileKind::Ots => {
            if capped.over(MAX_OTS_BYTES) {
                return Err(ReadAnyError::Ots(OtsError::TooLarge {
                    size: capped.reported_size(),
                }));
            }
            DetachedTimestamp::from_bytes(&capped.bytes)
                .map(ProofFile::Ots)
                .map_err(ReadAnyError::Ots)
        }
        FileKind::Native => {
            if capped.over(MAX_PROOF_BYTES) {
                return Err(ReadAnyError::Proof(ProofError::TooLarge {
                    size: capped.reported_size(),
                }));
            }
            Proof::from_json(&capped.bytes)
                .map(ProofFile::Native)
                .map_err(ReadAnyError::Proof)
        }
    }
}

/// The suffix of a document's btc-anchor proof: `record.pdf` is proved by
/// `record.pdf.anchor.json`, beside it.
pub const PROOF_SUFFIX: &str = ".anchor.json";

/// The suffix of a document's OpenTimestamps file: `record.pdf.ots`.
pub const OTS_SUFFIX: &str = ".ots";

/// `<document>.anchor.json`, beside the document: where its btc-anchor
/// proof is written and looked for.
pub fn proof_path(document: &Path) -> PathBuf {
    with_suffix(document, PROOF_SUFFIX)
}

/// `<document>.ots`, beside the document.
pub fn ots_path(document: &Path) -> PathBuf {
    with_suffix(document, OTS_SUFFIX)
}

/// Hex digits of an older version's digest in the name of its proof
/// ([`older_version_proof_path`]).
pub const OLDER_VERSION_DIGITS: usize = 16;

/// Where the proof of an older version of a document goes when a new
/// version is stamped in its place: `proof` is the current proof path
/// (`<document>.anchor.json`), and the older proof becomes
/// `<document>.<first 16 hex digits of its SHA-256>.anchor.json` beside
/// it. The name still ends in `.anchor.json`, so folder stamps skip it; its
/// digits tell the versions apart and say which document it proves
/// (`sha256sum` prints the same digits first). A proof path that does not
/// end in `.anchor.json` gets `.<digits>.anchor.json` appended.
pub fn older_version_proof_path(proof: &Path, older: &RecordDigest) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let bytes = proof.as_os_str().as_bytes();
    let stem = bytes
        .strip_suffix(PROOF_SUFFIX.as_bytes())
        .filter(|s| !s.is_empty() && !s.ends_with(b"/"))
        .unwrap_or(bytes);
    let mut name = std::ffi::OsStr::from_bytes(stem).to_owned();
    name.push(format!(
        ".{}{PROOF_SUFFIX}",
        &older.to_hex()[..OLDER_VERSION_DIGITS]
    ));
    PathBuf::from(name)
}

/// The `.ots` file a btc-anchor proof exports to by default:
/// `x.anchor.json` → `x.ots`; any other name gets `.ots` appended.
pub fn ots_path_for_proof(proof: &Path) -> PathBuf {
    if let Some(name) = proof.file_name().and_then(|n| n.to_str()) {
        if let Some(stem) = name.strip_suffix(PROOF_SUFFIX).filter(|s| !s.is_empty()) {
            return proof.with_file_name(format!("{stem}{OTS_SUFFIX}"));
        }
    }
    with_suffix(proof, OTS_SUFFIX)
}

/// Whether `path` is named like a proof file (either kind), so that
/// stamping a folder does not stamp the proofs of earlier stamps.
pub fn is_proof_file_name(path: &Path) -> bool {
    let name = path.as_os_str().to_string_lossy();
    name.ends_with(PROOF_SUFFIX) || name.ends_with(OTS_SUFFIX)
}

/// The proof of `document` when none is named: its btc-anchor proof
/// ([`proof_path`]), or its `.ots` file ([`ots_path`]) if only that exists.
pub fn locate_proof(document: &Path) -> PathBuf {
    let native = proof_path(document);
    let ots = ots_path(document);
    if !native.exists() && ots.exists() {
        ots
    } else {
        native
    }
}

/// `<path><suffix>`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// How [`write_atomic`] treats an existing file and the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// Replace an existing file. Without it an existing destination is
    /// never overwritten, even one that appears while writing.
    pub replace: bool,
    /// Flush the data to disk before the file is moved into place and the
    /// folder after, so that the new file survives a power cut once
    /// [`write_atomic`] returns.
    pub durable: bool,
}

/// Writes `bytes` to `dest` so that readers see either no file (or the old
/// one) or the whole new one: a new temporary file in the same folder, then
/// moved into place.
///
/// # Errors
///
/// The [`io::Error`] of the step that failed; a destination that exists without
/// [`WriteOptions::replace`] is refused with
/// [`io::ErrorKind::AlreadyExists`], a path that names no file with
/// [`io::ErrorKind::InvalidInput`]. The temporary file is removed on
/// failure.
pub fn write_atomic(dest: &Path, bytes: &[u8], options: WriteOptions) -> io::Result<()> {
    if !options.replace && fs::symlink_metadata(dest).is_ok() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    let Some(name) = dest.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ));
    };
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (tmp, mut file) = create_temp(dir, name)?;
    let mut written = file.write_all(bytes);
    if options.durable {
        written = written.and_then(|()| file.sync_all());
    }
    drop(file);
    let placed = written.and_then(|()| {
        if options.replace {
            fs::rename(&tmp, dest)
        } else {
            place_new(&tmp, dest)
        }
    });
    if let Err(e) = placed {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the folder is flushed; not every platform
    // can open a folder for that, and the file is complete either way.
    if options.durable {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `bytes` over the file at `dest` in place when that frees
/// nothing: `dest` a regular file (not a link) with one name and at most
/// `bytes.len()` bytes, so that its bytes are overwritten from the start
/// and it only grows. Any other `dest`, a missing one, and one that cannot
/// be opened for writing, is written as [`write_atomic`] with
/// [`WriteOptions::replace`] would.
///
/// Not atomic: until it returns, a reader, or a crash, may find the old
/// bytes with part of the new ones over them; nothing is flushed to disk.
/// It is for a file that can be written again from elsewhere when that
/// happens, such as a complete proof over its queued one, whose batch is
/// not final until the file system has been flushed. Replacing a file by a
/// rename frees the old file's blocks, and some file systems (ext4 without
/// a journal, mounted with `discard`) make each rename wait for the disk
/// to discard them: writing in place skips that wait.
///
/// # Errors
///
/// The [`io::Error`] of the step that failed.
pub fn write_over(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let fits = |m: &fs::Metadata| {
            m.file_type().is_file() && m.nlink() == 1 && m.len() <= bytes.len() as u64
        };
        // A file that cannot be opened for writing (read-only, say) is
        // replaced as before, which needs only the folder's permission.
        let opened = fs::symlink_metadata(dest)
            .ok()
            .filter(fits)
            .and_then(|m| Some((m, OpenOptions::new().write(true).open(dest).ok()?)));
        if let Some((before, mut file)) = opened {
            let now = file.metadata()?;
            // The same file as looked at: not swapped for a link meanwhile.
            if fits(&now) && (now.dev(), now.ino()) == (before.dev(), before.ino()) {
                file.write_all(bytes)?;
                if file.metadata()?.len() > bytes.len() as u64 {
                    // Grown by another writer since: cut back to these bytes.
                    file.set_len(bytes.len() as u64)?;
                }
                return Ok(());
            }
        }
    }
    write_atomic(
        dest,
        bytes,
        WriteOptions {
            replace: true,
            durable: false,
        },
    )
}

/// A new, empty temporary file in `dir`, named after the destination.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for n in 0..100u32 {
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{pid}-{n}.tmp"));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// Moves `tmp` to `dest` unless `dest` exists: a hard link fails rather
/// than replace a file, where a rename would not. On a file system without
/// hard links, a check then a rename.
fn place_new(tmp: &Path, dest: &Path) -> io::Result<()> {
    match fs::hard_link(tmp, dest) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if fs::symlink_metadata(dest).is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(tmp, dest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ots::{Attestation, FileHashOp, Timestamp};

    fn ots() -> DetachedTimestamp {
        DetachedTimestamp {
            file_hash: FileHashOp::Sha256,
            digest: vec![7; 32],
            timestamp: Timestamp::attestation(Attestation::Bitcoin { height: 5 }),
        }
    }

    /// Names of the files in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[cfg(unix)]
    #[test]
    fn write_over_writes_in_place_only_where_nothing_is_freed() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let ino = |p: &Path| fs::symlink_metadata(p).unwrap().ino();
        // A shorter regular file of one name: the same inode, grown.
        let queued = dir.path().join("a.anchor.json");
        fs::write(&queued, b"queued").unwrap();
        let before = ino(&queued);
        write_over(&queued, b"the complete proof").unwrap();
        assert_eq!(fs::read(&queued).unwrap(), b"the complete proof");
        assert_eq!(ino(&queued), before);
        // As long: in place too.
        write_over(&queued, b"the complete proof").unwrap();
        assert_eq!(ino(&queued), before);
        // A longer file: replaced whole, no old tail left.
        write_over(&queued, b"short").unwrap();
        assert_eq!(fs::read(&queued).unwrap(), b"short");
        assert_ne!(ino(&queued), before);
        // A file of two names: the other name keeps its bytes.
        let other = dir.path().join("other");
        fs::hard_link(&queued, &other).unwrap();
        write_over(&queued, b"a longer proof than before").unwrap();
        assert_eq!(fs::read(&queued).unwrap(), b"a longer proof than before");
        assert_eq!(fs::read(&other).unwrap(), b"short");
        // A symbolic link: replaced by a file, its target untouched.
        let target = dir.path().join("target");
        fs::write(&target, b"t").unwrap();
        let link = dir.path().join("link.anchor.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_over(&link, b"the complete proof").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"t");
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(fs::read(&link).unwrap(), b"the complete proof");
        // A read-only file is written too: in place where this process may
        // open it for writing anyway (root), else replaced whole, which the
        // folder allows.
        let ro = dir.path().join("ro.anchor.json");
        fs::write(&ro, b"q").unwrap();
        let mut perms = fs::metadata(&ro).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&ro, perms).unwrap();
        write_over(&ro, b"the complete proof").unwrap();
        assert_eq!(fs::read(&ro).unwrap(), b"the complete proof");
        fs::remove_file(&ro).unwrap();
        // A missing file: created. No temporary file is left anywhere.
        let new = dir.path().join("new.anchor.json");
        write_over(&new, b"x").unwrap();
        assert_eq!(fs::read(&new).unwrap(), b"x");
        assert_eq!(
            names(dir.path()),
            [
                "a.anchor.json",
                "link.anchor.json",
                "new.anchor.json",
                "other",
                "target"
            ]
        );
        // A folder in the way is refused, and left as it was.
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        assert!(write_over(&sub, b"x").is_err());
        assert!(sub.is_dir());
    }

    #[test]
    fn older_versions_get_their_digest_in_the_name() {
        use std::os::unix::ffi::OsStrExt as _;
        let d = RecordDigest([0xab; 32]);
        let older = older_version_proof_path(Path::new("/r/letter.pdf.anchor.json"), &d);
        assert_eq!(
            older,
            Path::new("/r/letter.pdf.abababababababab.anchor.json")
        );
        assert!(is_proof_file_name(&older));
        // Any other name gets the digits and the suffix appended.
        assert_eq!(
            older_version_proof_path(Path::new("p.json"), &d),
            Path::new("p.json.abababababababab.anchor.json")
        );
        // A name that is not UTF-8 keeps its bytes.
        let raw = std::ffi::OsStr::from_bytes(b"caf\xe9.txt.anchor.json");
        let older = older_version_proof_path(Path::new(raw), &d);
        assert_eq!(
            older.as_os_str().as_bytes(),
            b"caf\xe9.txt.abababababababab.anchor.json"
        );
    }

    #[test]
    fn both_formats_whatever_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ots");
        let native = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/example/record.txt.anchor.json"
        ))
        .unwrap();
        std::fs::write(&p, &native).unwrap();
        match read_any(&p).unwrap() {
            ProofFile::Native(proof) => assert_eq!(proof, Proof::from_json(&native).unwrap()),
            other => panic!("{other:?}"),
        }
        let q = dir.path().join("y.anchor.json");
        std::fs::write(&q, ots().to_bytes()).unwrap();
        assert_eq!(read_any(&q).unwrap(), ProofFile::Ots(ots()));

        std::fs::write(&q, &ots().to_bytes()[..40]).unwrap();
        let e = read_any(&q).unwrap_err();
        assert_eq!(e.kind(), Some(FileKind::Ots));
        assert!(
            matches!(e, ReadAnyError::Ots(OtsError::Truncated { .. })),
            "{e}"
        );
    }

    #[test]
    fn missing_files_and_folders_are_io_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_any(&dir.path().join("missing")).unwrap_err();
        assert!(e.is_io(), "{e}");
        assert_eq!(e.kind(), None);
        let e = read_any(dir.path()).unwrap_err();
        assert!(e.is_io(), "{e}");
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert_eq!(source, "it is a folder, not a file");
        // The message names the file, and leaves the cause to `source`.
        assert!(e.to_string().starts_with("cannot read proof file "), "{e}");
        assert!(!e.to_string().contains("folder"), "{e}");
    }

    #[test]
    fn the_file_size_is_reported_not_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; 3 * MAX_PROOF_BYTES]).unwrap();
        let e = read_any(&p).unwrap_err();
        assert!(
            matches!(e, ReadAnyError::Proof(ProofError::TooLarge { size }) if size == 3 * MAX_PROOF_BYTES),
            "{e}"
        );
        assert!(
            e.to_string().contains(&(3 * MAX_PROOF_BYTES).to_string()),
            "{e}"
        );

        let mut big = ots().to_bytes();
        big.resize(MAX_OTS_BYTES + 12345, 0);
        std::fs::write(&p, big).unwrap();
        let e = read_any(&p).unwrap_err();
        assert!(
            matches!(e, ReadAnyError::Ots(OtsError::TooLarge { size }) if size == MAX_OTS_BYTES + 12345),
            "{e}"
        );
    }

    #[test]
    fn a_pipe_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("mkfifo unavailable: skipped");
            return;
        }
        let bytes = ots().to_bytes();
        let writer = {
            let fifo = fifo.clone();
            let bytes = bytes.clone();
            std::thread::spawn(move || std::fs::write(fifo, bytes))
        };
        assert_eq!(read_any(&fifo).unwrap(), ProofFile::Ots(ots()));
        writer.join().unwrap().unwrap();

        // Over the limit, a pipe's size is not known: what was read is
        // reported, the limit and one byte.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().write(true).open(fifo)?;
                // The reader stops at the cap and closes its end: the rest
                // of the writes fail with a broken pipe, as they should.
                let chunk = vec![b' '; 64 * 1024];
                for _ in 0..40 {
                    if f.write_all(&chunk).is_err() {
                        break;
                    }
                }
                Ok::<(), std::io::Error>(())
            })
        };
        let e = read_any(&fifo).unwrap_err();
        assert!(
            matches!(e, ReadAnyError::Proof(ProofError::TooLarge { size }) if size == MAX_PROOF_BYTES + 1),
            "{e}"
        );
        writer.join().unwrap().unwrap();
    }

    #[test]
    fn proof_names() {
        assert_eq!(
            proof_path(Path::new("a/b.pdf")),
            PathBuf::from("a/b.pdf.anchor.json")
        );
        assert_eq!(ots_path(Path::new("b.pdf")), PathBuf::from("b.pdf.ots"));
        assert_eq!(
            ots_path_for_proof(Path::new("a/record.txt.anchor.json")),
            PathBuf::from("a/record.txt.ots")
        );
        assert_eq!(
            ots_path_for_proof(Path::new("proof.json")),
            PathBuf::from("proof.json.ots")
        );
        assert_eq!(
            ots_path_for_proof(Path::new(".anchor.json")),
            PathBuf::from(".anchor.json.ots")
        );
        assert!(is_proof_file_name(Path::new("x/y.anchor.json")));
        assert!(is_proof_file_name(Path::new("y.ots")));
        assert!(!is_proof_file_name(Path::new("y.json")));
    }

    #[test]
    fn atomic_writes_never_clobber_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.ots");
        let new = WriteOptions::default();
        let replace = WriteOptions {
            replace: true,
            durable: true,
        };
        write_atomic(&dest, b"one", new).unwrap();
        let e = write_atomic(&dest, b"two", new).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        write_atomic(&dest, b"three", replace).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = write_atomic(Path::new("/"), b"four", new).unwrap_err();
        assert!(matches!(
            e.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::AlreadyExists
        ));
    }

    #[test]
    fn a_stale_temporary_file_is_stepped_over() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir
            .path()
            .join(format!(".y.ots.{}-0.tmp", std::process::id()));
        fs::write(&stale, b"stale").unwrap();
        write_atomic(&dir.path().join("y.ots"), b"four", WriteOptions::default()).unwrap();
        assert_eq!(fs::read(&stale).unwrap(), b"stale");
        assert_eq!(fs::read(dir.path().join("y.ots")).unwrap(), b"four");
    }

    #[test]
    fn place_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("t");
        let dest = dir.path().join("d");
        fs::write(&tmp, b"new").unwrap();
        fs::write(&dest, b"old").unwrap();
        let e = place_new(&tmp, &dest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&dest).unwrap(), b"old");
    }
}
