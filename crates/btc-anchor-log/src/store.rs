//! A tiled log in a directory tree (`docs/audit-log.md` §5.3): the writer
//! that adds the tiles and bundles new entries create or change, and the
//! reader that computes roots, inclusion proofs and entries from them.
//!
//! Files are written whole (a temporary file in the same folder, synced,
//! renamed over the final name, the folder synced), and never changed once
//! written: a tile or bundle that exists must already hold exactly the
//! bytes the writer would write.
//!
//! A store may also keep each hash tile's inner rows (§5.4): a private
//! cache, beside the published tiles, of the tree hashes between a tile's
//! rows, so that a reader asked for an inclusion proof reads them instead
//! of hashing the tile's tree again.
//!
//! The store does not lock: one writer at a time is the caller's duty.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use btc_anchor::merkle::{consistency_proof_with, leaf_hash, node_hash, NodeHash, MAX_TREE_SIZE};
use sha2::{Digest as _, Sha256};

use crate::tile::{
    decode_bundle, decode_tile, encode_bundle, encode_tile, TileError, TileKind, TilePath,
    FULL_TILE_LEN, MAX_BUNDLE_LEN, MAX_ENTRY_LEN, TILE_WIDTH,
};

/// Errors of writing or reading a tile store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file system refused an operation.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A tile or bundle the tree size needs is not in the store.
    #[error("{path} is missing")]
    Missing {
        /// The tile path.
        path: TilePath,
    },
    /// A tile or bundle whose bytes are not what it must hold.
    #[error("{path} is malformed")]
    Malformed {
        /// The tile path.
        path: TilePath,
        /// The cause.
        #[source]
        source: TileError,
    },
    /// A tile or bundle already in the store that differs from what the
    /// entries give: the entries are not those the store was written from.
    #[error("{path} already exists with other contents")]
    Conflict {
        /// The tile path.
        path: TilePath,
    },
    /// An entry in a bundle that does not hash to its level-0 tile hash.
    #[error("entry {index} does not match its leaf hash in the level-0 tile")]
    EntryMismatch {
        /// The entry's index.
        index: u64,
    },
    /// An entry over the bundle limit.
    #[error("entry {index} has {found} bytes, over the limit of {MAX_ENTRY_LEN}")]
    EntryTooLong {
        /// The entry's index.
        index: u64,
        /// Its length.
        found: usize,
    },
    /// An old size beyond the entries given, or a size over the limit.
    #[error("bad sizes: old size {old}, new size {new} (at most {MAX_TREE_SIZE})")]
    BadSizes {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// An index at or past the tree size.
    #[error("index {index} is out of range for a tree of {size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// What one [`TileStore::write`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Hash tiles written.
    pub tiles: usize,
    /// Entry bundles written.
    pub bundles: usize,
    /// Files that existed already with the right bytes.
    pub unchanged: usize,
}

/// A tiled log under a directory: `<dir>/tile/...`, and optionally the
/// tiles' inner rows under another (§5.4).
#[derive(Clone, Debug)]
pub struct TileStore {
    dir: PathBuf,
    rows: Option<PathBuf>,
}

/// Hashes in the rows of a hash tile of `width` (§5.4): rows 0 to 7, row
/// `r` holding the `⌊width / 2^r⌋` hashes of its aligned groups of `2^r`.
pub fn rows_len(width: u16) -> usize {
    (0..8).map(|r| usize::from(width >> r)).sum()
}

/// The rows of a tile whose row 0 is `hashes`: rows 1 to 7 computed, each
/// the node hashes of the pairs of the row below (a trailing odd hash has
/// no parent in the tile).
fn inner_rows(hashes: Vec<NodeHash>) -> [Vec<NodeHash>; 8] {
    let mut rows: [Vec<NodeHash>; 8] = Default::default();
    rows[0] = hashes;
    for i in 1..8 {
        let (below, rest) = rows.split_at_mut(i);
        rest[0] = below[i - 1]
            .chunks_exact(2)
            .map(|p| node_hash_2blocks(&p[0], &p[1]))
            .collect();
    }
    rows
}

/// The root of a full tile from its rows: the node hash of row 7's pair.
fn full_tile_root(rows: &[Vec<NodeHash>; 8]) -> NodeHash {
    debug_assert_eq!(rows[7].len(), 2);
    node_hash(&rows[7][0], &rows[7][1])
}

/// The bytes of a rows file (§5.4): the rows, bottom first, each hash's 32
/// bytes in order.
fn encode_rows(rows: &[Vec<NodeHash>; 8]) -> Vec<u8> {
    rows.iter().flatten().flat_map(|h| h.0).collect()
}

/// The rows a rows file holds, `None` unless it has exactly the length of
/// a tile of `width`.
fn decode_rows(bytes: &[u8], width: u16) -> Option<[Vec<NodeHash>; 8]> {
    if bytes.len() != 32 * rows_len(width) {
        return None;
    }
    let mut hashes = bytes
        .chunks_exact(32)
        .map(|c| NodeHash(c.try_into().expect("32-byte chunks")));
    let mut rows: [Vec<NodeHash>; 8] = Default::default();
    for (r, row) in rows.iter_mut().enumerate() {
        *row = hashes.by_ref().take(usize::from(width >> r)).collect();
    }
    Some(rows)
}

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const SHA256_H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// [`node_hash`] as one call of the SHA-256 compression function over
/// its two padded blocks (`0x01 ‖ left ‖ right` is 65 bytes), which skips
/// the hasher's buffering: the reader's inner loop.
fn node_hash_2blocks(left: &NodeHash, right: &NodeHash) -> NodeHash {
    use sha2::digest::generic_array::GenericArray;
    let mut blocks = [GenericArray::from([0u8; 64]); 2];
    blocks[0][0] = 0x01;
    blocks[0][1..33].copy_from_slice(&left.0);
    blocks[0][33..].copy_from_slice(&right.0[..31]);
    blocks[1][0] = right.0[31];
    blocks[1][1] = 0x80;
    blocks[1][56..].copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = SHA256_H0;
    sha2::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    NodeHash(out)
}

/// The root of the empty tree: SHA-256 of nothing (RFC 6962 §2.1).
pub fn empty_root() -> NodeHash {
    NodeHash(Sha256::digest([]).into())
}

impl TileStore {
    /// The store under `dir` (not created until written).
    pub fn new(dir: impl Into<PathBuf>) -> TileStore {
        TileStore {
            dir: dir.into(),
            rows: None,
        }
    }

    /// The store under `dir` that also keeps each hash tile's rows under
    /// `rows` (§5.4): [`TileStore::write`] writes them beside each tile,
    /// and a reader reads a tile's rows from there when they are present
    /// and of the right length, and from the tile otherwise.
    ///
    /// The rows are trusted as the tiles are: a caller that must not hand
    /// out a wrong proof checks it against a signed root, and can read
    /// again from [`TileStore::without_rows`].
    pub fn with_rows(dir: impl Into<PathBuf>, rows: impl Into<PathBuf>) -> TileStore {
        TileStore {
            dir: dir.into(),
            rows: Some(rows.into()),
        }
    }

    /// The same tiles, read without their stored rows.
    pub fn without_rows(&self) -> TileStore {
        TileStore::new(self.dir.clone())
    }

    /// The rows file of a hash tile, when this store keeps rows.
    fn rows_file(&self, path: &TilePath) -> Option<PathBuf> {
        match path.kind {
            TileKind::Hashes { .. } => self.rows.as_ref().map(|d| d.join(path.to_path())),
            TileKind::Entries => None,
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a tile or bundle.
    pub fn file(&self, path: &TilePath) -> PathBuf {
        self.dir.join(path.to_path())
    }

    /// Writes the tiles and bundles that growing the log from `old_size`
    /// entries to all of `entries` creates or changes (§5.3): the level-0
    /// tiles and bundles from the entries, then each level's tiles from the
    /// full tiles below it and from the old partial tile of that level,
    /// read back from the store.
    ///
    /// # Errors
    ///
    /// [`StoreError::BadSizes`] when `old_size` exceeds the entries or the
    /// tree limit is passed, [`StoreError::Conflict`] when the store holds
    /// other tiles than these entries give, [`StoreError::Missing`] when an
    /// old partial tile is not in the store, and I/O errors.
    pub fn write<E: AsRef<[u8]>>(
        &self,
        entries: &[E],
        old_size: u64,
    ) -> Result<WriteReport, StoreError> {
        let new_size = entries.len() as u64;
        if old_size > new_size || new_size > MAX_TREE_SIZE {
            return Err(StoreError::BadSizes {
                old: old_size,
                new: new_size,
            });
        }
        let mut report = WriteReport::default();
        if old_size == new_size {
            return Ok(report);
        }
        for (i, e) in entries.iter().enumerate().skip(old_size as usize) {
            if e.as_ref().len() > MAX_ENTRY_LEN {
                return Err(StoreError::EntryTooLong {
                    index: i as u64,
                    found: e.as_ref().len(),
                });
            }
        }
        // Level 0: the hashes of tiles old_size/256 .. from the entries,
        // the old partial tile (if any) checked against them.
        let mut level: u8 = 0;
        let first_tile = old_size / TILE_WIDTH;
        let start = (first_tile * TILE_WIDTH) as usize;
        let mut hashes: Vec<NodeHash> = entries[start..]
            .iter()
            .map(|e| NodeHash::from(leaf_hash(e.as_ref())))
            .collect();
        if !old_size.is_multiple_of(TILE_WIDTH) {
            let old = TilePath {
                kind: TileKind::Hashes { level: 0 },
                index: first_tile,
                width: (old_size % TILE_WIDTH) as u16,
            };
            let on_disk = self.read_tile(&old)?;
            if on_disk[..] != hashes[..on_disk.len()] {
                return Err(StoreError::Conflict { path: old });
            }
        }
        // Bundles of the same tiles.
        for (i, chunk) in entries[start..].chunks(TILE_WIDTH as usize).enumerate() {
            let path = TilePath {
                kind: TileKind::Entries,
                index: first_tile + i as u64,
                width: chunk.len() as u16,
            };
            let bytes =
                encode_bundle(chunk).map_err(|source| StoreError::Malformed { path, source })?;
            if self.put(&path, &bytes)? {
                report.bundles += 1;
            } else {
                report.unchanged += 1;
            }
        }
        // Each level: `hashes` are the level-8L hashes from global index
        // first_tile*256 on; write their tiles, and hash the newly full ones
        // into the next level.
        let mut old_count = old_size;
        let mut first_tile = first_tile;
        loop {
            let mut next = Vec::new();
            for (i, chunk) in hashes.chunks(TILE_WIDTH as usize).enumerate() {
                let path = TilePath {
                    kind: TileKind::Hashes { level },
                    index: first_tile + i as u64,
                    width: chunk.len() as u16,
                };
                if self.put(&path, &encode_tile(chunk))? {
                    report.tiles += 1;
                } else {
                    report.unchanged += 1;
                }
                let rows = inner_rows(chunk.to_vec());
                if let Some(file) = self.rows_file(&path) {
                    self.put_rows(&file, &encode_rows(&rows))?;
                }
                if path.is_full() {
                    next.push(full_tile_root(&rows));
                }
            }
            // The next level's old and new hash counts.
            let next_old = old_count / TILE_WIDTH;
            let next_new = (new_size >> (8 * (u32::from(level) + 1))) as usize;
            if next_new as u64 == next_old {
                break;
            }
            level += 1;
            old_count = next_old;
            first_tile = old_count / TILE_WIDTH;
            // This level's old partial tile, then the hashes of the tiles
            // completed below.
            let mut full = Vec::with_capacity(next_new - (first_tile * TILE_WIDTH) as usize);
            if !old_count.is_multiple_of(TILE_WIDTH) {
                let old = TilePath {
                    kind: TileKind::Hashes { level },
                    index: first_tile,
                    width: (old_count % TILE_WIDTH) as u16,
                };
                full.extend(self.read_tile(&old)?);
            }
            // The tiles completed below are exactly the hashes from
            // `next_old` on (the first tile below was partial before).
            full.extend(next);
            debug_assert_eq!(full.len(), next_new - (first_tile * TILE_WIDTH) as usize);
            hashes = full;
        }
        Ok(report)
    }

    /// Writes `bytes` to the file of `path` unless it exists; an existing
    /// file must hold the same bytes. Returns whether it wrote.
    fn put(&self, path: &TilePath, bytes: &[u8]) -> Result<bool, StoreError> {
        let file = self.file(path);
        match fs::read(&file) {
            Ok(existing) if existing == bytes => return Ok(false),
            Ok(_) => return Err(StoreError::Conflict { path: *path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("read", &file)(e)),
        }
        write_atomic(&file, bytes, true)?;
        Ok(true)
    }

    /// Writes a tile's rows file (§5.4) unless it already holds `bytes`:
    /// whole, through a temporary file and a rename, but not synced, as
    /// the rows are a cache that a reader checks for length and its caller
    /// for the roots it gives.
    fn put_rows(&self, file: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        match fs::read(file) {
            Ok(existing) if existing == bytes => Ok(()),
            Ok(_) => write_atomic(file, bytes, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => write_atomic(file, bytes, false),
            Err(e) => Err(io_err("read", file)(e)),
        }
    }

    /// A hash tile's rows: from its rows file when this store keeps rows
    /// and the file has the tile's length, else row 0 from the tile
    /// (rows 1 to 7 left empty, for [`CachedTile::row`] to compute).
    fn read_rows(&self, path: &TilePath) -> Result<[Vec<NodeHash>; 8], StoreError> {
        if let Some(file) = self.rows_file(path) {
            let stored = read_capped(&file, 32 * rows_len(path.width))
                .ok()
                .and_then(|bytes| decode_rows(&bytes, path.width));
            if let Some(rows) = stored {
                return Ok(rows);
            }
        }
        let mut rows: [Vec<NodeHash>; 8] = Default::default();
        rows[0] = self.read_tile(path)?;
        Ok(rows)
    }

    /// Reads and decodes a hash tile.
    fn read_tile(&self, path: &TilePath) -> Result<Vec<NodeHash>, StoreError> {
        let bytes = self.read(path, 32 * usize::from(path.width))?;
        decode_tile(&bytes, path.width).map_err(|source| StoreError::Malformed {
            path: *path,
            source,
        })
    }

    /// Reads a file, at most `limit` bytes (one more to tell a longer one).
    fn read(&self, path: &TilePath, limit: usize) -> Result<Vec<u8>, StoreError> {
        let file = self.file(path);
        read_capped(&file, limit).map_err(|(action, e)| {
            if action == "open" && e.kind() == io::ErrorKind::NotFound {
                StoreError::Missing { path: *path }
            } else {
                io_err(action, &file)(e)
            }
        })
    }

    /// A reader of the tree of `size` leaves in this store.
    ///
    /// # Errors
    ///
    /// [`StoreError::BadSizes`] for a size over the tree limit.
    pub fn reader(&self, size: u64) -> Result<TileReader<'_>, StoreError> {
        if size > MAX_TREE_SIZE {
            return Err(StoreError::BadSizes {
                old: size,
                new: size,
            });
        }
        Ok(TileReader {
            store: self,
            size,
            cache: HashMap::new(),
        })
    }
}

/// Reads `file`, at most `limit` bytes (one more to tell a longer one); the
/// error names the step that failed, `open` or `read`.
fn read_capped(file: &Path, limit: usize) -> Result<Vec<u8>, (&'static str, io::Error)> {
    let f = fs::File::open(file).map_err(|e| ("open", e))?;
    // Room for a whole rows file (a full tile's is 16,320 bytes) and the
    // one byte more; bundles grow.
    let mut bytes = Vec::with_capacity((limit + 1).min(2 * FULL_TILE_LEN));
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ("read", e))?;
    Ok(bytes)
}

/// Writes a file whole: a temporary file beside it, renamed over the final
/// name (its folders are created as needed); with `durable`, the file is
/// synced before the rename and the folder after.
fn write_atomic(file: &Path, bytes: &[u8], durable: bool) -> Result<(), StoreError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create folder", dir))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A temporary file left by a crashed write of this process id.
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io_err("create", &tmp))?;
    f.write_all(bytes)
        .and_then(|()| if durable { f.sync_all() } else { Ok(()) })
        .map_err(io_err("write", &tmp))?;
    drop(f);
    fs::rename(&tmp, file).map_err(io_err("rename into place", file))?;
    if durable {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync folder", dir))?;
    }
    Ok(())
}

/// Computes tree hashes of one tree size from the tiles in a store,
/// caching the tiles it reads.
///
/// A tile holds only the bottom row of its 8 levels of the tree; the
/// subtree hashes between its rows (heights `8L + 1` to `8L + 7`) are read
/// from the tile's rows file when the store keeps rows (§5.4), or else
/// computed from the tile once, the first time one is asked for; either
/// way they are kept with the tile, for later proofs through it.
#[derive(Debug)]
pub struct TileReader<'a> {
    store: &'a TileStore,
    size: u64,
    cache: HashMap<TilePath, CachedTile>,
}

/// A tile read, and the hashes between its rows once computed.
#[derive(Debug)]
struct CachedTile {
    /// `rows[r]`: the hashes of the aligned groups of `2^r` hashes of the
    /// tile (full groups only); `rows[0]` is the tile itself, the others
    /// are empty until read from the rows file or computed by
    /// [`CachedTile::row`].
    rows: [Vec<NodeHash>; 8],
}

impl CachedTile {
    /// Row `r` (0 to 7), computing rows 1 to 7 on first use when they were
    /// not read: at most 255 hashes for a full tile, each hash of the
    /// tile's tree once.
    fn row(&mut self, r: usize) -> &[NodeHash] {
        if r > 0 && self.rows[1].is_empty() && self.rows[0].len() > 1 {
            self.rows = inner_rows(std::mem::take(&mut self.rows[0]));
        }
        &self.rows[r]
    }
}

impl TileReader<'_> {
    /// The tree size read.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tile at `level` and `index`, of the width this tree size gives
    /// it, read once.
    fn tile(&mut self, level: u8, index: u64) -> Result<&mut CachedTile, StoreError> {
        let path = TilePath::for_size(TileKind::Hashes { level }, index, self.size).ok_or(
            StoreError::IndexOutOfRange {
                index,
                size: self.size,
            },
        )?;
        match self.cache.entry(path) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let rows = self.store.read_rows(&path)?;
                Ok(e.insert(CachedTile { rows }))
            }
        }
    }

    /// The hash of the full subtree of `2^height` leaves starting at leaf
    /// `k × 2^height`, from the level-`height/8` tile that holds it (row
    /// `height mod 8` of that tile's tree).
    fn stored(&mut self, height: u32, k: u64) -> Result<NodeHash, StoreError> {
        let level = height / 8;
        let r = height % 8;
        let first = k << r;
        let size = self.size;
        let tile = self.tile(level as u8, first / TILE_WIDTH)?;
        let at = ((first % TILE_WIDTH) >> r) as usize;
        tile.row(r as usize)
            .get(at)
            .copied()
            .ok_or(StoreError::IndexOutOfRange { index: k, size })
    }

    /// MTH(D[start:end]) (RFC 6962 §2.1) for `start < end <= size`.
    fn subtree(&mut self, start: u64, end: u64) -> Result<NodeHash, StoreError> {
        let len = end - start;
        if len.is_power_of_two() && start.is_multiple_of(len) {
            return self.stored(len.trailing_zeros(), start / len);
        }
        let k = 1u64 << (63 - (len - 1).leading_zeros());
        let left = self.subtree(start, start + k)?;
        let right = self.subtree(start + k, end)?;
        Ok(node_hash(&left, &right))
    }

    /// The root of the tree.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when a tile is missing or malformed.
    pub fn root(&mut self) -> Result<NodeHash, StoreError> {
        if self.size == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, self.size)
    }

    /// The inclusion proof of leaf `index` (RFC 9162 §2.1.3.1), from the
    /// leaf's sibling up.
    ///
    /// # Errors
    ///
    /// [`StoreError::IndexOutOfRange`] for an index at or past the size, or
    /// a [`StoreError`] when a tile is missing or malformed.
    pub fn inclusion_proof(&mut self, index: u64) -> Result<Vec<NodeHash>, StoreError> {
        if index >= self.size {
            return Err(StoreError::IndexOutOfRange {
                index,
                size: self.size,
            });
        }
        let mut path = Vec::new();
        let (mut start, mut end, mut m) = (0u64, self.size, index);
        // Walk down from the root, collecting siblings; reversed at the end.
        while end - start > 1 {
            let n = end - start;
            let k = 1u64 << (63 - (n - 1).leading_zeros());
            if m < k {
                path.push(self.subtree(start + k, end)?);
                end = start + k;
            } else {
                path.push(self.subtree(start, start + k)?);
                start += k;
                m -= k;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// A proof that the tree of `old_size` leaves is a prefix of this one
    /// (RFC 9162 §2.1.4.1), computed from the tiles. Empty when the sizes
    /// are equal.
    ///
    /// # Errors
    ///
    /// [`StoreError::BadSizes`] when `old_size` is zero or past this size,
    /// or a [`StoreError`] when a tile is missing or malformed.
    pub fn consistency_proof(&mut self, old_size: u64) -> Result<Vec<NodeHash>, StoreError> {
        if old_size == 0 || old_size > self.size {
            return Err(StoreError::BadSizes {
                old: old_size,
                new: self.size,
            });
        }
        let size = self.size;
        consistency_proof_with(old_size, size, |start, end| self.subtree(start, end))
    }

    /// The leaf hash of leaf `index`, from its level-0 tile.
    ///
    /// # Errors
    ///
    /// As [`TileReader::inclusion_proof`].
    pub fn leaf(&mut self, index: u64) -> Result<NodeHash, StoreError> {
        if index >= self.size {
            return Err(StoreError::IndexOutOfRange {
                index,
                size: self.size,
            });
        }
        self.stored(0, index)
    }

    /// Entry `index`, read from its bundle and checked against its leaf
    /// hash in the level-0 tile.
    ///
    /// # Errors
    ///
    /// [`StoreError::EntryMismatch`] when the bundle's entry does not hash
    /// to the tile's leaf hash, and the errors of reading tiles.
    pub fn entry(&mut self, index: u64) -> Result<Vec<u8>, StoreError> {
        let leaf = self.leaf(index)?;
        let path = TilePath::for_size(TileKind::Entries, index / TILE_WIDTH, self.size).ok_or(
            StoreError::IndexOutOfRange {
                index,
                size: self.size,
            },
        )?;
        let bytes = self.store.read(&path, MAX_BUNDLE_LEN)?;
        let mut entries = decode_bundle(&bytes, path.width)
            .map_err(|source| StoreError::Malformed { path, source })?;
        let entry = entries.swap_remove((index % TILE_WIDTH) as usize);
        if NodeHash::from(leaf_hash(&entry)) != leaf {
            return Err(StoreError::EntryMismatch { index });
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_block_node_hash_is_the_node_hash() {
        for i in 0..64u8 {
            let l = NodeHash(Sha256::digest([i]).into());
            let r = NodeHash(Sha256::digest([i, 1]).into());
            assert_eq!(node_hash_2blocks(&l, &r), node_hash(&l, &r));
        }
    }
}
