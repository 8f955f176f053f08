//! The batch Merkle tree: RFC 9162 (RFC 6962) hashing, never duplicating a
//! node.
//!
//! * leaf hash = SHA-256(`0x00` ‖ leaf data)
//! * node hash = SHA-256(`0x01` ‖ left ‖ right)
//! * a tree of `n > 1` leaves splits at `k`, the largest power of two smaller
//!   than `n`: the left subtree holds the first `k` leaves, the right one the
//!   other `n - k`.
//!
//! The prefixes keep leaves and inner nodes in separate domains, so no inner
//! node can be passed off as a leaf; and since an odd node is carried up, not
//! paired with itself, two different lists of leaves never share a root (the
//! duplication in Bitcoin's own block tree is what made CVE-2012-2459
//! possible).
//!
//! In a btc-anchor batch the leaf data is a per-record random [`Salt`]
//! followed by the 32-byte record digest (see `docs/proof-format.md`,
//! section "Leaf"): a proof then reveals nothing about the records beside it,
//! and a record of low entropy cannot be guessed from its leaf.
//!
//! Besides inclusion proofs the tree gives consistency proofs (RFC 9162
//! §2.1.4), for an append-only log built on the same hashing.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::hash::RecordDigest;

/// Domain prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain prefix of an inner node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;
/// Largest number of leaves in one tree: 2^32, so no path exceeds 32 hashes.
pub const MAX_TREE_SIZE: u64 = 1 << 32;
/// Longest inclusion path in a tree of at most [`MAX_TREE_SIZE`] leaves.
pub const MAX_PATH_LEN: usize = 32;

macro_rules! hash_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex of the bytes in the order they are hashed.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }
    };
}

hash_type!(
    /// The hash of one leaf: SHA-256(`0x00` ‖ leaf data).
    LeafHash
);
hash_type!(
    /// The hash of a subtree: an inner node, a tree root, or a sibling on an
    /// inclusion path. The hash of a one-leaf subtree is that leaf's hash
    /// ([`From<LeafHash>`]).
    NodeHash
);

impl From<LeafHash> for NodeHash {
    fn from(leaf: LeafHash) -> Self {
        NodeHash(leaf.0)
    }
}

/// Shortest salt accepted in a leaf, in bytes.
pub const MIN_SALT_LEN: usize = 16;
/// Longest salt accepted in a leaf, in bytes.
pub const MAX_SALT_LEN: usize = 64;
/// Length of the salts this library generates.
pub const SALT_LEN: usize = 16;

/// Random bytes put before a record digest in its leaf.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Salt(Vec<u8>);

/// Errors of the Merkle tree and its proofs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// A salt shorter or longer than the format allows.
    #[error("salt must be {MIN_SALT_LEN} to {MAX_SALT_LEN} bytes, found {found}")]
    SaltLength {
        /// Length found.
        found: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Rng,
    /// A tree needs at least one leaf.
    #[error("a tree needs at least one leaf")]
    EmptyTree,
    /// More leaves than [`MAX_TREE_SIZE`].
    #[error("tree size {found} exceeds the limit of {MAX_TREE_SIZE}")]
    TreeTooLarge {
        /// Size found.
        found: u64,
    },
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is out of range for a tree of {size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// An inclusion or consistency path of the wrong length for the sizes.
    #[error("proof has {found} hashes, but the tree sizes need {expected}")]
    PathLength {
        /// Length the sizes imply.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A hash of the wrong length (byte-level interface only).
    #[error("a tree hash is 32 bytes, found {found}")]
    HashLength {
        /// Length found.
        found: usize,
    },
    /// The path leads to a different root.
    #[error("the path leads to root {computed}, not {expected}")]
    RootMismatch {
        /// The root the proof claims.
        expected: NodeHash,
        /// The root the path leads to.
        computed: NodeHash,
    },
    /// A consistency check between sizes that allow none.
    #[error("no consistency proof exists from size {size1} to size {size2}")]
    BadSizes {
        /// The older size.
        size1: u64,
        /// The newer size.
        size2: u64,
    },
}

impl Salt {
    /// A fresh salt of [`SALT_LEN`] bytes from the operating system's RNG.
    ///
    /// # Errors
    ///
    /// [`MerkleError::Rng`] when the operating system's RNG fails.
    pub fn random() -> Result<Salt, MerkleError> {
        let mut bytes = vec![0u8; SALT_LEN];
        getrandom::fill(&mut bytes).map_err(|_| MerkleError::Rng)?;
        Ok(Salt(bytes))
    }

    /// A salt from given bytes, checked against the length limits.
    ///
    /// # Errors
    ///
    /// [`MerkleError::SaltLength`] for fewer or more bytes than the limits
    /// allow.
    pub fn from_bytes(bytes: &[u8]) -> Result<Salt, MerkleError> {
        if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&bytes.len()) {
            return Err(MerkleError::SaltLength { found: bytes.len() });
        }
        Ok(Salt(bytes.to_vec()))
    }

    /// The salt bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", self.to_hex())
    }
}

/// SHA-256(`0x00` ‖ `data`): the hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> LeafHash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    LeafHash(h.finalize().into())
}

/// The leaf of a record in a btc-anchor batch: SHA-256(`0x00` ‖ salt ‖ digest).
pub fn record_leaf(salt: &Salt, digest: &RecordDigest) -> LeafHash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(salt.as_bytes());
    h.update(digest.as_bytes());
    LeafHash(h.finalize().into())
}

/// SHA-256(`0x01` ‖ `left` ‖ `right`): the hash of an inner node.
#[inline]
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    NodeHash(Sha256::digest(buf).into())
}

/// A whole tree, kept level by level so that every proof can be read off it.
///
/// Level 0 holds the leaf hashes; each level above holds the hashes of pairs
/// of the level below, and an unpaired last node is carried up unchanged
/// (which gives exactly the RFC 9162 tree). Memory is about 64 bytes a leaf.
#[derive(Clone, Debug)]
pub struct Tree {
    levels: Vec<Vec<NodeHash>>,
}

impl Tree {
    /// Builds the tree over `leaves`, in order.
    ///
    /// # Errors
    ///
    /// A [`MerkleError`] for an empty list or more leaves than a tree may hold.
    pub fn new(leaves: Vec<LeafHash>) -> Result<Tree, MerkleError> {
        if leaves.is_empty() {
            return Err(MerkleError::EmptyTree);
        }
        let n = leaves.len() as u64;
        if n > MAX_TREE_SIZE {
            return Err(MerkleError::TreeTooLarge { found: n });
        }
        let mut levels: Vec<Vec<NodeHash>> = vec![leaves.into_iter().map(NodeHash::from).collect()];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let mut above = Vec::with_capacity(below.len().div_ceil(2));
            for pair in below.chunks(2) {
                match pair {
                    [l, r] => above.push(node_hash(l, r)),
                    [odd] => above.push(*odd),
                    _ => unreachable!("chunks(2) yields one or two items"),
                }
            }
            levels.push(above);
        }
        Ok(Tree { levels })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The root hash.
    pub fn root(&self) -> NodeHash {
        self.levels[self.levels.len() - 1][0]
    }

    /// The hash of leaf `index`.
    pub fn leaf(&self, index: u64) -> Option<LeafHash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[0].get(i))
            .map(|h| LeafHash(h.0))
    }

    /// The inclusion path of leaf `index`, from the leaf's sibling up
    /// (RFC 9162 §2.1.3.1).
    ///
    /// # Errors
    ///
    /// [`MerkleError::IndexOutOfRange`] when `index` is not a leaf of this
    /// tree.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<NodeHash>, MerkleError> {
        let mut path = Vec::with_capacity(self.levels.len());
        self.inclusion_proof_into(index, &mut path)?;
        Ok(path)
    }

    /// Like [`Tree::inclusion_proof`], writing into a reused buffer (cleared
    /// first): proofs for a million leaves need not all be held at once.
    ///
    /// # Errors
    ///
    /// [`MerkleError::IndexOutOfRange`] when `index` is not a leaf of this
    /// tree.
    pub fn inclusion_proof_into(
        &self,
        index: u64,
        path: &mut Vec<NodeHash>,
    ) -> Result<(), MerkleError> {
        path.clear();
        let size = self.size();
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut i = index as usize;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i >>= 1;
        }
        Ok(())
    }

    /// The hash of the subtree over leaves `start..end` (`start < end`).
    fn subtree(&self, start: u64, end: u64) -> NodeHash {
        let len = end - start;
        let n = self.size();
        // A node stored at level `l` covers [k·2^l, min((k+1)·2^l, n)).
        let level = u64::BITS - (len - 1).leading_zeros();
        let aligned = start.trailing_zeros() >= level || start == 0;
        let full = len == 1 << level;
        if aligned && (full || end == n) {
            if let Some(h) = self
                .levels
                .get(level as usize)
                .and_then(|l| l.get((start >> level) as usize))
            {
                return *h;
            }
        }
        let k = largest_power_of_two_below(len);
        node_hash(
            &self.subtree(start, start + k),
            &self.subtree(start + k, end),
        )
    }

    /// A proof that the first `old_size` leaves of this tree form the tree
    /// of that size (RFC 9162 §2.1.4.1).
    ///
    /// # Errors
    ///
    /// A [`MerkleError`] when `old_size` is zero or larger than this tree.
    pub fn consistency_proof(&self, old_size: u64) -> Result<Vec<NodeHash>, MerkleError> {
        self.consistency_proof_between(old_size, self.size())
    }

    /// A proof that the tree of the first `old_size` leaves is a prefix of
    /// the tree of the first `new_size` (RFC 9162 §2.1.4.1).
    ///
    /// # Errors
    ///
    /// A [`MerkleError`] unless `0 < old_size <= new_size <= size`.
    pub fn consistency_proof_between(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<NodeHash>, MerkleError> {
        if old_size == 0 || old_size > new_size || new_size > self.size() {
            return Err(MerkleError::BadSizes {
                size1: old_size,
                size2: new_size,
            });
        }
        consistency_proof_with(old_size, new_size, |start, end| {
            Ok::<_, std::convert::Infallible>(self.subtree(start, end))
        })
        .map_err(|never| match never {})
    }

    /// MTH(D\[start:end\]) (RFC 6962 §2.1): the hash of the tree over leaves
    /// `start..end`, e.g. the root of the tree of the first `end` leaves.
    ///
    /// # Errors
    ///
    /// [`MerkleError::BadSizes`] unless `start < end <= size`.
    pub fn subtree_hash(&self, start: u64, end: u64) -> Result<NodeHash, MerkleError> {
        if start >= end || end > self.size() {
            return Err(MerkleError::BadSizes {
                size1: start,
                size2: end,
            });
        }
        Ok(self.subtree(start, end))
    }

    /// The nodes at `height` above the leaves, left to right: node `k` is
    /// the hash of leaves `k·2^height .. (k+1)·2^height`, except that the
    /// last node covers the leaves left when fewer remain. Empty above the
    /// root.
    pub fn level(&self, height: u32) -> &[NodeHash] {
        self.levels.get(height as usize).map_or(&[], Vec::as_slice)
    }
}

/// SUBPROOF(m, D\[0:n\], true) of RFC 9162 §2.1.4.1 over any source of
/// subtree hashes, `subtree(start, end)` giving MTH(D\[start:end\]): the
/// consistency proof from size `old_size` to `new_size`, empty when they
/// are equal. The sizes must satisfy `0 < old_size <= new_size`.
///
/// # Errors
///
/// The first error `subtree` returns.
pub fn consistency_proof_with<E>(
    old_size: u64,
    new_size: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<NodeHash, E>,
) -> Result<Vec<NodeHash>, E> {
    let mut out = Vec::new();
    if 0 < old_size && old_size < new_size {
        subproof(old_size, 0, new_size, true, &mut subtree, &mut out)?;
    }
    Ok(out)
}

fn subproof<E>(
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    subtree: &mut impl FnMut(u64, u64) -> Result<NodeHash, E>,
    out: &mut Vec<NodeHash>,
) -> Result<(), E> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(subtree(start, end)?);
        }
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        subproof(m, start, start + k, complete, subtree, out)?;
        out.push(subtree(start + k, end)?);
    } else {
        subproof(m - k, start + k, end, false, subtree, out)?;
        out.push(subtree(start, start + k)?);
    }
    Ok(())
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// The length an inclusion path must have for `index` in a tree of `size`.
pub fn inclusion_path_len(index: u64, size: u64) -> usize {
    if size == 0 {
        return 0;
    }
    // Levels with a sibling: the number of bits in which index and size-1
    // still differ or the node is not the unpaired last one.
    let (mut i, mut last, mut len) = (index, size - 1, 0);
    while last > 0 {
        if i ^ 1 <= last {
            len += 1;
        }
        i >>= 1;
        last >>= 1;
    }
    len
}

/// Computes the root that `path` leads to from leaf `index` of a tree of
/// `size` leaves (RFC 9162 §2.1.3.2), checking the path has exactly the
/// length those numbers require.
///
/// # Errors
///
/// A [`MerkleError`] when `index` is not below `size` or the path's length is
/// not the one they require.
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &LeafHash,
    path: &[NodeHash],
) -> Result<NodeHash, MerkleError> {
    if size > MAX_TREE_SIZE {
        return Err(MerkleError::TreeTooLarge { found: size });
    }
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_path_len(index, size);
    if path.len() != expected {
        return Err(MerkleError::PathLength {
            expected,
            found: path.len(),
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = NodeHash::from(*leaf);
    for p in path {
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // The length check above makes this hold; kept as the RFC states it.
    if snode != 0 {
        return Err(MerkleError::PathLength {
            expected,
            found: path.len(),
        });
    }
    Ok(r)
}

/// Checks that `path` proves leaf `index` of a tree of `size` with `root`.
///
/// # Errors
///
/// A [`MerkleError`] when the path is malformed for `index` and `size` or leads
/// to another root.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &LeafHash,
    path: &[NodeHash],
    root: &NodeHash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion(index, size, leaf, path)?;
    if computed != *root {
        return Err(MerkleError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Checks a consistency proof between the tree of `size1` leaves with
/// `root1` and the tree of `size2` leaves with `root2` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots; a check from the empty
/// tree proves nothing and is refused.
///
/// # Errors
///
/// A [`MerkleError`] when the sizes are out of order or zero, the proof is
/// malformed, or it does not lead to both roots.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &NodeHash,
    root2: &NodeHash,
    proof: &[NodeHash],
) -> Result<(), MerkleError> {
    let proof: Vec<&[u8]> = proof.iter().map(|h| h.0.as_slice()).collect();
    verify_consistency_bytes(size1, size2, &root1.0, &root2.0, &proof)
}

fn to_hash(bytes: &[u8]) -> Result<NodeHash, MerkleError> {
    <[u8; 32]>::try_from(bytes)
        .map(NodeHash)
        .map_err(|_| MerkleError::HashLength { found: bytes.len() })
}

/// [`verify_consistency`] over hashes as they arrive on the wire, as byte
/// strings whose lengths are checked here.
///
/// With equal sizes the two roots are compared as opaque values.
///
/// # Errors
///
/// A [`MerkleError`] when a hash has the wrong length, or as
/// [`verify_consistency`].
pub fn verify_consistency_bytes(
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[&[u8]],
) -> Result<(), MerkleError> {
    if size1 == 0 || size1 > size2 || size2 > MAX_TREE_SIZE {
        return Err(MerkleError::BadSizes { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(MerkleError::PathLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(MerkleError::RootMismatch {
                expected: to_hash(root2).unwrap_or(NodeHash([0; 32])),
                computed: to_hash(root1).unwrap_or(NodeHash([0; 32])),
            });
        }
        return Ok(());
    }
    let first = to_hash(root1)?;
    let second = to_hash(root2)?;
    let mut hashes = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        hashes.push(first);
    }
    for p in proof {
        hashes.push(to_hash(p)?);
    }
    if hashes.is_empty() || proof.len() > 2 * MAX_PATH_LEN {
        return Err(MerkleError::PathLength {
            expected: 1,
            found: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (hashes[0], hashes[0]);
    for c in &hashes[1..] {
        if snode == 0 {
            return Err(MerkleError::PathLength {
                expected: hashes.len() - 1,
                found: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(MerkleError::PathLength {
            expected: hashes.len(),
            found: proof.len(),
        });
    }
    if fr != first {
        return Err(MerkleError::RootMismatch {
            expected: first,
            computed: fr,
        });
    }
    if sr != second {
        return Err(MerkleError::RootMismatch {
            expected: second,
            computed: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC's recursive definition, straight from the text.
    fn reference_root(leaves: &[NodeHash]) -> NodeHash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = largest_power_of_two_below(leaves.len() as u64) as usize;
        node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
    }

    fn leaves(n: u64) -> Vec<LeafHash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn matches_recursive_definition_and_proofs_verify() {
        for n in 1..=70u64 {
            let ls = leaves(n);
            let tree = Tree::new(ls.clone()).unwrap();
            let as_nodes: Vec<NodeHash> = ls.iter().copied().map(NodeHash::from).collect();
            assert_eq!(tree.root(), reference_root(&as_nodes), "size {n}");
            for i in 0..n {
                let path = tree.inclusion_proof(i).unwrap();
                assert_eq!(path.len(), inclusion_path_len(i, n));
                verify_inclusion(i, n, &ls[i as usize], &path, &tree.root()).unwrap();
                // The same path for the wrong index must fail.
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(verify_inclusion(j, n, &ls[i as usize], &path, &tree.root()).is_err());
                }
            }
            for m in 1..=n {
                let proof = tree.consistency_proof(m).unwrap();
                let old = Tree::new(ls[..m as usize].to_vec()).unwrap();
                verify_consistency(m, n, &old.root(), &tree.root(), &proof).unwrap();
                assert_eq!(tree.subtree(0, m), old.root());
            }
        }
    }

    #[test]
    fn empty_and_out_of_range() {
        assert_eq!(Tree::new(vec![]).unwrap_err(), MerkleError::EmptyTree);
        let tree = Tree::new(leaves(3)).unwrap();
        assert!(matches!(
            tree.inclusion_proof(3),
            Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
        ));
        assert!(tree.consistency_proof(0).is_err());
        assert!(tree.consistency_proof(4).is_err());
    }

    #[test]
    fn known_leaf_hash() {
        // RFC 6962 test data: the hash of the empty leaf.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn salts() {
        assert!(Salt::from_bytes(&[0; 15]).is_err());
        assert!(Salt::from_bytes(&[0; 65]).is_err());
        let a = Salt::random().unwrap();
        let b = Salt::random().unwrap();
        assert_eq!(a.as_bytes().len(), SALT_LEN);
        assert_ne!(a, b);
    }
}
