//! Checkpoints (C2SP `tlog-checkpoint`, `docs/audit-log.md` §4): the text
//! of a signed note that states a log's origin, tree size and root hash.
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeroes>\n
//! <base64 root hash>\n
//! [<extension line>\n]...
//! ```
//!
//! Parsing is byte-exact: [`Checkpoint::parse`] accepts exactly the texts
//! that [`Checkpoint::to_text`] writes.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor::merkle::{NodeHash, MAX_TREE_SIZE};

use crate::note::{Note, NoteError, Signer, Verifier, VerifyError};

/// Longest origin line, in bytes.
pub const MAX_ORIGIN_LEN: usize = 256;
/// Most extension lines.
pub const MAX_EXTENSIONS: usize = 16;
/// Longest extension line, in bytes.
pub const MAX_EXTENSION_LEN: usize = 1024;

/// A log's tree head: origin, size and root hash, and any extension lines.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// The log's identity, e.g. `clinic.example/audit`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// The RFC 6962 root of the first `size` leaves.
    pub root: NodeHash,
    /// Opaque extension lines, each non-empty.
    pub extensions: Vec<String>,
}

/// Errors of parsing or writing a checkpoint text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A text that is not UTF-8 or does not end in exactly one newline.
    #[error("checkpoint text must be utf-8 lines, each ending in a newline")]
    Lines,
    /// Fewer than three lines.
    #[error("checkpoint has {found} lines, at least 3 are needed")]
    TooFewLines {
        /// Lines found.
        found: usize,
    },
    /// An origin that is empty, too long, or holds a control character.
    #[error("invalid origin line")]
    BadOrigin,
    /// A size that is not canonical decimal or exceeds the tree limit.
    #[error("invalid tree size line")]
    BadSize,
    /// A root that is not the canonical base64 of 32 bytes.
    #[error("root hash line is not the base64 of 32 bytes")]
    BadRoot,
    /// An empty, too long or otherwise invalid extension line.
    #[error("extension line {line} is invalid")]
    BadExtension {
        /// The extension's number, from 1.
        line: usize,
    },
    /// More than [`MAX_EXTENSIONS`] extension lines.
    #[error("{found} extension lines, over the limit of {MAX_EXTENSIONS}")]
    TooManyExtensions {
        /// Lines found.
        found: usize,
    },
}

/// Errors of opening a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The signed note is malformed.
    #[error("malformed signed note")]
    Note(#[from] NoteError),
    /// The note's signatures do not verify.
    #[error("checkpoint signature check failed")]
    Verify(#[from] VerifyError),
    /// The note text is not a checkpoint.
    #[error("malformed checkpoint")]
    Checkpoint(#[from] CheckpointError),
    /// A checkpoint of another log.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    Origin {
        /// The origin required.
        expected: String,
        /// The origin found.
        found: String,
    },
}

fn bad_line(s: &str) -> bool {
    s.is_empty() || s.chars().any(|c| c.is_control())
}

impl Checkpoint {
    /// Parses a checkpoint note text (§4).
    ///
    /// # Errors
    ///
    /// A [`CheckpointError`] for any deviation from the canonical form.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Lines)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines { found: lines.len() });
        }
        if lines.len() - 3 > MAX_EXTENSIONS {
            return Err(CheckpointError::TooManyExtensions {
                found: lines.len() - 3,
            });
        }
        let origin = lines[0];
        check_origin(origin)?;
        let size = parse_size(lines[1])?;
        let root = parse_hash(lines[2]).ok_or(CheckpointError::BadRoot)?;
        let mut extensions = Vec::with_capacity(lines.len() - 3);
        for (i, ext) in lines[3..].iter().enumerate() {
            if bad_line(ext) || ext.len() > MAX_EXTENSION_LEN {
                return Err(CheckpointError::BadExtension { line: i + 1 });
            }
            extensions.push((*ext).to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root: NodeHash(root),
            extensions,
        })
    }

    /// The checkpoint's note text.
    ///
    /// # Errors
    ///
    /// A [`CheckpointError`] when a field breaks the rules (so that the
    /// text would not parse back).
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        check_origin(&self.origin)?;
        if self.size > MAX_TREE_SIZE {
            return Err(CheckpointError::BadSize);
        }
        if self.extensions.len() > MAX_EXTENSIONS {
            return Err(CheckpointError::TooManyExtensions {
                found: self.extensions.len(),
            });
        }
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root.as_bytes())
        );
        for (i, ext) in self.extensions.iter().enumerate() {
            if bad_line(ext) || ext.len() > MAX_EXTENSION_LEN {
                return Err(CheckpointError::BadExtension { line: i + 1 });
            }
            out.push_str(ext);
            out.push('\n');
        }
        Ok(out)
    }

    /// Signs the checkpoint into a note.
    ///
    /// # Errors
    ///
    /// [`OpenError::Checkpoint`] for an invalid checkpoint,
    /// [`OpenError::Note`] when the note cannot be made.
    pub fn sign(&self, signers: &[&Signer]) -> Result<Note, OpenError> {
        Ok(Note::sign(&self.to_text()?, signers)?)
    }

    /// Parses a signed checkpoint, verifies it against `known` keys and
    /// checks its origin.
    ///
    /// # Errors
    ///
    /// An [`OpenError`] when the note is malformed, not signed by a known
    /// key, not a checkpoint, or of another origin.
    pub fn open(note: &[u8], origin: &str, known: &[Verifier]) -> Result<Checkpoint, OpenError> {
        let note = Note::parse(note)?;
        note.verify(known)?;
        let cp = Checkpoint::parse(note.text())?;
        if cp.origin != origin {
            return Err(OpenError::Origin {
                expected: origin.to_owned(),
                found: cp.origin,
            });
        }
        Ok(cp)
    }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if bad_line(origin) || origin.len() > MAX_ORIGIN_LEN {
        return Err(CheckpointError::BadOrigin);
    }
    Ok(())
}

/// A canonical decimal: digits only, no leading zero unless it is `0`, at
/// most [`MAX_TREE_SIZE`].
pub(crate) fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty()
        || s.len() > 20
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n <= max)
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    parse_decimal(s, MAX_TREE_SIZE).ok_or(CheckpointError::BadSize)
}

/// The 32 bytes of a canonical base64 hash (44 characters).
pub(crate) fn parse_hash(s: &str) -> Option<[u8; 32]> {
    if s.len() != 44 {
        return None;
    }
    BASE64
        .decode(s)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}
