//! `btc-anchor verify FILE` on an audit log's event proof
//! (`docs/audit-log.md` §15), told apart by its format marker: verified
//! offline with [`btc_anchor_log::event_proof::EventProof::verify`], the
//! anchor against the same header sources as every other proof.

use std::io::Read as _;
use std::path::Path;

use btc_anchor::bitcoin::Network;
use btc_anchor::verification::{Answer, Headers, Outcome, Verification, VerifyFileError};
use btc_anchor::verify::{Report, MAX_FUTURE_BLOCK_TIME};
use btc_anchor_log::event_proof::{
    is_event_proof, EventProof, EventProofError, EventProofVerifyError, VerifiedEvent,
    MAX_EVENT_PROOF_LEN,
};
use btc_anchor_log::note::Verifier;
use serde_json::{json, Value};

use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::{chain_name, json_line, line, source_label, weight_note};
use crate::verify::{connect_electrum, verify_options, VerifyArgs};

/// The event proof `verify` was given, when its one DOCUMENT is one (and
/// neither --proof nor --digest is given).
pub fn candidate(args: &VerifyArgs) -> Option<&Path> {
    let [path] = args.document.as_slice() else {
        return None;
    };
    if args.proof.is_some() || args.digest.is_some() {
        return None;
    }
    let mut head = [0u8; 32];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .ok()?;
    is_event_proof(&head[..n]).then_some(path.as_path())
}

/// Where the log's key came from: the command line, or the file itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeySource {
    Given,
    ProofFile,
}

const GIVEN_KEY: &str = "the log's key, as given with --vkey";
const FILE_KEY: &str = "the log's key as the proof file names it: anyone can make a log under any name, so this shows only that the file is consistent with that key; give --vkey with the key the clinic published to check it is theirs";

/// Verifies the event proof at `path`.
pub fn run(args: &VerifyArgs, path: &Path) -> Result<Done, Failure> {
    let bytes = read(path)?;
    let network = Network::from(args.network);
    let proof = match EventProof::parse(&bytes) {
        Ok(p) => p,
        Err(e) => return Ok(rejected(args, parse_kind(&e), &with_sources(&e), None)),
    };
    let (key, source) = match &args.vkey {
        Some(v) => (crate::audit_log::read_vkey(v)?, KeySource::Given),
        None => (proof.vkey.clone(), KeySource::ProofFile),
    };
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
    let verified = match proof.verify(&key, headers, &options) {
        Ok(v) => v,
        Err(EventProofVerifyError::Anchor(VerifyFileError::Headers(e))) => {
            return Err(Failure::io(
                with_sources(&e),
                "check the path given with --headers",
            ))
        }
        Err(e) => {
            return Ok(rejected(
                args,
                verify_kind(&e),
                &with_sources(&e),
                Some((&key, source)),
            ))
        }
    };
    Ok(render(args, &verified, &key, source))
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    let hint = "check the path of the event proof";
    let f = std::fs::File::open(path)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", path.display()), hint))?;
    let mut bytes = Vec::new();
    f.take(MAX_EVENT_PROOF_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", path.display()), hint))?;
    Ok(bytes)
}

/// The stable name of a parse failure.
fn parse_kind(e: &EventProofError) -> &'static str {
    match e {
        EventProofError::TooLarge { .. } => "too-large",
        EventProofError::NotEventProof => "not-event-proof",
        EventProofError::UnknownVersion { .. } => "unknown-version",
        EventProofError::BadLine { .. } => "bad-line",
        EventProofError::BadVkey(_) => "bad-vkey",
        EventProofError::TooLong { .. } => "too-long",
        EventProofError::Truncated { .. } => "truncated",
        EventProofError::BadHash { .. } => "bad-hash",
        EventProofError::TlogProof(_) => "bad-inclusion-proof",
        EventProofError::TrailingBytes { .. } => "trailing-bytes",
        _ => "malformed",
    }
}

/// The stable name of a failed step of §15.2.
fn verify_kind(e: &EventProofVerifyError) -> &'static str {
    use btc_anchor_log::proof::ProofVerifyError;
    match e {
        EventProofVerifyError::EntryMismatch => "entry-mismatch",
        EventProofVerifyError::Inclusion(ProofVerifyError::Checkpoint(_)) => "bad-checkpoint",
        EventProofVerifyError::Inclusion(ProofVerifyError::Inclusion(_)) => "not-included",
        EventProofVerifyError::Inclusion(_) => "bad-opening",
        EventProofVerifyError::AnchoredCheckpoint(_) => "bad-anchored-checkpoint",
        EventProofVerifyError::AnchoredSmaller { .. } => "anchored-smaller",
        EventProofVerifyError::Consistency(_) => "inconsistent",
        _ => "anchor-unreadable",
    }
}

/// An event proof that fails a step of the log (exit 1).
fn rejected(
    args: &VerifyArgs,
    kind: &str,
    message: &str,
    key: Option<(&Verifier, KeySource)>,
) -> Done {
    let hint = match kind {
        "bad-checkpoint" | "bad-anchored-checkpoint" if args.vkey.is_some() => {
            "the proof is not signed by the key given with --vkey: it is of another log, or forged"
        }
        "unknown-version" => "the proof was written by a newer btc-anchor: upgrade btc-anchor to check it",
        _ => "the proof has been altered or damaged and proves nothing; ask the clinic for an intact copy",
    };
    let stdout = if args.json {
        json_line(&json!({
            "result": "invalid",
            "format": "btc-anchor-event-proof",
            "reason": kind,
            "message": message,
            "network": Network::from(args.network).to_string(),
            "origin": key.map(|(k, _)| k.name().to_owned()),
            "vkey": key.map(|(k, _)| k.to_vkey()),
            "vkey_from": key.map(|(_, s)| key_source_name(s)),
            "index": Value::Null,
            "entry": Value::Null,
            "event": Value::Null,
            "checkpoint_size": Value::Null,
            "anchored_size": Value::Null,
            "height": Value::Null,
            "not_later_than": Value::Null,
            "anchor": Value::Null,
            "trusted": Vec::<String>::new(),
        }))
    } else {
        format!("INVALID: {}\n", btc_anchor::text::escape_controls(message))
    };
    Done {
        stdout,
        exit: Exit::Invalid,
        failure: Some(Failure::invalid(
            format!("the event proof does not verify ({kind})"),
            hint,
        )),
    }
}

fn key_source_name(s: KeySource) -> &'static str {
    match s {
        KeySource::Given => "given",
        KeySource::ProofFile => "proof-file",
    }
}

/// The anchor's report, when it was checked to a report.
fn report(v: &Verification) -> Option<&Report> {
    match &v.answer {
        Answer::Native { result: Ok(r), .. } => Some(r),
        _ => None,
    }
}

fn render(args: &VerifyArgs, ev: &VerifiedEvent, key: &Verifier, source: KeySource) -> Done {
    let v = &ev.anchor;
    let network = v.network;
    let outcome = v.outcome();
    let origin = key.name();
    let block = report(v).and_then(|r| r.block.as_ref());
    let mut trusted = vec![match source {
        KeySource::Given => GIVEN_KEY.to_owned(),
        KeySource::ProofFile => FILE_KEY.to_owned(),
    }];
    trusted.push(format!(
        "the block, as far as {} shows it",
        source_label(&v.source)
    ));
    let exit = match outcome {
        Outcome::Valid => Exit::Valid,
        Outcome::Pending => Exit::Pending,
        Outcome::Inconclusive => Exit::Inconclusive,
        Outcome::WrongNetwork => Exit::WrongNetwork,
        _ => Exit::Invalid,
    };
    let subject = if ev.event.is_some() {
        "the event"
    } else {
        "the entry"
    };
    let mut s = match (outcome, block) {
        (Outcome::Valid, Some(b)) => format!(
            "VALID: {subject} was entry {} of the log {origin}, which had {} entries no later than {} ({} block {}, time accurate to about {} hours{})\n",
            ev.index,
            ev.anchored.size,
            btc_anchor::utc::plain(b.time),
            chain_name(network),
            b.height,
            MAX_FUTURE_BLOCK_TIME / 3600,
            weight_note(network),
        ),
        (Outcome::Pending, _) => format!(
            "PENDING: {subject} was entry {} of the log {origin}, whose checkpoint of {} entries is stamped but not yet in a block: nothing is proven about time yet\n",
            ev.index, ev.anchored.size
        ),
        (Outcome::Inconclusive, Some(b)) => format!(
            "INCONCLUSIVE: {subject} was entry {} of the log {origin}, but the proof file alone does not show that {} block {} is in the real chain\n",
            ev.index,
            chain_name(network),
            b.height
        ),
        (Outcome::WrongNetwork, _) => format!(
            "WRONG NETWORK: the log's checkpoint was anchored on another network than {}: it is no evidence on {}\n",
            chain_name(network),
            chain_name(network)
        ),
        _ => format!(
            "INVALID: the anchor proof of the log's checkpoint does not verify ({})\n",
            v.reason().unwrap_or("invalid")
        ),
    };
    match &ev.event {
        Some(e) => line(
            &mut s,
            "event",
            &format!(
                "{} at {} (record {}, actor {})",
                e.kind.as_str(),
                btc_anchor::utc::plain(u32::try_from(e.time).unwrap_or(u32::MAX)),
                e.record.to_hex(),
                e.actor.to_hex()
            ),
        ),
        None => line(
            &mut s,
            "event",
            "not disclosed (the proof holds its commitment only)",
        ),
    }
    line(&mut s, "entry", &ev.entry.to_hex());
    line(
        &mut s,
        "checkpoint",
        &format!(
            "{} entries, signed by the log's key, the entry included",
            ev.checkpoint.size
        ),
    );
    line(
        &mut s,
        "anchored",
        &format!(
            "the checkpoint of {} entries, signed by the log's key and consistent with it",
            ev.anchored.size
        ),
    );
    if let Some(b) = block {
        line(
            &mut s,
            "block",
            &format!("{} at height {}", b.block_hash, b.height),
        );
    }
    for (i, t) in trusted.iter().enumerate() {
        line(&mut s, if i == 0 { "trusted" } else { "" }, t);
    }
    let failure = match exit {
        Exit::Valid | Exit::Pending => None,
        Exit::Inconclusive => Some(Failure {
            exit,
            error: "the proof file alone does not show that the anchor's block is in the real Bitcoin chain".into(),
            hint: "check it against the real chain with --headers FILE (made with btc-anchor headers sync) or --electrum URL".into(),
        }),
        Exit::WrongNetwork => Some(Failure {
            exit,
            error: format!("the anchor is not on {network} (wrong-network)"),
            hint: "pass --network with the network the log anchors on".into(),
        }),
        _ => Some(Failure::invalid(
            format!(
                "the event proof does not verify (anchor: {})",
                v.reason().unwrap_or("invalid")
            ),
            "the anchor proof is not of this checkpoint, or it has been altered: ask the clinic for an intact copy",
        )),
    };
    let stdout = if args.json {
        json_line(&json!({
            "result": outcome,
            "format": "btc-anchor-event-proof",
            "reason": v.reason(),
            "message": v.error().map(btc_anchor::text::with_sources),
            "network": network.to_string(),
            "origin": origin,
            "vkey": key.to_vkey(),
            "vkey_from": key_source_name(source),
            "index": ev.index,
            "entry": ev.entry.to_hex(),
            "event": ev.event.as_ref().and_then(|e| e.to_canonical_json().ok())
                .and_then(|j| serde_json::from_slice::<Value>(&j).ok()),
            "checkpoint_size": ev.checkpoint.size,
            "anchored_size": ev.anchored.size,
            "height": v.block_height(),
            "not_later_than": v.not_later_than().map(btc_anchor::utc::rfc3339),
            "anchor": serde_json::to_value(v).unwrap_or(Value::Null),
            "trusted": trusted,
        }))
    } else {
        s
    };
    Done {
        stdout,
        exit,
        failure,
    }
}
