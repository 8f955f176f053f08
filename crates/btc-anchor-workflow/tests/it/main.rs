//! The workflow's integration tests, against a private regtest stack.

mod anchoring;
