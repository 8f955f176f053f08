//! The calendar server under load on a real regtest stack (bcoin and
//! ElectrumX): 50 concurrent clients on loopback submit 200,000 digests to
//! the native API while the anchorer runs; every acknowledged digest is
//! anchored, in a few transactions (one a batch), and none is lost.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use btc_anchor::bitcoin::{Amount, Network};
use btc_anchor_server::{ServeOptions, ServerConfig};
use btc_anchor_testenv::http::Conn;
use btc_anchor_testenv::regtest::{TestEnv, DEFAULT_TIMEOUT};
use btc_anchor_workflow::config::Config;
use btc_anchor_workflow::store::{BatchState, Journal as _, Store};
use btc_anchor_workflow::wallet::{AnchorWallet, KeySource};

const CLIENTS: u64 = 50;
const TOTAL: u64 = 200_000;
const PER_REQUEST: u64 = 100;

fn body(n: u64) -> Vec<u8> {
    let list: Vec<String> = (0..PER_REQUEST)
        .map(|i| {
            let mut d = [0xa5; 32];
            d[..8].copy_from_slice(&n.to_be_bytes());
            d[8..16].copy_from_slice(&i.to_be_bytes());
            format!("\"{}\"", hex::encode(d))
        })
        .collect();
    format!("{{\"digests\":[{}]}}", list.join(",")).into_bytes()
}

#[test]
fn fifty_clients_submit_200_000_digests_and_every_one_is_anchored() {
    let stack = TestEnv::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut wallet, _) =
        AnchorWallet::create(data.path(), Network::Regtest, KeySource::Generate).unwrap();
    let address = wallet.address().unwrap();
    drop(wallet);
    stack.fund(&address, Amount::ONE_BTC).unwrap();
    stack.mine_blocks(2, None).unwrap();

    let mut config = Config::defaults(Network::Regtest);
    config.electrum_url = Some(stack.electrum_url());
    config.allow_insecure_tcp = true;
    let server = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        anchor_interval_secs: 3,
        poll_interval_secs: 1,
        rate_limit_per_sec: 0,
        ..ServerConfig::default()
    };
    let min_depth = config.min_depth;
    let options = ServeOptions {
        data_dir: data.path().to_path_buf(),
        config,
        server,
        on_anchor_step: |_| {},
    };
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let served = rt.spawn(btc_anchor_server::serve(
        options,
        move |a| addr_tx.send(a).unwrap(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let addr: SocketAddr = addr_rx.recv_timeout(DEFAULT_TIMEOUT).unwrap();

    // Wait until the anchorer has synced and submissions are taken.
    let until = Instant::now() + DEFAULT_TIMEOUT;
    let mut probe = Conn::new(addr);
    while serde_json::from_slice::<serde_json::Value>(&probe.get("/").1).unwrap()["accepting"]
        != true
    {
        assert!(Instant::now() < until, "the server never took submissions");
        std::thread::sleep(Duration::from_millis(200));
    }

    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut c = Conn::new(addr);
                let mut acknowledged = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n * PER_REQUEST >= TOTAL {
                        return acknowledged;
                    }
                    assert_eq!(c.post("/api/v1/digests", &body(n)), 200);
                    acknowledged += PER_REQUEST;
                }
            })
        })
        .collect();
    let acknowledged: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let submitting = started.elapsed();
    assert_eq!(acknowledged, TOTAL);

    // Every batch is broadcast, then mined and made final.
    let store = Store::open(data.path()).unwrap();
    let until = Instant::now() + DEFAULT_TIMEOUT * 3;
    loop {
        let (queued, _) = store.queue_summary().unwrap();
        let unsent = store.batches_in(&[BatchState::Batched]).unwrap().len();
        if queued == 0 && unsent == 0 {
            break;
        }
        assert!(
            Instant::now() < until,
            "{queued} queued, {unsent} batches unsent"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    stack.mine_blocks(min_depth, None).unwrap();
    stack
        .wait_until_electrum_sees_block(DEFAULT_TIMEOUT)
        .unwrap();
    loop {
        let open = store
            .batches()
            .unwrap()
            .iter()
            .filter(|b| b.state != BatchState::Final)
            .count();
        if open == 0 {
            break;
        }
        assert!(Instant::now() < until, "{open} batches not final");
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = stop_tx.send(());
    rt.block_on(served).unwrap().unwrap();

    let batches = store.batches().unwrap();
    let mut anchored = 0;
    for b in &batches {
        assert_eq!(store.batch_txs(b.id).unwrap().len(), 1, "batch {}", b.id);
        anchored += b.size;
    }
    assert_eq!(anchored, TOTAL, "every acknowledged digest is anchored");
    assert_eq!(store.all_records().unwrap().len() as u64, TOTAL);
    assert!(
        batches.len() <= 20,
        "a few transactions, not {}",
        batches.len()
    );
    let tip = stack.tip().unwrap();
    let mut in_blocks = 0;
    for h in tip.saturating_sub(min_depth - 1)..=tip {
        in_blocks += stack
            .get_block(&stack.block_hash(h).unwrap())
            .unwrap()
            .txdata
            .len()
            - 1;
    }
    assert_eq!(
        in_blocks,
        batches.len(),
        "one transaction a batch, no other"
    );
    eprintln!(
        "{TOTAL} digests from {CLIENTS} clients in {submitting:?} ({:.0}/s), anchored in {} transactions",
        TOTAL as f64 / submitting.as_secs_f64(),
        batches.len()
    );
}
