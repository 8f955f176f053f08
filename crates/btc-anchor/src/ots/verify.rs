//! Checking a detached timestamp against a document and a header source
//! (`docs/ots.md` §8).

use std::fmt;

use bitcoin::hashes::Hash as _;
use bitcoin::BlockHash;

use super::format::{display_path, Attestation, Branch, DetachedTimestamp, FileHashOp};
use crate::chain::header_hash;
use crate::headers::{HeaderSource, HeaderSourceError, SourceKind};

/// Why a timestamp could not be checked at all. A timestamp that is
/// checked and found wrong is not an error: its [`OtsReport`] says
/// [`OtsVerdict::Invalid`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtsVerifyError {
    /// The document is not the one the timestamp is about.
    #[error("the document's {hash} digest is {document}, but the timestamp is for {timestamp}")]
    DigestMismatch {
        /// The file-hash operation of the timestamp.
        hash: FileHashOp,
        /// The document's digest (hex).
        document: String,
        /// The digest in the timestamp (hex).
        timestamp: String,
    },
    /// The header source failed.
    #[error(transparent)]
    Source(#[from] HeaderSourceError),
}

impl OtsVerifyError {
    /// A stable short name for the reason.
    pub fn kind(&self) -> &'static str {
        match self {
            OtsVerifyError::DigestMismatch { .. } => "digest-mismatch",
            OtsVerifyError::Source(_) => "header-source",
        }
    }
}

/// What the header source says about one Bitcoin attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BitcoinCheck {
    /// The source's block at the height has the message as its merkle root.
    Confirmed {
        /// The block height.
        height: u32,
        /// The block's hash.
        block_hash: BlockHash,
        /// The block's timestamp, seconds since 1970 (approximate, as
        /// [`crate::verify::BlockFacts::time`] explains).
        time: u32,
        /// Blocks from it to the source's tip, itself included.
        confirmations: Option<u32>,
    },
    /// The source's block at the height has another merkle root: the
    /// attestation is false (or the chain reorganised past it).
    Mismatch {
        /// The block height.
        height: u32,
        /// The source's block there.
        block_hash: BlockHash,
        /// That block's merkle root, internal byte order.
        header_merkle_root: [u8; 32],
    },
    /// The source has no header at the height (offline, or not synced so
    /// far): the attestation can be checked once that header is known.
    HeaderNeeded {
        /// The block height.
        height: u32,
        /// The merkle root the block must have (the message), internal
        /// byte order.
        expected_merkle_root: [u8; 32],
    },
    /// The message is not 32 bytes, so it is no block's merkle root.
    NotAMerkleRoot {
        /// Its length.
        len: usize,
    },
    /// A height past what a block height can be (above `u32::MAX`).
    HeightOutOfRange {
        /// The height in the attestation.
        height: u64,
    },
}

impl BitcoinCheck {
    /// Whether this attestation proves the timestamp false.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            BitcoinCheck::Mismatch { .. }
                | BitcoinCheck::NotAMerkleRoot { .. }
                | BitcoinCheck::HeightOutOfRange { .. }
        )
    }

    /// A stable short name: `confirmed`, `mismatch`, `header-needed`,
    /// `not-a-merkle-root` or `height-out-of-range`.
    pub fn kind(&self) -> &'static str {
        match self {
            BitcoinCheck::Confirmed { .. } => "confirmed",
            BitcoinCheck::Mismatch { .. } => "mismatch",
            BitcoinCheck::HeaderNeeded { .. } => "header-needed",
            BitcoinCheck::NotAMerkleRoot { .. } => "not-a-merkle-root",
            BitcoinCheck::HeightOutOfRange { .. } => "height-out-of-range",
        }
    }
}

/// A 32-byte hash in display order (reversed), as Bitcoin software shows
/// merkle roots and block hashes.
fn display_order(internal: &[u8; 32]) -> String {
    let mut b = *internal;
    b.reverse();
    hex::encode(b)
}

impl fmt::Display for BitcoinCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BitcoinCheck::Confirmed {
                height,
                block_hash,
                time,
                confirmations,
            } => {
                write!(f, "confirmed: block {block_hash} at height {height}, time {time}")?;
                if let Some(c) = confirmations {
                    write!(f, ", {c} confirmations")?;
                }
                Ok(())
            }
            BitcoinCheck::Mismatch {
                height,
                block_hash,
                header_merkle_root,
            } => write!(
                f,
                "mismatch: block {block_hash} at height {height} has merkle root {}, not the attested message",
                display_order(header_merkle_root)
            ),
            BitcoinCheck::HeaderNeeded {
                height,
                expected_merkle_root,
            } => write!(
                f,
                "header needed: the header at height {height} must have merkle root {} \
                 (internal byte order {})",
                display_order(expected_merkle_root),
                hex::encode(expected_merkle_root)
            ),
            BitcoinCheck::NotAMerkleRoot { len } => {
                write!(f, "invalid: the attested message is {len} bytes, a merkle root is 32")
            }
            BitcoinCheck::HeightOutOfRange { height } => {
                write!(f, "invalid: height {height} is past any block height")
            }
        }
    }
}

/// One attestation found in the timestamp and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationReport {
    /// The branches taken at forks to reach it (see
    /// [`super::FoundAttestation::path`]).
    pub path: Vec<Branch>,
    /// Operations from the file digest to it.
    pub ops: usize,
    /// The attestation.
    pub attestation: Attestation,
    /// The message it attests.
    pub message: Vec<u8>,
    /// For a Bitcoin attestation, the header source's answer; `None` for
    /// other kinds, which are reported and not checked.
    pub bitcoin: Option<BitcoinCheck>,
}

impl fmt::Display for AttestationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (path {}, {} ops, message {})",
            self.attestation,
            display_path(&self.path),
            self.ops,
            hex::encode(&self.message)
        )?;
        match (&self.bitcoin, &self.attestation) {
            (Some(check), _) => write!(f, ": {check}"),
            (None, Attestation::Pending { .. }) => {
                f.write_str(": not checked (ask the calendar for the complete timestamp)")
            }
            (None, _) => {
                f.write_str(": not checked (this library checks bitcoin attestations only)")
            }
        }
    }
}

/// The overall answer (`docs/ots.md` §8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtsVerdict {
    /// At least one Bitcoin attestation is confirmed and none fails: the
    /// document existed no later than the earliest confirmed block.
    Valid {
        /// The earliest confirmed block's height.
        height: u32,
        /// Its hash.
        block_hash: BlockHash,
        /// Its timestamp, seconds since 1970.
        time: u32,
    },
    /// At least one Bitcoin attestation fails (mismatch, a message that is
    /// not a merkle root, or an impossible height).
    Invalid {
        /// How many Bitcoin attestations fail.
        failures: usize,
    },
    /// Bitcoin attestations, none failing, but the source has the header
    /// of none of them: unverified until those headers are known.
    HeadersNeeded {
        /// The heights whose headers would settle it, ascending.
        heights: Vec<u32>,
    },
    /// No Bitcoin attestation: only pending, Litecoin or unknown ones.
    /// Nothing is proven yet; the calendars give the complete timestamp
    /// later.
    Pending,
}

impl fmt::Display for OtsVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OtsVerdict::Valid {
                height,
                block_hash,
                time,
            } => write!(
                f,
                "valid: existed no later than bitcoin block {height} ({block_hash}), time {time}"
            ),
            OtsVerdict::Invalid { failures } => {
                write!(
                    f,
                    "invalid: {failures} bitcoin attestation(s) do not check out"
                )
            }
            OtsVerdict::HeadersNeeded { heights } => {
                let hs: Vec<String> = heights.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "unverified: headers needed at height(s) {}",
                    hs.join(", ")
                )
            }
            OtsVerdict::Pending => f.write_str("pending: no bitcoin attestation yet"),
        }
    }
}

/// The result of checking a detached timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtsReport {
    /// The overall answer.
    pub verdict: OtsVerdict,
    /// How the document was hashed.
    pub file_hash: FileHashOp,
    /// The document's digest.
    pub digest: Vec<u8>,
    /// Every attestation, depth first in file order.
    pub attestations: Vec<AttestationReport>,
    /// The header source consulted.
    pub source: SourceKind,
}

impl fmt::Display for OtsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.verdict)?;
        writeln!(
            f,
            "file {} hash: {}",
            self.file_hash,
            hex::encode(&self.digest)
        )?;
        for a in &self.attestations {
            writeln!(f, "  {a}")?;
        }
        Ok(())
    }
}

/// Checks `ts` for a document whose digest under `ts.file_hash` is
/// `file_digest` ([`FileHashOp::hash`] computes it), looking up the header
/// of every Bitcoin attestation in `source`.
///
/// A Bitcoin attestation is confirmed when the source's header at its
/// height has the attested message as its merkle root (internal byte
/// order, as hashed), a mismatch when the header has another root, and
/// needs a header when the source has none at that height. The verdict
/// follows `docs/ots.md` §8.2. Pure: no I/O but what `source` does.
///
/// # Errors
///
/// [`OtsVerifyError::DigestMismatch`] when `file_digest` is not the one
/// the timestamp is for, [`OtsVerifyError::Source`] when the header source
/// fails. A timestamp that is checked and found wrong is not an error.
pub fn verify_ots(
    ts: &DetachedTimestamp,
    file_digest: &[u8],
    source: &dyn HeaderSource,
) -> Result<OtsReport, OtsVerifyError> {
    if file_digest != ts.digest.as_slice() {
        return Err(OtsVerifyError::DigestMismatch {
            hash: ts.file_hash,
            document: hex::encode(file_digest),
            timestamp: hex::encode(&ts.digest),
        });
    }
    let mut tip: Option<Option<u32>> = None;
    let mut attestations = Vec::new();
    for found in ts.attestations() {
        let bitcoin = match found.attestation {
            Attestation::Bitcoin { height } => {
                Some(check_bitcoin(height, &found.message, source, &mut tip)?)
            }
            _ => None,
        };
        attestations.push(AttestationReport {
            path: found.path,
            ops: found.ops,
            attestation: found.attestation,
            message: found.message,
            bitcoin,
        });
    }
    Ok(OtsReport {
        verdict: verdict(&attestations),
        file_hash: ts.file_hash,
        digest: ts.digest.clone(),
        attestations,
        source: source.kind(),
    })
}

fn check_bitcoin(
    height: u64,
    message: &[u8],
    source: &dyn HeaderSource,
    tip: &mut Option<Option<u32>>,
) -> Result<BitcoinCheck, OtsVerifyError> {
    let Ok(height) = u32::try_from(height) else {
        return Ok(BitcoinCheck::HeightOutOfRange { height });
    };
    let Ok(root) = <[u8; 32]>::try_from(message) else {
        return Ok(BitcoinCheck::NotAMerkleRoot { len: message.len() });
    };
    let Some(header) = source.header_at(height)? else {
        return Ok(BitcoinCheck::HeaderNeeded {
            height,
            expected_merkle_root: root,
        });
    };
    let block_hash = header_hash(&header);
    let header_root = header.merkle_root.to_byte_array();
    if header_root != root {
        return Ok(BitcoinCheck::Mismatch {
            height,
            block_hash,
            header_merkle_root: header_root,
        });
    }
    let best = match tip {
        Some(t) => *t,
        None => *tip.insert(source.best_height()?),
    };
    Ok(BitcoinCheck::Confirmed {
        height,
        block_hash,
        time: header.time,
        confirmations: best.filter(|t| *t >= height).map(|t| t - height + 1),
    })
}

/// §8.2: any failing Bitcoin attestation makes the timestamp invalid;
/// otherwise the earliest confirmed one makes it valid; otherwise Bitcoin
/// attestations without headers leave it unverified; otherwise (no Bitcoin
/// attestation) it is pending.
fn verdict(reports: &[AttestationReport]) -> OtsVerdict {
    let checks = || reports.iter().filter_map(|r| r.bitcoin.as_ref());
    let failures = checks().filter(|c| c.is_failure()).count();
    if failures > 0 {
        return OtsVerdict::Invalid { failures };
    }
    let earliest = checks()
        .filter_map(|c| match c {
            BitcoinCheck::Confirmed {
                height,
                block_hash,
                time,
                ..
            } => Some((*height, *block_hash, *time)),
            _ => None,
        })
        .min_by_key(|(height, _, _)| *height);
    if let Some((height, block_hash, time)) = earliest {
        return OtsVerdict::Valid {
            height,
            block_hash,
            time,
        };
    }
    let mut heights: Vec<u32> = checks()
        .filter_map(|c| match c {
            BitcoinCheck::HeaderNeeded { height, .. } => Some(*height),
            _ => None,
        })
        .collect();
    if heights.is_empty() {
        return OtsVerdict::Pending;
    }
    heights.sort_unstable();
    heights.dedup();
    OtsVerdict::HeadersNeeded { heights }
}
