//! Integration tests of btc-anchor-log.
