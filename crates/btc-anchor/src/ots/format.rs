//! The detached timestamp file (`.ots`): its data model, the reader and the
//! writer side by side, and the replay that computes the message at every
//! node. Section numbers (§n) refer to `docs/ots.md`.

use std::fmt;
use std::io::{self, Read};

use bitcoin::hashes::{ripemd160, sha1, Hash as _, HashEngine as _};
use sha2::{Digest as _, Sha256};
use sha3::Keccak256;

use crate::hash::READ_BUFFER_BYTES;

/// The magic bytes a detached timestamp file starts with (§2).
pub const MAGIC: [u8; 31] = *b"\x00OpenTimestamps\x00\x00Proof\x00\xbf\x89\xe2\xe8\x84\xe8\x92\x94";
/// The one major version this library reads and writes (§2).
pub const MAJOR_VERSION: u64 = 1;
/// Largest file accepted, in bytes (§6).
pub const MAX_OTS_BYTES: usize = 1 << 20;
/// Longest argument of an append or prepend operation, in bytes (§6).
pub const MAX_ARG_LEN: usize = 4096;
/// Longest result of any operation, in bytes (§6).
pub const MAX_RESULT_LEN: usize = 4096;
/// Most timestamps on one path from the file digest to an attestation, the
/// first one included: at most 255 operations in a row (§6).
pub const MAX_DEPTH: usize = 256;
/// Longest attestation payload, in bytes (§6).
pub const MAX_PAYLOAD_LEN: usize = 8192;
/// Longest calendar URI of a pending attestation, in bytes (§5).
pub const MAX_URI_LEN: usize = 1000;
/// Most attestations in one file (§6): a bound on the memory of a replay,
/// far above the handful a real timestamp holds.
pub const MAX_ATTESTATIONS: usize = 1024;

/// Tag of a Bitcoin block header attestation (§5).
pub const BITCOIN_TAG: [u8; 8] = [0x05, 0x88, 0x96, 0x0d, 0x73, 0xd7, 0x19, 0x01];
/// Tag of a pending (calendar) attestation (§5).
pub const PENDING_TAG: [u8; 8] = [0x83, 0xdf, 0xe3, 0x0d, 0x2e, 0xf9, 0x0c, 0x8e];
/// Tag of a Litecoin block header attestation (§5).
pub const LITECOIN_TAG: [u8; 8] = [0x06, 0x86, 0x9a, 0x0d, 0x73, 0xd7, 0x1b, 0x45];

/// The byte that introduces every item of a timestamp but the last (§3).
const FORK: u8 = 0xff;
/// The byte that introduces an attestation (§3).
const ATTESTATION: u8 = 0x00;

/// Why a detached timestamp file could not be read (§7 lists what a reader
/// must reject). Offsets count bytes from the start of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtsError {
    /// The file is larger than [`MAX_OTS_BYTES`].
    #[error("timestamp file {}", crate::proof::too_large(*size, MAX_OTS_BYTES))]
    TooLarge {
        /// The file's size when known ([`crate::file::read_any`] and
        /// [`crate::ots::read_ots_file`] ask the file system), else the
        /// bytes read: the limit and one byte for a pipe.
        size: usize,
    },
    /// The file does not start with [`MAGIC`].
    #[error("not an opentimestamps file: bad magic bytes")]
    BadMagic,
    /// A major version other than [`MAJOR_VERSION`].
    #[error("unknown major version {found} (this library reads version {MAJOR_VERSION})")]
    UnknownMajorVersion {
        /// The version found.
        found: u64,
    },
    /// The file-hash operation is not one of the four hash operations.
    #[error(
        "bad file hash op 0x{tag:02x} (expected sha1 0x02, ripemd160 0x03, sha256 0x08 or keccak256 0x67)"
    )]
    BadFileHashOp {
        /// The tag found.
        tag: u8,
    },
    /// The file (or an attestation payload) ends in the middle of something.
    #[error("data ends early at byte {offset}: {needed} more bytes needed for {what}")]
    Truncated {
        /// Where the missing bytes should start.
        offset: usize,
        /// How many bytes are missing.
        needed: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A varuint with redundant trailing zero groups.
    #[error("non-canonical varuint at byte {offset} (overlong encoding)")]
    NonCanonicalVaruint {
        /// Where the varuint starts.
        offset: usize,
    },
    /// A varuint whose value does not fit in 64 bits.
    #[error("varuint at byte {offset} overflows 64 bits")]
    VaruintOverflow {
        /// Where the varuint starts.
        offset: usize,
    },
    /// A byte where an operation was expected that names none.
    #[error("unknown op tag 0x{tag:02x} at byte {offset}")]
    UnknownOp {
        /// The tag found.
        tag: u8,
        /// Where it is.
        offset: usize,
    },
    /// An append or prepend with an empty argument.
    #[error("{op} argument of 0 bytes at byte {offset} (at least 1 is needed)")]
    EmptyArgument {
        /// `append` or `prepend`.
        op: &'static str,
        /// Where the argument's length is.
        offset: usize,
    },
    /// An append or prepend argument longer than [`MAX_ARG_LEN`].
    #[error("{op} argument of {len} bytes at byte {offset}, the limit is {MAX_ARG_LEN}")]
    ArgumentTooLong {
        /// `append` or `prepend`.
        op: &'static str,
        /// The length declared.
        len: u64,
        /// Where the argument's length is.
        offset: usize,
    },
    /// An operation whose result would be longer than [`MAX_RESULT_LEN`].
    #[error("{op} at byte {offset} gives a result of {len} bytes, the limit is {MAX_RESULT_LEN}")]
    ResultTooLong {
        /// The operation's name.
        op: &'static str,
        /// The length the result would have.
        len: usize,
        /// Where the operation is.
        offset: usize,
    },
    /// More than [`MAX_DEPTH`] timestamps nested on one path.
    #[error("timestamp nested more than {MAX_DEPTH} deep at byte {offset}")]
    TooDeep {
        /// Where the too-deep timestamp starts.
        offset: usize,
    },
    /// An attestation payload longer than [`MAX_PAYLOAD_LEN`].
    #[error("attestation payload of {len} bytes at byte {offset}, the limit is {MAX_PAYLOAD_LEN}")]
    PayloadTooLong {
        /// The length declared.
        len: u64,
        /// Where the payload's length is.
        offset: usize,
    },
    /// A known attestation whose payload holds more than its content.
    #[error("{kind} attestation payload at byte {offset} has {count} bytes after its content")]
    PayloadTrailingBytes {
        /// The attestation kind.
        kind: &'static str,
        /// Where the payload starts.
        offset: usize,
        /// Bytes left over.
        count: usize,
    },
    /// A pending attestation's URI longer than [`MAX_URI_LEN`].
    #[error("calendar uri of {len} bytes at byte {offset}, the limit is {MAX_URI_LEN}")]
    UriTooLong {
        /// The length declared.
        len: u64,
        /// Where the URI's length is.
        offset: usize,
    },
    /// A pending attestation's URI with a character outside the allowed set.
    #[error(
        "calendar uri has character 0x{byte:02x} at byte {offset}, outside a-z A-Z 0-9 - . _ / :"
    )]
    UriBadCharacter {
        /// The character.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// More than [`MAX_ATTESTATIONS`] attestations in the file.
    #[error("more than {MAX_ATTESTATIONS} attestations (at byte {offset})")]
    TooManyAttestations {
        /// Where the attestation past the limit is.
        offset: usize,
    },
    /// Bytes after the end of the timestamp.
    #[error("{count} bytes after the end of the timestamp at byte {offset}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
}

impl OtsError {
    /// A stable short name for the reason, for scripts and the command
    /// line's JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            OtsError::TooLarge { .. } => "too-large",
            OtsError::BadMagic => "bad-magic",
            OtsError::UnknownMajorVersion { .. } => "unknown-major-version",
            OtsError::BadFileHashOp { .. } => "bad-file-hash-op",
            OtsError::Truncated { .. } => "truncated",
            OtsError::NonCanonicalVaruint { .. } => "non-canonical-varuint",
            OtsError::VaruintOverflow { .. } => "varuint-overflow",
            OtsError::UnknownOp { .. } => "unknown-op",
            OtsError::EmptyArgument { .. } => "empty-argument",
            OtsError::ArgumentTooLong { .. } => "argument-too-long",
            OtsError::ResultTooLong { .. } => "result-too-long",
            OtsError::TooDeep { .. } => "too-deep",
            OtsError::PayloadTooLong { .. } => "payload-too-long",
            OtsError::PayloadTrailingBytes { .. } => "payload-trailing-bytes",
            OtsError::UriTooLong { .. } => "uri-too-long",
            OtsError::UriBadCharacter { .. } => "uri-bad-character",
            OtsError::TooManyAttestations { .. } => "too-many-attestations",
            OtsError::TrailingBytes { .. } => "trailing-bytes",
        }
    }
}

// ---------------------------------------------------------------------------
// Data model (§3, §4, §5)
// ---------------------------------------------------------------------------

/// The hash a file was digested with (§2): one of the four hash
/// operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileHashOp {
    /// SHA-1, tag `0x02`, 20-byte digest.
    Sha1,
    /// RIPEMD-160, tag `0x03`, 20-byte digest.
    Ripemd160,
    /// SHA-256, tag `0x08`, 32-byte digest.
    Sha256,
    /// Keccak-256 (as in Ethereum, not SHA3-256), tag `0x67`, 32-byte digest.
    Keccak256,
}

impl FileHashOp {
    /// The operation for a tag, if it is a hash operation.
    pub fn from_tag(tag: u8) -> Option<FileHashOp> {
        match tag {
            0x02 => Some(FileHashOp::Sha1),
            0x03 => Some(FileHashOp::Ripemd160),
            0x08 => Some(FileHashOp::Sha256),
            0x67 => Some(FileHashOp::Keccak256),
            _ => None,
        }
    }

    /// The tag byte.
    pub fn tag(self) -> u8 {
        match self {
            FileHashOp::Sha1 => 0x02,
            FileHashOp::Ripemd160 => 0x03,
            FileHashOp::Sha256 => 0x08,
            FileHashOp::Keccak256 => 0x67,
        }
    }

    /// The name used by OpenTimestamps tools.
    pub fn name(self) -> &'static str {
        match self {
            FileHashOp::Sha1 => "sha1",
            FileHashOp::Ripemd160 => "ripemd160",
            FileHashOp::Sha256 => "sha256",
            FileHashOp::Keccak256 => "keccak256",
        }
    }

    /// The hash's name as people write it: "SHA-256", "RIPEMD-160".
    pub fn title(self) -> &'static str {
        match self {
            FileHashOp::Sha1 => "SHA-1",
            FileHashOp::Ripemd160 => "RIPEMD-160",
            FileHashOp::Sha256 => "SHA-256",
            FileHashOp::Keccak256 => "Keccak-256",
        }
    }

    /// Length of the digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            FileHashOp::Sha1 | FileHashOp::Ripemd160 => 20,
            FileHashOp::Sha256 | FileHashOp::Keccak256 => 32,
        }
    }

    /// The digest of `data`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            FileHashOp::Sha1 => sha1::Hash::hash(data).to_byte_array().to_vec(),
            FileHashOp::Ripemd160 => ripemd160::Hash::hash(data).to_byte_array().to_vec(),
            FileHashOp::Sha256 => Sha256::digest(data).to_vec(),
            FileHashOp::Keccak256 => Keccak256::digest(data).to_vec(),
        }
    }

    /// The digest of everything `reader` yields, in constant memory (for
    /// documents too large to read whole).
    ///
    /// # Errors
    ///
    /// The reader's own I/O error.
    pub fn hash_reader<R: Read>(self, reader: R) -> io::Result<Vec<u8>> {
        Ok(match self {
            FileHashOp::Sha1 => {
                let mut e = sha1::Hash::engine();
                feed(reader, |chunk| e.input(chunk))?;
                sha1::Hash::from_engine(e).to_byte_array().to_vec()
            }
            FileHashOp::Ripemd160 => {
                let mut e = ripemd160::Hash::engine();
                feed(reader, |chunk| e.input(chunk))?;
                ripemd160::Hash::from_engine(e).to_byte_array().to_vec()
            }
            FileHashOp::Sha256 => {
                let mut h = Sha256::new();
                feed(reader, |chunk| h.update(chunk))?;
                h.finalize().to_vec()
            }
            FileHashOp::Keccak256 => {
                let mut h = Keccak256::new();
                feed(reader, |chunk| h.update(chunk))?;
                h.finalize().to_vec()
            }
        })
    }

    /// The same hash as an operation inside the timestamp.
    pub fn as_op(self) -> Op {
        match self {
            FileHashOp::Sha1 => Op::Sha1,
            FileHashOp::Ripemd160 => Op::Ripemd160,
            FileHashOp::Sha256 => Op::Sha256,
            FileHashOp::Keccak256 => Op::Keccak256,
        }
    }
}

impl fmt::Display for FileHashOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Passes everything `reader` yields to `update`, a buffer at a time.
fn feed<R: Read>(mut reader: R, mut update: impl FnMut(&[u8])) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// An operation: an edge of the timestamp tree, taking the message of one
/// node to the message of the next (§4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `0xf0`: the message followed by the argument.
    Append(Vec<u8>),
    /// `0xf1`: the argument followed by the message.
    Prepend(Vec<u8>),
    /// `0xf2`: the message's bytes in reverse order (deprecated upstream,
    /// still read and written).
    Reverse,
    /// `0xf3`: the message as lower-case hex ASCII, twice as long.
    Hexlify,
    /// `0x02`: SHA-1 of the message.
    Sha1,
    /// `0x03`: RIPEMD-160 of the message.
    Ripemd160,
    /// `0x08`: SHA-256 of the message.
    Sha256,
    /// `0x67`: Keccak-256 of the message.
    Keccak256,
}

impl Op {
    /// The tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Op::Append(_) => 0xf0,
            Op::Prepend(_) => 0xf1,
            Op::Reverse => 0xf2,
            Op::Hexlify => 0xf3,
            Op::Sha1 => 0x02,
            Op::Ripemd160 => 0x03,
            Op::Sha256 => 0x08,
            Op::Keccak256 => 0x67,
        }
    }

    /// The name used by OpenTimestamps tools.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Append(_) => "append",
            Op::Prepend(_) => "prepend",
            Op::Reverse => "reverse",
            Op::Hexlify => "hexlify",
            Op::Sha1 => "sha1",
            Op::Ripemd160 => "ripemd160",
            Op::Sha256 => "sha256",
            Op::Keccak256 => "keccak256",
        }
    }

    /// The argument of an append or prepend.
    pub fn argument(&self) -> Option<&[u8]> {
        match self {
            Op::Append(a) | Op::Prepend(a) => Some(a),
            _ => None,
        }
    }

    /// The length of the result for a message of `msg_len` bytes.
    pub fn result_len(&self, msg_len: usize) -> usize {
        match self {
            Op::Append(a) | Op::Prepend(a) => msg_len.saturating_add(a.len()),
            Op::Reverse => msg_len,
            Op::Hexlify => msg_len.saturating_mul(2),
            Op::Sha1 | Op::Ripemd160 => 20,
            Op::Sha256 | Op::Keccak256 => 32,
        }
    }

    /// Applies the operation to `msg`.
    pub fn apply(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Op::Append(a) => [msg, a].concat(),
            Op::Prepend(a) => [a, msg].concat(),
            Op::Reverse => msg.iter().rev().copied().collect(),
            Op::Hexlify => hex::encode(msg).into_bytes(),
            Op::Sha1 => FileHashOp::Sha1.hash(msg),
            Op::Ripemd160 => FileHashOp::Ripemd160.hash(msg),
            Op::Sha256 => FileHashOp::Sha256.hash(msg),
            Op::Keccak256 => FileHashOp::Keccak256.hash(msg),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.argument() {
            Some(a) => write!(f, "{} {}", self.name(), hex::encode(a)),
            None => f.write_str(self.name()),
        }
    }
}

/// A statement that a message existed at some time (§5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attestation {
    /// The message is the merkle root of the Bitcoin block at `height`.
    Bitcoin {
        /// The block height.
        height: u64,
    },
    /// The message is the merkle root of the Litecoin block at `height`.
    Litecoin {
        /// The block height.
        height: u64,
    },
    /// The message was submitted to a calendar server, which will give a
    /// complete timestamp later.
    Pending {
        /// The calendar's URI (ASCII from a limited set).
        uri: String,
    },
    /// An attestation of a kind this library does not know, kept as is.
    Unknown {
        /// Its 8-byte tag.
        tag: [u8; 8],
        /// Its payload.
        payload: Vec<u8>,
    },
}

impl Attestation {
    /// The 8-byte tag.
    pub fn tag(&self) -> [u8; 8] {
        match self {
            Attestation::Bitcoin { .. } => BITCOIN_TAG,
            Attestation::Litecoin { .. } => LITECOIN_TAG,
            Attestation::Pending { .. } => PENDING_TAG,
            Attestation::Unknown { tag, .. } => *tag,
        }
    }

    /// The payload, as written inside the attestation's length prefix.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Attestation::Bitcoin { height } | Attestation::Litecoin { height } => {
                write_varuint(&mut out, *height)
            }
            Attestation::Pending { uri } => write_varbytes(&mut out, uri.as_bytes()),
            Attestation::Unknown { payload, .. } => out.extend_from_slice(payload),
        }
        out
    }
}

impl fmt::Display for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attestation::Bitcoin { height } => write!(f, "bitcoin block {height}"),
            Attestation::Litecoin { height } => write!(f, "litecoin block {height}"),
            Attestation::Pending { uri } => write!(f, "pending at {uri}"),
            Attestation::Unknown { tag, payload } => write!(
                f,
                "unknown attestation {} (payload {})",
                hex::encode(tag),
                hex::encode(payload)
            ),
        }
    }
}

/// One item of a timestamp: an attestation of the node's message, or an
/// operation leading to a further timestamp (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// An attestation of this node's message.
    Attestation(Attestation),
    /// An operation and the timestamp of its result.
    Op(Op, Timestamp),
}

/// A node of the timestamp tree: one or more items, kept in file order so
/// that writing reproduces the file byte for byte (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    items: Vec<Item>,
}

impl Timestamp {
    /// A timestamp holding one item.
    pub fn new(first: Item) -> Timestamp {
        Timestamp { items: vec![first] }
    }

    /// A timestamp ending in an attestation.
    pub fn attestation(attestation: Attestation) -> Timestamp {
        Timestamp::new(Item::Attestation(attestation))
    }

    /// A timestamp that applies `op` and goes on with `next`.
    pub fn op(op: Op, next: Timestamp) -> Timestamp {
        Timestamp::new(Item::Op(op, next))
    }

    /// Adds an item (a fork: each item is a separate path).
    pub fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    /// The items, in file order; never empty.
    pub fn items(&self) -> &[Item] {
        &self.items
    }
}

/// A detached timestamp file: the hash of a document and the timestamp
/// tree that starts from that digest (§2).
///
/// [`DetachedTimestamp::from_bytes`] enforces every limit of §6; a value
/// built by hand that breaks them is written by
/// [`DetachedTimestamp::to_bytes`] all the same, and then read back as an
/// error. Writing, replaying and displaying recurse once per level of the
/// tree, which [`MAX_DEPTH`] bounds for every value read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedTimestamp {
    /// How the document was hashed.
    pub file_hash: FileHashOp,
    /// The document's digest, [`FileHashOp::digest_len`] bytes.
    pub digest: Vec<u8>,
    /// The tree of operations and attestations from the digest.
    pub timestamp: Timestamp,
}

/// One fork on the way to an attestation: which of a timestamp's items was
/// followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Branch {
    /// The item followed, counted from 0 in file order.
    pub taken: usize,
    /// How many items the timestamp has.
    pub of: usize,
}

/// An attestation reached by replaying the tree, with the message it
/// attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundAttestation {
    /// The branches taken at every timestamp with more than one item, from
    /// the file digest on; empty when the tree has no fork on the way.
    pub path: Vec<Branch>,
    /// Operations applied from the file digest to the attestation.
    pub ops: usize,
    /// The attestation.
    pub attestation: Attestation,
    /// The message at the attestation: what it says existed.
    pub message: Vec<u8>,
}

/// Writes a path through forks as `2/3 > 1/2` (1-based), or `-` if there
/// is no fork on it.
pub fn display_path(path: &[Branch]) -> String {
    if path.is_empty() {
        return "-".to_owned();
    }
    path.iter()
        .map(|b| format!("{}/{}", b.taken + 1, b.of))
        .collect::<Vec<_>>()
        .join(" > ")
}

// ---------------------------------------------------------------------------
// Reading (§2 to §6)
// ---------------------------------------------------------------------------

/// A cursor over the input that names what it was reading when it fails.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` in the file, for error messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], OtsError> {
        let rest = &self.data[self.pos..];
        if rest.len() < n {
            return Err(OtsError::Truncated {
                offset: self.base + self.data.len(),
                needed: n - rest.len(),
                what,
            });
        }
        self.pos += n;
        Ok(&rest[..n])
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, OtsError> {
        Ok(self.bytes(1, what)?[0])
    }

    /// An unsigned LEB128 integer, canonical and within 64 bits (§3).
    fn varuint(&mut self, what: &'static str) -> Result<u64, OtsError> {
        let start = self.offset();
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte(what)?;
            let bits = u64::from(b & 0x7f);
            if (shift == 63 && bits > 1) || shift > 63 {
                return Err(OtsError::VaruintOverflow { offset: start });
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    return Err(OtsError::NonCanonicalVaruint { offset: start });
                }
                return Ok(value);
            }
            shift += 7;
        }
    }
}

struct Parser<'a> {
    r: Reader<'a>,
    attestations: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `data`.
    fn new(data: &'a [u8]) -> Parser<'a> {
        Parser {
            r: Reader {
                data,
                pos: 0,
                base: 0,
            },
            attestations: 0,
        }
    }
}

impl DetachedTimestamp {
    /// Reads a detached timestamp file (§7): the size cap first, then the
    /// magic, the major version, the file-hash operation and digest, the
    /// tree, and nothing after it. Never panics.
    ///
    /// # Errors
    ///
    /// An [`OtsError`] naming the first part of the file that is malformed, too
    /// large or missing.
    pub fn from_bytes(bytes: &[u8]) -> Result<DetachedTimestamp, OtsError> {
        if bytes.len() > MAX_OTS_BYTES {
            return Err(OtsError::TooLarge { size: bytes.len() });
        }
        let mut p = Parser::new(bytes);
        // §2: magic, then the major version.
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(OtsError::BadMagic);
        }
        p.r.pos = MAGIC.len();
        let major = p.r.varuint("the major version")?;
        if major != MAJOR_VERSION {
            return Err(OtsError::UnknownMajorVersion { found: major });
        }
        let tag = p.r.byte("the file hash op")?;
        let file_hash = FileHashOp::from_tag(tag).ok_or(OtsError::BadFileHashOp { tag })?;
        let digest =
            p.r.bytes(file_hash.digest_len(), "the file digest")?
                .to_vec();
        let timestamp = p.timestamp(digest.len(), 1)?;
        if p.r.remaining() > 0 {
            return Err(OtsError::TrailingBytes {
                offset: p.r.offset(),
                count: p.r.remaining(),
            });
        }
        Ok(DetachedTimestamp {
            file_hash,
            digest,
            timestamp,
        })
    }
}

impl Timestamp {
    /// Reads a bare timestamp (§3, no file header), as a calendar sends it
    /// in reply to a submission or a lookup, whose initial message is
    /// `msg_len` bytes long: every limit of §6 but the file size is
    /// enforced, `bytes` must be no longer than [`MAX_OTS_BYTES`], and
    /// nothing may follow the timestamp. Never panics.
    ///
    /// # Errors
    ///
    /// An [`OtsError`] naming the first part that is malformed, too large
    /// or missing.
    pub fn from_bytes(bytes: &[u8], msg_len: usize) -> Result<Timestamp, OtsError> {
        if bytes.len() > MAX_OTS_BYTES {
            return Err(OtsError::TooLarge { size: bytes.len() });
        }
        let mut p = Parser::new(bytes);
        let timestamp = p.timestamp(msg_len, 1)?;
        if p.r.remaining() > 0 {
            return Err(OtsError::TrailingBytes {
                offset: p.r.offset(),
                count: p.r.remaining(),
            });
        }
        Ok(timestamp)
    }

    /// Writes the bare timestamp (§3, no file header): what a calendar
    /// sends, and what [`Timestamp::from_bytes`] reads back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write(&mut out);
        out
    }

    /// Replays the timestamp from `msg` and returns every attestation
    /// reached with the message it attests, as
    /// [`DetachedTimestamp::attestations`] does from the file digest.
    pub fn attestations_from(&self, msg: &[u8]) -> Vec<FoundAttestation> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        replay(self, msg, 0, &mut path, &mut out);
        out
    }
}

impl Parser<'_> {
    /// §3: `ff item` for every item but the last, then the last item. The
    /// message length is carried down so that every result length is
    /// checked as it is read; `depth` counts this timestamp.
    fn timestamp(&mut self, msg_len: usize, depth: usize) -> Result<Timestamp, OtsError> {
        if depth > MAX_DEPTH {
            return Err(OtsError::TooDeep {
                offset: self.r.offset(),
            });
        }
        let mut items = Vec::new();
        loop {
            let tag = self.r.byte("a timestamp item")?;
            if tag == FORK {
                let tag = self.r.byte("a timestamp item after a fork")?;
                items.push(self.item(tag, msg_len, depth)?);
            } else {
                items.push(self.item(tag, msg_len, depth)?);
                return Ok(Timestamp { items });
            }
        }
    }

    fn item(&mut self, tag: u8, msg_len: usize, depth: usize) -> Result<Item, OtsError> {
        let offset = self.r.offset() - 1;
        if tag == ATTESTATION {
            return Ok(Item::Attestation(self.attestation(offset)?));
        }
        let op = match tag {
            0xf0 | 0xf1 => {
                let name = if tag == 0xf0 { "append" } else { "prepend" };
                let len_at = self.r.offset();
                let len = self.r.varuint("an operation argument's length")?;
                if len == 0 {
                    return Err(OtsError::EmptyArgument {
                        op: name,
                        offset: len_at,
                    });
                }
                if len > MAX_ARG_LEN as u64 {
                    return Err(OtsError::ArgumentTooLong {
                        op: name,
                        len,
                        offset: len_at,
                    });
                }
                let arg = self
                    .r
                    .bytes(len as usize, "an operation argument")?
                    .to_vec();
                if tag == 0xf0 {
                    Op::Append(arg)
                } else {
                    Op::Prepend(arg)
                }
            }
            0xf2 => Op::Reverse,
            0xf3 => Op::Hexlify,
            0x02 => Op::Sha1,
            0x03 => Op::Ripemd160,
            0x08 => Op::Sha256,
            0x67 => Op::Keccak256,
            _ => return Err(OtsError::UnknownOp { tag, offset }),
        };
        let len = op.result_len(msg_len);
        if len > MAX_RESULT_LEN {
            return Err(OtsError::ResultTooLong {
                op: op.name(),
                len,
                offset,
            });
        }
        let next = self.timestamp(len, depth + 1)?;
        Ok(Item::Op(op, next))
    }

    /// §5: `00`, the 8-byte tag, the payload as varbytes.
    fn attestation(&mut self, offset: usize) -> Result<Attestation, OtsError> {
        if self.attestations == MAX_ATTESTATIONS {
            return Err(OtsError::TooManyAttestations { offset });
        }
        self.attestations += 1;
        let mut tag = [0u8; 8];
        tag.copy_from_slice(self.r.bytes(8, "an attestation tag")?);
        let len_at = self.r.offset();
        let len = self.r.varuint("an attestation payload's length")?;
        if len > MAX_PAYLOAD_LEN as u64 {
            return Err(OtsError::PayloadTooLong {
                len,
                offset: len_at,
            });
        }
        let payload_at = self.r.offset();
        let payload = self.r.bytes(len as usize, "an attestation payload")?;
        let mut inner = Reader {
            data: payload,
            pos: 0,
            base: payload_at,
        };
        let (kind, attestation) = match tag {
            BITCOIN_TAG => (
                "bitcoin",
                Attestation::Bitcoin {
                    height: inner.varuint("the block height in a bitcoin attestation")?,
                },
            ),
            LITECOIN_TAG => (
                "litecoin",
                Attestation::Litecoin {
                    height: inner.varuint("the block height in a litecoin attestation")?,
                },
            ),
            PENDING_TAG => (
                "pending",
                Attestation::Pending {
                    uri: uri(&mut inner)?,
                },
            ),
            _ => {
                return Ok(Attestation::Unknown {
                    tag,
                    payload: payload.to_vec(),
                })
            }
        };
        if inner.remaining() > 0 {
            return Err(OtsError::PayloadTrailingBytes {
                kind,
                offset: payload_at,
                count: inner.remaining(),
            });
        }
        Ok(attestation)
    }
}

/// The URI of a pending attestation: varbytes, at most [`MAX_URI_LEN`],
/// from the reference implementation's character set (§5).
fn uri(r: &mut Reader<'_>) -> Result<String, OtsError> {
    let len_at = r.offset();
    let len = r.varuint("the calendar uri's length")?;
    if len > MAX_URI_LEN as u64 {
        return Err(OtsError::UriTooLong {
            len,
            offset: len_at,
        });
    }
    let start = r.offset();
    let bytes = r.bytes(len as usize, "the calendar uri")?;
    if let Some(i) = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"-._/:".contains(b)))
    {
        return Err(OtsError::UriBadCharacter {
            byte: bytes[i],
            offset: start + i,
        });
    }
    // Every byte is ASCII, so this cannot fail; no panic either way.
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

// ---------------------------------------------------------------------------
// Writing (§2, §3)
// ---------------------------------------------------------------------------

fn write_varuint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn write_varbytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_varuint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

impl Timestamp {
    fn write(&self, out: &mut Vec<u8>) {
        let last = self.items.len().saturating_sub(1);
        for (i, item) in self.items.iter().enumerate() {
            if i < last {
                out.push(FORK);
            }
            match item {
                Item::Attestation(a) => {
                    out.push(ATTESTATION);
                    out.extend_from_slice(&a.tag());
                    write_varbytes(out, &a.payload());
                }
                Item::Op(op, next) => {
                    out.push(op.tag());
                    if let Some(arg) = op.argument() {
                        write_varbytes(out, arg);
                    }
                    next.write(out);
                }
            }
        }
    }
}

impl DetachedTimestamp {
    /// Writes the file: for a value read by [`DetachedTimestamp::from_bytes`],
    /// exactly the bytes read.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&MAGIC);
        write_varuint(&mut out, MAJOR_VERSION);
        out.push(self.file_hash.tag());
        out.extend_from_slice(&self.digest);
        self.timestamp.write(&mut out);
        out
    }

    /// Replays the tree from the file digest, computing the message at
    /// every node, and returns every attestation reached, depth first in
    /// file order.
    ///
    /// Memory stays bounded for any file read by
    /// [`DetachedTimestamp::from_bytes`]: one message per level of the
    /// current path, plus one per attestation.
    pub fn attestations(&self) -> Vec<FoundAttestation> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        replay(&self.timestamp, &self.digest, 0, &mut path, &mut out);
        out
    }
}

fn replay(
    ts: &Timestamp,
    msg: &[u8],
    ops: usize,
    path: &mut Vec<Branch>,
    out: &mut Vec<FoundAttestation>,
) {
    let of = ts.items.len();
    for (taken, item) in ts.items.iter().enumerate() {
        if of > 1 {
            path.push(Branch { taken, of });
        }
        match item {
            Item::Attestation(a) => out.push(FoundAttestation {
                path: path.clone(),
                ops,
                attestation: a.clone(),
                message: msg.to_vec(),
            }),
            Item::Op(op, next) => replay(next, &op.apply(msg), ops + 1, path, out),
        }
        if of > 1 {
            path.pop();
        }
    }
}

// ---------------------------------------------------------------------------
// Showing the tree, as `ots info` does
// ---------------------------------------------------------------------------

impl fmt::Display for DetachedTimestamp {
    /// The tree, one operation or attestation a line; a fork's items are
    /// each introduced by ` -> ` and indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "file {} hash: {}",
            self.file_hash,
            hex::encode(&self.digest)
        )?;
        show(&self.timestamp, 0, f)
    }
}

fn show(ts: &Timestamp, indent: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let fork = ts.items.len() > 1;
    for item in &ts.items {
        let (lead, inner) = if fork {
            (" -> ", indent + 4)
        } else {
            ("", indent)
        };
        match item {
            Item::Attestation(a) => writeln!(f, "{:indent$}{lead}verify {a}", "")?,
            Item::Op(op, next) => {
                writeln!(f, "{:indent$}{lead}{op}", "")?;
                show(next, inner, f)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_timestamps_round_trip_as_calendars_send_them() {
        let ts = Timestamp::op(
            Op::Prepend(vec![7; 16]),
            Timestamp::op(
                Op::Sha256,
                Timestamp::attestation(Attestation::Pending {
                    uri: "http://127.0.0.1:8600".into(),
                }),
            ),
        );
        let bytes = ts.to_bytes();
        assert_eq!(&bytes[..3], &[0xf1, 16, 7]);
        assert_eq!(Timestamp::from_bytes(&bytes, 32).unwrap(), ts);
        let found = ts.attestations_from(&[1; 32]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ops, 2);
        assert!(matches!(
            Timestamp::from_bytes(&[bytes.as_slice(), &[0]].concat(), 32),
            Err(OtsError::TrailingBytes { .. })
        ));
        assert!(Timestamp::from_bytes(&bytes[..bytes.len() - 1], 32).is_err());
    }

    fn varuint(bytes: &[u8]) -> Result<u64, OtsError> {
        let mut r = Reader {
            data: bytes,
            pos: 0,
            base: 0,
        };
        let v = r.varuint("test")?;
        assert_eq!(r.remaining(), 0);
        Ok(v)
    }

    #[test]
    fn varuints() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            write_varuint(&mut out, v);
            assert_eq!(varuint(&out), Ok(v), "{v}");
        }
        assert_eq!(
            varuint(&[0x80, 0x00]),
            Err(OtsError::NonCanonicalVaruint { offset: 0 })
        );
        assert_eq!(
            varuint(&[0x81, 0x80, 0x00]),
            Err(OtsError::NonCanonicalVaruint { offset: 0 })
        );
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(varuint(&max), Ok(u64::MAX));
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(varuint(&over), Err(OtsError::VaruintOverflow { offset: 0 }));
        let mut long = vec![0x80; 10];
        long.push(0x01);
        assert_eq!(varuint(&long), Err(OtsError::VaruintOverflow { offset: 0 }));
        assert!(matches!(varuint(&[0x80]), Err(OtsError::Truncated { .. })));
    }

    #[test]
    fn ops() {
        assert_eq!(Op::Hexlify.apply(&[0xab, 0x01]), b"ab01");
        assert_eq!(Op::Reverse.apply(&[1, 2, 3]), [3, 2, 1]);
        assert_eq!(Op::Append(vec![9]).apply(&[1]), [1, 9]);
        assert_eq!(Op::Prepend(vec![9]).apply(&[1]), [9, 1]);
        assert_eq!(
            hex::encode(Op::Keccak256.apply(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex::encode(Op::Sha1.apply(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex::encode(Op::Ripemd160.apply(b"")),
            "9c1185a5c5e9fc54612808977ee8f548b2258d31"
        );
        assert_eq!(Op::Hexlify.result_len(2048), 4096);
    }

    #[test]
    fn streamed_digests_match() {
        let data: Vec<u8> = (0..3 * READ_BUFFER_BYTES as u32 + 7)
            .map(|i| i as u8)
            .collect();
        for op in [
            FileHashOp::Sha1,
            FileHashOp::Ripemd160,
            FileHashOp::Sha256,
            FileHashOp::Keccak256,
        ] {
            let streamed = op.hash_reader(io::Cursor::new(&data)).unwrap();
            assert_eq!(streamed, op.hash(&data), "{op}");
            assert_eq!(streamed.len(), op.digest_len());
        }
    }
}
