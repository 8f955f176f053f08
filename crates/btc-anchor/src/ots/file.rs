//! Detached timestamp files on disk: telling them from other files by
//! their content, and reading them with the size cap of `docs/ots.md` §6.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::format::{DetachedTimestamp, OtsError, MAGIC, MAX_OTS_BYTES};
use crate::file::read_capped;
use crate::text::escape_path;

/// Why [`read_ots_file`] gave no timestamp.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadOtsError {
    /// The file could not be opened or read (missing, unreadable, a
    /// folder).
    #[error("cannot read timestamp file {}", escape_path(path))]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a valid detached timestamp.
    #[error(transparent)]
    Format(#[from] OtsError),
}

impl ReadOtsError {
    /// Whether the file could not be read at all (missing, unreadable),
    /// rather than read and found malformed.
    pub fn is_io(&self) -> bool {
        matches!(self, ReadOtsError::Io { .. })
    }
}

/// Whether `bytes` start with the detached timestamp magic (§2): how a
/// `.ots` file is told from a btc-anchor proof whatever its name.
pub fn has_ots_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Whether the file at `path` starts with the detached timestamp magic.
/// Reads at most the magic's 31 bytes.
///
/// The file is opened for this alone: to read it afterwards, which a pipe
/// or a FIFO does not allow, use [`crate::file::read_any`], which opens it
/// once, tells the format and parses it.
///
/// # Errors
///
/// The [`io::Error`] of opening or reading the file.
pub fn is_ots_file(path: &Path) -> io::Result<bool> {
    let mut head = Vec::with_capacity(MAGIC.len());
    File::open(path)?
        .take(MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    Ok(has_ots_magic(&head))
}

/// Reads and parses a detached timestamp file: opened once, and at most
/// one byte more than [`MAX_OTS_BYTES`] read, so that an oversized file is
/// refused without being read whole; a regular file's size is asked of the
/// file system first, and reported in [`OtsError::TooLarge`].
///
/// [`crate::file::read_any`] reads a btc-anchor proof as well.
///
/// # Errors
///
/// [`ReadOtsError::Io`] when the file cannot be read,
/// [`ReadOtsError::Format`] when it is not a valid timestamp (§2 to §7).
pub fn read_ots_file(path: &Path) -> Result<DetachedTimestamp, ReadOtsError> {
    let capped = read_capped(path, MAX_OTS_BYTES, 0).map_err(|source| ReadOtsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if capped.over(MAX_OTS_BYTES) {
        return Err(OtsError::TooLarge {
            size: capped.reported_size(),
        }
        .into());
    }
    Ok(DetachedTimestamp::from_bytes(&capped.bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ots::{Attestation, FileHashOp, Timestamp};

    #[test]
    fn detection_and_capped_read() {
        let dir = tempfile::tempdir().unwrap();
        let ts = DetachedTimestamp {
            file_hash: FileHashOp::Sha1,
            digest: vec![7; 20],
            timestamp: Timestamp::attestation(Attestation::Bitcoin { height: 5 }),
        };
        let ots = dir.path().join("named.json");
        std::fs::write(&ots, ts.to_bytes()).unwrap();
        assert!(is_ots_file(&ots).unwrap());
        assert_eq!(read_ots_file(&ots).unwrap(), ts);

        let short = dir.path().join("short");
        std::fs::write(&short, &MAGIC[..30]).unwrap();
        assert!(!is_ots_file(&short).unwrap());
        assert!(matches!(
            read_ots_file(&short),
            Err(ReadOtsError::Format(OtsError::BadMagic))
        ));
        assert!(!has_ots_magic(b"{\"format\": \"btc-anchor-proof\"}"));

        let missing = dir.path().join("missing.ots");
        assert!(is_ots_file(&missing).is_err());
        let e = read_ots_file(&missing).unwrap_err();
        assert!(e.is_io(), "{e}");

        let mut huge = ts.to_bytes();
        huge.resize(MAX_OTS_BYTES + 500, 0);
        std::fs::write(&ots, huge).unwrap();
        let e = read_ots_file(&ots).unwrap_err();
        assert!(!e.is_io());
        // The file's size, not what was read.
        assert!(
            matches!(e, ReadOtsError::Format(OtsError::TooLarge { size }) if size == MAX_OTS_BYTES + 500),
            "{e}"
        );
        assert!(
            e.to_string().contains(&(MAX_OTS_BYTES + 500).to_string()),
            "{e}"
        );
        let e = read_ots_file(dir.path()).unwrap_err();
        assert!(e.is_io(), "{e}");
    }
}
