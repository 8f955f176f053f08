//! The persistent store: one SQLite database in the data directory holding
//! queued records, batches and their anchoring transactions.
//!
//! A batch moves through `batched` (root fixed) → `broadcast` (a signed
//! transaction accepted by the server) → `confirmed` (in a block, below the
//! required depth) → `final`. Every change is committed before the side
//! effect it enables: the signed transaction is stored before it is
//! broadcast, the batch is fixed before a transaction is built for it. A
//! command killed at any point therefore finds, on the next run, either the
//! step not taken or its result, never a gap; no record is lost and no batch
//! gets a second, different anchoring transaction unless a fee bump was
//! asked for.
//!
//! Concurrent commands on one data directory are serialized by [`DataLock`].

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::consensus;
use bitcoin::hashes::Hash as _;
use bitcoin::{BlockHash, Network, Transaction, Txid};
use rusqlite::{params, Connection, OptionalExtension};

use btc_anchor::hash::RecordDigest;
use btc_anchor::merkle::{MerkleError, NodeHash, Salt};

/// File name of the store database inside the data directory.
pub const STORE_FILE: &str = "store.sqlite";
/// File name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "lock";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("store database")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL journal failed (feature `postgres`).
    #[cfg(feature = "postgres")]
    #[error("journal database")]
    Postgres(#[from] postgres::Error),
    /// The data directory or lock file could not be used.
    #[error("data directory {path}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another command holds the data directory.
    #[error("another btc-anchor command is using the data directory {0}")]
    Locked(PathBuf),
    /// A stored value does not decode (the database was edited or damaged).
    #[error("the store holds a damaged {what} (row {row})")]
    Damaged {
        /// What could not be decoded.
        what: &'static str,
        /// The row id.
        row: i64,
    },
    /// A stored salt is invalid.
    #[error("the store holds an invalid salt")]
    Salt(#[from] MerkleError),
    /// A database written by a newer version of this program.
    #[error("the store was written by a newer version (schema {found}, this program knows {SCHEMA_VERSION})")]
    NewerSchema {
        /// The schema version found.
        found: i64,
    },
}

/// The schema version this code knows. A store is at version 1 until it
/// holds a record stamped without paths (empty label and proof path,
/// [`Store::add_records`]); the first such record raises it to 2, which
/// older versions refuse, as they would write its proofs to no path.
pub const SCHEMA_VERSION: i64 = 2;

/// An exclusive lock on a data directory, held while a command runs and
/// released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

impl DataLock {
    /// Takes the lock, failing at once if another process holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataLock, StoreError> {
        let io_err = |source| StoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        };
        create_private_dir(data_dir).map_err(io_err)?;
        let path = data_dir.join(LOCK_FILE);
        create_private_file(&path).map_err(io_err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => Ok(DataLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked(data_dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => Err(io_err(e)),
        }
    }
}

/// The state of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchState {
    /// Root fixed; no transaction accepted by a server yet (one may be
    /// signed and stored).
    Batched,
    /// A transaction is broadcast, not yet confirmed.
    Broadcast,
    /// Confirmed below the required depth.
    Confirmed,
    /// Confirmed at the required depth; proofs are complete.
    Final,
}

impl BatchState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BatchState::Batched => "batched",
            BatchState::Broadcast => "broadcast",
            BatchState::Confirmed => "confirmed",
            BatchState::Final => "final",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<BatchState> {
        Some(match s {
            "batched" => BatchState::Batched,
            "broadcast" => BatchState::Broadcast,
            "confirmed" => BatchState::Confirmed,
            "final" => BatchState::Final,
            _ => return None,
        })
    }
}

impl std::fmt::Display for BatchState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stamped record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Row id.
    pub id: i64,
    /// SHA-256 of the document.
    pub digest: RecordDigest,
    /// Its salt.
    pub salt: Salt,
    /// What the user stamped (a path, or a label for a bare digest);
    /// empty for a record stamped without paths.
    pub label: String,
    /// Where its proof file is written; empty for a record stamped without
    /// paths, whose proof files are found by their content instead
    /// ([`StoredRecord::has_proof_path`]).
    pub proof_path: PathBuf,
    /// When it was stamped (seconds since 1970).
    pub stamped_at: i64,
    /// Its batch and leaf index, once batched.
    pub batch: Option<(i64, u64)>,
}

impl StoredRecord {
    /// Whether the store knows where the record's proof file is: not for a
    /// record stamped without paths.
    pub fn has_proof_path(&self) -> bool {
        !self.proof_path.as_os_str().is_empty()
    }
}

/// Where a batch's transaction confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    /// The transaction that confirmed.
    pub txid: Txid,
    /// The block's height.
    pub height: u32,
    /// The block's hash.
    pub block_hash: BlockHash,
    /// Confirmations when last checked.
    pub confirmations: u32,
}

/// A batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// Row id.
    pub id: i64,
    /// The tree root.
    pub root: NodeHash,
    /// Number of records.
    pub size: u64,
    /// Its state.
    pub state: BatchState,
    /// When it was fixed.
    pub created_at: i64,
    /// Where it confirmed, if it did.
    pub confirmation: Option<Confirmation>,
}

/// An anchoring transaction as stored: the first one of a batch, or a
/// replacement at a higher fee.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTx {
    /// Its txid.
    pub txid: Txid,
    /// Its batch.
    pub batch_id: i64,
    /// The signed transaction, witness included.
    pub tx: Transaction,
    /// Fee paid, in satoshis.
    pub fee_sat: u64,
    /// Fee rate, in sat/vB.
    pub fee_rate: f64,
    /// When it was signed.
    pub created_at: i64,
    /// When a server accepted it, if one did.
    pub broadcast_at: Option<i64>,
}

/// Seconds since 1970, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The network recorded in the store of `data_dir`, read without creating
/// anything or taking the data directory's lock: `None` when there is no
/// store, or it has no network recorded.
///
/// # Errors
///
/// A store that cannot be read.
pub fn recorded_network(data_dir: &Path) -> Result<Option<Network>, StoreError> {
    let path = data_dir.join(STORE_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_settings: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings')",
        [],
        |r| r.get(0),
    )?;
    if !has_settings {
        return Ok(None);
    }
    Store { conn }.network()
}

/// The journal of a data directory: its records, batches and anchoring
/// transactions, with the durability rules of this module's
/// documentation (every change committed before the side effect it
/// enables). [`Store`] keeps it in SQLite, beside the documents; the
/// `postgres` feature's [`crate::postgres::PgJournal`] keeps it in
/// PostgreSQL, shared by several calendar servers.
pub trait Journal: Send + std::fmt::Debug {
    /// The network this store's records are anchored on, once recorded
    /// ([`Journal::record_network`]); `None` for a store that predates the
    /// record, or a new one.
    fn network(&self) -> Result<Option<Network>, StoreError>;

    /// Records the network of the store's records (kept if one is there).
    fn record_network(&mut self, network: Network) -> Result<(), StoreError>;

    /// Queues records (one transaction: all or none). A record with an
    /// empty label and proof path is stored without paths: nothing in the
    /// journal says where its document or proof is (in the SQLite store,
    /// the first one raises the schema to version 2, [`SCHEMA_VERSION`]).
    fn add_records(
        &mut self,
        records: &[(RecordDigest, Salt, String, PathBuf)],
    ) -> Result<Vec<i64>, StoreError>;

    /// The record with row id `id`, if there is one.
    fn record(&self, id: i64) -> Result<Option<StoredRecord>, StoreError>;

    /// How many records wait for a batch, and when the oldest of them was
    /// stamped (seconds since 1970), without reading them.
    fn queue_summary(&self) -> Result<(u64, Option<i64>), StoreError>;

    /// Records waiting for a batch, oldest first.
    fn queued_records(&self) -> Result<Vec<StoredRecord>, StoreError>;

    /// The records of a batch, in leaf order.
    fn batch_records(&self, batch_id: i64) -> Result<Vec<StoredRecord>, StoreError>;

    /// Up to `limit` records waiting for a batch whose row id is above
    /// `after`, oldest first: the queue read page by page, so that a large
    /// one is never held whole ([`Journal::queued_records`] reads it all).
    fn queued_page(&self, after: i64, limit: usize) -> Result<Vec<StoredRecord>, StoreError>;

    /// Up to `limit` records of a batch from leaf `from` on, in leaf order:
    /// the batch read page by page ([`Journal::batch_records`] reads it
    /// all).
    fn batch_page(
        &self,
        batch_id: i64,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError>;

    /// The record whose proof is written at `path`, if any.
    fn record_at_proof_path(&self, path: &Path) -> Result<Option<StoredRecord>, StoreError>;

    /// Moves where record `id`'s proof is written (a relative path stored
    /// by an earlier version, made absolute).
    fn set_proof_path(&mut self, id: i64, path: &Path) -> Result<(), StoreError>;

    /// Fixes a batch over `records` (in this leaf order) with `root`, in one
    /// transaction.
    fn create_batch(&mut self, root: &NodeHash, record_ids: &[i64]) -> Result<i64, StoreError>;

    /// One batch.
    fn batch(&self, id: i64) -> Result<Option<StoredBatch>, StoreError>;

    /// All batches, oldest first.
    fn batches(&self) -> Result<Vec<StoredBatch>, StoreError>;

    /// Batches in one of the given states, oldest first.
    fn batches_in(&self, states: &[BatchState]) -> Result<Vec<StoredBatch>, StoreError>;

    /// Stores a signed transaction for a batch, before it is broadcast.
    fn add_tx(
        &mut self,
        batch_id: i64,
        tx: &Transaction,
        fee_sat: u64,
        fee_rate: f64,
    ) -> Result<Txid, StoreError>;

    /// Records that a server accepted `txid`, and moves its batch from
    /// `batched` to `broadcast`.
    fn mark_broadcast(&mut self, txid: &Txid) -> Result<(), StoreError>;

    /// The transactions of a batch, oldest first.
    fn batch_txs(&self, batch_id: i64) -> Result<Vec<StoredTx>, StoreError>;

    /// Records where a batch confirmed, and its new state.
    fn set_confirmation(
        &mut self,
        batch_id: i64,
        c: &Confirmation,
        state: BatchState,
    ) -> Result<(), StoreError>;

    /// Keeps the complete proof of a batch's first record, whose block part
    /// every proof of the batch shares (replacing one kept before: a
    /// sealed proof carries more headers).
    fn set_batch_block(&mut self, batch_id: i64, proof_json: &str) -> Result<(), StoreError>;

    /// The complete proof kept for a batch ([`Journal::set_batch_block`]);
    /// `None` for a batch completed by a version that did not keep it.
    fn batch_block(&self, batch_id: i64) -> Result<Option<String>, StoreError>;

    /// Every record, oldest first.
    fn all_records(&self) -> Result<Vec<StoredRecord>, StoreError>;

    /// Makes lookups by digest ([`Journal::records_with_digest`]) quick,
    /// for callers that make many: an index, created on first use (not by
    /// default, as every record stamped then pays for it). Nothing to do
    /// where lookups by digest are always quick.
    fn index_digests(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every record stamped with `digest`, oldest first.
    fn records_with_digest(&self, digest: &RecordDigest) -> Result<Vec<StoredRecord>, StoreError>;

    /// Records that a batch's proofs now carry headers to the last block
    /// of their epoch, sealed on the block `block_hash`.
    fn mark_sealed(&mut self, batch_id: i64, block_hash: &BlockHash) -> Result<(), StoreError>;

    /// Whether a batch's proofs were sealed on the block it is confirmed
    /// in now (a seal on a block the batch has since left does not count).
    fn is_sealed(&self, batch: &StoredBatch) -> Result<bool, StoreError>;

    /// Sends a batch back to `broadcast` (its block left the best chain).
    fn unconfirm(&mut self, batch_id: i64) -> Result<(), StoreError>;
}

/// What [`Store::add_records_then`] calls with the open transaction and
/// the new records' ids.
pub type AlsoWrite<'a> =
    dyn FnMut(&rusqlite::Transaction<'_>, &[i64]) -> Result<(), rusqlite::Error> + 'a;

/// The store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

pub(crate) fn blob32(bytes: Vec<u8>, what: &'static str, row: i64) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Damaged { what, row })
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let io_err = |source| StoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        };
        create_private_dir(data_dir).map_err(io_err)?;
        let path = data_dir.join(STORE_FILE);
        create_private_file(&path).map_err(io_err)?;
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        // WAL keeps readers (status) working during a long anchor, and
        // FULL synchronous makes each commit durable before we act on it.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { found: version });
        }
        if version < 1 {
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS batches (
                     id INTEGER PRIMARY KEY,
                     root BLOB NOT NULL,
                     size INTEGER NOT NULL,
                     state TEXT NOT NULL,
                     created_at INTEGER NOT NULL,
                     txid BLOB,
                     height INTEGER,
                     block_hash BLOB,
                     confirmations INTEGER
                 );
                 CREATE TABLE IF NOT EXISTS records (
                     id INTEGER PRIMARY KEY,
                     digest BLOB NOT NULL,
                     salt BLOB NOT NULL,
                     label TEXT NOT NULL,
                     proof_path TEXT NOT NULL,
                     stamped_at INTEGER NOT NULL,
                     batch_id INTEGER REFERENCES batches(id),
                     leaf_index INTEGER
                 );
                 CREATE INDEX IF NOT EXISTS records_batch ON records(batch_id, leaf_index);
                 CREATE TABLE IF NOT EXISTS anchor_txs (
                     txid BLOB PRIMARY KEY,
                     batch_id INTEGER NOT NULL REFERENCES batches(id),
                     raw BLOB NOT NULL,
                     fee_sat INTEGER NOT NULL,
                     fee_rate REAL NOT NULL,
                     created_at INTEGER NOT NULL,
                     broadcast_at INTEGER
                 );
                 PRAGMA user_version = 1;
                 COMMIT;",
            )?;
        }
        // Stamping looks records up by proof path; one path, one record.
        // Records stamped without paths all have the empty one: the index
        // leaves them out. (Version 1 made a full index of that name: it is
        // replaced once, in one transaction.)
        let partial: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'records_proof_path' AND sql LIKE '%WHERE%'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if !partial {
            conn.execute_batch(
                "BEGIN;
                 DROP INDEX IF EXISTS records_proof_path;
                 CREATE UNIQUE INDEX records_proof_path ON records(proof_path) WHERE proof_path <> '';
                 COMMIT;",
            )?;
        }

        // Batches whose proofs were sealed, and on which block. A table of
        // its own, created when missing: stores of schema 1 without it
        // open as they are, and programs that do not know it ignore it.
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sealed_batches (
                 batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
                 block_hash BLOB NOT NULL,
                 sealed_at INTEGER NOT NULL
             );",
        )?;
        // The block part of each complete batch's proofs (header, branch,
        // headers after), as the complete proof of its first record
        // (docs/proof-format.md): what a lost complete proof is rebuilt
        // from. A table of its own, created when missing.
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS batch_blocks (
                 batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
                 proof TEXT NOT NULL
             );",
        )?;
        // Settings of the data directory, such as the network its records
        // are anchored on (recorded on first use, [`Store::network`]).
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS settings (
                 key TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );",
        )?;
        Ok(Store { conn })
    }

    /// Queues records as [`Store::add_records`] does, and calls `then` with
    /// the open transaction and the new records' ids before committing, so
    /// that a caller keeping its own table about them (the calendar
    /// server's commitments) writes it in the same transaction: all or
    /// none, with one commit (one fsync) for the lot.
    pub fn add_records_then(
        &mut self,
        records: &[(RecordDigest, Salt, String, PathBuf)],
        then: &mut AlsoWrite<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        let tx = self.conn.transaction()?;
        if records.iter().any(|(_, _, _, p)| p.as_os_str().is_empty()) {
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        let mut ids = Vec::with_capacity(records.len());
        {
            let mut stmt = tx.prepare(
                "INSERT INTO records (digest, salt, label, proof_path, stamped_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let t = now();
            for (digest, salt, label, path) in records {
                stmt.execute(params![
                    digest.as_bytes().as_slice(),
                    salt.as_bytes(),
                    label,
                    path.to_string_lossy(),
                    t
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        then(&tx, &ids)?;
        tx.commit()?;
        Ok(ids)
    }

    fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
        Ok(RawRecord {
            id: row.get(0)?,
            digest: row.get(1)?,
            salt: row.get(2)?,
            label: row.get(3)?,
            proof_path: row.get(4)?,
            stamped_at: row.get(5)?,
            batch_id: row.get(6)?,
            leaf_index: row.get(7)?,
        })
    }

    fn records_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let sql = format!(
            "SELECT id, digest, salt, label, proof_path, stamped_at, batch_id, leaf_index
             FROM records WHERE {clause}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let raw = stmt
            .query_map(p, Self::record_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        raw.into_iter().map(RawRecord::decode).collect()
    }

    fn batches_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<StoredBatch>, StoreError> {
        let sql = format!(
            "SELECT id, root, size, state, created_at, txid, height, block_hash, confirmations
             FROM batches WHERE {clause}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(p, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<Vec<u8>>>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, root, size, state, created_at, txid, height, hash, conf)| {
                    let confirmation = match (txid, height, hash) {
                        (Some(t), Some(h), Some(b)) => Some(Confirmation {
                            txid: Txid::from_byte_array(blob32(t, "txid", id)?),
                            height: h as u32,
                            block_hash: BlockHash::from_byte_array(blob32(b, "block hash", id)?),
                            confirmations: conf.unwrap_or(0) as u32,
                        }),
                        _ => None,
                    };
                    Ok(StoredBatch {
                        id,
                        root: NodeHash(blob32(root, "batch root", id)?),
                        size: size as u64,
                        state: BatchState::parse(&state).ok_or(StoreError::Damaged {
                            what: "batch state",
                            row: id,
                        })?,
                        created_at,
                        confirmation,
                    })
                },
            )
            .collect()
    }
}

/// The records of [`Journal::queued_page`]: spelled so that SQLite walks
/// the batch index from the last page's end on (a queued record has
/// neither batch nor leaf index, and the index orders those by row id),
/// instead of sorting the whole queue for each page.
const QUEUED_PAGE: &str =
    "batch_id IS NULL AND leaf_index IS NULL AND id > ?1 ORDER BY leaf_index, id LIMIT ?2";

/// The records of [`Journal::batch_page`], from the batch index.
const BATCH_PAGE: &str = "batch_id = ?1 AND leaf_index >= ?2 ORDER BY leaf_index LIMIT ?3";

impl Journal for Store {
    fn network(&self) -> Result<Option<Network>, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'network'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        value
            .map(|v| {
                v.parse::<Network>().map_err(|_| StoreError::Damaged {
                    what: "network setting",
                    row: 0,
                })
            })
            .transpose()
    }

    fn record_network(&mut self, network: Network) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES ('network', ?1)",
            [network.to_string()],
        )?;
        Ok(())
    }

    fn add_records(
        &mut self,
        records: &[(RecordDigest, Salt, String, PathBuf)],
    ) -> Result<Vec<i64>, StoreError> {
        self.add_records_then(records, &mut |_, _| Ok(()))
    }

    fn record(&self, id: i64) -> Result<Option<StoredRecord>, StoreError> {
        Ok(self.records_where("id = ?1", &[&id])?.pop())
    }

    fn queue_summary(&self) -> Result<(u64, Option<i64>), StoreError> {
        let (count, oldest): (i64, Option<i64>) = self.conn.query_row(
            "SELECT COUNT(*), MIN(stamped_at) FROM records WHERE batch_id IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((count.max(0) as u64, oldest))
    }

    fn queued_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("batch_id IS NULL ORDER BY id", &[])
    }

    fn batch_records(&self, batch_id: i64) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("batch_id = ?1 ORDER BY leaf_index", &[&batch_id])
    }

    fn queued_page(&self, after: i64, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.records_where(QUEUED_PAGE, &[&after, &limit])
    }

    fn batch_page(
        &self,
        batch_id: i64,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.records_where(BATCH_PAGE, &[&batch_id, &from, &limit])
    }

    fn record_at_proof_path(&self, path: &Path) -> Result<Option<StoredRecord>, StoreError> {
        Ok(self
            // The term of the index's WHERE, spelled out so that SQLite
            // uses the (partial) index.
            .records_where(
                "proof_path = ?1 AND proof_path <> ''",
                &[&path.to_string_lossy()],
            )?
            .pop())
    }

    fn index_digests(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("CREATE INDEX IF NOT EXISTS records_digest ON records(digest);")?;
        Ok(())
    }

    fn set_proof_path(&mut self, id: i64, path: &Path) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE records SET proof_path = ?1 WHERE id = ?2",
            params![path.to_string_lossy(), id],
        )?;
        Ok(())
    }

    fn create_batch(&mut self, root: &NodeHash, record_ids: &[i64]) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO batches (root, size, state, created_at) VALUES (?1, ?2, 'batched', ?3)",
            params![root.as_bytes().as_slice(), record_ids.len() as i64, now()],
        )?;
        let batch_id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "UPDATE records SET batch_id = ?1, leaf_index = ?2 WHERE id = ?3 AND batch_id IS NULL",
            )?;
            for (i, id) in record_ids.iter().enumerate() {
                let n = stmt.execute(params![batch_id, i as i64, id])?;
                if n != 1 {
                    return Err(StoreError::Damaged {
                        what: "queued record",
                        row: *id,
                    });
                }
            }
        }
        tx.commit()?;
        Ok(batch_id)
    }

    fn batch(&self, id: i64) -> Result<Option<StoredBatch>, StoreError> {
        Ok(self.batches_where("id = ?1", &[&id])?.pop())
    }

    fn batches(&self) -> Result<Vec<StoredBatch>, StoreError> {
        self.batches_where("1 ORDER BY id", &[])
    }

    fn batches_in(&self, states: &[BatchState]) -> Result<Vec<StoredBatch>, StoreError> {
        Ok(self
            .batches()?
            .into_iter()
            .filter(|b| states.contains(&b.state))
            .collect())
    }

    fn add_tx(
        &mut self,
        batch_id: i64,
        tx: &Transaction,
        fee_sat: u64,
        fee_rate: f64,
    ) -> Result<Txid, StoreError> {
        let txid = tx.compute_txid();
        self.conn.execute(
            "INSERT OR IGNORE INTO anchor_txs (txid, batch_id, raw, fee_sat, fee_rate, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                txid.to_byte_array().as_slice(),
                batch_id,
                consensus::serialize(tx),
                fee_sat as i64,
                fee_rate,
                now()
            ],
        )?;
        Ok(txid)
    }

    fn mark_broadcast(&mut self, txid: &Txid) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE anchor_txs SET broadcast_at = COALESCE(broadcast_at, ?2) WHERE txid = ?1",
            params![txid.to_byte_array().as_slice(), now()],
        )?;
        tx.execute(
            "UPDATE batches SET state = 'broadcast'
             WHERE state = 'batched' AND id = (SELECT batch_id FROM anchor_txs WHERE txid = ?1)",
            params![txid.to_byte_array().as_slice()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn batch_txs(&self, batch_id: i64) -> Result<Vec<StoredTx>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT txid, raw, fee_sat, fee_rate, created_at, broadcast_at
             FROM anchor_txs WHERE batch_id = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt
            .query_map(params![batch_id], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, f64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(txid, raw, fee, rate, created, broadcast)| {
                let tx: Transaction =
                    consensus::deserialize(&raw).map_err(|_| StoreError::Damaged {
                        what: "anchoring transaction",
                        row: batch_id,
                    })?;
                Ok(StoredTx {
                    txid: Txid::from_byte_array(blob32(txid, "txid", batch_id)?),
                    batch_id,
                    tx,
                    fee_sat: fee as u64,
                    fee_rate: rate,
                    created_at: created,
                    broadcast_at: broadcast,
                })
            })
            .collect()
    }

    fn set_confirmation(
        &mut self,
        batch_id: i64,
        c: &Confirmation,
        state: BatchState,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE batches SET state = ?2, txid = ?3, height = ?4, block_hash = ?5, confirmations = ?6 WHERE id = ?1",
            params![
                batch_id,
                state.as_str(),
                c.txid.to_byte_array().as_slice(),
                c.height as i64,
                c.block_hash.to_byte_array().as_slice(),
                c.confirmations as i64
            ],
        )?;
        Ok(())
    }

    fn set_batch_block(&mut self, batch_id: i64, proof_json: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO batch_blocks (batch_id, proof) VALUES (?1, ?2)
             ON CONFLICT(batch_id) DO UPDATE SET proof = excluded.proof",
            params![batch_id, proof_json],
        )?;
        Ok(())
    }

    fn batch_block(&self, batch_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT proof FROM batch_blocks WHERE batch_id = ?1",
                [batch_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn all_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("1 ORDER BY id", &[])
    }

    fn records_with_digest(&self, digest: &RecordDigest) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("digest = ?1 ORDER BY id", &[&digest.0.as_slice()])
    }

    fn mark_sealed(&mut self, batch_id: i64, block_hash: &BlockHash) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO sealed_batches (batch_id, block_hash, sealed_at) VALUES (?1, ?2, ?3)",
            params![batch_id, block_hash.to_byte_array().as_slice(), now()],
        )?;
        Ok(())
    }

    fn is_sealed(&self, batch: &StoredBatch) -> Result<bool, StoreError> {
        let Some(c) = batch.confirmation else {
            return Ok(false);
        };
        let found: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT block_hash FROM sealed_batches WHERE batch_id = ?1",
                params![batch.id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.as_deref() == Some(c.block_hash.to_byte_array().as_slice()))
    }

    fn unconfirm(&mut self, batch_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE batches SET state = 'broadcast', txid = NULL, height = NULL, block_hash = NULL,
                    confirmations = NULL WHERE id = ?1",
            params![batch_id],
        )?;
        Ok(())
    }
}

pub(crate) struct RawRecord {
    pub(crate) id: i64,
    pub(crate) digest: Vec<u8>,
    pub(crate) salt: Vec<u8>,
    pub(crate) label: String,
    pub(crate) proof_path: String,
    pub(crate) stamped_at: i64,
    pub(crate) batch_id: Option<i64>,
    pub(crate) leaf_index: Option<i64>,
}

impl RawRecord {
    pub(crate) fn decode(self) -> Result<StoredRecord, StoreError> {
        Ok(StoredRecord {
            id: self.id,
            digest: RecordDigest(blob32(self.digest, "record digest", self.id)?),
            salt: Salt::from_bytes(&self.salt)?,
            label: self.label,
            proof_path: PathBuf::from(self.proof_path),
            stamped_at: self.stamped_at,
            batch: match (self.batch_id, self.leaf_index) {
                (Some(b), Some(i)) => Some((b, i as u64)),
                _ => None,
            },
        })
    }
}

/// Creates `dir` (and its parents) if needed, and makes it private to its
/// owner (mode 0700 on Unix): the data directory holds the record labels,
/// often file names that name patients, and the wallet's keys.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        // An existing folder (made by an earlier version, or by hand) is
        // tightened too.
        let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// Creates `path` if needed, readable and writable by its owner only (mode
/// 0600 on Unix), and tightens an existing file to that. SQLite gives its
/// `-wal` and `-shm` files the mode of the database file, so a database
/// opened on such a file stays private whole.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode != 0o600 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn the_store_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        {
            let _lock = DataLock::acquire(&dir).unwrap();
            let mut store = Store::open(&dir).unwrap();
            store
                .add_records(&[(
                    RecordDigest::of_bytes(b"x"),
                    Salt::from_bytes(&[1; 16]).unwrap(),
                    "a label with a patient's name".to_owned(),
                    PathBuf::from("x.anchor.json"),
                )])
                .unwrap();
        }
        assert_eq!(mode(&dir), 0o700);
        for entry in fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
        assert!(dir.join(STORE_FILE).exists());
        // A store left readable by an earlier version is tightened.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(dir.join(STORE_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        Store::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(STORE_FILE)), 0o600);
    }

    #[test]
    fn records_without_paths_next_to_a_version_1_store() {
        // A store as version 1 made it: a full unique index on proof_path.
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.conn
                .execute_batch(
                    "DROP INDEX records_proof_path;
                     CREATE UNIQUE INDEX records_proof_path ON records(proof_path);
                     PRAGMA user_version = 1;",
                )
                .unwrap();
        }
        let mut s = Store::open(dir.path()).unwrap();
        let rec = |i: u8, path: &str| {
            (
                RecordDigest([i; 32]),
                Salt::from_bytes(&[i; 16]).unwrap(),
                if path.is_empty() {
                    String::new()
                } else {
                    format!("doc {i}")
                },
                PathBuf::from(path),
            )
        };
        s.add_records(&[rec(1, "/a/1.anchor.json")]).unwrap();
        let version = |s: &Store| -> i64 {
            s.conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&s), 1, "no record without paths yet");
        // Paths stay unique, but any number of records have none.
        assert!(s.add_records(&[rec(2, "/a/1.anchor.json")]).is_err());
        s.add_records(&[rec(3, ""), rec(4, "")]).unwrap();
        s.add_records(&[rec(5, "")]).unwrap();
        assert_eq!(version(&s), SCHEMA_VERSION);
        let all = s.all_records().unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(
            all.iter()
                .map(StoredRecord::has_proof_path)
                .collect::<Vec<_>>(),
            [true, false, false, false]
        );
        assert!(all[1].label.is_empty() && all[1].proof_path.as_os_str().is_empty());
        assert_eq!(s.record_at_proof_path(Path::new("")).unwrap(), None);
        assert_eq!(
            s.record_at_proof_path(Path::new("/a/1.anchor.json"))
                .unwrap()
                .map(|r| r.id),
            Some(all[0].id)
        );
        assert_eq!(
            s.records_with_digest(&RecordDigest([4; 32])).unwrap().len(),
            1
        );
        drop(s);
        // Opened again: the same, nothing migrated twice.
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.all_records().unwrap().len(), 4);
    }

    #[test]
    fn lifecycle() {
        let mut s = Store::in_memory().unwrap();
        let recs: Vec<_> = (0..3)
            .map(|i| {
                (
                    RecordDigest::of_bytes(&[i]),
                    Salt::from_bytes(&[i; 16]).unwrap(),
                    format!("r{i}"),
                    PathBuf::from(format!("r{i}.anchor.json")),
                )
            })
            .collect();
        let ids = s.add_records(&recs).unwrap();
        assert_eq!(s.queued_records().unwrap().len(), 3);
        let root = NodeHash([5; 32]);
        let b = s.create_batch(&root, &ids).unwrap();
        assert!(s.queued_records().unwrap().is_empty());
        // A record cannot be batched twice.
        assert!(s.create_batch(&root, &ids[..1]).is_err());
        let batch = s.batch(b).unwrap().unwrap();
        assert_eq!(batch.state, BatchState::Batched);
        assert_eq!(batch.root, root);
        let recs = s.batch_records(b).unwrap();
        assert_eq!(
            recs.iter().map(|r| r.batch.unwrap().1).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn the_queue_and_a_batch_are_read_in_pages() {
        let mut s = Store::in_memory().unwrap();
        let rec = |i: u8| {
            (
                RecordDigest([i; 32]),
                Salt::from_bytes(&[i; 16]).unwrap(),
                format!("r{i}"),
                PathBuf::from(format!("r{i}.anchor.json")),
            )
        };
        let first = s.add_records(&(0..5).map(rec).collect::<Vec<_>>()).unwrap();
        let b = s.create_batch(&NodeHash([1; 32]), &first[1..4]).unwrap();
        s.add_records(&(5..8).map(rec).collect::<Vec<_>>()).unwrap();
        // Queued: 0, 4, 5, 6, 7 (their row ids), in pages of 2.
        let mut after = 0;
        let mut pages = Vec::new();
        loop {
            let page = s.queued_page(after, 2).unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            pages.push(page.iter().map(|r| r.digest.0[0]).collect::<Vec<_>>());
        }
        assert_eq!(pages, [vec![0, 4], vec![5, 6], vec![7]]);
        // The batch, from a leaf on.
        let leaves = |from, n| -> Vec<(u8, u64)> {
            s.batch_page(b, from, n)
                .unwrap()
                .iter()
                .map(|r| (r.digest.0[0], r.batch.unwrap().1))
                .collect()
        };
        assert_eq!(leaves(0, 2), [(1, 0), (2, 1)]);
        assert_eq!(leaves(2, 2), [(3, 2)]);
        assert!(leaves(3, 2).is_empty());
        // Each page is a walk of the index from where the last one ended,
        // not a sort of the whole queue (or batch) for each page.
        for (clause, n) in [(QUEUED_PAGE, 2), (BATCH_PAGE, 3)] {
            let sql =
                format!("EXPLAIN QUERY PLAN SELECT id, digest, label FROM records WHERE {clause}");
            let args: Vec<i64> = vec![1; n];
            let plan: Vec<String> = s
                .conn
                .prepare(&sql)
                .unwrap()
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains("INDEX records_batch ("), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }

    #[test]
    fn sealed_marks_follow_the_block() {
        let mut s = Store::in_memory().unwrap();
        let ids = s
            .add_records(&[(
                RecordDigest::of_bytes(b"s"),
                Salt::from_bytes(&[1; 16]).unwrap(),
                "s".to_owned(),
                PathBuf::from("s.anchor.json"),
            )])
            .unwrap();
        let b = s.create_batch(&NodeHash([1; 32]), &ids).unwrap();
        let batch = s.batch(b).unwrap().unwrap();
        // Not confirmed: never sealed.
        assert!(!s.is_sealed(&batch).unwrap());
        let c = Confirmation {
            txid: Txid::from_byte_array([2; 32]),
            height: 500,
            block_hash: BlockHash::from_byte_array([3; 32]),
            confirmations: 6,
        };
        s.set_confirmation(b, &c, BatchState::Final).unwrap();
        let batch = s.batch(b).unwrap().unwrap();
        assert!(!s.is_sealed(&batch).unwrap());
        s.mark_sealed(b, &c.block_hash).unwrap();
        assert!(s.is_sealed(&batch).unwrap());
        // Confirmed in another block since: the seal does not count.
        let moved = Confirmation {
            block_hash: BlockHash::from_byte_array([4; 32]),
            ..c
        };
        s.set_confirmation(b, &moved, BatchState::Final).unwrap();
        assert!(!s.is_sealed(&s.batch(b).unwrap().unwrap()).unwrap());
    }

    #[test]
    fn lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let l = DataLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DataLock::acquire(dir.path()),
            Err(StoreError::Locked(_))
        ));
        drop(l);
        DataLock::acquire(dir.path()).unwrap();
    }
}
