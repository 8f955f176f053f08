//! Rate limits (`docs/server-api.md` §10): a token bucket for each API
//! key, and for each client address that submits without a key.
//!
//! A bucket holds at most `burst` tokens and gains `rate` a second; each
//! request takes one, and a request that finds none is refused with the
//! time until the next token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients followed at once; past it, the buckets of addresses are
/// forgotten first (those that are full, then all of them).
pub const MAX_CLIENTS: usize = 10_000;

/// Who a bucket is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// An API key, by name.
    Key(String),
    /// A client address without a key.
    Addr(IpAddr),
}

/// One token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(burst: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    fn refill(&mut self, rate: u32, burst: u32, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * f64::from(rate);
        self.tokens = (self.tokens + gained).min(f64::from(burst));
        self.at = self.at.max(now);
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub fn take(&mut self, rate: u32, burst: u32, now: Instant) -> Result<(), Duration> {
        self.refill(rate, burst, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if rate == 0 {
            return Err(Duration::MAX);
        }
        Err(Duration::from_secs_f64(
            (1.0 - self.tokens) / f64::from(rate),
        ))
    }

    fn is_full(&self, rate: u32, burst: u32, now: Instant) -> bool {
        let mut b = *self;
        b.refill(rate, burst, now);
        b.tokens >= f64::from(burst)
    }
}

/// The buckets of every client.
#[derive(Debug)]
pub struct RateLimiter {
    rate: u32,
    burst: u32,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

impl RateLimiter {
    /// `rate` requests a second on average, `burst` at once, for each
    /// client.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            buckets: Mutex::default(),
        }
    }

    /// Takes a token of `client`'s bucket now, or says how long until one
    /// is there.
    pub fn check(&self, client: Client) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    /// [`RateLimiter::check`] at `now`.
    pub fn check_at(&self, client: Client, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|c, b| matches!(c, Client::Key(_)) || !b.is_full(rate, burst, now));
            if buckets.len() >= MAX_CLIENTS {
                buckets.retain(|c, _| matches!(c, Client::Key(_)));
            }
        }
        buckets
            .entry(client)
            .or_insert_with(|| Bucket::full(self.burst, now))
            .take(self.rate, self.burst, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Instant::now();
        let l = RateLimiter::new(2, 3);
        let a = || Client::Addr(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..3 {
            assert_eq!(l.check_at(a(), t0), Ok(()));
        }
        let wait = l.check_at(a(), t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another client has its own bucket.
        assert_eq!(l.check_at(Client::Key("k".into()), t0), Ok(()));
        // Half a second later, one token.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.check_at(a(), t1), Ok(()));
        assert!(l.check_at(a(), t1).is_err());
        // Never more than the burst, however long it waited.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(l.check_at(a(), t2), Ok(()));
        }
        assert!(l.check_at(a(), t2).is_err());
    }

    #[test]
    fn memory_is_bounded_and_keys_are_kept() {
        let t0 = Instant::now();
        let l = RateLimiter::new(1, 1);
        assert_eq!(l.check_at(Client::Key("k".into()), t0), Ok(()));
        for i in 0..(MAX_CLIENTS as u32 + 10) {
            let _ = l.check_at(Client::Addr(IpAddr::from(i.to_be_bytes())), t0);
        }
        let buckets = l.buckets.lock().unwrap();
        assert!(buckets.len() <= MAX_CLIENTS);
        assert!(buckets.contains_key(&Client::Key("k".into())));
    }
}
