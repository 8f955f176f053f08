//! Honest health (`docs/server-api.md` §4): what the anchorer last saw,
//! and why submissions are refused when it cannot work.

use std::sync::Mutex;

use bitcoin::Txid;

/// Why submissions are refused (the texts of §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The anchorer has not finished a round, or has stopped.
    #[error("the anchorer is not running")]
    NotRunning,
    /// The wallet cannot pay the next anchor.
    #[error("the wallet cannot pay the next anchor")]
    CannotPay,
    /// The oldest pending record is past the service limit.
    #[error("the oldest pending digest is past the service limit")]
    PastServiceLimit,
    /// A graceful shutdown has begun.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The writer's queue is full.
    #[error("the server is overloaded")]
    Overloaded,
    /// The day's fee cap stops anchoring until the next UTC day, and a
    /// record submitted now would wait past the service limit.
    #[error("the daily fee cap is reached")]
    DailyFeeCap,
}

/// Which fee cap stopped the anchorer (`docs/server-api.md` §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeCaps {
    /// The newest unconfirmed anchoring transaction cannot be bumped
    /// without paying more than `max_fee_per_tx_sat`.
    pub per_tx: bool,
    /// Today's fees reached `max_fee_per_day_sat`: no anchor and no bump
    /// until the next UTC day.
    pub per_day: bool,
}

impl FeeCaps {
    /// Whether any cap is reached.
    pub fn any(&self) -> bool {
        self.per_tx || self.per_day
    }
}

/// What the anchorer reports after each round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// Whether the last round reached the chain and the wallet.
    pub running: bool,
    /// Whether the wallet cannot pay the next anchor.
    pub cannot_pay: bool,
    /// The wallet's confirmed and trusted balance, in satoshis.
    pub balance_sat: Option<u64>,
    /// The chain tip.
    pub tip_height: Option<u32>,
    /// Batches broadcast and not final.
    pub txs_waiting: u64,
    /// The newest anchoring transaction.
    pub last_txid: Option<Txid>,
    /// When the newest anchoring transaction was signed (seconds since
    /// 1970).
    pub last_anchor_at: Option<i64>,
    /// The block height the newest anchoring transaction confirmed at.
    pub last_anchor_height: Option<u32>,
    /// Fees paid for anchors and bumps this UTC day, in satoshis.
    pub fee_spent_today_sat: u64,
    /// The fee caps reached.
    pub fee_caps: FeeCaps,
    /// When the oldest queued record was submitted (seconds since 1970).
    pub oldest_pending_at: Option<i64>,
    /// The last round's error, without secrets or digests.
    pub last_error: Option<String>,
    /// With a shared database (§12): whether this instance is the one
    /// anchoring (`Some(true)`) or stands by (`Some(false)`); `None` for
    /// a server alone on its data directory.
    pub leading: Option<bool>,
}

/// The shared health of one server.
#[derive(Debug, Default)]
pub struct Health {
    seen: Mutex<Seen>,
    shutting_down: std::sync::atomic::AtomicBool,
    max_pending_secs: i64,
}

impl Health {
    /// Health with the service limit of §4.
    pub fn new(max_pending_secs: u64) -> Health {
        Health {
            max_pending_secs: i64::try_from(max_pending_secs).unwrap_or(i64::MAX),
            ..Health::default()
        }
    }

    /// What the anchorer saw last.
    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Updates what the anchorer saw.
    pub fn update(&self, f: impl FnOnce(&mut Seen)) {
        if let Ok(mut s) = self.seen.lock() {
            f(&mut s);
        }
    }

    /// Marks the start of a graceful shutdown.
    pub fn shut_down(&self) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Why submissions are refused now (`now`: seconds since 1970), or
    /// `None` when they are taken.
    pub fn refusal(&self, now: i64) -> Option<Refusal> {
        if self.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            return Some(Refusal::ShuttingDown);
        }
        let s = self.seen();
        if !s.running {
            return Some(Refusal::NotRunning);
        }
        if s.cannot_pay {
            return Some(Refusal::CannotPay);
        }
        match s.oldest_pending_at {
            Some(t) if now.saturating_sub(t) > self.max_pending_secs => {
                return Some(Refusal::PastServiceLimit)
            }
            _ => {}
        }
        if s.fee_caps.per_day {
            // Nothing is anchored before the next UTC day: a record taken
            // now waits at least until then, the queue's oldest longer.
            let since = s.oldest_pending_at.unwrap_or(now).min(now);
            let next_day = now
                .div_euclid(86_400)
                .saturating_add(1)
                .saturating_mul(86_400);
            if next_day.saturating_sub(since) > self.max_pending_secs {
                return Some(Refusal::DailyFeeCap);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_in_order() {
        let h = Health::new(60);
        assert_eq!(h.refusal(1000), Some(Refusal::NotRunning));
        h.update(|s| s.running = true);
        assert_eq!(h.refusal(1000), None);
        h.update(|s| s.oldest_pending_at = Some(900));
        assert_eq!(h.refusal(1000), Some(Refusal::PastServiceLimit));
        h.update(|s| s.cannot_pay = true);
        assert_eq!(h.refusal(1000), Some(Refusal::CannotPay));
        h.shut_down();
        assert_eq!(h.refusal(1000), Some(Refusal::ShuttingDown));
    }

    #[test]
    fn the_day_cap_refuses_only_what_would_wait_past_the_limit() {
        let day = 86_400 * 20_000;
        let h = Health::new(3600);
        h.update(|s| {
            s.running = true;
            s.fee_caps.per_day = true;
        });
        // Two hours before midnight UTC: a record would wait two hours.
        assert_eq!(h.refusal(day - 7200), Some(Refusal::DailyFeeCap));
        // Half an hour before: it would be anchored in time.
        assert_eq!(h.refusal(day - 1800), None);
        // ... unless the queue's oldest has waited long already.
        h.update(|s| s.oldest_pending_at = Some(day - 1800 - 3000));
        assert_eq!(h.refusal(day - 1800), Some(Refusal::DailyFeeCap));
        // The cap per transaction refuses nothing: new batches anchor.
        h.update(|s| {
            s.fee_caps = FeeCaps {
                per_tx: true,
                per_day: false,
            }
        });
        assert_eq!(h.refusal(day - 1800), None);
        // A day cap with the default service limit of a day refuses nothing.
        let h = Health::new(86_400);
        h.update(|s| {
            s.running = true;
            s.fee_caps.per_day = true;
        });
        assert_eq!(h.refusal(day - 86_000), None);
    }
}
