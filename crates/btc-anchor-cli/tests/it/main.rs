//! The command line's integration tests: the `btc-anchor` program run as a
//! user runs it, offline and against a private regtest stack.

mod cli;
mod cli_anchoring;
mod headers_cmd;
mod headers_sync;
mod log_cmd;
mod report_cmd;
mod seal_cmd;
mod serve_cmd;
mod snapshots;
mod support;
mod watch_cmd;
