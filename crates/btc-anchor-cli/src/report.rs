//! `btc-anchor verify --report FILE.html`: a one-page, printable
//! verification report for a patient, an auditor or a court.
//!
//! [`ReportData`] is built from the library's [`Verification`] (and the
//! inputs the verifier named); [`ReportData::to_html`] renders it as one
//! self-contained page: inline CSS with print styles, no script, no
//! external resource (a Content-Security-Policy forbids both), and every
//! value HTML-escaped, so that a hostile file name or proof cannot add
//! markup. The page states only what the verification established; the
//! proof file stays the evidence.

use std::fmt::Write as _;
use std::path::Path;

use btc_anchor::bitcoin::Network;
use btc_anchor::headers::SourceKind;
use btc_anchor::ots::OtsVerdict;
use btc_anchor::text::escape_controls;
use btc_anchor::utc;
use btc_anchor::verification::{Answer, Outcome, Verification};
use btc_anchor::verify::{Evidence, Verdict, MAX_FUTURE_BLOCK_TIME};
use serde::Serialize;

use crate::render::{chain_name, count, source_label};

/// What the verifier named: the files and header source of the check.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The document, or `None` for `--digest`.
    pub document: Option<&'a Path>,
    /// The proof file.
    pub proof: &'a Path,
    /// The checkpoint table given with `--checkpoints`, if any.
    pub checkpoints: Option<&'a Path>,
}

impl Inputs<'_> {
    /// The folder the re-check commands run in: the document's (or for a
    /// digest, the proof's).
    fn folder(&self) -> Option<&Path> {
        self.document.unwrap_or(self.proof).parent()
    }

    /// `path` as one shell word in a re-check command: its name alone if
    /// it is in [`Inputs::folder`], else the path as given.
    fn word(&self, path: &Path) -> String {
        let short = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if Some(parent) == self.folder() => Path::new(name),
            _ => path,
        };
        shell_quote(&short.display().to_string())
    }
}

/// One labelled value of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// What it is ("block height").
    pub label: String,
    /// Its value.
    pub value: String,
    /// Whether the value is a hash or other code, shown in a fixed-width
    /// font and broken anywhere.
    pub code: bool,
}

/// One way to check the verdict again, independently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recheck {
    /// What it checks, in words.
    pub what: String,
    /// The command lines to run, arguments quoted for a POSIX shell.
    pub commands: Vec<String>,
}

/// Everything the report page says, built from a [`Verification`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportData {
    /// The program and version that verified ("btc-anchor 0.1.0").
    pub program: String,
    /// When the verification was made, UTC.
    pub verified_at: String,
    /// The outcome.
    pub outcome: Outcome,
    /// The verdict's word: VALID, PENDING, INVALID, WRONG NETWORK, ...
    pub verdict: String,
    /// The verdict in the plain words of the command line's headline.
    pub headline: String,
    /// What the verdict means, for someone who has not seen one before.
    pub meaning: String,
    /// The document, the proof and the digest.
    pub subject: Vec<Fact>,
    /// The evidence: block, transaction, commitment, stage, headers.
    pub evidence: Vec<Fact>,
    /// What the verdict relies on.
    pub trusted: Vec<String>,
    /// What was not checked.
    pub not_checked: Vec<String>,
    /// The folder the re-check commands run in (that of the document),
    /// if it is not the current one.
    pub recheck_in: Option<String>,
    /// How to check it again independently.
    pub recheck: Vec<Recheck>,
}

impl ReportData {
    /// The report on `v`, whose command-line headline is `headline` (the
    /// first line `verify` prints), for the files in `inputs`.
    pub fn new(v: &Verification, headline: &str, inputs: Inputs<'_>) -> ReportData {
        let outcome = v.outcome();
        let verdict = headline
            .split_once(':')
            .map_or_else(|| verdict_word(outcome).to_owned(), |(w, _)| w.to_owned());
        let mut data = ReportData {
            program: format!("btc-anchor {}", env!("CARGO_PKG_VERSION")),
            verified_at: utc::human(now()),
            outcome,
            verdict,
            headline: headline.trim_end().to_owned(),
            meaning: meaning(outcome, v.network).to_owned(),
            subject: Vec::new(),
            evidence: Vec::new(),
            trusted: Vec::new(),
            not_checked: Vec::new(),
            recheck_in: inputs
                .folder()
                .filter(|f| !f.as_os_str().is_empty())
                .map(|f| f.display().to_string()),
            recheck: Vec::new(),
        };
        data.subject.push(Fact::text(
            "document",
            inputs.document.map_or_else(
                || "not given: its digest was checked".to_owned(),
                |p| p.display().to_string(),
            ),
        ));
        let format = match &v.answer {
            Answer::Native { .. } => " (a btc-anchor proof)",
            Answer::Ots { .. } => " (an OpenTimestamps .ots timestamp)",
            _ => "",
        };
        data.subject.push(Fact::text(
            "proof file",
            format!("{}{format}", inputs.proof.display()),
        ));
        data.subject
            .push(Fact::text("network checked", chain_name(v.network)));
        match &v.answer {
            Answer::Native {
                digest,
                stage,
                result,
            } => {
                data.subject
                    .push(Fact::code("document SHA-256", digest.to_hex()));
                if let Some(stage) = stage {
                    data.evidence
                        .push(Fact::text("proof stage", stage_words(&stage.to_string())));
                }
                match result {
                    Ok(r) => data.native_evidence(v, r, inputs),
                    Err(_) => {
                        if let Some(e) = v.error() {
                            data.evidence
                                .push(Fact::text("why", btc_anchor::text::with_sources(e)));
                        }
                    }
                }
                if let Some(reason) = v.reason() {
                    data.evidence.push(Fact::code("failed check", reason));
                }
                data.native_recheck(v, &digest.to_hex(), inputs);
            }
            Answer::Ots {
                file_hash,
                digest,
                result,
            } => {
                if let (Some(op), Some(d)) = (file_hash, digest) {
                    data.subject.push(Fact::code(
                        &format!("document {}", op.title()),
                        hex::encode(d),
                    ));
                }
                if let Ok(r) = result {
                    if let OtsVerdict::Valid {
                        height,
                        block_hash,
                        time,
                    } = &r.verdict
                    {
                        data.block_facts(v.network, *height, true, &block_hash.to_string(), *time);
                    }
                    data.evidence.push(Fact::text(
                        "attestations",
                        count(r.attestations.len() as u64, "attestation"),
                    ));
                } else if let Some(e) = v.error() {
                    data.evidence
                        .push(Fact::text("why", btc_anchor::text::with_sources(e)));
                }
                if let Some(reason) = v.reason() {
                    data.evidence.push(Fact::code("failed check", reason));
                }
                data.trusted.push(source_trust(&v.source));
                if matches!(v.source, SourceKind::EmbeddedOnly) {
                    data.not_checked.push(
                        "a .ots file carries no block header: without a headers file or an \
                         Electrum server no attestation can be checked"
                            .to_owned(),
                    );
                }
                data.ots_recheck(v, file_hash.map(|op| op.name()), digest.as_deref(), inputs);
            }
            _ => {}
        }
        data.trusted.push(format!(
            "this program ({}) and the computer it ran on",
            data.program
        ));
        data
    }

    fn block_facts(&mut self, network: Network, height: u32, checked: bool, hash: &str, time: u32) {
        let height = if checked {
            height.to_string()
        } else {
            format!("{height} (as the proof states it)")
        };
        self.evidence.push(Fact::text(
            "block height",
            format!("{height} on {}", chain_name(network)),
        ));
        self.evidence.push(Fact::code("block hash", hash));
        self.evidence.push(Fact::text(
            "block time",
            format!(
                "{}; a block's time may run up to {} hours ahead, so at the latest {}",
                utc::human(time),
                MAX_FUTURE_BLOCK_TIME / 3600,
                utc::human(time.saturating_add(MAX_FUTURE_BLOCK_TIME)),
            ),
        ));
    }

    fn native_evidence(
        &mut self,
        v: &Verification,
        r: &btc_anchor::verify::Report,
        inputs: Inputs<'_>,
    ) {
        if let Some(b) = &r.block {
            self.block_facts(
                r.network,
                b.height,
                b.height_checked,
                &b.block_hash.to_string(),
                b.time,
            );
        }
        if let Some(txid) = r.txid {
            self.evidence
                .push(Fact::code("transaction", txid.to_string()));
        }
        if let Some(output) = r.output {
            self.evidence.push(Fact::text(
                "commitment",
                format!("output {output} of the transaction (OP_RETURN) commits to the batch root"),
            ));
        }
        if let Some(root) = &r.root {
            self.evidence.push(Fact::code("batch root", root.to_hex()));
        }
        if let Some(size) = r.batch_size {
            self.evidence.push(Fact::text(
                "batch",
                format!("{} (as the proof states it)", count(size, "record")),
            ));
        }
        if let Some(b) = &r.block {
            self.evidence.push(Fact::text(
                "headers checked",
                format!(
                    "{} (the block's and the {} after it), linked and each meeting its \
                     difficulty target",
                    b.confirmations_in_proof,
                    b.confirmations_in_proof.saturating_sub(1)
                ),
            ));
            if let Some(evidence) = r.evidence {
                self.evidence.push(Fact::text(
                    "why it holds",
                    crate::verify::evidence_text(r, b),
                ));
                if let Evidence::Checkpoint { height, .. } = evidence {
                    self.trusted.push(match inputs.checkpoints {
                        Some(p) => format!(
                            "the checkpoint table {} (given with --checkpoints): its block at \
                             height {height} is taken to be in the real chain",
                            p.display()
                        ),
                        None => format!(
                            "the checkpoint table built into btc-anchor: its block at height \
                             {height} is taken to be in the real chain"
                        ),
                    });
                }
            }
            if let (Some(cost), false) = (&b.forgery, r.is_test_network()) {
                self.evidence
                    .push(Fact::text("cost of forging", cost.describe()));
            }
            if let Verdict::Inconclusive(why) = r.verdict {
                self.evidence.push(Fact::text(
                    "why not valid",
                    format!(
                        "{}; check it against the real chain (below), or have it sealed \
                         (btc-anchor seal) once its difficulty epoch has closed",
                        crate::verify::shortfall_text(why)
                    ),
                ));
            }
        }
        if !matches!(v.source, SourceKind::EmbeddedOnly) || self.trusted.is_empty() {
            self.trusted.push(source_trust(&v.source));
        }
        self.not_checked
            .extend(r.not_checked.iter().map(|n| n.describe().to_owned()));
    }

    fn native_recheck(&mut self, v: &Verification, digest: &str, inputs: Inputs<'_>) {
        let proof = inputs.word(inputs.proof);
        let network = v.network.to_string();
        let (subject, doc) = match inputs.document {
            Some(d) => {
                let doc = inputs.word(d);
                self.recheck.push(Recheck {
                    what: "that the document is the one the proof is about: its SHA-256 must \
                           be the digest above"
                        .to_owned(),
                    commands: vec![format!("sha256sum {doc}")],
                });
                (doc.clone(), Some(doc))
            }
            None => (format!("--digest {digest}"), None),
        };
        self.recheck.push(Recheck {
            what: "the whole proof again with btc-anchor, offline, from the proof file alone"
                .to_owned(),
            commands: vec![format!(
                "btc-anchor verify {subject} --proof {proof} --network {network}"
            )],
        });
        self.recheck.push(Recheck {
            what: "that the block is in the real chain, against an Electrum server you trust \
                   (or with --headers FILE, a headers file made with btc-anchor headers sync)"
                .to_owned(),
            commands: vec![format!(
                "btc-anchor verify {subject} --proof {proof} --network {network} --electrum \
                 ssl://HOST:PORT"
            )],
        });
        if v.outcome() == Outcome::Valid {
            let ots_file = inputs.word(&btc_anchor::file::ots_path(
                inputs.document.unwrap_or(inputs.proof),
            ));
            let mut commands = vec![format!("btc-anchor export --ots {proof} --out {ots_file}")];
            match doc {
                Some(doc) => commands.push(format!(
                    "ots{} verify -f {doc} {ots_file}",
                    ots_network_flag(v.network)
                )),
                None => commands.push(format!(
                    "ots{} verify -d {digest} {ots_file}",
                    ots_network_flag(v.network)
                )),
            }
            self.recheck.push(Recheck {
                what: "with the stock OpenTimestamps tools, which ask a Bitcoin Core node of \
                       their own: export the proof as a .ots timestamp and verify it with \
                       ots verify"
                    .to_owned(),
                commands,
            });
        }
    }

    fn ots_recheck(
        &mut self,
        v: &Verification,
        hash: Option<&str>,
        digest: Option<&[u8]>,
        inputs: Inputs<'_>,
    ) {
        let proof = inputs.word(inputs.proof);
        let network = v.network.to_string();
        let subject = match (inputs.document, digest) {
            (Some(d), _) => inputs.word(d),
            (None, Some(d)) => format!("--digest {}", hex::encode(d)),
            (None, None) => "DOCUMENT".to_owned(),
        };
        if let (Some(d), Some(hash), Some(digest)) = (inputs.document, hash, digest) {
            let tool = match hash {
                "sha1" => Some("sha1sum".to_owned()),
                "sha256" => Some("sha256sum".to_owned()),
                "ripemd160" => Some("openssl dgst -r -ripemd160".to_owned()),
                _ => None,
            };
            self.recheck.push(Recheck {
                what: format!(
                    "that the document is the one the timestamp is about: its {hash} must be {}",
                    hex::encode(digest)
                ),
                commands: tool
                    .map(|t| format!("{t} {}", inputs.word(d)))
                    .into_iter()
                    .collect(),
            });
        }
        self.recheck.push(Recheck {
            what: "with the stock OpenTimestamps tools, which ask a Bitcoin Core node of their \
                   own"
            .to_owned(),
            commands: vec![match inputs.document {
                Some(d) => format!(
                    "ots{} verify -f {} {proof}",
                    ots_network_flag(v.network),
                    inputs.word(d)
                ),
                None => format!("ots{} verify {proof}", ots_network_flag(v.network)),
            }],
        });
        self.recheck.push(Recheck {
            what: "with btc-anchor, against a server or a headers file you trust".to_owned(),
            commands: vec![format!(
                "btc-anchor verify {subject} --proof {proof} --network {network} --electrum \
                 ssl://HOST:PORT"
            )],
        });
    }

    /// The page: one self-contained HTML document.
    pub fn to_html(&self) -> String {
        let mut h = String::with_capacity(16 * 1024);
        let class = match self.outcome {
            Outcome::Valid => "valid",
            Outcome::Invalid => "invalid",
            _ => "other",
        };
        h.push_str(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        );
        let _ = writeln!(
            h,
            "<title>Verification report: {}</title>",
            esc(&self.verdict)
        );
        h.push_str(STYLE);
        h.push_str("</head>\n<body>\n<main>\n");
        h.push_str("<header><h1>Verification report</h1>\n");
        let _ = writeln!(
            h,
            "<p class=\"sub\">Proof that a document existed by a point in time, anchored in \
             Bitcoin. Verified {} by {}.</p></header>",
            esc(&self.verified_at),
            esc(&self.program)
        );
        // The headline as the command line prints it, its verdict word
        // set off.
        let rest = self
            .headline
            .strip_prefix(self.verdict.as_str())
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim_start);
        let headline = match rest {
            Some(rest) => format!(
                "<span class=\"word\">{}:</span> {}",
                esc(&self.verdict),
                esc(rest)
            ),
            None => esc(&self.headline),
        };
        let _ = writeln!(
            h,
            "<section class=\"verdict {class}\" id=\"verdict\">\
             <p class=\"headline\">{headline}</p><p class=\"meaning\">{}</p></section>",
            esc(&self.meaning)
        );
        facts(&mut h, "The document", "subject", &self.subject);
        if !self.evidence.is_empty() {
            facts(&mut h, "The evidence", "evidence", &self.evidence);
        }
        h.push_str("<section id=\"trusted\"><h2>What was trusted</h2>\n<ul>\n");
        for t in &self.trusted {
            let _ = writeln!(h, "<li>{}</li>", esc(t));
        }
        h.push_str("</ul>\n");
        if !self.not_checked.is_empty() {
            h.push_str("<h3>Not checked</h3>\n<ul>\n");
            for t in &self.not_checked {
                let _ = writeln!(h, "<li>{}</li>", esc(t));
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
        h.push_str(
            "<section id=\"recheck\"><h2>How to check it again independently</h2>\n\
             <p>Anyone with the document and the proof file can repeat the check, without \
             trusting this report",
        );
        match &self.recheck_in {
            Some(folder) => {
                let _ = write!(
                    h,
                    "; in the folder that holds them (here <span class=\"code\">{}</span>):",
                    esc(folder)
                );
            }
            None => h.push(':'),
        }
        h.push_str("</p>\n<ol>\n");
        for r in &self.recheck {
            let _ = write!(h, "<li>{}", esc(&r.what));
            for c in &r.commands {
                let _ = write!(h, "<pre>{}</pre>", esc(c));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ol>\n</section>\n");
        h.push_str(
            "<footer>This report summarises a verification; the proof file is the evidence. \
             Only the document's digest was used: the document itself was read where it lies \
             and sent nowhere.</footer>\n</main>\n</body>\n</html>\n",
        );
        h
    }
}

impl Fact {
    fn text(label: &str, value: impl Into<String>) -> Fact {
        Fact {
            label: label.to_owned(),
            value: value.into(),
            code: false,
        }
    }

    fn code(label: &str, value: impl Into<String>) -> Fact {
        Fact {
            label: label.to_owned(),
            value: value.into(),
            code: true,
        }
    }
}

const STYLE: &str = "<style>
@page { size: A4; margin: 12mm 14mm; }
* { box-sizing: border-box; }
html { background: #fff; color: #111; }
body { margin: 0; font: 9pt/1.3 \"DejaVu Sans\", \"Liberation Sans\", Arial, sans-serif; }
main { max-width: 182mm; margin: 0 auto; padding: 6mm 4mm; }
h1 { font-size: 15pt; margin: 0; }
h2 { font-size: 10.5pt; margin: 3mm 0 1mm; border-bottom: 1px solid #999; }
h3 { font-size: 9pt; margin: 1.5mm 0 0.5mm; }
p { margin: 0.8mm 0; }
.sub { color: #444; }
.verdict { border: 1.5px solid #555; border-left-width: 6px; padding: 1.5mm 3mm; margin: 3mm 0; }
.verdict.valid { border-color: #1b6e2a; background: #eef7ef; }
.verdict.invalid { border-color: #a11d1d; background: #fbeeee; }
.verdict.other { border-color: #8a5a00; background: #fdf6e7; }
.headline { font-size: 10.5pt; font-weight: bold; }
.word { font-size: 12pt; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.4mm 2mm 0.4mm 0; }
th { width: 34mm; font-weight: normal; color: #444; }
td { overflow-wrap: anywhere; }
.code, pre { font-family: \"DejaVu Sans Mono\", \"Liberation Mono\", monospace; font-size: 7.8pt; }
.code { word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; margin: 0.5mm 0 0.8mm; padding: 0.6mm 1.5mm;
      background: #f3f3f3; border: 1px solid #ddd; }
ul, ol { margin: 0.5mm 0; padding-left: 5mm; }
li { margin: 0.3mm 0; }
footer { margin-top: 3mm; padding-top: 1mm; border-top: 1px solid #999; color: #444; font-size: 7.8pt; }
@media print {
  html, body { background: #fff; }
  body { font-size: 8.5pt; }
  main { max-width: none; padding: 0; }
  .verdict, pre { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, li, tr { break-inside: avoid; }
}
</style>
";

/// One section of label/value rows.
fn facts(h: &mut String, title: &str, id: &str, facts: &[Fact]) {
    let _ = writeln!(h, "<section id=\"{id}\"><h2>{}</h2>\n<table>", esc(title));
    for f in facts {
        let class = if f.code { " class=\"code\"" } else { "" };
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td{class}>{}</td></tr>",
            esc(&f.label),
            esc(&f.value)
        );
    }
    h.push_str("</table>\n</section>\n");
}

/// `s` as HTML text, safe in element content and in quoted attribute
/// values: `&`, `<`, `>`, `"` and `'` as character references, and
/// control and bidirectional characters spelled out
/// ([`escape_controls`]) so that they neither hide nor reorder text.
pub fn esc(s: &str) -> String {
    let s = escape_controls(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as one word for a POSIX shell: unchanged if it holds only
/// characters no shell treats specially, else single-quoted (a `'` as
/// `'\''`), so that a copied command cannot run what a file name holds.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-+,=:@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The OpenTimestamps client's option for a test network.
fn ots_network_flag(network: Network) -> &'static str {
    match network {
        Network::Regtest => " --btc-regtest",
        Network::Testnet => " --btc-testnet",
        _ => "",
    }
}

fn verdict_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Valid => "VALID",
        Outcome::Inconclusive => "INCONCLUSIVE",
        Outcome::Unverified => "UNVERIFIED",
        Outcome::Pending => "PENDING",
        Outcome::WrongNetwork => "WRONG NETWORK",
        _ => "INVALID",
    }
}

/// What a verdict means, in words for someone new to them.
fn meaning(o: Outcome, network: Network) -> &'static str {
    match o {
        Outcome::Valid if network != Network::Bitcoin => {
            "The proof checks out under the rules of a test network, where anyone can make \
             blocks: it shows how the proof works, and carries no weight as evidence."
        }
        Outcome::Valid => {
            "The document's digest is committed in a Bitcoin block: the document existed, \
             exactly as it is, no later than that block's time. Changing a single byte of the \
             document would change its digest and fail this check."
        }
        Outcome::Pending => {
            "The document has been stamped, but its proof is not complete yet: nothing is \
             proven until its batch's transaction is in a Bitcoin block and the proof is \
             upgraded."
        }
        Outcome::Inconclusive => {
            "The proof checks out as far as it goes, but the proof file alone is too weak \
             evidence that its block is in the real Bitcoin chain."
        }
        Outcome::Unverified => {
            "The timestamp could not be checked: the block headers it needs were not available \
             to the verifier."
        }
        Outcome::WrongNetwork => {
            "The proof was made on another network than the one checked: it is not a forgery, \
             but it is no evidence on the network checked."
        }
        _ => {
            "The proof does not verify for this document: it proves nothing about when the \
             document existed."
        }
    }
}

/// A proof stage in words.
fn stage_words(stage: &str) -> String {
    let what = match stage {
        "queued" => "stamped, waiting for a batch",
        "batched" => "in a batch whose transaction is not broadcast yet",
        "broadcast" => "in a transaction broadcast but not yet in a block",
        "confirmed" => "complete: in a block",
        _ => "",
    };
    if what.is_empty() {
        stage.to_owned()
    } else {
        format!("{stage} ({what})")
    }
}

/// What the header source is trusted for.
fn source_trust(source: &SourceKind) -> String {
    match source {
        SourceKind::EmbeddedOnly => "the proof file alone: the block headers it carries, each \
                                     checked for proof of work; no server and no headers file \
                                     was asked"
            .to_owned(),
        SourceKind::HeadersFile(p) => format!(
            "the headers file {}, validated whole when it was opened (proof of work, links, \
             difficulty and the built-in checkpoints): whoever made it is trusted to have \
             followed the real chain",
            p.display()
        ),
        other => format!(
            "{}: trusted to report the best chain (each answer checked against the block \
             headers' proof of work)",
            source_label(other)
        ),
    }
}

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"\u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\\u{202e}"
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("records/a-1.txt"), "records/a-1.txt");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
