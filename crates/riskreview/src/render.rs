//! A built version for people: Markdown, and self-contained HTML with the
//! claim graph inline, written once as blocks (`text::blocks`) in the
//! round reports' style.

use formats::riskreview::{Built, RelianceKind, VerdictKind};
use text::blocks::Block::{self, H, List, P, Table};
use text::blocks::columns;

use crate::check::REQUIRED;

fn verdict(v: Option<VerdictKind>) -> String {
    v.map_or("—".into(), |x| x.name().into())
}

fn reliance(r: &formats::riskreview::Reliance) -> String {
    match r.kind {
        RelianceKind::Public => format!("public: {}", r.reference),
        RelianceKind::Developer => format!("shared by the developer: {}", r.reference),
        // The whole digest is in the list of the reviewer's evaluations.
        RelianceKind::Reviewer => format!(
            "the reviewer's evaluation: {} ({}…)",
            r.reference,
            r.digest.as_deref().unwrap_or("no digest").chars().take(19).collect::<String>()
        ),
    }
}

/// The headline: the conclusion's verdict, as computed and as stated.
fn headline(b: &Built) -> Vec<String> {
    let v = &b.version;
    let c = &b.conclusion;
    let mut out = vec![format!("The report's conclusion: “{}”", v.conclusion.text)];
    out.push(match &c.reason {
        Some(reason) if c.stated != c.computed => format!(
            "The reviewer's verdict: {}. From its supporting claims ({}) the rule gives {}; the reviewer states {} because: {reason}",
            c.stated.name(),
            c.from.join(", "),
            c.computed.name(),
            c.stated.name()
        ),
        _ => format!(
            "The reviewer's verdict: {}, the worst verdict of the load-bearing claims it rests on ({}).",
            c.stated.name(),
            c.from.join(", ")
        ),
    });
    let count = |k: VerdictKind| v.verdicts.iter().filter(|x| x.verdict == k).count();
    out.push(format!(
        "Verdicts on {} claims: {} supported, {} insufficient, {} disagree.",
        v.verdicts.len(),
        count(VerdictKind::Supported),
        count(VerdictKind::Insufficient),
        count(VerdictKind::Disagree)
    ));
    out.push(match b.open_items.len() {
        0 => "The assurance checklist is complete.".into(),
        n => format!("DRAFT: {n} checklist items are open; this version is not for publication."),
    });
    out
}

fn blocks(b: &Built) -> Vec<Block> {
    let v = &b.version;
    let r = &v.review;
    let mut out = Vec::new();
    out.push(P(format!(
        "{} of {}'s report “{}”, {} version, {}. Reviewer: {}. Status: {}.",
        r.title, r.developer, r.report, r.version, r.date, r.reviewer, b.status
    )));
    out.push(P(format!(
        "Digest {}{}{}. Check a copy with `perimeter review verify {}.json`.",
        b.digest,
        b.previous_digest
            .as_ref()
            .map(|d| format!("; it updates the version with digest {d}"))
            .unwrap_or_default(),
        b.signature.as_ref().map(|s| format!("; signed by {}", s.public_key)).unwrap_or_default(),
        r.version
    )));
    out.push(H(2, "Scope".into()));
    out.push(List(vec![
        format!("Models: {}", v.scope.models.join(", ")),
        format!("Domains: {}", v.scope.domains.join(", ")),
        format!("Period: {}", v.scope.period),
    ]));
    out.push(H(2, "Threat model".into()));
    out.push(P(v.threat_model.summary.clone()));
    if !v.threat_model.pathways.is_empty() {
        out.push(List(
            v.threat_model.pathways.iter().map(|p| format!("{}: {}", p.id, p.text)).collect(),
        ));
    }
    out.push(H(2, "The report's claims and the reviewer's verdicts".into()));
    out.push(P("Each load-bearing claim with the evidence the developer cites, what it supports, and the reviewer's verdict (supported, insufficient, disagree), confidence, reasoning and what the verdict relies on.".into()));
    out.push(Table(
        columns(&[
            "claim",
            "text",
            "cites",
            "supports",
            "verdict",
            "confidence",
            "reasoning",
            "relies on",
        ]),
        v.claims
            .iter()
            .map(|c| {
                let x = v.verdicts.iter().find(|x| x.claim == c.id);
                vec![
                    format!("{}{}", c.id, if c.load_bearing { "" } else { " (not load-bearing)" }),
                    c.text.clone(),
                    c.cites.join(", "),
                    c.supports.join(", "),
                    verdict(x.map(|x| x.verdict)),
                    x.map_or(String::new(), |x| x.confidence.name().to_owned()),
                    x.map_or(String::new(), |x| x.reasoning.clone()),
                    x.map_or(String::new(), |x| {
                        x.relies_on.iter().map(reliance).collect::<Vec<_>>().join("; ")
                    }),
                ]
            })
            .collect(),
    ));
    if let Some(o) = &v.conclusion.overridden
        && !o.relies_on.is_empty()
    {
        out.push(P(format!(
            "The verdict on the conclusion relies on: {}.",
            o.relies_on.iter().map(reliance).collect::<Vec<_>>().join("; ")
        )));
    }
    out.push(H(2, "The evidence the developer cites".into()));
    out.push(Table(
        columns(&["evidence", "kind", "public", "what"]),
        v.evidence
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    format!("{:?}", e.kind).to_lowercase(),
                    if e.public { "yes" } else { "no: the reviewer saw it" }.into(),
                    e.text.clone(),
                ]
            })
            .collect(),
    ));
    out.push(H(2, "Assurance checklist".into()));
    out.push(Table(
        columns(&["item", "what it checks", "status", "notes"]),
        v.checklist
            .iter()
            .map(|c| {
                let what = REQUIRED.iter().find(|(k, _)| *k == c.item).map_or_else(
                    || match c.item.split_once(':') {
                        Some(("evidence", id)) => {
                            format!("the evidence behind load-bearing claim {id}")
                        }
                        Some(("redaction", id)) => format!("whether redaction {id} is appropriate"),
                        _ => String::new(),
                    },
                    |(_, w)| (*w).to_owned(),
                );
                vec![c.item.clone(), what, c.status.name().into(), c.notes.clone()]
            })
            .collect(),
    ));
    if !b.open_items.is_empty() {
        out.push(P("Open:".into()));
        out.push(List(b.open_items.clone()));
    }
    out.push(H(2, "Redactions".into()));
    if v.redactions.is_empty() {
        out.push(P("The report as received had no redactions.".into()));
    } else {
        out.push(Table(
            columns(&["redaction", "where", "appropriate", "the reviewer's comment"]),
            v.redactions
                .iter()
                .map(|x| {
                    vec![
                        x.id.clone(),
                        x.location.clone(),
                        if x.appropriate { "yes" } else { "no" }.into(),
                        x.comment.clone(),
                    ]
                })
                .collect(),
        ));
    }
    if !b.artifacts.is_empty() {
        out.push(H(2, "The reviewer's own evaluations".into()));
        out.push(List(
            b.artifacts
                .iter()
                .map(|a| format!("{} ({}), {}", a.reference, a.kind, a.digest))
                .collect(),
        ));
    }
    out.push(H(2, "Appendix: the review process".into()));
    let dated = |list: &[formats::riskreview::Dated]| -> Vec<String> {
        list.iter().map(|d| format!("{}: {}", d.date, d.what)).collect()
    };
    if !v.process.received.is_empty() {
        out.push(P("Materials received:".into()));
        out.push(List(dated(&v.process.received)));
    }
    if !v.process.meetings.is_empty() {
        out.push(P("Meetings:".into()));
        out.push(List(dated(&v.process.meetings)));
    }
    match &v.publication_review {
        None => {
            out.push(P("The developer has not reviewed this version before publication.".into()))
        }
        Some(p) => {
            out.push(P(format!(
                "Publication review ({}): the developer asked to redact {}; redacted: {}. {}",
                p.date,
                if p.requested.is_empty() { "nothing".to_owned() } else { p.requested.join("; ") },
                if p.redacted.is_empty() { "nothing".to_owned() } else { p.redacted.join("; ") },
                p.notes
            )));
        }
    }
    if let Some(d) = &b.differences {
        out.push(H(2, format!("Appendix: what changed since the {} version", d.from)));
        let mut lines = Vec::new();
        lines.extend(d.claims_added.iter().map(|id| {
            let text = v.claims.iter().find(|c| &c.id == id).map_or("", |c| c.text.as_str());
            format!("Claim {id} added: “{text}”")
        }));
        lines.extend(d.claims_removed.iter().map(|id| format!("Claim {id} removed")));
        lines.extend(
            d.claims_reworded
                .iter()
                .map(|r| format!("Claim {} reworded: “{}” → “{}”", r.id, r.before, r.after)),
        );
        lines.extend(d.verdicts_changed.iter().map(|c| {
            format!(
                "Verdict on {}: {} → {}, because: {}",
                c.claim,
                verdict(c.before),
                verdict(c.after),
                c.reason
            )
        }));
        if let Some(c) = &d.conclusion_changed {
            lines.push(format!(
                "Verdict on the conclusion: {} → {}, because: {}",
                verdict(c.before),
                verdict(c.after),
                c.reason
            ));
        }
        lines.extend(d.evidence_added.iter().map(|id| format!("Evidence {id} added")));
        lines.extend(d.evidence_removed.iter().map(|id| format!("Evidence {id} removed")));
        lines.extend(d.checklist_changed.iter().map(|c| format!("Checklist {c}")));
        if lines.is_empty() {
            lines.push("Nothing.".into());
        }
        out.push(List(lines));
    }
    out
}

pub fn markdown(b: &Built) -> String {
    let r = &b.version.review;
    let mut out = format!("# {}: {} version\n\n", r.title, r.version);
    for line in headline(b) {
        out.push_str(&format!("> {line}\n>\n"));
    }
    out.push('\n');
    out.push_str(&text::blocks::markdown(&blocks(b)));
    out.push_str(&format!("\nThe claim graph, coloured by verdict: `{}.svg`.\n", r.version));
    out
}

pub fn html(b: &Built, svg: &str) -> String {
    use text::html_escape as esc;
    let r = &b.version.review;
    let title = format!("{}: {} version", r.title, r.version);
    let mut body = format!("<h1>{}</h1>\n<div class=\"headline\">", esc(&title));
    for line in headline(b) {
        body.push_str(&format!("<p>{}</p>", esc(&line)));
    }
    body.push_str("</div>\n");
    let blocks = blocks(b);
    // The graph goes after the claims' table.
    let split = blocks
        .iter()
        .position(|x| matches!(x, H(2, t) if t == "The evidence the developer cites"))
        .unwrap_or(blocks.len());
    body.push_str(&text::blocks::html(&blocks[..split]));
    body.push_str("<h3>The claim graph</h3>\n<p>The conclusion on top, each claim below what it supports, the developer's evidence at the bottom (dashed: not public); coloured by verdict: green supported, amber insufficient, red disagree, grey none.</p>\n");
    body.push_str(&format!("<div style=\"overflow-x:auto\">{svg}</div>\n"));
    body.push_str(&text::blocks::html(&blocks[split..]));
    text::blocks::page(&title, &body)
}
