//! `btc-anchor watch`: parses the options, runs the library's watcher
//! ([`btc_anchor_workflow::watch`]) until SIGTERM or SIGINT, and renders
//! each of its events as one line on stderr (or one JSON object on stdout
//! with `--json`).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use btc_anchor::text::{escape_controls, escape_path, with_sources};
use btc_anchor_electrum::ConnectOptions;
use btc_anchor_log::writer::{LogError, LogWriter};
use btc_anchor_workflow::anchoring::{AnchorStep, AnchoringError, FeeOptions};
use btc_anchor_workflow::watch::{
    ElectrumWallet, NotStampedReason, WatchError, WatchEvent, WatchOptions, Watcher,
};
use clap::Args;
use serde_json::{json, Value};

use crate::anchoring::{anchoring_failure, Common};
use crate::outcome::{Done, Failure};
use crate::render::{count, json_line};

/// `btc-anchor watch`
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    common: Common,
    /// Folders to watch, recursively (hidden entries and symbolic links
    /// skipped, as by stamp)
    #[arg(required_unless_present = "logs", value_name = "DIR")]
    folders: Vec<PathBuf>,
    /// Anchor once the oldest queued record has waited this long (30s,
    /// 10m, 1h30m) [default: 10m, unless only --after is given]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    every: Option<Duration>,
    /// Anchor once this many records are queued
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    after: Option<u64>,
    /// How long a file's size and modification time must stay the same
    /// before it is stamped (it is still being written until then)
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    settle: Duration,
    /// How often to look for the confirmations of anchored batches
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    upgrade_every: Duration,
    /// The longest wait before a failing step (server unreachable, no
    /// funds) is tried again; the wait doubles from 1s up to this
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    retry_max: Duration,
    /// Fee rate in sat/vB [default: the server's estimate]
    #[arg(long, value_name = "SAT_PER_VB")]
    fee_rate: Option<f64>,
    /// Refuse a fee above this many satoshis [default: max_fee_sat in
    /// config.toml]
    #[arg(long, value_name = "SATS")]
    max_fee: Option<u64>,
    /// Also stamp hidden files and files in hidden folders
    #[arg(long)]
    include_hidden: bool,
    /// Show file paths in the log (file paths at a clinic may name
    /// patients: shown only when asked)
    #[arg(long)]
    labels: bool,
    /// An audit log (btc-anchor log init) to checkpoint on a schedule:
    /// its public/checkpoints folder is watched too, so that each new
    /// checkpoint is stamped and anchored (repeatable)
    #[arg(long = "log", value_name = "DIR")]
    logs: Vec<PathBuf>,
    /// With --log: sign a checkpoint of each log this often, when it grew
    /// [default: 10m]; anchoring then defaults to hourly
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "logs")]
    checkpoint_every: Option<Duration>,
    /// One JSON object per event on stdout, instead of the log lines on
    /// stderr
    #[arg(long)]
    json: bool,
}

/// How often `--log` checkpoints each log by default.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(600);
/// How often the queue is anchored by default with `--log`: hourly, the
/// logs' anchoring cadence (`docs/audit-log.md` §13).
const LOG_ANCHOR_EVERY: Duration = Duration::from_secs(3600);

/// `watch --help`'s text after the options.
pub const WATCH_HELP: &str = "\
Files that appear or change in the folders are stamped once they have settled (an amended file
as a new version, its older proof kept as FILE.<16 hex digits>.anchor.json); proof files and
temporary files (*.tmp, *.part, *.crdownload, *.swp, *~, ~$*) never are. On start the folders are
scanned, so files that arrived while it was down are stamped too. The queue is anchored on
schedule, and the proofs completed as the batches confirm. A failing step (server unreachable)
is tried again, waiting longer each time; other commands can use the data directory between
its steps. With --log DIR it also signs a checkpoint of that audit log every --checkpoint-every
when the log grew, and stamps and anchors each one (docs/audit-log.md §13). SIGTERM or SIGINT
stops it once the step under way is finished. See docs/btc-anchor-watch.service for a systemd
unit.

Exit status:
  0  stopped by SIGTERM or SIGINT
  2  usage error: missing, unknown or conflicting arguments, or a bad setting in config.toml
  4  input/output error: a folder is missing or not a folder, or the data directory cannot be used
  6  server error: a malformed Electrum URL, plain tcp:// outside regtest, or a server on another
     network (a server that does not answer is waited for)
  7  wallet error: no wallet in the data directory
  8  busy: another btc-anchor watch is using the data directory";

/// Parses `500ms`, `30s`, `10m`, `1h30m`, `1d`: one or more numbers, each
/// with its unit.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration: write it as 500ms, 30s, 10m, 1h30m or 1d");
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
            "d" => Duration::from_secs(n.checked_mul(86_400).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = &rest[unit..];
    }
    Ok(total)
}

/// A duration as the options write it: `1h30m`, `10m`, `2s`, `500ms`.
fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out += &format!("{}{unit}", secs / size);
            secs %= size;
        }
    }
    out
}

pub fn run(args: &WatchArgs) -> Result<Done, Failure> {
    let c = &args.common;
    let data_dir = c.data_dir();
    let config = c.config()?;
    let url = config.electrum_url.clone().ok_or_else(|| {
        Failure::usage(
            "no Electrum server configured",
            format!(
                "pass --electrum ssl://HOST:PORT, or set electrum_url in {}",
                data_dir.join("config.toml").display()
            ),
        )
    })?;
    let backend = ElectrumWallet::new(
        url,
        ConnectOptions {
            allow_insecure: config.allow_insecure_tcp,
            timeout: Duration::from_secs(20),
        },
    );
    // Each log opens (or is being written by another process) before the
    // watch starts, and its published checkpoints are watched too.
    for dir in &args.logs {
        match LogWriter::open(dir) {
            Ok(_) | Err(LogError::Locked { .. }) => {}
            Err(e) => {
                return Err(Failure::io(
                    with_sources(&e),
                    "give --log the folder of an audit log (made by btc-anchor log init)",
                ))
            }
        }
    }
    let mut folders = args.folders.clone();
    folders.extend(
        args.logs
            .iter()
            .map(|d| d.join("public").join("checkpoints")),
    );
    let mut options = WatchOptions::new(folders);
    options.include_hidden = args.include_hidden;
    options.settle = args.settle;
    options.anchor_after = args.after.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    options.anchor_every = match (args.every, args.after) {
        (Some(every), _) => Some(every),
        (None, Some(_)) => None,
        (None, None) if !args.logs.is_empty() => Some(LOG_ANCHOR_EVERY),
        (None, None) => options.anchor_every,
    };
    options.upgrade_every = args.upgrade_every;
    options.retry_max = args.retry_max;
    options.fees = FeeOptions {
        fee_rate: args.fee_rate,
        max_fee_sat: args.max_fee,
    };
    let schedule = schedule_text(&options);
    // A first signal asks the watcher to stop after its step; a second
    // one, while it finishes, ends the process at once.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|e| {
                Failure::io(
                    format!("cannot handle signals: {e}"),
                    "run it again; this is not expected",
                )
            })?;
    }
    let watcher = Watcher::new(&data_dir, config, options, backend, &stop)
        .map_err(|e| watch_failure(e, &data_dir))?;
    let labels = args.labels;
    let json = args.json;
    let mut on_event = |event: &WatchEvent| {
        if json {
            print_json(&event_json(event, labels));
        } else if let Some(line) = event_text(event, labels, &schedule) {
            log(&line);
        }
        // The crash tests' hook (debug builds only): paused right after
        // the transaction is signed and stored, to be killed there.
        if let WatchEvent::Signed { batch_id, txid } = event {
            crate::anchoring::pause_hook(&AnchorStep::Signed {
                batch_id: *batch_id,
                txid: *txid,
            });
        }
    };
    let every = args.checkpoint_every.unwrap_or(CHECKPOINT_EVERY);
    let result = std::thread::scope(|s| {
        if !args.logs.is_empty() {
            s.spawn(|| checkpoint_logs(&args.logs, every, &stop, json));
        }
        let result = watcher.run(&stop, &mut on_event);
        // The checkpointer stops with the watcher, also when it failed.
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        result
    });
    result.map_err(|e| watch_failure(e, &data_dir))?;
    Ok(Done::ok(String::new()))
}

/// Signs a checkpoint of each log in `logs` every `every`, when it grew
/// ([`LogWriter::checkpoint_if_due`]), until `stop`; the watcher sees each
/// new `public/checkpoints/<N>` and stamps it. A log that another process
/// is writing is tried again the next round.
fn checkpoint_logs(logs: &[PathBuf], every: Duration, stop: &AtomicBool, json: bool) {
    use std::sync::atomic::Ordering;
    use std::time::Instant;
    let emit = |mut v: Value, line: String| {
        if json {
            v["time"] = btc_anchor::utc::rfc3339(
                u32::try_from(btc_anchor_workflow::store::now()).unwrap_or(u32::MAX),
            )
            .into();
            print_json(&v);
        } else {
            log(&line);
        }
    };
    while !stop.load(Ordering::SeqCst) {
        for dir in logs {
            let signed = LogWriter::open(dir).and_then(|mut w| {
                let note = w.checkpoint_if_due(every)?;
                Ok(note.map(|_| (w.origin().to_owned(), w.published())))
            });
            match signed {
                Ok(Some((origin, size))) => emit(
                    json!({"event": "checkpointed", "origin": origin, "size": size}),
                    format!("log {origin}: signed the checkpoint of size {size}"),
                ),
                Ok(None) => {}
                Err(LogError::Locked { .. }) => emit(
                    json!({"event": "busy", "step": "checkpoint"}),
                    format!(
                        "log {}: another process is writing it; checkpointing it next round",
                        escape_path(dir)
                    ),
                ),
                Err(e) => emit(
                    json!({"event": "failed", "step": "checkpoint", "error": with_sources(&e),
                           "retry_in_ms": u64::try_from(every.as_millis()).unwrap_or(u64::MAX)}),
                    format!(
                        "log {}: cannot checkpoint: {}; trying again in {}",
                        escape_path(dir),
                        with_sources(&e),
                        show_duration(every)
                    ),
                ),
            }
        }
        let next = Instant::now() + every;
        while !stop.load(Ordering::SeqCst) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(200).min(every));
        }
    }
}

fn watch_failure(e: WatchError, data_dir: &Path) -> Failure {
    match e {
        WatchError::Anchoring(AnchoringError::Wallet(w)) => {
            crate::anchoring::wallet_failure(w, data_dir)
        }
        WatchError::Anchoring(a) => anchoring_failure(a),
        WatchError::AlreadyWatching(_) => Failure {
            exit: crate::outcome::Exit::Busy,
            error: with_sources(&e),
            hint: "one watcher per data directory: stop the other one first (systemctl stop btc-anchor-watch)".to_owned(),
        },
        WatchError::Folder { .. } | WatchError::NotAFolder(_) => {
            Failure::io(with_sources(&e), "give folders that exist")
        }
        _ => Failure::io(
            with_sources(&e),
            "check the folders and the data directory, then start it again",
        ),
    }
}

fn schedule_text(o: &WatchOptions) -> String {
    let every = o
        .anchor_every
        .map(|d| format!("every {}", show_duration(d)));
    let after = o
        .anchor_after
        .map(|n| format!("after {}", count(n as u64, "record")));
    match (after, every) {
        (Some(a), Some(e)) => format!("{a} or {e}"),
        (Some(a), None) => a,
        (None, Some(e)) => e,
        (None, None) => "never".to_owned(),
    }
}

/// One log line on stderr, with the time (UTC) first.
fn log(line: &str) {
    use std::io::Write as _;
    let now = u32::try_from(btc_anchor_workflow::store::now()).unwrap_or(u32::MAX);
    let mut err = std::io::stderr().lock();
    // A log nobody reads (a closed stderr) does not stop the watcher.
    let _ = writeln!(
        err,
        "{} {}",
        btc_anchor::utc::rfc3339(now),
        // One line whatever a nested error's text holds.
        escape_controls(&line.split_whitespace().collect::<Vec<_>>().join(" "))
    );
}

fn print_json(v: &Value) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(json_line(v).as_bytes())
        .and_then(|()| out.flush());
}

/// `DIGEST`, and with labels ` PATH` after it.
fn named(digest: &btc_anchor::hash::RecordDigest, path: &Path, labels: bool) -> String {
    if labels {
        format!("sha256:{} {}", digest.to_hex(), escape_path(path))
    } else {
        format!("sha256:{}", digest.to_hex())
    }
}

/// What went wrong, without a path unless labels are shown: the messages
/// of errors about a proof file name it.
fn error_text(e: &AnchoringError, labels: bool) -> String {
    if labels {
        return with_sources(e);
    }
    match e {
        AnchoringError::WriteProof { source, .. } => format!("cannot write a proof file: {source}"),
        AnchoringError::ProofInvalid { source, .. } => {
            format!(
                "a proof built does not verify: {}",
                with_sources(source.as_ref())
            )
        }
        other => with_sources(other),
    }
}

fn reason_text(r: &NotStampedReason, labels: bool) -> String {
    match r {
        NotStampedReason::Unreadable(e) if labels => with_sources(e),
        NotStampedReason::Unreadable(e) => match std::error::Error::source(e) {
            Some(cause) => format!("the file cannot be read: {cause}"),
            None => "the file cannot be read".to_owned(),
        },
        NotStampedReason::ProofExists => {
            "its proof path holds a proof this data directory did not write, which is never overwritten".to_owned()
        }
        NotStampedReason::Failed(e) => error_text(e, labels),
        _ => "refused".to_owned(),
    }
}

fn event_text(event: &WatchEvent, labels: bool, schedule: &str) -> Option<String> {
    Some(match event {
        WatchEvent::Started {
            folders,
            files,
            queued,
            waiting,
        } => format!(
            "watching {}: {} found, {} queued, {} waiting; anchoring {schedule}",
            count(*folders as u64, "folder"),
            count(*files as u64, "file"),
            count(*queued as u64, "record"),
            if *waiting == 1 {
                "1 batch".to_owned()
            } else {
                format!("{waiting} batches")
            },
        ),
        WatchEvent::Stamped {
            path,
            digest,
            older: None,
        } => format!("stamped {}", named(digest, path, labels)),
        WatchEvent::Stamped {
            path,
            digest,
            older: Some(older),
        } => {
            let kept = if labels {
                format!(" (the older version's proof is kept as {})", escape_path(older))
            } else {
                " (the older version's proof is kept beside it)".to_owned()
            };
            format!("stamped a new version {}{kept}", named(digest, path, labels))
        }
        WatchEvent::ProofRewritten { path, digest } => format!(
            "stamped before, its missing proof written again: {}",
            named(digest, path, labels)
        ),
        WatchEvent::NotStamped { path, reason } => {
            let which = if labels {
                format!(" {}", escape_path(path))
            } else {
                String::new()
            };
            format!("not stamped{which}: {}", reason_text(reason, labels))
        }
        WatchEvent::Busy { step } => format!(
            "waiting to {step}: another btc-anchor command is using the data directory"
        ),
        WatchEvent::Signed { batch_id, txid } => {
            format!("batch {batch_id}: transaction {txid} signed and stored")
        }
        WatchEvent::Anchored(a) => format!(
            "anchored batch {}: {} in transaction {} ({} vB, fee {} sat){}",
            a.batch_id,
            count(a.size, "record"),
            a.txid,
            a.vsize,
            a.fee.to_sat(),
            if a.resumed {
                " (finished an interrupted run)"
            } else {
                ""
            }
        ),
        WatchEvent::Confirmed {
            batch_id,
            height,
            confirmations,
            min_depth,
        } => format!(
            "batch {batch_id}: in block {height}, {confirmations} of {min_depth} confirmations"
        ),
        WatchEvent::Completed {
            batch_id,
            height,
            proofs,
        } => format!(
            "batch {batch_id}: complete in block {height}; {} written",
            count(*proofs as u64, "proof")
        ),
        WatchEvent::Reorged { batch_id } => format!(
            "batch {batch_id}: its block left the best chain; following its transaction again"
        ),
        WatchEvent::Failed {
            step,
            error,
            retry_in,
        } => format!(
            "{step} failed: {}; trying again in {}",
            error_text(error, labels),
            show_duration(*retry_in)
        ),
        WatchEvent::Recovered { step } => format!("{step} works again"),
        WatchEvent::Rescan => {
            "the file notifications overflowed: scanning the folders again".to_owned()
        }
        WatchEvent::Stopping => {
            "stopping: the step under way is finished; files still settling are stamped on the next start".to_owned()
        }
        _ => return None,
    })
}

/// An event as one JSON object (`watch-event` in docs/cli-json.schema.json).
fn event_json(event: &WatchEvent, labels: bool) -> Value {
    let time = btc_anchor::utc::rfc3339(
        u32::try_from(btc_anchor_workflow::store::now()).unwrap_or(u32::MAX),
    );
    let path = |p: &Path| labels.then(|| p.display().to_string());
    let mut v = match event {
        WatchEvent::Started {
            folders,
            files,
            queued,
            waiting,
        } => {
            json!({"event": "started", "folders": folders, "files": files, "queued": queued, "waiting": waiting})
        }
        WatchEvent::Stamped {
            path: p,
            digest,
            older,
        } => json!({
            "event": if older.is_some() { "amended" } else { "stamped" },
            "digest": digest.to_hex(), "path": path(p),
            "older_proof": older.as_deref().and_then(path),
        }),
        WatchEvent::ProofRewritten { path: p, digest } => {
            json!({"event": "proof-rewritten", "digest": digest.to_hex(), "path": path(p)})
        }
        WatchEvent::NotStamped { path: p, reason } => json!({
            "event": "not-stamped", "path": path(p), "reason": reason_text(reason, labels),
        }),
        WatchEvent::Busy { step } => json!({"event": "busy", "step": step.to_string()}),
        WatchEvent::Signed { batch_id, txid } => {
            json!({"event": "signed", "batch": batch_id, "txid": txid.to_string()})
        }
        WatchEvent::Anchored(a) => json!({
            "event": "anchored", "batch": a.batch_id, "records": a.size,
            "txid": a.txid.to_string(), "fee_sat": a.fee.to_sat(), "vsize": a.vsize,
            "resumed": a.resumed,
        }),
        WatchEvent::Confirmed {
            batch_id,
            height,
            confirmations,
            min_depth,
        } => json!({
            "event": "confirmed", "batch": batch_id, "height": height,
            "confirmations": confirmations, "min_depth": min_depth,
        }),
        WatchEvent::Completed {
            batch_id,
            height,
            proofs,
        } => {
            json!({"event": "complete", "batch": batch_id, "height": height, "proofs_written": proofs})
        }
        WatchEvent::Reorged { batch_id } => json!({"event": "reorged", "batch": batch_id}),
        WatchEvent::Failed {
            step,
            error,
            retry_in,
        } => json!({
            "event": "failed", "step": step.to_string(), "error": error_text(error, labels),
            "retry_in_ms": u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
        }),
        WatchEvent::Recovered { step } => json!({"event": "recovered", "step": step.to_string()}),
        WatchEvent::Rescan => json!({"event": "rescan"}),
        WatchEvent::Stopping => json!({"event": "stopping"}),
        _ => json!({"event": "other"}),
    };
    v["time"] = Value::String(time);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_written_alike() {
        for (text, d) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("10m", Duration::from_secs(600)),
            ("1h30m", Duration::from_secs(5400)),
            ("1d", Duration::from_secs(86_400)),
            ("0s", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(text), Ok(d), "{text}");
            assert_eq!(show_duration(d), text);
        }
        assert_eq!(parse_duration("1h 30m").ok(), None);
        for bad in ["", "10", "m", "10x", "1.5h", "-1s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_are_shown_only_with_labels() {
        let digest = btc_anchor::hash::RecordDigest::of_bytes(b"x");
        let event = WatchEvent::Stamped {
            path: PathBuf::from("/records/Jane Doe.pdf"),
            digest,
            older: Some(PathBuf::from(
                "/records/Jane Doe.pdf.0123456789abcdef.anchor.json",
            )),
        };
        let quiet = event_text(&event, false, "").unwrap();
        assert!(!quiet.contains("Jane"), "{quiet}");
        assert!(quiet.contains(&digest.to_hex()), "{quiet}");
        let loud = event_text(&event, true, "").unwrap();
        assert!(loud.contains("/records/Jane Doe.pdf "), "{loud}");
        let j = event_json(&event, false);
        assert!(!j.to_string().contains("Jane"), "{j}");
        assert_eq!(event_json(&event, true)["path"], "/records/Jane Doe.pdf");

        let failed = WatchEvent::Failed {
            step: btc_anchor_workflow::watch::Step::Upgrade,
            error: AnchoringError::WriteProof {
                path: PathBuf::from("/records/Jane Doe.pdf.anchor.json"),
                source: std::io::Error::other("disk full"),
            },
            retry_in: Duration::from_secs(2),
        };
        let quiet = event_text(&failed, false, "").unwrap();
        assert_eq!(
            quiet,
            "upgrade failed: cannot write a proof file: disk full; trying again in 2s"
        );
        assert!(event_text(&failed, true, "").unwrap().contains("Jane"));
    }
}
