//! Crypto-shredding (`docs/audit-log.md` §11.5): erasing events from the
//! journal keeps the log valid, survives a crash at any step, and leaves
//! damage detectable; and the audit of per-record chains against the
//! clinic's journal (§12.2), with the breaks it must name.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use btc_anchor::bitcoin::Network;
use btc_anchor_log::audit::{audit, AuditOptions, AuditReport, Finding};
use btc_anchor_log::entry::{Entry, Salt};
use btc_anchor_log::event::{Codes, Event, EventKind};
use btc_anchor_log::journal::{JournalError, MAGIC, MAGIC_V2};
use btc_anchor_log::proof::Opening;
use btc_anchor_log::writer::{LogError, LogWriter};
use sha2::{Digest as _, Sha256};

use crate::{log_signer, ORIGIN};

/// Event `i` of the record `record`, with a code no other event has (to
/// look for in the file).
fn ev(log: &LogWriter, record: &str, i: u64) -> Event {
    Event {
        kind: EventKind::Read,
        time: 1_767_225_600 + i,
        record: log.record_ref(record.as_bytes()),
        actor: log.actor_ref(b"clinician 7"),
        content: None,
        prev: None,
        codes: Codes {
            r#type: Some(marker(record, i)),
            ..Default::default()
        },
    }
}

fn marker(record: &str, i: u64) -> String {
    format!("urn:test|diagnosis-{record}-{i}")
}

/// A log of `n` events of the records `MRN-0`, `MRN-1`, `MRN-2` in turn,
/// checkpointed.
fn log_of(dir: &Path, n: u64) -> LogWriter {
    let mut log = LogWriter::create(&dir.join("log"), log_signer()).unwrap();
    let events = (0..n)
        .map(|i| ev(&log, &format!("MRN-{}", i % 3), i))
        .collect();
    log.append(events).unwrap();
    log.checkpoint().unwrap();
    log
}

fn audit_with_journal(dir: &Path, journal: &Path) -> AuditReport {
    let options = AuditOptions {
        journal: Some(journal),
        ..AuditOptions::new(Network::Regtest)
    };
    audit(
        &dir.join("public"),
        ORIGIN,
        &log_signer().verifier(),
        &options,
    )
    .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn shredding_a_record_erases_its_events_and_keeps_the_log_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = log_of(tmp.path(), 12);
    let dir = tmp.path().join("log");
    let journal = dir.join("journal");
    let salts: Vec<Salt> = [0, 3, 6, 9]
        .iter()
        .map(|&i| log.opening(i).unwrap().salt)
        .collect();
    let before = std::fs::read(&journal).unwrap();
    assert!(before.starts_with(MAGIC));
    assert!(contains(&before, &salts[1].0));
    assert!(contains(&before, marker("MRN-0", 3).as_bytes()));

    let done = log.shred_record(b"MRN-0").unwrap();
    assert_eq!((done.shredded, done.already), (vec![0, 3, 6, 9], 0));
    assert_eq!(log.shredded(), 4);
    assert_eq!(log.entries().len(), 12, "every entry stays");

    // The salts and events are gone from the file; the others are not.
    let after = std::fs::read(&journal).unwrap();
    assert_eq!(after.len(), before.len(), "records keep their length");
    assert!(after.starts_with(MAGIC_V2));
    for (s, i) in salts.iter().zip([0, 3, 6, 9]) {
        assert!(!contains(&after, &s.0), "salt of {i} left");
        assert!(
            !contains(&after, marker("MRN-0", i).as_bytes()),
            "event {i} left"
        );
        assert!(!contains(&after, b"diagnosis-MRN-0"));
    }
    assert!(contains(&after, marker("MRN-1", 4).as_bytes()));
    assert!(!dir.join("journal.shred").exists());

    // No proof of a shredded event; other proofs still verify.
    assert!(matches!(
        log.opening(3),
        Err(LogError::Journal(JournalError::Shredded { index: 3 }))
    ));
    for disclose in [false, true] {
        let e = log.prove(3, disclose).unwrap_err();
        assert!(matches!(e, LogError::Shredded { index: 3 }));
        assert!(e.to_string().starts_with("the event was shredded"), "{e}");
        assert!(matches!(
            log.prove_anchored(3, disclose),
            Err(LogError::Shredded { index: 3 })
        ));
    }
    let (read, _) = log
        .prove(4, true)
        .unwrap()
        .verify_event(ORIGIN, &log.verifier())
        .unwrap();
    assert_eq!(read.codes.r#type, Some(marker("MRN-1", 4)));

    // The audit passes, with the journal and the count of shredded ones.
    let report = audit_with_journal(&dir, &journal);
    assert_eq!(report.finding, None);
    let j = report.journal.unwrap();
    assert_eq!((j.entries, j.shredded, j.chains), (12, 4, 2));

    // New events: the other records chain on, the shredded one starts
    // afresh.
    let b = log.append(vec![ev(&log, "MRN-1", 12)]).unwrap()[0];
    assert_eq!(log.opening(b).unwrap().event.prev, Some(log.entries()[10]));
    let a = log.append(vec![ev(&log, "MRN-0", 13)]).unwrap()[0];
    assert_eq!(log.opening(a).unwrap().event.prev, None);
    log.checkpoint().unwrap();
    assert_eq!(audit_with_journal(&dir, &journal).finding, None);

    // Shredding the record again takes only its new event; entries shredded
    // before are counted, not shredded again; an index past the end is
    // refused.
    assert_eq!(log.shred_record(b"MRN-0").unwrap().shredded, vec![a]);
    let again = log.shred_entries(&[0, 3]).unwrap();
    assert_eq!((again.shredded.len(), again.already), (0, 2));
    assert!(matches!(
        log.shred_entries(&[1, 1000]),
        Err(LogError::Journal(JournalError::NoSuchRecord {
            index: 1000,
            size: 14
        }))
    ));
    assert!(!log.is_shredded(1), "a refused shred shreds nothing");
    let entries = log.entries().to_vec();
    drop(log);

    // Reopened: the same entries and shreds, the heads as they were.
    let mut log = LogWriter::open(&dir).unwrap();
    assert_eq!(log.entries(), &entries[..]);
    assert_eq!(log.shredded(), 5);
    let c = log.append(vec![ev(&log, "MRN-1", 14)]).unwrap()[0];
    assert_eq!(
        log.opening(c).unwrap().event.prev,
        Some(entries[b as usize])
    );
    log.checkpoint().unwrap();
    assert_eq!(audit_with_journal(&dir, &journal).finding, None);
}

#[test]
fn shredding_single_entries_keeps_the_chains_checkable() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = log_of(tmp.path(), 9);
    let dir = tmp.path().join("log");
    let journal = dir.join("journal");
    // MRN-0 is at 0, 3, 6: the middle one, then its latest.
    log.shred_entries(&[3]).unwrap();
    assert_eq!(audit_with_journal(&dir, &journal).finding, None);
    log.shred_entries(&[6]).unwrap();
    let next = log.append(vec![ev(&log, "MRN-0", 9)]).unwrap()[0];
    assert_eq!(
        log.opening(next).unwrap().event.prev,
        Some(log.entries()[0]),
        "the latest event not shredded is the head"
    );
    log.checkpoint().unwrap();
    let report = audit_with_journal(&dir, &journal);
    assert_eq!(report.finding, None);
    assert_eq!(report.journal.unwrap().shredded, 2);
    assert!(report
        .trusted
        .iter()
        .any(|t| t.contains("checked only against that entry's value and position")));
    drop(log);
    let log = LogWriter::open(&dir).unwrap();
    assert!(log.is_shredded(3) && log.is_shredded(6) && !log.is_shredded(0));
}

// ---- The formats of §11.2 and §11.5, written here from the spec. ----

/// (offset, body length, entry) of every record of a journal.
pub(crate) fn records(bytes: &[u8]) -> Vec<(u64, u32, Entry)> {
    let mut at = MAGIC.len();
    let mut out = vec![];
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) & 0x7fff_ffff;
        out.push((
            at as u64,
            len,
            Entry(bytes[at + 4..at + 36].try_into().unwrap()),
        ));
        at += 4 + len as usize + 8;
    }
    out
}

pub(crate) fn check8(bytes: &[u8]) -> [u8; 8] {
    Sha256::digest(bytes)[..8].try_into().unwrap()
}

pub(crate) fn shredded_form(entry: &Entry, len: u32) -> Vec<u8> {
    let mut r = (0x8000_0000 | len).to_be_bytes().to_vec();
    r.extend_from_slice(&entry.0);
    r.resize(4 + len as usize, 0);
    let c = check8(&r);
    r.extend_from_slice(&c);
    r
}

pub(crate) fn shred_list(bytes: &[u8], indices: &[usize]) -> Vec<u8> {
    let recs = records(bytes);
    list_of(
        indices
            .iter()
            .map(|&i| (i as u64, recs[i].0, recs[i].1, recs[i].2)),
    )
}

pub(crate) fn list_of(items: impl ExactSizeIterator<Item = (u64, u64, u32, Entry)>) -> Vec<u8> {
    let mut l = b"btc-anchor-log/shred/v1\n".to_vec();
    l.extend_from_slice(&(items.len() as u32).to_be_bytes());
    for (i, offset, len, entry) in items {
        l.extend_from_slice(&i.to_be_bytes());
        l.extend_from_slice(&offset.to_be_bytes());
        l.extend_from_slice(&len.to_be_bytes());
        l.extend_from_slice(&entry.0);
    }
    let c = check8(&l);
    l.extend_from_slice(&c);
    l
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn an_interrupted_shred_is_finished_when_the_log_opens() {
    let tmp = tempfile::tempdir().unwrap();
    drop(log_of(tmp.path(), 12));
    let clean = tmp.path().join("log");
    let before = std::fs::read(clean.join("journal")).unwrap();
    // What a shred that ran to its end leaves.
    let done = tmp.path().join("done");
    copy_dir(&clean, &done);
    LogWriter::open(&done)
        .unwrap()
        .shred_record(b"MRN-0")
        .unwrap();
    let expected = std::fs::read(done.join("journal")).unwrap();
    let list = shred_list(&before, &[0, 3, 6, 9]);
    let recs = records(&before);

    // Killed at each step: after the list was made durable, with the
    // version 1 magic still there; with the magic written and one record
    // overwritten; in the middle of overwriting a record (a torn write:
    // its first half shredded, the rest still the event).
    let mut magic_only = before.clone();
    magic_only[..MAGIC_V2.len()].copy_from_slice(MAGIC_V2);
    let mut one_done = magic_only.clone();
    let (o, len, e) = recs[0];
    one_done[o as usize..][..4 + len as usize + 8].copy_from_slice(&shredded_form(&e, len));
    let mut torn = one_done.clone();
    let (o, len, e) = recs[3];
    let half = (4 + len as usize + 8) / 2;
    torn[o as usize..][..half].copy_from_slice(&shredded_form(&e, len)[..half]);
    let mut torn_tail = torn.clone();
    torn_tail.extend_from_slice(&[0, 0, 0]); // and an unacknowledged tail
    for (case, journal) in [
        ("list only", &before),
        ("magic written", &magic_only),
        ("one record overwritten", &one_done),
        ("a torn overwrite", &torn),
        ("a torn overwrite and a torn tail", &torn_tail),
    ] {
        let dir = tmp.path().join(case.replace(' ', "-"));
        copy_dir(&clean, &dir);
        std::fs::write(dir.join("journal"), journal).unwrap();
        std::fs::write(dir.join("journal.shred"), &list).unwrap();
        // The read-only reader (for audits) sees the shred as done.
        let report = audit_with_journal(&dir, &dir.join("journal"));
        assert_eq!(report.finding, None, "{case}");
        let j = report.journal.unwrap();
        assert_eq!((j.shredded, j.pending_shreds), (4, 4), "{case}");
        let log = LogWriter::open(&dir).unwrap_or_else(|e| panic!("{case}: {e:?}"));
        assert_eq!(log.recovery().shreds_finished, 4, "{case}");
        assert_eq!(log.shredded(), 4, "{case}");
        drop(log);
        assert_eq!(
            std::fs::read(dir.join("journal")).unwrap(),
            expected,
            "{case}"
        );
        assert!(!dir.join("journal.shred").exists(), "{case}");
    }

    // Killed before the list was renamed into place: nothing was shredded,
    // and the unfinished list is dropped.
    let dir = tmp.path().join("before-rename");
    copy_dir(&clean, &dir);
    std::fs::write(dir.join("journal.shred.tmp"), &list[..list.len() / 2]).unwrap();
    let log = LogWriter::open(&dir).unwrap();
    assert_eq!(log.shredded(), 0);
    assert_eq!(
        log.opening(3).unwrap().event.codes.r#type,
        Some(marker("MRN-0", 3))
    );
    assert!(!dir.join("journal.shred.tmp").exists());
    drop(log);
    assert_eq!(std::fs::read(dir.join("journal")).unwrap(), before);

    // A list that is damaged, or another journal's, is refused: the
    // journal is left as it is.
    for (case, bad) in [
        ("damaged", {
            let mut l = list.clone();
            l[30] ^= 1;
            l
        }),
        ("another journal's", {
            let (offset, len, _) = recs[3];
            list_of([(3, offset, len, Entry([0x55; 32]))].into_iter())
        }),
    ] {
        let dir = tmp.path().join(format!("bad-{}", case.replace(' ', "-")));
        copy_dir(&clean, &dir);
        std::fs::write(dir.join("journal.shred"), &bad).unwrap();
        let e = LogWriter::open(&dir).unwrap_err();
        assert!(
            matches!(
                e,
                LogError::Journal(
                    JournalError::BadShredList { .. } | JournalError::ShredMismatch { .. }
                )
            ),
            "{case}: {e:?}"
        );
        assert_eq!(
            std::fs::read(dir.join("journal")).unwrap(),
            before,
            "{case}"
        );
    }
}

#[test]
fn an_edited_shredded_record_is_still_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = log_of(tmp.path(), 12);
    log.shred_record(b"MRN-0").unwrap();
    drop(log);
    let dir = tmp.path().join("log");
    let shredded = std::fs::read(dir.join("journal")).unwrap();
    let recs = records(&shredded);
    let (o3, len3, e3) = recs[3];
    let at = o3 as usize;
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = shredded.clone();
        f(&mut b);
        b
    };
    // A byte of the erased part, of the entry, of the length, the check;
    // the shredded mark taken off; and shredded records in a version 1
    // journal: all damage to a published record.
    for (case, bytes) in [
        ("erased byte", edit(&|b| b[at + 40] = 1)),
        ("entry byte", edit(&|b| b[at + 4] ^= 1)),
        ("length", edit(&|b| b[at + 3] ^= 1)),
        ("check", edit(&|b| b[at + 4 + len3 as usize] ^= 1)),
        ("mark removed", edit(&|b| b[at] &= 0x7f)),
        ("version 1", edit(&|b| b[..26].copy_from_slice(MAGIC))),
    ] {
        let d = tmp.path().join(case.replace(' ', "-"));
        copy_dir(&dir, &d);
        std::fs::write(d.join("journal"), &bytes).unwrap();
        let index = if case == "version 1" { 0 } else { 3 };
        assert!(
            matches!(
                LogWriter::open(&d),
                Err(LogError::Journal(JournalError::Damaged { index: i, published: 12 })) if i == index
            ),
            "{case}"
        );
        let report = audit_with_journal(&d, &d.join("journal"));
        assert_eq!(
            report.finding,
            Some(Finding::JournalShort {
                records: index,
                published: 12
            }),
            "{case}"
        );
    }
    // A shredded record rewritten whole with another entry (its check
    // made to match): the journal opens, the audit finds the entry is not
    // the published one.
    let mut forged = shredded.clone();
    let other = Entry([7; 32]);
    forged[at..][..4 + len3 as usize + 8].copy_from_slice(&shredded_form(&other, len3));
    let d = tmp.path().join("forged");
    copy_dir(&dir, &d);
    std::fs::write(d.join("journal"), &forged).unwrap();
    assert_eq!(
        audit_with_journal(&d, &d.join("journal")).finding,
        Some(Finding::JournalMismatch {
            index: 3,
            journal: other,
            published: e3
        })
    );
}

// ---- Per-record chains: journals written by hand. ----

/// A log whose journal holds `openings` as they are (no chain rule),
/// checkpointed: its published entries are the journal's.
fn crafted_log(dir: &Path, openings: &[Opening]) -> PathBuf {
    let path = dir.join("log");
    drop(LogWriter::create(&path, log_signer()).unwrap());
    let mut bytes = MAGIC.to_vec();
    for o in openings {
        let body = o.to_bytes();
        let start = bytes.len();
        bytes.extend_from_slice(&((32 + body.len()) as u32).to_be_bytes());
        bytes.extend_from_slice(&o.entry().0);
        bytes.extend_from_slice(&body);
        let c = check8(&bytes[start..]);
        bytes.extend_from_slice(&c);
    }
    std::fs::write(path.join("journal"), bytes).unwrap();
    LogWriter::open(&path).unwrap().checkpoint().unwrap();
    path
}

fn opening(log: &LogWriter, record: &str, i: u64, prev: Option<Entry>) -> Opening {
    let mut e = ev(log, record, i);
    e.prev = prev;
    Opening::new(e, crate::salt(&format!("chain salt {i}"))).unwrap()
}

#[test]
fn the_audit_names_each_break_of_a_record_chain() {
    let tmp = tempfile::tempdir().unwrap();
    // The references of a log's records depend on its refkey: take them
    // from one log, and write every crafted journal with them.
    let refs = LogWriter::create(&tmp.path().join("refs"), log_signer()).unwrap();
    let a0 = opening(&refs, "A", 0, None);
    let b1 = opening(&refs, "B", 1, None);
    let a1 = opening(&refs, "A", 1, Some(a0.entry()));
    let a2_skip = opening(&refs, "A", 2, Some(a0.entry()));
    let a2_other = opening(&refs, "A", 2, Some(b1.entry()));
    let late = opening(&refs, "A", 5, None);
    let early = opening(&refs, "A", 4, Some(late.entry()));
    let first_with_prev = opening(&refs, "A", 6, Some(Entry([9; 32])));
    let chain = |chain,
                 index,
                 expected_index: Option<u64>,
                 expected: Option<&Opening>,
                 found: Option<Entry>,
                 found_index| Finding::ChainBreak {
        chain,
        index,
        expected_index,
        expected: expected.map(Opening::entry),
        found,
        found_index,
    };
    for (case, openings, finding) in [
        (
            "a chain that holds",
            vec![a0.clone(), b1.clone(), a1.clone()],
            None,
        ),
        (
            "a prev that skips one",
            vec![a0.clone(), a1.clone(), a2_skip.clone()],
            Some(chain(0, 2, Some(1), Some(&a1), Some(a0.entry()), Some(0))),
        ),
        (
            "a prev of another record",
            vec![a0.clone(), b1.clone(), a2_other.clone()],
            Some(chain(0, 2, Some(0), Some(&a0), Some(b1.entry()), Some(1))),
        ),
        (
            "a reordered pair",
            vec![early.clone(), late.clone()],
            Some(chain(0, 0, None, None, Some(late.entry()), Some(1))),
        ),
        (
            "a first event with a prev",
            vec![b1.clone(), first_with_prev.clone()],
            Some(chain(1, 1, None, None, Some(Entry([9; 32])), None)),
        ),
    ] {
        let dir = tmp.path().join(case.replace(' ', "-"));
        let log = crafted_log(&dir, &openings);
        let report = audit_with_journal(&log, &log.join("journal"));
        assert_eq!(report.finding, finding, "{case}");
        // Without the journal, the published log is consistent.
        let plain = audit(
            &log.join("public"),
            ORIGIN,
            &log_signer().verifier(),
            &AuditOptions::new(Network::Regtest),
        )
        .unwrap();
        assert_eq!(plain.finding, None, "{case}");
    }
    // A record whose opening does not commit to its entry (its check made
    // to match), and a journal cut short.
    let dir = tmp.path().join("bad-opening");
    let log = crafted_log(&dir, &[a0.clone(), b1.clone()]);
    let journal = std::fs::read(log.join("journal")).unwrap();
    let recs = records(&journal);
    let (o, len, _) = recs[1];
    let mut bad = journal.clone();
    let at = o as usize + 36 + 10;
    bad[at] ^= 1; // a salt byte
    let end = o as usize + 4 + len as usize;
    let c = check8(&bad[o as usize..end]);
    bad[end..end + 8].copy_from_slice(&c);
    std::fs::write(tmp.path().join("bad"), &bad).unwrap();
    assert_eq!(
        audit_with_journal(&log, &tmp.path().join("bad")).finding,
        Some(Finding::JournalOpening { index: 1 })
    );
    std::fs::write(tmp.path().join("short"), &journal[..o as usize]).unwrap();
    assert_eq!(
        audit_with_journal(&log, &tmp.path().join("short")).finding,
        Some(Finding::JournalShort {
            records: 1,
            published: 2
        })
    );
}

/// The shredding process of the `kill -9` test: shreds the entries of
/// `BTC_ANCHOR_LOG_SHRED_DIR` one by one from the first not shredded,
/// printing "shredded i" once each is durable, until killed.
#[test]
#[ignore = "run by kill_9_during_shreds_leaves_every_record_whole_or_shredded"]
fn shredder_child() {
    let Ok(dir) = std::env::var("BTC_ANCHOR_LOG_SHRED_DIR") else {
        return;
    };
    let mut log = LogWriter::open(Path::new(&dir)).unwrap();
    let mut out = std::io::stdout().lock();
    let n = log.entries().len() as u64;
    let todo: Vec<u64> = (0..n).filter(|&i| !log.is_shredded(i)).collect();
    for i in todo {
        log.shred_entries(&[i]).unwrap();
        writeln!(out, "shredded {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_during_shreds_leaves_every_record_whole_or_shredded() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_of(tmp.path(), 600);
    let path = tmp.path().join("log");
    let entries = log.entries().to_vec();
    let originals: Vec<Opening> = (0..600).map(|i| log.opening(i).unwrap()).collect();
    drop(log);
    let mut acked = 0;
    for round in 0..4 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "shred::shredder_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("BTC_ANCHOR_LOG_SHRED_DIR", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while let Some(Ok(line)) = lines.next() {
            if let Some(n) = line.strip_prefix("shredded ") {
                acked = acked.max(n.parse::<u64>().unwrap() + 1);
                seen += 1;
                if seen == 15 + round * 11 {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL, in the middle of the next shred
        child.wait().unwrap();
        let log = LogWriter::open(&path).unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        assert_eq!(
            log.entries(),
            &entries[..],
            "round {round}: every entry kept"
        );
        for i in 0..600 {
            if i < acked {
                assert!(log.is_shredded(i), "round {round}: {i} acknowledged");
            } else if !log.is_shredded(i) {
                assert_eq!(log.opening(i).unwrap(), originals[i as usize]);
            }
        }
        drop(log);
        let report = audit_with_journal(&path, &path.join("journal"));
        assert_eq!(report.finding, None, "round {round}");
    }
}

#[test]
fn every_flipped_byte_of_a_shredded_journal_is_refused() {
    use btc_anchor_log::journal::Journal;
    let tmp = tempfile::tempdir().unwrap();
    let mut log = log_of(tmp.path(), 5);
    log.shred_entries(&[1, 4]).unwrap();
    drop(log);
    let good = std::fs::read(tmp.path().join("log/journal")).unwrap();
    let path = tmp.path().join("journal");
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        match Journal::open(&path, 5) {
            Err(JournalError::Damaged { .. } | JournalError::NotJournal { .. }) => {}
            other => panic!("byte {at}: {other:?}"),
        }
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(Journal::open(&path, 5).unwrap().0.shredded(), 2);
}
