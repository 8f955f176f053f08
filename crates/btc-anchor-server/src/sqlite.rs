//! The SQLite backend: the data directory's own store (`store.sqlite`,
//! WAL, `synchronous = FULL`), where submissions become records that the
//! workflow anchors, plus the calendar's table of commitments, written in
//! the same transaction.
//!
//! One writer thread commits submissions in groups (`docs/server-api.md`
//! §3): every submission that arrived while the previous group was being
//! committed goes into the next one, so a reply waits for at most two
//! commits and the disk sees one fsync per group, never one per request.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bitcoin::Network;
use btc_anchor::merkle::{Salt, Tree};
use btc_anchor_workflow::store::{Journal as _, Store, STORE_FILE};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use crate::calendar::{commitment, Submission};
use crate::storage::{
    lookup_record, Accepted, Committed, Lookup, QueueSummary, Storage, StorageError,
};

/// Most records in one group commit.
pub const MAX_GROUP_RECORDS: usize = 50_000;
/// A group commit slower than this is logged as a warning.
pub const SLOW_COMMIT: Duration = Duration::from_millis(200);
/// The label of every record the calendar queues (no label from a
/// client is ever stored).
pub const LABEL: &str = "calendar submission";

type Job = (
    Vec<Submission>,
    oneshot::Sender<Result<Vec<Accepted>, StorageError>>,
);

/// The SQLite storage of one data directory.
#[derive(Debug)]
pub struct SqliteStorage {
    sender: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: Mutex<Reader>,
}

#[derive(Debug)]
struct Reader {
    network: Network,
    conn: Connection,
    store: Store,
    /// The tree of the batch looked up last, by batch id.
    tree: Option<(i64, Tree)>,
}

fn init_table(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS calendar_commitments (
             commitment BLOB PRIMARY KEY,
             record_id INTEGER NOT NULL REFERENCES records(id)
         ) WITHOUT ROWID;",
    )
}

impl SqliteStorage {
    /// Opens the store of `data_dir` for `network` and starts the writer,
    /// whose queue holds at most `max_queued` submissions.
    ///
    /// # Errors
    ///
    /// A store that cannot be opened.
    pub fn open(
        data_dir: &Path,
        network: Network,
        max_queued: usize,
    ) -> Result<SqliteStorage, StorageError> {
        let store = Store::open(data_dir)?;
        let conn = Connection::open(data_dir.join(STORE_FILE))?;
        init_table(&conn)?;
        let writer_store = Store::open(data_dir)?;
        let (sender, receiver) = sync_channel(max_queued.max(1));
        let dir = data_dir.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("calendar-writer".into())
            .spawn(move || write_loop(writer_store, &dir, receiver))
            .map_err(|_| StorageError::Stopped)?;
        Ok(SqliteStorage {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            reader: Mutex::new(Reader {
                network,
                conn,
                store,
                tree: None,
            }),
        })
    }
}

impl Drop for SqliteStorage {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(mut store: Store, data_dir: &Path, receiver: Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut count = first.0.len();
        let mut jobs = vec![first];
        while count < MAX_GROUP_RECORDS {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.0.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        match commit_group(&mut store, data_dir, &jobs) {
            Ok(mut accepted) => {
                let took = started.elapsed();
                if took > SLOW_COMMIT {
                    tracing::warn!(records = count, ?took, "slow group commit");
                } else {
                    tracing::debug!(records = count, ?took, "group commit");
                }
                // Replies in the order of the jobs.
                for (subs, reply) in jobs.into_iter().rev() {
                    let mine = accepted.split_off(accepted.len() - subs.len());
                    let _ = reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!(error = %btc_anchor::text::with_sources(&e), "group commit failed");
                for (_, reply) in jobs {
                    let _ = reply.send(Err(StorageError::Stopped));
                }
            }
        }
    }
}

fn commit_group(
    store: &mut Store,
    data_dir: &Path,
    jobs: &[Job],
) -> Result<Vec<Accepted>, StorageError> {
    let mut accepted = Vec::new();
    let mut rows = Vec::new();
    for (subs, _) in jobs {
        for s in subs {
            let salt = Salt::random()?;
            let c = commitment(&salt, &s.digest);
            // Never written (`ProofFiles::StoreOnly`): the unique proof path
            // the store asks of every record.
            let path: PathBuf = data_dir
                .join("calendar")
                .join(format!("{}.anchor.json", hex::encode(c)));
            rows.push((s.digest, salt.clone(), LABEL.to_owned(), path));
            accepted.push(Accepted {
                submission: s.clone(),
                salt,
                commitment: c,
            });
        }
    }
    store.add_records_then(&rows, &mut |tx, ids| {
        let mut stmt =
            tx.prepare("INSERT INTO calendar_commitments (commitment, record_id) VALUES (?1, ?2)")?;
        for (a, id) in accepted.iter().zip(ids) {
            stmt.execute(params![a.commitment.as_slice(), id])?;
        }
        Ok(())
    })?;
    Ok(accepted)
}

impl Storage for SqliteStorage {
    fn submit(&self, submissions: Vec<Submission>) -> Result<Committed, StorageError> {
        let (tx, rx) = oneshot::channel();
        let guard = self.sender.lock().map_err(|_| StorageError::Stopped)?;
        let sender = guard.as_ref().ok_or(StorageError::Stopped)?;
        match sender.try_send((submissions, tx)) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(StorageError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(StorageError::Stopped),
        }
    }

    fn lookup(&self, commitment: &[u8]) -> Result<Lookup, StorageError> {
        let mut r = self.reader.lock().map_err(|_| StorageError::Stopped)?;
        r.lookup(commitment)
    }

    fn queue(&self) -> Result<QueueSummary, StorageError> {
        let r = self.reader.lock().map_err(|_| StorageError::Stopped)?;
        let (pending, oldest_at) = r.store.queue_summary()?;
        Ok(QueueSummary { pending, oldest_at })
    }

    fn close(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Reader {
    fn lookup(&mut self, commitment: &[u8]) -> Result<Lookup, StorageError> {
        if commitment.len() != 32 {
            return Ok(Lookup::Unknown);
        }
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT record_id FROM calendar_commitments WHERE commitment = ?1",
                [commitment],
                |r| r.get(0),
            )
            .optional()?;
        lookup_record(&self.store, self.network, &mut self.tree, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn submissions_are_found_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path(), Network::Regtest, 100).unwrap();
        let mut waits = Vec::new();
        for i in 0..20u8 {
            waits.push(s.submit(vec![Submission::from_raw(&[i; 32])]).unwrap());
        }
        let mut commitments = Vec::new();
        for w in waits {
            let a = w.await.unwrap().unwrap();
            assert_eq!(a.len(), 1);
            commitments.push(a[0].commitment);
        }
        assert_eq!(s.queue().unwrap().pending, 20);
        s.close();
        assert!(matches!(
            s.submit(vec![Submission::from_raw(b"x")]),
            Err(StorageError::Stopped)
        ));
        drop(s);
        let s = SqliteStorage::open(dir.path(), Network::Regtest, 100).unwrap();
        for c in &commitments {
            assert!(matches!(
                s.lookup(c).unwrap(),
                Lookup::Pending { batched: false }
            ));
        }
        assert!(matches!(s.lookup(&[0; 32]).unwrap(), Lookup::Unknown));
        assert!(matches!(s.lookup(&[0; 3]).unwrap(), Lookup::Unknown));
    }
}
