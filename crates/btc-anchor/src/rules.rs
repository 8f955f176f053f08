//! The chain rules a verifier can check from the headers a proof carries,
//! with the built-in [`Checkpoints`]: `docs/proof-format.md` §6.3.
//!
//! A proof carries the anchoring block's header and the headers after it,
//! each linked to the one before and meeting its own target (checked in
//! [`crate::anchor::verify_anchor`]). A forger can mine such headers at the
//! network's easiest target in minutes, so on their own they prove little.
//! These rules bind each carried header to the real chain's difficulty:
//!
//! * **epoch target** (§6.3 rule 1): at a height whose epoch the table covers,
//!   a header carries exactly that epoch's nBits;
//! * **retarget bound** (§6.3 rule 2): past the table's last known target, a
//!   header's target is at most 4× easier per epoch since then (Bitcoin's
//!   retarget moves the target by at most 4× per epoch), and never easier
//!   than the network's limit;
//! * **within the carried headers** (§6.3 rule 3): headers of one epoch carry
//!   the same nBits (networks without minimum-difficulty blocks), a new
//!   epoch's target is within 4× of the one before, and each header's time
//!   is above the median of the 11 carried headers before it;
//! * **checkpoint** (§6.3 rule 4): a carried header at the last height of a
//!   covered epoch has the checkpoint's hash. A proof reaching such a
//!   height is then linked to the real best chain.
//!
//! Testnet3 and testnet4 allow minimum-difficulty blocks (any block more
//! than 20 minutes after the one before may carry the limit), so there only
//! the limit, the checkpoints and the median-time rule apply; their tables
//! record no targets anyway. Regtest never retargets: every header carries
//! the genesis nBits.

use bitcoin::block::Header;
use bitcoin::{BlockHash, CompactTarget, Network, Target};

use crate::checkpoints::{epoch_of, genesis_bits, Checkpoints, EPOCH_BLOCKS};

/// Headers whose median time a header must exceed (BIP113's 11).
pub const MEDIAN_TIME_SPAN: usize = 11;

/// A carried header that breaks a chain rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A header at a covered height without its epoch's target.
    #[error("header at height {height} carries bits 0x{found:08x}, but every block of its difficulty epoch carries 0x{expected:08x}")]
    WrongEpochTarget {
        /// The header's height (as the proof claims it).
        height: u32,
        /// The epoch's nBits.
        expected: u32,
        /// The header's nBits.
        found: u32,
    },
    /// A target easier than the retarget limit allows since the table's
    /// last known target.
    #[error("header at height {height} carries bits 0x{found:08x}, easier than the retarget limit allows {epochs} epochs after the last known target (at most bits 0x{bound:08x})")]
    TargetTooEasy {
        /// The header's height.
        height: u32,
        /// Its nBits.
        found: u32,
        /// The easiest nBits allowed.
        bound: u32,
        /// Epochs since the last known target.
        epochs: u32,
    },
    /// Headers of one epoch with different targets.
    #[error("header at height {height} carries bits 0x{found:08x}, but the header before it in the same difficulty epoch carries 0x{expected:08x}")]
    BitsChangedInEpoch {
        /// The header's height.
        height: u32,
        /// The nBits of the epoch's earlier header.
        expected: u32,
        /// Its nBits.
        found: u32,
    },
    /// A retarget by more than 4×.
    #[error("header at height {height} starts a difficulty epoch with bits 0x{found:08x}, more than 4 times away from the previous epoch's 0x{previous:08x}")]
    RetargetStep {
        /// The header's height.
        height: u32,
        /// The previous epoch's nBits.
        previous: u32,
        /// Its nBits.
        found: u32,
    },
    /// A time not above the median of the 11 headers before.
    #[error("header at height {height} has time {time}, not after the median time {median} of the 11 headers before it")]
    TimeTooEarly {
        /// The header's height.
        height: u32,
        /// Its time.
        time: u32,
        /// The median of the 11 before.
        median: u32,
    },
    /// A header at a checkpoint's height with another hash.
    #[error("header at height {height} is {found}, but the real chain's block at that height is {expected}")]
    CheckpointMismatch {
        /// The checkpoint's height.
        height: u32,
        /// The checkpoint's hash.
        expected: BlockHash,
        /// The header's hash.
        found: BlockHash,
    },
}

/// What the rules established about a run of carried headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedFacts {
    /// The epoch whose checkpoint a carried header matched, if any (the
    /// last one if several).
    pub checkpoint_epoch: Option<u32>,
    /// Whether every header's target was checked exactly against its
    /// epoch's known target (rather than bounded).
    pub targets_exact: bool,
}

/// Whether a network allows minimum-difficulty blocks (testnet3, testnet4).
pub fn allows_min_difficulty(network: Network) -> bool {
    bitcoin::params::Params::new(network).allow_min_difficulty_blocks
}

/// The easiest target allowed at `height` by the table: the exact epoch
/// target if known, else the last known target eased 4× per epoch since,
/// capped at the network's limit. `(bits, exact, epochs since last known)`.
fn target_rule(table: &Checkpoints, height: u32) -> Option<(CompactTarget, bool, u32)> {
    let epoch = epoch_of(height);
    if let Some(bits) = table.epoch_bits(epoch) {
        return Some((bits, true, 0));
    }
    let (known_epoch, known_bits) = table.last_known_bits()?;
    if known_epoch > epoch {
        // A height inside the table whose target is not recorded.
        return None;
    }
    let epochs = epoch - known_epoch;
    let limit = crate::chain::max_target(table.network());
    let mut target = Target::from_compact(known_bits);
    for _ in 0..epochs {
        if target >= limit {
            break;
        }
        target = target.max_transition_threshold_unchecked();
    }
    let bound = if target > limit { limit } else { target };
    Some((bound.to_compact_lossy(), false, epochs))
}

/// Checks the chain rules over headers carried for consecutive heights
/// from `height`, whose hashes (already computed by the caller, who has
/// checked their proof of work and linkage) are `hashes`.
///
/// # Errors
///
/// The first rule a header breaks.
pub fn check_carried(
    table: &Checkpoints,
    height: u32,
    headers: &[&Header],
    hashes: &[BlockHash],
) -> Result<CarriedFacts, RuleError> {
    let network = table.network();
    let params = bitcoin::params::Params::new(network);
    let (min_difficulty, no_retarget) = (
        params.allow_min_difficulty_blocks,
        params.no_pow_retargeting,
    );
    let mut facts = CarriedFacts {
        checkpoint_epoch: None,
        targets_exact: no_retarget || !min_difficulty,
    };
    let mut previous: Option<(u32, CompactTarget)> = None;
    for (i, (header, hash)) in headers.iter().zip(hashes).enumerate() {
        let h = height.saturating_add(i as u32);
        let bits = header.bits;
        let found = bits.to_consensus();
        if no_retarget {
            let expected = genesis_bits(network);
            if bits != expected {
                return Err(RuleError::WrongEpochTarget {
                    height: h,
                    expected: expected.to_consensus(),
                    found,
                });
            }
        } else if !min_difficulty {
            match target_rule(table, h) {
                Some((expected, true, _)) if bits != expected => {
                    return Err(RuleError::WrongEpochTarget {
                        height: h,
                        expected: expected.to_consensus(),
                        found,
                    })
                }
                Some((bound, false, epochs)) => {
                    facts.targets_exact = false;
                    if Target::from_compact(bits) > Target::from_compact(bound) {
                        return Err(RuleError::TargetTooEasy {
                            height: h,
                            found,
                            bound: bound.to_consensus(),
                            epochs,
                        });
                    }
                }
                Some(_) => {}
                None => facts.targets_exact = false,
            }
            if let Some((prev_epoch, prev_bits)) = previous {
                let epoch = epoch_of(h);
                if epoch == prev_epoch && bits != prev_bits {
                    return Err(RuleError::BitsChangedInEpoch {
                        height: h,
                        expected: prev_bits.to_consensus(),
                        found,
                    });
                }
                let (t, p) = (Target::from_compact(bits), Target::from_compact(prev_bits));
                if epoch != prev_epoch
                    && (t > p.max_transition_threshold_unchecked()
                        || t < p.min_transition_threshold())
                {
                    return Err(RuleError::RetargetStep {
                        height: h,
                        previous: prev_bits.to_consensus(),
                        found,
                    });
                }
            }
        }
        previous = Some((epoch_of(h), bits));
        if i >= MEDIAN_TIME_SPAN {
            let mut times = [0u32; MEDIAN_TIME_SPAN];
            for (t, h) in times.iter_mut().zip(&headers[i - MEDIAN_TIME_SPAN..i]) {
                *t = h.time;
            }
            times.sort_unstable();
            let median = times[MEDIAN_TIME_SPAN / 2];
            if header.time <= median {
                return Err(RuleError::TimeTooEarly {
                    height: h,
                    time: header.time,
                    median,
                });
            }
        }
        let genesis = (h == 0).then(|| bitcoin::constants::genesis_block(network).block_hash());
        if let Some(expected) = genesis.or_else(|| table.hash_at(h)) {
            if *hash != expected {
                return Err(RuleError::CheckpointMismatch {
                    height: h,
                    expected,
                    found: *hash,
                });
            }
            facts.checkpoint_epoch = Some(epoch_of(h));
        }
    }
    Ok(facts)
}

/// Checks one header at `height` against the table: its epoch's target
/// (or the retarget bound past the table) and, at a checkpoint height, the
/// checkpoint's hash. For headers that a header source serves.
///
/// # Errors
///
/// The rule the header breaks.
pub fn check_header_rules(
    table: &Checkpoints,
    height: u32,
    header: &Header,
    hash: &BlockHash,
) -> Result<(), RuleError> {
    check_carried(table, height, &[header], std::slice::from_ref(hash)).map(|_| ())
}

/// Why a header that a source served (an Electrum server, any chain
/// backend) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServedHeaderError {
    /// Its proof of work, or its link to the header before.
    #[error(transparent)]
    Work(#[from] crate::chain::HeaderError),
    /// A chain rule against the built-in checkpoints.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// Checks a header a source served for `height`, the one check every
/// untrusted header answer goes through: it links to `prev` (the hash of
/// the header at `height - 1`, when the caller has it), meets its own
/// proof-of-work target within the network's limit
/// ([`crate::chain::check_header_work`]), and keeps the chain rules with
/// the network's built-in checkpoints ([`check_header_rules`]). Returns its
/// hash.
///
/// # Errors
///
/// The first check the header fails.
pub fn check_served_header(
    network: Network,
    height: u32,
    header: &Header,
    prev: Option<&BlockHash>,
) -> Result<BlockHash, ServedHeaderError> {
    if let Some(p) = prev {
        if header.prev_blockhash != *p {
            return Err(crate::chain::HeaderError::NotLinked { height }.into());
        }
    }
    let hash = crate::chain::check_header_work(header, height, network)?;
    check_header_rules(Checkpoints::builtin(network), height, header, &hash)?;
    Ok(hash)
}

/// The height of the last block of the epoch holding `height`.
pub fn epoch_last_height(height: u32) -> u32 {
    crate::checkpoints::epoch_end(epoch_of(height))
}

/// Headers needed after a block at `height` to reach its epoch's last
/// block (0 for the last block itself).
pub fn headers_to_epoch_end(height: u32) -> u32 {
    EPOCH_BLOCKS - 1 - height % EPOCH_BLOCKS
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::block::Version;
    use bitcoin::hashes::Hash as _;
    use bitcoin::TxMerkleNode;

    fn header(bits: u32, time: u32) -> Header {
        Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::all_zeros(),
            time,
            bits: CompactTarget::from_consensus(bits),
            nonce: 0,
        }
    }

    fn check(table: &Checkpoints, height: u32, hs: &[Header]) -> Result<CarriedFacts, RuleError> {
        let refs: Vec<&Header> = hs.iter().collect();
        let hashes: Vec<BlockHash> = hs.iter().map(|h| h.block_hash()).collect();
        check_carried(table, height, &refs, &hashes)
    }

    #[test]
    fn mainnet_epoch_targets() {
        let main = Checkpoints::builtin(Network::Bitcoin);
        // Block 437,303's real bits pass; the neighbouring epochs' fail.
        assert!(check(main, 437_303, &[header(0x1804_55d2, 1_479_000_000)]).is_ok());
        let e = check(main, 437_303 + 2016, &[header(0x1804_55d2, 1_479_000_000)]).unwrap_err();
        assert!(
            matches!(
                e,
                RuleError::WrongEpochTarget {
                    expected: 0x1804_5174,
                    ..
                }
            ),
            "{e}"
        );
        let e = check(main, 100_000, &[header(0x1d00_ffff, 1_293_623_863)]).unwrap_err();
        assert!(matches!(e, RuleError::WrongEpochTarget { .. }), "{e}");
        // Epoch 0 carries the limit.
        let f = check(main, 1_000, &[header(0x1d00_ffff, 1_232_000_000)]).unwrap();
        assert!(f.targets_exact);
        assert_eq!(f.checkpoint_epoch, None);
    }

    #[test]
    fn past_the_table_the_bound_eases_four_times_an_epoch() {
        let main = Checkpoints::builtin(Network::Bitcoin);
        let (known, bits) = main.last_known_bits().unwrap();
        let start = known * EPOCH_BLOCKS;
        // One epoch later, 4x easier is allowed, 16x is not.
        let t = Target::from_compact(bits);
        let four = t.max_transition_threshold_unchecked().to_compact_lossy();
        let sixteen = t
            .max_transition_threshold_unchecked()
            .max_transition_threshold_unchecked()
            .to_compact_lossy();
        let f = check(
            main,
            start + EPOCH_BLOCKS,
            &[header(four.to_consensus(), 1)],
        )
        .unwrap();
        assert!(!f.targets_exact);
        let e = check(
            main,
            start + EPOCH_BLOCKS,
            &[header(sixteen.to_consensus(), 1)],
        )
        .unwrap_err();
        assert!(
            matches!(e, RuleError::TargetTooEasy { epochs: 1, .. }),
            "{e}"
        );
        // Far enough, even the limit is allowed: the bound alone is weak,
        // which is why the verdict also weighs the work carried.
        assert!(check(main, start + 200 * EPOCH_BLOCKS, &[header(0x1d00_ffff, 1)]).is_ok());
    }

    #[test]
    fn carried_run_rules() {
        let main = Checkpoints::builtin(Network::Bitcoin);
        let e = check(
            main,
            1_000,
            &[header(0x1d00_ffff, 10), header(0x1c00_ffff, 20)],
        )
        .unwrap_err();
        // Epoch 0 is covered: the exact rule fires first.
        assert!(
            matches!(e, RuleError::WrongEpochTarget { height: 1_001, .. }),
            "{e}"
        );
        // Past the table: same-epoch change and over-4x steps.
        let (known, bits) = main.last_known_bits().unwrap();
        let h = (known + 1) * EPOCH_BLOCKS + 5;
        let b = bits.to_consensus();
        let harder = Target::from_compact(bits).min_transition_threshold();
        let e = check(
            main,
            h,
            &[
                header(b, 10),
                header(harder.to_compact_lossy().to_consensus(), 20),
            ],
        )
        .unwrap_err();
        assert!(matches!(e, RuleError::BitsChangedInEpoch { .. }), "{e}");
        let much_harder = harder
            .min_transition_threshold()
            .to_compact_lossy()
            .to_consensus();
        let e = check(
            main,
            (known + 2) * EPOCH_BLOCKS - 1,
            &[header(b, 10), header(much_harder, 20)],
        )
        .unwrap_err();
        assert!(matches!(e, RuleError::RetargetStep { .. }), "{e}");
        // Median time: the 12th header must be after the median of 11.
        let mut run: Vec<Header> = (0..11).map(|i| header(0x1d00_ffff, 100 + i)).collect();
        run.push(header(0x1d00_ffff, 105));
        let e = check(main, 1_000, &run).unwrap_err();
        assert_eq!(
            e,
            RuleError::TimeTooEarly {
                height: 1_011,
                time: 105,
                median: 105
            }
        );
        run[11].time = 106;
        assert!(check(main, 1_000, &run).is_ok());
    }

    #[test]
    fn checkpoint_heights() {
        let main = Checkpoints::builtin(Network::Bitcoin);
        let e = check(main, 2015, &[header(0x1d00_ffff, 1)]).unwrap_err();
        assert!(
            matches!(e, RuleError::CheckpointMismatch { height: 2015, .. }),
            "{e}"
        );
        let regtest = Checkpoints::builtin(Network::Regtest);
        let e = check(regtest, 5, &[header(0x1d00_ffff, 1)]).unwrap_err();
        assert!(
            matches!(
                e,
                RuleError::WrongEpochTarget {
                    expected: 0x207f_ffff,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(headers_to_epoch_end(2015), 0);
        assert_eq!(headers_to_epoch_end(2016), 2015);
        assert_eq!(epoch_last_height(5000), 6047);
    }
}
