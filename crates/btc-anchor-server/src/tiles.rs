//! An audit log served read-only over HTTP as C2SP tlog-tiles
//! (`docs/audit-log.md` §14, `btc-anchor log serve`): `GET /checkpoint`,
//! `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`, from
//! the log's `public/` folder (§11.1) and nothing else.
//!
//! Every request reads the published checkpoint afresh, so a log that
//! grows while it is served is served as it grows: the writer writes the
//! tiles before the checkpoint that names them (§11.3), so a tile the
//! checkpoint read needs is always there. A tile beyond that checkpoint is
//! not served (404), even when a crash left it on disk, and a stored tile
//! whose length is not the one its path gives (a torn or damaged file) is
//! never served: the answer is 500 and a log line.

use std::fs;
use std::io::{self, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use btc_anchor_log::checkpoint::{Checkpoint, OpenError};
use btc_anchor_log::note::{Note, MAX_NOTE_LEN};
use btc_anchor_log::tile::{
    decode_bundle, decode_tile, TileError, TileKind, TilePath, MAX_BUNDLE_LEN,
};

use crate::ServeError;

/// `Content-Type` of `/checkpoint` (tlog-tiles).
pub const CHECKPOINT_TYPE: &str = "text/plain; charset=utf-8";
/// `Content-Type` of tiles and entry bundles (tlog-tiles).
pub const TILE_TYPE: &str = "application/octet-stream";
/// `Cache-Control` of `/checkpoint`: it changes with every checkpoint, so
/// caches keep it 2 seconds at most (tlog-tiles: "a few seconds").
pub const CHECKPOINT_CACHE: &str = "public, max-age=2";
/// `Cache-Control` of tiles and bundles, full and partial: a path names
/// exactly one content, ever (§5.3).
pub const TILE_CACHE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of answers that may change: a tile not there yet, an
/// error.
const NO_STORE: &str = "no-store";
/// `Cache-Control` of paths that will never name a tile.
const NEVER: &str = "public, max-age=3600";
/// Time to read a request and answer it (then 408).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default address of `btc-anchor log serve`: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8601";

/// Why a tile or the checkpoint is not served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileServeError {
    /// No checkpoint is published yet (404).
    #[error("no checkpoint is published yet")]
    NoCheckpoint,
    /// A tile past the published checkpoint's tree (404).
    #[error("{path} is beyond the checkpoint of size {size}")]
    Beyond {
        /// The tile asked for.
        path: TilePath,
        /// The published tree size.
        size: u64,
    },
    /// An older partial tile that is not kept (404).
    #[error("{path} is not kept")]
    NotKept {
        /// The tile asked for.
        path: TilePath,
    },
    /// A tile the published checkpoint needs that is not in the folder: a
    /// damaged log (500).
    #[error("{path} is needed by the checkpoint of size {size} but is missing")]
    Missing {
        /// The tile.
        path: TilePath,
        /// The published tree size.
        size: u64,
    },
    /// A stored tile or bundle that is not what its path says: torn or
    /// damaged (500).
    #[error("{path} is torn or damaged")]
    Damaged {
        /// The tile.
        path: TilePath,
        /// What is wrong with it.
        #[source]
        source: TileError,
    },
    /// The published checkpoint is not a signed checkpoint (500).
    #[error("the published checkpoint is malformed")]
    BadCheckpoint(#[source] OpenError),
    /// The published checkpoint is over the note limit (500).
    #[error("the published checkpoint is over {MAX_NOTE_LEN} bytes")]
    CheckpointTooLarge,
    /// The task reading the file failed (500).
    #[error("the read task failed")]
    Task,
    /// The file system refused a read (500).
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl TileServeError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            TileServeError::NoCheckpoint
            | TileServeError::Beyond { .. }
            | TileServeError::NotKept { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The `public/` folder a log is served from: `dir/public` for a log's
/// folder (§11.1), or `dir` itself for a copy of the published folder
/// (one that holds `checkpoint` or `tile/`); `None` for neither.
pub fn public_folder(dir: &Path) -> Option<PathBuf> {
    let public = dir.join("public");
    if public.is_dir() {
        return Some(public);
    }
    (dir.join("checkpoint").is_file() || dir.join("tile").is_dir()).then(|| dir.to_path_buf())
}

/// Reads a file of at most `limit` bytes (one more is read, to tell a
/// longer one); `None` when it does not exist.
fn read_limited(path: &Path, limit: usize) -> Result<Option<Vec<u8>>, TileServeError> {
    let io = |source| TileServeError::Io {
        path: path.to_owned(),
        source,
    };
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(Some(bytes))
}

/// The published checkpoint: its bytes as stored, and its tree size.
///
/// # Errors
///
/// [`TileServeError::NoCheckpoint`] when none is published, and the
/// errors of a checkpoint that cannot be read or parsed.
pub fn read_checkpoint(public: &Path) -> Result<(Vec<u8>, u64), TileServeError> {
    let bytes = read_limited(&public.join("checkpoint"), MAX_NOTE_LEN)?
        .ok_or(TileServeError::NoCheckpoint)?;
    if bytes.len() > MAX_NOTE_LEN {
        return Err(TileServeError::CheckpointTooLarge);
    }
    // The server has no key: it checks the form, not the signature (the
    // writer signed it; clients verify it).
    let note = Note::parse(&bytes).map_err(|e| TileServeError::BadCheckpoint(e.into()))?;
    let cp = Checkpoint::parse(note.text()).map_err(|e| TileServeError::BadCheckpoint(e.into()))?;
    Ok((bytes, cp.size))
}

/// The bytes of the tile or bundle at `path`, checked against the
/// published checkpoint (§14.2): served only when that checkpoint's tree
/// has it (its own width, or a narrower, older partial tile of the same
/// index), and only when the stored file has the length (for a bundle:
/// the number of entries) its path gives.
///
/// # Errors
///
/// A [`TileServeError`]; [`TileServeError::status`] tells its answer.
pub fn read_tile(public: &Path, path: &TilePath) -> Result<Vec<u8>, TileServeError> {
    let (_, size) = read_checkpoint(public)?;
    let beyond = TileServeError::Beyond { path: *path, size };
    let Some(current) = TilePath::for_size(path.kind, path.index, size) else {
        return Err(beyond);
    };
    if path.width > current.width {
        return Err(beyond);
    }
    let limit = match path.kind {
        TileKind::Hashes { .. } => 32 * usize::from(path.width),
        TileKind::Entries => MAX_BUNDLE_LEN,
    };
    let Some(bytes) = read_limited(&public.join(path.to_path()), limit)? else {
        return Err(if current == *path {
            TileServeError::Missing { path: *path, size }
        } else {
            TileServeError::NotKept { path: *path }
        });
    };
    let damaged = |source| TileServeError::Damaged {
        path: *path,
        source,
    };
    match path.kind {
        TileKind::Hashes { .. } => decode_tile(&bytes, path.width).map(drop),
        TileKind::Entries => decode_bundle(&bytes, path.width).map(drop),
    }
    .map_err(damaged)?;
    Ok(bytes)
}

/// The router of `/checkpoint` and `/tile/...` over the published folder
/// `public`, with the request time limit.
pub fn router(public: PathBuf) -> Router {
    Router::new()
        .route("/checkpoint", get(get_checkpoint))
        .route("/tile/{*rest}", get(get_tile))
        .fallback(not_found)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(Arc::new(public))
}

fn answer(status: StatusCode, kind: &'static str, cache: &'static str, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The answer to a refusal; a 500 is logged with its cause.
fn refused(what: &str, e: &TileServeError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        tracing::error!(what, error = %btc_anchor::text::with_sources(e), "not served");
        return answer(
            status,
            CHECKPOINT_TYPE,
            NO_STORE,
            Bytes::from_static(b"internal error\n"),
        );
    }
    tracing::debug!(what, error = %e, "not found");
    answer(
        status,
        CHECKPOINT_TYPE,
        NO_STORE,
        Bytes::from_static(b"not found\n"),
    )
}

/// Runs a blocking read off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TileServeError> + Send + 'static,
) -> Result<T, TileServeError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(TileServeError::Task))
}

/// `GET /checkpoint` (§14.1).
async fn get_checkpoint(State(public): State<Arc<PathBuf>>) -> Response {
    match blocking(move || read_checkpoint(&public)).await {
        Ok((bytes, _)) => answer(
            StatusCode::OK,
            CHECKPOINT_TYPE,
            CHECKPOINT_CACHE,
            Bytes::from(bytes),
        ),
        Err(e) => refused("checkpoint", &e),
    }
}

/// `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`
/// (§14.2): the raw path, so that only its canonical form is served.
async fn get_tile(State(public): State<Arc<PathBuf>>, uri: Uri) -> Response {
    let raw = uri.path().trim_start_matches('/');
    let Ok(path) = TilePath::parse(raw) else {
        return not_found().await;
    };
    if path.to_path() != raw {
        // The parser accepts only canonical paths; this guards that.
        return not_found().await;
    }
    match blocking(move || read_tile(&public, &path)).await {
        Ok(bytes) => answer(StatusCode::OK, TILE_TYPE, TILE_CACHE, Bytes::from(bytes)),
        Err(e) => refused(&path.to_path(), &e),
    }
}

/// Anything else: a path that never names a tile (404).
async fn not_found() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        CHECKPOINT_TYPE,
        NEVER,
        Bytes::from_static(b"not found\n"),
    )
}

/// What [`serve`] needs.
#[derive(Debug, Clone)]
pub struct TilesOptions {
    /// The log's folder, or a copy of its `public/` folder
    /// ([`public_folder`]).
    pub dir: PathBuf,
    /// The address to listen on (loopback unless configured otherwise).
    pub listen: SocketAddr,
}

/// Serves the log of `options` until `shutdown` resolves, then shuts down
/// gracefully (in-flight requests finish). `on_listen` hears the bound
/// address (useful with port 0).
///
/// # Errors
///
/// [`ServeError::NoLog`] when the folder holds no published log, and
/// [`ServeError::Listen`] when the address cannot be bound or served.
pub async fn serve(
    options: TilesOptions,
    on_listen: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let public = public_folder(&options.dir).ok_or_else(|| ServeError::NoLog {
        path: options.dir.clone(),
    })?;
    let (listener, addr) = crate::bind(options.listen).await?;
    tracing::info!(%addr, public = %public.display(), "serving the log");
    on_listen(addr);
    axum::serve(listener, router(public))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
        })
        .await
        .map_err(|source| ServeError::Listen { addr, source })
}

/// Runs [`serve`] on its own runtime until SIGINT or SIGTERM: the entry
/// point of `btc-anchor log serve`.
///
/// # Errors
///
/// As [`serve`].
pub fn run(options: TilesOptions, on_listen: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    crate::runtime()?.block_on(serve(options, on_listen, crate::shutdown_signal()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Method, Request};
    use btc_anchor_log::entry::{ActorRef, RecordRef, Salt};
    use btc_anchor_log::event::{Event, EventKind};
    use btc_anchor_log::note::Signer;
    use btc_anchor_log::writer::LogWriter;
    use tower::ServiceExt as _;

    fn event(i: u64) -> Event {
        let salt = Salt([7; 32]);
        Event {
            kind: EventKind::Read,
            time: 1_767_225_600 + i,
            record: RecordRef::new(format!("record {}", i % 5).as_bytes(), &salt),
            actor: ActorRef::new(b"dr. who", &salt),
            content: None,
            prev: None,
            codes: Default::default(),
        }
    }

    /// A log of `sizes` checkpoints (each the total size then).
    fn log(sizes: &[u64]) -> (tempfile::TempDir, LogWriter) {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = LogWriter::create(
            &tmp.path().join("log"),
            Signer::from_seed("clinic.example/audit", &[3; 32]).unwrap(),
        )
        .unwrap();
        for &s in sizes {
            let have = w.entries().len() as u64;
            w.append((have..s).map(event).collect()).unwrap();
            w.checkpoint().unwrap();
        }
        (tmp, w)
    }

    struct Got {
        status: StatusCode,
        headers: axum::http::HeaderMap,
        body: Vec<u8>,
    }

    async fn request(public: &Path, method: Method, uri: &str) -> Got {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let res = router(public.to_owned()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Got {
            status,
            headers,
            body,
        }
    }

    async fn get(public: &Path, uri: &str) -> Got {
        request(public, Method::GET, uri).await
    }

    impl Got {
        fn header(&self, name: header::HeaderName) -> &str {
            self.headers
                .get(name)
                .map(|v| v.to_str().unwrap())
                .unwrap_or("")
        }

        fn expect(&self, status: StatusCode, kind: &str, cache: &str) -> &Got {
            assert_eq!(
                self.status,
                status,
                "{}",
                String::from_utf8_lossy(&self.body)
            );
            assert_eq!(self.header(header::CONTENT_TYPE), kind);
            assert_eq!(self.header(header::CACHE_CONTROL), cache);
            self
        }
    }

    #[tokio::test]
    async fn the_checkpoint_is_served_as_published() {
        let (tmp, w) = log(&[3]);
        let public = tmp.path().join("log/public");
        let got = get(&public, "/checkpoint").await;
        got.expect(StatusCode::OK, CHECKPOINT_TYPE, CHECKPOINT_CACHE);
        assert_eq!(
            got.body,
            w.latest_checkpoint().unwrap().to_text().as_bytes()
        );
        // HEAD: the same headers, no body.
        let head = request(&public, Method::HEAD, "/checkpoint").await;
        head.expect(StatusCode::OK, CHECKPOINT_TYPE, CHECKPOINT_CACHE);
        assert!(head.body.is_empty());
        // Other methods are refused, and other paths are not there.
        let post = request(&public, Method::POST, "/checkpoint").await;
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
        for uri in ["/checkpoint/", "/", "/checkpoints/3", "/journal", "/key"] {
            get(&public, uri)
                .await
                .expect(StatusCode::NOT_FOUND, CHECKPOINT_TYPE, NEVER);
        }
    }

    #[tokio::test]
    async fn no_checkpoint_yet_is_404_and_a_damaged_one_500() {
        let (tmp, _w) = log(&[]);
        let public = tmp.path().join("log/public");
        get(&public, "/checkpoint")
            .await
            .expect(StatusCode::NOT_FOUND, CHECKPOINT_TYPE, NO_STORE);
        get(&public, "/tile/0/000.p/1").await.expect(
            StatusCode::NOT_FOUND,
            CHECKPOINT_TYPE,
            NO_STORE,
        );
        fs::write(public.join("checkpoint"), b"clinic.example/audit\n1\n").unwrap();
        let got = get(&public, "/checkpoint").await;
        got.expect(StatusCode::INTERNAL_SERVER_ERROR, CHECKPOINT_TYPE, NO_STORE);
        assert_eq!(got.body, b"internal error\n");
        fs::write(public.join("checkpoint"), vec![b'a'; MAX_NOTE_LEN + 1]).unwrap();
        get(&public, "/checkpoint").await.expect(
            StatusCode::INTERNAL_SERVER_ERROR,
            CHECKPOINT_TYPE,
            NO_STORE,
        );
    }

    #[tokio::test]
    async fn tiles_and_bundles_of_the_checkpoint_are_served_immutable() {
        // 70,000 entries: full and partial tiles at levels 0, 1 and 2,
        // after an older checkpoint of 600.
        let (tmp, _w) = log(&[600, 70_000]);
        let public = tmp.path().join("log/public");
        for path in [
            "tile/0/000",
            "tile/0/272",
            "tile/0/273.p/112",
            "tile/0/002.p/88", // the older checkpoint's partial tile
            "tile/1/000",
            "tile/1/001.p/17",
            "tile/1/000.p/2",
            "tile/2/000.p/1",
            "tile/entries/000",
            "tile/entries/273.p/112",
            "tile/entries/002.p/88",
        ] {
            let got = get(&public, &format!("/{path}")).await;
            got.expect(StatusCode::OK, TILE_TYPE, TILE_CACHE);
            assert_eq!(got.body, fs::read(public.join(path)).unwrap(), "{path}");
            assert_eq!(got.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
        assert_eq!(get(&public, "/tile/0/000").await.body.len(), 8192);
        assert_eq!(get(&public, "/tile/0/273.p/112").await.body.len(), 112 * 32);
    }

    #[tokio::test]
    async fn tiles_beyond_the_checkpoint_are_404_even_on_disk() {
        let (tmp, mut w) = log(&[300]);
        let public = tmp.path().join("log/public");
        for path in [
            "tile/0/001.p/44", // the checkpoint's own: served
            "tile/entries/001.p/44",
        ] {
            get(&public, &format!("/{path}"))
                .await
                .expect(StatusCode::OK, TILE_TYPE, TILE_CACHE);
        }
        for path in [
            "tile/0/001.p/45",
            "tile/0/001",
            "tile/0/002.p/1",
            "tile/1/000",
            "tile/1/000.p/2",
            "tile/2/000.p/1",
            "tile/63/000.p/1",
            "tile/entries/001",
            "tile/entries/x001/000",
        ] {
            get(&public, &format!("/{path}")).await.expect(
                StatusCode::NOT_FOUND,
                CHECKPOINT_TYPE,
                NO_STORE,
            );
        }
        // Tiles written for a size no checkpoint names (a crash between
        // the tiles and the checkpoint) are not served.
        w.append((300..600).map(event).collect()).unwrap();
        let entries = w.entries().to_vec();
        btc_anchor_log::store::TileStore::new(&public)
            .write(&entries, 300)
            .unwrap();
        assert!(public.join("tile/0/001").is_file());
        get(&public, "/tile/0/001")
            .await
            .expect(StatusCode::NOT_FOUND, CHECKPOINT_TYPE, NO_STORE);
        // Once the checkpoint names them, they are.
        w.checkpoint().unwrap();
        get(&public, "/tile/0/001")
            .await
            .expect(StatusCode::OK, TILE_TYPE, TILE_CACHE);
        // An older partial tile that was not kept is 404; one the
        // checkpoint needs that is gone is a damaged log: 500.
        fs::remove_file(public.join("tile/0/001.p/44")).unwrap();
        get(&public, "/tile/0/001.p/44").await.expect(
            StatusCode::NOT_FOUND,
            CHECKPOINT_TYPE,
            NO_STORE,
        );
        fs::remove_file(public.join("tile/0/002.p/88")).unwrap();
        get(&public, "/tile/0/002.p/88").await.expect(
            StatusCode::INTERNAL_SERVER_ERROR,
            CHECKPOINT_TYPE,
            NO_STORE,
        );
    }

    #[tokio::test]
    async fn only_canonical_paths_are_served() {
        let (tmp, _w) = log(&[1_300]);
        let public = tmp.path().join("log/public");
        // The same tiles, canonically, are there.
        for path in ["/tile/0/000", "/tile/0/005.p/20", "/tile/entries/004"] {
            get(&public, path)
                .await
                .expect(StatusCode::OK, TILE_TYPE, TILE_CACHE);
        }
        for path in [
            "/tile/0/0",                                      // not 3 digits
            "/tile/0/00",                                     //
            "/tile/0/0000",                                   //
            "/tile/00/000",                                   // leading zero in the level
            "/tile/+0/000",                                   //
            "/tile/64/000",                                   // level over 63
            "/tile/0/x000/000",                               // a leading group of zeroes
            "/tile/0/000/000",                                // a group without x
            "/tile/0/x000",                                   // x on the last group
            "/tile/0/x0/000",                                 //
            "/tile/0/005.p/0",                                // width 0
            "/tile/0/005.p/020",                              // leading zero in the width
            "/tile/0/005.p/256",  // width 256: a full tile has no suffix
            "/tile/0/004.p/256",  //
            "/tile/0/005.p/-1",   //
            "/tile/0/005.p/",     //
            "/tile/0/005.p",      //
            "/tile/0/005.p/20/",  //
            "/tile/0/000/",       // trailing slash
            "/tile/0//000",       //
            "/tile//0/000",       //
            "/tile/0/%30%30%30",  // percent-encoded digits
            "/tile/0/000%2Ep/20", //
            "/tile/entries/4",    //
            "/tile/entries/0004", //
            "/tile/Entries/004",  //
            "/tile/data/004",     //
            "/tile/8/0/000",      // Go's sumdb layout
            "/tile/",             //
            "/tile",              //
            "/tile/0/aaa",        //
            "/tile/0/x001/x000/x000/x000/x000/x000/x000/000", // over 64 bytes
        ] {
            get(&public, path)
                .await
                .expect(StatusCode::NOT_FOUND, CHECKPOINT_TYPE, NEVER);
        }
        // A query string is not part of the path.
        get(&public, "/tile/0/000?x=1")
            .await
            .expect(StatusCode::OK, TILE_TYPE, TILE_CACHE);
    }

    #[tokio::test]
    async fn a_torn_tile_is_never_served() {
        let (tmp, _w) = log(&[600]);
        let public = tmp.path().join("log/public");
        type Tear = fn(&mut Vec<u8>);
        let cases: [(&str, Tear); 6] = [
            ("tile/0/001", |b| b.truncate(8191)),
            ("tile/0/001", |b| b.push(0)),
            ("tile/0/002.p/88", |b| b.truncate(87 * 32)),
            ("tile/0/002.p/88", |b| b.clear()),
            ("tile/entries/000", |b| b.truncate(b.len() - 1)),
            ("tile/entries/002.p/88", |b| b.extend_from_slice(&[0, 32])),
        ];
        for (path, tear) in cases {
            let file = public.join(path);
            let good = fs::read(&file).unwrap();
            let mut bad = good.clone();
            tear(&mut bad);
            fs::write(&file, &bad).unwrap();
            let got = get(&public, &format!("/{path}")).await;
            got.expect(StatusCode::INTERNAL_SERVER_ERROR, CHECKPOINT_TYPE, NO_STORE);
            assert_eq!(got.body, b"internal error\n", "{path}");
            fs::write(&file, &good).unwrap();
            get(&public, &format!("/{path}"))
                .await
                .expect(StatusCode::OK, TILE_TYPE, TILE_CACHE);
        }
    }

    #[test]
    fn the_folder_served_is_the_logs_public_one() {
        let (tmp, _w) = log(&[1]);
        let dir = tmp.path().join("log");
        assert_eq!(public_folder(&dir), Some(dir.join("public")));
        assert_eq!(public_folder(&dir.join("public")), Some(dir.join("public")));
        assert_eq!(public_folder(tmp.path()), None);
    }

    #[tokio::test]
    async fn serve_binds_loopback_and_stops_gracefully() {
        let (tmp, _w) = log(&[2]);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let options = TilesOptions {
            dir: tmp.path().join("log"),
            listen: "127.0.0.1:0".parse().unwrap(),
        };
        let task = tokio::spawn(serve(options, move |a| addr_tx.send(a).unwrap(), async {
            let _ = rx.await;
        }));
        let addr = tokio::task::spawn_blocking(move || addr_rx.recv().unwrap())
            .await
            .unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let _ = tx.send(());
        task.await.unwrap().unwrap();
        // A folder with no log is refused before binding.
        let none = TilesOptions {
            dir: tmp.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
        };
        assert!(matches!(
            serve(none, |_| {}, async {}).await,
            Err(ServeError::NoLog { .. })
        ));
    }
}
