//! The RFC 6962 / RFC 9162 test vectors of the certificate-transparency
//! project, run against the batch tree of `btc_anchor::merkle`.
//!
//! `../shared/data/rfc6962-vectors/` holds one JSON file per vector:
//! `inclusion/**` ({leafIdx, treeSize, root, leafHash, proof, desc, wantErr})
//! and `consistency/**` ({size1, size2, root1, root2, proof, desc, wantErr}),
//! hashes in standard base64. Every file is run; none is skipped.
//!
//! The second half builds trees over the eight reference leaves of the RFC
//! 6962 test data and checks their roots and proofs against the published
//! values and against the happy-path vectors (made from the same leaves).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use btc_anchor::merkle::{
    leaf_hash, verify_consistency, verify_consistency_bytes, verify_inclusion, LeafHash,
    MerkleError, NodeHash, Tree,
};
use serde_json::Value;

fn vectors_dir() -> Option<PathBuf> {
    let dir = btc_anchor_testenv::shared_data("rfc6962-vectors");
    if dir.is_dir() {
        Some(dir)
    } else {
        btc_anchor_testenv::skip(format_args!("{} is absent", dir.display()));
        None
    }
}

/// Every file under `dir`, recursively, sorted; panics on a file that is not
/// JSON, so that nothing in the vector directories is silently left out.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                assert!(
                    path.extension().is_some_and(|e| e == "json"),
                    "unexpected non-JSON file {}",
                    path.display()
                );
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Standard base64 (RFC 4648 §4) with `=` padding, as Go encodes `[]byte`
/// in JSON. Strict: the length must be a multiple of four, padding only at
/// the end, no characters outside the alphabet, no stray bits.
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(format!("length {} is not a multiple of 4", bytes.len()));
    }
    let pad = bytes.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return Err("more than two padding characters".into());
    }
    let body = &bytes[..bytes.len() - pad];
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c).ok_or_else(|| format!("bad character {:?}", c as char))?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
            3 => {
                if acc & 0b11 != 0 {
                    return Err("non-zero padding bits".into());
                }
                out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]);
            }
            2 => {
                if acc & 0b1111 != 0 {
                    return Err("non-zero padding bits".into());
                }
                out.push((acc >> 4) as u8);
            }
            _ => return Err("a lone base64 character".into()),
        }
    }
    Ok(out)
}

#[test]
fn base64_decoder() {
    // RFC 4648 §10.
    for (enc, dec) in [
        ("", ""),
        ("Zg==", "f"),
        ("Zm8=", "fo"),
        ("Zm9v", "foo"),
        ("Zm9vYg==", "foob"),
        ("Zm9vYmE=", "fooba"),
        ("Zm9vYmFy", "foobar"),
    ] {
        assert_eq!(base64_decode(enc).unwrap(), dec.as_bytes(), "{enc}");
    }
    assert_eq!(base64_decode("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
    for bad in ["Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm9v!A==", "=Zm9"] {
        assert!(base64_decode(bad).is_err(), "{bad}");
    }
}

fn b64(v: &Value, field: &str) -> Vec<u8> {
    base64_decode(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is not a string")),
    )
    .unwrap_or_else(|e| panic!("{field}: {e}"))
}

/// The proof list; `null` is the empty proof (Go's nil slice).
fn proof_items(v: &Value) -> Vec<Vec<u8>> {
    match &v["proof"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|i| base64_decode(i.as_str().unwrap()).unwrap())
            .collect(),
        other => panic!("proof is {other}"),
    }
}

/// Why a vector was refused.
enum Refusal {
    /// A hash that is not 32 bytes, refused before the typed interface.
    Length(String),
    /// The library's answer.
    Library(MerkleError),
}

impl Refusal {
    fn describe(&self) -> String {
        match self {
            Refusal::Length(s) => s.clone(),
            Refusal::Library(e) => e.to_string(),
        }
    }

    /// The kind of refusal, without the values: for the histogram.
    fn reason(&self) -> String {
        match self {
            Refusal::Length(_) => "hash not 32 bytes (checked before the typed interface)".into(),
            Refusal::Library(e) => {
                let debug = format!("{e:?}");
                let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
                format!("MerkleError::{variant}")
            }
        }
    }
}

fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], Refusal> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| Refusal::Length(format!("{what} is {} bytes, not 32", bytes.len())))
}

/// Runs one inclusion vector. The typed interface takes 32-byte hashes, so
/// a value of another length is refused here, before the library is asked
/// (the `Err` says so, and is counted apart from the library's refusals).
fn run_inclusion(v: &Value) -> Result<(), Refusal> {
    let index = v["leafIdx"].as_u64().unwrap();
    let size = v["treeSize"].as_u64().unwrap();
    let root = hash32(&b64(v, "root"), "root").map(NodeHash);
    let leaf = hash32(&b64(v, "leafHash"), "leafHash").map(LeafHash);
    let path: Result<Vec<NodeHash>, Refusal> = proof_items(v)
        .iter()
        .map(|p| hash32(p, "proof item").map(NodeHash))
        .collect();
    let (root, leaf, path) = (root?, leaf?, path?);
    verify_inclusion(index, size, &leaf, &path, &root).map_err(Refusal::Library)
}

/// Runs one consistency vector through the byte-level interface, which
/// checks hash lengths itself.
fn run_consistency(v: &Value) -> Result<(), Refusal> {
    let size1 = v["size1"].as_u64().unwrap();
    let size2 = v["size2"].as_u64().unwrap();
    let root1 = b64(v, "root1");
    let root2 = b64(v, "root2");
    let items = proof_items(v);
    let proof: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    verify_consistency_bytes(size1, size2, &root1, &root2, &proof).map_err(Refusal::Library)
}

/// Runs every file under `kind/`, checks each answer against `wantErr`, and
/// prints the counts and the reasons for the refusals.
fn run_all(kind: &str, run: fn(&Value) -> Result<(), Refusal>) {
    let Some(dir) = vectors_dir() else { return };
    let dir = dir.join(kind);
    let files = files_under(&dir);
    assert!(!files.is_empty(), "no vectors under {}", dir.display());
    let (mut accepted, mut rejected) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let v: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().expect("wantErr is a boolean");
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        match (run(&v), want_err) {
            (Ok(()), false) => accepted += 1,
            (Err(e), true) => {
                rejected += 1;
                *reasons.entry(e.reason()).or_default() += 1;
            }
            (Ok(()), true) => failures.push(format!("{name} ({}): accepted", v["desc"])),
            (Err(e), false) => failures.push(format!(
                "{name} ({}): rejected: {}",
                v["desc"],
                e.describe()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{kind} vectors answered wrongly:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        accepted + rejected,
        files.len(),
        "every {kind} vector is counted"
    );
    assert!(accepted > 0 && rejected > 0);
    println!(
        "{kind}: {} vectors, {accepted} accepted (wantErr=false), {rejected} rejected (wantErr=true)",
        files.len()
    );
    for (reason, n) in &reasons {
        println!("  {n:3}  {reason}");
    }
}

#[test]
fn inclusion_vectors() {
    run_all("inclusion", run_inclusion);
}

#[test]
fn consistency_vectors() {
    run_all("consistency", run_consistency);
}

// ---------------------------------------------------------------------------
// Trees over the reference leaves.
// ---------------------------------------------------------------------------

/// The leaf inputs of the RFC 6962 test data (certificate-transparency
/// `merkle_tree_test`), hex.
const REFERENCE_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// The published roots of the trees over the first 1..=8 reference leaves.
const REFERENCE_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_leaves() -> Vec<LeafHash> {
    REFERENCE_LEAVES
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap()))
        .collect()
}

/// The trees over the first 1..=8 reference leaves (index 0 is size 1).
fn reference_trees() -> Vec<Tree> {
    let leaves = reference_leaves();
    (1..=8)
        .map(|n| Tree::new(leaves[..n].to_vec()).unwrap())
        .collect()
}

fn hashes(proof: &[NodeHash]) -> Vec<Vec<u8>> {
    proof.iter().map(|h| h.0.to_vec()).collect()
}

#[test]
fn reference_tree_roots() {
    let trees = reference_trees();
    for (n, (tree, want)) in trees.iter().zip(REFERENCE_ROOTS).enumerate() {
        assert_eq!(tree.size(), n as u64 + 1);
        assert_eq!(tree.root().to_hex(), want, "root of size {}", n + 1);
    }
}

#[test]
fn reference_tree_inclusion_proofs() {
    let leaves = reference_leaves();
    for tree in reference_trees() {
        let n = tree.size();
        for i in 0..n {
            let path = tree.inclusion_proof(i).unwrap();
            verify_inclusion(i, n, &leaves[i as usize], &path, &tree.root()).unwrap();
        }
    }
}

#[test]
fn reference_trees_match_inclusion_vectors() {
    let Some(dir) = vectors_dir() else { return };
    let trees = reference_trees();
    let mut checked = 0;
    for path in files_under(&dir.join("inclusion")) {
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        if v["wantErr"] != Value::Bool(false) || v["desc"] != "happy path" {
            continue;
        }
        let (index, size) = (
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
        );
        assert!((1..=8).contains(&size), "{}", path.display());
        let tree = &trees[size as usize - 1];
        assert_eq!(
            tree.root().0.to_vec(),
            b64(&v, "root"),
            "{}",
            path.display()
        );
        assert_eq!(
            tree.leaf(index).unwrap().0.to_vec(),
            b64(&v, "leafHash"),
            "{}",
            path.display()
        );
        assert_eq!(
            hashes(&tree.inclusion_proof(index).unwrap()),
            proof_items(&v),
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} happy-path inclusion vectors");
    println!("{checked} happy-path inclusion vectors reproduced from the reference leaves");
}

#[test]
fn reference_tree_consistency_proofs() {
    let trees = reference_trees();
    let mut checked = 0;
    for new in &trees {
        let n = new.size();
        for old in &trees[..n as usize] {
            let m = old.size();
            let proof = new.consistency_proof(m).unwrap();
            if m == n {
                assert!(proof.is_empty());
            }
            verify_consistency(m, n, &old.root(), &new.root(), &proof).unwrap();
            let items = hashes(&proof);
            let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            verify_consistency_bytes(m, n, &old.root().0, &new.root().0, &refs).unwrap();
            // Any changed bit, in any hash, breaks it.
            for k in 0..proof.len() {
                let mut bad = proof.clone();
                bad[k].0[k % 32] ^= 1 << (k % 8);
                assert!(verify_consistency(m, n, &old.root(), &new.root(), &bad).is_err());
            }
            if m < n {
                let mut root1 = old.root();
                root1.0[31] ^= 0x80;
                assert!(verify_consistency(m, n, &root1, &new.root(), &proof).is_err());
                let mut root2 = new.root();
                root2.0[0] ^= 0x01;
                assert!(verify_consistency(m, n, &old.root(), &root2, &proof).is_err());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 36, "every pair 1 <= m <= n <= 8");
}

#[test]
fn reference_trees_match_consistency_vectors() {
    let Some(dir) = vectors_dir() else { return };
    let trees = reference_trees();
    let mut checked = 0;
    for path in files_under(&dir.join("consistency")) {
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        if v["wantErr"] != Value::Bool(false) || v["desc"] != "happy path" {
            continue;
        }
        let (m, n) = (v["size1"].as_u64().unwrap(), v["size2"].as_u64().unwrap());
        assert!(1 <= m && m <= n && n <= 8, "{}", path.display());
        let (old, new) = (&trees[m as usize - 1], &trees[n as usize - 1]);
        assert_eq!(
            old.root().0.to_vec(),
            b64(&v, "root1"),
            "{}",
            path.display()
        );
        assert_eq!(
            new.root().0.to_vec(),
            b64(&v, "root2"),
            "{}",
            path.display()
        );
        assert_eq!(
            hashes(&new.consistency_proof(m).unwrap()),
            proof_items(&v),
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} happy-path consistency vectors"
    );
    println!("{checked} happy-path consistency vectors reproduced from the reference leaves");
}
