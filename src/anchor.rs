//! The anchor half of verification: root → commitment in an OP_RETURN
//! output → txid → block merkle branch → header → proof of work.
//!
//! Each step is public on its own, so a 32-byte root committed by anyone in
//! a real block can be checked with [`verify_anchor`], and the commitment
//! finder can be run over any output script ([`find_commitment`]).
//!
//! Hashes here use the bytes in internal order (as hashed); txids and block
//! hashes are shown reversed, as Bitcoin software customarily does.

use bitcoin::block::Header;
use bitcoin::consensus;
use bitcoin::hashes::Hash as _;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, Network, Target, Transaction, Txid};
use sha2::{Digest as _, Sha256};

/// `OP_RETURN`.
pub const OP_RETURN: u8 = 0x6a;
/// The one commitment script form (`docs/proof-format.md` §6.1):
/// `OP_RETURN`, then a direct push of exactly 32 bytes: 34 bytes in all.
pub const COMMITMENT_SCRIPT_LEN: usize = 34;

/// SHA-256 applied twice, as Bitcoin hashes transactions and headers.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// Why an output script is not a btc-anchor commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitmentError {
    /// The script does not start with `OP_RETURN`.
    #[error("the output is not an OP_RETURN output")]
    NotOpReturn,
    /// `OP_RETURN` with nothing after it.
    #[error("the OP_RETURN output carries no data")]
    NoData,
    /// The byte after `OP_RETURN` is an opcode, not a push.
    #[error("the OP_RETURN output carries opcode 0x{0:02x}, not a data push")]
    NotAPush(u8),
    /// A push of other than 32 bytes.
    #[error("the OP_RETURN output pushes {found} bytes, not 32")]
    WrongLength {
        /// Bytes pushed.
        found: usize,
    },
    /// 32 bytes pushed with `OP_PUSHDATA1/2/4` instead of a direct push.
    #[error("the OP_RETURN output pushes 32 bytes with a non-minimal opcode (0x{0:02x})")]
    NonMinimalPush(u8),
    /// The push runs past the end of the script.
    #[error("the OP_RETURN output's push runs past the end of the script")]
    Truncated,
    /// More script after the 32-byte push.
    #[error("the OP_RETURN output has {0} more bytes after the 32-byte push")]
    TrailingBytes(usize),
}

/// Finds the 32-byte commitment in an output script, accepting only the
/// exact form `6a 20 <32 bytes>` and naming the reason for anything else.
pub fn find_commitment(script: &[u8]) -> Result<[u8; 32], CommitmentError> {
    match script.first() {
        Some(&OP_RETURN) => {}
        _ => return Err(CommitmentError::NotOpReturn),
    }
    let rest = &script[1..];
    let Some(&op) = rest.first() else {
        return Err(CommitmentError::NoData);
    };
    let (len, header_len) = match op {
        0x01..=0x4b => (op as usize, 1),
        0x4c => match rest.get(1) {
            Some(&n) => (n as usize, 2),
            None => return Err(CommitmentError::Truncated),
        },
        0x4d => match rest.get(1..3) {
            Some(b) => (u16::from_le_bytes([b[0], b[1]]) as usize, 3),
            None => return Err(CommitmentError::Truncated),
        },
        0x4e => match rest.get(1..5) {
            Some(b) => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5),
            None => return Err(CommitmentError::Truncated),
        },
        other => return Err(CommitmentError::NotAPush(other)),
    };
    if len != 32 {
        return Err(CommitmentError::WrongLength { found: len });
    }
    if header_len != 1 {
        return Err(CommitmentError::NonMinimalPush(op));
    }
    let data = rest.get(1..33).ok_or(CommitmentError::Truncated)?;
    if rest.len() > 33 {
        return Err(CommitmentError::TrailingBytes(rest.len() - 33));
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(data);
    Ok(out)
}

/// The output script committing to `root`: `6a 20 <root>`.
pub fn commitment_script(root: &[u8; 32]) -> bitcoin::ScriptBuf {
    let mut bytes = Vec::with_capacity(COMMITMENT_SCRIPT_LEN);
    bytes.push(OP_RETURN);
    bytes.push(32);
    bytes.extend_from_slice(root);
    bitcoin::ScriptBuf::from_bytes(bytes)
}

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
    /// A merkle branch longer than Bitcoin blocks allow.
    #[error("the block merkle branch has {0} hashes, more than 32")]
    BranchTooLong(usize),
    /// A position that does not fit the branch.
    #[error("transaction position {index} is out of range for a branch of {len} hashes")]
    PositionOutOfRange {
        /// The position.
        index: u32,
        /// The branch length.
        len: usize,
    },
    /// A branch step whose 64 hashed bytes parse as a transaction.
    #[error("block merkle branch step {step} hashes 64 bytes that parse as a transaction (ambiguous proof)")]
    AmbiguousNode {
        /// Zero-based step in the branch.
        step: usize,
    },
    /// A right-hand node paired with an identical left sibling.
    #[error("block merkle branch step {step} pairs a node with a copy of itself on the left, which no block tree does")]
    DuplicateSibling {
        /// Zero-based step in the branch.
        step: usize,
    },
    /// The branch leads to another merkle root than the header's.
    #[error("the merkle branch leads to {computed}, but the header's merkle root is {expected}")]
    MerkleRootMismatch {
        /// The header's merkle root (display order).
        expected: String,
        /// Where the branch leads (display order).
        computed: String,
    },
    /// A compact target that is negative, zero or overflows.
    #[error("header at height {height} has an invalid difficulty target (bits 0x{bits:08x})")]
    BadBits {
        /// The header's height.
        height: u32,
        /// Its nBits.
        bits: u32,
    },
    /// A target easier than the network allows.
    #[error("header at height {height} claims a target easier than {network} allows (bits 0x{bits:08x})")]
    TargetAboveLimit {
        /// The header's height.
        height: u32,
        /// Its nBits.
        bits: u32,
        /// The network.
        network: Network,
    },
    /// A header hash above its own target.
    #[error("header at height {height} does not meet its own proof-of-work target")]
    BadProofOfWork {
        /// The header's height.
        height: u32,
    },
    /// A following header that does not build on the one before.
    #[error("header at height {height} does not link to the header before it")]
    NotLinked {
        /// The height of the header that does not link.
        height: u32,
    },
}

/// Checks that output `output` of `tx` commits to `root` and returns the
/// txid (double SHA-256 of the witness-stripped transaction).
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

/// The witness-stripped serialization of a transaction (the bytes its
/// txid hashes), whether or not `tx` carries witness data.
pub fn stripped_bytes(tx: &Transaction) -> Vec<u8> {
    if tx.input.iter().all(|i| i.witness.is_empty()) {
        return consensus::serialize(tx);
    }
    consensus::serialize(&without_witness(tx))
}

/// A copy of `tx` with its witness data removed: the form a proof holds.
pub fn without_witness(tx: &Transaction) -> Transaction {
    let mut t = tx.clone();
    for input in &mut t.input {
        input.witness.clear();
    }
    t
}

/// Whether 64 bytes deserialize as a transaction (rust-bitcoin's decoder,
/// which requires every byte consumed).
///
/// Most 64-byte strings are ruled out from two bytes, without the decoder:
/// an input takes at least 41 bytes (outpoint, script length, sequence), so
/// a 64-byte transaction has at most one input. With none (byte 4 is 0)
/// the decoder requires the segwit flag 1 next; with one, its script
/// length (byte 41) must leave room for the sequence, an output count and
/// the lock time: at most 13. Anything else is a count or length that
/// cannot fit, or a non-canonical varint, both refused by the decoder.
fn looks_like_transaction(bytes: &[u8; 64]) -> bool {
    let possible = match bytes[4] {
        0 => bytes[5] == 1,
        1 => bytes[41] <= 13,
        _ => false,
    };
    possible && consensus::deserialize::<Transaction>(bytes).is_ok()
}

/// Computes the block merkle root a branch leads to from `txid` at
/// position `index`, rejecting the ambiguities of Bitcoin's tree: out of
/// range positions, 64-byte steps that parse as a transaction, and a right
/// node paired with a copy of itself.
pub fn merkle_root_from_branch(
    txid: &Txid,
    index: u32,
    branch: &[[u8; 32]],
) -> Result<[u8; 32], AnchorError> {
    if branch.len() > 32 {
        return Err(AnchorError::BranchTooLong(branch.len()));
    }
    if branch.len() < 32 && (index >> branch.len()) != 0 {
        return Err(AnchorError::PositionOutOfRange {
            index,
            len: branch.len(),
        });
    }
    let mut cur = txid.to_byte_array();
    let mut buf = [0u8; 64];
    for (step, sibling) in branch.iter().enumerate() {
        let right = (index >> step) & 1 == 1;
        if right {
            if *sibling == cur {
                return Err(AnchorError::DuplicateSibling { step });
            }
            buf[..32].copy_from_slice(sibling);
            buf[32..].copy_from_slice(&cur);
        } else {
            buf[..32].copy_from_slice(&cur);
            buf[32..].copy_from_slice(sibling);
        }
        if looks_like_transaction(&buf) {
            return Err(AnchorError::AmbiguousNode { step });
        }
        cur = sha256d(&buf);
    }
    Ok(cur)
}

/// The merkle branch of the transaction at `index` in a block whose
/// transactions have `txids`, in Bitcoin's tree (the last node of an odd
/// level paired with itself). `None` if `index` is out of range.
pub fn block_merkle_branch(txids: &[Txid], index: usize) -> Option<Vec<[u8; 32]>> {
    if index >= txids.len() {
        return None;
    }
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.to_byte_array()).collect();
    let mut i = index;
    let mut branch = Vec::new();
    while level.len() > 1 {
        let sibling = if i ^ 1 < level.len() { i ^ 1 } else { i };
        branch.push(level[sibling]);
        level = level
            .chunks(2)
            .map(|pair| {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&pair[0]);
                buf[32..].copy_from_slice(pair.get(1).unwrap_or(&pair[0]));
                sha256d(&buf)
            })
            .collect();
        i >>= 1;
    }
    Some(branch)
}

/// The 80 bytes of a header as serialized (and hashed), without
/// allocating.
pub fn header_bytes(header: &Header) -> [u8; 80] {
    let mut b = [0u8; 80];
    b[..4].copy_from_slice(&header.version.to_consensus().to_le_bytes());
    b[4..36].copy_from_slice(header.prev_blockhash.as_byte_array());
    b[36..68].copy_from_slice(header.merkle_root.as_byte_array());
    b[68..72].copy_from_slice(&header.time.to_le_bytes());
    b[72..76].copy_from_slice(&header.bits.to_consensus().to_le_bytes());
    b[76..].copy_from_slice(&header.nonce.to_le_bytes());
    b
}

/// The hash of a header, computed here with the SHA-256 used throughout.
pub fn header_hash(header: &Header) -> BlockHash {
    BlockHash::from_byte_array(sha256d(&header_bytes(header)))
}

/// The expected hashes of a header's target, computed once per distinct
/// nBits (a 256-bit division each time) through `cache`.
pub fn cached_work(bits: bitcoin::CompactTarget, cache: &mut Option<(u32, Work)>) -> Work {
    match cache {
        Some((b, w)) if *b == bits.to_consensus() => *w,
        _ => {
            let w = Target::from_compact(bits).to_work();
            *cache = Some((bits.to_consensus(), w));
            w
        }
    }
}

/// Whether a compact target is well formed as Bitcoin Core's `SetCompact`
/// reads it: not negative and not overflowing 256 bits. (A zero target is
/// well formed, and refused by its users separately.)
pub fn compact_is_well_formed(bits: u32) -> bool {
    let exponent = bits >> 24;
    let mantissa = bits & 0x007f_ffff;
    let negative = bits & 0x0080_0000 != 0 && mantissa != 0;
    let overflow = mantissa != 0
        && (exponent > 34
            || (mantissa > 0xff && exponent > 33)
            || (mantissa > 0xffff && exponent > 32));
    !negative && !overflow
}

/// Checks a header's proof of work: its compact target is well formed and
/// within the network's limit, and its hash meets that target.
///
/// This checks each header against its own nBits; it does not recompute the
/// network's difficulty adjustments (which need the whole chain).
pub fn check_header_work(
    header: &Header,
    height: u32,
    network: Network,
) -> Result<BlockHash, AnchorError> {
    let bits = header.bits.to_consensus();
    let target = Target::from_compact(header.bits);
    if !compact_is_well_formed(bits) || target == Target::ZERO {
        return Err(AnchorError::BadBits { height, bits });
    }
    if target > max_target(network) {
        return Err(AnchorError::TargetAboveLimit {
            height,
            bits,
            network,
        });
    }
    let hash = header_hash(header);
    if !target.is_met_by(hash) {
        return Err(AnchorError::BadProofOfWork { height });
    }
    Ok(hash)
}

/// The easiest target a network allows (its `max_attainable_target`),
/// without building its whole parameter set.
pub fn max_target(network: Network) -> Target {
    match network {
        Network::Bitcoin => Target::MAX_ATTAINABLE_MAINNET,
        Network::Testnet | Network::Testnet4 => Target::MAX_ATTAINABLE_TESTNET,
        Network::Signet => Target::MAX_ATTAINABLE_SIGNET,
        Network::Regtest => Target::MAX_ATTAINABLE_REGTEST,
    }
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
pub fn verify_anchor(
    root: &[u8; 32],
    tx: &Transaction,
    output: u32,
    block: &crate::proof::BlockProof,
    network: Network,
) -> Result<AnchorFacts, AnchorError> {
    let txid = verify_commitment(tx, output, root)?;
    let computed = merkle_root_from_branch(&txid, block.tx_index, &block.branch)?;
    let expected = block.header.merkle_root.to_byte_array();
    if computed != expected {
        let display = |mut b: [u8; 32]| {
            b.reverse();
            hex::encode(b)
        };
        return Err(AnchorError::MerkleRootMismatch {
            expected: display(expected),
            computed: display(computed),
        });
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
            return Err(AnchorError::NotLinked { height });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_forms() {
        let root = [7u8; 32];
        let good = commitment_script(&root);
        assert_eq!(find_commitment(good.as_bytes()), Ok(root));
        let mut pd1 = vec![0x6a, 0x4c, 32];
        pd1.extend_from_slice(&root);
        assert_eq!(
            find_commitment(&pd1),
            Err(CommitmentError::NonMinimalPush(0x4c))
        );
        assert_eq!(find_commitment(&[0x6a]), Err(CommitmentError::NoData));
        assert_eq!(find_commitment(&[]), Err(CommitmentError::NotOpReturn));
        assert_eq!(
            find_commitment(&[0x6a, 0x20, 1, 2]),
            Err(CommitmentError::Truncated)
        );
        assert_eq!(
            find_commitment(&[0x6a, 0x4d, 0x20]),
            Err(CommitmentError::Truncated)
        );
        assert_eq!(
            find_commitment(&[0x6a, 0x00]),
            Err(CommitmentError::NotAPush(0x00))
        );
        let mut trailing = good.as_bytes().to_vec();
        trailing.push(0x51);
        assert_eq!(
            find_commitment(&trailing),
            Err(CommitmentError::TrailingBytes(1))
        );
    }

    #[test]
    fn max_targets_are_the_networks_limits() {
        for n in [
            Network::Bitcoin,
            Network::Testnet,
            Network::Testnet4,
            Network::Signet,
            Network::Regtest,
        ] {
            assert_eq!(
                max_target(n),
                bitcoin::params::Params::new(n).max_attainable_target,
                "{n}"
            );
        }
    }

    #[test]
    fn position_range() {
        let txid = Txid::from_byte_array([1; 32]);
        assert!(merkle_root_from_branch(&txid, 0, &[]).is_ok());
        assert_eq!(
            merkle_root_from_branch(&txid, 1, &[]),
            Err(AnchorError::PositionOutOfRange { index: 1, len: 0 })
        );
        assert_eq!(
            merkle_root_from_branch(&txid, 4, &[[2; 32], [3; 32]]),
            Err(AnchorError::PositionOutOfRange { index: 4, len: 2 })
        );
        assert_eq!(
            merkle_root_from_branch(&txid, 1, &[[1; 32]]),
            Err(AnchorError::DuplicateSibling { step: 0 })
        );
        // A left node with a copy of itself is how Bitcoin pads odd levels.
        assert!(merkle_root_from_branch(&txid, 0, &[[1; 32]]).is_ok());
    }
}
