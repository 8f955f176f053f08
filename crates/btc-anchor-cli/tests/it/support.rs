//! The program run as a user runs it: arguments in; exit code, stdout and
//! stderr out, with the checks every command-line test makes.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::process::Output;

/// The stable exit codes (README.md), as the tests name them.
pub const VALID: i32 = 0;
pub const INVALID: i32 = 1;
pub const USAGE: i32 = 2;
pub const PENDING: i32 = 3;
pub const IO: i32 = 4;
pub const UNVERIFIED: i32 = 5;
pub const SERVER: i32 = 6;
pub const INCONCLUSIVE: i32 = 10;
pub const WRONG_NETWORK: i32 = 11;

/// What one run of the program gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out
                .status
                .code()
                .expect("the program finished and was not killed by a signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

impl Run {
    /// Stdout as the one JSON object `--json` prints.
    pub fn json(&self) -> serde_json::Value {
        parse_json(&self.stdout)
    }

    /// Asserts the exit code, showing everything the run printed if it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts stderr is exactly `error: ...` then `hint: ...`; returns the
    /// two messages.
    pub fn two_line_error(&self) -> (String, String) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "stderr must be two lines:\n{}", self.stderr);
        assert!(self.stderr.ends_with('\n'), "{:?}", self.stderr);
        let error = lines[0]
            .strip_prefix("error: ")
            .unwrap_or_else(|| panic!("first line must start 'error: ': {}", lines[0]));
        let hint = lines[1]
            .strip_prefix("hint: ")
            .unwrap_or_else(|| panic!("second line must start 'hint: ': {}", lines[1]));
        assert!(!error.is_empty() && !hint.is_empty());
        (error.to_owned(), hint.to_owned())
    }
}

/// The program, run in the project's root (where `fixtures/` is).
pub fn command() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("btc-anchor").unwrap();
    c.current_dir(btc_anchor_testenv::repo_root());
    // The caller's settings must not change what a test sees.
    for var in [
        "BTC_ANCHOR_NETWORK",
        "BTC_ANCHOR_DATA_DIR",
        "BTC_ANCHOR_ELECTRUM",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs the program with `args`.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command().args(args).output().unwrap().into()
}

/// `docs/cli-json.schema.json`, compiled once.
fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = btc_anchor_testenv::repo_file("docs/cli-json.schema.json");
        let schema: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// Parses what a `--json` command printed: exactly one line holding one
/// object, of one of the shapes `docs/cli-json.schema.json` documents.
/// Every test that reads JSON output goes through here, so the schema is
/// held to every output the tests see.
pub fn parse_json(stdout: &str) -> serde_json::Value {
    assert_eq!(
        stdout.lines().count(),
        1,
        "--json prints one line: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"));
    let errors: Vec<String> = schema().iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "output not of a shape docs/cli-json.schema.json documents: {}\n{}",
        errors.join("; "),
        serde_json::to_string_pretty(&v).unwrap_or_default()
    );
    v
}

/// Where a server says it listens, from the first line it printed:
/// `listening on http://ADDR`, or with `--json` (`json`) a `listening`
/// object of `service`.
pub fn listening_addr(line: &str, service: &str, json: bool) -> std::net::SocketAddr {
    let url = if json {
        let j = parse_json(line);
        assert_eq!(j["result"], "listening");
        assert_eq!(j["service"], service);
        j["url"].as_str().unwrap().to_owned()
    } else {
        line.trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{service} server printed {line:?}"))
            .to_owned()
    };
    let addr: std::net::SocketAddr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http:// URL: {url}"))
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    addr
}
