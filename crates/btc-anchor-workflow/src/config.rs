//! Configuration: `config.toml` in the data directory, every value
//! overridable by the caller (the command line maps flags and environment
//! variables onto [`Config`]).
//!
//! ```toml
//! network = "signet"
//! electrum_url = "ssl://electrum.example.org:60602"
//! min_depth = 7
//! max_fee_sat = 20000
//! fallback_fee_rate = 2.0   # sat/vB, used when the server has no estimate
//! fee_target_blocks = 6
//! allow_insecure_tcp = false
//! seal_chain = false        # each anchor spends the previous one's seal output
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::Network;

/// File name of the configuration inside the data directory.
pub const CONFIG_FILE: &str = "config.toml";

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path} is not valid TOML: {reason}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A key has a value of the wrong type or range.
    #[error("{path}: \"{key}\" {expected}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A key the program does not know (likely a typo).
    #[error("{path}: unknown setting \"{key}\"")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// An unknown network name.
    #[error("unknown network \"{0}\" (expected bitcoin, testnet, testnet4, signet or regtest)")]
    UnknownNetwork(String),
    /// The network asked for is not the one the data directory is for.
    #[error("the data directory is for {found} ({found_in}), not {asked}")]
    NetworkMismatch {
        /// The network asked for.
        asked: Network,
        /// The data directory's.
        found: Network,
        /// Where that was found: `config.toml` or `the store`.
        found_in: &'static str,
    },
}

/// Settings of one data directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The network anchored on.
    pub network: Network,
    /// The Electrum server, `ssl://host:port` or `tcp://host:port`.
    pub electrum_url: Option<String>,
    /// Confirmations before a proof is complete.
    pub min_depth: u32,
    /// Largest fee one anchoring transaction may pay, in satoshis.
    pub max_fee_sat: u64,
    /// Fee rate (sat/vB) when the server has no estimate; `None` makes that
    /// an error (the default outside regtest).
    pub fallback_fee_rate: Option<f64>,
    /// Confirmation target for fee estimates, in blocks.
    pub fee_target_blocks: usize,
    /// Allow plain `tcp://` to servers outside regtest.
    pub allow_insecure_tcp: bool,
    /// Chain the anchors on a seal: every anchoring transaction spends the
    /// previous one's seal output ([`crate::backend::SEAL_VOUT`]) and makes
    /// its own, so that two anchors can never both follow one (a fork of
    /// the history anchored would be a double spend). A new batch waits
    /// for the previous one to confirm.
    pub seal_chain: bool,
}

/// Parses a network name as written in proofs and configuration.
pub fn parse_network(name: &str) -> Result<Network, ConfigError> {
    match name {
        "bitcoin" | "mainnet" => Ok(Network::Bitcoin),
        "testnet" | "testnet4" | "signet" | "regtest" => {
            Network::from_str(name).map_err(|_| ConfigError::UnknownNetwork(name.to_owned()))
        }
        other => Err(ConfigError::UnknownNetwork(other.to_owned())),
    }
}

impl Config {
    /// The defaults for `network`: 7 confirmations on mainnet (so that a
    /// complete proof carries the 6 headers after its block that make it
    /// valid offline, [`btc_anchor::verify::MIN_HEADERS_AFTER`]), 1 elsewhere; a
    /// fallback fee rate only on regtest.
    pub fn defaults(network: Network) -> Config {
        Config {
            network,
            electrum_url: None,
            min_depth: if network == Network::Bitcoin {
                btc_anchor::verify::MIN_HEADERS_AFTER + 1
            } else {
                1
            },
            max_fee_sat: if network == Network::Bitcoin {
                20_000
            } else {
                100_000
            },
            fallback_fee_rate: (network == Network::Regtest).then_some(1.0),
            fee_target_blocks: 6,
            allow_insecure_tcp: false,
            seal_chain: false,
        }
    }

    /// Reads the configuration of `data_dir` for the network `asked` for,
    /// or, when none is, for the network the directory is for: the
    /// `network` of its `config.toml`, else the one its store recorded
    /// ([`crate::store::recorded_network`]), else mainnet.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NetworkMismatch`] when the network asked for is not
    /// the one `config.toml` or the store names, so that a data directory
    /// of one network is never used on another; otherwise as
    /// [`Config::load`].
    pub fn resolve(data_dir: &Path, asked: Option<Network>) -> Result<Config, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        let table = read_table(&path)?;
        let in_file = match table.as_ref().and_then(|t| t.get("network")) {
            Some(value) => Some(parse_network(value.as_str().ok_or_else(|| {
                ConfigError::BadValue {
                    path: path.clone(),
                    key: "network",
                    expected: "must be a network name",
                }
            })?)?),
            None => None,
        };
        // A store that cannot be read is reported when it is opened.
        let in_store = crate::store::recorded_network(data_dir).ok().flatten();
        let found = in_file
            .map(|n| (n, "config.toml"))
            .or(in_store.map(|n| (n, "the store")));
        let network = match (asked, found) {
            (Some(asked), Some((found, found_in))) if asked != found => {
                return Err(ConfigError::NetworkMismatch {
                    asked,
                    found,
                    found_in,
                })
            }
            (Some(n), _) | (None, Some((n, _))) => n,
            (None, None) => Network::Bitcoin,
        };
        if let (Some(file), Some(store)) = (in_file, in_store) {
            if file != store {
                return Err(ConfigError::NetworkMismatch {
                    asked: file,
                    found: store,
                    found_in: "the store",
                });
            }
        }
        Config::apply(&path, table, network)
    }

    /// Reads `config.toml` from `data_dir` over the defaults of `network`
    /// (the file's own `network`, if any, must agree). A missing file
    /// gives the defaults.
    ///
    /// # Errors
    ///
    /// A file that cannot be read, is not TOML, or holds an unknown key, a
    /// bad value or another network.
    pub fn load(data_dir: &Path, network: Network) -> Result<Config, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        let table = read_table(&path)?;
        Config::apply(&path, table, network)
    }

    /// The settings of `table` (read from `path`) over the defaults of
    /// `network`.
    fn apply(
        path: &Path,
        table: Option<toml::Table>,
        network: Network,
    ) -> Result<Config, ConfigError> {
        let path = path.to_path_buf();
        let mut c = Config::defaults(network);
        let Some(table) = table else {
            return Ok(c);
        };
        let bad = |key, expected| ConfigError::BadValue {
            path: path.clone(),
            key,
            expected,
        };
        for (key, value) in &table {
            match key.as_str() {
                "network" => {
                    let n = value
                        .as_str()
                        .ok_or_else(|| bad("network", "must be a network name"))?;
                    let found = parse_network(n)?;
                    if found != network {
                        return Err(ConfigError::NetworkMismatch {
                            asked: network,
                            found,
                            found_in: "config.toml",
                        });
                    }
                }
                "electrum_url" => {
                    c.electrum_url = Some(
                        value
                            .as_str()
                            .ok_or_else(|| bad("electrum_url", "must be a string"))?
                            .to_owned(),
                    )
                }
                "min_depth" => {
                    c.min_depth = value
                        .as_integer()
                        .and_then(|v| u32::try_from(v).ok())
                        .filter(|v| (1..=100).contains(v))
                        .ok_or_else(|| bad("min_depth", "must be a whole number from 1 to 100"))?
                }
                "max_fee_sat" => {
                    c.max_fee_sat = value
                        .as_integer()
                        .and_then(|v| u64::try_from(v).ok())
                        .ok_or_else(|| bad("max_fee_sat", "must be a whole number of satoshis"))?
                }
                "fallback_fee_rate" => {
                    let v = value
                        .as_float()
                        .or_else(|| value.as_integer().map(|i| i as f64))
                        .filter(|v| *v >= 1.0 && *v <= 10_000.0)
                        .ok_or_else(|| {
                            bad(
                                "fallback_fee_rate",
                                "must be a fee rate from 1 to 10000 sat/vB",
                            )
                        })?;
                    c.fallback_fee_rate = Some(v);
                }
                "fee_target_blocks" => {
                    c.fee_target_blocks = value
                        .as_integer()
                        .and_then(|v| usize::try_from(v).ok())
                        .filter(|v| (1..=1008).contains(v))
                        .ok_or_else(|| {
                            bad("fee_target_blocks", "must be a whole number from 1 to 1008")
                        })?
                }
                "allow_insecure_tcp" => {
                    c.allow_insecure_tcp = value
                        .as_bool()
                        .ok_or_else(|| bad("allow_insecure_tcp", "must be true or false"))?
                }
                "seal_chain" => {
                    c.seal_chain = value
                        .as_bool()
                        .ok_or_else(|| bad("seal_chain", "must be true or false"))?
                }
                other => {
                    return Err(ConfigError::UnknownKey {
                        path,
                        key: other.to_owned(),
                    })
                }
            }
        }
        Ok(c)
    }
}

/// The table of the TOML file at `path`, `None` when there is no file.
fn read_table(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    text.parse()
        .map(Some)
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            reason: e.message().to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path(), Network::Bitcoin).unwrap();
        assert_eq!(c.min_depth, 7);
        assert_eq!(c.fallback_fee_rate, None);
        fs::write(
            dir.path().join(CONFIG_FILE),
            "network = \"regtest\"\nmin_depth = 3\nelectrum_url = \"tcp://127.0.0.1:1\"\n",
        )
        .unwrap();
        let c = Config::load(dir.path(), Network::Regtest).unwrap();
        assert_eq!(c.min_depth, 3);
        assert_eq!(c.electrum_url.as_deref(), Some("tcp://127.0.0.1:1"));
        assert!(Config::load(dir.path(), Network::Signet).is_err());
        assert!(matches!(
            Config::load(dir.path(), Network::Signet),
            Err(ConfigError::NetworkMismatch {
                asked: Network::Signet,
                found: Network::Regtest,
                found_in: "config.toml"
            })
        ));
        fs::write(dir.path().join(CONFIG_FILE), "min_dpeth = 3\n").unwrap();
        assert!(matches!(
            Config::load(dir.path(), Network::Regtest),
            Err(ConfigError::UnknownKey { .. })
        ));
    }

    #[test]
    fn the_network_comes_from_the_flag_the_file_or_the_store() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing anywhere: mainnet.
        assert_eq!(
            Config::resolve(dir.path(), None).unwrap().network,
            Network::Bitcoin
        );
        assert_eq!(
            Config::resolve(dir.path(), Some(Network::Signet))
                .unwrap()
                .network,
            Network::Signet
        );
        // A store created for regtest names the network when nothing else
        // does, and refuses another.
        use crate::store::Journal as _;
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        store.record_network(Network::Regtest).unwrap();
        drop(store);
        assert_eq!(
            Config::resolve(dir.path(), None).unwrap().network,
            Network::Regtest
        );
        assert!(matches!(
            Config::resolve(dir.path(), Some(Network::Bitcoin)),
            Err(ConfigError::NetworkMismatch {
                found: Network::Regtest,
                found_in: "the store",
                ..
            })
        ));
        // config.toml names it too; a file and a store that disagree are
        // refused whatever is asked.
        fs::write(
            dir.path().join(CONFIG_FILE),
            "network = \"regtest\"\nmin_depth = 2\n",
        )
        .unwrap();
        let c = Config::resolve(dir.path(), None).unwrap();
        assert_eq!((c.network, c.min_depth), (Network::Regtest, 2));
        fs::write(dir.path().join(CONFIG_FILE), "network = \"signet\"\n").unwrap();
        assert!(Config::resolve(dir.path(), None).is_err());
        assert!(Config::resolve(dir.path(), Some(Network::Signet)).is_err());
    }
}
