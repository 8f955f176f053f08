//! The PostgreSQL journal and wallet changesets (feature `postgres`)
//! against a real throwaway cluster: the whole workflow over the journal
//! with a crash between every step, the same answers as the SQLite store,
//! the anchorer's lock and its fencing, and a wallet whose changes
//! survive a reopening.

use std::path::PathBuf;

use btc_anchor::bitcoin::Network;
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::merkle::{NodeHash, Salt};
use btc_anchor::proof::{Proof, Stage};
use btc_anchor::verify::{verify, VerifyOptions};
use btc_anchor_testenv::postgres::{PgCluster, PgError};
use btc_anchor_workflow::anchoring::{Anchoring, FeeOptions, StampItem};
use btc_anchor_workflow::config::Config;
use btc_anchor_workflow::fake::{FakeChain, FakePayer};
use btc_anchor_workflow::postgres::{PgChangesets, PgJournal, PgSession};
use btc_anchor_workflow::store::{BatchState, DataLock, Journal, Store, StoreError};
use btc_anchor_workflow::wallet::{AnchorWallet, KeySource, WalletDb};

const RT: Network = Network::Regtest;

fn cluster() -> Option<PgCluster> {
    match PgCluster::start() {
        Ok(c) => Some(c),
        Err(PgError::NotInstalled) => {
            btc_anchor_testenv::skip("PostgreSQL is not installed");
            None
        }
        Err(e) => panic!("cannot start PostgreSQL: {e}"),
    }
}

fn config() -> Config {
    let mut c = Config::defaults(RT);
    c.min_depth = 2;
    c
}

fn open(data: &std::path::Path, url: &str) -> Anchoring {
    let session = PgSession::connect(url).unwrap();
    assert!(session.try_lead().unwrap());
    Anchoring::with_journal(
        data,
        DataLock::acquire(data).unwrap(),
        Box::new(PgJournal::new(session)),
        config(),
    )
    .unwrap()
}

#[test]
fn the_workflow_runs_over_postgres_through_crashes() {
    let Some(pg) = cluster() else { return };
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let chain = FakeChain::new();
    chain.mine();
    let mut payer = FakePayer::new();
    let items: Vec<StampItem> = (0..7)
        .map(|i| StampItem {
            digest: RecordDigest::of_bytes(format!("document {i}").as_bytes()),
            label: format!("d{i}"),
            proof_path: docs.path().join(format!("d{i}.anchor.json")),
        })
        .collect();

    let mut flow = open(data.path(), &pg.url());
    flow.stamp(&items).unwrap();
    assert_eq!(flow.store().queue_summary().unwrap().0, 7);
    // A crash (the session and the lock go with it), then the next
    // anchorer anchors what the first queued.
    drop(flow);
    let mut flow = open(data.path(), &pg.url());
    flow.anchor(&mut payer, &chain, &FeeOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(chain.accepted().len(), 1, "one transaction for the batch");
    drop(flow);
    // Anchoring again after a crash makes no second transaction.
    let mut flow = open(data.path(), &pg.url());
    assert!(flow
        .anchor(&mut payer, &chain, &FeeOptions::default(), &mut |_| {})
        .is_err());
    assert_eq!(chain.accepted().len(), 1);
    chain.mine();
    chain.mine();
    drop(flow);
    let mut flow = open(data.path(), &pg.url());
    let up = flow.upgrade(&chain).unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].state, BatchState::Final);
    assert_eq!(up[0].proofs_written, 7);
    for item in &items {
        let proof = Proof::from_json(&std::fs::read(&item.proof_path).unwrap()).unwrap();
        assert_eq!(proof.stage(), Stage::Confirmed);
        verify(&proof, &item.digest, &EmbeddedOnly, &VerifyOptions::new(RT)).unwrap();
        let block = proof
            .anchor
            .as_ref()
            .and_then(|a| a.block.as_ref())
            .unwrap();
        assert!(chain.ever_mined(&btc_anchor::chain::header_hash(&block.header)));
    }
    // The journal kept the block part: every proof can be rebuilt.
    let batch = flow.store().batches().unwrap().pop().unwrap();
    assert!(flow.store().batch_block(batch.id).unwrap().is_some());
    assert_eq!(flow.store().batch_records(batch.id).unwrap().len(), 7);
}

#[test]
fn one_anchorer_at_a_time_and_a_lost_session_writes_nothing() {
    let Some(pg) = cluster() else { return };
    let first = PgSession::connect(&pg.url()).unwrap();
    let second = PgSession::connect(&pg.url()).unwrap();
    assert!(first.try_lead().unwrap());
    assert!(first.leads().unwrap());
    assert!(!second.try_lead().unwrap(), "the lock is held");
    assert!(!second.leads().unwrap());
    // The first anchorer's session ends (its process died): the standby
    // takes over.
    let mut journal = PgJournal::new(first.clone());
    // Dropping a clone keeps the session: end it from the server side,
    // as a dead process's connection ends.
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    let mut took = false;
    for _ in 0..50 {
        if second.try_lead().unwrap() {
            took = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(took, "the standby takes the lock once the session is gone");
    // The old anchorer's writes fail: its session is gone.
    let salt = Salt::random().unwrap();
    let err = journal
        .add_records(&[(
            RecordDigest::of_bytes(b"late"),
            salt,
            "late".into(),
            PathBuf::from("/late.anchor.json"),
        )])
        .unwrap_err();
    assert!(matches!(err, StoreError::Postgres(_)), "{err:?}");
    let queued = PgJournal::new(second).queue_summary().unwrap();
    assert_eq!(queued.0, 0, "nothing written by the old anchorer");
}

#[test]
fn postgres_and_sqlite_journals_answer_alike() {
    let Some(pg) = cluster() else { return };
    let mut pgj = PgJournal::new(PgSession::connect(&pg.url()).unwrap());
    let mut sql = Store::in_memory().unwrap();
    let journals: [&mut dyn Journal; 2] = [&mut pgj, &mut sql];
    let mut answers = Vec::new();
    let salts: Vec<Salt> = (0..4).map(|_| Salt::random().unwrap()).collect();
    for j in journals {
        let mut a = Vec::new();
        assert_eq!(j.network().unwrap(), None);
        j.record_network(RT).unwrap();
        j.record_network(Network::Bitcoin).unwrap();
        assert_eq!(j.network().unwrap(), Some(RT), "the first network is kept");
        let rows: Vec<_> = (0..4)
            .map(|i| {
                (
                    RecordDigest::of_bytes(&[i as u8]),
                    salts[i].clone(),
                    format!("r{i}"),
                    PathBuf::from(format!("/docs/r{i}.anchor.json")),
                )
            })
            .collect();
        let ids = j.add_records(&rows).unwrap();
        assert_eq!(ids.len(), 4);
        let mut rel = ids.clone();
        rel.iter_mut().for_each(|id| *id -= ids[0]);
        a.push(format!("{rel:?}"));
        a.push(format!("{:?}", j.queue_summary().unwrap().0));
        let root = NodeHash([7; 32]);
        let batch = j.create_batch(&root, &[ids[2], ids[0]]).unwrap();
        // A record already batched cannot be batched again, and the
        // failed batch leaves nothing behind.
        assert!(matches!(
            j.create_batch(&root, &[ids[1], ids[0]]),
            Err(StoreError::Damaged { .. })
        ));
        assert_eq!(j.batches().unwrap().len(), 1);
        assert!(j.record(ids[1]).unwrap().unwrap().batch.is_none());
        let order: Vec<String> = j
            .batch_records(batch)
            .unwrap()
            .iter()
            .map(|r| r.label.clone())
            .collect();
        a.push(format!("{order:?}"));
        a.push(format!("{:?}", j.queued_records().unwrap().len()));
        let tx = btc_anchor::bitcoin::Transaction {
            version: btc_anchor::bitcoin::transaction::Version::TWO,
            lock_time: btc_anchor::bitcoin::absolute::LockTime::ZERO,
            input: vec![],
            output: vec![],
        };
        let txid = j.add_tx(batch, &tx, 153, 1.0).unwrap();
        assert_eq!(j.batch(batch).unwrap().unwrap().state, BatchState::Batched);
        j.mark_broadcast(&txid).unwrap();
        assert_eq!(
            j.batch(batch).unwrap().unwrap().state,
            BatchState::Broadcast
        );
        let txs = j.batch_txs(batch).unwrap();
        a.push(format!("{} {} {}", txs.len(), txs[0].fee_sat, txs[0].txid));
        assert!(txs[0].broadcast_at.is_some());
        let c = btc_anchor_workflow::store::Confirmation {
            txid,
            height: 5,
            block_hash: btc_anchor::bitcoin::hashes::Hash::from_byte_array([9; 32]),
            confirmations: 1,
        };
        j.set_confirmation(batch, &c, BatchState::Confirmed)
            .unwrap();
        let b = j.batch(batch).unwrap().unwrap();
        a.push(format!("{:?} {:?}", b.state, b.confirmation));
        assert!(!j.is_sealed(&b).unwrap());
        j.mark_sealed(batch, &c.block_hash).unwrap();
        assert!(j.is_sealed(&b).unwrap());
        j.set_batch_block(batch, "{\"first\":1}").unwrap();
        j.set_batch_block(batch, "{\"second\":2}").unwrap();
        a.push(format!("{:?}", j.batch_block(batch).unwrap()));
        j.unconfirm(batch).unwrap();
        let b = j.batch(batch).unwrap().unwrap();
        a.push(format!("{:?} {:?}", b.state, b.confirmation));
        assert!(!j.is_sealed(&b).unwrap(), "a seal on a block left behind");
        a.push(format!(
            "{:?}",
            j.batches_in(&[BatchState::Broadcast, BatchState::Final])
                .unwrap()
                .len()
        ));
        let found = j
            .record_at_proof_path(&PathBuf::from("/docs/r3.anchor.json"))
            .unwrap()
            .unwrap();
        j.set_proof_path(found.id, &PathBuf::from("/moved/r3.anchor.json"))
            .unwrap();
        a.push(format!(
            "{:?}",
            j.record(found.id).unwrap().unwrap().proof_path
        ));
        a.push(format!(
            "{:?}",
            j.records_with_digest(&RecordDigest::of_bytes(&[1]))
                .unwrap()
                .iter()
                .map(|r| (r.label.clone(), r.salt.clone()))
                .collect::<Vec<_>>()
        ));
        // Records stored without paths: as many as there are.
        let bare: Vec<_> = (0..2)
            .map(|i| {
                (
                    RecordDigest::of_bytes(&[9, i]),
                    salts[i as usize].clone(),
                    String::new(),
                    PathBuf::new(),
                )
            })
            .collect();
        assert_eq!(j.add_records(&bare).unwrap().len(), 2);
        assert!(j.record_at_proof_path(&PathBuf::new()).unwrap().is_none());
        a.push(format!("{}", j.all_records().unwrap().len()));
        answers.push(a);
    }
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn a_wallet_keeps_its_changes_in_postgres() {
    let Some(pg) = cluster() else { return };
    let data = tempfile::tempdir().unwrap();
    drop(AnchorWallet::create(data.path(), RT, KeySource::Generate).unwrap());
    let db = |name: &str| {
        WalletDb::Postgres(PgChangesets::new(
            PgSession::connect(&pg.url()).unwrap(),
            name,
        ))
    };
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let mut rows = |name: &str| -> i64 {
        admin
            .query_one(
                "SELECT COUNT(*) FROM wallet_changesets WHERE wallet = $1",
                &[&name],
            )
            .unwrap()
            .get(0)
    };
    let mut w = AnchorWallet::open_with(data.path(), RT, db("calendar")).unwrap();
    let first = w.address().unwrap();
    drop(w);
    let kept = rows("calendar");
    assert!(
        kept >= 1,
        "the new wallet's descriptors and address are kept"
    );
    // Reopened from the database: loaded, not made again (no new rows),
    // and the same address is handed out while unused.
    let mut w = AnchorWallet::open_with(data.path(), RT, db("calendar")).unwrap();
    assert_eq!(w.address().unwrap(), first);
    drop(w);
    assert_eq!(rows("calendar"), kept);
    // Other keys against the same wallet's changes are refused (the
    // descriptors do not match), and nothing is written.
    let stranger = tempfile::tempdir().unwrap();
    drop(AnchorWallet::create(stranger.path(), RT, KeySource::Generate).unwrap());
    assert!(AnchorWallet::open_with(stranger.path(), RT, db("calendar")).is_err());
    assert_eq!(rows("calendar"), kept);
    // Another wallet name in the same database starts empty.
    assert_eq!(rows("other"), 0);
    drop(AnchorWallet::open_with(stranger.path(), RT, db("other")).unwrap());
    assert!(rows("other") >= 1);
    // A wallet for another network is refused.
    assert!(AnchorWallet::open_with(data.path(), Network::Bitcoin, db("calendar")).is_err());
}
