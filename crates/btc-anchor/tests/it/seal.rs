//! Sealing over synthetic regtest chains (`tests/support/chain.rs`): a
//! header source over an in-memory chain, proofs anchored in it, and
//! sources that disagree with them.

use btc_anchor::bitcoin::block::Header;
use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{BlockHash, Network};
use btc_anchor::checkpoints::{Checkpoint, Checkpoints, EPOCH_BLOCKS};
use btc_anchor::headers::{EmbeddedOnly, HeaderSource, HeaderSourceError, SourceKind};
use btc_anchor::proof::{Proof, Stage};
use btc_anchor::seal::{is_sealed, seal, SealError, Sealed};
use btc_anchor::verify::{verify, Evidence, Verdict, VerifyError, VerifyOptions};
use btc_anchor_testenv::chain::{fork, Chain};

const RT: Network = Network::Regtest;

/// A header source over an in-memory chain.
struct VecSource(Vec<Header>);

impl HeaderSource for VecSource {
    fn kind(&self) -> SourceKind {
        SourceKind::HeadersFile("memory".into())
    }
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        Ok(self.0.get(height as usize).copied())
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        Ok((self.0.len() as u32).checked_sub(1))
    }
}

/// A chain with a batch anchored at `height`, `after` blocks mined on top,
/// and record 0's proof carrying `carried` of them.
fn anchored(height: u32, after: u32, carried: usize) -> (Chain, Proof) {
    btc_anchor_testenv::chain::anchored(RT, height, after, carried)
}

fn headers_after(p: &Proof) -> &[Header] {
    &p.anchor
        .as_ref()
        .unwrap()
        .block
        .as_ref()
        .unwrap()
        .headers_after
}

fn with_height(p: &Proof, height: u32) -> Proof {
    let mut p = p.clone();
    p.anchor.as_mut().unwrap().block.as_mut().unwrap().height = height;
    p
}

fn table(chain: &Chain) -> Checkpoints {
    Checkpoints::from_headers(RT, &chain.headers, false)
}

fn options(chain: &Chain) -> VerifyOptions {
    VerifyOptions::new(RT).with_checkpoints(table(chain))
}

#[test]
fn open_epoch_says_how_far_to_go_then_seals_once_closed() {
    let (chain, proof) = anchored(1000, 500, 6);
    let source = VecSource(chain.headers.clone());
    let opts = options(&chain);
    match seal(&proof, &source, &opts).unwrap() {
        Sealed::EpochOpen {
            epoch,
            epoch_end,
            tip,
            blocks_to_go,
        } => {
            assert_eq!((epoch, epoch_end, tip), (0, 2015, 1500));
            assert_eq!(blocks_to_go, 515);
        }
        other => panic!("{other:?}"),
    }
    assert!(!is_sealed(&proof));

    // The epoch closes (and the chain goes on past it).
    let (chain, proof) = anchored(1000, 1030, 6);
    let source = VecSource(chain.headers.clone());
    let opts = options(&chain);
    let sealed = seal(&proof, &source, &opts).unwrap();
    assert!(sealed.changed());
    let Sealed::Extended {
        proof: sealed_proof,
        added,
        epoch,
        epoch_end,
        report,
    } = sealed
    else {
        panic!("not extended");
    };
    assert_eq!((added, epoch, epoch_end), (2015 - 1000 - 6, 0, 2015));
    let after = headers_after(&sealed_proof);
    assert_eq!(after.len(), 1015);
    // The carried headers are kept, the last one is the epoch's last block.
    assert_eq!(&after[..6], headers_after(&proof));
    assert_eq!(after.last(), Some(&chain.headers[2015]));
    assert!(is_sealed(&sealed_proof));
    // It verifies offline against the chain's own table, linked to its
    // checkpoint.
    assert_eq!(report.verdict, Verdict::Valid);
    let block = report.block.as_ref().unwrap();
    assert_eq!(block.checkpoint_epoch, Some(0));
    assert!(block.height_checked);
    assert!(
        matches!(
            report.evidence,
            Some(Evidence::Checkpoint {
                epoch: 0,
                height: 2015
            })
        ),
        "{:?}",
        report.evidence
    );
    let fresh = verify(
        &sealed_proof,
        &sealed_proof.record.digest,
        &EmbeddedOnly,
        &opts,
    )
    .unwrap();
    assert_eq!(fresh, *report);
    // The proof file is still within the format's limits.
    let json = sealed_proof.to_json();
    assert!(
        json.len() < btc_anchor::proof::MAX_PROOF_BYTES,
        "{}",
        json.len()
    );
    assert_eq!(Proof::from_json(json.as_bytes()).unwrap(), *sealed_proof);

    // Sealing again changes nothing.
    match seal(&sealed_proof, &source, &opts).unwrap() {
        Sealed::AlreadySealed {
            epoch_end, report, ..
        } => {
            assert_eq!(epoch_end, 2015);
            assert_eq!(report.verdict, Verdict::Valid);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_proof_without_headers_and_one_at_the_epoch_end() {
    // No headers carried at all: every one comes from the source.
    let (chain, proof) = anchored(2010, 10, 0);
    let sealed = seal(&proof, &VecSource(chain.headers.clone()), &options(&chain)).unwrap();
    let Sealed::Extended {
        proof: p, added, ..
    } = &sealed
    else {
        panic!("{sealed:?}");
    };
    assert_eq!(*added, 5);
    assert_eq!(headers_after(p), &chain.headers[2011..=2015]);

    // The block is the epoch's last: sealed as it is, and its own header
    // meets the checkpoint.
    let (chain, proof) = anchored(2015, 3, 1);
    let opts = options(&chain);
    let s = seal(&proof, &VecSource(chain.headers.clone()), &opts).unwrap();
    assert!(
        matches!(
            s,
            Sealed::AlreadySealed {
                epoch: 0,
                epoch_end: 2015,
                ..
            }
        ),
        "{s:?}"
    );
    assert_eq!(
        s.report().unwrap().block.as_ref().unwrap().checkpoint_epoch,
        Some(0)
    );

    // A proof carrying past its epoch's end is sealed already too.
    let (chain, proof) = anchored(2000, 40, 30);
    let s = seal(&proof, &VecSource(chain.headers.clone()), &options(&chain)).unwrap();
    assert!(matches!(s, Sealed::AlreadySealed { .. }), "{s:?}");
    assert!(!s.changed());

    // The second epoch.
    let (chain, proof) = anchored(EPOCH_BLOCKS + 7, EPOCH_BLOCKS, 2);
    let s = seal(&proof, &VecSource(chain.headers.clone()), &options(&chain)).unwrap();
    let Sealed::Extended {
        epoch,
        epoch_end,
        report,
        ..
    } = s
    else {
        panic!("{s:?}");
    };
    assert_eq!((epoch, epoch_end), (1, 4031));
    assert_eq!(report.block.as_ref().unwrap().checkpoint_epoch, Some(1));
}

#[test]
fn edited_heights_and_altered_checkpoints_fail() {
    let (chain, proof) = anchored(1500, 600, 6);
    let opts = options(&chain);
    let source = VecSource(chain.headers.clone());
    let sealed = seal(&proof, &source, &opts).unwrap();
    let sealed = sealed.proof().unwrap().clone();
    let digest = sealed.record.digest;

    // One higher: the header at the checkpoint's height is the block
    // before it.
    let up = with_height(&sealed, 1501);
    let e = verify(&up, &digest, &EmbeddedOnly, &opts).unwrap_err();
    assert_eq!(e.kind(), "checkpoint-mismatch", "{e}");

    // One lower: the headers stop one short of the checkpoint, so nothing
    // places the block (a test network's verdict is valid, but not on a
    // checkpoint and with its height unchecked); a header source catches
    // the edit, and so does sealing.
    let down = with_height(&sealed, 1499);
    let r = verify(&down, &digest, &EmbeddedOnly, &opts).unwrap();
    let block = r.block.as_ref().unwrap();
    assert_eq!(block.checkpoint_epoch, None);
    assert!(!block.height_checked);
    assert!(!matches!(r.evidence, Some(Evidence::Checkpoint { .. })));
    let e = verify(&down, &digest, &source, &opts).unwrap_err();
    assert!(
        matches!(e, VerifyError::NotInChain { height: 1499, .. }),
        "{e}"
    );
    let e = seal(&down, &source, &opts).unwrap_err();
    assert!(
        matches!(e, SealError::NotInChain { height: 1499, .. }),
        "{e}"
    );

    // A table whose checkpoint names another block.
    let mut entries = table(&chain).entries().to_vec();
    entries[0] = Checkpoint {
        hash: BlockHash::from_byte_array([7; 32]),
        next_bits: None,
    };
    let forged = VerifyOptions::new(RT).with_checkpoints(Checkpoints::new(RT, entries));
    let e = verify(&sealed, &digest, &EmbeddedOnly, &forged).unwrap_err();
    assert_eq!(e.kind(), "checkpoint-mismatch", "{e}");
    // And sealing under that table refuses to hand the proof back.
    let e = seal(&proof, &source, &forged).unwrap_err();
    assert!(
        matches!(e, SealError::Verify(ref v) if v.kind() == "checkpoint-mismatch"),
        "{e}"
    );
    assert_eq!(e.to_string(), "the sealed proof does not verify");
}

#[test]
fn sources_that_disagree_are_refused() {
    let (chain, proof) = anchored(1200, 900, 6);
    let opts = options(&chain);

    // Another block at the proof's height.
    let other = fork(&chain, 1200, 1);
    let e = seal(&proof, &VecSource(other), &opts).unwrap_err();
    assert!(
        matches!(e, SealError::NotInChain { height: 1200, .. }),
        "{e}"
    );
    assert_eq!(e.kind(), "not-in-chain");

    // The block, but another header among those the proof carries.
    let other = fork(&chain, 1204, 1);
    let e = seal(&proof, &VecSource(other), &opts).unwrap_err();
    assert!(
        matches!(e, SealError::HeaderMismatch { height: 1204, .. }),
        "{e}"
    );

    // Headers past the carried ones that do not link.
    let mut broken = chain.headers.clone();
    broken[1500].prev_blockhash = BlockHash::from_byte_array([1; 32]);
    let e = seal(&proof, &VecSource(broken), &opts).unwrap_err();
    assert!(
        matches!(e, SealError::NotLinked { height: 1500, .. }),
        "{e}"
    );

    // Headers that link and meet their work, but break a chain rule (time
    // running backwards past the median of the 11 before).
    let backwards = fork(&chain, 1300, -3000);
    let e = seal(&proof, &VecSource(backwards), &opts).unwrap_err();
    match &e {
        SealError::Verify(v) => assert_eq!(v.kind(), "time-too-early", "{v}"),
        other => panic!("{other}"),
    }
    assert!(std::error::Error::source(&e).is_some());

    // A source that stops short of its own tip.
    struct Liar(Vec<Header>);
    impl HeaderSource for Liar {
        fn kind(&self) -> SourceKind {
            SourceKind::EmbeddedOnly
        }
        fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
            Ok(self
                .0
                .get(height as usize)
                .copied()
                .filter(|_| height < 1800))
        }
        fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
            Ok(Some(self.0.len() as u32 - 1))
        }
    }
    let e = seal(&proof, &Liar(chain.headers.clone()), &opts).unwrap_err();
    assert!(
        matches!(
            e,
            SealError::ShortRange {
                start: 1200,
                expected: 816,
                found: 600
            }
        ),
        "{e}"
    );

    // A source behind the proof, and one that knows nothing.
    let e = seal(&proof, &VecSource(chain.headers[..1100].to_vec()), &opts).unwrap_err();
    assert!(
        matches!(
            e,
            SealError::SourceTooShort {
                height: 1200,
                tip: 1099
            }
        ),
        "{e}"
    );
    let e = seal(&proof, &EmbeddedOnly, &opts).unwrap_err();
    assert!(matches!(e, SealError::NoChain), "{e}");
}

#[test]
fn only_complete_proofs_on_the_right_network() {
    let (chain, proof) = anchored(100, 10, 2);
    let source = VecSource(chain.headers.clone());
    let mut broadcast = proof.clone();
    broadcast.anchor.as_mut().unwrap().block = None;
    let e = seal(&broadcast, &source, &options(&chain)).unwrap_err();
    assert!(
        matches!(
            e,
            SealError::NotConfirmed {
                stage: Stage::Broadcast
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "a broadcast proof has no block to seal; only a complete (confirmed) proof can be sealed"
    );
    let e = seal(&proof, &source, &VerifyOptions::new(Network::Signet)).unwrap_err();
    assert!(matches!(e, SealError::WrongNetwork { .. }), "{e}");
    // Before the epoch closes, the source is still held to the proof.
    let mut bad = proof.clone();
    bad.anchor
        .as_mut()
        .unwrap()
        .block
        .as_mut()
        .unwrap()
        .headers_after[1] = chain.headers[50];
    let e = seal(&bad, &source, &options(&chain)).unwrap_err();
    assert!(
        matches!(e, SealError::HeaderMismatch { height: 102, .. }),
        "{e}"
    );
}
