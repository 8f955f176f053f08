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
use btc_anchor_workflow::postgres::{PgChangesets, PgJournal, PgSession};
use btc_anchor_workflow::store::{now, BatchState, DataLock, Journal as _};
use btc_anchor_workflow::wallet::{AnchorWallet, WalletDb, WalletError};

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

/// Whose journal the anchorer works on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Seat {
    /// The data directory's own store: one server alone.
    Own(Anchoring),
    /// A database shared by several instances (`docs/server-api.md` §12):
    /// the anchorer anchors only while its session holds the database's
    /// advisory lock, and stands by otherwise, reporting what the one
    /// anchoring publishes.
    Shared {
        /// The database's connection string.
        url: String,
        /// The workflow's settings.
        config: Config,
    },
    /// A frontend of a shared database that never anchors: health is what
    /// the anchoring instance publishes.
    Frontend {
        /// The database's connection string.
        url: String,
    },
}

/// The heartbeat key in the shared database's `settings` table.
pub const HEARTBEAT_KEY: &str = "anchorer_heartbeat";

/// What the anchoring instance publishes after each round, for the
/// instances standing by to answer health as it would (§12).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Heartbeat {
    /// When (seconds since 1970).
    pub at: i64,
    /// Its poll interval, in seconds: a heartbeat older than three of them
    /// (and 30 s) means no instance is anchoring.
    pub poll_secs: u64,
    /// Whether the wallet cannot pay the next anchor.
    pub cannot_pay: bool,
    /// The wallet's balance.
    pub balance_sat: Option<u64>,
    /// The chain tip.
    pub tip_height: Option<u32>,
    /// Batches broadcast and not final.
    pub txs_waiting: u64,
    /// The newest anchoring transaction.
    pub last_txid: Option<String>,
    /// When it was signed.
    pub last_anchor_at: Option<i64>,
    /// Where it confirmed.
    pub last_anchor_height: Option<u32>,
    /// Fees paid this UTC day.
    pub fee_spent_today_sat: u64,
    /// The cap per transaction is reached.
    pub fee_cap_per_tx: bool,
    /// The cap per day is reached.
    pub fee_cap_per_day: bool,
}

impl Heartbeat {
    fn of(seen: &crate::health::Seen, at: i64, poll_secs: u64) -> Heartbeat {
        Heartbeat {
            at,
            poll_secs,
            cannot_pay: seen.cannot_pay,
            balance_sat: seen.balance_sat,
            tip_height: seen.tip_height,
            txs_waiting: seen.txs_waiting,
            last_txid: seen.last_txid.map(|t| t.to_string()),
            last_anchor_at: seen.last_anchor_at,
            last_anchor_height: seen.last_anchor_height,
            fee_spent_today_sat: seen.fee_spent_today_sat,
            fee_cap_per_tx: seen.fee_caps.per_tx,
            fee_cap_per_day: seen.fee_caps.per_day,
        }
    }

    /// Whether the instance that wrote it is still anchoring at `now`.
    pub fn fresh(&self, now: i64) -> bool {
        let stale =
            i64::try_from(self.poll_secs.saturating_mul(3).saturating_add(30)).unwrap_or(i64::MAX);
        now.saturating_sub(self.at) <= stale
    }

    fn apply(&self, s: &mut crate::health::Seen, now: i64) {
        s.running = self.fresh(now);
        s.cannot_pay = self.cannot_pay;
        s.balance_sat = self.balance_sat;
        s.tip_height = self.tip_height;
        s.txs_waiting = self.txs_waiting;
        s.last_txid = self.last_txid.as_deref().and_then(|t| t.parse().ok());
        s.last_anchor_at = self.last_anchor_at;
        s.last_anchor_height = self.last_anchor_height;
        s.fee_spent_today_sat = self.fee_spent_today_sat;
        s.fee_caps = FeeCaps {
            per_tx: self.fee_cap_per_tx,
            per_day: self.fee_cap_per_day,
        };
    }
}

/// A running anchorer.
#[derive(Debug)]
pub struct Anchorer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Anchorer {
    /// Starts the anchorer on `seat` (its own workflow holds the data
    /// directory's lock; a shared one takes it while anchoring).
    pub fn start(
        seat: Seat,
        data_dir: PathBuf,
        health: Arc<Health>,
        options: AnchorerOptions,
    ) -> Anchorer {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::Builder::new()
            .name("calendar-anchorer".into())
            .spawn(move || run(seat, data_dir, &health, &options, &s))
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
    /// The shared database's session holding the anchorer's lock.
    session: Option<PgSession>,
}

/// The name of the calendar's wallet in a shared database.
fn wallet_name(network: bitcoin::Network) -> String {
    format!("calendar-{network}")
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
            let network = self.config.network;
            let wallet = match &self.session {
                None => AnchorWallet::open(&self.data_dir, network),
                Some(s) => AnchorWallet::open_with(
                    &self.data_dir,
                    network,
                    WalletDb::Postgres(PgChangesets::new(s.clone(), &wallet_name(network))),
                ),
            };
            self.wallet = Some(wallet.map_err(|e| text(&e))?);
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
        // A batch fixed (and maybe signed) by a run that was stopped, or by
        // an instance that died, is finished whatever the queue holds.
        let interrupted = !self
            .flow
            .store()
            .batches_in(&[BatchState::Batched])
            .map_err(|e| text(&e))?
            .is_empty();
        let room = o.fees.anchor_room(self.spent_today()?);
        caps.per_day = room.is_none();
        if let (true, true, Some(room)) = (
            (pending > 0 && due) || interrupted,
            spendable >= o.min_balance_sat,
            room,
        ) {
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
        let mut last_txid = None;
        if let Some((batch_id, _)) = newest {
            let store = self.flow.store();
            last_anchor_height = store
                .batch(batch_id)
                .map_err(|e| text(&e))?
                .and_then(|b| b.confirmation)
                .map(|c| c.height);
            // Also a transaction another run (or instance) signed and this
            // one broadcast.
            last_txid = store
                .batch_txs(batch_id)
                .map_err(|e| text(&e))?
                .last()
                .map(|t| t.txid);
        }
        health.update(|s| {
            s.txs_waiting = waiting;
            s.oldest_pending_at = oldest;
            s.tip_height = Some(tip);
            s.fee_spent_today_sat = spent;
            s.fee_caps = caps;
            s.last_anchor_at = newest.map(|(_, at)| at);
            s.last_anchor_height = last_anchor_height;
            if last_txid.is_some() {
                s.last_txid = last_txid;
            }
            s.last_error = None;
        });
        if let Some(session) = &self.session {
            let beat = Heartbeat::of(&health.seen(), now(), o.poll_interval.as_secs());
            let json = serde_json::to_string(&beat).map_err(|e| e.to_string())?;
            session
                .set_setting(HEARTBEAT_KEY, &json)
                .map_err(|e| text(&e))?;
        }
        bump
    }

    /// Whether this anchorer lost the shared database's lock (its session
    /// is gone, or no longer holds it).
    fn lost_lead(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.is_closed() || !s.leads().unwrap_or(false))
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

fn run(seat: Seat, data_dir: PathBuf, health: &Health, o: &AnchorerOptions, stop: &AtomicBool) {
    match seat {
        Seat::Own(flow) => rounds(flow, None, data_dir, health, o, stop),
        Seat::Shared { url, config } => {
            health.update(|s| s.leading = Some(false));
            while let Some((flow, session)) = lead(&url, &config, &data_dir, health, o, stop) {
                tracing::info!("this instance anchors (it holds the database's lock)");
                health.update(|s| s.leading = Some(true));
                rounds(flow, Some(session), data_dir.clone(), health, o, stop);
                health.update(|s| s.leading = Some(false));
            }
        }
        Seat::Frontend { url } => {
            health.update(|s| s.leading = Some(false));
            let mut session: Option<PgSession> = None;
            while !stop.load(Ordering::SeqCst) {
                if session.as_ref().is_none_or(PgSession::is_closed) {
                    session = PgSession::connect(&url).ok();
                }
                match &session {
                    Some(s) => observe(s, health),
                    None => health.update(|s| s.running = false),
                }
                pause(o, stop);
            }
        }
    }
    health.update(|s| s.running = false);
}

/// Sleeps `o.poll_interval`, or until asked to stop.
fn pause(o: &AnchorerOptions, stop: &AtomicBool) {
    let until = Instant::now() + o.poll_interval;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stands by until this instance takes the shared database's lock, then
/// returns the workflow over the shared journal and the session holding
/// the lock; `None` once asked to stop. Meanwhile health is what the
/// anchoring instance last published.
fn lead(
    url: &str,
    config: &Config,
    data_dir: &std::path::Path,
    health: &Health,
    o: &AnchorerOptions,
    stop: &AtomicBool,
) -> Option<(Anchoring, PgSession)> {
    let mut session: Option<PgSession> = None;
    while !stop.load(Ordering::SeqCst) {
        if session.as_ref().is_none_or(PgSession::is_closed) {
            session = match PgSession::connect(url) {
                Ok(s) => Some(s),
                Err(e) => {
                    let message = text(&e);
                    tracing::warn!(error = %message, "cannot reach the shared database");
                    health.update(|s| {
                        s.running = false;
                        s.last_error = Some(message);
                    });
                    None
                }
            };
        }
        if let Some(s) = &session {
            match s.try_lead() {
                Ok(true) => match open_shared(s, config, data_dir) {
                    Ok(flow) => return Some((flow, s.clone())),
                    Err(message) => {
                        // Closing the session releases the lock for another.
                        tracing::warn!(error = %message, "cannot anchor from this instance");
                        health.update(|h| {
                            h.running = false;
                            h.last_error = Some(message);
                        });
                        session = None;
                    }
                },
                Ok(false) => observe(s, health),
                Err(e) => {
                    tracing::warn!(error = %text(&e), "lost the shared database");
                    session = None;
                }
            }
        }
        pause(o, stop);
    }
    None
}

/// The workflow over the shared journal, on `session` (which holds the
/// lock), with the data directory's lock taken.
fn open_shared(
    session: &PgSession,
    config: &Config,
    data_dir: &std::path::Path,
) -> Result<Anchoring, String> {
    let lock = DataLock::acquire(data_dir).map_err(|e| text(&e))?;
    let journal = Box::new(PgJournal::new(session.clone()));
    Anchoring::with_journal(data_dir, lock, journal, config.clone()).map_err(|e| text(&e))
}

/// Health as the anchoring instance last published it, and the shared
/// queue as it is.
fn observe(session: &PgSession, health: &Health) {
    let t = now();
    let beat = session
        .setting(HEARTBEAT_KEY)
        .ok()
        .flatten()
        .and_then(|j| serde_json::from_str::<Heartbeat>(&j).ok());
    let queue = PgJournal::new(session.clone()).queue_summary();
    health.update(|s| {
        match &beat {
            Some(b) => b.apply(s, t),
            None => s.running = false,
        }
        if let Ok((_, oldest)) = queue {
            s.oldest_pending_at = oldest;
        }
    });
}

/// Anchoring rounds over `flow` until asked to stop or, on a shared
/// database, until the lock is lost.
fn rounds(
    mut flow: Anchoring,
    session: Option<PgSession>,
    data_dir: PathBuf,
    health: &Health,
    o: &AnchorerOptions,
    stop: &AtomicBool,
) {
    flow.set_proof_files(ProofFiles::StoreOnly);
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
        session,
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
        if r.lost_lead() {
            tracing::warn!("lost the shared database's lock: standing by");
            health.update(|s| s.running = false);
            return;
        }
        pause(o, stop);
    }
}
