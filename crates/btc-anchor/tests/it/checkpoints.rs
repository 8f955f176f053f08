//! The built-in checkpoint tables begin with exactly what the real chain data in
//! `../shared/data/checkpoints/` (Electrum's per-network `checkpoints.json`)
//! gives, written in the table form of `docs/checkpoints.md`.
//!
//! `BTC_ANCHOR_WRITE_CHECKPOINTS=1 cargo test --test checkpoints` rewrites
//! `src/checkpoints/*.txt` from that data (the generation step of a refresh
//! from Electrum's data; the other refresh path, from a validated headers
//! file, is `btc-anchor headers checkpoints`).

use std::fs;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::checkpoints::Checkpoints;

fn shared(name: &str) -> Option<PathBuf> {
    let p = btc_anchor_testenv::shared_data("checkpoints").join(name);
    if p.is_file() {
        return Some(p);
    }
    btc_anchor_testenv::skip(format_args!("{} is absent", p.display()));
    None
}

#[test]
fn builtin_tables_equal_the_real_data() {
    let write = std::env::var_os("BTC_ANCHOR_WRITE_CHECKPOINTS").is_some();
    for (network, json) in [
        (Network::Bitcoin, "mainnet.json"),
        (Network::Testnet, "testnet.json"),
        (Network::Testnet4, "testnet4.json"),
        (Network::Signet, "signet.json"),
    ] {
        let Some(path) = shared(json) else { continue };
        let generated =
            Checkpoints::from_electrum_json(network, &fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/checkpoints")
            .join(format!("{network}.txt"));
        if write {
            fs::write(&committed, generated.to_text()).unwrap();
        }
        let text = fs::read_to_string(&committed).unwrap();
        let table = Checkpoints::parse(&text).unwrap();
        // Generated, never edited: exactly the form `to_text` writes.
        assert_eq!(table.to_text(), text, "{}", committed.display());
        assert_eq!(Checkpoints::builtin(network), &table, "{network}");
        // What the real data gives, as the table's beginning: a refresh
        // from a newer headers file (docs/checkpoints.md §3) only adds
        // epochs at the end.
        assert!(
            text.starts_with(&generated.to_text()),
            "{} does not begin with what {} gives",
            committed.display(),
            path.display()
        );
        if btc_anchor::rules::allows_min_difficulty(network) {
            assert!(table.entries().iter().all(|c| c.next_bits.is_none()));
        }
    }
}

#[test]
fn mainnet_table_shape() {
    let t = Checkpoints::builtin(Network::Bitcoin);
    assert_eq!(t.len(), 473);
    assert_eq!(t.last_height(), Some(953_567));
    // Every mainnet epoch's target is recorded, so the last known epoch
    // is the one after the table's last.
    assert_eq!(t.last_known_bits().map(|(e, _)| e), Some(473));
    // Block 333,961 (epoch 165) carries the target of entry 164.
    assert_eq!(t.epoch_bits(165), t.get(164).and_then(|c| c.next_bits));
}
