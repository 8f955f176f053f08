//! Arbitrary bytes as a proof file.
//!
//! `Proof::from_json` must never panic. When it accepts the bytes, the
//! canonical form it writes must read back to an equal proof, and writing
//! that proof again must give the very same text (decode → encode → decode
//! is the identity, and the canonical form is a fixed point).
#![no_main]

use btc_anchor::proof::Proof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Proof::from_json(data) {
        Ok(proof) => {
            let text = proof.to_json();
            let again = match Proof::from_json(text.as_bytes()) {
                Ok(p) => p,
                Err(e) => panic!("the canonical form does not read back: {e}\n{text}"),
            };
            assert_eq!(again, proof, "the canonical form reads back different");
            assert_eq!(again.to_json(), text, "the canonical form is not stable");
            let _ = proof.stage();
        }
        Err(e) => {
            // Messages and kinds are shown to users: they must not panic.
            let _ = e.to_string();
            let _ = e.kind();
        }
    }
});
