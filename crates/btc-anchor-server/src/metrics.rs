//! `GET /metrics` (`docs/server-api.md` §5.7): the anchorer's gauges and
//! the requests served, in the Prometheus text exposition format 0.0.4,
//! written by hand.
//!
//! Requests are counted by route pattern (never a path with a digest or a
//! commitment in it: unknown paths count as `other`) and status, and timed
//! in a histogram of fixed buckets from 1 ms to 10 s.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::health::Seen;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency histogram's buckets, in seconds (`+Inf`
/// follows).
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The label of a request that matched no route.
pub const OTHER_ROUTE: &str = "other";

#[derive(Debug, Default, Clone)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Requests per bucket (not cumulative); the last is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum_secs: f64,
    count: u64,
}

/// The requests served, by route.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
}

/// The gauges read when `/metrics` is asked for.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// What the anchorer saw last.
    pub seen: Seen,
    /// Records waiting for a batch.
    pub pending: u64,
    /// Age of the oldest of them, in seconds.
    pub oldest_pending_secs: Option<i64>,
    /// Whether submissions are taken now.
    pub accepting: bool,
}

impl Metrics {
    /// Counts one request to `route` (a route pattern, or
    /// [`OTHER_ROUTE`]) answered with `status` after `took`.
    pub fn observe(&self, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let r = match routes.get_mut(route) {
            Some(r) => r,
            None => routes.entry(route.to_owned()).or_default(),
        };
        *r.by_status.entry(status).or_default() += 1;
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        r.buckets[i] += 1;
        r.sum_secs += secs;
        r.count += 1;
    }

    /// The exposition: `gauges`, then the request counters and the
    /// latency histogram.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let s = &gauges.seen;
        let bit = |b: bool| u64::from(b);
        gauge(
            &mut out,
            "btc_anchor_pending_commitments",
            "Records queued for the next batch.",
            Some(gauges.pending),
        );
        gauge(
            &mut out,
            "btc_anchor_oldest_pending_age_seconds",
            "Age of the oldest queued record (0 when none is queued).",
            Some(gauges.oldest_pending_secs.unwrap_or(0).max(0)),
        );
        gauge(
            &mut out,
            "btc_anchor_last_anchor_timestamp_seconds",
            "When the newest anchoring transaction was signed (unix time).",
            s.last_anchor_at,
        );
        gauge(
            &mut out,
            "btc_anchor_last_anchor_height",
            "Block height the newest anchoring transaction confirmed at.",
            s.last_anchor_height,
        );
        gauge(
            &mut out,
            "btc_anchor_wallet_balance_sat",
            "The wallet's confirmed and trusted balance at the last sync, in satoshis.",
            s.balance_sat,
        );
        gauge(
            &mut out,
            "btc_anchor_txs_waiting",
            "Batches broadcast and not yet final.",
            Some(s.txs_waiting),
        );
        gauge(
            &mut out,
            "btc_anchor_fee_spent_today_sat",
            "Fees paid for anchors and bumps this UTC day, in satoshis.",
            Some(s.fee_spent_today_sat),
        );
        let _ = writeln!(
            out,
            "# HELP btc_anchor_fee_cap_reached Whether a fee cap stops bumping (tx) or anchoring (day).\n\
             # TYPE btc_anchor_fee_cap_reached gauge\n\
             btc_anchor_fee_cap_reached{{cap=\"tx\"}} {}\n\
             btc_anchor_fee_cap_reached{{cap=\"day\"}} {}",
            bit(s.fee_caps.per_tx),
            bit(s.fee_caps.per_day)
        );
        gauge(
            &mut out,
            "btc_anchor_anchorer_running",
            "Whether the anchorer's last round reached the chain and the wallet.",
            Some(bit(s.running)),
        );
        gauge(
            &mut out,
            "btc_anchor_anchoring_instance",
            "With a shared database: whether this instance is the one anchoring (absent for a server alone).",
            s.leading.map(bit),
        );
        gauge(
            &mut out,
            "btc_anchor_accepting",
            "Whether submissions are taken now.",
            Some(bit(gauges.accepting)),
        );
        let routes = self.routes.lock().map(|r| r.clone()).unwrap_or_default();
        out.push_str(
            "# HELP btc_anchor_http_requests_total Requests answered, by route and status.\n\
             # TYPE btc_anchor_http_requests_total counter\n",
        );
        for (route, r) in &routes {
            let route = escape(route);
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "btc_anchor_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP btc_anchor_http_request_duration_seconds Time to answer a request, by route.\n\
             # TYPE btc_anchor_http_request_duration_seconds histogram\n",
        );
        for (route, r) in &routes {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, n) in r.buckets.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "btc_anchor_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "btc_anchor_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 btc_anchor_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                r.sum_secs, r.count
            );
        }
        out
    }
}

/// One gauge without labels; no sample when its value is unknown.
fn gauge(out: &mut String, name: &str, help: &str, value: Option<impl std::fmt::Display>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    if let Some(v) = value {
        let _ = writeln!(out, "{name} {v}");
    }
}

/// A label value as the format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_is_the_last() {
        let m = Metrics::default();
        for ms in [0u64, 1, 2, 40, 900, 20_000] {
            m.observe("/digest", 200, Duration::from_millis(ms));
        }
        m.observe("/digest", 503, Duration::from_millis(3));
        let text = m.render(&Gauges::default());
        assert!(text.contains(
            "btc_anchor_http_request_duration_seconds_bucket{route=\"/digest\",le=\"0.001\"} 2\n"
        ));
        assert!(text.contains(
            "btc_anchor_http_request_duration_seconds_bucket{route=\"/digest\",le=\"10\"} 6\n"
        ));
        assert!(text.contains(
            "btc_anchor_http_request_duration_seconds_bucket{route=\"/digest\",le=\"+Inf\"} 7\n"
        ));
        assert!(
            text.contains("btc_anchor_http_request_duration_seconds_count{route=\"/digest\"} 7\n")
        );
        assert!(
            text.contains("btc_anchor_http_requests_total{route=\"/digest\",status=\"503\"} 1\n")
        );
        // Unknown values have no sample, only their HELP and TYPE.
        assert!(!text.contains("\nbtc_anchor_last_anchor_height "));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
