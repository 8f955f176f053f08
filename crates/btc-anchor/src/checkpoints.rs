//! Built-in chain knowledge: one checkpoint per closed difficulty epoch.
//!
//! A checkpoint table lists, for each difficulty epoch `i` (blocks
//! `2016*i` to `2016*i + 2015`) that had closed when the table was made,
//! the hash of the epoch's last block and, where recorded, the compact
//! target (nBits) that every block of epoch `i + 1` carries. Epoch 0
//! carries the network's limit. With it, a verifier that holds nothing but
//! a proof file can check that:
//!
//! * every carried header at a covered height has exactly its epoch's
//!   target (so a forger must do the real network's work per header), and
//!   past the table's end, a target at most 4× easier per epoch since its
//!   last known target (Bitcoin's retarget step limit);
//! * a proof whose headers reach the last block of a covered epoch ends at
//!   the checkpoint's hash: then the anchoring block is in the real best
//!   chain, and forging that would need a SHA-256d second preimage.
//!
//! The tables of mainnet, testnet3, testnet4 and signet are committed data
//! (`src/checkpoints/*.txt`, format in `docs/checkpoints.md`), generated
//! from real chain data and refreshed from a validated headers file
//! ([`Checkpoints::from_headers`]). A test regenerates them and compares.

use std::fmt;
use std::sync::OnceLock;

use bitcoin::block::Header;
use bitcoin::{BlockHash, CompactTarget, Network, Target};

/// Blocks in a difficulty epoch.
pub const EPOCH_BLOCKS: u32 = 2016;

/// The first line of a checkpoint table file (`docs/checkpoints.md` §1).
pub const TABLE_MAGIC: &str = "btc-anchor checkpoints 1";

/// Most epochs a table may list: enough for 8,000,000 blocks, the same
/// bound as headers files.
pub const MAX_EPOCHS: usize = 8_000_000 / EPOCH_BLOCKS as usize;

/// Largest checkpoint table file read, in bytes.
pub const MAX_TABLE_BYTES: usize = 1 << 20;

/// The epoch a height belongs to.
pub fn epoch_of(height: u32) -> u32 {
    height / EPOCH_BLOCKS
}

/// The height of the last block of `epoch`.
pub fn epoch_end(epoch: u32) -> u32 {
    epoch
        .saturating_mul(EPOCH_BLOCKS)
        .saturating_add(EPOCH_BLOCKS - 1)
}

/// One closed epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Hash of the epoch's last block.
    pub hash: BlockHash,
    /// The nBits of every block of the next epoch, if recorded (networks
    /// with minimum-difficulty blocks, or tables made without targets,
    /// leave it out).
    pub next_bits: Option<CompactTarget>,
}

impl Checkpoint {
    /// A checkpoint from a block hash in display order (reversed, as
    /// tables and Electrum write it): 64 lower-case hex digits, or `None`.
    fn from_display(hash: &str, next_bits: Option<CompactTarget>) -> Option<Checkpoint> {
        parse_lower_hex::<32>(hash)?;
        Some(Checkpoint {
            hash: hash.parse().ok()?,
            next_bits,
        })
    }
}

/// A table of checkpoints for one network: entry `i` closes epoch `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoints {
    network: Network,
    entries: Vec<Checkpoint>,
}

/// Why a checkpoint table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointsError {
    /// The first line is not [`TABLE_MAGIC`].
    #[error("not a btc-anchor checkpoint table (the first line must be \"{TABLE_MAGIC}\")")]
    NotATable,
    /// The `network` line is missing or names no known network.
    #[error(
        "line {line}: expected \"network NAME\" (bitcoin, testnet, testnet4, signet or regtest)"
    )]
    Network {
        /// One-based line number.
        line: usize,
    },
    /// A table line that is not `EPOCH HASH BITS`.
    #[error("line {line}: {problem}")]
    Line {
        /// One-based line number.
        line: usize,
        /// What is wrong.
        problem: LineProblem,
    },
    /// More epochs than [`MAX_EPOCHS`].
    #[error("more than {MAX_EPOCHS} epochs")]
    TooLong,
    /// Electrum's JSON form that does not parse.
    #[error("checkpoints JSON, entry {entry}: {problem}")]
    Json {
        /// Zero-based entry.
        entry: usize,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Why a checkpoint table file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadCheckpointsError {
    /// The file could not be opened or read.
    #[error("cannot read checkpoint table {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Larger than [`MAX_TABLE_BYTES`].
    #[error("checkpoint table {path} is {size} bytes, the limit is {MAX_TABLE_BYTES}")]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// Its size.
        size: u64,
    },
    /// Not UTF-8, or not a table.
    #[error("checkpoint table {path} is malformed")]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        #[source]
        source: CheckpointsError,
    },
}

impl ReadCheckpointsError {
    /// Whether the file could not be read at all (rather than read and
    /// found wrong).
    pub fn is_io(&self) -> bool {
        matches!(self, ReadCheckpointsError::Io { .. })
    }
}

/// What is wrong with one line of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    /// Not three fields.
    #[error("expected three fields: epoch, block hash, next bits")]
    Fields,
    /// The epoch number is not the next one.
    #[error("expected epoch {expected}")]
    Epoch {
        /// The epoch expected on this line.
        expected: usize,
    },
    /// Not 64 lower-case hex digits.
    #[error("the block hash is not 64 lower-case hex digits")]
    Hash,
    /// Not 8 lower-case hex digits or `-`.
    #[error("the next bits are not 8 lower-case hex digits or \"-\"")]
    Bits,
    /// Bits that do not decode to a usable target.
    #[error("the next bits are not a valid target within the network's limit")]
    BadTarget,
}

static MAINNET: &str = include_str!("checkpoints/bitcoin.txt");
static TESTNET: &str = include_str!("checkpoints/testnet.txt");
static TESTNET4: &str = include_str!("checkpoints/testnet4.txt");
static SIGNET: &str = include_str!("checkpoints/signet.txt");

impl Checkpoints {
    /// The table built into this library for `network` (empty for
    /// regtest). Parsed on first use.
    pub fn builtin(network: Network) -> &'static Checkpoints {
        static TABLES: [OnceLock<Checkpoints>; 5] = [const { OnceLock::new() }; 5];
        let (slot, text) = match network {
            Network::Bitcoin => (0, MAINNET),
            Network::Testnet => (1, TESTNET),
            Network::Testnet4 => (2, TESTNET4),
            Network::Signet => (3, SIGNET),
            _ => (4, ""),
        };
        TABLES[slot].get_or_init(|| {
            if text.is_empty() {
                return Checkpoints::empty(network);
            }
            // The committed tables are checked by this crate's tests; a
            // damaged one gives an empty table rather than a panic.
            Checkpoints::parse(text)
                .ok()
                .filter(|t| t.network == network)
                .unwrap_or_else(|| Checkpoints::empty(network))
        })
    }

    /// A table that knows no epoch.
    pub fn empty(network: Network) -> Checkpoints {
        Checkpoints {
            network,
            entries: Vec::new(),
        }
    }

    /// A table from its entries, entry `i` closing epoch `i`.
    pub fn new(network: Network, entries: Vec<Checkpoint>) -> Checkpoints {
        Checkpoints { network, entries }
    }

    /// The network the table is for.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The entries, entry `i` closing epoch `i`.
    pub fn entries(&self) -> &[Checkpoint] {
        &self.entries
    }

    /// Number of closed epochs listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table lists no epoch.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last height whose block hash the table pins, if any.
    pub fn last_height(&self) -> Option<u32> {
        let n = u32::try_from(self.entries.len()).ok()?;
        n.checked_sub(1).map(epoch_end)
    }

    /// The checkpoint closing `epoch`, if listed.
    pub fn get(&self, epoch: u32) -> Option<&Checkpoint> {
        self.entries.get(epoch as usize)
    }

    /// The hash the table requires at `height`, if `height` is the last
    /// block of a listed epoch.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        if height % EPOCH_BLOCKS != EPOCH_BLOCKS - 1 {
            return None;
        }
        self.get(epoch_of(height)).map(|c| c.hash)
    }

    /// The nBits every block of `epoch` carries, if the table knows it:
    /// the network's limit for epoch 0 (when the table records targets),
    /// else the `next_bits` of the epoch before.
    pub fn epoch_bits(&self, epoch: u32) -> Option<CompactTarget> {
        if epoch == 0 {
            return self
                .entries
                .first()
                .and_then(|c| c.next_bits)
                .map(|_| genesis_bits(self.network));
        }
        self.get(epoch - 1).and_then(|c| c.next_bits)
    }

    /// The last epoch whose nBits the table knows, and those bits.
    pub fn last_known_bits(&self) -> Option<(u32, CompactTarget)> {
        let n = u32::try_from(self.entries.len()).ok()?;
        (0..=n)
            .rev()
            .find_map(|e| self.epoch_bits(e).map(|b| (e, b)))
    }

    /// Reads a table file in the text form of `docs/checkpoints.md` §1,
    /// opened once and read up to [`MAX_TABLE_BYTES`].
    ///
    /// # Errors
    ///
    /// An unreadable, oversized or malformed file.
    pub fn read_file(path: &std::path::Path) -> Result<Checkpoints, ReadCheckpointsError> {
        let capped = crate::file::read_capped(path, MAX_TABLE_BYTES, 0).map_err(|source| {
            ReadCheckpointsError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        if capped.over(MAX_TABLE_BYTES) {
            return Err(ReadCheckpointsError::TooLarge {
                path: path.to_path_buf(),
                size: capped.reported_size() as u64,
            });
        }
        let bytes = capped.bytes;
        let malformed = |source| ReadCheckpointsError::Malformed {
            path: path.to_path_buf(),
            source,
        };
        let text =
            std::str::from_utf8(&bytes).map_err(|_| malformed(CheckpointsError::NotATable))?;
        Checkpoints::parse(text).map_err(malformed)
    }

    /// Reads a table in the text form of `docs/checkpoints.md` §1.
    ///
    /// # Errors
    ///
    /// The first line that is not of the form.
    pub fn parse(text: &str) -> Result<Checkpoints, CheckpointsError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        match lines.next() {
            Some((_, TABLE_MAGIC)) => {}
            _ => return Err(CheckpointsError::NotATable),
        }
        let network = match lines.next() {
            Some((line, l)) => l
                .strip_prefix("network ")
                .and_then(|n| n.trim().parse::<Network>().ok())
                .ok_or(CheckpointsError::Network { line })?,
            None => return Err(CheckpointsError::Network { line: 2 }),
        };
        let limit = bitcoin::params::Params::new(network).max_attainable_target;
        let mut entries = Vec::new();
        for (line, l) in lines {
            if entries.len() == MAX_EPOCHS {
                return Err(CheckpointsError::TooLong);
            }
            let bad = |problem| CheckpointsError::Line { line, problem };
            let fields: Vec<&str> = l.split_ascii_whitespace().collect();
            let [epoch, hash, bits] = fields[..] else {
                return Err(bad(LineProblem::Fields));
            };
            if epoch.parse::<usize>().ok() != Some(entries.len()) {
                return Err(bad(LineProblem::Epoch {
                    expected: entries.len(),
                }));
            }
            let next_bits = match bits {
                "-" => None,
                b => {
                    let raw = parse_lower_hex::<4>(b).ok_or(bad(LineProblem::Bits))?;
                    let bits = CompactTarget::from_consensus(u32::from_be_bytes(raw));
                    let target = Target::from_compact(bits);
                    if target == Target::ZERO || target > limit || target.to_compact_lossy() != bits
                    {
                        return Err(bad(LineProblem::BadTarget));
                    }
                    Some(bits)
                }
            };
            entries.push(Checkpoint::from_display(hash, next_bits).ok_or(bad(LineProblem::Hash))?);
        }
        Ok(Checkpoints { network, entries })
    }

    /// The text form of `docs/checkpoints.md` §1, which [`Checkpoints::parse`]
    /// reads back equal.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{TABLE_MAGIC}\n# One line per closed difficulty epoch: epoch, hash of its last block\n\
             # (display order), nBits of every block of the next epoch (\"-\": not recorded).\n\
             network {}\n",
            self.network
        );
        for (i, c) in self.entries.iter().enumerate() {
            let bits = c
                .next_bits
                .map_or_else(|| "-".to_owned(), |b| format!("{:08x}", b.to_consensus()));
            s.push_str(&format!("{i} {} {bits}\n", c.hash));
        }
        s
    }

    /// Reads Electrum's `checkpoints.json` form: an array whose entry `i`
    /// is `["<hash of block 2016*i + 2015>", <target of epoch i+1 as an
    /// integer, 0 if not recorded>]`.
    ///
    /// The integers exceed 64 bits, so this reads the array itself rather
    /// than through a general JSON number type.
    ///
    /// # Errors
    ///
    /// A [`CheckpointsError`] when the text is not the expected JSON array of
    /// `[hash, target]` pairs, or a hash or target is malformed.
    pub fn from_electrum_json(
        network: Network,
        json: &str,
    ) -> Result<Checkpoints, CheckpointsError> {
        let limit = bitcoin::params::Params::new(network).max_attainable_target;
        let body = json
            .trim()
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or(CheckpointsError::Json {
                entry: 0,
                problem: "not a JSON array",
            })?;
        let mut entries = Vec::new();
        let mut rest = body.trim();
        while !rest.is_empty() {
            let entry = entries.len();
            if entry == MAX_EPOCHS {
                return Err(CheckpointsError::TooLong);
            }
            let bad = |problem| CheckpointsError::Json { entry, problem };
            let inner_end = rest.find(']').ok_or(bad("unterminated entry"))?;
            let inner = rest
                .strip_prefix('[')
                .ok_or(bad("an entry is not an array"))?;
            let inner = &inner[..inner_end - 1];
            rest = rest[inner_end + 1..].trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
            let (hash, target) = inner.split_once(',').ok_or(bad("expected two items"))?;
            let hash = hash
                .trim()
                .strip_prefix('"')
                .and_then(|h| h.strip_suffix('"'))
                .filter(|h| parse_lower_hex::<32>(h).is_some())
                .ok_or(bad("the hash is not a 64-hex-digit string"))?;
            let target =
                decimal_to_u256(target.trim()).ok_or(bad("the target is not an integer"))?;
            let next_bits = if target == [0u8; 32] {
                None
            } else {
                let t = Target::from_be_bytes(target);
                let bits = t.to_compact_lossy();
                if Target::from_compact(bits) != t || t > limit {
                    return Err(bad("the target is not one a block can carry"));
                }
                Some(bits)
            };
            entries.push(
                Checkpoint::from_display(hash, next_bits)
                    .ok_or(bad("the hash is not a 64-hex-digit string"))?,
            );
        }
        Ok(Checkpoints { network, entries })
    }

    /// Builds the table of every epoch closed in `headers`, a chain from
    /// the genesis block (index = height) that the caller has validated
    /// (e.g. a [`crate::headers::HeadersFile`]). `with_targets` records the
    /// next epoch's nBits: do so only for networks without
    /// minimum-difficulty blocks (mainnet, signet), whose blocks all carry
    /// their epoch's target.
    pub fn from_headers<'a>(
        network: Network,
        headers: impl IntoIterator<Item = &'a Header>,
        with_targets: bool,
    ) -> Checkpoints {
        let mut entries = Vec::new();
        let mut closing: Option<BlockHash> = None;
        for (height, h) in headers.into_iter().enumerate() {
            let height = height as u64;
            if height.is_multiple_of(u64::from(EPOCH_BLOCKS)) && height > 0 {
                if let Some(hash) = closing.take() {
                    entries.push(Checkpoint {
                        hash,
                        next_bits: with_targets.then_some(h.bits),
                    });
                }
            }
            if height % u64::from(EPOCH_BLOCKS) == u64::from(EPOCH_BLOCKS) - 1 {
                closing = Some(h.block_hash());
            }
        }
        // The last epoch closed, but the file ends before the next block
        // names its target.
        if let Some(hash) = closing {
            entries.push(Checkpoint {
                hash,
                next_bits: None,
            });
        }
        Checkpoints { network, entries }
    }
}

impl fmt::Display for Checkpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last_height() {
            Some(h) => write!(
                f,
                "{} checkpoints of {} up to height {h}",
                self.entries.len(),
                self.network
            ),
            None => write!(f, "no checkpoints of {}", self.network),
        }
    }
}

/// The nBits of a network's genesis block (its epoch-0 target).
pub fn genesis_bits(network: Network) -> CompactTarget {
    // The genesis blocks' nBits, without building the blocks (a test
    // checks them against `bitcoin::constants::genesis_block`).
    CompactTarget::from_consensus(match network {
        Network::Signet => 0x1e03_77ae,
        Network::Regtest => 0x207f_ffff,
        _ => 0x1d00_ffff,
    })
}

fn parse_lower_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// A non-negative decimal integer below 2^256, as 32 big-endian bytes.
fn decimal_to_u256(s: &str) -> Option<[u8; 32]> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Four 64-bit limbs, least significant first.
    let mut limbs = [0u64; 4];
    for d in s.bytes() {
        let mut carry = u128::from(d - b'0');
        for limb in &mut limbs {
            let v = u128::from(*limb) * 10 + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
        if carry != 0 {
            return None;
        }
    }
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        out[24 - 8 * i..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_load() {
        let main = Checkpoints::builtin(Network::Bitcoin);
        assert_eq!(main.network(), Network::Bitcoin);
        assert!(main.len() >= 473, "{main}");
        assert_eq!(main.epoch_bits(0), Some(genesis_bits(Network::Bitcoin)));
        // Block 437,303 (epoch 216) carries bits 0x180455d2.
        assert_eq!(
            main.epoch_bits(216),
            Some(CompactTarget::from_consensus(0x1804_55d2))
        );
        assert_eq!(
            main.hash_at(2015).map(|h| h.to_string()).as_deref(),
            Some("00000000693067b0e6b440bc51450b9f3850561b07f6d3c021c54fbd6abb9763")
        );
        assert_eq!(main.hash_at(2014), None);
        for n in [Network::Testnet, Network::Testnet4, Network::Signet] {
            let t = Checkpoints::builtin(n);
            assert!(!t.is_empty(), "{n}");
            assert_eq!(t.epoch_bits(5), None, "{n} records no targets");
        }
        assert!(Checkpoints::builtin(Network::Regtest).is_empty());
    }

    #[test]
    fn text_round_trip_and_errors() {
        let main = Checkpoints::builtin(Network::Bitcoin);
        assert_eq!(&Checkpoints::parse(&main.to_text()).unwrap(), main);
        assert_eq!(
            Checkpoints::parse("hello"),
            Err(CheckpointsError::NotATable)
        );
        let head = format!("{TABLE_MAGIC}\nnetwork bitcoin\n");
        let h = "00".repeat(32);
        for (line, problem) in [
            (format!("1 {h} -"), LineProblem::Epoch { expected: 0 }),
            (format!("0 {h}"), LineProblem::Fields),
            (format!("0 {} -", "0".repeat(63)), LineProblem::Hash),
            (format!("0 {h} 1D00FFFF"), LineProblem::Bits),
            (format!("0 {h} 207fffff"), LineProblem::BadTarget),
            (format!("0 {h} 00000000"), LineProblem::BadTarget),
        ] {
            assert_eq!(
                Checkpoints::parse(&format!("{head}{line}\n")),
                Err(CheckpointsError::Line { line: 3, problem }),
                "{line}"
            );
        }
        assert_eq!(
            Checkpoints::parse(&format!("{TABLE_MAGIC}\nnetwork moon\n")),
            Err(CheckpointsError::Network { line: 2 })
        );
    }

    #[test]
    fn electrum_json_form() {
        let json = r#"[
            ["00000000693067b0e6b440bc51450b9f3850561b07f6d3c021c54fbd6abb9763",
             26959535291011309493156476344723991336010898738574164086137773096960],
            ["00000000f037ad09d0b05ee66b8c1da83030abaf909d2b1bf519c3c7d2cd3fdf", 0]
        ]"#;
        let t = Checkpoints::from_electrum_json(Network::Bitcoin, json).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.epoch_bits(1),
            Some(CompactTarget::from_consensus(0x1d00_ffff))
        );
        assert_eq!(t.epoch_bits(2), None);
        assert!(Checkpoints::from_electrum_json(Network::Bitcoin, "[[\"ab\", 1]]").is_err());
        assert!(Checkpoints::from_electrum_json(Network::Bitcoin, "{}").is_err());
        // A target easier than the limit.
        let easy = format!("[[\"{}\", {}]]", "00".repeat(32), "9".repeat(70));
        assert!(Checkpoints::from_electrum_json(Network::Bitcoin, &easy).is_err());
        assert_eq!(decimal_to_u256(&"9".repeat(78)), None);
    }

    #[test]
    fn table_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        let main = Checkpoints::builtin(Network::Bitcoin);
        std::fs::write(&p, main.to_text()).unwrap();
        assert_eq!(&Checkpoints::read_file(&p).unwrap(), main);
        std::fs::write(&p, vec![b'#'; MAX_TABLE_BYTES + 10]).unwrap();
        let e = Checkpoints::read_file(&p).unwrap_err();
        assert!(
            matches!(e, ReadCheckpointsError::TooLarge { size, .. } if size == MAX_TABLE_BYTES as u64 + 10),
            "{e}"
        );
        std::fs::write(&p, b"\xff\xfe").unwrap();
        assert!(matches!(
            Checkpoints::read_file(&p),
            Err(ReadCheckpointsError::Malformed { .. })
        ));
        assert!(Checkpoints::read_file(dir.path()).unwrap_err().is_io());
        assert!(Checkpoints::read_file(&dir.path().join("none"))
            .unwrap_err()
            .is_io());
    }

    #[test]
    fn genesis_bits_are_the_genesis_blocks() {
        for n in [
            Network::Bitcoin,
            Network::Testnet,
            Network::Testnet4,
            Network::Signet,
            Network::Regtest,
        ] {
            assert_eq!(
                genesis_bits(n),
                bitcoin::constants::genesis_block(n).header.bits,
                "{n}"
            );
        }
    }

    #[test]
    fn epochs() {
        assert_eq!(epoch_of(2015), 0);
        assert_eq!(epoch_of(2016), 1);
        assert_eq!(epoch_end(0), 2015);
        assert_eq!(epoch_end(u32::MAX), u32::MAX);
    }
}
