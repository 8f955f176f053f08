//! The SQLite backend: the data directory's own store (`store.sqlite`,
//! WAL, `synchronous = FULL`), where submissions become records that the
//! workflow anchors, plus the calendar's table of commitments, written in
//! the same transaction.
//!
//! One writer thread commits submissions in groups (`docs/server-api.md`
//! §3): every submission that arrived while the previous group was being
//! committed goes into the next one, so a reply waits for at most two
//! commits and the disk sees one fsync per group, never one per request.

use std::path::Path;
use std::time::Duration;

use bitcoin::Network;
use btc_anchor_workflow::store::{Journal as _, Store, STORE_FILE};
use rusqlite::{params, Connection, OptionalExtension};

use crate::calendar::Submission;
use crate::storage::{
    lookup_record, salt_all, Accepted, Committed, GroupWriter, Job, Lookup, Pool, QueueSummary,
    Storage, StorageError, TreeCache, READERS,
};

pub use crate::storage::{LABEL, MAX_GROUP_RECORDS, SLOW_COMMIT};

/// The SQLite storage of one data directory.
#[derive(Debug)]
pub struct SqliteStorage {
    network: Network,
    writer: GroupWriter,
    readers: Pool<Reader>,
    trees: TreeCache,
}

/// A reader's connections (WAL: readers never wait for the writer).
#[derive(Debug)]
struct Reader {
    conn: Connection,
    store: Store,
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
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let store = Store::open(data_dir)?;
            let conn = Connection::open(data_dir.join(STORE_FILE))?;
            init_table(&conn)?;
            readers.push(Reader { conn, store });
        }
        let mut writer_store = Store::open(data_dir)?;
        let writer = GroupWriter::start(max_queued, move |jobs| {
            commit_group(&mut writer_store, jobs)
        })?;
        Ok(SqliteStorage {
            network,
            writer,
            readers: Pool::new(readers),
            trees: TreeCache::default(),
        })
    }
}

impl Drop for SqliteStorage {
    fn drop(&mut self) {
        self.close();
    }
}

fn commit_group(store: &mut Store, jobs: &[Job]) -> Result<Vec<Accepted>, StorageError> {
    let (rows, accepted) = salt_all(jobs)?;
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
        self.writer.submit(submissions)
    }

    fn lookup(&self, commitment: &[u8]) -> Result<Lookup, StorageError> {
        if commitment.len() != 32 {
            return Ok(Lookup::Unknown);
        }
        self.readers.with(|r| {
            let id: Option<i64> = r
                .conn
                .query_row(
                    "SELECT record_id FROM calendar_commitments WHERE commitment = ?1",
                    [commitment],
                    |row| row.get(0),
                )
                .optional()?;
            lookup_record(&r.store, self.network, &self.trees, id)
        })
    }

    fn queue(&self) -> Result<QueueSummary, StorageError> {
        let (pending, oldest_at) = self.readers.with(|r| Ok(r.store.queue_summary()?))?;
        Ok(QueueSummary { pending, oldest_at })
    }

    fn close(&self) {
        self.writer.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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

    #[tokio::test]
    async fn lookups_run_at_once_on_the_readers() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(SqliteStorage::open(dir.path(), Network::Regtest, 100).unwrap());
        let mut commitments = Vec::new();
        for i in 0..40u8 {
            let a = s.submit(vec![Submission::from_raw(&[i; 32])]).unwrap();
            commitments.push(a.await.unwrap().unwrap()[0].commitment);
        }
        // More threads than readers, each looking every commitment up, and
        // one it never submitted: every answer right, none lost to a busy
        // reader.
        let threads: Vec<_> = (0..READERS * 3)
            .map(|_| {
                let (s, commitments) = (s.clone(), commitments.clone());
                std::thread::spawn(move || {
                    for c in &commitments {
                        assert!(matches!(
                            s.lookup(c).unwrap(),
                            Lookup::Pending { batched: false }
                        ));
                    }
                    assert!(matches!(s.lookup(&[7; 32]).unwrap(), Lookup::Unknown));
                    s.queue().unwrap().pending
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 40);
        }
        s.close();
    }
}
