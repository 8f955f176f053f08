//! Checkpoints: byte-exact parse and format, and signed checkpoints.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor::merkle::NodeHash;
use btc_anchor_log::checkpoint::{Checkpoint, CheckpointError, OpenError};
use btc_anchor_log::note::Verifier;
use proptest::prelude::*;

use crate::{log_signer, other_signer, outcome, ORIGIN};

/// The example text of C2SP tlog-checkpoint.
const SPEC_TEXT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn spec_example_round_trips() {
    let cp = Checkpoint::parse(SPEC_TEXT).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_text().unwrap(), SPEC_TEXT);
}

#[test]
fn non_canonical_texts_are_refused() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let e = |t: &str| outcome(&Checkpoint::parse(t).unwrap_err());
    assert_eq!(e(&format!("o\n020\n{root}\n")), "bad-size");
    assert_eq!(e(&format!("o\n00\n{root}\n")), "bad-size");
    assert_eq!(e(&format!("o\n+20\n{root}\n")), "bad-size");
    assert_eq!(e(&format!("o\n-1\n{root}\n")), "bad-size");
    assert_eq!(e(&format!("o\n 20\n{root}\n")), "bad-size");
    assert_eq!(e(&format!("o\n4294967297\n{root}\n")), "bad-size");
    assert_eq!(
        e(&format!("o\n99999999999999999999999\n{root}\n")),
        "bad-size"
    );
    assert_eq!(e(&format!("o\n20\n{root}")), "lines");
    assert_eq!(e(&format!("o\n20\n{root}\n\n")), "bad-extension");
    assert_eq!(e(&format!("\n20\n{root}\n")), "bad-origin");
    assert_eq!(e(&format!("o\r\n20\n{root}\n")), "bad-origin");
    assert_eq!(e("o\n20\n"), "too-few-lines");
    assert_eq!(e(&format!("o\n20\n{}\n", &root[..43])), "bad-root");
    assert_eq!(
        e("o\n20\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n"),
        "bad-root"
    );
    assert_eq!(
        e(&format!("o\n20\n{}\n", BASE64.encode([0u8; 31]))),
        "bad-root"
    );
    assert_eq!(
        e(&format!("o\n20\n{}\n", BASE64.encode([0u8; 33]))),
        "bad-root"
    );
    let many: String = (0..17).map(|i| format!("ext {i}\n")).collect();
    assert_eq!(e(&format!("o\n20\n{root}\n{many}")), "too-many-extensions");
    // Size zero is the empty tree; extension lines are kept.
    let cp = Checkpoint::parse(&format!("o\n0\n{root}\nan extension\n")).unwrap();
    assert_eq!(cp.size, 0);
    assert_eq!(cp.extensions, vec!["an extension".to_owned()]);
    assert_eq!(
        Checkpoint {
            extensions: vec![String::new()],
            ..cp
        }
        .to_text(),
        Err(CheckpointError::BadExtension { line: 1 })
    );
}

#[test]
fn signed_checkpoints_open_only_with_the_log_key_and_origin() {
    let s = log_signer();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: 3,
        root: NodeHash([7; 32]),
        extensions: vec![],
    };
    let note = cp.sign(&[&s, &other_signer()]).unwrap().to_text();
    assert_eq!(
        Checkpoint::open(note.as_bytes(), ORIGIN, &[s.verifier()]).unwrap(),
        cp
    );
    assert!(matches!(
        Checkpoint::open(note.as_bytes(), "other.example/log", &[s.verifier()]),
        Err(OpenError::Origin { .. })
    ));
    let stranger = Verifier::parse(crate::note::SPEC_VKEY).unwrap();
    assert_eq!(
        outcome(&Checkpoint::open(note.as_bytes(), ORIGIN, &[stranger]).unwrap_err()),
        "no-known-signature"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(origin in "[a-z0-9./-]{1,40}", size in 0u64..=(1 << 32), root in any::<[u8; 32]>(),
                  exts in proptest::collection::vec("[ -~]{1,30}", 0..4)) {
        let cp = Checkpoint { origin, size, root: NodeHash(root), extensions: exts };
        let text = cp.to_text().unwrap();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,200}") {
        let _ = Checkpoint::parse(&s);
    }
}
