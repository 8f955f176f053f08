//! Cosignatures (C2SP tlog-cosignature, `cosignature/v1`) and the
//! witness's add-checkpoint checks (C2SP tlog-witness).

use btc_anchor::merkle::{NodeHash, Tree};
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::cosignature::{
    signature_base64, signed_message, CosignatureError, CosignatureVerifier, Cosigner,
};
use btc_anchor_log::note::{KeyError, KeyId, Note, NoteSignature, Signer};
use btc_anchor_log::store::empty_root;
use btc_anchor_log::witness::{check, open_request, AddCheckpoint, Refusal, RequestError};
use sha2::{Digest as _, Sha256};

/// The checkpoint of the tlog-cosignature spec's example.
const SPEC_TEXT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn the_signed_message_is_the_spec_example() {
    assert_eq!(
        signed_message(SPEC_TEXT, 1679315147),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

#[test]
fn a_fixed_cosignature_vector() {
    // A regression vector (the spec gives no witness key to check its
    // example line): a fixed seed, name and time.
    let c = Cosigner::from_seed("witness.example/w1", &[1; 32]).unwrap();
    let v = c.verifier();
    // Key ID: SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4].
    let mut h = Sha256::new();
    h.update(b"witness.example/w1\n\x04");
    h.update(
        ed25519_dalek::SigningKey::from_bytes(&[1; 32])
            .verifying_key()
            .to_bytes(),
    );
    let d = h.finalize();
    assert_eq!(
        v.key_id(),
        KeyId(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
    );
    let sig = c.cosign(SPEC_TEXT, 1679315147);
    assert_eq!(sig.signature.len(), 72);
    assert_eq!(&sig.signature[..8], &1679315147u64.to_be_bytes());
    let line = sig.to_line();
    assert_eq!(
        line,
        format!("\u{2014} witness.example/w1 {}\n", signature_base64(&sig))
    );
    assert_eq!(line, FIXED_LINE, "the vector changed");
    assert_eq!(v.to_vkey(), FIXED_VKEY);
    let parsed = NoteSignature::parse_line(line.trim_end()).unwrap();
    let v2 = CosignatureVerifier::parse(FIXED_VKEY).unwrap();
    assert_eq!(v2.verify(SPEC_TEXT, &parsed), Ok(1679315147));
    // Round trips of the keys.
    assert_eq!(Cosigner::parse(&c.to_skey()).unwrap().verifier(), v);
}

/// The vector's witness key (seed 32 bytes of 0x01). Its line below was
/// also checked once with OpenSSL's Ed25519 (Python `cryptography`):
/// key ID, timestamp and signature over the `cosignature/v1` message.
const FIXED_VKEY: &str = "witness.example/w1+0ad7d35e+BIqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";
/// Its cosignature of the spec's checkpoint at time 1679315147, the
/// spec example's time (key ID and timestamp take the first 16 base64
/// characters; the spec's line has the same timestamp, `…AABkGFDL`).
const FIXED_LINE: &str = "\u{2014} witness.example/w1 CtfTXgAAAABkGFDL0l0pFwTk9MykvW0AWQ7aj3wlQOPdkH/U6S+pa35ceaScuEzSwKfIeJ7i4Fxp8hH+ardr70qwEBhCA4/FskmwAg==\n";

#[test]
fn cosignatures_that_must_not_verify() {
    let c = Cosigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
    let v = c.verifier();
    let sig = c.cosign(SPEC_TEXT, 1_700_000_000);
    assert_eq!(v.verify(SPEC_TEXT, &sig), Ok(1_700_000_000));
    // Another text.
    let other = SPEC_TEXT.replace("20852163", "20852164");
    assert!(matches!(
        v.verify(&other, &sig),
        Err(CosignatureError::BadSignature { .. })
    ));
    // Another timestamp than the one signed.
    let mut t = sig.clone();
    t.signature[7] ^= 1;
    assert!(matches!(
        v.verify(SPEC_TEXT, &t),
        Err(CosignatureError::BadSignature { .. })
    ));
    // Timestamp zero, or over 2^63 - 1.
    for ts in [0u64, 1 << 63] {
        let mut t = sig.clone();
        t.signature[..8].copy_from_slice(&ts.to_be_bytes());
        assert!(matches!(
            v.verify(SPEC_TEXT, &t),
            Err(CosignatureError::BadTimestamp { .. })
        ));
    }
    // A short signature.
    let mut t = sig.clone();
    t.signature.pop();
    assert!(matches!(
        v.verify(SPEC_TEXT, &t),
        Err(CosignatureError::Length { found: 71 })
    ));
    // Another key of the same name: another key ID, not this witness's.
    let other = Cosigner::from_seed("witness.example/w1", &[3; 32]).unwrap();
    let s = other.cosign(SPEC_TEXT, 1_700_000_000);
    assert!(!v.is_mine(&s));
    assert!(matches!(
        v.verify(SPEC_TEXT, &s),
        Err(CosignatureError::Missing { .. })
    ));
    // A log key (type 0x01) is not a witness key, and the reverse.
    let log = Signer::from_seed("witness.example/w1", &[2; 32]).unwrap();
    assert_eq!(
        CosignatureVerifier::parse(&log.verifier().to_vkey()),
        Err(KeyError::UnsupportedType { found: 0x01 })
    );
    assert!(btc_anchor_log::note::Verifier::parse(&v.to_vkey()).is_err());
    // And a log's verifier ignores the cosignature line in a note.
    let mut note = Note::sign(SPEC_TEXT, &[&log]).unwrap();
    note.push_signature(sig);
    let again = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(again.verify(&[log.verifier()]).unwrap().len(), 1);
}

fn tree(n: u64) -> Tree {
    Tree::new(
        (0..n)
            .map(|i| btc_anchor::merkle::leaf_hash(&i.to_le_bytes()))
            .collect(),
    )
    .unwrap()
}

fn signed(key: &Signer, size: u64, root: NodeHash) -> Vec<u8> {
    Checkpoint {
        origin: key.name().into(),
        size,
        root,
        extensions: vec![],
    }
    .sign(&[key])
    .unwrap()
    .to_text()
    .into_bytes()
}

#[test]
fn add_checkpoint_bodies_parse_canonically_within_limits() {
    let key = Signer::from_seed("clinic.example/audit", &[4; 32]).unwrap();
    let t = tree(10);
    let req = AddCheckpoint {
        old: 4,
        proof: t.consistency_proof(4).unwrap(),
        checkpoint: signed(&key, 10, t.root()),
    };
    let bytes = req.to_bytes();
    assert!(bytes.starts_with(b"old 4\n"));
    assert_eq!(AddCheckpoint::parse(&bytes).unwrap(), req);
    let cp = String::from_utf8(signed(&key, 10, t.root())).unwrap();
    let parse = |s: String| AddCheckpoint::parse(s.as_bytes());
    assert_eq!(parse(format!("old 04\n\n{cp}")), Err(RequestError::BadOld));
    assert_eq!(parse(format!("old -1\n\n{cp}")), Err(RequestError::BadOld));
    assert_eq!(parse(format!("new 4\n\n{cp}")), Err(RequestError::BadOld));
    assert_eq!(
        parse(format!("old 4\n{cp}")),
        Err(RequestError::BadProofLine { line: 1 })
    );
    assert_eq!(parse("old 4\n".into()), Err(RequestError::Shape));
    let line = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
    assert_eq!(
        parse(format!("old 4\n{}\n{cp}", line.repeat(63)))
            .unwrap()
            .proof
            .len(),
        63
    );
    assert_eq!(
        parse(format!("old 4\n{}\n{cp}", line.repeat(64))),
        Err(RequestError::TooManyProofLines)
    );
    let huge = vec![b'a'; btc_anchor_log::witness::MAX_REQUEST_LEN + 1];
    assert!(matches!(
        AddCheckpoint::parse(&huge),
        Err(RequestError::TooLarge { .. })
    ));
}

#[test]
fn the_witness_checks_in_the_spec_order() {
    let key = Signer::from_seed("clinic.example/audit", &[4; 32]).unwrap();
    let logs = [key.verifier()];
    let (t4, t10) = (tree(4), tree(10));
    let body = |old: u64, proof: Vec<NodeHash>, cp: Vec<u8>| {
        AddCheckpoint {
            old,
            proof,
            checkpoint: cp,
        }
        .to_bytes()
    };
    let open = |b: Vec<u8>| open_request(&b, &logs);
    // First: cosigned from nothing.
    let o = open(body(0, vec![], signed(&key, 4, t4.root()))).unwrap();
    assert_eq!(check(&o, None), Ok(()));
    // Then consistent from 4 to 10.
    let o = open(body(
        4,
        t10.consistency_proof(4).unwrap(),
        signed(&key, 10, t10.root()),
    ))
    .unwrap();
    assert_eq!(check(&o, Some((4, t4.root()))), Ok(()));
    // A stale old size: 409 with the witness's.
    assert_eq!(
        check(&o, Some((7, t4.root()))),
        Err(Refusal::Conflict { size: 7 })
    );
    assert_eq!(check(&o, None), Err(Refusal::Conflict { size: 0 }));
    // A proof that fails, a fork at the same size.
    let o = open(body(
        4,
        t10.consistency_proof(5).unwrap(),
        signed(&key, 10, t10.root()),
    ))
    .unwrap();
    assert!(matches!(
        check(&o, Some((4, t4.root()))),
        Err(Refusal::Inconsistent { .. })
    ));
    let o = open(body(10, vec![], signed(&key, 10, t4.root()))).unwrap();
    assert!(matches!(
        check(&o, Some((10, t10.root()))),
        Err(Refusal::Inconsistent { .. })
    ));
    // A proof from zero, and the empty tree's root.
    let o = open(body(
        0,
        t10.consistency_proof(4).unwrap(),
        signed(&key, 10, t10.root()),
    ))
    .unwrap();
    assert!(matches!(check(&o, None), Err(Refusal::Inconsistent { .. })));
    let o = open(body(0, vec![], signed(&key, 0, t4.root()))).unwrap();
    assert!(matches!(check(&o, None), Err(Refusal::Inconsistent { .. })));
    let o = open(body(0, vec![], signed(&key, 0, empty_root()))).unwrap();
    assert_eq!(check(&o, None), Ok(()));
    // Unknown log, wrong key, old over size, malformed.
    let stranger = Signer::from_seed("other.example/log", &[5; 32]).unwrap();
    let e = open(body(0, vec![], signed(&stranger, 4, t4.root()))).unwrap_err();
    assert_eq!(e.status(), 404);
    let impostor = Signer::from_seed("clinic.example/audit", &[6; 32]).unwrap();
    let e = open(body(0, vec![], signed(&impostor, 4, t4.root()))).unwrap_err();
    assert_eq!((e.status(), e), (403, Refusal::Forbidden));
    let e = open(body(5, vec![], signed(&key, 4, t4.root()))).unwrap_err();
    assert_eq!(e.status(), 400);
    let e = open(b"old 0\n\nnot a note".to_vec()).unwrap_err();
    assert_eq!(e.status(), 400);
}
