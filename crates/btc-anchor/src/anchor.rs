//! The anchor half of verification: root → commitment in an OP_RETURN
//! output ([`crate::commitment`]) → txid → block merkle branch → header →
//! proof of work ([`crate::chain`]).
//!
//! A 32-byte root committed by anyone in a real block can be checked with
//! [`verify_anchor`].

use bitcoin::hashes::Hash as _;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, Network, Transaction, TxMerkleNode, Txid};

use crate::chain::{
    cached_work, check_header_work, merkle_root_from_branch, sha256d, stripped_bytes, BranchError,
    HeaderError,
};
use crate::commitment::{find_commitment, CommitmentError};

/// Why an anchor does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The transaction is exactly 64 bytes without witness, and so could be
    /// mistaken for an inner node of the block's merkle tree.
    #[error("the transaction is 64 bytes long, which cannot be told apart from a merkle node")]
    Tx64Bytes,
    /// The named output does not exist.
    #[error("output {output} does not exist (the transaction has {outputs})")]
    OutputOutOfRange {
        /// The output index named.
        output: u32,
        /// Number of outputs.
        outputs: usize,
    },
    /// The named output is not a commitment.
    #[error("output {output}: {reason}")]
    NoCommitment {
        /// The output index.
        output: u32,
        /// Why it is not a commitment.
        reason: CommitmentError,
    },
    /// The output commits to another root.
    #[error("output {output} commits to {found}, not to the batch root {expected}")]
    WrongCommitment {
        /// The output index.
        output: u32,
        /// The batch root (hex).
        expected: String,
        /// The committed value (hex).
        found: String,
    },
    /// The block merkle branch is refused.
    #[error(transparent)]
    Branch(#[from] BranchError),
    /// The branch leads to another merkle root than the header's.
    #[error("the merkle branch leads to {computed}, but the header's merkle root is {expected}")]
    MerkleRootMismatch {
        /// The header's merkle root.
        expected: TxMerkleNode,
        /// Where the branch leads.
        computed: TxMerkleNode,
    },
    /// A carried header is refused.
    #[error(transparent)]
    Header(#[from] HeaderError),
}

/// Checks that output `output` of `tx` commits to `root` and returns the
/// txid (double SHA-256 of the witness-stripped transaction).
///
/// # Errors
///
/// An [`AnchorError`] when the transaction is 64 bytes without witness, the
/// output does not exist, is not a commitment, or commits to another root.
pub fn verify_commitment(
    tx: &Transaction,
    output: u32,
    root: &[u8; 32],
) -> Result<Txid, AnchorError> {
    let raw = stripped_bytes(tx);
    if raw.len() == 64 {
        return Err(AnchorError::Tx64Bytes);
    }
    let out = tx
        .output
        .get(output as usize)
        .ok_or(AnchorError::OutputOutOfRange {
            output,
            outputs: tx.output.len(),
        })?;
    let committed = find_commitment(out.script_pubkey.as_bytes())
        .map_err(|reason| AnchorError::NoCommitment { output, reason })?;
    if committed != *root {
        return Err(AnchorError::WrongCommitment {
            output,
            expected: hex::encode(root),
            found: hex::encode(committed),
        });
    }
    // The witness-stripped serialization, double SHA-256: the txid.
    Ok(Txid::from_byte_array(sha256d(&raw)))
}

/// What a checked anchor establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorFacts {
    /// The anchoring transaction.
    pub txid: Txid,
    /// The block holding it.
    pub block_hash: BlockHash,
    /// The block's height.
    pub height: u32,
    /// The block's timestamp (seconds since 1970, approximate: see
    /// [`crate::verify::Report`]).
    pub time: u32,
    /// Blocks carried in the proof, the anchoring block included.
    pub confirmations_in_proof: u32,
    /// Proof of work of those blocks, added up.
    pub work_in_proof: Work,
    /// The hashes of the anchoring header and of each header after it.
    pub header_hashes: Vec<BlockHash>,
    /// Proof of work of the anchoring block alone.
    pub block_work: Work,
}

/// Checks that `root` is committed in output `output` of `tx`, that `tx`
/// is at `block.tx_index` in the block of `block.header`, that the header
/// meets its proof of work on `network`, and that each following header
/// links to the one before and meets its own work.
///
/// # Errors
///
/// An [`AnchorError`] naming the first step that fails: the commitment, the
/// merkle branch, the header's merkle root, a header's proof of work or its
/// link to the one before.
pub fn verify_anchor(
    root: &[u8; 32],
    tx: &Transaction,
    output: u32,
    block: &crate::proof::BlockProof,
    network: Network,
) -> Result<AnchorFacts, AnchorError> {
    let txid = verify_commitment(tx, output, root)?;
    let computed = merkle_root_from_branch(&txid, block.tx_index, &block.branch)?;
    let expected = block.header.merkle_root;
    if computed != expected {
        return Err(AnchorError::MerkleRootMismatch { expected, computed });
    }
    let block_hash = check_header_work(&block.header, block.height, network)?;
    let mut cache = None;
    let block_work = cached_work(block.header.bits, &mut cache);
    let mut work = block_work;
    let mut prev = block_hash;
    let mut height = block.height;
    let mut header_hashes = Vec::with_capacity(1 + block.headers_after.len());
    header_hashes.push(block_hash);
    for h in &block.headers_after {
        height = height.saturating_add(1);
        if h.prev_blockhash != prev {
            return Err(HeaderError::NotLinked { height }.into());
        }
        prev = check_header_work(h, height, network)?;
        header_hashes.push(prev);
        work = work + cached_work(h.bits, &mut cache);
    }
    Ok(AnchorFacts {
        txid,
        block_hash,
        height: block.height,
        time: block.header.time,
        confirmations_in_proof: 1 + block.headers_after.len() as u32,
        work_in_proof: work,
        header_hashes,
        block_work,
    })
}
