//! Signed notes: the spec's example, round trips, and what must be refused.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor_log::note::{
    KeyError, KeyId, Note, NoteError, Signer, Verifier, VerifyError, MAX_NOTE_LEN, MAX_SIGNATURES,
};
use proptest::prelude::*;

use crate::{log_signer, other_signer, outcome};

/// The example of C2SP signed-note, "Verifier keys", "Example".
pub const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
/// The note that example verifies.
pub const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#[test]
fn spec_example_verifies_and_round_trips() {
    let v = Verifier::parse(SPEC_VKEY).unwrap();
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.key_id(), KeyId(0x530d903a));
    assert_eq!(v.to_vkey(), SPEC_VKEY);
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
    assert_eq!(note.to_text(), SPEC_NOTE);
    let signed = note.verify(std::slice::from_ref(&v)).unwrap();
    assert_eq!(signed.len(), 1);
}

#[test]
fn spec_example_with_a_flipped_text_byte_fails() {
    let v = Verifier::parse(SPEC_VKEY).unwrap();
    let tampered = SPEC_NOTE.replacen("example", "exbmple", 1);
    let note = Note::parse(tampered.as_bytes()).unwrap();
    assert!(matches!(
        note.verify(&[v]),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[test]
fn sign_then_verify_and_key_strings_round_trip() {
    let s = log_signer();
    let skey = s.to_skey();
    assert!(skey.starts_with("PRIVATE+KEY+clinic.example/audit+"));
    let back = Signer::parse(&skey).unwrap();
    assert_eq!(back.key_id(), s.key_id());
    let v = Verifier::parse(&s.verifier().to_vkey()).unwrap();
    assert_eq!(v, s.verifier());
    let note = Note::sign("hello\nworld\n", &[&s, &other_signer()]).unwrap();
    let text = note.to_text();
    let parsed = Note::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, note);
    assert_eq!(parsed.verify(std::slice::from_ref(&v)).unwrap().len(), 1);
    // Ed25519 is deterministic: the same text gives the same note.
    assert_eq!(
        Note::sign("hello\nworld\n", &[&s, &other_signer()]).unwrap(),
        note
    );
    assert_eq!(
        format!("{s:?}"),
        format!("Signer({}+{})", s.name(), s.key_id())
    );
}

#[test]
fn unknown_keys_are_ignored_but_one_known_signature_is_needed() {
    let s = log_signer();
    let w = other_signer();
    let note = Note::sign("text\n", &[&w, &s]).unwrap();
    // Only the log's key is known: the witness's signature is ignored.
    assert_eq!(note.verify(&[s.verifier()]).unwrap().len(), 1);
    // Only an unknown key signed.
    let only_w = Note::sign("text\n", &[&w]).unwrap();
    assert_eq!(
        only_w.verify(&[s.verifier()]),
        Err(VerifyError::NoKnownSignature)
    );
    // Same name, other key: another key (other ID), so ignored.
    let impostor = Signer::from_seed(s.name(), &[9; 32]).unwrap();
    let by_impostor = Note::sign("text\n", &[&impostor]).unwrap();
    assert_eq!(
        by_impostor.verify(&[s.verifier()]),
        Err(VerifyError::NoKnownSignature)
    );
}

#[test]
fn a_bad_signature_by_a_known_key_rejects_the_note() {
    let s = log_signer();
    let good = Note::sign("text\n", &[&s]).unwrap().to_text();
    // Replace the signature with the signature of another text.
    let other = Note::sign("other\n", &[&s]).unwrap().to_text();
    let forged = format!("text\n\n{}", other.split_once("\n\n").unwrap().1);
    let note = Note::parse(forged.as_bytes()).unwrap();
    assert!(matches!(
        note.verify(&[s.verifier()]),
        Err(VerifyError::BadSignature { .. })
    ));
    // A good and a bad signature by the same key: rejected too.
    let both = format!("{good}{}", forged.split_once("\n\n").unwrap().1);
    let note = Note::parse(both.as_bytes()).unwrap();
    assert!(note.verify(&[s.verifier()]).is_err());
}

fn parse_err(s: &str) -> String {
    outcome(&Note::parse(s.as_bytes()).unwrap_err())
}

#[test]
fn malformed_notes_are_refused() {
    let sig = Note::sign("t\n", &[&log_signer()]).unwrap().to_text();
    let line = sig.split_once("\n\n").unwrap().1.to_owned();
    assert_eq!(parse_err("no signatures\n"), "no-signature-section");
    assert_eq!(parse_err("text\n\n"), "no-signatures");
    assert_eq!(
        parse_err(&format!("text\n\n{}", line.trim_end())),
        "bad-signature-line"
    );
    assert_eq!(parse_err(&format!("text\r\n\n{line}")), "control-character");
    assert_eq!(parse_err(&format!("text\t\n\n{line}")), "control-character");
    assert_eq!(
        parse_err(&format!("text\n\n- {}", &line[4..])),
        "bad-signature-line"
    );
    assert_eq!(parse_err(&format!("text\n\n{line}\n")), "no-signatures");
    let no_name = line.replacen("clinic.example/audit", "", 1);
    assert_eq!(parse_err(&format!("text\n\n{no_name}")), "bad-key-name");
    let plus = line.replacen("clinic.example/audit", "a+b", 1);
    assert_eq!(parse_err(&format!("text\n\n{plus}")), "bad-key-name");
    let b64 = line.replacen("=\n", "\n", 1);
    assert_eq!(
        parse_err(&format!("text\n\n{b64}")),
        "bad-signature-encoding"
    );
    let short = format!("\u{2014} a {}\n", BASE64.encode([1, 2, 3, 4]));
    assert_eq!(
        parse_err(&format!("text\n\n{short}")),
        "bad-signature-encoding"
    );
    assert_eq!(outcome(&Note::parse(b"\xff\n\n").unwrap_err()), "not-utf8");
    let many = line.repeat(MAX_SIGNATURES + 1);
    assert_eq!(parse_err(&format!("text\n\n{many}")), "too-many-signatures");
    let big = "a".repeat(MAX_NOTE_LEN);
    assert_eq!(parse_err(&format!("{big}\n\n{line}")), "too-large");
    let lines = "a\n".repeat(1025);
    assert_eq!(parse_err(&format!("{lines}\n{line}")), "too-many-lines");
    // The text may hold blank lines: the last one separates.
    let note = Note::parse(format!("a\n\nb\n\n{line}").as_bytes()).unwrap();
    assert_eq!(note.text(), "a\n\nb\n");
    // Signing refuses texts that are not note texts.
    assert_eq!(
        Note::sign("no newline", &[&log_signer()]),
        Err(NoteError::TextEnd)
    );
    assert_eq!(Note::sign("", &[&log_signer()]), Err(NoteError::TextEnd));
    assert_eq!(Note::sign("a\n", &[]), Err(NoteError::NoSigners));
}

#[test]
fn keys_whose_base64_holds_a_plus_round_trip() {
    // Base64 uses '+': only the name and key ID are '+'-separated (as
    // Go's note.NewVerifier and NewSigner read them).
    let mut found = 0;
    for i in 0u8..64 {
        let signer = Signer::from_seed("clinic.example/audit", &[i; 32]).unwrap();
        let (vkey, skey) = (signer.verifier().to_vkey(), signer.to_skey());
        if vkey.matches('+').count() == 2 && skey.matches('+').count() == 4 {
            continue;
        }
        found += 1;
        assert_eq!(Verifier::parse(&vkey).unwrap().to_vkey(), vkey);
        assert_eq!(Signer::parse(&skey).unwrap().to_skey(), skey);
        let note = Note::sign("a\n", &[&signer]).unwrap();
        assert_eq!(
            note.verify(&[Verifier::parse(&vkey).unwrap()])
                .unwrap()
                .len(),
            1
        );
    }
    assert!(found > 10, "{found} keys with a '+' in their base64");
}

#[test]
fn malformed_keys_are_refused() {
    let e = |s: &str| outcome(&Verifier::parse(s).unwrap_err());
    assert_eq!(e("example.com/foo+530d903a"), "parts");
    assert_eq!(
        e("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "key-id-mismatch"
    );
    assert_eq!(
        e("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "bad-key-id"
    );
    assert_eq!(
        e("example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "bad-key-id"
    );
    assert_eq!(
        e("example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "key-id-mismatch"
    );
    assert_eq!(
        e("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2"),
        "bad-base64"
    );
    assert_eq!(
        e("example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "bad-base64"
    );
    assert_eq!(
        e("example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "unsupported-type"
    );
    assert_eq!(
        e("exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "bad-name"
    );
    assert_eq!(
        e("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        "bad-name"
    );
    assert_eq!(Signer::parse(SPEC_VKEY).unwrap_err(), KeyError::NotPrivate);
    let skey = log_signer().to_skey();
    let parts: Vec<&str> = skey.split('+').collect();
    let wrong_id = format!("PRIVATE+KEY+{}+00000000+{}", parts[2], parts[4]);
    assert!(matches!(
        Signer::parse(&wrong_id),
        Err(KeyError::KeyIdMismatch { .. })
    ));
    assert_eq!(
        Signer::from_seed("a b", &[0; 32]).unwrap_err(),
        KeyError::BadName
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_note_text_round_trips_and_any_flipped_byte_fails(
        lines in proptest::collection::vec("[a-zA-Z0-9 .:/+=-]{0,40}", 1..8),
        flip in any::<proptest::sample::Index>(),
    ) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let s = log_signer();
        let note = Note::sign(&text, &[&s]).unwrap();
        let bytes = note.to_text();
        let parsed = Note::parse(bytes.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &note);
        prop_assert!(parsed.verify(&[s.verifier()]).is_ok());
        // Flip one byte of the text: either the note no longer parses or
        // it no longer verifies.
        let mut b = bytes.into_bytes();
        let i = flip.index(text.len());
        b[i] ^= 0x01;
        if let Ok(n) = Note::parse(&b) {
            prop_assert!(n.verify(&[s.verifier()]).is_err());
        }
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Note::parse(&bytes);
        let _ = Verifier::parse(&String::from_utf8_lossy(&bytes));
    }
}
