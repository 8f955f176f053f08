//! Arbitrary bytes as a proof file, verified offline.
//!
//! Whatever parses is verified with `EmbeddedOnly` on every network, for a
//! fixed digest and for the proof's own digest. `verify` must never panic,
//! and must refuse a proof for another network or another document before
//! looking further.
#![no_main]

use btc_anchor::bitcoin::Network;
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::proof::Proof;
use btc_anchor::verify::{verify, VerifyError, VerifyOptions};
use libfuzzer_sys::fuzz_target;

const NETWORKS: [Network; 5] = [
    Network::Bitcoin,
    Network::Testnet,
    Network::Testnet4,
    Network::Signet,
    Network::Regtest,
];

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = Proof::from_json(data) else {
        return;
    };
    let fixed = RecordDigest([0x42; 32]);
    for network in NETWORKS {
        let options = VerifyOptions::new(network);
        for digest in [&fixed, &proof.record.digest] {
            let result = verify(&proof, digest, &EmbeddedOnly, &options);
            if proof.network != network {
                assert!(
                    matches!(result, Err(VerifyError::WrongNetwork { .. })),
                    "a proof for {} checked as {network}: {result:?}",
                    proof.network
                );
            } else if *digest != proof.record.digest {
                assert!(
                    matches!(result, Err(VerifyError::DigestMismatch { .. })),
                    "a proof checked against another document: {result:?}"
                );
            }
            match result {
                Ok(report) => {
                    let _ = format!("{report:?}");
                    for n in &report.not_checked {
                        let _ = n.describe();
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                    let _ = e.kind();
                }
            }
        }
    }
});
