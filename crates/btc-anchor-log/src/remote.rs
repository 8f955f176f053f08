//! A published log read over HTTP from a server of C2SP tlog-tiles, such
//! as `btc-anchor log serve` (`docs/audit-log.md` §12.1, §14): the
//! [`LogSource`] of an audit by URL.
//!
//! `https://` is accepted anywhere; plain `http://` only to this machine
//! (a loopback address or `localhost`), as everywhere in btc-anchor. Every
//! answer is read with the limit of what it must hold, every request has a
//! timeout, and one audit makes at most [`HttpOptions::max_requests`]
//! requests. Redirects are not followed.
//!
//! [`add_checkpoint`] is the client side of C2SP tlog-witness (§16): it
//! asks a witness to cosign a checkpoint.

use std::io::Read as _;
use std::time::Duration;

use btc_anchor::merkle::NodeHash;

use crate::audit::{AuditError, History, LogSource};
use crate::cosignature::{CosignatureError, CosignatureVerifier};
use crate::note::{Note, NoteSignature};
use crate::store::StoreError;
use crate::witness::{parse_size_body, AddCheckpoint, MAX_RESPONSE_LEN};

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
    let shown = || btc_anchor::text::escape_controls(url).into_owned();
    btc_anchor::text::client_base_url(
        url,
        &['%'],
        "a log URL has no query, fragment, user name or percent-encoding",
    )
    .map_err(|r| match r {
        btc_anchor::text::UrlRefusal::Insecure => RemoteError::Insecure { url: shown() },
        btc_anchor::text::UrlRefusal::Bad(reason) => RemoteError::BadUrl {
            url: shown(),
            reason,
        },
        _ => RemoteError::BadUrl {
            url: shown(),
            reason: "refused",
        },
    })
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

/// What a witness gave for a checkpoint.
#[derive(Clone, Debug)]
pub struct Witnessed {
    /// The checkpoint's size.
    pub size: u64,
    /// The cosignature's timestamp (Unix seconds).
    pub timestamp: u64,
    /// The cosignature line, verified.
    pub cosignature: NoteSignature,
    /// The size the witness held before, when it was not the one first
    /// sent (the 409 exchange).
    pub conflict: Option<u64>,
}

/// Errors of asking a witness to cosign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The URL is refused, or the witness does not answer.
    #[error("cannot talk to the witness at {url}")]
    Remote {
        /// The witness's URL.
        url: String,
        /// Why.
        #[source]
        source: RemoteError,
    },
    /// The witness refused (400, 403, 404, 422 or another status).
    #[error("the witness refused the checkpoint ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its body, shortened, control characters escaped.
        message: String,
    },
    /// The witness holds a larger checkpoint of this log than the one
    /// sent: the log rolled back, or the witness saw another history.
    #[error("the witness holds a checkpoint of size {held}, larger than this one of {size}")]
    WitnessAhead {
        /// The witness's size.
        held: u64,
        /// The checkpoint's.
        size: u64,
    },
    /// A 409 after the size it asked for was sent.
    #[error("the witness answered 409 again, with size {size}")]
    ConflictAgain {
        /// Its size that time.
        size: u64,
    },
    /// An answer that is not what tlog-witness says.
    #[error("the witness's answer does not follow tlog-witness: {reason}")]
    BadAnswer {
        /// What is wrong.
        reason: &'static str,
    },
    /// The answer holds no valid cosignature by the witness's key.
    #[error("the witness's cosignature does not verify")]
    Cosignature(#[from] CosignatureError),
    /// The consistency proof could not be made from the tiles.
    #[error("cannot make the consistency proof from size {old}")]
    Proof {
        /// The witness's size.
        old: u64,
        /// Why.
        #[source]
        source: StoreError,
    },
}

/// Asks the witness at `url` (its submission prefix) to cosign `note`, a
/// checkpoint of the log whose tiles `proof_from` reads: `add-checkpoint`
/// with old size `old_hint` (0 when the witness's size is not known), and,
/// on a 409, once more from the size the witness holds, with the
/// consistency proof from it. The cosignature by `witness` in the answer
/// is verified; other lines are ignored.
///
/// # Errors
///
/// A [`WitnessError`].
pub fn add_checkpoint(
    url: &str,
    witness: &CosignatureVerifier,
    note: &Note,
    size: u64,
    old_hint: u64,
    mut proof_from: impl FnMut(u64) -> Result<Vec<NodeHash>, StoreError>,
    options: HttpOptions,
) -> Result<Witnessed, WitnessError> {
    let remote = |source| WitnessError::Remote {
        url: btc_anchor::text::escape_controls(url).into_owned(),
        source,
    };
    let client = HttpLog::new(url, options).map_err(remote)?;
    let text = note.to_text().into_bytes();
    let mut old = old_hint.min(size);
    let mut conflict = None;
    loop {
        let proof = if old == 0 || old == size {
            vec![]
        } else {
            proof_from(old).map_err(|source| WitnessError::Proof { old, source })?
        };
        let body = AddCheckpoint {
            old,
            proof,
            checkpoint: text.clone(),
        }
        .to_bytes();
        let (status, answer) = client.post("add-checkpoint", &body).map_err(remote)?;
        match status {
            200 => {
                let answer = std::str::from_utf8(&answer).map_err(|_| WitnessError::BadAnswer {
                    reason: "the answer is not utf-8",
                })?;
                let mut found = None;
                for line in answer.split_terminator('\n') {
                    let sig =
                        NoteSignature::parse_line(line).map_err(|_| WitnessError::BadAnswer {
                            reason: "a line of the answer is not a signature line",
                        })?;
                    if witness.is_mine(&sig) {
                        found = Some(sig);
                    }
                }
                if !answer.ends_with('\n') {
                    return Err(WitnessError::BadAnswer {
                        reason: "the answer does not end in a newline",
                    });
                }
                let sig = found.ok_or(CosignatureError::Missing {
                    name: witness.name().to_owned(),
                })?;
                let timestamp = witness.verify(note.text(), &sig)?;
                return Ok(Witnessed {
                    size,
                    timestamp,
                    cosignature: sig,
                    conflict,
                });
            }
            409 => {
                let held = parse_size_body(&answer).ok_or(WitnessError::BadAnswer {
                    reason: "a 409 whose body is not a size and a newline",
                })?;
                if conflict.is_some() {
                    return Err(WitnessError::ConflictAgain { size: held });
                }
                if held > size {
                    return Err(WitnessError::WitnessAhead { held, size });
                }
                conflict = Some(held);
                old = held;
            }
            status => {
                let message = String::from_utf8_lossy(&answer[..answer.len().min(200)]);
                return Err(WitnessError::Refused {
                    status,
                    message: btc_anchor::text::escape_controls(message.trim_end()).into_owned(),
                });
            }
        }
    }
}

impl HttpLog {
    /// `POST <url>/<path>` with `body` (`text/plain`): the status and the
    /// answer's body (at most [`MAX_RESPONSE_LEN`] bytes).
    ///
    /// # Errors
    ///
    /// A [`RemoteError`] when there is no answer.
    pub fn post(&self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), RemoteError> {
        let mut res = self
            .agent
            .post(format!("{}/{path}", self.base))
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| RemoteError::Transport(Box::new(e)))?;
        let status = res.status().as_u16();
        let mut out = Vec::new();
        res.body_mut()
            .as_reader()
            .take(MAX_RESPONSE_LEN as u64)
            .read_to_end(&mut out)
            .map_err(RemoteError::Body)?;
        Ok((status, out))
    }
}
