//! How a command ends: what goes to stdout, what goes to stderr, and the
//! exit code.
//!
//! Every failure is reported as exactly two lines on stderr, `error: <cause>`
//! then `hint: <what to do>`, whatever produced it (our checks, the library,
//! or clap's argument parsing).
//!
//! Nothing reaches the terminal raw that came from an input and could
//! steer it: [`finish`] escapes control and bidirectional characters
//! ([`btc_anchor::text::escape_controls`]) in both stderr lines and, but
//! for the line feeds between lines, in stdout. Text that quotes an input
//! within a line escapes it where it is written (`render::line`, the
//! paths in headlines), so that a file name holding a line feed cannot
//! make a line of its own either; JSON is escaped by `render::json_line`.

use std::io::{self, Write};
use std::process::ExitCode;

use btc_anchor::text::{escape_controls, escape_controls_keep_newlines};

// For the README: the exit codes below are stable, and `EXIT_CODES_HELP`
// is the table to document there (with `export`'s and `info`'s own tables
// in `btc-anchor.rs`). 0 valid (info: read; export: written), 1 invalid or
// malformed (export: the proof is pending, invalid or malformed), 2 usage
// error, 3 pending, 4 input/output error (export: also an output file that
// exists without --force), 5 unverified: cannot be checked without a header
// source.

/// The stable exit codes, documented in `--help` ([`EXIT_CODES_HELP`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The proof is valid (for `info`: the proof was read; for `export`:
    /// the file was written).
    Valid = 0,
    /// The proof does not verify, or a proof, timestamp or headers file is
    /// malformed.
    Invalid = 1,
    /// Bad or conflicting arguments.
    Usage = 2,
    /// Everything present checks out, but the proof is not complete yet.
    Pending = 3,
    /// A document, proof or headers file is missing or unreadable, or an
    /// output file cannot be written.
    Io = 4,
    /// An OpenTimestamps attestation that cannot be checked without a
    /// header source: the block headers it needs are not known.
    Unverified = 5,
    /// The Electrum server is unreachable, refused, or sent data that does
    /// not check out.
    Network = 6,
    /// The wallet is missing, cannot pay (funds, fee limit, no estimate) or
    /// its files are damaged.
    Wallet = 7,
    /// Another command holds the data directory.
    Busy = 8,
    /// Nothing to do: no record queued, no transaction to bump, or no
    /// batch waiting to upgrade. Not a failure: nothing on stderr.
    NothingToDo = 9,
    /// The proof checks out as far as it goes, but the file alone is not
    /// enough evidence: check it against a header source.
    Inconclusive = 10,
    /// The proof was made on another network than the one asked for: not
    /// a forgery, but no evidence on this network.
    WrongNetwork = 11,
    /// Some of the files were not stamped (each is named, with why); the
    /// others were.
    Partial = 12,
}

/// The exit code table shown by `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  valid: the document existed by the time shown (to about 2 hours)
  1  invalid: the proof does not verify, or a proof, timestamp or headers file is malformed
  2  usage error: missing, unknown or conflicting arguments
  3  pending: the proof is not complete yet; upgrade it once its transaction confirms
  4  input/output error: a document, proof or headers file is missing or unreadable
  5  unverified: a .ots timestamp cannot be checked without a header source (--headers FILE)
  6  server error: the Electrum server is unreachable, refused, or sent data that does not check out
  7  wallet error: no wallet, not enough funds, fee above the limit, or no fee estimate
  8  busy: another btc-anchor command is using the data directory
  9  nothing to do: no record queued, no transaction to bump, or no batch waiting to upgrade
 10  inconclusive: the proof checks out, but the file alone is too weak evidence; check it with --headers FILE or --electrum URL
 11  wrong network: the proof was made on another network than --network (or BTC_ANCHOR_NETWORK) names
 12  partial (stamp): some files were not stamped, each named with why; the others were";

/// A failure to report on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What went wrong, one line.
    pub error: String,
    /// What to do about it, one line.
    pub hint: String,
}

impl Failure {
    /// A missing or unreadable input (exit 4).
    pub fn io(error: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            exit: Exit::Io,
            error: error.into(),
            hint: hint.into(),
        }
    }

    /// Arguments or settings that do not fit together (exit 2).
    pub fn usage(error: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            exit: Exit::Usage,
            error: error.into(),
            hint: hint.into(),
        }
    }

    /// An input that is readable but not acceptable (exit 1).
    pub fn invalid(error: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            exit: Exit::Invalid,
            error: error.into(),
            hint: hint.into(),
        }
    }
}

/// What a command that ran to a verdict produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Text for stdout.
    pub stdout: String,
    /// The exit code.
    pub exit: Exit,
    /// For a negative verdict: the two stderr lines that go with it.
    pub failure: Option<Failure>,
}

impl Done {
    /// A successful result.
    pub fn ok(stdout: String) -> Done {
        Done {
            stdout,
            exit: Exit::Valid,
            failure: None,
        }
    }
}

/// Turns a clap error into the two-line form, or prints help and version
/// text as clap would. `command` is the subcommand named on the command
/// line, if any, for the hint.
pub fn from_clap(err: &clap::Error, command: Option<&str>) -> ExitCode {
    use clap::error::ErrorKind;
    let help = match command {
        Some(c) => format!("btc-anchor {c} --help"),
        None => "btc-anchor --help".to_owned(),
    };
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Help and version text go to stdout; a closed pipe is not an error.
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            finish(Err(Failure {
                exit: Exit::Usage,
                error: "no command given".to_owned(),
                hint: format!("usage: btc-anchor <COMMAND>; see {help} for the commands"),
            }))
        }
        _ => finish(Err(usage_failure(&err.render().to_string(), &help))),
    }
}

/// Condenses clap's rendered message (error paragraph, tips, usage) into
/// one error line and one hint line.
fn usage_failure(rendered: &str, help: &str) -> Failure {
    let mut paragraphs = rendered.split("\n\n").map(|p| {
        p.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let first = paragraphs.next().unwrap_or_default();
    let error = first.strip_prefix("error: ").unwrap_or(&first).to_owned();
    let rest: Vec<String> = paragraphs.collect();
    let usage = rest.iter().find_map(|p| p.strip_prefix("Usage: "));
    let tip = rest.iter().find_map(|p| p.strip_prefix("tip: "));
    let hint = match (tip, usage) {
        (Some(tip), _) => tip.to_owned(),
        (None, Some(usage)) => format!("usage: {usage} (more with --help)"),
        (None, None) => format!("see {help} for usage"),
    };
    Failure {
        exit: Exit::Usage,
        error: if error.is_empty() {
            "invalid arguments".to_owned()
        } else {
            error
        },
        hint,
    }
}

/// Whether the command line asks for JSON (`--json` before any `--`),
/// read from the raw arguments so that a failure to parse them is
/// reported in JSON too.
pub fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// A failure as the one JSON object a `--json` command prints on stdout:
/// `{"result": "error", "error": …, "hint": …, "exit_code": …}`.
pub fn failure_json(f: &Failure) -> String {
    crate::render::json_line(&serde_json::json!({
        "result": "error",
        "error": joined(&f.error),
        "hint": joined(&f.hint),
        "exit_code": f.exit as u8,
    }))
}

/// Writes a command's output and returns its exit code. A failure is two
/// lines on stderr; with `--json` ([`json_requested`]) it is also one JSON
/// object on stdout ([`failure_json`]), so that a script reading stdout
/// always gets an object.
pub fn finish(result: Result<Done, Failure>) -> ExitCode {
    let (stdout, exit, failure) = match result {
        Ok(done) => (done.stdout, done.exit, done.failure),
        Err(failure) => {
            let stdout = if json_requested() {
                failure_json(&failure)
            } else {
                String::new()
            };
            (stdout, failure.exit, Some(failure))
        }
    };
    let mut exit = exit;
    let stdout = escape_controls_keep_newlines(&stdout);
    if !stdout.is_empty() {
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(stdout.as_bytes()).and_then(|()| out.flush()) {
            // A reader that went away (`| head`) has what it wanted.
            if e.kind() != io::ErrorKind::BrokenPipe && exit == Exit::Valid {
                exit = Exit::Io;
            }
        }
    }
    if let Some(f) = failure {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "error: {}", one_line(&f.error));
        let _ = writeln!(err, "hint: {}", one_line(&f.hint));
    }
    ExitCode::from(exit as u8)
}

/// Keeps a message on one line whatever a nested error's text holds, with
/// no character that could steer the terminal.
fn one_line(s: &str) -> String {
    escape_controls(&joined(s)).into_owned()
}

/// `s` on one line: its runs of white space (line feeds included) as one
/// space. JSON escapes the rest itself.
fn joined(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub use btc_anchor::text::with_sources;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_messages_condensed() {
        let rendered = "error: the following required arguments were not provided:\n  \
                        <DOCUMENT>\n\nUsage: btc-anchor verify <DOCUMENT>\n\n\
                        For more information, try '--help'.\n";
        let f = usage_failure(rendered, "btc-anchor verify --help");
        assert_eq!(f.exit, Exit::Usage);
        assert_eq!(
            f.error,
            "the following required arguments were not provided: <DOCUMENT>"
        );
        assert_eq!(
            f.hint,
            "usage: btc-anchor verify <DOCUMENT> (more with --help)"
        );

        let rendered = "error: unexpected argument '--x' found\n\n  tip: to pass '--x' as a \
                        value, use '-- --x'\n\nUsage: btc-anchor info PROOF\n";
        let f = usage_failure(rendered, "btc-anchor verify --help");
        assert_eq!(f.error, "unexpected argument '--x' found");
        assert_eq!(f.hint, "to pass '--x' as a value, use '-- --x'");

        let f = usage_failure("error: invalid value 'x' for '--digest <HEX>'\n", "H");
        assert_eq!(f.error, "invalid value 'x' for '--digest <HEX>'");
        assert_eq!(f.hint, "see H for usage");
    }

    #[test]
    fn messages_stay_on_one_line() {
        assert_eq!(one_line("a\nb  c\r\n"), "a b c");
        assert_eq!(
            one_line("file \u{202e}fdp.exe\u{1b}[2J\u{7f}"),
            "file \\u{202e}fdp.exe\\u{1b}[2J\\u{7f}"
        );
    }

    #[test]
    fn sources_are_named_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read x")]
        struct Quiet(#[source] io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read x: {0}")]
        struct Loud(#[source] io::Error);
        let cause = || io::Error::other("gone");
        assert_eq!(with_sources(&Quiet(cause())), "cannot read x: gone");
        assert_eq!(with_sources(&Loud(cause())), "cannot read x: gone");
    }
}
