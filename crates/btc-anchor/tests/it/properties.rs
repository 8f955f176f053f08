//! Property tests of the batch tree, the proof file and the verifier.
//!
//! * every leaf's inclusion proof verifies, for trees of 1 to 2000 leaves;
//! * n and n+1 leaves never share a root, nor do two different lists of
//!   the same length;
//! * any hex digit changed in a complete proof makes verification fail
//!   (with the exceptions proof of work on regtest cannot rule out, spelled
//!   out at `must_fail`);
//! * proofs of every stage round-trip through JSON exactly;
//! * the reader never panics, on arbitrary bytes or on damaged proofs.
//!
//! Case counts are modest so that the file runs quickly in a debug build;
//! `PROPTEST_CASES` raises them all for a longer run.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

use btc_anchor::bitcoin::{
    self, absolute::LockTime, block, hashes::Hash as _, transaction, Amount, BlockHash,
    CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut,
    Txid, Witness,
};
use btc_anchor::chain::check_header_work;
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::merkle::{
    inclusion_path_len, leaf_hash, verify_inclusion, LeafHash, NodeHash, Salt, Tree, MAX_PATH_LEN,
    MAX_SALT_LEN, MAX_TREE_SIZE, MIN_SALT_LEN,
};
use btc_anchor::proof::{Anchor, BatchPath, BlockProof, Proof, Record, Stage};
use btc_anchor::verify::{verify, VerifyOptions};
use btc_anchor_testenv::chain::*;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// `cases` unless `PROPTEST_CASES` says otherwise. A failing case is saved
/// in `tests/properties.proptest-regressions` and tried first next time.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// The tree.
// ---------------------------------------------------------------------------

/// Leaf `i` of the tree made from `seed`.
fn leaf(seed: u64, i: u64) -> LeafHash {
    leaf_hash(&[seed.to_le_bytes(), i.to_le_bytes()].concat())
}

fn leaves(seed: u64, n: u64) -> Vec<LeafHash> {
    (0..n).map(|i| leaf(seed, i)).collect()
}

/// RFC 9162 node hash, computed here with SHA-256 directly rather than
/// with the library.
fn reference_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The roots of all prefixes of a list of leaves, computed independently of
/// `Tree`: the perfect subtrees are kept on a stack as leaves are appended
/// (as in a Merkle mountain range), and the root of a prefix folds them
/// from the right, which is the RFC's split at the largest power of two.
struct PrefixRoots {
    stack: Vec<(u32, [u8; 32])>,
}

impl PrefixRoots {
    fn new() -> Self {
        PrefixRoots { stack: Vec::new() }
    }

    fn push(&mut self, leaf: &LeafHash) {
        let mut top = (0, leaf.0);
        while let Some(&(h, left)) = self.stack.last() {
            if h != top.0 {
                break;
            }
            self.stack.pop();
            top = (h + 1, reference_node(&left, &top.1));
        }
        self.stack.push(top);
    }

    fn root(&self) -> [u8; 32] {
        let mut it = self.stack.iter().rev();
        let mut r = it.next().expect("at least one leaf").1;
        for (_, left) in it {
            r = reference_node(left, &r);
        }
        r
    }
}

fn reference_root(leaves: &[LeafHash]) -> [u8; 32] {
    let mut p = PrefixRoots::new();
    leaves.iter().for_each(|l| p.push(l));
    p.root()
}

/// Tree sizes around the powers of two, where the shape changes, as well as
/// any size up to `max`.
fn tree_size(max: u64) -> impl Strategy<Value = u64> {
    let bits = 64 - max.leading_zeros();
    prop_oneof![
        1..=max,
        (0..bits)
            .prop_flat_map(move |k| {
                let p = 1u64 << k;
                prop::sample::select(vec![p.saturating_sub(1).max(1), p, p + 1])
            })
            .prop_map(move |n| n.min(max)),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    /// Every leaf of a tree of 1 to 2000 leaves: its proof has the length
    /// the sizes imply and leads to the root, which is the RFC root; the
    /// proof of one leaf does not pass for the next leaf's hash or index.
    #[test]
    fn every_leaf_proof_verifies(n in tree_size(2000), seed in any::<u64>()) {
        let ls = leaves(seed, n);
        let tree = Tree::new(ls.clone()).unwrap();
        let root = tree.root();
        prop_assert_eq!(root.0, reference_root(&ls));
        let mut path = Vec::new();
        for i in 0..n {
            tree.inclusion_proof_into(i, &mut path).unwrap();
            prop_assert_eq!(path.len(), inclusion_path_len(i, n));
            prop_assert!(path.len() <= MAX_PATH_LEN);
            prop_assert_eq!(verify_inclusion(i, n, &ls[i as usize], &path, &root), Ok(()));
            if n > 1 {
                let j = (i + 1) % n;
                prop_assert!(verify_inclusion(i, n, &ls[j as usize], &path, &root).is_err());
                prop_assert!(verify_inclusion(j, n, &ls[i as usize], &path, &root).is_err());
            }
        }
        prop_assert!(tree.inclusion_proof(n).is_err());
    }
}

/// Every size from 1 to 2000, deterministically: the root equals the
/// independently computed RFC root, and the proofs of a sample of leaves
/// verify (the first, the last, the middle, the last of the left subtree,
/// the first of the right one, and three pseudo-random ones). Checking all
/// 2,001,000 leaves of all sizes is too slow for a debug build; the
/// property above checks all leaves of randomly chosen sizes.
#[test]
fn every_size_to_2000_sampled_leaves() {
    const MAX: u64 = 2000;
    let all = leaves(2000, MAX);
    let mut prefix = PrefixRoots::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut trees, mut proofs) = (0, 0);
    for n in 1..=MAX {
        prefix.push(&all[n as usize - 1]);
        let tree = Tree::new(all[..n as usize].to_vec()).unwrap();
        let root = tree.root();
        assert_eq!(root.0, prefix.root(), "size {n}");
        let split = if n > 1 {
            1u64 << (63 - (n - 1).leading_zeros())
        } else {
            0
        };
        let mut sample = vec![0, n - 1, n / 2, split.saturating_sub(1), split.min(n - 1)];
        sample.extend((0..3).map(|_| next() % n));
        sample.sort_unstable();
        sample.dedup();
        for i in sample {
            let path = tree.inclusion_proof(i).unwrap();
            assert_eq!(path.len(), inclusion_path_len(i, n));
            verify_inclusion(i, n, &all[i as usize], &path, &root)
                .unwrap_or_else(|e| panic!("leaf {i} of {n}: {e}"));
            proofs += 1;
        }
        trees += 1;
    }
    println!("{trees} tree sizes, {proofs} sampled inclusion proofs verified");
}

proptest! {
    #![proptest_config(config(128))]

    /// n and n+1 leaves with the same leading n never share a root, whatever
    /// the extra leaf is: a fresh one, a copy of the last (Bitcoin's tree
    /// would give the same root there: CVE-2012-2459), or the bytes of the
    /// smaller tree's root.
    #[test]
    fn n_and_n_plus_one_leaves_differ(
        n in tree_size(600),
        seed in any::<u64>(),
        extra in 0..3u8,
    ) {
        let mut ls = leaves(seed, n);
        let small = Tree::new(ls.clone()).unwrap().root();
        let added = match extra {
            0 => leaf(seed ^ 1, n),
            1 => *ls.last().unwrap(),
            _ => LeafHash(small.0),
        };
        ls.push(added);
        let large = Tree::new(ls).unwrap().root();
        prop_assert_ne!(small, large);
    }

    /// Two different lists of leaves of the same length never share a
    /// root: one leaf replaced, two different leaves swapped, or a leaf
    /// moved to another place.
    #[test]
    fn different_lists_of_equal_length_differ(
        n in tree_size(300),
        seed in any::<u64>(),
        change in 0..3u8,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let ls = leaves(seed, n);
        let mut other = ls.clone();
        let (i, j) = (a.index(n as usize), b.index(n as usize));
        match change {
            0 => other[i] = leaf(!seed, i as u64),
            1 => other.swap(i, j),
            _ => {
                let l = other.remove(i);
                other.insert(j, l);
            }
        }
        prop_assume!(other != ls);
        let r1 = Tree::new(ls).unwrap().root();
        let r2 = Tree::new(other).unwrap().root();
        prop_assert_ne!(r1, r2);
    }
}

/// The prefixes keep leaves and inner nodes apart: a tree whose leaf data
/// are the two halves of its inner nodes does not share a root with it.
#[test]
fn inner_nodes_are_not_leaves() {
    for n in [2u64, 3, 4, 5, 8, 13] {
        let data: Vec<Vec<u8>> = (0..n).map(|i| format!("leaf {i}").into_bytes()).collect();
        let ls: Vec<LeafHash> = data.iter().map(|d| leaf_hash(d)).collect();
        let root = Tree::new(ls.clone()).unwrap().root();
        // The level above the leaves, each node's preimage (left ‖ right)
        // given as leaf data.
        let above: Vec<LeafHash> = ls
            .chunks(2)
            .map(|p| match p {
                [l, r] => leaf_hash(&[l.0, r.0].concat()),
                [odd] => *odd,
                _ => unreachable!(),
            })
            .collect();
        assert_ne!(Tree::new(above).unwrap().root(), root, "size {n}");
        // The inner node's bytes given as a leaf hash (which no leaf data
        // can produce) are the one way to get the same root.
        let lifted: Vec<LeafHash> = ls
            .chunks(2)
            .map(|p| match p {
                [l, r] => LeafHash(reference_node(&l.0, &r.0)),
                [odd] => *odd,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(Tree::new(lifted).unwrap().root(), root, "size {n}");
    }
}

// ---------------------------------------------------------------------------
// Any changed hex digit of a complete proof fails verification.
// ---------------------------------------------------------------------------

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The JSON pointers of every hex string of a proof.
fn hex_fields(v: &Value) -> Vec<String> {
    let mut out = vec!["/record/digest".to_owned(), "/record/salt".to_owned()];
    let count = |p: &str| v.pointer(p).and_then(Value::as_array).map_or(0, Vec::len);
    if v.get("batch").is_some() {
        out.push("/batch/root".into());
        out.extend((0..count("/batch/path")).map(|k| format!("/batch/path/{k}")));
    }
    if v.get("anchor").is_some() {
        out.push("/anchor/tx".into());
    }
    if v.pointer("/anchor/block").is_some() {
        out.push("/anchor/block/header".into());
        let b = "/anchor/block/branch";
        out.extend((0..count(b)).map(|k| format!("{b}/{k}")));
        let h = "/anchor/block/headers_after";
        out.extend((0..count(h)).map(|k| format!("{h}/{k}")));
    }
    out
}

/// Replaces hex digit `pos` of the string at `pointer` by the digit `delta`
/// (1 to 15) places further on; returns the changed JSON text.
fn change_digit(v: &Value, pointer: &str, pos: usize, delta: usize) -> String {
    let mut v = v.clone();
    let s = v.pointer_mut(pointer).unwrap();
    let mut bytes = s.as_str().unwrap().as_bytes().to_vec();
    let old = HEX.iter().position(|&c| c == bytes[pos]).unwrap();
    bytes[pos] = HEX[(old + delta) % 16];
    *s = Value::String(String::from_utf8(bytes).unwrap());
    serde_json::to_string_pretty(&v).unwrap()
}

/// Whether a change at hex digit `pos` of `pointer` must be detected.
///
/// Everything in a proof is bound to the document by a hash, except what
/// only proof of work binds: the last header carried (the anchoring block's
/// own header when no header follows it) is not named by any later header,
/// so a change to its version, previous-block hash, time, bits or nonce
/// (and, for a following header, to its merkle root, which commits to
/// nothing in the proof) that still meets the target and the network's
/// limit is accepted. On regtest the target is met by half of all hashes,
/// so such changes are expected and are not weaknesses of the verifier:
/// real security comes from mainnet work and from checking the block
/// against a header source. A change is therefore required to fail when
///
/// * it is not in a header, or
/// * it changes the anchoring header's merkle root (which the branch
///   fixes) or a following header's previous-block hash (which the header
///   before it fixes), or
/// * another carried header follows the changed one (and must name it), or
/// * the changed header no longer meets its own work on regtest, or
/// * it changes a header's bits (regtest never retargets: every header
///   carries the genesis block's, `docs/proof-format.md` §6.3).
fn must_fail(proof: &Proof, pointer: &str, pos: usize, changed_hex: &str) -> bool {
    let block = proof.anchor.as_ref().and_then(|a| a.block.as_ref());
    let (followed, committed_range) = if pointer == "/anchor/block/header" {
        (!block.unwrap().headers_after.is_empty(), 36..68)
    } else if let Some(k) = pointer.strip_prefix("/anchor/block/headers_after/") {
        let k: usize = k.parse().unwrap();
        (k + 1 < block.unwrap().headers_after.len(), 4..36)
    } else {
        return true;
    };
    let header: block::Header =
        bitcoin::consensus::deserialize(&hex::decode(changed_hex).unwrap()).unwrap();
    let genesis_bits = bitcoin::constants::genesis_block(Network::Regtest)
        .header
        .bits;
    followed
        || committed_range.contains(&(pos / 2))
        || check_header_work(&header, 0, Network::Regtest).is_err()
        || header.bits != genesis_bits
}

/// Counts of the changes tried.
#[derive(Default)]
struct Tally {
    /// Changes that must fail, and did.
    detected: AtomicUsize,
    /// Changes proof of work on regtest cannot rule out, and which the
    /// verifier (rightly) accepted.
    undetectable: AtomicUsize,
}

/// Changes digit `pos` of the hex at `pointer` in `proof` and checks the
/// verdict against `must_fail`. `Err` describes a wrong verdict.
fn check_change(
    proof: &Proof,
    v: &Value,
    doc: &RecordDigest,
    pointer: &str,
    pos: usize,
    delta: usize,
    tally: &Tally,
) -> Result<(), String> {
    let text = change_digit(v, pointer, pos, delta);
    let verdict = match Proof::from_json(text.as_bytes()) {
        Err(e) => Err(e.kind()),
        Ok(p) => verify(
            &p,
            doc,
            &EmbeddedOnly,
            &VerifyOptions::new(Network::Regtest),
        )
        .map(|_| ())
        .map_err(|e| e.kind()),
    };
    let changed: Value = serde_json::from_str(&text).unwrap();
    let changed_hex = changed.pointer(pointer).unwrap().as_str().unwrap();
    if must_fail(proof, pointer, pos, changed_hex) {
        if verdict.is_ok() {
            return Err(format!("{pointer} digit {pos} +{delta}: accepted"));
        }
        tally.detected.fetch_add(1, Relaxed);
    } else {
        // Nothing but proof of work binds this change: it is accepted, and
        // if it were not, `must_fail` would be missing a check.
        if let Err(kind) = verdict {
            return Err(format!(
                "{pointer} digit {pos} +{delta}: unexpectedly {kind}"
            ));
        }
        tally.undetectable.fetch_add(1, Relaxed);
    }
    Ok(())
}

fn document(i: u64) -> RecordDigest {
    RecordDigest::of_bytes(format!("record {i}").as_bytes())
}

#[test]
fn any_changed_hex_digit_fails() {
    let tally = Tally::default();
    let mut runner = TestRunner::new(config(256));
    let strategy = (
        1..=40u64,
        any::<prop::sample::Index>(),
        2..=12u32,
        any::<prop::sample::Index>(),
        0..=3u32,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        1..16usize,
    );
    runner
        .run(
            &strategy,
            |(n, i, total, position, after, field, pos, delta)| {
                let i = i.index(n as usize) as u64;
                let position = 1 + position.index(total as usize - 1) as u32;
                let (_, _, proof) = complete(n, i, position, total, after);
                let v: Value = serde_json::from_str(&proof.to_json()).unwrap();
                let fields = hex_fields(&v);
                let pointer = field.get(&fields);
                let len = v.pointer(pointer).unwrap().as_str().unwrap().len();
                let pos = pos.index(len);
                check_change(&proof, &v, &document(i), pointer, pos, delta, &tally)
                    .map_err(TestCaseError::fail)
            },
        )
        .unwrap();
    let (detected, undetectable) = (tally.detected.into_inner(), tally.undetectable.into_inner());
    println!("{detected} changes detected, {undetectable} accepted (header changes regtest work cannot rule out)");
    assert!(detected >= 200, "only {detected} changes checked");
}

/// Every digit of every hex field of two complete proofs (one carrying
/// following headers, one without), each changed in its lowest and highest
/// bit.
#[test]
fn every_hex_digit_of_two_proofs() {
    let tally = Tally::default();
    let mut failures = Vec::new();
    for (n, i, position, total, after) in [(5, 2, 3, 7, 2), (4, 3, 1, 2, 0)] {
        let (_, _, proof) = complete(n, i, position, total, after);
        let v: Value = serde_json::from_str(&proof.to_json()).unwrap();
        // The unchanged proof is valid.
        verify(
            &proof,
            &document(i),
            &EmbeddedOnly,
            &VerifyOptions::new(Network::Regtest),
        )
        .unwrap();
        for pointer in hex_fields(&v) {
            let len = v.pointer(&pointer).unwrap().as_str().unwrap().len();
            for pos in 0..len {
                let digit = v.pointer(&pointer).unwrap().as_str().unwrap().as_bytes()[pos];
                let d = HEX.iter().position(|&c| c == digit).unwrap();
                for flip in [1, 8] {
                    let delta = ((d ^ flip) + 16 - d) % 16;
                    if let Err(e) =
                        check_change(&proof, &v, &document(i), &pointer, pos, delta, &tally)
                    {
                        failures.push(e);
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong verdicts:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let (detected, undetectable) = (tally.detected.into_inner(), tally.undetectable.into_inner());
    println!("{detected} changes detected, {undetectable} accepted (header changes regtest work cannot rule out)");
    assert!(detected > 3000);
}

// ---------------------------------------------------------------------------
// JSON round trips.
// ---------------------------------------------------------------------------

fn arb_network() -> impl Strategy<Value = Network> {
    prop::sample::select(vec![
        Network::Bitcoin,
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
    ])
}

fn arb_salt() -> impl Strategy<Value = Salt> {
    prop::collection::vec(any::<u8>(), MIN_SALT_LEN..=MAX_SALT_LEN)
        .prop_map(|b| Salt::from_bytes(&b).unwrap())
}

fn arb_hashes(max: usize) -> impl Strategy<Value = Vec<[u8; 32]>> {
    prop::collection::vec(any::<[u8; 32]>(), 0..=max)
}

/// A batch part: either consistent (index in range, path of the length the
/// sizes need) or arbitrary within what the format can hold.
fn arb_batch() -> impl Strategy<Value = BatchPath> {
    let consistent = (1..=5000u64)
        .prop_flat_map(|size| (Just(size), 0..size))
        .prop_flat_map(|(size, index)| {
            let len = inclusion_path_len(index, size);
            (
                Just(size),
                Just(index),
                prop::collection::vec(any::<[u8; 32]>(), len),
            )
        });
    let arbitrary = (1..=MAX_TREE_SIZE, any::<u64>(), arb_hashes(MAX_PATH_LEN));
    (prop_oneof![consistent, arbitrary], any::<[u8; 32]>()).prop_map(
        |((size, index, path), root)| BatchPath {
            size,
            index,
            path: path.into_iter().map(NodeHash).collect(),
            root: NodeHash(root),
        },
    )
}

fn arb_script(max: usize) -> impl Strategy<Value = ScriptBuf> {
    prop::collection::vec(any::<u8>(), 0..=max).prop_map(ScriptBuf::from_bytes)
}

/// A witness-stripped transaction (at least one input: with none, the
/// encoding reads as the segwit marker).
fn arb_tx() -> impl Strategy<Value = Transaction> {
    let input = (
        any::<[u8; 32]>(),
        any::<u32>(),
        arb_script(40),
        any::<u32>(),
    )
        .prop_map(|(txid, vout, script_sig, sequence)| TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array(txid),
                vout,
            },
            script_sig,
            sequence: Sequence(sequence),
            witness: Witness::new(),
        });
    let output = (any::<u64>(), arb_script(60)).prop_map(|(value, script_pubkey)| TxOut {
        value: Amount::from_sat(value),
        script_pubkey,
    });
    (
        any::<i32>(),
        any::<u32>(),
        prop::collection::vec(input, 1..=3),
        prop::collection::vec(output, 0..=3),
    )
        .prop_map(|(version, lock_time, input, output)| Transaction {
            version: transaction::Version(version),
            lock_time: LockTime::from_consensus(lock_time),
            input,
            output,
        })
}

fn arb_header() -> impl Strategy<Value = block::Header> {
    (
        any::<i32>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(version, prev, merkle, time, bits, nonce)| block::Header {
            version: block::Version::from_consensus(version),
            prev_blockhash: BlockHash::from_byte_array(prev),
            merkle_root: TxMerkleNode::from_byte_array(merkle),
            time,
            bits: CompactTarget::from_consensus(bits),
            nonce,
        })
}

fn arb_block() -> impl Strategy<Value = BlockProof> {
    (
        any::<u32>(),
        arb_header(),
        any::<u32>(),
        arb_hashes(32).prop_map(|v| v.into_iter().map(TxMerkleNode::from_byte_array).collect()),
        prop::collection::vec(arb_header(), 0..=4),
    )
        .prop_map(
            |(height, header, tx_index, branch, headers_after)| BlockProof {
                height,
                header,
                tx_index,
                branch,
                headers_after,
            },
        )
}

/// A proof at any stage: queued, batched, broadcast or confirmed.
fn arb_proof() -> impl Strategy<Value = Proof> {
    let anchor = (arb_tx(), any::<u32>(), prop::option::of(arb_block()))
        .prop_map(|(tx, output, block)| Anchor { tx, output, block });
    (
        arb_network(),
        any::<[u8; 32]>(),
        arb_salt(),
        prop::option::of((arb_batch(), prop::option::of(anchor))),
    )
        .prop_map(|(network, digest, salt, rest)| {
            let (batch, anchor) = match rest {
                None => (None, None),
                Some((b, a)) => (Some(b), a),
            };
            Proof {
                network,
                record: Record {
                    digest: RecordDigest(digest),
                    salt,
                },
                batch,
                anchor,
            }
        })
}

/// `from_json(to_json(p)) == p`, and writing it again gives the same text.
#[test]
fn json_round_trips_exactly() {
    let stages: [AtomicUsize; 4] = Default::default();
    TestRunner::new(config(256))
        .run(&arb_proof(), |p| {
            let text = p.to_json();
            let back = Proof::from_json(text.as_bytes())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(&back, &p);
            prop_assert_eq!(back.stage(), p.stage());
            prop_assert_eq!(back.to_json(), text);
            let k = match p.stage() {
                Stage::Queued => 0,
                Stage::Batched => 1,
                Stage::Broadcast => 2,
                _ => 3,
            };
            stages[k].fetch_add(1, Relaxed);
            Ok(())
        })
        .unwrap();
    let stages = stages.map(AtomicUsize::into_inner);
    println!(
        "round trips: {} queued, {} batched, {} broadcast, {} confirmed",
        stages[0], stages[1], stages[2], stages[3]
    );
    assert!(stages.iter().all(|&n| n > 0), "a stage was never generated");
}

// ---------------------------------------------------------------------------
// The reader never panics.
// ---------------------------------------------------------------------------

/// Valid proofs of each stage, as text: what the damage is done to.
fn valid_texts() -> &'static [String] {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let (batch, _, complete6) = complete(6, 5, 2, 5, 3);
        let (_, _, complete1) = complete(1, 0, 1, 2, 0);
        let tx = anchor_tx(&batch.tree.root().0, 7);
        vec![
            complete6.to_json(),
            complete1.to_json(),
            batch.queued(Network::Regtest, 1).to_json(),
            batch.proof(Network::Regtest, 1, None, None).to_json(),
            batch.proof(Network::Regtest, 1, Some(&tx), None).to_json(),
        ]
    })
}

/// One kind of damage to a byte string.
#[derive(Debug, Clone)]
enum Damage {
    /// XOR a byte with a non-zero value.
    Flip(prop::sample::Index, u8),
    /// Cut the text at a point.
    Truncate(prop::sample::Index),
    /// Insert bytes at a point.
    Insert(prop::sample::Index, Vec<u8>),
    /// Remove a run of bytes.
    Remove(prop::sample::Index, usize),
    /// Copy a run of bytes to another point (a duplicated member, say).
    Copy(prop::sample::Index, usize, prop::sample::Index),
    /// Change the first lower-case hex digit at or after a point to another
    /// one: the text usually still reads, and the verifier gets to work.
    Digit(prop::sample::Index, u8),
    /// Insert white space at a point: between tokens, the text still reads.
    Space(prop::sample::Index),
}

fn arb_damage() -> impl Strategy<Value = Damage> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        (index(), 1..=255u8).prop_map(|(i, x)| Damage::Flip(i, x)),
        index().prop_map(Damage::Truncate),
        (
            index(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..8),
                prop::sample::select(vec![
                    b"\"".to_vec(),
                    b"\\".to_vec(),
                    b"\\u0000".to_vec(),
                    b",".to_vec(),
                    b"{".to_vec(),
                    b"}".to_vec(),
                    b"[".to_vec(),
                    b"]".to_vec(),
                    b"-".to_vec(),
                    b"1e999".to_vec(),
                    b"18446744073709551616".to_vec(),
                    b"null".to_vec(),
                    "\u{fffd}".as_bytes().to_vec(),
                    vec![0xff, 0xfe],
                ]),
            ]
        )
            .prop_map(|(i, b)| Damage::Insert(i, b)),
        (index(), 1..64usize).prop_map(|(i, n)| Damage::Remove(i, n)),
        (index(), 1..200usize, index()).prop_map(|(i, n, j)| Damage::Copy(i, n, j)),
        (index(), 1..16u8).prop_map(|(i, d)| Damage::Digit(i, d)),
        index().prop_map(Damage::Space),
    ]
}

fn apply(text: &mut Vec<u8>, damage: &Damage) {
    // A point in the text, its end included.
    let at = |i: &prop::sample::Index, len: usize| i.index(len + 1);
    const DIGITS: &[u8] = b"0123456789abcdef";
    match damage {
        Damage::Digit(i, d) => {
            let from = at(i, text.len());
            if let Some(k) = text[from..].iter().position(|c| DIGITS.contains(c)) {
                let old = DIGITS.iter().position(|&c| c == text[from + k]).unwrap();
                text[from + k] = DIGITS[(old + usize::from(*d)) % 16];
            }
        }
        Damage::Space(i) => {
            let k = at(i, text.len());
            text.insert(k, b' ');
        }
        Damage::Flip(i, x) => {
            if !text.is_empty() {
                let k = i.index(text.len());
                text[k] ^= x;
            }
        }
        Damage::Truncate(i) => text.truncate(at(i, text.len())),
        Damage::Insert(i, b) => {
            let k = at(i, text.len());
            text.splice(k..k, b.iter().copied());
        }
        Damage::Remove(i, n) => {
            let k = at(i, text.len());
            let end = (k + n).min(text.len());
            text.drain(k..end);
        }
        Damage::Copy(i, n, j) => {
            let k = at(i, text.len());
            let end = (k + n).min(text.len());
            let piece = text[k..end].to_vec();
            let to = at(j, text.len());
            text.splice(to..to, piece);
        }
    }
}

/// Reads `bytes` and, if that succeeds, verifies the proof: neither may
/// panic (a panic fails the case). Returns whether it read.
fn read_and_verify(bytes: &[u8]) -> bool {
    match Proof::from_json(bytes) {
        Ok(p) => {
            // Reading canonical output gives the same proof.
            assert_eq!(Proof::from_json(p.to_json().as_bytes()).unwrap(), p);
            let _ = verify(
                &p,
                &p.record.digest,
                &EmbeddedOnly,
                &VerifyOptions::new(p.network),
            );
            true
        }
        Err(_) => false,
    }
}

/// A JSON value of any shape, with the proof's member names among the
/// object keys so that the reader gets past its outer checks.
fn arb_json() -> impl Strategy<Value = Value> {
    // Values of the right type, often of the right size, so that many
    // replaced proofs still read and go on to the verifier.
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0..10u64).prop_map(Value::from),
        prop::sample::select(vec![
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            MAX_TREE_SIZE,
            MAX_TREE_SIZE + 1,
            u64::MAX,
        ])
        .prop_map(Value::from),
        "[0-9a-f]{64}".prop_map(Value::String),
        "[0-9a-f]{160}".prop_map(Value::String),
        "([0-9a-f]{2}){0,100}".prop_map(Value::String),
        "[0-9a-fA-F]{0,170}".prop_map(Value::String),
        ".{0,20}".prop_map(Value::String),
        prop::sample::select(vec!["bitcoin", "regtest", "signet", "testnet4", "sha256"])
            .prop_map(Value::from),
    ];
    let key = prop::sample::select(vec![
        "format",
        "version",
        "network",
        "hash",
        "record",
        "digest",
        "salt",
        "batch",
        "size",
        "index",
        "path",
        "root",
        "anchor",
        "tx",
        "output",
        "block",
        "height",
        "header",
        "tx_index",
        "branch",
        "headers_after",
        "other",
    ]);
    let scalar = leaf.clone();
    let any_shape = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![3 => scalar, 1 => any_shape]
}

/// Runs `read_and_verify` on `cases` inputs drawn from `strategy`; panics
/// fail the case. Prints how many of the inputs still read as a proof.
fn never_panics<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    input: impl Fn(S::Value) -> Vec<u8>,
) {
    let (tried, read) = (AtomicUsize::new(0), AtomicUsize::new(0));
    TestRunner::new(config(cases))
        .run(&strategy, |value| {
            tried.fetch_add(1, Relaxed);
            if read_and_verify(&input(value)) {
                read.fetch_add(1, Relaxed);
            }
            Ok(())
        })
        .unwrap();
    println!(
        "{name}: {} inputs, {} of them read as a proof and were verified",
        tried.into_inner(),
        read.into_inner()
    );
}

#[test]
fn reader_never_panics_on_arbitrary_bytes() {
    never_panics(
        "arbitrary bytes",
        1024,
        prop::collection::vec(any::<u8>(), 0..600),
        |bytes| bytes,
    );
}

#[test]
fn reader_never_panics_on_damaged_proofs() {
    never_panics(
        "damaged proofs",
        1024,
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(arb_damage(), 1..5),
        ),
        |(which, damage)| {
            let mut bytes = which.get(valid_texts()).clone().into_bytes();
            for d in &damage {
                apply(&mut bytes, d);
            }
            bytes
        },
    );
}

/// A member of a valid proof replaced by a JSON value of any shape: the
/// damage a hand-edited file or a hostile one carries.
#[test]
fn reader_never_panics_on_replaced_members() {
    never_panics(
        "replaced members",
        1024,
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            arb_json(),
        ),
        |(which, member, value)| {
            let mut v: Value = serde_json::from_str(which.get(valid_texts()).as_str()).unwrap();
            let pointers = all_pointers(&v);
            let pointer = member.get(&pointers);
            if pointer.is_empty() {
                v = value;
            } else {
                *v.pointer_mut(pointer).unwrap() = value;
            }
            serde_json::to_string(&v).unwrap().into_bytes()
        },
    );
}

/// The JSON pointer of every value in `v`, `v` itself ("") included.
fn all_pointers(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, format!("{at}/{k}"), out);
                }
            }
            Value::Array(a) => {
                for (k, x) in a.iter().enumerate() {
                    walk(x, format!("{at}/{k}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

/// `to_json` writes the witness-stripped transaction the format requires
/// (§6.1), even when the in-memory proof holds one with its witness (as a
/// freshly signed anchoring transaction does): the file must read back.
#[test]
fn to_json_strips_the_witness() {
    let (_, _, mut proof) = complete(3, 1, 1, 2, 0);
    let tx = &mut proof.anchor.as_mut().unwrap().tx;
    let stripped = tx.clone();
    tx.input[0].witness.push([3u8; 72]);
    let back = Proof::from_json(proof.to_json().as_bytes()).unwrap();
    assert_eq!(back.anchor.unwrap().tx, stripped);
}
