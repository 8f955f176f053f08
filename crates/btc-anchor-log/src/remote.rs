//! A published log read over HTTP from a server of C2SP tlog-tiles, such
//! as `btc-anchor log serve` (`docs/audit-log.md` §12.1, §14): the
//! [`LogSource`] of an audit by URL.
//!
//! `https://` is accepted anywhere; plain `http://` only to this machine
//! (a loopback address or `localhost`), as everywhere in btc-anchor. Every
//! answer is read with the limit of what it must hold, every request has a
//! timeout, and one audit makes at most [`HttpOptions::max_requests`]
//! requests. Redirects are not followed.

use std::io::Read as _;
use std::time::Duration;

use crate::audit::{AuditError, History, LogSource};

/// How an [`HttpLog`] talks to its server.
#[derive(Clone, Copy, Debug)]
pub struct HttpOptions {
    /// Time for one whole request and its answer.
    pub timeout: Duration,
    /// Most requests one [`HttpLog`] makes (a log of 2^32 entries needs
    /// about 33.7 million: one bundle and a little over one tile per 256
    /// entries).
    pub max_requests: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(30),
            max_requests: 1_000_000,
        }
    }
}

/// Errors of reading a log over HTTP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// Not an `http://` or `https://` URL of a server.
    #[error("log URL {url}: {reason}")]
    BadUrl {
        /// The URL given, control characters escaped.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Plain HTTP to a server that is not on this machine.
    #[error("plain http to {url}, which is not on this machine: use https:// (a reverse proxy in front of log serve)")]
    Insecure {
        /// The URL given, control characters escaped.
        url: String,
    },
    /// The server could not be reached, or the exchange broke off or took
    /// longer than the timeout.
    #[error("cannot reach the server")]
    Transport(#[source] Box<ureq::Error>),
    /// The answer's body could not be read.
    #[error("cannot read the answer")]
    Body(#[source] std::io::Error),
    /// An answer other than 200 (a file) or 404 (no such file).
    #[error("the server answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// More requests than [`HttpOptions::max_requests`].
    #[error("more than {max} requests")]
    TooManyRequests {
        /// The limit.
        max: u64,
    },
}

/// A published log served over HTTP as tlog-tiles lays it out.
pub struct HttpLog {
    base: String,
    agent: ureq::Agent,
    requests: u64,
    max_requests: u64,
}

impl std::fmt::Debug for HttpLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLog")
            .field("base", &self.base)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl HttpLog {
    /// A reader of the log served at `url` (the prefix before
    /// `/checkpoint`, as `log serve` prints it).
    ///
    /// # Errors
    ///
    /// [`RemoteError::BadUrl`] or [`RemoteError::Insecure`].
    pub fn new(url: &str, options: HttpOptions) -> Result<HttpLog, RemoteError> {
        let base = checked_base(url)?;
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(concat!("btc-anchor/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(HttpLog {
            base,
            agent,
            requests: 0,
            max_requests: options.max_requests,
        })
    }

    /// The URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// `GET <url>/<path>`: the body of a 200 (at most `limit` bytes and
    /// one more), `None` for a 404.
    ///
    /// # Errors
    ///
    /// A [`RemoteError`] for any other answer, or none.
    pub fn get(&mut self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, RemoteError> {
        if self.requests >= self.max_requests {
            return Err(RemoteError::TooManyRequests {
                max: self.max_requests,
            });
        }
        self.requests += 1;
        let mut res = self
            .agent
            .get(format!("{}/{path}", self.base))
            .call()
            .map_err(|e| RemoteError::Transport(Box::new(e)))?;
        match res.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            status => return Err(RemoteError::Status { status }),
        }
        let mut body = Vec::with_capacity((limit + 1).min(64 * 1024));
        res.body_mut()
            .as_reader()
            .take(limit as u64 + 1)
            .read_to_end(&mut body)
            .map_err(RemoteError::Body)?;
        Ok(Some(body))
    }
}

impl LogSource for HttpLog {
    fn location(&self) -> String {
        self.base.clone()
    }

    fn read(&mut self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(path, limit).map_err(|e| AuditError::Fetch {
            location: self.base.clone(),
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    fn history(&mut self) -> Result<Option<History>, AuditError> {
        // tlog-tiles serves the latest checkpoint only.
        Ok(None)
    }
}

/// Whether `s` is an `http://` or `https://` URL (what the command line
/// tells a server from a folder by).
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// The URL without a trailing slash, once it is checked.
fn checked_base(url: &str) -> Result<String, RemoteError> {
    let bad = |reason| RemoteError::BadUrl {
        url: btc_anchor::text::escape_controls(url).into_owned(),
        reason,
    };
    let (secure, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("give http:// or https:// and the server's address"));
    };
    if url.len() > 1000 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("too long, or holds spaces or control characters"));
    }
    if rest.contains(['?', '#', '@', '%']) {
        return Err(bad(
            "a log URL has no query, fragment, user name or percent-encoding",
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !secure && !loopback {
        return Err(RemoteError::Insecure {
            url: btc_anchor::text::escape_controls(url).into_owned(),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let ok = |u: &str| checked_base(u).unwrap();
        assert_eq!(ok("http://127.0.0.1:8601/"), "http://127.0.0.1:8601");
        assert_eq!(ok("http://localhost:8601/log"), "http://localhost:8601/log");
        assert_eq!(ok("http://[::1]:8601"), "http://[::1]:8601");
        assert_eq!(ok("https://log.example/audit"), "https://log.example/audit");
        for insecure in [
            "http://log.example",
            "http://10.0.0.1:8601",
            "http://[::2]/",
        ] {
            assert!(
                matches!(checked_base(insecure), Err(RemoteError::Insecure { .. })),
                "{insecure}"
            );
        }
        for bad in [
            "ftp://127.0.0.1",
            "127.0.0.1:8601",
            "http://",
            "http://127.0.0.1/?a",
            "http://u@127.0.0.1",
            "http://127.0.0.1/%2e",
            "http://127.0.0.1/ a",
        ] {
            assert!(
                matches!(checked_base(bad), Err(RemoteError::BadUrl { .. })),
                "{bad}"
            );
        }
        assert!(is_url("https://x") && is_url("http://x") && !is_url("public"));
    }
}
