//! `btc-anchor witness`: a small C2SP tlog-witness (`docs/audit-log.md`
//! §16.3) that a partner hospital or a regulator runs beside the logs it
//! watches. It cosigns a log's checkpoint only when it extends the last
//! one it cosigned for that log, so that the log cannot show it one
//! history and its auditors another.
//!
//! Its folder (mode `0700`) holds:
//!
//! * `witness.key`: its cosigning key (mode `0600`, §3.4);
//! * `logs`: the vkeys of the logs it knows, one a line;
//! * `witness.sqlite`: the latest cosigned checkpoint of each log, kept
//!   whole, and every checkpoint it cosigned.
//!
//! It answers `POST /add-checkpoint` and, for monitors,
//! `GET /<origin hash>/checkpoint`.
//!
//! The check of the old size and the write of the new checkpoint are one
//! SQLite `IMMEDIATE` transaction whose update is also conditional on the
//! stored size (a compare-and-swap), so two requests can never roll a log
//! back, even from two processes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use btc_anchor::merkle::NodeHash;
use btc_anchor_log::cosignature::{CosignatureVerifier, Cosigner};
use btc_anchor_log::keyfile::{read_secret_line, write_secret_line, KeyFileError};
use btc_anchor_log::note::{KeyError, Verifier};
use btc_anchor_log::witness::{check, open_request, Refusal, MAX_REQUEST_LEN, SIZE_CONTENT_TYPE};
use rusqlite::{params, Connection, OptionalExtension as _, TransactionBehavior};

use crate::ServeError;

/// The address `witness serve` listens on by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8602";
/// The key file in the witness's folder.
pub const KEY_FILE: &str = "witness.key";
/// The list of known logs' vkeys.
pub const LOGS_FILE: &str = "logs";
/// The database.
pub const DB_FILE: &str = "witness.sqlite";
/// Most logs one witness knows.
pub const MAX_LOGS: usize = 10_000;
/// Largest `logs` file read.
pub const MAX_LOGS_FILE_LEN: u64 = 4 << 20;
/// Time to read a request and answer it.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Errors of setting up or opening a witness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The file system refused an operation.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A folder that exists already (`init`) or holds no witness.
    #[error("{}: {reason}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The key file could not be written or read.
    #[error("the witness key")]
    KeyFile(#[from] KeyFileError),
    /// A key string (the witness's, or a log's in `logs`) is not valid.
    #[error("{what} is not a valid key")]
    Key {
        /// Which key.
        what: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The `logs` file is over its limits.
    #[error("{} holds more than {MAX_LOGS} logs or {MAX_LOGS_FILE_LEN} bytes", path.display())]
    TooManyLogs {
        /// The file.
        path: PathBuf,
    },
    /// The database refused an operation.
    #[error("the witness database")]
    Db(#[from] rusqlite::Error),
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> WitnessError + 'a {
    move |source| WitnessError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Creates a witness in the new folder `dir` (mode `0700`) under `name`:
/// a new key, an empty list of logs and the database. Returns its vkey.
///
/// # Errors
///
/// [`WitnessError::Folder`] when `dir` exists, and the errors of writing.
pub fn init(dir: &Path, name: &str) -> Result<CosignatureVerifier, WitnessError> {
    let cosigner = Cosigner::generate(name).map_err(|source| WitnessError::Key {
        what: format!("the name {name:?}"),
        source,
    })?;
    if dir.exists() {
        return Err(WitnessError::Folder {
            path: dir.to_owned(),
            reason: "exists already",
        });
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(io_err("create folder", dir))?;
    write_secret_line(&dir.join(KEY_FILE), &cosigner.to_skey())?;
    let logs = dir.join(LOGS_FILE);
    std::fs::write(&logs, b"").map_err(io_err("write", &logs))?;
    open_db(&dir.join(DB_FILE))?;
    Ok(cosigner.verifier())
}

/// Adds a log's vkey to the witness in `dir`; whether it was new.
///
/// # Errors
///
/// The errors of reading and writing the `logs` file.
pub fn add_log(dir: &Path, vkey: &Verifier) -> Result<bool, WitnessError> {
    let logs = read_logs(dir)?;
    if logs.contains(vkey) {
        return Ok(false);
    }
    if logs.len() >= MAX_LOGS {
        return Err(WitnessError::TooManyLogs {
            path: dir.join(LOGS_FILE),
        });
    }
    let path = dir.join(LOGS_FILE);
    let mut text = std::fs::read_to_string(&path).map_err(io_err("read", &path))?;
    text.push_str(&vkey.to_vkey());
    text.push('\n');
    let tmp = dir.join(".logs.tmp");
    std::fs::write(&tmp, text).map_err(io_err("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err("rename into place", &path))?;
    Ok(true)
}

fn read_logs(dir: &Path) -> Result<Vec<Verifier>, WitnessError> {
    use std::io::Read as _;
    let path = dir.join(LOGS_FILE);
    let f = std::fs::File::open(&path).map_err(io_err("open", &path))?;
    let mut text = String::new();
    f.take(MAX_LOGS_FILE_LEN + 1)
        .read_to_string(&mut text)
        .map_err(io_err("read", &path))?;
    if text.len() as u64 > MAX_LOGS_FILE_LEN {
        return Err(WitnessError::TooManyLogs { path });
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if out.len() >= MAX_LOGS {
            return Err(WitnessError::TooManyLogs { path });
        }
        out.push(Verifier::parse(line).map_err(|source| WitnessError::Key {
            what: format!("{} line {}", path.display(), i + 1),
            source,
        })?);
    }
    Ok(out)
}

fn open_db(path: &Path) -> Result<Connection, WitnessError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS latest (
             origin TEXT PRIMARY KEY,
             size INTEGER NOT NULL,
             root BLOB NOT NULL,
             checkpoint BLOB NOT NULL,
             cosignature TEXT NOT NULL,
             cosigned_at INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS cosigned (
             origin TEXT NOT NULL,
             size INTEGER NOT NULL,
             checkpoint BLOB NOT NULL,
             cosigned_at INTEGER NOT NULL
         );",
    )?;
    Ok(conn)
}

/// A witness opened from its folder.
pub struct Witness {
    cosigner: Cosigner,
    logs: Vec<Verifier>,
    db: Mutex<Connection>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("cosigner", &self.cosigner)
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

/// Why an `add-checkpoint` was not cosigned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// The protocol's refusal (400, 403, 404, 409, 422).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database failed (500).
    #[error("the witness database")]
    Db(#[from] rusqlite::Error),
}

impl Witness {
    /// Opens the witness in `dir`.
    ///
    /// # Errors
    ///
    /// A [`WitnessError`] when its key, logs or database cannot be read.
    pub fn open(dir: &Path) -> Result<Witness, WitnessError> {
        if !dir.join(KEY_FILE).is_file() {
            return Err(WitnessError::Folder {
                path: dir.to_owned(),
                reason: "holds no witness (btc-anchor witness init)",
            });
        }
        let line = read_secret_line(&dir.join(KEY_FILE))?;
        let cosigner = Cosigner::parse(&line).map_err(|source| WitnessError::Key {
            what: dir.join(KEY_FILE).display().to_string(),
            source,
        })?;
        Ok(Witness {
            cosigner,
            logs: read_logs(dir)?,
            db: Mutex::new(open_db(&dir.join(DB_FILE))?),
        })
    }

    /// The witness's vkey.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.cosigner.verifier()
    }

    /// The logs it knows.
    pub fn logs(&self) -> &[Verifier] {
        &self.logs
    }

    /// Handles one `add-checkpoint` body at time `now` (Unix seconds): the
    /// cosignature line to answer, once the checkpoint is stored.
    ///
    /// # Errors
    ///
    /// [`AddError::Refused`] with the protocol's refusal, or
    /// [`AddError::Db`].
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddError> {
        let opened = open_request(body, &self.logs)?;
        let origin = opened.checkpoint.origin.clone();
        let mut conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let latest: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT size, root FROM latest WHERE origin = ?1",
                params![origin],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let latest = latest.and_then(|(size, root)| {
            Some((u64::try_from(size).ok()?, NodeHash(root.try_into().ok()?)))
        });
        let result = check(&opened, latest);
        if let Err(refusal) = result {
            if let Refusal::Inconsistent { reason } = &refusal {
                // A signed checkpoint that conflicts with one cosigned:
                // evidence against the log, kept in the log of the server.
                tracing::warn!(%origin, reason, checkpoint = %opened.text, "refused an inconsistent checkpoint");
            }
            return Err(refusal.into());
        }
        let line = self.cosigner.cosign(&opened.text, now).to_line();
        let size = i64::try_from(opened.checkpoint.size).unwrap_or(i64::MAX);
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        let old = i64::try_from(opened.request.old).unwrap_or(i64::MAX);
        let changed = tx.execute(
            "INSERT INTO latest (origin, size, root, checkpoint, cosignature, cosigned_at)
             VALUES (?1, ?2, ?3, ?4, ?7, ?5)
             ON CONFLICT (origin) DO UPDATE SET size = ?2, root = ?3, checkpoint = ?4,
                 cosignature = ?7, cosigned_at = ?5
             WHERE latest.size = ?6",
            params![
                origin,
                size,
                opened.checkpoint.root.as_bytes().to_vec(),
                opened.request.checkpoint,
                now_i,
                old,
                line
            ],
        )?;
        if changed != 1 {
            // Not reachable inside the transaction; the swap guards it.
            return Err(Refusal::Conflict {
                size: latest.map_or(0, |(s, _)| s),
            }
            .into());
        }
        tx.execute(
            "INSERT INTO cosigned (origin, size, checkpoint, cosigned_at) VALUES (?1, ?2, ?3, ?4)",
            params![origin, size, opened.request.checkpoint, now_i],
        )?;
        tx.commit()?;
        Ok(line)
    }

    /// The latest checkpoint cosigned for the log whose origin hashes to
    /// `origin_hash` (SHA-256, lower-case hex): the log's note as it came,
    /// with the witness's cosignature added; `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`rusqlite::Error`] when the database fails.
    pub fn latest(&self, origin_hash: &str) -> Result<Option<String>, rusqlite::Error> {
        use sha2::{Digest as _, Sha256};
        let Some(origin) = self
            .logs
            .iter()
            .map(|v| v.name())
            .find(|o| hex::encode(Sha256::digest(o.as_bytes())) == origin_hash)
        else {
            return Ok(None);
        };
        let conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let row: Option<(Vec<u8>, String)> = conn
            .query_row(
                "SELECT checkpoint, cosignature FROM latest WHERE origin = ?1",
                params![origin],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(note, line)| format!("{}{line}", String::from_utf8_lossy(&note))))
    }
}

/// The router of `POST /add-checkpoint`.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route(
            "/{origin_hash}/checkpoint",
            axum::routing::get(get_checkpoint),
        )
        .layer(DefaultBodyLimit::max(MAX_REQUEST_LEN))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(witness)
}

fn text(status: StatusCode, kind: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let answer = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now)).await;
    match answer {
        Ok(Ok(lines)) => text(StatusCode::OK, "text/plain; charset=utf-8", lines),
        Ok(Err(AddError::Refused(Refusal::Conflict { size }))) => {
            text(StatusCode::CONFLICT, SIZE_CONTENT_TYPE, format!("{size}\n"))
        }
        Ok(Err(AddError::Refused(r))) => text(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "text/plain; charset=utf-8",
            format!("{r}\n"),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %btc_anchor::text::with_sources(&e), "add-checkpoint failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "internal error\n".into(),
            )
        }
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            "internal error\n".into(),
        ),
    }
}

/// `GET /<origin hash>/checkpoint`: the latest checkpoint cosigned for
/// that log, with the witness's cosignature (tlog-witness, monitor
/// retrieval); 404 when it cosigned none.
async fn get_checkpoint(
    State(witness): State<Arc<Witness>>,
    axum::extract::Path(origin_hash): axum::extract::Path<String>,
) -> Response {
    if origin_hash.len() != 64
        || !origin_hash
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n".into(),
        );
    }
    match tokio::task::spawn_blocking(move || witness.latest(&origin_hash)).await {
        Ok(Ok(Some(note))) => {
            let mut r = text(StatusCode::OK, "text/plain; charset=utf-8", note);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(Ok(None)) => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n".into(),
        ),
        _ => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            "internal error\n".into(),
        ),
    }
}

/// Serves the witness of `dir` on `listen` until SIGINT or SIGTERM: the
/// entry point of `btc-anchor witness serve`. `on_listen` hears the bound
/// address.
///
/// # Errors
///
/// [`ServeError::Witness`] when the witness cannot be opened, and
/// [`ServeError::Listen`] when the address cannot be bound.
pub fn run(
    dir: &Path,
    listen: SocketAddr,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let witness = Arc::new(Witness::open(dir).map_err(ServeError::Witness)?);
    crate::runtime()?.block_on(async move {
        let (listener, addr) = crate::bind(listen).await?;
        tracing::info!(%addr, logs = witness.logs().len(), "witness listening");
        on_listen(addr);
        axum::serve(listener, router(witness))
            .with_graceful_shutdown(async {
                crate::shutdown_signal().await;
                tracing::info!("shutting down");
            })
            .await
            .map_err(|source| ServeError::Listen { addr, source })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use btc_anchor::merkle::{leaf_hash, Tree};
    use btc_anchor_log::checkpoint::Checkpoint;
    use btc_anchor_log::note::Signer;
    use btc_anchor_log::witness::AddCheckpoint;

    fn tree(n: u64) -> Tree {
        Tree::new((0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()).unwrap()
    }

    fn body(key: &Signer, old: u64, t: &Tree, size: u64) -> Vec<u8> {
        AddCheckpoint {
            old,
            proof: if old == 0 {
                vec![]
            } else {
                t.consistency_proof_between(old, size).unwrap()
            },
            checkpoint: Checkpoint {
                origin: key.name().into(),
                size,
                root: t.subtree_hash(0, size).unwrap(),
                extensions: vec![],
            }
            .sign(&[key])
            .unwrap()
            .to_text()
            .into_bytes(),
        }
        .to_bytes()
    }

    #[test]
    fn two_witness_processes_never_both_advance_from_one_size() {
        // Two openings of one folder are two SQLite connections, as two
        // processes would have: of two requests from the same old size,
        // exactly one is cosigned and the other gets a 409 with the size
        // the first stored, however they interleave.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("w");
        init(&dir, "hospital.example/witness").unwrap();
        let key = Signer::from_seed("clinic.example/audit", &[4; 32]).unwrap();
        add_log(&dir, &key.verifier()).unwrap();
        let t = tree(64);
        let a = Arc::new(Witness::open(&dir).unwrap());
        let b = Arc::new(Witness::open(&dir).unwrap());
        a.add_checkpoint(&body(&key, 0, &t, 8), 1).unwrap();
        for round in 0..20u64 {
            let old = 8 + round * 2;
            let (x, y) = (body(&key, old, &t, old + 1), body(&key, old, &t, old + 2));
            let (wa, wb) = (Arc::clone(&a), Arc::clone(&b));
            let ta = std::thread::spawn(move || wa.add_checkpoint(&x, 2));
            let tb = std::thread::spawn(move || wb.add_checkpoint(&y, 2));
            let (ra, rb) = (ta.join().unwrap(), tb.join().unwrap());
            let won = match (&ra, &rb) {
                (Ok(_), Err(AddError::Refused(Refusal::Conflict { size }))) => {
                    assert_eq!(*size, old + 1);
                    old + 1
                }
                (Err(AddError::Refused(Refusal::Conflict { size })), Ok(_)) => {
                    assert_eq!(*size, old + 2);
                    old + 2
                }
                other => panic!("round {round}: {other:?}"),
            };
            // Bring the log to old + 2 for the next round.
            if won == old + 1 {
                a.add_checkpoint(&body(&key, old + 1, &t, old + 2), 3)
                    .unwrap();
            }
        }
        // Both connections see the same, latest state.
        let stale = body(&key, 8, &t, 50);
        for w in [&a, &b] {
            assert!(matches!(
                w.add_checkpoint(&stale, 4),
                Err(AddError::Refused(Refusal::Conflict { size: 48 }))
            ));
        }
    }
}
