//! Header sources: what the verifier asks about the chain.
//!
//! The verifier is pure: it takes a proof and a [`HeaderSource`], and the
//! source answers two questions: which header is at height `h` in its best
//! chain, and how high that chain is. Three adapters answer them:
//!
//! * [`EmbeddedOnly`]: knows nothing beyond the proof file itself (offline
//!   verification from the file alone);
//! * [`HeadersFile`]: a local file of raw 80-byte headers from the genesis
//!   block (or from right after a built-in checkpoint), whose whole chain is
//!   validated when it is opened ([`crate::validate`]);
//! * an Electrum server (with the anchoring support), each header it serves
//!   held to the chain rules of [`crate::rules`].
//!
//! [`sync`] writes and updates headers files from any header source,
//! validating every header before it is written.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::consensus;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, CompactTarget, Network};

use crate::checkpoints::Checkpoints;
use crate::validate::{ChainError, ChainParams, ChainState, ChainValidator, CheckpointBuilder};

pub mod sync;

/// Size of a serialized block header.
pub const HEADER_LEN: usize = 80;
/// Largest headers file accepted: 8,000,000 headers (640 MB), some 150 years
/// of blocks.
pub const MAX_HEADERS_FILE_HEADERS: u64 = 8_000_000;

/// An error of a header source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderSourceError {
    /// The headers file could not be read.
    #[error("cannot read headers file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not a whole number of 80-byte headers, or is empty.
    #[error("headers file {path} is {len} bytes, not a non-empty multiple of 80")]
    BadLength {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The file holds more headers than the limit.
    #[error("headers file {path} holds more than {MAX_HEADERS_FILE_HEADERS} headers")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The chain in the file breaks a rule (`docs/headers-file.md` §3).
    #[error("headers file {path} fails validation: {error}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The rule broken, and where.
        error: ChainError,
    },
    /// A remote source (an Electrum server) failed.
    #[error(transparent)]
    Remote(Box<dyn std::error::Error + Send + Sync>),
    /// A source that serves another network than the one asked for.
    #[error("the header source is for {found}, not {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: Network,
        /// The source's network.
        found: Network,
    },
}

impl HeaderSourceError {
    /// Whether the error is an input/output failure (a headers file that is
    /// missing or unreadable) rather than a file or source that was read
    /// and found wrong.
    pub fn is_io(&self) -> bool {
        matches!(self, HeaderSourceError::Read { .. })
    }
}

/// Which kind of source answered, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceKind {
    /// Only the headers carried in the proof.
    EmbeddedOnly,
    /// A local headers file.
    HeadersFile(PathBuf),
    /// An Electrum server.
    Electrum(String),
}

impl fmt::Display for SourceKind {
    /// A noun for messages: `proof file`, `headers file PATH` or
    /// `Electrum server URL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKind::EmbeddedOnly => f.write_str("proof file"),
            SourceKind::HeadersFile(p) => write!(f, "headers file {}", p.display()),
            SourceKind::Electrum(url) => write!(f, "Electrum server {url}"),
        }
    }
}

/// Something that knows the best chain of headers.
pub trait HeaderSource {
    /// What kind of source this is.
    fn kind(&self) -> SourceKind;
    /// The header at `height` in the source's best chain, `None` if the
    /// source does not know one (beyond its tip, or it knows no chain).
    ///
    /// # Errors
    ///
    /// A [`HeaderSourceError`] when the source cannot be read or answers with
    /// something invalid.
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError>;
    /// The height of the source's best chain, `None` if it knows no chain.
    ///
    /// # Errors
    ///
    /// A [`HeaderSourceError`] when the source cannot be read.
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError>;
    /// Up to `count` headers of the best chain from `start` on, fewer if
    /// the chain ends first. Sources that can fetch many at once (an
    /// Electrum server) override this one-by-one default.
    ///
    /// # Errors
    ///
    /// A [`HeaderSourceError`] when the source cannot be read or answers with
    /// something invalid.
    fn header_range(&self, start: u32, count: u32) -> Result<Vec<Header>, HeaderSourceError> {
        let mut out = Vec::new();
        for h in start..start.saturating_add(count) {
            match self.header_at(h)? {
                Some(header) => out.push(header),
                None => break,
            }
        }
        Ok(out)
    }
}

/// The source that knows no chain: verification from the proof file alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbeddedOnly;

impl HeaderSource for EmbeddedOnly {
    fn kind(&self) -> SourceKind {
        SourceKind::EmbeddedOnly
    }
    fn header_at(&self, _height: u32) -> Result<Option<Header>, HeaderSourceError> {
        Ok(None)
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        Ok(None)
    }
}

/// A local file of raw, concatenated 80-byte headers: from the network's
/// genesis block, or from the block right after a built-in checkpoint
/// (`docs/headers-file.md`).
///
/// Opening it validates the whole chain it holds, streaming, in constant
/// memory ([`crate::validate`]: linkage, proof of work, difficulty
/// retargeting, median time past, block versions, every checkpoint it
/// reaches). The file stays open: headers are then read from it at their
/// offsets, so it must not be changed while in use.
#[derive(Debug, Clone)]
pub struct HeadersFile {
    path: PathBuf,
    file: Arc<fs::File>,
    network: Network,
    state: ChainState,
}

/// Bytes read at a time while validating a file.
const READ_BUFFER: usize = 1 << 20;

/// Most headers [`HeadersFile`] reads in one positioned read.
const RANGE_CHUNK: u32 = 16_384;

impl HeadersFile {
    /// Opens and validates a headers file for `network`, with the
    /// network's consensus parameters and built-in checkpoints.
    ///
    /// # Errors
    ///
    /// A file that cannot be read (a folder included: [`HeaderSourceError::is_io`]),
    /// is not a whole number of headers, is too large, or breaks a chain
    /// rule ([`HeaderSourceError::Invalid`]).
    pub fn open(path: &Path, network: Network) -> Result<HeadersFile, HeaderSourceError> {
        Self::open_with(
            path,
            &ChainParams::new(network),
            Checkpoints::builtin(network),
        )
    }

    /// Opens and validates a headers file with the given parameters and
    /// checkpoint table.
    ///
    /// # Errors
    ///
    /// As [`HeadersFile::open`].
    pub fn open_with(
        path: &Path,
        params: &ChainParams,
        table: &Checkpoints,
    ) -> Result<HeadersFile, HeaderSourceError> {
        Self::open_observed(path, params, table, &mut |_, _, _| {})
    }

    /// Opens and validates a headers file as [`HeadersFile::open_with`]
    /// does, and builds the checkpoint table of every epoch it closes
    /// ([`CheckpointBuilder`]; `with_targets` records each epoch's bits).
    ///
    /// # Errors
    ///
    /// As [`HeadersFile::open`].
    pub fn open_with_checkpoints(
        path: &Path,
        params: &ChainParams,
        table: &Checkpoints,
        with_targets: bool,
    ) -> Result<(HeadersFile, Checkpoints), HeaderSourceError> {
        let mut builder = CheckpointBuilder::new(params.network(), with_targets);
        let file = Self::open_observed(path, params, table, &mut |height, hash, bits| {
            builder.observe(table, height, hash, bits)
        })?;
        Ok((file, builder.finish()))
    }

    /// Opens and validates, calling `observe(height, hash, bits)` for every
    /// header once it has passed.
    fn open_observed(
        path: &Path,
        params: &ChainParams,
        table: &Checkpoints,
        observe: &mut dyn FnMut(u32, &BlockHash, CompactTarget),
    ) -> Result<HeadersFile, HeaderSourceError> {
        let read_err = |source| HeaderSourceError::Read {
            path: path.to_path_buf(),
            source,
        };
        let invalid = |error| HeaderSourceError::Invalid {
            path: path.to_path_buf(),
            error,
        };
        let file = fs::File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        // A folder opens, and has a length, but is not a file to read:
        // an input/output error, not a malformed headers file.
        if meta.is_dir() {
            return Err(read_err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a folder, not a file",
            )));
        }
        let len = meta.len();
        if len == 0 || len % HEADER_LEN as u64 != 0 {
            return Err(HeaderSourceError::BadLength {
                path: path.to_path_buf(),
                len,
            });
        }
        let count = len / HEADER_LEN as u64;
        if count > MAX_HEADERS_FILE_HEADERS {
            return Err(HeaderSourceError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let mut validator = ChainValidator::new(params, table).map_err(invalid)?;
        let mut reader = io::BufReader::with_capacity(READ_BUFFER, &file);
        let mut raw = [0u8; HEADER_LEN];
        // The first header decides the start (genesis or checkpoint) before
        // anything else is read.
        for i in 0..count {
            reader.read_exact(&mut raw).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    // The file shrank while it was read.
                    HeaderSourceError::BadLength {
                        path: path.to_path_buf(),
                        len: i * HEADER_LEN as u64,
                    }
                } else {
                    read_err(e)
                }
            })?;
            let hash = validator.push(&raw).map_err(invalid)?;
            if let Some(s) = validator.state() {
                observe(s.tip_height(), &hash, s.tip_bits());
            }
        }
        let state = validator.into_state().ok_or(HeaderSourceError::BadLength {
            path: path.to_path_buf(),
            len: 0,
        })?;
        Ok(HeadersFile {
            path: path.to_path_buf(),
            file: Arc::new(file),
            network: params.network(),
            state,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The network the file was validated for.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Number of headers in the file.
    pub fn len(&self) -> u32 {
        self.state.len()
    }

    /// Whether the file holds no header (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// The height of the first header (0 unless the file starts after a
    /// checkpoint).
    pub fn start_height(&self) -> u32 {
        self.state.start_height()
    }

    /// The height of the last header.
    pub fn tip_height(&self) -> u32 {
        self.state.tip_height()
    }

    /// The hash of the last header.
    pub fn tip_hash(&self) -> BlockHash {
        self.state.tip_hash()
    }

    /// The work of the file's headers, added up.
    pub fn total_work(&self) -> Work {
        self.state.total_work()
    }

    /// Everything the validation established, from which a
    /// [`ChainValidator`] can go on ([`ChainValidator::resume`]).
    pub fn state(&self) -> &ChainState {
        &self.state
    }

    /// Validates the file's headers again, from its first up to `height`
    /// (at most its tip), and returns the validator there: the state a
    /// chain that forks after `height` goes on from.
    ///
    /// # Errors
    ///
    /// A read failure, or a file changed since it was opened.
    pub fn validator_at<'a>(
        &self,
        params: &'a ChainParams,
        table: &'a Checkpoints,
        height: u32,
    ) -> Result<ChainValidator<'a>, HeaderSourceError> {
        let invalid = |error| HeaderSourceError::Invalid {
            path: self.path.clone(),
            error,
        };
        let mut validator = ChainValidator::new(params, table).map_err(invalid)?;
        let last = height.min(self.tip_height());
        let mut next = self.start_height();
        while next <= last {
            let n = (last - next + 1).min(RANGE_CHUNK);
            let bytes = self.read_raw(next, n)?;
            for raw in bytes.chunks_exact(HEADER_LEN) {
                let mut h = [0u8; HEADER_LEN];
                h.copy_from_slice(raw);
                validator.push(&h).map_err(invalid)?;
            }
            next += n;
        }
        Ok(validator)
    }

    /// `count` headers' raw bytes from `height` on, all within the file.
    fn read_raw(&self, height: u32, count: u32) -> Result<Vec<u8>, HeaderSourceError> {
        let offset = u64::from(height - self.start_height()) * HEADER_LEN as u64;
        let mut bytes = vec![0u8; count as usize * HEADER_LEN];
        self.file
            .read_exact_at(&mut bytes, offset)
            .map_err(|source| HeaderSourceError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(bytes)
    }

    fn decode(&self, raw: &[u8]) -> Result<Header, HeaderSourceError> {
        consensus::deserialize(raw).map_err(|_| HeaderSourceError::BadLength {
            path: self.path.clone(),
            len: raw.len() as u64,
        })
    }
}

impl HeaderSource for HeadersFile {
    fn kind(&self) -> SourceKind {
        SourceKind::HeadersFile(self.path.clone())
    }
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        if height < self.start_height() || height > self.tip_height() {
            return Ok(None);
        }
        let raw = self.read_raw(height, 1)?;
        self.decode(&raw).map(Some)
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        Ok(Some(self.tip_height()))
    }
    fn header_range(&self, start: u32, count: u32) -> Result<Vec<Header>, HeaderSourceError> {
        if start < self.start_height() || start > self.tip_height() {
            return Ok(Vec::new());
        }
        let count = count.min(self.tip_height() - start + 1);
        let mut out = Vec::with_capacity(count.min(RANGE_CHUNK) as usize);
        let mut next = start;
        while next < start + count {
            let n = (start + count - next).min(RANGE_CHUNK);
            let bytes = self.read_raw(next, n)?;
            for raw in bytes.chunks_exact(HEADER_LEN) {
                out.push(self.decode(raw)?);
            }
            next += n;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h");
        let g = bitcoin::constants::genesis_block(Network::Bitcoin).header;
        fs::write(&p, consensus::serialize(&g)).unwrap();
        let f = HeadersFile::open(&p, Network::Bitcoin).unwrap();
        assert_eq!(f.best_height().unwrap(), Some(0));
        assert_eq!(f.header_at(0).unwrap(), Some(g));
        assert_eq!(f.header_at(1).unwrap(), None);
        assert_eq!(f.start_height(), 0);
        assert_eq!(f.tip_hash(), g.block_hash());
        assert_eq!(f.header_range(0, 5).unwrap(), vec![g]);
        assert!(matches!(
            HeadersFile::open(&p, Network::Regtest),
            Err(HeaderSourceError::Invalid {
                error: ChainError::UnknownStart { .. },
                ..
            })
        ));
        fs::write(&p, [0u8; 81]).unwrap();
        let e = HeadersFile::open(&p, Network::Bitcoin).unwrap_err();
        assert!(matches!(e, HeaderSourceError::BadLength { len: 81, .. }));
        assert!(!e.is_io());
        let e = HeadersFile::open(&dir.path().join("missing"), Network::Bitcoin).unwrap_err();
        assert!(e.is_io(), "{e}");
        let e = HeadersFile::open(dir.path(), Network::Bitcoin).unwrap_err();
        assert!(e.is_io(), "{e}");
        // The cause is the error's source, not repeated in its message.
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("it is a folder, not a file"), "{e}");
        assert!(!e.to_string().contains("folder"), "{e}");
    }

    #[test]
    fn source_kinds_read_as_nouns() {
        assert_eq!(SourceKind::EmbeddedOnly.to_string(), "proof file");
        assert_eq!(
            SourceKind::HeadersFile(PathBuf::from("a/h.bin")).to_string(),
            "headers file a/h.bin"
        );
        assert_eq!(
            SourceKind::Electrum("tcp://127.0.0.1:50001".to_owned()).to_string(),
            "Electrum server tcp://127.0.0.1:50001"
        );
    }
}
