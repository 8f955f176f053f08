//! The anchorer: one thread that anchors queued records and follows
//! broadcast batches with the workflow ([`Anchoring`]), paid by the data
//! directory's wallet over its Electrum server, and reports what it sees
//! to [`Health`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use btc_anchor_electrum::{ConnectOptions, Electrum};
use btc_anchor_workflow::anchoring::{
    AnchorStep, Anchoring, AnchoringError, FeeOptions, ProofFiles,
};
use btc_anchor_workflow::config::Config;
use btc_anchor_workflow::store::BatchState;
use btc_anchor_workflow::wallet::{AnchorWallet, WalletError};

use crate::health::Health;

/// How the anchorer runs.
#[derive(Debug, Clone)]
pub struct AnchorerOptions {
    /// A queued record waits this long for others to share its batch, and
    /// batches are made at most this often.
    pub anchor_interval: Duration,
    /// Broadcast batches are followed this often.
    pub poll_interval: Duration,
    /// Below this confirmed and trusted balance the wallet cannot pay.
    pub min_balance_sat: u64,
    /// Hears each anchoring step once it is durable.
    pub on_step: fn(&AnchorStep),
}

/// A running anchorer.
#[derive(Debug)]
pub struct Anchorer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Anchorer {
    /// Starts the anchorer over `flow` (which holds the data directory's
    /// lock).
    pub fn start(
        mut flow: Anchoring,
        data_dir: PathBuf,
        health: Arc<Health>,
        options: AnchorerOptions,
    ) -> Anchorer {
        flow.set_proof_files(ProofFiles::StoreOnly);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::Builder::new()
            .name("calendar-anchorer".into())
            .spawn(move || run(flow, data_dir, &health, &options, &s))
            .ok();
        Anchorer { stop, handle }
    }

    /// Asks the anchorer to stop after its current step, and waits.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn connect(config: &Config) -> Result<Electrum, String> {
    let url = config
        .electrum_url
        .clone()
        .ok_or_else(|| "no Electrum server configured".to_owned())?;
    Electrum::connect(
        &url,
        config.network,
        ConnectOptions {
            allow_insecure: config.allow_insecure_tcp,
            timeout: Duration::from_secs(20),
        },
    )
    .map_err(|e| btc_anchor::text::with_sources(&e))
}

fn run(
    mut flow: Anchoring,
    data_dir: PathBuf,
    health: &Health,
    o: &AnchorerOptions,
    stop: &AtomicBool,
) {
    let config = flow.config().clone();
    let mut server = None;
    let mut wallet = None;
    let mut last_anchor: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let round = (|| -> Result<(), String> {
            if wallet.is_none() {
                wallet = Some(
                    AnchorWallet::open(&data_dir, config.network)
                        .map_err(|e| btc_anchor::text::with_sources(&e))?,
                );
            }
            if server.is_none() {
                server = Some(connect(&config)?);
            }
            let (Some(w), Some(e)) = (wallet.as_mut(), server.as_ref()) else {
                return Ok(());
            };
            if let Err(err) = w.sync(e) {
                server = None;
                return Err(btc_anchor::text::with_sources(&err));
            }
            let b = w.balance();
            let spendable = (b.confirmed + b.trusted_pending).to_sat();
            health.update(|s| {
                s.running = true;
                s.balance_sat = Some(spendable);
                s.cannot_pay = spendable < o.min_balance_sat;
            });
            // A batch is made once its oldest record has waited the
            // interval (so records arriving meanwhile share its
            // transaction), and at most once an interval.
            let (pending, oldest) = flow.store().queue_summary().map_err(|e| e.to_string())?;
            let waited = oldest.is_some_and(|t| {
                btc_anchor_workflow::store::now().saturating_sub(t)
                    >= i64::try_from(o.anchor_interval.as_secs()).unwrap_or(i64::MAX)
            });
            let due = waited && last_anchor.is_none_or(|t| t.elapsed() >= o.anchor_interval);
            if pending > 0 && due && spendable >= o.min_balance_sat {
                last_anchor = Some(Instant::now());
                match flow.anchor(&mut w.payer(e), e, &FeeOptions::default(), &mut |s| {
                    (o.on_step)(&s)
                }) {
                    Ok(done) => {
                        for a in &done {
                            tracing::info!(batch = a.batch_id, records = a.size, txid = %a.txid, "anchored");
                            health.update(|s| s.last_txid = Some(a.txid));
                        }
                    }
                    Err(AnchoringError::EmptyQueue) => {}
                    Err(AnchoringError::Wallet(WalletError::InsufficientFunds { .. })) => {
                        health.update(|s| s.cannot_pay = true);
                        return Err("the wallet cannot pay the next anchor".to_owned());
                    }
                    Err(err) => return Err(btc_anchor::text::with_sources(&err)),
                }
            }
            for u in flow
                .upgrade(e)
                .map_err(|err| btc_anchor::text::with_sources(&err))?
            {
                if u.state == BatchState::Final {
                    tracing::info!(batch = u.batch_id, "batch final");
                }
            }
            let waiting = flow
                .store()
                .batches_in(&[
                    BatchState::Batched,
                    BatchState::Broadcast,
                    BatchState::Confirmed,
                ])
                .map_err(|e| e.to_string())?
                .len() as u64;
            let (_, oldest) = flow.store().queue_summary().map_err(|e| e.to_string())?;
            let tip = e.tip_height().ok();
            health.update(|s| {
                s.txs_waiting = waiting;
                s.oldest_pending_at = oldest;
                s.tip_height = tip;
                s.last_error = None;
            });
            Ok(())
        })();
        if let Err(message) = round {
            tracing::warn!(error = %message, "anchoring round failed");
            health.update(|s| {
                if server.is_none() || wallet.is_none() {
                    s.running = false;
                }
                s.last_error = Some(message);
            });
        }
        let until = Instant::now() + o.poll_interval;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    health.update(|s| s.running = false);
}
