//! Tiles and bundles: paths, codecs, and the tile store against the core
//! tree for many sizes.

use btc_anchor::merkle::{leaf_hash, verify_consistency, verify_inclusion, LeafHash, Tree};
use btc_anchor_log::store::{empty_root, rows_len, StoreError, TileStore};
use btc_anchor_log::tile::{
    decode_bundle, decode_tile, encode_bundle, encode_index, TileError, TileKind, TilePath,
};
use proptest::prelude::*;

fn entries(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
}

fn leaves(es: &[Vec<u8>]) -> Vec<LeafHash> {
    es.iter().map(|e| leaf_hash(e)).collect()
}

/// Checks the store's tree of `size` against the core tree: root, the
/// proofs of some leaves, their entries.
fn check_against_core(store: &TileStore, es: &[Vec<u8>], size: u64) {
    let tree = Tree::new(leaves(&es[..size as usize])).unwrap();
    let mut r = store.reader(size).unwrap();
    assert_eq!(r.root().unwrap(), tree.root(), "root of {size}");
    let probes = [
        0,
        1,
        size / 2,
        size.saturating_sub(2),
        size - 1,
        size / 3,
        255,
        256,
        257,
    ];
    for &i in probes.iter().filter(|&&i| i < size) {
        let path = r.inclusion_proof(i).unwrap();
        assert_eq!(
            path,
            tree.inclusion_proof(i).unwrap(),
            "proof of {i} in {size}"
        );
        verify_inclusion(i, size, &leaf_hash(&es[i as usize]), &path, &tree.root()).unwrap();
        assert_eq!(r.entry(i).unwrap(), es[i as usize]);
    }
}

#[test]
fn paths_encode_and_parse_canonically() {
    assert_eq!(encode_index(1_234_067), "x001/x234/067");
    assert_eq!(encode_index(0), "000");
    assert_eq!(encode_index(1000), "x001/000");
    let cases = [
        ("tile/0/000", TileKind::Hashes { level: 0 }, 0, 256),
        (
            "tile/0/x001/x234/067",
            TileKind::Hashes { level: 0 },
            1_234_067,
            256,
        ),
        ("tile/2/000.p/1", TileKind::Hashes { level: 2 }, 0, 1),
        (
            "tile/1/x001/000.p/255",
            TileKind::Hashes { level: 1 },
            1000,
            255,
        ),
        ("tile/entries/273.p/112", TileKind::Entries, 273, 112),
        ("tile/63/999", TileKind::Hashes { level: 63 }, 999, 256),
    ];
    for (s, kind, index, width) in cases {
        let p = TilePath::parse(s).unwrap();
        assert_eq!(p, TilePath { kind, index, width }, "{s}");
        assert_eq!(p.to_path(), s);
    }
    for bad in [
        "tile/0/0",
        "tile/0/0000",
        "tile/00/000",
        "tile/64/000",
        "tile/0/x000/001",
        "tile/0/001/002",
        "tile/0/x001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p/",
        "tile/-1/000",
        "tile/0/000/",
        "tile/entry/000",
        "tiles/0/000",
        "/tile/0/000",
        "tile/0/x1000/000",
        "tile/0/00a",
        "tile/0/000.p/5/6",
    ] {
        assert_eq!(TilePath::parse(bad), Err(TileError::BadPath), "{bad}");
    }
}

#[test]
fn tile_and_bundle_codecs_refuse_wrong_lengths() {
    assert!(decode_tile(&[0; 64], 2).is_ok());
    assert_eq!(
        decode_tile(&[0; 63], 2),
        Err(TileError::TileLength {
            expected: 64,
            found: 63
        })
    );
    assert_eq!(
        decode_tile(&[0; 96], 2),
        Err(TileError::TileLength {
            expected: 64,
            found: 96
        })
    );
    assert!(decode_tile(&[0; 8192], 256).is_ok());
    let b = encode_bundle(&[b"ab".to_vec(), vec![], b"c".to_vec()]).unwrap();
    assert_eq!(b, [0, 2, b'a', b'b', 0, 0, 0, 1, b'c']);
    assert_eq!(
        decode_bundle(&b, 3).unwrap(),
        vec![b"ab".to_vec(), vec![], b"c".to_vec()]
    );
    assert_eq!(
        decode_bundle(&b[..8], 3),
        Err(TileError::TruncatedBundle { entry: 2 })
    );
    assert_eq!(
        decode_bundle(&b[..7], 3),
        Err(TileError::TruncatedBundle { entry: 2 })
    );
    assert_eq!(
        decode_bundle(&b[..5], 3),
        Err(TileError::TruncatedBundle { entry: 1 })
    );
    assert_eq!(
        decode_bundle(&b, 4),
        Err(TileError::BundleWidth {
            expected: 4,
            found: 3
        })
    );
    assert_eq!(
        decode_bundle(&b, 2),
        Err(TileError::BundleWidth {
            expected: 2,
            found: 3
        })
    );
    assert!(matches!(
        encode_bundle(&[vec![0u8; 65536]]),
        Err(TileError::EntryTooLong { .. })
    ));
}

#[test]
fn the_spec_example_of_70000_entries_gives_the_spec_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let store = TileStore::new(dir.path());
    let es = entries(70_000);
    store.write(&es, 0).unwrap();
    // C2SP tlog-tiles, "Partial Tiles": 273 full level-0 tiles, a partial
    // one of width 112, one full level-1 tile, a partial of width 17, a
    // partial level-2 tile of width 1.
    let count = |level: &str| {
        walk(&dir.path().join("tile").join(level))
            .iter()
            .filter(|p| !p.contains(".p"))
            .count()
    };
    assert_eq!(count("0"), 273);
    assert_eq!(count("entries"), 273);
    assert_eq!(count("1"), 1);
    assert!(dir.path().join("tile/0/273.p/112").is_file());
    assert!(dir.path().join("tile/entries/273.p/112").is_file());
    assert!(dir.path().join("tile/1/001.p/17").is_file());
    assert!(dir.path().join("tile/2/000.p/1").is_file());
    assert!(dir.path().join("tile/1/000").is_file());
    assert!(!dir.path().join("tile/3").exists());
    check_against_core(&store, &es, 70_000);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn appending_in_steps_matches_the_core_tree_at_every_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = TileStore::new(dir.path());
    let es = entries(66_000);
    let sizes = [
        1, 2, 3, 4, 5, 7, 8, 9, 100, 255, 256, 257, 300, 511, 512, 513, 1000, 4096, 65_535, 65_536,
        65_537, 66_000,
    ];
    let mut old = 0;
    for &size in &sizes {
        store.write(&es[..size as usize], old).unwrap();
        check_against_core(&store, &es, size);
        old = size;
    }
    // Every earlier size still reads (its partial tiles are kept), and
    // its consistency proof to every later size, from the tiles, is the
    // core tree's and verifies.
    let trees: Vec<Tree> = sizes
        .iter()
        .map(|&size| Tree::new(leaves(&es[..size as usize])).unwrap())
        .collect();
    for (i, &size) in sizes.iter().enumerate() {
        assert_eq!(store.reader(size).unwrap().root().unwrap(), trees[i].root());
        for (j, &new) in sizes.iter().enumerate().skip(i) {
            let proof = store.reader(new).unwrap().consistency_proof(size).unwrap();
            let core = trees[j].consistency_proof(size).unwrap();
            assert_eq!(proof, core, "{size} to {new}");
            verify_consistency(size, new, &trees[i].root(), &trees[j].root(), &proof).unwrap();
        }
    }
    assert!(matches!(
        store.reader(4096).unwrap().consistency_proof(0),
        Err(StoreError::BadSizes { .. })
    ));
    assert!(matches!(
        store.reader(4096).unwrap().consistency_proof(4097),
        Err(StoreError::BadSizes { .. })
    ));
    // Writing the same again changes nothing.
    let again = store.write(&es, 65_537).unwrap();
    assert_eq!((again.tiles, again.bundles), (0, 0));
    assert!(again.unchanged > 0);
    assert!(walk(dir.path())
        .iter()
        .all(|p| !p.rsplit('/').next().unwrap().starts_with('.')));
}

#[test]
fn empty_tree_and_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = TileStore::new(dir.path());
    let mut r = store.reader(0).unwrap();
    assert_eq!(
        r.root().unwrap().to_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(r.root().unwrap(), empty_root());
    assert!(matches!(
        r.inclusion_proof(0),
        Err(StoreError::IndexOutOfRange { .. })
    ));
    let es = entries(10);
    assert!(matches!(
        store.write(&es, 11),
        Err(StoreError::BadSizes { .. })
    ));
    store.write(&es[..4], 0).unwrap();
    // Other entries than those written: the old partial tile conflicts.
    let other = entries(12).into_iter().rev().collect::<Vec<_>>();
    assert!(matches!(
        store.write(&other, 4),
        Err(StoreError::Conflict { .. })
    ));
    // A size the store was never written for has no partial tile.
    assert!(matches!(
        store.reader(3).unwrap().root(),
        Err(StoreError::Missing { .. })
    ));
    // An old size that was never written.
    assert!(matches!(
        store.write(&es, 3),
        Err(StoreError::Missing { .. })
    ));
    assert!(matches!(
        store.write(&[vec![0u8; 70_000]], 0),
        Err(StoreError::EntryTooLong { index: 0, .. })
    ));
}

#[test]
fn damaged_tiles_and_bundles_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = TileStore::new(dir.path());
    let es = entries(300);
    store.write(&es, 0).unwrap();
    // A level-0 tile of the wrong length.
    let t = dir.path().join("tile/0/001.p/44");
    let mut bytes = std::fs::read(&t).unwrap();
    bytes.push(0);
    std::fs::write(&t, &bytes).unwrap();
    assert!(matches!(
        store.reader(300).unwrap().root(),
        Err(StoreError::Malformed {
            source: TileError::TileLength { .. },
            ..
        })
    ));
    bytes.pop();
    std::fs::write(&t, &bytes).unwrap();
    // A truncated bundle.
    let b = dir.path().join("tile/entries/000");
    let good = std::fs::read(&b).unwrap();
    std::fs::write(&b, &good[..good.len() - 1]).unwrap();
    assert!(matches!(
        store.reader(300).unwrap().entry(5),
        Err(StoreError::Malformed {
            source: TileError::TruncatedBundle { .. },
            ..
        })
    ));
    // A bundle whose entry does not match its leaf hash.
    let mut changed = good.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    std::fs::write(&b, &changed).unwrap();
    assert!(matches!(
        store.reader(300).unwrap().entry(255),
        Err(StoreError::EntryMismatch { index: 255 })
    ));
    assert_eq!(store.reader(300).unwrap().entry(254).unwrap(), es[254]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_growth_matches_the_core_tree(steps in proptest::collection::vec(1u64..700, 1..5)) {
        let dir = tempfile::tempdir().unwrap();
        let store = TileStore::new(dir.path());
        let total: u64 = steps.iter().sum();
        let es = entries(total);
        let mut old = 0;
        for s in steps {
            let size = old + s;
            store.write(&es[..size as usize], old).unwrap();
            check_against_core(&store, &es, size);
            old = size;
        }
    }

    #[test]
    fn path_parse_never_panics_and_round_trips(s in "tile/[0-9a-z./x]{0,30}") {
        if let Ok(p) = TilePath::parse(&s) {
            prop_assert_eq!(p.to_path(), s);
        }
    }
}

#[test]
fn one_kept_reader_proves_every_leaf_as_the_core_tree() {
    // The reader keeps each tile's inner rows once computed: every proof
    // after the first through a tile reads them, and must still be the
    // core tree's proof, across full, partial and right-edge tiles.
    let dir = tempfile::tempdir().unwrap();
    let store = TileStore::new(dir.path());
    let es = entries(70_000);
    store.write(&es, 0).unwrap();
    let tree = Tree::new(leaves(&es)).unwrap();
    let mut r = store.reader(70_000).unwrap();
    for i in (0..70_000).rev() {
        assert_eq!(
            r.inclusion_proof(i).unwrap(),
            tree.inclusion_proof(i).unwrap(),
            "proof of {i}"
        );
    }
    assert_eq!(r.root().unwrap(), tree.root());
    assert_eq!(
        r.consistency_proof(65_537).unwrap(),
        tree.consistency_proof(65_537).unwrap()
    );
}

/// Every hash tile under `dir/tile` with its width, from its path.
fn hash_tiles(dir: &std::path::Path) -> Vec<(String, TilePath)> {
    walk(&dir.join("tile"))
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(&format!("{}/", dir.display()))?.to_owned();
            let path = TilePath::parse(&rel).ok()?;
            matches!(path.kind, TileKind::Hashes { .. }).then_some((rel, path))
        })
        .collect()
}

#[test]
fn stored_rows_give_the_same_tree_and_bad_ones_are_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let (public, rows) = (dir.path().join("public"), dir.path().join("rows"));
    let store = TileStore::with_rows(&public, &rows);
    let es = entries(66_000);
    let mut old = 0;
    for size in [1, 2, 3, 255, 256, 257, 513, 65_537, 66_000] {
        store.write(&es[..size as usize], old).unwrap();
        check_against_core(&store, &es, size);
        check_against_core(&store.without_rows(), &es, size);
        old = size;
    }
    // Every hash tile has its rows file (§5.4): its exact length, row 0
    // the tile itself.
    let tiles = hash_tiles(&public);
    assert!(tiles.len() > 260, "{} tiles", tiles.len());
    for (rel, path) in &tiles {
        let tile = std::fs::read(public.join(rel)).unwrap();
        let stored = std::fs::read(rows.join(rel)).unwrap();
        assert_eq!(stored.len(), 32 * rows_len(path.width), "{rel}");
        assert_eq!(&stored[..tile.len()], &tile[..], "{rel}");
    }
    assert_eq!(rows_len(256), 510);
    assert_eq!(rows_len(1), 1);
    assert_eq!(rows_len(3), 4);
    assert!(!rows.join("tile/entries").exists(), "bundles have no rows");
    // Rows of another length (cut short, one byte more, empty) are passed
    // over: the tile is read and hashed instead.
    let full = rows.join("tile/0/000");
    let good = std::fs::read(&full).unwrap();
    for bad in [
        &good[..good.len() - 32],
        &[good.as_slice(), &[0]].concat(),
        &[][..],
    ] {
        std::fs::write(&full, bad).unwrap();
        check_against_core(&store, &es, 66_000);
    }
    // Rows of the right length but other hashes are trusted as the tiles
    // are: the proof through them is wrong, and the store without rows
    // still gives the right one (which is why the log's writer checks its
    // proofs against the signed root).
    let mut flipped = good.clone();
    flipped[32 * 256 + 5] ^= 1; // row 1, first hash
    std::fs::write(&full, &flipped).unwrap();
    let tree = Tree::new(leaves(&es)).unwrap();
    assert_ne!(
        store.reader(66_000).unwrap().inclusion_proof(2).unwrap(),
        tree.inclusion_proof(2).unwrap()
    );
    check_against_core(&store.without_rows(), &es, 66_000);
    // Writing the tiles again puts right rows back; a missing rows folder
    // loses nothing.
    store.write(&es, 65_537).unwrap();
    store.write(&es[..65_537], 0).unwrap();
    assert_eq!(std::fs::read(&full).unwrap(), good);
    std::fs::remove_dir_all(&rows).unwrap();
    check_against_core(&store, &es, 66_000);
}
