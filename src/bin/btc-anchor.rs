//! The `btc-anchor` command-line program.
fn main() {}
