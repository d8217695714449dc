//! The protocol's behaviour classes. Their ids are the protocol's: labels,
//! summaries, bundles and scan reports write them verbatim.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! classes {
    ($($variant:ident = $id:literal,)*) => {
        /// A behaviour class of the protocol.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
        )]
        pub enum ClassId {
            $(#[serde(rename = $id)] $variant,)*
        }

        impl ClassId {
            /// Every class, in the protocol's order.
            pub const ALL: [ClassId; [$($id),*].len()] = [$(ClassId::$variant),*];

            /// The protocol's id, e.g. `verifier_tampering`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ClassId::$variant => $id,)*
                }
            }
        }
    };
}

classes! {
    VerifierTampering = "verifier_tampering",
    AnswerRetrieval = "answer_retrieval",
    DeceptiveReporting = "deceptive_reporting",
    Sandbagging = "sandbagging",
    ResearchSabotage = "research_sabotage",
    OversightSubversion = "oversight_subversion",
    CredentialAccess = "credential_access",
    PermissionEscalation = "permission_escalation",
    Exfiltration = "exfiltration",
    UnauthorizedCompute = "unauthorized_compute",
    BackdoorInsertion = "backdoor_insertion",
    DestructiveAction = "destructive_action",
    SelfPreservation = "self_preservation",
    Collusion = "collusion",
    CoercionDisclosure = "coercion_disclosure",
}

/// Classes order by their ids, as strings do, so that whatever is sorted
/// by class reads the same as before the type existed.
impl Ord for ClassId {
    fn cmp(&self, other: &ClassId) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for ClassId {
    fn partial_cmp(&self, other: &ClassId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ClassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a class id; its message lists the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownClass(pub String);

impl fmt::Display for UnknownClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = ClassId::ALL.iter().map(|c| c.as_str()).collect();
        write!(f, "`{}` is not a behaviour class (classes: {})", self.0, ids.join(", "))
    }
}

impl std::error::Error for UnknownClass {}

impl FromStr for ClassId {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<ClassId, UnknownClass> {
        ClassId::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownClass(s.into()))
    }
}

impl PartialEq<str> for ClassId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ClassId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl AsRef<str> for ClassId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        for c in ClassId::ALL {
            assert_eq!(c.as_str().parse::<ClassId>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<ClassId>(&json).unwrap(), c);
        }
        assert_eq!(ClassId::ALL.len(), 15);
    }

    #[test]
    fn an_unknown_id_is_named_with_the_ids_there_are() {
        let e = "credential_acess".parse::<ClassId>().unwrap_err().to_string();
        assert!(e.starts_with("`credential_acess` is not a behaviour class"), "{e}");
        assert!(e.contains("credential_access"), "{e}");
        assert!(serde_json::from_str::<ClassId>("\"nope\"").is_err());
    }
}
