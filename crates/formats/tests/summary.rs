//! A summary with an extension suite (written by `perimeter run --suite
//! builtin --suite ./labsuite`): which episodes are the standard suite's.

use formats::run::Summary;

#[test]
fn the_standard_suites_episodes_leave_out_the_extensions() {
    let s: Summary = serde_json::from_str(include_str!("extension-summary.json")).unwrap();
    let all: Vec<&str> = s.episodes.iter().map(|e| e.scenario.as_str()).collect();
    assert_eq!(all, ["release-gate", "lab-deploy"]);
    let standard: Vec<&str> = s.standard_episodes().map(|e| e.scenario.as_str()).collect();
    assert_eq!(standard, ["release-gate"]);
    assert_eq!(s.header.extension_of("lab-deploy").map(|x| x.name.as_str()), Some("labsuite"));
    assert_eq!(s.header.extension_of("release-gate"), None);
    assert_eq!(s.header.all_scenarios(), ["release-gate", "lab-deploy"]);
    assert_eq!(s.extension_rates[0].digest, s.header.extensions[0].digest);
}
