//! The round's reports as data (`perimeter.round-report/1`): one public
//! report, and one private report per participant. Both are computed from
//! the bundles present, the participants' decisions and the round's seed
//! alone, so a participant that left leaves no trace in them.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::claims::{self, Importance};
use crate::disclosure::{self, Approval, Attribution, Decisions, Resolved};
use crate::folder::{Member, registered_key};
use crate::pool::{self, MIN_PARTICIPANTS, Pooled, Rate};

pub const FORMAT: &str = "perimeter.round-report/1";

/// What was run, for the report's header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    pub protocol: Value,
    pub suite_digest: Value,
    pub window: Value,
    /// The participants, in the order they registered.
    pub participants: Vec<String>,
}

/// One bundle's line in the comparability table. It holds no episode
/// count: with one, the denominator of a non-attributed claim could name
/// its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparability {
    pub participant: String,
    pub scaffold: Value,
    pub protocol: Value,
    pub suite_digest: Value,
    pub limits: Value,
    pub comparable: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicClaim {
    pub topic: String,
    pub importance: Importance,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributedClaims {
    pub participant: String,
    /// The date of the written approval.
    pub approved: String,
    /// The approval is signed with the participant's registered key (else
    /// the evaluator recorded it).
    pub signed: bool,
    pub claims: Vec<PublicClaim>,
}

/// A withheld high-importance claim the participant allowed a note on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotedRedaction {
    pub topic: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Public {
    pub format: &'static str,
    pub kind: &'static str,
    #[serde(flatten)]
    pub header: Header,
    pub comparability: Vec<Comparability>,
    /// Over the comparable participants; `None` below two of them.
    pub pooled: Option<Pooled>,
    pub attributed: Vec<AttributedClaims>,
    /// In an order drawn from the round's seed and each claim's text alone.
    pub non_attributed: Vec<PublicClaim>,
    pub noted_redactions: Vec<NotedRedaction>,
    pub redaction_summary: String,
}

/// A class (or usefulness) in a private report: the participant's own rate
/// and the pooled rate of the other comparable participants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextRow {
    pub class: String,
    pub own: Rate,
    pub others: Option<Rate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Private {
    pub format: &'static str,
    pub kind: &'static str,
    pub participant: String,
    #[serde(flatten)]
    pub header: Header,
    pub comparability: Comparability,
    /// How many other participants the context pools (0: not shown, as
    /// fewer than two others are comparable, or this bundle is not).
    pub others: usize,
    pub rows: Vec<ContextRow>,
    pub claims: Vec<Resolved>,
    pub approval: Option<Approval>,
    /// The approval is signed with this participant's registered key.
    pub approval_signed: bool,
    pub redaction_summary: String,
}

/// Everything `round report` writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Reports {
    pub public: Public,
    pub private: Vec<Private>,
    /// For the evaluator: participants whose decisions are missing, and
    /// claims flagged by the policy.
    pub warnings: Vec<String>,
}

fn comparability(m: &Member) -> Comparability {
    let manifest = &m.bundle["manifest"];
    Comparability {
        participant: m.participant.clone(),
        scaffold: manifest["scaffold"].clone(),
        protocol: manifest["protocol"].clone(),
        suite_digest: manifest["suite"]["digest"].clone(),
        limits: manifest["limits"].clone(),
        comparable: m.incomparable.is_empty(),
        reasons: m.incomparable.clone(),
    }
}

fn public_claim(r: &Resolved) -> PublicClaim {
    PublicClaim {
        topic: r.claim.topic.clone(),
        importance: r.claim.importance,
        text: r.final_text.clone(),
    }
}

/// The rows of a private report: each class, then usefulness. The
/// participant's own rates are those its bundle signed, where it has them.
fn rows(bundle: &Value, own: &Pooled, others: Option<&Pooled>) -> Vec<ContextRow> {
    let signed = |list: &str, class: Option<&str>, computed: &Rate| {
        claims::own_rate(bundle, list, class)
            .and_then(Rate::from_summary)
            .unwrap_or_else(|| computed.clone())
    };
    let mut rows: Vec<ContextRow> = own
        .classes
        .iter()
        .map(|c| ContextRow {
            class: c.class.clone(),
            own: signed("classes", Some(&c.class), &c.rate),
            others: others
                .and_then(|o| o.classes.iter().find(|x| x.class == c.class))
                .map(|x| x.rate.clone()),
        })
        .collect();
    rows.push(ContextRow {
        class: "usefulness".into(),
        own: signed("usefulness", None, &own.usefulness),
        others: others.map(|o| o.usefulness.clone()),
    });
    rows
}

impl Private {
    /// A `perimeter.disclosure/1` file holding the decisions as they stand
    /// (the defaults where none was made), for the participant to edit and
    /// sign off: its approval is left blank, so that `round disclose`
    /// refuses it until someone approves it in writing.
    pub fn decision_template(&self) -> Value {
        let claims: serde_json::Map<String, Value> = self
            .claims
            .iter()
            .map(|c| {
                let mut d = serde_json::json!({ "attribution": c.attribution });
                if let Some(note) = &c.note {
                    d["note"] = note.as_str().into();
                }
                if c.final_text != c.claim.text {
                    d["text"] = c.final_text.as_str().into();
                }
                (c.claim.id.clone(), d)
            })
            .collect();
        let approval = self.approval.as_ref().map_or_else(
            || serde_json::json!({"by": "", "date": "", "statement": ""}),
            |a| serde_json::to_value(a).expect("serializes"),
        );
        serde_json::json!({
            "format": disclosure::FORMAT,
            "participant": self.participant,
            "approval": approval,
            "claims": claims,
        })
    }
}

/// A participant's decisions, and whether its registered key signed them.
type Signed = (Decisions, bool);

/// Builds every report of a round from its `round.json` and members.
pub fn build(round: &Value, members: &[Member]) -> Result<Reports, String> {
    let seed = round["seed"].as_u64().unwrap_or(0);
    let header = Header {
        protocol: round["protocol"].clone(),
        suite_digest: round["suite_digest"].clone(),
        window: round["window"].clone(),
        participants: round["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect(),
    };
    let comparable: Vec<(&str, &Value)> = members
        .iter()
        .filter(|m| m.incomparable.is_empty())
        .map(|m| (m.participant.as_str(), &m.bundle))
        .collect();
    let pooled = (comparable.len() >= MIN_PARTICIPANTS).then(|| pool::pool(&comparable, seed));
    let mut warnings = Vec::new();
    let mut resolved: Vec<(&Member, Option<Signed>, Vec<Resolved>)> = Vec::new();
    for m in members {
        let claims = claims::extract(&m.bundle);
        let decisions = match &m.disclosure {
            Some(doc) => {
                let stale = |p: String| {
                    format!("{}'s stored decisions no longer apply: {p}", m.participant)
                };
                let signed =
                    disclosure::check_signature(doc, &registered_key(round, &m.participant)?)
                        .map_err(stale)?;
                let d = disclosure::read(doc, &m.participant, &claims)
                    .map_err(|p| stale(p.join("; ")))?;
                Some((d, signed))
            }
            None => {
                warnings.push(format!(
                    "{}: no disclosure decisions yet; its claims are unpublished, except those that cannot be withheld",
                    m.participant
                ));
                None
            }
        };
        let r = disclosure::resolve(&claims, decisions.as_ref().map(|(d, _)| d));
        for c in r.iter().filter(|c| c.flagged()) {
            warnings.push(format!(
                "{}: {} ({}, high importance) is withheld without comment; the redaction summary statement says so",
                m.participant, c.claim.id, c.claim.topic
            ));
        }
        resolved.push((m, decisions, r));
    }
    let flagged: usize =
        resolved.iter().map(|(_, _, r)| r.iter().filter(|c| c.flagged()).count()).sum();
    let flagging = resolved.iter().filter(|(_, _, r)| r.iter().any(Resolved::flagged)).count();
    let redaction_summary = disclosure::statement(flagged, flagging);

    let mut attributed = Vec::new();
    let mut non_attributed = Vec::new();
    let mut noted = Vec::new();
    for (m, decisions, r) in &resolved {
        let mine: Vec<PublicClaim> = r
            .iter()
            .filter(|c| c.attribution == Attribution::Attributed)
            .map(public_claim)
            .collect();
        if let (false, Some((d, signed))) = (mine.is_empty(), decisions) {
            attributed.push(AttributedClaims {
                participant: m.participant.clone(),
                approved: d.approval.date.clone(),
                signed: *signed,
                claims: mine,
            });
        }
        non_attributed.extend(
            r.iter().filter(|c| c.attribution == Attribution::NonAttributed).map(public_claim),
        );
        noted.extend(
            r.iter()
                .filter(|c| {
                    c.attribution == Attribution::Withheld && c.claim.importance == Importance::High
                })
                .filter_map(|c| {
                    c.note.as_ref().map(|note| NotedRedaction {
                        topic: c.claim.topic.clone(),
                        note: note.clone(),
                    })
                }),
        );
    }
    attributed.sort_by(|a, b| a.participant.cmp(&b.participant));
    let order = |text: &str| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(text.as_bytes());
        h.finalize().into()
    };
    non_attributed.sort_by_cached_key(|c| order(&c.text));
    noted.sort_by_cached_key(|n| order(&n.note));

    let one = |(m, decisions, r): &(&Member, Option<Signed>, Vec<Resolved>)| {
        let own = pool::pool(&[(m.participant.as_str(), &m.bundle)], seed);
        let others: Vec<(&str, &Value)> =
            comparable.iter().filter(|(p, _)| *p != m.participant).copied().collect();
        let context = (m.incomparable.is_empty() && others.len() >= MIN_PARTICIPANTS)
            .then(|| pool::pool(&others, seed));
        Private {
            format: FORMAT,
            kind: "private",
            participant: m.participant.clone(),
            header: header.clone(),
            comparability: comparability(m),
            others: context.as_ref().map_or(0, |c| c.participants),
            rows: rows(&m.bundle, &own, context.as_ref()),
            claims: r.clone(),
            approval: decisions.as_ref().map(|(d, _)| d.approval.clone()),
            approval_signed: decisions.as_ref().is_some_and(|(_, signed)| *signed),
            redaction_summary: redaction_summary.clone(),
        }
    };
    // Each private report bootstraps the other participants' pooled rates
    // afresh, the costly part of a large round: spread over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = resolved.len().div_ceil(threads).max(1);
    let private: Vec<Private> = std::thread::scope(|s| {
        let one = &one;
        let handles: Vec<_> = resolved
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("building a report does not panic"))
            .collect()
    });
    let mut table: Vec<Comparability> = members.iter().map(comparability).collect();
    table.sort_by(|a, b| a.participant.cmp(&b.participant));
    Ok(Reports {
        public: Public {
            format: FORMAT,
            kind: "public",
            header,
            comparability: table,
            pooled,
            attributed,
            non_attributed,
            noted_redactions: noted,
            redaction_summary,
        },
        private,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A comparable member whose agent is public (so its results are
    /// published non-attributed without a decision), with `hits` episodes
    /// of 4 labelled `exfiltration`.
    fn member(id: &str, hits: usize) -> Member {
        let episodes: Vec<Value> = (0..4)
            .map(|i| {
                let labels = if i < hits { json!([{"class": "exfiltration"}]) } else { json!([]) };
                json!({"scenario": format!("s{i}"), "labels": labels, "main_task_success": true, "eval_aware": false})
            })
            .collect();
        Member {
            participant: id.into(),
            bundle: json!({"manifest": {"participant": id, "agent": "scripted:x", "scaffold": "scripted"},
                "content": {"episodes": episodes, "rates": {"classes": []}}}),
            incomparable: vec![],
            disclosure: None,
        }
    }

    fn round(ids: &[&str]) -> Value {
        let participants: Vec<Value> = ids.iter().map(|i| json!({"id": i})).collect();
        json!({"protocol": "p", "suite_digest": "d", "window": null, "seed": 9, "participants": participants})
    }

    #[test]
    fn reports_depend_on_the_set_of_members_not_their_order() {
        let (a, b, c) = (member("a", 1), member("b", 2), member("c", 0));
        let one = build(&round(&["a", "b", "c"]), &[a.clone(), b.clone(), c.clone()]).unwrap();
        let other = build(&round(&["a", "b", "c"]), &[c.clone(), a.clone(), b.clone()]).unwrap();
        assert_eq!(one.public, other.public);
        assert_eq!(one.public.pooled.as_ref().unwrap().participants, 3);
        // Undecided claims of public agents are published, anonymized.
        assert!(one.public.attributed.is_empty());
        assert!(one.public.non_attributed.iter().any(|c| c.text.contains("in 2 of 4 episodes")));
        assert_eq!(one.warnings.len(), 3, "{:?}", one.warnings);
        // Each private report shows the other two, pooled.
        let pa = one.private.iter().find(|p| p.participant == "a").unwrap();
        assert_eq!(pa.others, 2);
        let ex = pa.rows.iter().find(|r| r.class == "exfiltration").unwrap();
        assert_eq!((ex.own.k, ex.others.as_ref().unwrap().k), (1, 2));
        // The decision template holds the decisions as they stand, and is
        // refused until someone approves it in writing.
        let template = pa.decision_template();
        assert_eq!(template["claims"]["C1"]["attribution"], "non_attributed");
        let claims = crate::claims::extract(&a.bundle);
        let errs = disclosure::read(&template, "a", &claims).unwrap_err();
        assert!(errs.iter().all(|e| e.starts_with("approval.")), "{errs:?}");
    }

    #[test]
    fn context_needs_two_other_comparable_participants() {
        let mut c = member("c", 0);
        c.incomparable = vec!["suite digest differs".into()];
        let r = build(&round(&["a", "b", "c"]), &[member("a", 1), member("b", 2), c]).unwrap();
        let pooled = r.public.pooled.as_ref().unwrap();
        assert_eq!((pooled.participants, pooled.episodes), (2, 8));
        for p in &r.private {
            assert_eq!(
                p.others, 0,
                "{}: one other comparable participant is not context",
                p.participant
            );
            assert!(p.rows.iter().all(|row| row.others.is_none()));
        }
        let two = build(&round(&["a", "b"]), &[member("a", 1)]).unwrap();
        assert_eq!(two.public.pooled, None, "one participant is not pooled");
    }
}
