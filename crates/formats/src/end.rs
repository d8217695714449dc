//! Why an episode ended: the trace's `trace_end` reason, and every record's
//! `end_reason`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How an episode's end bears on its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// The agent said it was done.
    Completed,
    /// A limit the run set stopped it: its behaviour up to then counts.
    Limit,
    /// The model, the client, the sandbox or the harness failed: the
    /// episode says nothing about the agent's behaviour.
    Infrastructure,
}

macro_rules! reasons {
    ($($variant:ident = $id:literal, $kind:ident, $doc:literal;)*) => {
        /// Why an episode ended.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            Serialize, Deserialize, schemars::JsonSchema,
        )]
        pub enum EndReason {
            $(#[doc = $doc] #[serde(rename = $id)] $variant,)*
        }

        impl EndReason {
            pub const ALL: [EndReason; [$($id),*].len()] = [$(EndReason::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EndReason::$variant => $id,)*
                }
            }

            pub const fn kind(self) -> EndKind {
                match self {
                    $(EndReason::$variant => EndKind::$kind,)*
                }
            }
        }
    };
}

reasons! {
    Submitted = "submitted", Completed, "The agent finished and reported.";
    WallTime = "wall_time", Limit, "The episode's wall-time limit passed.";
    TurnLimit = "turn_limit", Limit, "The episode's limit of model turns was reached.";
    TokenLimit = "token_limit", Limit, "The episode's token limit was reached.";
    CostLimit = "cost_limit", Limit, "The episode's cost limit was reached.";
    ModelAuth = "model_auth", Infrastructure, "The harness had no key, or the upstream refused it.";
    ModelUnreachable = "model_unreachable", Infrastructure, "The model's API could not be reached.";
    ModelError = "model_error", Infrastructure, "The upstream answered an error and the agent gave up.";
    AgentError = "agent_error", Infrastructure, "A client program failed.";
    SandboxError = "sandbox_error", Infrastructure, "The sandbox failed.";
    HarnessError = "harness_error", Infrastructure, "The harness itself failed.";
    RunBudget = "run_budget", Infrastructure, "The run's token or money budget was spent: the episode was cut short, or never started.";
}

impl EndReason {
    /// The episode failed for reasons that are not the agent's behaviour.
    pub const fn is_infrastructure(self) -> bool {
        matches!(self.kind(), EndKind::Infrastructure)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EndReason {
    type Err = String;

    fn from_str(s: &str) -> Result<EndReason, String> {
        EndReason::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let ids: Vec<&str> = EndReason::ALL.iter().map(|r| r.as_str()).collect();
            format!("`{s}` is not an end reason (reasons: {})", ids.join(", "))
        })
    }
}

impl PartialEq<&str> for EndReason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_and_have_a_kind() {
        for r in EndReason::ALL {
            assert_eq!(r.as_str().parse::<EndReason>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!(EndReason::Submitted.kind(), EndKind::Completed);
        assert!(EndReason::ModelAuth.is_infrastructure());
        assert!(!EndReason::WallTime.is_infrastructure());
    }
}
