//! The journal ([`Journal`]) and the wallet's changesets in PostgreSQL,
//! for calendar servers that share one database (`docs/server-api.md`
//! §12): stateless frontends queue records, one anchorer at a time
//! ([`PgSession::try_lead`]) anchors them, and a standby that takes over
//! finds every record, batch and signed transaction the last one made
//! durable, as a command run after a crash finds them in the SQLite
//! store.
//!
//! The schema mirrors the SQLite store's tables (`pg_` prefix-free, in
//! the connection's schema), so the same rules hold: a signed transaction
//! is stored before it is broadcast, a batch is fixed before a
//! transaction is built for it.
//!
//! # Fencing
//!
//! Leadership is a session-level advisory lock taken on the journal's own
//! connection, and every write the anchorer makes goes over that same
//! connection: once its session is gone, so is the lock, and so is every
//! later write, so an anchorer that lost the lock cannot store a
//! transaction (and so never broadcasts one) that the new leader would not
//! see.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::consensus;
use bitcoin::hashes::Hash as _;
use bitcoin::{BlockHash, Network, Transaction, Txid};
use postgres::{Client, NoTls};

use btc_anchor::hash::RecordDigest;
use btc_anchor::merkle::{NodeHash, Salt};

use crate::store::{
    blob32, now, BatchState, Confirmation, Journal, RawRecord, StoreError, StoredBatch,
    StoredRecord, StoredTx,
};

/// The schema version this code writes (table `settings`, key
/// `schema`).
pub const PG_SCHEMA_VERSION: i64 = 1;

/// The advisory lock key of the anchorer ("btc-anch" in ASCII).
pub const ANCHORER_LOCK: i64 = 0x6274_632d_616e_6368;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id BIGSERIAL PRIMARY KEY,
    root BYTEA NOT NULL,
    size BIGINT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    txid BYTEA,
    height BIGINT,
    block_hash BYTEA,
    confirmations BIGINT
);
CREATE TABLE IF NOT EXISTS records (
    id BIGSERIAL PRIMARY KEY,
    digest BYTEA NOT NULL,
    salt BYTEA NOT NULL,
    label TEXT NOT NULL,
    proof_path TEXT NOT NULL,
    stamped_at BIGINT NOT NULL,
    batch_id BIGINT REFERENCES batches(id),
    leaf_index BIGINT
);
-- One path, one record; records stored without paths have ''.
CREATE UNIQUE INDEX IF NOT EXISTS records_proof_path ON records(proof_path)
    WHERE proof_path <> '';
CREATE INDEX IF NOT EXISTS records_batch ON records(batch_id, leaf_index);
CREATE INDEX IF NOT EXISTS records_queued ON records(id) WHERE batch_id IS NULL;
CREATE INDEX IF NOT EXISTS records_digest ON records(digest);
CREATE TABLE IF NOT EXISTS anchor_txs (
    seq BIGSERIAL,
    txid BYTEA PRIMARY KEY,
    batch_id BIGINT NOT NULL REFERENCES batches(id),
    raw BYTEA NOT NULL,
    fee_sat BIGINT NOT NULL,
    fee_rate DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    broadcast_at BIGINT
);
CREATE TABLE IF NOT EXISTS sealed_batches (
    batch_id BIGINT PRIMARY KEY REFERENCES batches(id),
    block_hash BYTEA NOT NULL,
    sealed_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_blocks (
    batch_id BIGINT PRIMARY KEY REFERENCES batches(id),
    proof TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wallet_changesets (
    seq BIGSERIAL PRIMARY KEY,
    wallet TEXT NOT NULL,
    changeset TEXT NOT NULL
);
";

/// Connects to PostgreSQL at `url` (a `postgres://` URL or a libpq
/// key=value string). Without TLS: the database is on the same host or a
/// private network (documented in `docs/server-api.md` §12).
///
/// # Errors
///
/// A server that cannot be reached or refuses the login.
pub fn connect(url: &str) -> Result<Client, postgres::Error> {
    Client::connect(url, NoTls)
}

/// Creates the tables when missing (under a transaction-level advisory
/// lock, so that instances starting together do not race), and refuses a
/// schema written by a newer version.
fn init(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(ANCHORER_LOCK + 1)])?;
    tx.batch_execute(SCHEMA)?;
    let found: Option<String> = tx
        .query_opt("SELECT value FROM settings WHERE key = 'schema'", &[])?
        .map(|r| r.get(0));
    match found.map(|v| v.parse::<i64>()) {
        None => {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('schema', $1)",
                &[&PG_SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(Ok(v)) if v > PG_SCHEMA_VERSION => return Err(StoreError::NewerSchema { found: v }),
        Some(Ok(_)) => {}
        Some(Err(_)) => {
            return Err(StoreError::Damaged {
                what: "schema setting",
                row: 0,
            })
        }
    }
    tx.commit()?;
    Ok(())
}

/// What [`PgJournal::add_records_then`] calls with the open transaction
/// and the new records' ids.
pub type PgAlsoWrite<'a> =
    dyn FnMut(&mut postgres::Transaction<'_>, &[i64]) -> Result<(), postgres::Error> + 'a;

/// One PostgreSQL session (one connection), shared by the journal and the
/// wallet's changesets of an anchorer, so that the advisory lock it holds
/// fences both (see the module documentation).
#[derive(Clone)]
pub struct PgSession(Arc<Mutex<Client>>);

impl std::fmt::Debug for PgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSession").finish_non_exhaustive()
    }
}

impl PgSession {
    /// Connects and creates the tables when missing.
    ///
    /// # Errors
    ///
    /// A database that cannot be reached, or a newer schema.
    pub fn connect(url: &str) -> Result<PgSession, StoreError> {
        let mut client = connect(url)?;
        init(&mut client)?;
        Ok(PgSession(Arc::new(Mutex::new(client))))
    }

    /// The connection, for tables of the caller's own (a calendar's
    /// commitments). A panic elsewhere while it was held leaves it as it
    /// was: every statement is its own unit or in a transaction.
    pub fn client(&self) -> MutexGuard<'_, Client> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tries to become the one anchorer: takes the session-level advisory
    /// lock [`ANCHORER_LOCK`], at once or not at all. It is held until the
    /// session ends.
    ///
    /// # Errors
    ///
    /// A database that cannot be reached.
    pub fn try_lead(&self) -> Result<bool, StoreError> {
        let row = self
            .client()
            .query_one("SELECT pg_try_advisory_lock($1)", &[&ANCHORER_LOCK])?;
        Ok(row.get(0))
    }

    /// Whether this session still holds the anchorer's lock.
    ///
    /// # Errors
    ///
    /// A session that is gone.
    pub fn leads(&self) -> Result<bool, StoreError> {
        let row = self.client().query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                 AND pid = pg_backend_pid() AND granted
                 AND ((classid::bigint << 32) | objid::bigint) = $1)",
            &[&ANCHORER_LOCK],
        )?;
        Ok(row.get(0))
    }

    /// Sets a value of table `settings` (such as the anchorer's
    /// heartbeat), replacing one there.
    ///
    /// # Errors
    ///
    /// A database that cannot be written.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.client().execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    /// A value of table `settings`, if set.
    ///
    /// # Errors
    ///
    /// A database that cannot be read.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    /// Whether the connection is closed (the session is gone).
    pub fn is_closed(&self) -> bool {
        self.client().is_closed()
    }
}

/// The journal in PostgreSQL, over one session.
#[derive(Debug)]
pub struct PgJournal {
    session: PgSession,
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgJournal {
    /// The journal over `session`.
    pub fn new(session: PgSession) -> PgJournal {
        PgJournal { session }
    }

    /// Its session.
    pub fn session(&self) -> &PgSession {
        &self.session
    }

    /// Queues records as [`Journal::add_records`] does, and calls `then`
    /// with the open transaction and the new records' ids before
    /// committing (the calendar's table of commitments, written in the
    /// same transaction). One statement for the lot, whatever their
    /// number.
    ///
    /// # Errors
    ///
    /// The database, or `then`, failed: nothing is queued.
    pub fn add_records_then(
        &mut self,
        records: &[(RecordDigest, Salt, String, PathBuf)],
        then: &mut PgAlsoWrite<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut client = self.session.client();
        let mut tx = client.transaction()?;
        let n = i64::try_from(records.len()).unwrap_or(i64::MAX);
        let mut ids: Vec<i64> = tx
            .query(
                "SELECT nextval('records_id_seq') FROM generate_series(1, $1::int8)",
                &[&n],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.sort_unstable();
        let digests: Vec<&[u8]> = records.iter().map(|r| r.0 .0.as_slice()).collect();
        let salts: Vec<&[u8]> = records.iter().map(|r| r.1.as_bytes()).collect();
        let labels: Vec<&str> = records.iter().map(|r| r.2.as_str()).collect();
        let paths: Vec<String> = records
            .iter()
            .map(|r| r.3.to_string_lossy().into_owned())
            .collect();
        tx.execute(
            "INSERT INTO records (id, digest, salt, label, proof_path, stamped_at)
             SELECT id, digest, salt, label, proof_path, $6
             FROM UNNEST($1::int8[], $2::bytea[], $3::bytea[], $4::text[], $5::text[])
                  AS t(id, digest, salt, label, proof_path)",
            &[&ids, &digests, &salts, &labels, &paths, &now()],
        )?;
        then(&mut tx, &ids)?;
        tx.commit()?;
        Ok(ids)
    }

    fn records_where(
        &self,
        clause: &str,
        p: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let sql = format!(
            "SELECT id, digest, salt, label, proof_path, stamped_at, batch_id, leaf_index
             FROM records WHERE {clause}"
        );
        let rows = self.session.client().query(sql.as_str(), p)?;
        rows.iter()
            .map(|r| {
                RawRecord {
                    id: r.get(0),
                    digest: r.get(1),
                    salt: r.get(2),
                    label: r.get(3),
                    proof_path: r.get(4),
                    stamped_at: r.get(5),
                    batch_id: r.get(6),
                    leaf_index: r.get(7),
                }
                .decode()
            })
            .collect()
    }

    fn batches_where(
        &self,
        clause: &str,
        p: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<StoredBatch>, StoreError> {
        let sql = format!(
            "SELECT id, root, size, state, created_at, txid, height, block_hash, confirmations
             FROM batches WHERE {clause}"
        );
        let rows = self.session.client().query(sql.as_str(), p)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let txid: Option<Vec<u8>> = r.get(5);
                let height: Option<i64> = r.get(6);
                let hash: Option<Vec<u8>> = r.get(7);
                let conf: Option<i64> = r.get(8);
                let confirmation = match (txid, height, hash) {
                    (Some(t), Some(h), Some(b)) => Some(Confirmation {
                        txid: Txid::from_byte_array(blob32(t, "txid", id)?),
                        height: u32::try_from(h).map_err(|_| StoreError::Damaged {
                            what: "block height",
                            row: id,
                        })?,
                        block_hash: BlockHash::from_byte_array(blob32(b, "block hash", id)?),
                        confirmations: u32::try_from(conf.unwrap_or(0)).unwrap_or(0),
                    }),
                    _ => None,
                };
                let state: String = r.get(3);
                Ok(StoredBatch {
                    id,
                    root: NodeHash(blob32(r.get(1), "batch root", id)?),
                    size: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                    state: BatchState::parse(&state).ok_or(StoreError::Damaged {
                        what: "batch state",
                        row: id,
                    })?,
                    created_at: r.get(4),
                    confirmation,
                })
            })
            .collect()
    }
}

impl Journal for PgJournal {
    fn network(&self) -> Result<Option<Network>, StoreError> {
        let value: Option<String> = self
            .session
            .client()
            .query_opt("SELECT value FROM settings WHERE key = 'network'", &[])?
            .map(|r| r.get(0));
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
        self.session.client().execute(
            "INSERT INTO settings (key, value) VALUES ('network', $1) ON CONFLICT DO NOTHING",
            &[&network.to_string()],
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
        Ok(self.records_where("id = $1", &[&id])?.pop())
    }

    fn queue_summary(&self) -> Result<(u64, Option<i64>), StoreError> {
        let row = self.session.client().query_one(
            "SELECT COUNT(*), MIN(stamped_at) FROM records WHERE batch_id IS NULL",
            &[],
        )?;
        let count: i64 = row.get(0);
        Ok((u64::try_from(count).unwrap_or(0), row.get(1)))
    }

    fn queued_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("batch_id IS NULL ORDER BY id", &[])
    }

    fn batch_records(&self, batch_id: i64) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("batch_id = $1 ORDER BY leaf_index", &[&batch_id])
    }

    fn queued_page(&self, after: i64, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.records_where(
            "batch_id IS NULL AND id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )
    }

    fn batch_page(
        &self,
        batch_id: i64,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let from = i64_of(from);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.records_where(
            "batch_id = $1 AND leaf_index >= $2 ORDER BY leaf_index LIMIT $3",
            &[&batch_id, &from, &limit],
        )
    }

    fn record_at_proof_path(&self, path: &Path) -> Result<Option<StoredRecord>, StoreError> {
        let p = path.to_string_lossy().into_owned();
        Ok(self
            .records_where("proof_path = $1 AND proof_path <> ''", &[&p])?
            .pop())
    }

    fn set_proof_path(&mut self, id: i64, path: &Path) -> Result<(), StoreError> {
        self.session.client().execute(
            "UPDATE records SET proof_path = $1 WHERE id = $2",
            &[&path.to_string_lossy().into_owned(), &id],
        )?;
        Ok(())
    }

    fn create_batch(&mut self, root: &NodeHash, record_ids: &[i64]) -> Result<i64, StoreError> {
        let mut client = self.session.client();
        let mut tx = client.transaction()?;
        let size = i64::try_from(record_ids.len()).unwrap_or(i64::MAX);
        let batch_id: i64 = tx
            .query_one(
                "INSERT INTO batches (root, size, state, created_at)
                 VALUES ($1, $2, 'batched', $3) RETURNING id",
                &[&root.as_bytes().as_slice(), &size, &now()],
            )?
            .get(0);
        let leaves: Vec<i64> = (0..size).collect();
        let n = tx.execute(
            "UPDATE records SET batch_id = $1, leaf_index = t.leaf
             FROM UNNEST($2::int8[], $3::int8[]) AS t(id, leaf)
             WHERE records.id = t.id AND records.batch_id IS NULL",
            &[&batch_id, &record_ids, &leaves],
        )?;
        if n != record_ids.len() as u64 {
            // Rolled back on drop: no batch over records taken already.
            return Err(StoreError::Damaged {
                what: "queued record",
                row: batch_id,
            });
        }
        tx.commit()?;
        Ok(batch_id)
    }

    fn batch(&self, id: i64) -> Result<Option<StoredBatch>, StoreError> {
        Ok(self.batches_where("id = $1", &[&id])?.pop())
    }

    fn batches(&self) -> Result<Vec<StoredBatch>, StoreError> {
        self.batches_where("TRUE ORDER BY id", &[])
    }

    fn batches_in(&self, states: &[BatchState]) -> Result<Vec<StoredBatch>, StoreError> {
        let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        self.batches_where("state = ANY($1) ORDER BY id", &[&states])
    }

    fn add_tx(
        &mut self,
        batch_id: i64,
        tx: &Transaction,
        fee_sat: u64,
        fee_rate: f64,
    ) -> Result<Txid, StoreError> {
        let txid = tx.compute_txid();
        self.session.client().execute(
            "INSERT INTO anchor_txs (txid, batch_id, raw, fee_sat, fee_rate, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &txid.to_byte_array().as_slice(),
                &batch_id,
                &consensus::serialize(tx),
                &i64_of(fee_sat),
                &fee_rate,
                &now(),
            ],
        )?;
        Ok(txid)
    }

    fn mark_broadcast(&mut self, txid: &Txid) -> Result<(), StoreError> {
        let mut client = self.session.client();
        let mut tx = client.transaction()?;
        let id = txid.to_byte_array();
        tx.execute(
            "UPDATE anchor_txs SET broadcast_at = COALESCE(broadcast_at, $2) WHERE txid = $1",
            &[&id.as_slice(), &now()],
        )?;
        tx.execute(
            "UPDATE batches SET state = 'broadcast'
             WHERE state = 'batched' AND id = (SELECT batch_id FROM anchor_txs WHERE txid = $1)",
            &[&id.as_slice()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn batch_txs(&self, batch_id: i64) -> Result<Vec<StoredTx>, StoreError> {
        let rows = self.session.client().query(
            "SELECT txid, raw, fee_sat, fee_rate, created_at, broadcast_at
             FROM anchor_txs WHERE batch_id = $1 ORDER BY created_at, seq",
            &[&batch_id],
        )?;
        rows.iter()
            .map(|r| {
                let raw: Vec<u8> = r.get(1);
                let tx: Transaction =
                    consensus::deserialize(&raw).map_err(|_| StoreError::Damaged {
                        what: "anchoring transaction",
                        row: batch_id,
                    })?;
                Ok(StoredTx {
                    txid: Txid::from_byte_array(blob32(r.get(0), "txid", batch_id)?),
                    batch_id,
                    tx,
                    fee_sat: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                    fee_rate: r.get(3),
                    created_at: r.get(4),
                    broadcast_at: r.get(5),
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
        self.session.client().execute(
            "UPDATE batches SET state = $2, txid = $3, height = $4, block_hash = $5,
                    confirmations = $6 WHERE id = $1",
            &[
                &batch_id,
                &state.as_str(),
                &c.txid.to_byte_array().as_slice(),
                &i64::from(c.height),
                &c.block_hash.to_byte_array().as_slice(),
                &i64::from(c.confirmations),
            ],
        )?;
        Ok(())
    }

    fn set_batch_block(&mut self, batch_id: i64, proof_json: &str) -> Result<(), StoreError> {
        self.session.client().execute(
            "INSERT INTO batch_blocks (batch_id, proof) VALUES ($1, $2)
             ON CONFLICT (batch_id) DO UPDATE SET proof = excluded.proof",
            &[&batch_id, &proof_json],
        )?;
        Ok(())
    }

    fn batch_block(&self, batch_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .session
            .client()
            .query_opt(
                "SELECT proof FROM batch_blocks WHERE batch_id = $1",
                &[&batch_id],
            )?
            .map(|r| r.get(0)))
    }

    fn all_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("TRUE ORDER BY id", &[])
    }

    fn records_with_digest(&self, digest: &RecordDigest) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_where("digest = $1 ORDER BY id", &[&digest.0.as_slice()])
    }

    fn mark_sealed(&mut self, batch_id: i64, block_hash: &BlockHash) -> Result<(), StoreError> {
        self.session.client().execute(
            "INSERT INTO sealed_batches (batch_id, block_hash, sealed_at) VALUES ($1, $2, $3)
             ON CONFLICT (batch_id) DO UPDATE
             SET block_hash = excluded.block_hash, sealed_at = excluded.sealed_at",
            &[&batch_id, &block_hash.to_byte_array().as_slice(), &now()],
        )?;
        Ok(())
    }

    fn is_sealed(&self, batch: &StoredBatch) -> Result<bool, StoreError> {
        let Some(c) = batch.confirmation else {
            return Ok(false);
        };
        let found: Option<Vec<u8>> = self
            .session
            .client()
            .query_opt(
                "SELECT block_hash FROM sealed_batches WHERE batch_id = $1",
                &[&batch.id],
            )?
            .map(|r| r.get(0));
        Ok(found.as_deref() == Some(c.block_hash.to_byte_array().as_slice()))
    }

    fn unconfirm(&mut self, batch_id: i64) -> Result<(), StoreError> {
        self.session.client().execute(
            "UPDATE batches SET state = 'broadcast', txid = NULL, height = NULL,
                    block_hash = NULL, confirmations = NULL WHERE id = $1",
            &[&batch_id],
        )?;
        Ok(())
    }
}

/// Errors of [`PgChangesets`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangesetError {
    /// The database failed.
    #[error("wallet database")]
    Postgres(#[from] postgres::Error),
    /// A stored changeset does not decode.
    #[error("the database holds a damaged wallet changeset (row {0})")]
    Damaged(i64),
    /// A changeset could not be encoded.
    #[error("cannot encode a wallet changeset")]
    Encode(#[source] serde_json::Error),
}

/// A wallet's changesets in PostgreSQL (table `wallet_changesets`), one
/// row per persisted change, merged in order when the wallet is loaded:
/// what BDK's SQLite persister keeps in `wallet.sqlite`.
pub struct PgChangesets {
    session: PgSession,
    wallet: String,
}

impl std::fmt::Debug for PgChangesets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgChangesets")
            .field("wallet", &self.wallet)
            .finish_non_exhaustive()
    }
}

impl PgChangesets {
    /// The changesets of the wallet named `wallet` (one database may keep
    /// several), over `session`.
    pub fn new(session: PgSession, wallet: &str) -> PgChangesets {
        PgChangesets {
            session,
            wallet: wallet.to_owned(),
        }
    }

    /// Every changeset, merged in the order they were persisted.
    ///
    /// # Errors
    ///
    /// A database that cannot be read, or a damaged row.
    pub fn load(&mut self) -> Result<bdk_wallet::ChangeSet, ChangesetError> {
        use bdk_wallet::chain::Merge as _;
        let rows = self.session.client().query(
            "SELECT seq, changeset FROM wallet_changesets WHERE wallet = $1 ORDER BY seq",
            &[&self.wallet],
        )?;
        let mut all = bdk_wallet::ChangeSet::default();
        for r in rows {
            let seq: i64 = r.get(0);
            let text: String = r.get(1);
            let c: bdk_wallet::ChangeSet =
                serde_json::from_str(&text).map_err(|_| ChangesetError::Damaged(seq))?;
            all.merge(c);
        }
        Ok(all)
    }

    /// Appends one changeset (nothing for an empty one).
    ///
    /// # Errors
    ///
    /// A database that cannot be written.
    pub fn append(&mut self, changeset: &bdk_wallet::ChangeSet) -> Result<(), ChangesetError> {
        use bdk_wallet::chain::Merge as _;
        if changeset.is_empty() {
            return Ok(());
        }
        let text = serde_json::to_string(changeset).map_err(ChangesetError::Encode)?;
        self.session.client().execute(
            "INSERT INTO wallet_changesets (wallet, changeset) VALUES ($1, $2)",
            &[&self.wallet, &text],
        )?;
        Ok(())
    }
}
