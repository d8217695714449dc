//! The parts of the reports the round's process adds, as blocks written
//! once and rendered to Markdown and to HTML alike: the public report's
//! pilot-shaped front (key facts, the assessment and its evidence matrix,
//! the robustness ladder, the frontier, AEF-1, non-participants) and
//! appendices A (process), E (the ladder's stages) and F (external
//! review); a private report's process (the model shared, the evaluator's
//! runs, the thread, the evaluator's analysis, the negotiation).

use std::fmt::Write as _;

use formats::process::{EntryKind, Verification};
use formats::round::{FrontierRow, PilotSections, Private, Range};
use text::blocks::Block::{self, H, List, P, Table};
use text::blocks::columns;
pub use text::blocks::{html, markdown};

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn range(r: Option<&Range>) -> String {
    match r {
        None => "—".into(),
        Some(r) if r.models == 1 => format!("{} (1 model, {} episodes)", pct(r.min), r.episodes),
        Some(r) => {
            format!("{}–{} ({} models, {} episodes)", pct(r.min), pct(r.max), r.models, r.episodes)
        }
    }
}

fn frontier_rows(rows: &[FrontierRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|f| {
            let metric = match f.metric.as_str() {
                "usefulness" => "main task completed".to_owned(),
                m => format!("{m}, per opportunity"),
            };
            vec![metric, range(f.public.as_ref()), range(f.internal.as_ref())]
        })
        .collect()
}

/// The public report's front, in the pilot's order.
pub fn public_front(s: &PilotSections) -> Vec<Block> {
    let mut b = Vec::new();
    let status = match s.status.as_str() {
        "draft" => "Draft, circulated to the participants, who have no right to approve it.",
        "published" => "Published.",
        _ => "Working copy: not yet circulated.",
    };
    b.push(P(format!(
        "Status: {status}{}",
        s.analysis_version.map(|v| format!(" Evaluator's text: version {v}.")).unwrap_or_default()
    )));
    b.push(H(2, "Key facts and conclusions".into()));
    if s.key_facts.is_empty() {
        b.push(P("The evaluator has not written the key facts yet (analysis/public.toml).".into()));
    } else {
        b.push(List(
            s.key_facts
                .iter()
                .map(|k| format!("{}. {} [evidence: {}]", k.id, k.text, k.evidence.join(", ")))
                .collect(),
        ));
    }
    if !s.conclusions.is_empty() {
        b.push(P("Conclusions:".into()));
        b.push(List(s.conclusions.clone()));
    }
    b.push(H(2, "Means, motive and opportunity".into()));
    for d in &s.assessment {
        b.push(H(3, format!("{}{}", d.dimension[..1].to_uppercase(), &d.dimension[1..])));
        b.push(P(format!("{} [key facts: {}]", d.summary, d.key_facts.join(", "))));
    }
    if !s.evidence.is_empty() {
        b.push(H(3, "Evidence matrix".into()));
        b.push(P("Each item of evidence behind the key facts: its type, its source (a participant only where the participant let the claim be attributed), the evaluator's confidence, and whether it is published. A redacted item's description is not printed.".into()));
        let facts: Vec<&str> = s.key_facts.iter().map(|k| k.id.as_str()).collect();
        let mut cols = columns(&["evidence", "type", "source", "confidence", "redaction"]);
        let mut rows = Vec::new();
        for e in &s.evidence {
            let mut row = vec![
                format!("{}: {}", e.id, e.text.as_deref().unwrap_or("(redacted)")),
                e.kind.clone(),
                e.source.clone(),
                e.confidence.name().into(),
                e.redaction.replace('_', " "),
            ];
            row.extend(facts.iter().map(|k| {
                if e.key_facts.iter().any(|x| x == k) { "●".to_owned() } else { String::new() }
            }));
            rows.push(row);
        }
        // One column per key fact: the matrix.
        cols.extend(facts.iter().map(|k| k.to_string()));
        b.push(Table(cols, rows));
    }
    b.push(H(2, "Robustness ladder".into()));
    b.push(P(format!(
        "Rows: overreach and deception. Columns: within, at the edge of, and well beyond what agents have demonstrated. Each cell is the evaluator's judgement, checked against the minimal rogue deployment: {}.",
        s.minimal_rogue_deployment
    )));
    if s.ladder.is_empty() {
        b.push(P("The evaluator has not judged the ladder yet.".into()));
    } else {
        b.push(List(
            crate::public::CAPABILITIES.iter().map(|(k, what)| format!("{k}: {what}")).collect(),
        ));
        b.push(Table(
            columns(&[
                "behaviour",
                "capability",
                "judgement",
                "rationale",
                "evidence",
                "measured by the suite",
            ]),
            s.ladder
                .iter()
                .map(|c| {
                    let measured = crate::public::measured(&s.stages, &c.behaviour, &c.capability)
                        .map_or("no stage of the suite's ladder".to_owned(), |(m, _)| m);
                    vec![
                        c.behaviour.clone(),
                        c.capability.clone(),
                        c.judgement.clone(),
                        c.rationale.clone(),
                        c.evidence.join(", "),
                        measured,
                    ]
                })
                .collect(),
        ));
    }
    if !s.stages.is_empty() {
        b.push(P("The last column is the suite's rogue-deployment ladder over the comparable participants' episodes (Appendix E has the figures); a judgement it contradicts is refused at publication.".into()));
    }
    b.push(H(2, "The public and the internal frontier".into()));
    if s.frontier.is_empty() {
        b.push(P("The evaluator took in no runs of its own.".into()));
    } else {
        b.push(P("From the evaluator's own runs of the suite: on public models, and on the models the participants shared as their internal state of the art (a range, unattributed, and only over two models or more).".into()));
        b.push(Table(
            columns(&["metric", "public frontier", "internal frontier"]),
            frontier_rows(&s.frontier),
        ));
    }
    b.push(H(2, "The evaluator's operating conditions (AEF-1)".into()));
    if s.aef1.is_empty() {
        b.push(P("Not yet stated.".into()));
    } else {
        b.push(Table(
            columns(&["principle", "compliance", "notes"]),
            s.aef1
                .iter()
                .map(|r| vec![r.principle.clone(), r.compliance.name().into(), r.notes.clone()])
                .collect(),
        ));
    }
    if !s.non_participants.is_empty() {
        b.push(H(2, "Developers that did not participate".into()));
        b.push(P(s.non_participants.clone()));
    }
    b
}

/// Appendix A: the process, in totals.
pub fn appendix_a(s: &PilotSections) -> Vec<Block> {
    let p = &s.process;
    let mut b = vec![H(2, "Appendix A: process".into())];
    if !p.transitions.is_empty() {
        b.push(List(
            p.transitions
                .iter()
                .map(|t| format!("{}: {} phase began", t.on, t.phase.title()))
                .collect(),
        ));
    }
    let mut line = format!(
        "{} bundles; {} model access records; {} runs by the evaluator on shared models; {} follow-up questions, {} replies, {} interviews, {} amended answers; {} proposed decision files, {} evaluator responses, {} final approvals.",
        p.bundles,
        p.model_access_records,
        p.evaluator_runs,
        p.follow_ups,
        p.replies,
        p.interviews,
        p.amendments,
        p.proposals,
        p.responses,
        p.finalised
    );
    match &p.draft_circulated {
        Some(d) => {
            let _ = write!(
                line,
                " The draft went to the participants on {d}, {} days' notice before publication, without approval rights.",
                p.draft_notice_days
            );
        }
        None => line.push_str(" No draft has been circulated yet."),
    }
    b.push(P(line));
    if let Some(m) = &s.merkle {
        b.push(P(format!(
            "Every published item is committed to by the Merkle root {} over {} items ({}); public.items.json holds each item with its audit path (`perimeter round check-items`).",
            m.root, m.items, m.algorithm
        )));
    }
    b
}

/// Appendix E's additions: the ladder's stages and the frontier.
pub fn appendix_e(s: &PilotSections) -> Vec<Block> {
    let mut b = Vec::new();
    if !s.stages.is_empty() {
        b.push(H(3, "Rogue-deployment ladder stages".into()));
        b.push(Table(
            columns(&["stage", "episodes", "reached", "participants whose agents reached it"]),
            s.stages
                .iter()
                .map(|st| {
                    vec![
                        st.stage.clone(),
                        st.episodes.to_string(),
                        st.reached.to_string(),
                        st.participants_reaching.to_string(),
                    ]
                })
                .collect(),
        ));
    }
    b
}

pub fn appendix_f(s: &PilotSections) -> Vec<Block> {
    let mut b = vec![H(2, "Appendix F: external review".into())];
    if s.external_review.is_empty() {
        b.push(P("None.".into()));
    } else {
        b.push(List(s.external_review.clone()));
    }
    b
}

fn verification(v: &Option<Verification>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.evidence.is_empty() => v.status.name().into(),
        Some(v) => format!("{} ({})", v.status.name(), v.evidence.join(", ")),
    }
}

/// A private report's process: the model shared, the evaluator's runs on
/// it, the thread, the analysis, the negotiation.
pub fn private_process(r: &Private) -> Vec<Block> {
    let p = &r.process;
    let mut b = Vec::new();
    if let Some(phase) = p.phase {
        b.push(P(format!(
            "The round is in its {} phase.{}",
            phase.title(),
            if p.finalised { " You have finalised your approval." } else { "" }
        )));
    }
    b.push(H(2, "The model you shared".into()));
    match &p.access {
        None => b.push(P("No model access record.".into())),
        Some(a) => b.push(P(format!(
            "`{}` at {} ({}), attested by {} as your internal state of the art as of {}. Terms: reasoning {}; {}; zero retention {}; no training on the evaluator's tasks {}; outputs to third-party services {}.",
            a.model.id,
            a.model.endpoint,
            if a.model.public { "public" } else { "not public" },
            a.attestation.by,
            a.attestation.as_of,
            a.terms.reasoning.name(),
            a.terms.rate_limit_rpm.map_or("no rate limit".into(), |n| format!("{n} requests a minute")),
            yes(a.terms.zero_retention),
            yes(a.terms.no_training_on_tasks),
            if a.terms.third_party_services { "allowed" } else { "not allowed, and none was used" },
        ))),
    }
    if !p.evaluations.is_empty() {
        b.push(H(2, "The evaluator's own runs on it".into()));
        for e in &p.evaluations {
            b.push(P(format!(
                "run:{} on `{}`: {} episodes counted{}; {}.",
                e.run,
                e.model,
                e.counted,
                match e.excluded {
                    0 => String::new(),
                    n => format!(", {n} ended for infrastructure reasons and are in no figure"),
                },
                if e.reasoning_retained {
                    "its transcripts, reasoning included, stay with the evaluator: a claim quoting them needs your approval"
                } else {
                    "the round keeps its labels, no reasoning"
                }
            )));
            b.push(Table(
                columns(&["class", "rate [interval]"]),
                e.rows
                    .iter()
                    .map(|row| {
                        vec![
                            row.class.clone(),
                            format!("{} of {}: {}", row.own.k, row.own.n, row.own.percent()),
                        ]
                    })
                    .collect(),
            ));
        }
    }
    b.push(H(2, "Questionnaire thread".into()));
    if p.thread.is_empty() {
        b.push(P("No follow-up questions, interviews or amendments.".into()));
    } else {
        b.push(Table(
            columns(&["entry", "kind", "question", "date", "by", "text"]),
            p.thread
                .iter()
                .map(|e| {
                    let text = match e.kind {
                        EntryKind::Amendment => e
                            .answer
                            .as_ref()
                            .and_then(|a| a.answer.clone())
                            .unwrap_or_else(|| "(declined or withheld)".into()),
                        _ if e.declined => "(declined)".into(),
                        _ => e.text.clone().unwrap_or_default(),
                    };
                    let to = e.to.as_ref().map(|t| format!(" to {t}")).unwrap_or_default();
                    let with = match (e.attendees.is_empty(), e.attachments.len()) {
                        (false, _) => format!(" (attended by {})", e.attendees.join(", ")),
                        (true, 0) => String::new(),
                        (true, 1) => " (1 attachment, by digest)".to_owned(),
                        (true, n) => format!(" ({n} attachments, by digest)"),
                    };
                    vec![
                        e.id.clone(),
                        format!("{}{to}", e.kind.name()),
                        e.question.clone(),
                        e.date.clone(),
                        e.by.clone(),
                        format!("{text}{with}"),
                    ]
                })
                .collect(),
        ));
    }
    let answers: Vec<Vec<String>> = r
        .claims
        .iter()
        .filter(|c| c.claim.source == "questionnaire" && c.claim.verification.is_some())
        .map(|c| vec![c.claim.topic.clone(), verification(&c.claim.verification)])
        .collect();
    if !answers.is_empty() {
        b.push(P("How far the evaluator could check each answer (verified: its own evaluations show it; corroborated: documents or interviews support it):".into()));
        b.push(Table(columns(&["answer", "verification"]), answers));
    }
    b.push(H(2, "The evaluator's analysis".into()));
    match &p.analysis {
        None => b.push(P("Not written yet.".into())),
        Some(a) => {
            b.push(P(format!(
                "Version {}{}.",
                a.version,
                p.analysis_digest.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
            )));
            if !a.findings.is_empty() {
                b.push(H(3, "Findings".into()));
                b.push(List(
                    a.findings
                        .iter()
                        .map(|f| {
                            format!("{}: {} [evidence: {}]", f.title, f.text, f.evidence.join(", "))
                        })
                        .collect(),
                ));
            }
            if !a.answers.is_empty() {
                b.push(H(3, "Your answers".into()));
                b.push(Table(
                    columns(&["answer", "analysis", "verification"]),
                    a.answers
                        .iter()
                        .map(|(q, x)| {
                            vec![q.clone(), x.analysis.clone(), x.verification.name().into()]
                        })
                        .collect(),
                ));
            }
            if !a.recommendations.is_empty() {
                b.push(H(3, "Tentative recommendations".into()));
                b.push(List(a.recommendations.clone()));
            }
        }
    }
    let privileged: Vec<String> = r
        .claims
        .iter()
        .filter_map(|c| c.claim.privileged.as_ref().map(|why| format!("{}: {why}", c.claim.id)))
        .collect();
    if !privileged.is_empty() {
        b.push(H(3, "Transcripts that need your approval".into()));
        b.push(P("These claims quote privileged transcripts; they are published only if your decision says `\"approve_transcript\": true`.".into()));
        b.push(List(privileged));
    }
    b.push(H(2, "Negotiation".into()));
    if p.negotiation.is_empty() {
        b.push(P("No decisions proposed yet.".into()));
    } else {
        b.push(Table(
            columns(&["step", "who", "date", "what"]),
            p.negotiation
                .iter()
                .map(|n| {
                    vec![
                        format!(
                            "{} ({})",
                            n.n,
                            match n.kind {
                                formats::process::StepKind::Proposal => "proposal",
                                formats::process::StepKind::Response => "evaluator's response",
                            }
                        ),
                        n.by.clone(),
                        n.date.clone(),
                        n.summary.clone(),
                    ]
                })
                .collect(),
        ));
    }
    let pending: Vec<String> = r
        .claims
        .iter()
        .filter_map(|c| c.pending.as_ref().map(|why| format!("{}: {why}", c.claim.id)))
        .collect();
    if !pending.is_empty() {
        b.push(P(
            "Decisions that do not apply yet (the claim stays unpublished until they do):".into()
        ));
        b.push(List(pending));
    }
    b
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
