//! Offline single-event proofs in the `c2sp.org/tlog-proof@v1` text format
//! (`docs/audit-log.md` §7):
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <decimal>
//! <base64 hash>            (the inclusion path, leaf's sibling first)
//! ...
//!
//! <signed checkpoint, verbatim>
//! ```
//!
//! In this log the optional `extra` data is the event's opening: its
//! 32-byte salt followed by its canonical JSON ([`Opening`]), so that a
//! proof can show the event, not only that an entry is in the log.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor::merkle::{verify_inclusion, MerkleError, NodeHash, MAX_PATH_LEN};

use crate::checkpoint::{parse_decimal, parse_hash, Checkpoint, OpenError};
use crate::entry::{Entry, Salt, SALT_LEN};
use crate::event::{Event, EventError, MAX_EVENT_LEN};
use crate::note::{Note, NoteError, Verifier, MAX_NOTE_LEN};

/// The first line of a proof.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Longest extra data, in bytes after decoding.
pub const MAX_EXTRA_LEN: usize = SALT_LEN + MAX_EVENT_LEN;
/// Largest proof accepted, in bytes.
pub const MAX_PROOF_LEN: usize = MAX_NOTE_LEN + 8 * 1024;

/// A parsed proof: optional extra data, the entry index, the inclusion
/// path and the signed checkpoint (not yet verified).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TlogProof {
    /// Opaque extra data (here: an [`Opening`]), not authenticated.
    pub extra: Option<Vec<u8>>,
    /// The entry's index in the log.
    pub index: u64,
    /// The inclusion path, from the leaf's sibling up.
    pub path: Vec<NodeHash>,
    /// The signed checkpoint.
    pub checkpoint: Note,
}

/// Errors of parsing a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A proof over [`MAX_PROOF_LEN`] bytes.
    #[error("proof is {found} bytes, over the limit of {MAX_PROOF_LEN}")]
    TooLarge {
        /// Size found.
        found: usize,
    },
    /// Not UTF-8.
    #[error("proof is not valid utf-8")]
    NotUtf8,
    /// A first line other than [`PROOF_HEADER`].
    #[error("proof does not start with {PROOF_HEADER}")]
    Header,
    /// An `extra` line that is not canonical base64 or is too long.
    #[error("invalid extra line")]
    BadExtra,
    /// A missing or non-canonical `index` line.
    #[error("invalid index line")]
    BadIndex,
    /// A path line that is not the base64 of 32 bytes.
    #[error("inclusion path line {line} is not the base64 of 32 bytes")]
    BadHash {
        /// The line's number in the path, from 1.
        line: usize,
    },
    /// More path lines than any tree here needs.
    #[error("inclusion path has more than {MAX_PATH_LEN} hashes")]
    PathTooLong,
    /// No blank line before the checkpoint.
    #[error("no blank line before the checkpoint")]
    NoCheckpoint,
    /// The checkpoint is not a well-formed signed note.
    #[error("malformed checkpoint note")]
    Note(#[from] NoteError),
}

/// Errors of verifying a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofVerifyError {
    /// The checkpoint is not signed by the log's key, is malformed, or is
    /// of another origin.
    #[error("checkpoint rejected")]
    Checkpoint(#[from] OpenError),
    /// The path does not lead from the entry to the checkpoint's root.
    #[error("inclusion proof does not verify")]
    Inclusion(#[from] MerkleError),
    /// No extra data to open the event from.
    #[error("the proof carries no event opening")]
    NoOpening,
    /// Extra data that is not an opening.
    #[error("the extra data is not an event opening")]
    BadOpening(#[from] EventError),
}

impl TlogProof {
    /// Parses a proof (§7.1).
    ///
    /// # Errors
    ///
    /// A [`ProofError`] for anything but the canonical form within the
    /// limits.
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, ProofError> {
        if bytes.len() > MAX_PROOF_LEN {
            return Err(ProofError::TooLarge { found: bytes.len() });
        }
        let s = std::str::from_utf8(bytes).map_err(|_| ProofError::NotUtf8)?;
        let (head, checkpoint) = s.split_once("\n\n").ok_or(ProofError::NoCheckpoint)?;
        let mut lines = head.split('\n');
        if lines.next() != Some(PROOF_HEADER) {
            return Err(ProofError::Header);
        }
        let mut line = lines.next().ok_or(ProofError::BadIndex)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            if b64.len() > MAX_EXTRA_LEN.div_ceil(3) * 4 {
                return Err(ProofError::BadExtra);
            }
            let data = BASE64.decode(b64).map_err(|_| ProofError::BadExtra)?;
            extra = Some(data);
            line = lines.next().ok_or(ProofError::BadIndex)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(|n| parse_decimal(n, u64::MAX))
            .ok_or(ProofError::BadIndex)?;
        let mut path = Vec::new();
        for (i, l) in lines.enumerate() {
            if path.len() == MAX_PATH_LEN {
                return Err(ProofError::PathTooLong);
            }
            path.push(NodeHash(
                parse_hash(l).ok_or(ProofError::BadHash { line: i + 1 })?,
            ));
        }
        let checkpoint = Note::parse(checkpoint.as_bytes())?;
        Ok(TlogProof {
            extra,
            index,
            path,
            checkpoint,
        })
    }

    /// The proof's text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.path {
            out.push_str(&BASE64.encode(h.as_bytes()));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint.to_text());
        out
    }

    /// Verifies that `entry` is at the proof's index in the log of
    /// `origin` whose checkpoint `log_key` signed (§7.2): the checkpoint's
    /// signature and origin, then the inclusion path to its root. Returns
    /// the checkpoint.
    ///
    /// # Errors
    ///
    /// A [`ProofVerifyError`] when either check fails.
    pub fn verify(
        &self,
        entry: &Entry,
        origin: &str,
        log_key: &Verifier,
    ) -> Result<Checkpoint, ProofVerifyError> {
        let cp = Checkpoint::open(
            self.checkpoint.to_text().as_bytes(),
            origin,
            std::slice::from_ref(log_key),
        )?;
        verify_inclusion(self.index, cp.size, &entry.leaf(), &self.path, &cp.root)?;
        Ok(cp)
    }

    /// Opens the event in the extra data, then verifies its entry as
    /// [`TlogProof::verify`] does. Returns the event and the checkpoint.
    ///
    /// # Errors
    ///
    /// [`ProofVerifyError::NoOpening`] without extra data,
    /// [`ProofVerifyError::BadOpening`] when it is not an opening, and the
    /// errors of [`TlogProof::verify`].
    pub fn verify_event(
        &self,
        origin: &str,
        log_key: &Verifier,
    ) -> Result<(Event, Checkpoint), ProofVerifyError> {
        let extra = self.extra.as_ref().ok_or(ProofVerifyError::NoOpening)?;
        let opening = Opening::from_bytes(extra)?;
        let entry = opening.entry();
        let cp = self.verify(&entry, origin, log_key)?;
        Ok((opening.event, cp))
    }
}

/// An event and its salt: what turns an entry back into the event it
/// commits to. Encoded as salt (32 bytes) ‖ canonical event JSON.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Opening {
    /// The entry's salt.
    pub salt: Salt,
    /// The event.
    pub event: Event,
    canonical: Vec<u8>,
}

impl Opening {
    /// The opening of `event` under `salt`.
    ///
    /// # Errors
    ///
    /// An [`EventError`] when the event cannot be written canonically.
    pub fn new(event: Event, salt: Salt) -> Result<Opening, EventError> {
        let canonical = event.to_canonical_json()?;
        Ok(Opening {
            salt,
            event,
            canonical,
        })
    }

    /// The entry the opening commits to.
    pub fn entry(&self) -> Entry {
        Entry::commit_bytes(&self.canonical, &self.salt)
    }

    /// Salt ‖ canonical event JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.salt.0.to_vec();
        out.extend_from_slice(&self.canonical);
        out
    }

    /// Reads an opening.
    ///
    /// # Errors
    ///
    /// An [`EventError`] when the bytes after the salt are not a canonical
    /// event (or there are fewer than 32 bytes: [`EventError::NotJson`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Opening, EventError> {
        if bytes.len() < SALT_LEN {
            return Err(EventError::NotJson);
        }
        let (salt, json) = bytes.split_at(SALT_LEN);
        let mut s = [0u8; SALT_LEN];
        s.copy_from_slice(salt);
        let event = Event::from_canonical_json(json)?;
        Ok(Opening {
            salt: Salt(s),
            event,
            canonical: json.to_vec(),
        })
    }
}
