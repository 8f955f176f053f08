//! The whole flow as library calls: open a data directory, create a wallet,
//! stamp documents, anchor them in one transaction, wait for the block,
//! upgrade the proofs and verify one.
//!
//! It starts its own private regtest chain (bcoin + ElectrumX, installed by
//! `regtest/install.sh`) with the test environment, funds its wallet and
//! mines blocks there:
//!
//! ```sh
//! cargo run -p btc-anchor-workflow --example anchor_flow
//! ```
//!
//! Against another network you would fund the wallet and wait for blocks
//! instead.

use btc_anchor::bitcoin::Network;
use btc_anchor::hash::hash_file;
use btc_anchor::headers::EmbeddedOnly;
use btc_anchor::proof::Proof;
use btc_anchor::verify::{verify, VerifyOptions};
use btc_anchor_electrum::{ConnectOptions, Electrum};
use btc_anchor_testenv::regtest::{TestEnv, DEFAULT_TIMEOUT};
use btc_anchor_workflow::anchoring::{Anchoring, FeeOptions, StampItem};
use btc_anchor_workflow::config::Config;
use btc_anchor_workflow::store::BatchState;
use btc_anchor_workflow::wallet::{AnchorWallet, KeySource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 0. A private regtest chain, stopped when `stack` is dropped.
    let stack = TestEnv::new()?;
    let url = stack.electrum_url();
    let network = Network::Regtest;
    let work = tempfile::tempdir()?;
    let data_dir = work.path().join("data");

    // 1. A wallet, funded by mining to it (regtest only).
    let (mut wallet, _mnemonic) = AnchorWallet::create(&data_dir, network, KeySource::Generate)?;
    let address = wallet.address()?;
    stack.fund(&address, btc_anchor::bitcoin::Amount::ONE_BTC)?;
    let server = Electrum::connect(&url, network, ConnectOptions::default())?;
    wallet.sync(&server)?;
    println!("wallet funded: {} sat", wallet.balance().confirmed.to_sat());

    // 2. Stamp three documents: hashed, salted, queued; pending proofs
    //    are written beside them.
    let mut config = Config::defaults(network);
    config.min_depth = 1;
    let mut flow = Anchoring::open(&data_dir, config)?;
    let mut items = Vec::new();
    for i in 1..=3 {
        let doc = work.path().join(format!("report-{i}.txt"));
        std::fs::write(&doc, format!("lab report {i}\n"))?;
        items.push(StampItem {
            digest: hash_file(&doc)?,
            label: doc.display().to_string(),
            proof_path: work.path().join(format!("report-{i}.txt.anchor.json")),
        });
    }
    println!("queued {} records", flow.stamp(&items)?.queued);

    // 3. One transaction commits the batch root.
    let anchored = flow.anchor(
        &mut wallet.payer(&server),
        &server,
        &FeeOptions::default(),
        &mut |step| println!("  {step:?}"),
    )?;
    for a in &anchored {
        println!(
            "batch {}: txid {} ({} vB, fee {})",
            a.batch_id, a.txid, a.vsize, a.fee
        );
    }

    // 4. A block; the proofs are completed.
    for a in &anchored {
        stack.wait_until_electrum_sees_txid(a.txid, DEFAULT_TIMEOUT)?;
    }
    stack.mine_blocks(1, None)?;
    for u in flow.upgrade(&server)? {
        assert_eq!(u.state, BatchState::Final);
        println!("batch {}: {} proofs complete", u.batch_id, u.proofs_written);
    }

    // 5. Anyone can verify a proof offline, from the file and the document.
    let proof = Proof::from_json(&std::fs::read(&items[0].proof_path)?)?;
    let digest = hash_file(&work.path().join("report-1.txt"))?;
    let report = verify(&proof, &digest, &EmbeddedOnly, &VerifyOptions::new(network))?;
    let block = report.block.expect("a complete proof names its block");
    println!(
        "verified offline: existed no later than block {} (time {} + 2 h)",
        block.height, block.time
    );
    Ok(())
}
