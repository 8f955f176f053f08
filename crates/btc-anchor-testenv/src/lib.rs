//! btc-anchor's test environment (not published).
//!
//! * [`regtest`]: a private regtest stack (bcoin and ElectrumX) per test,
//!   each in its own folder with its own ports, stopped when dropped.
//! * [`http`]: a keep-alive HTTP/1.1 client written by hand, for load
//!   generators and tests of the calendar server.
//! * [`postgres`]: a throwaway PostgreSQL cluster per test, on its own
//!   loopback port, stopped when dropped.
//! * [`chain`]: synthetic chains mined in memory, with batches anchored in
//!   them, for tests, benchmarks and fixtures.
//! * [`repo_root`], [`shared_data`] and [`skip`]: where the project's and
//!   the shared data's files are, and the one way a test may skip.

use std::path::{Path, PathBuf};

pub mod chain;
pub mod http;
pub mod postgres;
pub mod regtest;

/// The workspace's root folder (where `fixtures/`, `docs/` and `regtest/`
/// are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// A file under the workspace root, e.g. `fixtures/example/record.txt`.
pub fn repo_file(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// A folder or file of the shared data beside the project
/// (`../shared/data/<relative>`).
pub fn shared_data(relative: &str) -> PathBuf {
    repo_root().join("../shared/data").join(relative)
}

/// Skips a test whose input or tool is missing: outside CI with a message,
/// under `CI=true` never (a skip there would hide a missing install step or
/// missing `../shared` data), so it fails instead.
pub fn skip(reason: impl std::fmt::Display) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason}, and CI must not skip this test"
    );
    eprintln!("skipped: {reason}");
}
