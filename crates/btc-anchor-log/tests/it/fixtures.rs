//! The self-describing vectors in `fixtures/log/`: `index.json` names each
//! file (or inline text), what kind of object it is, and the outcome a
//! reader must give (`valid`, or the error's kebab-case name).
//!
//! `cargo test -p btc-anchor-log --test it -- --ignored regenerate`
//! rebuilds them; `fixtures_are_current` fails when the code and the files
//! disagree.

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor::merkle::NodeHash;
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::event::Event;
use btc_anchor_log::event_proof::EventProof;
use btc_anchor_log::note::{Note, Verifier};
use btc_anchor_log::proof::TlogProof;
use btc_anchor_log::tile::{decode_bundle, decode_tile, encode_bundle, TilePath};
use serde_json::{json, Value};

use crate::note::{SPEC_NOTE, SPEC_VKEY};
use crate::{event, log_signer, other_signer, outcome, ORIGIN};

/// The opening example of C2SP signed-note (its key is not published).
const SPEC_INTRO_NOTE: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/log")
}

struct Gen {
    files: Vec<(String, Vec<u8>)>,
    vectors: Vec<Value>,
}

impl Gen {
    fn file(
        &mut self,
        name: &str,
        kind: &str,
        bytes: impl Into<Vec<u8>>,
        expect: &str,
        about: &str,
        params: Value,
    ) {
        self.files.push((name.to_owned(), bytes.into()));
        let mut v = json!({"file": name, "kind": kind, "expect": expect, "description": about});
        if let (Value::Object(m), Value::Object(p)) = (&mut v, params) {
            m.extend(p);
        }
        self.vectors.push(v);
    }

    fn text(&mut self, kind: &str, text: &str, expect: &str, about: &str) {
        self.vectors
            .push(json!({"text": text, "kind": kind, "expect": expect, "description": about}));
    }
}

/// Every vector, built from the deterministic fixture keys.
fn generate() -> (Vec<(String, Vec<u8>)>, Value) {
    let mut g = Gen {
        files: vec![],
        vectors: vec![],
    };
    let log = log_signer();
    let witness = other_signer();
    let log_vkey = log.verifier().to_vkey();
    let keys = |k: &[&str]| json!({"vkeys": k});

    // Signed notes.
    g.file(
        "note/spec-example.txt",
        "note",
        SPEC_NOTE,
        "valid",
        "the example of C2SP signed-note (\"Verifier keys\"), verified by its vkey",
        keys(&[SPEC_VKEY]),
    );
    g.file(
        "note/spec-intro.txt",
        "note",
        SPEC_INTRO_NOTE,
        "no-known-signature",
        "the opening example of C2SP signed-note, whose key the spec does not give: it parses, and no known key signed it",
        keys(&[SPEC_VKEY]),
    );
    let signed = Note::sign("hello, log\n", &[&log, &witness])
        .unwrap()
        .to_text();
    g.file(
        "note/two-signatures.txt",
        "note",
        signed.clone(),
        "valid",
        "signed by the log and by a witness the verifier does not know (ignored)",
        keys(&[&log_vkey]),
    );
    let only_witness = Note::sign("hello, log\n", &[&witness]).unwrap().to_text();
    g.file(
        "note/unknown-key.txt",
        "note",
        only_witness,
        "no-known-signature",
        "signed only by a key the verifier does not know",
        keys(&[&log_vkey]),
    );
    let other_sig = Note::sign("hello, other\n", &[&log]).unwrap().to_text();
    let bad = format!("hello, log\n\n{}", other_sig.split_once("\n\n").unwrap().1);
    g.file(
        "note/bad-signature.txt",
        "note",
        bad,
        "bad-signature",
        "the log's signature of another text",
        keys(&[&log_vkey]),
    );
    let line = signed
        .split_once("\n\n")
        .unwrap()
        .1
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let b64 = line.rsplit_once(' ').unwrap().1.to_owned();
    let mut raw = BASE64.decode(&b64).unwrap();
    raw[0] ^= 0xff;
    let wrong_id = format!("hello, log\n\n\u{2014} {ORIGIN} {}\n", BASE64.encode(&raw));
    g.file(
        "note/wrong-key-id.txt",
        "note",
        wrong_id,
        "no-known-signature",
        "the log's signature under another key id: another key, so ignored",
        keys(&[&log_vkey]),
    );
    g.file(
        "note/bad-base64.txt",
        "note",
        format!("hello, log\n\n\u{2014} {ORIGIN} {}\n", &b64[1..]),
        "bad-signature-encoding",
        "a signature that is not canonical base64",
        keys(&[&log_vkey]),
    );
    g.file(
        "note/no-blank-line.txt",
        "note",
        format!("hello, log\n{line}\n"),
        "no-signature-section",
        "no blank line between text and signature",
        keys(&[&log_vkey]),
    );
    g.file(
        "note/no-final-newline.txt",
        "note",
        format!("hello, log\n\n{line}"),
        "bad-signature-line",
        "the signature line does not end in a newline",
        keys(&[&log_vkey]),
    );
    g.file(
        "note/carriage-return.txt",
        "note",
        format!("hello, log\r\n\n{line}\n"),
        "control-character",
        "a carriage return in the text",
        keys(&[&log_vkey]),
    );
    g.file(
        "note/extra-blank-line.txt",
        "note",
        format!("hello, log\n\n\n{line}\n"),
        "bad-signature",
        "an extra blank line makes it part of the text, which the signature does not cover",
        keys(&[&log_vkey]),
    );

    // Verifier keys.
    g.text(
        "vkey",
        SPEC_VKEY,
        "valid",
        "the vkey of C2SP signed-note's example",
    );
    g.text(
        "vkey",
        &log_vkey,
        "valid",
        "the fixture log's vkey (its seed is public: fixtures only)",
    );
    g.text(
        "vkey",
        &SPEC_VKEY.replace("530d903a", "530d903b"),
        "key-id-mismatch",
        "a key id that is not the key's",
    );
    g.text(
        "vkey",
        &SPEC_VKEY.replace("+Aek", "+Aak"),
        "key-id-mismatch",
        "a changed key under the old id",
    );
    g.text(
        "vkey",
        &SPEC_VKEY.replace("+Aek", "+Auk"),
        "unsupported-type",
        "signature type 0x02",
    );
    g.text(
        "vkey",
        &SPEC_VKEY[..SPEC_VKEY.len() - 1],
        "bad-base64",
        "truncated base64",
    );
    g.text(
        "vkey",
        "example.com/foo+530d903a",
        "parts",
        "no key material",
    );

    // Checkpoints (kind "checkpoint": a signed note opened with origin and vkey).
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: 5,
        root: NodeHash([0xab; 32]),
        extensions: vec![],
    };
    let ck = |g: &mut Gen, name: &str, text: &str, expect: &str, about: &str| {
        let note = Note::sign(text, &[&log]).unwrap().to_text();
        g.file(
            name,
            "checkpoint",
            note,
            expect,
            about,
            json!({"origin": ORIGIN, "vkeys": [log.verifier().to_vkey()]}),
        );
    };
    let text = cp.to_text().unwrap();
    ck(
        &mut g,
        "checkpoint/valid.txt",
        &text,
        "valid",
        "a checkpoint of size 5",
    );
    ck(
        &mut g,
        "checkpoint/extension.txt",
        &format!("{text}extension line\n"),
        "valid",
        "with one extension line",
    );
    ck(
        &mut g,
        "checkpoint/leading-zero.txt",
        &text.replace("\n5\n", "\n05\n"),
        "bad-size",
        "size with a leading zero",
    );
    ck(
        &mut g,
        "checkpoint/blank-line.txt",
        &format!("{text}\n"),
        "bad-extension",
        "an extra blank line after the root",
    );
    ck(
        &mut g,
        "checkpoint/bad-root.txt",
        &text.replace("q6urq6ur", "q6urq6u!"),
        "bad-root",
        "root not base64",
    );
    ck(
        &mut g,
        "checkpoint/other-origin.txt",
        &text.replace(ORIGIN, "other.example/log"),
        "origin",
        "another log's checkpoint",
    );
    ck(
        &mut g,
        "checkpoint/two-lines.txt",
        &format!("{ORIGIN}\n5\n"),
        "too-few-lines",
        "no root line",
    );

    // Proofs (kind "proof": verified with origin and vkey, the event opened from extra).
    let tmp = tempfile::tempdir().unwrap();
    let (_, proof) = crate::proof::log_with_proof(tmp.path(), 37, 20);
    let pv = json!({"origin": ORIGIN, "vkeys": [log.verifier().to_vkey()]});
    let text = proof.to_text();
    g.file(
        "proof/valid.tlog-proof",
        "proof",
        text.clone(),
        "valid",
        "event 20 of a log of 37, with its opening",
        pv.clone(),
    );
    let mut p = proof.clone();
    p.path.pop();
    g.file(
        "proof/short-path.tlog-proof",
        "proof",
        p.to_text(),
        "path-length",
        "inclusion proof one hash short",
        pv.clone(),
    );
    let p = TlogProof {
        index: 21,
        ..proof.clone()
    };
    g.file(
        "proof/wrong-index.tlog-proof",
        "proof",
        p.to_text(),
        "root-mismatch",
        "the proof of event 20 claimed for index 21",
        pv.clone(),
    );
    let mut extra = proof.extra.clone().unwrap();
    extra[5] ^= 1;
    let p = TlogProof {
        extra: Some(extra),
        ..proof.clone()
    };
    g.file(
        "proof/forged-opening.tlog-proof",
        "proof",
        p.to_text(),
        "root-mismatch",
        "another salt in the opening",
        pv.clone(),
    );
    g.file(
        "proof/leading-zero-index.tlog-proof",
        "proof",
        text.replace("index 20", "index 020"),
        "bad-index",
        "index with a leading zero",
        pv.clone(),
    );
    g.file(
        "proof/unknown-key.tlog-proof",
        "proof",
        text.clone(),
        "no-known-signature",
        "verified with another log's vkey",
        json!({"origin": ORIGIN, "vkeys": [SPEC_VKEY]}),
    );

    // Event proofs (kind "event-proof": verified with the vkey, on the
    // network, from the file alone; an anchor that does not verify gives
    // its own reason).
    let ev_dir = tempfile::tempdir().unwrap();
    let eproof = crate::event_proof::event_proof(ev_dir.path(), 37, 21, 20, true);
    let ep = json!({"vkeys": [log.verifier().to_vkey()], "network": "regtest"});
    let valid = eproof.to_bytes();
    g.file(
        "event-proof/valid.event-proof",
        "event-proof",
        valid.clone(),
        "valid",
        "event 20, disclosed, in the checkpoint of 21, consistent with the checkpoint of 37 anchored on a synthetic regtest chain",
        ep.clone(),
    );
    let undisclosed = crate::event_proof::event_proof(ev_dir.path(), 37, 37, 3, false);
    g.file(
        "event-proof/undisclosed.event-proof",
        "event-proof",
        undisclosed.to_bytes(),
        "valid",
        "entry 3 without its event, proved in the anchored checkpoint itself (no consistency hash)",
        ep.clone(),
    );
    let other_clinic =
        btc_anchor_log::note::Signer::from_seed(ORIGIN, &crate::derive("another clinic's key"))
            .unwrap();
    g.file(
        "event-proof/wrong-vkey.event-proof",
        "event-proof",
        valid.clone(),
        "no-known-signature",
        "verified with another key of the same name: the checkpoints are not its",
        json!({"vkeys": [other_clinic.verifier().to_vkey()], "network": "regtest"}),
    );
    let mut p = eproof.clone();
    let mut opening = p.inclusion.extra.clone().unwrap();
    // The last digit of the time: `..."time":1767226800,"v":1}`.
    let at = opening.len() - 8;
    assert!(opening[at].is_ascii_digit());
    opening[at] = if opening[at] == b'9' {
        b'8'
    } else {
        opening[at] + 1
    };
    p.inclusion.extra = Some(opening);
    g.file(
        "event-proof/edited-event.event-proof",
        "event-proof",
        p.to_bytes(),
        "entry-mismatch",
        "the disclosed event's time edited: it is not the event the entry commits to",
        ep.clone(),
    );
    p.entry = btc_anchor_log::proof::Opening::from_bytes(p.inclusion.extra.as_ref().unwrap())
        .unwrap()
        .entry();
    g.file(
        "event-proof/edited-event-and-entry.event-proof",
        "event-proof",
        p.to_bytes(),
        "root-mismatch",
        "the event edited and the entry recomputed from it: the entry is not in the checkpoint",
        ep.clone(),
    );
    let mut p = eproof.clone();
    p.consistency[1].0[31] ^= 1;
    g.file(
        "event-proof/broken-consistency.event-proof",
        "event-proof",
        p.to_bytes(),
        "root-mismatch",
        "one hash of the consistency proof changed: the anchored checkpoint does not extend the entry's",
        ep.clone(),
    );
    let mut p = eproof.clone();
    p.anchor = crate::anchor_proof(p.inclusion.checkpoint.to_text().as_bytes(), 5);
    g.file(
        "event-proof/anchor-other-root.event-proof",
        "event-proof",
        p.to_bytes(),
        "digest-mismatch",
        "the anchor proof is of another checkpoint (the one of 21 entries), not of the anchored one",
        ep.clone(),
    );
    let mut p = eproof.clone();
    p.anchored = crate::event_proof::event_proof(ev_dir.path(), 37, 20, 19, true)
        .inclusion
        .checkpoint
        .to_text()
        .into_bytes();
    p.anchor = crate::anchor_proof(&p.anchored, 5);
    g.file(
        "event-proof/anchored-smaller.event-proof",
        "event-proof",
        p.to_bytes(),
        "anchored-smaller",
        "an anchored checkpoint of 20 entries for an entry proved in the checkpoint of 21",
        ep.clone(),
    );
    g.file(
        "event-proof/truncated.event-proof",
        "event-proof",
        valid[..valid.len() - 100].to_vec(),
        "truncated",
        "the last 100 bytes of the anchor proof cut off",
        ep.clone(),
    );
    g.file(
        "event-proof/trailing-bytes.event-proof",
        "event-proof",
        [valid.as_slice(), b"\n".as_slice()].concat(),
        "trailing-bytes",
        "a newline after the anchor proof",
        ep.clone(),
    );
    let v2 =
        String::from_utf8(valid.clone())
            .unwrap()
            .replacen("event-proof@v1", "event-proof@v2", 1);
    g.file(
        "event-proof/unknown-version.event-proof",
        "event-proof",
        v2,
        "unknown-version",
        "a later version, which this reader must refuse, not guess at",
        ep.clone(),
    );

    // Tiles and bundles.
    g.file(
        "tile/two-hashes.bin",
        "tile",
        vec![7u8; 64],
        "valid",
        "a partial tile of width 2",
        json!({"width": 2}),
    );
    g.file(
        "tile/short.bin",
        "tile",
        vec![7u8; 63],
        "tile-length",
        "a tile of width 2 one byte short",
        json!({"width": 2}),
    );
    let bundle = encode_bundle(&[b"first".to_vec(), b"second".to_vec()]).unwrap();
    g.file(
        "bundle/two-entries.bin",
        "bundle",
        bundle.clone(),
        "valid",
        "a bundle of two entries",
        json!({"width": 2}),
    );
    g.file(
        "bundle/truncated.bin",
        "bundle",
        bundle[..bundle.len() - 1].to_vec(),
        "truncated-bundle",
        "the last entry one byte short",
        json!({"width": 2}),
    );
    g.file(
        "bundle/extra-entry.bin",
        "bundle",
        bundle.clone(),
        "bundle-width",
        "two entries where the width says one",
        json!({"width": 1}),
    );
    for (path, expect, about) in [
        (
            "tile/0/x001/x234/067",
            "valid",
            "C2SP tlog-tiles' example index 1234067",
        ),
        ("tile/1/000.p/17", "valid", "a partial level-1 tile"),
        ("tile/entries/273.p/112", "valid", "a partial entry bundle"),
        (
            "tile/0/1234067",
            "bad-path",
            "index not in 3-digit elements",
        ),
        ("tile/0/x000/067", "bad-path", "a leading zero element"),
        (
            "tile/0/000.p/256",
            "bad-path",
            "a partial tile of width 256",
        ),
        ("tile/0/000.p/0", "bad-path", "a partial tile of width 0"),
        ("tile/01/000", "bad-path", "level with a leading zero"),
    ] {
        g.text("tile-path", path, expect, about);
    }

    // Events.
    let ev = event(3, None).to_canonical_json().unwrap();
    g.file(
        "event/canonical.json",
        "event",
        ev.clone(),
        "valid",
        "a canonical event",
        json!({}),
    );
    let spaced = String::from_utf8(ev).unwrap().replacen(',', ", ", 1);
    g.file(
        "event/whitespace.json",
        "event",
        spaced,
        "not-canonical",
        "the same event with a space",
        json!({}),
    );

    journal_vectors(&mut g);

    let index = json!({
        "format": "btc-anchor-log fixtures v1",
        "spec": "docs/audit-log.md",
        "about": "each vector names a file (or inline text), its kind, and the outcome a reader must give: \
                  valid, or the kebab-case name of the innermost error variant (docs/audit-log.md §9)",
        "vectors": g.vectors,
    });
    (g.files, index)
}

/// Journals (§11.2) and shred lists (§11.5) of four events, record 1
/// shredded in some, and the damage a reader must catch.
fn journal_vectors(g: &mut Gen) {
    use crate::shred::{check8, list_of, records, shred_list, shredded_form};
    use btc_anchor_log::journal::{MAGIC, MAGIC_V2};
    use btc_anchor_log::proof::Opening;
    let mut v1 = MAGIC.to_vec();
    let mut prev = std::collections::HashMap::new();
    for i in 0..4u64 {
        let e = event(i, prev.get(&(i % 3)).copied());
        let o = Opening::new(e, crate::salt(&format!("journal salt {i}"))).unwrap();
        prev.insert(i % 3, o.entry());
        let body = o.to_bytes();
        let start = v1.len();
        v1.extend_from_slice(&((32 + body.len()) as u32).to_be_bytes());
        v1.extend_from_slice(&o.entry().0);
        v1.extend_from_slice(&body);
        let c = check8(&v1[start..]);
        v1.extend_from_slice(&c);
    }
    let recs = records(&v1);
    let (o1, len1, e1) = recs[1];
    let (at, end) = (o1 as usize, o1 as usize + 4 + len1 as usize + 8);
    let with = |base: &[u8], f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.to_vec();
        f(&mut b);
        b
    };
    let v2 = with(&v1, &|b| b[..26].copy_from_slice(MAGIC_V2));
    let shredded = with(&v2, &|b| {
        b[at..end].copy_from_slice(&shredded_form(&e1, len1))
    });
    let half = (end - at) / 2;
    let torn = with(&v2, &|b| {
        b[at..at + half].copy_from_slice(&shredded_form(&e1, len1)[..half])
    });
    let list = shred_list(&v1, &[1]);
    let params = |published: u64, shredded: u64, list: Option<&str>| {
        let mut p = json!({"published": published, "shredded": shredded});
        if let Some(list) = list {
            p["shred_list"] = json!(list);
        }
        p
    };
    let mut j = |name: &str, bytes: Vec<u8>, expect: &str, about: &str, p: Value| {
        g.file(
            &format!("journal/{name}"),
            "journal",
            bytes,
            expect,
            about,
            p,
        );
    };
    j(
        "v1.journal",
        v1.clone(),
        "valid",
        "a version 1 journal of 4 events",
        params(4, 0, None),
    );
    j(
        "v2.journal",
        v2.clone(),
        "valid",
        "the same with the version 2 magic, nothing shredded",
        params(4, 0, None),
    );
    j(
        "v2-shredded.journal",
        shredded.clone(),
        "valid",
        "record 1 shredded: entry kept, salt and event zeroed",
        params(4, 1, None),
    );
    j(
        "v2-shredded-torn-tail.journal",
        with(&shredded, &|b| b.extend_from_slice(&[0, 0, 1])),
        "valid",
        "record 1 shredded and an unacknowledged tail after the published records, cut off",
        params(4, 1, None),
    );
    j(
        "v1-shredded.journal",
        with(&shredded, &|b| b[..26].copy_from_slice(MAGIC)),
        "damaged",
        "a shredded record in a version 1 journal",
        params(4, 0, None),
    );
    j(
        "shredded-nonzero.journal",
        with(&shredded, &|b| b[at + 50] = 1),
        "damaged",
        "a shredded record with a byte of its erased part not zero",
        params(4, 0, None),
    );
    j(
        "shredded-entry-edited.journal",
        with(&shredded, &|b| b[at + 4] ^= 1),
        "damaged",
        "a shredded record whose entry was edited",
        params(4, 0, None),
    );
    j(
        "shredded-mark-removed.journal",
        with(&shredded, &|b| b[at] &= 0x7f),
        "damaged",
        "a shredded record with its mark taken off",
        params(4, 0, None),
    );
    j(
        "open-marked.journal",
        with(&v2, &|b| b[at] |= 0x80),
        "damaged",
        "an open record marked shredded",
        params(4, 0, None),
    );
    j(
        "torn-overwrite-no-list.journal",
        torn.clone(),
        "damaged",
        "a torn overwrite with no shred list: damage, not a shred",
        params(4, 0, None),
    );
    j(
        "not-journal.journal",
        with(&v1, &|b| b[25] = b'3'),
        "not-journal",
        "an unknown version's magic",
        params(4, 0, None),
    );
    j(
        "pending.journal",
        v1.clone(),
        "valid",
        "a shred decided (its list durable) and not begun: finished on opening",
        params(4, 1, Some("journal/record-1.shred")),
    );
    j(
        "pending-torn.journal",
        torn,
        "valid",
        "a shred killed in the middle of overwriting record 1: finished on opening",
        params(4, 1, Some("journal/record-1.shred")),
    );
    j(
        "pending-bad-list.journal",
        v1.clone(),
        "bad-shred-list",
        "a shred list whose check fails",
        params(4, 0, Some("journal/bad.shred")),
    );
    j(
        "pending-foreign-list.journal",
        v1,
        "shred-mismatch",
        "a shred list naming another entry at record 1's offset",
        params(4, 0, Some("journal/foreign.shred")),
    );
    g.files
        .push(("journal/record-1.shred".into(), list.clone()));
    g.files
        .push(("journal/bad.shred".into(), with(&list, &|b| b[30] ^= 1)));
    g.files.push((
        "journal/foreign.shred".into(),
        list_of([(1, o1, len1, btc_anchor_log::entry::Entry([0x55; 32]))].into_iter()),
    ));
}

/// Opens a journal vector as the writer does, in a folder of its own
/// (with its shred list beside it, if any).
fn open_journal(v: &Value, bytes: &[u8]) -> Result<(), String> {
    use btc_anchor_log::journal::Journal;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("journal");
    std::fs::write(&path, bytes).unwrap();
    if let Some(list) = v["shred_list"].as_str() {
        std::fs::copy(dir().join(list), tmp.path().join("journal.shred")).unwrap();
    }
    let (j, _) = Journal::open(&path, v["published"].as_u64().unwrap()).map_err(|e| outcome(&e))?;
    match v["shredded"].as_u64() {
        Some(n) if n != j.shredded() => Err(format!("{} shredded", j.shredded())),
        _ => Ok(()),
    }
}

/// The outcome of one vector.
fn run(v: &Value, bytes: &[u8]) -> String {
    let vkeys: Vec<Verifier> = v["vkeys"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|k| Verifier::parse(k.as_str().unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let origin = v["origin"].as_str().unwrap_or_default();
    let width = v["width"].as_u64().unwrap_or(0) as u16;
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    let r: Result<(), String> = match v["kind"].as_str().unwrap() {
        "note" => Note::parse(bytes)
            .map_err(|e| outcome(&e))
            .and_then(|n| n.verify(&vkeys).map(|_| ()).map_err(|e| outcome(&e))),
        "vkey" => Verifier::parse(text).map(|_| ()).map_err(|e| outcome(&e)),
        "checkpoint" => Checkpoint::open(bytes, origin, &vkeys)
            .map(|_| ())
            .map_err(|e| outcome(&e)),
        "proof" => TlogProof::parse(bytes)
            .map_err(|e| outcome(&e))
            .and_then(|p| {
                p.verify_event(origin, &vkeys[0])
                    .map(|_| ())
                    .map_err(|e| outcome(&e))
            }),
        "tile" => decode_tile(bytes, width)
            .map(|_| ())
            .map_err(|e| outcome(&e)),
        "bundle" => decode_bundle(bytes, width)
            .map(|_| ())
            .map_err(|e| outcome(&e)),
        "tile-path" => TilePath::parse(text).map(|_| ()).map_err(|e| outcome(&e)),
        "event" => Event::from_canonical_json(bytes)
            .map(|_| ())
            .map_err(|e| outcome(&e)),
        "event-proof" => EventProof::parse(bytes)
            .map_err(|e| outcome(&e))
            .and_then(|p| {
                let network: btc_anchor::bitcoin::Network =
                    v["network"].as_str().unwrap().parse().unwrap();
                p.verify(
                    &vkeys[0],
                    btc_anchor::verification::Headers::ProofOnly,
                    &btc_anchor::verify::VerifyOptions::new(network),
                )
                .map_err(|e| outcome(&e))
                .and_then(|ok| match ok.anchor.outcome() {
                    btc_anchor::verification::Outcome::Valid => Ok(()),
                    _ => Err(ok.anchor.reason().unwrap_or("not-valid").to_owned()),
                })
            }),
        "journal" => open_journal(v, bytes),
        k => panic!("unknown vector kind {k}"),
    };
    match r {
        Ok(()) => "valid".into(),
        Err(e) => e,
    }
}

#[test]
#[ignore = "rewrites fixtures/log"]
fn regenerate() {
    let (files, index) = generate();
    let d = dir();
    let _ = std::fs::remove_dir_all(&d);
    for (name, bytes) in files {
        let p = d.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let mut s = serde_json::to_string_pretty(&index).unwrap();
    s.push('\n');
    std::fs::write(d.join("index.json"), s).unwrap();
}

#[test]
fn fixtures_are_current() {
    let (files, index) = generate();
    let d = dir();
    for (name, bytes) in files {
        assert_eq!(
            std::fs::read(d.join(&name)).unwrap_or_default(),
            bytes,
            "fixtures/log/{name} differs from what the code generates \
             (run `cargo test -p btc-anchor-log --test it -- --ignored regenerate`)"
        );
    }
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(d.join("index.json")).unwrap()).unwrap();
    assert_eq!(on_disk, index, "fixtures/log/index.json is stale");
}

#[test]
fn every_vector_gives_its_expected_outcome() {
    let d = dir();
    let index: Value =
        serde_json::from_slice(&std::fs::read(d.join("index.json")).unwrap()).unwrap();
    let vectors = index["vectors"].as_array().unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for v in vectors {
        let bytes = match (v["file"].as_str(), v["text"].as_str()) {
            (Some(f), _) => std::fs::read(d.join(f)).unwrap(),
            (None, Some(t)) => t.as_bytes().to_vec(),
            _ => panic!("vector without file or text: {v}"),
        };
        let expect = v["expect"].as_str().unwrap();
        assert_eq!(run(v, &bytes), expect, "{v}");
        if expect == "valid" {
            valid += 1
        } else {
            invalid += 1
        }
    }
    assert!(
        invalid > valid,
        "negative vectors must outnumber positive ones"
    );
}
