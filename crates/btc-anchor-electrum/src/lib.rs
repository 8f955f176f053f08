//! The Electrum adapter: headers, merkle proofs, broadcasts and fee
//! estimates from an Electrum server, each checked before it is trusted.
//!
//! * Headers are checked for proof of work within the network's limit, for
//!   linkage, and against the chain rules of [`btc_anchor::rules`] with the
//!   built-in checkpoints (so a lying server cannot serve a header at a
//!   covered mainnet height below its epoch's real difficulty); the
//!   server's genesis block must be the network's.
//! * The check is [`btc_anchor::rules::check_served_header`], the one every
//!   chain backend's headers go through (the workflow holds any backend to
//!   it, and holds merkle proofs and broadcasts to checked headers and
//!   statuses): this adapter only speaks the protocol.
//! * Outside regtest, plain `tcp://` is refused unless explicitly allowed:
//!   `ssl://` with certificate validation is the default.

use std::time::Duration;

use bdk_electrum::electrum_client::{self, Client, ConfigBuilder, ElectrumApi};
use bdk_electrum::BdkElectrumClient;
use bitcoin::block::Header;
use bitcoin::hashes::Hash as _;
use bitcoin::{FeeRate, Network, Script, Transaction, TxMerkleNode, Txid};

use btc_anchor::chain::{header_hash, HeaderError};
use btc_anchor::checkpoints::EPOCH_BLOCKS;
use btc_anchor::headers::{HeaderSource, HeaderSourceError, SourceKind};
use btc_anchor::rules::{check_served_header, RuleError, ServedHeaderError};

/// Errors talking to an Electrum server.
///
/// The underlying errors of the client library are kept as sources; the
/// messages never repeat them (print the chain, as the CLI does, for the
/// whole story).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ElectrumError {
    /// The URL is not `tcp://host:port` or `ssl://host:port`.
    #[error("invalid Electrum URL \"{0}\" (expected ssl://host:port or tcp://host:port)")]
    BadUrl(String),
    /// Plain TCP to a server on a real network.
    #[error("refusing unencrypted tcp:// to an Electrum server on {0}")]
    Insecure(Network),
    /// The server could not be reached or the TLS handshake failed.
    #[error("cannot reach Electrum server {url}")]
    Connect {
        /// The server.
        url: String,
        /// What failed.
        #[source]
        source: Box<electrum_client::Error>,
    },
    /// The server answered with an error or broke the protocol.
    #[error("Electrum server {url} failed")]
    Protocol {
        /// The server.
        url: String,
        /// What failed.
        #[source]
        source: Box<electrum_client::Error>,
    },
    /// The server sent an answer that cannot be right.
    #[error("Electrum server {url} sent {what}")]
    BadAnswer {
        /// The server.
        url: String,
        /// What it sent.
        what: &'static str,
    },
    /// The server follows another chain than the network asked for.
    #[error("Electrum server {url} is not on {network} (its genesis block differs)")]
    WrongChain {
        /// The server.
        url: String,
        /// The network expected.
        network: Network,
    },
    /// The server sent a header that fails its checks.
    #[error("Electrum server {url} sent a bad header")]
    BadHeader {
        /// The server.
        url: String,
        /// What is wrong.
        #[source]
        source: HeaderError,
    },
    /// The server sent a header that breaks a chain rule against the
    /// built-in checkpoints (`docs/proof-format.md` §6.3).
    #[error("Electrum server {url} sent a header that breaks a chain rule")]
    BadChain {
        /// The server.
        url: String,
        /// The rule broken, and where.
        #[source]
        rule: RuleError,
    },
    /// The server's merkle proof cannot be a block's (wrong height, a
    /// position out of range, too long).
    #[error("Electrum server {url} sent a malformed merkle proof for {txid} in block {height}")]
    BadMerkleProof {
        /// The server.
        url: String,
        /// The transaction.
        txid: Txid,
        /// The block height.
        height: u32,
    },
    /// The server refused a transaction.
    #[error("Electrum server {url} refused the transaction: {reason}")]
    Rejected {
        /// The server.
        url: String,
        /// Its reason, as the server words it (data, not an error of ours).
        reason: String,
    },
}

impl ElectrumError {
    /// Classifies an error of the client library.
    pub fn from_client(url: &str, e: electrum_client::Error) -> ElectrumError {
        use electrum_client::Error as E;
        match e {
            E::IOError(_) | E::AllAttemptsErrored(_) | E::CouldntLockReader | E::Mpsc => {
                ElectrumError::Connect {
                    url: url.to_owned(),
                    source: Box::new(e),
                }
            }
            other => ElectrumError::Protocol {
                url: url.to_owned(),
                source: Box::new(other),
            },
        }
    }

    fn served(url: &str, e: ServedHeaderError) -> ElectrumError {
        match e {
            ServedHeaderError::Rule(rule) => ElectrumError::BadChain {
                url: url.to_owned(),
                rule,
            },
            ServedHeaderError::Work(source) => ElectrumError::BadHeader {
                url: url.to_owned(),
                source,
            },
            // A kind of check added later: still a bad header.
            _ => ElectrumError::BadAnswer {
                url: url.to_owned(),
                what: "a header that fails its checks",
            },
        }
    }
}

/// How to connect.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    /// Allow `tcp://` outside regtest.
    pub allow_insecure: bool,
    /// Socket timeout.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            allow_insecure: false,
            timeout: Duration::from_secs(20),
        }
    }
}

/// A connection to an Electrum server for one network.
pub struct Electrum {
    client: BdkElectrumClient<Client>,
    url: String,
    network: Network,
}

impl std::fmt::Debug for Electrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Electrum")
            .field("url", &self.url)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

/// Where a transaction stands according to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// The server does not know it.
    Unknown,
    /// In the mempool.
    Mempool,
    /// In the block at this height.
    Confirmed(u32),
}

/// A transaction's place in a block as the server tells it: not checked
/// against the block's header (a chain backend's caller does that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    /// The transaction's position in the block.
    pub pos: u32,
    /// The branch, internal byte order.
    pub branch: Vec<TxMerkleNode>,
}

impl Electrum {
    /// Connects to `url` and checks the server follows `network`.
    pub fn connect(
        url: &str,
        network: Network,
        options: ConnectOptions,
    ) -> Result<Electrum, ElectrumError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| ElectrumError::BadUrl(url.to_owned()))?;
        let has_port = rest
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !has_port || !matches!(scheme, "tcp" | "ssl") {
            return Err(ElectrumError::BadUrl(url.to_owned()));
        }
        if scheme == "tcp" && network != Network::Regtest && !options.allow_insecure {
            return Err(ElectrumError::Insecure(network));
        }
        let config = ConfigBuilder::new()
            .timeout(Some(options.timeout))
            .retry(1)
            .validate_domain(true)
            .build();
        let client = Client::from_config(url, config).map_err(|e| ElectrumError::Connect {
            url: url.to_owned(),
            source: Box::new(e),
        })?;
        let e = Electrum {
            client: BdkElectrumClient::new(client),
            url: url.to_owned(),
            network,
        };
        let genesis = e
            .client
            .inner
            .block_header(0)
            .map_err(|err| ElectrumError::from_client(url, err))?;
        if genesis != bitcoin::constants::genesis_block(network).header {
            return Err(ElectrumError::WrongChain {
                url: url.to_owned(),
                network,
            });
        }
        Ok(e)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The BDK client, for wallet syncs.
    pub fn bdk(&self) -> &BdkElectrumClient<Client> {
        &self.client
    }

    fn api(&self) -> &Client {
        &self.client.inner
    }

    fn err(&self, e: electrum_client::Error) -> ElectrumError {
        ElectrumError::from_client(&self.url, e)
    }

    /// The server's tip height.
    pub fn tip_height(&self) -> Result<u32, ElectrumError> {
        let n = self
            .api()
            .block_headers_subscribe()
            .map_err(|e| self.err(e))?;
        u32::try_from(n.height).map_err(|_| ElectrumError::BadAnswer {
            url: self.url.clone(),
            what: "a tip height out of range",
        })
    }

    /// The header at `height`, its work and chain rules checked.
    pub fn header(&self, height: u32) -> Result<Header, ElectrumError> {
        let h = self
            .api()
            .block_header(height as usize)
            .map_err(|e| self.err(e))?;
        check_served_header(self.network, height, &h, None)
            .map_err(|e| ElectrumError::served(&self.url, e))?;
        Ok(h)
    }

    /// `count` headers from `start`, fetched in batches of at most 2016,
    /// each checked (work and chain rules) and linked to the one before
    /// (the first to the header at `start - 1` if `prev` is given). Fewer
    /// if the server's chain ends first.
    pub fn headers(
        &self,
        start: u32,
        count: u32,
        prev: Option<&Header>,
    ) -> Result<Vec<Header>, ElectrumError> {
        let mut out = Vec::with_capacity(count as usize);
        let mut prev_hash = prev.map(header_hash);
        let mut next = start;
        while out.len() < count as usize {
            let want = (count as usize - out.len()).min(EPOCH_BLOCKS as usize);
            let res = self
                .api()
                .block_headers(next as usize, want)
                .map_err(|e| self.err(e))?;
            if res.headers.is_empty() {
                break;
            }
            for h in res.headers {
                let hash = check_served_header(self.network, next, &h, prev_hash.as_ref())
                    .map_err(|e| ElectrumError::served(&self.url, e))?;
                prev_hash = Some(hash);
                out.push(h);
                next += 1;
                if out.len() == count as usize {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Sends a transaction to the server. Whether it took it is for the
    /// caller to see, through [`Electrum::status`]: some node software
    /// does not report rejections.
    pub fn broadcast(&self, tx: &Transaction) -> Result<Txid, ElectrumError> {
        match self.api().transaction_broadcast(tx) {
            Ok(txid) => Ok(txid),
            Err(electrum_client::Error::Protocol(v)) => Err(ElectrumError::Rejected {
                url: self.url.clone(),
                reason: v.to_string(),
            }),
            Err(other) => Err(self.err(other)),
        }
    }

    /// Fee rate estimate for confirmation within `blocks`, `None` if the
    /// server has none (as on an empty regtest chain).
    pub fn estimate_fee_rate(&self, blocks: usize) -> Result<Option<FeeRate>, ElectrumError> {
        let btc_per_kvb = self
            .api()
            .estimate_fee(blocks, None)
            .map_err(|e| self.err(e))?;
        if btc_per_kvb.is_nan() || btc_per_kvb <= 0.0 {
            return Ok(None);
        }
        let sat_per_kwu = (btc_per_kvb * 100_000_000.0 / 4.0).ceil() as u64;
        Ok(Some(FeeRate::from_sat_per_kwu(sat_per_kwu.max(250))))
    }

    /// Where `tx` stands, found through the history of its outputs' scripts
    /// (OP_RETURN outputs are not indexed by Electrum servers).
    pub fn status(&self, tx: &Transaction) -> Result<TxStatus, ElectrumError> {
        let txid = tx.compute_txid();
        for out in &tx.output {
            let script: &Script = out.script_pubkey.as_script();
            if script.is_op_return() {
                continue;
            }
            let history = self
                .api()
                .script_get_history(script)
                .map_err(|e| self.err(e))?;
            if let Some(h) = history.iter().find(|h| h.tx_hash == txid) {
                return Ok(if h.height > 0 {
                    TxStatus::Confirmed(h.height as u32)
                } else {
                    TxStatus::Mempool
                });
            }
        }
        Ok(TxStatus::Unknown)
    }

    /// The server's merkle proof of `txid` in the block at `height`,
    /// refused if malformed but not checked against the block's header:
    /// the caller holds it to a checked header.
    pub fn merkle_proof(&self, txid: &Txid, height: u32) -> Result<MerkleProof, ElectrumError> {
        let res = self
            .api()
            .transaction_get_merkle(txid, height as usize)
            .map_err(|e| self.err(e))?;
        let bad = || ElectrumError::BadMerkleProof {
            url: self.url.clone(),
            txid: *txid,
            height,
        };
        if res.block_height != height as usize || res.merkle.len() > 32 {
            return Err(bad());
        }
        let pos = u32::try_from(res.pos).map_err(|_| bad())?;
        // Electrum sends branch hashes in display order.
        let branch: Vec<TxMerkleNode> = res
            .merkle
            .iter()
            .map(|h| {
                let mut b = *h;
                b.reverse();
                TxMerkleNode::from_byte_array(b)
            })
            .collect();
        Ok(MerkleProof { pos, branch })
    }
}

impl HeaderSource for Electrum {
    fn kind(&self) -> SourceKind {
        SourceKind::Electrum(self.url.clone())
    }

    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        let tip = self.best_height()?.unwrap_or(0);
        if height > tip {
            return Ok(None);
        }
        self.header(height)
            .map(Some)
            .map_err(|e| HeaderSourceError::Remote(Box::new(e)))
    }

    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        self.tip_height()
            .map(Some)
            .map_err(|e| HeaderSourceError::Remote(Box::new(e)))
    }

    /// Batched `blockchain.block.headers` calls (at most 2016 headers
    /// each) instead of one call per header; every header checked for its
    /// work and the chain rules, and each linked to the one before.
    fn header_range(&self, start: u32, count: u32) -> Result<Vec<Header>, HeaderSourceError> {
        self.headers(start, count, None)
            .map_err(|e| HeaderSourceError::Remote(Box::new(e)))
    }
}
