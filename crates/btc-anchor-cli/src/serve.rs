//! `btc-anchor serve`: the calendar server of `btc-anchor-server`, thin:
//! the settings are read and the library runs until SIGINT or SIGTERM.

use std::net::SocketAddr;

use btc_anchor_server::{ServeError, ServeOptions};
use clap::Args;

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
    /// Log level on stderr: error, warn, info or debug
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
}

/// `serve --help`'s exit codes.
pub const EXIT_HELP: &str = "\
Exit status:
  0  stopped by SIGINT or SIGTERM, after finishing in-flight requests and commits
  2  usage error: missing, unknown or conflicting arguments or settings
  4  input/output error: the store cannot be opened, or the address cannot be bound
  8  busy: another btc-anchor command is using the data directory";

/// Runs the server.
pub fn run(args: &ServeArgs) -> Result<Done, Failure> {
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
        // The first line on stdout, for scripts that asked for port 0.
        println!("listening on http://{addr}");
    })
    .map_err(|e| match e {
        ServeError::Open(inner) => anchoring_failure(inner),
        ServeError::Config(_) => Failure::usage(with_sources(&e), "fix public_url or --public-url"),
        other => Failure::io(
            with_sources(&other),
            "check the address and the data directory",
        ),
    })?;
    Ok(Done::ok(String::new()))
}
