//! OpenTimestamps files on the command line: `verify` and `info` of a
//! `.ots` file, rendered from what [`btc_anchor::ots`] answers.

use btc_anchor::bitcoin::{BlockHash, Network};
use btc_anchor::headers::SourceKind;
use btc_anchor::ots::{
    display_path, Attestation, AttestationReport, BitcoinCheck, Branch, DetachedTimestamp,
    FileHashOp, Item, OtsError, OtsReport, OtsVerdict, OtsVerifyError, Timestamp, MAJOR_VERSION,
};
use btc_anchor::text::{escape_controls, escape_path};
use btc_anchor::utc;
use btc_anchor::verification::{
    attestation_json, attestation_kind, display_order, first_failure, listed, Answer, OtsFailure,
    Verification, MAX_LISTED_ATTESTATIONS, MAX_LISTED_BYTES,
};
use btc_anchor::verify::MAX_FUTURE_BLOCK_TIME;
use serde_json::{json, Value};

use crate::outcome::{with_sources, Exit, Failure};
use crate::render::{chain_name, line, source_label};
use crate::verify::{unknown_answer, Rendered, Subject};

/// Renders the answer on a `.ots` timestamp as text, with its exit code
/// and stderr lines.
pub fn render(v: &Verification, subject: Subject, verbose: bool) -> Result<Rendered, Failure> {
    let Answer::Ots {
        file_hash,
        digest,
        result,
    } = &v.answer
    else {
        return Err(unknown_answer());
    };
    let out = Rendering {
        subject,
        verbose,
        network: v.network,
        file_hash: *file_hash,
        digest: digest.as_deref(),
    };
    match result {
        Ok(report) => out.report(report, v.tip),
        Err(OtsFailure::Malformed(e)) => {
            let message = with_sources(&e);
            Ok(reject(
                &message,
                format!("malformed timestamp file ({}): {message}", e.kind()),
                ots_error_hint(e),
            ))
        }
        Err(OtsFailure::Rejected(e)) => {
            let hint = match e {
                OtsVerifyError::DigestMismatch { .. } => match subject {
                    Subject::Document => "the timestamp is for another document, or the document \
                                          has changed since it was stamped: check that you have \
                                          the original file and its own timestamp"
                        .to_owned(),
                    Subject::Digest(_) => "the timestamp is for another digest: check the digest \
                                           and that the timestamp is the one made for that \
                                           document"
                        .to_owned(),
                },
                OtsVerifyError::Source(_) => format!(
                    "--headers needs a file of raw 80-byte {} block headers starting at the \
                     genesis block, as exported from a node (and --network for its network)",
                    v.network
                ),
                _ => "check the header source given with --headers".to_owned(),
            };
            Ok(reject(
                &with_sources(&e),
                format!("the timestamp does not verify ({})", e.kind()),
                hint,
            ))
        }
        Err(_) => Err(unknown_answer()),
    }
}

/// What to do about a malformed `.ots` file.
pub fn ots_error_hint(e: &OtsError) -> String {
    match e {
        OtsError::UnknownMajorVersion { .. } => format!(
            "this program reads OpenTimestamps files of major version {MAJOR_VERSION}; the file \
             is of another version or damaged: use an intact copy"
        ),
        OtsError::BadMagic => {
            "the file is not an OpenTimestamps timestamp; pass a .ots file or a btc-anchor proof"
                .to_owned()
        }
        OtsError::TooLarge { .. } => {
            "the file is far larger than any real timestamp: use the .ots file made for the \
             document"
                .to_owned()
        }
        _ => {
            "the .ots file is damaged or truncated; use an intact copy of the timestamp".to_owned()
        }
    }
}

// ---------------------------------------------------------------------------
// verify: rendering
// ---------------------------------------------------------------------------

/// Renders the verdicts on a `.ots` file as text.
struct Rendering<'a> {
    subject: Subject,
    /// Every attestation and what was not checked, for a valid timestamp.
    verbose: bool,
    network: Network,
    /// Known once the file is read.
    file_hash: Option<FileHashOp>,
    /// The document's digest, once computed.
    digest: Option<&'a [u8]>,
}

/// An INVALID answer (exit 1): the text and the two stderr lines.
fn reject(message: &str, error: String, hint: String) -> Rendered {
    Rendered {
        text: format!("INVALID: {}\n", escape_controls(message)),
        exit: Exit::Invalid,
        failure: Some(Failure::invalid(error, hint)),
    }
}

impl Rendering<'_> {
    fn report(&self, r: &OtsReport, tip: Option<u32>) -> Result<Rendered, Failure> {
        let (exit, text, failure) = match &r.verdict {
            OtsVerdict::Valid {
                height,
                block_hash,
                time,
            } => (
                Exit::Valid,
                self.valid_text(r, *height, block_hash, *time, tip),
                None,
            ),
            OtsVerdict::Invalid { failures } => {
                let (kind, text) = self.invalid_text(r, *failures);
                let failure = Failure::invalid(
                    format!("the timestamp does not verify ({kind})"),
                    "the timestamp claims a block the header source contradicts: it proves \
                     nothing (or the headers file is of another chain: check --network)",
                );
                (Exit::Invalid, text, Some(failure))
            }
            OtsVerdict::HeadersNeeded { heights } => (
                Exit::Unverified,
                self.unverified_text(r, heights, tip),
                None,
            ),
            OtsVerdict::Pending => (Exit::Pending, self.pending_text(r), None),
            _ => return Err(unknown_answer()),
        };
        Ok(Rendered {
            text,
            exit,
            failure,
        })
    }

    fn digest_line(&self, s: &mut String) {
        if let (Some(op), Some(d)) = (self.file_hash, &self.digest) {
            line(s, "digest", &format!("{} {}", op.title(), hex::encode(d)));
        }
    }

    fn valid_text(
        &self,
        r: &OtsReport,
        height: u32,
        block_hash: &BlockHash,
        time: u32,
        tip: Option<u32>,
    ) -> String {
        let mut s = crate::render::valid_headline(&self.subject.noun(), time, self.network, height);
        self.digest_line(&mut s);
        line(&mut s, "block", &format!("{block_hash} at height {height}"));
        if self.verbose {
            let hours = MAX_FUTURE_BLOCK_TIME / 3600;
            line(
                &mut s,
                "block time",
                &format!(
                    "{} (approximate: consensus accepts block times up to {hours} hours ahead \
                     of real time, so at the latest the document existed at {})",
                    utc::human(time),
                    utc::human(time.saturating_add(MAX_FUTURE_BLOCK_TIME)),
                ),
            );
        }
        let mut chain = format!(
            "block {height} of {} has the attested merkle root",
            source_label(&r.source)
        );
        if let Some(tip) = tip {
            chain.push_str(&format!(
                ": {} (tip at height {tip})",
                crate::render::count(
                    u64::from(tip.saturating_sub(height).saturating_add(1)),
                    "confirmation"
                )
            ));
        }
        line(&mut s, "chain", &chain);
        if !self.verbose {
            return s;
        }
        attestation_list(&mut s, &r.attestations);
        line(
            &mut s,
            "not checked",
            "difficulty adjustments (each header of the headers file meets its own target \
             within the network limit)",
        );
        s
    }

    fn invalid_text(&self, r: &OtsReport, failures: usize) -> (&'static str, String) {
        let kind = first_failure(r).unwrap_or("attestation-failed");
        let what = r
            .attestations
            .iter()
            .filter_map(|a| a.bitcoin.as_ref())
            .find(|c| c.is_failure())
            .map(check_text)
            .unwrap_or_default();
        let mut s = format!(
            "INVALID: {failures} Bitcoin attestation(s) do not check out against {}: {what}\n",
            source_label(&r.source)
        );
        self.digest_line(&mut s);
        attestation_list(&mut s, &r.attestations);
        (kind, s)
    }

    fn unverified_text(&self, r: &OtsReport, heights: &[u32], tip: Option<u32>) -> String {
        // A hostile file names up to a thousand blocks: the headline names
        // the first ten.
        let mut heights_text = heights
            .iter()
            .take(10)
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if heights.len() > 10 {
            heights_text.push_str(&format!(" and {} more", heights.len() - 10));
        }
        let blocks = if heights.len() == 1 {
            "block"
        } else {
            "blocks"
        };
        let chain = chain_name(self.network);
        let headline = match (&r.source, tip) {
            (SourceKind::HeadersFile(p), Some(tip)) => format!(
                "the timestamp is attested in {chain} {blocks} {heights_text}, past the end of \
                 headers file {} (height {tip}); a header source that reaches it is needed to \
                 check it",
                escape_path(p)
            ),
            _ => format!(
                "the timestamp is attested in {chain} {blocks} {heights_text}; a header source \
                 is needed to check it (pass --headers FILE)"
            ),
        };
        let mut s = format!("UNVERIFIED: {headline}\n");
        self.digest_line(&mut s);
        for a in r.attestations.iter().take(INFO_MAX_ATTESTATIONS) {
            if let Some(BitcoinCheck::HeaderNeeded {
                height,
                expected_merkle_root,
            }) = &a.bitcoin
            {
                line(
                    &mut s,
                    "needed header",
                    &format!("height {height}, with merkle root"),
                );
                line(
                    &mut s,
                    "",
                    &format!(
                        "{} (display order, as block explorers show it)",
                        display_order(expected_merkle_root)
                    ),
                );
                line(
                    &mut s,
                    "",
                    &format!(
                        "{} (internal byte order, as hashed)",
                        hex::encode(expected_merkle_root)
                    ),
                );
            }
        }
        attestation_list(&mut s, &r.attestations);
        line(
            &mut s,
            "next step",
            &format!(
                "verify again with --headers FILE, a file of raw 80-byte {chain} headers from the \
                 genesis block reaching height {} (e.g. exported from a node you trust)",
                heights.last().copied().unwrap_or_default()
            ),
        );
        s
    }

    fn pending_text(&self, r: &OtsReport) -> String {
        let mut s = "PENDING: the timestamp has no Bitcoin attestation yet; nothing is proven \
                     until a calendar's commitment is in a Bitcoin block\n"
            .to_owned();
        self.digest_line(&mut s);
        attestation_list(&mut s, &r.attestations);
        line(
            &mut s,
            "next step",
            "upgrade the timestamp with the OpenTimestamps client (ots upgrade FILE) once the \
             calendar has anchored it in Bitcoin, then verify again",
        );
        s
    }
}

// ---------------------------------------------------------------------------
// Attestations, for verify and info
// ---------------------------------------------------------------------------

fn path_text(path: &[Branch]) -> String {
    if path.is_empty() {
        "no fork".to_owned()
    } else {
        format!("path {}", display_path(path))
    }
}

/// The attestation's header line and its message (for a block attestation
/// of 32 bytes: the merkle root in both byte orders).
fn attestation_lines(
    s: &mut String,
    i: usize,
    a: &Attestation,
    path: &[Branch],
    ops: usize,
    msg: &[u8],
) {
    let operations = if ops == 1 { "operation" } else { "operations" };
    line(
        s,
        &format!("attestation {i}"),
        &format!("{a} ({}, {ops} {operations})", path_text(path)),
    );
    match (a, <[u8; 32]>::try_from(msg)) {
        (Attestation::Bitcoin { .. } | Attestation::Litecoin { .. }, Ok(root)) => {
            line(
                s,
                "",
                &format!("merkle root {} (display order)", display_order(&root)),
            );
            line(
                s,
                "",
                &format!("merkle root {} (internal byte order)", hex::encode(root)),
            );
        }
        _ => line(s, "", &format!("message {}", hex::encode(msg))),
    }
}

/// The attestations with what became of each, cut as `info` cuts its
/// list ([`INFO_MAX_ATTESTATIONS`], [`INFO_MAX_LIST_BYTES`]): a hostile
/// file holds up to a thousand, each with kilobytes of message.
fn attestation_list(s: &mut String, reports: &[AttestationReport]) {
    let start = s.len();
    let mut shown = 0;
    for (i, a) in reports.iter().enumerate() {
        if i == INFO_MAX_ATTESTATIONS || s.len() - start > INFO_MAX_LIST_BYTES {
            break;
        }
        attestation_lines(s, i + 1, &a.attestation, &a.path, a.ops, &a.message);
        line(s, "", &result_text(a));
        shown += 1;
    }
    omitted_line(s, reports.len() - shown, "attestation");
}

/// What became of one attestation, one line.
fn result_text(a: &AttestationReport) -> String {
    match (&a.bitcoin, &a.attestation) {
        (Some(check), _) => check_text(check),
        (None, Attestation::Pending { .. }) => {
            "not checked: pending at the calendar, which gives the complete timestamp later"
                .to_owned()
        }
        (None, _) => "not checked: only Bitcoin attestations are checked".to_owned(),
    }
}

fn check_text(check: &BitcoinCheck) -> String {
    match check {
        BitcoinCheck::Confirmed {
            height,
            block_hash,
            time,
            ..
        } => format!(
            "confirmed: block {block_hash} at height {height} has this merkle root; block time {}",
            utc::human(*time)
        ),
        BitcoinCheck::Mismatch {
            height,
            block_hash,
            header_merkle_root,
        } => format!(
            "mismatch: block {block_hash} at height {height} has merkle root {} (display order), \
             not this one",
            display_order(header_merkle_root)
        ),
        BitcoinCheck::HeaderNeeded { height, .. } => {
            format!("header needed: the header at height {height} is not known")
        }
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------

// `info` shows what a file holds, and a hostile file can hold a great deal
// within its 1 MiB: a thousand attestations, a quarter of a million
// operations on paths 255 deep, arguments and payloads of kilobytes. What
// it prints is bounded all the same, in text and in JSON alike: the first
// attestations and the first part of the tree, in file order, then how
// many were left out.

/// Most attestations listed.
const INFO_MAX_ATTESTATIONS: usize = MAX_LISTED_ATTESTATIONS;
/// Most entries of the tree shown: lines of text, or JSON entries.
const INFO_MAX_TREE_ENTRIES: usize = 500;
/// Most bytes of each of the two lists, the attestations and the tree: an
/// entry can be kilobytes of hex, and deep forks indent lines by up to a
/// kilobyte. A list stops at the entry that crosses it.
const INFO_MAX_LIST_BYTES: usize = MAX_LISTED_BYTES;

/// Operations and attestations in the tree.
fn count(ts: &Timestamp) -> (usize, usize) {
    ts.items()
        .iter()
        .fold((0, 0), |(ops, atts), item| match item {
            Item::Attestation(_) => (ops, atts + 1),
            Item::Op(_, next) => {
                let (o, a) = count(next);
                (ops + 1 + o, atts + a)
            }
            _ => (ops, atts),
        })
}

/// What a list left out: "… and 12 more attestations (not shown)".
fn omitted_line(s: &mut String, omitted: usize, what: &str) {
    if omitted > 0 {
        line(
            s,
            "",
            &format!(
                "… and {} (not shown)",
                crate::render::count(omitted as u64, &format!("more {what}"))
            ),
        );
    }
}

/// `info FILE.ots` as text: a summary, the attestations with their
/// messages, then the tree as OpenTimestamps tools show it, each list cut
/// at [`INFO_MAX_ATTESTATIONS`] or [`INFO_MAX_TREE_ENTRIES`] entries and
/// [`INFO_MAX_LIST_BYTES`].
pub fn info_text(ts: &DetachedTimestamp) -> String {
    let mut s = format!(
        "OpenTimestamps detached timestamp, major version {MAJOR_VERSION}: described, not \
         verified (btc-anchor verify checks it)\n"
    );
    line(&mut s, "file hash", ts.file_hash.name());
    line(
        &mut s,
        "digest",
        &format!("{} {}", ts.file_hash.title(), hex::encode(&ts.digest)),
    );
    let (ops, atts) = count(&ts.timestamp);
    let found = ts.attestations();
    line(&mut s, "operations", &ops.to_string());
    line(&mut s, "attestations", &found.len().to_string());
    let start = s.len();
    let mut shown = 0;
    for (i, a) in found.iter().enumerate() {
        if i == INFO_MAX_ATTESTATIONS || s.len() - start > INFO_MAX_LIST_BYTES {
            break;
        }
        attestation_lines(&mut s, i + 1, &a.attestation, &a.path, a.ops, &a.message);
        shown += 1;
    }
    omitted_line(&mut s, found.len() - shown, "attestation");
    s.push_str("\ntree:\n");
    s.push_str(&format!(
        "file {} hash: {}\n",
        ts.file_hash,
        hex::encode(&ts.digest)
    ));
    let mut tree = TreeText {
        out: String::new(),
        lines: 0,
    };
    // Stops early once the list is full; the count says how far it got.
    let _ = tree.show(&ts.timestamp, 0);
    s.push_str(&tree.out);
    let omitted = (ops + atts).saturating_sub(tree.lines);
    if omitted > 0 {
        s.push_str(&format!(
            "… and {} (not shown)\n",
            crate::render::count(omitted as u64, "more line")
        ));
    }
    s
}

/// The tree as `DetachedTimestamp`'s `Display` writes it (a fork's items
/// each introduced by ` -> ` and indented), one line per operation or
/// attestation, stopping when the list is full.
struct TreeText {
    out: String,
    lines: usize,
}

impl TreeText {
    fn show(&mut self, ts: &Timestamp, indent: usize) -> Result<(), ()> {
        let fork = ts.items().len() > 1;
        let (lead, inner) = if fork {
            (" -> ", indent + 4)
        } else {
            ("", indent)
        };
        for item in ts.items() {
            if self.lines == INFO_MAX_TREE_ENTRIES || self.out.len() > INFO_MAX_LIST_BYTES {
                return Err(());
            }
            self.lines += 1;
            match item {
                Item::Attestation(a) => {
                    self.out
                        .push_str(&format!("{:indent$}{lead}verify {a}\n", ""));
                }
                Item::Op(op, next) => {
                    self.out.push_str(&format!("{:indent$}{lead}{op}\n", ""));
                    self.show(next, inner)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `info FILE.ots --json`: the summary, the attestations, and the tree as
/// a flat list in file order, each entry naming the index of the
/// operation it follows (`null`: the file digest); both lists cut as in
/// [`info_text`], with `attestations_omitted` and `tree_omitted` saying
/// how many entries were left out.
pub fn info_json(ts: &DetachedTimestamp) -> Value {
    let mut tree = TreeJson {
        out: Vec::new(),
        bytes: 0,
    };
    let _ = tree.walk(&ts.timestamp, None);
    let (ops, atts) = count(&ts.timestamp);
    let found = ts.attestations();
    let attestations = listed(
        found
            .iter()
            .map(|a| attestation_json(&a.attestation, &a.path, a.ops, &a.message)),
    );
    json!({
        "verified": false,
        "format": "ots",
        "major_version": MAJOR_VERSION,
        "file_hash": ts.file_hash.name(),
        "digest": hex::encode(&ts.digest),
        "operations": ops,
        "attestations_omitted": found.len() - attestations.len(),
        "attestations": attestations,
        "tree_omitted": (ops + atts).saturating_sub(tree.out.len()),
        "tree": tree.out,
    })
}

/// The tree as a flat JSON list, stopping when the list is full.
struct TreeJson {
    out: Vec<Value>,
    bytes: usize,
}

impl TreeJson {
    fn push(&mut self, v: Value) -> Result<(), ()> {
        if self.out.len() == INFO_MAX_TREE_ENTRIES || self.bytes > INFO_MAX_LIST_BYTES {
            return Err(());
        }
        self.bytes += v.to_string().len();
        self.out.push(v);
        Ok(())
    }

    fn walk(&mut self, ts: &Timestamp, parent: Option<usize>) -> Result<(), ()> {
        for item in ts.items() {
            match item {
                Item::Attestation(a) => {
                    let mut v = json!({
                        "parent": parent,
                        "attestation": attestation_kind(a),
                    });
                    match a {
                        Attestation::Bitcoin { height } | Attestation::Litecoin { height } => {
                            v["height"] = json!(height)
                        }
                        Attestation::Pending { uri } => v["uri"] = json!(uri),
                        Attestation::Unknown { tag, payload } => {
                            v["tag"] = json!(hex::encode(tag));
                            v["payload"] = json!(hex::encode(payload));
                        }
                        _ => {}
                    }
                    self.push(v)?;
                }
                Item::Op(op, next) => {
                    let index = self.out.len();
                    self.push(json!({
                        "parent": parent,
                        "op": op.name(),
                        "argument": op.argument().map(hex::encode),
                    }))?;
                    self.walk(next, Some(index))?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use btc_anchor::ots::Op;

    fn forked() -> DetachedTimestamp {
        let mut root = Timestamp::op(
            Op::Append(vec![1]),
            Timestamp::attestation(Attestation::Pending {
                uri: "https://a.example".into(),
            }),
        );
        root.push(Item::Op(
            Op::Sha256,
            Timestamp::attestation(Attestation::Bitcoin { height: 7 }),
        ));
        DetachedTimestamp {
            file_hash: FileHashOp::Sha256,
            digest: vec![0; 32],
            timestamp: root,
        }
    }

    #[test]
    fn tree_as_a_flat_list() {
        let j = info_json(&forked());
        assert_eq!(j["operations"], 2);
        let tree = j["tree"].as_array().unwrap();
        assert_eq!(tree.len(), 4);
        assert_eq!(tree[0]["op"], "append");
        assert_eq!(tree[0]["argument"], "01");
        assert_eq!(tree[0]["parent"], Value::Null);
        assert_eq!(tree[1]["attestation"], "pending");
        assert_eq!(tree[1]["parent"], 0);
        assert_eq!(tree[2]["op"], "sha256");
        assert_eq!(tree[2]["argument"], Value::Null);
        assert_eq!(tree[3]["attestation"], "bitcoin");
        assert_eq!(tree[3]["height"], 7);
        assert_eq!(tree[3]["parent"], 2);
        let atts = j["attestations"].as_array().unwrap();
        assert_eq!(atts[1]["path"], json!(["2/2"]));
        assert!(atts[1]["merkle_root"].is_string());
    }

    /// A timestamp of `forks` branches from the digest, each `depth`
    /// operations long before its Bitcoin attestation, nested `nest` forks
    /// deep on the first branch.
    fn hostile(forks: usize, depth: usize, nest: usize) -> DetachedTimestamp {
        let chain = |height: u64, depth: usize| {
            let mut t = Timestamp::attestation(Attestation::Bitcoin { height });
            for _ in 0..depth {
                t = Timestamp::op(Op::Sha256, t);
            }
            t
        };
        let mut nested = chain(0, 2);
        for level in 0..nest {
            let inner = Timestamp::op(Op::Sha256, nested);
            let mut t = Timestamp::op(Op::Append(vec![0xaa; 64]), inner);
            t.push(Item::Attestation(Attestation::Bitcoin {
                height: level as u64,
            }));
            nested = t;
        }
        let mut root = Timestamp::op(Op::Sha256, nested);
        for i in 1..forks {
            root.push(Item::Op(Op::Sha256, chain(i as u64, depth)));
        }
        DetachedTimestamp {
            file_hash: FileHashOp::Sha256,
            digest: vec![0; 32],
            timestamp: root,
        }
    }

    #[test]
    fn info_of_an_ordinary_file_is_whole() {
        let ts = hostile(3, 2, 2);
        let text = info_text(&ts);
        let tree = text.split_once("\ntree:\n").unwrap().1;
        assert_eq!(tree, ts.to_string());
        assert!(!text.contains("(not shown)"), "{text}");
        let j = info_json(&ts);
        assert_eq!(j["attestations_omitted"], 0);
        assert_eq!(j["tree_omitted"], 0);
        assert_eq!(j["attestations"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn info_of_a_hostile_file_is_bounded() {
        // Thousands of forks, and forks nested far down one of them.
        let ts = hostile(900, 200, 120);
        let bytes = ts.to_bytes();
        let ts = DetachedTimestamp::from_bytes(&bytes).expect("a file the reader accepts");
        let (ops, atts) = count(&ts.timestamp);
        assert!(ops > 180_000 && atts > 1000, "{ops} {atts}");

        let text = info_text(&ts);
        assert!(text.len() < 200 * 1024, "{} bytes of text", text.len());
        assert!(
            text.lines().count() < 1000,
            "{} lines",
            text.lines().count()
        );
        assert!(
            text.contains(&format!(
                "… and {} more attestations (not shown)",
                atts - INFO_MAX_ATTESTATIONS
            )),
            "{text}"
        );
        assert!(text.contains("more lines (not shown)"), "{text}");
        // The totals are still given.
        assert!(
            text.contains(&format!("  operations:      {ops}\n")),
            "{text}"
        );

        let j = info_json(&ts);
        let size = j.to_string().len();
        assert!(size < 300 * 1024, "{size} bytes of JSON");
        let shown = j["attestations"].as_array().unwrap().len();
        assert!(shown <= INFO_MAX_ATTESTATIONS);
        assert_eq!(j["attestations_omitted"], atts - shown);
        let tree = j["tree"].as_array().unwrap().len();
        assert!(tree <= INFO_MAX_TREE_ENTRIES);
        assert_eq!(j["tree_omitted"], ops + atts - tree);
    }

    #[test]
    fn merkle_roots_in_display_order() {
        let mut root = [0u8; 32];
        root[0] = 0xab;
        assert!(display_order(&root).ends_with("ab"));
    }
}
