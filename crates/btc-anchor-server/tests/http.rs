//! The HTTP API over real loopback sockets, requests written by hand so
//! that every byte (Content-Length, chunked bodies) is the test's: the
//! texts and statuses of `docs/server-api.md` §5.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use btc_anchor::bitcoin::Network;
use btc_anchor::ots::{Attestation, Timestamp};
use btc_anchor_server::health::Health;
use btc_anchor_server::http::{router_with, AppState, RouterOptions};
use btc_anchor_server::keys::{add_key, KeyFile};
use btc_anchor_server::limits::RateLimiter;
use btc_anchor_server::sqlite::SqliteStorage;

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn request(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let body = out[split + 4..].to_vec();
    let status = head[9..12].parse().unwrap();
    Reply { status, head, body }
}

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Reply {
    post_as(addr, path, body, "")
}

/// A POST with extra header lines (each ending in CRLF).
fn post_as(addr: SocketAddr, path: &str, body: &[u8], headers: &str) -> Reply {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    request(addr, &raw)
}

fn get(addr: SocketAddr, path: &str, accept: &str) -> Reply {
    request(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: {accept}\r\n\r\n")
            .as_bytes(),
    )
}

const URI: &str = "http://127.0.0.1:1";

fn start(
    dir: &std::path::Path,
    running: bool,
) -> (SocketAddr, Arc<Health>, tokio::runtime::Runtime) {
    start_with(dir, running, RouterOptions::new(Duration::from_secs(5)))
}

fn start_with(
    dir: &std::path::Path,
    running: bool,
    options: RouterOptions,
) -> (SocketAddr, Arc<Health>, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir, Network::Regtest, 100).unwrap());
    let health = Arc::new(Health::new(3600));
    health.update(|s| s.running = running);
    let state = Arc::new(AppState {
        storage,
        health: health.clone(),
        public_url: URI.into(),
        network: Network::Regtest,
        min_depth: 1,
        max_digests: 100,
    });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        axum::serve(
            listener,
            router_with(state, options).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    (addr, health, rt)
}

#[test]
fn the_calendar_api_as_the_stock_calendar_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, health, _rt) = start(dir.path(), true);

    // A 32-byte digest: a pending timestamp ending at the commitment.
    let digest = [0x5a; 32];
    let r = post(addr, "/digest", &digest);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.head.contains("content-type: application/octet-stream"),
        "{}",
        r.head
    );
    let ts = Timestamp::from_bytes(&r.body, 32).unwrap();
    let found = ts.attestations_from(&digest);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].attestation,
        Attestation::Pending { uri: URI.into() }
    );
    let commitment = hex::encode(&found[0].message);

    let r = get(
        addr,
        &format!("/timestamp/{commitment}"),
        "application/vnd.opentimestamps.v1",
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"Pending confirmation in Bitcoin blockchain");
    assert!(
        r.head.contains("cache-control: public, max-age=60"),
        "{}",
        r.head
    );
    // Upper-case hex is the same commitment.
    let r = get(
        addr,
        &format!("/timestamp/{}", commitment.to_uppercase()),
        "*/*",
    );
    assert_eq!(r.body, b"Pending confirmation in Bitcoin blockchain");

    // Other lengths are hashed first, up to 64 bytes.
    for len in [0usize, 20, 64] {
        let r = post(addr, "/digest", &vec![1; len]);
        assert_eq!(r.status, 200, "{len}");
        let ts = Timestamp::from_bytes(&r.body, len).unwrap();
        assert_eq!(ts.attestations_from(&vec![1; len]).len(), 1);
    }
    let r = post(addr, "/digest", &[1; 65]);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (400, &b"digest too long"[..])
    );
    let r = request(
        addr,
        b"POST /digest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n0123456789abcdef0123456789abcdef\r\n0\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.body.as_slice()),
        (400, &b"invalid Content-Length"[..])
    );

    let r = get(addr, "/timestamp/abc", "*/*");
    assert_eq!(r.status, 400);
    assert_eq!(r.body, b"commitment must be hex-encoded bytes");
    assert!(
        r.head.contains("cache-control: public, max-age=31536000"),
        "{}",
        r.head
    );
    let r = get(addr, "/timestamp/zz", "*/*");
    assert_eq!(r.status, 400);
    let r = get(addr, &format!("/timestamp/{}", "00".repeat(32)), "*/*");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"Not found"[..]));
    let r = get(addr, "/timestamp/00", "*/*");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"Not found"[..]));
    let r = get(addr, "/nowhere", "*/*");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"Not found"[..]));

    // The status page, in JSON when asked.
    let r = get(addr, "/", "application/json");
    assert_eq!(r.status, 200);
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["accepting"], true);
    assert_eq!(j["pending_commitments"], 4);
    let r = get(addr, "/", "text/html");
    assert!(String::from_utf8_lossy(&r.body).contains("<html>"));

    // The native API.
    let body = serde_json::json!({"digests": [hex::encode([1u8; 32]), hex::encode([2u8; 32])]});
    let r = post(addr, "/api/v1/digests", body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let receipts = j["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[1]["digest"], hex::encode([2u8; 32]));
    let id = receipts[0]["id"].as_str().unwrap();
    let r = get(addr, &format!("/api/v1/proofs/{id}"), "*/*");
    assert_eq!(r.status, 202);
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["state"], "queued");
    let r = get(addr, &format!("/api/v1/proofs/{}", "11".repeat(32)), "*/*");
    assert_eq!(r.status, 404);
    let r = get(addr, "/api/v1/proofs/xyz", "*/*");
    assert_eq!(r.status, 400);
    let r = post(addr, "/api/v1/digests", br#"{"digests": ["ab"]}"#);
    assert_eq!(r.status, 400);
    let r = post(addr, "/api/v1/digests", br#"{"digests": []}"#);
    assert_eq!(r.status, 400);

    // When the anchorer cannot work, nothing is accepted.
    health.update(|s| s.cannot_pay = true);
    let r = post(addr, "/digest", &digest);
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        b"calendar unavailable: the wallet cannot pay the next anchor"
    );
    let r = post(addr, "/api/v1/digests", body.to_string().as_bytes());
    assert_eq!(r.status, 503);
    // Lookups go on.
    let r = get(addr, &format!("/timestamp/{commitment}"), "*/*");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"Pending confirmation in Bitcoin blockchain");
}

#[test]
fn an_anchorer_that_is_not_running_refuses_submissions() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _health, _rt) = start(dir.path(), false);
    let r = post(addr, "/digest", &[0; 32]);
    assert_eq!(r.status, 503);
    assert!(r.head.contains("retry-after: 60"), "{}", r.head);
    assert_eq!(r.body, b"calendar unavailable: the anchorer is not running");
    let r = get(addr, "/", "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["accepting"], false);
    assert_eq!(j["reason"], "the anchorer is not running");
}

#[test]
fn group_commit_serves_many_concurrent_submitters() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _health, _rt) = start(dir.path(), true);
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..50u8 {
                    let r = post(
                        addr,
                        "/digest",
                        &[
                            t, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 0,
                        ],
                    );
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let took = started.elapsed();
    let r = get(addr, "/", "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["pending_commitments"], 400);
    eprintln!("400 submissions from 8 clients in {took:?}");
}

/// One sample of the text exposition format 0.0.4.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses the exposition, failing on any line that is not a HELP, a TYPE
/// or a sample (labels quoted and escaped as the format says).
fn parse_exposition(text: &str) -> (Vec<Sample>, std::collections::HashMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = std::collections::HashMap::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect(line);
            assert!(valid_name(name) && !help.is_empty(), "{line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert!(valid_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "one TYPE per metric: {line}"
            );
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (name_labels, value) = line.rsplit_once(' ').expect(line);
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match name_labels.split_once('{') {
            None => (name_labels.to_owned(), Vec::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect(line);
                let mut labels = Vec::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(valid_name(&key), "{line}");
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut v = String::new();
                    loop {
                        match chars.next().expect(line) {
                            '\\' => match chars.next().expect(line) {
                                'n' => v.push('\n'),
                                c @ ('\\' | '"') => v.push(c),
                                _ => panic!("bad escape: {line}"),
                            },
                            '"' => break,
                            c => v.push(c),
                        }
                    }
                    labels.push((key, v));
                    match chars.next() {
                        None => {}
                        Some(',') => {}
                        Some(_) => panic!("bad labels: {line}"),
                    }
                }
                (name.to_owned(), labels)
            }
        };
        assert!(valid_name(&name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            .unwrap_or(&name);
        assert!(types.contains_key(family), "TYPE before the sample: {line}");
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    (samples, types)
}

fn label<'s>(s: &'s Sample, key: &str) -> Option<&'s str> {
    s.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn metrics_parse_after_real_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, health, _rt) = start(dir.path(), true);
    for i in 0..3u8 {
        assert_eq!(post(addr, "/digest", &[i; 32]).status, 200);
    }
    assert_eq!(post(addr, "/digest", &[1; 65]).status, 400);
    assert_eq!(get(addr, "/nowhere/0123", "*/*").status, 404);
    assert_eq!(
        get(addr, &format!("/timestamp/{}", "00".repeat(32)), "*/*").status,
        404
    );
    health.update(|s| {
        s.balance_sat = Some(123_456);
        s.fee_spent_today_sat = 789;
        s.fee_caps.per_day = true;
        s.last_anchor_at = Some(1_700_000_000);
    });

    let r = get(addr, "/metrics", "*/*");
    assert_eq!(r.status, 200);
    assert!(
        r.head
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{}",
        r.head
    );
    let text = String::from_utf8(r.body).unwrap();
    let (samples, types) = parse_exposition(&text);
    let one = |name: &str| {
        let found: Vec<_> = samples.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "{name}");
        found[0].value
    };
    assert_eq!(one("btc_anchor_pending_commitments"), 3.0);
    assert_eq!(one("btc_anchor_wallet_balance_sat"), 123_456.0);
    assert_eq!(one("btc_anchor_fee_spent_today_sat"), 789.0);
    assert_eq!(one("btc_anchor_anchorer_running"), 1.0);
    assert_eq!(one("btc_anchor_last_anchor_timestamp_seconds"), 1.7e9);
    assert!(one("btc_anchor_oldest_pending_age_seconds") >= 0.0);
    let cap = |which: &str| {
        samples
            .iter()
            .find(|s| s.name == "btc_anchor_fee_cap_reached" && label(s, "cap") == Some(which))
            .unwrap()
            .value
    };
    assert_eq!((cap("tx"), cap("day")), (0.0, 1.0));
    assert_eq!(types["btc_anchor_http_requests_total"], "counter");
    assert_eq!(
        types["btc_anchor_http_request_duration_seconds"],
        "histogram"
    );

    let count = |route: &str, status: &str| {
        samples
            .iter()
            .find(|s| {
                s.name == "btc_anchor_http_requests_total"
                    && label(s, "route") == Some(route)
                    && label(s, "status") == Some(status)
            })
            .map_or(0.0, |s| s.value)
    };
    assert_eq!(count("/digest", "200"), 3.0);
    assert_eq!(count("/digest", "400"), 1.0);
    assert_eq!(count("/timestamp/{hex}", "404"), 1.0);
    // An unknown path is counted without its text.
    assert_eq!(count("other", "404"), 1.0);
    assert!(!text.contains("nowhere"));

    // Every route's histogram: buckets cumulative in increasing `le`,
    // ending at +Inf, which equals `_count`, which equals the requests
    // counted for the route.
    let routes: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter(|s| s.name == "btc_anchor_http_request_duration_seconds_bucket")
        .map(|s| label(s, "route").unwrap())
        .collect();
    assert!(routes.contains("/digest") && routes.contains("other"));
    for route in routes {
        let buckets: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| {
                s.name == "btc_anchor_http_request_duration_seconds_bucket"
                    && label(s, "route") == Some(route)
            })
            .map(|s| {
                let le = label(s, "le").unwrap();
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                (le, s.value)
            })
            .collect();
        assert_eq!(buckets.first().unwrap().0, 0.001, "{route}");
        assert_eq!(buckets[buckets.len() - 2].0, 10.0, "{route}");
        assert_eq!(buckets.last().unwrap().0, f64::INFINITY, "{route}");
        for w in buckets.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 <= w[1].1, "{route}: {w:?}");
        }
        let of = |name: &str| {
            samples
                .iter()
                .find(|s| s.name == name && label(s, "route") == Some(route))
                .unwrap()
                .value
        };
        let total = of("btc_anchor_http_request_duration_seconds_count");
        assert_eq!(total, buckets.last().unwrap().1, "{route}");
        assert!(of("btc_anchor_http_request_duration_seconds_sum") >= 0.0);
        let counted: f64 = samples
            .iter()
            .filter(|s| {
                s.name == "btc_anchor_http_requests_total" && label(s, "route") == Some(route)
            })
            .map(|s| s.value)
            .sum();
        assert_eq!(counted, total, "{route}");
    }

    // The status page shows the cap too.
    let r = get(addr, "/", "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["fee_cap_reached"], true);
    assert_eq!(j["fee_spent_today_sat"], 789);
    let r = get(addr, "/", "text/html");
    assert!(
        String::from_utf8_lossy(&r.body).contains("<tr><th>fee_cap_reached</th><td>true</td></tr>")
    );
}

fn bearer(key: &str) -> String {
    format!("Authorization: Bearer {key}\r\n")
}

fn error_kind(r: &Reply) -> String {
    let j: serde_json::Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&r.body)));
    j["error"].as_str().unwrap().to_owned()
}

#[test]
fn api_keys_are_required_for_the_native_api_once_configured() {
    let dir = tempfile::tempdir().unwrap();
    let key = add_key(dir.path(), "clinic-a").unwrap().key;
    let mut options = RouterOptions::new(Duration::from_secs(5));
    options.keys = Some(Arc::new(KeyFile::open(dir.path()).unwrap()));
    let (addr, _health, _rt) = start_with(dir.path(), true, options);
    let body = serde_json::json!({"digests": [hex::encode([7u8; 32])]}).to_string();

    let r = post(addr, "/api/v1/digests", body.as_bytes());
    assert_eq!(r.status, 401, "{}", r.head);
    assert_eq!(error_kind(&r), "unauthorized");
    assert!(r.head.contains("www-authenticate: Bearer"), "{}", r.head);
    assert!(
        r.head.contains("content-type: application/json"),
        "{}",
        r.head
    );
    for wrong in [
        bearer(&"00".repeat(32)),
        bearer(&key[..63]),
        bearer(""),
        format!("Authorization: Basic {key}\r\n"),
    ] {
        let r = post_as(addr, "/api/v1/digests", body.as_bytes(), &wrong);
        assert_eq!(r.status, 401, "{wrong}");
        assert_eq!(error_kind(&r), "unauthorized");
    }
    let r = post_as(addr, "/api/v1/digests", body.as_bytes(), &bearer(&key));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let id = j["receipts"][0]["id"].as_str().unwrap().to_owned();
    // The scheme's case does not matter.
    let r = post_as(
        addr,
        "/api/v1/digests",
        body.as_bytes(),
        &format!("authorization: bearer {key}\r\n"),
    );
    assert_eq!(r.status, 200);

    // Lookups of the native API need the key too.
    let path = format!("/api/v1/proofs/{id}");
    assert_eq!(get(addr, &path, "*/*").status, 401);
    let r = request(
        addr,
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
            bearer(&key)
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 202);

    // The stock client's endpoints stay open by default, but a wrong key
    // sent to them is refused.
    assert_eq!(post(addr, "/digest", &[1; 32]).status, 200);
    assert_eq!(
        post_as(addr, "/digest", &[1; 32], &bearer(&key)).status,
        200
    );
    assert_eq!(
        post_as(addr, "/digest", &[1; 32], &bearer(&"11".repeat(32))).status,
        401
    );
    assert_eq!(get(addr, "/", "application/json").status, 200);

    // A key added while the server runs is taken within a second or two.
    let late = add_key(dir.path(), "clinic-b").unwrap().key;
    let started = std::time::Instant::now();
    loop {
        let r = post_as(addr, "/api/v1/digests", body.as_bytes(), &bearer(&late));
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 401);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "key not read again"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A body declared over 1 MiB is refused before it is read.
    let r = request(
        addr,
        format!(
            "POST /api/v1/digests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}Content-Length: {}\r\n\r\n",
            bearer(&key),
            2 << 20
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 413);
    assert_eq!(error_kind(&r), "too-large");
}

#[test]
fn digest_can_require_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = add_key(dir.path(), "clinic-a").unwrap().key;
    let mut options = RouterOptions::new(Duration::from_secs(5));
    options.keys = Some(Arc::new(KeyFile::open(dir.path()).unwrap()));
    options.require_key_for_digest = true;
    let (addr, _health, _rt) = start_with(dir.path(), true, options);
    let r = post(addr, "/digest", &[1; 32]);
    assert_eq!(r.status, 401);
    assert_eq!(error_kind(&r), "unauthorized");
    assert_eq!(
        post_as(addr, "/digest", &[1; 32], &bearer(&key)).status,
        200
    );
    // Lookups by the stock client stay open.
    let r = get(addr, &format!("/timestamp/{}", "00".repeat(32)), "*/*");
    assert_eq!(r.status, 404);
}

/// Sends `send` until it answers 429, and checks that no more passed than
/// the burst plus what the rate refilled meanwhile.
fn until_limited(burst: u32, rate: u32, mut send: impl FnMut() -> Reply) -> Reply {
    let started = std::time::Instant::now();
    for passed in 0..200u32 {
        let r = send();
        if r.status == 429 {
            let refilled = (started.elapsed().as_secs_f64() * f64::from(rate)).ceil() as u32;
            assert!(passed >= burst, "limited after {passed}");
            assert!(passed <= burst + refilled, "{passed} passed");
            return r;
        }
        assert!(r.status < 300, "{}", r.head);
    }
    panic!("never limited");
}

#[test]
fn rate_limits_per_key_and_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let a = add_key(dir.path(), "clinic-a").unwrap().key;
    let b = add_key(dir.path(), "clinic-b").unwrap().key;
    let mut options = RouterOptions::new(Duration::from_secs(5));
    options.keys = Some(Arc::new(KeyFile::open(dir.path()).unwrap()));
    options.rate_limit = Some(Arc::new(RateLimiter::new(1, 3)));
    let (addr, _health, _rt) = start_with(dir.path(), true, options);
    let body = serde_json::json!({"digests": [hex::encode([9u8; 32])]}).to_string();

    // Key A's bucket runs dry.
    let r = until_limited(3, 1, || {
        post_as(addr, "/api/v1/digests", body.as_bytes(), &bearer(&a))
    });
    assert_eq!(error_kind(&r), "rate-limited");
    assert!(r.head.contains("retry-after: 1"), "{}", r.head);
    // Key B has its own, and so has the address without a key.
    assert_eq!(
        post_as(addr, "/api/v1/digests", body.as_bytes(), &bearer(&b)).status,
        200
    );
    let r = until_limited(3, 1, || post(addr, "/digest", &[3; 32]));
    assert_eq!(error_kind(&r), "rate-limited");
    assert!(r.head.contains("retry-after: 1"), "{}", r.head);
    // Lookups without a key are not limited.
    for _ in 0..10 {
        assert_eq!(get(addr, "/timestamp/00", "*/*").status, 404);
    }
    // Wrong keys cost the address tokens too: its bucket is dry, so 429.
    let r = post_as(
        addr,
        "/api/v1/digests",
        body.as_bytes(),
        &bearer(&"22".repeat(32)),
    );
    assert!(r.status == 429 || r.status == 401, "{}", r.head);
    // A second later a token is back.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        post_as(addr, "/api/v1/digests", body.as_bytes(), &bearer(&a)).status,
        200
    );
}

/// The value of the unlabelled metric `name` on the server at `addr`.
fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let r = get(addr, "/metrics", "*/*");
    let text = String::from_utf8(r.body).unwrap();
    parse_exposition(&text)
        .0
        .into_iter()
        .find(|s| s.name == name && s.labels.is_empty())
        .map(|s| s.value)
}

fn status_json(addr: SocketAddr) -> serde_json::Value {
    serde_json::from_slice(&get(addr, "/", "application/json").body).unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `btc_anchor_server::serve` on its own thread and runtime.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(options: btc_anchor_server::ServeOptions) -> Running {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(btc_anchor_server::serve(
                options,
                move |a| addr_tx.send(a).unwrap(),
                async move {
                    let _ = stopped.await;
                },
            ))
            .unwrap();
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.thread.take().unwrap().join().unwrap();
    }
}

#[test]
fn fees_are_charged_durably_and_the_day_cap_stops_anchoring_on_regtest() {
    use btc_anchor_server::ServerConfig;
    use btc_anchor_testenv::regtest::{parse_address, TestEnv};
    use btc_anchor_workflow::config::Config;
    use btc_anchor_workflow::wallet::{AnchorWallet, KeySource};

    let stack = TestEnv::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    {
        let (mut wallet, _) =
            AnchorWallet::create(data.path(), Network::Regtest, KeySource::Generate).unwrap();
        let address = wallet.address().unwrap().to_string();
        stack
            .fund(
                &parse_address(&address).unwrap(),
                btc_anchor::bitcoin::Amount::ONE_BTC,
            )
            .unwrap();
        stack.mine_blocks(3, None).unwrap();
    }
    let mut config = Config::defaults(Network::Regtest);
    config.electrum_url = Some(stack.electrum_url());
    config.min_depth = 1;
    let server = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        anchor_interval_secs: 0,
        poll_interval_secs: 1,
        max_fee_per_day_sat: 1_000_000,
        ..ServerConfig::default()
    };
    let options = |server: ServerConfig| btc_anchor_server::ServeOptions {
        data_dir: data.path().to_owned(),
        config: config.clone(),
        server,
        on_anchor_step: |_| {},
    };

    // An anchor is charged to today, and shows in the metrics.
    let s = Running::start(options(server.clone()));
    wait_for("the anchorer's first round", || {
        status_json(s.addr)["accepting"] == true
    });
    assert_eq!(post(s.addr, "/digest", &[1; 32]).status, 200);
    wait_for("an anchor", || {
        metric(s.addr, "btc_anchor_fee_spent_today_sat").unwrap() > 0.0
    });
    let spent = metric(s.addr, "btc_anchor_fee_spent_today_sat").unwrap();
    let signed = metric(s.addr, "btc_anchor_last_anchor_timestamp_seconds").unwrap();
    assert!(spent < 100_000.0, "{spent}");
    assert_eq!(metric(s.addr, "btc_anchor_last_anchor_height"), None);
    stack.mine_blocks(1, None).unwrap();
    let tip = f64::from(stack.tip().unwrap());
    wait_for("the anchor's confirmation", || {
        metric(s.addr, "btc_anchor_last_anchor_height") == Some(tip)
    });
    assert_eq!(status_json(s.addr)["fee_cap_reached"], false);
    s.stop();

    // After a restart the day's spending is remembered, not counted again:
    // with the cap at what was spent, nothing more is anchored, and
    // submissions are still taken (they would wait less than a day).
    let s = Running::start(options(ServerConfig {
        max_fee_per_day_sat: spent as u64,
        ..server.clone()
    }));
    wait_for("the day cap", || {
        status_json(s.addr)["fee_cap_per_day_reached"] == true
    });
    let j = status_json(s.addr);
    assert_eq!(j["fee_spent_today_sat"].as_f64(), Some(spent));
    assert_eq!(j["accepting"], true);
    assert_eq!(post(s.addr, "/digest", &[2; 32]).status, 200);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(status_json(s.addr)["pending_commitments"], 1);
    assert_eq!(
        metric(s.addr, "btc_anchor_last_anchor_timestamp_seconds"),
        Some(signed)
    );
    let r = get(s.addr, "/metrics", "*/*");
    assert!(
        String::from_utf8_lossy(&r.body).contains("btc_anchor_fee_cap_reached{cap=\"day\"} 1\n")
    );
    s.stop();

    // A cap per transaction below what an anchor costs: the wallet's
    // transaction is refused, nothing is broadcast, the cap shows.
    let s = Running::start(options(ServerConfig {
        max_fee_per_tx_sat: Some(10),
        ..server
    }));
    wait_for("the cap per transaction", || {
        status_json(s.addr)["fee_cap_per_tx_reached"] == true
    });
    let j = status_json(s.addr);
    assert_eq!(j["fee_cap_per_day_reached"], false);
    assert_eq!(j["accepting"], true);
    assert_eq!(j["pending_commitments"], 1);
    assert_eq!(j["fee_spent_today_sat"].as_f64(), Some(spent));
    assert!(stack.mempool().unwrap().is_empty());
    let r = get(s.addr, "/metrics", "*/*");
    assert!(String::from_utf8_lossy(&r.body).contains("btc_anchor_fee_cap_reached{cap=\"tx\"} 1\n"));
    s.stop();
}
