//! Headers files: the whole-chain validation of `btc_anchor::validate` on
//! synthetic chains (difficulty retargeting at easy targets with short
//! epochs, testnet's minimum-difficulty rule, BIP94, median time, linkage,
//! checkpoints), the committed fixtures, the checkpoint tables, and the
//! `btc-anchor headers` commands offline (`tests/headers_sync.rs` runs
//! `headers sync` against a real regtest stack).

use std::fs;
use std::path::PathBuf;

use btc_anchor::bitcoin::block::{Header, Version};
use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{BlockHash, CompactTarget, Network, Target, TxMerkleNode};
use btc_anchor::checkpoints::{Checkpoint, Checkpoints};
use btc_anchor::headers::{HeaderSource, HeaderSourceError, HeadersFile};
use btc_anchor::validate::{ChainError, ChainParams, ChainState, ChainValidator, ParamsError};
use btc_anchor_testenv::chain::{regtest_chain, write_headers, Chain};

// ---------------------------------------------------------------------------
// Synthetic chains
// ---------------------------------------------------------------------------

/// An easy limit for short-epoch chains: 0xffff * 2^224 (about 2^240), so
/// that a header takes some 65,000 hashes and four epochs' timespan of
/// eight 600-second blocks still fits a retarget in 256 bits.
const EASY_LIMIT: u32 = 0x1f00_ffff;
/// Blocks per epoch in the synthetic chains.
const INTERVAL: u32 = 8;
/// The real block spacing: testnet's 20-minute rule is twice it.
const SPACING: u32 = 600;
const T0: u32 = 1_700_000_000;

fn target(bits: u32) -> Target {
    Target::from_compact(CompactTarget::from_consensus(bits))
}

/// Grinds the nonce until the header meets its own target (hashing with
/// rust-bitcoin's `block_hash`, compiled optimised even in test builds).
fn mine(header: &mut Header) {
    let t = Target::from_compact(header.bits);
    while !t.is_met_by(header.block_hash()) {
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            header.time += 1;
        }
    }
}

fn mined(prev: BlockHash, time: u32, bits: u32, version: i32) -> Header {
    let mut h = Header {
        version: Version::from_consensus(version),
        prev_blockhash: prev,
        merkle_root: TxMerkleNode::from_byte_array([7; 32]),
        time,
        bits: CompactTarget::from_consensus(bits),
        nonce: 0,
    };
    mine(&mut h);
    h
}

/// A chain mined at will under custom parameters.
struct Synth {
    params: ChainParams,
    headers: Vec<Header>,
}

impl Synth {
    /// A chain whose genesis block is mined at [`EASY_LIMIT`] under
    /// `network`'s rules with 8-block epochs of 600-second blocks.
    fn new(network: Network) -> Synth {
        let genesis = mined(BlockHash::all_zeros(), T0, EASY_LIMIT, 0x2000_0000);
        let params = ChainParams::custom(network, INTERVAL, SPACING, target(EASY_LIMIT))
            .unwrap()
            .with_genesis(&genesis);
        Synth {
            params,
            headers: vec![genesis],
        }
    }

    fn tip(&self) -> &Header {
        self.headers.last().unwrap()
    }

    /// The next header, `dt` seconds after the tip, with `bits`.
    fn next(&self, dt: i64, bits: u32) -> Header {
        let time = (i64::from(self.tip().time) + dt) as u32;
        mined(self.tip().block_hash(), time, bits, 0x2000_0000)
    }

    fn push(&mut self, dt: i64, bits: u32) -> &mut Synth {
        let h = self.next(dt, bits);
        self.headers.push(h);
        self
    }

    /// Validates the chain plus `extra` with an empty checkpoint table.
    fn check(&self, extra: &Header) -> Result<ChainState, ChainError> {
        let table = Checkpoints::empty(self.params.network());
        let mut v = ChainValidator::new(&self.params, &table)?;
        for h in &self.headers {
            v.push_header(h)
                .unwrap_or_else(|e| panic!("the chain so far must pass: {e}"));
        }
        v.push_header(extra)?;
        Ok(v.into_state().unwrap())
    }

    fn height(&self) -> u32 {
        self.headers.len() as u32
    }
}

/// Core's retarget, computed here independently: the target of `bits`
/// times the actual timespan (clamped to a quarter and four times the
/// expected one) divided by the expected one, capped at `limit`, in
/// compact form.
fn retarget(bits: u32, actual: i64, expected: u32, limit: u32) -> u32 {
    let actual = actual.clamp(i64::from(expected / 4), i64::from(expected) * 4) as u64;
    // 32-bit limbs, most significant first, one spare for the product.
    let be = target(bits).to_be_bytes();
    let mut limbs = [0u64; 9];
    for (i, c) in be.chunks(4).enumerate() {
        limbs[i + 1] = u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let mut carry = 0u64;
    for l in limbs.iter_mut().rev() {
        let v = *l * actual + carry;
        *l = v & 0xffff_ffff;
        carry = v >> 32;
    }
    assert_eq!(carry, 0);
    let mut rem = 0u64;
    for l in limbs.iter_mut() {
        let v = (rem << 32) | *l;
        *l = v / u64::from(expected);
        rem = v % u64::from(expected);
    }
    assert_eq!(limbs[0], 0, "fits in 256 bits");
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&(limbs[i + 1] as u32).to_be_bytes());
    }
    let t = Target::from_be_bytes(out);
    if t > target(limit) {
        return limit;
    }
    t.to_compact_lossy().to_consensus()
}

/// Ends the epoch with blocks 300 s apart, so that the next one is some
/// 2.3 times harder; returns its bits.
fn fast_epoch(s: &mut Synth) -> u32 {
    let bits = s.tip().bits.to_consensus();
    while !s.height().is_multiple_of(INTERVAL) {
        s.push(300, bits);
    }
    let span = i64::from(s.tip().time) - i64::from(s.headers[s.headers.len() - 8].time);
    let expected = retarget(bits, span, INTERVAL * SPACING, EASY_LIMIT);
    assert_ne!(expected, bits, "a real retarget");
    expected
}

#[test]
fn custom_params_are_checked() {
    let limit = target(EASY_LIMIT);
    assert_eq!(
        ChainParams::custom(Network::Bitcoin, 0, 600, limit).unwrap_err(),
        ParamsError::Interval { found: 0 }
    );
    assert_eq!(
        ChainParams::custom(Network::Bitcoin, 10, 600, limit).unwrap_err(),
        ParamsError::Interval { found: 10 }
    );
    assert_eq!(
        ChainParams::custom(Network::Bitcoin, 8, 0, limit).unwrap_err(),
        ParamsError::Spacing
    );
    assert!(matches!(
        ChainParams::custom(Network::Bitcoin, 8, 600, target(0x207f_ffff)),
        Err(ParamsError::LimitTooEasy { .. })
    ));
    let p = ChainParams::custom(Network::Testnet4, 16, 60, limit).unwrap();
    assert_eq!((p.interval(), p.spacing(), p.timespan()), (16, 60, 960));
    assert!(p.allows_min_difficulty() && p.enforces_bip94() && p.retargets());
    let main = ChainParams::new(Network::Bitcoin);
    assert_eq!((main.interval(), main.spacing()), (2016, 600));
    assert_eq!(main.pow_limit_bits().to_consensus(), 0x1d00_ffff);
    assert!(!main.allows_min_difficulty() && !main.enforces_bip94());
    assert!(!ChainParams::new(Network::Regtest).retargets());
}

#[test]
fn a_correct_retarget_passes_and_an_off_by_one_fails() {
    let mut s = Synth::new(Network::Bitcoin);
    let expected = fast_epoch(&mut s);
    assert!(s.check(&s.next(600, expected)).is_ok());
    for wrong in [expected + 1, expected - 1, EASY_LIMIT] {
        let e = s.check(&s.next(600, wrong)).unwrap_err();
        assert_eq!(
            e,
            ChainError::WrongRetarget {
                height: 8,
                expected,
                found: wrong
            }
        );
        assert_eq!(e.kind(), "wrong-retarget");
    }

    // Slow blocks ease the target, at most four times, never past the limit.
    s.push(600, expected);
    while !s.height().is_multiple_of(INTERVAL) {
        s.push(1500, expected);
    }
    let span = i64::from(s.tip().time) - i64::from(s.headers[8].time);
    let eased = retarget(expected, span, INTERVAL * SPACING, EASY_LIMIT);
    assert!(target(eased) > target(expected));
    let state = s.check(&s.next(600, eased)).unwrap();
    assert_eq!(state.tip_height(), 16);
    assert!(s.check(&s.next(600, expected)).is_err());
}

#[test]
fn bits_may_not_change_within_an_epoch() {
    let mut s = Synth::new(Network::Signet);
    let expected = fast_epoch(&mut s);
    s.push(600, expected);
    let e = s.check(&s.next(600, EASY_LIMIT)).unwrap_err();
    assert_eq!(
        e,
        ChainError::BitsChanged {
            height: 9,
            expected,
            found: EASY_LIMIT
        }
    );
    // Not even after a long gap: only test networks have that exception.
    assert!(s.check(&s.next(3600, EASY_LIMIT)).is_err());
    assert!(s.check(&s.next(3600, expected)).is_ok());
}

#[test]
fn testnet_minimum_difficulty_only_after_twenty_minutes() {
    let mut s = Synth::new(Network::Testnet);
    let real = fast_epoch(&mut s);
    s.push(600, real);
    // 20 minutes and one second: the minimum difficulty is allowed...
    assert!(s.check(&s.next(1201, EASY_LIMIT)).is_ok());
    // ... and then required.
    let e = s.check(&s.next(1201, real)).unwrap_err();
    assert!(
        matches!(
            e,
            ChainError::MinDifficultyRequired {
                height: 9,
                seconds: 1201,
                gap: 1200,
                ..
            }
        ),
        "{e}"
    );
    // Exactly 20 minutes, or sooner: not yet.
    for dt in [1200, 600, -100] {
        let e = s.check(&s.next(dt, EASY_LIMIT)).unwrap_err();
        assert_eq!(
            e,
            ChainError::MinDifficultyTooSoon {
                height: 9,
                expected: real,
                found: EASY_LIMIT,
                seconds: dt,
                gap: 1200
            },
            "{dt}"
        );
    }
    // After minimum-difficulty blocks, the next normal block carries the
    // last real difficulty of the epoch (walking back over them).
    s.push(1300, EASY_LIMIT).push(1300, EASY_LIMIT);
    assert!(s.check(&s.next(600, real)).is_ok());
    let e = s.check(&s.next(600, EASY_LIMIT)).unwrap_err();
    assert!(matches!(e, ChainError::MinDifficultyTooSoon { .. }), "{e}");
    let other = retarget(real, 4800 * 2, 4800, EASY_LIMIT);
    let e = s.check(&s.next(600, other)).unwrap_err();
    assert_eq!(
        e,
        ChainError::BitsChanged {
            height: 11,
            expected: real,
            found: other
        }
    );
}

/// Epoch 1 of a testnet chain whose last block is a minimum-difficulty
/// one: testnet3 retargets from that block's bits (the limit), testnet4
/// (BIP94) from the epoch's first block.
fn epoch_ending_at_minimum(network: Network, bip94: bool) -> (Synth, u32) {
    let mut s = Synth::new(network);
    s.params = s.params.clone().with_bip94(bip94);
    let real = fast_epoch(&mut s);
    s.push(600, real);
    while s.height() % INTERVAL != INTERVAL - 1 {
        s.push(300, real);
    }
    s.push(1300, EASY_LIMIT);
    (s, real)
}

#[test]
fn testnet3_retargets_from_the_last_block_and_testnet4_from_the_first() {
    let (s, real) = epoch_ending_at_minimum(Network::Testnet, false);
    let span = i64::from(s.tip().time) - i64::from(s.headers[8].time);
    let from_last = retarget(EASY_LIMIT, span, INTERVAL * SPACING, EASY_LIMIT);
    let from_first = retarget(real, span, INTERVAL * SPACING, EASY_LIMIT);
    assert_ne!(from_last, from_first);
    assert!(s.check(&s.next(600, from_last)).is_ok());
    assert!(matches!(
        s.check(&s.next(600, from_first)),
        Err(ChainError::WrongRetarget { height: 16, .. })
    ));

    let (s, _) = epoch_ending_at_minimum(Network::Testnet4, true);
    assert!(s.check(&s.next(600, from_first)).is_ok());
    let e = s.check(&s.next(600, from_last)).unwrap_err();
    assert_eq!(
        e,
        ChainError::WrongRetarget {
            height: 16,
            expected: from_first,
            found: from_last
        }
    );
    // The first block of an epoch never takes the minimum-difficulty
    // exception.
    assert!(matches!(
        s.check(&s.next(3000, EASY_LIMIT)),
        Err(ChainError::WrongRetarget { .. })
    ));
}

#[test]
fn bip94_forbids_a_time_warp_at_the_epoch_boundary() {
    let (s, real) = epoch_ending_at_minimum(Network::Testnet4, true);
    let span = i64::from(s.tip().time) - i64::from(s.headers[8].time);
    let bits = retarget(real, span, INTERVAL * SPACING, EASY_LIMIT);
    let e = s.check(&s.next(-601, bits)).unwrap_err();
    assert_eq!(
        e,
        ChainError::TimeWarp {
            height: 16,
            time: s.tip().time - 601,
            previous: s.tip().time
        }
    );
    assert_eq!(e.kind(), "time-warp");
    assert!(s.check(&s.next(-600, bits)).is_ok());
    // Without BIP94 (testnet3), the same time passes.
    let t3 = Synth {
        params: s.params.clone().with_bip94(false),
        headers: s.headers.clone(),
    };
    let from_last = retarget(EASY_LIMIT, span, INTERVAL * SPACING, EASY_LIMIT);
    assert!(t3.check(&t3.next(-601, from_last)).is_ok());
}

#[test]
fn median_time_past_and_linkage() {
    let mut c = Chain::new(Network::Regtest);
    c.mine_empty(12);
    let params = ChainParams::new(Network::Regtest);
    let table = Checkpoints::empty(Network::Regtest);
    let validate = |headers: &[Header]| {
        let mut v = ChainValidator::new(&params, &table).unwrap();
        for h in headers {
            v.push_header(h)?;
        }
        Ok::<_, ChainError>(v.into_state().unwrap())
    };
    let state = validate(&c.headers).unwrap();
    assert_eq!(state.tip_height(), 12);
    assert_eq!(state.tip_hash(), c.tip_hash());

    // A 13th block at the median of the 11 before it.
    let times: Vec<u32> = c.headers[2..13].iter().map(|h| h.time).collect();
    let median = times[5];
    let mut late = mined(c.tip_hash(), median, 0x207f_ffff, 0x2000_0000);
    let mut all = c.headers.clone();
    all.push(late);
    assert_eq!(
        validate(&all).unwrap_err(),
        ChainError::TimeTooEarly {
            height: 13,
            time: median,
            median
        }
    );
    late.time = median + 1;
    mine(&mut late);
    all[13] = late;
    assert!(validate(&all).is_ok());

    // Near the genesis block the median is over the headers there are.
    let mut early = c.headers[..2].to_vec();
    early.push(mined(
        early[1].block_hash(),
        early[0].time,
        0x207f_ffff,
        0x2000_0000,
    ));
    assert!(matches!(
        validate(&early),
        Err(ChainError::TimeTooEarly { height: 2, .. })
    ));

    // A header naming another block before it.
    let mut broken = c.headers.clone();
    broken[7] = mined(
        broken[5].block_hash(),
        broken[6].time + 600,
        0x207f_ffff,
        0x2000_0000,
    );
    let e = validate(&broken).unwrap_err();
    assert_eq!(
        e,
        ChainError::NotLinked {
            height: 7,
            expected: c.headers[6].block_hash(),
            found: c.headers[5].block_hash()
        }
    );
    // Regtest never retargets.
    let mut other = c.headers.clone();
    other.push(mined(
        c.tip_hash(),
        c.tip().time + 600,
        0x1f7f_ffff,
        0x2000_0000,
    ));
    assert!(matches!(
        validate(&other),
        Err(ChainError::BitsChanged { height: 13, .. })
    ));
}

#[test]
fn block_versions_from_the_bip_heights() {
    // Testnet4 activates BIP34, BIP66 and BIP65 at height 1.
    let mut s = Synth::new(Network::Testnet4);
    let old = mined(s.tip().block_hash(), T0 + 600, EASY_LIMIT, 3);
    assert_eq!(
        s.check(&old).unwrap_err(),
        ChainError::OldVersion {
            height: 1,
            minimum: 4,
            found: 3
        }
    );
    s.push(600, EASY_LIMIT);
    assert_eq!(s.check(&s.next(600, EASY_LIMIT)).unwrap().len(), 3);
}

#[test]
fn proof_of_work_and_the_limit() {
    let s = Synth::new(Network::Bitcoin);
    let mut lazy = s.next(600, EASY_LIMIT);
    // A nonce that does not meet the target (at this limit, most do not).
    while target(EASY_LIMIT).is_met_by(lazy.block_hash()) {
        lazy.nonce += 1;
    }
    assert!(matches!(
        s.check(&lazy),
        Err(ChainError::BadProofOfWork {
            height: 1,
            bits: EASY_LIMIT,
            ..
        })
    ));
    let easier = s.next(600, 0x2000_ffff);
    assert_eq!(
        s.check(&easier).unwrap_err(),
        ChainError::TargetAboveLimit {
            height: 1,
            found: 0x2000_ffff,
            limit: EASY_LIMIT
        }
    );
    let negative = Header {
        bits: CompactTarget::from_consensus(0x1f80_ffff),
        ..lazy
    };
    assert!(matches!(
        s.check(&negative),
        Err(ChainError::BadBits { height: 1, .. })
    ));
}

// ---------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------

fn regtest_table(entries: Vec<Checkpoint>) -> Checkpoints {
    Checkpoints::new(Network::Regtest, entries)
}

#[test]
fn checkpoints_must_match() {
    let c = regtest_chain(2100);
    let dir = tempfile::tempdir().unwrap();
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    let params = ChainParams::new(Network::Regtest);
    let good = regtest_table(vec![Checkpoint {
        hash: c.headers[2015].block_hash(),
        next_bits: Some(CompactTarget::from_consensus(0x207f_ffff)),
    }]);
    let f = HeadersFile::open_with(&path, &params, &good).unwrap();
    assert_eq!(f.state().checkpoints_agreed(), 1);
    assert_eq!(f.state().last_checkpoint(), Some(0));

    let wrong = regtest_table(vec![Checkpoint {
        hash: c.headers[2014].block_hash(),
        next_bits: None,
    }]);
    match HeadersFile::open_with(&path, &params, &wrong).unwrap_err() {
        HeaderSourceError::Invalid { error, .. } => assert_eq!(
            error,
            ChainError::CheckpointMismatch {
                height: 2015,
                expected: c.headers[2014].block_hash(),
                found: c.headers[2015].block_hash()
            }
        ),
        other => panic!("{other}"),
    }
    // Bits the table records for an epoch.
    let bits = regtest_table(vec![Checkpoint {
        hash: c.headers[2015].block_hash(),
        next_bits: Some(CompactTarget::from_consensus(0x1f7f_ffff)),
    }]);
    let e = HeadersFile::open_with(&path, &params, &bits).unwrap_err();
    assert!(!e.is_io());
    assert!(
        e.to_string().contains("header at height 2016 carries bits 0x207fffff, but the checkpoint table gives its epoch 0x1f7fffff"),
        "{e}"
    );
    // A table for another network.
    let e =
        HeadersFile::open_with(&path, &params, Checkpoints::builtin(Network::Bitcoin)).unwrap_err();
    assert!(matches!(
        e,
        HeaderSourceError::Invalid {
            error: ChainError::TableNetwork { .. },
            ..
        }
    ));
}

#[test]
fn a_file_may_start_right_after_a_checkpoint() {
    let c = regtest_chain(2100);
    let dir = tempfile::tempdir().unwrap();
    let path = write_headers(dir.path(), "late.bin", &c.headers[2016..]);
    let params = ChainParams::new(Network::Regtest);
    let table = regtest_table(vec![Checkpoint {
        hash: c.headers[2015].block_hash(),
        next_bits: None,
    }]);
    let f = HeadersFile::open_with(&path, &params, &table).unwrap();
    assert_eq!(f.start_height(), 2016);
    assert_eq!(f.tip_height(), 2100);
    assert_eq!(f.len(), 85);
    assert_eq!(f.state().start_checkpoint(), Some(0));
    assert_eq!(f.tip_hash(), c.tip_hash());
    assert_eq!(f.best_height().unwrap(), Some(2100));
    assert_eq!(f.header_at(2015).unwrap(), None);
    assert_eq!(f.header_at(2016).unwrap(), Some(c.headers[2016]));
    assert_eq!(f.header_at(2100).unwrap(), Some(c.headers[2100]));
    assert_eq!(f.header_at(2101).unwrap(), None);
    assert_eq!(
        f.header_range(2090, 50).unwrap(),
        c.headers[2090..].to_vec()
    );
    assert_eq!(f.header_range(10, 5).unwrap(), vec![]);
    let full = HeadersFile::open_with(
        &write_headers(dir.path(), "all.bin", &c.headers),
        &params,
        &table,
    )
    .unwrap();
    assert!(f.total_work() < full.total_work());

    // The built-in regtest table is empty: nothing to start after.
    let e = HeadersFile::open(&path, Network::Regtest).unwrap_err();
    match e {
        HeaderSourceError::Invalid {
            error: ChainError::UnknownStart { hash, prev, .. },
            ..
        } => {
            assert_eq!(hash, c.headers[2016].block_hash());
            assert_eq!(prev, c.headers[2015].block_hash());
        }
        other => panic!("{other}"),
    }

    // After a built-in mainnet checkpoint, the file starts at the next
    // epoch: an unmined header is then refused at that height, for its
    // work, before anything else is read.
    let main = Checkpoints::builtin(Network::Bitcoin);
    let after = Header {
        version: Version::from_consensus(0x2000_0000),
        prev_blockhash: main.get(300).unwrap().hash,
        merkle_root: TxMerkleNode::all_zeros(),
        time: 1_600_000_000,
        bits: main.epoch_bits(301).unwrap(),
        nonce: 0,
    };
    let path = write_headers(dir.path(), "main.bin", &[after, after]);
    match HeadersFile::open(&path, Network::Bitcoin).unwrap_err() {
        HeaderSourceError::Invalid { error, .. } => {
            assert_eq!(error.height(), Some(301 * 2016));
            assert_eq!(error.kind(), "bad-pow");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn the_table_of_a_file_is_the_table_of_its_headers() {
    let c = regtest_chain(4100);
    let dir = tempfile::tempdir().unwrap();
    let params = ChainParams::new(Network::Regtest);
    let empty = Checkpoints::empty(Network::Regtest);
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    for with_targets in [false, true] {
        let (_, table) =
            HeadersFile::open_with_checkpoints(&path, &params, &empty, with_targets).unwrap();
        let expected = Checkpoints::from_headers(Network::Regtest, &c.headers, with_targets);
        assert_eq!(table, expected);
        assert_eq!(table.len(), 2);
        assert_eq!(Checkpoints::parse(&table.to_text()).unwrap(), table);
    }
    // From a file that starts after checkpoint 0: the same table, epoch 0
    // taken from the table it was validated against.
    let first = Checkpoints::from_headers(Network::Regtest, &c.headers[..2017], true);
    let late = write_headers(dir.path(), "late.bin", &c.headers[2016..]);
    let (_, table) = HeadersFile::open_with_checkpoints(&late, &params, &first, true).unwrap();
    assert_eq!(
        table,
        Checkpoints::from_headers(Network::Regtest, &c.headers, true)
    );
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

fn fixture(rel: &str) -> PathBuf {
    btc_anchor_testenv::repo_file("fixtures").join(rel)
}

#[test]
fn the_fixture_files_open_or_fail_as_the_vectors_expect() {
    for name in ["regtest-a.bin", "regtest-b.bin", "regtest-genesis-only.bin"] {
        let f = HeadersFile::open(&fixture(&format!("headers/{name}")), Network::Regtest)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.start_height(), 0, "{name}");
    }
    let a = HeadersFile::open(&fixture("headers/regtest-a.bin"), Network::Regtest).unwrap();
    assert_eq!((a.len(), a.tip_height()), (16, 15));
    let example = HeadersFile::open(&fixture("example/headers.bin"), Network::Regtest).unwrap();
    assert!(example.len() > 1);

    let e =
        HeadersFile::open(&fixture("headers/regtest-truncated.bin"), Network::Regtest).unwrap_err();
    assert!(
        matches!(e, HeaderSourceError::BadLength { len: 327, .. }),
        "{e}"
    );
    let e =
        HeadersFile::open(&fixture("headers/regtest-unlinked.bin"), Network::Regtest).unwrap_err();
    assert!(
        matches!(
            e,
            HeaderSourceError::Invalid {
                error: ChainError::NotLinked { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(HeadersFile::open(
        &fixture("headers/bitcoin-genesis-only.bin"),
        Network::Bitcoin
    )
    .is_ok());
    let e = HeadersFile::open(
        &fixture("headers/bitcoin-genesis-only.bin"),
        Network::Regtest,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("is neither the regtest genesis block"),
        "{e}"
    );
}

#[test]
fn unreadable_files_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    for p in [dir.path().to_path_buf(), dir.path().join("missing")] {
        let e = HeadersFile::open(&p, Network::Regtest).unwrap_err();
        assert!(e.is_io(), "{e}");
    }
    fs::write(dir.path().join("empty"), b"").unwrap();
    let e = HeadersFile::open(&dir.path().join("empty"), Network::Regtest).unwrap_err();
    assert!(matches!(e, HeaderSourceError::BadLength { len: 0, .. }));
}

// ---------------------------------------------------------------------------
// The built-in tables
// ---------------------------------------------------------------------------

// The built-in tables against the real data: tests/checkpoints.rs.
