//! # btc-anchor-server
//!
//! The calendar server of btc-anchor (`docs/server-api.md`): the
//! OpenTimestamps calendar API, byte for byte, so that the stock `ots`
//! client stamps and upgrades against it unchanged, and a native bulk API,
//! over one durable and honest anchoring service.
//!
//! * [`calendar`]: how a submitted digest becomes a salted record leaf of
//!   our batch tree, and the `.ots` timestamps handed out for it.
//! * [`storage`]: the storage seam; [`sqlite`] its embedded backend, with
//!   one writer and group commit: a reply only after the commit;
//!   [`postgres`] the backend shared by several instances, one of which
//!   anchors at a time.
//! * [`anchorer`]: the workflow's [`Anchoring`]
//!   on a thread, paid by the data directory's wallet.
//! * [`health`]: why submissions are refused (503) when the anchorer
//!   cannot work.
//! * [`fees`]: when a stuck anchor is bumped, and the caps on what
//!   anchors and bumps cost, per transaction and per UTC day.
//! * [`keys`], [`limits`]: API keys (stored hashed) and rate limits.
//! * [`metrics`]: `GET /metrics` in the Prometheus text format.
//! * [`http`]: the endpoints (axum).
//! * [`serve`]: all of them together, with graceful shutdown.
//! * [`tiles`]: an audit log served read-only as C2SP tlog-tiles
//!   (`btc-anchor log serve`, `docs/audit-log.md` §14).
//! * [`witness`]: a C2SP tlog-witness of audit logs (`btc-anchor witness`,
//!   `docs/audit-log.md` §16).

pub mod anchorer;
pub mod calendar;
pub mod config;
pub mod fees;
pub mod health;
pub mod http;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod postgres;
pub mod sqlite;
pub mod storage;
pub mod tiles;
pub mod witness;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use btc_anchor_workflow::anchoring::{AnchorStep, Anchoring, AnchoringError};
use btc_anchor_workflow::config::Config;

pub use config::ServerConfig;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The data directory could not be opened (locked, other network).
    #[error("cannot open the data directory")]
    Open(#[source] AnchoringError),
    /// The storage could not be opened.
    #[error("cannot open the calendar storage")]
    Storage(#[from] storage::StorageError),
    /// The listening address could not be bound or served.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The derived public URL is not a valid attestation URI.
    #[error(transparent)]
    Config(#[from] config::ServerConfigError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A folder that holds no published log (`btc-anchor log serve`).
    #[error("{} holds no published log (no public/ folder, checkpoint or tile/)", path.display())]
    NoLog {
        /// The folder.
        path: PathBuf,
    },
    /// The API keys could not be read.
    #[error("cannot read the API keys")]
    Keys(#[from] keys::KeysError),
    /// The witness's folder could not be opened (`btc-anchor witness
    /// serve`).
    #[error("cannot open the witness")]
    Witness(#[source] witness::WitnessError),
}

/// What `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data directory (store, wallet, `config.toml`).
    pub data_dir: PathBuf,
    /// The workflow's settings (network, Electrum, fees, `min_depth`).
    pub config: Config,
    /// The server's settings.
    pub server: ServerConfig,
    /// Hears each step of every anchoring as it is made durable (the CLI's
    /// crash-test hook; `|_| {}` otherwise).
    pub on_anchor_step: fn(&AnchorStep),
}

/// Runs the server until `shutdown` resolves, then shuts down gracefully:
/// in-flight requests finish (and with them their commits), the writer
/// commits what it holds, the anchorer stops after its current step.
/// `on_listen` hears the bound address (useful with port 0).
///
/// # Errors
///
/// A [`ServeError`] when a part cannot start.
pub async fn serve(
    options: ServeOptions,
    on_listen: impl FnOnce(std::net::SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let ServeOptions {
        data_dir,
        config,
        server,
        on_anchor_step,
    } = options;
    let (seat, storage): (anchorer::Seat, Arc<dyn storage::Storage>) = match &server.postgres {
        None => (
            anchorer::Seat::Own(
                Anchoring::open(&data_dir, config.clone()).map_err(ServeError::Open)?,
            ),
            Arc::new(sqlite::SqliteStorage::open(
                &data_dir,
                config.network,
                server.max_queued_submissions,
            )?),
        ),
        Some(url) => (
            if server.anchorer {
                anchorer::Seat::Shared {
                    url: url.clone(),
                    config: config.clone(),
                }
            } else {
                anchorer::Seat::Frontend { url: url.clone() }
            },
            {
                let (url, network, max) =
                    (url.clone(), config.network, server.max_queued_submissions);
                Arc::new(
                    tokio::task::spawn_blocking(move || {
                        postgres::PgStorage::open(&url, network, max)
                    })
                    .await
                    .map_err(|_| storage::StorageError::Stopped)??,
                )
            },
        ),
    };
    let keys = Arc::new(keys::KeyFile::open(&data_dir)?);
    let (listener, addr) = bind(server.listen).await?;
    let public_url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    if !calendar::valid_uri(&public_url) {
        return Err(config::ServerConfigError::BadPublicUrl.into());
    }
    let health = Arc::new(health::Health::new(server.max_pending_secs));
    let options = anchorer::AnchorerOptions {
        anchor_interval: Duration::from_secs(server.anchor_interval_secs),
        poll_interval: Duration::from_secs(server.poll_interval_secs.max(1)),
        min_balance_sat: server.min_balance_sat,
        on_step: on_anchor_step,
        fees: server.fee_limits(config.max_fee_sat),
    };
    let anchorer = anchorer::Anchorer::start(seat, data_dir.clone(), health.clone(), options);
    let state = Arc::new(http::AppState {
        storage: storage.clone(),
        health: health.clone(),
        public_url,
        network: config.network,
        min_depth: config.min_depth,
        max_digests: server.max_digests_per_request,
    });
    let app = http::router_with(
        state,
        http::RouterOptions {
            request_timeout: Duration::from_secs(server.request_timeout_secs.max(1)),
            metrics: Arc::default(),
            keys: Some(keys),
            require_key_for_digest: server.require_key_for_digest,
            rate_limit: (server.rate_limit_per_sec > 0).then(|| {
                Arc::new(limits::RateLimiter::new(
                    server.rate_limit_per_sec,
                    server.rate_limit_burst,
                ))
            }),
        },
    )
    .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tracing::info!(%addr, network = %config.network, "listening");
    on_listen(addr);
    let h = health.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            h.shut_down();
            tracing::info!("shutting down");
        })
        .await
        .map_err(|source| ServeError::Listen { addr, source });
    let closing = storage.clone();
    let _ = tokio::task::spawn_blocking(move || closing.close()).await;
    let _ = tokio::task::spawn_blocking(move || anchorer.stop()).await;
    result
}

/// Runs [`serve`] on its own runtime until SIGINT or SIGTERM: the entry
/// point of `btc-anchor serve`.
///
/// # Errors
///
/// As [`serve`].
pub fn run(
    options: ServeOptions,
    on_listen: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let rt = runtime()?;
    rt.block_on(serve(options, on_listen, shutdown_signal()))
}

/// Binds a listener to `addr` (port 0 picks a free port), with the address
/// it got.
///
/// # Errors
///
/// [`ServeError::Listen`] when the address cannot be bound.
pub async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Listen { addr, source })?;
    Ok((listener, bound))
}

/// Resolves at the first SIGINT or SIGTERM: the shutdown of the servers'
/// entry points.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// A runtime for one of the servers' entry points.
fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)
}

/// The data directory's `server.toml`, for the command line.
///
/// # Errors
///
/// As [`ServerConfig::load`].
pub fn load_server_config(data_dir: &Path) -> Result<ServerConfig, config::ServerConfigError> {
    ServerConfig::load(data_dir)
}
