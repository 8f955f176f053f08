//! Verification of a proof against a document: pure, no sockets.
//!
//! document digest → leaf → batch root → commitment in the named OP_RETURN
//! output → txid → block merkle branch → header merkle root → header proof
//! of work → each following header → (optionally) the header source's best
//! chain. The result is a [`Report`] that says what was established and
//! what was not checked, or a [`VerifyError`] naming the first step that
//! failed.

use bitcoin::pow::Work;
use bitcoin::{BlockHash, Network, Txid};

use crate::anchor::{self, AnchorError};
use crate::hash::RecordDigest;
use crate::headers::{HeaderSource, HeaderSourceError, SourceKind};
use crate::merkle::{self, MerkleError, NodeHash};
use crate::proof::{Proof, Stage};

/// Seconds a block's timestamp may run ahead of real time and still be
/// accepted by nodes (Bitcoin's two-hour rule).
pub const MAX_FUTURE_BLOCK_TIME: u32 = 2 * 60 * 60;

/// What the caller expects of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The network the proof must be on.
    pub network: Network,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            network: Network::Bitcoin,
        }
    }
}

/// Why a proof is not valid for a document. Each variant is one reason;
/// [`VerifyError::kind`] gives a stable short name for scripts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The proof is for another network.
    #[error("the proof is for {found}, expected {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: Network,
        /// The proof's network.
        found: Network,
    },
    /// The document is not the one the proof is about.
    #[error("the document's SHA-256 is {document}, but the proof is for {proof}")]
    DigestMismatch {
        /// The document's digest.
        document: RecordDigest,
        /// The digest in the proof.
        proof: RecordDigest,
    },
    /// The record's path does not lead to the batch root.
    #[error("the record is not in the batch: {0}")]
    Inclusion(MerkleError),
    /// The anchor does not check out.
    #[error("{0}")]
    Anchor(AnchorError),
    /// The header source's chain has another block at the proof's height.
    #[error("the proof's block {block} at height {height} is not in the best chain of the {source_name} (which has {found} there)")]
    NotInChain {
        /// The height.
        height: u32,
        /// The proof's block hash.
        block: BlockHash,
        /// The source's block hash at that height.
        found: BlockHash,
        /// The source, for the message.
        source_name: String,
    },
    /// The header source does not reach the proof's height.
    #[error("the {source_name} ends at height {tip}, before the proof's block at height {height}")]
    SourceTooShort {
        /// The proof's height.
        height: u32,
        /// The source's best height.
        tip: u32,
        /// The source, for the message.
        source_name: String,
    },
    /// The header source failed.
    #[error("{0}")]
    Source(#[from] HeaderSourceError),
}

impl VerifyError {
    /// A stable short name for the reason, as used in `fixtures/` and in
    /// the command line's JSON output.
    pub fn kind(&self) -> &'static str {
        use AnchorError as A;
        match self {
            VerifyError::WrongNetwork { .. } => "wrong-network",
            VerifyError::DigestMismatch { .. } => "digest-mismatch",
            VerifyError::Inclusion(MerkleError::RootMismatch { .. }) => "root-mismatch",
            VerifyError::Inclusion(MerkleError::PathLength { .. }) => "path-length",
            VerifyError::Inclusion(MerkleError::IndexOutOfRange { .. }) => "index-out-of-range",
            VerifyError::Inclusion(_) => "bad-inclusion",
            VerifyError::Anchor(a) => match a {
                A::Tx64Bytes => "tx-64-bytes",
                A::OutputOutOfRange { .. } => "output-out-of-range",
                A::NoCommitment { .. } => "no-commitment",
                A::WrongCommitment { .. } => "wrong-commitment",
                A::BranchTooLong(_) => "branch-too-long",
                A::PositionOutOfRange { .. } => "position-out-of-range",
                A::AmbiguousNode { .. } => "ambiguous-node",
                A::DuplicateSibling { .. } => "duplicate-sibling",
                A::MerkleRootMismatch { .. } => "merkle-root-mismatch",
                A::BadBits { .. } => "bad-bits",
                A::TargetAboveLimit { .. } => "target-above-limit",
                A::BadProofOfWork { .. } => "bad-pow",
                A::NotLinked { .. } => "not-linked",
            },
            VerifyError::NotInChain { .. } => "not-in-chain",
            VerifyError::SourceTooShort { .. } => "source-too-short",
            VerifyError::Source(_) => "header-source",
        }
    }
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The document existed no later than the anchoring block.
    Valid,
    /// Everything present checks out, but the proof is not complete yet.
    Pending(Stage),
}

/// Facts established about the anchoring block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockFacts {
    /// The anchoring transaction.
    pub txid: Txid,
    /// Output index of the commitment.
    pub output: u32,
    /// The block's hash.
    pub block_hash: BlockHash,
    /// The block's height.
    pub height: u32,
    /// The block's timestamp, seconds since 1970. Approximate: consensus
    /// lets it run up to two hours ahead of real time, and behind the
    /// times of earlier blocks.
    pub time: u32,
    /// The latest moment the document can have come into existence:
    /// block time plus [`MAX_FUTURE_BLOCK_TIME`].
    pub not_later_than: u32,
    /// Blocks carried in the proof, the anchoring block included.
    pub confirmations_in_proof: u32,
    /// Total proof of work of those blocks.
    pub work_in_proof: Work,
}

/// What the header source said about the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainCheck {
    /// No chain was consulted.
    NotChecked,
    /// The anchoring block is in the source's best chain.
    InBestChain {
        /// The source's best height.
        tip: u32,
        /// Confirmations counted on the source's chain.
        confirmations: u32,
    },
}

/// Something verification could not establish, and says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotChecked {
    /// Offline: the block's membership in the best chain.
    BestChainMembership,
    /// Difficulty adjustments (each header is checked against its own
    /// target, within the network's limit).
    DifficultyAdjustment,
    /// That the transaction is spendable or was relayed; not needed for a
    /// timestamp.
    TransactionValidity,
}

impl NotChecked {
    /// A sentence for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            NotChecked::BestChainMembership => "membership in the best chain not checked (offline)",
            NotChecked::DifficultyAdjustment => {
                "difficulty adjustments not checked (each header meets its own target within the network limit)"
            }
            NotChecked::TransactionValidity => {
                "transaction scripts and signatures not checked (not needed for a timestamp)"
            }
        }
    }
}

/// The result of verifying a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Valid, or pending at some stage.
    pub verdict: Verdict,
    /// The proof's network.
    pub network: Network,
    /// The record digest.
    pub digest: RecordDigest,
    /// The batch root, once batched.
    pub root: Option<NodeHash>,
    /// Records in the batch, once batched.
    pub batch_size: Option<u64>,
    /// The anchoring transaction, once broadcast.
    pub txid: Option<Txid>,
    /// Index of the transaction's output that commits to the batch root,
    /// once broadcast.
    pub output: Option<u32>,
    /// The anchoring block, once confirmed.
    pub block: Option<BlockFacts>,
    /// What the header source said.
    pub chain: ChainCheck,
    /// The source consulted.
    pub source: SourceKind,
    /// What was not checked.
    pub not_checked: Vec<NotChecked>,
}

/// Checks that `proof` is on the network `options` asks for: the first
/// step of [`verify`], public so that a caller can refuse a proof for
/// another network before it opens a header source for the network asked
/// for (whose genesis check would hide the clearer reason).
pub fn check_network(proof: &Proof, options: &VerifyOptions) -> Result<(), VerifyError> {
    if proof.network != options.network {
        return Err(VerifyError::WrongNetwork {
            expected: options.network,
            found: proof.network,
        });
    }
    Ok(())
}

/// Verifies `proof` for a document whose SHA-256 is `document`, consulting
/// `source` for the best chain.
///
/// Returns a [`Report`] for a valid or pending proof, and the first failed
/// step otherwise. Pure: no I/O but what `source` does.
pub fn verify(
    proof: &Proof,
    document: &RecordDigest,
    source: &dyn HeaderSource,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    check_network(proof, options)?;
    if proof.record.digest != *document {
        return Err(VerifyError::DigestMismatch {
            document: *document,
            proof: proof.record.digest,
        });
    }
    let mut report = Report {
        verdict: Verdict::Pending(proof.stage()),
        network: proof.network,
        digest: *document,
        root: None,
        batch_size: None,
        txid: None,
        output: None,
        block: None,
        chain: ChainCheck::NotChecked,
        source: source.kind(),
        not_checked: Vec::new(),
    };
    let Some(batch) = &proof.batch else {
        return Ok(report);
    };
    let leaf = merkle::record_leaf(&proof.record.salt, &proof.record.digest);
    merkle::verify_inclusion(batch.index, batch.size, &leaf, &batch.path, &batch.root)
        .map_err(VerifyError::Inclusion)?;
    report.root = Some(batch.root);
    report.batch_size = Some(batch.size);
    let Some(anchor_part) = &proof.anchor else {
        return Ok(report);
    };
    let Some(block) = &anchor_part.block else {
        let txid = anchor::verify_commitment(&anchor_part.tx, anchor_part.output, &batch.root.0)
            .map_err(VerifyError::Anchor)?;
        report.txid = Some(txid);
        report.output = Some(anchor_part.output);
        return Ok(report);
    };
    let facts = anchor::verify_anchor(
        &batch.root.0,
        &anchor_part.tx,
        anchor_part.output,
        block,
        proof.network,
    )
    .map_err(VerifyError::Anchor)?;
    report.txid = Some(facts.txid);
    report.output = Some(anchor_part.output);
    report.block = Some(BlockFacts {
        txid: facts.txid,
        output: anchor_part.output,
        block_hash: facts.block_hash,
        height: facts.height,
        time: facts.time,
        not_later_than: facts.time.saturating_add(MAX_FUTURE_BLOCK_TIME),
        confirmations_in_proof: facts.confirmations_in_proof,
        work_in_proof: facts.work_in_proof,
    });
    report.verdict = Verdict::Valid;

    match (source.header_at(facts.height)?, source.best_height()?) {
        (Some(header), Some(tip)) => {
            let found = anchor::header_hash(&header);
            if found != facts.block_hash {
                return Err(VerifyError::NotInChain {
                    height: facts.height,
                    block: facts.block_hash,
                    found,
                    source_name: source.kind().to_string(),
                });
            }
            report.chain = ChainCheck::InBestChain {
                tip,
                confirmations: tip.saturating_sub(facts.height).saturating_add(1),
            };
        }
        (None, Some(tip)) => {
            return Err(VerifyError::SourceTooShort {
                height: facts.height,
                tip,
                source_name: source.kind().to_string(),
            })
        }
        (_, None) => report.not_checked.push(NotChecked::BestChainMembership),
    }
    report.not_checked.push(NotChecked::DifficultyAdjustment);
    report.not_checked.push(NotChecked::TransactionValidity);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::EmbeddedOnly;
    use crate::proof::read_proof_file;

    fn example() -> Proof {
        read_proof_file(std::path::Path::new(
            "fixtures/example/record.txt.anchor.json",
        ))
        .unwrap()
    }

    #[test]
    fn network_is_checked_first() {
        let proof = example();
        let regtest = VerifyOptions {
            network: Network::Regtest,
        };
        assert!(check_network(&proof, &regtest).is_ok());
        let e = check_network(&proof, &VerifyOptions::default()).unwrap_err();
        assert_eq!(e.kind(), "wrong-network");
        // `verify` refuses on the network before the digest.
        let e = verify(
            &proof,
            &RecordDigest::of_bytes(b"other"),
            &EmbeddedOnly,
            &VerifyOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), "wrong-network");
    }

    #[test]
    fn report_names_the_commitment_output() {
        let proof = example();
        let options = VerifyOptions {
            network: Network::Regtest,
        };
        let report = verify(&proof, &proof.record.digest, &EmbeddedOnly, &options).unwrap();
        assert_eq!(report.verdict, Verdict::Valid);
        assert_eq!(report.output, Some(0));
        assert_eq!(report.block.as_ref().map(|b| b.output), report.output);

        // Broadcast, not yet in a block: the output is known, the block not.
        let mut broadcast = proof.clone();
        if let Some(a) = broadcast.anchor.as_mut() {
            a.block = None;
        }
        let report = verify(&broadcast, &proof.record.digest, &EmbeddedOnly, &options).unwrap();
        assert_eq!(report.verdict, Verdict::Pending(Stage::Broadcast));
        assert_eq!(report.output, Some(0));

        // Batched: no transaction, no output.
        let mut batched = proof.clone();
        batched.anchor = None;
        let report = verify(&batched, &proof.record.digest, &EmbeddedOnly, &options).unwrap();
        assert_eq!(report.output, None);
        assert_eq!(report.txid, None);
    }
}
