//! Log entries that hide everything (`docs/audit-log.md` §6): each entry is
//! a 32-byte salted commitment to an event, and an event names its record
//! and actor only by salted commitments too.
//!
//! * entry = SHA-256([`ENTRY_DOMAIN`] ‖ salt ‖ SHA-256(canonical event))
//! * record reference = SHA-256([`RECORD_DOMAIN`] ‖ salt ‖ record ID)
//! * actor reference = SHA-256([`ACTOR_DOMAIN`] ‖ salt ‖ actor ID)
//!
//! Every salt is 32 bytes from the operating system's RNG. The leaf of an
//! entry in the tree is the RFC 6962 leaf hash of its 32 bytes.

use std::fmt;

use btc_anchor::merkle::{leaf_hash, LeafHash};
use sha2::{Digest as _, Sha256};

use crate::event::{Event, EventError};

/// Domain of an entry commitment (24 bytes, the last a NUL).
pub const ENTRY_DOMAIN: &[u8] = b"btc-anchor/log-entry/v1\0";
/// Domain of a record reference.
pub const RECORD_DOMAIN: &[u8] = b"btc-anchor/log-record/v1\0";
/// Domain of an actor reference.
pub const ACTOR_DOMAIN: &[u8] = b"btc-anchor/log-actor/v1\0";
/// Length of every salt.
pub const SALT_LEN: usize = 32;

/// A 32-byte random salt.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Salt(pub [u8; SALT_LEN]);

/// The operating system's random number generator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RngError;

impl Salt {
    /// A fresh salt from the operating system's RNG.
    ///
    /// # Errors
    ///
    /// [`RngError`] when the RNG fails.
    pub fn random() -> Result<Salt, RngError> {
        let mut s = [0u8; SALT_LEN];
        getrandom::fill(&mut s).map_err(|_| RngError)?;
        Ok(Salt(s))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", self.to_hex())
    }
}

fn commit(domain: &[u8], salt: &Salt, data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(salt.0);
    h.update(data);
    h.finalize().into()
}

macro_rules! commitment {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// From 64 lower-case hex digits.
            pub fn from_hex(s: &str) -> Option<$name> {
                parse_hex32(s).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }
    };
}

/// 32 bytes from exactly 64 lower-case hex digits.
pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

commitment!(
    /// A log entry: the salted commitment to one event.
    Entry
);
commitment!(
    /// A salted reference to a record (its identifier never appears).
    RecordRef
);
commitment!(
    /// A salted reference to an actor (a person or a system).
    ActorRef
);
commitment!(
    /// A digest of content an event is about (e.g. a record's SHA-256).
    ContentDigest
);

impl Entry {
    /// The entry of `event` under `salt`.
    ///
    /// # Errors
    ///
    /// An [`EventError`] when the event cannot be written canonically.
    pub fn commit(event: &Event, salt: &Salt) -> Result<Entry, EventError> {
        let bytes = event.to_canonical_json()?;
        Ok(Entry::commit_bytes(&bytes, salt))
    }

    /// The entry of canonical event bytes under `salt`.
    pub fn commit_bytes(canonical_event: &[u8], salt: &Salt) -> Entry {
        let inner: [u8; 32] = Sha256::digest(canonical_event).into();
        Entry(commit(ENTRY_DOMAIN, salt, &inner))
    }

    /// The entry's leaf hash: SHA-256(`0x00` ‖ entry).
    pub fn leaf(&self) -> LeafHash {
        leaf_hash(&self.0)
    }
}

impl AsRef<[u8]> for Entry {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl RecordRef {
    /// The reference to the record with identifier `record_id` under
    /// `salt`.
    pub fn new(record_id: &[u8], salt: &Salt) -> RecordRef {
        RecordRef(commit(RECORD_DOMAIN, salt, record_id))
    }
}

impl ActorRef {
    /// The reference to the actor with identifier `actor_id` under `salt`.
    pub fn new(actor_id: &[u8], salt: &Salt) -> ActorRef {
        ActorRef(commit(ACTOR_DOMAIN, salt, actor_id))
    }
}
