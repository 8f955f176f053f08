//! `btc-anchor info`: what a proof file (a btc-anchor proof or an
//! OpenTimestamps `.ots` file, told apart by content) holds, read but not
//! verified.

use std::path::PathBuf;

use btc_anchor::chain::header_hash;
use btc_anchor::commitment::find_commitment;
use btc_anchor::file::{read_any, ProofFile, ReadAnyError};
use btc_anchor::proof::{Anchor, BatchPath, BlockProof, Proof, ProofError, FORMAT_VERSION};
use clap::Args;
use serde_json::{json, Value};

use crate::outcome::{with_sources, Done, Failure};
use crate::render::{json_line, line};
use btc_anchor::utc;

use crate::ots;

/// Arguments of `btc-anchor info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The proof file to describe (read only): a btc-anchor proof or an
    /// OpenTimestamps .ots file, told apart by content
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// Runs `info`.
pub fn run(args: &InfoArgs) -> Result<Done, Failure> {
    const HINT: &str = "check the path of the proof file";
    // Opened and read once, whatever it is: a pipe or a FIFO can be read
    // only once.
    let proof = match read_any(&args.proof) {
        Ok(ProofFile::Native(proof)) => proof,
        Ok(ProofFile::Ots(ts)) => {
            return Ok(Done::ok(if args.json {
                json_line(&ots::info_json(&ts))
            } else {
                ots::info_text(&ts)
            }))
        }
        Err(ReadAnyError::Proof(e)) => {
            return Err(Failure::invalid(with_sources(&e), hint_for(&e)))
        }
        Err(ReadAnyError::Ots(e)) => {
            return Err(Failure::invalid(with_sources(&e), ots::ots_error_hint(&e)))
        }
        Err(e) if e.is_io() => return Err(Failure::io(with_sources(&e), HINT)),
        Ok(_) | Err(_) => {
            return Err(Failure::invalid(
                "the proof file is in a format this program does not know how to show",
                "use the btc-anchor program built with the same library version",
            ))
        }
    };
    let stdout = if args.json {
        json_line(&info_json(&proof))
    } else {
        info_text(&proof)
    };
    Ok(Done::ok(stdout))
}

fn hint_for(e: &ProofError) -> String {
    match e {
        ProofError::UnsupportedVersion(_) => {
            "the proof was written by a newer btc-anchor: upgrade btc-anchor to read it".to_owned()
        }
        ProofError::NotAProof => {
            "pass a proof file (<DOCUMENT>.anchor.json or <DOCUMENT>.ots), not the document"
                .to_owned()
        }
        _ => "the file is damaged or is not a btc-anchor proof; use an intact copy of the proof"
            .to_owned(),
    }
}

/// What the named output holds, in the words of [`find_commitment`].
enum Commitment {
    /// The output commits to these 32 bytes.
    Found([u8; 32]),
    /// The output is not a commitment, for this reason.
    Absent(String),
    /// The transaction has no such output.
    NoSuchOutput(usize),
}

fn commitment(anchor: &Anchor) -> Commitment {
    let index = anchor.output as usize;
    match anchor.tx.output.get(index) {
        None => Commitment::NoSuchOutput(anchor.tx.output.len()),
        Some(out) => match find_commitment(out.script_pubkey.as_bytes()) {
            Ok(bytes) => Commitment::Found(bytes),
            Err(e) => Commitment::Absent(with_sources(&e)),
        },
    }
}

fn info_text(p: &Proof) -> String {
    let mut s = format!(
        "btc-anchor proof, format version {FORMAT_VERSION}: described, not verified \
         (btc-anchor verify checks it)\n"
    );
    line(&mut s, "network", &p.network.to_string());
    line(&mut s, "stage", &p.stage().to_string());
    line(&mut s, "record SHA-256", &p.record.digest.to_hex());
    line(
        &mut s,
        "salt",
        &format!("{} bytes", p.record.salt.as_bytes().len()),
    );
    match &p.batch {
        None => line(&mut s, "batch", "none yet (queued)"),
        Some(b) => batch_text(&mut s, b),
    }
    if let (Some(a), Some(b)) = (&p.anchor, &p.batch) {
        anchor_text(&mut s, a, b);
    } else {
        line(&mut s, "transaction", "none yet");
    }
    s
}

fn batch_text(s: &mut String, b: &BatchPath) {
    line(
        s,
        "batch",
        &format!("index {} of {} records", b.index, b.size),
    );
    line(s, "batch root", &b.root.to_hex());
    line(s, "path", &format!("{} hashes", b.path.len()));
}

fn anchor_text(s: &mut String, a: &Anchor, batch: &BatchPath) {
    line(
        s,
        "transaction",
        &format!("{} (computed)", a.tx.compute_txid()),
    );
    let status = match commitment(a) {
        Commitment::Found(c) if c == batch.root.0 => "commits to the batch root".to_owned(),
        Commitment::Found(c) => format!("commits to {}, not the batch root", hex::encode(c)),
        Commitment::Absent(why) => format!("no commitment: {why}"),
        Commitment::NoSuchOutput(n) => {
            format!("does not exist (the transaction has {n} outputs)")
        }
    };
    line(
        s,
        "output",
        &format!("{} of {}: {status}", a.output, a.tx.output.len()),
    );
    match &a.block {
        None => line(s, "block", "none yet (broadcast, unconfirmed)"),
        Some(b) => block_text(s, b),
    }
}

fn block_text(s: &mut String, b: &BlockProof) {
    line(
        s,
        "block",
        &format!("{} at height {}", header_hash(&b.header), b.height),
    );
    line(s, "block time", &utc::human(b.header.time));
    line(
        s,
        "position",
        &format!(
            "transaction {} in the block, branch of {} hashes",
            b.tx_index,
            b.branch.len()
        ),
    );
    line(
        s,
        "headers after",
        &format!(
            "{} ({} blocks carried with the anchoring block)",
            b.headers_after.len(),
            b.headers_after.len() + 1
        ),
    );
}

fn info_json(p: &Proof) -> Value {
    json!({
        "verified": false,
        "format": "btc-anchor",
        "format_version": FORMAT_VERSION,
        "network": p.network.to_string(),
        "stage": p.stage().to_string(),
        "digest": p.record.digest.to_hex(),
        "salt_bytes": p.record.salt.as_bytes().len(),
        "batch": p.batch.as_ref().map(|b| json!({
            "size": b.size,
            "index": b.index,
            "root": b.root.to_hex(),
            "path_length": b.path.len(),
        })),
        "anchor": match (&p.anchor, &p.batch) {
            (Some(a), Some(b)) => anchor_json(a, b),
            _ => Value::Null,
        },
    })
}

fn anchor_json(a: &Anchor, batch: &BatchPath) -> Value {
    let commitment = match commitment(a) {
        Commitment::Found(c) => json!({
            "found": hex::encode(c),
            "matches_batch_root": c == batch.root.0,
            "problem": null,
        }),
        Commitment::Absent(why) => json!({
            "found": null,
            "matches_batch_root": false,
            "problem": why,
        }),
        Commitment::NoSuchOutput(n) => json!({
            "found": null,
            "matches_batch_root": false,
            "problem": format!("output {} does not exist (the transaction has {n} outputs)", a.output),
        }),
    };
    json!({
        "txid": a.tx.compute_txid().to_string(),
        "output": a.output,
        "outputs": a.tx.output.len(),
        "commitment": commitment,
        "block": a.block.as_ref().map(|b| json!({
            "height": b.height,
            "hash": header_hash(&b.header).to_string(),
            "time": b.header.time,
            "time_utc": utc::rfc3339(b.header.time),
            "tx_index": b.tx_index,
            "branch_length": b.branch.len(),
            "headers_after": b.headers_after.len(),
        })),
    })
}
