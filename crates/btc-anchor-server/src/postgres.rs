//! The PostgreSQL backend (`docs/server-api.md` §12): several server
//! instances share one database. Every instance takes submissions: its
//! writer thread commits them in groups, records and commitments in one
//! transaction, exactly as the SQLite backend does ([`crate::sqlite`]);
//! one instance at a time anchors them ([`crate::anchorer`], which takes
//! the database's advisory lock), and the others stand by.
//!
//! Connections lost (a database restart) are made again for the next
//! group or lookup; a group whose commit failed is answered with an error,
//! never with a 200.

use bitcoin::Network;
use btc_anchor_workflow::postgres::{PgJournal, PgSession};
use btc_anchor_workflow::store::Journal as _;

use crate::calendar::Submission;
use crate::storage::{
    lookup_record, salt_all, Accepted, Committed, GroupWriter, Job, Lookup, Pool, QueueSummary,
    Storage, StorageError, TreeCache, READERS,
};

const COMMITMENTS: &str = "CREATE TABLE IF NOT EXISTS calendar_commitments (
    commitment BYTEA PRIMARY KEY,
    record_id BIGINT NOT NULL REFERENCES records(id)
)";

/// A session, made again once lost (never once closed). The blocking
/// client must not be made or dropped on an async runtime's thread.
struct Link {
    url: String,
    journal: Option<PgJournal>,
    closed: bool,
}

impl Link {
    fn new(url: &str) -> Link {
        Link {
            url: url.to_owned(),
            journal: None,
            closed: false,
        }
    }

    fn journal(&mut self) -> Result<&mut PgJournal, StorageError> {
        if self.closed {
            return Err(StorageError::Stopped);
        }
        if self
            .journal
            .as_ref()
            .is_some_and(|j| j.session().is_closed())
        {
            self.journal = None;
        }
        if self.journal.is_none() {
            let session = PgSession::connect(&self.url)?;
            session.client().batch_execute(COMMITMENTS)?;
            self.journal = Some(PgJournal::new(session));
        }
        self.journal.as_mut().ok_or(StorageError::Stopped)
    }
}

/// The PostgreSQL storage of one server instance: a writer session and
/// [`READERS`] reader sessions (a pool, each made when first needed).
pub struct PgStorage {
    network: Network,
    writer: GroupWriter,
    readers: Pool<Link>,
    trees: TreeCache,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage").finish_non_exhaustive()
    }
}

impl PgStorage {
    /// Connects to the database at `url` for `network` (recorded on first
    /// use, refused on any other) and starts the writer, whose queue holds
    /// at most `max_queued` submissions. Blocking: on an async runtime,
    /// call it from a blocking thread, and close it there too
    /// ([`Storage::close`]) before it is dropped.
    ///
    /// # Errors
    ///
    /// A database that cannot be reached, or that serves another network.
    pub fn open(url: &str, network: Network, max_queued: usize) -> Result<PgStorage, StorageError> {
        let mut link = Link::new(url);
        let journal = link.journal()?;
        match journal.network()? {
            Some(found) if found != network => {
                return Err(StorageError::WrongNetwork {
                    found,
                    expected: network,
                })
            }
            Some(_) => {}
            None => journal.record_network(network)?,
        }
        let mut writer_link = Link::new(url);
        let writer =
            GroupWriter::start(max_queued, move |jobs| commit_group(&mut writer_link, jobs))?;
        let mut readers = vec![link];
        readers.extend((1..READERS).map(|_| Link::new(url)));
        Ok(PgStorage {
            network,
            writer,
            readers: Pool::new(readers),
            trees: TreeCache::default(),
        })
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        // Closed already when dropped on a runtime (see `open`).
        self.close();
    }
}

fn commit_group(link: &mut Link, jobs: &[Job]) -> Result<Vec<Accepted>, StorageError> {
    let (rows, accepted) = salt_all(jobs)?;
    let commitments: Vec<&[u8]> = accepted.iter().map(|a| a.commitment.as_slice()).collect();
    link.journal()?.add_records_then(&rows, &mut |tx, ids| {
        tx.execute(
            "INSERT INTO calendar_commitments (commitment, record_id)
             SELECT * FROM UNNEST($1::bytea[], $2::int8[])",
            &[&commitments, &ids],
        )?;
        Ok(())
    })?;
    Ok(accepted)
}

impl Storage for PgStorage {
    fn submit(&self, submissions: Vec<Submission>) -> Result<Committed, StorageError> {
        self.writer.submit(submissions)
    }

    fn lookup(&self, commitment: &[u8]) -> Result<Lookup, StorageError> {
        if commitment.len() != 32 {
            return Ok(Lookup::Unknown);
        }
        self.readers.with(|link| {
            let journal = link.journal()?;
            let id: Option<i64> = journal
                .session()
                .client()
                .query_opt(
                    "SELECT record_id FROM calendar_commitments WHERE commitment = $1",
                    &[&commitment],
                )?
                .map(|row| row.get(0));
            lookup_record(journal, self.network, &self.trees, id)
        })
    }

    fn queue(&self) -> Result<QueueSummary, StorageError> {
        let (pending, oldest_at) = self
            .readers
            .with(|link| Ok(link.journal()?.queue_summary()?))?;
        Ok(QueueSummary { pending, oldest_at })
    }

    fn close(&self) {
        self.writer.close();
        self.readers.each(|link| {
            link.closed = true;
            link.journal = None;
        });
    }
}
