//! `btc-anchor headers`: keep a local headers file (`docs/headers-file.md`)
//! in step with an Electrum server (`sync`), describe one (`info`), and
//! print the checkpoint table of one (`checkpoints`, the refresh procedure
//! of the built-in tables in `docs/checkpoints.md`).
//!
//! The sync is the library's ([`btc_anchor::headers::sync`]): every header
//! is validated ([`btc_anchor::validate`]) before it is written, and a file
//! is written only by appending whole headers (or truncating back to a fork
//! point), each step made durable before the next. This module connects,
//! maps its errors to exit codes and renders its report.

use std::io::{self, IsTerminal as _};
use std::path::PathBuf;

use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::{epoch_end, Checkpoints};
use btc_anchor::headers::sync::{
    LockedHeadersFile, SyncError, SyncErrorKind, SyncProgress, SyncReport,
};
use btc_anchor::headers::{HeaderSourceError, HeadersFile};
use btc_anchor::validate::{ChainParams, ChainState};
use btc_anchor_electrum::{Electrum, ElectrumError};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::{count, json_line, line};
use crate::NetworkArg;

/// The exit code table of `headers --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  done: the file is synced, described or its table printed
  1  the headers file fails validation (or is not a whole number of headers)
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: the headers file is missing, unreadable or cannot be written
  6  server error: the Electrum server is unreachable, refused, or sent headers that do not check out
  8  busy: another headers sync is writing the file";

/// Arguments of `btc-anchor headers`.
#[derive(Debug, Args)]
pub struct HeadersArgs {
    /// What to do
    #[command(subcommand)]
    pub command: HeadersCommand,
}

/// The `headers` subcommands.
#[derive(Debug, Subcommand)]
pub enum HeadersCommand {
    /// Download the server's headers into FILE, or bring FILE up to date
    /// (validating every header before it is written)
    #[command(
        long_about = "Download the Electrum server's best chain of headers into FILE, or bring \
                      FILE up to date: the file is validated, the server's header at the file's \
                      tip is compared, and the headers after it are appended, each validated \
                      (linkage, proof of work, difficulty retargeting, median time, built-in \
                      checkpoints) before it is written. On a reorganisation the file is cut \
                      back to the fork point, if the server's branch has more work. Whole \
                      headers are appended and flushed to disk batch by batch: an interrupted \
                      sync leaves a valid file (a partial header at its end, if any, is removed \
                      by the next sync).",
        after_help = EXIT_CODES_HELP
    )]
    Sync(SyncArgs),
    /// Validate a headers file and show what it holds
    #[command(after_help = EXIT_CODES_HELP)]
    Info(InfoArgs),
    /// Validate a headers file and print the checkpoint table of the
    /// epochs it closes (the form of src/checkpoints/NETWORK.txt)
    #[command(
        long_about = "Validate a headers file and print, on stdout, the checkpoint table of every \
                      difficulty epoch it closes, in the text form of docs/checkpoints.md: the \
                      form of the built-in tables in src/checkpoints/NETWORK.txt. For a file \
                      that starts after a checkpoint, the epochs before it are copied from the \
                      built-in table.",
        after_help = EXIT_CODES_HELP
    )]
    Checkpoints(CheckpointsArgs),
}

/// Arguments of `btc-anchor headers sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The Electrum server (ssl://host:port; tcp:// on regtest)
    #[arg(long, value_name = "URL")]
    pub electrum: String,

    /// The headers file to create or bring up to date
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// The network of the server and the file
    #[arg(
        long,
        value_name = "NAME",
        value_enum,
        env = "BTC_ANCHOR_NETWORK",
        default_value_t = NetworkArg::Bitcoin
    )]
    pub network: NetworkArg,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `btc-anchor headers info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The headers file (read only)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The network of the file
    #[arg(
        long,
        value_name = "NAME",
        value_enum,
        env = "BTC_ANCHOR_NETWORK",
        default_value_t = NetworkArg::Bitcoin
    )]
    pub network: NetworkArg,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `btc-anchor headers checkpoints`.
#[derive(Debug, Args)]
pub struct CheckpointsArgs {
    /// The headers file (read only)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The network of the file
    #[arg(
        long,
        value_name = "NAME",
        value_enum,
        env = "BTC_ANCHOR_NETWORK",
        default_value_t = NetworkArg::Bitcoin
    )]
    pub network: NetworkArg,

    /// Also record each epoch's bits (the bits of the next epoch's first
    /// block), as the mainnet table does; refused on testnet and testnet4,
    /// whose minimum-difficulty blocks break the rule that every block of
    /// an epoch carries them
    #[arg(long)]
    pub with_targets: bool,

    /// Print one JSON object instead of the table
    #[arg(long)]
    pub json: bool,
}

/// Runs `headers`.
pub fn run(args: &HeadersArgs) -> Result<Done, Failure> {
    match &args.command {
        HeadersCommand::Sync(a) => sync(a),
        HeadersCommand::Info(a) => info(a),
        HeadersCommand::Checkpoints(a) => checkpoints(a),
    }
}

/// A stable short name for why a file is not a valid headers file.
fn reason(e: &HeaderSourceError) -> &'static str {
    match e {
        HeaderSourceError::Invalid { error, .. } => error.kind(),
        HeaderSourceError::BadLength { .. } => "bad-length",
        HeaderSourceError::TooLarge { .. } => "too-large",
        _ => "header-source",
    }
}

fn invalid_hint(network: Network) -> String {
    format!(
        "the file is not a valid chain of {network} headers: check --network, or rebuild it \
         with btc-anchor headers sync"
    )
}

fn file_failure(e: &HeaderSourceError, network: Network) -> Failure {
    if e.is_io() {
        Failure::io(with_sources(&e), "check the path of the headers file")
    } else {
        Failure::invalid(with_sources(&e), invalid_hint(network))
    }
}

/// "from the genesis block" or "from right after checkpoint 300 (height
/// 606,815)".
fn start_text(state: &ChainState) -> String {
    match state.start_checkpoint() {
        None => "from the genesis block".to_owned(),
        Some(k) => format!("from right after checkpoint {k} (height {})", epoch_end(k)),
    }
}

fn checkpoints_text(state: &ChainState, table: &Checkpoints) -> String {
    let network = table.network();
    match (state.checkpoints_agreed(), state.last_checkpoint()) {
        (0, _) if table.is_empty() => format!("none: no built-in {network} checkpoints"),
        (0, _) => format!(
            "none reached ({} built-in, up to height {})",
            table.len(),
            table.last_height().unwrap_or(0)
        ),
        (n, Some(last)) => format!(
            "agrees with {} (the last at height {}; {} built-in)",
            count(u64::from(n), "checkpoint"),
            epoch_end(last),
            table.len()
        ),
        (n, None) => format!("agrees with {}", count(u64::from(n), "checkpoint")),
    }
}

fn info(args: &InfoArgs) -> Result<Done, Failure> {
    let network = Network::from(args.network);
    let path = &args.file;
    let table = Checkpoints::builtin(network);
    let file = match HeadersFile::open(path, network) {
        Ok(f) => f,
        Err(e) if e.is_io() => return Err(file_failure(&e, network)),
        Err(e) => {
            let stdout = if args.json {
                let height = match &e {
                    HeaderSourceError::Invalid { error, .. } => error.height(),
                    _ => None,
                };
                json_line(&json!({
                    "result": "invalid",
                    "path": path.display().to_string(),
                    "network": network.to_string(),
                    "reason": reason(&e),
                    "message": with_sources(&e),
                    "height": height,
                }))
            } else {
                format!("INVALID: {e}\n")
            };
            return Ok(Done {
                stdout,
                exit: Exit::Invalid,
                failure: Some(Failure::invalid(
                    format!("the headers file fails validation ({})", reason(&e)),
                    invalid_hint(network),
                )),
            });
        }
    };
    let s = file.state();
    let work = s.total_work().log2();
    let stdout = if args.json {
        json_line(&json!({
            "result": "valid",
            "path": path.display().to_string(),
            "network": network.to_string(),
            "start": if s.start_checkpoint().is_some() { "checkpoint" } else { "genesis" },
            "start_checkpoint": s.start_checkpoint(),
            "first_height": s.start_height(),
            "last_height": s.tip_height(),
            "headers": s.len(),
            "tip_hash": s.tip_hash().to_string(),
            "tip_time": s.tip_time(),
            "work_log2": (work * 1000.0).round() / 1000.0,
            "checkpoints": {
                "agreed": s.checkpoints_agreed(),
                "last_height": s.last_checkpoint().map(epoch_end),
                "builtin": table.len(),
                "builtin_last_height": table.last_height(),
            },
        }))
    } else {
        let mut out = format!("VALID: headers file {}\n", path.display());
        line(&mut out, "network", &network.to_string());
        line(
            &mut out,
            "heights",
            &format!(
                "{} to {} ({}, {})",
                s.start_height(),
                s.tip_height(),
                count(u64::from(s.len()), "header"),
                start_text(s)
            ),
        );
        line(&mut out, "tip", &s.tip_hash().to_string());
        line(
            &mut out,
            "work",
            &format!("2^{work:.2} hashes, added up over the file's headers"),
        );
        line(&mut out, "checkpoints", &checkpoints_text(s, table));
        line(
            &mut out,
            "checked",
            "linkage, proof of work, difficulty retargeting, median time, versions, checkpoints",
        );
        out
    };
    Ok(Done::ok(stdout))
}

fn checkpoints(args: &CheckpointsArgs) -> Result<Done, Failure> {
    let network = Network::from(args.network);
    let params = ChainParams::new(network);
    if args.with_targets && params.allows_min_difficulty() && params.retargets() {
        return Err(Failure::usage(
            format!(
                "--with-targets: {network} has minimum-difficulty blocks, so its blocks do not all \
                 carry their epoch's bits"
            ),
            "leave out --with-targets for testnet and testnet4",
        ));
    }
    let table = Checkpoints::builtin(network);
    let (_, made) =
        HeadersFile::open_with_checkpoints(&args.file, &params, table, args.with_targets)
            .map_err(|e| file_failure(&e, network))?;
    Ok(Done::ok(if args.json {
        let rows: Vec<_> = made
            .entries()
            .iter()
            .zip(0u32..)
            .map(|(c, epoch)| {
                json!({
                    "epoch": epoch,
                    "height": epoch_end(epoch),
                    "hash": c.hash.to_string(),
                    "next_bits": c.next_bits.map(|b| format!("{:08x}", b.to_consensus())),
                })
            })
            .collect();
        json_line(
            &json!({"result": "headers-checkpoints", "network": network.to_string(), "checkpoints": rows}),
        )
    } else {
        made.to_text()
    }))
}

// ---------------------------------------------------------------------------
// sync
// ---------------------------------------------------------------------------

/// The hint of a headers file that cannot be written.
const WRITE_HINT: &str =
    "check the path given with --out and that it can be written; the file keeps every whole header written";

/// The failure for a sync that failed.
fn sync_failure(e: &SyncError, network: Network) -> Failure {
    let server = |hint: &str| Failure {
        exit: Exit::Network,
        error: with_sources(e),
        hint: hint.to_owned(),
    };
    match e {
        SyncError::Busy { path } => Failure {
            exit: Exit::Busy,
            error: format!(
                "another btc-anchor headers sync is writing {}",
                path.display()
            ),
            hint: "wait for it to finish, then run this sync again if needed".to_owned(),
        },
        SyncError::Write { .. } => Failure::io(with_sources(e), WRITE_HINT),
        SyncError::Emptied { .. } => Failure::io(with_sources(e), "run the sync again"),
        SyncError::Server(HeaderSourceError::Remote(inner)) => {
            match inner.downcast_ref::<ElectrumError>() {
                Some(x) => crate::anchoring::electrum_failure(x),
                None => server("run the command again; nothing is lost"),
            }
        }
        SyncError::BadHeader { .. } => server(
            "nothing invalid was written (the file keeps the headers validated so far): try another server",
        ),
        SyncError::EndsBeforeFile { .. } | SyncError::NoChain { .. } => {
            server("use a server that follows the whole chain")
        }
        SyncError::NoCommonHeader { .. } | SyncError::OtherChain { .. } => server(
            "check --network and --electrum: the server follows another chain than the file",
        ),
        SyncError::NoMoreWork { .. } => server("use a server that follows the best chain"),
        other => match other.kind() {
            SyncErrorKind::Io => Failure::io(with_sources(e), "check the path given with --out"),
            SyncErrorKind::InvalidFile => Failure::invalid(
                with_sources(e),
                format!(
                    "the file is not a valid chain of {network} headers (another network, or \
                     changed since it was written): move it aside and sync again"
                ),
            ),
            _ => server("run the command again; nothing is lost"),
        },
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("headers {pos}/{len} {wide_bar} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    if !io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

fn sync(args: &SyncArgs) -> Result<Done, Failure> {
    let network = Network::from(args.network);
    let failure = |e: SyncError| sync_failure(&e, network);
    // A new file is created once the server answers; an existing one is
    // locked, repaired and checked before the server is asked anything.
    let early = if args.out.exists() {
        None
    } else {
        Some(crate::verify::connect_electrum(&args.electrum, network)?)
    };
    let out = LockedHeadersFile::open(&args.out, network).map_err(failure)?;
    let server = match early {
        Some(s) => s,
        None => crate::verify::connect_electrum(&args.electrum, network)?,
    };
    let bar = progress_bar();
    let report = out
        .sync(&server, &mut |p: SyncProgress| {
            bar.set_length(p.total);
            bar.set_position(p.appended);
        })
        .map_err(failure)?;
    bar.finish_and_clear();
    Ok(Done::ok(sync_report(args, &server, &report)))
}

fn sync_report(args: &SyncArgs, server: &Electrum, p: &SyncReport) -> String {
    let file = &p.file;
    let server_tip = p.server_tip;
    let s = file.state();
    if args.json {
        return json_line(&json!({
            "result": "synced",
            "path": args.out.display().to_string(),
            "network": file.network().to_string(),
            "electrum": server.url(),
            "server_tip": server_tip,
            "first_height": s.start_height(),
            "last_height": s.tip_height(),
            "tip_hash": s.tip_hash().to_string(),
            "appended": p.appended,
            "rolled_back": p.rolled_back,
            "fork_height": p.fork_height,
            "trimmed_bytes": p.trimmed_bytes,
            "created": p.created,
            "work_log2": (s.total_work().log2() * 1000.0).round() / 1000.0,
        }));
    }
    let mut out = format!(
        "SYNCED: headers file {} to height {}\n",
        args.out.display(),
        s.tip_height()
    );
    line(&mut out, "tip", &s.tip_hash().to_string());
    line(
        &mut out,
        "appended",
        &format!(
            "{}{}",
            count(p.appended, "header"),
            if p.created { " (new file)" } else { "" }
        ),
    );
    if let Some(fork) = p.fork_height {
        line(
            &mut out,
            "rolled back",
            &format!(
                "{} after height {fork} (a reorganisation)",
                count(p.rolled_back, "header")
            ),
        );
    }
    if p.trimmed_bytes > 0 {
        line(
            &mut out,
            "repaired",
            &format!(
                "removed a partial header of {} left by an interrupted sync",
                count(p.trimmed_bytes, "byte")
            ),
        );
    }
    if server_tip < s.tip_height() {
        line(
            &mut out,
            "server",
            &format!(
                "{} is behind the file (its tip is at height {server_tip})",
                server.url()
            ),
        );
    } else {
        line(&mut out, "server", server.url());
    }
    out
}
