//! The anchorer: one thread that anchors queued records and follows
//! broadcast batches with the workflow ([`Anchoring`]), paid by the data
//! directory's wallet over its Electrum server, and reports what it sees
//! to [`Health`]; it bumps a transaction stuck for `bump_after_blocks`
//! within the fee caps of [`crate::fees`].

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
use btc_anchor_workflow::store::{now, BatchState};
use btc_anchor_workflow::wallet::{AnchorWallet, WalletError};

use crate::fees::FeeLimits;
use crate::fees::{decide_bump, utc_day, BumpDecision, FeeLedger, Stuck};
use crate::health::{FeeCaps, Health};

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
    /// When to bump, and what anchors and bumps may cost.
    pub fees: FeeLimits,
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

/// What [`run`] keeps between rounds.
struct Round<'a> {
    flow: Anchoring,
    data_dir: PathBuf,
    config: Config,
    health: &'a Health,
    o: &'a AnchorerOptions,
    server: Option<Electrum>,
    wallet: Option<AnchorWallet>,
    ledger: Option<FeeLedger>,
    last_anchor: Option<Instant>,
}

fn text(e: &dyn std::error::Error) -> String {
    btc_anchor::text::with_sources(e)
}

/// The batches whose transactions may still change: their fees are
/// charged to the ledger.
const ACTIVE: [BatchState; 3] = [
    BatchState::Batched,
    BatchState::Broadcast,
    BatchState::Confirmed,
];

impl Round<'_> {
    /// Charges to the ledger every transaction not charged yet, seen
    /// first at `tip`: of every batch with `all`, else of the batches
    /// whose transactions may still change.
    fn charge(&mut self, all: bool, tip: u32) -> Result<(), String> {
        let store = self.flow.store();
        let batches = if all {
            store.batches()
        } else {
            store.batches_in(&ACTIVE)
        }
        .map_err(|e| text(&e))?;
        let Some(ledger) = self.ledger.as_mut() else {
            return Ok(());
        };
        for b in batches {
            let txs = store.batch_txs(b.id).map_err(|e| text(&e))?;
            if !txs.is_empty() {
                ledger.note_batch(&txs, tip).map_err(|e| text(&e))?;
            }
        }
        Ok(())
    }

    fn spent_today(&self) -> Result<u64, String> {
        match &self.ledger {
            Some(l) => l.spent_on(utc_day(now())).map_err(|e| text(&e)),
            None => Ok(0),
        }
    }

    fn once(&mut self) -> Result<(), String> {
        let o = self.o;
        let health = self.health;
        if self.wallet.is_none() {
            self.wallet = Some(
                AnchorWallet::open(&self.data_dir, self.config.network).map_err(|e| text(&e))?,
            );
        }
        if self.server.is_none() {
            self.server = Some(connect(&self.config)?);
        }
        let (Some(w), Some(e)) = (self.wallet.as_mut(), self.server.as_ref()) else {
            return Ok(());
        };
        if let Err(err) = w.sync(e) {
            self.server = None;
            return Err(text(&err));
        }
        let b = w.balance();
        let spendable = (b.confirmed + b.trusted_pending).to_sat();
        health.update(|s| {
            s.running = true;
            s.balance_sat = Some(spendable);
            s.cannot_pay = spendable < o.min_balance_sat;
        });
        let tip = e.tip_height().map_err(|err| text(&err))?;
        if self.ledger.is_none() {
            self.ledger = Some(FeeLedger::open(&self.data_dir).map_err(|e| text(&e))?);
            // Everything anchored before this start (by an earlier run, or
            // by `btc-anchor anchor`) is charged to the day it was signed.
            self.charge(true, tip)?;
        }
        let mut caps = FeeCaps::default();
        // A batch is made once its oldest record has waited the interval
        // (so records arriving meanwhile share its transaction), and at
        // most once an interval.
        let (pending, oldest) = self
            .flow
            .store()
            .queue_summary()
            .map_err(|e| e.to_string())?;
        let waited = oldest.is_some_and(|t| {
            now().saturating_sub(t)
                >= i64::try_from(o.anchor_interval.as_secs()).unwrap_or(i64::MAX)
        });
        let due = waited
            && self
                .last_anchor
                .is_none_or(|t| t.elapsed() >= o.anchor_interval);
        let room = o.fees.anchor_room(self.spent_today()?);
        caps.per_day = room.is_none();
        if let (true, true, true, Some(room)) =
            (pending > 0, due, spendable >= o.min_balance_sat, room)
        {
            self.last_anchor = Some(Instant::now());
            let (Some(w), Some(e)) = (self.wallet.as_mut(), self.server.as_ref()) else {
                return Ok(());
            };
            let fees = FeeOptions {
                fee_rate: None,
                max_fee_sat: Some(room),
            };
            match self
                .flow
                .anchor(&mut w.payer(e), e, &fees, &mut |s| (o.on_step)(&s))
            {
                Ok(done) => {
                    for a in &done {
                        tracing::info!(batch = a.batch_id, records = a.size, txid = %a.txid, fee = a.fee.to_sat(), "anchored");
                        health.update(|s| s.last_txid = Some(a.txid));
                    }
                }
                Err(AnchoringError::EmptyQueue) => {}
                Err(AnchoringError::Wallet(WalletError::FeeTooHigh { fee, max })) => {
                    // What the caps leave does not pay for the anchor now.
                    if room < o.fees.max_fee_per_tx_sat {
                        caps.per_day = true;
                    } else {
                        caps.per_tx = true;
                    }
                    tracing::warn!(
                        fee = fee.to_sat(),
                        max = max.to_sat(),
                        "fee cap reached: not anchoring"
                    );
                }
                Err(AnchoringError::Wallet(WalletError::InsufficientFunds { .. })) => {
                    health.update(|s| s.cannot_pay = true);
                    return Err("the wallet cannot pay the next anchor".to_owned());
                }
                Err(err) => return Err(text(&err)),
            }
            self.charge(false, tip)?;
        }
        let Some(e) = self.server.as_ref() else {
            return Ok(());
        };
        for u in self.flow.upgrade(e).map_err(|err| text(&err))? {
            if u.state == BatchState::Final {
                tracing::info!(batch = u.batch_id, "batch final");
            }
        }
        let store = self.flow.store();
        let waiting = store.batches_in(&ACTIVE).map_err(|e| e.to_string())?.len() as u64;
        let (_, oldest) = store.queue_summary().map_err(|e| e.to_string())?;
        let bump = self.bump(tip, &mut caps);
        let spent = self.spent_today()?;
        let newest = match &self.ledger {
            Some(l) => l.newest().map_err(|e| text(&e))?,
            None => None,
        };
        let mut last_anchor_height = None;
        if let Some((batch_id, _)) = newest {
            last_anchor_height = self
                .flow
                .store()
                .batch(batch_id)
                .map_err(|e| text(&e))?
                .and_then(|b| b.confirmation)
                .map(|c| c.height);
        }
        health.update(|s| {
            s.txs_waiting = waiting;
            s.oldest_pending_at = oldest;
            s.tip_height = Some(tip);
            s.fee_spent_today_sat = spent;
            s.fee_caps = caps;
            s.last_anchor_at = newest.map(|(_, at)| at);
            s.last_anchor_height = last_anchor_height;
            s.last_error = None;
        });
        bump
    }

    /// Bumps the newest unconfirmed anchoring transaction once it has
    /// waited `bump_after_blocks`, within the fee caps (§9).
    fn bump(&mut self, tip: u32, caps: &mut FeeCaps) -> Result<(), String> {
        if caps.per_day {
            return Ok(());
        }
        // The transaction `Anchoring::bump` replaces: the newest of the
        // newest unconfirmed batch that has one.
        let store = self.flow.store();
        let mut newest = None;
        for b in store
            .batches_in(&[BatchState::Batched, BatchState::Broadcast])
            .map_err(|e| text(&e))?
        {
            if let Some(t) = store.batch_txs(b.id).map_err(|e| text(&e))?.pop() {
                newest = Some(t);
            }
        }
        let (Some(last), Some(ledger), Some(e)) = (newest, &self.ledger, self.server.as_ref())
        else {
            return Ok(());
        };
        let stuck = Stuck {
            seen_at_tip: ledger
                .seen_at_tip(&last.txid)
                .map_err(|e| text(&e))?
                .unwrap_or(tip),
            fee_sat: last.fee_sat,
            vsize: last.tx.vsize() as u64,
        };
        let estimate = e
            .estimate_fee_rate(self.config.fee_target_blocks)
            .ok()
            .flatten()
            .map(|r| r.to_sat_per_kwu() as f64 / 250.0);
        let spent = self.spent_today()?;
        match decide_bump(&self.o.fees, &stuck, tip, spent, estimate) {
            BumpDecision::Bump {
                fee_rate,
                max_fee_sat,
            } => {
                let Some(w) = self.wallet.as_mut() else {
                    return Ok(());
                };
                let fees = FeeOptions {
                    fee_rate: Some(fee_rate),
                    max_fee_sat: Some(max_fee_sat),
                };
                let result = self.flow.bump(&mut w.payer(e), e, &fees);
                // A replacement is stored before it is broadcast: charge it
                // whether or not a server took it.
                self.charge(false, tip)?;
                match result {
                    Ok(a) => {
                        tracing::info!(batch = a.batch_id, replaced = %last.txid, txid = %a.txid, fee = a.fee.to_sat(), "bumped");
                        self.health.update(|s| s.last_txid = Some(a.txid));
                        Ok(())
                    }
                    Err(AnchoringError::Wallet(WalletError::FeeTooHigh { fee, max })) => {
                        if max_fee_sat < self.o.fees.max_fee_per_tx_sat {
                            caps.per_day = true;
                        } else {
                            caps.per_tx = true;
                        }
                        self.health.update(|s| s.fee_caps = *caps);
                        tracing::warn!(fee = fee.to_sat(), max = max.to_sat(), txid = %last.txid, "fee cap reached: not bumping");
                        Ok(())
                    }
                    Err(err) => Err(format!("bumping {}: {}", last.txid, text(&err))),
                }
            }
            BumpDecision::TxCapReached => {
                caps.per_tx = true;
                Ok(())
            }
            BumpDecision::DayCapReached => {
                caps.per_day = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn run(
    flow: Anchoring,
    data_dir: PathBuf,
    health: &Health,
    o: &AnchorerOptions,
    stop: &AtomicBool,
) {
    let config = flow.config().clone();
    let mut r = Round {
        flow,
        data_dir,
        config,
        health,
        o,
        server: None,
        wallet: None,
        ledger: None,
        last_anchor: None,
    };
    while !stop.load(Ordering::SeqCst) {
        if let Err(message) = r.once() {
            tracing::warn!(error = %message, "anchoring round failed");
            let lost = r.server.is_none() || r.wallet.is_none();
            health.update(|s| {
                if lost {
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
