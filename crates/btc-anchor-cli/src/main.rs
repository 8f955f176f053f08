//! The `btc-anchor` command-line program.
//!
//! Thin by design: it parses arguments, calls the library, renders what the
//! library answers and maps the outcome to a stable exit code
//! ([`outcome::Exit`]). Every check lives in the `btc_anchor` library.

use std::process::ExitCode;

use btc_anchor::bitcoin::Network;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

mod anchoring;
mod audit_log;
mod event_verify;
mod export;
mod headers;
mod info;
mod ots;
mod outcome;
mod progress;
mod remote;
mod render;
mod report;
mod seal;
mod serve;
mod verify;
mod verify_many;
mod watch;
mod witness;

/// Prove when a record existed by anchoring its hash in Bitcoin, and check
/// such proofs offline.
#[derive(Debug, Parser)]
#[command(name = "btc-anchor", version, after_help = outcome::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check that a document (or its digest) existed by the time of the
    /// block its proof names
    #[command(
        long_about = "Check that a document (or its digest) existed no later than the \
                      block its proof names.\n\n\
                      The proof is a btc-anchor proof or an OpenTimestamps .ots file, told \
                      apart by its content. A btc-anchor proof is checked offline by default, \
                      from the proof file alone (record in batch, commitment in the \
                      transaction, transaction in the block, proof of work of the block and of \
                      the headers carried after it), except that the block is in the best \
                      chain; --headers checks that too against a local headers file. A .ots \
                      file carries no block header: its Bitcoin attestations are checked \
                      against --headers, and without it the answer is UNVERIFIED (exit 5), \
                      naming the blocks and the merkle roots they must have. Nothing given is \
                      ever modified.",
        after_help = outcome::EXIT_CODES_HELP
    )]
    Verify(verify::VerifyArgs),
    /// Show what a proof file (btc-anchor or .ots) holds, without verifying
    /// it
    #[command(after_help = "\
Exit status:
  0  the proof file was read
  1  the proof file is malformed
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: the proof file is missing or unreadable")]
    Info(info::InfoArgs),
    /// Hash files, folders or digests and queue them for the next batch;
    /// writes a pending proof beside each file
    #[command(after_help = anchoring::STAMP_EXIT_HELP)]
    Stamp(anchoring::StampArgs),
    /// Commit everything queued to Bitcoin in one transaction (or raise
    /// the fee of a stuck one with --bump)
    #[command(after_help = anchoring::ANCHOR_EXIT_HELP)]
    Anchor(anchoring::AnchorArgs),
    /// Complete the proofs of batches whose transaction has confirmed
    /// (and with --seal, seal those whose difficulty epoch has closed)
    #[command(after_help = anchoring::UPGRADE_EXIT_HELP)]
    Upgrade(anchoring::UpgradeArgs),
    /// Write the current proof of a record from the store (for a proof
    /// file lost or damaged)
    #[command(after_help = anchoring::PROOF_EXIT_HELP)]
    Proof(anchoring::ProofArgs),
    /// Write a consistent, private copy of the data directory (store,
    /// wallet, configuration)
    #[command(after_help = anchoring::BACKUP_EXIT_HELP)]
    Backup(anchoring::BackupArgs),
    /// Show queued records and the state of each batch
    #[command(after_help = anchoring::STORE_EXIT_HELP)]
    Status(anchoring::ReportArgs),
    /// Create, import, fund and inspect the wallet that pays for anchoring
    #[command(after_help = anchoring::STORE_EXIT_HELP)]
    Wallet(anchoring::WalletArgs),
    /// Extend complete proofs' headers to the last block of their
    /// difficulty epoch, so that they stand alone for good (rewrites each
    /// file)
    #[command(long_about = seal::ABOUT, after_help = seal::EXIT_CODES_HELP)]
    Seal(seal::SealArgs),
    /// Write a complete proof in another format: --ots for an
    /// OpenTimestamps .ots file
    #[command(
        long_about = "Write a complete (confirmed) proof as an OpenTimestamps detached \
                      timestamp (.ots), which OpenTimestamps tools verify against their own \
                      Bitcoin node. The proof is verified first (offline); the file is written \
                      whole or not at all, and an existing file is only replaced with --force.",
        after_help = export::EXIT_CODES_HELP
    )]
    Export(export::ExportArgs),
    /// Watch folders and run unattended: stamp new and changed files,
    /// anchor on a schedule, complete the proofs as batches confirm
    #[command(after_help = watch::WATCH_HELP)]
    Watch(watch::WatchArgs),
    /// Keep a local file of validated block headers up to date from an
    /// Electrum server, describe one, or print its checkpoint table
    #[command(after_help = headers::EXIT_CODES_HELP)]
    Headers(headers::HeadersArgs),
    /// Keep an audit log of record events (C2SP transparency-log formats):
    /// init, append, checkpoint, prove, audit
    #[command(after_help = audit_log::EXIT_CODES_HELP)]
    Log(audit_log::LogArgs),
    /// Run a witness of audit logs (C2SP tlog-witness): it cosigns a log's
    /// checkpoint only when it extends the last one it cosigned
    #[command(after_help = witness::EXIT_CODES_HELP)]
    Witness(witness::WitnessArgs),
    /// Run the calendar server: the OpenTimestamps calendar API and a
    /// native bulk API, anchoring with this data directory's wallet
    #[command(after_help = serve::EXIT_HELP)]
    Serve(serve::ServeArgs),
}

/// A Bitcoin network, as named on the command line and in proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    /// Bitcoin mainnet (also: mainnet)
    #[value(alias = "mainnet")]
    Bitcoin,
    /// Testnet3
    Testnet,
    /// Testnet4
    Testnet4,
    /// Signet
    Signet,
    /// Regression test network
    Regtest,
}

impl From<NetworkArg> for Network {
    fn from(n: NetworkArg) -> Network {
        match n {
            NetworkArg::Bitcoin => Network::Bitcoin,
            NetworkArg::Testnet => Network::Testnet,
            NetworkArg::Testnet4 => Network::Testnet4,
            NetworkArg::Signet => Network::Signet,
            NetworkArg::Regtest => Network::Regtest,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return outcome::from_clap(&e, named_command().as_deref()),
    };
    outcome::finish(match &cli.command {
        Command::Verify(args) => verify::run(args),
        Command::Info(args) => info::run(args),
        Command::Stamp(args) => anchoring::stamp(args),
        Command::Anchor(args) => anchoring::anchor(args),
        Command::Upgrade(args) => anchoring::upgrade(args),
        Command::Status(args) => anchoring::status(args),
        Command::Proof(args) => anchoring::proof(args),
        Command::Backup(args) => anchoring::backup(args),
        Command::Wallet(args) => anchoring::wallet(args),
        Command::Export(args) => export::run(args),
        Command::Headers(args) => headers::run(args),
        Command::Seal(args) => seal::run(args),
        Command::Log(args) => audit_log::run(args),
        Command::Witness(args) => witness::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Watch(args) => watch::run(args),
    })
}

/// The subcommand named on the command line, for usage hints.
fn named_command() -> Option<String> {
    let cli = Cli::command();
    std::env::args_os().skip(1).find_map(|a| {
        let a = a.to_str()?;
        cli.find_subcommand(a).map(|c| c.get_name().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn network_names_match_the_library() {
        for n in NetworkArg::value_variants() {
            let name = n.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(name, Some(Network::from(*n).to_string()));
        }
    }
}
