//! Arbitrary bytes as an OpenTimestamps `.ots` file.
//!
//! `DetachedTimestamp::from_bytes` must never panic; what it accepts must
//! write back byte for byte (the reader accepts only the canonical form),
//! and replaying and verifying it (against no headers) must not panic
//! either.
#![no_main]

use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::ots::{verify_ots, DetachedTimestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match DetachedTimestamp::from_bytes(data) {
        Ok(ts) => {
            assert_eq!(
                ts.to_bytes(),
                data,
                "an accepted file does not write back identically"
            );
            let _ = ts.attestations();
            let _ = ts.to_string();
            let digest = ts.digest.clone();
            if let Ok(report) = verify_ots(&ts, &digest, &EmbeddedOnly) {
                let _ = report.to_string();
            }
            let _ = verify_ots(&ts, &[0u8; 32], &EmbeddedOnly);
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.kind();
        }
    }
});
