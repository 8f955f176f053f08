//! `btc-anchor verify`: gathers the inputs, tells a btc-anchor proof from
//! an OpenTimestamps file by its content, calls
//! [`btc_anchor::verify::verify`] (or, through [`crate::ots`],
//! [`btc_anchor::ots::verify_ots`]) and renders the answer.

use std::fs::File;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::Checkpoints;
use btc_anchor::file::{locate_proof, ots_path, proof_path};
use btc_anchor::headers::HeaderSourceError;
use btc_anchor::merkle::NodeHash;
use btc_anchor::proof::{ProofError, Stage};
use btc_anchor::text::escape_controls;
use btc_anchor::utc;
use btc_anchor::verification::{
    verify_file, Answer, Document, Headers, NativeFailure, Verification, VerifyFileError,
};
use btc_anchor::verify::{
    BlockFacts, ChainCheck, Evidence, Report, Shortfall, Verdict, VerifyError, VerifyOptions,
    MAX_FUTURE_BLOCK_TIME, MIN_FORGERY_WORK_LOG2,
};
use clap::Args;
use serde_json::Value;

use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::{chain_name, json_line, line, source_label};
use crate::{ots, NetworkArg};

/// Arguments of `btc-anchor verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The document the proof is about (read only; hashed with SHA-256, or
    /// with the hash a .ots file names). Several documents, or a folder,
    /// are verified in parallel, each against the proof beside it, one
    /// line each and a summary
    #[arg(
        value_name = "DOCUMENT",
        required_unless_present = "digest",
        conflicts_with = "digest"
    )]
    pub document: Vec<PathBuf>,

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
    #[arg(
        long,
        value_name = "NAME",
        value_enum,
        env = "BTC_ANCHOR_NETWORK",
        default_value_t = NetworkArg::Bitcoin
    )]
    pub network: NetworkArg,

    /// The audit log's public key (vkey), or a file holding it, to check
    /// an event proof (written by btc-anchor log prove) with; without it,
    /// the key the proof names is used, and reported as trusted
    #[arg(long, value_name = "VKEY", conflicts_with_all = ["proof", "digest"])]
    pub vkey: Option<String>,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,

    /// Show the technical details of a valid proof too: batch,
    /// transaction, exact block time, confirmations, forgery cost and what
    /// was not checked
    #[arg(long, short)]
    pub verbose: bool,

    /// Also write a one-page, printable verification report to this HTML
    /// file (self-contained: no script, nothing fetched): the digest, the
    /// verdict, the evidence, what was trusted and how to check it again
    /// independently. One document only
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// Replace the --report file if it exists
    #[arg(long, requires = "report")]
    pub force: bool,
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

/// The hint for a document that cannot be read.
pub const DOCUMENT_HINT: &str =
    "check the document's path; to check a bare digest use --digest HEX --proof FILE";

/// Runs `verify`.
pub fn run(args: &VerifyArgs) -> Result<Done, Failure> {
    if let Some(path) = crate::event_verify::candidate(args) {
        return crate::event_verify::run(args, path);
    }
    if args.vkey.is_some() {
        return Err(Failure::usage(
            "--vkey is for an audit log's event proof, and the file given is not one",
            "give the event proof written by btc-anchor log prove, or drop --vkey",
        ));
    }
    if args.document.len() > 1 || args.document.first().is_some_and(|d| d.is_dir()) {
        if args.report.is_some() {
            return Err(Failure::usage(
                "--report writes the report on one document, and several (or a folder) were \
                 given",
                "verify each document on its own with --report, e.g. btc-anchor verify FILE \
                 --report FILE.html",
            ));
        }
        return crate::verify_many::run(args);
    }
    let network = Network::from(args.network);
    // The document is opened first, so that a missing document is reported
    // as such rather than as a missing proof next to it.
    let (mut file, path) =
        match (args.document.first(), &args.digest) {
            (Some(path), None) => (Some(open_document(path)?), Some(path.as_path())),
            (None, Some(_)) => (None, None),
            // clap enforces exactly one of the two; kept total all the same.
            _ => return Err(Failure::usage(
                "give either a DOCUMENT or --digest HEX",
                "usage: btc-anchor verify DOCUMENT, or btc-anchor verify --digest HEX --proof FILE",
            )),
        };
    let (proof_path, proof_hint) = find_proof(args)?;
    let options = verify_options(network, args.checkpoints.as_deref())?;
    let server;
    let headers = match (&args.headers, &args.electrum) {
        (Some(path), _) => Headers::File(path),
        (None, Some(url)) => {
            server = connect_electrum(url, network)?;
            Headers::Source(&server)
        }
        (None, None) => Headers::ProofOnly,
    };
    let document = match (&mut file, &args.digest) {
        (Some(file), _) => Document::Content(file),
        // No document means --digest, checked above.
        (None, digest) => Document::Digest(digest.as_ref().map_or(&[][..], |d| &d.0)),
    };
    let v = verify_file(&proof_path, document, headers, &options).map_err(|e| match e {
        VerifyFileError::Proof(e) => Failure::io(with_sources(&e), proof_hint),
        VerifyFileError::Document(io) => Failure::io(
            format!(
                "cannot read {}: {}",
                path.unwrap_or(Path::new("the document")).display(),
                with_sources(&io)
            ),
            DOCUMENT_HINT,
        ),
        VerifyFileError::DigestLength { hash, .. } => Failure::usage(
            format!("--digest: {e}"),
            format!("give the document's {hash} digest with --digest, or the document itself"),
        ),
        VerifyFileError::Headers(e) => {
            Failure::io(with_sources(&e), "check the path given with --headers")
        }
        other => Failure::io(with_sources(&other), "check the files given"),
    })?;
    let subject = match (path, &v.answer) {
        (Some(_), _) => Subject::Document,
        (
            None,
            Answer::Ots {
                file_hash: Some(op),
                ..
            },
        ) => Subject::Digest(op.title()),
        (None, _) => Subject::Digest("SHA-256"),
    };
    let rendered = match &v.answer {
        Answer::Native { result, .. } => Rendering {
            subject,
            network,
            verbose: args.verbose,
        }
        .render(result)?,
        Answer::Ots { .. } => ots::render(&v, subject, args.verbose)?,
        _ => return Err(unknown_answer()),
    };
    let mut rendered = rendered;
    if let Some(out) = &args.report {
        let headline = rendered.text.lines().next().unwrap_or_default();
        let inputs = crate::report::Inputs {
            document: path,
            proof: &proof_path,
            checkpoints: args.checkpoints.as_deref(),
        };
        let page = crate::report::ReportData::new(&v, headline, inputs).to_html();
        write_report(out, &page, args.force, &[path, Some(proof_path.as_path())])?;
        line(&mut rendered.text, "report", &out.display().to_string());
    }
    Ok(rendered.finish(&v, args.json))
}

/// Writes the report page atomically (whole or not at all), refusing an
/// existing file without `--force`, and the document or proof always.
fn write_report(
    out: &Path,
    page: &str,
    force: bool,
    inputs: &[Option<&Path>],
) -> Result<(), Failure> {
    use btc_anchor::file::{write_atomic, WriteOptions};
    let hint = "name another file with --report (or add --force to replace a report)";
    if let Ok(existing) = out.canonicalize() {
        let clobbers_input = inputs
            .iter()
            .flatten()
            .any(|p| p.canonicalize().is_ok_and(|p| p == existing));
        if clobbers_input {
            return Err(Failure::usage(
                format!(
                    "--report {} names the document or the proof, which verify never modifies",
                    out.display()
                ),
                "name a new file for the report, e.g. REPORT.html",
            ));
        }
    }
    let options = WriteOptions {
        replace: force,
        durable: true,
    };
    write_atomic(out, page.as_bytes(), options).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::io(format!("{} exists", out.display()), hint)
        } else {
            Failure::io(
                format!(
                    "cannot write the report {}: {}",
                    out.display(),
                    with_sources(&e)
                ),
                hint,
            )
        }
    })
}

/// A verdict rendered as text, with its exit code and stderr lines; JSON
/// is the [`Verification`] itself.
pub struct Rendered {
    /// The text for stdout.
    pub text: String,
    /// The exit code.
    pub exit: Exit,
    /// The two stderr lines, if the answer is not a success.
    pub failure: Option<Failure>,
}

impl Rendered {
    /// The command's end: the text, or the verification as one JSON line.
    pub fn finish(self, v: &Verification, json: bool) -> Done {
        let stdout = if json {
            json_line(&serde_json::to_value(v).unwrap_or(Value::Null))
        } else {
            self.text
        };
        Done {
            stdout,
            exit: self.exit,
            failure: self.failure,
        }
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

/// Opens the document, refusing a folder.
pub fn open_document(path: &Path) -> Result<File, Failure> {
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

/// The proof's path and the hint for when it cannot be read.
fn find_proof(args: &VerifyArgs) -> Result<(PathBuf, String), Failure> {
    match (&args.proof, args.document.first()) {
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

/// A headers file given with --headers that cannot be used: unreadable
/// (exit 4), or read and found wrong (exit 1). Shared by `seal` and the
/// verification of many documents, which need a good one before anything
/// else.
pub fn headers_failure(e: &HeaderSourceError, network: Network) -> Failure {
    if e.is_io() {
        Failure::io(with_sources(e), "check the path given with --headers")
    } else {
        Failure::invalid(
            with_sources(e),
            format!(
                "--headers needs a file of raw 80-byte {network} block headers starting at the \
                 genesis block (or right after a built-in checkpoint), e.g. made with btc-anchor \
                 headers sync"
            ),
        )
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

/// What to tell the user to do about a rejected proof.
pub fn hint_for(e: &VerifyError, network: Network, subject: Subject) -> String {
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

pub fn proof_error_hint(e: &ProofError) -> String {
    match e {
        ProofError::UnsupportedVersion(_) => {
            "the proof was written by a newer btc-anchor: upgrade btc-anchor to check it".to_owned()
        }
        ProofError::NotAProof => {
            "pass the proof file (<DOCUMENT>.anchor.json or <DOCUMENT>.ots) with --proof, not the document".to_owned()
        }
        _ => "the proof file is damaged or is not a btc-anchor proof; use an intact copy (where it was stamped, btc-anchor proof DOCUMENT --out PROOF --force writes it again from the store)".to_owned(),
    }
}

/// Renders the answer on a btc-anchor proof as text.
struct Rendering {
    subject: Subject,
    network: Network,
    /// Every detail of a valid proof, not only the plain ones.
    verbose: bool,
}

impl Rendering {
    fn render(&self, result: &Result<Report, NativeFailure>) -> Result<Rendered, Failure> {
        match result {
            Ok(report) => self.report(report),
            Err(NativeFailure::Malformed(e)) => Ok(invalid(
                e.kind(),
                &with_sources(&e),
                proof_error_hint(e),
            )),
            Err(NativeFailure::Rejected(VerifyError::WrongNetwork { found, expected })) => {
                Ok(Rendered {
                    text: format!(
                        "WRONG NETWORK: the proof was made on {}, not {}: it is no evidence on {}\n",
                        chain_name(*found),
                        chain_name(*expected),
                        chain_name(*expected),
                    ),
                    exit: Exit::WrongNetwork,
                    failure: Some(Failure {
                        exit: Exit::WrongNetwork,
                        error: format!("the proof is for {found}, not {expected} (wrong-network)"),
                        hint: format!(
                            "if {found} is really intended, pass --network {found} (or set \
                             BTC_ANCHOR_NETWORK={found})"
                        ),
                    }),
                })
            }
            Err(NativeFailure::Rejected(e)) => Ok(invalid(
                e.kind(),
                &with_sources(&e),
                hint_for(e, self.network, self.subject),
            )),
            Err(_) => Err(unknown_answer()),
        }
    }

    fn report(&self, report: &Report) -> Result<Rendered, Failure> {
        let (exit, text, failure) = match (report.verdict, &report.block) {
            (Verdict::Valid, Some(block)) => (Exit::Valid, self.valid_text(report, block), None),
            (Verdict::Inconclusive(shortfall), Some(block)) => (
                Exit::Inconclusive,
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
                self.pending_text(report, stage, report.output),
                None,
            ),
            _ => return Err(unknown_answer()),
        };
        Ok(Rendered {
            text,
            exit,
            failure,
        })
    }

    /// The technical lines of valid (with --verbose) and inconclusive
    /// reports.
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
                "{} (approximate: consensus accepts block times up to {hours} hours ahead of \
                 real time, so at the latest the record existed at {})",
                utc::human(b.time),
                utc::human(b.not_later_than),
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
        let mut s =
            crate::render::valid_headline(&self.subject.noun(), b.time, r.network, b.height);
        if self.verbose {
            self.facts_text(&mut s, r, b);
        } else {
            line(&mut s, "record SHA-256", &r.digest.to_hex());
            line(
                &mut s,
                "block",
                &format!("{} at height {}", b.block_hash, b.height),
            );
        }
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
        if self.verbose {
            not_checked_text(&mut s, r);
        }
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
        line(&mut s, "why", &shortfall_text(why));
        line(&mut s, "next step", &inconclusive_hint(r.network, b));
        not_checked_text(&mut s, r);
        s
    }

    fn pending_text(&self, r: &Report, stage: Stage, output: Option<u32>) -> String {
        let noun = self.subject.noun();
        let headline = match (stage, r.batch_size, r.txid) {
            (Stage::Queued, _, _) => {
                format!(
                    "{noun} is stamped, and its proof file waits for its batch to confirm (the \
                     data directory's btc-anchor status shows where the batch is); nothing is \
                     proven yet"
                )
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
}

/// An INVALID answer (exit 1): the text, and the two stderr lines.
pub fn invalid(kind: &str, message: &str, hint: String) -> Rendered {
    Rendered {
        text: format!("INVALID: {}\n", escape_controls(message)),
        exit: Exit::Invalid,
        failure: Some(Failure::invalid(
            format!("the proof does not verify ({kind})"),
            hint,
        )),
    }
}

/// For an answer of a newer library than this program knows.
pub fn unknown_answer() -> Failure {
    Failure::invalid(
        "the verifier gave an answer this program does not know how to show",
        "use the btc-anchor program built with the same library version",
    )
}

fn batch_text(size: u64, root: &NodeHash) -> String {
    let records = if size == 1 { "record" } else { "records" };
    format!(
        "{size} {records} (as the proof states it), root {}",
        root.to_hex()
    )
}

/// What made a valid proof valid, in words.
pub(crate) fn evidence_text(r: &Report, b: &BlockFacts) -> String {
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

/// Why a proof is inconclusive, in words (the text's and the report's
/// "why").
pub(crate) fn shortfall_text(why: Shortfall) -> String {
    match why {
        Shortfall::FewHeaders { carried, needed } => format!(
            "{} after the block, {needed} needed, and no checkpoint reached",
            crate::render::count(u64::from(carried), "header")
        ),
        Shortfall::LittleWork => format!(
            "forging these headers takes less work than the 2^{MIN_FORGERY_WORK_LOG2:.0} hashes \
             btc-anchor requires"
        ),
        _ => "not enough evidence carried".to_owned(),
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
