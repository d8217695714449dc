//! The round's reports as data (`perimeter.round-report/1`): one public
//! report, and one private report per participant. Both are computed from
//! the bundles present, the participants' decisions and the round's seed
//! alone, so a participant that left leaves no trace in them.

use std::collections::BTreeMap;

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

/// Other comparable participants needed before a private report shows
/// their figures pooled: with two, one's attributed figures subtracted
/// from the pool give the other's.
pub const MIN_OTHERS: usize = 3;

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
        scaffold: Some(manifest.scaffold.clone()),
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
        verification: r.claim.verification.as_ref().map(|v| v.status),
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

/// A bundle's extension suites as its private report shows them: each
/// class's pooled rate per opportunity, then usefulness, as signed.
fn extensions(bundle: &Bundle) -> Vec<formats::round::ExtensionFigures> {
    let m = &bundle.manifest;
    m.extensions
        .iter()
        .zip(&bundle.content.extensions)
        .map(|(x, results)| {
            let pooled = |r: &&formats::run::Rate| r.scenario.is_none();
            let classes = results
                .rates
                .classes
                .iter()
                .filter(pooled)
                .filter(|r| r.denominator == "per_opportunity")
                .filter_map(|r| Some((r.class?.to_string(), r)));
            let usefulness =
                results.rates.usefulness.iter().filter(pooled).map(|r| ("usefulness".into(), r));
            formats::round::ExtensionFigures {
                name: x.name.clone(),
                digest: x.digest.clone(),
                scenarios: x.scenarios.clone(),
                episodes: results.episodes.len() as u64,
                rows: classes
                    .chain(usefulness)
                    .map(|(class, r)| formats::round::ExtensionRow {
                        class,
                        rate: pool::from_summary(r),
                    })
                    .collect(),
            }
        })
        .collect()
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
                approve_transcript: c.claim.privileged.is_some()
                    && c.attribution != Attribution::Withheld,
            };
            (c.claim.id.clone(), d)
        })
        .collect();
    let blank = || Approval {
        by: String::new(),
        date: String::new(),
        statement: String::new(),
        is_final: false,
    };
    Decisions {
        format: disclosure::FORMAT.into(),
        participant: private.participant.clone(),
        approval: private.approval.clone().unwrap_or_else(blank),
        claims,
        signature: None,
    }
}

/// The classes no participant publishing its `no_labels` claim without
/// attribution ever saw labelled, as one claim: each one's own list would
/// be a profile to sort the other non-attributed claims by.
fn unseen_everywhere(resolved: &[(&Member, Option<Signed>, Vec<Resolved>)]) -> Option<PublicClaim> {
    let lists: Vec<&Vec<formats::ClassId>> = resolved
        .iter()
        .flat_map(|(_, _, r)| r)
        .filter(|c| c.attribution == Attribution::NonAttributed && c.claim.topic == "no_labels")
        .map(|c| &c.claim.classes)
        .collect();
    let (first, rest) = lists.split_first()?;
    let shared: Vec<&str> =
        first.iter().filter(|c| rest.iter().all(|l| l.contains(c))).map(|c| c.as_str()).collect();
    let text = match shared.is_empty() {
        true => format!(
            "Of the {} participants whose results are published without attribution, every class was labelled for at least one.",
            lists.len()
        ),
        false => format!(
            "No episode of any of the {} participants whose results are published without attribution was labelled with {}.",
            lists.len(),
            shared.join(", ")
        ),
    };
    Some(PublicClaim {
        topic: "no_labels".into(),
        importance: Importance::Low,
        text,
        verification: None,
    })
}

/// A participant's decisions, and whether its registered key signed them.
type Signed = (Decisions, bool);

/// Builds every report of a round from its `round.json` and members alone.
pub fn build(round: &RoundFile, members: &[Member]) -> Result<Reports, Error> {
    build_with(round, members, &crate::public::Process::default())
}

/// Builds every report of a round from its `round.json`, its members, and
/// what the round holds beyond them: phases, the evaluator's public
/// analysis and its runs on public models.
pub fn build_with(
    round: &RoundFile,
    members: &[Member],
    process: &crate::public::Process,
) -> Result<Reports, Error> {
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
    let public_runs: Vec<String> =
        process.public_runs.runs.iter().map(|r| r.name.clone()).collect();
    let problems: Vec<String> =
        members.iter().flat_map(|m| claims::check_analysis(m, &public_runs)).collect();
    if !problems.is_empty() {
        return Err(Error::Analysis { problems });
    }
    for m in members {
        let claims = claims::of_member(m);
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
        let accepted = crate::negotiation::accepted(&m.negotiation, &claims);
        let r = disclosure::resolve(&claims, decisions.as_ref().map(|(d, _)| d), &accepted);
        for c in r.iter().filter(|c| c.pending.is_some()) {
            warnings.push(format!(
                "{}: {} is unpublished: {}",
                m.participant,
                c.claim.id,
                c.pending.as_deref().unwrap_or_default()
            ));
        }
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
        // A lab's list of classes never labelled is a profile a reader
        // could match its other claims to: those lists are published only
        // as what all of them share, below.
        non_attributed.extend(
            r.iter()
                .filter(|c| c.attribution == Attribution::NonAttributed)
                .filter(|c| c.claim.topic != "no_labels")
                .map(public_claim),
        );
        noted.extend(
            r.iter()
                .filter(|c| {
                    c.attribution == Attribution::Withheld
                        && c.claim.importance == Importance::High
                        && c.note_accepted
                })
                .filter_map(|c| {
                    c.note.as_ref().map(|note| NotedRedaction {
                        topic: c.claim.topic.clone(),
                        note: note.clone(),
                    })
                }),
        );
    }
    if let Some(claim) = unseen_everywhere(&resolved) {
        non_attributed.push(claim);
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
        // With two others, a participant could subtract one's attributed
        // figures from the pool and read the other's exactly.
        let context = (m.incomparable.is_empty() && others.len() >= MIN_OTHERS)
            .then(|| pool::pool(&others, seed));
        Private {
            format: FORMAT.into(),
            kind: "private".into(),
            participant: m.participant.clone(),
            header: header.clone(),
            comparability: comparability(m),
            others: context.as_ref().map_or(0, |c| c.participants),
            endings: m.bundle.content.rates.as_ref().and_then(|r| r.endings.clone()),
            rows: rows(&m.bundle, &own, context.as_ref()),
            monitors: m.bundle.content.monitors.clone(),
            routing: m.bundle.content.routing.clone(),
            viewers: m.bundle.content.viewers.clone(),
            incidents: m.bundle.content.incidents.clone(),
            review: m.bundle.content.review.clone(),
            extensions: extensions(&m.bundle),
            claims: r.clone(),
            approval: decisions.as_ref().map(|(d, _)| d.approval.clone()),
            approval_signed: decisions.as_ref().is_some_and(|(_, signed)| *signed),
            redaction_summary: redaction_summary.clone(),
            process: private_process(m, process),
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
    let incidents = pooled_incidents(&resolved, seed);
    let mut table: Vec<Comparability> =
        members.iter().map(|m| Comparability { scaffold: None, ..comparability(m) }).collect();
    table.sort_by(|a, b| a.participant.cmp(&b.participant));
    let by_member: Vec<(&Member, Vec<Resolved>)> =
        resolved.iter().map(|(m, _, r)| (*m, r.clone())).collect();
    if let Some((a, _)) = &process.public {
        let problems = crate::public::check(a, &by_member, false);
        if !problems.is_empty() {
            return Err(Error::Analysis { problems });
        }
    }
    let pilot = crate::public::sections(process, members, &by_member);
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
            incidents,
            pilot,
        },
        private,
        warnings,
    })
}

/// A private report's process part: the model shared, the evaluator's runs
/// on it as rates, the thread (without the signed copies), the analysis,
/// and the negotiation so far.
fn private_process(m: &Member, process: &crate::public::Process) -> formats::round::PrivateProcess {
    use formats::process::StepKind;
    use formats::round::{EvaluationFigure, NegotiationLine, PrivateProcess};
    let evaluations = m
        .evidence
        .runs
        .iter()
        .map(|r| {
            let g = pool::group(&r.episodes);
            let mut rows: Vec<ContextRow> = g
                .classes
                .iter()
                .map(|(c, rate)| ContextRow {
                    class: c.to_string(),
                    own: rate.clone(),
                    others: None,
                })
                .collect();
            rows.push(ContextRow { class: "usefulness".into(), own: g.usefulness, others: None });
            EvaluationFigure {
                run: r.name.clone(),
                model: r.model.clone(),
                counted: g.counted,
                excluded: g.excluded,
                rows,
                stages: pool::stages(&[r.episodes.as_slice()]),
                reasoning_retained: r.reasoning_retained,
            }
        })
        .collect();
    let negotiation = m
        .negotiation
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let d = &s.document;
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let (by, date, summary) = match s.kind {
                StepKind::Proposal => {
                    let n = d["claims"].as_object().map_or(0, |c| c.len());
                    let reworded = d["claims"]
                        .as_object()
                        .map_or(0, |c| c.values().filter(|x| !x["text"].is_null()).count());
                    let fin = if d["approval"]["final"] == true { "final approval: " } else { "" };
                    (
                        text(&d["approval"]["by"]),
                        text(&d["approval"]["date"]),
                        format!("{fin}decisions on {n} claims, {reworded} reworded"),
                    )
                }
                StepKind::Response => {
                    let mut parts = Vec::new();
                    for (id, c) in d["claims"].as_object().into_iter().flatten() {
                        for field in ["text", "note"] {
                            if let Some(v) = c[field].as_str() {
                                parts.push(format!("{id} {field}: {v}"));
                            }
                        }
                        if !c["counter"].is_null() {
                            parts.push(format!("{id}: counter-wording"));
                        }
                    }
                    (text(&d["by"]), text(&d["date"]), parts.join("; "))
                }
            };
            NegotiationLine { n: i as u64 + 1, kind: s.kind, by, date, summary }
        })
        .collect();
    let mut thread = m.thread.entries.clone();
    for e in &mut thread {
        e.signed = None;
        e.recorded = None;
    }
    PrivateProcess {
        phase: process.phases.as_ref().map(crate::phase::current),
        access: m.access.clone(),
        evaluations,
        thread,
        analysis: m.analysis.as_ref().map(|(a, _)| a.clone()),
        analysis_digest: m.analysis.as_ref().map(|(_, d)| d.clone()),
        negotiation,
        finalised: crate::negotiation::finalised(&m.negotiation).is_some(),
    }
}

/// Appendix D: every incident whose claim a participant published, named
/// for it when attributed, numbered `INC-NNN` in an order drawn from the
/// round's seed and the incident's text alone; the rest counted by why.
fn pooled_incidents(
    resolved: &[(&Member, Option<Signed>, Vec<Resolved>)],
    seed: u64,
) -> Option<formats::incident::Pooled> {
    use formats::bundle::Disclosure;
    use formats::incident::{POOLED_FORMAT, Pooled, PooledIncident};
    if resolved.iter().all(|(m, _, _)| m.bundle.content.incidents.is_empty()) {
        return None;
    }
    let mut shown = Vec::new();
    let mut not_shown: BTreeMap<String, u64> = BTreeMap::new();
    for (m, _, claims) in resolved {
        for i in &m.bundle.content.incidents {
            let claim =
                claims.iter().find(|c| c.claim.source == "incident" && c.claim.topic == i.id);
            let why = match (claim.map(|c| c.attribution), &i.text) {
                _ if i.flags.privileged => Some("privileged"),
                (_, None) => Some("withheld"),
                _ if i.disclosure == Disclosure::EvaluatorOnly => Some("evaluator_only"),
                (Some(Attribution::Withheld) | None, _) => Some("withheld"),
                _ => None,
            };
            if let Some(why) = why {
                *not_shown.entry(why.into()).or_default() += 1;
                continue;
            }
            let mut text = i.text.clone().expect("published incidents have text");
            let attributed = claim.is_some_and(|c| c.attribution == Attribution::Attributed);
            // A lab's model or client would name the lab.
            if !attributed {
                text.model = None;
                text.client = None;
            }
            shown.push(PooledIncident {
                id: String::new(),
                participant: attributed.then(|| m.participant.clone()),
                source: i.source,
                classes: i.classes.clone(),
                grade: i.grade.clone(),
                graded_by: i.graded_by.clone(),
                text,
            });
        }
    }
    let order = |i: &PooledIncident| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(serde_json::to_vec(&i.text).expect("JSON"));
        h.finalize().into()
    };
    shown.sort_by_cached_key(order);
    for (n, i) in shown.iter_mut().enumerate() {
        i.id = format!("INC-{:03}", n + 1);
    }
    Some(Pooled { format: POOLED_FORMAT.into(), incidents: shown, not_shown })
}

/// What the round holds beyond its bundles, read from its folder.
pub fn process(dir: &std::path::Path) -> Result<crate::public::Process, Error> {
    Ok(crate::public::Process {
        phases: Some(crate::phase::load(dir)?),
        public: crate::analysis::public(dir)?,
        public_runs: crate::access::evidence(dir, None)?,
    })
}

/// Every item the public report publishes, in report order, for the
/// Merkle commitment.
fn published_items(p: &Public) -> Vec<(String, serde_json::Value)> {
    use serde_json::{json, to_value};
    fn v<T: serde::Serialize>(x: &T) -> serde_json::Value {
        to_value(x).expect("report parts serialize")
    }
    let mut items: Vec<(String, serde_json::Value)> =
        vec![("redaction_summary".into(), json!(p.redaction_summary))];
    let mut each = |kind: &str, list: Vec<serde_json::Value>| {
        items.extend(list.into_iter().map(|x| (kind.to_owned(), x)));
    };
    let s = &p.pilot;
    each("key_fact", s.key_facts.iter().map(v).collect());
    each("conclusion", s.conclusions.iter().map(|x| json!(x)).collect());
    each("assessment", s.assessment.iter().map(v).collect());
    each("evidence", s.evidence.iter().map(v).collect());
    each("ladder", s.ladder.iter().map(v).collect());
    each("stage", s.stages.iter().map(v).collect());
    each("frontier", s.frontier.iter().map(v).collect());
    each("aef1", s.aef1.iter().map(v).collect());
    each("process", vec![v(&s.process)]);
    each("comparability", p.comparability.iter().map(v).collect());
    each("pooled", p.pooled.iter().map(v).collect());
    for a in &p.attributed {
        each(
            "attributed_claim",
            a.claims
                .iter()
                .map(|c| json!({"participant": a.participant, "approved": a.approved, "claim": to_value(c).expect("JSON")}))
                .collect(),
        );
    }
    each("non_attributed_claim", p.non_attributed.iter().map(v).collect());
    each("noted_redaction", p.noted_redactions.iter().map(v).collect());
    each("incident", p.incidents.iter().flat_map(|i| &i.incidents).map(v).collect());
    if !s.non_participants.is_empty() {
        each("non_participants", vec![json!(s.non_participants)]);
    }
    each("external_review", s.external_review.iter().map(|x| json!(x)).collect());
    items
}

/// Builds a round's reports and writes them into `DIR/reports`, replacing
/// what was there (a private report of someone no longer in the round must
/// not survive a rewrite): `public.{json,md,html}` with `public.items.json`
/// (every published item and its audit path to the report's Merkle root),
/// and per participant `private/<id>.{json,md,html}` with its
/// `<id>.disclosure.json` template. Records the versions of the
/// evaluator's analysis files it was built from. Once the round has
/// published, a rewrite must give the published report exactly.
pub fn write(
    dir: &std::path::Path,
    when: crate::phase::When,
) -> Result<(Reports, std::path::PathBuf), Error> {
    use crate::render;
    let members = crate::members(dir)?;
    let process = process(dir)?;
    let mut reports = build_with(&crate::load(dir)?, &members, &process)?;
    let (commitment, items) = crate::merkle::commit(published_items(&reports.public));
    reports.public.pilot.merkle = Some(commitment);
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).expect("reports serialize") + "\n"
    }
    let public_json = json(&reports.public);
    if let Some(published) = process.phases.as_ref().and_then(|p| p.published.as_ref())
        && crate::digest(public_json.as_bytes()) != published.digest
    {
        return Err(Error::Refused {
            problems: vec![format!(
                "the round published its report on {} ({}); what the round holds now gives another, and a published report is final",
                published.on, published.digest
            )],
        });
    }
    let mut used: Vec<(&str, u32, &str)> = members
        .iter()
        .filter_map(|m| {
            m.analysis.as_ref().map(|(a, d)| (m.participant.as_str(), a.version, d.as_str()))
        })
        .collect();
    if let Some((a, d)) = &process.public {
        used.push(("public", a.version, d));
    }
    crate::analysis::record(dir, &used, &when.date())?;
    let out = crate::clear_reports(dir)?;
    let private = out.join("private");
    std::fs::create_dir_all(&private).map_err(Error::io(&private))?;
    let put =
        |path: std::path::PathBuf, text: String| crate::write_atomic(&path, text.as_bytes(), 0o644);
    put(out.join("public.json"), public_json)?;
    put(out.join("public.items.json"), json(&items))?;
    put(out.join("public.md"), render::public_markdown(&reports.public))?;
    put(out.join("public.html"), render::public_html(&reports.public))?;
    if let Some(pooled) = &reports.public.incidents {
        put(out.join("public.incidents.json"), json(pooled))?;
    }
    for p in &reports.private {
        let base = private.join(&p.participant);
        put(base.with_extension("json"), json(p))?;
        put(base.with_extension("md"), render::private_markdown(p))?;
        put(base.with_extension("html"), render::private_html(p))?;
        put(base.with_extension("disclosure.json"), json(&decision_template(p)))?;
    }
    Ok((reports, out))
}

fn circulated(
    dir: &std::path::Path,
    when: crate::phase::When,
) -> Result<formats::process::Circulated, Error> {
    let bytes = std::fs::read(dir.join("reports").join("public.json"))
        .map_err(Error::io(dir.join("reports").join("public.json")))?;
    let p: Public = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        path: dir.join("reports/public.json"),
        message: e.to_string(),
    })?;
    Ok(formats::process::Circulated {
        on: when.date(),
        digest: crate::digest(&bytes),
        merkle_root: p.pilot.merkle.map(|m| m.root).unwrap_or_default(),
    })
}

/// The problems that keep the public report from going out: what the
/// evaluator wrote must be complete.
fn publishable(dir: &std::path::Path, members: &[Member]) -> Result<Vec<String>, Error> {
    let Some((a, _)) = crate::analysis::public(dir)? else {
        return Ok(vec![format!(
            "{}: the evaluator's part of the public report is not written (key facts, assessment, ladder, AEF-1: see docs/round-format.md)",
            crate::analysis::path(dir, "public").display()
        )]);
    };
    let round = crate::load(dir)?;
    // Its references, and the analyses', hold.
    build_with(&round, members, &process(dir)?)?;
    let resolved: Vec<(&Member, Vec<Resolved>)> = members
        .iter()
        .map(|m| {
            let claims = claims::of_member(m);
            let accepted = crate::negotiation::accepted(&m.negotiation, &claims);
            let d = m
                .disclosure
                .as_ref()
                .and_then(|d| disclosure::read(d, &m.participant, &claims).ok());
            (m, disclosure::resolve(&claims, d.as_ref(), &accepted))
        })
        .collect();
    Ok(crate::public::check(&a, &resolved, true))
}

/// Circulates the draft public report: writes the reports, copies the
/// public one to `drafts/<date>/`, and records the day and its digest.
/// Participants get it with no right to approve it; the round publishes
/// no sooner than its notice after.
pub fn draft(
    dir: &std::path::Path,
    when: crate::phase::When,
) -> Result<(Reports, std::path::PathBuf), Error> {
    use formats::process::Phase;
    crate::phase::require(dir, &[Phase::Disclosure], "circulating the draft public report")?;
    let problems = publishable(dir, &crate::members(dir)?)?;
    if !problems.is_empty() {
        return Err(Error::Analysis { problems });
    }
    let (reports, out) = write(dir, when)?;
    let folder = dir.join("drafts").join(when.date());
    std::fs::create_dir_all(&folder).map_err(Error::io(&folder))?;
    for name in ["public.json", "public.md", "public.html", "public.items.json"] {
        let bytes = std::fs::read(out.join(name)).map_err(Error::io(out.join(name)))?;
        crate::write_atomic(&folder.join(name), &bytes, 0o644)?;
    }
    let mut phases = crate::phase::load(dir)?;
    phases.draft = Some(circulated(dir, when)?);
    crate::phase::write(dir, &phases)?;
    Ok((reports, folder))
}

/// Moves the round to its next phase, when its conditions hold:
/// evaluation needs a bundle; disclosure needs a private report for every
/// participant; publication needs every participant's final approval, a
/// complete public part, and the draft circulated at least the round's
/// notice before today. Publishing writes the final reports and records
/// their digest.
pub fn advance(
    dir: &std::path::Path,
    to: formats::process::Phase,
    when: crate::phase::When,
) -> Result<formats::process::Phases, Error> {
    use formats::process::Phase;
    let members = crate::members(dir)?;
    let mut problems = Vec::new();
    match to {
        Phase::Evaluation if members.is_empty() => {
            problems.push("no bundle has been taken in".to_owned())
        }
        Phase::Disclosure => {
            for m in &members {
                let report =
                    dir.join("reports").join("private").join(format!("{}.json", m.participant));
                if !report.exists() {
                    problems.push(format!(
                        "{} has no private report yet (`perimeter round report`)",
                        m.participant
                    ));
                }
            }
        }
        Phase::Publication => {
            for m in &members {
                if crate::negotiation::finalised(&m.negotiation).is_none() {
                    problems.push(format!("{} has not finalised its approval", m.participant));
                }
            }
            problems.extend(publishable(dir, &members)?);
        }
        _ => {}
    }
    let today = when.date();
    let phases = crate::phase::advance(dir, to, when, |p| {
        if to == Phase::Publication {
            match &p.draft {
                None => problems.push(
                    "no draft was circulated (`perimeter round draft`): participants see the report before it is published".into(),
                ),
                Some(d) => {
                    let days = crate::phase::days_between(&d.on, &today).unwrap_or(0);
                    if days < i64::from(p.draft_notice_days) {
                        problems.push(format!(
                            "the draft went out on {} ({days} days ago); the round gives participants {} days' notice",
                            d.on, p.draft_notice_days
                        ));
                    }
                }
            }
        }
        problems
    })?;
    if to != Phase::Publication {
        return Ok(phases);
    }
    write(dir, when)?;
    let mut phases = crate::phase::load(dir)?;
    phases.published = Some(circulated(dir, when)?);
    crate::phase::write(dir, &phases)?;
    Ok(phases)
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
            access: None,
            evidence: Default::default(),
            thread: Default::default(),
            analysis: None,
            negotiation: Default::default(),
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
    fn a_private_report_shows_the_reviewers_layer_beside_the_machines_labels() {
        let mut m = member("a", 2);
        m.bundle.content.review = Some(
            serde_json::from_value(json!({
                "decisions": [{"n": 1, "at": "2026-12-07T00:00:00.000Z", "by": "R. Eviewer",
                    "target": {"kind": "label", "trace_head": "h", "episode": "s0/e0", "class": "exfiltration"},
                    "verdict": "dismiss", "note": "the upload was the user's", "check": "sha256:x"}],
                "classes": [{"class": "exfiltration",
                    "machine": {"k": 2, "n": 4, "rate": 0.5, "ci_low": 0.15, "ci_high": 0.85},
                    "reviewed": {"k": 1, "n": 4, "rate": 0.25, "ci_low": 0.05, "ci_high": 0.7}}]
            }))
            .unwrap(),
        );
        let reports = build(&round(&["a"]), &[m]).unwrap();
        let md = crate::render::private_markdown(&reports.private[0]);
        assert!(md.contains("## Your reviewers' decisions"), "{md}");
        assert!(md.contains("The figures above are the machine's labels. Your bundle also signed 1 reviewer decision(s) by R. Eviewer"));
        assert!(md.contains("exfiltration: machine 2/4 (50.0%), reviewed 1/4 (25.0%)"), "{md}");
        let html = crate::render::private_html(&reports.private[0]);
        assert!(
            html.contains("<h2>Your reviewers&#39; decisions</h2>")
                || html.contains("<h2>Your reviewers' decisions</h2>")
        );
    }

    #[test]
    fn reports_depend_on_the_set_of_members_not_their_order() {
        let (a, b, c, d) = (member("a", 1), member("b", 2), member("c", 0), member("d", 4));
        let ids = ["a", "b", "c", "d"];
        let one = build(&round(&ids), &[a.clone(), b.clone(), c.clone(), d.clone()]).unwrap();
        let other = build(&round(&ids), &[c.clone(), d.clone(), a.clone(), b.clone()]).unwrap();
        assert_eq!(one.public, other.public);
        let pooled = one.public.pooled.as_ref().unwrap();
        assert_eq!(pooled.participants, 4);
        // The spread comes with the pooled rate: 0%, 25%, 50%, 100%.
        let ex = pooled.classes.iter().find(|f| f.class == "exfiltration").unwrap();
        assert_eq!((ex.spread.participants, ex.spread.min, ex.spread.max), (4, 0.0, 1.0));
        let between = ex.spread.between.as_ref().unwrap();
        assert!((between.mean - 0.4375).abs() < 1e-12, "{between:?}");
        assert!(between.ci_low < ex.rate.ci_low && between.ci_high > ex.rate.ci_high, "{ex:?}");
        // Undecided claims of public agents are published, anonymized.
        assert!(one.public.attributed.is_empty());
        assert!(one.public.non_attributed.iter().any(|c| c.text.contains("in 2 of 4 episodes")));
        assert_eq!(one.warnings.len(), 4, "{:?}", one.warnings);
        // Each private report shows the other three, pooled.
        let pa = one.private.iter().find(|p| p.participant == "a").unwrap();
        assert_eq!(pa.others, 3);
        let ex = pa.rows.iter().find(|r| r.class == "exfiltration").unwrap();
        assert_eq!((ex.own.k, ex.others.as_ref().unwrap().k), (1, 6));
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
    fn context_needs_three_other_comparable_participants() {
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

    /// The reconstructions a reader of the reports could try, each of which
    /// must fail.
    #[test]
    fn no_participant_s_figures_can_be_recovered_by_arithmetic() {
        let ids = ["a", "b", "c"];
        let members = [member("a", 1), member("b", 2), member("c", 0)];
        let r = build(&round(&ids), &members).unwrap();
        // lab-c sees no pool of its two others: subtracting lab-a's
        // (attributed) figures from it would give lab-b's exactly.
        for p in &r.private {
            assert_eq!(p.others, 0, "{}", p.participant);
            assert!(p.rows.iter().all(|row| row.others.is_none()), "{}", p.participant);
        }
        // The public comparability table names nobody's scaffold, which the
        // participants did not approve; each participant's own report does.
        assert!(r.public.comparability.iter().all(|c| c.scaffold.is_none()));
        let public = serde_json::to_string(&r.public).unwrap()
            + &crate::render::public_markdown(&r.public)
            + &crate::render::public_html(&r.public);
        assert!(!public.contains("scaffold\":"), "no scaffold field");
        assert!(r.private.iter().all(|p| p.comparability.scaffold.as_deref() == Some("scripted")));
        // No non-attributed claim lists one participant's never-seen
        // classes: only what all of them share is published.
        let declared = |id: &str, hits: usize, unseen: &[&str]| {
            let mut m = member(id, hits);
            let rates = m.bundle.content.rates.as_mut().expect("member() gives rates");
            for c in unseen {
                // A declared class, at zero.
                rates.classes.push(
                    serde_json::from_value(json!({"class": c, "scenario": null,
                        "denominator": "per_episode", "k": 0, "n": 4, "rate": 0.0,
                        "ci_low": 0.0, "ci_high": 0.49, "method": "wilson"}))
                    .unwrap(),
                );
            }
            m
        };
        let members = [
            declared("a", 1, &["sandbagging", "collusion"]),
            declared("b", 2, &["sandbagging", "coercion_disclosure"]),
            declared("c", 0, &["sandbagging"]),
        ];
        let r = build(&round(&ids), &members).unwrap();
        let no_labels: Vec<&PublicClaim> =
            r.public.non_attributed.iter().filter(|c| c.topic == "no_labels").collect();
        assert_eq!(no_labels.len(), 1, "{no_labels:?}");
        let text = &no_labels[0].text;
        assert!(text.contains("sandbagging"), "{text}");
        for own in ["collusion", "coercion_disclosure", "exfiltration"] {
            assert!(!text.contains(own), "{own} would profile one participant: {text}");
        }
    }

    /// A participant's own report says how many of its episodes no figure
    /// counts, and why.
    #[test]
    fn a_private_report_says_what_was_not_counted() {
        let mut a = member("a", 1);
        a.bundle.content.episodes[3].end_reason = formats::EndReason::ModelError;
        let outcomes: Vec<rates::Outcome> =
            a.bundle.content.episodes.iter().map(rates::Outcome::from).collect();
        a.bundle.content.rates.as_mut().unwrap().endings = Some(rates::endings(&outcomes));
        let r = build(&round(&["a", "b"]), &[a, member("b", 2)]).unwrap();
        let pa = r.private.iter().find(|p| p.participant == "a").unwrap();
        let md = crate::render::private_markdown(pa);
        assert!(
            md.contains("Your bundle's 4 episodes: 3 counted; 1 not counted, ended for infrastructure reasons (model_error 1)"),
            "{md}"
        );
        let pooled = r.public.pooled.as_ref().unwrap();
        assert_eq!((pooled.episodes, pooled.excluded), (7, 1));
    }
}
