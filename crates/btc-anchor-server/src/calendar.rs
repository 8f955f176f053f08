//! How a submitted digest maps into our batch tree, and the OpenTimestamps
//! timestamps the calendar hands out (`docs/server-api.md` §2).

use btc_anchor::hash::RecordDigest;
use btc_anchor::merkle::{record_leaf, Salt};
use btc_anchor::ots::{leaf_ops, timestamp_from_leaf, Attestation, Op, OtsExportError, Timestamp};
use btc_anchor::proof::Proof;
use sha2::{Digest as _, Sha256};

/// Longest digest `POST /digest` takes, as the stock calendar.
pub const MAX_DIGEST_LEN: usize = 64;

/// A submission as the calendar records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The record digest: the submission itself when it is 32 bytes,
    /// else its SHA-256.
    pub digest: RecordDigest,
    /// Whether the submission was hashed to give [`Submission::digest`].
    pub hashed: bool,
}

impl Submission {
    /// The record digest of a raw submission of 0 to [`MAX_DIGEST_LEN`]
    /// bytes (the caller checks the length).
    pub fn from_raw(raw: &[u8]) -> Submission {
        match <[u8; 32]>::try_from(raw) {
            Ok(d) => Submission {
                digest: RecordDigest(d),
                hashed: false,
            },
            Err(_) => Submission {
                digest: RecordDigest(Sha256::digest(raw).into()),
                hashed: true,
            },
        }
    }

    /// A 32-byte digest of the native API.
    pub fn native(digest: RecordDigest) -> Submission {
        Submission {
            digest,
            hashed: false,
        }
    }
}

/// The commitment of a record: its leaf hash, SHA-256(0x00 ‖ salt ‖ digest).
pub fn commitment(salt: &Salt, digest: &RecordDigest) -> [u8; 32] {
    record_leaf(salt, digest).0
}

/// The pending timestamp of §2, from the submitted bytes to a pending
/// attestation naming `uri` at the commitment.
pub fn pending_timestamp(submission: &Submission, salt: &Salt, uri: &str) -> Timestamp {
    let mut ts = Timestamp::attestation(Attestation::Pending {
        uri: uri.to_owned(),
    });
    for op in leaf_ops(salt).into_iter().rev() {
        ts = Timestamp::op(op, ts);
    }
    if submission.hashed {
        ts = Timestamp::op(Op::Sha256, ts);
    }
    ts
}

/// The complete timestamp of §2, from the commitment to a Bitcoin
/// attestation, of a complete proof.
///
/// # Errors
///
/// An [`OtsExportError`] when the proof is not complete or does not verify.
pub fn complete_timestamp(proof: &Proof) -> Result<Timestamp, OtsExportError> {
    timestamp_from_leaf(proof)
}

/// Whether `uri` may be carried by a pending attestation (`docs/ots.md`
/// §5): 1 to 1000 bytes of `a-z A-Z 0-9 - . _ / :`.
pub fn valid_uri(uri: &str) -> bool {
    !uri.is_empty()
        && uri.len() <= btc_anchor::ots::MAX_URI_LEN
        && uri
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._/:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_timestamp_ends_at_the_commitment() {
        let salt = Salt::random().unwrap();
        for raw in [&[7u8; 32][..], &[1u8; 20][..], &[][..], &[9u8; 64][..]] {
            let s = Submission::from_raw(raw);
            assert_eq!(s.hashed, raw.len() != 32);
            let ts = pending_timestamp(&s, &salt, "http://127.0.0.1:8600");
            let found = ts.attestations_from(raw);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].message, commitment(&salt, &s.digest));
            let bytes = ts.to_bytes();
            assert_eq!(Timestamp::from_bytes(&bytes, raw.len()).unwrap(), ts);
        }
    }

    #[test]
    fn uris() {
        assert!(valid_uri("http://127.0.0.1:8600"));
        assert!(!valid_uri("http://a b"));
        assert!(!valid_uri(""));
    }
}
