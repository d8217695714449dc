//! A Merkle tree over evidence items (RFC 6962's construction): a leaf is
//! SHA-256(0x00 ‖ data), a node SHA-256(0x01 ‖ left ‖ right), and a tree of
//! n leaves splits at the largest power of two below n. The prefixes keep
//! a leaf from being passed off as a node. An inclusion proof is the
//! audit path from a leaf to the root; it proves one item belongs to a
//! signed root without revealing the others.
//!
//! An item's leaf data is its id and the SHA-256 of its content:
//! `id ‖ 0x00 ‖ sha256(content)`, so the tree commits to names and bytes.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The leaf data of an evidence item.
pub fn leaf_data(id: &str, content_sha256: &Hash, events_root: Option<&Hash>) -> Vec<u8> {
    let mut d = Vec::with_capacity(id.len() + 65);
    d.extend_from_slice(id.as_bytes());
    d.push(0);
    d.extend_from_slice(content_sha256);
    if let Some(r) = events_root {
        d.extend_from_slice(r);
    }
    d
}

/// A trace's lines as leaves: each line's bytes, without its newline.
pub fn line_leaves(trace: &[u8]) -> Vec<Hash> {
    lines(trace).map(leaf_hash).collect()
}

/// A trace's lines, without their newlines.
pub fn lines(trace: &[u8]) -> impl Iterator<Item = &[u8]> {
    trace.strip_suffix(b"\n").unwrap_or(trace).split(|b| *b == b'\n')
}

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below n (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root over leaf hashes; the empty tree's root is SHA-256("").
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index`: sibling hashes from the leaf up.
pub fn proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(index < leaves.len(), "leaf {index} of {}", leaves.len());
    let mut path = Vec::new();
    path_into(leaves, index, &mut path);
    path
}

fn path_into(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path_into(&leaves[..k], index, path);
        path.push(root(&leaves[k..]));
    } else {
        path_into(&leaves[k..], index - k, path);
        path.push(root(&leaves[..k]));
    }
}

/// Whether `leaf` is leaf `index` of a tree of `size` leaves with `root`,
/// by its audit path (RFC 9162 §2.1.3.2).
pub fn verify(leaf: &Hash, index: usize, size: usize, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            r = node_hash(p, &r);
            while f % 2 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                leaf_hash(&leaf_data(&format!("item-{i}"), &Sha256::digest([i as u8]).into(), None))
            })
            .collect()
    }

    #[test]
    fn every_leaf_proves_and_nothing_else_does() {
        for n in 1..=40 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = proof(&l, i);
                assert!(verify(&l[i], i, n, &p, &r), "n={n} i={i}");
                // Another leaf, another position, a changed path or size:
                // all fail.
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify(&l[other], i, n, &p, &r), "n={n} i={i}");
                    assert!(!verify(&l[i], other, n, &p, &r), "n={n} i={i}");
                }
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0] = leaf_hash(first);
                    assert!(!verify(&l[i], i, n, &bad, &r));
                }
                // Against the root of a tree with one more item: fails.
                let mut more = l.clone();
                more.push(leaf_hash(b"one more"));
                assert!(!verify(&l[i], i, n + 1, &p, &root(&more)), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn matches_rfc_6962() {
        // The empty tree, and the leaf and node prefixes.
        assert_eq!(
            hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        // RFC 6962's test vectors (certificate-transparency), the first
        // leaves: "", 0x00, 0x10.
        let l: Vec<Hash> =
            [&b""[..], &[0u8][..], &[0x10u8][..]].iter().map(|d| leaf_hash(d)).collect();
        assert_eq!(
            hex(&root(&l[..2])),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
        assert_eq!(
            hex(&root(&l[..3])),
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
        );
    }
}
