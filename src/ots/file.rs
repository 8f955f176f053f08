//! Detached timestamp files on disk: telling them from other files by
//! their content, and reading them with the size cap of `docs/ots.md` §6.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::format::{DetachedTimestamp, OtsError, MAGIC, MAX_OTS_BYTES};

/// Why [`read_ots_file`] gave no timestamp.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadOtsError {
    /// The file could not be opened or read.
    #[error("cannot read timestamp file {path}: {source}")]
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
pub fn is_ots_file(path: &Path) -> io::Result<bool> {
    let mut head = Vec::with_capacity(MAGIC.len());
    File::open(path)?
        .take(MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    Ok(has_ots_magic(&head))
}

/// Reads and parses a detached timestamp file: at most one byte more than
/// [`MAX_OTS_BYTES`] is read, so that an oversized file is refused by
/// [`DetachedTimestamp::from_bytes`] without being read whole.
pub fn read_ots_file(path: &Path) -> Result<DetachedTimestamp, ReadOtsError> {
    let io_err = |source| ReadOtsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_OTS_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    Ok(DetachedTimestamp::from_bytes(&bytes)?)
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
        assert!(
            matches!(e, ReadOtsError::Format(OtsError::TooLarge { size }) if size == MAX_OTS_BYTES + 1),
            "{e}"
        );
    }
}
