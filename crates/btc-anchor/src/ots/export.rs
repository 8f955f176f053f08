//! Writing a complete btc-anchor proof as a standard detached timestamp
//! (`docs/ots.md` §9).

use bitcoin::consensus;
use bitcoin::hashes::Hash as _;

use super::format::{Attestation, DetachedTimestamp, FileHashOp, Op, Timestamp, MAX_RESULT_LEN};
use crate::headers::EmbeddedOnly;
use crate::merkle::{Salt, LEAF_PREFIX, NODE_PREFIX};
use crate::proof::{Proof, Stage};
use crate::verify::{verify, VerifyError, VerifyOptions};

/// Why a proof has no `.ots` form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtsExportError {
    /// The proof is not complete: an OpenTimestamps file without a block
    /// would need a calendar, and btc-anchor has none.
    #[error(
        "a {stage} proof has no opentimestamps form: only a confirmed proof (with its block) can be exported"
    )]
    NotConfirmed {
        /// How far along the proof is.
        stage: Stage,
    },
    /// The proof does not verify, so its `.ots` form would not either.
    #[error("the proof does not verify")]
    Invalid(#[from] VerifyError),
    /// The transaction carries witness data (proof files hold it
    /// stripped).
    #[error("the anchoring transaction carries witness data; export needs the witness-stripped transaction")]
    WitnessData,
    /// The transaction is too long for an operation's result.
    #[error(
        "the anchoring transaction is {len} bytes; an opentimestamps operation result is at most {MAX_RESULT_LEN}"
    )]
    TxTooLong {
        /// Its length without witness.
        len: usize,
    },
    /// The commitment is not where the serialization places the output's
    /// script (only for a proof assembled by hand, never one read from a
    /// file).
    #[error("the commitment of output {output} is not where its script lies in the serialized transaction")]
    CommitmentNotLocated {
        /// The output index.
        output: u32,
    },
}

/// Writes a confirmed proof as a detached timestamp file: the bytes of
/// [`timestamp_from_proof`].
///
/// # Errors
///
/// As [`timestamp_from_proof`].
pub fn export_ots(proof: &Proof) -> Result<Vec<u8>, OtsExportError> {
    Ok(timestamp_from_proof(proof)?.to_bytes())
}

/// The detached timestamp of a confirmed proof (§9): file hash SHA-256 of
/// the record, the leaf, the batch path, the anchoring transaction, the
/// block merkle branch, and a Bitcoin attestation at the block's height.
///
/// The proof is first checked with [`crate::verify::verify`] (offline), so
/// that only a proof that verifies is exported. OpenTimestamps files name
/// no network: a proof on another network than Bitcoin gives a file whose
/// attestation only that network's headers confirm.
///
/// # Errors
///
/// An [`OtsExportError`] when the proof is not complete or does not verify.
pub fn timestamp_from_proof(proof: &Proof) -> Result<DetachedTimestamp, OtsExportError> {
    let mut timestamp = timestamp_from_leaf(proof)?;
    for op in leaf_ops(&proof.record.salt).into_iter().rev() {
        timestamp = Timestamp::op(op, timestamp);
    }
    Ok(DetachedTimestamp {
        file_hash: FileHashOp::Sha256,
        digest: proof.record.digest.0.to_vec(),
        timestamp,
    })
}

/// The operations from a record digest to its leaf (§9 step 2):
/// `prepend <salt>`, `prepend 00`, `sha256`, giving SHA-256(0x00 ‖ salt ‖
/// digest), [`crate::merkle::record_leaf`].
pub fn leaf_ops(salt: &Salt) -> Vec<Op> {
    vec![
        Op::Prepend(salt.as_bytes().to_vec()),
        Op::Prepend(vec![LEAF_PREFIX]),
        Op::Sha256,
    ]
}

/// The timestamp of a confirmed proof from its record's leaf hash on
/// (§9 steps 3 to 6): the batch path, the anchoring transaction, the block
/// merkle branch and a Bitcoin attestation. This is what a calendar that
/// handed out the leaf as its commitment answers once the batch is
/// anchored; [`timestamp_from_proof`] puts the record's [`leaf_ops`] in
/// front of it.
///
/// The proof is checked with [`crate::verify::verify`] (offline) first.
///
/// # Errors
///
/// As [`timestamp_from_proof`].
pub fn timestamp_from_leaf(proof: &Proof) -> Result<Timestamp, OtsExportError> {
    let (Some(batch), Some(anchor)) = (&proof.batch, &proof.anchor) else {
        return Err(OtsExportError::NotConfirmed {
            stage: proof.stage(),
        });
    };
    let Some(block) = &anchor.block else {
        return Err(OtsExportError::NotConfirmed {
            stage: proof.stage(),
        });
    };
    let options = VerifyOptions::new(proof.network);
    verify(proof, &proof.record.digest, &EmbeddedOnly, &options)?;

    if anchor.tx.input.iter().any(|i| !i.witness.is_empty()) {
        return Err(OtsExportError::WitnessData);
    }
    let raw = consensus::serialize(&anchor.tx);
    if raw.len() > MAX_RESULT_LEN {
        return Err(OtsExportError::TxTooLong { len: raw.len() });
    }
    // Without witness the transaction ends with its outputs and the 4-byte
    // lock time, and a serialized output ends with its script, which for a
    // commitment ends with the 32-byte root.
    let output = anchor.output;
    let not_located = || OtsExportError::CommitmentNotLocated { output };
    let later_outputs = anchor
        .tx
        .output
        .get(output as usize + 1..)
        .ok_or_else(not_located)?;
    let after = later_outputs
        .iter()
        .map(|o| consensus::serialize(o).len())
        .sum::<usize>()
        + 4;
    let root_at = raw.len().checked_sub(after + 32).ok_or_else(not_located)?;
    if raw.get(root_at..root_at + 32) != Some(&batch.root.0[..]) {
        return Err(not_located());
    }
    let (prefix, rest) = raw.split_at(root_at);
    let suffix = &rest[32..];

    let mut ops = Vec::with_capacity(8 + 3 * (batch.path.len() + block.branch.len()));
    // The batch path, sides as in RFC 9162 §2.1.3.2 (and
    // `merkle::root_from_inclusion`): node = SHA-256(0x01 ‖ left ‖ right).
    let (mut fnode, mut snode) = (batch.index, batch.size - 1);
    for sibling in &batch.path {
        if fnode & 1 == 1 || fnode == snode {
            ops.push(Op::Prepend(sibling.0.to_vec()));
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            ops.push(Op::Append(sibling.0.to_vec()));
        }
        ops.push(Op::Prepend(vec![NODE_PREFIX]));
        ops.push(Op::Sha256);
        fnode >>= 1;
        snode >>= 1;
    }
    // The transaction around the root, then the txid (internal order).
    ops.push(Op::Prepend(prefix.to_vec()));
    ops.push(Op::Append(suffix.to_vec()));
    ops.push(Op::Sha256);
    ops.push(Op::Sha256);
    // The block merkle branch: a 1 bit of the position puts the sibling on
    // the left.
    for (step, sibling) in block.branch.iter().enumerate() {
        if (block.tx_index >> step) & 1 == 1 {
            ops.push(Op::Prepend(sibling.as_byte_array().to_vec()));
        } else {
            ops.push(Op::Append(sibling.as_byte_array().to_vec()));
        }
        ops.push(Op::Sha256);
        ops.push(Op::Sha256);
    }
    let mut timestamp = Timestamp::attestation(Attestation::Bitcoin {
        height: u64::from(block.height),
    });
    for op in ops.into_iter().rev() {
        timestamp = Timestamp::op(op, timestamp);
    }
    Ok(timestamp)
}
