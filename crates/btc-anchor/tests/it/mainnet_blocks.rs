//! The anchor checks against real mainnet blocks.
//!
//! `../shared/data/mainnet-blocks/` holds raw blocks (consensus
//! serialization, witnesses included), each file named by its block hash.
//! For each block: the header hashes to the name and meets its proof of
//! work; every transaction's merkle branch, as `block_merkle_branch` builds
//! it, leads `merkle_root_from_branch` to the header's merkle root (odd
//! levels included, where Bitcoin pairs a node with itself); wrong positions
//! and changed branches do not; and the commitment finder is run over every
//! OP_RETURN output in the blocks.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use btc_anchor::anchor::{verify_anchor, AnchorError};
use btc_anchor::bitcoin::{
    self, block::Header, consensus, hashes::Hash as _, Block, Network, Transaction, TxMerkleNode,
    Txid,
};
use btc_anchor::chain::{
    block_merkle_branch, check_header_work, header_hash, merkle_root_from_branch, BranchError,
    HeaderError,
};
use btc_anchor::commitment::{find_commitment, CommitmentError, OP_RETURN};
use btc_anchor::proof::BlockProof;
use btc_anchor_testenv::chain::*;

struct RealBlock {
    /// The file name: the block hash as displayed.
    name: String,
    block: Block,
    /// From the coinbase (BIP 34); only used in messages.
    height: u32,
}

fn blocks_dir() -> Option<PathBuf> {
    let dir = btc_anchor_testenv::shared_data("mainnet-blocks");
    if dir.is_dir() {
        Some(dir)
    } else {
        btc_anchor_testenv::skip(format_args!("{} is absent", dir.display()));
        None
    }
}

fn load_blocks() -> Option<Vec<RealBlock>> {
    let dir = blocks_dir()?;
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no blocks in {}", dir.display());
    let blocks = paths
        .iter()
        .map(|p| {
            let bytes = fs::read(p).unwrap();
            let block: Block =
                consensus::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            // The whole file is the block, nothing more.
            assert_eq!(consensus::serialize(&block), bytes, "{}", p.display());
            let height = block.bip34_block_height().unwrap_or(0) as u32;
            RealBlock {
                name: p.file_name().unwrap().to_str().unwrap().to_owned(),
                block,
                height,
            }
        })
        .collect();
    Some(blocks)
}

fn txids(block: &Block) -> Vec<Txid> {
    block.txdata.iter().map(Transaction::compute_txid).collect()
}

/// The sizes of the levels of Bitcoin's tree over `n` transactions, leaves
/// first, root last.
fn level_sizes(n: usize) -> Vec<usize> {
    let mut sizes = vec![n];
    while *sizes.last().unwrap() > 1 {
        sizes.push(sizes.last().unwrap().div_ceil(2));
    }
    sizes
}

/// Whether the branch of transaction `index` passes through a node that
/// Bitcoin pairs with itself (the last node of an odd level).
fn passes_duplicated_node(index: usize, sizes: &[usize]) -> bool {
    sizes[..sizes.len() - 1]
        .iter()
        .enumerate()
        .any(|(level, &len)| len % 2 == 1 && index >> level == len - 1)
}

#[test]
fn headers_hash_to_their_names_and_meet_their_work() {
    let Some(blocks) = load_blocks() else { return };
    for b in &blocks {
        let header = &b.block.header;
        assert_eq!(header.block_hash().to_string(), b.name);
        assert_eq!(header_hash(header).to_string(), b.name);
        let hash = check_header_work(header, b.height, Network::Bitcoin)
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(hash.to_string(), b.name);
        // Mainnet targets are far below the regtest limit, so a mainnet
        // header passes there too (see `changed_header_fails_work` for why
        // that is not a weakness).
        check_header_work(header, b.height, Network::Regtest).unwrap();
        // rust-bitcoin's own merkle computation agrees with the header.
        assert!(b.block.check_merkle_root(), "{}", b.name);
        println!(
            "block {} at height {}: {} transactions, {} bytes",
            b.name,
            b.height,
            b.block.txdata.len(),
            consensus::serialize(&b.block).len()
        );
    }
}

#[test]
fn changed_header_fails_work() {
    let Some(blocks) = load_blocks() else { return };
    let mut flips = 0;
    for b in &blocks {
        let header = b.block.header;
        // A changed nonce: the hash misses the target, on mainnet and on
        // regtest alike, since each header is held to its own nBits.
        let mut h = header;
        loop {
            h.nonce = h.nonce.wrapping_add(1);
            if !h.target().is_met_by(h.block_hash()) {
                break;
            }
        }
        for network in [Network::Bitcoin, Network::Regtest] {
            assert_eq!(
                check_header_work(&h, b.height, network),
                Err(HeaderError::BadProofOfWork { height: b.height }),
                "{} on {network}",
                b.name
            );
        }
        // Every single-bit change anywhere in the header fails too (a
        // change of nBits may fail as bad bits or as a target above the
        // limit instead of as bad work).
        let raw = consensus::serialize(&header);
        for bit in 0..raw.len() * 8 {
            let mut bytes = raw.clone();
            bytes[bit / 8] ^= 1 << (bit % 8);
            let changed: Header = consensus::deserialize(&bytes).unwrap();
            assert!(
                check_header_work(&changed, b.height, Network::Bitcoin).is_err(),
                "{}: bit {bit} flipped still meets the work",
                b.name
            );
            flips += 1;
        }
    }
    println!("{flips} single-bit header changes all fail the work check");
}

#[test]
fn every_transaction_branch_leads_to_the_merkle_root() {
    let Some(blocks) = load_blocks() else { return };
    let (mut txs, mut branches, mut odd_levels, mut through_duplicate) = (0, 0, 0, 0);
    let (mut wrong_positions, mut changed_branches) = (0, 0);
    for b in &blocks {
        let ids = txids(&b.block);
        let root = b.block.header.merkle_root;
        // rust-bitcoin's computation, as an independent reference.
        assert_eq!(b.block.compute_merkle_root().unwrap(), root);
        let sizes = level_sizes(ids.len());
        odd_levels += sizes[..sizes.len() - 1]
            .iter()
            .filter(|&&l| l % 2 == 1)
            .count();
        let depth = sizes.len() - 1;
        assert!(depth >= 1, "{}: a block of one transaction", b.name);
        assert!(block_merkle_branch(&ids, ids.len()).is_none());
        // Every transaction: `block_merkle_branch` rebuilds the tree for
        // each call, so the work is spread over the available cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = ids.len().div_ceil(threads);
        std::thread::scope(|s| {
            for (c, part) in ids.chunks(chunk).enumerate() {
                let (ids, name) = (&ids, &b.name);
                s.spawn(move || {
                    for (j, txid) in part.iter().enumerate() {
                        let i = c * chunk + j;
                        let branch = block_merkle_branch(ids, i).unwrap();
                        assert_eq!(branch.len(), depth, "{name} tx {i}");
                        assert_eq!(
                            merkle_root_from_branch(txid, i as u32, &branch),
                            Ok(root),
                            "{name} tx {i}"
                        );
                    }
                });
            }
        });
        txs += ids.len();
        branches += ids.len();
        through_duplicate += (0..ids.len())
            .filter(|&i| passes_duplicated_node(i, &sizes))
            .count();
        // A sample: the ends, the middle, the last of each odd level, and
        // every 97th.
        let n = ids.len();
        let mut sample: Vec<usize> = vec![0, 1, n / 2, n - 2, n - 1];
        sample.extend((0..n).step_by(97));
        for (level, &len) in sizes[..depth].iter().enumerate() {
            if len % 2 == 1 {
                sample.push((len - 1) << level);
            }
        }
        sample.sort_unstable();
        sample.dedup();
        for &i in &sample {
            let txid = &ids[i];
            let branch = block_merkle_branch(&ids, i).unwrap();
            let leads_to_root = |index: u32, branch: &[TxMerkleNode]| {
                merkle_root_from_branch(txid, index, branch) == Ok(root)
            };
            // Wrong positions: each bit of the position flipped, the next
            // transaction's position, and positions past the branch.
            let mut wrong: Vec<u32> = (0..depth).map(|k| i as u32 ^ (1 << k)).collect();
            wrong.push(((i + 1) % n) as u32);
            wrong.push(i as u32 + (1 << depth));
            wrong.push(u32::MAX);
            for j in wrong {
                assert!(!leads_to_root(j, &branch), "{} tx {i} at {j}", b.name);
                wrong_positions += 1;
            }
            assert_eq!(
                merkle_root_from_branch(txid, 1 << depth, &branch),
                Err(BranchError::PositionOutOfRange {
                    index: 1 << depth,
                    len: depth
                })
            );
            // Each hash of the branch with one bit changed, in every byte.
            for k in 0..depth {
                for byte in 0..32 {
                    let mut bad = branch.clone();
                    flip(&mut bad[k], byte, 1 << ((k + byte) % 8));
                    assert!(!leads_to_root(i as u32, &bad), "{} tx {i}", b.name);
                    changed_branches += 1;
                }
            }
            // A branch one hash short, or one hash long.
            assert!(!leads_to_root(i as u32, &branch[..depth - 1]));
            let mut long = branch.clone();
            long.push(root);
            assert!(!leads_to_root(i as u32, &long));
            // Another transaction's txid with this branch.
            let other = &ids[(i + 1) % n];
            assert_ne!(merkle_root_from_branch(other, i as u32, &branch), Ok(root));
        }
    }
    assert!(odd_levels > 0, "no block has an odd level");
    assert!(through_duplicate > 0, "no branch passes a duplicated node");
    println!(
        "{} blocks, {txs} transactions, {branches} branches lead to the header root; \
         {odd_levels} odd levels, {through_duplicate} branches through a node paired with itself; \
         {wrong_positions} wrong positions and {changed_branches} changed branches refused",
        blocks.len()
    );
}

/// The one accepted form, computed here without the library: `6a 20` and
/// exactly 32 bytes.
fn is_commitment_form(script: &[u8]) -> bool {
    script.len() == 34 && script[0] == 0x6a && script[1] == 0x20
}

/// The push length an OP_RETURN script declares after `6a`, if its opcode
/// is a push whose length bytes are all there.
fn declared_push_len(script: &[u8]) -> Option<usize> {
    let op = *script.get(1)?;
    let le = |bytes: &[u8]| {
        bytes
            .iter()
            .rev()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize)
    };
    match op {
        0x01..=0x4b => Some(op as usize),
        0x4c => script.get(2..3).map(le),
        0x4d => script.get(2..4).map(le),
        0x4e => script.get(2..6).map(le),
        _ => None,
    }
}

/// The reason the finder must give for an OP_RETURN script, derived here
/// from the description of the format (`docs/proof-format.md` §6.1).
fn expected_answer(script: &[u8]) -> Result<[u8; 32], CommitmentError> {
    assert_eq!(script[0], OP_RETURN);
    if is_commitment_form(script) {
        return Ok(script[2..].try_into().unwrap());
    }
    let Some(&op) = script.get(1) else {
        return Err(CommitmentError::NoData);
    };
    if !(0x01..=0x4e).contains(&op) {
        return Err(CommitmentError::NotAPush(op));
    }
    let Some(len) = declared_push_len(script) else {
        return Err(CommitmentError::Truncated);
    };
    if len != 32 {
        return Err(CommitmentError::WrongLength { found: len });
    }
    if op != 0x20 {
        return Err(CommitmentError::NonMinimalPush(op));
    }
    if script.len() < 34 {
        return Err(CommitmentError::Truncated);
    }
    Err(CommitmentError::TrailingBytes(script.len() - 34))
}

/// The name of an answer, for the histogram.
fn answer_name(answer: &Result<[u8; 32], CommitmentError>) -> String {
    match answer {
        Ok(_) => "accepted".to_owned(),
        Err(e) => {
            let debug = format!("{e:?}");
            debug.split([' ', '{', '(']).next().unwrap().to_owned()
        }
    }
}

/// Runs the finder on `script`, checking it neither panics nor departs
/// from the expected answer; returns the answer's name.
fn check_finder(script: &[u8], what: &str) -> String {
    let got = catch_unwind(AssertUnwindSafe(|| find_commitment(script))).unwrap_or_else(|_| {
        panic!(
            "{what}: find_commitment panicked on {}",
            hex::encode(script)
        )
    });
    assert_eq!(
        got,
        expected_answer(script),
        "{what}: {}",
        hex::encode(script)
    );
    answer_name(&got)
}

#[test]
fn commitment_finder_on_every_op_return_output() {
    let Some(blocks) = load_blocks() else { return };
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut push_lens: BTreeMap<String, usize> = BTreeMap::new();
    let mut derived: BTreeMap<String, usize> = BTreeMap::new();
    let (mut op_returns, mut others, mut accepted) = (0, 0, 0);
    for b in &blocks {
        for (t, tx) in b.block.txdata.iter().enumerate() {
            for (o, out) in tx.output.iter().enumerate() {
                let script = out.script_pubkey.as_bytes();
                let what = format!("{} tx {t} output {o}", b.name);
                if script.first() != Some(&OP_RETURN) {
                    assert_eq!(find_commitment(script), Err(CommitmentError::NotOpReturn));
                    others += 1;
                    continue;
                }
                op_returns += 1;
                let answer = check_finder(script, &what);
                assert_eq!(answer == "accepted", is_commitment_form(script), "{what}");
                accepted += usize::from(answer == "accepted");
                *reasons.entry(answer).or_default() += 1;
                let len = declared_push_len(script).map_or("none".to_owned(), |l| l.to_string());
                *push_lens.entry(len).or_default() += 1;

                // Scripts derived from this one: its data recast in each
                // push form (the commitment form among them), and each of
                // those cut short at every length and lengthened by a byte.
                let data: Vec<u8> = script.iter().cycle().skip(2).take(32).copied().collect();
                let heads: [&[u8]; 9] = [
                    &script[..2],
                    &[0x6a, 0x20],
                    &[0x6a, 0x4c, 0x20],
                    &[0x6a, 0x4d, 0x20, 0x00],
                    &[0x6a, 0x4e, 0x20, 0, 0, 0],
                    &[0x6a, 0x21],
                    &[0x6a, 0x1f],
                    &[0x6a, 0x00],
                    &[0x6a, 0x51, 0x20],
                ];
                for head in heads {
                    let form = if head == &script[..2] {
                        script.to_vec()
                    } else {
                        [head, &data[..]].concat()
                    };
                    let mut longer = form.clone();
                    longer.push(0x51);
                    for s in (1..=form.len())
                        .map(|cut| &form[..cut])
                        .chain([&longer[..]])
                    {
                        *derived.entry(check_finder(s, &what)).or_default() += 1;
                    }
                }
            }
        }
    }
    assert!(op_returns > 0, "no OP_RETURN outputs in the blocks");
    println!(
        "{op_returns} OP_RETURN outputs ({accepted} in the commitment form), \
         {others} other outputs (all refused as not OP_RETURN)"
    );
    println!("answers on the real OP_RETURN scripts:");
    for (r, n) in &reasons {
        println!("  {n:5}  {r}");
    }
    println!("declared push lengths:");
    for (l, n) in &push_lens {
        println!("  {n:5}  {l} bytes");
    }
    println!("answers on scripts derived from them (prefixes, extensions, push forms):");
    for (r, n) in &derived {
        println!("  {n:5}  {r}");
    }
}

/// Checks a real commitment `6a20<root>` in output `output` of transaction
/// `tx_index` of `block` end to end, as a verifier of someone else's anchor
/// would: the witness-stripped transaction, the branch and the header.
/// Returns the number of checks made.
fn check_commitment_end_to_end(
    block: &Block,
    height: u32,
    tx_index: usize,
    output: u32,
    network: Network,
) -> usize {
    let ids = txids(block);
    let tx = btc_anchor::chain::without_witness(&block.txdata[tx_index]);
    let root = find_commitment(tx.output[output as usize].script_pubkey.as_bytes()).unwrap();
    let proof = BlockProof {
        height,
        header: block.header,
        tx_index: tx_index as u32,
        branch: block_merkle_branch(&ids, tx_index).unwrap(),
        headers_after: vec![],
    };
    let facts = verify_anchor(&root, &tx, output, &proof, network).unwrap();
    assert_eq!(facts.txid, ids[tx_index]);
    assert_eq!(facts.block_hash, block.block_hash());
    assert_eq!(facts.height, height);
    assert_eq!(facts.time, block.header.time);
    assert_eq!(facts.confirmations_in_proof, 1);
    // Another root, another position, a changed branch: refused.
    let mut other = root;
    other[0] ^= 1;
    assert!(matches!(
        verify_anchor(&other, &tx, output, &proof, network),
        Err(AnchorError::WrongCommitment { .. })
    ));
    let mut moved = proof.clone();
    moved.tx_index ^= 1;
    assert!(verify_anchor(&root, &tx, output, &moved, network).is_err());
    if !proof.branch.is_empty() {
        let mut changed = proof.clone();
        flip(&mut changed.branch[0], 7, 0x10);
        assert!(matches!(
            verify_anchor(&root, &tx, output, &changed, network),
            Err(AnchorError::MerkleRootMismatch { .. })
        ));
    }
    4
}

#[test]
fn real_commitments_verify_end_to_end() {
    let Some(blocks) = load_blocks() else { return };
    let mut found = 0;
    for b in &blocks {
        for (t, tx) in b.block.txdata.iter().enumerate() {
            for (o, out) in tx.output.iter().enumerate() {
                if is_commitment_form(out.script_pubkey.as_bytes()) {
                    check_commitment_end_to_end(&b.block, b.height, t, o as u32, Network::Bitcoin);
                    found += 1;
                }
            }
        }
    }
    // The blocks in the data set may hold no `6a20` output at all; the same
    // check then runs on a synthetic block below, so that it is not dead.
    println!("{found} real 32-byte OP_RETURN commitments verified end to end");

    let mut chain = Chain::new(Network::Regtest);
    chain.mine_empty(2);
    let root = [0x5a; 32];
    let mut txs: Vec<Transaction> = (0..6)
        .map(|i| {
            spend(
                500 + i,
                vec![bitcoin::TxOut {
                    value: bitcoin::Amount::from_sat(1000),
                    script_pubkey: p2wpkh(i),
                }],
            )
        })
        .collect();
    txs[4] = anchor_tx(&root, 9);
    let mut block = mine_full_block(&mut chain, txs);
    assert_eq!(block.txdata.len(), 7);
    // A witness, as a real block carries; the check strips it, and the
    // txid (hence the merkle root) does not cover it.
    block.txdata[5].input[0].witness.push([1u8; 72]);
    assert!(block.check_merkle_root());
    let checks = check_commitment_end_to_end(&block, 3, 5, 0, Network::Regtest);
    assert!(checks > 0);
}

/// A transaction as it sits in a segwit block, witness included: its txid
/// (what the block's merkle tree holds) does not cover the witness, so the
/// anchor checks out whether or not the caller stripped it first.
#[test]
fn commitment_in_a_transaction_with_witness_data() {
    let mut chain = Chain::new(Network::Regtest);
    let root = [0x6b; 32];
    let mut block = mine_full_block(&mut chain, vec![anchor_tx(&root, 11)]);
    block.txdata[1].input[0].witness.push([2u8; 72]);
    let ids = txids(&block);
    let proof = BlockProof {
        height: 1,
        header: block.header,
        tx_index: 1,
        branch: block_merkle_branch(&ids, 1).unwrap(),
        headers_after: vec![],
    };
    let facts = verify_anchor(&root, &block.txdata[1], 0, &proof, Network::Regtest).unwrap();
    assert_eq!(facts.txid, block.txdata[1].compute_txid());
}

/// The real headers carry exactly their epoch's target from the built-in
/// checkpoint table; moved to the neighbouring epochs, they do not.
#[test]
fn real_headers_meet_the_epoch_target_rule() {
    use btc_anchor::checkpoints::{Checkpoints, EPOCH_BLOCKS};
    use btc_anchor::rules::{check_header_rules, RuleError};
    let Some(blocks) = load_blocks() else { return };
    let table = Checkpoints::builtin(Network::Bitcoin);
    for b in &blocks {
        let header = &b.block.header;
        let hash = header_hash(header);
        assert!(b.height > EPOCH_BLOCKS, "{}: BIP34 height", b.name);
        check_header_rules(table, b.height, header, &hash)
            .unwrap_or_else(|e| panic!("{} at {}: {e}", b.name, b.height));
        for moved in [b.height - EPOCH_BLOCKS, b.height + EPOCH_BLOCKS] {
            let e = check_header_rules(table, moved, header, &hash).unwrap_err();
            assert!(
                matches!(e, RuleError::WrongEpochTarget { .. }),
                "{} moved to {moved}: {e}",
                b.name
            );
        }
    }
}

/// `node` with the bits of `mask` flipped in byte `byte`.
fn flip(node: &mut TxMerkleNode, byte: usize, mask: u8) {
    let mut b = node.to_byte_array();
    b[byte] ^= mask;
    *node = TxMerkleNode::from_byte_array(b);
}
