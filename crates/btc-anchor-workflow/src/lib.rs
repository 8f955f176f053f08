//! # btc-anchor-workflow
//!
//! The anchoring workflow of btc-anchor: [`anchoring::Anchoring`] stamps
//! records, anchors a batch in one transaction paid by a self-custody BDK
//! wallet ([`wallet`]) over an Electrum server (`btc-anchor-electrum`),
//! bumps it, follows it through reorganisations, completes and seals the
//! proofs, with every step made durable in an SQLite store ([`store`])
//! before its side effect. [`config`] reads a data directory's settings;
//! [`backup`] copies a data directory consistently. [`watch`] runs it all
//! unattended: folders watched, files stamped as they appear, batches
//! anchored on a schedule and completed as they confirm. [`remote`]
//! stamps through a calendar server instead, with no wallet of one's own.
//!
//! The workflow is generic over its two seams ([`backend`]): a
//! [`backend::ChainBackend`] whose every answer is checked before it is
//! used, and a [`backend::Payer`].
//!
//! `examples/anchor_flow.rs` runs the whole flow against a regtest stack.
//!
//! ## Cargo features
//!
//! * `test-utils`: in-memory fakes of both seams (`fake::FakeChain`,
//!   `fake::FakePayer`) for fast property tests of the workflow.
//! * `postgres`: the journal ([`store::Journal`]) and the wallet's
//!   changesets in PostgreSQL, for calendar servers sharing one
//!   database (`postgres::PgJournal`, `postgres::PgChangesets`).

pub mod anchoring;
pub mod backend;
pub mod backup;
pub mod config;
#[cfg(feature = "test-utils")]
pub mod fake;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod remote;
pub mod store;
pub mod wallet;
pub mod watch;
