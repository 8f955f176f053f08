//! `btc-anchor serve`: the calendar server of `btc-anchor-server`, thin:
//! the settings are read and the library runs until SIGINT or SIGTERM.

use std::net::SocketAddr;

use btc_anchor_server::keys::{self, KeysError};
use btc_anchor_server::{ServeError, ServeOptions};
use clap::{Args, Subcommand};

use crate::anchoring::{anchoring_failure, Common};
use crate::outcome::{with_sources, Done, Failure};

/// `btc-anchor serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// Address to listen on [default: listen in server.toml, else
    /// 127.0.0.1:8600]; port 0 picks a free port
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// URI put in pending timestamps, which clients ask for upgrades
    /// [default: public_url in server.toml, else http://ADDR]
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// A PostgreSQL database shared with other instances (libpq string or
    /// postgres:// URL) instead of the data directory's store: every
    /// instance takes submissions, one at a time anchors [default:
    /// postgres in server.toml]
    #[arg(
        long,
        value_name = "URL",
        env = "BTC_ANCHOR_POSTGRES",
        hide_env_values = true
    )]
    postgres: Option<String>,
    /// With --postgres: only take submissions and answer lookups, never
    /// anchor
    #[arg(long, requires = "postgres")]
    frontend_only: bool,
    /// Log level on stderr: error, warn, info or debug
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// Print the line saying where it listens as one JSON object
    /// (`listening`), and a failure as one
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    action: Option<ServeAction>,
}

#[derive(Debug, Subcommand)]
enum ServeAction {
    /// Manage the API keys of the native API (server-keys.toml in the
    /// data directory; a running server picks up changes within a second)
    #[command(subcommand, after_help = KEY_EXIT_HELP)]
    Key(KeyAction),
}

#[derive(Debug, Subcommand)]
enum KeyAction {
    /// Make a key for a client and print it, once: only its SHA-256 is
    /// kept
    Add {
        /// The client's name: 1 to 64 characters of a-z A-Z 0-9 . _ -
        name: String,
    },
    /// List the keys' names and when each was made
    List,
    /// Remove a client's key: its requests are refused from then on
    Remove {
        /// The client's name
        name: String,
    },
}

/// `serve key --help`'s exit codes.
pub const KEY_EXIT_HELP: &str = "\
Exit status:
  0  done
  2  usage error: a bad name, a name taken already, or no key of that name
  4  input/output error: server-keys.toml cannot be read, parsed or written";

fn key_failure(e: &KeysError) -> Failure {
    match e {
        KeysError::BadName(_) | KeysError::Exists(_) | KeysError::NoSuchKey(_) => {
            Failure::usage(with_sources(e), "see btc-anchor serve key list")
        }
        _ => Failure::io(
            with_sources(e),
            format!("check {} in the data directory", keys::KEYS_FILE),
        ),
    }
}

fn run_key(args: &ServeArgs, action: &KeyAction) -> Result<Done, Failure> {
    let data_dir = args.common.data_dir();
    let fail = |e| key_failure(&e);
    match action {
        KeyAction::Add { name } => {
            if !data_dir.is_dir() {
                return Err(Failure::io(
                    format!("no data directory at {}", data_dir.display()),
                    "pass --data-dir or --network of the server's data directory",
                ));
            }
            let k = keys::add_key(&data_dir, name).map_err(fail)?;
            Ok(Done::ok(format!(
                "API key for {}, shown this once (only its SHA-256 is kept):\n{}\n\
                 The client sends it as: Authorization: Bearer <key>\n",
                k.name, k.key
            )))
        }
        KeyAction::List => {
            let list = keys::list_keys(&data_dir).map_err(fail)?;
            let mut out = String::new();
            if list.is_empty() {
                out.push_str("no API keys: the native API is open to every client\n");
            }
            for k in list {
                let made = u32::try_from(k.created_at)
                    .map(btc_anchor::utc::rfc3339)
                    .unwrap_or_else(|_| k.created_at.to_string());
                out.push_str(&format!("{}  made {made}\n", k.name));
            }
            Ok(Done::ok(out))
        }
        KeyAction::Remove { name } => {
            keys::remove_key(&data_dir, name).map_err(fail)?;
            Ok(Done::ok(format!("removed the API key of {name}\n")))
        }
    }
}

/// `serve --help`'s exit codes.
pub const EXIT_HELP: &str = "\
Exit status:
  0  stopped by SIGINT or SIGTERM, after finishing in-flight requests and commits
  2  usage error: missing, unknown or conflicting arguments or settings
  4  input/output error: the store cannot be opened, or the address cannot be bound
  8  busy: another btc-anchor command is using the data directory";

/// Runs the server, or manages its keys.
pub fn run(args: &ServeArgs) -> Result<Done, Failure> {
    if let Some(ServeAction::Key(action)) = &args.action {
        if args.listen.is_some() || args.public_url.is_some() {
            return Err(Failure::usage(
                "--listen and --public-url are for running the server, not for serve key",
                "drop them, or run btc-anchor serve without key",
            ));
        }
        return run_key(args, action);
    }
    let config = args.common.config()?;
    let data_dir = args.common.data_dir();
    let mut server = btc_anchor_server::load_server_config(&data_dir).map_err(|e| {
        Failure::usage(with_sources(&e), "fix or remove the setting in server.toml")
    })?;
    if let Some(l) = args.listen {
        server.listen = l;
    }
    if let Some(u) = &args.public_url {
        server.public_url = Some(u.clone());
    }
    if let Some(p) = &args.postgres {
        server.postgres = Some(p.clone());
    }
    if args.frontend_only {
        server.anchorer = false;
    }
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let options = ServeOptions {
        data_dir,
        config,
        server,
        on_anchor_step: crate::anchoring::pause_hook,
    };
    btc_anchor_server::run(options, |addr| {
        print!("{}", crate::render::listening("calendar", addr, args.json));
    })
    .map_err(|e| match e {
        ServeError::Open(inner) => anchoring_failure(inner),
        ServeError::Config(_) => Failure::usage(with_sources(&e), "fix public_url or --public-url"),
        ServeError::Keys(inner) => key_failure(&inner),
        other => Failure::io(
            with_sources(&other),
            "check the address and the data directory",
        ),
    })?;
    Ok(Done::ok(String::new()))
}
