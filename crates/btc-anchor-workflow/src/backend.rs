//! The seam between the workflow and the world: a [`ChainBackend`] that
//! answers questions about the chain, and a [`Payer`] that builds and pays
//! for the anchoring transactions.
//!
//! The workflow ([`crate::anchoring::Anchoring`]) is generic over both.
//! `btc-anchor-electrum`'s [`Electrum`] is a chain backend, and the BDK
//! wallet, syncing over Electrum, is a payer ([`WalletPayer`]); the
//! `test-utils` feature adds in-memory ones (`crate::fake`).
//!
//! # Trust
//!
//! A chain backend's answers are **untrusted**: the workflow holds every
//! one of them to what it can check itself ([`Checked`]) before it builds
//! anything on it, so that a lying backend makes a step fail with an error
//! and write no proof:
//!
//! * every header to its proof of work, its link to the header before and
//!   the chain rules with the built-in checkpoints
//!   ([`btc_anchor::rules::check_served_header`], the same check the
//!   Electrum adapter's [`HeaderSource`] makes for `verify --electrum`);
//! * every inclusion (position and merkle branch) to the merkle root of the
//!   checked header at its height
//!   ([`btc_anchor::chain::merkle_root_from_branch`]);
//! * every broadcast to the backend's own status afterwards: a transaction
//!   the backend does not show counts as not sent.
//!
//! What no check can catch is a backend that hides things (says a
//! transaction is unknown, or serves a shorter chain): that delays a step,
//! it never makes the workflow write a wrong proof.
//!
//! The payer is the user's own wallet and is trusted to pay, but not to
//! commit: the workflow checks each transaction it builds commits to the
//! batch's root before storing it.

use std::time::{Duration, Instant};

use bitcoin::block::Header;
use bitcoin::{Amount, BlockHash, FeeRate, Network, OutPoint, Transaction, TxMerkleNode, Txid};

use btc_anchor::chain::merkle_root_from_branch;
use btc_anchor::headers::{HeaderSource, HeaderSourceError, SourceKind};
use btc_anchor::rules::check_served_header;
use btc_anchor_electrum::{Electrum, ElectrumError};

use crate::anchoring::AnchoringError;
use crate::wallet::{AnchorWallet, WalletError};

/// How long a broadcast transaction may take to show in the backend's
/// mempool before the broadcast counts as failed.
pub const BROADCAST_WAIT: Duration = Duration::from_secs(15);

/// Where a transaction stands according to a chain backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxStatus {
    /// The backend does not know it.
    Unknown,
    /// In the mempool.
    Mempool,
    /// In the block at this height of the backend's best chain.
    Confirmed(u32),
}

/// A transaction's place in a block, as a backend tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The transaction's position in the block.
    pub pos: u32,
    /// The block merkle branch, internal byte order.
    pub branch: Vec<TxMerkleNode>,
}

/// Something that knows the best chain and relays transactions: an
/// Electrum server, a node, an in-memory chain for tests.
///
/// Every answer is **untrusted**; the workflow checks each one (see the
/// [module documentation](self)). An implementation need not check
/// anything, though it may.
pub trait ChainBackend {
    /// Its errors, which the workflow reports as they are.
    type Error: std::error::Error + Send + Sync + 'static + Into<AnchoringError>;

    /// What kind of source this is, for reports.
    fn kind(&self) -> SourceKind;

    /// The height of its best chain.
    fn tip_height(&self) -> Result<u32, Self::Error>;

    /// The header at `height` of its best chain.
    fn header(&self, height: u32) -> Result<Header, Self::Error>;

    /// Up to `count` headers of its best chain from `start` on, fewer if
    /// its chain ends first.
    fn headers(&self, start: u32, count: u32) -> Result<Vec<Header>, Self::Error>;

    /// Where `tx` stands.
    fn status(&self, tx: &Transaction) -> Result<TxStatus, Self::Error>;

    /// The position and merkle branch of `txid` in the block at `height`.
    fn inclusion(&self, txid: &Txid, height: u32) -> Result<Inclusion, Self::Error>;

    /// Sends `tx` on. Whether it was taken is seen through
    /// [`ChainBackend::status`].
    fn broadcast(&self, tx: &Transaction) -> Result<(), Self::Error>;

    /// A fee rate for confirmation within `blocks`, `None` if it has no
    /// estimate.
    fn estimate_fee_rate(&self, blocks: usize) -> Result<Option<FeeRate>, Self::Error>;

    /// How long a broadcast transaction may take to show in
    /// [`ChainBackend::status`].
    fn relay_wait(&self) -> Duration {
        BROADCAST_WAIT
    }
}

/// The output of an anchoring transaction that is the seal, in a data
/// directory that chains its anchors ([`crate::config::Config::seal_chain`]).
pub const SEAL_VOUT: u32 = 1;

/// The value of a seal output: above every standard dust limit.
pub const SEAL_VALUE: Amount = Amount::from_sat(1_000);

/// The seal an anchoring transaction carries on: output [`SEAL_VOUT`] of
/// [`SEAL_VALUE`] to the wallet itself, spending the previous anchor's seal
/// output (none for the first anchor of the chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    /// The previous anchor's seal output.
    pub spend: Option<OutPoint>,
}

/// The wallet that pays for anchoring: builds and signs the transactions,
/// broadcasts nothing (the workflow does, through its chain backend).
pub trait Payer {
    /// Its errors, which the workflow reports as they are.
    type Error: std::error::Error + Send + Sync + 'static + Into<AnchoringError>;

    /// Brings its view of its own coins up to date.
    fn sync(&mut self) -> Result<(), Self::Error>;

    /// Builds and signs the anchoring transaction: an OP_RETURN output
    /// committing to `root` ([`btc_anchor::commitment::commitment_script`]),
    /// RBF signalled, at `fee_rate`, refused if its fee exceeds `max_fee`;
    /// with a `seal`, the OP_RETURN is output 0, the new seal output
    /// [`SEAL_VOUT`], and the previous seal is spent. Returns it with its
    /// fee.
    fn build_anchor_tx(
        &mut self,
        root: &[u8; 32],
        fee_rate: FeeRate,
        max_fee: Amount,
        seal: Option<Seal>,
    ) -> Result<(Transaction, Amount), Self::Error>;

    /// Builds and signs a replacement of `txid` (RBF: it spends an input
    /// of `txid`, so at most one of them can confirm) at `fee_rate`,
    /// committing to the same root, with the same outputs in the same
    /// order (a seal stays at [`SEAL_VOUT`]); refused if its fee exceeds
    /// `max_fee`.
    fn build_bump(
        &mut self,
        txid: Txid,
        fee_rate: FeeRate,
        max_fee: Amount,
    ) -> Result<(Transaction, Amount), Self::Error>;

    /// Notes that `tx` was sent, so that its inputs are not spent again
    /// before the next sync.
    fn note_sent(&mut self, tx: &Transaction) -> Result<(), Self::Error>;
}

/// A backend whose every answer is checked before the workflow uses it.
///
/// It is also a [`HeaderSource`] (for sealing), serving checked headers
/// only.
#[derive(Debug)]
pub struct Checked<'a, C> {
    backend: &'a C,
    network: Network,
}

/// A checked header with its height and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedHeader {
    /// Its height.
    pub height: u32,
    /// The header.
    pub header: Header,
    /// Its hash.
    pub hash: BlockHash,
}

impl<'a, C: ChainBackend> Checked<'a, C> {
    /// Checks the answers of `backend` for `network`.
    pub fn new(backend: &'a C, network: Network) -> Checked<'a, C> {
        Checked { backend, network }
    }

    /// The backend's tip height.
    pub fn tip_height(&self) -> Result<u32, AnchoringError> {
        self.backend.tip_height().map_err(Into::into)
    }

    /// The header at `height`, checked (work, chain rules).
    pub fn header(&self, height: u32) -> Result<CheckedHeader, AnchoringError> {
        let header = self.backend.header(height).map_err(Into::into)?;
        let hash = check_served_header(self.network, height, &header, None)
            .map_err(|source| AnchoringError::BadHeader { height, source })?;
        Ok(CheckedHeader {
            height,
            header,
            hash,
        })
    }

    /// Exactly `count` headers after `prev`, each checked and linked to the
    /// one before (the first to `prev`).
    pub fn headers_after(
        &self,
        prev: &CheckedHeader,
        count: u32,
    ) -> Result<Vec<Header>, AnchoringError> {
        let start = prev.height + 1;
        let headers = self.linked(start, count, Some(prev.hash))?;
        if headers.len() != count as usize {
            return Err(AnchoringError::ShortChain {
                start,
                wanted: count,
                got: headers.len() as u32,
            });
        }
        Ok(headers)
    }

    /// Up to `count` headers from `start`, each checked and linked to the
    /// one before (the first to `prev`, if given).
    fn linked(
        &self,
        start: u32,
        count: u32,
        mut prev: Option<BlockHash>,
    ) -> Result<Vec<Header>, AnchoringError> {
        let headers = self.backend.headers(start, count).map_err(Into::into)?;
        if headers.len() > count as usize {
            return Err(AnchoringError::ShortChain {
                start,
                wanted: count,
                got: headers.len() as u32,
            });
        }
        for (i, h) in headers.iter().enumerate() {
            let height = start + i as u32;
            let hash = check_served_header(self.network, height, h, prev.as_ref())
                .map_err(|source| AnchoringError::BadHeader { height, source })?;
            prev = Some(hash);
        }
        Ok(headers)
    }

    /// Where `tx` stands, as the backend says (checked where it matters:
    /// a confirmation is only believed with its [`Checked::inclusion`]).
    pub fn status(&self, tx: &Transaction) -> Result<TxStatus, AnchoringError> {
        self.backend.status(tx).map_err(Into::into)
    }

    /// The place of `txid` in the block at `height`, its branch checked to
    /// lead to the merkle root of that block's checked header.
    pub fn inclusion(
        &self,
        txid: &Txid,
        height: u32,
    ) -> Result<(CheckedHeader, Inclusion), AnchoringError> {
        let inclusion = self.backend.inclusion(txid, height).map_err(Into::into)?;
        let header = self.header(height)?;
        match merkle_root_from_branch(txid, inclusion.pos, &inclusion.branch) {
            Ok(root) if root == header.header.merkle_root => Ok((header, inclusion)),
            Ok(_) => Err(AnchoringError::BadInclusion {
                txid: *txid,
                height,
                source: None,
            }),
            Err(e) => Err(AnchoringError::BadInclusion {
                txid: *txid,
                height,
                source: Some(e),
            }),
        }
    }

    /// Broadcasts `tx` and waits (up to the backend's
    /// [`ChainBackend::relay_wait`]) until the backend shows it in its
    /// mempool or a block. A backend that already has it counts as
    /// success (re-running a step must not fail on its own earlier
    /// broadcast); one that says it took it but never shows it is an
    /// error.
    pub fn broadcast(&self, tx: &Transaction) -> Result<(), AnchoringError> {
        let txid = tx.compute_txid();
        let seen = || {
            matches!(
                self.backend.status(tx),
                Ok(TxStatus::Mempool | TxStatus::Confirmed(_))
            )
        };
        if let Err(e) = self.backend.broadcast(tx) {
            if seen() {
                return Ok(());
            }
            return Err(e.into());
        }
        let start = Instant::now();
        let wait = self.backend.relay_wait();
        loop {
            if seen() {
                return Ok(());
            }
            if start.elapsed() >= wait {
                return Err(AnchoringError::NotRelayed { txid });
            }
            std::thread::sleep(Duration::from_millis(100).min(wait));
        }
    }

    /// Sends `tx` again without waiting for it, ignoring failures (a
    /// dropped transaction, re-offered on the way).
    pub fn rebroadcast(&self, tx: &Transaction) {
        let _ = self.backend.broadcast(tx);
    }

    /// A fee rate estimate (bounded by the caller's maximum fee, so not
    /// checked).
    pub fn estimate_fee_rate(&self, blocks: usize) -> Result<Option<FeeRate>, AnchoringError> {
        self.backend.estimate_fee_rate(blocks).map_err(Into::into)
    }
}

fn remote(e: AnchoringError) -> HeaderSourceError {
    HeaderSourceError::Remote(Box::new(e))
}

impl<C: ChainBackend> HeaderSource for Checked<'_, C> {
    fn kind(&self) -> SourceKind {
        self.backend.kind()
    }

    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        if height > self.tip_height().map_err(remote)? {
            return Ok(None);
        }
        self.header(height).map(|h| Some(h.header)).map_err(remote)
    }

    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        self.tip_height().map(Some).map_err(remote)
    }

    /// Every header checked, and each linked to the one before.
    fn header_range(&self, start: u32, count: u32) -> Result<Vec<Header>, HeaderSourceError> {
        self.linked(start, count, None).map_err(remote)
    }
}

impl ChainBackend for Electrum {
    type Error = ElectrumError;

    fn kind(&self) -> SourceKind {
        SourceKind::Electrum(self.url().to_owned())
    }

    fn tip_height(&self) -> Result<u32, ElectrumError> {
        Electrum::tip_height(self)
    }

    fn header(&self, height: u32) -> Result<Header, ElectrumError> {
        Electrum::header(self, height)
    }

    fn headers(&self, start: u32, count: u32) -> Result<Vec<Header>, ElectrumError> {
        Electrum::headers(self, start, count, None)
    }

    fn status(&self, tx: &Transaction) -> Result<TxStatus, ElectrumError> {
        Ok(match Electrum::status(self, tx)? {
            btc_anchor_electrum::TxStatus::Mempool => TxStatus::Mempool,
            btc_anchor_electrum::TxStatus::Confirmed(h) => TxStatus::Confirmed(h),
            _ => TxStatus::Unknown,
        })
    }

    fn inclusion(&self, txid: &Txid, height: u32) -> Result<Inclusion, ElectrumError> {
        let p = self.merkle_proof(txid, height)?;
        Ok(Inclusion {
            pos: p.pos,
            branch: p.branch,
        })
    }

    fn broadcast(&self, tx: &Transaction) -> Result<(), ElectrumError> {
        Electrum::broadcast(self, tx).map(|_| ())
    }

    fn estimate_fee_rate(&self, blocks: usize) -> Result<Option<FeeRate>, ElectrumError> {
        Electrum::estimate_fee_rate(self, blocks)
    }
}

/// The BDK wallet as a [`Payer`], syncing over an Electrum server.
#[derive(Debug)]
pub struct WalletPayer<'a> {
    wallet: &'a mut AnchorWallet,
    server: &'a Electrum,
}

impl<'a> WalletPayer<'a> {
    /// `wallet`, syncing with `server`.
    pub fn new(wallet: &'a mut AnchorWallet, server: &'a Electrum) -> WalletPayer<'a> {
        WalletPayer { wallet, server }
    }
}

impl AnchorWallet {
    /// This wallet as a [`Payer`], syncing with `server`.
    pub fn payer<'a>(&'a mut self, server: &'a Electrum) -> WalletPayer<'a> {
        WalletPayer::new(self, server)
    }
}

impl Payer for WalletPayer<'_> {
    type Error = WalletError;

    fn sync(&mut self) -> Result<(), WalletError> {
        self.wallet.sync(self.server)
    }

    fn build_anchor_tx(
        &mut self,
        root: &[u8; 32],
        fee_rate: FeeRate,
        max_fee: Amount,
        seal: Option<Seal>,
    ) -> Result<(Transaction, Amount), WalletError> {
        self.wallet.build_anchor_tx(root, fee_rate, max_fee, seal)
    }

    fn build_bump(
        &mut self,
        txid: Txid,
        fee_rate: FeeRate,
        max_fee: Amount,
    ) -> Result<(Transaction, Amount), WalletError> {
        self.wallet.build_bump(txid, fee_rate, max_fee)
    }

    fn note_sent(&mut self, tx: &Transaction) -> Result<(), WalletError> {
        self.wallet.note_sent(tx)
    }
}
