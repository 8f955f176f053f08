//! Verification of a proof against a document: pure, no sockets.
//!
//! document digest → leaf → batch root → commitment in the named OP_RETURN
//! output → txid → block merkle branch → header merkle root → header proof
//! of work → each following header → (optionally) the header source's best
//! chain. The result is a [`Report`] that says what was established and
//! what was not checked, or a [`VerifyError`] naming the first step that
//! failed.

use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, Network, Txid};

use crate::anchor::{self, AnchorError};
use crate::chain::{self, BranchError, HeaderError};
use crate::checkpoints::Checkpoints;
use crate::hash::RecordDigest;
use crate::headers::{HeaderSource, HeaderSourceError, SourceKind};
use crate::merkle::{self, MerkleError, NodeHash};
use crate::proof::{Proof, Stage};
use crate::rules::{self, RuleError};

/// Seconds a block's timestamp may run ahead of real time and still be
/// accepted by nodes (Bitcoin's two-hour rule).
pub const MAX_FUTURE_BLOCK_TIME: u32 = 2 * 60 * 60;

/// Headers a proof must carry after its block for the work they hold to
/// count as evidence offline (`docs/proof-format.md` §9.1).
pub const MIN_HEADERS_AFTER: u32 = 6;

/// The least work, as log2 of expected hashes, that forging a proof's
/// carried headers must take for that work alone to make it valid offline
/// (`docs/proof-format.md` §9.1): 2^80 hashes is about 20 minutes of the
/// whole Bitcoin network of 2026 (some 10^21 hashes a second), some two
/// blocks' rewards of rented hash power.
pub const MIN_FORGERY_WORK_LOG2: f64 = 80.0;

/// Log2 of the hashes a second of one mining machine of 2026 (about 140
/// TH/s), to put a forgery cost in proportion.
pub const MINER_HASHES_PER_SECOND_LOG2: f64 = 47.0;

/// Seconds between blocks the network aims at (the unit of forgery time).
pub const TARGET_BLOCK_SECONDS: u32 = 600;

/// What the caller expects of a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The network the proof must be on.
    pub network: Network,
    /// The checkpoint table to hold the proof's headers against; `None`
    /// uses the table built into this library for the network.
    pub checkpoints: Option<Arc<Checkpoints>>,
}

impl VerifyOptions {
    /// Options for `network` with the built-in checkpoints.
    pub fn new(network: Network) -> VerifyOptions {
        VerifyOptions {
            network,
            checkpoints: None,
        }
    }

    /// The same options holding the proof against `table` instead of the
    /// built-in one (e.g. a table made from a validated headers file, or
    /// a regtest chain's own).
    pub fn with_checkpoints(mut self, table: Checkpoints) -> VerifyOptions {
        self.checkpoints = Some(Arc::new(table));
        self
    }

    /// The table in force.
    pub fn table(&self) -> &Checkpoints {
        match &self.checkpoints {
            Some(t) => t,
            None => Checkpoints::builtin(self.network),
        }
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions::new(Network::Bitcoin)
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
    /// A carried header breaks a chain rule (`docs/proof-format.md` §6.3).
    #[error("{0}")]
    Rule(RuleError),
    /// The checkpoint table is for another network.
    #[error("the checkpoint table is for {found}, not {expected}")]
    TableNetwork {
        /// The proof's network.
        expected: Network,
        /// The table's.
        found: Network,
    },
    /// A header source's header differs from one the proof carries.
    #[error("the proof carries header {carried} at height {height}, but the {source_name} has {found} there")]
    CarriedHeaderMismatch {
        /// The height.
        height: u32,
        /// The carried header's hash.
        carried: BlockHash,
        /// The source's header's hash.
        found: BlockHash,
        /// The source, for the message.
        source_name: String,
    },
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
    /// The header source has no header at a height below its tip (a
    /// headers file that starts after it).
    #[error("the {source_name} holds no header at height {height} (it starts after it)")]
    SourceLacksHeight {
        /// The height.
        height: u32,
        /// The source, for the message.
        source_name: String,
    },
    /// The header source failed.
    #[error(transparent)]
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
                A::Branch(b) => match b {
                    BranchError::BranchTooLong(_) => "branch-too-long",
                    BranchError::PositionOutOfRange { .. } => "position-out-of-range",
                    BranchError::AmbiguousNode { .. } => "ambiguous-node",
                    BranchError::DuplicateSibling { .. } => "duplicate-sibling",
                },
                A::MerkleRootMismatch { .. } => "merkle-root-mismatch",
                A::Header(h) => match h {
                    HeaderError::BadBits { .. } => "bad-bits",
                    HeaderError::TargetAboveLimit { .. } => "target-above-limit",
                    HeaderError::BadProofOfWork { .. } => "bad-pow",
                    HeaderError::NotLinked { .. } => "not-linked",
                },
            },
            VerifyError::Rule(r) => match r {
                RuleError::WrongEpochTarget { .. } => "wrong-epoch-target",
                RuleError::TargetTooEasy { .. } => "target-too-easy",
                RuleError::BitsChangedInEpoch { .. } => "bits-changed-in-epoch",
                RuleError::RetargetStep { .. } => "retarget-step",
                RuleError::TimeTooEarly { .. } => "time-too-early",
                RuleError::CheckpointMismatch { .. } => "checkpoint-mismatch",
            },
            VerifyError::TableNetwork { .. } => "table-network",
            VerifyError::CarriedHeaderMismatch { .. } => "not-in-chain",
            VerifyError::NotInChain { .. } => "not-in-chain",
            VerifyError::SourceTooShort { .. } | VerifyError::SourceLacksHeight { .. } => {
                "source-too-short"
            }
            VerifyError::Source(_) => "header-source",
        }
    }
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The document existed no later than the anchoring block, on evidence
    /// strong enough to say so ([`Report::evidence`] says which).
    Valid,
    /// Everything present checks out, but the proof is not complete yet.
    Pending(Stage),
    /// Everything the proof carries checks out, but it is not enough to
    /// tie its block to the real chain (`docs/proof-format.md` §9.1): a
    /// forger could have made it. Check it against a header source, or
    /// with a btc-anchor whose checkpoints cover the block.
    Inconclusive(Shortfall),
}

/// Why a complete proof is [`Verdict::Inconclusive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shortfall {
    /// Too few headers after the block, and no checkpoint reached.
    FewHeaders {
        /// Headers carried after the block.
        carried: u32,
        /// Headers needed.
        needed: u32,
    },
    /// Enough headers, but forging them would take less work than the
    /// threshold ([`MIN_FORGERY_WORK_LOG2`]).
    LittleWork,
}

/// What made a proof [`Verdict::Valid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evidence {
    /// The carried headers reach a built-in (or given) checkpoint: the
    /// block is in the real best chain, from the file alone.
    Checkpoint {
        /// The epoch whose last block the headers reach.
        epoch: u32,
        /// That block's height.
        height: u32,
    },
    /// A header source's validated best chain holds the block.
    HeaderSource,
    /// The headers carried after the block, at their epoch's target, hold
    /// more work than [`MIN_FORGERY_WORK_LOG2`].
    Work,
    /// A test network: the proof checks out under its rules, and carries
    /// no weight as evidence (anyone can mine such blocks).
    TestNetwork,
}

/// The cost of forging a proof's block and the headers after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForgeryCost {
    /// Expected hashes to mine the carried headers at their targets.
    pub work: Work,
    /// Expected hashes of the anchoring block alone: the network's hashes
    /// per [`TARGET_BLOCK_SECONDS`] at that block's difficulty.
    pub block_work: Work,
}

impl ForgeryCost {
    /// Log2 of the expected hashes.
    pub fn log2(&self) -> f64 {
        self.work.log2()
    }

    /// Seconds the whole network would need at the block's difficulty.
    pub fn network_seconds(&self) -> f64 {
        let ratio = (self.work.log2() - self.block_work.log2()).exp2();
        ratio * f64::from(TARGET_BLOCK_SECONDS)
    }

    /// Whether the cost reaches [`MIN_FORGERY_WORK_LOG2`].
    pub fn is_above_threshold(&self) -> bool {
        self.log2() >= MIN_FORGERY_WORK_LOG2
    }

    /// The cost in plain words: "about 2^82 hashes, roughly 70 minutes of
    /// the whole Bitcoin network at that block's difficulty".
    pub fn describe(&self) -> String {
        format!(
            "about 2^{:.0} hashes, roughly {} of the whole Bitcoin network at that block's \
             difficulty, or {} of one 2026 mining machine",
            self.log2(),
            plain_duration(self.network_seconds()),
            plain_duration((self.log2() - MINER_HASHES_PER_SECOND_LOG2).exp2()),
        )
    }
}

/// A duration in the largest unit that keeps it above one: "70 minutes",
/// "3 days".
pub fn plain_duration(seconds: f64) -> String {
    let units = [
        (365.25 * 86_400.0, "year"),
        (86_400.0, "day"),
        (3_600.0, "hour"),
        (60.0, "minute"),
        (1.0, "second"),
    ];
    for (size, name) in units {
        if seconds >= size {
            let n = (seconds / size).round();
            let plural = if n == 1.0 { "" } else { "s" };
            return format!("{n:.0} {name}{plural}");
        }
    }
    "less than a second".to_owned()
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
    /// The block's height: checked when [`BlockFacts::height_checked`],
    /// else as the proof claims it (consistent with its target).
    pub height: u32,
    /// Whether the height was established (by a checkpoint or a header
    /// source) rather than taken from the proof.
    pub height_checked: bool,
    /// The block's timestamp, seconds since 1970. Approximate: consensus
    /// lets it run up to two hours ahead of real time, and behind the
    /// times of earlier blocks.
    pub time: u32,
    /// The latest moment the document can have come into existence:
    /// block time plus [`MAX_FUTURE_BLOCK_TIME`].
    pub not_later_than: u32,
    /// Blocks carried in the proof, the anchoring block included
    /// (counted, so checked).
    pub confirmations_in_proof: u32,
    /// Total proof of work of those blocks.
    pub work_in_proof: Work,
    /// What forging the carried headers would take; `None` when they reach
    /// a checkpoint (forging that needs a SHA-256d second preimage).
    pub forgery: Option<ForgeryCost>,
    /// The checkpoint epoch the carried headers reach, if any.
    pub checkpoint_epoch: Option<u32>,
    /// Whether every carried header's target was checked exactly against
    /// its epoch's known target (rather than only bounded).
    pub targets_exact: bool,
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
    /// Offline, without a checkpoint: the block's membership in the best
    /// chain.
    BestChainMembership,
    /// Difficulty adjustments past the checkpoint table (each header is
    /// held to the retarget bound and its own target).
    DifficultyAdjustment,
    /// That the transaction is spendable or was relayed; not needed for a
    /// timestamp.
    TransactionValidity,
    /// The batch size (for some leaves the path does not pin it).
    BatchSize,
}

impl NotChecked {
    /// A sentence for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            NotChecked::BestChainMembership => {
                "membership in the best chain not checked (offline, no checkpoint reached)"
            }
            NotChecked::DifficultyAdjustment => {
                "difficulty past the built-in checkpoints only bounded (at most 4x easier per epoch)"
            }
            NotChecked::TransactionValidity => {
                "transaction scripts and signatures not checked (not needed for a timestamp)"
            }
            NotChecked::BatchSize => "batch size as the proof states it (the path does not pin it)",
        }
    }
}

/// The result of verifying a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Valid, pending at some stage, or inconclusive.
    pub verdict: Verdict,
    /// What made the proof valid; `None` unless [`Verdict::Valid`].
    pub evidence: Option<Evidence>,
    /// The proof's network.
    pub network: Network,
    /// The record digest.
    pub digest: RecordDigest,
    /// The batch root, once batched.
    pub root: Option<NodeHash>,
    /// Records in the batch, once batched, as the proof states it.
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

impl Report {
    /// Whether the proof's network is a test network, whose proofs carry
    /// no weight as evidence.
    pub fn is_test_network(&self) -> bool {
        self.network != Network::Bitcoin
    }
}

/// Checks that `proof` is on the network `options` asks for: the first
/// step of [`verify`], public so that a caller can refuse a proof for
/// another network before it opens a header source for the network asked
/// for (whose genesis check would hide the clearer reason).
///
/// # Errors
///
/// [`VerifyError::WrongNetwork`].
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
/// `source` for the best chain and holding the carried headers to the
/// chain rules of `docs/proof-format.md` §6.3 with the checkpoint table of
/// `options`.
///
/// Returns a [`Report`] for a valid, pending or inconclusive proof. Pure:
/// no I/O but what `source` does.
///
/// # Errors
///
/// The first step that failed.
pub fn verify(
    proof: &Proof,
    document: &RecordDigest,
    source: &dyn HeaderSource,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    check_network(proof, options)?;
    let table = options.table();
    if table.network() != proof.network {
        return Err(VerifyError::TableNetwork {
            expected: proof.network,
            found: table.network(),
        });
    }
    if proof.record.digest != *document {
        return Err(VerifyError::DigestMismatch {
            document: *document,
            proof: proof.record.digest,
        });
    }
    let mut report = Report {
        verdict: Verdict::Pending(proof.stage()),
        evidence: None,
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
    let carried: Vec<&Header> = std::iter::once(&block.header)
        .chain(&block.headers_after)
        .collect();
    let rules = rules::check_carried(table, block.height, &carried, &facts.header_hashes)
        .map_err(VerifyError::Rule)?;

    report.chain = check_source(source, block.height, &carried, &facts.header_hashes)?;
    let in_source = matches!(report.chain, ChainCheck::InBestChain { .. });
    let linked = rules.checkpoint_epoch;
    let forgery = linked.is_none().then_some(ForgeryCost {
        work: facts.work_in_proof,
        block_work: facts.block_work,
    });
    let after = block.headers_after.len() as u32;
    // The strongest evidence first; a test network's proof that reaches
    // neither a checkpoint nor a source is valid under its own rules only.
    let (verdict, evidence) = if let Some(epoch) = linked {
        (
            Verdict::Valid,
            Some(Evidence::Checkpoint {
                epoch,
                height: crate::checkpoints::epoch_end(epoch),
            }),
        )
    } else if in_source {
        (Verdict::Valid, Some(Evidence::HeaderSource))
    } else if proof.network != Network::Bitcoin {
        (Verdict::Valid, Some(Evidence::TestNetwork))
    } else if after < MIN_HEADERS_AFTER {
        (
            Verdict::Inconclusive(Shortfall::FewHeaders {
                carried: after,
                needed: MIN_HEADERS_AFTER,
            }),
            None,
        )
    } else if facts.work_in_proof.log2() < MIN_FORGERY_WORK_LOG2 {
        (Verdict::Inconclusive(Shortfall::LittleWork), None)
    } else {
        (Verdict::Valid, Some(Evidence::Work))
    };
    report.verdict = verdict;
    report.evidence = evidence;
    report.txid = Some(facts.txid);
    report.output = Some(anchor_part.output);
    report.block = Some(BlockFacts {
        txid: facts.txid,
        output: anchor_part.output,
        block_hash: facts.block_hash,
        height: facts.height,
        height_checked: linked.is_some() || in_source,
        time: facts.time,
        not_later_than: facts.time.saturating_add(MAX_FUTURE_BLOCK_TIME),
        confirmations_in_proof: facts.confirmations_in_proof,
        work_in_proof: facts.work_in_proof,
        forgery,
        checkpoint_epoch: linked,
        targets_exact: rules.targets_exact,
    });
    if linked.is_none() && !in_source {
        report.not_checked.push(NotChecked::BestChainMembership);
    }
    if !rules.targets_exact && linked.is_none() && !in_source {
        report.not_checked.push(NotChecked::DifficultyAdjustment);
    }
    report.not_checked.push(NotChecked::BatchSize);
    report.not_checked.push(NotChecked::TransactionValidity);
    Ok(report)
}

/// Compares every carried header with the source's header at its height
/// (`docs/proof-format.md` §9.2): the anchoring one must be there, the
/// ones after it wherever the source reaches.
fn check_source(
    source: &dyn HeaderSource,
    height: u32,
    carried: &[&Header],
    hashes: &[BlockHash],
) -> Result<ChainCheck, VerifyError> {
    let Some(tip) = source.best_height()? else {
        return Ok(ChainCheck::NotChecked);
    };
    if tip < height {
        return Err(VerifyError::SourceTooShort {
            height,
            tip,
            source_name: source.kind().to_string(),
        });
    }
    let reach = (tip - height).saturating_add(1).min(carried.len() as u32);
    let theirs = source.header_range(height, reach)?;
    for (i, (mine, hash)) in carried.iter().zip(hashes).take(reach as usize).enumerate() {
        let h = height + i as u32;
        let Some(theirs) = theirs.get(i) else {
            return Err(VerifyError::SourceLacksHeight {
                height: h,
                source_name: source.kind().to_string(),
            });
        };
        // Equal headers have equal hashes: hash the source's only to name
        // it in an error.
        if theirs != *mine {
            let found = chain::header_hash(theirs);
            let source_name = source.kind().to_string();
            return Err(if i == 0 {
                VerifyError::NotInChain {
                    height: h,
                    block: *hash,
                    found,
                    source_name,
                }
            } else {
                VerifyError::CarriedHeaderMismatch {
                    height: h,
                    carried: *hash,
                    found,
                    source_name,
                }
            });
        }
    }
    Ok(ChainCheck::InBestChain {
        tip,
        confirmations: tip.saturating_sub(height).saturating_add(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::EmbeddedOnly;
    use crate::proof::read_proof_file;

    fn example() -> Proof {
        read_proof_file(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/example/record.txt.anchor.json"
        )))
        .unwrap()
    }

    #[test]
    fn network_is_checked_first() {
        let proof = example();
        let regtest = VerifyOptions::new(Network::Regtest);
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
        let options = VerifyOptions::new(Network::Regtest);
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
