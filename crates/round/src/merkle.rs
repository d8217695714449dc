//! A commitment to every item the public report publishes: each item's
//! leaf is the RFC 6962 leaf hash of the canonical JSON of `{"kind",
//! "content"}`, the root is the RFC 6962 tree over the leaves in report
//! order, and `public.items.json` holds each item with its audit path, so
//! that anyone holding one item (a claim quoted elsewhere, a key fact) can
//! show it was in the report whose root was published.

use formats::round::{Commitment, PublishedItem, PublishedItems};
use serde_json::{Value, json};

pub const ALGORITHM: &str = "rfc6962-sha256 over canonical JSON of {kind, content}";
pub const ITEMS_FORMAT: &str = "perimeter.public-items/1";

fn leaf(kind: &str, content: &Value) -> bundle::merkle::Hash {
    bundle::merkle::leaf_hash(&bundle::canonical::to_vec(
        &json!({"kind": kind, "content": content}),
    ))
}

/// Commits to items, in order: the commitment and every item's proof.
pub fn commit(items: Vec<(String, Value)>) -> (Commitment, PublishedItems) {
    use bundle::merkle;
    let leaves: Vec<_> = items.iter().map(|(k, c)| leaf(k, c)).collect();
    let root = merkle::hex(&merkle::root(&leaves));
    let published = items
        .into_iter()
        .enumerate()
        .map(|(i, (kind, content))| PublishedItem {
            index: i as u64,
            kind,
            content,
            path: merkle::proof(&leaves, i).iter().map(merkle::hex).collect(),
        })
        .collect();
    let commitment =
        Commitment { algorithm: ALGORITHM.into(), root: root.clone(), items: leaves.len() as u64 };
    (commitment, PublishedItems { format: ITEMS_FORMAT.into(), root, items: published })
}

/// Whether `item` is in the tree of `size` leaves with root `root` (hex).
pub fn verify(item: &PublishedItem, size: u64, root: &str) -> bool {
    let unhex = |h: &str| -> Option<bundle::merkle::Hash> {
        let b: Vec<u8> = (0..h.len())
            .step_by(2)
            .map(|i| h.get(i..i + 2).and_then(|x| u8::from_str_radix(x, 16).ok()))
            .collect::<Option<_>>()?;
        b.try_into().ok()
    };
    let (Some(root), Some(path)) =
        (unhex(root), item.path.iter().map(|p| unhex(p)).collect::<Option<Vec<_>>>())
    else {
        return false;
    };
    bundle::merkle::verify(
        &leaf(&item.kind, &item.content),
        item.index as usize,
        size as usize,
        &path,
        &root,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item verifies against the root; a changed word does not.
    #[test]
    fn each_published_item_proves_its_place() {
        let items: Vec<(String, Value)> =
            (0..7).map(|i| ("claim".to_owned(), json!({"text": format!("claim {i}")}))).collect();
        let (c, published) = commit(items);
        assert_eq!(c.items, 7);
        for item in &published.items {
            assert!(verify(item, c.items, &c.root), "item {}", item.index);
        }
        let mut forged = published.items[3].clone();
        forged.content = json!({"text": "claim 3, reworded"});
        assert!(!verify(&forged, c.items, &c.root));
    }
}
