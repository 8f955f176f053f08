//! `stamp --server` and `upgrade --server`: stamping through a calendar
//! server (`btc-anchor serve`) with the workflow's
//! [`btc_anchor_workflow::remote`], thin: the client is made, the library
//! called, its outcomes rendered.

use std::path::PathBuf;

use btc_anchor::text::{escape_controls, escape_path};
use btc_anchor_workflow::anchoring::{StampItem, StampSummary};
use btc_anchor_workflow::remote::{
    self, CalendarError, ClientOptions, HttpCalendar, RemoteError, UpgradeOutcome,
};
use serde_json::json;

use crate::anchoring::{nothing_to_do, other_network, Common, MISSING_PROOF, NOT_A_PROOF};
use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::json_line;

/// Environment variable holding the API key sent to the server.
pub const API_KEY_VAR: &str = "BTC_ANCHOR_API_KEY";

fn client(url: &str) -> Result<HttpCalendar, Failure> {
    let api_key = std::env::var(API_KEY_VAR)
        .ok()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty());
    HttpCalendar::new(
        url,
        ClientOptions {
            api_key,
            ..ClientOptions::default()
        },
    )
    .map_err(|e| failure(RemoteError::Calendar(e)))
}

/// A remote failure as the CLI reports it.
fn failure(e: RemoteError) -> Failure {
    let message = with_sources(&e);
    let (exit, hint) = match &e {
        RemoteError::Calendar(CalendarError::BadUrl { .. }) => (
            Exit::Usage,
            "give the server's root URL, e.g. https://calendar.example.org",
        ),
        RemoteError::Calendar(CalendarError::Insecure { .. }) => (
            Exit::Usage,
            "use https:// (a server elsewhere sits behind TLS), or run the client on the server's machine",
        ),
        RemoteError::Calendar(CalendarError::Unauthorized) => (
            Exit::Network,
            "set BTC_ANCHOR_API_KEY to the key the server's operator gave you",
        ),
        RemoteError::Calendar(CalendarError::Unavailable { .. }) => (
            Exit::Network,
            "nothing was stamped there; try again later, or ask the server's operator",
        ),
        RemoteError::Calendar(CalendarError::RateLimited { .. }) => (
            Exit::Network,
            "wait, then run the same command again: what was stamped stays stamped",
        ),
        RemoteError::WrongNetwork { .. } => (
            Exit::Usage,
            "give the server's network with --network (or BTC_ANCHOR_NETWORK), or use another server",
        ),
        RemoteError::WriteProof { .. } => (
            Exit::Io,
            "fix the folder's permissions and run the same command again",
        ),
        _ => (
            Exit::Network,
            "check the URL and that the server is running; run the same command again",
        ),
    };
    Failure {
        exit,
        error: message,
        hint: hint.to_owned(),
    }
}

/// Stamps `items` through the server at `url`.
pub fn stamp(common: &Common, url: &str, items: &[StampItem]) -> Result<StampSummary, Failure> {
    let network = common.config()?.network;
    let mut cal = client(url)?;
    remote::stamp(&mut cal, network, items).map_err(failure)
}

/// `upgrade --server URL PATH...`.
pub fn upgrade(common: &Common, url: &str, paths: &[PathBuf], json: bool) -> Result<Done, Failure> {
    if paths.is_empty() {
        return Err(Failure::usage(
            "upgrade --server needs the proofs to complete",
            "give the proof files, documents or folders stamped with stamp --server",
        ));
    }
    let network = common.config()?.network;
    let files =
        remote::proof_files(paths).map_err(|e| Failure::io(with_sources(&e), "check the path"))?;
    let mut cal = client(url)?;
    let outcomes = remote::upgrade(&mut cal, network, &files).map_err(failure)?;
    let count = |f: fn(&UpgradeOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let completed = count(|o| matches!(o, UpgradeOutcome::Completed { .. }));
    let waiting = count(|o| matches!(o, UpgradeOutcome::Waiting { .. }));
    let complete = count(|o| matches!(o, UpgradeOutcome::AlreadyComplete));
    let bad = count(|o| {
        matches!(
            o,
            UpgradeOutcome::Unknown | UpgradeOutcome::Refused(_) | UpgradeOutcome::NotAProof
        )
    });
    if completed + waiting + bad == 0 {
        return Ok(nothing_to_do(
            &format!("nothing to upgrade: no pending proof found ({complete} complete already)"),
            json,
        ));
    }
    let describe = |o: &UpgradeOutcome| -> (&'static str, String) {
        match o {
            UpgradeOutcome::Completed { height } => {
                ("completed", format!("complete: in Bitcoin block {height}"))
            }
            UpgradeOutcome::AlreadyComplete => ("complete", "complete already".to_owned()),
            UpgradeOutcome::Waiting { stage, txid } => (
                "waiting",
                match txid {
                    Some(t) => format!("{stage} at the server (transaction {t})"),
                    None => format!("{stage} at the server"),
                },
            ),
            UpgradeOutcome::Unknown => (
                "unknown",
                "the server does not know this record (stamped through another server?)".to_owned(),
            ),
            UpgradeOutcome::Missing => ("missing", MISSING_PROOF.to_owned()),
            UpgradeOutcome::OtherNetwork { network } => ("other-network", other_network(*network)),
            UpgradeOutcome::NotAProof => ("not-a-proof", NOT_A_PROOF.to_owned()),
            UpgradeOutcome::Refused(r) => (
                "refused",
                format!("{}; the file is left as it was", with_sources(r)),
            ),
            _ => ("other", "not upgraded".to_owned()),
        }
    };
    let stdout = if json {
        json_line(&json!({
            "server": cal.url(),
            "completed": completed,
            "waiting": waiting,
            "complete_already": complete,
            "failed": bad,
            "proofs": files.iter().zip(&outcomes).map(|(p, o)| {
                let (result, detail) = describe(o);
                json!({"proof": p.display().to_string(), "result": result, "detail": detail,
                       "height": match o { UpgradeOutcome::Completed { height } => Some(*height), _ => None }})
            }).collect::<Vec<_>>(),
        }))
    } else {
        let mut out = String::new();
        for (p, o) in files.iter().zip(&outcomes) {
            if !matches!(o, UpgradeOutcome::AlreadyComplete) {
                out += &format!("{}: {}\n", escape_path(p), escape_controls(&describe(o).1));
            }
        }
        out += &format!(
            "{completed} completed, {waiting} waiting, {complete} complete already, {bad} failed\n"
        );
        out
    };
    if bad > 0 {
        return Ok(Done {
            stdout,
            exit: Exit::Partial,
            failure: Some(Failure {
                exit: Exit::Partial,
                error: format!(
                    "{bad} of the proofs could not be upgraded (each is named above, with why)"
                ),
                hint: "the files are left as they were; check the server URL for those named"
                    .to_owned(),
            }),
        });
    }
    Ok(Done::ok(stdout))
}
