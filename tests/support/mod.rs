pub mod chain;
pub mod cli;
pub mod regtest;
