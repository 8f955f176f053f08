//! `btc-anchor verify`: gathers the inputs, tells a btc-anchor proof from
//! an OpenTimestamps file by its content, calls
//! [`btc_anchor::verify::verify`] (or, through [`crate::ots`],
//! [`btc_anchor::ots::verify_ots`]) and renders the answer.

use std::fs::File;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::Checkpoints;
use btc_anchor::file::{locate_proof, ots_path, proof_path, read_any, ProofFile, ReadAnyError};
use btc_anchor::hash::{hash_reader, RecordDigest};
use btc_anchor::headers::{EmbeddedOnly, HeaderSource, HeaderSourceError, HeadersFile};
use btc_anchor::merkle::NodeHash;
use btc_anchor::proof::{Proof, ProofError, Stage};
use btc_anchor::text::escape_path;
use btc_anchor::verify::{
    check_network, verify, BlockFacts, ChainCheck, Evidence, Report, Shortfall, Verdict,
    VerifyError, VerifyOptions, MAX_FUTURE_BLOCK_TIME, MIN_FORGERY_WORK_LOG2,
};
use clap::Args;
use serde_json::{json, Value};

use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::{chain_name, json_line, line, source_json, source_label};
use crate::{ots, utc, NetworkArg};

/// Arguments of `btc-anchor verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The document the proof is about (read only; hashed with SHA-256, or
    /// with the hash a .ots file names)
    #[arg(
        value_name = "DOCUMENT",
        required_unless_present = "digest",
        conflicts_with = "digest"
    )]
    pub document: Option<PathBuf>,

    /// The proof file: a btc-anchor proof or an OpenTimestamps .ots file,
    /// told apart by content [default: <DOCUMENT>.anchor.json, or
    /// <DOCUMENT>.ots if only that exists]
    #[arg(long, value_name = "FILE")]
    pub proof: Option<PathBuf>,

    /// Check the document's digest instead of the document itself: its
    /// SHA-256 (64 hex characters), or for a .ots file the digest under the
    /// hash the file names (40 hex characters for SHA-1 and RIPEMD-160);
    /// needs --proof
    #[arg(long, value_name = "HEX", value_parser = parse_digest, requires = "proof")]
    pub digest: Option<DigestArg>,

    /// Also check the block against this file of raw 80-byte headers from
    /// the genesis block or a built-in checkpoint (made with `btc-anchor
    /// headers sync`, or a node's), validated whole when it is opened: that
    /// the block and every header carried are in the file's chain, and for
    /// a .ots file that its merkle root is the one attested
    #[arg(long, value_name = "FILE")]
    pub headers: Option<PathBuf>,

    /// Check online instead: the block must be in the best chain of this
    /// Electrum server (ssl://host:port; tcp:// on regtest), and the
    /// confirmations are counted there
    #[arg(long, value_name = "URL", conflicts_with = "headers")]
    pub electrum: Option<String>,

    /// Hold the proof's headers against this checkpoint table (the form
    /// `btc-anchor headers checkpoints` writes, docs/checkpoints.md)
    /// instead of the one built into btc-anchor: a newer table, or a
    /// private chain's
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,

    /// The network the proof must be on (for a .ots file, which names none:
    /// the network of the --headers file)
    #[arg(long, value_name = "NAME", value_enum, default_value_t = NetworkArg::Bitcoin)]
    pub network: NetworkArg,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// A digest given with `--digest`: 20 or 32 bytes, whose length is checked
/// against the proof once it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestArg(pub Vec<u8>);

/// Parses 64 or 40 hex digits, upper or lower case, surrounding white space
/// ignored (users paste digests from many tools).
fn parse_digest(s: &str) -> Result<DigestArg, String> {
    let s = s.trim();
    if s.len() != 64 && s.len() != 40 {
        return Err(format!(
            "a digest is 64 hex characters (SHA-256), or 40 for a .ots file made with SHA-1 \
             or RIPEMD-160; found {}",
            s.chars().count()
        ));
    }
    if let Some(position) = s.bytes().position(|b| !b.is_ascii_hexdigit()) {
        return Err(format!(
            "a digest is hex, found a character that is not (position {position})"
        ));
    }
    hex::decode(s)
        .map(DigestArg)
        .map_err(|e| format!("a digest is hex: {e}"))
}

/// What the proof is checked against.
#[derive(Debug)]
pub enum Input {
    /// A document, opened (not yet read).
    Document {
        /// Its path, for messages.
        path: PathBuf,
        /// The open file.
        file: File,
    },
    /// A digest given with `--digest`.
    Digest(Vec<u8>),
}

/// What the proof is checked against, for wording.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// A document.
    Document,
    /// A digest under the named hash ("SHA-256").
    Digest(&'static str),
}

impl Subject {
    /// The subject of the headline.
    pub fn noun(self) -> String {
        match self {
            Subject::Document => "this document".to_owned(),
            Subject::Digest(hash) => format!("the document with this {hash}"),
        }
    }
}

impl Input {
    /// The wording for this input, digests named by `hash`.
    pub fn subject(&self, hash: &'static str) -> Subject {
        match self {
            Input::Document { .. } => Subject::Document,
            Input::Digest(_) => Subject::Digest(hash),
        }
    }
}

/// The hint for a document that cannot be read.
pub const DOCUMENT_HINT: &str =
    "check the document's path; to check a bare digest use --digest HEX --proof FILE";

/// Runs `verify`.
pub fn run(args: &VerifyArgs) -> Result<Done, Failure> {
    let network = Network::from(args.network);
    // The document is opened first, so that a missing document is reported
    // as such rather than as a missing proof next to it.
    let input =
        match (&args.document, &args.digest) {
            (Some(path), None) => Input::Document {
                file: open_document(path)?,
                path: path.clone(),
            },
            (None, Some(digest)) => Input::Digest(digest.0.clone()),
            // clap enforces exactly one of the two; kept total all the same.
            _ => return Err(Failure::usage(
                "give either a DOCUMENT or --digest HEX",
                "usage: btc-anchor verify DOCUMENT, or btc-anchor verify --digest HEX --proof FILE",
            )),
        };
    let (proof_path, proof_hint) = find_proof(args)?;
    // Opened and read once, whatever it is: a pipe or a FIFO can be read
    // only once.
    let read = match read_any(&proof_path) {
        Err(e) if e.is_io() => return Err(Failure::io(with_sources(&e), proof_hint)),
        other => other,
    };
    let read = match read {
        Ok(ProofFile::Native(proof)) => Ok(proof),
        Err(ReadAnyError::Proof(e)) => Err(e),
        Ok(ProofFile::Ots(ts)) => return ots_check(args, input, network, Ok(ts)),
        Err(ReadAnyError::Ots(e)) => return ots_check(args, input, network, Err(e)),
        Ok(_) | Err(_) => {
            return Err(Failure::invalid(
                "the proof file is in a format this program does not know how to check",
                "use the btc-anchor program built with the same library version",
            ))
        }
    };
    let subject = input.subject("SHA-256");
    let digest = sha256_of(input)?;
    let out = Rendering {
        subject,
        digest,
        network,
        headers: args.headers.as_deref(),
        json: args.json,
    };
    let proof = match read {
        Ok(p) => p,
        Err(e) => return Ok(out.malformed(&e)),
    };

    let options = verify_options(network, args.checkpoints.as_deref())?;
    // A proof for another network is refused before a headers file is
    // opened: opening it for the network asked for would only hide that
    // clearer reason behind a genesis mismatch.
    if let Err(e) = check_network(&proof, &options) {
        return Ok(out.rejected(&proof, &e));
    }
    let headers_file;
    let server;
    let source: &dyn HeaderSource = match (&args.headers, &args.electrum) {
        (Some(path), _) => match open_headers(path, network)? {
            Ok(f) => {
                headers_file = f;
                &headers_file
            }
            Err(e) => return Ok(out.rejected(&proof, &VerifyError::from(e))),
        },
        (None, Some(url)) => {
            server = connect_electrum(url, network)?;
            &server
        }
        (None, None) => &EmbeddedOnly,
    };

    match verify(&proof, &digest, source, &options) {
        Ok(report) => out.report(&report),
        Err(e) => Ok(out.rejected(&proof, &e)),
    }
}

/// The options to verify with on `network`: the built-in checkpoints, or
/// the table in the file given with `--checkpoints` (refused unless it is
/// the network's). Shared with `seal`.
pub fn verify_options(
    network: Network,
    checkpoints: Option<&Path>,
) -> Result<VerifyOptions, Failure> {
    let options = VerifyOptions::new(network);
    let Some(path) = checkpoints else {
        return Ok(options);
    };
    let hint = "give a checkpoint table as written by btc-anchor headers checkpoints";
    let table = Checkpoints::read_file(path).map_err(|e| {
        if e.is_io() {
            Failure::io(with_sources(&e), hint)
        } else {
            Failure::invalid(with_sources(&e), hint)
        }
    })?;
    if table.network() != network {
        return Err(Failure::usage(
            format!(
                "the checkpoint table is for {}, not {network} (--network)",
                table.network()
            ),
            "give the checkpoint table of the proof's network, or --network to match",
        ));
    }
    Ok(options.with_checkpoints(table))
}

/// Verifies a `.ots` file, read or refused by [`read_any`].
fn ots_check(
    args: &VerifyArgs,
    input: Input,
    network: Network,
    timestamp: Result<btc_anchor::ots::DetachedTimestamp, btc_anchor::ots::OtsError>,
) -> Result<Done, Failure> {
    ots::verify(ots::OtsCheck {
        timestamp,
        input,
        headers: args.headers.as_deref(),
        electrum: args.electrum.as_deref(),
        network,
        json: args.json,
    })
}

/// Opens the document, refusing a folder.
fn open_document(path: &Path) -> Result<File, Failure> {
    let fail = |why: String| {
        Failure::io(
            format!("cannot read {}: {why}", path.display()),
            DOCUMENT_HINT,
        )
    };
    let file = File::open(path).map_err(|e| fail(with_sources(&e)))?;
    match file.metadata() {
        Ok(m) if m.is_dir() => Err(fail("it is a folder, not a document".to_owned())),
        Ok(_) => Ok(file),
        Err(e) => Err(fail(with_sources(&e))),
    }
}

/// The document's SHA-256, or the `--digest` given, for a btc-anchor proof.
fn sha256_of(input: Input) -> Result<RecordDigest, Failure> {
    match input {
        Input::Document { path, file } => hash_reader(file).map_err(|e| {
            Failure::io(
                format!("cannot read {}: {e}", path.display()),
                DOCUMENT_HINT,
            )
        }),
        Input::Digest(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(d) => Ok(RecordDigest(d)),
            Err(_) => Err(Failure::usage(
                format!(
                    "--digest: a btc-anchor proof is about a SHA-256 digest of 64 hex characters, \
                     found {}",
                    bytes.len() * 2
                ),
                "give the document's SHA-256 (e.g. from sha256sum) with --digest",
            )),
        },
    }
}

/// The proof's path and the hint for when it cannot be read.
fn find_proof(args: &VerifyArgs) -> Result<(PathBuf, String), Failure> {
    match (&args.proof, &args.document) {
        (Some(p), _) => Ok((p.clone(), "check the path given with --proof".to_owned())),
        (None, Some(doc)) => {
            let hint = format!(
                "the proof is looked for next to the document as {}, then {}; give its path \
                 with --proof FILE",
                proof_path(doc).display(),
                ots_path(doc).display()
            );
            let path = locate_proof(doc);
            Ok((path, hint))
        }
        (None, None) => Err(Failure::usage(
            "--digest needs --proof",
            "usage: btc-anchor verify --digest HEX --proof FILE",
        )),
    }
}

/// Connects to an Electrum server for online verification (exit 6 if it
/// cannot be used).
pub fn connect_electrum(
    url: &str,
    network: Network,
) -> Result<btc_anchor_electrum::Electrum, Failure> {
    btc_anchor_electrum::Electrum::connect(
        url,
        network,
        btc_anchor_electrum::ConnectOptions::default(),
    )
    .map_err(|e| crate::anchoring::electrum_failure(&e))
}

/// Opens a headers file: an unreadable one (missing, a folder) is an
/// input/output failure, one that is read and found wrong is handed back
/// for the verdict, with its path escaped for display.
pub fn open_headers(
    path: &Path,
    network: Network,
) -> Result<Result<HeadersFile, HeaderSourceError>, Failure> {
    match HeadersFile::open(path, network) {
        Err(e) if e.is_io() => Err(Failure::io(
            with_sources(&e),
            "check the path given with --headers",
        )),
        other => Ok(other.map_err(shown_path)),
    }
}

/// The error with the path it names escaped
/// ([`btc_anchor::text::escape_path`]): its message goes into a one-line
/// verdict, which a file name holding a line feed must not break. Only the
/// message is shown of such an error, never the path used.
fn shown_path(e: HeaderSourceError) -> HeaderSourceError {
    let shown = |path: PathBuf| PathBuf::from(escape_path(&path));
    match e {
        HeaderSourceError::BadLength { path, len } => HeaderSourceError::BadLength {
            path: shown(path),
            len,
        },
        HeaderSourceError::TooLarge { path } => HeaderSourceError::TooLarge { path: shown(path) },
        HeaderSourceError::Invalid { path, error } => HeaderSourceError::Invalid {
            path: shown(path),
            error,
        },
        other => other,
    }
}

/// What to tell the user to do about a rejected proof.
fn hint_for(e: &VerifyError, network: Network, subject: Subject) -> String {
    match e {
        VerifyError::WrongNetwork { found, .. } => format!(
            "the proof was made on {found}; if {found} is really intended, pass --network {found}"
        ),
        VerifyError::DigestMismatch { .. } => match subject {
            Subject::Document => "the proof is for another document, or the document has changed since it was stamped: check that you have the original file and its own proof".to_owned(),
            Subject::Digest(_) => "the proof is for another digest: check the digest and that the proof is the one made for that document".to_owned(),
        },
        VerifyError::NotInChain { .. } => "the block is not in the headers file's chain: update the headers file from a node you trust, or the block was reorganised out and the record must be anchored again".to_owned(),
        VerifyError::SourceLacksHeight { height, .. } => format!(
            "use a headers file that starts at or before height {height} (e.g. from the genesis block)"
        ),
        VerifyError::SourceTooShort { height, .. } => format!(
            "update the headers file so that it reaches at least height {height}"
        ),
        VerifyError::Source(_) => format!(
            "--headers needs a file of raw 80-byte {network} block headers from the genesis block (or from right after a built-in checkpoint), e.g. made with btc-anchor headers sync"
        ),
        _ => "the proof has been altered or damaged and proves nothing; use an intact copy of the proof".to_owned(),
    }
}

fn proof_error_hint(e: &ProofError) -> String {
    match e {
        ProofError::UnsupportedVersion(_) => {
            "the proof was written by a newer btc-anchor: upgrade btc-anchor to check it".to_owned()
        }
        ProofError::NotAProof => {
            "pass the proof file (<DOCUMENT>.anchor.json or <DOCUMENT>.ots) with --proof, not the document".to_owned()
        }
        _ => "the proof file is damaged or is not a btc-anchor proof; use an intact copy of the proof".to_owned(),
    }
}

/// Renders verdicts as text or JSON.
struct Rendering<'a> {
    subject: Subject,
    digest: RecordDigest,
    network: Network,
    headers: Option<&'a Path>,
    json: bool,
}

impl Rendering<'_> {
    fn malformed(&self, e: &ProofError) -> Done {
        self.invalid(e.kind(), &with_sources(&e), None, proof_error_hint(e))
    }

    fn rejected(&self, proof: &Proof, e: &VerifyError) -> Done {
        self.invalid(
            e.kind(),
            &with_sources(&e),
            Some(proof.stage()),
            hint_for(e, self.network, self.subject),
        )
    }

    fn invalid(&self, kind: &str, message: &str, stage: Option<Stage>, hint: String) -> Done {
        let stdout = if self.json {
            let (source, location) = match self.headers {
                Some(p) => ("headers-file", json!(p.display().to_string())),
                None => ("embedded", Value::Null),
            };
            json_line(&json!({
                "result": "invalid",
                "reason": kind,
                "message": message,
                "format": "btc-anchor",
                "network": self.network.to_string(),
                "digest": self.digest.to_hex(),
                "stage": stage.map(|s| s.to_string()),
                "batch_size": null,
                "root": null,
                "txid": null,
                "output": null,
                "block": null,
                "chain": {
                    "source": source,
                    "location": location,
                    "checked": false,
                    "tip": null,
                    "confirmations": null,
                },
                "not_checked": [],
            }))
        } else {
            format!("INVALID: {message}\n")
        };
        Done {
            stdout,
            exit: Exit::Invalid,
            failure: Some(Failure::invalid(
                format!("the proof does not verify ({kind})"),
                hint,
            )),
        }
    }

    fn report(&self, report: &Report) -> Result<Done, Failure> {
        let output = report.output;
        let (exit, stage, text, failure) = match (report.verdict, &report.block) {
            (Verdict::Valid, Some(block)) => (
                Exit::Valid,
                Stage::Confirmed,
                self.valid_text(report, block),
                None,
            ),
            (Verdict::Inconclusive(shortfall), Some(block)) => (
                Exit::Inconclusive,
                Stage::Confirmed,
                self.inconclusive_text(report, block, shortfall),
                Some(Failure {
                    exit: Exit::Inconclusive,
                    error: format!(
                        "the proof file alone does not show that block {} is in the real Bitcoin chain",
                        block.height
                    ),
                    hint: inconclusive_hint(self.network, block),
                }),
            ),
            (Verdict::Pending(stage), _) => (
                Exit::Pending,
                stage,
                self.pending_text(report, stage, output),
                None,
            ),
            _ => {
                return Err(Failure::invalid(
                    "the verifier gave an answer this program does not know how to show",
                    "use the btc-anchor program built with the same library version",
                ))
            }
        };
        let stdout = if self.json {
            self.report_json(report, exit, stage, output)
        } else {
            text
        };
        Ok(Done {
            stdout,
            exit,
            failure,
        })
    }

    /// The detail lines shared by valid and inconclusive reports.
    fn facts_text(&self, s: &mut String, r: &Report, b: &BlockFacts) {
        line(s, "record SHA-256", &r.digest.to_hex());
        if let (Some(size), Some(root)) = (r.batch_size, &r.root) {
            line(s, "batch", &batch_text(size, root));
        }
        line(
            s,
            "transaction",
            &format!("{} (output {})", b.txid, b.output),
        );
        let height = if b.height_checked {
            format!("at height {}", b.height)
        } else {
            format!("at height {} (as the proof states it)", b.height)
        };
        line(s, "block", &format!("{} {height}", b.block_hash));
        let hours = MAX_FUTURE_BLOCK_TIME / 3600;
        line(
            s,
            "block time",
            &format!(
                "{} (approximate: consensus accepts block times up to {hours} hours ahead, \
                 so the bound given is block time + {hours} h)",
                utc::human(b.time),
            ),
        );
        line(
            s,
            "confirmations",
            &format!("{} carried in the proof", b.confirmations_in_proof),
        );
        match &b.forgery {
            Some(cost) if !r.is_test_network() => line(s, "forgery cost", &cost.describe()),
            _ => {}
        }
    }

    fn valid_text(&self, r: &Report, b: &BlockFacts) -> String {
        let mut s = format!(
            "VALID: {} existed no later than {} ({} block {}{})\n",
            self.subject.noun(),
            utc::human(b.not_later_than),
            chain_name(r.network),
            b.height,
            crate::render::weight_note(r.network),
        );
        self.facts_text(&mut s, r, b);
        line(&mut s, "evidence", &evidence_text(r, b));
        let chain = match &r.chain {
            ChainCheck::InBestChain { tip, confirmations } => format!(
                "in the best chain of {}: {} (tip at height {})",
                source_label(&r.source),
                crate::render::count(u64::from(*confirmations), "confirmation"),
                tip
            ),
            _ if b.checkpoint_epoch.is_some() => {
                "checked offline against the checkpoint table".to_owned()
            }
            _ => "checked offline, from the proof file alone (--headers FILE or \
                  --electrum URL also check the block is in the best chain)"
                .to_owned(),
        };
        line(&mut s, "chain", &chain);
        not_checked_text(&mut s, r);
        s
    }

    fn inconclusive_text(&self, r: &Report, b: &BlockFacts, why: Shortfall) -> String {
        let mut s = format!(
            "INCONCLUSIVE: the proof checks out as far as it goes, but the file alone does not \
             show that {} block {} is in the real chain, so it does not show that {} existed \
             by then\n",
            chain_name(r.network),
            b.height,
            self.subject.noun(),
        );
        self.facts_text(&mut s, r, b);
        let reason = match why {
            Shortfall::FewHeaders { carried, needed } => format!(
                "{} after the block, {needed} needed, and no checkpoint reached",
                crate::render::count(u64::from(carried), "header")
            ),
            Shortfall::LittleWork => format!(
                "forging these headers takes less work than the 2^{MIN_FORGERY_WORK_LOG2:.0} \
                 hashes btc-anchor requires"
            ),
            _ => "not enough evidence carried".to_owned(),
        };
        line(&mut s, "why", &reason);
        line(&mut s, "next step", &inconclusive_hint(r.network, b));
        not_checked_text(&mut s, r);
        s
    }

    fn pending_text(&self, r: &Report, stage: Stage, output: Option<u32>) -> String {
        let noun = self.subject.noun();
        let headline = match (stage, r.batch_size, r.txid) {
            (Stage::Queued, _, _) => {
                format!("{noun} is queued for the next batch; nothing is on chain yet")
            }
            (Stage::Batched, Some(size), _) => format!(
                "{noun} is in a batch of {size} records whose transaction is not broadcast yet"
            ),
            (Stage::Broadcast, _, Some(txid)) => format!(
                "{noun} is in a batch committed by transaction {txid} (output {}), \
                 broadcast but not yet in a block",
                output.unwrap_or_default()
            ),
            (other, _, _) => format!("{noun} is at stage {other}"),
        };
        let mut s = format!("PENDING: {headline}\n");
        line(&mut s, "record SHA-256", &r.digest.to_hex());
        if let (Some(size), Some(root)) = (r.batch_size, &r.root) {
            line(&mut s, "batch", &batch_text(size, root));
        }
        line(
            &mut s,
            "next step",
            "the proof must be upgraded once the transaction confirms, then verified again",
        );
        s
    }

    fn report_json(&self, r: &Report, exit: Exit, stage: Stage, output: Option<u32>) -> String {
        let result = match exit {
            Exit::Valid => "valid",
            Exit::Inconclusive => "inconclusive",
            _ => "pending",
        };
        let (source, location) = source_json(&r.source);
        let (checked, tip, confirmations) = match &r.chain {
            ChainCheck::InBestChain { tip, confirmations } => {
                (true, json!(tip), json!(confirmations))
            }
            _ => (false, Value::Null, Value::Null),
        };
        json_line(&json!({
            "result": result,
            "reason": null,
            "message": null,
            "format": "btc-anchor",
            "network": r.network.to_string(),
            "digest": r.digest.to_hex(),
            "stage": stage.to_string(),
            "batch_size": r.batch_size,
            "root": r.root.as_ref().map(|h| h.to_hex()),
            "txid": r.txid.map(|t| t.to_string()),
            "output": output,
            "block": r.block.as_ref().map(block_json),
            "evidence": r.evidence.map(evidence_name),
            "test_network": r.is_test_network(),
            "chain": {
                "source": source,
                "location": location,
                "checked": checked,
                "tip": tip,
                "confirmations": confirmations,
            },
            "not_checked": r.not_checked.iter().map(|n| n.describe()).collect::<Vec<_>>(),
        }))
    }
}

fn batch_text(size: u64, root: &NodeHash) -> String {
    let records = if size == 1 { "record" } else { "records" };
    format!(
        "{size} {records} (as the proof states it), root {}",
        root.to_hex()
    )
}

/// What made a valid proof valid, in words.
fn evidence_text(r: &Report, b: &BlockFacts) -> String {
    match r.evidence {
        Some(Evidence::Checkpoint { height, .. }) => format!(
            "its headers reach the {} block at height {height}, a checkpoint of the table in \
             force (built into btc-anchor unless --checkpoints names another): the block is in \
             that chain (forging that would need a SHA-256d second preimage)",
            chain_name(r.network)
        ),
        Some(Evidence::HeaderSource) => format!(
            "the block is in the best chain of {}",
            source_label(&r.source)
        ),
        Some(Evidence::Work) => format!(
            "{} after the block, each at its difficulty epoch's target; forging them would \
             take {}",
            crate::render::count(u64::from(b.confirmations_in_proof - 1), "header"),
            b.forgery
                .as_ref()
                .map_or_else(String::new, |c| c.describe())
        ),
        Some(Evidence::TestNetwork) => format!(
            "{} is a test network, where anyone can mine blocks: the proof checks out under \
             its rules and carries no weight as evidence",
            chain_name(r.network)
        ),
        _ => "unknown".to_owned(),
    }
}

/// The stable JSON name of the evidence.
fn evidence_name(e: Evidence) -> &'static str {
    match e {
        Evidence::Checkpoint { .. } => "checkpoint",
        Evidence::HeaderSource => "header-source",
        Evidence::Work => "work",
        Evidence::TestNetwork => "test-network",
        _ => "other",
    }
}

/// What to do about an inconclusive proof.
fn inconclusive_hint(network: Network, b: &BlockFacts) -> String {
    let offline = match Checkpoints::builtin(network).last_height() {
        Some(last) if b.height <= last => format!(
            "or have the proof sealed (btc-anchor seal), so that its headers reach the checkpoint \
             at height {}",
            btc_anchor::rules::epoch_last_height(b.height)
        ),
        _ => format!(
            "or, once its epoch has closed, seal it and check it with a btc-anchor whose \
             checkpoints cover height {}",
            b.height
        ),
    };
    format!(
        "check it against the real chain with --headers FILE (made with btc-anchor headers sync) \
         or --electrum URL, {offline}"
    )
}

fn not_checked_text(s: &mut String, r: &Report) {
    for (i, item) in r.not_checked.iter().enumerate() {
        line(s, if i == 0 { "not checked" } else { "" }, item.describe());
    }
}

fn block_json(b: &BlockFacts) -> Value {
    json!({
        "height": b.height,
        "height_checked": b.height_checked,
        "checkpoint_epoch": b.checkpoint_epoch,
        "targets_exact": b.targets_exact,
        "forgery_cost": b.forgery.as_ref().map(|c| json!({
            "work_log2": (c.log2() * 1000.0).round() / 1000.0,
            "network_seconds": c.network_seconds().round(),
            "above_threshold": c.is_above_threshold(),
            "text": c.describe(),
        })),
        "hash": b.block_hash.to_string(),
        "time": b.time,
        "time_utc": utc::rfc3339(b.time),
        "not_later_than": b.not_later_than,
        "not_later_than_utc": utc::rfc3339(b.not_later_than),
        "confirmations_in_proof": b.confirmations_in_proof,
        "work_in_proof_log2": (b.work_in_proof.log2() * 1000.0).round() / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_both_lengths() {
        assert_eq!(parse_digest(&"AB".repeat(32)).unwrap().0, vec![0xab; 32]);
        assert_eq!(
            parse_digest(&format!(" {}\n", "0f".repeat(20))).unwrap().0,
            vec![0x0f; 20]
        );
        assert!(parse_digest("abc")
            .unwrap_err()
            .contains("64 hex characters"));
        assert!(parse_digest(&"ab".repeat(31)).is_err());
        assert!(parse_digest(&"zz".repeat(32))
            .unwrap_err()
            .contains("position 0"));
    }
}
