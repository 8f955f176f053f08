//! Tiles and entry bundles (C2SP `tlog-tiles`, `docs/audit-log.md` §5):
//! their paths, and the encoding of their contents.
//!
//! A tile at level `L` holds up to 256 consecutive tree hashes of subtrees
//! of `256^L` leaves; a full tile holds exactly 256 (8,192 bytes), a partial
//! one 1 to 255. An entry bundle holds the entries of one level-0 tile, each
//! a big-endian `u16` length and the entry's bytes.

use std::fmt;

use btc_anchor::merkle::{NodeHash, MAX_TREE_SIZE};

use crate::checkpoint::parse_decimal;

/// Hashes in a full tile (the tile height is 8 levels of the tree).
pub const TILE_WIDTH: u64 = 256;
/// Bytes of a full tile.
pub const FULL_TILE_LEN: usize = 256 * 32;
/// Highest level in a path (C2SP allows 0 to 63; trees here have at most
/// 2^32 leaves, which need levels 0 to 4).
pub const MAX_LEVEL: u8 = 63;
/// Longest entry in a bundle, in bytes (the `u16` length prefix).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
/// Longest bundle accepted: 256 entries of the longest length.
pub const MAX_BUNDLE_LEN: usize = 256 * (2 + MAX_ENTRY_LEN);
/// Longest tile path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 64;

/// What a tile holds: tree hashes at a level, or the entries themselves.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TileKind {
    /// Tree hashes of subtrees of `256^level` leaves.
    Hashes {
        /// The tile level.
        level: u8,
    },
    /// An entry bundle (`tile/entries/...`).
    Entries,
}

/// The address of a tile or bundle: kind, index in its level, and width
/// (256 for a full tile, 1 to 255 for a partial one).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TilePath {
    /// Hashes at a level, or entries.
    pub kind: TileKind,
    /// Index of the tile in its level.
    pub index: u64,
    /// Number of hashes or entries: 1 to 256.
    pub width: u16,
}

/// Errors of tile paths and of decoding tiles and bundles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// A path not of the form `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]` in canonical encoding.
    #[error("invalid tile path")]
    BadPath,
    /// A tile whose length is not 32 times its width.
    #[error("tile has {found} bytes, its width needs {expected}")]
    TileLength {
        /// Length the width implies.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A bundle that ends inside an entry.
    #[error("entry bundle is truncated in entry {entry}")]
    TruncatedBundle {
        /// The entry's position in the bundle.
        entry: usize,
    },
    /// A bundle with another number of entries than its width, or bytes
    /// after the last one.
    #[error("entry bundle has {found} entries, its width needs {expected}")]
    BundleWidth {
        /// Entries the width implies.
        expected: usize,
        /// Entries found (more when bytes follow the last one).
        found: usize,
    },
    /// An entry longer than [`MAX_ENTRY_LEN`].
    #[error("entry of {found} bytes is over the limit of {MAX_ENTRY_LEN}")]
    EntryTooLong {
        /// Length found.
        found: usize,
    },
}

impl TilePath {
    /// The tile at `level` with `index`, of the width a tree of `size`
    /// leaves gives it, or `None` when that tree has no such tile.
    pub fn for_size(kind: TileKind, index: u64, size: u64) -> Option<TilePath> {
        let level = match kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        };
        let shift = 8 * u32::from(level);
        if shift >= 64 {
            return None;
        }
        let count = size >> shift;
        let full = count / TILE_WIDTH;
        let width = if index < full {
            256
        } else if index == full && !count.is_multiple_of(TILE_WIDTH) {
            (count % TILE_WIDTH) as u16
        } else {
            return None;
        };
        Some(TilePath { kind, index, width })
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        self.width == 256
    }

    /// Parses a path (§5.1), accepting only the canonical encoding.
    ///
    /// # Errors
    ///
    /// [`TileError::BadPath`] for anything else.
    pub fn parse(path: &str) -> Result<TilePath, TileError> {
        if path.len() > MAX_PATH_LEN {
            return Err(TileError::BadPath);
        }
        let rest = path.strip_prefix("tile/").ok_or(TileError::BadPath)?;
        let (kind_s, rest) = rest.split_once('/').ok_or(TileError::BadPath)?;
        let kind = if kind_s == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(kind_s, u64::from(MAX_LEVEL)).ok_or(TileError::BadPath)?;
            TileKind::Hashes { level: level as u8 }
        };
        let (index_s, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = parse_decimal(w, 255)
                    .filter(|&w| w >= 1)
                    .ok_or(TileError::BadPath)?;
                (i, w as u16)
            }
            None => (rest, 256),
        };
        let elems: Vec<&str> = index_s.split('/').collect();
        // u64 has at most 20 digits: 7 groups of three.
        if elems.len() > 7 {
            return Err(TileError::BadPath);
        }
        let mut index: u64 = 0;
        for (i, e) in elems.iter().enumerate() {
            let last = i + 1 == elems.len();
            let digits = if last {
                *e
            } else {
                e.strip_prefix('x').ok_or(TileError::BadPath)?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TileError::BadPath);
            }
            let group: u64 = digits.parse().map_err(|_| TileError::BadPath)?;
            // No leading group of zeroes: the encoding is canonical.
            if i == 0 && !last && group == 0 {
                return Err(TileError::BadPath);
            }
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(group))
                .ok_or(TileError::BadPath)?;
        }
        Ok(TilePath { kind, index, width })
    }

    /// The path, `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn to_path(&self) -> String {
        let mut out = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => out.push_str(&level.to_string()),
            TileKind::Entries => out.push_str("entries"),
        }
        out.push('/');
        out.push_str(&encode_index(self.index));
        if !self.is_full() {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_path())
    }
}

/// The index as 3-digit path elements, all but the last prefixed by `x`:
/// 1234067 is `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![n % 1000];
    n /= 1000;
    while n > 0 {
        groups.push(n % 1000);
        n /= 1000;
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
    out
}

/// Decodes the hashes of a tile of `width` (1 to 256).
///
/// # Errors
///
/// [`TileError::TileLength`] when `bytes` is not `32 × width` long.
pub fn decode_tile(bytes: &[u8], width: u16) -> Result<Vec<NodeHash>, TileError> {
    let expected = 32 * usize::from(width);
    if bytes.len() != expected || width == 0 || width > 256 {
        return Err(TileError::TileLength {
            expected,
            found: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            NodeHash(h)
        })
        .collect())
}

/// Encodes tile hashes (their concatenation).
pub fn encode_tile(hashes: &[NodeHash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Encodes entries as a bundle.
///
/// # Errors
///
/// [`TileError::EntryTooLong`] for an entry over [`MAX_ENTRY_LEN`] bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| 2 + e.as_ref().len()).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLong { found: e.len() })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes a bundle of `width` entries, refusing a truncated entry, fewer
/// or more entries, and trailing bytes.
///
/// # Errors
///
/// [`TileError::TruncatedBundle`] or [`TileError::BundleWidth`].
pub fn decode_bundle(bytes: &[u8], width: u16) -> Result<Vec<Vec<u8>>, TileError> {
    let width = usize::from(width);
    let mut entries = Vec::with_capacity(width.min(256));
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == width {
            return Err(TileError::BundleWidth {
                expected: width,
                found: width + 1,
            });
        }
        let [a, b, tail @ ..] = rest else {
            return Err(TileError::TruncatedBundle {
                entry: entries.len(),
            });
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(TileError::TruncatedBundle {
                entry: entries.len(),
            });
        }
        entries.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    if entries.len() != width {
        return Err(TileError::BundleWidth {
            expected: width,
            found: entries.len(),
        });
    }
    Ok(entries)
}

/// Largest tree a tile store serves ([`MAX_TREE_SIZE`] of the core).
pub const MAX_SIZE: u64 = MAX_TREE_SIZE;
