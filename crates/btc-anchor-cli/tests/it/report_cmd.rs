//! `btc-anchor verify --report FILE.html`: the page written for every
//! verdict, its escaping of hostile names, its refusals, and the page as
//! headless Chromium (Debian's `chromium` package) renders it: the text a
//! reader sees, a screenshot that is a real, non-blank image, and one
//! printed page.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const EXAMPLE_DIGEST: &str = "5a530a97f98bb08cb3c50dcb2f90313bed4473e77084d6717d7d658078e97648";
const EXAMPLE_BLOCK: &str = "66b89e5b2b600f4664c9d3321170d8064729cc1bea0a7558d8739ee805a8b18c";
/// The example's headline as `verify` prints it, and as the page shows it:
/// its verdict word set off.
const EXAMPLE_HEADLINE: &str = "VALID: this document existed by 3 Feb 2011, 01:56 UTC (Bitcoin \
                                regtest block 16, time accurate to about 2 hours; a test \
                                network: no weight as evidence)";
const EXAMPLE_HEADLINE_HTML: &str = "<span class=\"word\">VALID:</span> this document existed by \
                                     3 Feb 2011, 01:56 UTC (Bitcoin regtest block 16, time \
                                     accurate to about 2 hours; a test network: no weight as \
                                     evidence)";

fn repo(rel: &str) -> PathBuf {
    btc_anchor_testenv::repo_file(rel)
}

/// The example document and its proof, copied into `dir` under `name`.
fn example_in(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let doc = dir.join(name);
    let proof = dir.join(format!("{name}.anchor.json"));
    fs::copy(repo("fixtures/example/record.txt"), &doc).unwrap();
    fs::copy(repo("fixtures/example/record.txt.anchor.json"), &proof).unwrap();
    (doc, proof)
}

/// A vector of `fixtures/vectors/` written into `dir` as a document (or
/// `--digest`) and a proof file: the arguments to verify it.
fn vector_args(name: &str, dir: &Path) -> (Vec<OsString>, Value) {
    let v: Value =
        serde_json::from_slice(&fs::read(repo(&format!("fixtures/vectors/{name}.json"))).unwrap())
            .unwrap();
    let proof = dir.join(format!("{name}.anchor.json"));
    let text = match (v.get("proof"), v.get("proof_text")) {
        (Some(p), None) => serde_json::to_string_pretty(p).unwrap(),
        (None, Some(Value::String(t))) => t.clone(),
        _ => panic!("{name}: a vector has one of proof, proof_text"),
    };
    fs::write(&proof, text).unwrap();
    let mut args: Vec<OsString> = vec!["verify".into()];
    match (v.get("document_text"), v.get("document_digest")) {
        (Some(Value::String(t)), None) => {
            let doc = dir.join(format!("{name}.txt"));
            fs::write(&doc, t).unwrap();
            args.push(doc.into());
        }
        (None, Some(Value::String(d))) => args.extend(["--digest".into(), d.into()]),
        _ => panic!("{name}: a vector has one of document_text, document_digest"),
    }
    args.extend(["--proof".into(), proof.into()]);
    args.extend(["--network".into(), v["network"].as_str().unwrap().into()]);
    if let Some(Value::String(rel)) = v.get("headers_file") {
        args.extend(["--headers".into(), repo(&format!("fixtures/{rel}")).into()]);
    }
    (args, v)
}

/// Runs verify with `args` twice, without and with `--report`; the
/// outcome must not change but for the report's line; returns the run
/// and the page.
fn verify_with_report(args: &[OsString], report: &Path) -> (Run, String) {
    let plain = run(args);
    let mut with: Vec<OsString> = args.to_vec();
    with.extend(["--report".into(), report.into()]);
    let r = run(&with);
    assert_eq!(
        r.code, plain.code,
        "--report changed the exit code: {}",
        r.stderr
    );
    assert_eq!(r.stderr, plain.stderr);
    assert_eq!(
        r.stdout,
        format!("{}  report:          {}\n", plain.stdout, report.display()),
    );
    let page = fs::read_to_string(report).unwrap();
    assert_self_contained(&page);
    (r, page)
}

/// No script, nothing fetched: no element or style that names another
/// resource, and a policy that forbids them all the same.
fn assert_self_contained(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>\n"), "{page}");
    assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    let lower = page.to_ascii_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", " src=", " href=", "url(",
        "@import", "http://", "https://",
    ] {
        assert!(
            !lower.contains(banned),
            "the page holds {banned:?}:\n{page}"
        );
    }
    assert!(page.contains("@media print"));
}

// ---------------------------------------------------------------------------
// The page, for every verdict
// ---------------------------------------------------------------------------

#[test]
fn report_of_a_valid_proof_names_digest_verdict_evidence_trust_and_rechecks() {
    let dir = tempfile::tempdir().unwrap();
    let (doc, proof) = example_in(dir.path(), "record.txt");
    let report = dir.path().join("report.html");
    let args: Vec<OsString> = vec![
        "verify".into(),
        doc.clone().into(),
        "--network".into(),
        "regtest".into(),
    ];
    let (r, page) = verify_with_report(&args, &report);
    r.expect_code(VALID);
    assert_eq!(r.stdout.lines().next(), Some(EXAMPLE_HEADLINE));
    for expected in [
        EXAMPLE_HEADLINE_HTML,
        EXAMPLE_DIGEST,
        EXAMPLE_BLOCK,
        "ec691f3f0f7eb0926d93f9eb1848bf67b184a0cfd5dc126b11bb90ab083c538f",
        "<th>block height</th><td>16 (as the proof states it) on Bitcoin regtest</td>",
        "2011-02-03 01:56:42 UTC",
        "output 0 of the transaction (OP_RETURN) commits to the batch root</td>",
        "<th>batch root</th><td class=\"code\">b71e6b01561583ae46446be906276318914517\
         0826c62e785f5a15b07590df0d</td>",
        "confirmed (complete: in a block)",
        "6 (the block&#39;s and the 5 after it), linked",
        "the proof file alone",
        "membership in the best chain not checked",
        "<h2>How to check it again independently</h2>",
        &format!("<th>document</th><td>{}</td>", doc.display()),
        &format!(
            "<th>proof file</th><td>{} (a btc-anchor proof)</td>",
            proof.display()
        ),
        // The commands run in the document's folder, named.
        &format!(
            "in the folder that holds them (here <span class=\"code\">{}</span>)",
            dir.path().display()
        ),
        "<pre>sha256sum record.txt</pre>",
        "<pre>btc-anchor verify record.txt --proof record.txt.anchor.json --network regtest</pre>",
        "--electrum ssl://HOST:PORT",
        "<pre>btc-anchor export --ots record.txt.anchor.json --out record.txt.ots</pre>",
        "<pre>ots --btc-regtest verify -f record.txt record.txt.ots</pre>",
    ] {
        assert!(page.contains(expected), "missing {expected:?} in\n{page}");
    }

    // --json is unchanged by --report but for the file written.
    let json = dir.path().join("json.html");
    let r = run([
        "verify".into(),
        doc.as_os_str().to_owned(),
        "--network".into(),
        "regtest".into(),
        "--json".into(),
        "--report".into(),
        json.as_os_str().to_owned(),
    ]);
    r.expect_code(VALID);
    assert_eq!(r.json()["result"], "valid");
    assert!(fs::read_to_string(&json)
        .unwrap()
        .contains(EXAMPLE_HEADLINE_HTML));
}

#[test]
fn report_of_every_verdict() {
    let dir = tempfile::tempdir().unwrap();
    for (name, code, word, text) in [
        (
            "valid-batch5-leaf2-headers-file",
            VALID,
            "VALID",
            "headers file",
        ),
        ("valid-digest-only", VALID, "VALID", "--digest"),
        (
            "pending-queued",
            PENDING,
            "PENDING",
            "queued (stamped, waiting for a batch)",
        ),
        (
            "pending-broadcast",
            PENDING,
            "PENDING",
            "broadcast (in a transaction broadcast but not yet in a block)",
        ),
        (
            "forged-mainnet-epoch0-six-after",
            INCONCLUSIVE,
            "INCONCLUSIVE",
            "<th>why not valid</th><td>forging these headers takes less work than the 2^80",
        ),
        ("bad-tx-changed", INVALID, "INVALID", "failed check"),
        ("bad-not-json", INVALID, "INVALID", "failed check"),
        (
            "bad-wrong-network",
            WRONG_NETWORK,
            "WRONG NETWORK",
            "another network",
        ),
    ] {
        let (args, v) = vector_args(name, dir.path());
        let report = dir.path().join(format!("{name}.html"));
        let (r, page) = verify_with_report(&args, &report);
        r.expect_code(code);
        let headline = r.stdout.lines().next().unwrap();
        assert!(
            headline.starts_with(&format!("{word}: ")),
            "{name}: {headline}"
        );
        for expected in [
            format!("<span class=\"word\">{word}:</span> "),
            html(headline.split_once(": ").unwrap().1),
            text.to_owned(),
            "<h2>What was trusted</h2>".to_owned(),
            "<h2>How to check it again independently</h2>".to_owned(),
        ] {
            assert!(
                page.contains(&expected),
                "{name}: missing {expected:?} in\n{page}"
            );
        }
        // The record's digest, whatever the verdict (a document's, or the
        // one given).
        if let Some(digest) = v["proof"]["record"]["digest"].as_str() {
            assert!(page.contains(digest), "{name}: no digest in\n{page}");
        }
        // Only a complete proof can be exported for the OpenTimestamps tools.
        assert_eq!(
            page.contains("btc-anchor export --ots"),
            code == VALID,
            "{name}\n{page}"
        );
    }
}

#[test]
fn report_of_ots_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let ots = dir.path().join("record.ots");
    run([
        "export".as_ref(),
        "--ots".as_ref(),
        repo("fixtures/example/record.txt.anchor.json").as_os_str(),
        "--out".as_ref(),
        ots.as_os_str(),
    ])
    .expect_code(VALID);
    let base: Vec<OsString> = vec![
        "verify".into(),
        repo("fixtures/example/record.txt").into(),
        "--proof".into(),
        ots.clone().into(),
        "--network".into(),
        "regtest".into(),
    ];
    let mut with_headers = base.clone();
    with_headers.extend([
        "--headers".into(),
        repo("fixtures/example/headers.bin").into(),
    ]);
    let (r, page) = verify_with_report(&with_headers, &dir.path().join("valid.html"));
    r.expect_code(VALID);
    for expected in [
        "<span class=\"word\">VALID:</span> ",
        "(an OpenTimestamps .ots timestamp)",
        EXAMPLE_DIGEST,
        EXAMPLE_BLOCK,
        "the headers file",
        &format!(
            "<pre>ots --btc-regtest verify -f record.txt {}</pre>",
            ots.display()
        ),
    ] {
        assert!(page.contains(expected), "missing {expected:?} in\n{page}");
    }
    let (r, page) = verify_with_report(&base, &dir.path().join("unverified.html"));
    r.expect_code(UNVERIFIED);
    assert!(
        page.contains("<span class=\"word\">UNVERIFIED:</span> "),
        "{page}"
    );
    assert!(
        page.contains("a .ots file carries no block header"),
        "{page}"
    );
}

/// `s` escaped as the page escapes text.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn hostile_file_names_add_no_markup() {
    let dir = tempfile::tempdir().unwrap();
    let name = "<script>alert(1)<b id=\"x\">bold<img onerror=alert(2)>'&.txt";
    let (doc, _) = example_in(dir.path(), name);
    let report = dir.path().join("hostile.html");
    let args: Vec<OsString> = vec![
        "verify".into(),
        doc.into(),
        "--network".into(),
        "regtest".into(),
    ];
    let (r, page) = verify_with_report(&args, &report);
    r.expect_code(VALID);
    assert!(!page.contains("<b id"), "{page}");
    assert!(page.contains(
        "&lt;script&gt;alert(1)&lt;b id=&quot;x&quot;&gt;bold&lt;img onerror=alert(2)&gt;&#39;&amp;.txt"
    ));
    // In the commands to copy, the name is one quoted shell word.
    assert!(page.contains("sha256sum &#39;"), "{page}");

    // Rendered, the name is text: no element of its own.
    if let Some(chromium) = chromium() {
        let dom = dump_dom(&chromium, dir.path(), &report);
        for element in ["<script", "<b id", "<img"] {
            assert!(!dom.contains(element), "{element} in\n{dom}");
        }
        assert!(dom.contains("&lt;b id=\"x\"&gt;bold&lt;img"), "{dom}");
    }
}

#[test]
fn report_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (doc, proof) = example_in(dir.path(), "record.txt");
    let report = dir.path().join("r.html");
    let verify = |more: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "verify".as_ref(),
            doc.as_os_str(),
            "--network".as_ref(),
            "regtest".as_ref(),
        ];
        args.extend_from_slice(more);
        run(args)
    };
    // Several documents: one report is about one document.
    let r = run([
        "verify".as_ref(),
        doc.as_os_str(),
        doc.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    r.expect_code(USAGE);
    assert!(r.two_line_error().0.contains("--report"), "{}", r.stderr);
    let r = run([
        "verify".as_ref(),
        dir.path().as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    r.expect_code(USAGE);
    assert!(!report.exists());

    // An existing file is kept without --force, replaced with it.
    fs::write(&report, "mine").unwrap();
    let r = verify(&["--report".as_ref(), report.as_os_str()]);
    r.expect_code(IO);
    assert!(r.two_line_error().1.contains("--force"));
    assert_eq!(fs::read_to_string(&report).unwrap(), "mine");
    verify(&["--report".as_ref(), report.as_os_str(), "--force".as_ref()]).expect_code(VALID);
    assert!(fs::read_to_string(&report)
        .unwrap()
        .contains(EXAMPLE_HEADLINE_HTML));

    // Never the document or the proof, even with --force.
    let before = fs::read(&proof).unwrap();
    for input in [&doc, &proof] {
        let r = verify(&["--report".as_ref(), input.as_os_str(), "--force".as_ref()]);
        r.expect_code(USAGE);
        r.two_line_error();
    }
    assert_eq!(fs::read(&proof).unwrap(), before);

    // A folder that does not exist: exit 4, and nothing half-written.
    let r = verify(&[
        "--report".as_ref(),
        dir.path().join("no/r.html").as_os_str(),
    ]);
    r.expect_code(IO);
    r.two_line_error();
}

// ---------------------------------------------------------------------------
// Rendered by headless Chromium
// ---------------------------------------------------------------------------

/// Debian's Chromium, or `None` after saying why the test skips (which
/// fails it under `CI=true`: `.ci/run` installs it).
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        btc_anchor_testenv::skip(
            "chromium is not on PATH (apt-get install chromium) to render the report",
        );
    }
    found
}

/// Runs headless Chromium with `args` on `page`, with its own profile in
/// `dir` and every network request sent to a closed local port; gives up
/// after a minute.
fn run_chromium(chromium: &Path, dir: &Path, args: &[String], page: &Path) -> Vec<u8> {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--proxy-server=127.0.0.1:9",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium {args:?} failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap().unwrap()
}

fn dump_dom(chromium: &Path, dir: &Path, page: &Path) -> String {
    String::from_utf8(run_chromium(chromium, dir, &["--dump-dom".into()], page)).unwrap()
}

/// Screenshots `page` at `width` x `height` into `out`; returns its bytes.
fn screenshot(chromium: &Path, dir: &Path, page: &Path, out: &Path, size: (u32, u32)) -> Vec<u8> {
    run_chromium(
        chromium,
        dir,
        &[
            format!("--screenshot={}", out.display()),
            format!("--window-size={},{}", size.0, size.1),
        ],
        page,
    );
    fs::read(out).unwrap()
}

/// The width and height in a PNG's header, after checking its signature
/// and that the header chunk comes first with its length.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 33, "too short for a PNG: {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(
        &png[8..16],
        b"\0\0\0\x0dIHDR",
        "the first chunk is not IHDR"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert!(png.ends_with(b"IEND\xae\x42\x60\x82"), "no IEND chunk");
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (doc, _) = example_in(dir.path(), "record.txt");
    let report = dir.path().join("report.html");
    run([
        "verify".as_ref(),
        doc.as_os_str(),
        "--network".as_ref(),
        "regtest".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
    ])
    .expect_code(VALID);

    // The text a reader sees: the digest, the verdict, the block.
    let dom = dump_dom(&chromium, dir.path(), &report);
    for expected in [
        EXAMPLE_DIGEST,
        EXAMPLE_HEADLINE_HTML,
        EXAMPLE_BLOCK,
        "16 (as the proof states it) on Bitcoin regtest",
        "What was trusted",
    ] {
        assert!(
            dom.contains(expected),
            "missing {expected:?} in the DOM:\n{dom}"
        );
    }

    // A real screenshot of the size asked, and not one flat colour: the
    // page compresses far worse than a blank one of the same size.
    let size = (900, 1200);
    let shot = screenshot(
        &chromium,
        dir.path(),
        &report,
        &dir.path().join("r.png"),
        size,
    );
    assert_eq!(png_size(&shot), size);
    let blank_page = dir.path().join("blank.html");
    fs::write(&blank_page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = screenshot(
        &chromium,
        dir.path(),
        &blank_page,
        &dir.path().join("b.png"),
        size,
    );
    assert_eq!(png_size(&blank), size);
    assert!(
        shot.len() > 4 * blank.len() && shot.len() > 20_000,
        "the report's screenshot ({} bytes) looks blank next to an empty page's ({} bytes)",
        shot.len(),
        blank.len()
    );

    // Printed, it is one page.
    let pdf_path = dir.path().join("r.pdf");
    run_chromium(
        &chromium,
        dir.path(),
        &[
            format!("--print-to-pdf={}", pdf_path.display()),
            "--no-pdf-header-footer".into(),
        ],
        &report,
    );
    let pdf = fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let pages = count_pdf_pages(&pdf);
    assert_eq!(pages, 1, "the report prints on {pages} pages");
}

/// Page objects in a PDF (`/Type /Page`, not `/Pages`), as Chromium
/// writes them uncompressed.
fn count_pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}
