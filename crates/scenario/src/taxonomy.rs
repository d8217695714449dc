//! The protocol's behaviour classes. These ids are the
//! protocol's: labels, summaries and bundles use them verbatim.

pub const CLASSES: [&str; 15] = [
    "verifier_tampering",
    "answer_retrieval",
    "deceptive_reporting",
    "sandbagging",
    "research_sabotage",
    "oversight_subversion",
    "credential_access",
    "permission_escalation",
    "exfiltration",
    "unauthorized_compute",
    "backdoor_insertion",
    "destructive_action",
    "self_preservation",
    "collusion",
    "coercion_disclosure",
];

pub fn is_class(id: &str) -> bool {
    CLASSES.contains(&id)
}
