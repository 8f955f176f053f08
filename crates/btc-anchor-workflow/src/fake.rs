//! In-memory fakes of the two seams, for fast property tests of the
//! workflow (feature `test-utils`; never for integration tests, which run
//! against a real regtest node and Electrum server).
//!
//! * [`FakeChain`] is a [`ChainBackend`]: a regtest chain of real headers
//!   mined in memory at the easiest target, in blocks whose merkle roots
//!   are those of the transactions they hold. It mines, reorganises
//!   (keeping or dropping the mempool), refuses broadcasts, and can be told
//!   to [`Lie`].
//! * [`FakePayer`] is a [`Payer`]: it builds real transactions (dummy
//!   signatures) with the OP_RETURN commitment of
//!   [`btc_anchor::commitment::commitment_script`], each new one spending a
//!   coin of its own, bumps spending the same coin (RBF), with fees that
//!   depend only on the fee rate.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash as _;
use bitcoin::{
    transaction, Amount, BlockHash, FeeRate, Network, OutPoint, ScriptBuf, Sequence, Target,
    Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};

use btc_anchor::chain::{block_merkle_branch, header_hash, merkle_root_from_branch, sha256d};
use btc_anchor::commitment::commitment_script;
use btc_anchor::headers::SourceKind;

use crate::anchoring::AnchoringError;
use crate::backend::{ChainBackend, Inclusion, Payer, TxStatus};

/// Errors of the fakes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// The fake chain was told to refuse every call.
    #[error("the fake chain is offline")]
    Offline,
    /// No block at this height.
    #[error("the fake chain has no block at height {0}")]
    NoBlock(u32),
    /// A broadcast refused.
    #[error("the fake chain refused transaction {txid}: {reason}")]
    Rejected {
        /// The transaction.
        txid: Txid,
        /// Why.
        reason: &'static str,
    },
    /// A bump of a transaction the payer did not build.
    #[error("the fake payer did not build transaction {0}")]
    UnknownTx(Txid),
    /// The fee would exceed the limit.
    #[error("the fee of {fee} exceeds the limit of {max}")]
    FeeTooHigh {
        /// The fee.
        fee: Amount,
        /// The limit.
        max: Amount,
    },
    /// The payer was told to fail.
    #[error("the fake payer failed")]
    PayerFails,
}

impl From<FakeError> for AnchoringError {
    fn from(e: FakeError) -> AnchoringError {
        AnchoringError::Backend(Box::new(e))
    }
}

/// A lie the fake chain tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lie {
    /// Every merkle branch has a byte flipped.
    WrongBranch,
    /// Every header it serves fails its own proof-of-work target.
    BadPow,
    /// The first header of every run of headers does not link to the one
    /// before it (it is mined, so its own work is fine).
    Unlinked,
    /// Every transaction not confirmed is said to be confirmed at the tip.
    ClaimsConfirmed,
    /// Every transaction is said to be unknown.
    HidesTx,
}

#[derive(Debug, Clone)]
struct Block {
    header: Header,
    txs: Vec<Transaction>,
}

#[derive(Debug)]
struct State {
    blocks: Vec<Block>,
    mempool: Vec<Transaction>,
    accepted: Vec<Transaction>,
    ever: HashSet<BlockHash>,
    lie: Option<Lie>,
    refuse: bool,
    offline: bool,
    fee_rate: Option<FeeRate>,
    forks: u32,
}

/// An in-memory regtest chain and mempool (see the [module
/// documentation](self)).
#[derive(Debug)]
pub struct FakeChain {
    state: RefCell<State>,
}

fn mine_header(header: &mut Header) {
    let target = Target::from_compact(header.bits);
    while !target.is_met_by(header_hash(header)) {
        header.nonce = header.nonce.wrapping_add(1);
    }
}

fn merkle_root(txids: &[Txid]) -> TxMerkleNode {
    let branch = block_merkle_branch(txids, 0).unwrap_or_default();
    merkle_root_from_branch(&txids[0], 0, &branch).unwrap_or(TxMerkleNode::all_zeros())
}

fn spends(tx: &Transaction) -> impl Iterator<Item = OutPoint> + '_ {
    tx.input.iter().map(|i| i.previous_output)
}

fn conflicts(a: &Transaction, b: &Transaction) -> bool {
    spends(a).any(|o| spends(b).any(|p| p == o))
}

impl Default for FakeChain {
    fn default() -> Self {
        FakeChain::new()
    }
}

impl FakeChain {
    /// The regtest genesis block and an empty mempool.
    pub fn new() -> FakeChain {
        let genesis = bitcoin::constants::genesis_block(Network::Regtest);
        let mut ever = HashSet::new();
        ever.insert(header_hash(&genesis.header));
        FakeChain {
            state: RefCell::new(State {
                blocks: vec![Block {
                    header: genesis.header,
                    txs: genesis.txdata,
                }],
                mempool: Vec::new(),
                accepted: Vec::new(),
                ever,
                lie: None,
                refuse: false,
                offline: false,
                fee_rate: None,
                forks: 0,
            }),
        }
    }

    /// The height of the best chain.
    pub fn height(&self) -> u32 {
        self.state.borrow().blocks.len() as u32 - 1
    }

    /// The honest header at `height`.
    pub fn honest_header(&self, height: u32) -> Option<Header> {
        self.state
            .borrow()
            .blocks
            .get(height as usize)
            .map(|b| b.header)
    }

    /// Mines one block holding the whole mempool; returns its height.
    pub fn mine(&self) -> u32 {
        let mut s = self.state.borrow_mut();
        let txs = std::mem::take(&mut s.mempool);
        Self::mine_with(&mut s, txs)
    }

    fn mine_with(s: &mut State, txs: Vec<Transaction>) -> u32 {
        let height = s.blocks.len() as u32;
        let prev = s.blocks[height as usize - 1].header;
        let mut script = bitcoin::script::Builder::new()
            .push_int(i64::from(height))
            .into_script()
            .into_bytes();
        script.extend_from_slice(&s.forks.to_le_bytes());
        let coinbase = Transaction {
            version: transaction::Version::ONE,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(script),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(50 * 100_000_000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x6a]),
            }],
        };
        let mut all = vec![coinbase];
        all.extend(txs);
        let txids: Vec<Txid> = all.iter().map(Transaction::compute_txid).collect();
        let mut header = Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: header_hash(&prev),
            merkle_root: merkle_root(&txids),
            time: prev.time + 600,
            bits: prev.bits,
            nonce: 0,
        };
        mine_header(&mut header);
        s.ever.insert(header_hash(&header));
        s.blocks.push(Block { header, txs: all });
        height
    }

    /// Disconnects the last `depth` blocks (never the genesis block) and
    /// mines `depth + 1` others in their place, the first holding the
    /// mempool. The disconnected blocks' transactions go back to the
    /// mempool if `keep_mempool`; otherwise they, and the mempool, are
    /// dropped.
    pub fn reorg(&self, depth: u32, keep_mempool: bool) {
        let mut s = self.state.borrow_mut();
        let depth = depth.min(s.blocks.len() as u32 - 1);
        let keep = s.blocks.len() - depth as usize;
        let gone: Vec<Block> = s.blocks.drain(keep..).collect();
        s.forks += 1;
        if keep_mempool {
            let mut back: Vec<Transaction> = gone
                .into_iter()
                .flat_map(|b| b.txs.into_iter().skip(1))
                .collect();
            back.append(&mut s.mempool);
            s.mempool = back;
        } else {
            s.mempool.clear();
        }
        let txs = std::mem::take(&mut s.mempool);
        Self::mine_with(&mut s, txs);
        for _ in 0..depth {
            Self::mine_with(&mut s, Vec::new());
        }
    }

    /// Empties the mempool (a restarted server).
    pub fn drop_mempool(&self) {
        self.state.borrow_mut().mempool.clear();
    }

    /// Tells a lie from now on (`None`: the truth).
    pub fn set_lie(&self, lie: Option<Lie>) {
        self.state.borrow_mut().lie = lie;
    }

    /// Refuses every broadcast from now on (or accepts them again).
    pub fn set_refuse(&self, refuse: bool) {
        self.state.borrow_mut().refuse = refuse;
    }

    /// Fails every call from now on (or answers again).
    pub fn set_offline(&self, offline: bool) {
        self.state.borrow_mut().offline = offline;
    }

    /// The fee rate estimate (`None` by default).
    pub fn set_fee_rate(&self, rate: Option<FeeRate>) {
        self.state.borrow_mut().fee_rate = rate;
    }

    /// Every transaction a broadcast was accepted for, oldest first.
    pub fn accepted(&self) -> Vec<Transaction> {
        self.state.borrow().accepted.clone()
    }

    /// Whether a block with this hash was ever mined here (in the best
    /// chain or a branch a reorganisation left).
    pub fn ever_mined(&self, hash: &BlockHash) -> bool {
        self.state.borrow().ever.contains(hash)
    }

    fn confirmed_at(s: &State, txid: &Txid) -> Option<(u32, u32)> {
        s.blocks.iter().enumerate().find_map(|(h, b)| {
            b.txs
                .iter()
                .position(|t| t.compute_txid() == *txid)
                .map(|p| (h as u32, p as u32))
        })
    }

    fn up(&self) -> Result<std::cell::Ref<'_, State>, FakeError> {
        let s = self.state.borrow();
        if s.offline {
            return Err(FakeError::Offline);
        }
        Ok(s)
    }

    fn serve(lie: Option<Lie>, mut h: Header, first: bool) -> Header {
        match lie {
            Some(Lie::BadPow) => {
                let target = Target::from_compact(h.bits);
                while target.is_met_by(header_hash(&h)) {
                    h.nonce = h.nonce.wrapping_add(1);
                }
                h
            }
            Some(Lie::Unlinked) if first => {
                h.prev_blockhash = BlockHash::from_byte_array(sha256d(b"nowhere"));
                mine_header(&mut h);
                h
            }
            _ => h,
        }
    }
}

impl ChainBackend for FakeChain {
    type Error = FakeError;

    fn kind(&self) -> SourceKind {
        SourceKind::Electrum("memory://fake-chain".to_owned())
    }

    fn tip_height(&self) -> Result<u32, FakeError> {
        Ok(self.up()?.blocks.len() as u32 - 1)
    }

    fn header(&self, height: u32) -> Result<Header, FakeError> {
        let s = self.up()?;
        let b = s
            .blocks
            .get(height as usize)
            .ok_or(FakeError::NoBlock(height))?;
        Ok(Self::serve(s.lie, b.header, false))
    }

    fn headers(&self, start: u32, count: u32) -> Result<Vec<Header>, FakeError> {
        let s = self.up()?;
        Ok(s.blocks
            .iter()
            .skip(start as usize)
            .take(count as usize)
            .enumerate()
            .map(|(i, b)| Self::serve(s.lie, b.header, i == 0))
            .collect())
    }

    fn status(&self, tx: &Transaction) -> Result<TxStatus, FakeError> {
        let s = self.up()?;
        let txid = tx.compute_txid();
        let truth = if let Some((h, _)) = Self::confirmed_at(&s, &txid) {
            TxStatus::Confirmed(h)
        } else if s.mempool.iter().any(|t| t.compute_txid() == txid) {
            TxStatus::Mempool
        } else {
            TxStatus::Unknown
        };
        Ok(match (s.lie, truth) {
            (Some(Lie::HidesTx), _) => TxStatus::Unknown,
            (Some(Lie::ClaimsConfirmed), TxStatus::Mempool | TxStatus::Unknown)
                if s.blocks.len() > 1 =>
            {
                TxStatus::Confirmed(s.blocks.len() as u32 - 1)
            }
            (_, t) => t,
        })
    }

    fn inclusion(&self, txid: &Txid, height: u32) -> Result<Inclusion, FakeError> {
        let s = self.up()?;
        let b = s
            .blocks
            .get(height as usize)
            .ok_or(FakeError::NoBlock(height))?;
        let txids: Vec<Txid> = b.txs.iter().map(Transaction::compute_txid).collect();
        // A transaction not in the block gets the coinbase's place.
        let pos = txids.iter().position(|t| t == txid).unwrap_or(0);
        let mut branch = block_merkle_branch(&txids, pos).unwrap_or_default();
        if s.lie == Some(Lie::WrongBranch) {
            match branch.first_mut() {
                Some(step) => {
                    let mut b = step.to_byte_array();
                    b[0] ^= 1;
                    *step = TxMerkleNode::from_byte_array(b);
                }
                None => branch.push(TxMerkleNode::from_byte_array([7; 32])),
            }
        }
        Ok(Inclusion {
            pos: pos as u32,
            branch,
        })
    }

    fn broadcast(&self, tx: &Transaction) -> Result<(), FakeError> {
        drop(self.up()?);
        let mut s = self.state.borrow_mut();
        let txid = tx.compute_txid();
        let rejected = |reason| FakeError::Rejected { txid, reason };
        if s.refuse {
            return Err(rejected("broadcasts are refused"));
        }
        if tx.input.is_empty() || tx.output.is_empty() {
            return Err(rejected("no inputs or no outputs"));
        }
        if Self::confirmed_at(&s, &txid).is_some() || s.mempool.contains(tx) {
            return Err(rejected("already known"));
        }
        if s.blocks
            .iter()
            .flat_map(|b| b.txs.iter())
            .any(|t| conflicts(t, tx))
        {
            return Err(rejected("an input is spent by a confirmed transaction"));
        }
        // Replace-by-fee: the newcomer evicts what it conflicts with.
        s.mempool.retain(|t| !conflicts(t, tx));
        s.mempool.push(tx.clone());
        s.accepted.push(tx.clone());
        Ok(())
    }

    fn estimate_fee_rate(&self, _blocks: usize) -> Result<Option<FeeRate>, FakeError> {
        Ok(self.up()?.fee_rate)
    }

    fn relay_wait(&self) -> Duration {
        Duration::ZERO
    }
}

/// A payer building real, dummy-signed transactions (see the [module
/// documentation](self)).
#[derive(Debug, Default)]
pub struct FakePayer {
    coins: u32,
    built: HashMap<Txid, Transaction>,
    sent: Vec<Txid>,
    fail: bool,
    syncs: u32,
}

/// The value of each of the fake payer's coins.
pub const FAKE_COIN: Amount = Amount::from_sat(100_000);

impl FakePayer {
    /// A payer with an endless supply of coins of [`FAKE_COIN`].
    pub fn new() -> FakePayer {
        FakePayer::default()
    }

    /// Fails every call from now on (or works again).
    pub fn set_fail(&mut self, fail: bool) {
        self.fail = fail;
    }

    /// The transactions noted as sent, oldest first.
    pub fn sent(&self) -> &[Txid] {
        &self.sent
    }

    /// Syncs made.
    pub fn syncs(&self) -> u32 {
        self.syncs
    }

    fn check(&self) -> Result<(), FakeError> {
        if self.fail {
            return Err(FakeError::PayerFails);
        }
        Ok(())
    }

    /// `tx` with its change set so that it pays `fee_rate` on its size.
    fn priced(
        mut tx: Transaction,
        fee_rate: FeeRate,
        max_fee: Amount,
    ) -> Result<(Transaction, Amount), FakeError> {
        let fee = fee_rate
            .fee_vb(tx.vsize() as u64)
            .unwrap_or(Amount::MAX_MONEY);
        if fee > max_fee || fee >= FAKE_COIN {
            return Err(FakeError::FeeTooHigh { fee, max: max_fee });
        }
        if let Some(change) = tx.output.last_mut() {
            change.value = FAKE_COIN - fee;
        }
        Ok((tx, fee))
    }

    fn remember(&mut self, tx: &Transaction) {
        self.built.insert(tx.compute_txid(), tx.clone());
    }
}

fn dummy_witness() -> Witness {
    Witness::from_slice(&[vec![0x30; 72], vec![0x02; 33]])
}

impl Payer for FakePayer {
    type Error = FakeError;

    fn sync(&mut self) -> Result<(), FakeError> {
        self.check()?;
        self.syncs += 1;
        Ok(())
    }

    fn build_anchor_tx(
        &mut self,
        root: &[u8; 32],
        fee_rate: FeeRate,
        max_fee: Amount,
        seal: Option<crate::backend::Seal>,
    ) -> Result<(Transaction, Amount), FakeError> {
        self.check()?;
        self.coins += 1;
        let coin = OutPoint {
            txid: Txid::from_byte_array(sha256d(&self.coins.to_le_bytes())),
            vout: 0,
        };
        let mut change = vec![0x00, 0x14];
        change.extend_from_slice(&sha256d(b"fake payer change")[..20]);
        let tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: coin,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: dummy_witness(),
            }],
            output: vec![
                TxOut {
                    value: Amount::ZERO,
                    script_pubkey: commitment_script(root),
                },
                TxOut {
                    value: FAKE_COIN,
                    script_pubkey: ScriptBuf::from_bytes(change),
                },
            ],
        };
        let mut tx = tx;
        if let Some(seal) = seal {
            // Output 1 is the new seal; the previous one is spent.
            let mut script = vec![0x00, 0x14];
            script.extend_from_slice(&sha256d(b"fake payer seal")[..20]);
            tx.output.insert(
                crate::backend::SEAL_VOUT as usize,
                TxOut {
                    value: crate::backend::SEAL_VALUE,
                    script_pubkey: ScriptBuf::from_bytes(script),
                },
            );
            if let Some(previous_output) = seal.spend {
                tx.input.push(TxIn {
                    previous_output,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: dummy_witness(),
                });
            }
        }
        let (tx, fee) = Self::priced(tx, fee_rate, max_fee)?;
        self.remember(&tx);
        Ok((tx, fee))
    }

    fn build_bump(
        &mut self,
        txid: Txid,
        fee_rate: FeeRate,
        max_fee: Amount,
    ) -> Result<(Transaction, Amount), FakeError> {
        self.check()?;
        let old = self
            .built
            .get(&txid)
            .cloned()
            .ok_or(FakeError::UnknownTx(txid))?;
        let (tx, fee) = Self::priced(old, fee_rate, max_fee)?;
        self.remember(&tx);
        Ok((tx, fee))
    }

    fn note_sent(&mut self, tx: &Transaction) -> Result<(), FakeError> {
        self.check()?;
        self.sent.push(tx.compute_txid());
        Ok(())
    }
}
