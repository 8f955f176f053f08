//! `btc-anchor witness`: a small C2SP tlog-witness
//! (`docs/audit-log.md` §16.3), over [`btc_anchor_server::witness`].

use std::path::PathBuf;

use btc_anchor_server::witness::{add_log, init, Witness, WitnessError};
use clap::{Args, Subcommand};

use crate::audit_log::read_vkey;
use crate::outcome::{with_sources, Done, Failure};
use crate::render::{json_line, listening};
use serde_json::json;

/// Arguments of `btc-anchor witness`.
#[derive(Debug, Args)]
pub struct WitnessArgs {
    #[command(subcommand)]
    command: WitnessCommand,
}

#[derive(Debug, Subcommand)]
enum WitnessCommand {
    /// Create a witness in a new folder, with a new cosigning key
    Init(InitArgs),
    /// Add a log the witness cosigns for, by its vkey
    AddLog(AddLogArgs),
    /// Print the witness's public key (vkey), for the logs and their
    /// auditors
    Vkey(DirArg),
    /// Answer add-checkpoint requests over HTTP (C2SP tlog-witness)
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The witness's folder (created, private to its owner)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The witness's name, e.g. hospital.example/witness
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct AddLogArgs {
    /// The witness's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The log's vkey (btc-anchor log vkey), or a file holding it
    #[arg(value_name = "VKEY")]
    vkey: String,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DirArg {
    /// The witness's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The witness's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Address to listen on; port 0 picks a free port. Loopback by
    /// default: put a reverse proxy (TLS) in front to offer it further
    #[arg(long, value_name = "ADDR", default_value = btc_anchor_server::witness::DEFAULT_LISTEN)]
    listen: std::net::SocketAddr,
    /// Log level on stderr: error, warn, info or debug
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// The exit codes of `witness --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  done; for serve: stopped by SIGINT or SIGTERM
  1  a key or the list of logs is malformed
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: the folder is missing, exists already (init), or cannot be read or written; for serve: the address cannot be bound";

/// Runs `witness`.
pub fn run(args: &WitnessArgs) -> Result<Done, Failure> {
    match &args.command {
        WitnessCommand::Init(a) => {
            let vkey = init(&a.dir, &a.name).map_err(|e| failure(&e))?;
            Ok(Done::ok(if a.json {
                json_line(
                    &json!({"result": "witness-created", "name": a.name, "vkey": vkey.to_string()}),
                )
            } else {
                format!(
                    "created the witness {} in {}\nvkey: {vkey}\n(add the logs it cosigns for with btc-anchor witness add-log DIR VKEY)\n",
                    a.name,
                    a.dir.display()
                )
            }))
        }
        WitnessCommand::AddLog(a) => {
            let vkey = read_vkey(&a.vkey)?;
            let added = add_log(&a.dir, &vkey).map_err(|e| failure(&e))?;
            Ok(Done::ok(if a.json {
                json_line(
                    &json!({"result": "witness-log-added", "origin": vkey.name(), "added": added}),
                )
            } else if added {
                format!("the witness now cosigns for the log {}\n", vkey.name())
            } else {
                format!("the witness already knew the log {}\n", vkey.name())
            }))
        }
        WitnessCommand::Vkey(a) => {
            let w = Witness::open(&a.dir).map_err(|e| failure(&e))?;
            Ok(Done::ok(if a.json {
                json_line(
                    &json!({"result": "witness-vkey", "name": w.verifier().name(), "vkey": w.verifier().to_string()}),
                )
            } else {
                format!("{}\n", w.verifier())
            }))
        }
        WitnessCommand::Serve(a) => {
            tracing_subscriber::fmt()
                .with_max_level(a.log_level)
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .init();
            btc_anchor_server::witness::run(&a.dir, a.listen, |addr| {
                print!("{}", listening("witness", addr, a.json));
            })
            .map_err(|e| {
                Failure::io(
                    with_sources(&e),
                    "check the witness's folder (btc-anchor witness init) and the address",
                )
            })?;
            Ok(Done::ok(String::new()))
        }
    }
}

fn failure(e: &WitnessError) -> Failure {
    let text = with_sources(e);
    match e {
        WitnessError::Key { .. } | WitnessError::TooManyLogs { .. } => {
            Failure::invalid(text, "fix the key or the witness's logs file")
        }
        _ => Failure::io(text, "check the witness folder's path and permissions"),
    }
}
