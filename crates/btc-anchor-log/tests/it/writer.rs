//! The log on disk: durable appends, record chains, checkpoints, the one
//! writer, group commit, and crashes (a torn journal tail, `kill -9` of a
//! real appending process).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use btc_anchor::merkle::{leaf_hash, verify_consistency, Tree};
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::entry::{Entry, RecordRef};
use btc_anchor_log::event::Event;
use btc_anchor_log::journal::JournalError;
use btc_anchor_log::store::TileStore;
use btc_anchor_log::writer::{GroupCommit, LogError, LogWriter};

use crate::{event, log_signer, ORIGIN};

fn new_log(dir: &Path) -> LogWriter {
    LogWriter::create(&dir.join("log"), log_signer()).unwrap()
}

/// Event `i`, its own `prev` left for the log to fill.
fn ev(i: u64) -> Event {
    event(i, None)
}

/// The tiles of `dir` give the core tree's root of the journal's entries,
/// and the published checkpoint opens.
fn check_published(log: &LogWriter) {
    let size = log.published();
    let leaves = log.entries()[..size as usize]
        .iter()
        .map(|e| leaf_hash(&e.0))
        .collect();
    let tree = Tree::new(leaves).unwrap();
    let note = log.latest_checkpoint().unwrap().to_text();
    let cp = Checkpoint::open(note.as_bytes(), ORIGIN, &[log.verifier()]).unwrap();
    assert_eq!((cp.size, cp.root), (size, tree.root()));
}

#[test]
fn appends_chain_records_and_checkpoints_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = new_log(dir.path());
    assert_eq!(log.origin(), ORIGIN);
    assert!(log.checkpoint().unwrap().is_none(), "an empty log has none");
    let a = log.append((0..10).map(ev).collect()).unwrap();
    assert_eq!(a, (0..10).collect::<Vec<_>>());
    // Each record's events are chained (event(i) is record i % 3).
    for i in 0..10u64 {
        let prev = log.opening(i).unwrap().event.prev;
        let expected = (i >= 3).then(|| log.entries()[(i - 3) as usize]);
        assert_eq!(prev, expected, "event {i}");
    }
    let first = log.checkpoint().unwrap().unwrap();
    assert!(
        log.checkpoint().unwrap().is_none(),
        "not grown: no new checkpoint"
    );
    check_published(&log);
    // A proof of a disclosed event verifies; one not yet published is refused.
    let (e, cp) = log
        .prove(4, true)
        .unwrap()
        .verify_event(ORIGIN, &log.verifier())
        .unwrap();
    assert_eq!((e.time, cp.size), (ev(4).time, 10));
    assert!(log.prove(4, false).unwrap().extra.is_none());
    log.append(vec![ev(10)]).unwrap();
    assert!(matches!(
        log.prove(10, true),
        Err(LogError::NotPublished {
            index: 10,
            size: 10
        })
    ));
    drop(log);

    // Reopened: the same entries, the chain goes on, the next checkpoint
    // is consistent with the first.
    let mut log = LogWriter::open(&dir.path().join("log")).unwrap();
    assert_eq!((log.entries().len(), log.published()), (11, 10));
    assert_eq!(log.recovery().torn_bytes, 0);
    log.append(vec![ev(11)]).unwrap();
    assert_eq!(log.opening(11).unwrap().event.prev, Some(log.entries()[8]));
    let second = log.checkpoint().unwrap().unwrap();
    check_published(&log);
    let open = |n: &btc_anchor_log::note::Note| {
        Checkpoint::open(n.to_text().as_bytes(), ORIGIN, &[log.verifier()]).unwrap()
    };
    let (c1, c2) = (open(&first), open(&second));
    let store = TileStore::new(dir.path().join("log/public"));
    let proof = store.reader(12).unwrap().consistency_proof(10).unwrap();
    verify_consistency(10, 12, &c1.root, &c2.root, &proof).unwrap();
    // Every checkpoint is kept by size; the folder and secrets are private.
    for size in [10, 12] {
        assert!(dir
            .path()
            .join(format!("log/public/checkpoints/{size}"))
            .is_file());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("log"), 0o700);
        assert_eq!(mode("log/key"), 0o600);
        assert_eq!(mode("log/journal"), 0o600);
    }
}

#[test]
fn a_wrong_prev_and_a_second_writer_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = new_log(dir.path());
    log.append(vec![ev(0)]).unwrap();
    // Record 0's next event must name entry 0.
    let mut bad = ev(3);
    bad.prev = Some(Entry([9; 32]));
    assert!(matches!(
        log.append(vec![ev(1), bad]),
        Err(LogError::Chain { index: 1 })
    ));
    assert_eq!(
        log.entries().len(),
        1,
        "nothing of a refused append is kept"
    );
    let mut good = ev(3);
    good.prev = Some(log.entries()[0]);
    log.append(vec![good]).unwrap();
    assert!(matches!(
        LogWriter::open(&dir.path().join("log")),
        Err(LogError::Locked { .. })
    ));
    assert!(matches!(
        LogWriter::create(&dir.path().join("log"), log_signer()),
        Err(LogError::Exists { .. })
    ));
}

#[test]
fn a_torn_tail_is_cut_off_but_damage_to_published_entries_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log = new_log(dir.path());
    log.append((0..5).map(ev).collect()).unwrap();
    log.checkpoint().unwrap();
    log.append((5..8).map(ev).collect()).unwrap();
    drop(log);
    let journal = path.join("journal");
    let good = std::fs::read(&journal).unwrap();

    // Half of a record after the last sync: cut off and kept aside.
    let extra: Vec<u8> = good[good.len() - 60..good.len() - 20].to_vec();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(&extra)
        .unwrap();
    let log = LogWriter::open(&path).unwrap();
    assert_eq!(log.entries().len(), 8);
    assert_eq!(log.recovery().torn_bytes, 40);
    let kept = log.recovery().kept_at.clone().unwrap();
    assert_eq!(std::fs::read(kept).unwrap(), extra);
    drop(log);
    assert_eq!(std::fs::read(&journal).unwrap(), good);

    // A flipped byte in entry 6 (unpublished): entries 6 and 7 are cut.
    let at = |log_bytes: &[u8], n: usize| {
        // The offset of record n: walk the length prefixes.
        let mut off = btc_anchor_log::journal::MAGIC.len();
        for _ in 0..n {
            let len = u32::from_be_bytes(log_bytes[off..off + 4].try_into().unwrap()) as usize;
            off += 4 + len + 8;
        }
        off
    };
    let mut bytes = good.clone();
    bytes[at(&good, 6) + 10] ^= 1;
    std::fs::write(&journal, &bytes).unwrap();
    let log = LogWriter::open(&path).unwrap();
    assert_eq!(log.entries().len(), 6);
    drop(log);

    // A flipped byte in entry 2 (published): refused, nothing cut.
    let mut bytes = good.clone();
    bytes[at(&good, 2) + 40] ^= 1;
    std::fs::write(&journal, &bytes).unwrap();
    assert!(matches!(
        LogWriter::open(&path),
        Err(LogError::Journal(JournalError::Damaged {
            index: 2,
            published: 5
        }))
    ));
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);

    // A journal shorter than the checkpoint.
    std::fs::write(&journal, &good[..at(&good, 3)]).unwrap();
    assert!(matches!(
        LogWriter::open(&path),
        Err(LogError::Truncated {
            published: 5,
            journal: 3
        })
    ));
}

#[test]
fn group_commit_serves_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(GroupCommit::new(new_log(dir.path())));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..200u64)
                    .flat_map(|i| log.append(vec![ev(t * 1000 + i)]).unwrap())
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..1600).collect::<Vec<_>>());
    // A bad request fails alone, not the others of its group.
    let mut bad = ev(0);
    bad.prev = Some(Entry([1; 32]));
    assert!(log.append(vec![bad]).is_err());
    let cp = log.with_writer(|w| w.checkpoint().unwrap().unwrap());
    assert!(cp.text().contains("\n1600\n"));
    let log = Arc::into_inner(log).unwrap().into_inner().unwrap();
    check_published(&log);
    // Each record's chain holds across threads: every event of a record
    // names the one before it in log order.
    let mut last = std::collections::HashMap::<RecordRef, Entry>::new();
    for i in 0..1600 {
        let o = log.opening(i).unwrap();
        assert_eq!(o.event.prev, last.get(&o.event.record).copied(), "{i}");
        last.insert(o.event.record, o.entry());
    }
}

/// The appending process of the `kill -9` test: appends event i, prints
/// "ack i" once durable, checkpoints every 20, until killed.
#[test]
#[ignore = "run by kill_9_during_appends_loses_no_acknowledged_event"]
fn appender_child() {
    let Ok(dir) = std::env::var("BTC_ANCHOR_LOG_CHILD_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let mut log = match LogWriter::open(&dir) {
        Ok(l) => l,
        Err(_) => LogWriter::create(&dir, log_signer()).unwrap(),
    };
    let mut out = std::io::stdout().lock();
    let mut i = log.entries().len() as u64;
    loop {
        log.append(vec![ev(i)]).unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
        if i.is_multiple_of(20) {
            log.checkpoint().unwrap();
        }
        i += 1;
    }
}

#[test]
fn kill_9_during_appends_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut acked: Option<u64> = None;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "writer::appender_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("BTC_ANCHOR_LOG_CHILD_DIR", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let target = 40 + round * 37;
        let mut seen = 0;
        while let Some(Ok(line)) = lines.next() {
            if let Some(n) = line.strip_prefix("ack ") {
                acked = Some(n.parse().unwrap());
                seen += 1;
                if seen == target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Reopened: every acknowledged event is there, as it was written;
        // the tiles of the last checkpoint are whole.
        let mut log = LogWriter::open(&path).unwrap();
        let acked = acked.unwrap();
        assert!(
            log.entries().len() as u64 > acked,
            "round {round}: lost an ack"
        );
        for i in (0..=acked).step_by(7) {
            assert_eq!(log.opening(i).unwrap().event.time, ev(i).time);
        }
        if log.published() > 0 {
            check_published(&log);
        }
        log.checkpoint().unwrap();
        check_published(&log);
    }
}

#[test]
fn references_are_stable_per_log_and_hide_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let other = LogWriter::create(&dir.path().join("other"), log_signer()).unwrap();
    // A child another test forks holds the lock file's descriptor until
    // it execs: a lock just released may still look held for a moment.
    let new_ref = |d: &Path| {
        for _ in 0..50 {
            match LogWriter::open(d) {
                Ok(w) => return w.record_ref(b"MRN 4711"),
                Err(btc_anchor_log::writer::LogError::Locked { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the log stays locked");
    };
    assert_eq!(log.record_ref(b"MRN 4711"), log.record_ref(b"MRN 4711"));
    assert_ne!(log.record_ref(b"MRN 4711"), log.record_ref(b"MRN 4712"));
    assert_ne!(log.record_ref(b"MRN 4711"), other.record_ref(b"MRN 4711"));
    assert_ne!(log.record_ref(b"x").0, log.actor_ref(b"x").0);
    let refkey = std::fs::read_to_string(dir.path().join("log/refkey")).unwrap();
    assert_eq!(refkey.len(), 64);
    assert!(
        !format!("{log:?}").contains(&refkey),
        "the refkey stays out of Debug"
    );
    drop(log);
    let before = new_ref(&dir.path().join("log"));
    assert_eq!(
        before,
        new_ref(&dir.path().join("log")),
        "the refkey is kept"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let p = dir.path().join("log/refkey");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            LogWriter::open(&dir.path().join("log")),
            Err(LogError::RefkeyPermissions { .. })
        ));
    }
}

/// The tiles' stored rows (`docs/audit-log.md` §5.4) are a cache: damaged,
/// they never reach a proof the writer hands out, nor a signed root; with
/// the tiles damaged too, the writer refuses rather than hand out a wrong
/// proof.
#[test]
fn damaged_rows_never_reach_a_proof_or_a_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = new_log(dir.path());
    log.append((0..600).map(ev).collect()).unwrap();
    log.checkpoint().unwrap().unwrap();
    let rows = dir.path().join("log/rows");
    let files: Vec<PathBuf> = [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
    ]
    .iter()
    .map(|p| rows.join(p))
    .collect();
    // Every hash of every row changed, the lengths kept.
    let damage = |files: &[PathBuf], mask: u8| {
        for f in files {
            let mut b = std::fs::read(f).unwrap();
            b.iter_mut().for_each(|x| *x ^= mask);
            std::fs::write(f, b).unwrap();
        }
    };
    damage(&files, 0x5a);
    for i in [0, 1, 255, 256, 300, 599] {
        let proof = log.prove(i, false).unwrap();
        proof
            .verify(&log.entries()[i as usize], ORIGIN, &log.verifier())
            .unwrap();
    }
    // The next checkpoint signs the tiles' root, not the rows'.
    log.append((600..700).map(ev).collect()).unwrap();
    log.checkpoint().unwrap().unwrap();
    check_published(&log);
    drop(log);
    let log = LogWriter::open(&dir.path().join("log")).unwrap();
    let proof = log.prove(3, false).unwrap();
    proof
        .verify(&log.entries()[3], ORIGIN, &log.verifier())
        .unwrap();
    // Damaged rows and a damaged tile under them: refused.
    damage(&files[..1], 0x0f);
    let tile = dir.path().join("log/public/tile/0/000");
    let mut b = std::fs::read(&tile).unwrap();
    b[32 * 7] ^= 1;
    std::fs::write(&tile, b).unwrap();
    assert!(matches!(
        log.prove(6, false),
        Err(LogError::TilesDisagree {
            index: 6,
            size: 700
        })
    ));
}
