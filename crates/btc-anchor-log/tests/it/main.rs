//! Integration tests of btc-anchor-log: one binary, one module per concern.

mod audit;
mod checkpoint;
mod event_proof;
mod events;
mod fhir;
mod fixtures;
mod go;
mod keyfile;
mod note;
mod proof;
mod shred;
mod tiles;
mod witness;
mod writer;

use btc_anchor_log::entry::{ActorRef, Entry, RecordRef, Salt};
use btc_anchor_log::event::{Event, EventKind};
use btc_anchor_log::note::Signer;
use sha2::{Digest as _, Sha256};

/// The origin of the fixture log.
pub const ORIGIN: &str = "clinic.example/audit";

/// 32 bytes derived from a label, for deterministic keys and salts.
pub fn derive(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// The fixture log's signing key (its seed is public: fixtures only).
pub fn log_signer() -> Signer {
    Signer::from_seed(ORIGIN, &derive("btc-anchor-log fixture log key")).unwrap()
}

/// Another key, which the fixtures' verifiers do not know.
pub fn other_signer() -> Signer {
    Signer::from_seed(
        "witness.example/w1",
        &derive("btc-anchor-log fixture witness key"),
    )
    .unwrap()
}

/// A deterministic salt.
pub fn salt(label: &str) -> Salt {
    Salt(derive(label))
}

/// Event `i` of a deterministic history of a few records.
pub fn event(i: u64, prev: Option<Entry>) -> Event {
    let kinds = [
        EventKind::Create,
        EventKind::Read,
        EventKind::Amend,
        EventKind::Export,
        EventKind::ConsentGrant,
    ];
    Event {
        kind: kinds[(i % 5) as usize].clone(),
        time: 1_767_225_600 + i * 60,
        record: RecordRef::new(format!("record {}", i % 3).as_bytes(), &salt("record salt")),
        actor: ActorRef::new(b"clinician 7", &salt("actor salt")),
        content: None,
        prev,
        codes: Default::default(),
    }
}

/// The innermost variant of an error, in kebab case: `Verify(NoKnownSignature)`
/// is `no-known-signature`. Fixture vectors name their expected outcome so.
pub fn outcome(err: &dyn std::fmt::Debug) -> String {
    let dbg = format!("{err:?}");
    let mut s = dbg.as_str();
    loop {
        let end = s
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .unwrap_or(s.len());
        let (ident, rest) = s.split_at(end);
        match rest.strip_prefix('(') {
            Some(inner) if inner.starts_with(|c: char| c.is_ascii_uppercase()) => s = inner,
            _ => return kebab(ident),
        }
    }
}

fn kebab(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A complete btc-anchor proof, on a synthetic regtest chain, of the
/// document `bytes` (e.g. a checkpoint's): the anchor proof a stamped and
/// anchored checkpoint gets, deterministic for fixtures.
pub fn anchor_proof(bytes: &[u8], seed: u32) -> Vec<u8> {
    use btc_anchor::bitcoin::Network;
    use btc_anchor::hash::RecordDigest;
    use btc_anchor_testenv::chain::{anchor_tx, Batch, Chain};
    let batch = Batch::new(&[RecordDigest::of_bytes(bytes)], seed);
    let mut chain = Chain::new(Network::Regtest);
    let tx = anchor_tx(&batch.tree.root().0, seed);
    let placed = chain.place(tx.clone(), 1, 2);
    chain.mine_empty(5);
    batch
        .proof(Network::Regtest, 0, Some(&tx), Some((&placed, &chain, 5)))
        .to_json()
        .into_bytes()
}
