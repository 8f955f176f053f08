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
    /// When the oldest queued record was submitted (seconds since 1970).
    pub oldest_pending_at: Option<i64>,
    /// The last round's error, without secrets or digests.
    pub last_error: Option<String>,
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
                Some(Refusal::PastServiceLimit)
            }
            _ => None,
        }
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
}
