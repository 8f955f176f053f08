//! `btc-anchor verify`: gathers the inputs, calls
//! [`btc_anchor::verify::verify`], and renders its answer.

use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::hash::{hash_file, RecordDigest};
use btc_anchor::headers::{EmbeddedOnly, HeaderSource, HeaderSourceError, HeadersFile, SourceKind};
use btc_anchor::merkle::NodeHash;
use btc_anchor::proof::{Proof, ProofError, Stage};
use btc_anchor::verify::{
    verify, BlockFacts, ChainCheck, Report, Verdict, VerifyError, VerifyOptions,
    MAX_FUTURE_BLOCK_TIME,
};
use clap::Args;
use serde_json::{json, Value};

use crate::outcome::{read_proof_file, Done, Exit, Failure};
use crate::render::{json_line, line};
use crate::{utc, NetworkArg};

/// Arguments of `btc-anchor verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The document the proof is about (read only, hashed with SHA-256)
    #[arg(
        value_name = "DOCUMENT",
        required_unless_present = "digest",
        conflicts_with = "digest"
    )]
    pub document: Option<PathBuf>,

    /// The proof file [default: <DOCUMENT>.anchor.json]
    #[arg(long, value_name = "FILE")]
    pub proof: Option<PathBuf>,

    /// Check the document's SHA-256 digest (64 hex characters) instead of
    /// the document itself; needs --proof
    #[arg(long, value_name = "HEX", value_parser = parse_digest, requires = "proof")]
    pub digest: Option<RecordDigest>,

    /// Also check that the block is in the best chain of this file of raw
    /// 80-byte headers from the genesis block (e.g. a node's headers)
    #[arg(long, value_name = "FILE")]
    pub headers: Option<PathBuf>,

    /// The network the proof must be on
    #[arg(long, value_name = "NAME", value_enum, default_value_t = NetworkArg::Bitcoin)]
    pub network: NetworkArg,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

fn parse_digest(s: &str) -> Result<RecordDigest, String> {
    s.parse::<RecordDigest>().map_err(|e| e.to_string())
}

/// What the proof is checked against, for wording.
#[derive(Debug, Clone, Copy)]
enum Subject {
    Document,
    Digest,
}

impl Subject {
    fn noun(self) -> &'static str {
        match self {
            Subject::Document => "this document",
            Subject::Digest => "the document with this SHA-256",
        }
    }
}

/// Runs `verify`.
pub fn run(args: &VerifyArgs) -> Result<Done, Failure> {
    let network = Network::from(args.network);
    let (digest, subject) = match (&args.document, &args.digest) {
        (Some(path), None) => (hash_document(path)?, Subject::Document),
        (None, Some(digest)) => (*digest, Subject::Digest),
        // clap enforces exactly one of the two; kept total all the same.
        _ => return Err(Failure {
            exit: Exit::Usage,
            error: "give either a DOCUMENT or --digest HEX".to_owned(),
            hint:
                "usage: btc-anchor verify DOCUMENT, or btc-anchor verify --digest HEX --proof FILE"
                    .to_owned(),
        }),
    };
    let (proof_path, proof_hint) = match (&args.proof, &args.document) {
        (Some(p), _) => (p.clone(), "check the path given with --proof".to_owned()),
        (None, Some(doc)) => (
            default_proof_path(doc),
            format!(
                "the proof is looked for next to the document as {}; give its path with --proof FILE",
                default_proof_path(doc).display()
            ),
        ),
        (None, None) => {
            return Err(Failure {
                exit: Exit::Usage,
                error: "--digest needs --proof".to_owned(),
                hint: "usage: btc-anchor verify --digest HEX --proof FILE".to_owned(),
            })
        }
    };
    let bytes = read_proof_file(&proof_path, &proof_hint)?;

    let out = Rendering {
        subject,
        digest,
        network,
        headers: args.headers.as_deref(),
        json: args.json,
    };
    let proof = match Proof::from_json(&bytes) {
        Ok(p) => p,
        Err(e) => return Ok(out.malformed(&e)),
    };

    let options = VerifyOptions { network };
    let headers_file;
    // A proof for another network is refused by `verify` before the source
    // is asked anything; opening the headers file for the network asked for
    // would only hide that clearer reason behind a genesis mismatch.
    let source: &dyn HeaderSource = match &args.headers {
        Some(path) if proof.network == network => match HeadersFile::open(path, network) {
            Ok(f) => {
                headers_file = f;
                &headers_file
            }
            Err(HeaderSourceError::Read { path, source }) => {
                return Err(Failure::io(
                    format!("cannot read headers file {}: {source}", path.display()),
                    "check the path given with --headers",
                ))
            }
            Err(e) => return Ok(out.rejected(&proof, &VerifyError::from(e))),
        },
        _ => &EmbeddedOnly,
    };

    match verify(&proof, &digest, source, &options) {
        Ok(report) => out.report(&proof, &report),
        Err(e) => Ok(out.rejected(&proof, &e)),
    }
}

fn hash_document(path: &Path) -> Result<RecordDigest, Failure> {
    hash_file(path).map_err(|e| {
        Failure::io(
            e.to_string(),
            "check the document's path; to check a bare SHA-256 digest use --digest HEX --proof FILE",
        )
    })
}

/// `<DOCUMENT>.anchor.json`, next to the document.
fn default_proof_path(document: &Path) -> PathBuf {
    let mut name = document.as_os_str().to_owned();
    name.push(".anchor.json");
    PathBuf::from(name)
}

/// "Bitcoin" for mainnet, "Bitcoin regtest" and so on for the others.
fn chain_name(network: Network) -> String {
    match network {
        Network::Bitcoin => "Bitcoin".to_owned(),
        other => format!("Bitcoin {other}"),
    }
}

fn source_json(kind: &SourceKind) -> (&'static str, Value) {
    match kind {
        SourceKind::EmbeddedOnly => ("embedded", Value::Null),
        SourceKind::HeadersFile(p) => ("headers-file", json!(p.display().to_string())),
        SourceKind::Electrum(url) => ("electrum", json!(url)),
        _ => ("other", Value::Null),
    }
}

fn source_label(kind: &SourceKind) -> String {
    match kind {
        SourceKind::EmbeddedOnly => "the proof file".to_owned(),
        SourceKind::HeadersFile(p) => format!("headers file {}", p.display()),
        SourceKind::Electrum(url) => format!("Electrum server {url}"),
        _ => "the header source".to_owned(),
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
            Subject::Digest => "the proof is for another digest: check the digest and that the proof is the one made for that document".to_owned(),
        },
        VerifyError::NotInChain { .. } => "the block is not in the headers file's chain: update the headers file from a node you trust, or the block was reorganised out and the record must be anchored again".to_owned(),
        VerifyError::SourceTooShort { height, .. } => format!(
            "update the headers file so that it reaches at least height {height}"
        ),
        VerifyError::Source(_) => format!(
            "--headers needs a file of raw 80-byte {network} block headers starting at the genesis block, as exported from a node"
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
            "pass the proof file (<DOCUMENT>.anchor.json) with --proof, not the document".to_owned()
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
        self.invalid(e.kind(), &e.to_string(), None, proof_error_hint(e))
    }

    fn rejected(&self, proof: &Proof, e: &VerifyError) -> Done {
        self.invalid(
            e.kind(),
            &e.to_string(),
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

    fn report(&self, proof: &Proof, report: &Report) -> Result<Done, Failure> {
        let output = proof.anchor.as_ref().map(|a| a.output);
        let (exit, stage, text) = match (report.verdict, &report.block) {
            (Verdict::Valid, Some(block)) => (
                Exit::Valid,
                Stage::Confirmed,
                self.valid_text(report, block),
            ),
            (Verdict::Pending(stage), _) => (
                Exit::Pending,
                stage,
                self.pending_text(report, stage, output),
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
            failure: None,
        })
    }

    fn valid_text(&self, r: &Report, b: &BlockFacts) -> String {
        let mut s = format!(
            "VALID: {} existed no later than {} ({} block {})\n",
            self.subject.noun(),
            utc::human(b.not_later_than),
            chain_name(r.network),
            b.height
        );
        line(&mut s, "record SHA-256", &r.digest.to_hex());
        if let (Some(size), Some(root)) = (r.batch_size, &r.root) {
            line(&mut s, "batch", &batch_text(size, root));
        }
        line(
            &mut s,
            "transaction",
            &format!("{} (output {})", b.txid, b.output),
        );
        line(
            &mut s,
            "block",
            &format!("{} at height {}", b.block_hash, b.height),
        );
        let hours = MAX_FUTURE_BLOCK_TIME / 3600;
        line(
            &mut s,
            "block time",
            &format!(
                "{} (approximate: consensus accepts block times up to {hours} hours ahead, \
                 so the bound given is block time + {hours} h)",
                utc::human(b.time),
            ),
        );
        line(
            &mut s,
            "confirmations",
            &format!("{} carried in the proof", b.confirmations_in_proof),
        );
        line(
            &mut s,
            "work",
            &format!(
                "2^{:.1} expected hashes carried in the proof",
                b.work_in_proof.log2()
            ),
        );
        let chain = match &r.chain {
            ChainCheck::InBestChain { tip, confirmations } => format!(
                "in the best chain of {}: {} confirmations (tip at height {})",
                source_label(&r.source),
                confirmations,
                tip
            ),
            _ => "checked offline, from the proof file alone (--headers FILE also checks \
                  the block is in the best chain)"
                .to_owned(),
        };
        line(&mut s, "chain", &chain);
        for (i, item) in r.not_checked.iter().enumerate() {
            line(
                &mut s,
                if i == 0 { "not checked" } else { "" },
                item.describe(),
            );
        }
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
        let result = if exit == Exit::Valid {
            "valid"
        } else {
            "pending"
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
            "network": r.network.to_string(),
            "digest": r.digest.to_hex(),
            "stage": stage.to_string(),
            "batch_size": r.batch_size,
            "root": r.root.as_ref().map(|h| h.to_hex()),
            "txid": r.txid.map(|t| t.to_string()),
            "output": r.txid.and(output),
            "block": r.block.as_ref().map(block_json),
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
    format!("{size} {records}, root {}", root.to_hex())
}

fn block_json(b: &BlockFacts) -> Value {
    json!({
        "height": b.height,
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
    fn default_proof_path_appends() {
        assert_eq!(
            default_proof_path(Path::new("a/b.pdf")),
            PathBuf::from("a/b.pdf.anchor.json")
        );
    }

    #[test]
    fn chain_names() {
        assert_eq!(chain_name(Network::Bitcoin), "Bitcoin");
        assert_eq!(chain_name(Network::Regtest), "Bitcoin regtest");
        assert_eq!(chain_name(Network::Testnet4), "Bitcoin testnet4");
    }
}
