//! Syncing a headers file (`btc_anchor::headers::sync`) from in-memory
//! header sources over synthetic regtest chains: a new file, appends, a
//! torn tail, reorganisations to heavier and lighter branches, a source
//! that sends an invalid header or fails, a tip that moves, and the lock.
//! (`btc-anchor-cli`'s `headers_sync.rs` runs the same engine against a
//! real regtest stack.)

use std::cell::{Cell, RefCell};
use std::fs;
use std::path::Path;

use btc_anchor::bitcoin::block::Header;
use btc_anchor::bitcoin::{consensus, CompactTarget, Network};
use btc_anchor::headers::sync::{
    sync_headers_file, LockedHeadersFile, SyncError, SyncErrorKind, SyncProgress, SyncReport,
    ATTEMPTS,
};
use btc_anchor::headers::{HeaderSource, HeaderSourceError, HeadersFile, SourceKind};
use btc_anchor::text::with_sources;
use btc_anchor_testenv::chain::{fork, regtest_chain, write_headers, Chain};

const RT: Network = Network::Regtest;

/// A header source over an in-memory chain that counts the questions it
/// is asked, and can grow by a block each time its tip is asked for.
struct Mem {
    chain: RefCell<Chain>,
    asked: Cell<u32>,
    /// Blocks still to mine, one per `best_height`.
    grow: Cell<u32>,
}

impl Mem {
    fn new(headers: Vec<Header>) -> Mem {
        Mem {
            chain: RefCell::new(Chain {
                network: RT,
                headers,
            }),
            asked: Cell::new(0),
            grow: Cell::new(0),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.chain.borrow().headers_file_bytes()
    }
}

impl HeaderSource for Mem {
    fn kind(&self) -> SourceKind {
        SourceKind::Electrum("mem://test".to_owned())
    }
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        self.asked.set(self.asked.get() + 1);
        Ok(self.chain.borrow().headers.get(height as usize).copied())
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        self.asked.set(self.asked.get() + 1);
        if self.grow.get() > 0 {
            self.grow.set(self.grow.get() - 1);
            self.chain.borrow_mut().mine_empty(1);
        }
        Ok((self.chain.borrow().headers.len() as u32).checked_sub(1))
    }
    fn header_range(&self, start: u32, count: u32) -> Result<Vec<Header>, HeaderSourceError> {
        self.asked.set(self.asked.get() + 1);
        let chain = self.chain.borrow();
        let from = (start as usize).min(chain.headers.len());
        let to = (from + count as usize).min(chain.headers.len());
        Ok(chain.headers[from..to].to_vec())
    }
}

/// A source that cannot be reached.
struct Down;

impl HeaderSource for Down {
    fn kind(&self) -> SourceKind {
        SourceKind::Electrum("mem://down".to_owned())
    }
    fn header_at(&self, _: u32) -> Result<Option<Header>, HeaderSourceError> {
        Err(down())
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        Err(down())
    }
}

fn down() -> HeaderSourceError {
    HeaderSourceError::Remote(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "connection refused",
    )))
}

fn bytes(headers: &[Header]) -> Vec<u8> {
    headers.iter().flat_map(consensus::serialize).collect()
}

fn sync(path: &Path, server: &dyn HeaderSource) -> Result<SyncReport, SyncError> {
    sync_headers_file(path, RT, server, &mut |_| {})
}

/// `chain` extended by `n` blocks.
fn extended(headers: Vec<Header>, n: u32) -> Vec<Header> {
    let mut c = Chain {
        network: RT,
        headers,
    };
    c.mine_empty(n);
    c.headers
}

#[test]
fn sync_creates_a_file_from_the_genesis_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.bin");
    let server = Mem::new(regtest_chain(30).headers);
    let mut seen = Vec::new();
    let r = sync_headers_file(&path, RT, &server, &mut |p| seen.push(p)).unwrap();
    assert!(r.created);
    assert_eq!(r.appended, 31);
    assert_eq!(
        (r.rolled_back, r.fork_height, r.trimmed_bytes),
        (0, None, 0)
    );
    assert_eq!(r.server_tip, 30);
    assert_eq!(r.file.start_height(), 0);
    assert_eq!(r.file.tip_height(), 30);
    assert_eq!(r.file.tip_hash(), server.chain.borrow().tip_hash());
    assert_eq!(fs::read(&path).unwrap(), server.bytes());
    // The genesis block is written first, then one run of 30 headers.
    let total = |p: &SyncProgress| (p.total, p.appended);
    assert_eq!(
        seen.iter().map(total).collect::<Vec<_>>(),
        [(30, 0), (30, 30)]
    );
    // The file validates as written.
    assert_eq!(HeadersFile::open(&path, RT).unwrap().tip_height(), 30);
}

#[test]
fn a_new_file_waits_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.bin");
    // A server that does not answer: no file.
    let e = sync(&path, &Down).unwrap_err();
    assert_eq!(e.kind(), SyncErrorKind::Server);
    assert!(matches!(e, SyncError::Server(_)), "{e:?}");
    assert_eq!(with_sources(&e), "connection refused");
    assert!(!path.exists());
    // A server on another network: no file either.
    let bitcoin = btc_anchor::bitcoin::constants::genesis_block(Network::Bitcoin).header;
    let e = sync(&path, &Mem::new(vec![bitcoin])).unwrap_err();
    assert!(matches!(e, SyncError::OtherChain { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Electrum server mem://test is not on regtest (its genesis block differs)"
    );
    assert!(!path.exists());
    // A server that knows no chain.
    let e = sync(&path, &Mem::new(Vec::new())).unwrap_err();
    assert!(matches!(e, SyncError::NoChain { .. }), "{e:?}");
    assert!(!path.exists());
}

#[test]
fn sync_appends_only_the_new_headers() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(30);
    let path = write_headers(dir.path(), "h.bin", &c.headers[..21]);
    let server = Mem::new(c.headers.clone());
    let r = sync(&path, &server).unwrap();
    assert!(!r.created);
    assert_eq!((r.appended, r.rolled_back, r.fork_height), (10, 0, None));
    assert_eq!(fs::read(&path).unwrap(), c.headers_file_bytes());

    // Up to date: nothing written.
    let r = sync(&path, &server).unwrap();
    assert_eq!(r.appended, 0);
    assert_eq!(r.file.tip_height(), 30);

    // A server behind the file: the file is kept.
    let behind = Mem::new(c.headers[..16].to_vec());
    let r = sync(&path, &behind).unwrap();
    assert_eq!((r.appended, r.server_tip, r.file.tip_height()), (0, 15, 30));
    assert_eq!(fs::read(&path).unwrap(), c.headers_file_bytes());
}

#[test]
fn sync_follows_a_tip_that_moves() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(10);
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    // A block mined each time the tip is asked for, three times.
    let server = Mem::new(c.headers.clone());
    server.grow.set(3);
    let mut runs = 0;
    let r = sync_headers_file(&path, RT, &server, &mut |p| {
        if p.appended == 0 {
            runs += 1;
        }
    })
    .unwrap();
    assert_eq!(runs, 3);
    assert_eq!((r.appended, r.server_tip), (3, 13));
    assert_eq!(fs::read(&path).unwrap(), server.bytes());

    // A tip that never stops moving: the sync stops after its attempts,
    // with every header it appended, and succeeds.
    server.grow.set(u32::MAX);
    let r = sync(&path, &server).unwrap();
    assert_eq!(r.appended, u64::from(ATTEMPTS));
    assert_eq!(r.file.tip_height(), 13 + ATTEMPTS);
    assert_eq!(fs::read(&path).unwrap(), server.bytes());
}

#[test]
fn a_torn_header_is_cut_off_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(20);
    let whole = c.headers_file_bytes();
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[80..117]);
    let path = dir.path().join("torn.bin");
    fs::write(&path, &torn).unwrap();
    // Cut when the file is opened, before any source is asked.
    let locked = LockedHeadersFile::open(&path, RT).unwrap();
    assert_eq!(locked.trimmed_bytes(), 37);
    assert!(!locked.created());
    assert_eq!(fs::read(&path).unwrap(), whole);
    drop(locked);

    fs::write(&path, &torn).unwrap();
    let server = Mem::new(c.headers.clone());
    let r = sync(&path, &server).unwrap();
    assert_eq!((r.trimmed_bytes, r.appended), (37, 0));
    assert_eq!(fs::read(&path).unwrap(), whole);
}

#[test]
fn a_heavier_branch_replaces_the_files_after_the_fork() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(30);
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    // The server replaced heights 25 to 30 and mined three more on top.
    let branch = extended(fork(&c, 25, 1), 3);
    assert_ne!(branch[25], c.headers[25]);
    let server = Mem::new(branch.clone());
    let r = sync(&path, &server).unwrap();
    assert_eq!(r.fork_height, Some(24));
    assert_eq!(r.rolled_back, 6);
    assert_eq!(r.appended, 9);
    assert_eq!(r.file.tip_height(), 33);
    assert_eq!(fs::read(&path).unwrap(), bytes(&branch));
}

#[test]
fn a_branch_with_no_more_work_leaves_the_file_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(30);
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    let before = fs::read(&path).unwrap();
    // As long as the file's branch (regtest blocks all have the same work),
    // and shorter.
    for branch in [fork(&c, 25, 1), fork(&c, 25, 1)[..29].to_vec()] {
        let server = Mem::new(branch);
        let e = sync(&path, &server).unwrap_err();
        assert!(matches!(e, SyncError::NoMoreWork { fork: 24, .. }), "{e:?}");
        assert_eq!(e.kind(), SyncErrorKind::Server);
        assert_eq!(
            e.to_string(),
            "Electrum server mem://test follows a branch that forks from the file's chain \
             after height 24 with no more work than the file's; the file is kept"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
    }
}

#[test]
fn an_invalid_header_from_the_server_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = regtest_chain(2100);
    // Regtest blocks keep the genesis block's bits.
    c.headers[2050].bits = CompactTarget::from_consensus(0x1d00_ffff);
    let path = write_headers(dir.path(), "h.bin", &c.headers[..11]);
    let server = Mem::new(c.headers.clone());
    let e = sync(&path, &server).unwrap_err();
    let SyncError::BadHeader { source, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(source.height(), Some(2050));
    assert_eq!(e.kind(), SyncErrorKind::Server);
    assert!(with_sources(&e).starts_with(
        "Electrum server mem://test sent a header that fails validation: header at height 2050"
    ));
    // The first batch (2016 headers) was validated and written; nothing
    // of the second.
    assert_eq!(fs::read(&path).unwrap(), bytes(&c.headers[..11 + 2016]));
    assert_eq!(HeadersFile::open(&path, RT).unwrap().tip_height(), 2026);
}

#[test]
fn a_failing_server_leaves_the_file_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(5);
    let path = write_headers(dir.path(), "h.bin", &c.headers);
    let e = sync(&path, &Down).unwrap_err();
    assert!(matches!(e, SyncError::Server(_)), "{e:?}");
    assert_eq!(fs::read(&path).unwrap(), c.headers_file_bytes());
}

#[test]
fn an_invalid_file_is_refused_before_the_server_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = regtest_chain(10);
    c.headers[4].prev_blockhash = c.headers[1].block_hash();
    let path = write_headers(dir.path(), "bad.bin", &c.headers);
    let before = fs::read(&path).unwrap();
    let server = Mem::new(regtest_chain(20).headers);
    let e = sync(&path, &server).unwrap_err();
    assert_eq!(e.kind(), SyncErrorKind::InvalidFile);
    let SyncError::InvalidFile(HeaderSourceError::Invalid { error, .. }) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(error.kind(), "not-linked");
    assert!(e.to_string().contains("does not link"), "{e}");
    assert_eq!(server.asked.get(), 0);
    assert_eq!(fs::read(&path).unwrap(), before);
    // A file of another network's headers too.
    let bitcoin = btc_anchor::bitcoin::constants::genesis_block(Network::Bitcoin).header;
    let other = write_headers(dir.path(), "bitcoin.bin", &[bitcoin]);
    let e = sync(&other, &server).unwrap_err();
    assert_eq!(e.kind(), SyncErrorKind::InvalidFile);
    assert_eq!(server.asked.get(), 0);
}

#[test]
fn a_locked_file_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let c = regtest_chain(10);
    let path = write_headers(dir.path(), "h.bin", &c.headers[..6]);
    let server = Mem::new(c.headers.clone());
    let held = LockedHeadersFile::open(&path, RT).unwrap();
    let e = sync(&path, &server).unwrap_err();
    assert!(
        matches!(&e, SyncError::Busy { path: p } if p == &path),
        "{e:?}"
    );
    assert_eq!(e.kind(), SyncErrorKind::Busy);
    assert_eq!(server.asked.get(), 0);
    assert_eq!(fs::read(&path).unwrap(), bytes(&c.headers[..6]));
    // Once the lock is released, the sync goes on.
    drop(held);
    assert_eq!(sync(&path, &server).unwrap().appended, 5);
}

#[test]
fn a_folder_is_not_a_headers_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = sync(dir.path(), &Down).unwrap_err();
    assert!(matches!(e, SyncError::Folder { .. }), "{e:?}");
    assert_eq!(e.kind(), SyncErrorKind::Io);
    assert!(e.to_string().ends_with(": it is a folder"), "{e}");
}

#[test]
fn two_step_sync_checks_the_file_then_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.bin");
    let locked = LockedHeadersFile::open(&path, RT).unwrap();
    assert!(locked.created());
    assert_eq!(locked.path(), path);
    let server = Mem::new(regtest_chain(4).headers);
    let r = locked.sync(&server, &mut |_| {}).unwrap();
    assert!(r.created);
    assert_eq!(r.appended, 5);
    assert_eq!(fs::read(&path).unwrap(), server.bytes());
}
