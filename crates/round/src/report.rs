//! The round's reports as data (`perimeter.round-report/1`): one public
//! report, and one private report per participant. Both are computed from
//! the bundles present, the participants' decisions and the round's seed
//! alone, so a participant that left leaves no trace in them.

use formats::bundle::Bundle;
use formats::round::RoundFile;
pub use formats::round::{
    AttributedClaims, Comparability, ContextRow, Header, NotedRedaction, Private, Public,
    PublicClaim,
};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::claims::{self, Importance};
use crate::disclosure::{self, Approval, Attribution, Decision, Decisions, Resolved};
use crate::folder::{Member, registered_key};
use crate::pool::{self, MIN_PARTICIPANTS, Pooled, Rate};

pub const FORMAT: &str = formats::round::REPORT_FORMAT;

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
    let manifest = &m.bundle.manifest;
    Comparability {
        participant: m.participant.clone(),
        scaffold: manifest.scaffold.clone(),
        protocol: manifest.protocol.clone(),
        suite_digest: manifest.suite.digest.clone(),
        limits: manifest.limits.clone(),
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
fn rows(bundle: &Bundle, own: &Pooled, others: Option<&Pooled>) -> Vec<ContextRow> {
    let signed = |class, computed: &Rate| {
        claims::own_rate(bundle, class).map_or_else(|| computed.clone(), pool::from_summary)
    };
    let mut rows: Vec<ContextRow> = own
        .classes
        .iter()
        .map(|c| ContextRow {
            class: c.class.to_string(),
            own: signed(Some(c.class), &c.rate),
            others: others
                .and_then(|o| o.classes.iter().find(|x| x.class == c.class))
                .map(|x| x.rate.clone()),
        })
        .collect();
    rows.push(ContextRow {
        class: "usefulness".into(),
        own: signed(None, &own.usefulness),
        others: others.map(|o| o.usefulness.clone()),
    });
    rows
}

/// A `perimeter.disclosure/1` file holding a private report's decisions
/// as they stand (the defaults where none was made), for the participant to
/// edit and sign off: its approval is left blank, so that `round disclose`
/// refuses it until someone approves it in writing.
pub fn decision_template(private: &Private) -> Decisions {
    let claims = private
        .claims
        .iter()
        .map(|c| {
            let d = Decision {
                attribution: c.attribution,
                note: c.note.clone(),
                text: (c.final_text != c.claim.text).then(|| c.final_text.clone()),
            };
            (c.claim.id.clone(), d)
        })
        .collect();
    let blank = || Approval { by: String::new(), date: String::new(), statement: String::new() };
    Decisions {
        format: disclosure::FORMAT.into(),
        participant: private.participant.clone(),
        approval: private.approval.clone().unwrap_or_else(blank),
        claims,
        signature: None,
    }
}

/// A participant's decisions, and whether its registered key signed them.
type Signed = (Decisions, bool);

/// Builds every report of a round from its `round.json` and members.
pub fn build(round: &RoundFile, members: &[Member]) -> Result<Reports, Error> {
    let seed = round.seed;
    let header = Header {
        protocol: round.protocol.clone(),
        suite_digest: round.suite_digest.clone(),
        window: round.window.clone(),
        participants: round.participants.iter().map(|p| p.id.clone()).collect(),
    };
    let comparable: Vec<(&str, &Bundle)> = members
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
                let stale = |e: Error| {
                    let message = match e {
                        Error::Refused { problems } => problems.join("; "),
                        Error::Signature(m) => m,
                        other => other.to_string(),
                    };
                    Error::Stale { participant: m.participant.clone(), message }
                };
                let signed =
                    disclosure::check_signature(doc, &registered_key(round, &m.participant)?)
                        .map_err(stale)?;
                let d = disclosure::read(doc, &m.participant, &claims).map_err(stale)?;
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
        let others: Vec<(&str, &Bundle)> =
            comparable.iter().filter(|(p, _)| *p != m.participant).copied().collect();
        let context = (m.incomparable.is_empty() && others.len() >= MIN_PARTICIPANTS)
            .then(|| pool::pool(&others, seed));
        Private {
            format: FORMAT.into(),
            kind: "private".into(),
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
            format: FORMAT.into(),
            kind: "public".into(),
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

/// Builds a round's reports and writes them into `DIR/reports`, replacing
/// what was there (a private report of someone no longer in the round must
/// not survive a rewrite): `public.{json,md,html}`, and per participant
/// `private/<id>.{json,md,html}` with its `<id>.disclosure.json` template.
/// Returns the reports and the folder.
pub fn write(dir: &std::path::Path) -> Result<(Reports, std::path::PathBuf), Error> {
    use crate::render;
    let reports = build(&crate::load(dir)?, &crate::members(dir)?)?;
    let out = crate::clear_reports(dir)?;
    let private = out.join("private");
    std::fs::create_dir_all(&private).map_err(Error::io(&private))?;
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).expect("reports serialize") + "\n"
    }
    let put =
        |path: std::path::PathBuf, text: String| crate::write_atomic(&path, text.as_bytes(), 0o644);
    put(out.join("public.json"), json(&reports.public))?;
    put(out.join("public.md"), render::public_markdown(&reports.public))?;
    put(out.join("public.html"), render::public_html(&reports.public))?;
    for p in &reports.private {
        let base = private.join(&p.participant);
        put(base.with_extension("json"), json(p))?;
        put(base.with_extension("md"), render::private_markdown(p))?;
        put(base.with_extension("html"), render::private_html(p))?;
        put(base.with_extension("disclosure.json"), json(&decision_template(p)))?;
    }
    Ok((reports, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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
            bundle: crate::testing::bundle(
                json!({"manifest": {"participant": id, "agent": "scripted:x", "scaffold": "scripted"},
                "content": {"episodes": episodes, "rates": {"classes": []}}}),
            ),
            incomparable: vec![],
            disclosure: None,
        }
    }

    fn round(ids: &[&str]) -> RoundFile {
        let participants: Vec<Value> =
            ids.iter().map(|i| json!({"id": i, "public_key": ""})).collect();
        serde_json::from_value(
            json!({"format": "perimeter.round/1", "protocol": "p", "suite_digest": "d",
            "window": null, "seed": 9, "participants": participants}),
        )
        .unwrap()
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
        let template = serde_json::to_value(decision_template(pa)).unwrap();
        assert_eq!(template["claims"]["C1"]["attribution"], "non_attributed");
        let claims = crate::claims::extract(&a.bundle);
        let Err(Error::Refused { problems: errs }) = disclosure::read(&template, "a", &claims)
        else {
            panic!("refused until approved")
        };
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
