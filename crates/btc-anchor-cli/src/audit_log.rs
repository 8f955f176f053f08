//! `btc-anchor log`: the audit log of record events (`docs/audit-log.md`),
//! over [`btc_anchor_log::writer::LogWriter`] and
//! [`btc_anchor_log::audit::audit`].

use std::path::{Path, PathBuf};

use btc_anchor::verification::Headers;
use btc_anchor_log::audit::{
    audit, audit_source, AnchorCheck, AuditError, AuditOptions, AuditReport, Finding,
};
use btc_anchor_log::entry::ContentDigest;
use btc_anchor_log::event::{Event, EventKind};
use btc_anchor_log::fhir::{parse_instant, FhirAuditEvent};
use btc_anchor_log::journal::JournalError;
use btc_anchor_log::note::{Signer, Verifier};
use btc_anchor_log::remote::{is_url, HttpLog, HttpOptions};
use btc_anchor_log::writer::{LogError, LogWriter};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::anchoring::nothing_to_do;
use crate::export::write_atomically;
use crate::outcome::{with_sources, Done, Exit, Failure};
use crate::render::json_line;
use crate::NetworkArg;

/// Arguments of `btc-anchor log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Create a log in a new folder, with a new signing key
    Init(InitArgs),
    /// Append events durably: one given by its fields, or FHIR AuditEvent
    /// resources
    Append(AppendArgs),
    /// Write the tiles of the events appended and sign a checkpoint
    Checkpoint(CheckpointArgs),
    /// Append a beacon: the hash of the latest block of a validated headers
    /// file, so that later events are provably written after it
    Beacon(BeaconArgs),
    /// Write the proof of one event: with its anchored checkpoint's Bitcoin
    /// proof when there is one (an event proof), else in the latest
    /// checkpoint
    Prove(ProveArgs),
    /// Check a published log, from its folder or its log serve URL:
    /// signatures, tiles, roots, consistency (and, from a folder, anchors);
    /// with the clinic's journal, every record's chain
    Audit(AuditArgs),
    /// Erase the events of a record (an erasure request) or of entries from
    /// the journal: their salts and contents are overwritten, their entries
    /// stay, so checkpoints, anchors and other proofs stay valid
    Shred(ShredArgs),
    /// Print the log's public key (vkey), for auditors and witnesses
    Vkey(DirArgs),
    /// Serve the published log read-only over HTTP as C2SP tlog-tiles
    /// (/checkpoint, /tile/...), for tlog clients, monitors and witnesses
    Serve(ServeArgs),
    /// Ask a witness (C2SP tlog-witness) to cosign the latest checkpoint,
    /// and keep the cosigned checkpoint in public/cosigned/<size>
    Witness(WitnessArgs),
}

#[derive(Debug, Args)]
struct WitnessArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The witness's URL (its add-checkpoint prefix); plain http only to
    /// this machine
    #[arg(value_name = "URL")]
    url: String,
    /// The witness's public key (btc-anchor witness vkey), or a file
    /// holding it
    #[arg(long, value_name = "VKEY")]
    witness_vkey: String,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
struct ShredArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The record's identifier, as given to log append --record (or the
    /// FHIR resource's): every event of it is shredded
    #[arg(long, value_name = "ID", group = "what")]
    record: Option<String>,
    /// An entry's index in the log, to shred that one event (repeatable)
    #[arg(long, value_name = "INDEX", group = "what")]
    entry: Vec<u64>,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The log's folder (only its public/ folder is served), or a copy of
    /// its public/ folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Address to listen on; port 0 picks a free port. Loopback by
    /// default: put a reverse proxy (TLS, compression) in front to publish
    #[arg(long, value_name = "ADDR", default_value = btc_anchor_server::tiles::DEFAULT_LISTEN)]
    listen: std::net::SocketAddr,
    /// Log level on stderr: error, warn, info or debug
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// Print the line saying where it listens as one JSON object
    /// (`listening`), and a failure as one
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The log's folder (created, private to its owner)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The log's name (its origin), e.g. clinic.example/audit
    #[arg(long, value_name = "NAME")]
    origin: String,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DirArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CheckpointArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Sign no new checkpoint while the latest is younger than this many
    /// seconds (a cadence for cron or a timer)
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    min_interval: u64,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct BeaconArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// A validated headers file (btc-anchor headers sync) whose tip is the
    /// beacon
    #[arg(long, value_name = "FILE")]
    headers: PathBuf,
    /// The headers file's network
    #[arg(
        long,
        value_enum,
        env = "BTC_ANCHOR_NETWORK",
        default_value = "bitcoin"
    )]
    network: NetworkArg,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct AppendArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// FHIR R4 or R5 AuditEvent resources (JSON), one event each
    #[arg(long = "fhir-audit-event", value_name = "FILE", conflicts_with_all = ["kind", "record", "actor", "time", "content"])]
    fhir: Vec<PathBuf>,
    /// Events as JSON lines, one object a line with kind, record, actor
    /// and optionally time and content (as the flags); - reads standard
    /// input. All are appended durably at once, or none
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kind", "record", "actor", "time", "content", "fhir"])]
    events: Option<PathBuf>,
    /// What happened: create, amend, read, export, delete, consent-grant,
    /// consent-revoke, or a custom name
    #[arg(long, value_name = "KIND", required_unless_present_any = ["fhir", "events"])]
    kind: Option<String>,
    /// The record's identifier (salted into the event; never published)
    #[arg(long, value_name = "ID", required_unless_present_any = ["fhir", "events"])]
    record: Option<String>,
    /// Who acted (salted like the record)
    #[arg(long, value_name = "ID", required_unless_present_any = ["fhir", "events"])]
    actor: Option<String>,
    /// When, as an instant such as 2026-12-03T09:15:00Z [default: now]
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
    /// A SHA-256 digest of the content concerned (64 hex digits)
    #[arg(long, value_name = "HEX")]
    content: Option<String>,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ProveArgs {
    /// The log's folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The event's index in the log
    #[arg(value_name = "INDEX")]
    index: u64,
    /// Include the event and its salt, so that the proof shows what
    /// happened (the record and actor stay salted references)
    #[arg(long)]
    disclose: bool,
    /// Write the plain C2SP tlog-proof (inclusion in the latest
    /// checkpoint) even when an anchored checkpoint holds the event
    #[arg(long)]
    plain: bool,
    /// Where to write the proof
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the output file if it exists
    #[arg(long)]
    force: bool,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct AuditArgs {
    /// The log's published folder (public/ of its folder, or a copy), or
    /// the URL of its tlog-tiles server (log serve), e.g.
    /// http://127.0.0.1:8601: plain http only to this machine
    #[arg(value_name = "PUBLIC|URL")]
    public: PathBuf,
    /// The log's public key (vkey), or a file holding it
    #[arg(long, value_name = "VKEY")]
    vkey: String,
    /// Signed checkpoints kept from earlier, to check the log against
    #[arg(long, value_name = "FILE")]
    known: Vec<PathBuf>,
    /// The network the checkpoints' anchors are on
    #[arg(
        long,
        value_enum,
        env = "BTC_ANCHOR_NETWORK",
        default_value = "bitcoin"
    )]
    network: NetworkArg,
    /// A validated headers file to check the anchors' blocks against
    /// [default: the anchor proofs alone]
    #[arg(long, value_name = "FILE")]
    headers: Option<PathBuf>,
    /// The log's first seal output, TXID:VOUT, published with its key:
    /// the anchors must form one chain of spends from it
    #[arg(long, value_name = "TXID:VOUT")]
    seal_genesis: Option<btc_anchor::bitcoin::OutPoint>,
    /// The clinic's journal (DIR/journal, or the log's folder DIR): also
    /// check its entries against the published ones and every record's
    /// chain of events. Never give it to anyone outside the clinic
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// The exit codes of `log --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  done; for audit: the log is consistent; for serve: stopped by SIGINT or SIGTERM
  1  audit: the log is inconsistent (the first finding, with its evidence); witness: the witness refused the checkpoint; or an input is malformed
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: a file or folder is missing, unreadable or cannot be written; for audit URL: the server cannot be reached or answers other than 200 or 404; for serve: no log in the folder, or the address cannot be bound
  6  witness: the witness cannot be reached, or its answer does not check out
  8  busy: another process is writing the log
  9  nothing to do: checkpoint found no new event; shred found no event left to shred";

/// Runs `log`.
pub fn run(args: &LogArgs) -> Result<Done, Failure> {
    match &args.command {
        LogCommand::Init(a) => init(a),
        LogCommand::Append(a) => append(a),
        LogCommand::Checkpoint(a) => checkpoint(a),
        LogCommand::Beacon(a) => beacon(a),
        LogCommand::Prove(a) => prove(a),
        LogCommand::Audit(a) => run_audit(a),
        LogCommand::Shred(a) => shred(a),
        LogCommand::Vkey(a) => vkey(a),
        LogCommand::Serve(a) => serve(a),
        LogCommand::Witness(a) => witness(a),
    }
}

fn log_failure(e: &LogError) -> Failure {
    let text = with_sources(e);
    match e {
        LogError::Locked { .. } => Failure {
            exit: Exit::Busy,
            error: text,
            hint: "wait for the other process to finish, or stop it".into(),
        },
        LogError::Io { .. } | LogError::Exists { .. } => {
            Failure::io(text, "check the log folder's path and permissions")
        }
        LogError::Chain { .. } | LogError::Event(_) | LogError::NotPublished { .. } => {
            Failure::invalid(text, "see btc-anchor log --help")
        }
        LogError::Shredded { .. } => Failure::invalid(
            text,
            "its entry stays in the log, but what it committed to is gone; other events can still be proved",
        ),
        LogError::Journal(btc_anchor_log::journal::JournalError::NoSuchRecord { .. }) => {
            Failure::usage(text, "give an entry index below the log's size; nothing was shredded")
        }
        _ => Failure::invalid(
            text,
            "the log's files do not agree: audit its public folder, and restore the log from a backup",
        ),
    }
}

fn open(dir: &Path) -> Result<LogWriter, Failure> {
    if !dir.join("journal").is_file() {
        return Err(Failure::io(
            format!("{} holds no log", dir.display()),
            "create one with btc-anchor log init DIR --origin NAME",
        ));
    }
    LogWriter::open(dir).map_err(|e| log_failure(&e))
}

fn init(a: &InitArgs) -> Result<Done, Failure> {
    let signer = Signer::generate(&a.origin).map_err(|e| {
        Failure::usage(
            with_sources(&e),
            "a log name is 1 to 256 printable characters without spaces or '+', e.g. clinic.example/audit",
        )
    })?;
    let log = LogWriter::create(&a.dir, signer).map_err(|e| log_failure(&e))?;
    let vkey = log.verifier().to_vkey();
    Ok(Done::ok(if a.json {
        json_line(&json!({"result": "log-created", "origin": a.origin, "vkey": vkey}))
    } else {
        format!(
            "created the log {} in {}\nvkey: {vkey}\n(give the vkey to auditors; the folder holds the signing key and the events: keep it private and backed up)\n",
            a.origin,
            a.dir.display()
        )
    }))
}

fn serve(a: &ServeArgs) -> Result<Done, Failure> {
    use btc_anchor_server::tiles::{run, TilesOptions};
    tracing_subscriber::fmt()
        .with_max_level(a.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let options = TilesOptions {
        dir: a.dir.clone(),
        listen: a.listen,
    };
    run(options, |addr| {
        print!("{}", crate::render::listening("log", addr, a.json));
    })
    .map_err(|e| match e {
        btc_anchor_server::ServeError::NoLog { .. } => Failure::io(
            with_sources(&e),
            "give the log's folder (made by btc-anchor log init) or a copy of its public/ folder",
        ),
        other => Failure::io(
            with_sources(&other),
            "check the address: another program may be listening on it",
        ),
    })?;
    Ok(Done::ok(String::new()))
}

fn vkey(a: &DirArgs) -> Result<Done, Failure> {
    let log = open(&a.dir)?;
    let vkey = log.verifier().to_vkey();
    Ok(Done::ok(if a.json {
        json_line(&json!({"result": "log-vkey", "origin": log.origin(), "vkey": vkey}))
    } else {
        format!("{vkey}\n")
    }))
}

fn append(a: &AppendArgs) -> Result<Done, Failure> {
    let mut log = open(&a.dir)?;
    let events = if let Some(path) = &a.events {
        line_events(&log, path)?
    } else if a.fhir.is_empty() {
        let (Some(kind), Some(record), Some(actor)) = (&a.kind, &a.record, &a.actor) else {
            return Err(Failure::usage(
                "an event needs --kind, --record and --actor",
                "or give --fhir-audit-event FILE or --events FILE",
            ));
        };
        let fields = Fields {
            kind,
            record,
            actor,
            time: a.time.as_deref(),
            content: a.content.as_deref(),
        };
        vec![field_event(&log, &fields).map_err(|(error, hint)| Failure::usage(error, hint))?]
    } else {
        let mut events = Vec::with_capacity(a.fhir.len());
        for path in &a.fhir {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::io(
                    format!("cannot read {}: {e}", path.display()),
                    "check the path of the AuditEvent file",
                )
            })?;
            let audit = FhirAuditEvent::parse(&bytes).map_err(|e| {
                Failure::invalid(
                    format!("{}: {}", path.display(), with_sources(&e)),
                    "give a FHIR R4 or R5 AuditEvent resource in JSON; nothing was appended",
                )
            })?;
            events.push(audit.to_event(
                log.record_ref(audit.record_id.as_bytes()),
                log.actor_ref(audit.actor_id.as_bytes()),
                None,
            ));
        }
        events
    };
    let indices = log.append(events).map_err(|e| log_failure(&e))?;
    let (first, last) = (indices[0], indices[indices.len() - 1]);
    Ok(Done::ok(if a.json {
        json_line(
            &json!({"result": "log-appended", "indices": indices, "size": log.entries().len()}),
        )
    } else if first == last {
        format!("appended event {first} (durable; published at the next checkpoint)\n")
    } else {
        format!("appended events {first} to {last} (durable; published at the next checkpoint)\n")
    }))
}

/// An event's fields as the flags of `log append` or one JSON line give
/// them.
struct Fields<'a> {
    kind: &'a str,
    record: &'a str,
    actor: &'a str,
    time: Option<&'a str>,
    content: Option<&'a str>,
}

/// The event `f` gives, or what is wrong with it (error, hint).
fn field_event(log: &LogWriter, f: &Fields<'_>) -> Result<Event, (String, String)> {
    let kind = EventKind::parse(f.kind).map_err(|_| {
        (
            format!("{:?} is not an event kind", f.kind),
            "use create, amend, read, export, delete, consent-grant, consent-revoke, or a custom name of [a-z0-9._-]".to_owned(),
        )
    })?;
    let time = match f.time {
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        Some(t) => parse_instant(t).ok_or_else(|| {
            (
                format!("{t:?} is not an instant"),
                "write it as 2026-12-03T09:15:00Z or with an offset, 2026-12-03T10:15:00+01:00"
                    .to_owned(),
            )
        })?,
    };
    let content = match f.content {
        None => None,
        Some(h) => Some(ContentDigest::from_hex(h).ok_or_else(|| {
            (
                "the content is not 64 hex digits".to_owned(),
                "give the SHA-256 of the content, e.g. from sha256sum".to_owned(),
            )
        })?),
    };
    Ok(Event {
        kind,
        time,
        record: log.record_ref(f.record.as_bytes()),
        actor: log.actor_ref(f.actor.as_bytes()),
        content,
        prev: None,
        codes: Default::default(),
    })
}

/// Longest JSON line of `log append --events`, in bytes.
const MAX_EVENT_LINE: usize = 64 * 1024;

/// The events of a JSON-lines file (or standard input), all or nothing.
fn line_events(log: &LogWriter, path: &Path) -> Result<Vec<Event>, Failure> {
    use std::io::BufRead as _;
    let name = path.display().to_string();
    let reader: Box<dyn std::io::BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(
            |e| {
                Failure::io(
                    format!("cannot read {name}: {e}"),
                    "check the path of the events file",
                )
            },
        )?))
    };
    let mut events = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| {
            Failure::io(format!("cannot read {name}: {e}"), "check the events file")
        })?;
        let bad = |what: String| {
            Failure::invalid(
                format!("{name} line {n}: {what}"),
                "each line is one JSON object with kind, record and actor (time and content optional); nothing was appended",
            )
        };
        if line.len() > MAX_EVENT_LINE {
            return Err(bad(format!("over {MAX_EVENT_LINE} bytes")));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if events.len() >= btc_anchor_log::writer::MAX_APPEND {
            return Err(bad(format!(
                "more than {} events in one append",
                btc_anchor_log::writer::MAX_APPEND
            )));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&line).map_err(|_| bad("not JSON".to_owned()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("not a JSON object".to_owned()))?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "kind" | "record" | "actor" | "time" | "content") {
                return Err(bad(format!("unknown member {k:?}")));
            }
        }
        let text = |k: &str| -> Result<Option<&str>, Failure> {
            match obj.get(k) {
                None => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(bad(format!("{k} is not a string"))),
            }
        };
        let need = |k: &str| text(k)?.ok_or_else(|| bad(format!("no {k}")));
        let fields = Fields {
            kind: need("kind")?,
            record: need("record")?,
            actor: need("actor")?,
            time: text("time")?,
            content: text("content")?,
        };
        events.push(field_event(log, &fields).map_err(|(error, _)| bad(error))?);
    }
    if events.is_empty() {
        return Err(Failure::usage(
            format!("{name} holds no event"),
            "give one JSON object a line",
        ));
    }
    Ok(events)
}

fn checkpoint(a: &CheckpointArgs) -> Result<Done, Failure> {
    let mut log = open(&a.dir)?;
    let grew = log.entries().len() as u64 > log.published();
    match log
        .checkpoint_if_due(std::time::Duration::from_secs(a.min_interval))
        .map_err(|e| log_failure(&e))?
    {
        None => Ok(nothing_to_do(
            &if grew {
                format!(
                    "nothing to do yet: the latest checkpoint is younger than {} s",
                    a.min_interval
                )
            } else {
                format!(
                    "nothing to do: no event since the checkpoint of size {}",
                    log.published()
                )
            },
            a.json,
        )),
        Some(note) => Ok(Done::ok(if a.json {
            json_line(
                &json!({"result": "log-checkpoint", "size": log.published(), "checkpoint": note.to_text()}),
            )
        } else {
            format!(
                "signed the checkpoint of size {} (public/checkpoint)\n",
                log.published()
            )
        })),
    }
}

fn beacon(a: &BeaconArgs) -> Result<Done, Failure> {
    let network: btc_anchor::bitcoin::Network = a.network.into();
    let headers = btc_anchor::headers::HeadersFile::open(&a.headers, network).map_err(|e| {
        let text = with_sources(&e);
        if e.is_io() {
            Failure::io(text, "check the path of the headers file")
        } else {
            Failure::invalid(text, "bring it up to date with btc-anchor headers sync")
        }
    })?;
    let (height, hash) = (headers.tip_height(), headers.tip_hash());
    let mut log = open(&a.dir)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let index = log
        .beacon(
            *btc_anchor::bitcoin::hashes::Hash::as_byte_array(&hash),
            &network.to_string(),
            height,
            now,
        )
        .map_err(|e| log_failure(&e))?;
    Ok(Done::ok(if a.json {
        json_line(
            &json!({"result": "log-appended", "indices": [index], "size": log.entries().len()}),
        )
    } else {
        format!("appended beacon {index}: block {hash} at height {height}; later events were written after it\n")
    }))
}

fn prove(a: &ProveArgs) -> Result<Done, Failure> {
    let log = open(&a.dir)?;
    let anchored = if a.plain {
        None
    } else {
        log.prove_anchored(a.index, a.disclose)
            .map_err(|e| log_failure(&e))?
    };
    let size_of = |note: &[u8]| {
        btc_anchor_log::note::Note::parse(note)
            .ok()
            .and_then(|n| btc_anchor_log::checkpoint::Checkpoint::parse(n.text()).ok())
            .map_or(0, |c| c.size)
    };
    let (bytes, size, anchored_size) = match &anchored {
        Some(p) => (
            p.to_bytes(),
            size_of(p.inclusion.checkpoint.to_text().as_bytes()),
            Some(size_of(&p.anchored)),
        ),
        None => {
            let proof = log
                .prove(a.index, a.disclose)
                .map_err(|e| log_failure(&e))?;
            (proof.to_text().into_bytes(), log.published(), None)
        }
    };
    write_atomically(&a.out, &bytes, a.force)?;
    let disclosed = if a.disclose {
        " (it discloses the event)"
    } else {
        ""
    };
    Ok(Done::ok(if a.json {
        json_line(&json!({
            "result": "log-proof-written",
            "index": a.index,
            "size": size,
            "anchored_size": anchored_size,
            "out": a.out.display().to_string(),
            "disclosed": a.disclose,
        }))
    } else {
        match anchored_size {
            Some(m) => format!(
                "wrote the event proof of event {} (in the checkpoint of size {size}, anchored in Bitcoin with the checkpoint of size {m}) to {}{disclosed}\n",
                a.index,
                a.out.display(),
            ),
            None => format!(
                "wrote the proof of event {} in the checkpoint of size {size} to {}{disclosed}{}\n",
                a.index,
                a.out.display(),
                if a.plain {
                    ""
                } else {
                    "; no anchored checkpoint holds it yet, so it shows no Bitcoin time"
                }
            ),
        }
    }))
}

fn shred(a: &ShredArgs) -> Result<Done, Failure> {
    let mut log = open(&a.dir)?;
    let mut shredded = Vec::new();
    let mut already = 0;
    if let Some(id) = &a.record {
        let done = log
            .shred_record(id.as_bytes())
            .map_err(|e| log_failure(&e))?;
        shredded.extend(done.shredded);
    }
    if !a.entry.is_empty() {
        let done = log.shred_entries(&a.entry).map_err(|e| log_failure(&e))?;
        shredded.extend(done.shredded);
        already = done.already;
    }
    let total = log.shredded();
    if shredded.is_empty() {
        let given = if a.entry.is_empty() {
            String::new()
        } else {
            format!("{already} of the entries given were shredded before; ")
        };
        return Ok(nothing_to_do(
            &format!(
                "nothing to do: no event left to shred ({given}{total} entries of the log are shredded)"
            ),
            a.json,
        ));
    }
    // Counts only: which entries were a record's is the clinic's to know.
    let n = shredded.len();
    Ok(Done::ok(if a.json {
        json_line(&json!({
            "result": "log-shredded",
            "shredded": n,
            "already": already,
            "total": total,
        }))
    } else {
        format!(
            "shredded {n} event{} (their salts and contents are erased from the journal; the entries stay, so checkpoints, anchors and other proofs stay valid); {total} entries of the log are shredded\n",
            if n == 1 { "" } else { "s" }
        )
    }))
}

pub(crate) fn read_vkey(arg: &str) -> Result<Verifier, Failure> {
    let text = match std::fs::read_to_string(arg) {
        Ok(t) => t,
        Err(_) => arg.to_owned(),
    };
    Verifier::parse(text.trim()).map_err(|e| {
        Failure::usage(
            format!("--vkey: {}", with_sources(&e)),
            "give the vkey printed by btc-anchor log vkey DIR, or a file holding it",
        )
    })
}

fn run_audit(a: &AuditArgs) -> Result<Done, Failure> {
    let vkey = read_vkey(&a.vkey)?;
    let mut known = Vec::with_capacity(a.known.len());
    for path in &a.known {
        known.push(std::fs::read(path).map_err(|e| {
            Failure::io(
                format!("cannot read {}: {e}", path.display()),
                "check the path of the kept checkpoint",
            )
        })?);
    }
    if let Some(url) = a.public.to_str().filter(|s| is_url(s)) {
        return audit_url(a, url, &vkey, &known);
    }
    if !a.public.is_dir() {
        return Err(Failure::io(
            format!("{} is not a folder", a.public.display()),
            "give the log's public folder (DIR/public)",
        ));
    }
    let journal = journal_path(a)?;
    let options = AuditOptions {
        known: &known,
        network: a.network.into(),
        headers: match &a.headers {
            Some(p) => Headers::File(p),
            None => Headers::ProofOnly,
        },
        seal_genesis: a.seal_genesis,
        journal: journal.as_deref(),
    };
    let report = audit(&a.public, vkey.name(), &vkey, &options).map_err(audit_failure)?;
    Ok(audit_done(a, &report))
}

/// `log audit URL`: the same audit over HTTP, without the anchors.
fn audit_url(
    a: &AuditArgs,
    url: &str,
    vkey: &Verifier,
    known: &[Vec<u8>],
) -> Result<Done, Failure> {
    if a.headers.is_some() || a.seal_genesis.is_some() {
        return Err(Failure::usage(
            "--headers and --seal-genesis check the anchor proofs, which a tlog-tiles server does not serve",
            "audit a copy of the log's public folder to check its anchors and seal chain",
        ));
    }
    let mut source = HttpLog::new(url, HttpOptions::default()).map_err(|e| {
        Failure::usage(
            with_sources(&e),
            "give the URL log serve prints, e.g. http://127.0.0.1:8601, or https:// for a server elsewhere",
        )
    })?;
    let journal = journal_path(a)?;
    let options = AuditOptions {
        known,
        network: a.network.into(),
        headers: Headers::ProofOnly,
        seal_genesis: None,
        journal: journal.as_deref(),
    };
    let report = audit_source(&mut source, vkey.name(), vkey, &options).map_err(|e| match e {
        AuditError::Journal(_) => audit_failure(e),
        e => Failure::io(
            with_sources(&e),
            "check that the log's server runs at that URL (btc-anchor log serve) and answers",
        ),
    })?;
    Ok(audit_done(a, &report))
}

/// The journal `--journal` names: the file, or `journal` in a log's
/// folder.
fn journal_path(a: &AuditArgs) -> Result<Option<PathBuf>, Failure> {
    let Some(path) = &a.journal else {
        return Ok(None);
    };
    let file = if path.is_dir() {
        path.join("journal")
    } else {
        path.clone()
    };
    if !file.is_file() {
        return Err(Failure::io(
            format!("{} holds no journal", path.display()),
            "give the log's folder or its journal file (DIR/journal)",
        ));
    }
    Ok(Some(file))
}

fn audit_failure(e: AuditError) -> Failure {
    let text = with_sources(&e);
    match &e {
        AuditError::Journal(JournalError::Io { .. }) | AuditError::Io { .. } => {
            Failure::io(text, "check the paths and permissions")
        }
        AuditError::Journal(_) => Failure::invalid(
            text,
            "the journal is not the log's, or is damaged: restore it from a backup",
        ),
        _ => Failure::io(text, "check the folder's path and permissions"),
    }
}

/// The outcome of an audit: the report, and a failure for a finding.
fn audit_done(a: &AuditArgs, report: &AuditReport) -> Done {
    let exit = if report.finding.is_some() {
        Exit::Invalid
    } else {
        Exit::Valid
    };
    let failure = report.finding.as_ref().map(|f| Failure {
        exit,
        error: format!("the log is inconsistent: {}", finding_text(f)),
        hint: "keep the evidence printed (the signed checkpoints): it shows the log's operator signed conflicting histories or published damaged data".into(),
    });
    Done {
        stdout: if a.json {
            audit_json(report)
        } else {
            audit_text(report)
        },
        exit,
        failure,
    }
}

fn finding_text(f: &Finding) -> String {
    match f {
        Finding::BadCheckpoint { source, reason } => format!("{source} does not open: {reason}"),
        Finding::NoCheckpoint => "no checkpoint is published".into(),
        Finding::Fork { .. } => {
            "two signed checkpoints of one size have different roots (a fork)".into()
        }
        Finding::Rollback { .. } => {
            "the published checkpoint is older than another signed one (a rollback or replay)"
                .into()
        }
        Finding::Missing { path } => format!("{path} is missing (a truncated log)"),
        Finding::Malformed { path, reason } => format!("{path} is malformed: {reason}"),
        Finding::TileMismatch { path } => {
            format!("{path} is not what the entries give (an edited entry or tile)")
        }
        Finding::RootMismatch { .. } => {
            "the entries do not give the published checkpoint's root".into()
        }
        Finding::Inconsistent { .. } => {
            "an older signed checkpoint is not a prefix of a newer one (history rewritten)".into()
        }
        Finding::JournalShort { records, published } => format!(
            "the journal holds {records} whole records but the log published {published} (it is cut short, or record {records} is damaged)"
        ),
        Finding::JournalOpening { index } => {
            format!("journal record {index} does not commit to its entry")
        }
        Finding::JournalMismatch { index, .. } => {
            format!("journal entry {index} is not the published entry {index}")
        }
        Finding::ChainBreak {
            chain,
            index,
            expected_index,
            found,
            found_index,
            ..
        } => {
            let expected = match expected_index {
                None => "no prev (it is the record's first event)".to_owned(),
                Some(i) => format!("the entry of event {i}"),
            };
            let found = match (found, found_index) {
                (None, _) => "none".to_owned(),
                (Some(_), Some(j)) => format!("the entry of event {j}"),
                (Some(_), None) => "an entry not in the log".to_owned(),
            };
            format!(
                "the chain of the record first logged at event {chain} breaks at event {index}: its prev should be {expected}, but is {found}"
            )
        }
        _ => f.name().into(),
    }
}

/// The signed checkpoints and proof a finding carries.
fn evidence(f: &Finding) -> serde_json::Value {
    let hex = |p: &[btc_anchor::merkle::NodeHash]| p.iter().map(|h| h.to_hex()).collect::<Vec<_>>();
    match f {
        Finding::Fork { a, b } => json!({"checkpoints": [a, b]}),
        Finding::Rollback { published, larger } => json!({"checkpoints": [published, larger]}),
        Finding::RootMismatch {
            checkpoint,
            computed,
        } => {
            json!({"checkpoints": [checkpoint], "computed_root": computed.to_hex()})
        }
        Finding::Inconsistent { old, new, proof } => {
            json!({"checkpoints": [old, new], "consistency_proof": hex(proof)})
        }
        Finding::Missing { path } | Finding::TileMismatch { path } => json!({"path": path}),
        Finding::Malformed { path, .. } => json!({"path": path}),
        Finding::BadCheckpoint { source, .. } => json!({"source": source}),
        Finding::BadAnchor { file, .. } => json!({"path": format!("checkpoints/{file}")}),
        Finding::SealBreak { file, expected } => {
            json!({"path": format!("checkpoints/{file}"), "expected_seal": expected.to_string()})
        }
        Finding::JournalShort { records, published } => {
            json!({"index": records, "published_size": published})
        }
        Finding::JournalOpening { index } => json!({"index": index}),
        Finding::JournalMismatch {
            index,
            journal,
            published,
        } => {
            json!({"index": index, "found_entry": journal.to_hex(), "expected_entry": published.to_hex()})
        }
        Finding::ChainBreak {
            chain,
            index,
            expected_index,
            expected,
            found,
            found_index,
        } => json!({
            "chain": chain,
            "index": index,
            "expected_index": expected_index,
            "expected_entry": expected.map(|e| e.to_hex()),
            "found_index": found_index,
            "found_entry": found.map(|e| e.to_hex()),
        }),
        _ => json!({}),
    }
}

fn audit_json(r: &AuditReport) -> String {
    json_line(&json!({
        "result": "log-audit",
        "consistent": r.finding.is_none(),
        "origin": r.origin,
        "size": r.size,
        "checkpoints": r.checkpoints,
        "tiles": r.tiles,
        "bundles": r.bundles,
        "journal": r.journal.as_ref().map(|j| json!({
            "entries": j.entries,
            "shredded": j.shredded,
            "chains": j.chains,
            "pending_shreds": j.pending_shreds,
        })),
        "anchors": r.anchors.iter().map(|c| json!({
            "size": c.size,
            "outcome": c.outcome,
            "height": c.height,
            "not_later_than": c.not_later_than.map(btc_anchor::utc::rfc3339),
            "reason": c.reason,
        })).collect::<Vec<_>>(),
        "checked": r.checked,
        "trusted": r.trusted,
        "finding": r.finding.as_ref().map(|f| json!({
            "name": f.name(),
            "text": finding_text(f),
            "evidence": evidence(f),
        })),
    }))
}

/// One anchored checkpoint in words: "the log L had N entries no later
/// than block B (time)".
fn anchor_line(origin: &str, c: &AnchorCheck) -> String {
    use btc_anchor::verification::Outcome;
    match (c.outcome, c.height, c.not_later_than) {
        (Outcome::Valid, Some(h), Some(t)) => format!(
            "anchored: the log {origin} had {} entries no later than block {h} ({})",
            c.size,
            btc_anchor::utc::plain(t)
        ),
        (Outcome::Pending, ..) => format!(
            "anchor pending: the checkpoint of {} entries is not in a block yet (btc-anchor upgrade)",
            c.size
        ),
        (outcome, ..) => format!(
            "anchor {}: the checkpoint of {} entries{}",
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c.size,
            c.reason.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
    }
}

fn audit_text(r: &AuditReport) -> String {
    let mut s = match &r.finding {
        None => format!(
            "CONSISTENT: the log {} of {} entries checks out ({} checkpoints, {} tiles, {} entry bundles)\n",
            r.origin, r.size, r.checkpoints, r.tiles, r.bundles
        ),
        Some(f) => format!("INCONSISTENT: the log {}: {}\n", r.origin, finding_text(f)),
    };
    if let Some(j) = &r.journal {
        s.push_str(&format!(
            "  journal: {} entries, {} shredded, {} record chains checked{}\n",
            j.entries,
            j.shredded,
            j.chains,
            if j.pending_shreds > 0 {
                format!(
                    " ({} shreds interrupted, finished when the log is next opened)",
                    j.pending_shreds
                )
            } else {
                String::new()
            }
        ));
    }
    for c in &r.anchors {
        s.push_str(&format!("  {}\n", anchor_line(&r.origin, c)));
    }
    for c in &r.checked {
        s.push_str(&format!("  checked: {c}\n"));
    }
    for t in &r.trusted {
        s.push_str(&format!("  trusted: {t}\n"));
    }
    if let Some(f) = &r.finding {
        let notes: Vec<&String> = match f {
            Finding::Fork { a, b } => vec![a, b],
            Finding::Rollback { published, larger } => vec![published, larger],
            Finding::RootMismatch { checkpoint, .. } => vec![checkpoint],
            Finding::Inconsistent { old, new, .. } => vec![old, new],
            _ => vec![],
        };
        for n in notes {
            s.push_str("  evidence (signed checkpoint):\n");
            for l in n.lines() {
                s.push_str(&format!("    {l}\n"));
            }
        }
        if let Finding::Inconsistent { proof, .. } = f {
            s.push_str("  evidence (consistency proof from the published tiles, which fails):\n");
            for h in proof {
                s.push_str(&format!("    {}\n", h.to_hex()));
            }
        }
    }
    s
}

fn witness(a: &WitnessArgs) -> Result<Done, Failure> {
    use btc_anchor_log::cosignature::CosignatureVerifier;
    use btc_anchor_log::remote::{add_checkpoint, WitnessError};
    use btc_anchor_log::store::TileStore;
    let text = std::fs::read_to_string(&a.witness_vkey).unwrap_or_else(|_| a.witness_vkey.clone());
    let witness_key = CosignatureVerifier::parse(text.trim()).map_err(|e| {
        Failure::usage(
            format!("--witness-vkey: {}", with_sources(&e)),
            "give the vkey printed by btc-anchor witness vkey DIR, or a file holding it",
        )
    })?;
    let log = open(&a.dir)?;
    let Some(note) = log.latest_checkpoint().cloned() else {
        return Err(Failure::usage(
            "the log has no checkpoint yet",
            "sign one with btc-anchor log checkpoint DIR",
        ));
    };
    let size = log.published();
    let public = a.dir.join("public");
    let store = TileStore::new(&public);
    let got = add_checkpoint(
        &a.url,
        &witness_key,
        &note,
        size,
        0,
        |old| store.reader(size)?.consistency_proof(old),
        HttpOptions::default(),
    )
    .map_err(|e| {
        let text = with_sources(&e);
        match e {
            WitnessError::Refused { .. } | WitnessError::WitnessAhead { .. } => Failure::invalid(
                text,
                "the witness saw another history of this log, or does not know it: keep its answer as evidence, and check the witness's list of logs",
            ),
            WitnessError::Proof { .. } => Failure::io(text, "audit the log's public folder"),
            WitnessError::Remote { source: btc_anchor_log::remote::RemoteError::BadUrl { .. } | btc_anchor_log::remote::RemoteError::Insecure { .. }, .. } => {
                Failure::usage(text, "give the witness's URL, e.g. http://127.0.0.1:8602, or https:// for a witness elsewhere")
            }
            _ => Failure {
                exit: Exit::Network,
                error: text,
                hint: "check that the witness runs at that URL and that --witness-vkey is its key".into(),
            },
        }
    })?;
    let path = btc_anchor_log::witness::store_cosigned(&public, &note, size, got.cosignature)
        .map_err(|e| Failure::io(with_sources(&e), "check the log folder's permissions"))?;
    let time = u32::try_from(got.timestamp).unwrap_or(u32::MAX);
    if a.json {
        return Ok(Done::ok(json_line(&json!({
            "result": "log-witnessed",
            "size": size,
            "witness": witness_key.name(),
            "time": btc_anchor::utc::rfc3339(time),
            "held": got.conflict,
            "out": path.display().to_string(),
        }))));
    }
    Ok(Done::ok(format!(
        "the witness {} cosigned the checkpoint of size {size} at {}{}; kept in {}\n",
        witness_key.name(),
        btc_anchor::utc::plain(time),
        got.conflict
            .map(|held| format!(
                " (it held size {held}: sent again with the consistency proof from it)"
            ))
            .unwrap_or_default(),
        path.display()
    )))
}
