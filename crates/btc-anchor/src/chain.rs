//! Bitcoin's own hashing and block structure, as the verifier needs them:
//! double SHA-256, txids of witness-stripped transactions, the block merkle
//! branch (with its ambiguities refused), header hashes and each header's
//! proof of work.
//!
//! Block-side hashes are the `bitcoin` crate's types ([`Txid`],
//! [`TxMerkleNode`], [`BlockHash`]), held in internal byte order and shown
//! reversed by their `Display`, as Bitcoin software customarily does.

use bitcoin::block::Header;
use bitcoin::consensus;
use bitcoin::hashes::Hash as _;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, Network, Target, Transaction, TxMerkleNode, Txid};
use sha2::{Digest as _, Sha256};

/// SHA-256 applied twice, as Bitcoin hashes transactions and headers.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// Why a block merkle branch is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BranchError {
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
}

/// Why a header's proof of work, or its link to the header before, is
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
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
///
/// # Errors
///
/// A [`BranchError`] for a branch longer than 32 hashes, a position it cannot
/// hold, a step that hashes 64 bytes parsing as a transaction, or a right node
/// paired with a copy of itself.
pub fn merkle_root_from_branch(
    txid: &Txid,
    index: u32,
    branch: &[TxMerkleNode],
) -> Result<TxMerkleNode, BranchError> {
    if branch.len() > 32 {
        return Err(BranchError::BranchTooLong(branch.len()));
    }
    if branch.len() < 32 && (index >> branch.len()) != 0 {
        return Err(BranchError::PositionOutOfRange {
            index,
            len: branch.len(),
        });
    }
    let mut cur = txid.to_byte_array();
    let mut buf = [0u8; 64];
    for (step, sibling) in branch.iter().enumerate() {
        let sibling = sibling.as_byte_array();
        let right = (index >> step) & 1 == 1;
        if right {
            if *sibling == cur {
                return Err(BranchError::DuplicateSibling { step });
            }
            buf[..32].copy_from_slice(sibling);
            buf[32..].copy_from_slice(&cur);
        } else {
            buf[..32].copy_from_slice(&cur);
            buf[32..].copy_from_slice(sibling);
        }
        if looks_like_transaction(&buf) {
            return Err(BranchError::AmbiguousNode { step });
        }
        cur = sha256d(&buf);
    }
    Ok(TxMerkleNode::from_byte_array(cur))
}

/// The merkle branch of the transaction at `index` in a block whose
/// transactions have `txids`, in Bitcoin's tree (the last node of an odd
/// level paired with itself). `None` if `index` is out of range.
pub fn block_merkle_branch(txids: &[Txid], index: usize) -> Option<Vec<TxMerkleNode>> {
    if index >= txids.len() {
        return None;
    }
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.to_byte_array()).collect();
    let mut i = index;
    let mut branch = Vec::new();
    while level.len() > 1 {
        let sibling = if i ^ 1 < level.len() { i ^ 1 } else { i };
        branch.push(TxMerkleNode::from_byte_array(level[sibling]));
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
///
/// # Errors
///
/// A [`HeaderError`] for a malformed or zero target, one easier than the
/// network allows, or a hash above the target.
pub fn check_header_work(
    header: &Header,
    height: u32,
    network: Network,
) -> Result<BlockHash, HeaderError> {
    let bits = header.bits.to_consensus();
    let target = Target::from_compact(header.bits);
    if !compact_is_well_formed(bits) || target == Target::ZERO {
        return Err(HeaderError::BadBits { height, bits });
    }
    if target > max_target(network) {
        return Err(HeaderError::TargetAboveLimit {
            height,
            bits,
            network,
        });
    }
    let hash = header_hash(header);
    if !target.is_met_by(hash) {
        return Err(HeaderError::BadProofOfWork { height });
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let n = TxMerkleNode::from_byte_array;
        assert!(merkle_root_from_branch(&txid, 0, &[]).is_ok());
        assert_eq!(
            merkle_root_from_branch(&txid, 1, &[]),
            Err(BranchError::PositionOutOfRange { index: 1, len: 0 })
        );
        assert_eq!(
            merkle_root_from_branch(&txid, 4, &[n([2; 32]), n([3; 32])]),
            Err(BranchError::PositionOutOfRange { index: 4, len: 2 })
        );
        assert_eq!(
            merkle_root_from_branch(&txid, 1, &[n([1; 32])]),
            Err(BranchError::DuplicateSibling { step: 0 })
        );
        // A left node with a copy of itself is how Bitcoin pads odd levels.
        assert!(merkle_root_from_branch(&txid, 0, &[n([1; 32])]).is_ok());
    }
}
