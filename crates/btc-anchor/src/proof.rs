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
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::block::Header;
use bitcoin::consensus::{self, Decodable};
use bitcoin::hashes::Hash as _;
use bitcoin::{Network, Transaction, TxMerkleNode};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::file::read_capped;
use crate::hash::RecordDigest;
use crate::merkle::{self, MerkleError, NodeHash, Salt, MAX_PATH_LEN, MAX_TREE_SIZE};
use crate::text::{escape_controls, escape_path, truncate_chars};

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
    pub branch: Vec<TxMerkleNode>,
    /// Headers of the blocks after it, in order (confirmations carried in
    /// the file).
    pub headers_after: Vec<Header>,
}

/// How far along a proof is, ordered from queued to confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Not JSON, or JSON not of the proof's shape (its message is put in
    /// plain words, escaped, and cut to a sane length).
    #[error("not a valid proof: {}", json_message(.0))]
    Json(#[from] serde_json::Error),
    /// The file starts with a byte-order mark (§3: UTF-8 without one).
    #[error("the file starts with a byte-order mark; proofs are UTF-8 JSON without one")]
    ByteOrderMark,
    /// JSON, but not an object (§2).
    #[error("not a valid proof: a proof is one JSON object, the file holds {found}")]
    NotAnObject {
        /// What the file holds: `null`, `a list`, `nothing (it is empty)`…
        found: &'static str,
    },
    /// A member name written with a JSON escape (§3: no escapes).
    #[error(
        "not a valid proof: a member name is written with a JSON escape; escapes are not \
         allowed (docs/proof-format.md §3)"
    )]
    EscapedName,
    /// JSON, but not a btc-anchor proof.
    #[error("not a btc-anchor proof (no \"format\": \"{FORMAT_NAME}\")")]
    NotAProof,
    /// A `format` naming this format, with a `version` that is missing or
    /// not an integer (§2); reported as `not-a-proof` by
    /// [`ProofError::kind`].
    #[error("field version: must be an integer such as {FORMAT_VERSION}, found {found}")]
    BadVersion {
        /// What was found: `a string`, `the number 1.0`, `null`…
        found: String,
    },
    /// A format version this library does not know.
    #[error("unsupported proof version {0}")]
    UnsupportedVersion(u64),
    /// A network name that is not one of the five known.
    #[error(
        "unknown network \"{}\" (expected bitcoin, testnet, testnet4, signet or regtest)",
        escape_controls(.0)
    )]
    UnknownNetwork(String),
    /// A hash algorithm other than SHA-256.
    #[error("unsupported hash algorithm \"{}\" (expected sha256)", escape_controls(.0))]
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
    #[error("field anchor.tx: not a transaction")]
    TxDecode(#[source] bitcoin::consensus::encode::Error),
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
// Wire form (§3): borrowed strings, bounded lists, no unknown fields, no
// nulls, and messages in the words of the spec.
//
// Every value is read with `deserialize_any`, so that a value of the wrong
// kind reaches one of the visitors below, which say which field it is and
// what was found ("field batch.size: must be an integer from 0 to …, found
// a string") rather than the deserializer's own words, which name Rust
// types ("invalid type: floating point `1.0`, expected u64").
// ---------------------------------------------------------------------------

/// A field of the wire form, named as in error messages.
trait Field {
    /// The field's path in the JSON object (`anchor.block.header`).
    const NAME: &'static str;
    /// Whether the field may be absent (§3.1 "required: no"); such a field
    /// is left out when absent, never `null` (§3.2).
    const OPTIONAL: bool = false;
}

macro_rules! fields {
    ($($ty:ident => $name:literal $(, $optional:ident)?;)*) => {$(
        struct $ty;
        impl Field for $ty {
            const NAME: &'static str = $name;
            $(const OPTIONAL: bool = fields!(@$optional);)?
        }
    )*};
    (@optional) => { true };
}

fields! {
    FFormat => "format";
    FVersion => "version";
    FNetwork => "network";
    FHash => "hash";
    FRecord => "record";
    FDigest => "record.digest";
    FSalt => "record.salt";
    FBatch => "batch", optional;
    FSize => "batch.size";
    FIndex => "batch.index";
    FPath => "batch.path";
    FRoot => "batch.root";
    FAnchor => "anchor", optional;
    FTx => "anchor.tx";
    FOutput => "anchor.output";
    FBlock => "anchor.block", optional;
    FHeight => "anchor.block.height";
    FHeader => "anchor.block.header";
    FTxIndex => "anchor.block.tx_index";
    FBranch => "anchor.block.branch";
    FHeadersAfter => "anchor.block.headers_after";
}

/// A JSON value of the wrong kind, as named in messages.
enum Found {
    Bool(bool),
    Int(i128),
    Float(f64),
    String,
    Null,
    List,
    Object,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Bool(b) => write!(f, "{b}"),
            Found::Int(n) => write!(f, "the number {n}"),
            // `{:?}` keeps the fraction: `1.0`, not `1`.
            Found::Float(x) => write!(f, "the number {x:?}"),
            Found::String => f.write_str("a string"),
            Found::Null => f.write_str("null"),
            Found::List => f.write_str("a list"),
            Found::Object => f.write_str("an object"),
        }
    }
}

/// "field F: must be EXPECTED, found FOUND".
fn wrong<E: de::Error>(field: &str, expected: impl fmt::Display, found: Found) -> E {
    E::custom(format_args!(
        "field {field}: must be {expected}, found {found}"
    ))
}

/// Refuses a kind of value in a visitor whose `wrong` method says what the
/// field must be instead.
macro_rules! refuse {
    ($($kind:ident)*) => {$(refuse!(@$kind);)*};
    (@bool) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Err(self.wrong(Found::Bool(v)))
        }
    };
    (@int) => {
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Err(self.wrong(Found::Int(i128::from(v))))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Err(self.wrong(Found::Int(i128::from(v))))
        }
    };
    (@float) => {
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Err(self.wrong(Found::Float(v)))
        }
    };
    (@str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.wrong(Found::String))
        }
    };
    (@null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.wrong(Found::Null))
        }
    };
    (@list) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.wrong(Found::List))
        }
    };
    (@object) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.wrong(Found::Object))
        }
    };
}

/// A string borrowed from the file: one written with a JSON escape is
/// refused (§3: one spelling per proof).
struct Text<'a, F>(&'a str, PhantomData<F>);

impl<'de: 'a, 'a, F: Field> Deserialize<'de> for Text<'a, F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, F>(PhantomData<(&'a (), F)>);
        impl<F: Field> V<'_, F> {
            fn wrong<E: de::Error>(&self, found: Found) -> E {
                wrong(F::NAME, "a string", found)
            }
        }
        impl<'de: 'a, 'a, F: Field> Visitor<'de> for V<'a, F> {
            type Value = Text<'a, F>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a string for field {}", F::NAME)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(v, PhantomData))
            }
            // The deserializer hands over a string it could not borrow
            // only when it had to decode escapes in it.
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Err(E::custom(format_args!(
                    "field {}: JSON escapes are not allowed (docs/proof-format.md §3)",
                    F::NAME
                )))
            }
            refuse!(bool int float null list object);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The unsigned integer types of the wire form.
trait Unsigned: Sized {
    const MAX: u64;
    fn from_u64(v: u64) -> Option<Self>;
}

impl Unsigned for u64 {
    const MAX: u64 = u64::MAX;
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
}

impl Unsigned for u32 {
    const MAX: u64 = u32::MAX as u64;
    fn from_u64(v: u64) -> Option<Self> {
        u32::try_from(v).ok()
    }
}

/// An integer written without fraction or exponent (§3), within its
/// type's range.
struct Int<T, F>(T, PhantomData<F>);

impl<'de, T: Unsigned, F: Field> Deserialize<'de> for Int<T, F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, F>(PhantomData<(T, F)>);
        impl<T: Unsigned, F: Field> V<T, F> {
            fn wrong<E: de::Error>(&self, found: Found) -> E {
                wrong(
                    F::NAME,
                    format_args!("an integer from 0 to {}", T::MAX),
                    found,
                )
            }
        }
        impl<'de, T: Unsigned, F: Field> Visitor<'de> for V<T, F> {
            type Value = Int<T, F>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer for field {}", F::NAME)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                match T::from_u64(v) {
                    Some(n) => Ok(Int(n, PhantomData)),
                    None => Err(self.wrong(Found::Int(i128::from(v)))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(self.wrong(Found::Int(i128::from(v)))),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(E::custom(format_args!(
                    "field {}: must be an integer written without fraction or exponent, \
                     found {}",
                    F::NAME,
                    Found::Float(v)
                )))
            }
            refuse!(bool str null list object);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON array refused past `N` items while it is being read, so a hostile
/// file cannot make the reader allocate for more.
struct Bounded<T, const N: usize, F>(Vec<T>, PhantomData<F>);

impl<'de, T: Deserialize<'de>, const N: usize, F: Field> Deserialize<'de> for Bounded<T, N, F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize, F>(PhantomData<(T, F)>);
        impl<T, const N: usize, F: Field> V<T, N, F> {
            fn wrong<E: de::Error>(&self, found: Found) -> E {
                wrong(F::NAME, format_args!("a list of at most {N} items"), found)
            }
        }
        impl<'de, T: Deserialize<'de>, const N: usize, F: Field> Visitor<'de> for V<T, N, F> {
            type Value = Bounded<T, N, F>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {N} items for field {}", F::NAME)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
                while let Some(item) = seq.next_element()? {
                    if out.len() == N {
                        return Err(de::Error::custom(format_args!(
                            "field {}: must be a list of at most {N} items, found more",
                            F::NAME
                        )));
                    }
                    out.push(item);
                }
                Ok(Bounded(out, PhantomData))
            }
            refuse!(bool int float str null object);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON object read as `T`; `null` is refused, with a word on leaving
/// an optional part out instead (§3.2).
struct Obj<T, F>(T, PhantomData<F>);

impl<'de, T: Deserialize<'de>, F: Field> Deserialize<'de> for Obj<T, F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, F>(PhantomData<(T, F)>);
        impl<T, F: Field> V<T, F> {
            fn wrong<E: de::Error>(&self, found: Found) -> E {
                wrong(F::NAME, "an object", found)
            }
        }
        impl<'de, T: Deserialize<'de>, F: Field> Visitor<'de> for V<T, F> {
            type Value = Obj<T, F>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an object for field {}", F::NAME)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| Obj(t, PhantomData))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                if F::OPTIONAL {
                    Err(E::custom(format_args!(
                        "field {}: must not be null; a part that is absent is left out \
                         (docs/proof-format.md §3.2)",
                        F::NAME
                    )))
                } else {
                    Err(self.wrong(Found::Null))
                }
            }
            refuse!(bool int float str list);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An optional part (§3.1): absent (`#[serde(default)]`), or an object;
/// never `null`.
struct Part<T, F>(Option<T>, PhantomData<F>);

impl<T, F> Default for Part<T, F> {
    fn default() -> Self {
        Part(None, PhantomData)
    }
}

impl<'de, T: Deserialize<'de>, F: Field> Deserialize<'de> for Part<T, F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Obj::<T, F>::deserialize(d).map(|o| Part(Some(o.0), PhantomData))
    }
}

/// Only the two fields that say what a file is (§2), read first so that an
/// unknown version is reported as such, whatever else the file holds.
#[derive(Deserialize)]
struct Envelope {
    format: Option<serde_json::Value>,
    /// `Some(Value::Null)` for `"version": null`, `None` when absent.
    #[serde(default, deserialize_with = "present_value")]
    version: Option<serde_json::Value>,
}

fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireProof<'a> {
    #[serde(borrow)]
    format: Text<'a, FFormat>,
    version: Int<u64, FVersion>,
    #[serde(borrow)]
    network: Text<'a, FNetwork>,
    #[serde(borrow)]
    hash: Text<'a, FHash>,
    #[serde(borrow)]
    record: Obj<WireRecord<'a>, FRecord>,
    #[serde(borrow, default)]
    batch: Part<WireBatch<'a>, FBatch>,
    #[serde(borrow, default)]
    anchor: Part<WireAnchor<'a>, FAnchor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRecord<'a> {
    #[serde(borrow)]
    digest: Text<'a, FDigest>,
    #[serde(borrow)]
    salt: Text<'a, FSalt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBatch<'a> {
    size: Int<u64, FSize>,
    index: Int<u64, FIndex>,
    #[serde(borrow)]
    path: Bounded<Text<'a, FPath>, MAX_PATH_LEN, FPath>,
    #[serde(borrow)]
    root: Text<'a, FRoot>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAnchor<'a> {
    #[serde(borrow)]
    tx: Text<'a, FTx>,
    output: Int<u32, FOutput>,
    #[serde(borrow, default)]
    block: Part<WireBlock<'a>, FBlock>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBlock<'a> {
    height: Int<u32, FHeight>,
    #[serde(borrow)]
    header: Text<'a, FHeader>,
    tx_index: Int<u32, FTxIndex>,
    #[serde(borrow)]
    branch: Bounded<Text<'a, FBranch>, MAX_BRANCH_LEN, FBranch>,
    #[serde(borrow)]
    headers_after: Bounded<Text<'a, FHeadersAfter>, MAX_HEADERS_AFTER, FHeadersAfter>,
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
///
/// # Errors
///
/// [`ProofError::TxDecode`] for bytes that are not a transaction,
/// [`ProofError::TxNotCanonical`] for bytes left over, witness data or a
/// non-canonical encoding.
pub fn decode_stripped_tx(bytes: &[u8]) -> Result<Transaction, ProofError> {
    let mut cursor = bytes;
    let tx = Transaction::consensus_decode(&mut cursor).map_err(ProofError::TxDecode)?;
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
            ProofError::ByteOrderMark => "malformed",
            ProofError::NotAnObject { .. } => "malformed",
            ProofError::EscapedName => "malformed",
            ProofError::NotAProof => "not-a-proof",
            ProofError::BadVersion { .. } => "not-a-proof",
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
    #[error("cannot read proof file {}", escape_path(path))]
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
///
/// # Errors
///
/// [`ReadProofError::Io`] when the file cannot be read,
/// [`ReadProofError::Format`] when it is not a valid proof.
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

/// The JSON reader's message in plain words: its position as "(line L,
/// column C)", the wording of the commonest syntax errors made plain, any
/// control or bidirectional character quoted from the input escaped, and
/// quotes of the input cut so that the message stays short whatever the
/// file holds.
fn json_message(e: &serde_json::Error) -> String {
    /// Longest message kept, in characters, before the position.
    const MAX_MESSAGE_CHARS: usize = 200;
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    let plain = match message {
        "EOF while parsing a value" => "the file ends where a value was expected",
        "EOF while parsing a list" => "the file ends in the middle of a list",
        "EOF while parsing an object" => "the file ends in the middle of an object",
        "EOF while parsing a string" => "the file ends in the middle of a string",
        "expected value" => "not JSON: a value was expected",
        "expected ident" => "not JSON: a word other than true, false or null",
        "trailing characters" => "something follows the proof's closing brace",
        "trailing comma" => "a comma with nothing after it",
        "key must be a string" => "a member name must be a string in double quotes",
        "recursion limit exceeded" => "values nested too deeply",
        "control character (\\u0000-\\u001F) found while parsing a string" => {
            "a control character inside a string (proofs hold none)"
        }
        other => other,
    };
    let shown = escape_controls(plain);
    let shown = truncate_chars(&shown, MAX_MESSAGE_CHARS);
    if e.line() == 0 {
        shown.into_owned()
    } else {
        format!("{shown} (line {}, column {})", e.line(), e.column())
    }
}

/// What a JSON document that is not an object holds, told by its first
/// byte.
fn shape(first: u8) -> &'static str {
    match first {
        b'n' => "null",
        b't' | b'f' => "a boolean",
        b'[' => "a list",
        b'"' => "a string",
        _ => "a number",
    }
}

/// What a `version` that is not an unsigned integer is.
fn version_found(v: &serde_json::Value) -> String {
    use serde_json::Value;
    let found = match v {
        Value::Null => Found::Null,
        Value::Bool(b) => Found::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Found::Int(i128::from(i)),
            (None, Some(x)) => Found::Float(x),
            (None, None) => Found::String,
        },
        Value::String(_) => Found::String,
        Value::Array(_) => Found::List,
        Value::Object(_) => Found::Object,
    };
    found.to_string()
}

impl Proof {
    /// Reads a proof file (§8).
    ///
    /// # Errors
    ///
    /// The first [`ProofError`] found: too large, not JSON, an unknown
    /// version, a missing, extra or malformed field, or parts that do not
    /// fit together (§7, §8).
    pub fn from_json(bytes: &[u8]) -> Result<Proof, ProofError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(ProofError::TooLarge { size: bytes.len() });
        }
        // §3: UTF-8 without a byte-order mark (nor a UTF-16 one).
        if [&b"\xef\xbb\xbf"[..], b"\xfe\xff", b"\xff\xfe"]
            .iter()
            .any(|bom| bytes.starts_with(bom))
        {
            return Err(ProofError::ByteOrderMark);
        }
        // §2: one JSON object. Other JSON is named for what it is; what is
        // not JSON at all is left to the reader below to place.
        match bytes.iter().find(|b| !b" \t\r\n".contains(b)) {
            None => {
                return Err(ProofError::NotAnObject {
                    found: "nothing (it is empty)",
                })
            }
            Some(b'{') => {}
            Some(&first) => {
                if serde_json::from_slice::<IgnoredAny>(bytes).is_ok() {
                    return Err(ProofError::NotAnObject {
                        found: shape(first),
                    });
                }
            }
        }
        // §2: identify the file and its version before anything else. A
        // well-formed file is read in one pass; only when that fails is it
        // read again for the two fields alone, to give the right reason.
        match serde_json::from_slice::<WireProof<'_>>(bytes) {
            Ok(w) => {
                Self::identify(Some(w.format.0), Some(Ok(w.version.0)))?;
                // Every string value was borrowed, so free of escapes; a
                // backslash can only be in a member name (§3: no escapes).
                if bytes.contains(&b'\\') {
                    return Err(ProofError::EscapedName);
                }
                Self::from_wire(w)
            }
            Err(wire_error) => {
                let env: Envelope = serde_json::from_slice(bytes)?;
                let version = env
                    .version
                    .as_ref()
                    .map(|v| v.as_u64().ok_or_else(|| version_found(v)));
                Self::identify(env.format.as_ref().and_then(|v| v.as_str()), version)?;
                Err(wire_error.into())
            }
        }
    }

    /// §2: the `format` must name this format and the `version` be one this
    /// library reads. `version` is `None` when absent, and what was found
    /// instead when it is not an integer.
    fn identify(
        format: Option<&str>,
        version: Option<Result<u64, String>>,
    ) -> Result<(), ProofError> {
        if format != Some(FORMAT_NAME) {
            return Err(ProofError::NotAProof);
        }
        match version {
            Some(Ok(FORMAT_VERSION)) => Ok(()),
            Some(Ok(other)) => Err(ProofError::UnsupportedVersion(other)),
            Some(Err(found)) => Err(ProofError::BadVersion { found }),
            None => Err(ProofError::BadVersion {
                found: "nothing (the member is missing)".to_owned(),
            }),
        }
    }

    fn from_wire(w: WireProof<'_>) -> Result<Proof, ProofError> {
        // §3.1
        let network = match w.network.0 {
            name @ ("bitcoin" | "testnet" | "testnet4" | "signet" | "regtest") => {
                Network::from_str(name).map_err(|_| ProofError::UnknownNetwork(name.to_owned()))?
            }
            other => return Err(ProofError::UnknownNetwork(other.chars().take(32).collect())),
        };
        if w.hash.0 != "sha256" {
            return Err(ProofError::UnsupportedHash(
                w.hash.0.chars().take(32).collect(),
            ));
        }
        // §4
        let record = w.record.0;
        let digest = RecordDigest(hex32("record.digest", record.digest.0)?);
        let salt_bytes = hex_bytes("record.salt", record.salt.0, merkle::MAX_SALT_LEN)?;
        let salt = Salt::from_bytes(&salt_bytes).map_err(ProofError::Salt)?;
        // §5
        let batch = match w.batch.0 {
            None => None,
            Some(b) => {
                let size = b.size.0;
                if size == 0 || size > MAX_TREE_SIZE {
                    return Err(ProofError::TreeSize(size));
                }
                let path = b
                    .path
                    .0
                    .iter()
                    .map(|s| hex32("batch.path", s.0).map(NodeHash))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(BatchPath {
                    size,
                    index: b.index.0,
                    path,
                    root: NodeHash(hex32("batch.root", b.root.0)?),
                })
            }
        };
        // §6
        let anchor = match w.anchor.0 {
            None => None,
            Some(a) => {
                if batch.is_none() {
                    return Err(ProofError::AnchorWithoutBatch);
                }
                let tx = decode_stripped_tx(&hex_bytes("anchor.tx", a.tx.0, MAX_TX_BYTES)?)?;
                let block = match a.block.0 {
                    None => None,
                    Some(b) => Some(BlockProof {
                        height: b.height.0,
                        header: header("anchor.block.header", b.header.0)?,
                        tx_index: b.tx_index.0,
                        branch: b
                            .branch
                            .0
                            .iter()
                            .map(|s| {
                                hex32("anchor.block.branch", s.0).map(TxMerkleNode::from_byte_array)
                            })
                            .collect::<Result<_, _>>()?,
                        headers_after: b
                            .headers_after
                            .0
                            .iter()
                            .map(|s| header("anchor.block.headers_after", s.0))
                            .collect::<Result<_, _>>()?,
                    }),
                };
                Some(Anchor {
                    tx,
                    output: a.output.0,
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
                tx: hex::encode(crate::chain::stripped_bytes(&a.tx)),
                output: a.output,
                block: a.block.as_ref().map(|b| OutBlock {
                    height: b.height,
                    header: hex::encode(consensus::serialize(&b.header)),
                    tx_index: b.tx_index,
                    // Internal byte order, as hashed (§7), not the
                    // reversed order TxMerkleNode displays in.
                    branch: b
                        .branch
                        .iter()
                        .map(|n| hex::encode(n.as_byte_array()))
                        .collect(),
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
        assert!(matches!(
            Proof::from_json(b"[]"),
            Err(ProofError::NotAnObject { found: "a list" })
        ));
        assert!(matches!(Proof::from_json(b"[}"), Err(ProofError::Json(_))));
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
        // The cause is the error's source, not repeated in its message.
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("it is a folder, not a file"), "{e}");
        assert!(!e.to_string().contains("folder"), "{e}");
    }

    /// The example proof (complete), as text.
    fn example() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/example/record.txt.anchor.json"
        ))
        .unwrap()
    }

    /// The message and kind for `text`, checked for the words of Rust
    /// types and of the JSON reader that must not reach a user.
    fn refusal(text: &str) -> (String, &'static str) {
        let e = Proof::from_json(text.as_bytes()).unwrap_err();
        let message = e.to_string();
        for jargon in [
            "u64",
            "u32",
            "borrowed",
            "struct",
            "floating point",
            "invalid type",
            "Wire",
            "Envelope",
            " at line ",
        ] {
            assert!(!message.contains(jargon), "{jargon:?} in {message:?}");
        }
        (message, e.kind())
    }

    #[test]
    fn plain_words_for_the_version() {
        let text = example();
        for (version, found) in [
            ("1.0", "the number 1.0"),
            ("\"1\"", "a string"),
            ("null", "null"),
            ("-1", "the number -1"),
            ("true", "true"),
            ("[1]", "a list"),
            ("1e0", "the number 1.0"),
        ] {
            let t = text.replacen("\"version\": 1", &format!("\"version\": {version}"), 1);
            let (message, kind) = refusal(&t);
            assert_eq!(kind, "not-a-proof", "{version}");
            assert_eq!(
                message,
                format!("field version: must be an integer such as 1, found {found}"),
            );
        }
        let t = text.replacen("\"version\": 1,", "", 1);
        assert_eq!(
            refusal(&t).0,
            "field version: must be an integer such as 1, found nothing (the member is missing)"
        );
    }

    #[test]
    fn plain_words_for_the_shape_of_the_file() {
        for (text, found) in [
            ("null", "null"),
            (" [] ", "a list"),
            ("\"proof\"", "a string"),
            ("1.5", "a number"),
            ("false", "a boolean"),
            ("", "nothing (it is empty)"),
            (" \n", "nothing (it is empty)"),
        ] {
            let (message, kind) = refusal(text);
            assert_eq!(kind, "malformed");
            assert_eq!(
                message,
                format!("not a valid proof: a proof is one JSON object, the file holds {found}")
            );
        }
        let bom = format!("\u{feff}{}", example());
        let (message, kind) = refusal(&bom);
        assert_eq!(kind, "malformed");
        assert_eq!(
            message,
            "the file starts with a byte-order mark; proofs are UTF-8 JSON without one"
        );
        let (message, kind) = refusal("%PDF-1.4");
        assert_eq!(kind, "malformed");
        assert_eq!(
            message,
            "not a valid proof: not JSON: a value was expected (line 1, column 1)"
        );
        let text = example();
        let (message, _) = refusal(&text[..text.len() / 2]);
        assert!(
            message.contains("the file ends in the middle of"),
            "{message}"
        );
    }

    #[test]
    fn plain_words_for_field_values() {
        let text = example();
        let cases = [
            ("\"height\": 16", "\"height\": 16.0", "field anchor.block.height: must be an integer written without fraction or exponent, found the number 16.0"),
            ("\"height\": 16", "\"height\": -16", "field anchor.block.height: must be an integer from 0 to 4294967295, found the number -16"),
            ("\"height\": 16", "\"height\": 4294967296", "field anchor.block.height: must be an integer from 0 to 4294967295, found the number 4294967296"),
            ("\"size\": 3", "\"size\": \"3\"", "field batch.size: must be an integer from 0 to 18446744073709551615, found a string"),
            ("\"output\": 0", "\"output\": null", "field anchor.output: must be an integer from 0 to 4294967295, found null"),
            ("\"network\": \"regtest\"", "\"network\": 5", "field network: must be a string, found the number 5"),
            ("\"record\": {", "\"record\": [], \"x\": {", "field record: must be an object, found a list"),
            ("\"path\": [", "\"path\": {}, \"y\": [", "field batch.path: must be a list of at most 32 items, found an object"),
            ("\"tx_index\": 1", "\"tx_index\": true", "field anchor.block.tx_index: must be an integer from 0 to 4294967295, found true"),
        ];
        for (from, to, expected) in cases {
            assert!(text.contains(from), "{from}");
            let (message, kind) = refusal(&text.replacen(from, to, 1));
            assert_eq!(kind, "malformed", "{to}");
            assert!(
                message.starts_with(&format!("not a valid proof: {expected} (line ")),
                "{to}: {message}"
            );
        }
    }

    #[test]
    fn escapes_are_refused_by_field() {
        let text = example();
        let p = Proof::from_json(text.as_bytes()).unwrap();
        let digest = p.record.digest.to_hex();
        let salt = p.record.salt.to_hex();
        let root = p.batch.as_ref().unwrap().root.to_hex();
        let cases = [
            (
                format!("\"{digest}\""),
                format!("\"\\u00{:x}{}\"", digest.as_bytes()[0], &digest[1..]),
                "record.digest",
            ),
            (
                format!("\"{salt}\""),
                format!("\"{}\\/\"", &salt[..salt.len() - 1]),
                "record.salt",
            ),
            (
                format!("\"root\": \"{root}\""),
                format!("\"root\": \"\\u0061{}\"", &root[1..]),
                "batch.root",
            ),
            (
                "\"regtest\"".to_owned(),
                "\"regt\\u0065st\"".to_owned(),
                "network",
            ),
            (
                "\"sha256\"".to_owned(),
                "\"sha\\u00326\"".to_owned(),
                "hash",
            ),
            (
                "\"btc-anchor-proof\"".to_owned(),
                "\"btc-anchor-pro\\u006ff\"".to_owned(),
                "format",
            ),
        ];
        for (from, to, field) in cases {
            assert!(text.contains(&from), "{from}");
            let (message, kind) = refusal(&text.replacen(&from, &to, 1));
            assert_eq!(kind, "malformed", "{to}");
            assert!(
                message.starts_with(&format!(
                    "not a valid proof: field {field}: JSON escapes are not allowed \
                     (docs/proof-format.md §3) (line "
                )),
                "{to}: {message}"
            );
        }
        // In a member name too.
        let (message, kind) = refusal(&text.replacen("\"record\"", "\"\\u0072ecord\"", 1));
        assert_eq!(kind, "malformed");
        assert!(
            message.contains("a member name is written with a JSON escape"),
            "{message}"
        );
    }

    #[test]
    fn explicit_nulls_are_refused() {
        let p = Proof::from_json(example().as_bytes()).unwrap();
        let mut broadcast = p.clone();
        broadcast.anchor.as_mut().unwrap().block = None;
        let mut batched = p.clone();
        batched.anchor = None;
        let cases = [
            (
                broadcast.to_json(),
                "\"output\": 0",
                "\"output\": 0, \"block\": null",
                "anchor.block",
            ),
            (
                batched.to_json(),
                "\"batch\": {",
                "\"anchor\": null, \"batch\": {",
                "anchor",
            ),
            (
                queued().to_json(),
                "\"record\": {",
                "\"batch\": null, \"record\": {",
                "batch",
            ),
        ];
        for (text, from, to, field) in cases {
            // Absent, the part is read as absent...
            Proof::from_json(text.as_bytes()).unwrap();
            // ...but never as null (§3.2).
            assert!(text.contains(from), "{from}");
            let (message, kind) = refusal(&text.replacen(from, to, 1));
            assert_eq!(kind, "malformed", "{to}");
            assert!(
                message.starts_with(&format!(
                    "not a valid proof: field {field}: must not be null; a part that is absent \
                     is left out (docs/proof-format.md §3.2) (line "
                )),
                "{to}: {message}"
            );
        }
        let (message, _) = refusal(&queued().to_json().replacen(
            "\"record\": {",
            "\"record\": null, \"r\": {",
            1,
        ));
        assert!(
            message.contains("field record: must be an object, found null"),
            "{message}"
        );
    }

    #[test]
    fn messages_quote_no_raw_controls_and_stay_short() {
        let text = example();
        // An unknown member named with a right-to-left override, then a
        // long one: quoted escaped, and cut.
        let t = text.replacen("\"record\"", "\"ab\u{202e}cd\": 1, \"record\"", 1);
        let (message, _) = refusal(&t);
        assert!(message.contains("ab\\u{202e}cd"), "{message}");
        assert!(!message.contains('\u{202e}'), "{message}");
        let long = "k".repeat(100_000);
        let t = text.replacen("\"record\"", &format!("\"{long}\": 1, \"record\""), 1);
        let (message, _) = refusal(&t);
        assert!(message.len() < 400, "{} bytes", message.len());
        assert!(message.contains('…'), "{message}");
        // JSON allows DEL and the C1 controls raw in a string (CSI, U+009B,
        // starts a terminal escape sequence), and bidirectional controls.
        let t = text.replacen("\"regtest\"", "\"reg\u{9b}2J\u{7f}\u{202e}test\"", 1);
        let (message, kind) = refusal(&t);
        assert_eq!(kind, "unknown-network");
        assert_eq!(
            message,
            "unknown network \"reg\\u{9b}2J\\u{7f}\\u{202e}test\" (expected bitcoin, testnet, \
             testnet4, signet or regtest)"
        );
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
