//! Event proofs that reach Bitcoin (`docs/audit-log.md` §15): one file
//! that shows an event was entry *i* of a log that had *N* entries no
//! later than a Bitcoin block.
//!
//! ```text
//! btc-anchor/event-proof@v1\n
//! vkey <the log's vkey>\n
//! entry <base64 of the 32-byte entry>\n
//! tlog-proof <length>\n <the entry's c2sp.org/tlog-proof@v1, §7>
//! anchored-checkpoint <length>\n <the anchored signed checkpoint, verbatim>
//! consistency <count>\n (<base64 hash>\n)*   the first checkpoint to it
//! anchor <length>\n <the anchored checkpoint's btc-anchor proof (JSON)>
//! ```
//!
//! [`EventProof::parse`] reads exactly this form and [`EventProof::to_bytes`]
//! writes it; [`EventProof::verify`] checks it offline (§15.2).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor::merkle::{verify_consistency, MerkleError, NodeHash};
use btc_anchor::proof::{Proof, MAX_PROOF_BYTES};
use btc_anchor::verification::{verify_native, Document, Headers, Verification, VerifyFileError};
use btc_anchor::verify::VerifyOptions;

use crate::checkpoint::{parse_decimal, parse_hash, Checkpoint, OpenError};
use crate::entry::Entry;
use crate::event::Event;
use crate::note::{KeyError, Verifier, MAX_NOTE_LEN};
use crate::proof::{Opening, ProofError, ProofVerifyError, TlogProof, MAX_PROOF_LEN};

/// The first line of an event proof of this version.
pub const EVENT_PROOF_HEADER: &str = "btc-anchor/event-proof@v1";
/// What every version's first line starts with: the format marker.
pub const EVENT_PROOF_MARKER: &str = "btc-anchor/event-proof@";
/// Most hashes in the consistency proof (two per level of a tree of 2^32).
pub const MAX_CONSISTENCY: usize = 64;
/// Longest vkey line accepted, in bytes.
pub const MAX_VKEY_LEN: usize = 512;
/// Largest event proof accepted, in bytes.
pub const MAX_EVENT_PROOF_LEN: usize = MAX_PROOF_LEN + MAX_NOTE_LEN + MAX_PROOF_BYTES + 8 * 1024;

/// Whether a file starting with `head` is an event proof (of any version):
/// its format marker.
pub fn is_event_proof(head: &[u8]) -> bool {
    head.starts_with(EVENT_PROOF_MARKER.as_bytes())
}

/// A parsed event proof (not yet verified).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EventProof {
    /// The log's verifier key, as the file names it (not trusted by
    /// itself: a verifier should be given the log's key).
    pub vkey: Verifier,
    /// The entry proved.
    pub entry: Entry,
    /// The entry's inclusion in a signed checkpoint (§7), possibly with
    /// its opening.
    pub inclusion: TlogProof,
    /// The anchored signed checkpoint, byte for byte as it was stamped.
    pub anchored: Vec<u8>,
    /// The consistency proof from the inclusion proof's checkpoint to the
    /// anchored one (RFC 9162 §2.1.4); empty when they are of one size.
    pub consistency: Vec<NodeHash>,
    /// The anchored checkpoint's btc-anchor proof (`docs/proof-format.md`),
    /// its JSON as written beside it.
    pub anchor: Vec<u8>,
}

/// Errors of parsing an event proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventProofError {
    /// A proof over [`MAX_EVENT_PROOF_LEN`] bytes.
    #[error("event proof is {found} bytes, over the limit of {MAX_EVENT_PROOF_LEN}")]
    TooLarge {
        /// Size found.
        found: usize,
    },
    /// A file without the format marker.
    #[error("not an event proof: it does not start with {EVENT_PROOF_MARKER}")]
    NotEventProof,
    /// An event proof of another version.
    #[error("event proof version {found:?} is not known (this reader knows {EVENT_PROOF_HEADER})")]
    UnknownVersion {
        /// The first line found.
        found: String,
    },
    /// A line missing, not UTF-8, or not of its field's canonical form.
    #[error("missing or malformed {field} line")]
    BadLine {
        /// The field expected.
        field: &'static str,
    },
    /// The vkey line is not a verifier key.
    #[error("the vkey line is not a verifier key")]
    BadVkey(#[source] KeyError),
    /// A length or count over its field's limit.
    #[error("{field} of {found} is over the limit of {limit}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The length or count found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// The file ends inside a field.
    #[error("the event proof is truncated in its {field}")]
    Truncated {
        /// The field cut short.
        field: &'static str,
    },
    /// A consistency line that is not the base64 of 32 bytes.
    #[error("consistency line {line} is not the base64 of 32 bytes")]
    BadHash {
        /// The line's number in the proof, from 1.
        line: usize,
    },
    /// The inclusion proof is malformed.
    #[error("malformed inclusion proof")]
    TlogProof(#[from] ProofError),
    /// Bytes after the anchor proof.
    #[error("{found} bytes after the anchor proof")]
    TrailingBytes {
        /// Bytes found.
        found: usize,
    },
}

/// Errors of verifying an event proof: each step of §15.2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventProofVerifyError {
    /// The opening in the inclusion proof is not an opening of the entry.
    #[error("the event disclosed is not the one the entry commits to")]
    EntryMismatch,
    /// The inclusion proof's checkpoint does not open with the log's key,
    /// or the entry is not in it.
    #[error("the entry's inclusion proof does not verify")]
    Inclusion(#[source] ProofVerifyError),
    /// The anchored checkpoint does not open with the log's key.
    #[error("the anchored checkpoint does not open")]
    AnchoredCheckpoint(#[source] OpenError),
    /// The anchored checkpoint is smaller than the one the entry is proved
    /// in.
    #[error("the anchored checkpoint has {anchored} entries, fewer than the {checkpoint} of the entry's")]
    AnchoredSmaller {
        /// The size of the inclusion proof's checkpoint.
        checkpoint: u64,
        /// The size of the anchored one.
        anchored: u64,
    },
    /// The anchored checkpoint does not extend the entry's.
    #[error("the consistency proof does not verify")]
    Consistency(#[source] MerkleError),
    /// The anchor proof could not be checked at all (a headers file that
    /// cannot be read). One checked and found wrong is an answer in
    /// [`VerifiedEvent::anchor`].
    #[error("cannot check the anchor proof")]
    Anchor(#[source] VerifyFileError),
}

/// What a verified event proof shows.
#[derive(Debug)]
pub struct VerifiedEvent {
    /// The entry.
    pub entry: Entry,
    /// The event, when the proof discloses it.
    pub event: Option<Event>,
    /// The entry's index in the log.
    pub index: u64,
    /// The checkpoint the entry is proved in.
    pub checkpoint: Checkpoint,
    /// The anchored checkpoint, which extends it.
    pub anchored: Checkpoint,
    /// The anchor proof's answer on the anchored checkpoint's bytes: when
    /// valid, the log had `anchored.size` entries no later than its block.
    pub anchor: Verification,
}

/// A cursor over the proof's bytes.
struct Reader<'a> {
    rest: &'a [u8],
    lines: usize,
}

impl<'a> Reader<'a> {
    fn line(&mut self, field: &'static str, max: usize) -> Result<&'a str, EventProofError> {
        let end = self
            .rest
            .iter()
            .take(max + 1)
            .position(|&b| b == b'\n')
            .ok_or(if self.rest.len() <= max {
                EventProofError::Truncated { field }
            } else {
                EventProofError::BadLine { field }
            })?;
        let line = std::str::from_utf8(&self.rest[..end])
            .map_err(|_| EventProofError::BadLine { field })?;
        self.rest = &self.rest[end + 1..];
        self.lines += 1;
        Ok(line)
    }

    /// A `<name> <decimal>` line, the number at most `limit`.
    fn count(&mut self, field: &'static str, limit: usize) -> Result<usize, EventProofError> {
        let line = self.line(field, field.len() + 21)?;
        let n = line
            .strip_prefix(field)
            .and_then(|l| l.strip_prefix(' '))
            .and_then(|n| parse_decimal(n, u64::MAX))
            .ok_or(EventProofError::BadLine { field })?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > limit {
            return Err(EventProofError::TooLong {
                field,
                found: n,
                limit,
            });
        }
        Ok(n)
    }

    /// A `<name> <length>` line and that many bytes (at least one).
    fn blob(&mut self, field: &'static str, limit: usize) -> Result<&'a [u8], EventProofError> {
        let len = self.count(field, limit)?;
        if len == 0 {
            return Err(EventProofError::BadLine { field });
        }
        if self.rest.len() < len {
            return Err(EventProofError::Truncated { field });
        }
        let (blob, rest) = self.rest.split_at(len);
        self.lines += blob.iter().filter(|&&b| b == b'\n').count();
        self.rest = rest;
        Ok(blob)
    }
}

impl EventProof {
    /// Parses an event proof (§15.1), accepting only its canonical form.
    ///
    /// # Errors
    ///
    /// An [`EventProofError`] for anything else, or over the limits.
    pub fn parse(bytes: &[u8]) -> Result<EventProof, EventProofError> {
        if bytes.len() > MAX_EVENT_PROOF_LEN {
            return Err(EventProofError::TooLarge { found: bytes.len() });
        }
        if !is_event_proof(bytes) {
            return Err(EventProofError::NotEventProof);
        }
        let mut r = Reader {
            rest: bytes,
            lines: 0,
        };
        let header = r.line("header", 64)?;
        if header != EVENT_PROOF_HEADER {
            return Err(EventProofError::UnknownVersion {
                found: header.to_owned(),
            });
        }
        let vkey = r
            .line("vkey", MAX_VKEY_LEN)?
            .strip_prefix("vkey ")
            .ok_or(EventProofError::BadLine { field: "vkey" })?;
        let vkey = Verifier::parse(vkey).map_err(EventProofError::BadVkey)?;
        let entry = r
            .line("entry", 64)?
            .strip_prefix("entry ")
            .and_then(parse_hash)
            .ok_or(EventProofError::BadLine { field: "entry" })?;
        let inclusion = TlogProof::parse(r.blob("tlog-proof", MAX_PROOF_LEN)?)?;
        let anchored = r.blob("anchored-checkpoint", MAX_NOTE_LEN)?.to_vec();
        let count = r.count("consistency", MAX_CONSISTENCY)?;
        let mut consistency = Vec::with_capacity(count);
        for _ in 0..count {
            let line = r.line("consistency", 44)?;
            let hash = parse_hash(line).ok_or(EventProofError::BadHash { line: r.lines })?;
            consistency.push(NodeHash(hash));
        }
        let anchor = r.blob("anchor", MAX_PROOF_BYTES)?.to_vec();
        if !r.rest.is_empty() {
            return Err(EventProofError::TrailingBytes {
                found: r.rest.len(),
            });
        }
        Ok(EventProof {
            vkey,
            entry: Entry(entry),
            inclusion,
            anchored,
            consistency,
            anchor,
        })
    }

    /// The proof's bytes (§15.1).
    pub fn to_bytes(&self) -> Vec<u8> {
        let tlog = self.inclusion.to_text();
        let mut out = format!(
            "{EVENT_PROOF_HEADER}\nvkey {}\nentry {}\ntlog-proof {}\n",
            self.vkey.to_vkey(),
            BASE64.encode(self.entry.0),
            tlog.len()
        )
        .into_bytes();
        out.extend_from_slice(tlog.as_bytes());
        out.extend_from_slice(format!("anchored-checkpoint {}\n", self.anchored.len()).as_bytes());
        out.extend_from_slice(&self.anchored);
        out.extend_from_slice(format!("consistency {}\n", self.consistency.len()).as_bytes());
        for h in &self.consistency {
            out.extend_from_slice(BASE64.encode(h.as_bytes()).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(format!("anchor {}\n", self.anchor.len()).as_bytes());
        out.extend_from_slice(&self.anchor);
        out
    }

    /// Verifies the proof offline with the log's key `log_key` (§15.2):
    /// the disclosed event (if any) against the entry, the entry's
    /// inclusion in a checkpoint signed by the key, the anchored checkpoint
    /// signed by the key and consistent with it, and the anchor proof on
    /// the anchored checkpoint's bytes, its chain checked against
    /// `headers` on the network of `options`. The origin is the key's name.
    ///
    /// # Errors
    ///
    /// An [`EventProofVerifyError`] when a step of the log fails; the
    /// anchor's own answer (valid, pending, invalid...) is in
    /// [`VerifiedEvent::anchor`].
    pub fn verify(
        &self,
        log_key: &Verifier,
        headers: Headers<'_>,
        options: &VerifyOptions,
    ) -> Result<VerifiedEvent, EventProofVerifyError> {
        let origin = log_key.name();
        let event = match &self.inclusion.extra {
            None => None,
            Some(extra) => {
                let opening = Opening::from_bytes(extra)
                    .map_err(|e| EventProofVerifyError::Inclusion(e.into()))?;
                if opening.entry() != self.entry {
                    return Err(EventProofVerifyError::EntryMismatch);
                }
                Some(opening.event)
            }
        };
        let checkpoint = self
            .inclusion
            .verify(&self.entry, origin, log_key)
            .map_err(EventProofVerifyError::Inclusion)?;
        let anchored = Checkpoint::open(&self.anchored, origin, std::slice::from_ref(log_key))
            .map_err(EventProofVerifyError::AnchoredCheckpoint)?;
        if anchored.size < checkpoint.size {
            return Err(EventProofVerifyError::AnchoredSmaller {
                checkpoint: checkpoint.size,
                anchored: anchored.size,
            });
        }
        verify_consistency(
            checkpoint.size,
            anchored.size,
            &checkpoint.root,
            &anchored.root,
            &self.consistency,
        )
        .map_err(EventProofVerifyError::Consistency)?;
        let anchor = verify_native(
            Proof::from_json(&self.anchor),
            Document::Content(&mut self.anchored.as_slice()),
            headers,
            options,
        )
        .map_err(EventProofVerifyError::Anchor)?;
        Ok(VerifiedEvent {
            entry: self.entry,
            event,
            index: self.inclusion.index,
            checkpoint,
            anchored,
            anchor,
        })
    }
}
