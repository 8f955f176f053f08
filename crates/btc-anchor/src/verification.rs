//! One answer for a proof file of either format.
//!
//! [`verify_file`] reads a btc-anchor proof or an OpenTimestamps `.ots`
//! file (told apart by content, [`crate::file::read_any`]), hashes the
//! document with the hash the proof names, opens the header source chosen
//! ([`Headers`]) and answers with a [`Verification`]: the outcome and
//! everything established, as types for programs and, through
//! `Serialize`, as the JSON object specified in `docs/verification.md`.
//!
//! A proof that is checked and found wrong is an answer, not an error:
//! [`Outcome::Invalid`], with the reason. Only what stops the check from
//! being made at all is a [`VerifyFileError`]: a proof file, document or
//! headers file that cannot be read, or a digest of the wrong length.
//!
//! ```
//! use btc_anchor::verification::{verify_file, Document, Headers, Outcome};
//! use btc_anchor::VerifyOptions;
//!
//! # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
//! let mut document = std::fs::File::open("fixtures/example/record.txt")?;
//! let v = verify_file(
//!     "fixtures/example/record.txt.anchor.json".as_ref(),
//!     Document::Content(&mut document),
//!     Headers::ProofOnly,
//!     &VerifyOptions::new(bitcoin::Network::Regtest),
//! )?;
//! assert_eq!(v.outcome(), Outcome::Valid);
//! let json = serde_json::to_value(&v)?;
//! assert_eq!(json["result"], "valid");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read};
use std::path::Path;

use bitcoin::Network;
use serde::ser::Serializer;
use serde::Serialize;
use serde_json::{json, Value};

use crate::file::{read_any, ProofFile, ReadAnyError};
use crate::hash::{hash_reader, RecordDigest};
use crate::headers::{EmbeddedOnly, HeaderSource, HeaderSourceError, HeadersFile, SourceKind};
use crate::ots::{
    verify_ots, Attestation, AttestationReport, BitcoinCheck, Branch, DetachedTimestamp,
    FileHashOp, OtsError, OtsReport, OtsVerdict, OtsVerifyError,
};
use crate::proof::{Proof, ProofError, Stage};
use crate::text::with_sources;
use crate::utc;
use crate::verify::{
    check_network, verify, BlockFacts, ChainCheck, Evidence, Report, Verdict, VerifyError,
    VerifyOptions, MAX_FUTURE_BLOCK_TIME,
};

/// Most attestations a `.ots` answer lists in its JSON (and a renderer
/// should show): a hostile file holds up to a thousand.
pub const MAX_LISTED_ATTESTATIONS: usize = 50;

/// Most bytes of JSON (or text) the listed attestations take: each can
/// carry kilobytes of message. The list stops at the entry that crosses
/// it, and the JSON says how many were left out.
pub const MAX_LISTED_BYTES: usize = 64 * 1024;

/// What the proof is checked against.
#[non_exhaustive]
pub enum Document<'a> {
    /// The document's content, read to its end and hashed with the hash
    /// the proof names (SHA-256 for a btc-anchor proof; a `.ots` file
    /// names its own).
    Content(&'a mut dyn Read),
    /// The document's digest under the proof's hash, computed elsewhere.
    Digest(&'a [u8]),
}

/// Where the chain is checked: the header-source choice a verifier makes.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Headers<'a> {
    /// Only the headers the proof carries (offline, no file).
    ProofOnly,
    /// A file of raw 80-byte headers (`docs/headers-file.md`), opened and
    /// validated whole for the network verified against.
    File(&'a Path),
    /// A source the caller has opened (an Electrum server, a node).
    Source(&'a dyn HeaderSource),
}

impl<'a> Headers<'a> {
    /// The source this choice names.
    pub fn kind(&self) -> SourceKind {
        match self {
            Headers::ProofOnly => SourceKind::EmbeddedOnly,
            Headers::File(path) => SourceKind::HeadersFile(path.to_path_buf()),
            Headers::Source(source) => source.kind(),
        }
    }

    /// Opens the source for `network`: reads and validates a headers file
    /// ([`HeadersFile::open`]); the others are already open.
    ///
    /// # Errors
    ///
    /// The headers file's error: [`HeaderSourceError::is_io`] tells one
    /// that cannot be read from one read and found wrong.
    pub fn open(self, network: Network) -> Result<OpenHeaders<'a>, HeaderSourceError> {
        Ok(OpenHeaders(match self {
            Headers::ProofOnly => Opened::ProofOnly(EmbeddedOnly),
            Headers::File(path) => Opened::File(Box::new(HeadersFile::open(path, network)?)),
            Headers::Source(source) => Opened::Source(source),
        }))
    }
}

/// A header source chosen with [`Headers`] and opened.
pub struct OpenHeaders<'a>(Opened<'a>);

enum Opened<'a> {
    ProofOnly(EmbeddedOnly),
    File(Box<HeadersFile>),
    Source(&'a dyn HeaderSource),
}

impl OpenHeaders<'_> {
    /// The source to check against.
    pub fn source(&self) -> &dyn HeaderSource {
        match &self.0 {
            Opened::ProofOnly(e) => e,
            Opened::File(f) => f.as_ref(),
            Opened::Source(s) => *s,
        }
    }
}

/// Why [`verify_file`] could not check the proof at all. A proof checked
/// and found wrong is not an error: its [`Verification`] says
/// [`Outcome::Invalid`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyFileError {
    /// The proof file cannot be read (missing, unreadable, a folder).
    #[error(transparent)]
    Proof(ReadAnyError),
    /// The document cannot be read to its end.
    #[error("cannot read the document")]
    Document(#[source] io::Error),
    /// The digest given is not of the length the proof's hash makes.
    #[error("the proof is about a {hash} digest of {expected} hex characters, found {found}")]
    DigestLength {
        /// The proof's hash ("SHA-256").
        hash: &'static str,
        /// Hex characters of such a digest.
        expected: usize,
        /// Hex characters of the one given.
        found: usize,
    },
    /// The headers file cannot be read (missing, unreadable, a folder).
    /// One that is read and found wrong is an invalid answer instead.
    #[error(transparent)]
    Headers(HeaderSourceError),
}

/// The outcome of a verification, as programs and exit codes see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// The document existed no later than the block's time bound.
    Valid,
    /// A btc-anchor proof that checks out as far as it goes, but whose
    /// file alone does not tie its block to the real chain.
    Inconclusive,
    /// A `.ots` timestamp whose Bitcoin attestations need headers the
    /// source does not have.
    Unverified,
    /// Everything present checks out, but nothing is in a block yet.
    Pending,
    /// A btc-anchor proof made on another network than the one asked
    /// for: not a forgery, but no evidence on this network either.
    WrongNetwork,
    /// The proof does not verify, or is malformed.
    Invalid,
}

/// The answer on one proof file.
#[derive(Debug)]
#[non_exhaustive]
pub struct Verification {
    /// The network checked against (a `.ots` file names none: it is held
    /// to the header source of this network).
    pub network: Network,
    /// The header source consulted, or that was to be.
    pub source: SourceKind,
    /// The source's best height, when it has a chain.
    pub tip: Option<u32>,
    /// The answer, by format.
    pub answer: Answer,
}

/// The answer on a proof, by its format.
// One value per file verified, read in place: boxing the larger variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[non_exhaustive]
pub enum Answer {
    /// A btc-anchor proof (`docs/proof-format.md`).
    Native {
        /// The document's SHA-256.
        digest: RecordDigest,
        /// The proof's stage, once it is read.
        stage: Option<Stage>,
        /// The report, or why the proof is not valid.
        result: Result<Report, NativeFailure>,
    },
    /// An OpenTimestamps timestamp (`docs/ots.md`).
    Ots {
        /// The file's hash, once it is read.
        file_hash: Option<FileHashOp>,
        /// The document's digest under it, once computed.
        digest: Option<Vec<u8>>,
        /// The report, or why the timestamp could not be checked.
        result: Result<OtsReport, OtsFailure>,
    },
}

/// Why a btc-anchor proof is not valid.
#[derive(Debug)]
#[non_exhaustive]
pub enum NativeFailure {
    /// The file is not a well-formed proof.
    Malformed(ProofError),
    /// The proof was read, and a check failed.
    Rejected(VerifyError),
}

/// Why a `.ots` timestamp could not be checked.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtsFailure {
    /// The file is not a well-formed timestamp.
    Malformed(OtsError),
    /// It was read, and the document or the header source failed it.
    Rejected(OtsVerifyError),
}

impl Verification {
    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        match &self.answer {
            Answer::Native { result, .. } => match result {
                Ok(r) => match r.verdict {
                    Verdict::Valid => Outcome::Valid,
                    Verdict::Inconclusive(_) => Outcome::Inconclusive,
                    Verdict::Pending(_) => Outcome::Pending,
                },
                Err(NativeFailure::Rejected(VerifyError::WrongNetwork { .. })) => {
                    Outcome::WrongNetwork
                }
                Err(_) => Outcome::Invalid,
            },
            Answer::Ots { result, .. } => match result {
                Ok(r) => match r.verdict {
                    OtsVerdict::Valid { .. } => Outcome::Valid,
                    OtsVerdict::Invalid { .. } => Outcome::Invalid,
                    OtsVerdict::HeadersNeeded { .. } => Outcome::Unverified,
                    OtsVerdict::Pending => Outcome::Pending,
                },
                Err(_) => Outcome::Invalid,
            },
        }
    }

    /// A stable short name for why the proof is not valid (the names in
    /// `fixtures/` and `docs/verification.md`), `None` otherwise.
    pub fn reason(&self) -> Option<&'static str> {
        match &self.answer {
            Answer::Native { result, .. } => match result {
                Ok(_) => None,
                Err(NativeFailure::Malformed(e)) => Some(e.kind()),
                Err(NativeFailure::Rejected(e)) => Some(e.kind()),
            },
            Answer::Ots { result, .. } => match result {
                Ok(r) => first_failure(r),
                Err(OtsFailure::Malformed(e)) => Some(e.kind()),
                Err(OtsFailure::Rejected(e)) => Some(e.kind()),
            },
        }
    }

    /// The error that made the proof not valid, `None` when it was
    /// checked to the end (a `.ots` timestamp whose attestations fail is
    /// checked to the end: its report says which fail).
    pub fn error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.answer {
            Answer::Native { result: Err(f), .. } => Some(match f {
                NativeFailure::Malformed(e) => e,
                NativeFailure::Rejected(e) => e,
            }),
            Answer::Ots { result: Err(f), .. } => Some(match f {
                OtsFailure::Malformed(e) => e,
                OtsFailure::Rejected(e) => e,
            }),
            _ => None,
        }
    }

    /// The height of the block the proof places the document in, once it
    /// is in one (for a `.ots` timestamp: its earliest confirmed block,
    /// when valid).
    pub fn block_height(&self) -> Option<u32> {
        match &self.answer {
            Answer::Native { result: Ok(r), .. } => r.block.as_ref().map(|b| b.height),
            Answer::Ots { result: Ok(r), .. } => match r.verdict {
                OtsVerdict::Valid { height, .. } => Some(height),
                _ => None,
            },
            _ => None,
        }
    }

    /// The moment the document existed by, when the proof is valid: the
    /// block's time plus [`MAX_FUTURE_BLOCK_TIME`].
    pub fn not_later_than(&self) -> Option<u32> {
        if self.outcome() != Outcome::Valid {
            return None;
        }
        match &self.answer {
            Answer::Native { result: Ok(r), .. } => r.block.as_ref().map(|b| b.not_later_than),
            Answer::Ots { result: Ok(r), .. } => match r.verdict {
                OtsVerdict::Valid { time, .. } => Some(time.saturating_add(MAX_FUTURE_BLOCK_TIME)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Verifies the proof file at `proof` for `document`, checking the chain
/// against `headers`, on the network and with the checkpoints of
/// `options`.
///
/// The file is read once, whatever it is (a pipe can be read only once),
/// and its format told by content. For a btc-anchor proof the network is
/// checked before a headers file is opened, so that a proof of another
/// network says so ([`Outcome::WrongNetwork`]) rather than failing on the
/// file's genesis block. Opens no socket of its own: only `headers` can
/// ([`Headers::Source`]).
///
/// # Errors
///
/// [`VerifyFileError`] when the check cannot be made: the proof file,
/// document or headers file cannot be read, or the digest given is not
/// of the proof's hash. Every answer on the proof itself, invalid and
/// malformed included, is a [`Verification`].
pub fn verify_file(
    proof: &Path,
    document: Document<'_>,
    headers: Headers<'_>,
    options: &VerifyOptions,
) -> Result<Verification, VerifyFileError> {
    match read_any(proof) {
        Ok(ProofFile::Native(p)) => native(Ok(p), document, headers, options),
        Ok(ProofFile::Ots(ts)) => ots(Ok(ts), document, headers, options.network),
        Err(ReadAnyError::Proof(e)) => native(Err(e), document, headers, options),
        Err(ReadAnyError::Ots(e)) => ots(Err(e), document, headers, options.network),
        Err(e) => Err(VerifyFileError::Proof(e)),
    }
}

/// Verifies a btc-anchor proof already read (for one carried inside
/// another file, such as an audit log's event proof), as [`verify_file`]
/// verifies one read from a file: `proof` is the parsed proof, or why it
/// did not parse.
///
/// # Errors
///
/// As [`verify_file`], but for reading the proof.
pub fn verify_native(
    proof: Result<Proof, ProofError>,
    document: Document<'_>,
    headers: Headers<'_>,
    options: &VerifyOptions,
) -> Result<Verification, VerifyFileError> {
    native(proof, document, headers, options)
}

fn native(
    proof: Result<Proof, ProofError>,
    document: Document<'_>,
    headers: Headers<'_>,
    options: &VerifyOptions,
) -> Result<Verification, VerifyFileError> {
    let digest =
        match document {
            Document::Content(reader) => hash_reader(reader).map_err(VerifyFileError::Document)?,
            Document::Digest(d) => RecordDigest(<[u8; 32]>::try_from(d).map_err(|_| {
                VerifyFileError::DigestLength {
                    hash: "SHA-256",
                    expected: 64,
                    found: d.len() * 2,
                }
            })?),
        };
    let answer = |stage, result| Verification {
        network: options.network,
        source: headers.kind(),
        tip: None,
        answer: Answer::Native {
            digest,
            stage,
            result,
        },
    };
    let proof = match proof {
        Ok(p) => p,
        Err(e) => return Ok(answer(None, Err(NativeFailure::Malformed(e)))),
    };
    let stage = Some(proof.stage());
    let rejected = |e: VerifyError| Ok(answer(stage, Err(NativeFailure::Rejected(e))));
    if let Err(e) = check_network(&proof, options) {
        return rejected(e);
    }
    let open = match headers.open(options.network) {
        Ok(open) => open,
        Err(e) if e.is_io() => return Err(VerifyFileError::Headers(e)),
        Err(e) => return rejected(VerifyError::Source(e)),
    };
    match verify(&proof, &digest, open.source(), options) {
        Ok(report) => {
            let mut v = answer(stage, Ok(report));
            if let Answer::Native { result: Ok(r), .. } = &v.answer {
                if let ChainCheck::InBestChain { tip, .. } = r.chain {
                    v.tip = Some(tip);
                }
            }
            Ok(v)
        }
        Err(e) => rejected(e),
    }
}

fn ots(
    timestamp: Result<DetachedTimestamp, OtsError>,
    document: Document<'_>,
    headers: Headers<'_>,
    network: Network,
) -> Result<Verification, VerifyFileError> {
    let answer = |file_hash, digest, result| Verification {
        network,
        source: headers.kind(),
        tip: None,
        answer: Answer::Ots {
            file_hash,
            digest,
            result,
        },
    };
    let ts = match timestamp {
        Ok(ts) => ts,
        Err(e) => return Ok(answer(None, None, Err(OtsFailure::Malformed(e)))),
    };
    let op = ts.file_hash;
    let digest = match document {
        Document::Content(reader) => op.hash_reader(reader).map_err(VerifyFileError::Document)?,
        Document::Digest(d) if d.len() == op.digest_len() => d.to_vec(),
        Document::Digest(d) => {
            return Err(VerifyFileError::DigestLength {
                hash: op.title(),
                expected: op.digest_len() * 2,
                found: d.len() * 2,
            })
        }
    };
    let rejected = |e: OtsVerifyError, digest| {
        Ok(answer(Some(op), Some(digest), Err(OtsFailure::Rejected(e))))
    };
    let open = match headers.open(network) {
        Ok(open) => open,
        Err(e) if e.is_io() => return Err(VerifyFileError::Headers(e)),
        Err(e) => return rejected(OtsVerifyError::Source(e), digest),
    };
    match verify_ots(&ts, &digest, open.source()) {
        Ok(report) => {
            let mut v = answer(Some(op), Some(digest), Ok(report));
            v.tip = open.source().best_height().ok().flatten();
            Ok(v)
        }
        Err(e) => rejected(e, digest),
    }
}

/// The short name of a timestamp's first failing Bitcoin attestation.
pub fn first_failure(r: &OtsReport) -> Option<&'static str> {
    r.attestations
        .iter()
        .filter_map(|a| a.bitcoin.as_ref())
        .find(|c| c.is_failure())
        .map(BitcoinCheck::kind)
}

/// Heights of the headers a timestamp still needs, ascending.
pub fn needed_heights(r: &OtsReport) -> Vec<u32> {
    let mut heights: Vec<u32> = r
        .attestations
        .iter()
        .filter_map(|a| match &a.bitcoin {
            Some(BitcoinCheck::HeaderNeeded { height, .. }) => Some(*height),
            _ => None,
        })
        .collect();
    heights.sort_unstable();
    heights.dedup();
    heights
}

// ---------------------------------------------------------------------------
// JSON (docs/verification.md)
// ---------------------------------------------------------------------------

impl Serialize for Verification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (source, location) = source_json(&self.source);
        let result = self.outcome();
        let reason = self.reason();
        let message = self.error().map(with_sources);
        match &self.answer {
            Answer::Native {
                digest,
                stage,
                result: report,
            } => {
                let r = report.as_ref().ok();
                let (checked, confirmations) = match r.map(|r| &r.chain) {
                    Some(ChainCheck::InBestChain { confirmations, .. }) => {
                        (true, Some(*confirmations))
                    }
                    _ => (false, None),
                };
                NativeJson {
                    result,
                    reason,
                    message,
                    format: "btc-anchor",
                    network: self.network.to_string(),
                    digest: digest.to_hex(),
                    stage: stage.map(|s| s.to_string()),
                    batch_size: r.and_then(|r| r.batch_size),
                    root: r.and_then(|r| r.root.as_ref().map(|h| h.to_hex())),
                    txid: r.and_then(|r| r.txid.map(|t| t.to_string())),
                    output: r.and_then(|r| r.output),
                    block: r.and_then(|r| r.block.as_ref().map(block_json)),
                    evidence: r.and_then(|r| r.evidence.map(evidence_name)),
                    test_network: self.network != Network::Bitcoin,
                    chain: NativeChainJson {
                        source,
                        location,
                        checked,
                        tip: if checked { self.tip } else { None },
                        confirmations,
                    },
                    not_checked: r.map_or_else(Vec::new, |r| {
                        r.not_checked.iter().map(|n| n.describe()).collect()
                    }),
                }
                .serialize(s)
            }
            Answer::Ots {
                file_hash,
                digest,
                result: report,
            } => {
                let r = report.as_ref().ok();
                let block = match r.map(|r| &r.verdict) {
                    Some(OtsVerdict::Valid {
                        height,
                        block_hash,
                        time,
                    }) => {
                        let bound = time.saturating_add(MAX_FUTURE_BLOCK_TIME);
                        Some(json!({
                            "height": height,
                            "hash": block_hash.to_string(),
                            "time": time,
                            "time_utc": utc::rfc3339(*time),
                            "not_later_than": bound,
                            "not_later_than_utc": utc::rfc3339(bound),
                        }))
                    }
                    _ => None,
                };
                let all = r.map_or(&[][..], |r| &r.attestations[..]);
                let attestations = listed(all.iter().map(attestation_report_json));
                OtsJson {
                    result,
                    reason,
                    message,
                    format: "ots",
                    network: self.network.to_string(),
                    file_hash: file_hash.map(FileHashOp::name),
                    digest: digest.as_ref().map(hex::encode),
                    block,
                    chain: OtsChainJson {
                        source,
                        location,
                        tip: self.tip,
                    },
                    attestations_omitted: all.len() - attestations.len(),
                    attestations,
                    needed_heights: r.map(needed_heights).unwrap_or_default(),
                }
                .serialize(s)
            }
        }
    }
}

#[derive(Serialize)]
struct NativeJson {
    result: Outcome,
    reason: Option<&'static str>,
    message: Option<String>,
    format: &'static str,
    network: String,
    digest: String,
    stage: Option<String>,
    batch_size: Option<u64>,
    root: Option<String>,
    txid: Option<String>,
    output: Option<u32>,
    block: Option<Value>,
    evidence: Option<&'static str>,
    test_network: bool,
    chain: NativeChainJson,
    not_checked: Vec<&'static str>,
}

#[derive(Serialize)]
struct NativeChainJson {
    source: &'static str,
    location: Option<String>,
    checked: bool,
    tip: Option<u32>,
    confirmations: Option<u32>,
}

#[derive(Serialize)]
struct OtsJson {
    result: Outcome,
    reason: Option<&'static str>,
    message: Option<String>,
    format: &'static str,
    network: String,
    file_hash: Option<&'static str>,
    digest: Option<String>,
    block: Option<Value>,
    chain: OtsChainJson,
    attestations: Vec<Value>,
    attestations_omitted: usize,
    needed_heights: Vec<u32>,
}

#[derive(Serialize)]
struct OtsChainJson {
    source: &'static str,
    location: Option<String>,
    tip: Option<u32>,
}

/// The header source as named in JSON: a short kind and where it is.
pub fn source_json(kind: &SourceKind) -> (&'static str, Option<String>) {
    match kind {
        SourceKind::EmbeddedOnly => ("embedded", None),
        SourceKind::HeadersFile(p) => ("headers-file", Some(p.display().to_string())),
        SourceKind::Electrum(url) => ("electrum", Some(url.clone())),
    }
}

/// The stable JSON name of the evidence.
pub fn evidence_name(e: Evidence) -> &'static str {
    match e {
        Evidence::Checkpoint { .. } => "checkpoint",
        Evidence::HeaderSource => "header-source",
        Evidence::Work => "work",
        Evidence::TestNetwork => "test-network",
    }
}

/// Rounds to three decimals, as the JSON gives logarithms of work.
fn milli(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn block_json(b: &BlockFacts) -> Value {
    json!({
        "height": b.height,
        "height_checked": b.height_checked,
        "checkpoint_epoch": b.checkpoint_epoch,
        "targets_exact": b.targets_exact,
        "forgery_cost": b.forgery.as_ref().map(|c| json!({
            "work_log2": milli(c.log2()),
            "network_seconds": c.network_seconds().round(),
            "above_threshold": c.is_above_threshold(),
            "text": c.describe(),
        })),
        "hash": b.block_hash.to_string(),
        "time": b.time,
        "time_utc": utc::rfc3339(b.time),
        "not_later_than": b.not_later_than,
        "not_later_than_utc": utc::rfc3339(b.not_later_than),
        "confirmations_in_proof": b.confirmations_in_proof,
        "work_in_proof_log2": milli(b.work_in_proof.log2()),
    })
}

/// The first entries of a list, cut at [`MAX_LISTED_ATTESTATIONS`] and
/// [`MAX_LISTED_BYTES`] of JSON.
pub fn listed(entries: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for v in entries.take(MAX_LISTED_ATTESTATIONS) {
        if bytes > MAX_LISTED_BYTES {
            break;
        }
        bytes += v.to_string().len();
        out.push(v);
    }
    out
}

/// A 32-byte hash in display order (reversed), as block explorers show
/// merkle roots.
pub fn display_order(internal: &[u8; 32]) -> String {
    let mut b = *internal;
    b.reverse();
    hex::encode(b)
}

/// The stable JSON name of an attestation's kind.
pub fn attestation_kind(a: &Attestation) -> &'static str {
    match a {
        Attestation::Bitcoin { .. } => "bitcoin",
        Attestation::Litecoin { .. } => "litecoin",
        Attestation::Pending { .. } => "pending",
        Attestation::Unknown { .. } => "unknown",
    }
}

/// An attestation as JSON (`docs/verification.md`): the path of fork
/// branches taken, the operations to it, its kind and message, and its
/// height, calendar URI or unknown tag and payload.
pub fn attestation_json(a: &Attestation, path: &[Branch], ops: usize, msg: &[u8]) -> Value {
    let mut v = json!({
        "path": path.iter().map(|b| format!("{}/{}", b.taken + 1, b.of)).collect::<Vec<_>>(),
        "ops": ops,
        "kind": attestation_kind(a),
        "message": hex::encode(msg),
    });
    match a {
        Attestation::Bitcoin { height } | Attestation::Litecoin { height } => {
            v["height"] = json!(height);
            if let Ok(root) = <[u8; 32]>::try_from(msg) {
                v["merkle_root"] = json!(display_order(&root));
            }
        }
        Attestation::Pending { uri } => v["uri"] = json!(uri),
        Attestation::Unknown { tag, payload } => {
            v["tag"] = json!(hex::encode(tag));
            v["payload"] = json!(hex::encode(payload));
        }
    }
    v
}

/// What became of one attestation, as a stable short name: a
/// [`BitcoinCheck::kind`], `pending` or `not-checked`.
pub fn attestation_result(a: &AttestationReport) -> &'static str {
    match (&a.bitcoin, &a.attestation) {
        (Some(check), _) => check.kind(),
        (None, Attestation::Pending { .. }) => "pending",
        (None, _) => "not-checked",
    }
}

fn attestation_report_json(a: &AttestationReport) -> Value {
    let mut v = attestation_json(&a.attestation, &a.path, a.ops, &a.message);
    v["result"] = json!(attestation_result(a));
    let (block_hash, time, confirmations) = match &a.bitcoin {
        Some(BitcoinCheck::Confirmed {
            block_hash,
            time,
            confirmations,
            ..
        }) => (
            json!(block_hash.to_string()),
            json!(time),
            json!(confirmations),
        ),
        Some(BitcoinCheck::Mismatch {
            block_hash,
            header_merkle_root,
            ..
        }) => {
            v["header_merkle_root"] = json!(display_order(header_merkle_root));
            (json!(block_hash.to_string()), Value::Null, Value::Null)
        }
        _ => (Value::Null, Value::Null, Value::Null),
    };
    v["block_hash"] = block_hash;
    v["time"] = time;
    v["confirmations"] = confirmations;
    v
}
