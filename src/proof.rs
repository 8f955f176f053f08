//! The proof file, format version 1: reading and writing side by side.
//!
//! The format is specified in `docs/proof-format.md`; section numbers in the
//! comments below (§n) refer to that document. In short, a proof is one JSON
//! object:
//!
//! ```json
//! {
//!   "format": "btc-anchor-proof",
//!   "version": 1,
//!   "network": "regtest",
//!   "hash": "sha256",
//!   "record": { "digest": "<64 hex>", "salt": "<32 to 128 hex>" },
//!   "batch": { "size": 5, "index": 2, "path": ["<64 hex>"], "root": "<64 hex>" },
//!   "anchor": {
//!     "tx": "<hex of the witness-stripped transaction>",
//!     "output": 0,
//!     "block": {
//!       "height": 433, "header": "<160 hex>", "tx_index": 3,
//!       "branch": ["<64 hex>"], "headers_after": ["<160 hex>"]
//!     }
//!   }
//! }
//! ```
//!
//! `batch` is absent while the record is queued, `anchor` until the batch
//! transaction is broadcast, `block` until it confirms (§6, pending forms).
//!
//! [`Proof::from_json`] enforces every limit of §7 before it allocates for a
//! field, rejects unknown fields and non-canonical hex, and never panics;
//! [`Proof::to_json`] writes the canonical form, which reads back equal.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::block::Header;
use bitcoin::consensus::{self, Decodable};
use bitcoin::{Network, Transaction};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::file::read_capped;
use crate::hash::RecordDigest;
use crate::merkle::{self, MerkleError, NodeHash, Salt, MAX_PATH_LEN, MAX_TREE_SIZE};
use crate::text::escape_path;

/// The value of the `format` field (§2).
pub const FORMAT_NAME: &str = "btc-anchor-proof";
/// The format version this library reads and writes (§2).
pub const FORMAT_VERSION: u64 = 1;
/// Largest proof file accepted, in bytes (§7).
pub const MAX_PROOF_BYTES: usize = 1 << 20;
/// Largest anchoring transaction accepted, in bytes (§7): the largest
/// standard transaction.
pub const MAX_TX_BYTES: usize = 100_000;
/// Longest block merkle branch accepted (§7).
pub const MAX_BRANCH_LEN: usize = 32;
/// Most headers after the anchoring block carried in one proof (§7).
pub const MAX_HEADERS_AFTER: usize = 2016;

/// A proof that a record existed: its digest, its place in a batch tree and
/// the Bitcoin transaction and block that commit to the tree's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The Bitcoin network the anchor lives on.
    pub network: Network,
    /// The record's digest and salt.
    pub record: Record,
    /// The record's place in its batch tree; `None` while queued.
    pub batch: Option<BatchPath>,
    /// The transaction committing to the batch root; `None` until broadcast.
    pub anchor: Option<Anchor>,
}

/// The record a proof is about (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// SHA-256 of the document.
    pub digest: RecordDigest,
    /// The random salt put before the digest in the leaf.
    pub salt: Salt,
}

/// A record's place in its batch tree (§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPath {
    /// Number of leaves in the tree.
    pub size: u64,
    /// The record's leaf index.
    pub index: u64,
    /// Sibling hashes from the leaf up (RFC 9162 inclusion path).
    pub path: Vec<NodeHash>,
    /// The tree root committed on chain.
    pub root: NodeHash,
}

/// The anchoring transaction (§6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The transaction, without witness data.
    pub tx: Transaction,
    /// Index of the output whose script commits to the root.
    pub output: u32,
    /// Where the transaction confirmed; `None` while unconfirmed.
    pub block: Option<BlockProof>,
}

/// The block holding the anchoring transaction (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockProof {
    /// Height of the block.
    pub height: u32,
    /// The block header.
    pub header: Header,
    /// The transaction's position in the block.
    pub tx_index: u32,
    /// The block merkle branch, from the transaction's sibling up, each hash
    /// in internal byte order.
    pub branch: Vec<[u8; 32]>,
    /// Headers of the blocks after it, in order (confirmations carried in
    /// the file).
    pub headers_after: Vec<Header>,
}

/// How far along a proof is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Waiting for the next batch: no tree yet.
    Queued,
    /// In a batch whose root is fixed, not yet broadcast.
    Batched,
    /// The batch transaction is broadcast but not yet in a block.
    Broadcast,
    /// The batch transaction is in a block: the proof is complete.
    Confirmed,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Queued => "queued",
            Stage::Batched => "batched",
            Stage::Broadcast => "broadcast",
            Stage::Confirmed => "confirmed",
        })
    }
}

impl Proof {
    /// How far along the proof is.
    pub fn stage(&self) -> Stage {
        match (&self.batch, &self.anchor) {
            (None, _) => Stage::Queued,
            (Some(_), None) => Stage::Batched,
            (Some(_), Some(a)) if a.block.is_none() => Stage::Broadcast,
            (Some(_), Some(_)) => Stage::Confirmed,
        }
    }
}

/// Why a proof file could not be read (§8 lists what a reader must reject).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The file is larger than [`MAX_PROOF_BYTES`].
    #[error("proof file {}", too_large(*size, MAX_PROOF_BYTES))]
    TooLarge {
        /// The file's size when known ([`crate::file::read_any`] and
        /// [`read_proof_file`] ask the file system), else the bytes read:
        /// the limit and one byte for a pipe, whose size is not known.
        size: usize,
    },
    /// Not JSON, or JSON not of the proof's shape.
    #[error("not a valid proof: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a btc-anchor proof.
    #[error("not a btc-anchor proof (no \"format\": \"{FORMAT_NAME}\")")]
    NotAProof,
    /// A format version this library does not know.
    #[error("unsupported proof version {0}")]
    UnsupportedVersion(u64),
    /// A network name that is not one of the five known.
    #[error("unknown network \"{0}\" (expected bitcoin, testnet, testnet4, signet or regtest)")]
    UnknownNetwork(String),
    /// A hash algorithm other than SHA-256.
    #[error("unsupported hash algorithm \"{0}\" (expected sha256)")]
    UnsupportedHash(String),
    /// A hex field that is not lower-case hex of the right length.
    #[error("field {field}: {problem}")]
    Hex {
        /// The field's path in the JSON object.
        field: &'static str,
        /// What is wrong with it.
        problem: HexProblem,
    },
    /// A salt outside the allowed length.
    #[error("field record.salt: {0}")]
    Salt(MerkleError),
    /// A tree size of zero or above the limit.
    #[error("field batch.size: must be 1 to {MAX_TREE_SIZE}, found {0}")]
    TreeSize(u64),
    /// The anchoring transaction does not decode.
    #[error("field anchor.tx: not a transaction: {0}")]
    TxDecode(String),
    /// The anchoring transaction carries witness data or extra bytes.
    #[error("field anchor.tx: {0}")]
    TxNotCanonical(&'static str),
    /// A header that does not decode.
    #[error("field {field}: not a block header")]
    HeaderDecode {
        /// The field's path.
        field: &'static str,
    },
    /// An `anchor` without a `batch`.
    #[error("an anchor needs a batch: \"anchor\" is present but \"batch\" is not")]
    AnchorWithoutBatch,
}

/// What is wrong with a hex field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexProblem {
    /// Wrong number of hex characters.
    #[error("expected {expected} hex characters, found {found}")]
    Length {
        /// Characters expected (a range is written as its lower end).
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// Odd number of hex characters.
    #[error("odd number of hex characters ({0})")]
    Odd(usize),
    /// A character that is not a lower-case hex digit.
    #[error("not lower-case hex (character {0})")]
    NotLowerHex(usize),
}

// ---------------------------------------------------------------------------
// Wire form (§3): borrowed strings, bounded lists, no unknown fields.
// ---------------------------------------------------------------------------

/// A JSON array refused past `N` items while it is being read, so a hostile
/// file cannot make the reader allocate for more.
#[derive(Debug)]
struct Bounded<T, const N: usize>(Vec<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
            type Value = Bounded<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
                while let Some(item) = seq.next_element()? {
                    if out.len() == N {
                        return Err(de::Error::custom(format_args!(
                            "a list of at most {N} items, found more"
                        )));
                    }
                    out.push(item);
                }
                Ok(Bounded(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// Only the two fields that say what a file is (§2), read first so that an
/// unknown version is reported as such, whatever else the file holds.
#[derive(Deserialize)]
struct Envelope {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireProof<'a> {
    format: &'a str,
    version: u64,
    network: &'a str,
    hash: &'a str,
    #[serde(borrow)]
    record: WireRecord<'a>,
    #[serde(borrow)]
    batch: Option<WireBatch<'a>>,
    #[serde(borrow)]
    anchor: Option<WireAnchor<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRecord<'a> {
    digest: &'a str,
    salt: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBatch<'a> {
    size: u64,
    index: u64,
    #[serde(borrow)]
    path: Bounded<&'a str, MAX_PATH_LEN>,
    root: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAnchor<'a> {
    tx: &'a str,
    output: u32,
    #[serde(borrow)]
    block: Option<WireBlock<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBlock<'a> {
    height: u32,
    header: &'a str,
    tx_index: u32,
    #[serde(borrow)]
    branch: Bounded<&'a str, MAX_BRANCH_LEN>,
    #[serde(borrow)]
    headers_after: Bounded<&'a str, MAX_HEADERS_AFTER>,
}

/// Checks `s` is lower-case hex (§3: "hex is lower case, two characters a
/// byte") and returns its length in bytes.
fn check_hex(field: &'static str, s: &str) -> Result<usize, ProofError> {
    if let Some(pos) = s
        .bytes()
        .position(|b| !(b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    {
        return Err(ProofError::Hex {
            field,
            problem: HexProblem::NotLowerHex(pos),
        });
    }
    if s.len() % 2 == 1 {
        return Err(ProofError::Hex {
            field,
            problem: HexProblem::Odd(s.len()),
        });
    }
    Ok(s.len() / 2)
}

/// The value of each byte that is a lower-case hex digit, `0xff` for every
/// other byte (§3).
static LOWER_HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 16 {
        table[b"0123456789abcdef"[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Decodes lower-case hex into `out`, which must be half as long as `s`,
/// in one pass without branching on the input; [`check_hex`] names the
/// first bad character if there is one.
fn decode_hex(field: &'static str, s: &str, out: &mut [u8]) -> Result<(), ProofError> {
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let hi = LOWER_HEX[usize::from(pair[0])];
        let lo = LOWER_HEX[usize::from(pair[1])];
        bad |= hi | lo;
        *byte = hi << 4 | lo;
    }
    if bad > 0x0f || s.len() != 2 * out.len() {
        check_hex(field, s)?;
        return Err(ProofError::Hex {
            field,
            problem: HexProblem::Length {
                expected: 2 * out.len(),
                found: s.len(),
            },
        });
    }
    Ok(())
}

fn hex32(field: &'static str, s: &str) -> Result<[u8; 32], ProofError> {
    if s.len() != 64 {
        return Err(ProofError::Hex {
            field,
            problem: HexProblem::Length {
                expected: 64,
                found: s.len(),
            },
        });
    }
    let mut out = [0u8; 32];
    decode_hex(field, s, &mut out)?;
    Ok(out)
}

fn hex_bytes(field: &'static str, s: &str, max: usize) -> Result<Vec<u8>, ProofError> {
    if s.len() > 2 * max {
        return Err(ProofError::Hex {
            field,
            problem: HexProblem::Length {
                expected: 2 * max,
                found: s.len(),
            },
        });
    }
    if s.len() % 2 == 1 {
        check_hex(field, s)?;
    }
    let mut out = vec![0u8; s.len() / 2];
    decode_hex(field, s, &mut out)?;
    Ok(out)
}

fn header(field: &'static str, s: &str) -> Result<Header, ProofError> {
    if s.len() != 160 {
        return Err(ProofError::Hex {
            field,
            problem: HexProblem::Length {
                expected: 160,
                found: s.len(),
            },
        });
    }
    let mut bytes = [0u8; 80];
    decode_hex(field, s, &mut bytes)?;
    consensus::deserialize(&bytes).map_err(|_| ProofError::HeaderDecode { field })
}

/// Decodes a witness-stripped transaction, refusing witness data and any
/// bytes left over (§6.1).
pub fn decode_stripped_tx(bytes: &[u8]) -> Result<Transaction, ProofError> {
    let mut cursor = bytes;
    let tx = Transaction::consensus_decode(&mut cursor)
        .map_err(|e| ProofError::TxDecode(e.to_string()))?;
    if !cursor.is_empty() {
        return Err(ProofError::TxNotCanonical(
            "bytes left over after the transaction",
        ));
    }
    if tx.input.iter().any(|i| !i.witness.is_empty()) {
        return Err(ProofError::TxNotCanonical(
            "carries witness data (the format holds the witness-stripped transaction)",
        ));
    }
    if consensus::serialize(&tx) != bytes {
        return Err(ProofError::TxNotCanonical("not in canonical encoding"));
    }
    Ok(tx)
}

impl ProofError {
    /// A stable short name for the reason, as used in `fixtures/` and in
    /// the command line's JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            ProofError::TooLarge { .. } => "too-large",
            ProofError::Json(_) => "malformed",
            ProofError::NotAProof => "not-a-proof",
            ProofError::UnsupportedVersion(_) => "unsupported-version",
            ProofError::UnknownNetwork(_) => "unknown-network",
            ProofError::UnsupportedHash(_) => "unsupported-hash",
            ProofError::Hex { .. } => "bad-hex",
            ProofError::Salt(_) => "bad-salt",
            ProofError::TreeSize(_) => "bad-tree-size",
            ProofError::TxDecode(_) => "bad-tx",
            ProofError::TxNotCanonical(_) => "tx-not-canonical",
            ProofError::HeaderDecode { .. } => "bad-header",
            ProofError::AnchorWithoutBatch => "anchor-without-batch",
        }
    }
}

/// Why [`read_proof_file`] gave no proof.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadProofError {
    /// The file could not be opened or read (missing, unreadable, a
    /// folder).
    #[error("cannot read proof file {}: {source}", escape_path(path))]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a valid proof.
    #[error(transparent)]
    Format(#[from] ProofError),
}

impl ReadProofError {
    /// Whether the file could not be read at all (missing, unreadable),
    /// rather than read and found malformed.
    pub fn is_io(&self) -> bool {
        matches!(self, ReadProofError::Io { .. })
    }
}

/// Reads and parses a proof file (§7, §8): opened once, and at most
/// [`MAX_PROOF_BYTES`] + 1 bytes read, so that an oversized file is refused
/// without being read whole; a regular file's size is asked of the file
/// system first, and reported in [`ProofError::TooLarge`].
///
/// [`crate::file::read_any`] reads a `.ots` file as well.
pub fn read_proof_file(path: &Path) -> Result<Proof, ReadProofError> {
    let capped = read_capped(path, MAX_PROOF_BYTES, 0).map_err(|source| ReadProofError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if capped.over(MAX_PROOF_BYTES) {
        return Err(ProofError::TooLarge {
            size: capped.reported_size(),
        }
        .into());
    }
    Ok(Proof::from_json(&capped.bytes)?)
}

/// "is N bytes, the limit is L", or for a size of the limit and one byte,
/// which is also what is known of a pipe over the limit, "is over the
/// limit of L bytes".
pub(crate) fn too_large(size: usize, limit: usize) -> String {
    if size == limit.saturating_add(1) {
        format!("is over the limit of {limit} bytes")
    } else {
        format!("is {size} bytes, the limit is {limit}")
    }
}

impl Proof {
    /// Reads a proof file (§8).
    pub fn from_json(bytes: &[u8]) -> Result<Proof, ProofError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(ProofError::TooLarge { size: bytes.len() });
        }
        // §2: identify the file and its version before anything else. A
        // well-formed file is read in one pass; only when that fails is it
        // read again for the two fields alone, to give the right reason.
        match serde_json::from_slice::<WireProof<'_>>(bytes) {
            Ok(w) => {
                Self::identify(Some(w.format), Some(w.version))?;
                Self::from_wire(w)
            }
            Err(wire_error) => {
                let env: Envelope = serde_json::from_slice(bytes)?;
                Self::identify(
                    env.format.as_ref().and_then(|v| v.as_str()),
                    env.version.as_ref().and_then(|v| v.as_u64()),
                )?;
                Err(wire_error.into())
            }
        }
    }

    /// §2: the `format` must name this format and the `version` be one this
    /// library reads.
    fn identify(format: Option<&str>, version: Option<u64>) -> Result<(), ProofError> {
        if format != Some(FORMAT_NAME) {
            return Err(ProofError::NotAProof);
        }
        match version {
            Some(FORMAT_VERSION) => Ok(()),
            Some(other) => Err(ProofError::UnsupportedVersion(other)),
            None => Err(ProofError::NotAProof),
        }
    }

    fn from_wire(w: WireProof<'_>) -> Result<Proof, ProofError> {
        // §3.1
        let network = match w.network {
            "bitcoin" | "testnet" | "testnet4" | "signet" | "regtest" => {
                Network::from_str(w.network)
                    .map_err(|_| ProofError::UnknownNetwork(w.network.to_owned()))?
            }
            other => return Err(ProofError::UnknownNetwork(other.chars().take(32).collect())),
        };
        if w.hash != "sha256" {
            return Err(ProofError::UnsupportedHash(
                w.hash.chars().take(32).collect(),
            ));
        }
        // §4
        let digest = RecordDigest(hex32("record.digest", w.record.digest)?);
        let salt_bytes = hex_bytes("record.salt", w.record.salt, merkle::MAX_SALT_LEN)?;
        let salt = Salt::from_bytes(&salt_bytes).map_err(ProofError::Salt)?;
        // §5
        let batch = match w.batch {
            None => None,
            Some(b) => {
                if b.size == 0 || b.size > MAX_TREE_SIZE {
                    return Err(ProofError::TreeSize(b.size));
                }
                let path = b
                    .path
                    .0
                    .iter()
                    .map(|s| hex32("batch.path", s).map(NodeHash))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(BatchPath {
                    size: b.size,
                    index: b.index,
                    path,
                    root: NodeHash(hex32("batch.root", b.root)?),
                })
            }
        };
        // §6
        let anchor = match w.anchor {
            None => None,
            Some(a) => {
                if batch.is_none() {
                    return Err(ProofError::AnchorWithoutBatch);
                }
                let tx = decode_stripped_tx(&hex_bytes("anchor.tx", a.tx, MAX_TX_BYTES)?)?;
                let block = match a.block {
                    None => None,
                    Some(b) => Some(BlockProof {
                        height: b.height,
                        header: header("anchor.block.header", b.header)?,
                        tx_index: b.tx_index,
                        branch: b
                            .branch
                            .0
                            .iter()
                            .map(|s| hex32("anchor.block.branch", s))
                            .collect::<Result<_, _>>()?,
                        headers_after: b
                            .headers_after
                            .0
                            .iter()
                            .map(|s| header("anchor.block.headers_after", s))
                            .collect::<Result<_, _>>()?,
                    }),
                };
                Some(Anchor {
                    tx,
                    output: a.output,
                    block,
                })
            }
        };
        Ok(Proof {
            network,
            record: Record { digest, salt },
            batch,
            anchor,
        })
    }

    /// Writes the canonical form (§3.2): two-space indentation, fields in
    /// the order of the spec, absent parts left out, a final newline.
    pub fn to_json(&self) -> String {
        let w = OutProof {
            format: FORMAT_NAME,
            version: FORMAT_VERSION,
            network: self.network.to_string(),
            hash: "sha256",
            record: OutRecord {
                digest: self.record.digest.to_hex(),
                salt: self.record.salt.to_hex(),
            },
            batch: self.batch.as_ref().map(|b| OutBatch {
                size: b.size,
                index: b.index,
                path: b.path.iter().map(NodeHash::to_hex).collect(),
                root: b.root.to_hex(),
            }),
            anchor: self.anchor.as_ref().map(|a| OutAnchor {
                tx: hex::encode(crate::anchor::stripped_bytes(&a.tx)),
                output: a.output,
                block: a.block.as_ref().map(|b| OutBlock {
                    height: b.height,
                    header: hex::encode(consensus::serialize(&b.header)),
                    tx_index: b.tx_index,
                    branch: b.branch.iter().map(hex::encode).collect(),
                    headers_after: b
                        .headers_after
                        .iter()
                        .map(|h| hex::encode(consensus::serialize(h)))
                        .collect(),
                }),
            }),
        };
        let mut s = serde_json::to_string_pretty(&w).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[derive(Serialize)]
struct OutProof {
    format: &'static str,
    version: u64,
    network: String,
    hash: &'static str,
    record: OutRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<OutBatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anchor: Option<OutAnchor>,
}

#[derive(Serialize)]
struct OutRecord {
    digest: String,
    salt: String,
}

#[derive(Serialize)]
struct OutBatch {
    size: u64,
    index: u64,
    path: Vec<String>,
    root: String,
}

#[derive(Serialize)]
struct OutAnchor {
    tx: String,
    output: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<OutBlock>,
}

#[derive(Serialize)]
struct OutBlock {
    height: u32,
    header: String,
    tx_index: u32,
    branch: Vec<String>,
    headers_after: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued() -> Proof {
        Proof {
            network: Network::Regtest,
            record: Record {
                digest: RecordDigest::of_bytes(b"x"),
                salt: Salt::from_bytes(&[9; 16]).unwrap(),
            },
            batch: None,
            anchor: None,
        }
    }

    #[test]
    fn queued_round_trip() {
        let p = queued();
        let s = p.to_json();
        assert_eq!(Proof::from_json(s.as_bytes()).unwrap(), p);
        assert_eq!(p.stage(), Stage::Queued);
        assert!(!s.contains("batch"));
    }

    #[test]
    fn version_and_identity() {
        let s = queued()
            .to_json()
            .replace("\"version\": 1", "\"version\": 7");
        assert_eq!(
            Proof::from_json(s.as_bytes()).unwrap_err().to_string(),
            "unsupported proof version 7"
        );
        assert!(matches!(
            Proof::from_json(b"{\"version\": 1}"),
            Err(ProofError::NotAProof)
        ));
        assert!(matches!(Proof::from_json(b"[]"), Err(ProofError::Json(_))));
        assert!(matches!(
            Proof::from_json(&vec![b' '; MAX_PROOF_BYTES + 1]),
            Err(ProofError::TooLarge { .. })
        ));
    }

    #[test]
    fn read_proof_file_tells_io_from_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.anchor.json");
        std::fs::write(&path, queued().to_json()).unwrap();
        assert_eq!(read_proof_file(&path).unwrap(), queued());

        let e = read_proof_file(&dir.path().join("missing.json")).unwrap_err();
        assert!(e.is_io(), "{e}");
        assert!(e.to_string().starts_with("cannot read proof file "), "{e}");

        // A huge file is refused unread, with its size.
        std::fs::write(&path, vec![b' '; MAX_PROOF_BYTES + 100]).unwrap();
        let e = read_proof_file(&path).unwrap_err();
        assert!(!e.is_io());
        assert!(
            matches!(e, ReadProofError::Format(ProofError::TooLarge { size }) if size == MAX_PROOF_BYTES + 100),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "proof file is {} bytes, the limit is {MAX_PROOF_BYTES}",
                MAX_PROOF_BYTES + 100
            )
        );
        // All that is known of a pipe is that it holds more than the limit.
        assert_eq!(
            ProofError::TooLarge {
                size: MAX_PROOF_BYTES + 1
            }
            .to_string(),
            format!("proof file is over the limit of {MAX_PROOF_BYTES} bytes")
        );
        // A folder cannot be read.
        let e = read_proof_file(dir.path()).unwrap_err();
        assert!(e.is_io(), "{e}");
        assert!(e.to_string().ends_with("it is a folder, not a file"), "{e}");
    }

    #[test]
    fn bounded_lists_stop_early() {
        let many = vec!["\"00\""; MAX_PATH_LEN + 1].join(",");
        let s = queued().to_json().replace(
            "\"record\"",
            &format!("\"batch\": {{\"size\": 1, \"index\": 0, \"path\": [{many}], \"root\": \"\"}}, \"record\""),
        );
        let err = Proof::from_json(s.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("at most 32 items"), "{err}");
    }
}
