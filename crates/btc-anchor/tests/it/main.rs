//! The core's integration tests: vectors, properties, real mainnet blocks,
//! the shared RFC 6962 and OpenTimestamps data, headers files and their
//! sync, checkpoint tables and sealing.

mod checkpoints;
mod fixtures;
mod headers;
mod headers_sync;
mod mainnet_blocks;
mod ots;
mod properties;
mod rfc6962;
mod seal;
mod verification;
