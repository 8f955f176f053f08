//! The workflow's integration tests, against a private regtest stack
//! (`anchoring`), and its property tests against in-memory fakes of the
//! chain backend and the payer (`model`).

mod anchoring;
mod model;
mod pg;
