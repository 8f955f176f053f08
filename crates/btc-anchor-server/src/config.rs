//! The server's settings: `server.toml` in the data directory
//! (`docs/server-api.md` §8), every key optional.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// File name of the server's settings inside the data directory.
pub const SERVER_CONFIG_FILE: &str = "server.toml";

/// Errors reading the settings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not parse, or holds an unknown key or a bad value.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The public URL cannot be carried by a pending attestation.
    #[error("public_url must be 1 to 1000 characters of a-z A-Z 0-9 - . _ / :")]
    BadPublicUrl,
    /// A rate limit without room for one request.
    #[error("rate_limit_burst must be at least 1 when rate_limit_per_sec is set")]
    NoBurst,
}

/// The server's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The URI put in pending attestations (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Queued records are anchored at most this often.
    pub anchor_interval_secs: u64,
    /// Broadcast batches are followed this often.
    pub poll_interval_secs: u64,
    /// The service limit: a record queued longer makes submissions 503.
    pub max_pending_secs: u64,
    /// Below this balance the wallet cannot pay.
    pub min_balance_sat: u64,
    /// Time to read a request and answer it.
    pub request_timeout_secs: u64,
    /// Most digests in one native request.
    pub max_digests_per_request: usize,
    /// Most submissions waiting for the writer.
    pub max_queued_submissions: usize,
    /// Blocks a broadcast anchoring transaction may stay unconfirmed
    /// before the anchorer bumps it (§9).
    pub bump_after_blocks: u32,
    /// Most fee one anchoring transaction may pay, replacements included
    /// (default: `max_fee_sat` of `config.toml`).
    pub max_fee_per_tx_sat: Option<u64>,
    /// Most fees paid for anchors and bumps in one UTC day.
    pub max_fee_per_day_sat: u64,
    /// Whether `POST /digest` needs an API key too, once any is
    /// configured (the stock `ots` client cannot send one).
    pub require_key_for_digest: bool,
    /// Requests a second each API key, and each client address without a
    /// key, may make on average (0: no limit).
    pub rate_limit_per_sec: u32,
    /// Requests each may make at once before the average applies.
    pub rate_limit_burst: u32,
    /// A PostgreSQL database shared with other instances (§12), as a
    /// libpq connection string or `postgres://` URL; none: the data
    /// directory's own SQLite store. `BTC_ANCHOR_POSTGRES` overrides it
    /// (keep a password out of the file).
    pub postgres: Option<String>,
    /// With `postgres`: whether this instance stands by to anchor (the
    /// default), or only takes submissions and answers lookups.
    pub anchorer: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8600)),
            public_url: None,
            anchor_interval_secs: 600,
            poll_interval_secs: 30,
            max_pending_secs: 86_400,
            min_balance_sat: 5_000,
            request_timeout_secs: 30,
            max_digests_per_request: 10_000,
            max_queued_submissions: 10_000,
            bump_after_blocks: 6,
            max_fee_per_tx_sat: None,
            max_fee_per_day_sat: 200_000,
            require_key_for_digest: false,
            rate_limit_per_sec: 20,
            rate_limit_burst: 100,
            postgres: None,
            anchorer: true,
        }
    }
}

impl ServerConfig {
    /// Reads `server.toml` of `data_dir` over the defaults (the defaults
    /// when there is no file).
    ///
    /// # Errors
    ///
    /// A file that cannot be read or does not parse.
    pub fn load(data_dir: &Path) -> Result<ServerConfig, ServerConfigError> {
        let path = data_dir.join(SERVER_CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ServerConfig::default())
            }
            Err(source) => return Err(ServerConfigError::Read { path, source }),
        };
        let c: ServerConfig = toml::from_str(&text).map_err(|e| ServerConfigError::Invalid {
            path: path.clone(),
            reason: e.message().to_owned(),
        })?;
        c.checked()
    }

    /// The settings, checked.
    ///
    /// # Errors
    ///
    /// [`ServerConfigError::BadPublicUrl`], [`ServerConfigError::NoBurst`].
    pub fn checked(self) -> Result<ServerConfig, ServerConfigError> {
        if let Some(u) = &self.public_url {
            if !crate::calendar::valid_uri(u) {
                return Err(ServerConfigError::BadPublicUrl);
            }
        }
        if self.rate_limit_per_sec > 0 && self.rate_limit_burst == 0 {
            return Err(ServerConfigError::NoBurst);
        }
        Ok(self)
    }

    /// The fee bounds, with `max_fee_sat` of `config.toml` as the cap per
    /// transaction unless `max_fee_per_tx_sat` is set.
    pub fn fee_limits(&self, workflow_max_fee_sat: u64) -> crate::fees::FeeLimits {
        crate::fees::FeeLimits {
            bump_after_blocks: self.bump_after_blocks,
            max_fee_per_tx_sat: self.max_fee_per_tx_sat.unwrap_or(workflow_max_fee_sat),
            max_fee_per_day_sat: self.max_fee_per_day_sat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ServerConfig::load(dir.path()).unwrap(),
            ServerConfig::default()
        );
        std::fs::write(
            dir.path().join(SERVER_CONFIG_FILE),
            "listen = \"127.0.0.1:9000\"\nanchor_interval_secs = 1\n",
        )
        .unwrap();
        let c = ServerConfig::load(dir.path()).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.anchor_interval_secs, 1);
        std::fs::write(
            dir.path().join(SERVER_CONFIG_FILE),
            "bump_after_blocks = 3\nmax_fee_per_tx_sat = 9000\nmax_fee_per_day_sat = 50000\n\
             require_key_for_digest = true\nrate_limit_per_sec = 5\nrate_limit_burst = 10\n",
        )
        .unwrap();
        let c = ServerConfig::load(dir.path()).unwrap();
        assert!(c.require_key_for_digest);
        assert_eq!((c.rate_limit_per_sec, c.rate_limit_burst), (5, 10));
        assert_eq!(
            c.fee_limits(20_000),
            crate::fees::FeeLimits {
                bump_after_blocks: 3,
                max_fee_per_tx_sat: 9000,
                max_fee_per_day_sat: 50_000,
            }
        );
        // Without max_fee_per_tx_sat, config.toml's max_fee_sat.
        assert_eq!(
            ServerConfig::default()
                .fee_limits(20_000)
                .max_fee_per_tx_sat,
            20_000
        );
        std::fs::write(
            dir.path().join(SERVER_CONFIG_FILE),
            "rate_limit_per_sec = 5\nrate_limit_burst = 0\n",
        )
        .unwrap();
        assert!(matches!(
            ServerConfig::load(dir.path()),
            Err(ServerConfigError::NoBurst)
        ));
        std::fs::write(dir.path().join(SERVER_CONFIG_FILE), "lisen = 1\n").unwrap();
        assert!(matches!(
            ServerConfig::load(dir.path()),
            Err(ServerConfigError::Invalid { .. })
        ));
        std::fs::write(
            dir.path().join(SERVER_CONFIG_FILE),
            "public_url = \"a b\"\n",
        )
        .unwrap();
        assert!(matches!(
            ServerConfig::load(dir.path()),
            Err(ServerConfigError::BadPublicUrl)
        ));
    }
}
