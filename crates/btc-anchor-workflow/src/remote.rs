//! Stamping through a calendar server instead of a wallet of one's own
//! (`docs/server-api.md` §5.4, §5.5, §11): the digests go to the server's
//! native API, and each document gets a queued proof beside it at once; an
//! upgrade later fetches the complete proofs and writes them in place.
//!
//! The proof file is the receipt. Its record (digest and the salt the
//! server drew) fixes the leaf, and the leaf is the id the server answers
//! to, so nothing else is kept on the clinic's side: no store, no wallet.
//! A complete proof from the server is accepted only when it proves the
//! very record of the file, on the expected network, and verifies; a
//! server cannot hand over a proof of anything else.
//!
//! [`Calendar`] is the seam; [`HttpCalendar`] its HTTP client.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bitcoin::{Network, Txid};
use btc_anchor::file::{self, ProofFile, WriteOptions};
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::merkle::{record_leaf, Salt};
use btc_anchor::proof::{Proof, ProofError, Record, Stage, MAX_PROOF_BYTES};
use btc_anchor::verify::{self, Verdict, VerifyError, VerifyOptions};

use crate::anchoring::{StampItem, StampOutcome, StampSummary};

/// Most digests in one request: the server's default
/// `max_digests_per_request`.
pub const MAX_DIGESTS_PER_REQUEST: usize = 10_000;

/// Longest reply read from the server: a receipts list of
/// [`MAX_DIGESTS_PER_REQUEST`] entries fits with room to spare.
const MAX_REPLY_BYTES: u64 = 4 << 20;

/// Longest server message kept in an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// What the server gave for one submitted digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The digest, as the server read it.
    pub digest: RecordDigest,
    /// The salt the server drew for it.
    pub salt: Salt,
}

/// Where a record stands at the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetched {
    /// Complete: the proof, not yet checked.
    Complete(Box<Proof>),
    /// Not final yet: its stage, and the transaction once broadcast.
    Waiting {
        /// How far along it is (confirmed: below the server's depth).
        stage: Stage,
        /// The anchoring transaction, once broadcast.
        txid: Option<Txid>,
    },
    /// The server does not know the record.
    Unknown,
}

/// A calendar server, as remote stamping needs it.
pub trait Calendar {
    /// Submits `digests` (at most [`MAX_DIGESTS_PER_REQUEST`]); the
    /// server's network and one receipt per digest, in order, once they
    /// are durable at the server.
    ///
    /// # Errors
    ///
    /// A [`CalendarError`].
    fn submit(
        &mut self,
        digests: &[RecordDigest],
    ) -> Result<(Network, Vec<Receipt>), CalendarError>;

    /// Where `record` stands.
    ///
    /// # Errors
    ///
    /// A [`CalendarError`].
    fn fetch(&mut self, record: &Record) -> Result<Fetched, CalendarError>;
}

/// Errors talking to a calendar server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The URL is not an `http://` or `https://` URL of a server.
    #[error("calendar server URL {url}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Plain HTTP to a server that is not on this machine.
    #[error("plain http to {url}, which is not on this machine: API keys and digests would travel unencrypted")]
    Insecure {
        /// The URL given.
        url: String,
    },
    /// The server could not be reached, or the exchange broke off.
    #[error("cannot reach the calendar server at {url}")]
    Transport {
        /// The server.
        url: String,
        /// Why.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The server refuses submissions now (503).
    #[error("the calendar server is not accepting digests: {reason}")]
    Unavailable {
        /// Its reason (§4), control characters escaped.
        reason: String,
    },
    /// The server wants an API key, or refused the one given (401).
    #[error("the calendar server refused the request: no API key, or not a valid one")]
    Unauthorized,
    /// Too many requests for the key or address (429).
    #[error("the calendar server asks to slow down (retry after {retry_after_secs} s)")]
    RateLimited {
        /// Its `Retry-After`, in seconds (60 when absent).
        retry_after_secs: u64,
    },
    /// Any other refusal.
    #[error("the calendar server answered {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its message, shortened, control characters escaped.
        message: String,
    },
    /// A reply that is not what the API specifies.
    #[error("the calendar server's reply does not follow its API: {reason}")]
    BadReply {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A complete proof that does not parse.
    #[error("the calendar server sent a proof that does not parse")]
    BadProof(#[source] ProofError),
}

/// Errors of [`stamp`] and [`upgrade`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// Talking to the server failed.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The server anchors on another network.
    #[error("the calendar server anchors on {found}, not on {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: Network,
        /// The server's.
        found: Network,
    },
    /// The receipts do not answer the digests sent.
    #[error("the calendar server's receipts do not match the digests sent")]
    ReceiptMismatch,
    /// A proof file could not be written or moved.
    #[error("cannot write proof {}", btc_anchor::text::escape_path(path))]
    WriteProof {
        /// The proof file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::anchoring::WriteFailed> for RemoteError {
    fn from(crate::anchoring::WriteFailed { path, source }: crate::anchoring::WriteFailed) -> Self {
        RemoteError::WriteProof { path, source }
    }
}

/// Submits the items' digests to `calendar` and writes each a queued
/// proof at its proof path, as [`crate::anchoring::Anchoring::stamp`] does
/// locally, with the same outcomes:
///
/// * a proof path that holds a proof of the same digest: already stamped,
///   nothing sent;
/// * one that holds a native proof of another digest (an amended
///   document): the older proof is moved to
///   [`file::older_version_proof_path`] and the new version is stamped;
/// * one that holds anything else (an `.ots` file, a file that does not
///   parse, a proof of another network), or a path taken by an earlier
///   item: not stamped, never overwritten.
///
/// Writes are flushed to disk once per request, not once per file. A crash
/// between a request and its writes loses nothing but the server's work:
/// the next run submits those digests again.
///
/// # Errors
///
/// A [`RemoteError`]; proofs written before it stay written.
pub fn stamp(
    calendar: &mut dyn Calendar,
    network: Network,
    items: &[StampItem],
) -> Result<StampSummary, RemoteError> {
    let mut summary = StampSummary {
        outcomes: vec![StampOutcome::Already; items.len()],
        ..StampSummary::default()
    };
    let mut taken = HashSet::new();
    // Items to submit, each with where its older version's proof goes.
    let mut send: Vec<(usize, Option<PathBuf>)> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let key = std::path::absolute(&item.proof_path).unwrap_or_else(|_| item.proof_path.clone());
        if !taken.insert(key) {
            summary.outcomes[n] = StampOutcome::ProofExists;
            continue;
        }
        if std::fs::symlink_metadata(&item.proof_path).is_err() {
            send.push((n, None));
            continue;
        }
        match file::read_any(&item.proof_path) {
            Ok(ProofFile::Native(p)) if p.network == network && p.record.digest == item.digest => {
                summary.already += 1;
            }
            Ok(ProofFile::Native(p)) if p.network == network => {
                let older = file::older_version_proof_path(&item.proof_path, &p.record.digest);
                if std::fs::symlink_metadata(&older).is_ok() {
                    summary.outcomes[n] = StampOutcome::ProofExists;
                } else {
                    send.push((n, Some(older)));
                }
            }
            _ => summary.outcomes[n] = StampOutcome::ProofExists,
        }
    }
    for chunk in send.chunks(MAX_DIGESTS_PER_REQUEST) {
        let digests: Vec<RecordDigest> = chunk.iter().map(|(n, _)| items[*n].digest).collect();
        let (found, receipts) = calendar.submit(&digests)?;
        if found != network {
            return Err(RemoteError::WrongNetwork {
                expected: network,
                found,
            });
        }
        if receipts.len() != digests.len()
            || receipts.iter().zip(&digests).any(|(r, d)| r.digest != *d)
        {
            return Err(RemoteError::ReceiptMismatch);
        }
        let mut written = Vec::with_capacity(chunk.len());
        for ((n, older), receipt) in chunk.iter().zip(receipts) {
            let path = &items[*n].proof_path;
            let write_err = |source| RemoteError::WriteProof {
                path: path.clone(),
                source,
            };
            if let Some(older) = older {
                std::fs::rename(path, older).map_err(write_err)?;
                summary.outcomes[*n] = StampOutcome::Amended {
                    older: older.clone(),
                };
                summary.amended += 1;
            } else {
                summary.outcomes[*n] = StampOutcome::Queued;
            }
            let proof = Proof {
                network,
                record: Record {
                    digest: receipt.digest,
                    salt: receipt.salt,
                },
                batch: None,
                anchor: None,
            };
            file::write_atomic(
                path,
                proof.to_json().as_bytes(),
                WriteOptions {
                    replace: false,
                    durable: false,
                },
            )
            .map_err(write_err)?;
            summary.queued += 1;
            written.push(path.as_path());
        }
        crate::anchoring::sync_file_systems(written.into_iter())?;
    }
    summary.refused = summary
        .outcomes
        .iter()
        .filter(|o| **o == StampOutcome::ProofExists)
        .count();
    Ok(summary)
}

/// What [`upgrade`] did with one proof file.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradeOutcome {
    /// The complete proof, verified, is written in place.
    Completed {
        /// Its block height.
        height: u32,
    },
    /// Complete already: nothing asked.
    AlreadyComplete,
    /// Not final at the server yet.
    Waiting {
        /// How far along it is.
        stage: Stage,
        /// The anchoring transaction, once broadcast.
        txid: Option<Txid>,
    },
    /// The server does not know the record (another server's, or lost).
    Unknown,
    /// No file at the path: a document never stamped, or whose proof was
    /// moved.
    Missing,
    /// A native proof of another network: left alone.
    OtherNetwork {
        /// Its network.
        network: Network,
    },
    /// The file is damaged, or not a native proof (a `.ots` file, say):
    /// left alone.
    NotAProof,
    /// The server's proof is of another record or network, or does not
    /// verify: refused, the file left as it was.
    Refused(Refusal),
}

/// Why a proof from the server was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// It proves another record, or is of another network.
    #[error("the server's proof is of another record or network")]
    OtherRecord,
    /// It does not verify.
    #[error("the server's proof does not verify")]
    Invalid(#[source] VerifyError),
    /// It verifies but is not complete.
    #[error("the server's proof is not complete")]
    Incomplete,
}

/// Asks `calendar` for the complete proofs of the pending proof files
/// `proofs` and writes each, once checked, in place (atomically, flushed
/// to disk once at the end). A file already complete, or not a native
/// proof of `network`, is left alone.
///
/// # Errors
///
/// A [`RemoteError`] when the server cannot be asked or a proof cannot be
/// written; files written before it stay written.
pub fn upgrade(
    calendar: &mut dyn Calendar,
    network: Network,
    proofs: &[PathBuf],
) -> Result<Vec<UpgradeOutcome>, RemoteError> {
    let options = VerifyOptions::new(network);
    let mut outcomes = Vec::with_capacity(proofs.len());
    let mut written = Vec::new();
    for path in proofs {
        let local = match pending_candidate(path, network) {
            Ok(p) => p,
            Err(why) => {
                outcomes.push(why.into());
                continue;
            }
        };
        if local.stage() == Stage::Confirmed {
            outcomes.push(UpgradeOutcome::AlreadyComplete);
            continue;
        }
        let outcome = match calendar.fetch(&local.record)? {
            Fetched::Unknown => UpgradeOutcome::Unknown,
            Fetched::Waiting { stage, txid } => UpgradeOutcome::Waiting { stage, txid },
            Fetched::Complete(p) => match check(&p, &local, &options) {
                Err(r) => UpgradeOutcome::Refused(r),
                Ok(height) => {
                    file::write_atomic(
                        path,
                        p.to_json().as_bytes(),
                        WriteOptions {
                            replace: true,
                            durable: false,
                        },
                    )
                    .map_err(|source| RemoteError::WriteProof {
                        path: path.clone(),
                        source,
                    })?;
                    written.push(path.as_path());
                    UpgradeOutcome::Completed { height }
                }
            },
        };
        outcomes.push(outcome);
    }
    crate::anchoring::sync_file_systems(written.into_iter())?;
    Ok(outcomes)
}

/// Checks a complete proof from the server against the local pending one:
/// its block height when it may replace it.
fn check(p: &Proof, local: &Proof, options: &VerifyOptions) -> Result<u32, Refusal> {
    if p.network != local.network || p.record != local.record {
        return Err(Refusal::OtherRecord);
    }
    let report = verify::verify(p, &local.record.digest, &EmbeddedOnly, options)
        .map_err(Refusal::Invalid)?;
    match (
        report.verdict,
        p.anchor.as_ref().and_then(|a| a.block.as_ref()),
    ) {
        (Verdict::Valid | Verdict::Inconclusive(_), Some(b)) => Ok(b.height),
        _ => Err(Refusal::Incomplete),
    }
}

/// Why a path given to an upgrade holds no native proof to work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotPending {
    /// Nothing is there.
    Missing,
    /// A native proof of this other network.
    OtherNetwork(Network),
    /// A damaged file, or not a native proof.
    NotAProof,
}

impl From<NotPending> for UpgradeOutcome {
    fn from(why: NotPending) -> UpgradeOutcome {
        match why {
            NotPending::Missing => UpgradeOutcome::Missing,
            NotPending::OtherNetwork(network) => UpgradeOutcome::OtherNetwork { network },
            NotPending::NotAProof => UpgradeOutcome::NotAProof,
        }
    }
}

/// The native proof of `network` at `path`, or why there is none.
pub(crate) fn pending_candidate(path: &Path, network: Network) -> Result<Proof, NotPending> {
    match file::read_any(path) {
        Ok(ProofFile::Native(p)) if p.network == network => Ok(p),
        Ok(ProofFile::Native(p)) => Err(NotPending::OtherNetwork(p.network)),
        Err(file::ReadAnyError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(NotPending::Missing)
        }
        _ => Err(NotPending::NotAProof),
    }
}

/// The proof files under `paths`: a `*.anchor.json` file itself, a
/// document's proof beside it ([`file::proof_path`]), and every
/// `*.anchor.json` in a folder (hidden entries skipped).
///
/// # Errors
///
/// A path that does not exist, or a folder that cannot be read.
pub fn proof_files<P: AsRef<Path>>(
    paths: &[P],
) -> Result<Vec<PathBuf>, btc_anchor::hash::HashError> {
    let mut out = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            // Walked one file at a time: only the proof files are kept,
            // not the documents beside them.
            for f in btc_anchor::hash::Walk::new(&[p], Default::default())? {
                let f = f?;
                if is_native_proof_name(&f) {
                    out.push(f);
                }
            }
        } else if is_native_proof_name(p) {
            out.push(p.to_path_buf());
        } else {
            out.push(file::proof_path(p));
        }
    }
    Ok(out)
}

fn is_native_proof_name(p: &Path) -> bool {
    p.as_os_str()
        .as_encoded_bytes()
        .ends_with(file::PROOF_SUFFIX.as_bytes())
}

/// How [`HttpCalendar`] talks to its server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Sent as `Authorization: Bearer <key>` (§10).
    pub api_key: Option<String>,
    /// Time for one whole request and reply.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_key: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A calendar server over HTTP(S): `https://` anywhere, plain `http://`
/// only to this machine (a loopback address or `localhost`).
pub struct HttpCalendar {
    base: String,
    agent: ureq::Agent,
    api_key: Option<String>,
}

impl std::fmt::Debug for HttpCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("HttpCalendar")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HttpCalendar {
    /// A client of the server at `url` (its root, as `btc-anchor serve`
    /// prints it).
    ///
    /// # Errors
    ///
    /// [`CalendarError::BadUrl`] or [`CalendarError::Insecure`].
    pub fn new(url: &str, options: ClientOptions) -> Result<HttpCalendar, CalendarError> {
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
        Ok(HttpCalendar {
            base,
            agent,
            api_key: options.api_key,
        })
    }

    /// The server's root URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn transport(&self, e: ureq::Error) -> CalendarError {
        CalendarError::Transport {
            url: self.base.clone(),
            source: Box::new(e),
        }
    }

    /// Sends a request; the status and the body (capped).
    fn exchange(
        &self,
        request: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Vec<u8>, Option<u64>), CalendarError> {
        let mut res = request.map_err(|e| self.transport(e))?;
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = res
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES.max(MAX_PROOF_BYTES as u64))
            .read_to_vec()
            .map_err(|e| self.transport(e))?;
        Ok((status, body, retry))
    }

    fn auth<B>(&self, r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.api_key {
            Some(k) => r.header("Authorization", format!("Bearer {k}")),
            None => r,
        }
    }
}

/// A refusal of the server as an error: its status and message.
fn refusal(status: u16, body: &[u8], retry: Option<u64>) -> CalendarError {
    #[derive(serde::Deserialize)]
    struct E {
        message: Option<String>,
    }
    let text = serde_json::from_slice::<E>(body)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let text: String = btc_anchor::text::escape_controls(text.trim())
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect();
    match status {
        401 | 403 => CalendarError::Unauthorized,
        429 => CalendarError::RateLimited {
            retry_after_secs: retry.unwrap_or(60),
        },
        503 => CalendarError::Unavailable {
            reason: text
                .strip_prefix("calendar unavailable: ")
                .unwrap_or(&text)
                .to_owned(),
        },
        _ => CalendarError::Refused {
            status,
            message: text,
        },
    }
}

impl Calendar for HttpCalendar {
    fn submit(
        &mut self,
        digests: &[RecordDigest],
    ) -> Result<(Network, Vec<Receipt>), CalendarError> {
        let body = serde_json::json!({
            "digests": digests.iter().map(RecordDigest::to_hex).collect::<Vec<_>>()
        })
        .to_string();
        let req = self
            .auth(self.agent.post(format!("{}/api/v1/digests", self.base)))
            .content_type("application/json")
            .send(body.as_bytes());
        let (status, body, retry) = self.exchange(req)?;
        if status != 200 {
            return Err(refusal(status, &body, retry));
        }
        parse_receipts(&body)
    }

    fn fetch(&mut self, record: &Record) -> Result<Fetched, CalendarError> {
        let id = hex::encode(record_leaf(&record.salt, &record.digest).0);
        let req = self
            .auth(self.agent.get(format!("{}/api/v1/proofs/{id}", self.base)))
            .call();
        let (status, body, retry) = self.exchange(req)?;
        match status {
            200 => Proof::from_json(&body)
                .map(|p| Fetched::Complete(Box::new(p)))
                .map_err(CalendarError::BadProof),
            202 => parse_waiting(&body),
            404 => Ok(Fetched::Unknown),
            _ => Err(refusal(status, &body, retry)),
        }
    }
}

fn parse_receipts(body: &[u8]) -> Result<(Network, Vec<Receipt>), CalendarError> {
    #[derive(serde::Deserialize)]
    struct R {
        network: String,
        receipts: Vec<Rc>,
    }
    #[derive(serde::Deserialize)]
    struct Rc {
        digest: String,
        salt: String,
    }
    let bad = |reason| CalendarError::BadReply { reason };
    let r: R =
        serde_json::from_slice(body).map_err(|_| bad("receipts are not the JSON of §5.4"))?;
    let network = crate::config::parse_network(&r.network).map_err(|_| bad("unknown network"))?;
    let receipts = r
        .receipts
        .iter()
        .map(|rc| {
            Ok(Receipt {
                digest: rc
                    .digest
                    .parse()
                    .map_err(|_| bad("a receipt's digest is not 64 hex digits"))?,
                salt: hex::decode(&rc.salt)
                    .ok()
                    .and_then(|b| Salt::from_bytes(&b).ok())
                    .ok_or(())
                    .map_err(|_| bad("a receipt's salt is not 16 to 64 hex bytes"))?,
            })
        })
        .collect::<Result<_, CalendarError>>()?;
    Ok((network, receipts))
}

fn parse_waiting(body: &[u8]) -> Result<Fetched, CalendarError> {
    #[derive(serde::Deserialize)]
    struct W {
        state: String,
        txid: Option<String>,
    }
    let bad = |reason| CalendarError::BadReply { reason };
    let w: W =
        serde_json::from_slice(body).map_err(|_| bad("a 202 reply is not the JSON of §5.5"))?;
    let stage = match w.state.as_str() {
        "queued" => Stage::Queued,
        "batched" => Stage::Batched,
        "broadcast" => Stage::Broadcast,
        "confirmed" => Stage::Confirmed,
        _ => return Err(bad("unknown state")),
    };
    let txid = w
        .txid
        .map(|t| t.parse().map_err(|_| bad("a txid is not 64 hex digits")))
        .transpose()?;
    Ok(Fetched::Waiting { stage, txid })
}

/// The URL's root without a trailing slash, once it is checked.
fn checked_base(url: &str) -> Result<String, CalendarError> {
    let shown = || btc_anchor::text::escape_controls(url).into_owned();
    btc_anchor::text::client_base_url(url, &[], "a server URL has no query, fragment or user name")
        .map_err(|r| match r {
            btc_anchor::text::UrlRefusal::Insecure => CalendarError::Insecure { url: shown() },
            btc_anchor::text::UrlRefusal::Bad(reason) => CalendarError::BadUrl {
                url: shown(),
                reason,
            },
            _ => CalendarError::BadUrl {
                url: shown(),
                reason: "refused",
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A calendar in memory: it salts every digest with one fixed salt and
    /// hands out what the test put in `complete`.
    struct Fake {
        network: Network,
        sent: Vec<RecordDigest>,
        complete: Vec<Proof>,
        tamper_receipts: bool,
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                network: Network::Regtest,
                sent: Vec::new(),
                complete: Vec::new(),
                tamper_receipts: false,
            }
        }
    }

    impl Calendar for Fake {
        fn submit(
            &mut self,
            digests: &[RecordDigest],
        ) -> Result<(Network, Vec<Receipt>), CalendarError> {
            self.sent.extend_from_slice(digests);
            let mut r: Vec<Receipt> = digests
                .iter()
                .map(|d| Receipt {
                    digest: *d,
                    salt: Salt::from_bytes(&[7; 16]).unwrap(),
                })
                .collect();
            if self.tamper_receipts {
                r.reverse();
            }
            Ok((self.network, r))
        }

        fn fetch(&mut self, record: &Record) -> Result<Fetched, CalendarError> {
            Ok(match self.complete.iter().find(|p| p.record == *record) {
                Some(p) => Fetched::Complete(Box::new(p.clone())),
                None if self.sent.contains(&record.digest) => Fetched::Waiting {
                    stage: Stage::Queued,
                    txid: None,
                },
                None => Fetched::Unknown,
            })
        }
    }

    fn item(dir: &Path, name: &str, byte: u8) -> StampItem {
        StampItem {
            digest: RecordDigest([byte; 32]),
            label: name.to_owned(),
            proof_path: file::proof_path(&dir.join(name)),
        }
    }

    #[test]
    fn stamp_outcomes_match_the_local_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut cal = Fake::new();
        let items = [
            item(dir.path(), "a", 1),
            item(dir.path(), "b", 2),
            item(dir.path(), "a", 3),
        ];
        let s = stamp(&mut cal, Network::Regtest, &items).unwrap();
        assert_eq!(s.queued, 2);
        assert_eq!(s.refused, 1, "the second item for a's proof path");
        assert_eq!(s.outcomes[2], StampOutcome::ProofExists);
        let a = match file::read_any(&items[0].proof_path).unwrap() {
            ProofFile::Native(p) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(a.stage(), Stage::Queued);
        assert_eq!(a.record.digest, items[0].digest);

        // Again: nothing sent. Then an amended a: the older proof is kept.
        let sent = cal.sent.len();
        let s = stamp(&mut cal, Network::Regtest, &items[..2]).unwrap();
        assert_eq!((s.already, s.queued, cal.sent.len()), (2, 0, sent));
        let amended = [item(dir.path(), "a", 9)];
        let s = stamp(&mut cal, Network::Regtest, &amended).unwrap();
        let older = file::older_version_proof_path(&items[0].proof_path, &items[0].digest);
        assert_eq!(
            s.outcomes[0],
            StampOutcome::Amended {
                older: older.clone()
            }
        );
        assert_eq!(std::fs::read(&older).unwrap(), a.to_json().as_bytes());

        // What is not our proof is never overwritten.
        let c = item(dir.path(), "c", 4);
        std::fs::write(&c.proof_path, b"not a proof").unwrap();
        let s = stamp(&mut cal, Network::Regtest, std::slice::from_ref(&c)).unwrap();
        assert_eq!(s.outcomes[0], StampOutcome::ProofExists);
        assert_eq!(std::fs::read(&c.proof_path).unwrap(), b"not a proof");
    }

    #[test]
    fn a_lying_or_foreign_server_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let items = [item(dir.path(), "a", 1), item(dir.path(), "b", 2)];
        let mut cal = Fake::new();
        cal.tamper_receipts = true;
        assert!(matches!(
            stamp(&mut cal, Network::Regtest, &items),
            Err(RemoteError::ReceiptMismatch)
        ));
        let mut cal = Fake::new();
        cal.network = Network::Testnet;
        assert!(matches!(
            stamp(&mut cal, Network::Regtest, &items),
            Err(RemoteError::WrongNetwork { .. })
        ));
        assert!(!items[0].proof_path.exists() && !items[1].proof_path.exists());
    }

    #[test]
    fn upgrade_refuses_what_does_not_prove_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut cal = Fake::new();
        let items = [item(dir.path(), "a", 1), item(dir.path(), "b", 2)];
        stamp(&mut cal, Network::Regtest, &items).unwrap();
        let paths: Vec<PathBuf> = items.iter().map(|i| i.proof_path.clone()).collect();
        let before = std::fs::read(&paths[0]).unwrap();
        let out = upgrade(&mut cal, Network::Regtest, &paths).unwrap();
        assert!(
            matches!(
                out[0],
                UpgradeOutcome::Waiting {
                    stage: Stage::Queued,
                    ..
                }
            ),
            "{out:?}"
        );
        // A "complete" proof of the record that does not verify (a batch
        // whose root the record is not under, no anchor) is refused.
        let mut forged = match file::read_any(&paths[0]).unwrap() {
            ProofFile::Native(p) => p,
            other => panic!("{other:?}"),
        };
        forged.batch = Some(btc_anchor::proof::BatchPath {
            size: 1,
            index: 0,
            path: Vec::new(),
            root: btc_anchor::merkle::NodeHash([0; 32]),
        });
        cal.complete.push(forged);
        let out = upgrade(&mut cal, Network::Regtest, &paths).unwrap();
        assert!(
            matches!(out[0], UpgradeOutcome::Refused(Refusal::Invalid(_))),
            "{out:?}"
        );
        assert_eq!(std::fs::read(&paths[0]).unwrap(), before);
        // Another server's record, and a file that is no proof.
        std::fs::write(&paths[1], b"{}").unwrap();
        let other = Fake::new();
        let out = upgrade(
            &mut Fake {
                sent: Vec::new(),
                ..other
            },
            Network::Regtest,
            &paths[..1],
        )
        .unwrap();
        assert!(matches!(out[0], UpgradeOutcome::Unknown), "{out:?}");
        let out = upgrade(&mut cal, Network::Regtest, &paths[1..]).unwrap();
        assert!(matches!(out[0], UpgradeOutcome::NotAProof), "{out:?}");
        // No file at all, and a proof of another network: said as such.
        let out = upgrade(
            &mut cal,
            Network::Regtest,
            &[dir.path().join("gone.anchor.json")],
        )
        .unwrap();
        assert!(matches!(out[0], UpgradeOutcome::Missing), "{out:?}");
        let out = upgrade(&mut cal, Network::Signet, &paths[..1]).unwrap();
        assert!(
            matches!(
                out[0],
                UpgradeOutcome::OtherNetwork {
                    network: Network::Regtest
                }
            ),
            "{out:?}"
        );
    }

    #[test]
    fn urls() {
        for ok in [
            "http://127.0.0.1:8600",
            "http://127.0.0.1:8600/",
            "http://localhost:1/cal",
            "http://[::1]:80",
            "https://calendar.example.org",
        ] {
            checked_base(ok).unwrap();
        }
        assert_eq!(
            checked_base("http://127.0.0.1:1/").unwrap(),
            "http://127.0.0.1:1"
        );
        for insecure in [
            "http://10.0.0.1:8600",
            "http://calendar.example.org",
            "http://127.0.0.1.example.org",
        ] {
            assert!(
                matches!(checked_base(insecure), Err(CalendarError::Insecure { .. })),
                "{insecure}"
            );
        }
        for bad in [
            "",
            "ftp://x",
            "127.0.0.1:8600",
            "https://",
            "https://a?b",
            "https://u@h",
            "https://a b",
            "https://a\u{1b}[2J",
        ] {
            assert!(
                matches!(checked_base(bad), Err(CalendarError::BadUrl { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn replies() {
        let d = "11".repeat(32);
        let s = "22".repeat(16);
        let (n, r) = parse_receipts(
            format!(
                r#"{{"network":"regtest","receipts":[{{"id":"x","digest":"{d}","salt":"{s}"}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(n, Network::Regtest);
        assert_eq!(r[0].digest, RecordDigest([0x11; 32]));
        for bad in [
            "".to_owned(),
            "{}".to_owned(),
            r#"{"network":"moon","receipts":[]}"#.to_owned(),
            format!(r#"{{"network":"regtest","receipts":[{{"digest":"{d}","salt":"22"}}]}}"#),
            format!(r#"{{"network":"regtest","receipts":[{{"digest":"zz","salt":"{s}"}}]}}"#),
        ] {
            assert!(
                matches!(
                    parse_receipts(bad.as_bytes()),
                    Err(CalendarError::BadReply { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_waiting(br#"{"state":"broadcast","txid":null}"#).unwrap(),
            Fetched::Waiting {
                stage: Stage::Broadcast,
                txid: None
            }
        ));
        assert!(parse_waiting(br#"{"state":"lost"}"#).is_err());
        let e = refusal(
            503,
            b"calendar unavailable: the wallet cannot pay the next anchor",
            None,
        );
        assert_eq!(
            e.to_string(),
            "the calendar server is not accepting digests: the wallet cannot pay the next anchor"
        );
        let e = refusal(
            400,
            br#"{"error":"bad-request","message":"\u001b[2Jx"}"#,
            None,
        );
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
        assert!(matches!(
            refusal(429, b"", Some(3)),
            CalendarError::RateLimited {
                retry_after_secs: 3
            }
        ));
    }
}
