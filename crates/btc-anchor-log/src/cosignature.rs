//! Timestamped Ed25519 cosignatures of checkpoints, C2SP
//! `tlog-cosignature` (`cosignature/v1`, signature type `0x04`;
//! `docs/audit-log.md` §16.1): what a witness signs when it has checked
//! that a checkpoint extends what it saw of the log before.
//!
//! A cosignature is a note signature line under the witness's name whose
//! key ID is SHA-256(name ‖ `0x0A` ‖ `0x04` ‖ public key), its first four bytes, and whose
//! signature is the timestamp (8 bytes, big-endian) followed by the
//! Ed25519 signature of
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the checkpoint's note text>
//! ```

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::note::{
    check_key_name, material_of, parse_key_id, parse_material_of, KeyError, KeyId, NoteSignature,
};

/// The signature type byte of timestamped Ed25519 cosignatures.
pub const COSIGNATURE_V1: u8 = 0x04;
/// The first line of the signed message.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";
/// Largest timestamp (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// The message a cosignature signs: the header, the time line, then the
/// checkpoint's note text (final newline included, no signature line).
pub fn signed_message(text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}")
}

/// Errors of verifying a cosignature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// No signature line of the witness's name and key ID.
    #[error("no cosignature by {name}")]
    Missing {
        /// The witness's key name.
        name: String,
    },
    /// A signature that is not 8 + 64 bytes.
    #[error("cosignature of {found} bytes, a timestamp and an ed25519 signature are 72")]
    Length {
        /// Bytes found.
        found: usize,
    },
    /// A timestamp of zero or over 2^63 − 1.
    #[error("cosignature timestamp {found} is zero or over 2^63 - 1")]
    BadTimestamp {
        /// The timestamp.
        found: u64,
    },
    /// The Ed25519 signature does not verify.
    #[error("cosignature by {name} does not verify")]
    BadSignature {
        /// The witness's key name.
        name: String,
    },
}

/// A witness's cosigning key: a name and an Ed25519 private key, written as
/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 ‖ seed)>`. `Debug` shows
/// the name and key ID only.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    id: KeyId,
    key: SigningKey,
}

impl Cosigner {
    /// A new key under `name`, its seed from the operating system's RNG.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadName`] for an invalid name, [`KeyError::Rng`] when the
    /// RNG fails.
    pub fn generate(name: &str) -> Result<Cosigner, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| KeyError::Rng)?;
        let c = Cosigner::from_seed(name, &seed);
        seed.fill(0);
        c
    }

    /// The key under `name` with the given 32-byte seed.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadName`] for an invalid name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Cosigner, KeyError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = KeyId::of_type(name, COSIGNATURE_V1, &key.verifying_key().to_bytes());
        Ok(Cosigner {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses a cosigner key string, checking its type and key ID.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] for a malformed string, another type or a key ID
    /// that does not match.
    pub fn parse(skey: &str) -> Result<Cosigner, KeyError> {
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
        let id = parse_key_id(parts[1])?;
        let mut seed = parse_material_of(parts[2], COSIGNATURE_V1)?;
        let c = Cosigner::from_seed(parts[0], &seed);
        seed.fill(0);
        let c = c?;
        if c.id != id {
            return Err(KeyError::KeyIdMismatch {
                expected: c.id,
                found: id,
            });
        }
        Ok(c)
    }

    /// The key string (secret).
    pub fn to_skey(&self) -> String {
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            self.id,
            material_of(&self.key.to_bytes(), COSIGNATURE_V1)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The cosignature of a checkpoint's note text at `timestamp` (Unix
    /// seconds, 1 to 2^63 − 1; clamped into that range).
    pub fn cosign(&self, text: &str, timestamp: u64) -> NoteSignature {
        let timestamp = timestamp.clamp(1, MAX_TIMESTAMP);
        let sig = self.key.sign(signed_message(text, timestamp).as_bytes());
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.id,
            signature,
        }
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}+{})", self.name, self.id)
    }
}

/// A witness's public key: `<name>+<hex key ID>+<base64(0x04 ‖ key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a witness vkey, checking its type and key ID.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] for a malformed vkey, another type, an invalid key
    /// or a key ID that does not match.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, KeyError> {
        let parts: Vec<&str> = vkey.splitn(3, '+').collect();
        if parts.len() != 3 {
            return Err(KeyError::Parts {
                expected: 3,
                found: parts.len(),
            });
        }
        check_key_name(parts[0])?;
        let id = parse_key_id(parts[1])?;
        let key = parse_material_of(parts[2], COSIGNATURE_V1)?;
        let expected = KeyId::of_type(parts[0], COSIGNATURE_V1, &key);
        if expected != id {
            return Err(KeyError::KeyIdMismatch {
                expected,
                found: id,
            });
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| KeyError::BadPublicKey)?;
        Ok(CosignatureVerifier {
            name: parts[0].to_owned(),
            id,
            key,
        })
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        format!(
            "{}+{}+{}",
            self.name,
            self.id,
            material_of(&self.key.to_bytes(), COSIGNATURE_V1)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Whether a signature line is this witness's (name and key ID).
    pub fn is_mine(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.id
    }

    /// Verifies this witness's cosignature `sig` of the note text `text`
    /// (strict RFC 8032); its timestamp.
    ///
    /// # Errors
    ///
    /// [`CosignatureError::Missing`] when `sig` is another key's, and the
    /// other [`CosignatureError`]s.
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<u64, CosignatureError> {
        if !self.is_mine(sig) {
            return Err(CosignatureError::Missing {
                name: self.name.clone(),
            });
        }
        if sig.signature.len() != 72 {
            return Err(CosignatureError::Length {
                found: sig.signature.len(),
            });
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&sig.signature[..8]);
        let timestamp = u64::from_be_bytes(ts);
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::BadTimestamp { found: timestamp });
        }
        let bad = || CosignatureError::BadSignature {
            name: self.name.clone(),
        };
        let s = ed25519_dalek::Signature::from_slice(&sig.signature[8..]).map_err(|_| bad())?;
        self.key
            .verify_strict(signed_message(text, timestamp).as_bytes(), &s)
            .map_err(|_| bad())?;
        Ok(timestamp)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureVerifier({})", self.to_vkey())
    }
}

/// The base64 of a signature line's bytes after the name, for tests and
/// vectors.
pub fn signature_base64(sig: &NoteSignature) -> String {
    let mut b = sig.key_id.0.to_be_bytes().to_vec();
    b.extend_from_slice(&sig.signature);
    BASE64.encode(b)
}
