//! Header sources: what the verifier asks about the chain.
//!
//! The verifier is pure: it takes a proof and a [`HeaderSource`], and the
//! source answers two questions: which header is at height `h` in its best
//! chain, and how high that chain is. Three adapters answer them:
//!
//! * [`EmbeddedOnly`]: knows nothing beyond the proof file itself (offline
//!   verification from the file alone);
//! * [`HeadersFile`]: a local file of raw 80-byte headers from height 0,
//!   whose linkage and proof of work are checked when it is opened;
//! * an Electrum server (with the anchoring support).

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::consensus;
use bitcoin::{BlockHash, Network};

use crate::anchor::{check_header_work, AnchorError};

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
    #[error("cannot read headers file {path}: {source}")]
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
    /// The first header is not the network's genesis block.
    #[error("headers file {path} does not start with the {network} genesis block")]
    WrongGenesis {
        /// The file.
        path: PathBuf,
        /// The network expected.
        network: Network,
    },
    /// A header in the file fails its checks.
    #[error("headers file {path}: {source}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: AnchorError,
    },
    /// A remote source (an Electrum server) failed.
    #[error("{0}")]
    Remote(#[source] Box<dyn std::error::Error + Send + Sync>),
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
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError>;
    /// The height of the source's best chain, `None` if it knows no chain.
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError>;
    /// Up to `count` headers of the best chain from `start` on, fewer if
    /// the chain ends first. Sources that can fetch many at once (an
    /// Electrum server) override this one-by-one default.
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

/// A local file of raw, concatenated 80-byte headers starting at height 0.
///
/// Opening it checks that the first header is the network's genesis block,
/// that each header names the one before it, and that each meets its own
/// proof-of-work target within the network's limit.
#[derive(Debug, Clone)]
pub struct HeadersFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl HeadersFile {
    /// Opens and checks a headers file for `network`.
    pub fn open(path: &Path, network: Network) -> Result<HeadersFile, HeaderSourceError> {
        let read_err = |source| HeaderSourceError::Read {
            path: path.to_path_buf(),
            source,
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
        if len / HEADER_LEN as u64 > MAX_HEADERS_FILE_HEADERS {
            return Err(HeaderSourceError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(len).read_to_end(&mut bytes).map_err(read_err)?;
        if bytes.len() as u64 != len {
            return Err(HeaderSourceError::BadLength {
                path: path.to_path_buf(),
                len: bytes.len() as u64,
            });
        }
        Self::from_bytes(path, bytes, network)
    }

    fn from_bytes(
        path: &Path,
        bytes: Vec<u8>,
        network: Network,
    ) -> Result<HeadersFile, HeaderSourceError> {
        let genesis = bitcoin::constants::genesis_block(network).header;
        let mut prev: Option<BlockHash> = None;
        for (height, chunk) in bytes.chunks_exact(HEADER_LEN).enumerate() {
            let height = height as u32;
            let header: Header =
                consensus::deserialize(chunk).map_err(|_| HeaderSourceError::BadLength {
                    path: path.to_path_buf(),
                    len: bytes.len() as u64,
                })?;
            let bad = |source| HeaderSourceError::BadHeader {
                path: path.to_path_buf(),
                source,
            };
            match prev {
                None => {
                    if header != genesis {
                        return Err(HeaderSourceError::WrongGenesis {
                            path: path.to_path_buf(),
                            network,
                        });
                    }
                }
                Some(p) => {
                    if header.prev_blockhash != p {
                        return Err(bad(AnchorError::NotLinked { height }));
                    }
                }
            }
            prev = Some(check_header_work(&header, height, network).map_err(bad)?);
        }
        Ok(HeadersFile {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// Number of headers in the file.
    pub fn len(&self) -> u32 {
        (self.bytes.len() / HEADER_LEN) as u32
    }

    /// Whether the file holds no header (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The hash of the last header.
    pub fn tip_hash(&self) -> Option<BlockHash> {
        self.header_at(self.len().checked_sub(1)?)
            .ok()
            .flatten()
            .map(|h| crate::anchor::header_hash(&h))
    }
}

impl HeaderSource for HeadersFile {
    fn kind(&self) -> SourceKind {
        SourceKind::HeadersFile(self.path.clone())
    }
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        let start = height as usize * HEADER_LEN;
        Ok(self
            .bytes
            .get(start..start + HEADER_LEN)
            .and_then(|b| consensus::deserialize(b).ok()))
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        Ok(self.len().checked_sub(1))
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
        assert!(matches!(
            HeadersFile::open(&p, Network::Regtest),
            Err(HeaderSourceError::WrongGenesis { .. })
        ));
        fs::write(&p, [0u8; 81]).unwrap();
        let e = HeadersFile::open(&p, Network::Bitcoin).unwrap_err();
        assert!(matches!(e, HeaderSourceError::BadLength { len: 81, .. }));
        assert!(!e.is_io());
        let e = HeadersFile::open(&dir.path().join("missing"), Network::Bitcoin).unwrap_err();
        assert!(e.is_io(), "{e}");
        let e = HeadersFile::open(dir.path(), Network::Bitcoin).unwrap_err();
        assert!(e.is_io(), "{e}");
        assert!(e.to_string().ends_with("it is a folder, not a file"), "{e}");
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
