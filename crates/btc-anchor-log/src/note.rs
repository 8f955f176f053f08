//! Signed notes (C2SP `signed-note`, `docs/audit-log.md` §3) with Ed25519
//! keys: the note text, then a blank line, then one signature line per key,
//! `— <key name> <base64(key ID ‖ signature)>`.
//!
//! Parsing caps the note's size, its text lines and its signature lines
//! before anything is verified. Verification follows the spec: signatures by
//! unknown keys are ignored, a failing signature by a known key rejects the
//! whole note, and a note with no verified signature by a known key is
//! rejected.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// Largest note accepted, in bytes (text and signature lines).
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// Most lines the note text may have.
pub const MAX_TEXT_LINES: usize = 1024;
/// Most signature lines a note may carry (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 32;
/// Longest key name accepted, in bytes.
pub const MAX_KEY_NAME_LEN: usize = 256;
/// Longest signature in a signature line, in bytes after base64 decoding
/// (key ID included); room for the post-quantum types the spec mentions.
pub const MAX_SIGNATURE_LEN: usize = 5 * 1024;
/// The signature type byte of Ed25519 (C2SP signed-note, "Signature types").
pub const ED25519: u8 = 0x01;

/// The prefix of a signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// The prefix of an encoded signer key.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// A key ID: the first four bytes, big-endian, of
/// SHA-256(key name ‖ `0x0A` ‖ signature type ‖ public key).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// The ID of an Ed25519 public key under `name`.
    pub fn ed25519(name: &str, public_key: &[u8; 32]) -> KeyId {
        KeyId::of_type(name, ED25519, public_key)
    }

    /// The ID of a 32-byte public key of signature type `ty` under `name`
    /// (`0x04` for timestamped Ed25519 cosignatures, C2SP
    /// tlog-cosignature).
    pub fn of_type(name: &str, ty: u8, public_key: &[u8; 32]) -> KeyId {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([0x0A, ty]);
        h.update(public_key);
        let d = h.finalize();
        KeyId(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:08x})", self.0)
    }
}

/// Errors of parsing or encoding a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key name that is empty, too long, or holds a space, a plus or a
    /// control character.
    #[error("invalid key name")]
    BadName,
    /// A key string without the expected number of `+`-separated parts.
    #[error("a key must have {expected} '+'-separated parts, found {found}")]
    Parts {
        /// Parts the form needs.
        expected: usize,
        /// Parts found.
        found: usize,
    },
    /// A key ID that is not 8 lower-case hex digits.
    #[error("a key id must be 8 lower-case hex digits")]
    BadKeyId,
    /// Key material that is not canonical base64.
    #[error("key material is not canonical base64")]
    BadBase64,
    /// Key material of another length than a type byte and 32 bytes.
    #[error("key material must be 33 bytes, found {found}")]
    Length {
        /// Length found.
        found: usize,
    },
    /// A signature type other than Ed25519 (`0x01`).
    #[error("unsupported signature type {found:#04x}")]
    UnsupportedType {
        /// The type byte found.
        found: u8,
    },
    /// An Ed25519 public key that is not a valid curve point.
    #[error("invalid ed25519 public key")]
    BadPublicKey,
    /// The key ID in the string is not the one the name and key give.
    #[error("key id {found} does not match the key, which has id {expected}")]
    KeyIdMismatch {
        /// The ID computed from name and key.
        expected: KeyId,
        /// The ID in the string.
        found: KeyId,
    },
    /// A signer key string without the `PRIVATE+KEY+` prefix.
    #[error("a signer key starts with PRIVATE+KEY+")]
    NotPrivate,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Rng,
}

/// Checks a key name: non-empty, at most [`MAX_KEY_NAME_LEN`] bytes, no
/// Unicode space, no `+`, no control character.
///
/// # Errors
///
/// [`KeyError::BadName`] when the name breaks one of these rules.
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty()
        || name.len() > MAX_KEY_NAME_LEN
        || name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
    {
        return Err(KeyError::BadName);
    }
    Ok(())
}

pub(crate) fn parse_key_id(s: &str) -> Result<KeyId, KeyError> {
    if s.len() != 8 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(KeyError::BadKeyId);
    }
    u32::from_str_radix(s, 16)
        .map(KeyId)
        .map_err(|_| KeyError::BadKeyId)
}

fn parse_material(s: &str) -> Result<[u8; 32], KeyError> {
    parse_material_of(s, ED25519)
}

/// The 32 bytes of key material of signature type `ty` in base64.
pub(crate) fn parse_material_of(s: &str, ty: u8) -> Result<[u8; 32], KeyError> {
    // 33 bytes are 44 base64 characters; anything much longer is refused
    // before decoding.
    if s.len() > 64 {
        return Err(KeyError::Length { found: s.len() });
    }
    let bytes = BASE64.decode(s).map_err(|_| KeyError::BadBase64)?;
    if bytes.len() != 33 {
        return Err(KeyError::Length { found: bytes.len() });
    }
    if bytes[0] != ty {
        return Err(KeyError::UnsupportedType { found: bytes[0] });
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[1..]);
    Ok(key)
}

fn material(key: &[u8; 32]) -> String {
    material_of(key, ED25519)
}

/// Key material of signature type `ty` in base64.
pub(crate) fn material_of(key: &[u8; 32], ty: u8) -> String {
    let mut bytes = [0u8; 33];
    bytes[0] = ty;
    bytes[1..].copy_from_slice(key);
    BASE64.encode(bytes)
}

/// A verifier key: a name, its key ID and an Ed25519 public key, written as
/// `<name>+<hex key ID>+<base64(0x01 ‖ public key)>` (a "vkey").
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl Verifier {
    /// Parses a vkey, checking that its key ID is the one its name and key
    /// give.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] for a malformed vkey, another signature type, an
    /// invalid public key or a key ID that does not match.
    pub fn parse(vkey: &str) -> Result<Verifier, KeyError> {
        // The name and key ID hold no '+'; the base64 after them may.
        let parts: Vec<&str> = vkey.splitn(3, '+').collect();
        if parts.len() != 3 {
            return Err(KeyError::Parts {
                expected: 3,
                found: parts.len(),
            });
        }
        let (name, id, key) = (parts[0], parts[1], parts[2]);
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let key = parse_material(key)?;
        let expected = KeyId::ed25519(name, &key);
        if expected != id {
            return Err(KeyError::KeyIdMismatch {
                expected,
                found: id,
            });
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| KeyError::BadPublicKey)?;
        Ok(Verifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        format!(
            "{}+{}+{}",
            self.name,
            self.id,
            material(&self.key.to_bytes())
        )
    }

    /// Checks an Ed25519 signature over `text` (strict RFC 8032
    /// verification: canonical encodings, no small-order keys).
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(text, &sig).is_ok()
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({})", self.to_vkey())
    }
}

/// A signer key: a name and an Ed25519 private key (its 32-byte seed),
/// written as `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`.
///
/// `Debug` shows the name and key ID only.
#[derive(Clone)]
pub struct Signer {
    name: String,
    id: KeyId,
    key: SigningKey,
}

impl Signer {
    /// A new key under `name`, its seed from the operating system's RNG.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadName`] for an invalid name, [`KeyError::Rng`] when the
    /// RNG fails.
    pub fn generate(name: &str) -> Result<Signer, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| KeyError::Rng)?;
        let signer = Signer::from_seed(name, &seed);
        seed.fill(0);
        signer
    }

    /// The key under `name` with the given 32-byte seed (RFC 8032 private
    /// key).
    ///
    /// # Errors
    ///
    /// [`KeyError::BadName`] for an invalid name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Signer, KeyError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = KeyId::ed25519(name, &key.verifying_key().to_bytes());
        Ok(Signer {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses a signer key string, checking that its key ID matches.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] for a malformed string or a key ID that does not
    /// match.
    pub fn parse(skey: &str) -> Result<Signer, KeyError> {
        let rest = skey
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(KeyError::NotPrivate)?;
        let parts: Vec<&str> = rest.splitn(3, '+').collect();
        if parts.len() != 3 {
            return Err(KeyError::Parts {
                expected: 5,
                found: parts.len() + 2,
            });
        }
        let (name, id, seed) = (parts[0], parts[1], parts[2]);
        let id = parse_key_id(id)?;
        let mut seed = parse_material(seed)?;
        let signer = Signer::from_seed(name, &seed);
        seed.fill(0);
        let signer = signer?;
        if signer.id != id {
            return Err(KeyError::KeyIdMismatch {
                expected: signer.id,
                found: id,
            });
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The signer key string (secret: it holds the private key).
    pub fn to_skey(&self) -> String {
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            self.id,
            material(&self.key.to_bytes())
        )
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    fn sign_text(&self, text: &[u8]) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.id,
            signature: self.key.sign(text).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}+{})", self.name, self.id)
    }
}

/// One signature line of a note.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID (the first four bytes of the decoded signature).
    pub key_id: KeyId,
    /// The signature proper (the bytes after the key ID).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses one signature line, without its newline.
    ///
    /// # Errors
    ///
    /// A [`NoteError`] for anything but `— <name> <base64>` within the
    /// limits.
    pub fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        parse_signature_line(line, 1)
    }

    /// The signature line, `— <name> <base64(key ID ‖ signature)>` and a
    /// newline.
    pub fn to_line(&self) -> String {
        self.line()
    }

    fn line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.0.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(bytes))
    }
}

/// Errors of parsing a note or of signing a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A note larger than [`MAX_NOTE_LEN`].
    #[error("note is {found} bytes, over the limit of {MAX_NOTE_LEN}")]
    TooLarge {
        /// Size found.
        found: usize,
    },
    /// A note that is not valid UTF-8.
    #[error("note is not valid utf-8")]
    NotUtf8,
    /// A control character other than newline.
    #[error("note holds control character {found:#04x} at byte {offset}")]
    ControlCharacter {
        /// The character.
        found: u32,
        /// Its byte offset.
        offset: usize,
    },
    /// A text that is empty or does not end in a newline.
    #[error("note text must be non-empty and end in a newline")]
    TextEnd,
    /// A text of more than [`MAX_TEXT_LINES`] lines.
    #[error("note text has {found} lines, over the limit of {MAX_TEXT_LINES}")]
    TooManyLines {
        /// Lines found.
        found: usize,
    },
    /// No blank line separating text and signatures.
    #[error("note has no blank line before its signatures")]
    NoSignatureSection,
    /// A note without signature lines.
    #[error("note has no signature lines")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {found} signature lines, over the limit of {MAX_SIGNATURES}")]
    TooManySignatures {
        /// Lines found.
        found: usize,
    },
    /// A signature line not of the form `— <name> <base64>`.
    #[error("signature line {line} is malformed")]
    BadSignatureLine {
        /// The line's number among the signature lines, from 1.
        line: usize,
    },
    /// A signature line whose signature is not canonical base64 or is too
    /// short or too long.
    #[error("signature line {line} has an invalid signature encoding")]
    BadSignatureEncoding {
        /// The line's number among the signature lines, from 1.
        line: usize,
    },
    /// A key name that breaks the rules.
    #[error("signature line {line} has an invalid key name")]
    BadKeyName {
        /// The line's number among the signature lines, from 1.
        line: usize,
    },
    /// Signing without a signer.
    #[error("a note needs at least one signer")]
    NoSigners,
}

/// Errors of verifying a note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signature by a known key that does not verify.
    #[error("the signature by {name} (key id {key_id}) does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: KeyId,
    },
    /// No signature by a known key.
    #[error("the note carries no signature by a known key")]
    NoKnownSignature,
}

/// A parsed signed note: its text and its signature lines, in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks the rules every note's text obeys (§3.1): UTF-8 (by type), no
/// control character but newline, non-empty, ending in a newline, at most
/// [`MAX_TEXT_LINES`] lines.
fn check_text(text: &str) -> Result<(), NoteError> {
    check_controls(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextEnd);
    }
    let lines = text.bytes().filter(|&b| b == b'\n').count();
    if lines > MAX_TEXT_LINES {
        return Err(NoteError::TooManyLines { found: lines });
    }
    Ok(())
}

fn check_controls(s: &str) -> Result<(), NoteError> {
    if let Some((offset, c)) = s.char_indices().find(|&(_, c)| c != '\n' && c < ' ') {
        return Err(NoteError::ControlCharacter {
            found: c as u32,
            offset,
        });
    }
    Ok(())
}

impl Note {
    /// Parses a signed note (§3.1), without verifying any signature.
    ///
    /// # Errors
    ///
    /// A [`NoteError`] for a note over the limits or not of the form the
    /// spec gives.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { found: bytes.len() });
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_controls(s)?;
        // The text ends at the last blank line; everything after it is
        // signature lines.
        let split = s.rfind("\n\n").ok_or(NoteError::NoSignatureSection)?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        check_text(text)?;
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if !sigs.ends_with('\n') {
            return Err(NoteError::BadSignatureLine {
                line: sigs.matches('\n').count() + 1,
            });
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { found: lines.len() });
        }
        let mut signatures = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            signatures.push(parse_signature_line(line, i + 1)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Signs `text` with each signer, in order.
    ///
    /// # Errors
    ///
    /// A [`NoteError`] when the text breaks the rules of a note text or
    /// there is no signer, or the note would exceed the limits.
    pub fn sign(text: &str, signers: &[&Signer]) -> Result<Note, NoteError> {
        check_text(text)?;
        if signers.is_empty() {
            return Err(NoteError::NoSigners);
        }
        if signers.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                found: signers.len(),
            });
        }
        let note = Note {
            text: text.to_owned(),
            signatures: signers
                .iter()
                .map(|s| s.sign_text(text.as_bytes()))
                .collect(),
        };
        let len = note.to_text().len();
        if len > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { found: len });
        }
        Ok(note)
    }

    /// Adds signatures by more signers after the present ones.
    ///
    /// # Errors
    ///
    /// [`NoteError::TooManySignatures`] or [`NoteError::TooLarge`] when the
    /// note would exceed the limits.
    pub fn add_signatures(&mut self, signers: &[&Signer]) -> Result<(), NoteError> {
        let total = self.signatures.len() + signers.len();
        if total > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { found: total });
        }
        let mut next = self.clone();
        for s in signers {
            next.signatures.push(s.sign_text(self.text.as_bytes()));
        }
        let len = next.to_text().len();
        if len > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { found: len });
        }
        *self = next;
        Ok(())
    }

    /// Adds a signature line as it is (a cosignature, say), after the
    /// others.
    pub fn push_signature(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }

    /// Keeps only the signature lines for which `keep` is true.
    pub fn retain_signatures(&mut self, keep: impl FnMut(&NoteSignature) -> bool) {
        self.signatures.retain(keep);
    }

    /// The note text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The encoded note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// Verifies the note against known verifier keys (§3.2): signatures by
    /// keys not in `known` (by name and key ID together) are ignored; every
    /// signature by a known key must verify, and at least one must exist.
    /// Returns the known keys that signed, in signature order.
    ///
    /// # Errors
    ///
    /// [`VerifyError::BadSignature`] for a signature by a known key that
    /// fails, [`VerifyError::NoKnownSignature`] when no known key signed.
    pub fn verify<'a>(&self, known: &'a [Verifier]) -> Result<Vec<&'a Verifier>, VerifyError> {
        let mut signed: Vec<&Verifier> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = known
                .iter()
                .find(|v| v.name == sig.name && v.id == sig.key_id)
            else {
                continue;
            };
            if !v.verify(self.text.as_bytes(), &sig.signature) {
                return Err(VerifyError::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !signed.iter().any(|s| std::ptr::eq(*s, v)) {
                signed.push(v);
            }
        }
        if signed.is_empty() {
            return Err(VerifyError::NoKnownSignature);
        }
        Ok(signed)
    }
}

fn parse_signature_line(line: &str, n: usize) -> Result<NoteSignature, NoteError> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(NoteError::BadSignatureLine { line: n })?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::BadSignatureLine { line: n })?;
    check_key_name(name).map_err(|_| NoteError::BadKeyName { line: n })?;
    if b64.len() > MAX_SIGNATURE_LEN.div_ceil(3) * 4 {
        return Err(NoteError::BadSignatureEncoding { line: n });
    }
    let bytes = BASE64
        .decode(b64)
        .map_err(|_| NoteError::BadSignatureEncoding { line: n })?;
    if bytes.len() < 5 || bytes.len() > MAX_SIGNATURE_LEN {
        return Err(NoteError::BadSignatureEncoding { line: n });
    }
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: KeyId(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        signature: bytes[4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_verifies() {
        let v = Verifier::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let note = Note::parse("This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n".as_bytes()).unwrap();
        assert_eq!(note.verify(std::slice::from_ref(&v)).unwrap().len(), 1);
    }
}
