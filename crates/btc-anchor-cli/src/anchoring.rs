//! The anchoring commands: `wallet`, `stamp`, `anchor`, `upgrade`, `status`.
//! Each one opens the data directory through the library and renders what
//! the library answers; no anchoring logic lives here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use btc_anchor::bitcoin::Network;
use btc_anchor::file;
use btc_anchor::hash::{self, RecordDigest, WalkOptions};
use btc_anchor::seal::SealError;
use btc_anchor_electrum::{ConnectOptions, Electrum, ElectrumError};
use btc_anchor_workflow::anchoring::{
    AnchorStep, Anchoring, AnchoringError, BatchSeal, FeeOptions, FileUpgrade, RecordPaths,
    StampItem, StampOutcome, StampSummary, PAGE_SIZE,
};
use btc_anchor_workflow::config::{Config, ConfigError};
use btc_anchor_workflow::store::{BatchState, StoreError};
use btc_anchor_workflow::wallet::{AnchorWallet, KeySource, WalletError};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::{json_line, push_json_item};
use crate::NetworkArg;

/// Where the data lives and which network and server to use; shared by the
/// anchoring commands.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Data directory (store, wallet, configuration)
    /// [default: $XDG_DATA_HOME/btc-anchor/NETWORK or ~/.local/share/btc-anchor/NETWORK]
    #[arg(long, value_name = "DIR", env = "BTC_ANCHOR_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Bitcoin network to anchor on [default: the data directory's (its
    /// config.toml's network, or the one its store was created for), else
    /// bitcoin]
    #[arg(long, value_enum, env = "BTC_ANCHOR_NETWORK", global = true)]
    pub network: Option<NetworkArg>,
    /// Electrum server, ssl://host:port (tcp:// only on regtest unless
    /// allowed in config.toml) [default: electrum_url in config.toml]
    #[arg(long, value_name = "URL", env = "BTC_ANCHOR_ELECTRUM", global = true)]
    pub electrum: Option<String>,
}

/// `btc-anchor wallet ...`
#[derive(Debug, Args)]
pub struct WalletArgs {
    #[command(flatten)]
    common: Common,
    /// One JSON object on stdout
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: WalletAction,
}

#[derive(Debug, Subcommand)]
enum WalletAction {
    /// Create a new wallet from a fresh 12-word mnemonic (shown once)
    Create,
    /// Create the wallet from existing keys, read from a file (never from
    /// the command line, which other users can see)
    Import(ImportArgs),
    /// Show an address to fund the wallet
    Address,
    /// Show the balance (after syncing with the server)
    Balance,
    /// Sync the wallet with the server
    Sync,
    /// Print the wallet's secret (mnemonic and private descriptors) for a
    /// backup; handle the output with care
    Backup,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ImportArgs {
    /// A file holding a BIP39 mnemonic (English)
    #[arg(long, value_name = "FILE")]
    mnemonic_file: Option<PathBuf>,
    /// A file holding an extended private key (xprv/tprv)
    #[arg(long, value_name = "FILE")]
    xprv_file: Option<PathBuf>,
    /// A file holding two private descriptors, receive then change, one
    /// per line
    #[arg(long, value_name = "FILE")]
    descriptors_file: Option<PathBuf>,
}

/// `btc-anchor stamp ...`
#[derive(Debug, Args)]
pub struct StampArgs {
    #[command(flatten)]
    common: Common,
    /// Files or folders to stamp (folders recursively, hidden entries and
    /// symbolic links skipped); - reads one document from standard input
    paths: Vec<PathBuf>,
    /// A SHA-256 digest to stamp instead of a file (repeatable)
    #[arg(long, value_name = "HEX")]
    digest: Vec<String>,
    /// What the record is, stored with it, for a digest or standard input
    /// [default: sha256:HEX, or "standard input"]
    #[arg(long, value_name = "TEXT")]
    label: Option<String>,
    /// Store no path at all in the data directory: no label and no proof
    /// path (at a clinic, file paths may name patients). The pending proof
    /// is still written beside each file; complete it with btc-anchor
    /// upgrade PATH... (the files or folders stamped), which finds the
    /// proof files by their content
    #[arg(long, conflicts_with_all = ["label", "server"])]
    no_label: bool,
    /// Print only the summary and what was not stamped
    #[arg(long, short)]
    quiet: bool,
    /// Write proofs into this folder instead of beside each file
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also stamp hidden files and folders
    #[arg(long)]
    include_hidden: bool,
    /// Stamp through this calendar server (btc-anchor serve) instead of
    /// this data directory: no wallet needed; each proof starts queued at
    /// the server, and btc-anchor upgrade --server completes it. An API key
    /// is read from BTC_ANCHOR_API_KEY
    #[arg(long, value_name = "URL", env = "BTC_ANCHOR_SERVER")]
    pub(crate) server: Option<String>,
    /// One JSON object on stdout
    #[arg(long)]
    json: bool,
}

/// `btc-anchor anchor ...`
#[derive(Debug, Args)]
pub struct AnchorArgs {
    #[command(flatten)]
    common: Common,
    /// Fee rate in sat/vB [default: the server's estimate]
    #[arg(long, value_name = "SAT_PER_VB")]
    fee_rate: Option<f64>,
    /// Refuse a fee above this many satoshis [default: max_fee_sat in
    /// config.toml]
    #[arg(long, value_name = "SATS")]
    max_fee: Option<u64>,
    /// Replace the unconfirmed batch transaction by one paying more (RBF)
    #[arg(long)]
    bump: bool,
    /// Show no progress bar (one is drawn on stderr, if it is a terminal,
    /// while a large batch is built)
    #[arg(long, short)]
    quiet: bool,
    /// One JSON object on stdout
    #[arg(long)]
    json: bool,
}

/// `btc-anchor upgrade`
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    common: Common,
    /// Also seal the proofs of final batches whose block's difficulty
    /// epoch has closed: rewrite them to carry every header up to the
    /// epoch's last block, so that they stand alone for good. Each sealed
    /// proof grows by up to 2,015 headers (about 330 KB): for large
    /// batches, seal only the proofs you hand out (btc-anchor seal)
    #[arg(long)]
    seal: bool,
    /// Then write every record's proof file again from the store (each
    /// verified first), for proof files lost, damaged or edited
    #[arg(long)]
    rewrite: bool,
    /// Show no progress bar (one is drawn on stderr, if it is a terminal,
    /// while many proof files are written)
    #[arg(long, short)]
    quiet: bool,
    /// Complete the proofs of records stamped through this calendar server
    /// (stamp --server): fetch each complete proof, check that it proves
    /// that very record and verifies, and write it in place. No data
    /// directory is used
    #[arg(long, value_name = "URL", env = "BTC_ANCHOR_SERVER", conflicts_with_all = ["seal", "rewrite"])]
    pub(crate) server: Option<String>,
    /// The proof files, documents or folders to complete: with --server,
    /// those stamped through it; without, every pending proof among them
    /// of a record of this data directory (matched by content: this is how
    /// the proofs of stamp --no-label are completed), written in place once
    /// its batch is complete
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// `btc-anchor proof`
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("record").required(true).args(["document", "digest"]))]
pub struct ProofArgs {
    #[command(flatten)]
    common: Common,
    /// The document whose proof to write (hashed with SHA-256, read only)
    #[arg(value_name = "DOCUMENT")]
    document: Option<PathBuf>,
    /// The SHA-256 of the record instead of the document
    #[arg(long, value_name = "HEX")]
    digest: Option<String>,
    /// Write the proof to this file [default: print it on stdout]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace the --out file if it exists
    #[arg(long, requires = "out")]
    force: bool,
    /// With --out, print one JSON object saying what was written
    #[arg(long, requires = "out")]
    json: bool,
}

/// `proof --help`'s exit codes.
pub const PROOF_EXIT_HELP: &str = "\
Exit status:
  0  the proof was written (its stage is shown: verify it to check it)
  1  the proof rebuilt from the store does not verify: nothing was written
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: the document is unreadable, no record of it is in the data directory,
     its complete proof cannot be rebuilt (completed by an older version), or --out cannot be
     written (or exists, without --force)
  8  busy: another btc-anchor command is using the data directory";

/// `btc-anchor backup`
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    common: Common,
    /// The folder to write the copy into (created; must be empty)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// One JSON object on stdout
    #[arg(long)]
    json: bool,
}

/// `backup --help`'s exit codes.
pub const BACKUP_EXIT_HELP: &str = "\
Exit status:
  0  the copy was written: a data directory of its own (use it with --data-dir, or copy its
     files into an empty one, to restore; then upgrade --rewrite writes every proof file again)
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: no store in the data directory, the --out folder is not empty, or a
     file cannot be copied
  8  busy: another btc-anchor command is using the data directory";

/// `btc-anchor status`
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    common: Common,
    /// Also show each queued record's label and proof path (file paths,
    /// which at a clinic may name patients: shown only when asked)
    #[arg(long)]
    labels: bool,
    /// One JSON object on stdout
    #[arg(long)]
    json: bool,
}

fn default_data_dir(network: Network) -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("btc-anchor").join(network.to_string())
}

impl Common {
    /// The network asked for with --network or BTC_ANCHOR_NETWORK.
    fn asked(&self) -> Option<Network> {
        self.network.map(Network::from)
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| default_data_dir(self.asked().unwrap_or(Network::Bitcoin)))
    }

    /// The data directory's configuration, on the network asked for or
    /// the directory's own ([`Config::resolve`]).
    pub(crate) fn config(&self) -> Result<Config, Failure> {
        let mut c = Config::resolve(&self.data_dir(), self.asked()).map_err(config_failure)?;
        if let Some(url) = &self.electrum {
            c.electrum_url = Some(url.clone());
        }
        Ok(c)
    }

    fn connect(&self, config: &Config) -> Result<Electrum, Failure> {
        let url = config.electrum_url.clone().ok_or_else(|| {
            Failure::usage(
                "no Electrum server configured",
                format!(
                    "pass --electrum ssl://HOST:PORT, or set electrum_url in {}",
                    self.data_dir().join("config.toml").display()
                ),
            )
        })?;
        Electrum::connect(
            &url,
            config.network,
            ConnectOptions {
                allow_insecure: config.allow_insecure_tcp,
                timeout: Duration::from_secs(20),
            },
        )
        .map_err(|e| electrum_failure(&e))
    }

    fn open(&self) -> Result<Anchoring, Failure> {
        let config = self.config()?;
        let mut flow = Anchoring::open(&self.data_dir(), config).map_err(anchoring_failure)?;
        if let Some(n) = page_size_hook() {
            flow.set_page_size(n);
        }
        Ok(flow)
    }
}

fn config_failure(e: ConfigError) -> Failure {
    let hint = match &e {
        ConfigError::NetworkMismatch { found, .. } => {
            format!("pass --network {found} (or leave it out), or use another --data-dir")
        }
        _ => "fix or remove the setting in config.toml".to_owned(),
    };
    Failure::usage(with_sources(&e), hint)
}

const NOT_RELAYED: &str = "nothing is lost: the signed transaction is stored; run the command again, or raise the fee with anchor --bump";
const BAD_DATA: &str =
    "the server sent data that does not check out; nothing was written: try another server";

pub fn electrum_failure(e: &ElectrumError) -> Failure {
    let hint = match e {
        ElectrumError::BadUrl(_) => "write it as ssl://host:port (or tcp://host:port on regtest)",
        ElectrumError::Insecure(_) => {
            "use an ssl:// server, or set allow_insecure_tcp = true in config.toml for a server you trust on your own network"
        }
        ElectrumError::Connect { .. } => {
            "check the server address and your network; for ssl://, the server's certificate must be valid"
        }
        ElectrumError::WrongChain { .. } => "the server follows another network: check --network and --electrum",
        ElectrumError::BadHeader { .. }
        | ElectrumError::BadChain { .. }
        | ElectrumError::BadMerkleProof { .. } => BAD_DATA,
        ElectrumError::Rejected { .. } => NOT_RELAYED,
        _ => "run the command again; nothing is lost",
    };
    Failure {
        exit: Exit::Network,
        error: crate::outcome::with_sources(e),
        hint: hint.to_owned(),
    }
}

pub(crate) fn wallet_failure(e: WalletError, data_dir: &Path) -> Failure {
    let hint = match &e {
        WalletError::NoWallet(_) => "create one with btc-anchor wallet create (or wallet import)".to_owned(),
        WalletError::Exists(_) => "use the existing wallet, or another --data-dir".to_owned(),
        WalletError::InsufficientFunds { .. } => {
            "fund the wallet (btc-anchor wallet address), then run anchor again; the records stay queued".to_owned()
        }
        WalletError::FeeTooHigh { .. } => "raise --max-fee, or wait for lower fees; the records stay queued".to_owned(),
        WalletError::Permissions { path, .. } => format!("chmod 600 {}", path.display()),
        WalletError::WrongNetwork { found, .. } => format!("pass --network {found}, or use another --data-dir"),
        WalletError::Electrum(inner) => return electrum_failure(inner),
        _ => format!("check the wallet files in {}", data_dir.display()),
    };
    Failure {
        exit: Exit::Wallet,
        error: crate::outcome::with_sources(&e),
        hint,
    }
}

pub(crate) fn anchoring_failure(e: AnchoringError) -> Failure {
    match e {
        AnchoringError::Store(StoreError::Locked(dir)) => Failure {
            exit: Exit::Busy,
            error: format!("another btc-anchor command is using {}", dir.display()),
            hint: "wait for it to finish, then run this command again".to_owned(),
        },
        AnchoringError::WrongNetwork { store, .. } => Failure::usage(
            with_sources(&e),
            format!("pass --network {store} (or leave it out), or use another --data-dir"),
        ),
        AnchoringError::Store(other) => Failure::io(with_sources(&other), "check the data directory and its free space"),
        AnchoringError::Wallet(w) => wallet_failure(w, Path::new("the data directory")),
        AnchoringError::Electrum(x) => electrum_failure(&x),
        AnchoringError::BadHeader { .. } | AnchoringError::BadInclusion { .. } | AnchoringError::ShortChain { .. } => Failure {
            exit: Exit::Network,
            error: crate::outcome::with_sources(&e),
            hint: BAD_DATA.to_owned(),
        },
        AnchoringError::NotRelayed { .. } => Failure {
            exit: Exit::Network,
            error: with_sources(&e),
            hint: NOT_RELAYED.to_owned(),
        },
        AnchoringError::EmptyQueue => Failure {
            exit: Exit::NothingToDo,
            error: "nothing to anchor: no record is queued".to_owned(),
            hint: "stamp files first: btc-anchor stamp FILE...".to_owned(),
        },
        AnchoringError::NothingToBump => Failure {
            exit: Exit::NothingToDo,
            error: "no unconfirmed batch transaction to bump".to_owned(),
            hint: "btc-anchor status shows the state of each batch".to_owned(),
        },
        AnchoringError::NoFeeEstimate => Failure {
            exit: Exit::Wallet,
            error: "the server has no fee estimate".to_owned(),
            hint: "pass --fee-rate SAT_PER_VB".to_owned(),
        },
        AnchoringError::BadFeeRate(_) => Failure::usage(with_sources(&e), "give --fee-rate between 1 and 10000 sat/vB"),
        AnchoringError::ProofInvalid { .. } => Failure::invalid(
            crate::outcome::with_sources(&e),
            "nothing was written; if the Electrum server is not one you run, try another; otherwise this is a bug in btc-anchor: please report it",
        ),
        AnchoringError::Seal { ref source, .. } => {
            let (exit, hint) = match source {
                SealError::NotInChain { .. } => (
                    Exit::Invalid,
                    "the batch's block is no longer in the server's best chain; its proofs are unchanged: check the server, or anchor the records again",
                ),
                _ => (
                    Exit::Network,
                    "the proofs are unchanged; run upgrade --seal again, or try another server",
                ),
            };
            Failure {
                exit,
                error: crate::outcome::with_sources(&e),
                hint: hint.to_owned(),
            }
        }
        AnchoringError::WriteProof { .. } => Failure::io(
            with_sources(&e),
            "the record is safe in the store; fix the folder's permissions and run btc-anchor upgrade to write it again",
        ),
        other => Failure::io(crate::outcome::with_sources(&other), "run the command again; the store keeps every record"),
    }
}

/// The test hook: `BTC_ANCHOR_PAUSE_AT=signed|broadcast` stops the process
/// right after that step was made durable, so crash tests can kill it
/// there (with SIGKILL) and check that nothing is lost or doubled.
///
/// Debug builds only (the integration tests run the debug binary): a
/// release build ignores the variable, so no environment can make an
/// installed `btc-anchor` hang mid-anchoring. `tests::pause_hook_is_debug_only`
/// checks both ways (`cargo test` and `cargo test --release`).
pub(crate) fn pause_hook(step: &AnchorStep) {
    let here = match step {
        AnchorStep::Signed { .. } => "signed",
        AnchorStep::Broadcast { .. } => "broadcast",
        _ => "batched",
    };
    if pause_requested(here) {
        eprintln!("paused after {here}");
        std::thread::sleep(Duration::from_secs(600));
    }
}

/// The test hook `BTC_ANCHOR_PAGE_SIZE=N`: stamp, anchor and upgrade read
/// and stamp N records per step instead of
/// [`btc_anchor_workflow::anchoring::PAGE_SIZE`], so that tests cross page
/// boundaries with a few records. Debug builds only, as [`pause_hook`].
#[cfg(debug_assertions)]
fn page_size_hook() -> Option<usize> {
    std::env::var("BTC_ANCHOR_PAGE_SIZE").ok()?.parse().ok()
}

/// Never in a release build: the hook is not compiled in.
#[cfg(not(debug_assertions))]
fn page_size_hook() -> Option<usize> {
    None
}

/// Whether `BTC_ANCHOR_PAUSE_AT` asks to pause after the step `here`.
#[cfg(debug_assertions)]
fn pause_requested(here: &str) -> bool {
    std::env::var("BTC_ANCHOR_PAUSE_AT").is_ok_and(|at| at == here)
}

/// Never in a release build: the hook is not compiled in.
#[cfg(not(debug_assertions))]
fn pause_requested(_here: &str) -> bool {
    false
}

pub fn wallet(args: &WalletArgs) -> Result<Done, Failure> {
    let c = &args.common;
    let dir = c.data_dir();
    let network = c.config()?.network;
    let werr = |e| wallet_failure(e, &dir);
    let _lock = btc_anchor_workflow::store::DataLock::acquire(&dir)
        .map_err(|e| anchoring_failure(e.into()))?;
    match &args.action {
        WalletAction::Create => {
            let (mut w, mnemonic) =
                AnchorWallet::create(&dir, network, KeySource::Generate).map_err(werr)?;
            let address = w.address().map_err(werr)?;
            if args.json {
                return Ok(Done::ok(json_line(&json!({
                    "result": "created",
                    "network": network.to_string(),
                    "data_dir": dir.display().to_string(),
                    "address": address.to_string(),
                    "mnemonic": mnemonic.map(|m| m.to_string()),
                }))));
            }
            let mut out = format!(
                "created a {network} wallet in {}\n",
                btc_anchor::text::escape_path(&dir)
            );
            if let Some(m) = mnemonic {
                out += &format!(
                    "write down these 12 words and keep them offline; they are shown only once \
                     (btc-anchor wallet backup shows the secret file again):\n  {m}\n"
                );
            }
            out += &format!("fund it at: {address}\n");
            Ok(Done::ok(out))
        }
        WalletAction::Import(i) => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).map_err(|e| {
                    Failure::io(
                        format!("cannot read {}: {e}", p.display()),
                        "check the path",
                    )
                })
            };
            let source = if let Some(p) = &i.mnemonic_file {
                KeySource::Mnemonic(read(p)?)
            } else if let Some(p) = &i.xprv_file {
                KeySource::Xprv(read(p)?)
            } else if let Some(p) = &i.descriptors_file {
                let text = read(p)?;
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                let [external, internal] = lines.as_slice() else {
                    return Err(Failure::usage(
                        "the descriptors file must hold exactly two descriptors",
                        "one line for receiving, one for change",
                    ));
                };
                KeySource::Descriptors {
                    external: (*external).to_owned(),
                    internal: (*internal).to_owned(),
                }
            } else {
                return Err(Failure::usage(
                    "no key file given",
                    "pass --mnemonic-file, --xprv-file or --descriptors-file",
                ));
            };
            let (mut w, _) = AnchorWallet::create(&dir, network, source).map_err(werr)?;
            let address = w.address().map_err(werr)?;
            if args.json {
                return Ok(Done::ok(json_line(&json!({
                    "result": "imported",
                    "network": network.to_string(),
                    "data_dir": dir.display().to_string(),
                    "address": address.to_string(),
                }))));
            }
            Ok(Done::ok(format!(
                "imported a {network} wallet into {}\nrun btc-anchor wallet sync to find its funds; receive address: {address}\n",
                btc_anchor::text::escape_path(&dir)
            )))
        }
        WalletAction::Address => {
            let mut w = AnchorWallet::open(&dir, network).map_err(werr)?;
            let address = w.address().map_err(werr)?;
            if args.json {
                return Ok(Done::ok(json_line(&json!({
                    "address": address.to_string(),
                    "network": network.to_string(),
                }))));
            }
            Ok(Done::ok(format!("{address}\n")))
        }
        WalletAction::Balance => {
            let config = c.config()?;
            let server = c.connect(&config)?;
            let mut w = AnchorWallet::open(&dir, network).map_err(werr)?;
            w.sync(&server).map_err(werr)?;
            let b = w.balance();
            if args.json {
                return Ok(Done::ok(json_line(&json!({
                    "confirmed_sat": b.confirmed.to_sat(),
                    "pending_sat": (b.trusted_pending + b.untrusted_pending).to_sat(),
                    "immature_sat": b.immature.to_sat(),
                    "spendable_sat": (b.confirmed + b.trusted_pending).to_sat(),
                }))));
            }
            Ok(Done::ok(format!(
                "confirmed: {} sat\npending:   {} sat\nimmature:  {} sat\n",
                b.confirmed.to_sat(),
                (b.trusted_pending + b.untrusted_pending).to_sat(),
                b.immature.to_sat()
            )))
        }
        WalletAction::Sync => {
            let config = c.config()?;
            let server = c.connect(&config)?;
            let mut w = AnchorWallet::open(&dir, network).map_err(werr)?;
            w.sync(&server).map_err(werr)?;
            if args.json {
                return Ok(Done::ok(json_line(&json!({
                    "result": "synced",
                    "electrum": server.url(),
                    "confirmed_sat": w.balance().confirmed.to_sat(),
                }))));
            }
            Ok(Done::ok(format!(
                "synced with {}: {} sat confirmed\n",
                server.url(),
                w.balance().confirmed.to_sat()
            )))
        }
        WalletAction::Backup => {
            let secret = btc_anchor_workflow::wallet::secret_backup(&dir).map_err(werr)?;
            if args.json {
                return Ok(Done::ok(json_line(&json!({ "secret": secret }))));
            }
            Ok(Done::ok(secret))
        }
    }
}

/// `stamp --help`'s exit codes.
pub const STAMP_EXIT_HELP: &str = "\
Exit status:
  0  every file stamped: queued, a new version queued (the older proof kept as
     FILE.<16 hex digits>.anchor.json), or already stamped (a missing proof written again)
  1  a proof built for a record does not verify: nothing was queued
  2  usage error: bad arguments or digest, a path that is not a file or folder, or a proof
     path that holds a proof this data directory did not write
  4  input/output error: a file or folder is unreadable, or the data directory or a proof cannot be written
  6  server error (--server): the calendar server is unreachable, refuses (503: cannot anchor now; 401: API key),
     or answers what its API does not allow; proofs written before stay written
  8  busy: another btc-anchor command is using the data directory
  9  nothing to do: no file found
 12  partial: some files were not stamped (each is named, with why); the others were";

/// `anchor --help`'s exit codes.
pub const ANCHOR_EXIT_HELP: &str = "\
Exit status:
  0  anchored: the transaction is broadcast (upgrade completes the proof files once it confirms)
  1  a proof built for the batch does not verify: nothing was written
  2  usage error: missing, unknown or conflicting arguments, or a fee rate out of range
  4  input/output error: the data directory or a proof cannot be written
  6  server error: the Electrum server is unreachable, refused, or sent data that does not check out
  7  wallet error: no wallet, not enough funds, fee above the limit, or no fee estimate
  8  busy: another btc-anchor command is using the data directory
  9  nothing to do: no record queued, or no transaction to bump";

/// `upgrade --help`'s exit codes.
pub const UPGRADE_EXIT_HELP: &str = "\
Exit status:
  0  done: each waiting batch's state is shown
  1  a proof built for a batch does not verify: nothing was written
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: the data directory or a proof cannot be written
  6  server error: the Electrum server (or, with --server, the calendar server) is unreachable, refused,
     or sent data that does not check out
  8  busy: another btc-anchor command is using the data directory
  9  nothing to do: no batch is waiting for confirmation (or, with --seal, for its epoch to close;
     with --server, no pending proof among the paths; with PATH..., none there either)
 12  partial (--server, or PATH...): some proofs could not be upgraded (unknown to the server or the
     data directory, or its proof refused), each named with why; the others were";

/// `status --help`'s and `wallet --help`'s exit codes.
pub const STORE_EXIT_HELP: &str = "\
Exit status:
  0  done
  2  usage error: missing, unknown or conflicting arguments, or a bad setting in config.toml
  4  input/output error: the data directory cannot be read or written
  6  server error (wallet sync, fund): the Electrum server is unreachable or sent bad data
  7  wallet error: no wallet, a wallet already there, or invalid key material
  8  busy: another btc-anchor command is using the data directory";

/// Where the proof of `doc` goes: beside it ([`file::proof_path`]), or
/// under `out` in the same sub-folder as `doc` under `root`, so names from
/// different folders cannot clash.
fn proof_path_for(doc: &Path, out: Option<&Path>, root: &Path) -> PathBuf {
    match out {
        None => file::proof_path(doc),
        Some(dir) => {
            let rel = doc
                .strip_prefix(root)
                .ok()
                .and_then(|r| r.parent())
                .unwrap_or(Path::new(""));
            let name = doc.file_name().unwrap_or_default();
            file::proof_path(&dir.join(rel).join(name))
        }
    }
}

/// A file that was not stamped, and why.
struct NotStamped {
    path: PathBuf,
    why: String,
    exit: Exit,
}

pub fn stamp(args: &StampArgs) -> Result<Done, Failure> {
    if args.paths.is_empty() && args.digest.is_empty() {
        return Err(Failure::usage(
            "nothing to stamp",
            "give files or folders, - for standard input, or --digest HEX",
        ));
    }
    let stdin = Path::new("-");
    let from_stdin = args.paths.iter().filter(|p| p.as_path() == stdin).count();
    if from_stdin > 1 {
        return Err(Failure::usage(
            "- (standard input) is given more than once",
            "standard input holds one document: give - once",
        ));
    }
    if args.label.is_some() && args.digest.len() + from_stdin != 1 {
        return Err(Failure::usage(
            "--label names one record: a single --digest, or -",
            "stamp files by path (their label is the path), or one digest or - at a time with --label",
        ));
    }
    // The data directory is taken first: a held one is reported before
    // any hashing. Stamping through a server uses none.
    let mut flow = match &args.server {
        None => Some(args.common.open()?),
        Some(_) => None,
    };
    if let Some(flow) = &mut flow {
        if args.no_label {
            flow.set_record_paths(RecordPaths::Withheld);
        }
    }
    let digest_dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    let bare = |digest: RecordDigest, default: String| StampItem {
        digest,
        label: args.label.clone().unwrap_or(default),
        proof_path: file::proof_path(&digest_dir.join(digest.to_hex())),
    };
    let mut items = Vec::new();
    for d in &args.digest {
        let digest: RecordDigest = d.parse().map_err(|e| {
            Failure::usage(
                format!("--digest {d}: {e}"),
                "give the 64 hex digits of a SHA-256",
            )
        })?;
        items.push(bare(digest, format!("sha256:{}", digest.to_hex())));
    }
    if from_stdin == 1 {
        let digest = hash::hash_reader(std::io::stdin().lock()).map_err(|e| {
            Failure::io(
                format!("cannot read standard input: {e}"),
                "nothing was queued",
            )
        })?;
        items.push(bare(digest, "standard input".to_owned()));
    }
    let named: Vec<&PathBuf> = args.paths.iter().filter(|p| p.as_path() != stdin).collect();
    let walk_options = WalkOptions {
        include_hidden: args.include_hidden,
    };
    let walk_failure = |e: hash::HashError| {
        Failure::io(
            with_sources(&e),
            "check the path; files stamped before it stay stamped, and stamping again skips them",
        )
    };
    // Every path named is looked at before anything is stamped.
    let mut walk = hash::Walk::new(&named, walk_options).map_err(walk_failure)?;
    // The bar counts bytes, so that it moves within a large file too; the
    // files are counted and their sizes looked up (one walk ahead) only
    // when it is drawn.
    let (count, bytes) = if crate::progress::visible(args.quiet) {
        let mut count = (0, 0);
        for f in hash::Walk::new(&named, walk_options).map_err(walk_failure)? {
            let f = f.map_err(walk_failure)?;
            if !file::is_proof_file_name(&f) {
                count.0 += 1;
                count.1 += std::fs::metadata(&f).map_or(0, |m| m.len());
            }
        }
        count
    } else {
        (0, 0)
    };
    let bar = crate::progress::hashing(count, bytes, args.quiet);
    // The library's steps run a page at a time: their bars are drawn
    // under the hashing bar, which covers the whole stamp.
    if let Some(flow) = &mut flow {
        let multi = crate::progress::stacked(&[&bar]);
        flow.set_progress(Arc::new(crate::progress::Records::under(multi, args.quiet)));
    }
    // Files are found, hashed and stamped a page at a time: each page's
    // records are durable in the store before the next is hashed, and no
    // more than a page of paths is held at once, however many files there
    // are.
    let page = flow.as_ref().map_or(PAGE_SIZE, Anchoring::page_size);
    let mut failed = Vec::new();
    // A path named on the command line that cannot be stamped is a failure,
    // not a silent skip; those met inside folders are listed as skipped.
    let mut skipped = Vec::new();
    let mut summary = StampSummary::default();
    let mut stamped = 0;
    let mut total = 0;
    // With --json, each page's records as JSON text: a page's entries are
    // not kept once written out.
    let mut records = String::new();
    let mut printed = Printed::default();
    let mut next = "";
    loop {
        let mut files = Vec::new();
        while items.len() + files.len() < page {
            match walk.next() {
                None => break,
                Some(Err(e)) => return Err(walk_failure(e)),
                // Proof files of earlier stamps are not records.
                Some(Ok(f)) if file::is_proof_file_name(&f) => {}
                Some(Ok(f)) => files.push(f),
            }
        }
        for (p, reason) in walk.take_skipped() {
            if named.iter().any(|n| **n == p) {
                failed.push(NotStamped {
                    why: format!(
                        "{reason}; to stamp what a pipe or device carries, use btc-anchor stamp - < FILE"
                    ),
                    path: p,
                    exit: Exit::Usage,
                });
            } else {
                skipped.push((p, reason));
            }
        }
        if files.is_empty() && items.is_empty() {
            break;
        }
        let digests = hash::hash_files_with(&files, &|n: u64| bar.inc(n));
        for (file, d) in files.iter().zip(digests) {
            let digest = match d {
                Ok(d) => d,
                Err(e) => {
                    failed.push(NotStamped {
                        path: file.clone(),
                        why: with_sources(&e),
                        exit: Exit::Io,
                    });
                    continue;
                }
            };
            let root = named
                .iter()
                .find(|p| file.starts_with(p))
                .map(|p| p.to_path_buf())
                .unwrap_or_default();
            let proof_path = proof_path_for(file, args.out.as_deref(), &root);
            if args.out.is_some() {
                if let Some(parent) = proof_path.parent() {
                    if let Err(e) = std::fs::create_dir_all(parent) {
                        failed.push(NotStamped {
                            path: file.clone(),
                            why: format!("cannot create {}: {e}", parent.display()),
                            exit: Exit::Io,
                        });
                        continue;
                    }
                }
            }
            items.push(StampItem {
                digest,
                label: file.display().to_string(),
                proof_path,
            });
        }
        drop(files);
        if items.is_empty() {
            continue;
        }
        let part = match (&mut flow, &args.server) {
            (Some(flow), _) => {
                next = "run btc-anchor anchor to commit them to Bitcoin";
                flow.stamp(&items).map_err(anchoring_failure)?
            }
            (None, Some(url)) => {
                next = "the server anchors them; btc-anchor upgrade --server URL PATH... completes the proofs";
                crate::remote::stamp(&args.common, url, &items)?
            }
            (None, None) => unreachable!("a data directory is opened unless --server is given"),
        };
        for (item, outcome) in items.iter().zip(&part.outcomes) {
            if outcome.is_refused() {
                failed.push(NotStamped {
                    path: PathBuf::from(&item.label),
                    why: format!(
                        "{} already holds a proof of another record or from another data directory, \
                         which is never overwritten",
                        item.proof_path.display()
                    ),
                    exit: Exit::Usage,
                });
            }
        }
        stamped += items.len() - part.refused;
        total += items.len();
        if args.json {
            stamp_json_records(&mut records, &items, &part.outcomes);
        } else if !args.quiet {
            // Each page's lines are printed as it is stamped.
            printed.print(&stamp_lines(&items, &part.outcomes));
        }
        add_up(&mut summary, part);
        items.clear();
    }
    bar.finish_and_clear();
    if total == 0 && failed.is_empty() {
        return Ok(nothing_to_do(
            &format!(
                "nothing to stamp: no file found ({} skipped)",
                skipped.len()
            ),
            args.json,
        ));
    }
    let stdout = if args.json {
        stamp_json(records, &summary, &skipped, &failed)
    } else {
        stamp_text(args.quiet, &summary, &skipped, &failed, next)
    };
    let failure = match failed.as_slice() {
        [] => None,
        [one] if stamped == 0 => Some(Failure {
            exit: one.exit,
            error: format!("{} was not stamped: {}", one.path.display(), one.why),
            hint: "nothing was queued; see the line above for what to do".to_owned(),
        }),
        all => Some(Failure {
            exit: if stamped == 0 {
                all[0].exit
            } else {
                Exit::Partial
            },
            error: format!(
                "not stamped: {} of {} (each is named above, with why); the others were",
                crate::render::count(all.len() as u64, "file"),
                all.len() + stamped
            ),
            hint: "fix what each line says and stamp again: what was stamped stays stamped"
                .to_owned(),
        }),
    };
    let exit = failure.as_ref().map_or(Exit::Valid, |f| f.exit);
    Ok(Done {
        stdout,
        // Lines that could not be printed fail the command as the rest
        // would ([`crate::outcome::finish`]).
        exit: if printed.failed && exit == Exit::Valid {
            Exit::Io
        } else {
            exit
        },
        failure,
    })
}

/// Lines printed on stdout as they come, before the command's result.
#[derive(Default)]
struct Printed {
    /// Whether writing failed for another reason than a reader that went
    /// away (`| head`): nothing more is printed.
    failed: bool,
    /// Whether the reader went away: nothing more is printed.
    closed: bool,
}

impl Printed {
    fn print(&mut self, text: &str) {
        use std::io::Write as _;
        if self.failed || self.closed || text.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed = true;
            } else {
                self.failed = true;
            }
        }
    }
}

/// Adds a page's summary to the whole stamp's (its outcomes are not kept).
fn add_up(total: &mut StampSummary, part: StampSummary) {
    total.queued += part.queued;
    total.amended += part.amended;
    total.already += part.already;
    total.rewritten += part.rewritten;
    total.missing_complete.extend(part.missing_complete);
    total.refused += part.refused;
}

/// Adds the JSON entries of a page of stamped items to `records`, the
/// comma-separated items of the `records` list.
fn stamp_json_records(records: &mut String, items: &[StampItem], outcomes: &[StampOutcome]) {
    for (i, o) in items.iter().zip(outcomes) {
        let (outcome, older) = outcome_name(o);
        let item = json!({
            "label": i.label, "digest": i.digest.to_hex(),
            "proof": i.proof_path.display().to_string(),
            "outcome": outcome, "older_proof": older,
        });
        push_json_item(records, &item);
    }
}

fn stamp_json(
    records: String,
    summary: &StampSummary,
    skipped: &[(PathBuf, hash::SkipReason)],
    failed: &[NotStamped],
) -> String {
    // The list goes in as text where the empty one stands: `"records":[]`
    // can only be the key's, as a quote inside a JSON string is escaped.
    let object = json_line(&json!({
        "queued": summary.queued,
        "amended": summary.amended,
        "already_stamped": summary.already,
        "proofs_rewritten": summary.rewritten,
        "proofs_missing": summary.missing_complete.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "not_stamped": failed.iter().map(|f| json!({"path": f.path.display().to_string(), "reason": f.why})).collect::<Vec<_>>(),
        "skipped": skipped.iter().map(|(p, r)| json!({"path": p.display().to_string(), "reason": r.to_string()})).collect::<Vec<_>>(),
        "records": [],
    }));
    object.replacen("\"records\":[]", &format!("\"records\":[{records}]"), 1)
}

/// The stable JSON name of a stamp outcome, and the older version's proof
/// of an amended document.
fn outcome_name(o: &StampOutcome) -> (&'static str, Option<String>) {
    match o {
        StampOutcome::Queued => ("queued", None),
        StampOutcome::Amended { older } => ("amended", Some(older.display().to_string())),
        StampOutcome::Already => ("already-stamped", None),
        StampOutcome::Rewritten => ("proof-rewritten", None),
        StampOutcome::MissingComplete => ("proof-missing", None),
        StampOutcome::ProofExists => ("not-stamped", None),
        _ => ("other", None),
    }
}

/// The lines of a page of stamped items: one for each queued, amended or
/// rewritten.
fn stamp_lines(items: &[StampItem], outcomes: &[StampOutcome]) -> String {
    use btc_anchor::text::{escape_controls, escape_path};
    let mut out = String::new();
    for (i, o) in items.iter().zip(outcomes) {
        let what = match o {
            StampOutcome::Queued => String::new(),
            StampOutcome::Amended { older } => format!(
                " (a new version; the older version's proof is kept as {})",
                escape_path(older)
            ),
            StampOutcome::Rewritten => {
                " (stamped before; its missing proof written again)".to_owned()
            }
            _ => continue,
        };
        out += &format!(
            "{}  {}  -> {}{what}\n",
            i.digest.to_hex(),
            escape_controls(&i.label),
            escape_path(&i.proof_path)
        );
    }
    out
}

/// What stamp prints after the records' lines ([`stamp_lines`]).
fn stamp_text(
    quiet: bool,
    summary: &StampSummary,
    skipped: &[(PathBuf, hash::SkipReason)],
    failed: &[NotStamped],
    next: &str,
) -> String {
    use btc_anchor::text::{escape_controls, escape_path};
    let mut out = String::new();
    if !quiet {
        for (p, r) in skipped {
            out += &format!(
                "skipped {} ({})\n",
                escape_path(p),
                escape_controls(&r.to_string())
            );
        }
    }
    for f in failed {
        out += &format!(
            "not stamped {}: {}\n",
            escape_path(&f.path),
            escape_controls(&f.why)
        );
    }
    let mut counts = vec![format!(
        "queued {}",
        crate::render::count(summary.queued as u64, "record")
    )];
    if summary.amended > 0 {
        counts.push(format!("{} of them new versions", summary.amended));
    }
    if summary.already > 0 {
        counts.push(format!("{} already stamped", summary.already));
    }
    if !failed.is_empty() {
        counts.push(format!("{} not stamped", failed.len()));
    }
    out += &format!("{}; {next}\n", counts.join(", "));
    if summary.rewritten > 0 {
        out += &format!(
            "wrote {} of records stamped before\n",
            crate::render::count(summary.rewritten as u64, "missing proof")
        );
    }
    for p in &summary.missing_complete {
        out += &format!(
            "missing {}: its batch is complete, and a complete proof holds a block the store \
             does not keep; restore the proof from a backup\n",
            escape_path(p)
        );
    }
    out
}

pub fn anchor(args: &AnchorArgs) -> Result<Done, Failure> {
    let c = &args.common;
    let mut flow = c.open()?;
    flow.set_progress(Arc::new(crate::progress::Records::new(args.quiet)));
    let server = c.connect(flow.config())?;
    let mut wallet = AnchorWallet::open(&c.data_dir(), flow.config().network)
        .map_err(|e| wallet_failure(e, &c.data_dir()))?;
    let fees = FeeOptions {
        fee_rate: args.fee_rate,
        max_fee_sat: args.max_fee,
    };
    let done = if args.bump {
        flow.bump(&mut wallet.payer(&server), &server, &fees)
            .map(|a| vec![a])
    } else {
        flow.anchor(&mut wallet.payer(&server), &server, &fees, &mut |s| {
            pause_hook(&s)
        })
    };
    let done = match done {
        Err(AnchoringError::EmptyQueue) => {
            return Ok(nothing_to_do(
                "nothing to anchor: no record is queued (stamp files first: btc-anchor stamp FILE...)",
                args.json,
            ))
        }
        Err(AnchoringError::NothingToBump) => {
            return Ok(nothing_to_do(
                "nothing to bump: no batch transaction is unconfirmed (btc-anchor status shows each batch)",
                args.json,
            ))
        }
        Err(AnchoringError::SealInFlight { batch_id }) => {
            return Ok(nothing_to_do(
                &format!(
                    "nothing to anchor yet: the previous anchor (batch {batch_id}) has not confirmed, and the next one spends its seal (btc-anchor upgrade once it confirms; records stay queued)"
                ),
                args.json,
            ))
        }
        other => other.map_err(anchoring_failure)?,
    };
    if args.json {
        return Ok(Done::ok(json_line(&json!({
            "batches": done.iter().map(|a| json!({
                "batch": a.batch_id, "records": a.size, "txid": a.txid.to_string(),
                "fee_sat": a.fee.to_sat(), "vsize": a.vsize, "resumed": a.resumed, "bumped": args.bump,
            })).collect::<Vec<_>>()
        }))));
    }
    let mut out = String::new();
    for a in &done {
        out += &format!(
            "{} batch {}: {} record{} in transaction {} ({} vB, fee {} sat = {:.1} sat/vB){}\n",
            if args.bump { "bumped" } else { "anchored" },
            a.batch_id,
            a.size,
            if a.size == 1 { "" } else { "s" },
            a.txid,
            a.vsize,
            a.fee.to_sat(),
            a.fee.to_sat() as f64 / a.vsize as f64,
            if a.resumed {
                " (finished an interrupted run)"
            } else {
                ""
            }
        );
    }
    out += "the store holds the batch and its transaction; run btc-anchor upgrade once it confirms to complete the proof files\n";
    Ok(Done::ok(out))
}

pub fn upgrade(args: &UpgradeArgs) -> Result<Done, Failure> {
    if let Some(url) = &args.server {
        return crate::remote::upgrade(&args.common, url, &args.paths, args.json);
    }
    let c = &args.common;
    let mut flow = c.open()?;
    flow.set_progress(Arc::new(crate::progress::Records::new(args.quiet)));
    let server = c.connect(flow.config())?;
    let min_depth = flow.config().min_depth;
    let ups = flow.upgrade(&server).map_err(anchoring_failure)?;
    let files = if args.paths.is_empty() {
        None
    } else {
        let files = btc_anchor_workflow::remote::proof_files(&args.paths)
            .map_err(|e| Failure::io(with_sources(&e), "check the path"))?;
        let outcomes = flow.upgrade_files(&files).map_err(anchoring_failure)?;
        Some(FilesUpgraded { files, outcomes })
    };
    let seals = if args.seal {
        Some(flow.seal_final(&server).map_err(anchoring_failure)?)
    } else {
        None
    };
    let rewritten = if args.rewrite {
        Some(flow.rewrite_all().map_err(anchoring_failure)?)
    } else {
        None
    };
    let files_done = files.as_ref().is_some_and(FilesUpgraded::any_to_tell);
    if ups.is_empty()
        && seals.as_ref().is_none_or(Vec::is_empty)
        && rewritten.is_none()
        && !files_done
    {
        return Ok(nothing_to_do(
            if args.seal {
                "nothing to upgrade or seal: no batch is waiting for confirmation or for its epoch to close"
            } else {
                "nothing to upgrade: no batch is waiting for confirmation"
            },
            args.json,
        ));
    }
    if args.json {
        let mut v = json!({
            "min_depth": min_depth,
            "batches": ups.iter().map(|u| json!({
                "batch": u.batch_id, "state": u.state.to_string(),
                "height": u.confirmation.map(|c| c.height),
                "confirmations": u.confirmation.map(|c| c.confirmations),
                "txid": u.confirmation.map(|c| c.txid.to_string()),
                "proofs_written": u.proofs_written, "without_path": u.without_path,
                "reorged": u.reorged,
            })).collect::<Vec<_>>()
        });
        if let Some(r) = &rewritten {
            v["rewritten"] = json!({
                "written": r.written,
                "missing": r.missing_complete.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            });
        }
        if let Some(f) = &files {
            v["files"] = f.json();
        }
        if let Some(seals) = &seals {
            v["sealed"] = seals
                .iter()
                .map(|s| {
                    let (result, written, to_go) = match s.outcome {
                        BatchSeal::Sealed { proofs_written } => {
                            ("sealed", Some(proofs_written), None)
                        }
                        BatchSeal::EpochOpen { blocks_to_go } => {
                            ("epoch-open", None, Some(blocks_to_go))
                        }
                        _ => ("unknown", None, None),
                    };
                    json!({
                        "batch": s.batch_id, "result": result, "height": s.height,
                        "epoch": s.epoch, "epoch_end": s.epoch_end,
                        "proofs_written": written, "blocks_to_go": to_go,
                    })
                })
                .collect();
        }
        return Ok(files.map_or_else(|| Done::ok(json_line(&v)), |f| f.done(json_line(&v))));
    }
    let mut out = String::new();
    for u in &ups {
        if u.reorged {
            out += &format!(
                "batch {}: its block left the best chain; following the transaction again\n",
                u.batch_id
            );
        }
        out +=
            &match (u.state, u.confirmation) {
                (BatchState::Final, Some(c)) => {
                    format!(
                        "batch {}: complete: block {} ({} confirmation{}); {} proof{} written{}\n",
                        u.batch_id,
                        c.height,
                        c.confirmations,
                        if c.confirmations == 1 { "" } else { "s" },
                        u.proofs_written,
                        if u.proofs_written == 1 { "" } else { "s" },
                        if u.without_path > 0 {
                            format!(
                        "; {} stamped --no-label: complete {} with btc-anchor upgrade PATH...",
                        crate::render::count(u.without_path as u64, "record"),
                        if u.without_path == 1 { "its proof" } else { "their proofs" }
                    )
                        } else {
                            String::new()
                        }
                    )
                }
                (BatchState::Confirmed, Some(c)) => format!(
                "batch {}: in block {}, {} of {min_depth} confirmations; run upgrade again later\n",
                u.batch_id, c.height, c.confirmations
            ),
                _ => format!(
                    "batch {}: not confirmed yet; run upgrade again later\n",
                    u.batch_id
                ),
            };
    }
    if let Some(r) = &rewritten {
        out += &format!(
            "rewrote {} from the store\n",
            crate::render::count(r.written as u64, "proof file")
        );
        for p in &r.missing_complete {
            out += &format!(
                "missing {}: its batch was completed by an older btc-anchor, whose store kept \
                 no block; restore the proof from a backup\n",
                btc_anchor::text::escape_path(p)
            );
        }
    }
    for s in seals.iter().flatten() {
        out += &match s.outcome {
            BatchSeal::Sealed { proofs_written } => format!(
                "batch {}: sealed: its proofs carry headers to block {}, the last of difficulty epoch {}; {} written\n",
                s.batch_id,
                s.epoch_end,
                s.epoch,
                crate::render::count(proofs_written as u64, "proof")
            ),
            BatchSeal::EpochOpen { blocks_to_go } => format!(
                "batch {}: block {}'s difficulty epoch {} closes at block {}, {} to go; run upgrade --seal again then\n",
                s.batch_id,
                s.height,
                s.epoch,
                s.epoch_end,
                crate::render::count(u64::from(blocks_to_go), "block")
            ),
            _ => format!("batch {}: not sealed\n", s.batch_id),
        };
    }
    match files {
        None => Ok(Done::ok(out)),
        Some(f) => {
            out += &f.text();
            Ok(f.done(out))
        }
    }
}

/// What `upgrade PATH...` did with the proof files among the paths.
/// What `upgrade PATH` says of a path with no file: most often a document
/// given whose proof is not beside it.
pub const MISSING_PROOF: &str =
    "no such proof file (was the document stamped here, or its proof moved?): give the proof file's path";
/// What `upgrade PATH` says of a damaged file or another format.
pub const NOT_A_PROOF: &str =
    "damaged, or not a btc-anchor proof (a .ots file is upgraded with the ots client): left alone";

/// What `upgrade PATH` says of a proof of another network.
pub fn other_network(network: Network) -> String {
    format!("a proof of {network}, not of this data directory's network: left alone (upgrade it with --network {network})")
}

struct FilesUpgraded {
    files: Vec<PathBuf>,
    outcomes: Vec<FileUpgrade>,
}

impl FilesUpgraded {
    fn count(&self, f: fn(&FileUpgrade) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }

    fn completed(&self) -> usize {
        self.count(|o| matches!(o, FileUpgrade::Completed { .. }))
    }

    fn waiting(&self) -> usize {
        self.count(|o| matches!(o, FileUpgrade::Waiting { .. }))
    }

    fn complete_already(&self) -> usize {
        self.count(|o| matches!(o, FileUpgrade::AlreadyComplete))
    }

    /// Files that are not this data directory's pending proofs.
    fn failed(&self) -> usize {
        self.outcomes.len() - self.completed() - self.waiting() - self.complete_already()
    }

    /// Whether there is anything to say beyond "complete already".
    fn any_to_tell(&self) -> bool {
        self.completed() + self.waiting() + self.failed() > 0
    }

    fn describe(o: &FileUpgrade) -> (&'static str, String) {
        match o {
            FileUpgrade::Completed { height } => {
                ("completed", format!("complete: in Bitcoin block {height}"))
            }
            FileUpgrade::AlreadyComplete => ("complete", "complete already".to_owned()),
            FileUpgrade::Waiting { stage, txid } => (
                "waiting",
                match txid {
                    Some(t) => format!("{stage}: its batch is not complete yet (transaction {t})"),
                    None => format!("{stage}: its batch is not complete yet"),
                },
            ),
            FileUpgrade::Unknown => (
                "unknown",
                "no record of this data directory has its digest and salt (stamped with another \
                 data directory?): left alone"
                    .to_owned(),
            ),
            FileUpgrade::Missing => ("missing", MISSING_PROOF.to_owned()),
            FileUpgrade::OtherNetwork { network } => ("other-network", other_network(*network)),
            FileUpgrade::NotAProof => ("not-a-proof", NOT_A_PROOF.to_owned()),
            FileUpgrade::BlockNotKept => (
                "block-not-kept",
                "its batch was completed by an older btc-anchor, whose store kept no block: \
                 restore the proof from a backup"
                    .to_owned(),
            ),
            _ => ("other", "not upgraded".to_owned()),
        }
    }

    fn json(&self) -> Value {
        json!({
            "completed": self.completed(),
            "waiting": self.waiting(),
            "complete_already": self.complete_already(),
            "failed": self.failed(),
            "proofs": self.files.iter().zip(&self.outcomes).map(|(p, o)| {
                let (result, detail) = Self::describe(o);
                json!({"proof": p.display().to_string(), "result": result, "detail": detail,
                       "height": match o { FileUpgrade::Completed { height } => Some(*height), _ => None }})
            }).collect::<Vec<_>>(),
        })
    }

    fn text(&self) -> String {
        use btc_anchor::text::{escape_controls, escape_path};
        let mut out = String::new();
        for (p, o) in self.files.iter().zip(&self.outcomes) {
            if !matches!(o, FileUpgrade::AlreadyComplete) {
                out += &format!(
                    "{}: {}\n",
                    escape_path(p),
                    escape_controls(&Self::describe(o).1)
                );
            }
        }
        out += &format!(
            "proof files: {} completed, {} waiting, {} complete already, {} failed\n",
            self.completed(),
            self.waiting(),
            self.complete_already(),
            self.failed()
        );
        out
    }

    /// The command's end: exit 12 (partial) if some files were not this
    /// data directory's proofs.
    fn done(&self, stdout: String) -> Done {
        let bad = self.failed();
        if bad == 0 {
            return Done::ok(stdout);
        }
        Done {
            stdout,
            exit: Exit::Partial,
            failure: Some(Failure {
                exit: Exit::Partial,
                error: format!(
                    "{bad} of the proof files could not be upgraded (each is named above, with why)"
                ),
                hint: "the files are left as they were; check --data-dir and --network for those \
                       named"
                    .to_owned(),
            }),
        }
    }
}

/// Writes the current proof of a record from the store: the most complete
/// one stamped with the digest, the oldest among equals (the earliest
/// proof of existence).
pub fn proof(args: &ProofArgs) -> Result<Done, Failure> {
    let flow = args.common.open()?;
    let digest: RecordDigest = match (&args.document, &args.digest) {
        (_, Some(hex)) => hex.parse().map_err(|e| {
            Failure::usage(
                format!("--digest {hex}: {e}"),
                "give the 64 hex digits of a SHA-256",
            )
        })?,
        (Some(path), None) => hash::hash_file(path)
            .map_err(|e| Failure::io(with_sources(&e), "check the document's path"))?,
        (None, None) => {
            return Err(Failure::usage(
                "give a DOCUMENT or --digest HEX",
                "usage: btc-anchor proof DOCUMENT [--out FILE]",
            ))
        }
    };
    let records = flow
        .store()
        .records_with_digest(&digest)
        .map_err(|e| anchoring_failure(e.into()))?;
    if records.is_empty() {
        return Err(Failure::io(
            format!(
                "no record with SHA-256 {} in data directory {}",
                digest.to_hex(),
                btc_anchor::text::escape_path(flow.data_dir())
            ),
            "check --data-dir and --network: the record was stamped with another data directory, or never",
        ));
    }
    let proofs = flow.current_proofs(&records).map_err(anchoring_failure)?;
    // The most complete, and among those the oldest.
    let Some((record, proof)) = records
        .iter()
        .zip(proofs)
        .filter_map(|(r, p)| p.map(|p| (r, p)))
        .min_by_key(|(r, p)| (std::cmp::Reverse(p.stage()), r.id))
    else {
        return Err(Failure::io(
            format!(
                "the record's batch was completed by an older btc-anchor, whose store kept no block: its complete proof ({}) cannot be rebuilt",
                btc_anchor::text::escape_path(&records[0].proof_path)
            ),
            "restore the proof file from a backup",
        ));
    };
    let json = proof.to_json();
    let Some(out) = &args.out else {
        return Ok(Done::ok(format!("{json}\n")));
    };
    file::write_atomic(
        out,
        json.as_bytes(),
        file::WriteOptions {
            replace: args.force,
            durable: true,
        },
    )
    .map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            "pass --force to replace it, or another --out FILE"
        } else {
            "check --out and that its folder can be written"
        };
        Failure::io(format!("cannot write {}: {e}", out.display()), hint)
    })?;
    if args.json {
        return Ok(Done::ok(json_line(&json!({
            "result": "written",
            "path": out.display().to_string(),
            "stage": proof.stage().to_string(),
            "digest": digest.to_hex(),
            "label": record.label,
        }))));
    }
    Ok(Done::ok(format!(
        "wrote the {} proof of {} to {}\n",
        proof.stage(),
        btc_anchor::text::escape_controls(&record.label),
        btc_anchor::text::escape_path(out)
    )))
}

/// Writes a consistent, private copy of the data directory.
pub fn backup(args: &BackupArgs) -> Result<Done, Failure> {
    use btc_anchor_workflow::backup::BackupError;
    let dir = args.common.data_dir();
    let report = btc_anchor_workflow::backup::backup(&dir, &args.out).map_err(|e| match e {
        BackupError::Lock(s) => anchoring_failure(s.into()),
        BackupError::NotEmpty(_) => Failure::io(
            with_sources(&e),
            "give a new or empty folder with --out: a backup never overwrites",
        ),
        BackupError::NoStore(_) => Failure::io(
            with_sources(&e),
            "check --data-dir and --network: this is not a data directory in use",
        ),
        other => Failure::io(
            with_sources(&other),
            "check --out and its free space; the data directory is unchanged",
        ),
    })?;
    if args.json {
        return Ok(Done::ok(json_line(&json!({
            "result": "backed-up",
            "data_dir": dir.display().to_string(),
            "out": args.out.display().to_string(),
            "files": report.files,
        }))));
    }
    Ok(Done::ok(format!(
        "backed up {} to {}: {}\nto restore, use it as the data directory (--data-dir), or copy its files into an empty one\n",
        btc_anchor::text::escape_path(&dir),
        btc_anchor::text::escape_path(&args.out),
        report.files.join(", ")
    )))
}

/// The one "nothing to do" answer of every command: exit 9, the reason on
/// stdout (as `{"result": "nothing-to-do", "message": …}` with --json),
/// nothing on stderr (it is not a failure).
pub(crate) fn nothing_to_do(message: &str, json: bool) -> Done {
    Done {
        stdout: if json {
            json_line(&json!({"result": "nothing-to-do", "message": message}))
        } else {
            format!("{message}\n")
        },
        exit: Exit::NothingToDo,
        failure: None,
    }
}

pub fn status(args: &ReportArgs) -> Result<Done, Failure> {
    let flow = args.common.open()?;
    let batches = flow.batches_status().map_err(anchoring_failure)?;
    let (queued, _) = flow
        .store()
        .queue_summary()
        .map_err(|e| anchoring_failure(e.into()))?;
    if args.json {
        let b: Vec<Value> = batches
            .iter()
            .map(|s| {
                json!({
                    "batch": s.batch.id, "records": s.batch.size, "state": s.batch.state.to_string(),
                    "root": s.batch.root.to_hex(),
                    "txids": s.txs.iter().map(|t| t.txid.to_string()).collect::<Vec<_>>(),
                    "height": s.batch.confirmation.map(|c| c.height),
                    "confirmations": s.batch.confirmation.map(|c| c.confirmations),
                })
            })
            .collect();
        // The queue is read a page at a time, and only its JSON kept: the
        // object written out in its keys' order, its list item by item.
        let mut queued = String::new();
        flow.each_queued_page(&mut |page| {
            for r in page {
                let item = if args.labels {
                    json!({"label": r.label, "digest": r.digest.to_hex(),
                           "proof": r.has_proof_path().then(|| r.proof_path.display().to_string())})
                } else {
                    json!({"digest": r.digest.to_hex()})
                };
                push_json_item(&mut queued, &item);
            }
            Ok(())
        })
        .map_err(anchoring_failure)?;
        let network = json!(flow.config().network.to_string());
        return Ok(Done::ok(format!(
            "{{\"batches\":{},\"network\":{},\"queued\":[{queued}]}}\n",
            json_line(&Value::Array(b)).trim_end(),
            json_line(&network).trim_end()
        )));
    }
    let mut out = format!(
        "{queued} record{} queued\n",
        if queued == 1 { "" } else { "s" }
    );
    if args.labels {
        flow.each_queued_page(&mut |page| {
            for r in page {
                let label = if r.has_proof_path() {
                    btc_anchor::text::escape_controls(&r.label).into_owned()
                } else {
                    "(stamped --no-label: no path stored)".to_owned()
                };
                out += &format!("  {}  {label}\n", r.digest.to_hex());
            }
            Ok(())
        })
        .map_err(anchoring_failure)?;
    }
    for s in &batches {
        let detail = match (s.batch.state, s.batch.confirmation, s.txs.last()) {
            (BatchState::Final, Some(c), _) => {
                format!("final in block {} (txid {})", c.height, c.txid)
            }
            (BatchState::Confirmed, Some(c), _) => {
                format!(
                    "confirmed {} in block {} (txid {})",
                    c.confirmations, c.height, c.txid
                )
            }
            (BatchState::Broadcast, _, Some(t)) => {
                format!("broadcast, unconfirmed (txid {})", t.txid)
            }
            (BatchState::Batched, _, Some(t)) => {
                format!("signed, not yet broadcast (txid {}); run anchor", t.txid)
            }
            _ => "batched; run anchor".to_owned(),
        };
        out += &format!(
            "batch {}: {} record{}: {detail}\n",
            s.batch.id,
            s.batch.size,
            if s.batch.size == 1 { "" } else { "s" }
        );
    }
    Ok(Done::ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stamp object's `records` list, written page by page as text,
    /// holds every item once, in order, even where a label or a reason
    /// reads like the list's key; the object is one line.
    #[test]
    fn stamp_json_puts_each_page_of_records_in_its_list() {
        let item = |label: &str| StampItem {
            digest: RecordDigest::of_bytes(label.as_bytes()),
            label: label.to_owned(),
            proof_path: PathBuf::from(format!("/d/{label}.anchor.json")),
        };
        let tricky = "\"records\":[] \u{202e}";
        let pages = [vec![item("a"), item(tricky)], vec![item("c")]];
        let mut records = String::new();
        for page in &pages {
            stamp_json_records(&mut records, page, &vec![StampOutcome::Queued; page.len()]);
        }
        let summary = StampSummary {
            queued: 3,
            ..Default::default()
        };
        let failed = [NotStamped {
            path: PathBuf::from("/d/x"),
            why: tricky.to_owned(),
            exit: Exit::Io,
        }];
        let text = stamp_json(records, &summary, &[], &failed);
        assert!(
            text.ends_with("}\n") && text.matches('\n').count() == 1,
            "{text}"
        );
        assert!(
            !text.contains('\u{202e}'),
            "bidirectional controls are escaped"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let labels: Vec<&str> = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["a", tricky, "c"]);
        assert_eq!(v["not_stamped"][0]["reason"], tricky);
        assert_eq!(v["queued"], 3);
        // No records at all: an empty list.
        let v: Value =
            serde_json::from_str(&stamp_json(String::new(), &summary, &[], &[])).unwrap();
        assert_eq!(v["records"], json!([]));
    }

    #[test]
    fn pause_hook_is_debug_only() {
        // The only test that reads the variable, so setting it is no race.
        std::env::set_var("BTC_ANCHOR_PAUSE_AT", "signed");
        assert_eq!(pause_requested("signed"), cfg!(debug_assertions));
        assert!(!pause_requested("broadcast"));
        std::env::remove_var("BTC_ANCHOR_PAUSE_AT");
    }
}
