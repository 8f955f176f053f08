//! Hashing documents: streaming SHA-256 of files, folders walked in a stable
//! order, and many files hashed in parallel.
//!
//! # Folder policy
//!
//! [`collect_files`] walks folders depth-first with the entries of each
//! folder sorted by their file name bytes, so the same tree always yields the
//! same list in the same order on every platform.
//!
//! * **Symbolic links are never followed**, whether they point at files or
//!   folders: a link could lead outside the folder being stamped, or loop.
//!   They are reported as skipped ([`SkipReason::Symlink`]). A link named
//!   directly on the command line is treated the same way.
//! * **Hidden entries** (names starting with `.`, such as `.DS_Store` or
//!   `.git`) are skipped unless [`WalkOptions::include_hidden`] is set; a
//!   hidden path named directly is always taken.
//! * Anything that is neither a regular file nor a folder (sockets, devices,
//!   pipes) is skipped ([`SkipReason::NotAFile`]).
//!
//! Nothing is ever written to, renamed or opened for writing here.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

/// Size of the read buffer used when hashing a stream.
///
/// Large enough that system-call overhead is negligible next to SHA-256, small
/// enough to stay in the L2 cache.
pub const READ_BUFFER_BYTES: usize = 256 * 1024;

/// The SHA-256 digest of a record (a document's bytes), the value a proof
/// commits to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordDigest(pub [u8; 32]);

impl RecordDigest {
    /// The digest of an in-memory byte string.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        RecordDigest(Sha256::digest(bytes).into())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as shown to users and written in proofs.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for RecordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RecordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordDigest({})", self.to_hex())
    }
}

/// Why a hex digest given by a user was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestParseError {
    /// The text is not 64 characters long.
    #[error("a SHA-256 digest is 64 hex characters, found {found}")]
    WrongLength {
        /// Number of characters found.
        found: usize,
    },
    /// The text has a character that is not a hex digit.
    #[error("a SHA-256 digest is hex, found a character that is not (position {position})")]
    NotHex {
        /// Zero-based character position of the first bad character.
        position: usize,
    },
}

impl FromStr for RecordDigest {
    type Err = DigestParseError;

    /// Parses 64 hex digits, upper or lower case, surrounding white space
    /// ignored (users paste digests from many tools).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(DigestParseError::WrongLength {
                found: s.chars().count(),
            });
        }
        if let Some(position) = s.bytes().position(|b| !b.is_ascii_hexdigit()) {
            return Err(DigestParseError::NotHex { position });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| DigestParseError::NotHex { position: 0 })?;
        Ok(RecordDigest(out))
    }
}

/// An error while hashing or walking files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// A file or folder could not be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A path named directly does not exist.
    #[error("no such file or folder: {path}")]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
}

/// Where hashing reports how far it has got, for a progress bar: the
/// bytes hashed, as they are, from several threads at once
/// ([`hash_files_with`]). Any `Fn(u64) + Sync` closure is one.
pub trait HashProgress: Sync {
    /// `bytes` more bytes of a file were hashed.
    fn hashed(&self, bytes: u64);
}

impl<F: Fn(u64) + Sync> HashProgress for F {
    fn hashed(&self, bytes: u64) {
        self(bytes)
    }
}

/// No progress reported.
const SILENT: &dyn HashProgress = &|_: u64| {};

/// Streaming SHA-256 of everything a reader yields, in constant memory.
///
/// # Errors
///
/// The reader's own I/O error.
pub fn hash_reader<R: Read>(reader: R) -> io::Result<RecordDigest> {
    hash_reader_buffered(reader, READ_BUFFER_BYTES, SILENT)
}

/// [`hash_reader`] with a read buffer of `capacity` bytes, reporting each
/// piece hashed to `progress`.
fn hash_reader_buffered<R: Read>(
    mut reader: R,
    capacity: usize,
    progress: &dyn HashProgress,
) -> io::Result<RecordDigest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; capacity];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        progress.hashed(n as u64);
    }
    Ok(RecordDigest(hasher.finalize().into()))
}

/// Streaming SHA-256 of a file of any size, without reading it whole.
///
/// # Errors
///
/// A [`HashError`] when the file cannot be opened or read.
pub fn hash_file(path: &Path) -> Result<RecordDigest, HashError> {
    hash_file_len(path, SILENT).map(|(digest, _)| digest)
}

/// [`hash_file`], reporting the bytes hashed to `progress` as it goes (a
/// progress bar for a large file).
///
/// # Errors
///
/// A [`HashError`] when the file cannot be opened or read.
pub fn hash_file_with(path: &Path, progress: &dyn HashProgress) -> Result<RecordDigest, HashError> {
    hash_file_len(path, progress).map(|(digest, _)| digest)
}

/// Files at least this large are read on a helper thread while the calling
/// thread hashes, so that the copy out of the page cache overlaps SHA-256
/// instead of taking turns with it (when a core is free).
pub const OVERLAP_MIN_BYTES: u64 = 8 << 20;

/// Smallest read buffer [`hash_file`] uses, however short the file.
const MIN_READ_BUFFER_BYTES: usize = 16 * 1024;

/// [`hash_file`], also giving the file's length as found on the open file
/// (no second lookup of the path).
fn hash_file_len(
    path: &Path,
    progress: &dyn HashProgress,
) -> Result<(RecordDigest, u64), HashError> {
    let read_err = |source: io::Error| HashError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    // A buffer no larger than the file needs: zeroing 256 KiB to hash a
    // 4 KiB file costs more than hashing it.
    let capacity = usize::try_from(len)
        .unwrap_or(usize::MAX)
        .clamp(MIN_READ_BUFFER_BYTES, READ_BUFFER_BYTES);
    let digest = if len >= OVERLAP_MIN_BYTES {
        hash_reader_overlapped(file, progress)
    } else {
        hash_reader_buffered(file, capacity, progress)
    }
    .map_err(read_err)?;
    Ok((digest, len))
}

/// Like [`hash_reader`], reading on a helper thread into one of two
/// buffers while this thread hashes the other. Falls back to reading in
/// turn if no thread can be started.
fn hash_reader_overlapped<R: Read + Send>(
    mut reader: R,
    progress: &dyn HashProgress,
) -> io::Result<RecordDigest> {
    const BUFFERS: usize = 2;
    let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // Cannot fail: the receiver is alive and there is room.
        let _ = empty_tx.send(vec![0u8; READ_BUFFER_BYTES]);
    }
    std::thread::scope(|s| {
        let reader_ref = &mut reader;
        let spawned = std::thread::Builder::new()
            .name("hash-read".into())
            .spawn_scoped(s, move || {
                while let Ok(mut buf) = empty_rx.recv() {
                    let read = loop {
                        match reader_ref.read(&mut buf) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    let last = !matches!(read, Ok(n) if n > 0);
                    if full_tx.send(read.map(|n| (buf, n))).is_err() || last {
                        break;
                    }
                }
            });
        if spawned.is_err() {
            return None;
        }
        let mut hasher = Sha256::new();
        Some(loop {
            match full_rx.recv() {
                Ok(Ok((buf, n))) if n > 0 => {
                    hasher.update(&buf[..n]);
                    progress.hashed(n as u64);
                    let _ = empty_tx.send(buf);
                }
                Ok(Ok(_)) => break Ok(RecordDigest(hasher.finalize().into())),
                Ok(Err(e)) => break Err(e),
                Err(_) => break Err(io::Error::other("the reading thread stopped")),
            }
        })
    })
    .unwrap_or_else(|| hash_reader_buffered(&mut reader, READ_BUFFER_BYTES, progress))
}

/// How [`collect_files`] and [`Walk`] walk folders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkOptions {
    /// Take entries whose name starts with `.` found inside folders.
    pub include_hidden: bool,
}

/// Why an entry found while walking was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A symbolic link (never followed).
    Symlink,
    /// A hidden entry, and hidden entries were not asked for.
    Hidden,
    /// Neither a regular file nor a folder.
    NotAFile,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::Symlink => "symbolic link, not followed",
            SkipReason::Hidden => "hidden",
            SkipReason::NotAFile => "not a regular file",
        })
    }
}

/// The files found by [`collect_files`], in stable order, and what was skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Regular files to hash, in walk order.
    pub files: Vec<PathBuf>,
    /// Entries passed over, with the reason.
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

/// Expands files and folders into the list of regular files to hash: a
/// [`Walk`] collected.
///
/// See the [module documentation](self) for the policy on symbolic links,
/// hidden entries and ordering. Paths named directly keep the order given.
///
/// # Errors
///
/// A [`HashError`] when a path named does not exist or a folder cannot be read.
pub fn collect_files<P: AsRef<Path>>(
    roots: &[P],
    options: WalkOptions,
) -> Result<Collected, HashError> {
    let mut walk = Walk::new(roots, options)?;
    let mut files = Vec::new();
    for file in walk.by_ref() {
        files.push(file?);
    }
    Ok(Collected {
        files,
        skipped: walk.take_skipped(),
    })
}

/// The files under the paths named, one at a time, in the order and by the
/// rules of [`collect_files`] (folders recursively in name order, symbolic
/// links never followed, hidden entries inside folders skipped unless
/// asked for). It holds only the entries of the folders being walked, never
/// every file found, so that a million files take bounded memory.
#[derive(Debug)]
pub struct Walk {
    roots: std::vec::IntoIter<PathBuf>,
    /// The entries still to visit in each folder being walked, outermost
    /// first.
    folders: Vec<std::vec::IntoIter<fs::DirEntry>>,
    options: WalkOptions,
    /// Entries passed over since [`Walk::take_skipped`], with the reason.
    skipped: Vec<(PathBuf, SkipReason)>,
}

impl Walk {
    /// A walk of `roots`, each of which is looked at first.
    ///
    /// # Errors
    ///
    /// [`HashError::NotFound`] or [`HashError::Read`] for a path named that
    /// does not exist or cannot be looked at, before any file is found.
    pub fn new<P: AsRef<Path>>(roots: &[P], options: WalkOptions) -> Result<Walk, HashError> {
        for root in roots {
            root_metadata(root.as_ref())?;
        }
        Ok(Walk {
            roots: roots
                .iter()
                .map(|r| r.as_ref().to_path_buf())
                .collect::<Vec<_>>()
                .into_iter(),
            folders: Vec::new(),
            options,
            skipped: Vec::new(),
        })
    }

    /// The entries passed over since the last call, with the reason.
    pub fn take_skipped(&mut self) -> Vec<(PathBuf, SkipReason)> {
        std::mem::take(&mut self.skipped)
    }

    /// A file to yield, or nothing (a folder is entered, anything else
    /// skipped).
    fn classify(
        &mut self,
        path: PathBuf,
        meta: &fs::Metadata,
    ) -> Result<Option<PathBuf>, HashError> {
        let ft = meta.file_type();
        if ft.is_symlink() {
            self.skipped.push((path, SkipReason::Symlink));
        } else if ft.is_file() {
            return Ok(Some(path));
        } else if ft.is_dir() {
            let read_err = |source| HashError::Read {
                path: path.clone(),
                source,
            };
            let mut entries = fs::read_dir(&path)
                .map_err(read_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(read_err)?;
            entries.sort_by_key(fs::DirEntry::file_name);
            self.folders.push(entries.into_iter());
        } else {
            self.skipped.push((path, SkipReason::NotAFile));
        }
        Ok(None)
    }
}

fn root_metadata(root: &Path) -> Result<fs::Metadata, HashError> {
    fs::symlink_metadata(root).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            HashError::NotFound {
                path: root.to_path_buf(),
            }
        } else {
            HashError::Read {
                path: root.to_path_buf(),
                source,
            }
        }
    })
}

impl Iterator for Walk {
    type Item = Result<PathBuf, HashError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (path, meta) = match self.folders.last_mut() {
                Some(folder) => {
                    let Some(entry) = folder.next() else {
                        self.folders.pop();
                        continue;
                    };
                    let path = entry.path();
                    let hidden = entry.file_name().as_encoded_bytes().first() == Some(&b'.');
                    if hidden && !self.options.include_hidden {
                        self.skipped.push((path, SkipReason::Hidden));
                        continue;
                    }
                    match entry.metadata() {
                        Ok(m) => (path, m),
                        Err(source) => return Some(Err(HashError::Read { path, source })),
                    }
                }
                None => {
                    let root = self.roots.next()?;
                    match root_metadata(&root) {
                        Ok(m) => (root, m),
                        Err(e) => return Some(Err(e)),
                    }
                }
            };
            match self.classify(path, &meta) {
                Ok(Some(file)) => return Some(Ok(file)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Hashes many files in parallel across all cores, keeping the input order.
///
/// `progress` is called with the size in bytes of each file once it is
/// hashed (from several threads at once), so a caller can draw a progress
/// bar. A file that cannot be read yields its own error without stopping the
/// others.
pub fn hash_files<P, F>(paths: &[P], progress: F) -> Vec<Result<RecordDigest, HashError>>
where
    P: AsRef<Path> + Sync,
    F: Fn(u64) + Sync,
{
    paths
        .par_iter()
        .map(|p| {
            let path = p.as_ref();
            let (result, size) = match hash_file_len(path, SILENT) {
                Ok((digest, len)) => (Ok(digest), len),
                Err(e) => (Err(e), fs::metadata(path).map(|m| m.len()).unwrap_or(0)),
            };
            progress(size);
            result
        })
        .collect()
}

/// [`hash_files`], reporting every piece of every file to `progress` as
/// it is hashed (bytes, from several threads at once), so that a bar
/// moves within a large file too. A file that cannot be read is reported
/// as its size, once, so that the count still reaches the total.
pub fn hash_files_with<P>(
    paths: &[P],
    progress: &dyn HashProgress,
) -> Vec<Result<RecordDigest, HashError>>
where
    P: AsRef<Path> + Sync,
{
    paths
        .par_iter()
        .map(|p| {
            let path = p.as_ref();
            hash_file_len(path, progress)
                .map(|(digest, _)| digest)
                .inspect_err(|_| {
                    progress.hashed(fs::metadata(path).map(|m| m.len()).unwrap_or(0));
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_every_byte() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let dir = tempfile::tempdir().unwrap();
        // A small file, one of several buffers, and one read on a second
        // thread while hashing.
        let sizes = [
            0,
            10,
            3 * READ_BUFFER_BYTES as u64 + 7,
            OVERLAP_MIN_BYTES + 5,
        ];
        let paths: Vec<PathBuf> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let p = dir.path().join(format!("f{i}"));
                fs::write(&p, vec![i as u8; n as usize]).unwrap();
                p
            })
            .collect();
        let big = AtomicU64::new(0);
        let pieces = AtomicU64::new(0);
        let d = hash_file_with(&paths[3], &|n: u64| {
            big.fetch_add(n, Ordering::Relaxed);
            pieces.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(d, hash_file(&paths[3]).unwrap());
        assert_eq!(big.load(Ordering::Relaxed), sizes[3]);
        assert!(
            pieces.load(Ordering::Relaxed) > 1,
            "a large file moves the bar as it goes"
        );
        let all = AtomicU64::new(0);
        let mut with_missing = paths.clone();
        with_missing.push(dir.path().join("missing"));
        let out = hash_files_with(&with_missing, &|n: u64| {
            all.fetch_add(n, Ordering::Relaxed);
        });
        assert_eq!(all.load(Ordering::Relaxed), sizes.iter().sum::<u64>());
        assert!(out[4].is_err());
        for (p, d) in paths.iter().zip(&out) {
            assert_eq!(d.as_ref().unwrap(), &hash_file(p).unwrap());
        }
    }

    #[test]
    fn known_digests() {
        assert_eq!(
            RecordDigest::of_bytes(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // The same bytes streamed through a reader in small pieces.
        let data = vec![7u8; 3 * READ_BUFFER_BYTES + 11];
        let streamed = hash_reader(io::Cursor::new(&data)).unwrap();
        assert_eq!(streamed, RecordDigest::of_bytes(&data));
        let overlapped = hash_reader_overlapped(io::Cursor::new(&data), SILENT).unwrap();
        assert_eq!(overlapped, RecordDigest::of_bytes(&data));
    }

    #[test]
    fn digest_parsing() {
        let d: RecordDigest =
            "  E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n"
                .parse()
                .unwrap();
        assert_eq!(d, RecordDigest::of_bytes(b""));
        assert_eq!(
            "abc".parse::<RecordDigest>(),
            Err(DigestParseError::WrongLength { found: 3 })
        );
        let mut bad = "0".repeat(64);
        bad.replace_range(5..6, "g");
        assert_eq!(
            bad.parse::<RecordDigest>(),
            Err(DigestParseError::NotHex { position: 5 })
        );
        // Multi-byte characters are counted as characters, and never panic.
        assert!("é".repeat(32).parse::<RecordDigest>().is_err());
    }

    #[test]
    fn walk_policy() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/sub")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("b/sub/z.txt"), b"z").unwrap();
        fs::write(root.join("b/a.txt"), b"a").unwrap();
        fs::write(root.join("a.txt"), b"a").unwrap();
        fs::write(root.join(".hidden"), b"h").unwrap();
        fs::write(root.join(".git/config"), b"c").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("link")).unwrap();

        let got = collect_files(&[root], WalkOptions::default()).unwrap();
        let rel: Vec<_> = got
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            rel,
            vec![
                PathBuf::from("a.txt"),
                PathBuf::from("b/a.txt"),
                PathBuf::from("b/sub/z.txt")
            ]
        );
        assert!(got
            .skipped
            .contains(&(root.join(".hidden"), SkipReason::Hidden)));
        assert!(got
            .skipped
            .contains(&(root.join(".git"), SkipReason::Hidden)));
        #[cfg(unix)]
        assert!(got
            .skipped
            .contains(&(root.join("link"), SkipReason::Symlink)));

        let all = collect_files(
            &[root],
            WalkOptions {
                include_hidden: true,
            },
        )
        .unwrap();
        assert_eq!(all.files.len(), 5);

        let missing = collect_files(&[root.join("nope")], WalkOptions::default());
        assert!(matches!(missing, Err(HashError::NotFound { .. })));

        let hashed = hash_files(&got.files, |_| {});
        assert_eq!(hashed.len(), 3);
        assert_eq!(*hashed[0].as_ref().unwrap(), RecordDigest::of_bytes(b"a"));
        assert_eq!(*hashed[2].as_ref().unwrap(), RecordDigest::of_bytes(b"z"));
    }
}
