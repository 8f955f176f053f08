//! The HTTP API (`docs/server-api.md` §5) over a [`Storage`] and a
//! [`Health`], with axum.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bitcoin::Network;
use btc_anchor::hash::RecordDigest;
use serde_json::json;

use crate::calendar::{complete_timestamp, pending_timestamp, Submission, MAX_DIGEST_LEN};
use crate::health::{Health, Refusal};
use crate::keys::KeyFile;
use crate::limits::{Client, RateLimiter};
use crate::metrics::{Gauges, Metrics, OTHER_ROUTE};
use crate::storage::{Lookup, Storage, StorageError};

/// Largest native request body.
pub const MAX_NATIVE_BODY: usize = 1 << 20;
/// One year, for answers that never change.
const FOREVER: &str = "public, max-age=31536000";
const MINUTE: &str = "public, max-age=60";

/// What the handlers share.
pub struct AppState {
    /// The storage backend.
    pub storage: Arc<dyn Storage>,
    /// The anchorer's health.
    pub health: Arc<Health>,
    /// The URI put in pending attestations.
    pub public_url: String,
    /// The network anchored on.
    pub network: Network,
    /// Confirmations a timestamp needs.
    pub min_depth: u32,
    /// Most digests in one native request.
    pub max_digests: usize,
}

/// What the router adds around the endpoints: keys, limits and metrics.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// Time to read a request and answer it (then 408).
    pub request_timeout: Duration,
    /// Where requests are counted and timed (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// The API keys; once one is configured, the native API needs one
    /// (§10).
    pub keys: Option<Arc<KeyFile>>,
    /// Whether `POST /digest` needs a key too, once one is configured.
    pub require_key_for_digest: bool,
    /// The rate limit of each key and of each address submitting without
    /// one; `None` for no limit.
    pub rate_limit: Option<Arc<RateLimiter>>,
}

impl RouterOptions {
    /// Options with the time limit `request_timeout`, fresh metrics, no
    /// keys and no rate limit.
    pub fn new(request_timeout: Duration) -> RouterOptions {
        RouterOptions {
            request_timeout,
            metrics: Arc::default(),
            keys: None,
            require_key_for_digest: false,
            rate_limit: None,
        }
    }
}

/// What the guard in front of the endpoints checks.
#[derive(Debug)]
struct Guard {
    keys: Option<Arc<KeyFile>>,
    require_key_for_digest: bool,
    rate_limit: Option<Arc<RateLimiter>>,
}

/// The router of every endpoint, with the request time limit and fresh
/// metrics ([`router_with`] with [`RouterOptions::new`]).
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    router_with(state, RouterOptions::new(request_timeout))
}

/// The router of every endpoint, with `options`.
pub fn router_with(state: Arc<AppState>, options: RouterOptions) -> Router {
    let metrics = options.metrics.clone();
    Router::new()
        .route("/", get(status))
        .route("/digest", post(post_digest))
        .route("/timestamp/{hex}", get(get_timestamp))
        .route("/api/v1/digests", post(post_digests))
        .route("/api/v1/proofs/{id}", get(get_proof))
        .route(
            "/metrics",
            get(move |state: State<Arc<AppState>>| get_metrics(state, metrics)),
        )
        .fallback(not_found)
        // Innermost first: no body past the native limit is read, the time
        // limit covers everything inside, the guard answers 401, 413 and
        // 429 before an endpoint runs, and the log and the metrics see
        // every answer, 408 included.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_NATIVE_BODY,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(Guard {
                keys: options.keys,
                require_key_for_digest: options.require_key_for_digest,
                rate_limit: options.rate_limit,
            }),
            guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            options.metrics,
            observe_request,
        ))
        .with_state(state)
}

/// Logs each request by method, route pattern and status (never a digest
/// or commitment), and counts and times it.
async fn observe_request(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(OTHER_ROUTE, |p| p.as_str())
        .to_owned();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let took = started.elapsed();
    let status = res.status().as_u16();
    metrics.observe(&route, status, took);
    tracing::debug!(%method, route, status, ?took, "request");
    res
}

/// The bearer token of `headers`: `None` without an `Authorization`
/// header, `Some(None)` for one that is not `Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<Option<&str>> {
    let v = headers.get(header::AUTHORIZATION)?;
    Some(v.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }))
}

fn unauthorized() -> Response {
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required: Authorization: Bearer <key>",
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

fn rate_limited(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().clamp(1.0, 86_400.0) as u64;
    let mut r = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "too many requests: retry after Retry-After seconds",
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// API keys, body size and rate limits (§10), before any endpoint runs.
async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(OTHER_ROUTE, |p| p.as_str());
    let submission = req.method() == axum::http::Method::POST
        && (route == "/digest" || route == "/api/v1/digests");
    let native = route.starts_with("/api/v1/");
    let addr = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| Client::Addr(c.0.ip()));
    let limit = |client: Option<Client>| match (&g.rate_limit, client) {
        (Some(l), Some(c)) => l.check(c).err(),
        _ => None,
    };
    let keys = g.keys.as_ref().map(|k| k.keys()).filter(|k| !k.is_empty());
    let mut client = None;
    if let Some(keys) = &keys {
        let name = match bearer(req.headers()) {
            Some(token) => match token.and_then(|t| keys.check(t)) {
                Some(name) => Some(name.to_owned()),
                None => {
                    // A wrong key costs its address a token.
                    return match limit(addr) {
                        Some(wait) => rate_limited(wait),
                        None => unauthorized(),
                    };
                }
            },
            None => None,
        };
        let needed = native || (route == "/digest" && g.require_key_for_digest);
        if needed && name.is_none() {
            return match limit(addr) {
                Some(wait) => rate_limited(wait),
                None => unauthorized(),
            };
        }
        client = name.map(Client::Key);
    }
    let too_long = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_NATIVE_BODY as u64);
    if too_long {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "the body is over 1 MiB",
        );
    }
    // Lookups without a key are not limited: the stock client polls them,
    // and they are cached.
    let client = client.or(if submission { addr } else { None });
    if let Some(wait) = limit(client) {
        return rate_limited(wait);
    }
    next.run(req).await
}

/// `GET /metrics` (§5.6).
async fn get_metrics(State(state): State<Arc<AppState>>, metrics: Arc<Metrics>) -> Response {
    let storage = state.storage.clone();
    let queue = tokio::task::spawn_blocking(move || storage.queue())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let t = now();
    let gauges = Gauges {
        seen: state.health.seen(),
        pending: queue.pending,
        oldest_pending_secs: queue.oldest_at.map(|o| t.saturating_sub(o)),
        accepting: state.health.refusal(t).is_none(),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics.render(&gauges),
    )
        .into_response()
}

fn text(status: StatusCode, body: &'static str, cache: Option<&'static str>) -> Response {
    let mut r = (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response();
    if let Some(c) = cache {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(c));
    }
    r
}

fn unavailable(reason: Refusal) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/plain"),
            (header::RETRY_AFTER, "60"),
        ],
        format!("calendar unavailable: {reason}"),
    )
        .into_response()
}

fn internal(e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %btc_anchor::text::with_sources(e), "request failed");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error", None)
}

fn now() -> i64 {
    btc_anchor_workflow::store::now()
}

/// Queues submissions once health allows, and waits for their commit.
async fn accept(
    state: &AppState,
    subs: Vec<Submission>,
) -> Result<Vec<crate::storage::Accepted>, Response> {
    if let Some(r) = state.health.refusal(now()) {
        return Err(unavailable(r));
    }
    let waiting = match state.storage.submit(subs) {
        Ok(w) => w,
        Err(StorageError::Overloaded) => return Err(unavailable(Refusal::Overloaded)),
        Err(StorageError::Stopped) => return Err(unavailable(Refusal::ShuttingDown)),
        Err(e) => return Err(internal(&e)),
    };
    match waiting.await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(internal(&e)),
        Err(_) => Err(unavailable(Refusal::ShuttingDown)),
    }
}

/// `POST /digest` (§5.1).
async fn post_digest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(len) = len else {
        return text(StatusCode::BAD_REQUEST, "invalid Content-Length", None);
    };
    if len > MAX_DIGEST_LEN as u64 {
        return text(StatusCode::BAD_REQUEST, "digest too long", None);
    }
    let Ok(raw) = axum::body::to_bytes(body, MAX_DIGEST_LEN).await else {
        return text(StatusCode::BAD_REQUEST, "invalid Content-Length", None);
    };
    let sub = Submission::from_raw(&raw);
    let accepted = match accept(&state, vec![sub]).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(a) = accepted.first() else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error", None);
    };
    let ts = pending_timestamp(&a.submission, &a.salt, &state.public_url);
    octets(ts.to_bytes(), None)
}

fn octets(bytes: Vec<u8>, cache: Option<&'static str>) -> Response {
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Bytes::from(bytes),
    )
        .into_response();
    if let Some(c) = cache {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(c));
    }
    r
}

async fn lookup(state: &AppState, commitment: Vec<u8>) -> Result<Lookup, Response> {
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || storage.lookup(&commitment)).await {
        Ok(Ok(l)) => Ok(l),
        Ok(Err(e)) => Err(internal(&e)),
        Err(_) => Err(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
            None,
        )),
    }
}

/// `GET /timestamp/<hex>` (§5.2).
async fn get_timestamp(
    State(state): State<Arc<AppState>>,
    Path(hex_text): Path<String>,
) -> Response {
    let Ok(commitment) = hex::decode(&hex_text) else {
        return text(
            StatusCode::BAD_REQUEST,
            "commitment must be hex-encoded bytes",
            Some(FOREVER),
        );
    };
    let found = match lookup(&state, commitment).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match found {
        Lookup::Complete(proof) => match complete_timestamp(&proof) {
            Ok(ts) => octets(ts.to_bytes(), Some(FOREVER)),
            Err(e) => internal(&e),
        },
        Lookup::Timestamped { txid, .. } => (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "text/plain"),
                (header::CACHE_CONTROL, MINUTE),
            ],
            format!(
                "Timestamped by transaction {txid}; waiting for {} confirmations",
                state.min_depth
            ),
        )
            .into_response(),
        Lookup::Pending { .. } => text(
            StatusCode::NOT_FOUND,
            "Pending confirmation in Bitcoin blockchain",
            Some(MINUTE),
        ),
        _ => text(StatusCode::NOT_FOUND, "Not found", Some(MINUTE)),
    }
}

/// `GET /` (§5.3).
async fn status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let storage = state.storage.clone();
    let queue = tokio::task::spawn_blocking(move || storage.queue())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let seen = state.health.seen();
    let t = now();
    let refusal = state.health.refusal(t);
    let body = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "network": state.network.to_string(),
        "accepting": refusal.is_none(),
        "reason": refusal.map(|r| r.to_string()),
        "pending_commitments": queue.pending,
        "oldest_pending_secs": queue.oldest_at.map(|o| t.saturating_sub(o).max(0)),
        "txs_waiting_for_confirmation": seen.txs_waiting,
        "last_anchor_txid": seen.last_txid.map(|t| t.to_string()),
        "last_anchor_at": seen.last_anchor_at,
        "last_anchor_height": seen.last_anchor_height,
        "fee_spent_today_sat": seen.fee_spent_today_sat,
        "fee_cap_reached": seen.fee_caps.any(),
        "fee_cap_per_tx_reached": seen.fee_caps.per_tx,
        "fee_cap_per_day_reached": seen.fee_caps.per_day,
        "balance_sat": seen.balance_sat,
        "tip_height": seen.tip_height,
        "min_depth": state.min_depth,
        "anchorer": match seen.leading {
            None => "this server",
            Some(true) => "this instance (shared database)",
            Some(false) => "another instance (shared database)",
        },
    });
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let (kind, text) = if wants_json {
        ("application/json", body.to_string())
    } else {
        let mut rows = String::new();
        if let Some(map) = body.as_object() {
            for (k, v) in map {
                let v = v.to_string();
                let v = v.trim_matches('"');
                rows.push_str(&format!(
                    "<tr><th>{k}</th><td>{}</td></tr>\n",
                    html_escape(v)
                ));
            }
        }
        (
            "text/html; charset=utf-8",
            format!(
                "<!DOCTYPE html>\n<html><head><title>btc-anchor calendar</title></head><body>\n\
                 <p>This is a btc-anchor calendar server, compatible with OpenTimestamps clients.</p>\n\
                 <table>\n{rows}</table>\n</body></html>\n"
            ),
        )
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=5"),
            (header::VARY, "Accept"),
        ],
        text,
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn json_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": kind, "message": message})),
    )
        .into_response()
}

/// `POST /api/v1/digests` (§5.4).
async fn post_digests(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let Ok(raw) = axum::body::to_bytes(body, MAX_NATIVE_BODY).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "the body is over 1 MiB",
        );
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Req {
        digests: Vec<String>,
    }
    let Ok(req) = serde_json::from_slice::<Req>(&raw) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "expected {\"digests\": [\"<64 hex>\", ...]}",
        );
    };
    if req.digests.is_empty() || req.digests.len() > state.max_digests {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "1 to max_digests_per_request digests",
        );
    }
    let mut subs = Vec::with_capacity(req.digests.len());
    for d in &req.digests {
        let mut b = [0u8; 32];
        if d.len() != 64 || hex::decode_to_slice(d, &mut b).is_err() {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "each digest is 64 hex characters",
            );
        }
        subs.push(Submission::native(RecordDigest(b)));
    }
    let accepted = match accept(&state, subs).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    // Typed, not a `serde_json::Value` a receipt: a reply of 10,000
    // receipts is serialised straight from these strings.
    #[derive(serde::Serialize)]
    struct Receipt {
        digest: String,
        id: String,
        salt: String,
    }
    #[derive(serde::Serialize)]
    struct Reply {
        network: String,
        receipts: Vec<Receipt>,
    }
    let receipts = accepted
        .iter()
        .map(|a| Receipt {
            digest: hex::encode(a.submission.digest.0),
            id: hex::encode(a.commitment),
            salt: hex::encode(a.salt.as_bytes()),
        })
        .collect();
    axum::Json(Reply {
        network: state.network.to_string(),
        receipts,
    })
    .into_response()
}

/// `GET /api/v1/proofs/<id>` (§5.5).
async fn get_proof(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let mut c = [0u8; 32];
    if id.len() != 64 || hex::decode_to_slice(&id, &mut c).is_err() {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "an id is 64 hex characters",
        );
    }
    let found = match lookup(&state, c.to_vec()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let pending = |s: &str, txid: Option<String>| {
        (
            StatusCode::ACCEPTED,
            axum::Json(json!({"state": s, "txid": txid})),
        )
            .into_response()
    };
    match found {
        Lookup::Complete(proof) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, FOREVER),
            ],
            proof.to_json(),
        )
            .into_response(),
        Lookup::Pending { batched: false } => pending("queued", None),
        Lookup::Pending { batched: true } => pending("batched", None),
        Lookup::Timestamped { txid, confirmed } => pending(
            if confirmed { "confirmed" } else { "broadcast" },
            Some(txid.to_string()),
        ),
        _ => json_error(StatusCode::NOT_FOUND, "not-found", "no such id"),
    }
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "Not found",
        Some("public, max-age=3600"),
    )
}
