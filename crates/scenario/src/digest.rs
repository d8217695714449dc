//! The suite and scenario digests: SHA-256 over an unambiguous encoding of
//! every file, so that no two different sets of files (a name containing a
//! newline, a file moved between a scenario and its base) encode to the
//! same bytes.
//!
//! # Encoding (`perimeter.scenario/2`)
//!
//! ```text
//! "perimeter.scenario/2" 0x00
//! for each of the scenario's own files, sorted by path (bytes):
//!     0x01  u64be(len(path)) path  exec(0x00|0x01)  sha256(content) (32 bytes)
//! for each layered tree (today only `home_base`):
//!     0x02  u64be(len(role)) role  u64be(len(name)) name  u64be(number of files)
//!     then each of its files, sorted by path, encoded as above
//! ```
//!
//! A suite's digest (`perimeter.suite/2`) is the SHA-256 of
//! `"perimeter.suite/2" 0x00 u64be(len(name)) name u64be(number of scenarios)`
//! followed by `u64be(len(id)) id digest(32 bytes)` for each scenario in id
//! order. Every variable-length field carries its length, so the encoding
//! is injective: any added, removed or renamed file, any changed byte or
//! executable bit, changes the digest.

use sha2::{Digest, Sha256};

use crate::File;

const SCENARIO_TAG: &[u8] = b"perimeter.scenario/2";
const SUITE_TAG: &[u8] = b"perimeter.suite/2";

/// A tree laid into a scenario from the suite's `_shared/` (a home base):
/// its role, its name and its files.
pub(crate) struct Layer<'a> {
    pub role: &'static str,
    pub name: &'a str,
    pub files: &'a [File],
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn files(h: &mut Sha256, files: &[File]) {
    let mut sorted: Vec<&File> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    for f in sorted {
        h.update([0x01]);
        field(h, f.path.as_bytes());
        h.update([u8::from(f.executable)]);
        h.update(Sha256::digest(&f.content));
    }
}

/// `sha256:<hex>` over a scenario's own files (paths relative to its
/// directory) and the layers it builds on.
pub(crate) fn scenario(own: &[File], layers: &[Layer<'_>]) -> String {
    let mut h = Sha256::new();
    h.update(SCENARIO_TAG);
    h.update([0]);
    files(&mut h, own);
    for layer in layers {
        h.update([0x02]);
        field(&mut h, layer.role.as_bytes());
        field(&mut h, layer.name.as_bytes());
        h.update((layer.files.len() as u64).to_be_bytes());
        files(&mut h, layer.files);
    }
    format!("sha256:{:x}", h.finalize())
}

/// A scenario's digest once a policy file was added to it: the SHA-256 of
/// `perimeter.policies/1` `0x00`, the scenario's digest (32 bytes) and the
/// length-prefixed text added.
pub(crate) fn with_policies(scenario: &str, text: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"perimeter.policies/1");
    h.update([0]);
    h.update(decode_hex(scenario.strip_prefix("sha256:").unwrap_or(scenario)));
    field(&mut h, text);
    format!("sha256:{:x}", h.finalize())
}

/// `sha256:<hex>` over a suite's name and its scenarios' ids and digests,
/// which must come sorted by id.
pub(crate) fn suite<'a>(
    name: &str,
    scenarios: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut h = Sha256::new();
    h.update(SUITE_TAG);
    h.update([0]);
    field(&mut h, name.as_bytes());
    h.update((scenarios.len() as u64).to_be_bytes());
    for (id, digest) in scenarios {
        field(&mut h, id.as_bytes());
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        h.update(decode_hex(hex));
    }
    format!("sha256:{:x}", h.finalize())
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn file(path: &str, executable: bool, content: &[u8]) -> File {
        File { path: path.into(), executable, content: content.to_vec() }
    }

    /// Paths from a small alphabet that includes separators, spaces and
    /// newlines: the characters an ambiguous encoding would trip on.
    fn path() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ab/ \n.]{1,6}").expect("a regex")
    }

    fn tree() -> impl Strategy<Value = Vec<File>> {
        proptest::collection::btree_map(
            path(),
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..8)),
            1..6,
        )
        .prop_map(|m| m.into_iter().map(|(p, (x, c))| file(&p, x, &c)).collect())
    }

    #[test]
    fn a_newline_in_a_name_cannot_absorb_a_neighbour() {
        // Under the old line-per-file encoding these two encoded alike.
        let content = b"x";
        let hash = format!("{:x}", Sha256::digest(content));
        let a = [file("a", false, content), file("b", false, content)];
        let b = [file(&format!("a 0 {hash}\nb"), false, content)];
        assert_ne!(scenario(&a, &[]), scenario(&b, &[]));
        // A file moved from the scenario into its base changes the digest.
        let base = [file("lab/x.py", false, b"1")];
        let own = [file("home/lab/x.py", false, b"1")];
        let layer = Layer { role: "home", name: "nanolm", files: &base };
        assert_ne!(scenario(&[], &[layer]), scenario(&own, &[]));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Removing, renaming or changing any file, or flipping its
        /// executable bit, changes the digest, in the scenario's own files
        /// and in a layer alike.
        #[test]
        fn any_change_changes_the_digest(
            own in tree(),
            base in tree(),
            in_base in any::<bool>(),
            which in any::<prop::sample::Index>(),
            edit in 0..4u8,
            new_name in path(),
            byte in any::<u8>(),
        ) {
            let digest = |own: &[File], base: &[File]| {
                scenario(own, &[Layer { role: "home", name: "b", files: base }])
            };
            let before = digest(&own, &base);
            let (mut own2, mut base2) = (own.clone(), base.clone());
            let target = if in_base { &mut base2 } else { &mut own2 };
            let i = which.index(target.len());
            match edit {
                0 => {
                    target.remove(i);
                }
                1 => {
                    prop_assume!(!target.iter().any(|f| f.path == new_name));
                    target[i].path = new_name;
                }
                2 => target[i].content.push(byte),
                _ => target[i].executable = !target[i].executable,
            }
            prop_assert_ne!(before, digest(&own2, &base2));
        }
    }
}
