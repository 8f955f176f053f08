pub mod chain;
pub mod regtest;
