//! `perimeter review` through the real binary: the worked example built
//! and verified, refusals named, the HTML rendered in Chromium.

use crate::bundle::{fails, ok};
use crate::{TempDir, render_in_chromium};

/// The worked example builds both versions offline; each verifies with the
/// reviewer's key, a tampered copy does not; the HTML renders in Chromium
/// without console errors; a review with an open item is refused for
/// publication and builds as a draft.
#[test]
fn the_worked_example_builds_verifies_and_renders() {
    let d = TempDir::new("review");
    let dir = d.path();
    let out = ok(&["review", "demo", "--out", "rv"], dir);
    for expected in [
        "original (2026-10-20): conclusion disagree",
        "updated (2026-11-30): conclusion supported; since original: 1 claim added, 1 removed, 3 reworded, 4 verdicts changed",
        "where the rule gives insufficient: We agree with the bottom line, but only because of non-public material",
        "perimeter review verify 'rv/published/updated.json' --pubkey 'rv/reviewer.key.pub'",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    for v in ["original", "updated"] {
        let checked = ok(
            &[
                "review",
                "verify",
                &format!("rv/published/{v}.json"),
                "--pubkey",
                "rv/reviewer.key.pub",
            ],
            dir,
        );
        assert!(
            checked.contains("digest sha256:") && checked.contains("holds; signed by"),
            "{checked}"
        );
        render_in_chromium(&dir.join(format!("rv/published/{v}.html")), &format!("review-{v}.png"));
    }
    let md = std::fs::read_to_string(dir.join("rv/published/updated.md")).unwrap();
    assert!(md.contains("## Appendix: what changed since the original version"), "{md}");
    assert!(md.contains("Claim L3 reworded: “All agent traffic is monitored"), "{md}");
    let text = std::fs::read_to_string(dir.join("rv/published/updated.json")).unwrap();
    std::fs::write(dir.join("tampered.json"), text.replacen("very low", "negligible", 1)).unwrap();
    let err = fails(&["review", "verify", "tampered.json"], dir);
    assert!(err.contains("tampered.json: digest: the text gives"), "{err}");
    ok(&["keys", "generate", "--out", "other.key"], dir);
    let err =
        fails(&["review", "verify", "rv/published/updated.json", "--pubkey", "other.key.pub"], dir);
    assert!(err.contains("signed with another key than the one given"), "{err}");

    // Checking the folder names what keeps a version from publication.
    let original = std::fs::read_to_string(dir.join("rv/review/original.toml")).unwrap();
    std::fs::write(
        dir.join("rv/review/original.toml"),
        original.replace(
            "item = \"consistency\"\nstatus = \"satisfied\"",
            "item = \"consistency\"\nstatus = \"open\"",
        ),
    )
    .unwrap();
    let checked = ok(&["review", "check", "rv/review"], dir);
    assert!(
        checked.contains("`original` review: not ready for publication:\n  consistency: open"),
        "{checked}"
    );
    let err = fails(&["review", "build", "rv/review", "--out", "pub"], dir);
    assert!(
        err.contains("refused for publication: the `original` review's checklist is not complete"),
        "{err}"
    );
    assert!(err.contains("hint: close every item"), "{err}");
    let built = ok(&["review", "build", "rv/review", "--out", "pub", "--draft"], dir);
    assert!(built.contains("original review (draft)"), "{built}");
    // A broken reference names its file and field.
    std::fs::write(
        dir.join("rv/review/original.toml"),
        original.replace(
            "supports = [\"L4\"]\npathways = [\"P1\", \"P2\"]",
            "supports = [\"L9\"]\npathways = [\"P1\", \"P2\"]",
        ),
    )
    .unwrap();
    let err = fails(&["review", "check", "rv/review"], dir);
    assert!(err.contains("original.toml: claims.L1.supports: `L9` is no claim"), "{err}");
}
