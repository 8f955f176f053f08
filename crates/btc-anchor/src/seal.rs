//! Sealing: extending a complete proof's headers to the last block of its
//! difficulty epoch.
//!
//! A complete proof carries the headers after its block that existed when
//! it was written, typically a handful. Once the block's difficulty epoch
//! has closed (the chain has reached the epoch's last block, height
//! `2016*i + 2015`), those headers can be extended up to that block:
//! [`seal`] does so from a [`HeaderSource`], checking that the source's
//! chain holds the proof's block and the headers the proof already carries,
//! and that the headers it adds link. A sealed proof reaches a height a
//! checkpoint table pins ([`crate::checkpoints`]), so a verifier whose
//! table covers the epoch places the block in the real best chain from the
//! file alone ([`crate::verify::Evidence::Checkpoint`]).
//!
//! A sealed proof carries up to 2,015 more headers, about 330 KB of hex:
//! seal the proofs that must stand alone for years, not every proof.

use bitcoin::block::Header;
use bitcoin::{BlockHash, Network};

use crate::checkpoints::{epoch_end, epoch_of};
use crate::headers::{EmbeddedOnly, HeaderSource, HeaderSourceError};
use crate::proof::{BlockProof, Proof, Stage};
use crate::verify::{verify, Report, VerifyError, VerifyOptions};

/// Why a proof could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The proof is for another network than the one asked for.
    #[error("the proof is for {found}, expected {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: Network,
        /// The proof's network.
        found: Network,
    },
    /// The proof has no block yet: only a complete proof can be sealed.
    #[error(
        "a {stage} proof has no block to seal; only a complete (confirmed) proof can be sealed"
    )]
    NotConfirmed {
        /// The proof's stage.
        stage: Stage,
    },
    /// The header source knows no chain.
    #[error("the header source knows no chain")]
    NoChain,
    /// The header source's chain ends before the proof's block.
    #[error("the header source's chain ends at height {tip}, before the proof's block at height {height}")]
    SourceTooShort {
        /// The proof's block height.
        height: u32,
        /// The source's best height.
        tip: u32,
    },
    /// The header source gave fewer headers than its tip promised.
    #[error("the header source gave {found} headers from height {start}, expected {expected}")]
    ShortRange {
        /// The first height asked for.
        start: u32,
        /// Headers asked for.
        expected: u32,
        /// Headers given.
        found: u32,
    },
    /// The source's best chain has another block at the proof's height.
    #[error("the proof's block {expected} at height {height} is not in the header source's best chain, which has {found} there")]
    NotInChain {
        /// The height.
        height: u32,
        /// The proof's block hash.
        expected: BlockHash,
        /// The source's block hash at that height.
        found: BlockHash,
    },
    /// A header the proof carries after its block differs from the
    /// source's.
    #[error("the proof carries header {expected} at height {height}, but the header source has {found} there")]
    HeaderMismatch {
        /// The height.
        height: u32,
        /// The carried header's hash.
        expected: BlockHash,
        /// The source's header's hash.
        found: BlockHash,
    },
    /// A header from the source does not name the one before it.
    #[error("the header source's header at height {height} does not link to the one before it (it names {found}, expected {expected})")]
    NotLinked {
        /// The header's height.
        height: u32,
        /// The hash of the source's header at `height - 1`.
        expected: BlockHash,
        /// The previous-block hash the header names.
        found: BlockHash,
    },
    /// The header source failed.
    #[error("the header source failed")]
    Source(#[from] HeaderSourceError),
    /// The sealed proof does not verify (with the options given): the
    /// source's headers break a chain rule or fail their proof of work, or
    /// the proof was invalid to begin with.
    #[error("the sealed proof does not verify")]
    Verify(#[source] VerifyError),
}

impl SealError {
    /// A stable short name for the reason, for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            SealError::WrongNetwork { .. } => "wrong-network",
            SealError::NotConfirmed { .. } => "not-confirmed",
            SealError::NoChain => "no-chain",
            SealError::SourceTooShort { .. } => "source-too-short",
            SealError::ShortRange { .. } => "short-range",
            SealError::NotInChain { .. } => "not-in-chain",
            SealError::HeaderMismatch { .. } => "header-mismatch",
            SealError::NotLinked { .. } => "not-linked",
            SealError::Source(_) => "header-source",
            SealError::Verify(_) => "does-not-verify",
        }
    }
}

/// What [`seal`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sealed {
    /// Headers were added: the proof now carries every header up to its
    /// epoch's last block, and verifies.
    Extended {
        /// The sealed proof.
        proof: Box<Proof>,
        /// Headers added after those the proof carried.
        added: u32,
        /// The anchoring block's difficulty epoch.
        epoch: u32,
        /// Its last block's height, the last header the proof now carries.
        epoch_end: u32,
        /// The sealed proof's verification, offline (from the file alone)
        /// with the options given.
        report: Box<Report>,
    },
    /// The proof already carries headers up to its epoch's last block (or
    /// beyond); nothing changed.
    AlreadySealed {
        /// The anchoring block's difficulty epoch.
        epoch: u32,
        /// Its last block's height.
        epoch_end: u32,
        /// The proof's verification, offline with the options given.
        report: Box<Report>,
    },
    /// The epoch has not closed in the source's best chain yet; nothing
    /// changed.
    EpochOpen {
        /// The anchoring block's difficulty epoch.
        epoch: u32,
        /// Its last block's height.
        epoch_end: u32,
        /// The source's best height.
        tip: u32,
        /// Blocks still to be mined before the epoch closes.
        blocks_to_go: u32,
    },
}

impl Sealed {
    /// Whether the proof changed (and should be written back).
    pub fn changed(&self) -> bool {
        matches!(self, Sealed::Extended { .. })
    }

    /// The sealed proof, if headers were added.
    pub fn proof(&self) -> Option<&Proof> {
        match self {
            Sealed::Extended { proof, .. } => Some(proof),
            _ => None,
        }
    }

    /// The verification of the sealed (or already sealed) proof.
    pub fn report(&self) -> Option<&Report> {
        match self {
            Sealed::Extended { report, .. } | Sealed::AlreadySealed { report, .. } => Some(report),
            Sealed::EpochOpen { .. } => None,
        }
    }
}

/// Whether a complete proof already carries headers up to the last block
/// of its block's difficulty epoch. `false` for a proof without a block.
pub fn is_sealed(proof: &Proof) -> bool {
    proof
        .anchor
        .as_ref()
        .and_then(|a| a.block.as_ref())
        .is_some_and(block_is_sealed)
}

/// Whether a block proof carries headers up to the last block of its
/// difficulty epoch.
pub fn block_is_sealed(block: &BlockProof) -> bool {
    let carried = u32::try_from(block.headers_after.len()).unwrap_or(u32::MAX);
    block.height.saturating_add(carried) >= epoch_end(epoch_of(block.height))
}

/// Seals a complete proof from `source`: once the anchoring block's
/// difficulty epoch has closed in the source's best chain (its tip is at
/// or past the epoch's last block), returns the proof with its
/// `headers_after` extended up to that block (at most 2,015 more headers).
///
/// The source must hold the proof's block at its height and every header
/// the proof already carries (those are kept as they are); the headers
/// added must each name the one before. The sealed proof is then verified
/// offline, from the file alone, with `options` (whose checkpoint table
/// decides whether the verdict rests on a checkpoint), and returned with
/// its [`Report`]. An already sealed proof is checked and verified the
/// same way; a proof whose epoch is still open is checked against the
/// source and reported with the blocks to go.
///
/// # Errors
///
/// A proof for another network or without a block, a source that fails,
/// ends early or disagrees with the proof, headers that do not link, or a
/// sealed proof that does not verify.
pub fn seal(
    proof: &Proof,
    source: &dyn HeaderSource,
    options: &VerifyOptions,
) -> Result<Sealed, SealError> {
    if proof.network != options.network {
        return Err(SealError::WrongNetwork {
            expected: options.network,
            found: proof.network,
        });
    }
    let Some(block) = proof.anchor.as_ref().and_then(|a| a.block.as_ref()) else {
        return Err(SealError::NotConfirmed {
            stage: proof.stage(),
        });
    };
    let height = block.height;
    let epoch = epoch_of(height);
    let end = epoch_end(epoch);
    // Headers after the block needed to reach the epoch's last block.
    let needed = end - height;
    let carried = u32::try_from(block.headers_after.len()).unwrap_or(u32::MAX);
    let tip = source.best_height()?.ok_or(SealError::NoChain)?;
    if tip < height {
        return Err(SealError::SourceTooShort { height, tip });
    }
    let sealed_already = block_is_sealed(block);
    // What the source is asked for: the block and the headers carried as
    // far as its chain reaches, and, once the epoch closed, every header
    // up to its end.
    let want = if sealed_already || tip < end {
        carried.min(tip - height)
    } else {
        needed
    };
    let theirs = source.header_range(height, want + 1)?;
    if theirs.len() != want as usize + 1 {
        return Err(SealError::ShortRange {
            start: height,
            expected: want + 1,
            found: theirs.len() as u32,
        });
    }
    check_against(&block.header, &block.headers_after, height, &theirs)?;
    let verified = |p: &Proof| {
        verify(p, &p.record.digest, &EmbeddedOnly, options)
            .map(Box::new)
            .map_err(SealError::Verify)
    };
    if sealed_already {
        return Ok(Sealed::AlreadySealed {
            epoch,
            epoch_end: end,
            report: verified(proof)?,
        });
    }
    if tip < end {
        return Ok(Sealed::EpochOpen {
            epoch,
            epoch_end: end,
            tip,
            blocks_to_go: end - tip,
        });
    }
    let mut sealed = proof.clone();
    if let Some(b) = sealed.anchor.as_mut().and_then(|a| a.block.as_mut()) {
        b.headers_after = theirs[1..].to_vec();
    }
    let report = verified(&sealed)?;
    Ok(Sealed::Extended {
        proof: Box::new(sealed),
        added: needed - carried,
        epoch,
        epoch_end: end,
        report,
    })
}

/// Checks the source's headers `theirs` (from `height` on) against the
/// proof's block header and the headers it carries after it, and that each
/// of the source's headers names the one before.
fn check_against(
    header: &Header,
    carried: &[Header],
    height: u32,
    theirs: &[Header],
) -> Result<(), SealError> {
    let mut prev: Option<BlockHash> = None;
    for (i, h) in theirs.iter().enumerate() {
        let at = height + i as u32;
        let found = crate::chain::header_hash(h);
        let ours = if i == 0 {
            Some(header)
        } else {
            carried.get(i - 1)
        };
        // Equal headers have equal hashes: ours is hashed only to name it.
        if let Some(ours) = ours.filter(|ours| *ours != h) {
            let expected = crate::chain::header_hash(ours);
            return Err(if i == 0 {
                SealError::NotInChain {
                    height: at,
                    expected,
                    found,
                }
            } else {
                SealError::HeaderMismatch {
                    height: at,
                    expected,
                    found,
                }
            });
        }
        if let Some(expected) = prev {
            if h.prev_blockhash != expected {
                return Err(SealError::NotLinked {
                    height: at,
                    expected,
                    found: h.prev_blockhash,
                });
            }
        }
        prev = Some(found);
    }
    Ok(())
}
