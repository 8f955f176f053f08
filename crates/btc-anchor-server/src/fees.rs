//! Bounded fees (`docs/server-api.md` §9): when the anchorer bumps a
//! stuck anchoring transaction, and what it may spend on one transaction
//! and in one UTC day.
//!
//! * [`decide_bump`] is the whole decision, a pure function of what the
//!   store and the chain say, so that it is tested without a network.
//! * [`FeeLedger`] is what was spent: one row per anchoring transaction
//!   in the calendar's database (`store.sqlite`, table
//!   `calendar_fee_ledger`), written from the workflow's store after each
//!   step and at start-up, so a restart neither forgets nor double-counts
//!   a fee.
//!
//! Only one transaction of a batch confirms (a replacement spends the
//! inputs of the one it replaces), so the fee of a batch is the highest
//! fee among its transactions: the first is charged its fee, and each
//! replacement what it pays over the highest before it.

use std::path::Path;
use std::time::Duration;

use bitcoin::hashes::Hash as _;
use bitcoin::Txid;
use btc_anchor_workflow::store::{StoredTx, STORE_FILE};
use rusqlite::{params, Connection, OptionalExtension};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The highest fee rate the workflow takes, in sat/vB.
pub const MAX_FEE_RATE: f64 = 10_000.0;

/// The UTC day of `unix` (seconds since 1970): days since 1970-01-01.
pub fn utc_day(unix: i64) -> i64 {
    unix.div_euclid(DAY)
}

/// The fee bounds of `server.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeLimits {
    /// Blocks an anchoring transaction may stay unconfirmed before it is
    /// bumped (counted from when the anchorer first saw it).
    pub bump_after_blocks: u32,
    /// Most fee one batch's transaction may pay, replacements included.
    pub max_fee_per_tx_sat: u64,
    /// Most fees charged in one UTC day, anchors and bumps together.
    pub max_fee_per_day_sat: u64,
}

impl FeeLimits {
    /// The most a new anchor may pay after `spent_today_sat` today, or
    /// `None` when the day's cap is reached.
    pub fn anchor_room(&self, spent_today_sat: u64) -> Option<u64> {
        let day_room = self.max_fee_per_day_sat.checked_sub(spent_today_sat)?;
        (day_room > 0).then(|| day_room.min(self.max_fee_per_tx_sat))
    }
}

/// The newest unconfirmed anchoring transaction, as [`decide_bump`] sees
/// it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stuck {
    /// The chain tip when the anchorer first saw the transaction.
    pub seen_at_tip: u32,
    /// Its fee, in satoshis.
    pub fee_sat: u64,
    /// Its virtual size.
    pub vsize: u64,
}

/// What to do about the newest unconfirmed anchoring transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BumpDecision {
    /// Not stuck yet: `blocks_left` more blocks before a bump.
    Wait {
        /// Blocks to go.
        blocks_left: u32,
    },
    /// Replace it at `fee_rate` (sat/vB), paying at most `max_fee_sat`.
    Bump {
        /// The replacement's fee rate.
        fee_rate: f64,
        /// The replacement's largest fee: within both caps.
        max_fee_sat: u64,
    },
    /// A replacement would pay more than `max_fee_per_tx_sat`.
    TxCapReached,
    /// A replacement would take today's fees past `max_fee_per_day_sat`.
    DayCapReached,
}

/// Decides whether to bump `stuck` at chain tip `tip`, after
/// `spent_today_sat` charged today, towards the server's estimate
/// `estimate` (sat/vB) when it has one.
///
/// A bump asks for 1.5 times the old rate (as `btc-anchor bump` does), at
/// least 1 sat/vB more (the relay rule for replacements), or the estimate
/// if higher; it is lowered to what the caps leave, and refused when they
/// leave less than the 1 sat/vB more a replacement must pay. The
/// replacement is charged only what it pays over `stuck`.
pub fn decide_bump(
    limits: &FeeLimits,
    stuck: &Stuck,
    tip: u32,
    spent_today_sat: u64,
    estimate: Option<f64>,
) -> BumpDecision {
    let due = stuck.seen_at_tip.saturating_add(limits.bump_after_blocks);
    if tip < due {
        return BumpDecision::Wait {
            blocks_left: due - tip,
        };
    }
    let vsize = stuck.vsize.max(1);
    let old_rate = stuck.fee_sat as f64 / vsize as f64;
    let day_room = limits
        .max_fee_per_day_sat
        .saturating_sub(spent_today_sat)
        .saturating_add(stuck.fee_sat);
    let allowed = limits.max_fee_per_tx_sat.min(day_room);
    let least = stuck.fee_sat.saturating_add(vsize);
    if allowed < least {
        return if day_room < limits.max_fee_per_tx_sat {
            BumpDecision::DayCapReached
        } else {
            BumpDecision::TxCapReached
        };
    }
    let wanted = (old_rate * 1.5)
        .max(old_rate + 1.0)
        .max(estimate.unwrap_or(0.0))
        .min(MAX_FEE_RATE);
    // Whole thousandths of a sat/vB, rounded down, so that the rate the
    // caps leave is never exceeded.
    let room_rate = ((allowed as f64 / vsize as f64) * 1000.0).floor() / 1000.0;
    let fee_rate = wanted.min(room_rate).max(1.0);
    BumpDecision::Bump {
        fee_rate,
        max_fee_sat: allowed,
    }
}

/// What [`FeeLedger`] charges each of one batch's transactions (oldest
/// first): the first its fee, each later one what it pays over the
/// highest fee before it.
pub fn charges(fees: &[u64]) -> Vec<u64> {
    let mut highest = 0;
    fees.iter()
        .map(|&f| {
            let c = f.saturating_sub(highest);
            highest = highest.max(f);
            c
        })
        .collect()
}

/// Errors of the fee ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeeLedgerError {
    /// The database failed.
    #[error("fee ledger database")]
    Sqlite(#[from] rusqlite::Error),
    /// A fee or a height does not fit the database's integers.
    #[error("fee ledger value {0} out of range")]
    OutOfRange(u64),
}

/// The fees charged, by transaction and UTC day, in the calendar's
/// database.
#[derive(Debug)]
pub struct FeeLedger {
    conn: Connection,
}

impl FeeLedger {
    /// Opens (creating its table) the ledger of `data_dir`'s store.
    ///
    /// # Errors
    ///
    /// A database that cannot be opened.
    pub fn open(data_dir: &Path) -> Result<FeeLedger, FeeLedgerError> {
        let conn = Connection::open(data_dir.join(STORE_FILE))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS calendar_fee_ledger (
                 txid BLOB PRIMARY KEY,
                 batch_id INTEGER NOT NULL,
                 day INTEGER NOT NULL,
                 charged_sat INTEGER NOT NULL,
                 seen_at_tip INTEGER NOT NULL,
                 created_at INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS calendar_fee_ledger_day
                 ON calendar_fee_ledger (day);",
        )?;
        Ok(FeeLedger { conn })
    }

    /// Charges the transactions of one batch (oldest first) not charged
    /// yet, each to the UTC day it was signed, seen first at `tip`.
    /// Returns how many were new.
    ///
    /// # Errors
    ///
    /// A database that cannot be written.
    pub fn note_batch(&mut self, txs: &[StoredTx], tip: u32) -> Result<usize, FeeLedgerError> {
        let fees: Vec<u64> = txs.iter().map(|t| t.fee_sat).collect();
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO calendar_fee_ledger
                     (txid, batch_id, day, charged_sat, seen_at_tip, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (t, charge) in txs.iter().zip(charges(&fees)) {
                let charge =
                    i64::try_from(charge).map_err(|_| FeeLedgerError::OutOfRange(charge))?;
                added += stmt.execute(params![
                    t.txid.to_byte_array().as_slice(),
                    t.batch_id,
                    utc_day(t.created_at),
                    charge,
                    tip,
                    t.created_at
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The fees charged on UTC day `day`.
    ///
    /// # Errors
    ///
    /// A database that cannot be read.
    pub fn spent_on(&self, day: i64) -> Result<u64, FeeLedgerError> {
        let sum: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(charged_sat), 0) FROM calendar_fee_ledger WHERE day = ?1",
            [day],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    /// The batch and signing time (seconds since 1970) of the newest
    /// anchoring transaction charged.
    ///
    /// # Errors
    ///
    /// A database that cannot be read.
    pub fn newest(&self) -> Result<Option<(i64, i64)>, FeeLedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT batch_id, created_at FROM calendar_fee_ledger
                 ORDER BY created_at DESC, batch_id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The chain tip when `txid` was first seen, if it is charged.
    ///
    /// # Errors
    ///
    /// A database that cannot be read.
    pub fn seen_at_tip(&self, txid: &Txid) -> Result<Option<u32>, FeeLedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seen_at_tip FROM calendar_fee_ledger WHERE txid = ?1",
                [txid.to_byte_array().as_slice()],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: FeeLimits = FeeLimits {
        bump_after_blocks: 6,
        max_fee_per_tx_sat: 10_000,
        max_fee_per_day_sat: 50_000,
    };

    fn stuck(fee_sat: u64) -> Stuck {
        Stuck {
            seen_at_tip: 100,
            fee_sat,
            vsize: 200,
        }
    }

    #[test]
    fn waits_then_bumps_by_half_then_stops_at_the_caps() {
        assert_eq!(
            decide_bump(&LIMITS, &stuck(400), 105, 0, None),
            BumpDecision::Wait { blocks_left: 1 }
        );
        assert_eq!(
            decide_bump(&LIMITS, &stuck(400), 106, 0, None),
            BumpDecision::Bump {
                fee_rate: 3.0,
                max_fee_sat: 10_000
            }
        );
        // A higher estimate wins, lowered to what the cap leaves.
        assert_eq!(
            decide_bump(&LIMITS, &stuck(400), 106, 0, Some(80.0)),
            BumpDecision::Bump {
                fee_rate: 50.0,
                max_fee_sat: 10_000
            }
        );
        // No room for 1 sat/vB more under the cap per transaction.
        assert_eq!(
            decide_bump(&LIMITS, &stuck(9_900), 200, 0, None),
            BumpDecision::TxCapReached
        );
        // The day's room: the replacement is charged what it adds.
        assert_eq!(
            decide_bump(&LIMITS, &stuck(400), 106, 49_900, None),
            BumpDecision::DayCapReached
        );
        assert_eq!(
            decide_bump(&LIMITS, &stuck(400), 106, 49_700, None),
            BumpDecision::Bump {
                fee_rate: 3.0,
                max_fee_sat: 700
            }
        );
    }

    #[test]
    fn a_new_anchor_gets_what_the_day_leaves() {
        assert_eq!(LIMITS.anchor_room(0), Some(10_000));
        assert_eq!(LIMITS.anchor_room(45_000), Some(5_000));
        assert_eq!(LIMITS.anchor_room(50_000), None);
        assert_eq!(LIMITS.anchor_room(60_000), None);
    }

    #[test]
    fn a_batch_is_charged_its_highest_fee_once() {
        assert_eq!(charges(&[400, 600, 900]), vec![400, 200, 300]);
        assert_eq!(charges(&[400, 300, 500]), vec![400, 0, 100]);
        assert_eq!(utc_day(86_399), 0);
        assert_eq!(utc_day(86_400), 1);
        assert_eq!(utc_day(-1), -1);
    }

    #[test]
    fn the_ledger_survives_reopening_and_counts_each_tx_once() {
        use bitcoin::absolute::LockTime;
        use bitcoin::transaction::Version;
        let dir = tempfile::tempdir().unwrap();
        let tx = |n: u32, fee_sat: u64, created_at: i64| {
            let t = bitcoin::Transaction {
                version: Version::TWO,
                lock_time: LockTime::from_consensus(n),
                input: vec![],
                output: vec![],
            };
            StoredTx {
                txid: t.compute_txid(),
                batch_id: 1,
                tx: t,
                fee_sat,
                fee_rate: 1.0,
                created_at,
                broadcast_at: None,
            }
        };
        let day = 20_000 * DAY;
        let a = tx(1, 400, day - 10);
        let b = tx(2, 700, day + 10);
        {
            let mut l = FeeLedger::open(dir.path()).unwrap();
            assert_eq!(l.note_batch(std::slice::from_ref(&a), 50).unwrap(), 1);
            assert_eq!(l.note_batch(&[a.clone(), b.clone()], 57).unwrap(), 1);
            assert_eq!(l.note_batch(&[a.clone(), b.clone()], 60).unwrap(), 0);
        }
        let l = FeeLedger::open(dir.path()).unwrap();
        assert_eq!(l.spent_on(utc_day(day - 10)).unwrap(), 400);
        assert_eq!(l.spent_on(utc_day(day)).unwrap(), 300);
        assert_eq!(l.seen_at_tip(&a.txid).unwrap(), Some(50));
        assert_eq!(l.seen_at_tip(&b.txid).unwrap(), Some(57));
        assert_eq!(l.newest().unwrap(), Some((1, day + 10)));
    }

    proptest! {
        #[test]
        fn a_bump_stays_within_both_caps_and_pays_more(
            fee_sat in 0u64..200_000,
            vsize in 100u64..2_000,
            per_tx in 0u64..300_000,
            per_day in 0u64..1_000_000,
            spent in 0u64..1_000_000,
            after in 0u32..20,
            seen in 0u32..1_000,
            tip in 0u32..1_100,
            estimate in proptest::option::of(1.0f64..20_000.0),
        ) {
            let limits = FeeLimits {
                bump_after_blocks: after,
                max_fee_per_tx_sat: per_tx,
                max_fee_per_day_sat: per_day,
            };
            let s = Stuck { seen_at_tip: seen, fee_sat, vsize };
            match decide_bump(&limits, &s, tip, spent, estimate) {
                BumpDecision::Wait { blocks_left } => {
                    prop_assert!(u64::from(tip) < u64::from(seen) + u64::from(after));
                    prop_assert_eq!(u64::from(tip) + u64::from(blocks_left), u64::from(seen) + u64::from(after));
                }
                BumpDecision::Bump { fee_rate, max_fee_sat } => {
                    prop_assert!(u64::from(tip) >= u64::from(seen) + u64::from(after));
                    prop_assert!(max_fee_sat <= per_tx);
                    // Charged only what it adds, within the day's room.
                    prop_assert!(max_fee_sat - fee_sat + spent <= per_day);
                    prop_assert!(max_fee_sat >= fee_sat + vsize);
                    // At least 1 sat/vB more, never past the caps or the range.
                    prop_assert!(fee_rate * vsize as f64 <= max_fee_sat as f64 + 1e-6);
                    prop_assert!(fee_rate + 1e-9 >= fee_sat as f64 / vsize as f64 + 1.0 - 0.001 * 2.0);
                    prop_assert!((1.0..=MAX_FEE_RATE).contains(&fee_rate));
                }
                BumpDecision::TxCapReached | BumpDecision::DayCapReached => {
                    prop_assert!(u64::from(tip) >= u64::from(seen) + u64::from(after));
                    let room = per_tx.min(per_day.saturating_sub(spent).saturating_add(fee_sat));
                    prop_assert!(room < fee_sat + vsize);
                }
            }
        }

        #[test]
        fn more_room_never_stops_a_bump(
            fee_sat in 0u64..50_000,
            vsize in 100u64..2_000,
            per_tx in 0u64..100_000,
            per_day in 0u64..300_000,
            spent in 0u64..300_000,
            more in 0u64..100_000,
        ) {
            let limits = FeeLimits { bump_after_blocks: 0, max_fee_per_tx_sat: per_tx, max_fee_per_day_sat: per_day };
            let wider = FeeLimits { max_fee_per_tx_sat: per_tx + more, max_fee_per_day_sat: per_day + more, ..limits };
            let s = Stuck { seen_at_tip: 0, fee_sat, vsize };
            if let BumpDecision::Bump { .. } = decide_bump(&limits, &s, 0, spent, None) {
                let is_bump = matches!(decide_bump(&wider, &s, 0, spent, None), BumpDecision::Bump { .. });
                prop_assert!(is_bump);
            }
        }
    }
}
