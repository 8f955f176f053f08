//! `btc-anchor verify DOCUMENT... | FOLDER`: every document against the
//! proof beside it ([`btc_anchor::file::locate_proof`]), in parallel, one
//! line each, then a summary; with `--json` one object holding each
//! file's [`Verification`] (`docs/verification.md`).

use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::file::{is_proof_file_name, locate_proof};
use btc_anchor::hash::{collect_files, WalkOptions};
use btc_anchor::headers::{EmbeddedOnly, HeaderSource, HeadersFile};
use btc_anchor::text::{escape_controls, escape_path, with_sources};
use btc_anchor::verification::{verify_file, Document, Headers, Outcome, Verification};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::outcome::{Done, Exit, Failure};
use crate::render::{chain_name, count, json_line};
use crate::verify::{connect_electrum, open_document, verify_options, VerifyArgs};

/// What became of one document.
enum Checked {
    /// Verified: the answer.
    Answer(Box<Verification>),
    /// Not verified: the document or its proof could not be read.
    Unread(Failure),
}

/// The outcomes counted in the summary, worst first: the exit code is the
/// worst one met.
const ORDER: [(&str, Exit); 8] = [
    ("invalid", Exit::Invalid),
    ("unreadable", Exit::Io),
    ("wrong network", Exit::WrongNetwork),
    ("inconclusive", Exit::Inconclusive),
    ("unverified", Exit::Unverified),
    ("pending", Exit::Pending),
    ("valid", Exit::Valid),
    ("other", Exit::Invalid),
];

impl Checked {
    /// The summary's name for it.
    fn name(&self) -> &'static str {
        match self {
            Checked::Unread(_) => "unreadable",
            Checked::Answer(v) => match v.outcome() {
                Outcome::Valid => "valid",
                Outcome::Invalid => "invalid",
                Outcome::Pending => "pending",
                Outcome::Unverified => "unverified",
                Outcome::Inconclusive => "inconclusive",
                Outcome::WrongNetwork => "wrong network",
                _ => "other",
            },
        }
    }
}

/// Runs `verify` on several documents or folders.
pub fn run(args: &VerifyArgs) -> Result<Done, Failure> {
    if args.proof.is_some() {
        return Err(Failure::usage(
            "--proof names the proof of one document",
            "give one DOCUMENT with --proof, or several (or a folder) to check each against the proof beside it",
        ));
    }
    let network = Network::from(args.network);
    let options = verify_options(network, args.checkpoints.as_deref())?;
    let collected = collect_files(&args.document, WalkOptions::default())
        .map_err(|e| Failure::io(with_sources(&e), "check the paths given"))?;
    let mut documents: Vec<PathBuf> = collected
        .files
        .into_iter()
        .filter(|f| !is_proof_file_name(f))
        .collect();
    // A path named on the command line that is not a document (a link, a
    // pipe, a device) is reported, never passed over in silence; those met
    // inside folders are left out as a folder stamp leaves them.
    let named_skips: Vec<(PathBuf, String)> = collected
        .skipped
        .into_iter()
        .filter(|(p, _)| args.document.contains(p))
        .map(|(p, reason)| (p, format!("not verified: {reason}")))
        .collect();
    if documents.is_empty() && named_skips.is_empty() {
        return Err(Failure::io(
            "no document found to verify",
            "give documents, or folders holding them next to their proofs",
        ));
    }
    // One header source for all, opened once.
    let file;
    let server;
    let source: &(dyn HeaderSource + Sync) = match (&args.headers, &args.electrum) {
        (Some(path), _) => {
            file = HeadersFile::open(path, network)
                .map_err(|e| crate::verify::headers_failure(&e, network))?;
            &file
        }
        (None, Some(url)) => {
            server = connect_electrum(url, network)?;
            &server
        }
        (None, None) => &EmbeddedOnly,
    };
    let headers = match (&args.headers, &args.electrum) {
        (None, None) => None,
        _ => Some(source),
    };
    let mut results: Vec<Checked> = documents
        .par_iter()
        .map(|doc| check_one(doc, headers, &options))
        .collect();
    for (path, why) in named_skips {
        documents.push(path);
        results.push(Checked::Unread(Failure::io(why, "")));
    }

    let stdout = if args.json {
        json_report(&documents, &results)
    } else {
        text_report(&documents, &results)
    };
    let worst = ORDER
        .iter()
        .find(|(name, _)| results.iter().any(|r| r.name() == *name))
        .map_or(Exit::Valid, |(_, exit)| *exit);
    let failure = (worst != Exit::Valid).then(|| Failure {
        exit: worst,
        error: format!(
            "not every document verified: {}",
            summary_counts(&results).join(", ")
        ),
        hint: "each document's line says what is wrong; verify one alone for the details and what to do".to_owned(),
    });
    Ok(Done {
        stdout,
        exit: worst,
        failure,
    })
}

fn check_one(
    doc: &Path,
    headers: Option<&(dyn HeaderSource + Sync)>,
    options: &btc_anchor::VerifyOptions,
) -> Checked {
    let mut file = match open_document(doc) {
        Ok(f) => f,
        Err(f) => return Checked::Unread(f),
    };
    let headers = match headers {
        Some(s) => Headers::Source(s),
        None => Headers::ProofOnly,
    };
    let proof = locate_proof(doc);
    match verify_file(&proof, Document::Content(&mut file), headers, options) {
        Ok(v) => Checked::Answer(Box::new(v)),
        Err(e) => Checked::Unread(Failure::io(with_sources(&e), "")),
    }
}

fn summary_counts(results: &[Checked]) -> Vec<String> {
    ORDER
        .iter()
        .rev()
        .filter_map(|(name, _)| {
            let n = results.iter().filter(|r| r.name() == *name).count();
            (n > 0).then(|| format!("{n} {name}"))
        })
        .collect()
}

fn text_report(documents: &[PathBuf], results: &[Checked]) -> String {
    let mut out = String::new();
    for (doc, r) in documents.iter().zip(results) {
        let detail = match r {
            Checked::Unread(f) => f.error.clone(),
            Checked::Answer(v) => answer_detail(v),
        };
        out += &format!(
            "{:<13} {}  ({})\n",
            r.name().to_uppercase(),
            escape_path(doc),
            escape_controls(&detail)
        );
    }
    out += &format!(
        "{}: {}\n",
        count(documents.len() as u64, "document"),
        summary_counts(results).join(", ")
    );
    out
}

/// The short detail of one answer.
fn answer_detail(v: &Verification) -> String {
    use btc_anchor::verification::Answer;
    let block = match &v.answer {
        Answer::Native { result: Ok(r), .. } => r.block.as_ref().map(|b| (b.height, b.time)),
        Answer::Ots { result: Ok(r), .. } => match r.verdict {
            btc_anchor::OtsVerdict::Valid { height, time, .. } => Some((height, time)),
            _ => None,
        },
        _ => None,
    };
    match (v.outcome(), block, v.reason()) {
        (Outcome::Valid, Some((height, time)), _) => format!(
            "existed by {}, {} block {height}",
            btc_anchor::utc::plain(time),
            chain_name(v.network)
        ),
        (_, _, Some(reason)) => match v.error() {
            Some(e) => format!("{reason}: {}", with_sources(e)),
            None => reason.to_owned(),
        },
        (Outcome::Inconclusive, Some((height, _)), _) => format!(
            "block {height}: the file alone is too weak evidence; check it with --headers or --electrum"
        ),
        (Outcome::Unverified, _, _) => "a header source is needed (--headers FILE)".to_owned(),
        _ => match &v.answer {
            Answer::Native { stage: Some(s), .. } => format!("the proof is {s}"),
            _ => "no Bitcoin attestation yet".to_owned(),
        },
    }
}

fn json_report(documents: &[PathBuf], results: &[Checked]) -> String {
    let files: Vec<Value> = documents
        .iter()
        .zip(results)
        .map(|(doc, r)| match r {
            Checked::Answer(v) => json!({
                "path": doc.display().to_string(),
                "verification": serde_json::to_value(v.as_ref()).unwrap_or(Value::Null),
                "error": null,
            }),
            Checked::Unread(f) => json!({
                "path": doc.display().to_string(),
                "verification": null,
                "error": f.error,
            }),
        })
        .collect();
    let mut summary = serde_json::Map::new();
    for (name, _) in ORDER.iter().rev() {
        let n = results.iter().filter(|r| r.name() == *name).count();
        summary.insert(name.replace(' ', "_"), json!(n));
    }
    json_line(&json!({
        "documents": documents.len(),
        "summary": summary,
        "files": files,
    }))
}
