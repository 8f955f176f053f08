//! `btc-anchor seal`: extends complete proofs' headers to the last block of
//! their difficulty epoch with [`btc_anchor::seal::seal`], and rewrites each
//! proof file atomically.

use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::file::{write_atomic, WriteOptions};
use btc_anchor::headers::HeaderSource;
use btc_anchor::proof::{read_proof_file, ReadProofError, Stage};
use btc_anchor::seal::{seal, SealError, Sealed};
use btc_anchor::text::escape_path;
use btc_anchor::verification::Headers;
use btc_anchor::verify::{Evidence, Report, Verdict, VerifyOptions};
use clap::Args;
use serde_json::{json, Value};

use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::{count, json_line};
use crate::NetworkArg;

/// Arguments of `btc-anchor seal`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["electrum", "headers"]))]
pub struct SealArgs {
    /// The complete proofs to seal; each is rewritten in place (atomically)
    /// once its block's difficulty epoch has closed
    #[arg(value_name = "PROOF", required = true)]
    pub proofs: Vec<PathBuf>,

    /// Take the headers from this Electrum server (ssl://host:port;
    /// tcp:// on regtest)
    #[arg(long, value_name = "URL")]
    pub electrum: Option<String>,

    /// Take the headers from this file of raw 80-byte headers from the
    /// genesis block (e.g. a node's headers)
    #[arg(long, value_name = "FILE")]
    pub headers: Option<PathBuf>,

    /// Verify the sealed proofs against this checkpoint table (as written
    /// by btc-anchor headers checkpoints, docs/checkpoints.md) instead of
    /// the one built into btc-anchor
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,

    /// The network the proofs must be on and the source must follow
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

/// The long help of `btc-anchor seal`.
pub const ABOUT: &str = "Extend complete proofs so that they carry every block header up to \
     the last block of their block's difficulty epoch (block 2016*i + 2015), which btc-anchor's \
     checkpoints pin: a sealed proof then shows from the file alone that its block is in the \
     real chain, for as long as the file is kept.\n\n\
     The headers come from --electrum or --headers, which must hold the proof's block and \
     the headers it already carries; those are kept, and the ones added must link. Each \
     sealed proof is verified before its file is rewritten (a temporary file in the same \
     folder, flushed, then renamed over it). A proof whose epoch has not closed yet, or that \
     is not confirmed yet, is left as it is, with a line saying why (and how many blocks to \
     go). A sealed proof is larger: up to 2,015 more headers, about 330 KB.";

/// The exit code table of `seal --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  every proof given is sealed now (some may have been sealed already), or at least one was sealed and the others' epochs are still open
  1  a proof is malformed, for another network, not in the source's chain, or does not verify once sealed; or the headers file is malformed
  2  usage error: missing, unknown or conflicting arguments
  3  pending: no proof could be sealed yet (their epochs are still open, or they are not confirmed); run seal again later
  4  input/output error: a proof or the headers file is missing or unreadable, or a proof cannot be rewritten
  6  server error: the Electrum server is unreachable, refused, or sent data that does not check out";

/// What happened to one proof file.
enum FileResult {
    Sealed {
        height: u32,
        epoch: u32,
        epoch_end: u32,
        added: u32,
        report: Box<Report>,
    },
    Already {
        height: u32,
        epoch: u32,
        epoch_end: u32,
    },
    Open {
        height: u32,
        epoch: u32,
        epoch_end: u32,
        tip: u32,
        blocks_to_go: u32,
    },
    NotConfirmed(Stage),
    Failed(Failure, &'static str),
}

/// Runs `seal`.
pub fn run(args: &SealArgs) -> Result<Done, Failure> {
    let network = Network::from(args.network);
    let options = crate::verify::verify_options(network, args.checkpoints.as_deref())?;
    let server;
    let headers = match (&args.headers, &args.electrum) {
        (Some(path), _) => Headers::File(path),
        (None, Some(url)) => {
            server = crate::verify::connect_electrum(url, network)?;
            Headers::Source(&server)
        }
        (None, None) => {
            return Err(Failure::usage(
                "no header source given",
                "pass --electrum URL or --headers FILE",
            ))
        }
    };
    let remote = args.headers.is_none();
    let open = headers
        .open(network)
        .map_err(|e| crate::verify::headers_failure(&e, network))?;
    let source = open.source();

    let mut results = Vec::new();
    for path in &args.proofs {
        let r = seal_file(path, source, remote, &options);
        // A failing source fails every file after it: stop there.
        let stop = matches!(&r, FileResult::Failed(f, _) if f.exit == Exit::Network);
        results.push((path.clone(), r));
        if stop {
            break;
        }
    }
    Ok(finish(&results, args.json))
}

fn seal_file(
    path: &Path,
    source: &dyn HeaderSource,
    remote: bool,
    options: &VerifyOptions,
) -> FileResult {
    let proof = match read_proof_file(path) {
        Ok(p) => p,
        Err(ReadProofError::Format(e)) => {
            return FileResult::Failed(
                Failure::invalid(
                    format!("{}: {e}", escape_path(path)),
                    "the file is damaged or is not a btc-anchor proof; use an intact copy",
                ),
                e.kind(),
            )
        }
        Err(e) => {
            return FileResult::Failed(
                Failure::io(with_sources(&e), "check the path of the proof file"),
                "io",
            )
        }
    };
    let height = proof
        .anchor
        .as_ref()
        .and_then(|a| a.block.as_ref())
        .map_or(0, |b| b.height);
    match seal(&proof, source, options) {
        Ok(Sealed::Extended {
            proof: sealed,
            added,
            epoch,
            epoch_end,
            report,
        }) => {
            if let Err(e) = write_atomic(
                path,
                sealed.to_json().as_bytes(),
                WriteOptions {
                    replace: true,
                    durable: true,
                },
            ) {
                return FileResult::Failed(
                    Failure::io(
                        format!("cannot rewrite {}: {e}", escape_path(path)),
                        "the proof file is unchanged; check the folder's permissions and free space, then seal again",
                    ),
                    "io",
                );
            }
            FileResult::Sealed {
                height,
                epoch,
                epoch_end,
                added,
                report,
            }
        }
        Ok(Sealed::AlreadySealed {
            epoch, epoch_end, ..
        }) => FileResult::Already {
            height,
            epoch,
            epoch_end,
        },
        Ok(Sealed::EpochOpen {
            epoch,
            epoch_end,
            tip,
            blocks_to_go,
            ..
        }) => FileResult::Open {
            height,
            epoch,
            epoch_end,
            tip,
            blocks_to_go,
        },
        Ok(_) => FileResult::Failed(
            Failure::invalid(
                "the library gave an answer this program does not know how to show",
                "use the btc-anchor program built with the same library version",
            ),
            "unknown",
        ),
        Err(SealError::NotConfirmed { stage }) => FileResult::NotConfirmed(stage),
        Err(e) => {
            let kind = e.kind();
            FileResult::Failed(seal_failure(path, &e, remote), kind)
        }
    }
}

fn seal_failure(path: &Path, e: &SealError, remote: bool) -> Failure {
    let error = format!("{}: {}", escape_path(path), with_sources(e));
    let (exit, hint) = match e {
        SealError::WrongNetwork { found, .. } => (
            Exit::Invalid,
            format!("the proof was made on {found}; pass --network {found} and a source for it"),
        ),
        SealError::NotInChain { .. } | SealError::HeaderMismatch { .. } => (
            Exit::Invalid,
            "the proof's block is not in the source's best chain: check that the source follows the proof's network and is up to date; a block reorganised out must be anchored again".to_owned(),
        ),
        SealError::Verify(_) => (
            Exit::Invalid,
            "the file is unchanged; btc-anchor verify tells whether the proof itself is valid, and if it is, the source's headers do not check out: try another source".to_owned(),
        ),
        SealError::Source(s) if s.is_io() => (
            Exit::Io,
            "check the path given with --headers".to_owned(),
        ),
        SealError::SourceTooShort { height, .. } if !remote => (
            Exit::Invalid,
            format!("update the headers file so that it reaches past height {height}"),
        ),
        _ if remote => (
            Exit::Network,
            "the file is unchanged; run seal again, or try another server".to_owned(),
        ),
        _ => (
            Exit::Invalid,
            "the file is unchanged; update the headers file from a node you trust".to_owned(),
        ),
    };
    Failure { exit, error, hint }
}

/// The verdict of a sealed proof, in words.
fn verdict_words(report: &Report) -> String {
    let checkpoint = report.block.as_ref().and_then(|b| b.checkpoint_epoch);
    match (report.verdict, report.evidence, checkpoint) {
        (Verdict::Valid, Some(Evidence::Checkpoint { epoch, .. }), _) => {
            format!("valid offline on the checkpoint of epoch {epoch}")
        }
        (Verdict::Valid, Some(Evidence::TestNetwork), Some(epoch)) => format!(
            "valid offline, linked to the checkpoint of epoch {epoch} (a test network: no weight as evidence)"
        ),
        (Verdict::Valid, Some(Evidence::TestNetwork), None) => {
            "valid (a test network: no weight as evidence); this btc-anchor has no checkpoint for its epoch".to_owned()
        }
        (Verdict::Valid, _, _) => {
            "valid offline on the work of its headers; this btc-anchor has no checkpoint for its epoch yet".to_owned()
        }
        _ => "inconclusive offline: this btc-anchor has no checkpoint for its epoch yet; a newer one (or --checkpoints) will place it".to_owned(),
    }
}

fn verdict_name(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Valid => "valid",
        Verdict::Inconclusive(_) => "inconclusive",
        _ => "pending",
    }
}

fn finish(results: &[(PathBuf, FileResult)], as_json: bool) -> Done {
    let (mut sealed, mut already, mut pending) = (0u64, 0u64, 0u64);
    let mut first_failure = None;
    let mut text = String::new();
    let mut items = Vec::new();
    for (path, r) in results {
        let p = escape_path(path);
        match r {
            FileResult::Sealed {
                height,
                epoch,
                epoch_end,
                added,
                report,
            } => {
                sealed += 1;
                text += &format!(
                    "sealed {p}: block {height} now carries headers to block {epoch_end}, the last of difficulty epoch {epoch} ({} added); {}\n",
                    count(u64::from(*added), "header"),
                    verdict_words(report)
                );
                items.push(json!({
                    "proof": path.display().to_string(), "result": "sealed", "height": height,
                    "epoch": epoch, "epoch_end": epoch_end, "headers_added": added,
                    "verdict": verdict_name(report),
                    "checkpoint_epoch": report.block.as_ref().and_then(|b| b.checkpoint_epoch),
                }));
            }
            FileResult::Already {
                height,
                epoch,
                epoch_end,
            } => {
                already += 1;
                text += &format!(
                    "already sealed {p}: block {height}'s headers reach block {epoch_end}, the last of difficulty epoch {epoch}\n"
                );
                items.push(json!({
                    "proof": path.display().to_string(), "result": "already-sealed", "height": height,
                    "epoch": epoch, "epoch_end": epoch_end,
                }));
            }
            FileResult::Open {
                height,
                epoch,
                epoch_end,
                tip,
                blocks_to_go,
            } => {
                pending += 1;
                text += &format!(
                    "not yet {p}: block {height}'s difficulty epoch {epoch} closes at block {epoch_end}, {} to go (the source is at {tip}); unchanged\n",
                    count(u64::from(*blocks_to_go), "block")
                );
                items.push(json!({
                    "proof": path.display().to_string(), "result": "epoch-open", "height": height,
                    "epoch": epoch, "epoch_end": epoch_end, "tip": tip,
                    "blocks_to_go": blocks_to_go,
                }));
            }
            FileResult::NotConfirmed(stage) => {
                pending += 1;
                let next = if *stage == Stage::Broadcast {
                    "run btc-anchor upgrade once its transaction confirms"
                } else {
                    "anchor it (btc-anchor anchor), then run btc-anchor upgrade once its transaction confirms"
                };
                text += &format!(
                    "not confirmed {p}: a {stage} proof has no block yet; {next}; unchanged\n"
                );
                items.push(json!({
                    "proof": path.display().to_string(), "result": "not-confirmed", "stage": stage.to_string(),
                }));
            }
            FileResult::Failed(f, kind) => {
                let prefix = format!("{p}: ");
                let message = f.error.strip_prefix(&prefix).unwrap_or(&f.error);
                text += &format!("failed {p}: {message}\n");
                items.push(json!({
                    "proof": path.display().to_string(), "result": "error", "reason": kind,
                    "message": f.error,
                }));
                first_failure.get_or_insert_with(|| f.clone());
            }
        }
    }
    let (exit, failure) = match first_failure {
        Some(f) => (f.exit, Some(f)),
        None if sealed + already == 0 && pending > 0 => (Exit::Pending, None),
        None => (Exit::Valid, None),
    };
    let stdout = if as_json {
        let v: Value = json!({
            "result": match exit {
                Exit::Valid => "sealed",
                Exit::Pending => "pending",
                _ => "error",
            },
            "sealed": sealed,
            "already_sealed": already,
            "not_yet": pending,
            "proofs": items,
        });
        json_line(&v)
    } else {
        if results.len() > 1 {
            text += &format!(
                "{} sealed, {} already sealed, {} not sealable yet\n",
                count(sealed, "proof"),
                already,
                pending
            );
        }
        text
    };
    Done {
        stdout,
        exit,
        failure,
    }
}
