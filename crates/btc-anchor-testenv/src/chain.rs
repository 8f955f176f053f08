//! A synthetic chain for tests, benchmarks and fixtures: real regtest (or
//! signet) headers mined in memory, blocks whose merkle roots are computed
//! from real transactions, and batches anchored in them.
//!
//! Used by the tests and benchmarks of every crate, and by the fixture
//! generator.

use btc_anchor::bitcoin::{
    self,
    absolute::LockTime,
    block::{Header, Version},
    consensus,
    hashes::Hash as _,
    transaction, Amount, BlockHash, CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Target,
    Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use btc_anchor::chain::{block_merkle_branch, header_hash, sha256d};
use btc_anchor::commitment::commitment_script;
use btc_anchor::hash::RecordDigest;
use btc_anchor::merkle::{record_leaf, Salt, Tree};
use btc_anchor::proof::{Anchor, BatchPath, BlockProof, Proof, Record};

/// A chain of headers from the network's genesis block.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The network whose genesis block starts it.
    pub network: Network,
    /// Every header from the genesis block on.
    pub headers: Vec<Header>,
}

/// A transaction placed in a mined block.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The transaction.
    pub tx: Transaction,
    /// The height of its block.
    pub height: u32,
    /// Its position in the block.
    pub tx_index: u32,
    /// Its block merkle branch.
    pub branch: Vec<TxMerkleNode>,
}

/// The easiest target a network allows, in compact form.
pub fn easiest_bits(network: Network) -> CompactTarget {
    bitcoin::params::Params::new(network)
        .max_attainable_target
        .to_compact_lossy()
}

/// Grinds the nonce until the header meets its own target.
pub fn mine_header(header: &mut Header) {
    let target = Target::from_compact(header.bits);
    loop {
        if target.is_met_by(header_hash(header)) {
            return;
        }
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            header.time += 1;
        }
    }
}

/// A P2WPKH script for a made-up key.
pub fn p2wpkh(seed: u32) -> ScriptBuf {
    let mut s = vec![0x00, 0x14];
    s.extend_from_slice(&sha256d(&seed.to_le_bytes())[..20]);
    ScriptBuf::from_bytes(s)
}

/// A spend of a made-up output, witness stripped, paying to `outputs`.
pub fn spend(seed: u32, outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array(sha256d(&seed.to_be_bytes())),
                vout: seed % 3,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: outputs,
    }
}

/// The anchoring transaction of a batch: the commitment first, then change.
pub fn anchor_tx(root: &[u8; 32], seed: u32) -> Transaction {
    spend(
        seed,
        vec![
            TxOut {
                value: Amount::ZERO,
                script_pubkey: commitment_script(root),
            },
            TxOut {
                value: Amount::from_sat(90_000 - u64::from(seed % 1000)),
                script_pubkey: p2wpkh(seed),
            },
        ],
    )
}

fn coinbase(height: u32) -> Transaction {
    let mut script = bitcoin::script::Builder::new()
        .push_int(i64::from(height))
        .into_script()
        .into_bytes();
    script.extend_from_slice(b"btc-anchor test chain");
    Transaction {
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
            script_pubkey: p2wpkh(height),
        }],
    }
}

impl Chain {
    /// The chain holding only the genesis block.
    pub fn new(network: Network) -> Chain {
        Chain {
            network,
            headers: vec![bitcoin::constants::genesis_block(network).header],
        }
    }

    /// The last header.
    pub fn tip(&self) -> &Header {
        self.headers
            .last()
            .expect("a chain holds its genesis block")
    }

    /// The height of the last header.
    pub fn tip_height(&self) -> u32 {
        self.headers.len() as u32 - 1
    }

    /// Hash of the tip.
    pub fn tip_hash(&self) -> BlockHash {
        header_hash(self.headers.last().unwrap())
    }

    /// Mines a block holding a coinbase and then `txs`; returns the txids
    /// in block order.
    pub fn mine_block(&mut self, txs: Vec<Transaction>) -> Vec<Txid> {
        let height = self.tip_height() + 1;
        let mut all = vec![coinbase(height)];
        all.extend(txs);
        let txids: Vec<Txid> = all.iter().map(Transaction::compute_txid).collect();
        let root = bitcoin::merkle_tree::calculate_root(txids.iter().copied())
            .map(|r| TxMerkleNode::from_raw_hash(r.to_raw_hash()))
            .unwrap_or_else(|| TxMerkleNode::from_byte_array([0; 32]));
        let prev = self.headers.last().unwrap();
        let mut header = Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: self.tip_hash(),
            merkle_root: root,
            time: prev.time + 600,
            bits: easiest_bits(self.network),
            nonce: 0,
        };
        mine_header(&mut header);
        self.headers.push(header);
        txids
    }

    /// Mines `n` blocks holding only a coinbase.
    pub fn mine_empty(&mut self, n: u32) {
        for _ in 0..n {
            self.mine_block(vec![]);
        }
    }

    /// Mines a block with `tx` at position `position` (1 or more) among
    /// `total` transactions (coinbase included; the others are fillers).
    pub fn place(&mut self, tx: Transaction, position: u32, total: u32) -> Placed {
        assert!(position >= 1 && position < total);
        let mut txs = Vec::new();
        for i in 1..total {
            if i == position {
                txs.push(tx.clone());
            } else {
                txs.push(spend(
                    10_000 + i + 1000 * self.tip_height(),
                    vec![TxOut {
                        value: Amount::from_sat(1000 + u64::from(i)),
                        script_pubkey: p2wpkh(i),
                    }],
                ));
            }
        }
        let txids = self.mine_block(txs);
        Placed {
            tx,
            height: self.tip_height(),
            tx_index: position,
            branch: block_merkle_branch(&txids, position as usize).unwrap(),
        }
    }

    /// The headers after `height`, up to `count` of them.
    pub fn headers_after(&self, height: u32, count: usize) -> Vec<Header> {
        self.headers
            .iter()
            .skip(height as usize + 1)
            .take(count)
            .copied()
            .collect()
    }

    /// Raw concatenated headers from height 0, as in a headers file.
    pub fn headers_file_bytes(&self) -> Vec<u8> {
        self.headers.iter().flat_map(consensus::serialize).collect()
    }
}

/// Deterministic salt `i` of a batch made from `seed`.
pub fn test_salt(seed: u32, i: u64) -> Salt {
    let mut data = seed.to_le_bytes().to_vec();
    data.extend_from_slice(&i.to_le_bytes());
    Salt::from_bytes(&sha256d(&data)[..16]).unwrap()
}

/// A batch of records with deterministic salts.
pub struct Batch {
    /// The records, in tree order.
    pub records: Vec<Record>,
    /// Their tree.
    pub tree: Tree,
}

impl Batch {
    /// A batch over `digests`, salted from `seed`.
    pub fn new(digests: &[RecordDigest], seed: u32) -> Batch {
        let records: Vec<Record> = digests
            .iter()
            .enumerate()
            .map(|(i, d)| Record {
                digest: *d,
                salt: test_salt(seed, i as u64),
            })
            .collect();
        let leaves = records
            .iter()
            .map(|r| record_leaf(&r.salt, &r.digest))
            .collect();
        Batch {
            records,
            tree: Tree::new(leaves).unwrap(),
        }
    }

    /// A batch of `n` made-up documents `"record {i}"`.
    pub fn numbered(n: u64, seed: u32) -> Batch {
        let digests: Vec<RecordDigest> = (0..n)
            .map(|i| RecordDigest::of_bytes(format!("record {i}").as_bytes()))
            .collect();
        Batch::new(&digests, seed)
    }

    /// The batch part of record `i`'s proof.
    pub fn path(&self, i: u64) -> BatchPath {
        BatchPath {
            size: self.tree.size(),
            index: i,
            path: self.tree.inclusion_proof(i).unwrap(),
            root: self.tree.root(),
        }
    }

    /// Record `i`'s proof, queued.
    pub fn queued(&self, network: Network, i: u64) -> Proof {
        Proof {
            network,
            record: self.records[i as usize].clone(),
            batch: None,
            anchor: None,
        }
    }

    /// Record `i`'s proof anchored by `placed` (confirmed) with up to
    /// `after` following headers from `chain`; `placed = None` with a
    /// transaction gives the broadcast form.
    pub fn proof(
        &self,
        network: Network,
        i: u64,
        tx: Option<&Transaction>,
        placed: Option<(&Placed, &Chain, usize)>,
    ) -> Proof {
        let anchor = tx.map(|tx| Anchor {
            tx: tx.clone(),
            output: 0,
            block: placed.map(|(p, chain, after)| BlockProof {
                height: p.height,
                header: chain.headers[p.height as usize],
                tx_index: p.tx_index,
                branch: p.branch.clone(),
                headers_after: chain.headers_after(p.height, after),
            }),
        });
        Proof {
            network,
            record: self.records[i as usize].clone(),
            batch: Some(self.path(i)),
            anchor,
        }
    }
}

/// A complete proof for record `i` of a batch of `n`, anchored at position
/// `position` of `total` in a block at height 1 of a fresh regtest chain,
/// carrying `after` headers.
pub fn complete(n: u64, i: u64, position: u32, total: u32, after: u32) -> (Batch, Chain, Proof) {
    let batch = Batch::numbered(n, 1);
    let mut chain = Chain::new(Network::Regtest);
    let tx = anchor_tx(&batch.tree.root().0, 7);
    let placed = chain.place(tx.clone(), position, total);
    chain.mine_empty(after);
    let proof = batch.proof(
        Network::Regtest,
        i,
        Some(&tx),
        Some((&placed, &chain, after as usize)),
    );
    (batch, chain, proof)
}

/// Mines a block holding a coinbase and then `txs` (as [`Chain::mine_block`]
/// does) and returns the whole block, transactions included.
pub fn mine_full_block(chain: &mut Chain, txs: Vec<Transaction>) -> bitcoin::Block {
    let height = chain.tip_height() + 1;
    let mut all = vec![coinbase(height)];
    all.extend(txs.iter().cloned());
    chain.mine_block(txs);
    bitcoin::Block {
        header: *chain.headers.last().unwrap(),
        txdata: all,
    }
}

/// A chain with a batch of 9 anchored at `height`, `after` blocks mined on
/// top, and record 0's proof carrying `carried` of them.
pub fn anchored(network: Network, height: u32, after: u32, carried: usize) -> (Chain, Proof) {
    let batch = Batch::numbered(3, 9);
    let mut chain = Chain::new(network);
    chain.mine_empty(height - 1);
    let tx = anchor_tx(&batch.tree.root().0, 11);
    let placed = chain.place(tx.clone(), 1, 3);
    assert_eq!(placed.height, height);
    chain.mine_empty(after);
    let proof = batch.proof(network, 0, Some(&tx), Some((&placed, &chain, carried)));
    (chain, proof)
}

/// A regtest chain of `n` blocks after the genesis block, each mined at
/// the easiest target ten minutes after the one before.
pub fn regtest_chain(n: u32) -> Chain {
    let mut c = Chain::new(Network::Regtest);
    for _ in 0..n {
        let mut h = Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: c.tip_hash(),
            merkle_root: TxMerkleNode::from_byte_array([3; 32]),
            time: c.tip().time + 600,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        };
        mine_header(&mut h);
        c.headers.push(h);
    }
    c
}

/// Writes `headers` as a headers file (80 bytes each) named `name` in
/// `dir`, and returns its path.
pub fn write_headers(dir: &std::path::Path, name: &str, headers: &[Header]) -> std::path::PathBuf {
    let p = dir.join(name);
    let bytes: Vec<u8> = headers.iter().flat_map(consensus::serialize).collect();
    std::fs::write(&p, bytes).expect("write a headers file");
    p
}

/// The headers of `chain` with everything from height `from` on replaced
/// by blocks mined on the header before, with timestamps offset by `dt`
/// seconds: a competing branch of the same length.
pub fn fork(chain: &Chain, from: u32, dt: i64) -> Vec<Header> {
    let mut headers = chain.headers[..from as usize].to_vec();
    for old in &chain.headers[from as usize..] {
        let prev = headers
            .last()
            .expect("a fork starts after the genesis block");
        let mut h = *old;
        h.prev_blockhash = header_hash(prev);
        h.time = (i64::from(prev.time) + 600 + dt) as u32;
        h.nonce = 0;
        mine_header(&mut h);
        headers.push(h);
    }
    headers
}
