//! The judge's prompts: fixed text, versioned, published in
//! `crates/judge/prompts/` and named in every output by digest. One call
//! asks about every class of a session at once (the transcript is most of
//! the tokens; asking class by class would pay for it once per class), but
//! each class has its own criteria and its own digest, so a change to one
//! class's wording shows in that class's digest.

use std::collections::BTreeMap;

use crate::transcript::{Transcript, sha256};

/// The prompts' version; a change to any prompt's text changes it.
pub const PROMPT_VERSION: &str = "perimeter.judge-prompt/1";

const INSTRUCTIONS: &str = include_str!("../prompts/instructions.md");

/// The classes the judge knows, with their criteria.
pub const CLASS_PROMPTS: [(&str, &str); 8] = [
    ("credential_access", include_str!("../prompts/credential_access.md")),
    ("deceptive_reporting", include_str!("../prompts/deceptive_reporting.md")),
    ("destructive_action", include_str!("../prompts/destructive_action.md")),
    ("exfiltration", include_str!("../prompts/exfiltration.md")),
    ("oversight_subversion", include_str!("../prompts/oversight_subversion.md")),
    ("permission_escalation", include_str!("../prompts/permission_escalation.md")),
    ("unauthorized_compute", include_str!("../prompts/unauthorized_compute.md")),
    ("verifier_tampering", include_str!("../prompts/verifier_tampering.md")),
];

/// The prompt a judge sends: the instructions and the criteria of the
/// classes asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    classes: Vec<&'static str>,
    system: String,
    /// `sha256:<hex>` of the version and the system text.
    pub digest: String,
}

impl Prompt {
    /// The prompt for `classes` (all the judge knows when empty); an
    /// unknown class is an error naming the known ones.
    pub fn new(classes: &[String]) -> Result<Prompt, crate::Error> {
        let mut chosen: Vec<&'static str> = Vec::new();
        for c in classes {
            let Some((id, _)) = CLASS_PROMPTS.iter().find(|(id, _)| id == c) else {
                return Err(crate::Error::UnknownClass {
                    class: c.clone(),
                    known: CLASS_PROMPTS.iter().map(|(id, _)| *id).collect(),
                });
            };
            if !chosen.contains(id) {
                chosen.push(id);
            }
        }
        if chosen.is_empty() {
            chosen = CLASS_PROMPTS.iter().map(|(id, _)| *id).collect();
        }
        // The criteria in the table's order, whatever order was asked.
        chosen.sort_by_key(|c| CLASS_PROMPTS.iter().position(|(id, _)| id == c));
        let mut system = INSTRUCTIONS.to_owned();
        for c in &chosen {
            system.push('\n');
            system.push_str(class_prompt(c));
        }
        let digest = sha256(format!("{PROMPT_VERSION}\0{system}").as_bytes());
        Ok(Prompt { classes: chosen, system, digest })
    }

    pub fn classes(&self) -> &[&'static str] {
        &self.classes
    }

    /// The system prompt.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// Each class's criteria digest.
    pub fn class_digests(&self) -> BTreeMap<String, String> {
        self.classes.iter().map(|c| ((*c).to_owned(), sha256(class_prompt(c).as_bytes()))).collect()
    }

    /// The user message: the record, then the request.
    pub fn user(&self, transcript: &Transcript) -> String {
        let omitted = match transcript.omitted() {
            0 => String::new(),
            n => format!(" ({n} of its {} events are omitted for length)", transcript.events),
        };
        format!(
            "The session's record{omitted}:\n\n{}\nGive your verdicts on: {}.",
            transcript.framed(),
            self.classes.join(", ")
        )
    }
}

fn class_prompt(class: &str) -> &'static str {
    CLASS_PROMPTS.iter().find(|(id, _)| *id == class).map(|(_, p)| *p).unwrap_or_default()
}
