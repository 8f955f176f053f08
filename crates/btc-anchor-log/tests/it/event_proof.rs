//! Event proofs that reach Bitcoin (`docs/audit-log.md` §15): written by
//! the log's writer from an anchored checkpoint, read back byte for byte,
//! and verified offline; every step's failure.

use btc_anchor::bitcoin::Network;
use btc_anchor::verification::{Headers, Outcome};
use btc_anchor::verify::VerifyOptions;
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::entry::Entry;
use btc_anchor_log::event_proof::{
    is_event_proof, EventProof, EventProofError, EventProofVerifyError,
};
use btc_anchor_log::note::Signer;
use btc_anchor_log::proof::{Opening, TlogProof};
use btc_anchor_log::store::TileStore;
use btc_anchor_log::writer::LogWriter;

use crate::{anchor_proof, event, log_signer, other_signer, outcome, salt, ORIGIN};

/// The event proof of entry `index` of a deterministic log of `n` events,
/// proved in the checkpoint of `first` entries and anchored with the
/// checkpoint of `n` entries (`disclose`: with its opening).
pub fn event_proof(
    dir: &std::path::Path,
    n: u64,
    first: u64,
    index: u64,
    disclose: bool,
) -> EventProof {
    let mut openings: Vec<Opening> = Vec::new();
    for i in 0..n {
        let prev = openings
            .iter()
            .rev()
            .find(|o| o.event.record == event(i, None).record)
            .map(|o| o.entry());
        openings.push(Opening::new(event(i, prev), salt(&format!("entry salt {i}"))).unwrap());
    }
    let entries: Vec<Entry> = openings.iter().map(Opening::entry).collect();
    let store = TileStore::new(dir);
    store.write(&entries[..first as usize], 0).unwrap();
    store.write(&entries, first).unwrap();
    let key = log_signer();
    let signed = |size: u64| {
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: store.reader(size).unwrap().root().unwrap(),
            extensions: vec![],
        }
        .sign(&[&key])
        .unwrap()
    };
    let anchored = signed(n).to_text().into_bytes();
    EventProof {
        vkey: key.verifier(),
        entry: entries[index as usize],
        inclusion: TlogProof {
            extra: disclose.then(|| openings[index as usize].to_bytes()),
            index,
            path: store.reader(first).unwrap().inclusion_proof(index).unwrap(),
            checkpoint: signed(first),
        },
        consistency: if first == n {
            vec![]
        } else {
            store.reader(n).unwrap().consistency_proof(first).unwrap()
        },
        anchor: anchor_proof(&anchored, 5),
        anchored,
    }
}

fn regtest() -> VerifyOptions {
    VerifyOptions::new(Network::Regtest)
}

#[test]
fn event_proofs_round_trip_and_verify_to_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let proof = event_proof(dir.path(), 37, 21, 20, true);
    let bytes = proof.to_bytes();
    assert!(is_event_proof(&bytes));
    assert!(bytes.starts_with(b"btc-anchor/event-proof@v1\nvkey clinic.example/audit+"));
    let parsed = EventProof::parse(&bytes).unwrap();
    assert_eq!(parsed, proof);
    assert_eq!(parsed.to_bytes(), bytes);
    let v = parsed
        .verify(&log_signer().verifier(), Headers::ProofOnly, &regtest())
        .unwrap();
    assert_eq!((v.index, v.checkpoint.size, v.anchored.size), (20, 21, 37));
    assert_eq!(v.anchor.outcome(), Outcome::Valid);
    assert_eq!(v.anchor.block_height(), Some(1));
    assert_eq!(v.event.unwrap().kind, event(20, None).kind);

    // Undisclosed, and proved in the anchored checkpoint itself.
    let plain = event_proof(dir.path(), 37, 37, 3, false);
    let v = EventProof::parse(&plain.to_bytes())
        .unwrap()
        .verify(&log_signer().verifier(), Headers::ProofOnly, &regtest())
        .unwrap();
    assert!(v.event.is_none() && plain.consistency.is_empty());
    assert_eq!(v.anchor.outcome(), Outcome::Valid);

    // On another network the anchor says so.
    let v = proof
        .verify(
            &log_signer().verifier(),
            Headers::ProofOnly,
            &VerifyOptions::new(Network::Bitcoin),
        )
        .unwrap();
    assert_eq!(v.anchor.outcome(), Outcome::WrongNetwork);
}

#[test]
fn every_cut_and_every_flipped_byte_is_refused_or_fails() {
    let dir = tempfile::tempdir().unwrap();
    let proof = event_proof(dir.path(), 37, 21, 20, true);
    let bytes = proof.to_bytes();
    let key = log_signer().verifier();
    for cut in 0..bytes.len() {
        assert!(
            EventProof::parse(&bytes[..cut]).is_err(),
            "a proof cut at {cut} parsed"
        );
    }
    // A flipped byte in what the log proves (everything before the anchor
    // proof, whose own bytes the core's vectors cover): refused, or a
    // verdict other than valid. Only the vkey line, which is not used when
    // the key is given, may flip and stay valid.
    let vkey_line = 26 + bytes[26..].iter().position(|&c| c == b'\n').unwrap();
    let anchor_at = bytes.len() - proof.anchor.len();
    for at in vkey_line + 1..anchor_at {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        let Ok(p) = EventProof::parse(&b) else {
            continue;
        };
        let valid = p
            .verify(&key, Headers::ProofOnly, &regtest())
            .is_ok_and(|v| v.anchor.outcome() == Outcome::Valid);
        assert!(!valid, "flipping byte {at} kept the proof valid");
    }
    assert!(matches!(
        EventProof::parse(&[bytes.as_slice(), b"x".as_slice()].concat()),
        Err(EventProofError::TrailingBytes { found: 1 })
    ));
    assert!(matches!(
        EventProof::parse(b"c2sp.org/tlog-proof@v1\n"),
        Err(EventProofError::NotEventProof)
    ));
}

#[test]
fn each_step_of_verification_fails_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let proof = event_proof(dir.path(), 37, 21, 20, true);
    let key = log_signer().verifier();
    let check = |p: &EventProof| p.verify(&key, Headers::ProofOnly, &regtest());

    let other = Signer::from_seed(ORIGIN, &crate::derive("another clinic's key")).unwrap();
    let e = proof
        .verify(&other.verifier(), Headers::ProofOnly, &regtest())
        .unwrap_err();
    assert_eq!(outcome(&e), "no-known-signature");

    let mut p = proof.clone();
    p.entry = Entry([9; 32]);
    assert!(matches!(
        check(&p),
        Err(EventProofVerifyError::EntryMismatch)
    ));
    p.inclusion.extra = None;
    assert_eq!(outcome(&check(&p).unwrap_err()), "root-mismatch");

    let mut p = proof.clone();
    p.consistency[0].0[0] ^= 1;
    assert!(matches!(
        check(&p),
        Err(EventProofVerifyError::Consistency(_))
    ));

    let mut p2 = proof.clone();
    p2.anchored = proof.inclusion.checkpoint.to_text().into_bytes();
    p2.consistency = vec![];
    // Anchored with the very checkpoint of the entry: consistent, but the
    // anchor proof is of the checkpoint of 37.
    let v = check(&p2).unwrap();
    assert_eq!(v.anchor.reason(), Some("digest-mismatch"));

    let mut p = proof.clone();
    p.anchored = event_proof(dir.path(), 37, 20, 19, true)
        .inclusion
        .checkpoint
        .to_text()
        .into_bytes();
    assert!(matches!(
        check(&p),
        Err(EventProofVerifyError::AnchoredSmaller {
            checkpoint: 21,
            anchored: 20
        })
    ));

    let mut p = proof.clone();
    p.anchored = Checkpoint::parse(
        std::str::from_utf8(&proof.anchored)
            .unwrap()
            .split_once("\n\n")
            .map(|(t, _)| format!("{t}\n"))
            .unwrap()
            .as_str(),
    )
    .unwrap()
    .sign(&[&other_signer()])
    .unwrap()
    .to_text()
    .into_bytes();
    assert!(matches!(
        check(&p),
        Err(EventProofVerifyError::AnchoredCheckpoint(_))
    ));
}

#[test]
fn the_writer_proves_events_with_the_first_anchored_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = LogWriter::create(&dir, log_signer()).unwrap();
    log.append((0..5).map(|i| event(i, None)).collect())
        .unwrap();
    log.checkpoint().unwrap();
    log.append((5..9).map(|i| event(i, None)).collect())
        .unwrap();
    log.checkpoint().unwrap();
    log.append((9..12).map(|i| event(i, None)).collect())
        .unwrap();
    log.checkpoint().unwrap();
    // Nothing anchored yet.
    assert!(log.prove_anchored(2, true).unwrap().is_none());
    let history = dir.join("public/checkpoints");
    // A pending anchor does not count; a complete one does.
    let pending = {
        let c9 = std::fs::read(history.join("9")).unwrap();
        let mut p = btc_anchor::proof::Proof::from_json(&anchor_proof(&c9, 3)).unwrap();
        p.anchor = None;
        p.to_json()
    };
    std::fs::write(history.join("9.anchor.json"), pending).unwrap();
    assert!(log.prove_anchored(2, true).unwrap().is_none());
    let c12 = std::fs::read(history.join("12")).unwrap();
    std::fs::write(history.join("12.anchor.json"), anchor_proof(&c12, 4)).unwrap();
    let p = log.prove_anchored(2, true).unwrap().unwrap();
    assert_eq!(p.anchored, c12);
    let v = p
        .verify(&log.verifier(), Headers::ProofOnly, &regtest())
        .unwrap();
    assert_eq!((v.index, v.checkpoint.size, v.anchored.size), (2, 5, 12));
    assert_eq!(v.anchor.outcome(), Outcome::Valid);
    // An entry after the checkpoint of 9: proved in the checkpoint of 12.
    let p = log.prove_anchored(10, false).unwrap().unwrap();
    let v = EventProof::parse(&p.to_bytes())
        .unwrap()
        .verify(&log.verifier(), Headers::ProofOnly, &regtest())
        .unwrap();
    assert_eq!((v.checkpoint.size, v.anchored.size), (12, 12));
    assert!(v.event.is_none());
    // Once the checkpoint of 9 is anchored too, it is the first.
    let c9 = std::fs::read(history.join("9")).unwrap();
    std::fs::write(history.join("9.anchor.json"), anchor_proof(&c9, 3)).unwrap();
    let p = log.prove_anchored(6, true).unwrap().unwrap();
    assert_eq!(p.anchored, c9);
    assert!(log.prove_anchored(12, true).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn the_parser_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let mut prefixed = b"btc-anchor/event-proof@v1\nvkey ".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = EventProof::parse(&bytes);
        let _ = EventProof::parse(&prefixed);
    }

    #[test]
    fn cut_and_spliced_proofs_never_panic(cut in proptest::prelude::any::<proptest::sample::Index>(),
                                          junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = event_proof(dir.path(), 9, 5, 3, true).to_bytes();
        let at = cut.index(bytes.len());
        let spliced = [&bytes[..at], junk.as_slice(), &bytes[at..]].concat();
        if let Ok(p) = EventProof::parse(&spliced) {
            let _ = p.verify(&log_signer().verifier(), Headers::ProofOnly, &regtest());
        }
    }
}
