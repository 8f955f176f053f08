//! `btc-anchor headers`: keep a local headers file (`docs/headers-file.md`)
//! in step with an Electrum server (`sync`), describe one (`info`), and
//! print the checkpoint table of one (`checkpoints`, the refresh procedure
//! of the built-in tables in `docs/checkpoints.md`).
//!
//! Every header is validated ([`btc_anchor::validate`]) before it is written,
//! and a file is written only by appending whole headers (or truncating
//! back to a fork point), each step made durable before the next.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::block::Header;
use btc_anchor::bitcoin::pow::Work;
use btc_anchor::bitcoin::{consensus, Network};
use btc_anchor::checkpoints::{epoch_end, Checkpoints, EPOCH_BLOCKS};
use btc_anchor::headers::{HeaderSource, HeaderSourceError, HeadersFile, HEADER_LEN};
use btc_anchor::validate::{ChainParams, ChainState, ChainValidator};
use btc_anchor_electrum::Electrum;
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
    Ok(Done::ok(made.to_text()))
}

// ---------------------------------------------------------------------------
// sync
// ---------------------------------------------------------------------------

/// Most attempts at catching up with a server whose tip moves (a new
/// block, a reorganisation) during the sync.
const ATTEMPTS: u32 = 5;

/// What a sync did.
#[derive(Debug, Default)]
struct Progress {
    appended: u64,
    rolled_back: u64,
    fork: Option<u32>,
    trimmed: u64,
    created: bool,
}

/// The file being synced, locked for the whole sync.
struct Out<'p> {
    path: &'p Path,
    file: File,
    network: Network,
}

impl Out<'_> {
    fn io(&self, what: &str, e: io::Error) -> Failure {
        Failure::io(
            format!("cannot {what} headers file {}: {e}", self.path.display()),
            "check the path given with --out and that it can be written; the file keeps every whole header written",
        )
    }

    fn len(&self) -> Result<u64, Failure> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| self.io("read", e))
    }

    /// Appends whole headers at `offset` and makes them durable.
    fn append(&self, offset: u64, bytes: &[u8]) -> Result<(), Failure> {
        self.file
            .write_all_at(bytes, offset)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.io("write", e))
    }

    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, len: u64) -> Result<(), Failure> {
        self.file
            .set_len(len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| self.io("write", e))
    }

    /// Opens and validates the file as it is now.
    fn validated(&self) -> Result<Option<HeadersFile>, Failure> {
        if self.len()? == 0 {
            return Ok(None);
        }
        HeadersFile::open(self.path, self.network)
            .map(Some)
            .map_err(|e| {
                if e.is_io() {
                    Failure::io(with_sources(&e), "check the path given with --out")
                } else {
                    Failure::invalid(
                        with_sources(&e),
                        format!(
                            "the file is not a valid chain of {} headers (another network, or \
                             changed since it was written): move it aside and sync again",
                            self.network
                        ),
                    )
                }
            })
    }
}

fn server_failure(server: &Electrum, e: btc_anchor::validate::ChainError) -> Failure {
    Failure {
        exit: Exit::Network,
        error: format!(
            "Electrum server {} sent a header that fails validation: {e}",
            server.url()
        ),
        hint: "nothing invalid was written (the file keeps the headers validated so far): try another server"
            .to_owned(),
    }
}

fn electrum(e: &btc_anchor_electrum::ElectrumError) -> Failure {
    crate::anchoring::electrum_failure(e)
}

/// Opens (or creates) the file to sync, refusing a folder, and locks it.
fn open_out<'p>(path: &'p Path, network: Network) -> Result<(Out<'p>, bool), Failure> {
    let hint = "check the path given with --out";
    if path.is_dir() {
        return Err(Failure::io(
            format!(
                "cannot write headers file {}: it is a folder",
                path.display()
            ),
            hint,
        ));
    }
    let existed = path.exists();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            Failure::io(
                format!("cannot open headers file {}: {e}", path.display()),
                hint,
            )
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Failure {
                exit: Exit::Busy,
                error: format!(
                    "another btc-anchor headers sync is writing {}",
                    path.display()
                ),
                hint: "wait for it to finish, then run this sync again if needed".to_owned(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Failure::io(
                format!("cannot lock headers file {}: {e}", path.display()),
                hint,
            ))
        }
    }
    Ok((
        Out {
            path,
            file,
            network,
        },
        !existed,
    ))
}

/// Makes a new file's directory entry durable.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        // Best effort: some file systems refuse to sync a directory.
        let _ = dir.sync_all();
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
    let params = ChainParams::new(network);
    let table = Checkpoints::builtin(network);
    // A new file is created once the server answers; an existing one is
    // checked before the server is asked anything.
    let early = if args.out.exists() {
        None
    } else {
        Some(crate::verify::connect_electrum(&args.electrum, network)?)
    };
    let (out, created) = open_out(&args.out, network)?;
    let mut progress = Progress {
        created,
        ..Progress::default()
    };
    // A partial header at the end is what an interrupted sync leaves.
    let len = out.len()?;
    let torn = len % HEADER_LEN as u64;
    if torn != 0 {
        out.truncate(len - torn)?;
        progress.trimmed = torn;
    }
    // The file as validated now, for the first attempt; later attempts
    // validate it again as they find it.
    let mut checked = Some(out.validated()?);
    let server = match early {
        Some(s) => s,
        None => crate::verify::connect_electrum(&args.electrum, network)?,
    };
    let bar = progress_bar();

    let mut server_tip = 0;
    for _ in 0..ATTEMPTS {
        server_tip = server.tip_height().map_err(|e| electrum(&e))?;
        let current = match checked.take() {
            Some(c) => c,
            None => out.validated()?,
        };
        let file = match current {
            Some(f) => f,
            None => {
                // A new file: the genesis block (the server's was checked
                // to be the network's when connecting).
                let mut v = ChainValidator::new(&params, table)
                    .map_err(|e| Failure::invalid(with_sources(&e), invalid_hint(network)))?;
                v.push_header(&params.genesis())
                    .map_err(|e| server_failure(&server, e))?;
                out.append(0, &consensus::serialize(&params.genesis()))?;
                if progress.created {
                    sync_parent(out.path);
                }
                progress.appended += 1;
                continue;
            }
        };
        let state = file.state().clone();
        let (tip, start) = (state.tip_height(), state.start_height());
        let common = tip.min(server_tip);
        if common < start {
            return Err(Failure {
                exit: Exit::Network,
                error: format!(
                    "Electrum server {} ends at height {server_tip}, before the file's first header (height {start})",
                    server.url()
                ),
                hint: "use a server that follows the whole chain".to_owned(),
            });
        }
        let theirs = server.header(common).map_err(|e| electrum(&e))?;
        let ours = file
            .header_at(common)
            .map_err(|e| file_failure(&e, network))?;
        let mut validator = if ours.map(|h| h.block_hash()) == Some(theirs.block_hash()) {
            if server_tip <= tip {
                // Up to date (or the server is behind the file).
                break;
            }
            ChainValidator::resume(&params, table, state)
                .map_err(|e| Failure::invalid(with_sources(&e), invalid_hint(network)))?
        } else {
            let fork = find_fork(&server, &file, start, common)?;
            let file_work = branch_work(&file, fork + 1, tip)?;
            let at_fork = file
                .validator_at(&params, table, fork)
                .map_err(|e| file_failure(&e, network))?;
            // Only a branch with more work replaces the file's.
            let mut dry = at_fork.clone();
            match append_from(&server, &mut dry, server_tip, None, Some(file_work), &bar)? {
                Run::Beat => {}
                // The server's chain changed again: look once more.
                Run::Moved => continue,
                Run::Reached => {
                return Err(Failure {
                    exit: Exit::Network,
                    error: format!(
                        "Electrum server {} follows a branch that forks from the file's chain after height {fork} with no more work than the file's; the file is kept",
                        server.url()
                    ),
                        hint: "use a server that follows the best chain".to_owned(),
                    })
                }
            }
            out.truncate(u64::from(fork - start + 1) * HEADER_LEN as u64)?;
            progress.rolled_back += u64::from(tip - fork);
            progress.fork = Some(fork);
            at_fork
        };
        drop(file);
        let to = validator.next_height().unwrap_or(0);
        bar.set_length(u64::from(server_tip.saturating_sub(to) + 1));
        bar.set_position(0);
        let start_len = out.len()?;
        append_from(&server, &mut validator, server_tip, Some(&out), None, &bar)?;
        progress.appended += (out.len()? - start_len) / HEADER_LEN as u64;
    }
    bar.finish_and_clear();

    let file = out.validated()?.ok_or_else(|| {
        Failure::io(
            format!("headers file {} is empty", out.path.display()),
            "run the sync again",
        )
    })?;
    Ok(Done::ok(sync_report(
        args, &file, &server, server_tip, &progress,
    )))
}

/// The highest height at or below `from` where the server and the file
/// have the same header.
fn find_fork(server: &Electrum, file: &HeadersFile, start: u32, from: u32) -> Result<u32, Failure> {
    let mut hi = from;
    loop {
        let lo = hi.saturating_sub(EPOCH_BLOCKS - 1).max(start);
        let theirs = server
            .headers(lo, hi - lo + 1, None)
            .map_err(|e| electrum(&e))?;
        let ours = file
            .header_range(lo, hi - lo + 1)
            .map_err(|e| file_failure(&e, file.network()))?;
        let same = theirs
            .iter()
            .zip(&ours)
            .rposition(|(a, b)| a.block_hash() == b.block_hash());
        if let Some(i) = same {
            return Ok(lo + i as u32);
        }
        if lo == start {
            return Err(Failure {
                exit: Exit::Network,
                error: format!(
                    "Electrum server {} shares no header with the file at or after its first height {start}",
                    server.url()
                ),
                hint: "check --network and --electrum: the server follows another chain than the file".to_owned(),
            });
        }
        hi = lo - 1;
    }
}

/// The work of the file's headers from `from` to `to`.
fn branch_work(file: &HeadersFile, from: u32, to: u32) -> Result<Work, Failure> {
    let mut work = Work::from_be_bytes([0; 32]);
    let mut next = from;
    while next <= to {
        let n = (to - next + 1).min(EPOCH_BLOCKS);
        let headers = file
            .header_range(next, n)
            .map_err(|e| file_failure(&e, file.network()))?;
        for h in &headers {
            work = work + h.work();
        }
        next += n;
    }
    Ok(work)
}

/// How a run of [`append_from`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Reached the height asked for (or the server's chain ended).
    Reached,
    /// The headers fetched hold more work than asked for.
    Beat,
    /// A batch did not link to the tip: the server reorganised meanwhile.
    Moved,
}

/// Fetches the server's headers after the validator's tip up to `to`,
/// validating each, and appends them to `out` batch by batch (when given;
/// the progress bar counts them). With `beat`, stops as soon as the headers
/// fetched hold more work than it.
fn append_from(
    server: &Electrum,
    validator: &mut ChainValidator<'_>,
    to: u32,
    out: Option<&Out<'_>>,
    beat: Option<Work>,
    bar: &indicatif::ProgressBar,
) -> Result<Run, Failure> {
    let mut work = Work::from_be_bytes([0; 32]);
    let Some(start) = validator.state().map(ChainState::start_height) else {
        return Ok(Run::Reached);
    };
    while let Some(next) = validator.next_height().filter(|n| *n <= to) {
        let n = (to - next + 1).min(EPOCH_BLOCKS);
        let batch: Vec<Header> = server.headers(next, n, None).map_err(|e| electrum(&e))?;
        let Some(first) = batch.first() else {
            return Ok(Run::Reached);
        };
        if Some(first.prev_blockhash) != validator.state().map(ChainState::tip_hash) {
            return Ok(Run::Moved);
        }
        let mut bytes = Vec::with_capacity(batch.len() * HEADER_LEN);
        for h in &batch {
            validator
                .push_header(h)
                .map_err(|e| server_failure(server, e))?;
            bytes.extend_from_slice(&consensus::serialize(h));
            work = work + h.work();
            if beat.is_some_and(|b| work > b) {
                return Ok(Run::Beat);
            }
        }
        if let Some(out) = out {
            out.append(u64::from(next - start) * HEADER_LEN as u64, &bytes)?;
            bar.inc(batch.len() as u64);
        }
    }
    Ok(Run::Reached)
}

fn sync_report(
    args: &SyncArgs,
    file: &HeadersFile,
    server: &Electrum,
    server_tip: u32,
    p: &Progress,
) -> String {
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
            "fork_height": p.fork,
            "trimmed_bytes": p.trimmed,
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
    if let Some(fork) = p.fork {
        line(
            &mut out,
            "rolled back",
            &format!(
                "{} after height {fork} (a reorganisation)",
                count(p.rolled_back, "header")
            ),
        );
    }
    if p.trimmed > 0 {
        line(
            &mut out,
            "repaired",
            &format!(
                "removed a partial header of {} left by an interrupted sync",
                count(p.trimmed, "byte")
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
