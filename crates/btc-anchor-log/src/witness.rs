//! The C2SP `tlog-witness` protocol's `add-checkpoint` exchange
//! (`docs/audit-log.md` §16): the request body, and the checks a witness
//! makes before it cosigns, apart from its storage.
//!
//! ```text
//! old <decimal>
//! <base64 hash>          (0 to 63 lines: the consistency proof)
//!
//! <signed checkpoint>
//! ```
//!
//! A witness answers 200 with its cosignature lines, 400 for a malformed
//! request, 403 when no trusted log key signed the checkpoint (or one of
//! its signatures fails), 404 for a log it does not know, 409 with its
//! latest size (`text/x.tlog.size`) when `old` is not that size, and 422
//! when the checkpoint is not consistent with what it cosigned before.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor::merkle::{verify_consistency, NodeHash};

use crate::checkpoint::{parse_decimal, parse_hash, Checkpoint, OpenError};
use crate::note::{Note, Verifier, MAX_NOTE_LEN};
use crate::store::empty_root;

/// Most consistency proof lines in a request.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body: the old size line, 63 proof lines, a blank line
/// and a checkpoint.
pub const MAX_REQUEST_LEN: usize = 32 + MAX_PROOF_LINES * 45 + 1 + MAX_NOTE_LEN;
/// Largest answer read by a client: cosignature lines, or a size.
pub const MAX_RESPONSE_LEN: usize = 64 * 1024;
/// The `Content-Type` of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness holds.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<NodeHash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Errors of parsing a request body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A body over [`MAX_REQUEST_LEN`].
    #[error("request of {found} bytes is over the limit of {MAX_REQUEST_LEN}")]
    TooLarge {
        /// Bytes found.
        found: usize,
    },
    /// Not UTF-8, or no blank line before the checkpoint.
    #[error("request is not an old size line, proof lines, a blank line and a checkpoint")]
    Shape,
    /// A first line other than `old <canonical decimal>`.
    #[error("invalid old size line")]
    BadOld,
    /// A proof line that is not the base64 of 32 bytes.
    #[error("consistency proof line {line} is not the base64 of 32 bytes")]
    BadProofLine {
        /// The line's number in the proof, from 1.
        line: usize,
    },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
}

impl AddCheckpoint {
    /// Parses a request body.
    ///
    /// # Errors
    ///
    /// A [`RequestError`] for anything but the form above within the
    /// limits (the checkpoint itself is checked by [`open_request`]).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, RequestError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(RequestError::TooLarge { found: body.len() });
        }
        let s = std::str::from_utf8(body).map_err(|_| RequestError::Shape)?;
        let (head, checkpoint) = s.split_once("\n\n").ok_or(RequestError::Shape)?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(|n| parse_decimal(n, u64::MAX))
            .ok_or(RequestError::BadOld)?;
        let mut proof = Vec::new();
        for (i, l) in lines.enumerate() {
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            proof.push(NodeHash(
                parse_hash(l).ok_or(RequestError::BadProofLine { line: i + 1 })?,
            ));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&BASE64.encode(h.as_bytes()));
            out.push('\n');
        }
        out.push('\n');
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }
}

/// Why a witness refuses to cosign, with the HTTP status of each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: a malformed request or checkpoint, or an old size over the
    /// checkpoint's.
    #[error("bad request: {reason}")]
    BadRequest {
        /// What is wrong.
        reason: String,
    },
    /// 403: no signature by a trusted key of the log, or one that fails.
    #[error("the checkpoint is not signed by the log's key")]
    Forbidden,
    /// 404: a log the witness does not know.
    #[error("unknown log {origin:?}")]
    UnknownLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// 409: the old size is not the witness's latest size for the log.
    #[error("the witness holds the checkpoint of size {size}")]
    Conflict {
        /// The witness's latest cosigned size.
        size: u64,
    },
    /// 422: not consistent with what the witness cosigned (a proof that
    /// fails, another root at the same size, a proof from size zero, or a
    /// wrong root for the empty tree).
    #[error("not consistent with the witness's checkpoint: {reason}")]
    Inconsistent {
        /// Which check failed.
        reason: &'static str,
    },
}

impl Refusal {
    /// The HTTP status code of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest { .. } => 400,
            Refusal::Forbidden => 403,
            Refusal::UnknownLog { .. } => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent { .. } => 422,
        }
    }
}

/// A request whose checkpoint a known log signed: ready for the check
/// against the witness's state.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The request.
    pub request: AddCheckpoint,
    /// Its checkpoint, parsed.
    pub checkpoint: Checkpoint,
    /// The checkpoint's note text (what a cosignature signs).
    pub text: String,
}

/// Parses `body` and opens its checkpoint with the keys the witness
/// trusts for its origin (every key of `logs` whose name is the origin).
///
/// # Errors
///
/// A [`Refusal`]: 400, 403 or 404.
pub fn open_request(body: &[u8], logs: &[Verifier]) -> Result<Opened, Refusal> {
    let bad = |reason: String| Refusal::BadRequest { reason };
    let request = AddCheckpoint::parse(body).map_err(|e| bad(e.to_string()))?;
    let note = Note::parse(&request.checkpoint).map_err(|e| bad(e.to_string()))?;
    let origin = note.text().split('\n').next().unwrap_or("").to_owned();
    let keys: Vec<Verifier> = logs
        .iter()
        .filter(|v| v.name() == origin)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(Refusal::UnknownLog { origin });
    }
    let checkpoint = match Checkpoint::open(&request.checkpoint, &origin, &keys) {
        Ok(cp) => cp,
        Err(OpenError::Verify(_)) => return Err(Refusal::Forbidden),
        Err(e) => return Err(bad(btc_anchor::text::with_sources(&e))),
    };
    if request.old > checkpoint.size {
        return Err(bad(format!(
            "old size {} is over the checkpoint's size {}",
            request.old, checkpoint.size
        )));
    }
    Ok(Opened {
        request,
        checkpoint,
        text: note.text().to_owned(),
    })
}

/// The witness's check of an opened request against its latest cosigned
/// (size, root) of the log (`None`: it never cosigned one, size zero).
/// Must run atomically with storing the new checkpoint.
///
/// # Errors
///
/// [`Refusal::Conflict`] or [`Refusal::Inconsistent`].
pub fn check(opened: &Opened, latest: Option<(u64, NodeHash)>) -> Result<(), Refusal> {
    let (req, cp) = (&opened.request, &opened.checkpoint);
    let held = latest.map_or(0, |(size, _)| size);
    if req.old != held {
        return Err(Refusal::Conflict { size: held });
    }
    if cp.size == 0 && cp.root != empty_root() {
        return Err(Refusal::Inconsistent {
            reason: "a checkpoint of size zero must have the empty tree's root",
        });
    }
    let Some((size, root)) = latest.filter(|(s, _)| *s > 0) else {
        if !req.proof.is_empty() {
            return Err(Refusal::Inconsistent {
                reason: "a proof from size zero must be empty",
            });
        }
        return Ok(());
    };
    if size == cp.size {
        if root != cp.root || !req.proof.is_empty() {
            return Err(Refusal::Inconsistent {
                reason: "another root at the size the witness holds (a fork)",
            });
        }
        return Ok(());
    }
    verify_consistency(size, cp.size, &root, &cp.root, &req.proof).map_err(|_| {
        Refusal::Inconsistent {
            reason: "the consistency proof does not verify",
        }
    })
}

/// Reads a 409's body: a decimal size and a newline.
pub fn parse_size_body(body: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(body).ok()?;
    parse_decimal(s.strip_suffix('\n')?, u64::MAX)
}

/// The folder of cosigned checkpoints under the published folder:
/// `cosigned/<size>` holds the checkpoint with its witnesses'
/// cosignatures (§16.2).
pub const COSIGNED_DIR: &str = "cosigned";

/// Errors of storing a cosigned checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignedError {
    /// The file system refused an operation.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file there holds another checkpoint, or is not a signed note.
    #[error("{} holds another checkpoint", path.display())]
    Other {
        /// The file.
        path: std::path::PathBuf,
    },
}

/// Adds the cosignature `sig` to the checkpoint `note` of `size` in
/// `public/cosigned/<size>` (created with the note when absent; a line of
/// the same key replaced), written to a temporary file, synced and
/// renamed. Returns the file.
///
/// # Errors
///
/// A [`CosignedError`].
pub fn store_cosigned(
    public: &std::path::Path,
    note: &Note,
    size: u64,
    sig: crate::note::NoteSignature,
) -> Result<std::path::PathBuf, CosignedError> {
    use std::io::Write as _;
    let dir = public.join(COSIGNED_DIR);
    let path = dir.join(size.to_string());
    let io = |action: &'static str, p: &std::path::Path| {
        let p = p.to_owned();
        move |source| CosignedError::Io {
            action,
            path: p,
            source,
        }
    };
    std::fs::create_dir_all(&dir).map_err(io("create folder", &dir))?;
    let mut out = match std::fs::read(&path) {
        Ok(bytes) => {
            let kept = Note::parse(&bytes)
                .ok()
                .filter(|n| n.text() == note.text())
                .ok_or_else(|| CosignedError::Other { path: path.clone() })?;
            kept
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => note.clone(),
        Err(e) => return Err(io("read", &path)(e)),
    };
    out.retain_signatures(|s| !(s.name == sig.name && s.key_id == sig.key_id));
    out.push_signature(sig);
    let tmp = dir.join(format!(".{size}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(out.to_text().as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("rename into place", &path))?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync folder", &dir))?;
    Ok(path)
}
