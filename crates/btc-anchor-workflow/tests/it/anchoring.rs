//! The anchoring workflow against a real regtest node and Electrum server
//! (bcoin + ElectrumX, started by `btc_anchor_testenv::regtest::TestEnv`):
//! each test gets its own stack, data directory and ports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::{Checkpoint, Checkpoints};
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::proof::{Proof, Stage};
use btc_anchor::seal::{is_sealed, seal, SealError, Sealed};
use btc_anchor::verify::{verify, ChainCheck, Evidence, Verdict, VerifyError, VerifyOptions};
use btc_anchor_electrum::{ConnectOptions, Electrum};
use btc_anchor_testenv::regtest::{ProxyMode, TestEnv, DEFAULT_TIMEOUT};
use btc_anchor_workflow::anchoring::{
    AnchorStep, Anchoring, AnchoringError, BatchSeal, FeeOptions, Progress, StampItem, Step,
};
use btc_anchor_workflow::config::Config;
use btc_anchor_workflow::store::BatchState;
use btc_anchor_workflow::wallet::{AnchorWallet, KeySource, WalletError};

const RT: Network = Network::Regtest;

struct Env {
    stack: TestEnv,
    data: tempfile::TempDir,
    docs: tempfile::TempDir,
    wallet: AnchorWallet,
}

fn connect(stack: &TestEnv) -> Electrum {
    Electrum::connect(
        &stack.electrum_url(),
        RT,
        ConnectOptions {
            allow_insecure: false,
            timeout: Duration::from_secs(5),
        },
    )
    .unwrap()
}

fn config(min_depth: u32) -> Config {
    let mut c = Config::defaults(RT);
    c.min_depth = min_depth;
    c
}

/// A stack, a data directory with a funded wallet (segwit active).
fn funded() -> Env {
    let stack = TestEnv::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut wallet, _) = AnchorWallet::create(data.path(), RT, KeySource::Generate).unwrap();
    let address = wallet.address().unwrap().to_string();
    stack
        .fund(
            &btc_anchor_testenv::regtest::parse_address(&address).unwrap(),
            btc_anchor::bitcoin::Amount::ONE_BTC,
        )
        .unwrap();
    // A few blocks past segwit activation, so reorgs stay above it.
    stack.mine_blocks(3, None).unwrap();
    Env {
        stack,
        data,
        docs: tempfile::tempdir().unwrap(),
        wallet,
    }
}

fn items(dir: &Path, n: usize, tag: &str) -> Vec<(Vec<u8>, StampItem)> {
    (0..n)
        .map(|i| {
            let body = format!("{tag} record {i}\n").into_bytes();
            let proof_path = dir.join(format!("{tag}-{i}.txt.anchor.json"));
            let item = StampItem {
                digest: RecordDigest::of_bytes(&body),
                label: format!("{tag}-{i}.txt"),
                proof_path,
            };
            (body, item)
        })
        .collect()
}

/// Opens the workflow with `min_depth` and stamps `n` documents tagged `tag`.
fn stamped(
    env: &Env,
    min_depth: u32,
    n: usize,
    tag: &str,
) -> (Anchoring, Vec<(Vec<u8>, StampItem)>) {
    let mut flow = Anchoring::open(env.data.path(), config(min_depth)).unwrap();
    let d = items(env.docs.path(), n, tag);
    flow.stamp(&d.iter().map(|d| d.1.clone()).collect::<Vec<_>>())
        .unwrap();
    (flow, d)
}

/// Anchors what is queued at the default fee and waits for the mempool.
fn anchor_now(
    env: &mut Env,
    flow: &mut Anchoring,
    server: &Electrum,
) -> Vec<btc_anchor_workflow::anchoring::Anchored> {
    let a = flow
        .anchor(
            &mut env.wallet.payer(server),
            server,
            &FeeOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    env.stack
        .wait_until_electrum_sees_txid(a[0].txid, DEFAULT_TIMEOUT)
        .unwrap();
    a
}

fn read_proof(p: &PathBuf) -> Proof {
    Proof::from_json(&std::fs::read(p).unwrap()).unwrap()
}

fn check_all_valid(server: &Electrum, docs: &[(Vec<u8>, StampItem)]) {
    for (body, item) in docs {
        let proof = read_proof(&item.proof_path);
        let digest = RecordDigest::of_bytes(body);
        let offline = verify(&proof, &digest, &EmbeddedOnly, &VerifyOptions::new(RT))
            .unwrap_or_else(|e| panic!("{}: {e}", item.label));
        assert_eq!(offline.verdict, Verdict::Valid);
        let online = verify(&proof, &digest, server, &VerifyOptions::new(RT)).unwrap();
        assert!(matches!(online.chain, ChainCheck::InBestChain { .. }));
    }
}

#[test]
fn stamp_anchor_mine_upgrade_verify_1000() {
    let mut env = funded();
    let server = connect(&env.stack);
    let mut flow = Anchoring::open(env.data.path(), config(1)).unwrap();
    let docs = items(env.docs.path(), 1000, "a");
    let list: Vec<StampItem> = docs.iter().map(|(_, i)| i.clone()).collect();
    let s = flow.stamp(&list).unwrap();
    assert_eq!(s.queued, 1000);
    // Queued proofs are written at once, and verify as pending.
    let p = read_proof(&docs[0].1.proof_path);
    assert_eq!(p.stage(), Stage::Queued);
    // Stamping again is a no-op.
    assert_eq!(flow.stamp(&list).unwrap().already, 1000);

    let mut steps = Vec::new();
    let started = std::time::Instant::now();
    let anchored = flow
        .anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |s| steps.push(s),
        )
        .unwrap();
    assert_eq!(anchored.len(), 1);
    let a = &anchored[0];
    assert_eq!(a.size, 1000);
    assert!(matches!(steps[0], AnchorStep::Batched { size: 1000, .. }));
    assert!(matches!(steps.last(), Some(AnchorStep::Broadcast { .. })));
    env.stack
        .wait_until_electrum_sees_txid(a.txid, DEFAULT_TIMEOUT)
        .unwrap();
    println!(
        "anchoring transaction: {} vB, fee {} sat, {:.3} sat per record at 1,000 records",
        a.vsize,
        a.fee.to_sat(),
        a.fee.to_sat() as f64 / 1000.0
    );
    assert!(a.vsize <= 155, "vsize {} above 155 vB", a.vsize);
    // No proof file is rewritten before confirmation: they stay stamped.
    assert_eq!(read_proof(&docs[5].1.proof_path).stage(), Stage::Queued);

    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    assert_eq!(up[0].proofs_written, 1000);
    println!("anchor to complete proofs: {:?}", started.elapsed());
    check_all_valid(&server, &docs);
    // Nothing left to do: a second upgrade changes nothing.
    assert!(flow.upgrade(&server).unwrap().is_empty());
}

/// A batch a page and more is read page by page: anchor builds its tree
/// from pages of the queue, upgrade verifies every proof over the pages,
/// then writes them over the pages again, and each proof names its own
/// leaf. With pages of 7 records, 15 records make two full pages and one
/// record on a third.
#[test]
fn a_batch_over_several_pages_is_anchored_and_completed_whole() {
    let mut env = funded();
    let server = connect(&env.stack);
    let mut flow = Anchoring::open(env.data.path(), config(1)).unwrap();
    flow.set_page_size(7);
    assert_eq!(flow.page_size(), 7);
    let docs = items(env.docs.path(), 15, "p");
    let list: Vec<StampItem> = docs.iter().map(|(_, i)| i.clone()).collect();
    assert_eq!(flow.stamp(&list).unwrap().queued, 15);
    let a = anchor_now(&mut env, &mut flow, &server);
    assert_eq!(a[0].size, 15);
    let batch = flow.store().batch(a[0].batch_id).unwrap().unwrap();
    assert_eq!(batch.size, 15);
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    assert_eq!(up[0].proofs_written, 15);
    check_all_valid(&server, &docs);
    for (i, (_, item)) in docs.iter().enumerate() {
        let b = read_proof(&item.proof_path).batch.unwrap();
        assert_eq!((b.index, b.size, b.root), (i as u64, 15, batch.root));
    }
    // The proofs rebuilt from the store, one record on each page, match
    // the files.
    let records = flow.store().batch_records(batch.id).unwrap();
    let picked = vec![records[0].clone(), records[7].clone(), records[14].clone()];
    for (proof, r) in flow.current_proofs(&picked).unwrap().iter().zip(&picked) {
        assert_eq!(proof.as_ref(), Some(&read_proof(&r.proof_path)));
    }
}

/// A progress sink that stops the process's work (a panic, standing for a
/// crash) once `after` complete proofs have been written.
struct CrashAfter {
    after: u64,
    writing: std::sync::atomic::AtomicBool,
    written: std::sync::atomic::AtomicU64,
}

impl Progress for CrashAfter {
    fn begin(&self, step: Step, _total: u64) {
        use std::sync::atomic::Ordering::SeqCst;
        self.writing.store(step == Step::WriteProofs, SeqCst);
    }
    fn advance(&self, n: u64) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.writing.load(SeqCst) && self.written.fetch_add(n, SeqCst) + n >= self.after {
            panic!("crash while writing proofs");
        }
    }
    fn end(&self) {}
}

/// `upgrade` writes complete proofs over the queued ones in place
/// (`docs/decisions/0007-upgrade-writes-in-place.md`): stopped partway,
/// with one file torn as a power cut could leave it, the batch is not
/// final, and the next `upgrade` (a new process) writes every proof again.
#[test]
fn an_upgrade_stopped_while_writing_is_completed_by_the_next() {
    use std::os::unix::fs::MetadataExt as _;
    let mut env = funded();
    let server = connect(&env.stack);
    let (mut flow, docs) = stamped(&env, 1, 15, "c");
    flow.set_page_size(7);
    let inodes: Vec<u64> = docs
        .iter()
        .map(|(_, i)| std::fs::metadata(&i.proof_path).unwrap().ino())
        .collect();
    let a = anchor_now(&mut env, &mut flow, &server);
    env.stack.mine_blocks(1, None).unwrap();
    flow.set_progress(std::sync::Arc::new(CrashAfter {
        after: 9,
        writing: false.into(),
        written: 0.into(),
    }));
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| flow.upgrade(&server)));
    assert!(crashed.is_err(), "the upgrade was to stop partway");
    drop(flow);
    let complete = |i: &StampItem| {
        Proof::from_json(&std::fs::read(&i.proof_path).unwrap())
            .is_ok_and(|p| p.stage() == Stage::Confirmed)
    };
    let done = docs.iter().filter(|(_, i)| complete(i)).count();
    assert!((9..15).contains(&done), "{done} proofs complete");
    // A power cut's torn file: the start of a complete proof left over
    // the rest of what was there.
    let torn = &docs.iter().find(|(_, i)| complete(i)).unwrap().1.proof_path;
    let bytes = std::fs::read(torn).unwrap();
    std::fs::write(torn, &bytes[..bytes.len() / 2]).unwrap();
    assert!(Proof::from_json(&std::fs::read(torn).unwrap()).is_err());

    let mut flow = Anchoring::open(env.data.path(), config(1)).unwrap();
    let batch = flow.store().batch(a[0].batch_id).unwrap().unwrap();
    assert_ne!(
        batch.state,
        BatchState::Final,
        "final before its proofs were flushed"
    );
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    assert_eq!(up[0].proofs_written, 15);
    check_all_valid(&server, &docs);
    // Written over the queued proofs, not beside them: the same files.
    for ((_, item), ino) in docs.iter().zip(&inodes) {
        assert_eq!(std::fs::metadata(&item.proof_path).unwrap().ino(), *ino);
    }
    let names = std::fs::read_dir(env.docs.path()).unwrap().count();
    assert_eq!(names, 15, "no temporary file left beside the proofs");
}

#[test]
fn two_batches_in_a_row_and_an_empty_queue() {
    let mut env = funded();
    let server = connect(&env.stack);
    let mut flow = Anchoring::open(env.data.path(), config(2)).unwrap();
    assert!(matches!(
        flow.anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {}
        ),
        Err(AnchoringError::EmptyQueue)
    ));
    let first = items(env.docs.path(), 3, "first");
    let second = items(env.docs.path(), 5, "second");
    flow.stamp(&first.iter().map(|d| d.1.clone()).collect::<Vec<_>>())
        .unwrap();
    let a1 = flow
        .anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    flow.stamp(&second.iter().map(|d| d.1.clone()).collect::<Vec<_>>())
        .unwrap();
    // The second spends the first's change while it is unconfirmed.
    let a2 = flow
        .anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_ne!(a1[0].txid, a2[0].txid);
    env.stack
        .wait_until_electrum_sees_txid(a2[0].txid, DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert!(
        up.iter().all(|u| u.state == BatchState::Confirmed),
        "{up:?}"
    );
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert!(up.iter().all(|u| u.state == BatchState::Final), "{up:?}");
    check_all_valid(&server, &first);
    check_all_valid(&server, &second);
    let p = read_proof(&second[0].1.proof_path);
    assert_eq!(p.anchor.unwrap().block.unwrap().headers_after.len(), 1);
}

#[test]
fn insufficient_funds_keeps_records_queued() {
    let stack = TestEnv::new().unwrap();
    stack.mine_blocks(101, None).unwrap();
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let (mut wallet, _) = AnchorWallet::create(data.path(), RT, KeySource::Generate).unwrap();
    let server = connect(&stack);
    let mut flow = Anchoring::open(data.path(), config(1)).unwrap();
    let d = items(docs.path(), 4, "poor");
    flow.stamp(&d.iter().map(|d| d.1.clone()).collect::<Vec<_>>())
        .unwrap();
    let err = flow
        .anchor(
            &mut wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            AnchoringError::Wallet(WalletError::InsufficientFunds { .. })
        ),
        "{err}"
    );
    assert_eq!(flow.store().queued_records().unwrap().len(), 4);
    assert!(flow.store().batches().unwrap().is_empty());
    assert_eq!(read_proof(&d[0].1.proof_path).stage(), Stage::Queued);
}

#[test]
fn electrum_down_during_anchor_and_upgrade_then_recovers() {
    let mut env = funded();
    let server = connect(&env.stack);
    let (mut flow, d) = stamped(&env, 1, 7, "down");
    env.stack.pause_electrum().unwrap();
    let err = flow
        .anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            AnchoringError::Electrum(_) | AnchoringError::Wallet(WalletError::Electrum(_))
        ),
        "{err}"
    );
    // Nothing lost: still queued, or batched with its transaction stored.
    let queued = flow.store().queued_records().unwrap().len();
    let batched = flow
        .store()
        .batches_in(&[BatchState::Batched])
        .unwrap()
        .len();
    assert!(
        queued == 7 || batched == 1,
        "queued {queued}, batched {batched}"
    );
    env.stack.resume_electrum().unwrap();
    let server = connect(&env.stack);
    let a = flow
        .anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(a.len(), 1);
    env.stack
        .wait_until_electrum_sees_txid(a[0].txid, DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    env.stack.pause_electrum().unwrap();
    assert!(flow.upgrade(&server).is_err());
    env.stack.resume_electrum().unwrap();
    let server = connect(&env.stack);
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    check_all_valid(&server, &d);
}

#[test]
fn reorg_of_the_anchoring_block_is_followed() {
    let mut env = funded();
    let server = connect(&env.stack);
    let (mut flow, d) = stamped(&env, 3, 6, "reorg");
    anchor_now(&mut env, &mut flow, &server);
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Confirmed);
    let first = up[0].confirmation.unwrap();
    // The anchoring block leaves the chain; its transaction goes back to
    // the mempool.
    env.stack.reorg_empty_blocks(1).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert!(up[0].reorged, "{up:?}");
    assert_eq!(up[0].state, BatchState::Broadcast);
    // No proof was completed on the orphaned block.
    assert_ne!(read_proof(&d[0].1.proof_path).stage(), Stage::Confirmed);
    env.stack.mine_blocks(3, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    let second = up[0].confirmation.unwrap();
    assert_ne!(first.block_hash, second.block_hash);
    check_all_valid(&server, &d);
}

/// bcoin 1.0.2 implements no BIP125 replacement in its mempool, so these
/// tests bump a transaction the server never relayed (a proxy swallows the
/// broadcast after signing); a replacement of a relayed transaction takes
/// the same code path on servers that accept replacements.
fn anchor_with_broadcast_cut_off(env: &mut Env, flow: &mut Anchoring) -> btc_anchor::bitcoin::Txid {
    let proxy = env.stack.proxy().unwrap();
    let server = Electrum::connect(
        &proxy.electrum_url(),
        RT,
        ConnectOptions {
            allow_insecure: false,
            timeout: Duration::from_secs(3),
        },
    )
    .unwrap();
    let mut signed = None;
    let err = flow
        .anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions {
                fee_rate: Some(1.0),
                max_fee_sat: None,
            },
            &mut |s| {
                if let AnchorStep::Signed { txid, .. } = s {
                    signed = Some(txid);
                    // From here on the server never hears from us.
                    proxy.set(ProxyMode::Drop);
                }
            },
        )
        .unwrap_err();
    assert!(matches!(err, AnchoringError::Electrum(_)), "{err}");
    signed.unwrap()
}

#[test]
fn bumped_transaction_is_followed() {
    let mut env = funded();
    let (mut flow, d) = stamped(&env, 1, 9, "bump");
    let original = anchor_with_broadcast_cut_off(&mut env, &mut flow);
    let server = connect(&env.stack);
    let fast = FeeOptions {
        fee_rate: Some(5.0),
        max_fee_sat: None,
    };
    let b = flow
        .bump(&mut env.wallet.payer(&server), &server, &fast)
        .unwrap();
    assert_ne!(original, b.txid);
    assert!(
        b.fee.to_sat() as f64 >= 4.9 * b.vsize as f64,
        "{} sat for {} vB",
        b.fee,
        b.vsize
    );
    env.stack
        .wait_until_electrum_sees_txid(b.txid, DEFAULT_TIMEOUT)
        .unwrap();
    // The batch's current proofs name the replacement (the files are
    // completed once it confirms).
    let record = flow
        .store()
        .record_at_proof_path(&d[0].1.proof_path)
        .unwrap()
        .unwrap();
    let p = flow.current_proofs(&[record]).unwrap().remove(0).unwrap();
    assert_eq!(p.stage(), Stage::Broadcast);
    assert_eq!(p.anchor.unwrap().tx.compute_txid(), b.txid);
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    assert_eq!(up[0].confirmation.unwrap().txid, b.txid);
    check_all_valid(&server, &d);
    // A later anchor run has nothing to resume and nothing queued.
    assert!(matches!(
        flow.anchor(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions::default(),
            &mut |_| {}
        ),
        Err(AnchoringError::EmptyQueue)
    ));
}

#[test]
fn proofs_follow_whichever_transaction_confirms() {
    let mut env = funded();
    let (mut flow, d) = stamped(&env, 2, 4, "either");
    let original = anchor_with_broadcast_cut_off(&mut env, &mut flow);
    let server = connect(&env.stack);
    let bumped = flow
        .bump(
            &mut env.wallet.payer(&server),
            &server,
            &FeeOptions {
                fee_rate: Some(4.0),
                max_fee_sat: None,
            },
        )
        .unwrap();
    env.stack
        .wait_until_electrum_sees_txid(bumped.txid, DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Confirmed);
    assert_eq!(up[0].confirmation.unwrap().txid, bumped.txid);
    // The replacement's block is orphaned and the replacement forgotten;
    // the original transaction is the one that confirms in the end.
    env.stack.reorg_dropping_txs(1).unwrap();
    let raw = flow
        .store()
        .batch_txs(up[0].batch_id)
        .unwrap()
        .into_iter()
        .find(|t| t.txid == original)
        .unwrap();
    env.stack.send_raw_transaction(&raw.tx).unwrap();
    env.stack
        .wait_until_electrum_sees_txid(original, DEFAULT_TIMEOUT)
        .unwrap();
    env.stack.mine_blocks(2, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert!(up[0].reorged);
    assert_eq!(up[0].state, BatchState::Final);
    assert_eq!(up[0].confirmation.unwrap().txid, original);
    check_all_valid(&server, &d);
}

#[test]
fn a_lying_server_is_caught_and_nothing_is_written() {
    let mut env = funded();
    let server = connect(&env.stack);
    let (mut flow, d) = stamped(&env, 1, 3, "lie");
    anchor_now(&mut env, &mut flow, &server);
    env.stack.mine_blocks(1, None).unwrap();
    let proxy = env.stack.proxy().unwrap();
    let liar = Electrum::connect(&proxy.electrum_url(), RT, ConnectOptions::default()).unwrap();
    for mode in [ProxyMode::LieMerkle, ProxyMode::LieHeader] {
        proxy.set(mode);
        let err = flow.upgrade(&liar).unwrap_err();
        assert!(
            matches!(
                err,
                // The workflow checks what any backend answers; the
                // adapter still refuses headers that fail the same check.
                AnchoringError::BadInclusion { .. }
                    | AnchoringError::BadHeader { .. }
                    | AnchoringError::Electrum(
                        btc_anchor_electrum::ElectrumError::BadMerkleProof { .. }
                            | btc_anchor_electrum::ElectrumError::BadHeader { .. }
                    )
            ),
            "{mode:?}: {err}"
        );
        assert_eq!(read_proof(&d[0].1.proof_path).stage(), Stage::Queued);
    }
    proxy.set(ProxyMode::Pass);
    let up = flow.upgrade(&liar).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    check_all_valid(&server, &d);
}

/// The stack's own checkpoint table: every epoch closed on its chain, from
/// the headers 0..=tip fetched through the Electrum adapter.
fn stack_table(server: &Electrum) -> Checkpoints {
    let tip = server.tip_height().unwrap();
    let headers = server.headers(0, tip + 1, None).unwrap();
    assert_eq!(headers.len() as u32, tip + 1);
    Checkpoints::from_headers(RT, &headers, false)
}

fn block_height(p: &Proof) -> u32 {
    p.anchor.as_ref().unwrap().block.as_ref().unwrap().height
}

fn with_height(p: &Proof, height: u32) -> Proof {
    let mut p = p.clone();
    p.anchor.as_mut().unwrap().block.as_mut().unwrap().height = height;
    p
}

#[test]
fn sealed_once_the_epoch_closes_and_verified_on_the_stacks_checkpoint() {
    let started = std::time::Instant::now();
    let mut env = funded();
    let server = connect(&env.stack);
    let (mut flow, d) = stamped(&env, 1, 3, "seal");
    anchor_now(&mut env, &mut flow, &server);
    env.stack.mine_blocks(1, None).unwrap();
    let up = flow.upgrade(&server).unwrap();
    assert_eq!(up[0].state, BatchState::Final);
    let proof = read_proof(&d[0].1.proof_path);
    let height = block_height(&proof);
    assert!(height < 2015, "{height}");
    assert!(!is_sealed(&proof));

    // Before the epoch closes: how far to go, and nothing written.
    env.stack.mine_blocks(10, None).unwrap();
    let tip = env.stack.tip().unwrap();
    let early = VerifyOptions::new(RT);
    match seal(&proof, &server, &early).unwrap() {
        Sealed::EpochOpen {
            epoch: 0,
            epoch_end: 2015,
            tip: t,
            blocks_to_go,
        } => {
            assert_eq!(t, tip);
            assert_eq!(blocks_to_go, 2015 - tip);
        }
        other => panic!("{other:?}"),
    }
    let open = flow.seal_final(&server).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].outcome,
        BatchSeal::EpochOpen {
            blocks_to_go: 2015 - tip
        }
    );
    assert_eq!(read_proof(&d[0].1.proof_path), proof);

    // Mine past the epoch's end (mine_blocks waits for ElectrumX).
    env.stack.mine_blocks(2015 - tip + 3, None).unwrap();
    assert_eq!(server.tip_height().unwrap(), 2018);
    let table = stack_table(&server);
    assert_eq!(table.len(), 1);
    let options = VerifyOptions::new(RT).with_checkpoints(table.clone());
    let t = std::time::Instant::now();
    let sealed = seal(&proof, &server, &options).unwrap();
    println!("seal over Electrum: {:?}", t.elapsed());
    let Sealed::Extended {
        proof: sealed,
        added,
        report,
        ..
    } = sealed
    else {
        panic!("not extended");
    };
    assert_eq!(added, 2015 - height);
    assert!(is_sealed(&sealed));

    // Offline, against the stack's own table: valid, on its checkpoint.
    let digest = RecordDigest::of_bytes(&d[0].0);
    let r = verify(&sealed, &digest, &EmbeddedOnly, &options).unwrap();
    assert_eq!(r, *report);
    assert_eq!(r.verdict, Verdict::Valid);
    let block = r.block.as_ref().unwrap();
    assert!(block.height_checked);
    assert_eq!(block.checkpoint_epoch, Some(0));
    assert!(
        matches!(
            r.evidence,
            Some(Evidence::Checkpoint {
                epoch: 0,
                height: 2015
            })
        ),
        "{:?}",
        r.evidence
    );
    // Online too.
    let online = verify(&sealed, &digest, &server, &options).unwrap();
    assert!(matches!(online.chain, ChainCheck::InBestChain { .. }));

    // The height edited: one up lands the block before the checkpoint on
    // its height; one down stops a header short of it, so nothing places
    // the block offline, and the server refuses it.
    let e = verify(
        &with_height(&sealed, height + 1),
        &digest,
        &EmbeddedOnly,
        &options,
    )
    .unwrap_err();
    assert_eq!(e.kind(), "checkpoint-mismatch", "{e}");
    let down = with_height(&sealed, height - 1);
    let r = verify(&down, &digest, &EmbeddedOnly, &options).unwrap();
    let b = r.block.as_ref().unwrap();
    assert_eq!(b.checkpoint_epoch, None);
    assert!(!b.height_checked);
    assert!(!matches!(r.evidence, Some(Evidence::Checkpoint { .. })));
    let e = verify(&down, &digest, &server, &options).unwrap_err();
    assert!(matches!(e, VerifyError::NotInChain { .. }), "{e}");
    let e = seal(&down, &server, &options).unwrap_err();
    assert!(matches!(e, SealError::NotInChain { .. }), "{e}");

    // A table whose checkpoint names another block.
    let mut entries = table.entries().to_vec();
    entries[0] = Checkpoint {
        hash: btc_anchor::bitcoin::BlockHash::from_byte_array([5; 32]),
        next_bits: None,
    };
    let forged = VerifyOptions::new(RT).with_checkpoints(Checkpoints::new(RT, entries));
    let e = verify(&sealed, &digest, &EmbeddedOnly, &forged).unwrap_err();
    assert_eq!(e.kind(), "checkpoint-mismatch", "{e}");

    // Already sealed: nothing to do.
    assert!(matches!(
        seal(&sealed, &server, &options).unwrap(),
        Sealed::AlreadySealed { .. }
    ));

    // The workflow seals the whole batch, once.
    let done = flow.seal_final(&server).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].epoch_end, 2015);
    assert_eq!(done[0].outcome, BatchSeal::Sealed { proofs_written: 3 });
    for (body, item) in &d {
        let p = read_proof(&item.proof_path);
        assert!(is_sealed(&p), "{}", item.label);
        let r = verify(&p, &RecordDigest::of_bytes(body), &EmbeddedOnly, &options).unwrap();
        assert_eq!(r.block.as_ref().unwrap().checkpoint_epoch, Some(0));
    }
    assert_eq!(read_proof(&d[0].1.proof_path), *sealed);
    assert!(flow.seal_final(&server).unwrap().is_empty());
    check_all_valid(&server, &d);
    println!("sealing test: {:?}", started.elapsed());
}
