//! The workflow against in-memory fakes of its seams (`test-utils`):
//! property tests over random sequences of steps with crashes in between,
//! and one test per lie a chain backend can tell. Fast (no regtest stack);
//! the integration tests in `anchoring.rs` run the real thing.

use std::collections::HashMap;
use std::path::PathBuf;

use btc_anchor::bitcoin::{Network, Transaction};
use btc_anchor::chain::{header_hash, HeaderError};
use btc_anchor::commitment::commitment_script;
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::proof::{Proof, Stage};
use btc_anchor::rules::ServedHeaderError;
use btc_anchor::verify::{verify, VerifyOptions};
use btc_anchor_workflow::anchoring::{
    Anchoring, AnchoringError, FeeOptions, FileUpgrade, Progress, RecordPaths, StampItem,
    StampOutcome, Step as FlowStep,
};
use btc_anchor_workflow::backend::{ChainBackend, TxStatus};
use btc_anchor_workflow::config::Config;
use btc_anchor_workflow::fake::{FakeChain, FakePayer, Lie};
use btc_anchor_workflow::store::{BatchState, Journal, StoreError};
use proptest::prelude::*;

const RT: Network = Network::Regtest;

/// A data directory, the fakes, and every record accepted so far.
struct World {
    data: tempfile::TempDir,
    docs: tempfile::TempDir,
    chain: FakeChain,
    payer: FakePayer,
    flow: Option<Anchoring>,
    /// Accepted records: digest and proof path.
    accepted: Vec<(RecordDigest, PathBuf)>,
    next_doc: u32,
}

fn config() -> Config {
    let mut c = Config::defaults(RT);
    // One header after the block: the complete proofs carry some.
    c.min_depth = 2;
    c
}

impl World {
    fn new() -> World {
        let data = tempfile::tempdir().unwrap();
        let flow = Anchoring::open(data.path(), config()).unwrap();
        let chain = FakeChain::new();
        chain.mine();
        World {
            data,
            docs: tempfile::tempdir().unwrap(),
            chain,
            payer: FakePayer::new(),
            flow: Some(flow),
            accepted: Vec::new(),
            next_doc: 0,
        }
    }

    fn flow(&mut self) -> &mut Anchoring {
        self.flow.as_mut().unwrap()
    }

    /// Drops the workflow (releasing its lock) and opens the data
    /// directory again, as a crashed and restarted process would.
    fn crash(&mut self) {
        self.flow = None;
        // A child that another test forks holds the lock file's descriptor
        // until it execs: a lock just released may look held for a moment.
        for _ in 0..100 {
            match Anchoring::open(self.data.path(), config()) {
                Ok(flow) => {
                    self.flow = Some(flow);
                    return;
                }
                Err(AnchoringError::Store(StoreError::Locked(_))) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the data directory stays locked");
    }

    fn stamp(&mut self, n: u32) {
        let items: Vec<StampItem> = (0..n)
            .map(|_| {
                self.next_doc += 1;
                let i = self.next_doc;
                StampItem {
                    digest: RecordDigest::of_bytes(format!("document {i}").as_bytes()),
                    label: format!("d{i}"),
                    proof_path: self.docs.path().join(format!("d{i}.anchor.json")),
                }
            })
            .collect();
        self.flow().stamp(&items).unwrap();
        self.accepted
            .extend(items.into_iter().map(|i| (i.digest, i.proof_path)));
    }

    fn anchor(&mut self) -> Result<(), AnchoringError> {
        let (flow, payer, chain) = (self.flow.as_mut().unwrap(), &mut self.payer, &self.chain);
        flow.anchor(payer, chain, &FeeOptions::default(), &mut |_| {})
            .map(|_| ())
    }

    fn bump(&mut self) -> Result<(), AnchoringError> {
        let (flow, payer, chain) = (self.flow.as_mut().unwrap(), &mut self.payer, &self.chain);
        flow.bump(payer, chain, &FeeOptions::default()).map(|_| ())
    }

    fn upgrade(&mut self) -> Result<(), AnchoringError> {
        let (flow, chain) = (self.flow.as_mut().unwrap(), &self.chain);
        flow.upgrade(chain).map(|_| ())
    }

    fn proof(&self, i: usize) -> Proof {
        Proof::from_json(&std::fs::read(&self.accepted[i].1).unwrap()).unwrap()
    }

    fn proof_files(&self) -> HashMap<PathBuf, Vec<u8>> {
        self.accepted
            .iter()
            .map(|(_, p)| (p.clone(), std::fs::read(p).unwrap()))
            .collect()
    }

    /// The transactions of each batch in `states`.
    fn batch_txs(&self, states: &[BatchState]) -> Vec<Vec<Transaction>> {
        let store = self.flow.as_ref().unwrap().store();
        store
            .batches_in(states)
            .unwrap()
            .iter()
            .map(|b| {
                store
                    .batch_txs(b.id)
                    .unwrap()
                    .into_iter()
                    .map(|t| t.tx)
                    .collect()
            })
            .collect()
    }

    fn honestly_confirmed(&self, tx: &Transaction) -> bool {
        self.chain.set_lie(None);
        let s = self.chain.status(tx).unwrap();
        matches!(s, TxStatus::Confirmed(_))
    }

    /// The invariants that hold after every step.
    fn check(&self) {
        let options = VerifyOptions::new(RT);
        let store = self.flow.as_ref().unwrap().store();
        // No accepted record is lost, and every proof written verifies.
        for (i, (digest, path)) in self.accepted.iter().enumerate() {
            let r = store.record_at_proof_path(path).unwrap().expect("a record");
            assert_eq!(r.digest, *digest);
            let proof = self.proof(i);
            assert_eq!(proof.record.digest, *digest);
            verify(&proof, digest, &EmbeddedOnly, &options)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // A complete proof's block was mined by the honest chain.
            if let Some(block) = proof.anchor.as_ref().and_then(|a| a.block.as_ref()) {
                assert!(self.chain.ever_mined(&header_hash(&block.header)));
            }
        }
        // No double anchoring: the transactions of a batch, and every
        // transaction the chain ever took for one root, are replacements
        // of each other (they spend a common coin).
        let spend_common = |txs: &[Transaction]| {
            txs.iter().all(|a| {
                txs.iter().all(|b| {
                    a.input.iter().any(|i| {
                        b.input
                            .iter()
                            .any(|j| i.previous_output == j.previous_output)
                    })
                })
            })
        };
        for txs in self.batch_txs(&[
            BatchState::Batched,
            BatchState::Broadcast,
            BatchState::Confirmed,
            BatchState::Final,
        ]) {
            assert!(
                spend_common(&txs),
                "a batch with two unrelated transactions"
            );
        }
        let mut by_root: HashMap<Vec<u8>, Vec<Transaction>> = HashMap::new();
        for tx in self.chain.accepted() {
            for b in store.batches().unwrap() {
                let script = commitment_script(&b.root.0);
                if tx.output.iter().any(|o| o.script_pubkey == script) {
                    by_root
                        .entry(b.root.0.to_vec())
                        .or_default()
                        .push(tx.clone());
                }
            }
        }
        for txs in by_root.values() {
            assert!(
                spend_common(txs),
                "a root anchored by unrelated transactions"
            );
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Stamp(u32),
    Anchor,
    /// Anchor while the chain refuses broadcasts: the batch is fixed and
    /// its transaction stored, never sent (as if the process died there).
    AnchorRefused,
    Bump,
    Mine(u32),
    Reorg(u32, bool),
    DropMempool,
    Upgrade,
    Crash,
    Lie(Lie),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1u32..4).prop_map(Step::Stamp),
        4 => Just(Step::Anchor),
        1 => Just(Step::AnchorRefused),
        1 => Just(Step::Bump),
        4 => (1u32..3).prop_map(Step::Mine),
        2 => ((1u32..3), any::<bool>()).prop_map(|(d, k)| Step::Reorg(d, k)),
        1 => Just(Step::DropMempool),
        3 => Just(Step::Upgrade),
        2 => Just(Step::Crash),
        2 => prop_oneof![
            Just(Lie::WrongBranch),
            Just(Lie::BadPow),
            Just(Lie::Unlinked),
            Just(Lie::ClaimsConfirmed),
            Just(Lie::HidesTx),
        ]
        .prop_map(Step::Lie),
    ]
}

fn expected(r: Result<(), AnchoringError>, allowed: fn(&AnchoringError) -> bool, what: &str) {
    if let Err(e) = r {
        assert!(allowed(&e), "{what}: unexpected error: {e}");
    }
}

impl World {
    fn run(&mut self, s: &Step) {
        match s {
            Step::Stamp(n) => self.stamp(*n),
            Step::Anchor => {
                let r = self.anchor();
                expected(r, |e| matches!(e, AnchoringError::EmptyQueue), "anchor");
            }
            Step::AnchorRefused => {
                self.chain.set_refuse(true);
                let r = self.anchor();
                self.chain.set_refuse(false);
                let _ = r;
            }
            Step::Bump => {
                // A bump of a transaction that confirmed meanwhile is
                // refused by the chain (its coin is spent).
                let r = self.bump();
                expected(
                    r,
                    |e| {
                        matches!(
                            e,
                            AnchoringError::NothingToBump | AnchoringError::Backend(_)
                        )
                    },
                    "bump",
                );
            }
            Step::Mine(n) => {
                for _ in 0..*n {
                    self.chain.mine();
                }
            }
            Step::Reorg(depth, keep) => self.chain.reorg(*depth, *keep),
            Step::DropMempool => self.chain.drop_mempool(),
            Step::Upgrade => {
                let r = self.upgrade();
                expected(r, |_| false, "upgrade");
            }
            Step::Crash => self.crash(),
            Step::Lie(lie) => self.lie(*lie),
        }
    }

    /// An upgrade against a chain telling `lie`: it writes no proof built
    /// on the lie, and fails when the lie touches a batch it follows.
    fn lie(&mut self, lie: Lie) {
        let followed = self.batch_txs(&[BatchState::Broadcast, BatchState::Confirmed]);
        let confirmed_batch = !self.batch_txs(&[BatchState::Confirmed]).is_empty();
        let any_confirmed = followed
            .iter()
            .any(|txs| txs.iter().any(|t| self.honestly_confirmed(t)));
        let newest_unconfirmed = followed
            .iter()
            .any(|txs| txs.last().is_some_and(|t| !self.honestly_confirmed(t)));
        let before = self.proof_files();
        self.chain.set_lie(Some(lie));
        let r = self.upgrade();
        self.chain.set_lie(None);
        let must_fail = match lie {
            Lie::WrongBranch => any_confirmed,
            Lie::BadPow => any_confirmed || confirmed_batch,
            Lie::ClaimsConfirmed => newest_unconfirmed,
            _ => false,
        };
        if must_fail {
            assert!(r.is_err(), "{lie:?} not caught");
        }
        if let Err(e) = &r {
            assert!(
                matches!(
                    e,
                    AnchoringError::BadHeader { .. }
                        | AnchoringError::BadInclusion { .. }
                        | AnchoringError::ShortChain { .. }
                ),
                "{lie:?}: {e}"
            );
        }
        // Whatever it wrote is honest: each new complete proof's header is
        // the honest chain's at its height.
        for (i, (_, path)) in self.accepted.iter().enumerate() {
            if before.get(path) != Some(&std::fs::read(path).unwrap()) {
                let proof = self.proof(i);
                if let Some(b) = proof.anchor.as_ref().and_then(|a| a.block.as_ref()) {
                    assert_eq!(
                        self.chain.honest_header(b.height),
                        Some(b.header),
                        "{lie:?}"
                    );
                }
            }
        }
    }

    /// Honest rounds until everything is complete.
    fn settle(&mut self) {
        for _ in 0..3 {
            expected(
                self.anchor(),
                |e| matches!(e, AnchoringError::EmptyQueue),
                "anchor",
            );
            for _ in 0..3 {
                self.chain.mine();
            }
            expected(self.upgrade(), |_| false, "upgrade");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_runs_with_crashes_keep_the_invariants(steps in prop::collection::vec(step(), 1..32)) {
        let mut w = World::new();
        for s in &steps {
            w.run(s);
            w.check();
        }
        // In the end, with an honest chain, every record gets a complete
        // proof.
        w.settle();
        w.check();
        for i in 0..w.accepted.len() {
            prop_assert_eq!(w.proof(i).stage(), Stage::Confirmed);
        }
    }
}

/// A world with one batch of two anchored, its transaction in the mempool.
fn anchored() -> World {
    let mut w = World::new();
    w.stamp(2);
    w.anchor().unwrap();
    // Anchoring rewrites no proof file: they stay as stamped until
    // upgrade completes them.
    assert_eq!(w.proof(0).stage(), Stage::Queued);
    w
}

fn assert_nothing_written(w: &World) {
    for i in 0..w.accepted.len() {
        assert_eq!(w.proof(i).stage(), Stage::Queued);
    }
}

#[test]
fn a_wrong_merkle_branch_is_caught() {
    let mut w = anchored();
    w.chain.mine();
    w.chain.mine();
    w.chain.set_lie(Some(Lie::WrongBranch));
    let e = w.upgrade().unwrap_err();
    assert!(
        matches!(e, AnchoringError::BadInclusion { height: 2, .. }),
        "{e}"
    );
    assert_nothing_written(&w);
    w.chain.set_lie(None);
    w.upgrade().unwrap();
    assert_eq!(w.proof(0).stage(), Stage::Confirmed);
    w.check();
}

#[test]
fn a_header_failing_its_proof_of_work_is_caught() {
    let mut w = anchored();
    w.chain.mine();
    w.chain.mine();
    w.chain.set_lie(Some(Lie::BadPow));
    let e = w.upgrade().unwrap_err();
    assert!(
        matches!(
            e,
            AnchoringError::BadHeader {
                height: 2,
                source: ServedHeaderError::Work(HeaderError::BadProofOfWork { height: 2 }),
            }
        ),
        "{e}"
    );
    assert_nothing_written(&w);
}

#[test]
fn an_unlinked_header_is_caught() {
    let mut w = anchored();
    w.chain.mine();
    w.chain.mine();
    w.chain.set_lie(Some(Lie::Unlinked));
    let e = w.upgrade().unwrap_err();
    assert!(
        matches!(
            e,
            AnchoringError::BadHeader {
                height: 3,
                source: ServedHeaderError::Work(HeaderError::NotLinked { height: 3 }),
            }
        ),
        "{e}"
    );
    assert_nothing_written(&w);
}

#[test]
fn a_false_confirmation_is_caught() {
    let mut w = anchored();
    w.chain.set_lie(Some(Lie::ClaimsConfirmed));
    let e = w.upgrade().unwrap_err();
    assert!(matches!(e, AnchoringError::BadInclusion { .. }), "{e}");
    assert_nothing_written(&w);
}

#[test]
fn a_broadcast_the_chain_does_not_show_fails_and_is_resumed() {
    let mut w = World::new();
    w.stamp(2);
    w.chain.set_lie(Some(Lie::HidesTx));
    let e = w.anchor().unwrap_err();
    assert!(matches!(e, AnchoringError::NotRelayed { .. }), "{e}");
    assert_eq!(w.proof(0).stage(), Stage::Queued);
    w.chain.set_lie(None);
    w.crash();
    // The same transaction, never a second one.
    w.anchor().unwrap();
    assert_eq!(w.batch_txs(&[BatchState::Broadcast])[0].len(), 1);
    w.check();
}

#[test]
fn a_lying_chain_cannot_make_a_bad_seal() {
    let mut w = anchored();
    w.chain.mine();
    w.chain.mine();
    w.upgrade().unwrap();
    // Close the first difficulty epoch.
    while w.chain.height() < 2015 {
        w.chain.mine();
    }
    let before = w.proof_files();
    w.chain.set_lie(Some(Lie::Unlinked));
    let (flow, chain) = (w.flow.as_mut().unwrap(), &w.chain);
    assert!(flow.seal_final(chain).is_err());
    assert_eq!(before, w.proof_files());
    w.chain.set_lie(None);
    let (flow, chain) = (w.flow.as_mut().unwrap(), &w.chain);
    flow.seal_final(chain).unwrap();
    assert!(btc_anchor::seal::is_sealed(&w.proof(0)));
    w.check();
}

/// `target` as a path relative to the working directory (through `..` up
/// to the root), as a user who stamps from another folder gives it.
fn relative_to_cwd(target: &std::path::Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let mut rel = PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.join(target.strip_prefix("/").unwrap())
}

#[test]
fn proof_paths_are_stored_absolute_and_old_relative_ones_migrated() {
    let mut w = World::new();
    let docs = std::fs::canonicalize(w.docs.path()).unwrap();
    std::fs::create_dir(docs.join("sub")).unwrap();
    // Relative, through a `..`: stored absolute and canonical.
    let given = relative_to_cwd(&docs.join("sub/../a.anchor.json"));
    let item = StampItem {
        digest: RecordDigest::of_bytes(b"a"),
        label: "a".into(),
        proof_path: given.clone(),
    };
    w.flow().stamp(std::slice::from_ref(&item)).unwrap();
    let stored = w.flow().store().queued_records().unwrap();
    assert_eq!(stored[0].proof_path, docs.join("a.anchor.json"));
    // The same file named another way is the same record.
    let again = StampItem {
        proof_path: docs.join("a.anchor.json"),
        ..item.clone()
    };
    assert_eq!(w.flow().stamp(&[again]).unwrap().already, 1);

    // A record an earlier version stored under a relative path is found
    // when stamped again the same way, and its path made absolute.
    let old = relative_to_cwd(&docs.join("b.anchor.json"));
    let digest = RecordDigest::of_bytes(b"b");
    w.flow = None;
    {
        let mut store = btc_anchor_workflow::store::Store::open(w.data.path()).unwrap();
        let salt = btc_anchor::merkle::Salt::from_bytes(&[2; 16]).unwrap();
        store
            .add_records(&[(digest, salt, "b".into(), old.clone())])
            .unwrap();
    }
    w.crash();
    let b = StampItem {
        digest,
        label: "b".into(),
        proof_path: old,
    };
    assert_eq!(w.flow().stamp(&[b]).unwrap().already, 1);
    let paths: Vec<PathBuf> = w
        .flow()
        .store()
        .queued_records()
        .unwrap()
        .into_iter()
        .map(|r| r.proof_path)
        .collect();
    assert!(paths.contains(&docs.join("b.anchor.json")), "{paths:?}");
    assert!(paths.iter().all(|p| p.is_absolute()), "{paths:?}");
}

#[test]
fn a_missing_proof_is_written_again_when_stamped_again() {
    let mut w = World::new();
    w.stamp(4);
    let restamp = |w: &mut World, which: &[usize]| {
        let items: Vec<StampItem> = which
            .iter()
            .map(|&i| {
                let (digest, proof_path) = w.accepted[i].clone();
                std::fs::remove_file(&proof_path).unwrap();
                StampItem {
                    digest,
                    label: "again".into(),
                    proof_path,
                }
            })
            .collect();
        w.flow().stamp(&items).unwrap()
    };
    // Queued.
    let s = restamp(&mut w, &[0]);
    assert_eq!((s.queued, s.already, s.rewritten), (0, 1, 1));
    assert_eq!(w.proof(0).stage(), Stage::Queued);
    w.check();
    // Broadcast, two of one batch at once: the proofs carry the batch and
    // its transaction again.
    w.anchor().unwrap();
    let s = restamp(&mut w, &[1, 2]);
    assert_eq!((s.already, s.rewritten), (2, 2));
    assert_eq!(w.proof(1).stage(), Stage::Broadcast);
    assert_eq!(w.proof(2).stage(), Stage::Broadcast);
    w.check();
    // Complete: the store keeps the batch's block, and the complete proof
    // is written again byte for byte.
    w.chain.mine();
    w.chain.mine();
    w.upgrade().unwrap();
    assert_eq!(w.proof(3).stage(), Stage::Confirmed);
    let before = std::fs::read(&w.accepted[3].1).unwrap();
    let s = restamp(&mut w, &[3]);
    assert_eq!((s.already, s.rewritten), (1, 1));
    assert!(s.missing_complete.is_empty());
    assert_eq!(std::fs::read(&w.accepted[3].1).unwrap(), before);
    w.check();
}

/// A new version of a document stamped at the same proof path is queued,
/// and the older version's proof moves aside under its digest; both stay
/// valid through anchoring and upgrading, and an interrupted move is
/// finished by the next stamp.
#[test]
fn a_new_version_is_stamped_and_the_older_proof_kept() {
    let mut w = World::new();
    w.stamp(1);
    let (v1, path) = w.accepted[0].clone();
    let v1_proof = std::fs::read(&path).unwrap();
    let v2 = RecordDigest::of_bytes(b"document 1, amended");
    let item = |digest| StampItem {
        digest,
        label: "d1".into(),
        proof_path: path.clone(),
    };
    let s = w.flow().stamp(&[item(v2)]).unwrap();
    let older = btc_anchor::file::older_version_proof_path(&path, &v1);
    assert_eq!(
        s.outcomes,
        vec![StampOutcome::Amended {
            older: older.clone()
        }]
    );
    assert_eq!((s.queued, s.amended, s.refused), (1, 1, 0));
    assert_eq!(std::fs::read(&older).unwrap(), v1_proof);
    assert_eq!(
        Proof::from_json(&std::fs::read(&path).unwrap())
            .unwrap()
            .record
            .digest,
        v2
    );
    w.accepted[0] = (v1, older.clone());
    w.accepted.push((v2, path.clone()));
    // Both move on together: the older record's proof is written where it
    // now is.
    w.anchor().unwrap();
    w.chain.mine();
    w.chain.mine();
    w.upgrade().unwrap();
    w.check();
    assert_eq!(w.proof(0).stage(), Stage::Confirmed);
    assert_eq!(w.proof(1).stage(), Stage::Confirmed);

    // A third version, with the move interrupted after the file moved and
    // before the store followed: the next stamp finishes it.
    let v3 = RecordDigest::of_bytes(b"document 1, amended twice");
    let v2_older = btc_anchor::file::older_version_proof_path(&path, &v2);
    std::fs::rename(&path, &v2_older).unwrap();
    w.crash();
    let s = w.flow().stamp(&[item(v3)]).unwrap();
    assert!(
        matches!(&s.outcomes[..], [StampOutcome::Amended { older }] if *older == v2_older),
        "{s:?}"
    );
    w.accepted[1] = (v2, v2_older);
    w.accepted.push((v3, path.clone()));
    w.check();

    // A file at the proof path that is not the stored record's proof is
    // never moved: the new version is refused, the file kept.
    std::fs::write(&path, b"someone else's proof").unwrap();
    let s = w
        .flow()
        .stamp(&[item(RecordDigest::of_bytes(b"v4"))])
        .unwrap();
    assert_eq!(s.outcomes, vec![StampOutcome::ProofExists]);
    assert_eq!(std::fs::read(&path).unwrap(), b"someone else's proof");
}

/// Records stamped without paths: the store keeps no label and no proof
/// path, `upgrade` writes none of their files, and `upgrade_files` finds
/// and completes them by content.
#[test]
fn records_without_paths_are_completed_through_their_files() {
    let mut w = World::new();
    let item = |w: &World, i: u32| StampItem {
        digest: RecordDigest::of_bytes(format!("private {i}").as_bytes()),
        label: format!("Patient Name {i}.pdf"),
        proof_path: w.docs.path().join(format!("p{i}.anchor.json")),
    };
    let items: Vec<StampItem> = (0..3).map(|i| item(&w, i)).collect();
    w.flow().set_record_paths(RecordPaths::Withheld);
    let s = w.flow().stamp(&items).unwrap();
    assert_eq!((s.queued, s.already), (3, 0));
    // One record with its paths, beside them.
    w.flow().set_record_paths(RecordPaths::Stored);
    w.stamp(1);
    let records = w.flow.as_ref().unwrap().store().all_records().unwrap();
    assert_eq!(records.len(), 4);
    for r in &records[..3] {
        assert!(!r.has_proof_path());
        assert_eq!(
            (r.label.as_str(), r.proof_path.as_os_str()),
            ("", "".as_ref())
        );
    }
    assert!(records[3].has_proof_path());
    let read = |p: &PathBuf| Proof::from_json(&std::fs::read(p).unwrap()).unwrap();
    for i in &items {
        assert_eq!(read(&i.proof_path).stage(), Stage::Queued);
    }

    // Stamped again: recognised by the files' content; a lost file is
    // written again, an amended document gets a new record.
    w.flow().set_record_paths(RecordPaths::Withheld);
    std::fs::remove_file(&items[1].proof_path).unwrap();
    let mut again = items.clone();
    again[2].digest = RecordDigest::of_bytes(b"private 2, amended");
    let s = w.flow().stamp(&again).unwrap();
    assert_eq!(s.outcomes[0], StampOutcome::Already);
    assert_eq!(s.outcomes[1], StampOutcome::Rewritten);
    assert!(
        matches!(s.outcomes[2], StampOutcome::Amended { .. }),
        "{:?}",
        s.outcomes[2]
    );
    assert_eq!((s.queued, s.already, s.rewritten), (1, 2, 1));
    let StampOutcome::Amended { older } = &s.outcomes[2] else {
        unreachable!()
    };
    assert_eq!(read(older).record.digest, items[2].digest);

    w.anchor().unwrap();
    w.chain.mine();
    w.chain.mine();
    let (flow, chain) = (w.flow.as_mut().unwrap(), &w.chain);
    let ups = flow.upgrade(chain).unwrap();
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].state, BatchState::Final);
    assert_eq!((ups[0].proofs_written, ups[0].without_path), (1, 4));
    assert_eq!(read(&items[0].proof_path).stage(), Stage::Queued);
    assert_eq!(w.proof(0).stage(), Stage::Confirmed);

    // By file: each completed in place, and verified.
    let foreign = w.docs.path().join("foreign.anchor.json");
    let stranger = Proof {
        network: RT,
        record: btc_anchor::proof::Record {
            digest: RecordDigest::of_bytes(b"elsewhere"),
            salt: btc_anchor::merkle::Salt::random().unwrap(),
        },
        batch: None,
        anchor: None,
    };
    std::fs::write(&foreign, stranger.to_json()).unwrap();
    let garbage = w.docs.path().join("garbage.anchor.json");
    std::fs::write(&garbage, b"not a proof").unwrap();
    let older = older.clone();
    let mut files: Vec<PathBuf> = items.iter().map(|i| i.proof_path.clone()).collect();
    files.extend([older.clone(), foreign.clone(), garbage]);
    let flow = w.flow.as_ref().unwrap();
    let out = flow.upgrade_files(&files).unwrap();
    for o in &out[..4] {
        assert!(matches!(o, FileUpgrade::Completed { height: 2 }), "{o:?}");
    }
    assert_eq!(out[4], FileUpgrade::Unknown);
    assert_eq!(out[5], FileUpgrade::NotAProof);
    let digests = [
        again[0].digest,
        again[1].digest,
        again[2].digest,
        items[2].digest,
    ];
    for (path, digest) in files[..4].iter().zip(digests) {
        let p = read(path);
        assert_eq!(p.stage(), Stage::Confirmed);
        assert_eq!(p.record.digest, digest);
        verify(&p, &digest, &EmbeddedOnly, &VerifyOptions::new(RT)).unwrap();
    }
    assert_eq!(read(&foreign), stranger);
    // Again: complete already.
    let out = flow.upgrade_files(&files[..4]).unwrap();
    assert!(
        out.iter().all(|o| *o == FileUpgrade::AlreadyComplete),
        "{out:?}"
    );
}

/// What a [`Progress`] heard: each step with its total, the records
/// counted, and whether it ended.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<(FlowStep, u64, u64, bool)>>);

impl Progress for Heard {
    fn begin(&self, step: FlowStep, total: u64) {
        self.0.lock().unwrap().push((step, total, 0, false));
    }
    fn advance(&self, n: u64) {
        let mut steps = self.0.lock().unwrap();
        let last = steps.last_mut().expect("advance after begin");
        assert!(!last.3, "advance after end");
        last.2 += n;
    }
    fn end(&self) {
        let mut steps = self.0.lock().unwrap();
        let last = steps.last_mut().expect("end after begin");
        assert!(!last.3, "ended twice");
        last.3 = true;
    }
}

impl Heard {
    fn take(&self) -> Vec<(FlowStep, u64, u64, bool)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Stamping, anchoring and upgrading report their records to the
/// progress sink, each step counted up to its total and ended.
#[test]
fn progress_counts_reach_the_totals() {
    let mut w = World::new();
    let heard = std::sync::Arc::new(Heard::default());
    w.flow().set_progress(heard.clone());
    w.stamp(5);
    assert_eq!(
        heard.take(),
        [
            (FlowStep::Stamp, 5, 5, true),
            (FlowStep::WriteProofs, 5, 5, true)
        ]
    );
    // Stamped again: looked up, nothing written.
    let again: Vec<StampItem> = (1..=5)
        .map(|i| StampItem {
            digest: RecordDigest::of_bytes(format!("document {i}").as_bytes()),
            label: format!("d{i}"),
            proof_path: w.docs.path().join(format!("d{i}.anchor.json")),
        })
        .collect();
    assert_eq!(w.flow().stamp(&again).unwrap().already, 5);
    assert_eq!(
        heard.take(),
        [
            (FlowStep::Stamp, 5, 5, true),
            (FlowStep::WriteProofs, 0, 0, true)
        ]
    );
    w.anchor().unwrap();
    assert_eq!(heard.take(), [(FlowStep::Anchor, 5, 5, true)]);
    w.chain.mine();
    w.chain.mine();
    w.upgrade().unwrap();
    assert_eq!(heard.take(), [(FlowStep::WriteProofs, 5, 5, true)]);
    let files: Vec<PathBuf> = w.accepted.iter().map(|(_, p)| p.clone()).collect();
    // Proof files looked at, one by one.
    let out = w.flow.as_ref().unwrap().upgrade_files(&files).unwrap();
    assert!(out.iter().all(|o| *o == FileUpgrade::AlreadyComplete));
    assert_eq!(heard.take(), [(FlowStep::ProofFiles, 5, 5, true)]);
}
