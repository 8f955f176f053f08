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

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use bitcoin::Network;
use btc_anchor::merkle::{Salt, Tree};
use btc_anchor_workflow::postgres::{PgJournal, PgSession};
use btc_anchor_workflow::store::Journal as _;
use tokio::sync::oneshot;

use crate::calendar::{commitment, Submission};
use crate::sqlite::{LABEL, MAX_GROUP_RECORDS, SLOW_COMMIT};
use crate::storage::{
    lookup_record, Accepted, Committed, Lookup, QueueSummary, Storage, StorageError,
};

type Job = (
    Vec<Submission>,
    oneshot::Sender<Result<Vec<Accepted>, StorageError>>,
);

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

struct Reader {
    network: Network,
    link: Link,
    tree: Option<(i64, Tree)>,
}

/// The PostgreSQL storage of one server instance.
pub struct PgStorage {
    sender: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: Mutex<Reader>,
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
        let writer_link = Link::new(url);
        let (sender, receiver) = sync_channel(max_queued.max(1));
        let writer = std::thread::Builder::new()
            .name("calendar-writer".into())
            .spawn(move || write_loop(writer_link, receiver))
            .map_err(|_| StorageError::Stopped)?;
        Ok(PgStorage {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            reader: Mutex::new(Reader {
                network,
                link,
                tree: None,
            }),
        })
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        // Closed already when dropped on a runtime (see `open`).
        self.close();
    }
}

fn write_loop(mut link: Link, receiver: Receiver<Job>) {
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
        match commit_group(&mut link, &jobs) {
            Ok(mut accepted) => {
                let took = started.elapsed();
                if took > SLOW_COMMIT {
                    tracing::warn!(records = count, ?took, "slow group commit");
                }
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

fn commit_group(link: &mut Link, jobs: &[Job]) -> Result<Vec<Accepted>, StorageError> {
    let mut accepted = Vec::new();
    let mut rows = Vec::new();
    for (subs, _) in jobs {
        for s in subs {
            let salt = Salt::random()?;
            let c = commitment(&salt, &s.digest);
            // Never written (the anchorer keeps proofs in the journal): the
            // unique proof path the journal asks of every record, the same
            // on every instance.
            let path = PathBuf::from(format!("calendar/{}.anchor.json", hex::encode(c)));
            rows.push((s.digest, salt.clone(), LABEL.to_owned(), path));
            accepted.push(Accepted {
                submission: s.clone(),
                salt,
                commitment: c,
            });
        }
    }
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
        if commitment.len() != 32 {
            return Ok(Lookup::Unknown);
        }
        let mut r = self.reader.lock().map_err(|_| StorageError::Stopped)?;
        let Reader {
            network,
            link,
            tree,
        } = &mut *r;
        let journal = link.journal()?;
        let id: Option<i64> = journal
            .session()
            .client()
            .query_opt(
                "SELECT record_id FROM calendar_commitments WHERE commitment = $1",
                &[&commitment],
            )?
            .map(|row| row.get(0));
        lookup_record(journal, *network, tree, id)
    }

    fn queue(&self) -> Result<QueueSummary, StorageError> {
        let mut r = self.reader.lock().map_err(|_| StorageError::Stopped)?;
        let (pending, oldest_at) = r.link.journal()?.queue_summary()?;
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
        if let Ok(mut r) = self.reader.lock() {
            r.link.closed = true;
            r.link.journal = None;
        }
    }
}
