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
//! * [`fhir`]: FHIR R4 and R5 AuditEvent resources read as events.
//! * [`writer`]: a log on disk, its one writer (with group commit), over
//!   the [`journal`] of entries and their openings; shredding erases an
//!   event's salt and body on an erasure request, keeping its entry.
//! * [`audit`]: the audit of a published log, from a folder or (with the
//!   `http` feature, `remote`) from a tlog-tiles server, and with the
//!   clinic's journal, of every record's chain of events.
//!
//! Cargo features: `http` (off by default) adds `remote`, a reader of a
//! published log over HTTP with `ureq`.
//! * [`witness`] and [`cosignature`]: the C2SP tlog-witness exchange
//!   (`add-checkpoint`) and the timestamped Ed25519 cosignatures a witness
//!   returns.
//! * [`proof`]: offline single-event proofs (`c2sp.org/tlog-proof@v1`).
//! * [`event_proof`]: event proofs that reach Bitcoin: the entry's
//!   inclusion, consistency to an anchored checkpoint, and its anchor
//!   proof, in one file (`btc-anchor/event-proof@v1`).
//!
//! ## A log of one event, proved offline
//!
//! ```
//! use btc_anchor_log::checkpoint::Checkpoint;
//! use btc_anchor_log::entry::{ActorRef, Entry, RecordRef, Salt};
//! use btc_anchor_log::event::{Event, EventKind};
//! use btc_anchor_log::note::Signer;
//! use btc_anchor_log::proof::{Opening, TlogProof};
//! use btc_anchor_log::store::TileStore;
//!
//! let dir = tempfile::tempdir()?;
//! let key = Signer::generate("clinic.example/audit")?;
//! let event = Event {
//!     kind: EventKind::Read,
//!     time: 1_767_225_600,
//!     record: RecordRef::new(b"record 17", &Salt::random()?),
//!     actor: ActorRef::new(b"dr. who", &Salt::random()?),
//!     content: None,
//!     prev: None,
//!     codes: Default::default(),
//! };
//! let opening = Opening::new(event, Salt::random()?)?;
//! let entries = vec![opening.entry()];
//!
//! // Write the tiles, and sign the checkpoint of the new size.
//! let store = TileStore::new(dir.path());
//! store.write(&entries, 0)?;
//! let mut reader = store.reader(1)?;
//! let checkpoint = Checkpoint {
//!     origin: "clinic.example/audit".into(),
//!     size: 1,
//!     root: reader.root()?,
//!     extensions: vec![],
//! };
//! let proof = TlogProof {
//!     extra: Some(opening.to_bytes()),
//!     index: 0,
//!     path: reader.inclusion_proof(0)?,
//!     checkpoint: checkpoint.sign(&[&key])?,
//! };
//!
//! // Anyone with the log's vkey checks the proof offline.
//! let text = proof.to_text();
//! let parsed = TlogProof::parse(text.as_bytes())?;
//! let (event, cp) = parsed.verify_event("clinic.example/audit", &key.verifier())?;
//! assert_eq!(event.kind, EventKind::Read);
//! assert_eq!(cp.size, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

pub mod audit;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod event;
pub mod event_proof;
pub mod fhir;
pub mod jcs;
pub mod journal;
pub mod keyfile;
pub mod note;
pub mod proof;
#[cfg(feature = "http")]
pub mod remote;
pub mod store;
pub mod tile;
pub mod witness;
pub mod writer;
