//! Validation of a whole chain of block headers, streaming, in constant
//! memory: what makes a headers file, or the headers a sync appends to one,
//! worth trusting as a header source (`docs/headers-file.md` §3).
//!
//! A [`ChainValidator`] takes raw 80-byte headers one at a time, from the
//! network's genesis block or from the block right after a checkpoint, and
//! holds each to the rules a Bitcoin node applies to headers:
//!
//! * linkage: each header names the one before it;
//! * proof of work: a well-formed compact target within the network's
//!   limit, met by the header's own hash;
//! * difficulty retargeting (Bitcoin Core's `GetNextWorkRequired`):
//!   constant bits within an epoch and, at each epoch boundary, exactly the
//!   retarget computed from the epoch before; testnet3's and testnet4's
//!   minimum-difficulty blocks; testnet4's BIP94 (retarget from the epoch's
//!   first block, no time warp at the boundary); none on regtest;
//! * median time past: each header's time is after the median of the
//!   eleven before it;
//! * block version: at least 2, 3 and 4 from the BIP34, BIP66 and BIP65
//!   heights;
//! * the checkpoint table: the hash of every checkpoint the chain reaches,
//!   and the epoch bits where the table records them.
//!
//! It keeps only what the next header needs (the tip, the current epoch's
//! first time and bits, the last bits set by the difficulty rather than by
//! the minimum-difficulty rule, the last eleven times) and the running
//! totals: a [`ChainState`] of a few hundred bytes, whatever the length.
//!
//! [`ChainParams`] carries the network's consensus parameters, from
//! [`bitcoin::params::Params`]; [`ChainParams::custom`] changes the epoch
//! length, block spacing and proof-of-work limit so that tests can mine
//! whole retargeting chains in moments.

use bitcoin::block::Header;
use bitcoin::consensus;
use bitcoin::hashes::Hash as _;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, CompactTarget, Network, Target};

use crate::chain::sha256d;
use crate::checkpoints::{epoch_of, Checkpoint, Checkpoints, EPOCH_BLOCKS};
use crate::headers::HEADER_LEN;
use crate::rules::MEDIAN_TIME_SPAN;

/// How far before the previous block's time the first block of an epoch
/// may be under BIP94 (testnet4), in seconds (Bitcoin Core's
/// `MAX_TIMEWARP`).
pub const MAX_TIMEWARP: u32 = 600;

/// Why [`ChainParams::custom`] refused its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// An epoch length that is zero or does not divide 2016 (checkpoints
    /// close 2016-block epochs, so they must fall on epoch ends).
    #[error("a difficulty epoch must be a divisor of 2016 blocks, found {found}")]
    Interval {
        /// The epoch length asked for.
        found: u32,
    },
    /// A block spacing of zero seconds.
    #[error("the block spacing must be at least one second")]
    Spacing,
    /// A zero proof-of-work limit.
    #[error("the proof-of-work limit must be above zero")]
    ZeroLimit,
    /// A limit so easy that a retarget from it overflows 256 bits.
    #[error("the proof-of-work limit (bits 0x{bits:08x}) times four epochs' timespan ({timespan} s) does not fit in 256 bits")]
    LimitTooEasy {
        /// The limit, in compact form.
        bits: u32,
        /// The epoch's timespan in seconds.
        timespan: u64,
    },
}

/// The consensus parameters a [`ChainValidator`] applies.
#[derive(Debug, Clone)]
pub struct ChainParams {
    network: Network,
    genesis: [u8; HEADER_LEN],
    genesis_bits: CompactTarget,
    interval: u32,
    spacing: u32,
    pow_limit: Target,
    limit_bits: CompactTarget,
    allow_min_difficulty: bool,
    no_retargeting: bool,
    bip94: bool,
    version_heights: [u32; 3],
    /// The same values in rust-bitcoin's form, for
    /// [`CompactTarget::from_next_work_required`].
    consensus: bitcoin::params::Params,
}

impl ChainParams {
    /// The parameters of `network`, from [`bitcoin::params::Params`], with
    /// BIP94 on testnet4 only.
    pub fn new(network: Network) -> ChainParams {
        let p = bitcoin::params::Params::new(network);
        let genesis = bitcoin::constants::genesis_block(network).header;
        let mut raw = [0u8; HEADER_LEN];
        raw.copy_from_slice(&consensus::serialize(&genesis));
        ChainParams {
            network,
            genesis: raw,
            genesis_bits: genesis.bits,
            interval: p.difficulty_adjustment_interval() as u32,
            spacing: p.pow_target_spacing as u32,
            pow_limit: p.max_attainable_target,
            limit_bits: p.max_attainable_target.to_compact_lossy(),
            allow_min_difficulty: p.allow_min_difficulty_blocks,
            no_retargeting: p.no_pow_retargeting,
            bip94: network == Network::Testnet4,
            version_heights: [p.bip34_height, p.bip66_height, p.bip65_height],
            consensus: p,
        }
    }

    /// The parameters of `network` with another epoch length (`interval`
    /// blocks, a divisor of 2016), block spacing (`spacing` seconds; the
    /// epoch's timespan is `interval * spacing`) and proof-of-work limit,
    /// retargeting on (even for regtest). For synthetic chains: mine a
    /// genesis block at the limit and give it with
    /// [`ChainParams::with_genesis`].
    ///
    /// # Errors
    ///
    /// An epoch length that does not divide 2016, a zero spacing or limit,
    /// or a limit so easy that a retarget from it would overflow.
    pub fn custom(
        network: Network,
        interval: u32,
        spacing: u32,
        pow_limit: Target,
    ) -> Result<ChainParams, ParamsError> {
        if interval == 0 || !EPOCH_BLOCKS.is_multiple_of(interval) {
            return Err(ParamsError::Interval { found: interval });
        }
        if spacing == 0 {
            return Err(ParamsError::Spacing);
        }
        if pow_limit == Target::ZERO {
            return Err(ParamsError::ZeroLimit);
        }
        let timespan = u64::from(interval) * u64::from(spacing);
        let limit_bits = 256 - leading_zero_bits(&pow_limit.to_be_bytes());
        let span_bits = 64 - (timespan * 4).leading_zeros();
        if limit_bits + span_bits > 256 {
            return Err(ParamsError::LimitTooEasy {
                bits: pow_limit.to_compact_lossy().to_consensus(),
                timespan,
            });
        }
        let mut p = ChainParams::new(network);
        p.interval = interval;
        p.spacing = spacing;
        p.pow_limit = pow_limit;
        p.limit_bits = pow_limit.to_compact_lossy();
        p.no_retargeting = false;
        p.consensus.pow_target_spacing = u64::from(spacing);
        p.consensus.pow_target_timespan = timespan;
        p.consensus.max_attainable_target = pow_limit;
        p.consensus.no_pow_retargeting = false;
        Ok(p)
    }

    /// The same parameters with another genesis block (a synthetic chain's).
    pub fn with_genesis(mut self, genesis: &Header) -> ChainParams {
        self.genesis.copy_from_slice(&consensus::serialize(genesis));
        self.genesis_bits = genesis.bits;
        self
    }

    /// The same parameters with the minimum-difficulty rule of testnet3 and
    /// testnet4 on or off.
    pub fn with_min_difficulty(mut self, on: bool) -> ChainParams {
        self.allow_min_difficulty = on;
        self.consensus.allow_min_difficulty_blocks = on;
        self
    }

    /// The same parameters with BIP94 (testnet4's retarget from the
    /// epoch's first block, and its time-warp rule) on or off.
    pub fn with_bip94(mut self, on: bool) -> ChainParams {
        self.bip94 = on;
        self
    }

    /// The same parameters with difficulty retargeting on or off (off:
    /// every block carries the genesis block's bits, as on regtest).
    pub fn with_retargeting(mut self, on: bool) -> ChainParams {
        self.no_retargeting = !on;
        self.consensus.no_pow_retargeting = !on;
        self
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The genesis block's header.
    pub fn genesis(&self) -> Header {
        // 80 bytes always decode as a header.
        consensus::deserialize(&self.genesis)
            .unwrap_or_else(|_| bitcoin::constants::genesis_block(self.network).header)
    }

    /// Blocks per difficulty epoch.
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// Seconds between blocks the difficulty aims at.
    pub fn spacing(&self) -> u32 {
        self.spacing
    }

    /// Seconds an epoch should take (`interval * spacing`).
    pub fn timespan(&self) -> u64 {
        u64::from(self.interval) * u64::from(self.spacing)
    }

    /// The easiest target a block may carry.
    pub fn pow_limit(&self) -> Target {
        self.pow_limit
    }

    /// The easiest target in compact form: the bits of a
    /// minimum-difficulty block.
    pub fn pow_limit_bits(&self) -> CompactTarget {
        self.limit_bits
    }

    /// Whether minimum-difficulty blocks are allowed (testnet3, testnet4).
    pub fn allows_min_difficulty(&self) -> bool {
        self.allow_min_difficulty
    }

    /// Whether the difficulty retargets (all but regtest).
    pub fn retargets(&self) -> bool {
        !self.no_retargeting
    }

    /// Whether BIP94 applies (testnet4).
    pub fn enforces_bip94(&self) -> bool {
        self.bip94
    }
}

fn leading_zero_bits(be: &[u8; 32]) -> u32 {
    let mut n = 0;
    for b in be {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// A header that breaks a chain rule, or a chain that cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The checkpoint table is for another network than the parameters.
    #[error("the checkpoint table is for {found}, not {expected}")]
    TableNetwork {
        /// The parameters' network.
        expected: Network,
        /// The table's.
        found: Network,
    },
    /// The first header is neither the genesis block nor the block right
    /// after a checkpoint.
    #[error("the first header ({hash}) is neither the {network} genesis block nor the block right after a {network} checkpoint (it follows {prev})")]
    UnknownStart {
        /// The network.
        network: Network,
        /// The first header's hash.
        hash: BlockHash,
        /// The block it names as the one before it.
        prev: BlockHash,
    },
    /// A header that does not name the one before it.
    #[error("header at height {height} does not link to the header before it: it follows {found}, but the header before it is {expected}")]
    NotLinked {
        /// The header's height.
        height: u32,
        /// The hash of the header before it.
        expected: BlockHash,
        /// The hash it names.
        found: BlockHash,
    },
    /// A compact target that is negative, zero or overflows.
    #[error("header at height {height} has an invalid difficulty target (bits 0x{bits:08x})")]
    BadBits {
        /// The header's height.
        height: u32,
        /// Its nBits.
        bits: u32,
    },
    /// A target easier than the network's limit.
    #[error("header at height {height} claims a target easier than the network's limit (bits 0x{found:08x}, the limit is 0x{limit:08x})")]
    TargetAboveLimit {
        /// The header's height.
        height: u32,
        /// Its nBits.
        found: u32,
        /// The limit in compact form.
        limit: u32,
    },
    /// A hash above the header's own target.
    #[error("header at height {height} ({hash}) does not meet its own proof-of-work target (bits 0x{bits:08x})")]
    BadProofOfWork {
        /// The header's height.
        height: u32,
        /// Its hash.
        hash: BlockHash,
        /// Its nBits.
        bits: u32,
    },
    /// Bits other than those the epoch requires (or, on regtest, the
    /// genesis block's).
    #[error("header at height {height} carries bits 0x{found:08x}, but within its difficulty epoch the chain requires 0x{expected:08x}")]
    BitsChanged {
        /// The header's height.
        height: u32,
        /// The bits required.
        expected: u32,
        /// Its nBits.
        found: u32,
    },
    /// The first block of an epoch without the retarget's bits.
    #[error("header at height {height} starts a difficulty epoch with bits 0x{found:08x}, but the retarget from the epoch before gives 0x{expected:08x}")]
    WrongRetarget {
        /// The header's height.
        height: u32,
        /// The retarget's bits.
        expected: u32,
        /// Its nBits.
        found: u32,
    },
    /// A minimum-difficulty block (testnet) too soon after the block before.
    #[error("header at height {height} carries the minimum difficulty (bits 0x{found:08x}) only {seconds} s after the header before it (more than {gap} s are needed); it must carry 0x{expected:08x}")]
    MinDifficultyTooSoon {
        /// The header's height.
        height: u32,
        /// The bits required.
        expected: u32,
        /// Its nBits (the limit).
        found: u32,
        /// Seconds after the header before it.
        seconds: i64,
        /// Seconds that must pass (twice the block spacing).
        gap: u32,
    },
    /// A block (testnet) so late after the one before that it must carry
    /// the minimum difficulty, carrying other bits.
    #[error("header at height {height} comes {seconds} s after the header before it, more than {gap} s, so it must carry the minimum difficulty 0x{expected:08x}, not 0x{found:08x}")]
    MinDifficultyRequired {
        /// The header's height.
        height: u32,
        /// The minimum difficulty's bits.
        expected: u32,
        /// Its nBits.
        found: u32,
        /// Seconds after the header before it.
        seconds: i64,
        /// Twice the block spacing.
        gap: u32,
    },
    /// A time not after the median of the eleven headers before.
    #[error("header at height {height} has time {time}, not after {median}, the median time of the headers before it")]
    TimeTooEarly {
        /// The header's height.
        height: u32,
        /// Its time.
        time: u32,
        /// The median time past.
        median: u32,
    },
    /// BIP94: the first block of an epoch more than [`MAX_TIMEWARP`]
    /// seconds before the block before it.
    #[error("header at height {height} starts a difficulty epoch at time {time}, more than 600 s before the time {previous} of the header before it (BIP94)")]
    TimeWarp {
        /// The header's height.
        height: u32,
        /// Its time.
        time: u32,
        /// The time of the header before it.
        previous: u32,
    },
    /// A block version below what BIP34, BIP66 or BIP65 require from
    /// their activation heights on.
    #[error("header at height {height} has version {found}, but from that height on blocks have version {minimum} or more")]
    OldVersion {
        /// The header's height.
        height: u32,
        /// The least version allowed.
        minimum: i32,
        /// Its version.
        found: i32,
    },
    /// A header at a checkpoint's height with another hash.
    #[error(
        "header at height {height} is {found}, but the checkpoint at that height is {expected}"
    )]
    CheckpointMismatch {
        /// The checkpoint's height.
        height: u32,
        /// The checkpoint's hash.
        expected: BlockHash,
        /// The header's hash.
        found: BlockHash,
    },
    /// A header without the bits the checkpoint table records for its
    /// epoch.
    #[error("header at height {height} carries bits 0x{found:08x}, but the checkpoint table gives its epoch 0x{expected:08x}")]
    EpochBitsMismatch {
        /// The header's height.
        height: u32,
        /// The table's bits for the epoch.
        expected: u32,
        /// Its nBits.
        found: u32,
    },
    /// A chain that would pass height 2^32 - 1.
    #[error("the chain would pass height {}", u32::MAX)]
    HeightOverflow,
}

impl ChainError {
    /// A stable short name for the reason, for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            ChainError::TableNetwork { .. } => "table-network",
            ChainError::UnknownStart { .. } => "unknown-start",
            ChainError::NotLinked { .. } => "not-linked",
            ChainError::BadBits { .. } => "bad-bits",
            ChainError::TargetAboveLimit { .. } => "target-above-limit",
            ChainError::BadProofOfWork { .. } => "bad-pow",
            ChainError::BitsChanged { .. } => "bits-changed",
            ChainError::WrongRetarget { .. } => "wrong-retarget",
            ChainError::MinDifficultyTooSoon { .. } => "min-difficulty-too-soon",
            ChainError::MinDifficultyRequired { .. } => "min-difficulty-required",
            ChainError::TimeTooEarly { .. } => "time-too-early",
            ChainError::TimeWarp { .. } => "time-warp",
            ChainError::OldVersion { .. } => "old-version",
            ChainError::CheckpointMismatch { .. } => "checkpoint-mismatch",
            ChainError::EpochBitsMismatch { .. } => "epoch-bits-mismatch",
            ChainError::HeightOverflow => "height-overflow",
        }
    }

    /// The height of the header that broke the rule, if one did.
    pub fn height(&self) -> Option<u32> {
        match *self {
            ChainError::NotLinked { height, .. }
            | ChainError::BadBits { height, .. }
            | ChainError::TargetAboveLimit { height, .. }
            | ChainError::BadProofOfWork { height, .. }
            | ChainError::BitsChanged { height, .. }
            | ChainError::WrongRetarget { height, .. }
            | ChainError::MinDifficultyTooSoon { height, .. }
            | ChainError::MinDifficultyRequired { height, .. }
            | ChainError::TimeTooEarly { height, .. }
            | ChainError::TimeWarp { height, .. }
            | ChainError::OldVersion { height, .. }
            | ChainError::CheckpointMismatch { height, .. }
            | ChainError::EpochBitsMismatch { height, .. } => Some(height),
            ChainError::TableNetwork { .. }
            | ChainError::UnknownStart { .. }
            | ChainError::HeightOverflow => None,
        }
    }
}

/// What a validated chain of headers established, and all a
/// [`ChainValidator`] needs to go on from its tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    start_height: u32,
    start_checkpoint: Option<u32>,
    len: u32,
    tip_hash: BlockHash,
    tip_time: u32,
    tip_bits: CompactTarget,
    epoch_first_time: u32,
    epoch_first_bits: CompactTarget,
    last_real_bits: CompactTarget,
    times: [u32; MEDIAN_TIME_SPAN],
    times_len: usize,
    times_next: usize,
    work: Work,
    checkpoints_agreed: u32,
    last_checkpoint: Option<u32>,
}

impl ChainState {
    /// The height of the first header: 0 from the genesis block, or
    /// `2016 * (k + 1)` after checkpoint `k`.
    pub fn start_height(&self) -> u32 {
        self.start_height
    }

    /// The epoch of the checkpoint the chain starts right after, if it
    /// does not start at the genesis block.
    pub fn start_checkpoint(&self) -> Option<u32> {
        self.start_checkpoint
    }

    /// Headers validated.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether no header was validated (never: a state exists from the
    /// first header on).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The height of the last header.
    pub fn tip_height(&self) -> u32 {
        self.start_height + (self.len - 1)
    }

    /// The hash of the last header.
    pub fn tip_hash(&self) -> BlockHash {
        self.tip_hash
    }

    /// The time of the last header.
    pub fn tip_time(&self) -> u32 {
        self.tip_time
    }

    /// The bits of the last header.
    pub fn tip_bits(&self) -> CompactTarget {
        self.tip_bits
    }

    /// The work of the headers validated, added up (for a chain that starts
    /// after a checkpoint, without the blocks before it).
    pub fn total_work(&self) -> Work {
        self.work
    }

    /// Checkpoints of the table whose height the chain reaches, each one
    /// matched.
    pub fn checkpoints_agreed(&self) -> u32 {
        self.checkpoints_agreed
    }

    /// The epoch of the last checkpoint matched, if any.
    pub fn last_checkpoint(&self) -> Option<u32> {
        self.last_checkpoint
    }

    fn median_time(&self) -> u32 {
        let mut sorted = [0u32; MEDIAN_TIME_SPAN];
        let n = self.times_len;
        sorted[..n].copy_from_slice(&self.times[..n]);
        let sorted = &mut sorted[..n];
        sorted.sort_unstable();
        sorted[n / 2]
    }

    fn push_time(&mut self, time: u32) {
        self.times[self.times_next] = time;
        self.times_next = (self.times_next + 1) % MEDIAN_TIME_SPAN;
        self.times_len = (self.times_len + 1).min(MEDIAN_TIME_SPAN);
    }
}

/// The target and work of one nBits value, cached: bits change once an
/// epoch (and on testnet between two values), while decoding a target and
/// dividing out its work is most of a header's cost.
#[derive(Debug, Clone, Copy)]
struct BitsInfo {
    bits: u32,
    target: Target,
    work: Work,
}

/// Validates a chain of headers one at a time (see the module
/// documentation for the rules).
#[derive(Debug, Clone)]
pub struct ChainValidator<'a> {
    params: &'a ChainParams,
    table: &'a Checkpoints,
    state: Option<ChainState>,
    cache: [Option<BitsInfo>; 2],
}

impl<'a> ChainValidator<'a> {
    /// A validator for a chain that starts at `params`' genesis block or
    /// right after a checkpoint of `table`, and must match every checkpoint
    /// of `table` it reaches.
    ///
    /// # Errors
    ///
    /// A table for another network.
    pub fn new(
        params: &'a ChainParams,
        table: &'a Checkpoints,
    ) -> Result<ChainValidator<'a>, ChainError> {
        if table.network() != params.network {
            return Err(ChainError::TableNetwork {
                expected: params.network,
                found: table.network(),
            });
        }
        Ok(ChainValidator {
            params,
            table,
            state: None,
            cache: [None, None],
        })
    }

    /// A validator that goes on from a chain already validated (with the
    /// same parameters and table).
    ///
    /// # Errors
    ///
    /// A table for another network.
    pub fn resume(
        params: &'a ChainParams,
        table: &'a Checkpoints,
        state: ChainState,
    ) -> Result<ChainValidator<'a>, ChainError> {
        let mut v = ChainValidator::new(params, table)?;
        v.state = Some(state);
        Ok(v)
    }

    /// What the headers validated so far established; `None` before the
    /// first.
    pub fn state(&self) -> Option<&ChainState> {
        self.state.as_ref()
    }

    /// The state, consuming the validator.
    pub fn into_state(self) -> Option<ChainState> {
        self.state
    }

    /// The parameters.
    pub fn params(&self) -> &ChainParams {
        self.params
    }

    /// The height the next header will have, once the first is known.
    pub fn next_height(&self) -> Option<u32> {
        self.state
            .as_ref()
            .and_then(|s| s.tip_height().checked_add(1))
    }

    /// Validates a header given as a value; see [`ChainValidator::push`].
    ///
    /// # Errors
    ///
    /// The first rule the header breaks.
    pub fn push_header(&mut self, header: &Header) -> Result<BlockHash, ChainError> {
        let mut raw = [0u8; HEADER_LEN];
        raw.copy_from_slice(&consensus::serialize(header));
        self.push(&raw)
    }

    /// Validates the next header, in its 80-byte serialization, and returns
    /// its hash. A header that fails leaves the validator as it was.
    ///
    /// # Errors
    ///
    /// The first rule the header breaks.
    pub fn push(&mut self, raw: &[u8; HEADER_LEN]) -> Result<BlockHash, ChainError> {
        let hash = sha256d(raw);
        let version = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let mut prev = [0u8; 32];
        prev.copy_from_slice(&raw[4..36]);
        let time = u32::from_le_bytes([raw[68], raw[69], raw[70], raw[71]]);
        let bits = u32::from_le_bytes([raw[72], raw[73], raw[74], raw[75]]);
        let fields = Fields {
            raw,
            hash,
            version,
            prev,
            time,
            bits,
        };
        match self.state.take() {
            None => {
                let state = self.first(&fields)?;
                self.state = Some(state);
            }
            Some(mut state) => {
                let result = self.next(&mut state, &fields);
                // A failed header leaves the state as it was: `next` only
                // writes to it once every check has passed.
                self.state = Some(state);
                result?;
            }
        }
        Ok(BlockHash::from_byte_array(hash))
    }

    fn bits_info(&mut self, height: u32, bits: u32) -> Result<BitsInfo, ChainError> {
        for info in self.cache.iter().flatten() {
            if info.bits == bits {
                return Ok(*info);
            }
        }
        let target = Target::from_compact(CompactTarget::from_consensus(bits));
        if !crate::chain::compact_is_well_formed(bits) || target == Target::ZERO {
            return Err(ChainError::BadBits { height, bits });
        }
        if target > self.params.pow_limit {
            return Err(ChainError::TargetAboveLimit {
                height,
                found: bits,
                limit: self.params.limit_bits.to_consensus(),
            });
        }
        let info = BitsInfo {
            bits,
            target,
            work: target.to_work(),
        };
        // The newer entry goes first; the older is dropped.
        self.cache = [Some(info), self.cache[0]];
        Ok(info)
    }

    fn check_work(&mut self, height: u32, f: &Fields) -> Result<BitsInfo, ChainError> {
        let info = self.bits_info(height, f.bits)?;
        if !info.target.is_met_by(BlockHash::from_byte_array(f.hash)) {
            return Err(ChainError::BadProofOfWork {
                height,
                hash: BlockHash::from_byte_array(f.hash),
                bits: f.bits,
            });
        }
        Ok(info)
    }

    fn check_version(&self, height: u32, version: i32) -> Result<(), ChainError> {
        for (minimum, from) in [2, 3, 4].into_iter().zip(self.params.version_heights) {
            if height >= from && height > 0 && version < minimum {
                return Err(ChainError::OldVersion {
                    height,
                    minimum,
                    found: version,
                });
            }
        }
        Ok(())
    }

    /// The checkpoint table's rules at `height`: the checkpoint's hash, and
    /// the epoch's bits where recorded (on networks with
    /// minimum-difficulty blocks, for an epoch's first block only). Returns
    /// whether a checkpoint was matched.
    fn check_table(&self, height: u32, f: &Fields) -> Result<bool, ChainError> {
        if self.params.interval == EPOCH_BLOCKS
            && (!self.params.allow_min_difficulty || height.is_multiple_of(EPOCH_BLOCKS))
        {
            if let Some(expected) = self.table.epoch_bits(epoch_of(height)) {
                if expected.to_consensus() != f.bits {
                    return Err(ChainError::EpochBitsMismatch {
                        height,
                        expected: expected.to_consensus(),
                        found: f.bits,
                    });
                }
            }
        }
        match self.table.hash_at(height) {
            Some(expected) if expected.to_byte_array() != f.hash => {
                Err(ChainError::CheckpointMismatch {
                    height,
                    expected,
                    found: BlockHash::from_byte_array(f.hash),
                })
            }
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    fn first(&mut self, f: &Fields) -> Result<ChainState, ChainError> {
        let (height, start_checkpoint) = if *f.raw == self.params.genesis {
            (0, None)
        } else {
            let k = self
                .table
                .entries()
                .iter()
                .position(|c| c.hash.to_byte_array() == f.prev)
                .ok_or(ChainError::UnknownStart {
                    network: self.params.network,
                    hash: BlockHash::from_byte_array(f.hash),
                    prev: BlockHash::from_byte_array(f.prev),
                })?;
            let k = u32::try_from(k).map_err(|_| ChainError::HeightOverflow)?;
            let height = k
                .checked_add(1)
                .and_then(|e| e.checked_mul(EPOCH_BLOCKS))
                .ok_or(ChainError::HeightOverflow)?;
            (height, Some(k))
        };
        let info = self.check_work(height, f)?;
        if height > 0 {
            self.check_version(height, f.version)?;
            if self.params.no_retargeting && f.bits != self.params.genesis_bits.to_consensus() {
                return Err(ChainError::BitsChanged {
                    height,
                    expected: self.params.genesis_bits.to_consensus(),
                    found: f.bits,
                });
            }
        }
        let agreed = self.check_table(height, f)?;
        let bits = CompactTarget::from_consensus(f.bits);
        let mut state = ChainState {
            start_height: height,
            start_checkpoint,
            len: 1,
            tip_hash: BlockHash::from_byte_array(f.hash),
            tip_time: f.time,
            tip_bits: bits,
            epoch_first_time: f.time,
            epoch_first_bits: bits,
            last_real_bits: bits,
            times: [0; MEDIAN_TIME_SPAN],
            times_len: 0,
            times_next: 0,
            work: info.work,
            checkpoints_agreed: u32::from(agreed),
            last_checkpoint: agreed.then(|| epoch_of(height)),
        };
        state.push_time(f.time);
        Ok(state)
    }

    fn next(&mut self, s: &mut ChainState, f: &Fields) -> Result<(), ChainError> {
        let height = s
            .tip_height()
            .checked_add(1)
            .ok_or(ChainError::HeightOverflow)?;
        if f.prev != s.tip_hash.to_byte_array() {
            return Err(ChainError::NotLinked {
                height,
                expected: s.tip_hash,
                found: BlockHash::from_byte_array(f.prev),
            });
        }
        let info = self.check_work(height, f)?;
        let p = self.params;
        let at_boundary = height.is_multiple_of(p.interval);
        if p.no_retargeting {
            let expected = p.genesis_bits.to_consensus();
            if f.bits != expected {
                return Err(ChainError::BitsChanged {
                    height,
                    expected,
                    found: f.bits,
                });
            }
        } else if at_boundary {
            if p.bip94 && i64::from(f.time) < i64::from(s.tip_time) - i64::from(MAX_TIMEWARP) {
                return Err(ChainError::TimeWarp {
                    height,
                    time: f.time,
                    previous: s.tip_time,
                });
            }
            let base = if p.bip94 {
                s.epoch_first_bits
            } else {
                s.tip_bits
            };
            let span = (i64::from(s.tip_time) - i64::from(s.epoch_first_time)).max(0) as u64;
            let expected =
                CompactTarget::from_next_work_required(base, span, &p.consensus).to_consensus();
            if f.bits != expected {
                return Err(ChainError::WrongRetarget {
                    height,
                    expected,
                    found: f.bits,
                });
            }
        } else if p.allow_min_difficulty {
            let seconds = i64::from(f.time) - i64::from(s.tip_time);
            let gap = p.spacing.saturating_mul(2);
            let limit = p.limit_bits.to_consensus();
            if seconds > i64::from(gap) {
                if f.bits != limit {
                    return Err(ChainError::MinDifficultyRequired {
                        height,
                        expected: limit,
                        found: f.bits,
                        seconds,
                        gap,
                    });
                }
            } else {
                let expected = s.last_real_bits.to_consensus();
                if f.bits != expected {
                    return Err(if f.bits == limit {
                        ChainError::MinDifficultyTooSoon {
                            height,
                            expected,
                            found: f.bits,
                            seconds,
                            gap,
                        }
                    } else {
                        ChainError::BitsChanged {
                            height,
                            expected,
                            found: f.bits,
                        }
                    });
                }
            }
        } else if f.bits != s.tip_bits.to_consensus() {
            return Err(ChainError::BitsChanged {
                height,
                expected: s.tip_bits.to_consensus(),
                found: f.bits,
            });
        }
        // Median time past: over the eleven headers before (fewer near the
        // genesis block, as nodes count; after a checkpoint, only once
        // eleven are known).
        if s.start_checkpoint.is_none() || s.times_len == MEDIAN_TIME_SPAN {
            let median = s.median_time();
            if f.time <= median {
                return Err(ChainError::TimeTooEarly {
                    height,
                    time: f.time,
                    median,
                });
            }
        }
        self.check_version(height, f.version)?;
        let agreed = self.check_table(height, f)?;

        // Every check passed: the header joins the chain.
        let bits = CompactTarget::from_consensus(f.bits);
        if at_boundary {
            s.epoch_first_time = f.time;
            s.epoch_first_bits = bits;
            s.last_real_bits = bits;
        } else if bits != p.limit_bits {
            s.last_real_bits = bits;
        }
        s.len += 1;
        s.tip_hash = BlockHash::from_byte_array(f.hash);
        s.tip_time = f.time;
        s.tip_bits = bits;
        s.push_time(f.time);
        s.work = s.work + info.work;
        if agreed {
            s.checkpoints_agreed += 1;
            s.last_checkpoint = Some(epoch_of(height));
        }
        Ok(())
    }
}

/// The fields of a header the rules read, at fixed offsets.
struct Fields<'r> {
    raw: &'r [u8; HEADER_LEN],
    hash: [u8; 32],
    version: i32,
    prev: [u8; 32],
    time: u32,
    bits: u32,
}

/// Builds the checkpoint table of a validated chain as its headers go by
/// (the streaming form of [`Checkpoints::from_headers`], for chains from
/// the genesis block or from right after a checkpoint).
#[derive(Debug, Clone)]
pub struct CheckpointBuilder {
    network: Network,
    with_targets: bool,
    entries: Vec<Checkpoint>,
    closing: Option<BlockHash>,
    started: bool,
}

impl CheckpointBuilder {
    /// A builder for `network`; `with_targets` records each epoch's bits
    /// (the bits of the first block of the next epoch: do so only for
    /// networks without minimum-difficulty blocks).
    pub fn new(network: Network, with_targets: bool) -> CheckpointBuilder {
        CheckpointBuilder {
            network,
            with_targets,
            entries: Vec::new(),
            closing: None,
            started: false,
        }
    }

    /// Takes the next header of the chain, at `height`. For a chain that
    /// starts after checkpoint `k`, the first call copies epochs 0 to `k`
    /// from `table` (the table the chain was validated against).
    pub fn observe(
        &mut self,
        table: &Checkpoints,
        height: u32,
        hash: &BlockHash,
        bits: CompactTarget,
    ) {
        if !self.started {
            self.started = true;
            let before = (height / EPOCH_BLOCKS) as usize;
            if height.is_multiple_of(EPOCH_BLOCKS) && before > 0 {
                for (i, c) in table.entries().iter().take(before).enumerate() {
                    let next_bits = if i + 1 == before {
                        Some(bits)
                    } else {
                        c.next_bits
                    };
                    self.entries.push(Checkpoint {
                        hash: c.hash,
                        next_bits: next_bits.filter(|_| self.with_targets),
                    });
                }
            }
        }
        if height.is_multiple_of(EPOCH_BLOCKS) && height > 0 {
            if let Some(hash) = self.closing.take() {
                self.entries.push(Checkpoint {
                    hash,
                    next_bits: self.with_targets.then_some(bits),
                });
            }
        }
        if height % EPOCH_BLOCKS == EPOCH_BLOCKS - 1 {
            self.closing = Some(*hash);
        }
    }

    /// The table: every epoch the chain closed.
    pub fn finish(mut self) -> Checkpoints {
        if let Some(hash) = self.closing.take() {
            self.entries.push(Checkpoint {
                hash,
                next_bits: None,
            });
        }
        Checkpoints::new(self.network, self.entries)
    }
}
