//! # btc-anchor-log
//!
//! The formats of btc-anchor's audit log, specified in `docs/audit-log.md`:
//! a transparency log in the C2SP formats, over the RFC 9162 tree of the
//! core crate ([`btc_anchor::merkle`]), whose entries reveal nothing.
//!
//! * [`note`]: C2SP signed notes with Ed25519 keys (vkeys and signer keys);
//!   [`keyfile`] keeps a signer key in a private file.
//! * [`checkpoint`]: C2SP checkpoints, the signed tree heads.
//! * [`tile`] and [`store`]: C2SP tiles and entry bundles, their writer and
//!   a reader that computes roots and proofs from them.
//! * [`entry`], [`event`] and [`jcs`]: entries are salted commitments to
//!   events written as canonical JSON (RFC 8785); records and actors appear
//!   only as salted commitments.
//! * [`proof`]: offline single-event proofs (`c2sp.org/tlog-proof@v1`).
//!

#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

pub mod checkpoint;
pub mod entry;
pub mod event;
pub mod jcs;
pub mod keyfile;
pub mod note;
pub mod store;
pub mod tile;
