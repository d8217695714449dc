//! Every page, built through [`Html`]: no markup from data, no script.

use std::collections::BTreeMap;

use formats::review::{Target, Verdict};
use trace::{Body, Event, Source};

use crate::html::{Html, Path};
use crate::{App, Response};

pub const STYLE: &str = r#"
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:.6rem 1.2rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem 1.2rem;max-width:1500px}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #ddd;padding:.25rem .45rem;vertical-align:top;text-align:left}
th{background:#eef2f7}
.box{border:1px solid #c9d3e0;background:#fff;padding:.6rem .9rem;margin:.6rem 0}
.pair{width:100%;table-layout:fixed}.pair .seq{width:3.5rem}.pair .ts{width:6.5rem;color:#666}
td.agent{background:#f5f9ff}td.seen{background:#fbf8f2}
tr.ev td{outline:2px solid #d9822b}
.chip{display:inline-block;background:#d9822b;color:#fff;border-radius:3px;padding:0 .3rem;margin-right:.2rem;font-size:12px}
.ok{color:#2e7d32}.bad{color:#b00020}.muted{color:#666}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font:12px/1.4 ui-monospace,monospace}
form.decide{display:inline-block;margin:.2rem 0}form.decide input[type=text]{width:16rem}
nav.pages a{margin-right:.4rem}
"#;

/// Characters of one event shown on a page; the event's own page has all.
const SHOWN: usize = 4000;

fn layout(app: &App, title: &str, body: &Html) -> Response {
    let mut h = Html::new();
    h.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
        .text(title)
        .raw("</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body><header>")
        .link(&Path::new(&[]), "Perimeter")
        .link(&Path::new(&["search"]), "search")
        .link(&Path::new(&["decisions"]), "decisions");
    match &app.reviewer {
        Some(r) => h.raw("<span>reviewing as ").text(r).raw("</span>"),
        None => h.raw("<span>read-only: start with --reviewer NAME to decide</span>"),
    };
    h.raw("</header><main><h1>")
        .text(title)
        .raw("</h1>\n")
        .push(body)
        .raw("</main></body></html>\n");
    Response::page(200, h.into_string())
}

pub fn refused(status: u16, message: &str) -> Response {
    let mut h = Html::new();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Perimeter</title></head><body><p>")
        .text(message)
        .raw("</p></body></html>\n");
    Response::page(status, h.into_string())
}

pub fn not_found() -> Response {
    refused(404, "No such page.")
}

fn rate(k: u64, n: u64, lo: f64, hi: f64) -> String {
    if n == 0 {
        return "n/a (no episode in the denominator)".into();
    }
    format!("{k}/{n}, {:.1}% [{:.1}, {:.1}]", 100.0 * k as f64 / n as f64, 100.0 * lo, 100.0 * hi)
}

pub fn index(app: &App) -> Response {
    let s = &app.sources;
    let mut h = Html::new();
    h.raw("<div class=\"box\">")
        .num(s.runs.len())
        .raw(" runs, ")
        .num(s.scans.len())
        .raw(" scans, ")
        .num(s.incidents.len())
        .raw(" incident catalogues, ")
        .num(s.monitors.len())
        .raw(" monitor results, ")
        .num(s.rounds.len())
        .raw(" rounds; decisions in ")
        .text(&app.journal.path().display().to_string())
        .raw(" (")
        .num(app.journal.decisions().len())
        .raw(")");
    if let Some(r) = &app.journal.recovered {
        h.raw("<p class=\"bad\">A decision cut short by a crash was dropped when the journal was opened: ").text(r).raw("</p>");
    }
    for p in &s.problems {
        h.raw("<p class=\"bad\">").text(p).raw("</p>");
    }
    h.raw("</div>");
    if !s.runs.is_empty() {
        h.raw("<h2>Runs</h2><table><tr><th>run</th><th>agent</th><th>episodes</th><th>labelled</th><th>not counted</th></tr>");
        for (i, r) in s.runs.iter().enumerate() {
            let eps = &r.summary.episodes;
            let labelled = eps.iter().filter(|e| !e.labels.is_empty()).count();
            let infra = eps
                .iter()
                .filter(|e| e.end_reason.kind() == formats::EndKind::Infrastructure)
                .count();
            h.raw("<tr><td>")
                .link(&Path::new(&["run", &i.to_string()]), &r.dir.display().to_string())
                .raw("</td><td>")
                .text(&r.summary.header.agent)
                .raw("</td><td>")
                .num(eps.len())
                .raw("</td><td>")
                .num(labelled)
                .raw("</td><td>")
                .num(infra)
                .raw("</td></tr>");
        }
        h.raw("</table>");
    }
    let list = |h: &mut Html, title: &'static str, kind: &str, names: Vec<String>| {
        if names.is_empty() {
            return;
        }
        h.raw("<h2>").raw(title).raw("</h2><ul>");
        for (i, n) in names.iter().enumerate() {
            h.raw("<li>").link(&Path::new(&[kind, &i.to_string()]), n).raw("</li>");
        }
        h.raw("</ul>");
    };
    list(
        &mut h,
        "Scans",
        "scan",
        s.scans
            .iter()
            .map(|x| format!("{} ({} sessions)", x.path.display(), x.report.sessions.len()))
            .collect(),
    );
    list(
        &mut h,
        "Incident catalogues",
        "incidents",
        s.incidents
            .iter()
            .map(|x| format!("{} ({} incidents)", x.path.display(), x.catalogue.incidents.len()))
            .collect(),
    );
    list(
        &mut h,
        "Monitor results",
        "monitor",
        s.monitors
            .iter()
            .map(|x| format!("{} ({})", x.path.display(), x.results.monitor.spec))
            .collect(),
    );
    list(&mut h, "Rounds", "round", s.rounds.iter().map(|x| x.dir.display().to_string()).collect());
    layout(app, "Perimeter workbench", &h)
}

/// Filters an episode list by the query: class, scenario, end reason.
fn keeps(e: &formats::run::EpisodeRecord, q: &[(String, String)]) -> bool {
    let get =
        |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    get("class").is_none_or(|c| e.labels.iter().any(|l| l.class == c))
        && get("scenario").is_none_or(|s| e.scenario.contains(s))
        && get("end").is_none_or(|r| e.end_reason.to_string().as_str() == r)
}

fn filter_form(
    h: &mut Html,
    action: &Path,
    q: &[(String, String)],
    fields: &[(&'static str, &'static str)],
) {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    h.raw("<form method=\"get\" action=\"").text(action.as_str()).raw("\">");
    for (name, label) in fields {
        h.raw("<label>")
            .raw(label)
            .raw(" <input type=\"text\" name=\"")
            .raw(name)
            .raw("\" value=\"")
            .text(&get(name))
            .raw("\"></label> ");
    }
    h.raw("<button>filter</button></form>");
}

fn episodes_table(h: &mut Html, run: usize, eps: &[(usize, &formats::run::EpisodeRecord)]) {
    h.raw("<table><tr><th>episode</th><th>end</th><th>main task</th><th>labels</th></tr>");
    for (j, e) in eps {
        let name = format!("{}/e{}", e.scenario, e.epoch);
        h.raw("<tr><td>")
            .link(&Path::new(&["run", &run.to_string(), "ep", &j.to_string()]), &name)
            .raw("</td><td>")
            .text(&e.end_reason.to_string())
            .raw("</td><td>")
            .raw(if e.main_task_success {
                "<span class=\"ok\">passed</span>"
            } else {
                "<span class=\"bad\">failed</span>"
            })
            .raw("</td><td>");
        for l in &e.labels {
            h.raw("<span class=\"chip\">").text(l.class.as_str()).raw("</span>");
        }
        h.raw("</td></tr>");
    }
    h.raw("</table>");
}

pub fn run(app: &App, i: usize, q: &[(String, String)]) -> Option<Response> {
    let r = app.sources.runs.get(i)?;
    let hd = &r.summary.header;
    let eps = &r.summary.episodes;
    let mut h = Html::new();
    h.raw("<div class=\"box\"><b>What was run.</b> ")
        .text(&hd.agent)
        .raw(" on suite ")
        .text(&hd.suite.name)
        .raw(", ")
        .num(hd.epochs)
        .raw(" epoch(s) of ")
        .num(hd.scenarios.len())
        .raw(" scenarios, seed ")
        .num(hd.seed)
        .raw(". Limits: ")
        .text(&hd.limits.human())
        .raw(".");
    let infra: Vec<_> =
        eps.iter().filter(|e| e.end_reason.kind() == formats::EndKind::Infrastructure).collect();
    h.raw("<br><b>Episodes.</b> ").num(eps.len() - infra.len()).raw(" counted");
    if !infra.is_empty() {
        h.raw(", ").num(infra.len()).raw(" not counted (ended for an infrastructure reason: ");
        let reasons: Vec<String> = infra.iter().map(|e| e.end_reason.to_string()).collect();
        h.text(&reasons.join(", ")).raw(")");
    }
    h.raw(".</div>");
    if let Some(rates) = &r.summary.rates {
        let seen: Vec<_> = rates
            .classes
            .iter()
            .filter(|x| x.denominator == "per_opportunity" && x.scenario.is_none() && x.k > 0)
            .collect();
        h.raw("<h2>Classes seen, per opportunity</h2>");
        if seen.is_empty() {
            h.raw("<p>No class was labelled in any episode.</p>");
        } else {
            h.raw("<table><tr><th>class</th><th>episodes labelled / that offered it</th></tr>");
            for x in seen {
                h.raw("<tr><td>")
                    .text(x.class.map(|c| c.as_str()).unwrap_or(""))
                    .raw("</td><td>")
                    .text(&rate(x.k, x.n, x.ci_low, x.ci_high))
                    .raw("</td></tr>");
            }
            h.raw("</table>");
        }
        let zero = rates
            .classes
            .iter()
            .filter(|x| x.denominator == "per_opportunity" && x.scenario.is_none() && x.k == 0)
            .count();
        if zero > 0 {
            h.raw("<p class=\"muted\">").num(zero).raw(
                " other classes were never labelled (see the run's report for their bounds).</p>",
            );
        }
    }
    h.raw("<h2>Episodes</h2>");
    filter_form(
        &mut h,
        &Path::new(&["run", &i.to_string()]),
        q,
        &[("class", "class"), ("scenario", "scenario"), ("end", "end reason")],
    );
    let shown: Vec<(usize, &formats::run::EpisodeRecord)> =
        eps.iter().enumerate().filter(|(_, e)| keeps(e, q)).collect();
    episodes_table(&mut h, i, &shown);
    Some(layout(app, &format!("Run {}", r.dir.display()), &h))
}

/// An event's text for its cell: what it is, then what it says.
fn describe(body: &Body) -> (String, String) {
    let json = |v: &serde_json::Value| serde_json::to_string(v).unwrap_or_default();
    match body {
        Body::ModelMessage { role, text, reasoning } => {
            let mut t = String::new();
            if let Some(r) = reasoning.as_deref().filter(|r| !r.is_empty()) {
                t.push_str("[reasoning] ");
                t.push_str(r);
                t.push('\n');
            }
            t.push_str(text);
            (format!("{role} message"), t)
        }
        Body::ToolCall { call_id, tool, input } => {
            let inner = input
                .get("command")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| json(input));
            (format!("call {tool} ({call_id})"), inner)
        }
        Body::ToolResult { call_id, output, exit_code, is_error } => {
            let how = match (exit_code, is_error) {
                (Some(c), _) => format!(", exit {c}"),
                (None, true) => ", error".into(),
                _ => String::new(),
            };
            (format!("result ({call_id}{how})"), output.clone())
        }
        Body::ProcessExec(p) => (
            format!(
                "exec pid {} ← {}{}",
                p.pid,
                p.ppid,
                p.exit_code.map(|c| format!(", exit {c}")).unwrap_or_default()
            ),
            format!("{}\n(cwd {})", p.argv.join(" "), p.cwd),
        ),
        Body::FileChange { path, change, after, .. } => (
            format!(
                "file {}",
                serde_json::to_value(change)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            format!("{path}{}", after.as_deref().map(|a| format!("\n→ {a}")).unwrap_or_default()),
        ),
        Body::HoneypotRead(r) => (
            format!("honeypot read `{}`", r.honeypot),
            format!(
                "{}{}",
                r.path,
                r.argv.as_ref().map(|a| format!("\nby {}", a.join(" "))).unwrap_or_default()
            ),
        ),
        Body::NetworkAttempt(n) => (
            format!("connect{}", if n.allowed { "" } else { " (no route out)" }),
            format!("{}:{} by {}", n.address, n.port, n.argv.join(" ")),
        ),
        Body::Score { check, passed, .. } => {
            (format!("check {}", if *passed { "passed" } else { "FAILED" }), check.clone())
        }
        Body::Probe { probe, status, detail } => {
            (format!("probe {probe}: {status}"), detail.clone())
        }
        Body::Finding { code, class, message, .. } => {
            (format!("finding {code} {class}"), message.clone())
        }
        Body::Submission { answer } => ("final answer".into(), answer.clone()),
        Body::TraceEnd { reason } => ("end".into(), reason.clone()),
        Body::Error { message } => ("error".into(), message.clone()),
        other => {
            let v = serde_json::to_value(other).unwrap_or_default();
            (other.kind().to_owned(), json(&v))
        }
    }
}

fn cell_text(h: &mut Html, text: &str, full: Option<&Path>) {
    let count = text.chars().count();
    if count <= SHOWN {
        h.raw("<pre>").text(text).raw("</pre>");
        return;
    }
    let cut: String = text.chars().take(SHOWN).collect();
    h.raw("<pre>")
        .text(&cut)
        .raw("</pre><span class=\"muted\">… ")
        .num(count - SHOWN)
        .raw(" more characters: ");
    if let Some(p) = full {
        h.link(p, "the whole event");
    }
    h.raw("</span>");
}

/// A grade on one line: `overreach 2+0.6, deception 0+0`.
fn grade_text(g: &formats::incident::Grade) -> String {
    format!(
        "overreach {}+{}, deception {}+{}",
        g.overreach.level, g.overreach.severity, g.deception.level, g.deception.severity
    )
}

/// A decision form for `target`, with the latest decision on it.
fn decide_form(h: &mut Html, app: &App, target: &Target, back: &Path, regrade: &'static str) {
    if let Some(d) = app.decided(target) {
        let v = match d.verdict {
            Verdict::Confirm => "confirmed",
            Verdict::Dismiss => "dismissed",
            Verdict::Regrade => "re-graded",
        };
        h.raw("<div><b>")
            .raw(v)
            .raw("</b> by ")
            .text(&d.by)
            .raw(" at ")
            .text(&d.at.to_string())
            .raw(": ")
            .text(&d.note);
        if let Some(s) = d.severity {
            h.raw(" (severity ").num(s).raw(")");
        }
        if let Some(g) = &d.grade {
            h.raw(" (").text(&grade_text(g)).raw(")");
        }
        h.raw("</div>");
    }
    if app.reviewer.is_none() {
        return;
    }
    h.raw("<form class=\"decide\" method=\"post\" action=\"/decide\"><input type=\"hidden\" name=\"token\" value=\"")
        .text(&app.token).raw("\"><input type=\"hidden\" name=\"back\" value=\"").text(back.as_str()).raw("\">");
    let hidden = |h: &mut Html, k: &'static str, v: &str| {
        h.raw("<input type=\"hidden\" name=\"").raw(k).raw("\" value=\"").text(v).raw("\">");
    };
    match target {
        Target::Label { trace_head, episode, class } => {
            hidden(h, "kind", "label");
            hidden(h, "trace_head", trace_head);
            hidden(h, "episode", episode);
            hidden(h, "class", class.as_str());
        }
        Target::Finding { session, code, class } => {
            hidden(h, "kind", "finding");
            hidden(h, "session", session);
            hidden(h, "code", code);
            hidden(h, "class", class.as_str());
        }
        Target::Incident { key, id } => {
            hidden(h, "kind", "incident");
            hidden(h, "key", key);
            hidden(h, "id", id);
        }
    }
    h.raw("<input type=\"text\" name=\"note\" placeholder=\"why (required)\" required> ")
        .raw(regrade)
        .raw(" <button name=\"verdict\" value=\"confirm\">confirm</button> <button name=\"verdict\" value=\"dismiss\">dismiss</button> <button name=\"verdict\" value=\"regrade\">re-grade</button></form>");
}

const LABEL_REGRADE: &str =
    "<input type=\"text\" name=\"severity\" placeholder=\"new severity 0–1\" size=\"8\">";
const INCIDENT_REGRADE: &str = "<input type=\"text\" name=\"overreach\" placeholder=\"overreach L:S\" size=\"10\"> <input type=\"text\" name=\"deception\" placeholder=\"deception L:S\" size=\"10\">";

pub fn episode(app: &App, i: usize, j: usize, page: Option<usize>) -> Response {
    let Some(r) = app.sources.runs.get(i) else { return not_found() };
    let Some(e) = r.summary.episodes.get(j) else { return not_found() };
    let index = match app.traces.get(&r.dir.join(&e.trace)) {
        Ok(x) => x,
        Err(m) => return refused(404, &m),
    };
    let name = format!("{}/e{}", e.scenario, e.epoch);
    let here = Path::new(&["run", &i.to_string(), "ep", &j.to_string()]);
    let page = page.unwrap_or(0).min(index.pages() - 1);
    let mut h = Html::new();
    h.raw("<div class=\"box\">")
        .link(&Path::new(&["run", &i.to_string()]), &r.dir.display().to_string())
        .raw(" · ended ")
        .text(&e.end_reason.to_string())
        .raw(" · main task ")
        .raw(if e.main_task_success { "passed" } else { "failed" })
        .raw(" · ")
        .num(index.events())
        .raw(" events");
    if let Err(m) = &index.verified {
        h.raw(" · <span class=\"bad\">").text(m).raw("</span>");
    } else {
        h.raw(" · hash chain verified");
    }
    h.raw("</div>");
    let mut evidence: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    h.raw("<h2>Labels</h2>");
    if e.labels.is_empty() {
        h.raw("<p>None.</p>");
    }
    for l in &e.labels {
        for s in &l.evidence {
            evidence.entry(*s).or_default().push(l.class.as_str());
        }
        h.raw("<div class=\"box\"><span class=\"chip\">")
            .text(l.class.as_str())
            .raw("</span> ")
            .raw(if l.succeeded { "took effect" } else { "attempted" })
            .raw(if l.concealed { ", concealed" } else { "" })
            .raw(", severity ")
            .num(l.severity)
            .raw(", from ")
            .text(&format!("{:?}", l.source).to_lowercase())
            .raw(". Evidence: ");
        for s in &l.evidence {
            let p = here.clone().with("page", &crate::index::Index::page_of(*s).to_string());
            h.raw("<a href=\"").text(p.as_str()).raw("#e").num(s).raw("\">").num(s).raw("</a> ");
        }
        let target = Target::Label {
            trace_head: e.trace_head.clone(),
            episode: name.clone(),
            class: l.class,
        };
        decide_form(&mut h, app, &target, &here, LABEL_REGRADE);
        h.raw("</div>");
    }
    h.raw("<h2>The agent's account beside what the sandbox saw</h2>");
    nav(&mut h, &here, page, index.pages());
    h.raw("<table class=\"pair\"><tr><th class=\"seq\">#</th><th class=\"ts\">time</th><th>agent (its messages, reasoning, calls, results)</th><th>sandbox and harness (execs, files, honeypots, connections, checks)</th></tr>");
    let mut during: Option<String> = None;
    for ev in index.page(page) {
        match ev {
            Ok(ev) => {
                let full = Path::new(&[
                    "run",
                    &i.to_string(),
                    "ep",
                    &j.to_string(),
                    "event",
                    &ev.seq.to_string(),
                ]);
                row(&mut h, &ev, evidence.get(&ev.seq), &mut during, &full)
            }
            Err((line, m)) => {
                h.raw("<tr><td colspan=\"4\" class=\"bad\">line ")
                    .num(line)
                    .raw(": ")
                    .text(&m)
                    .raw("</td></tr>");
            }
        }
    }
    h.raw("</table>");
    nav(&mut h, &here, page, index.pages());
    layout(app, &format!("Episode {name}"), &h)
}

fn nav(h: &mut Html, here: &Path, page: usize, pages: usize) {
    if pages <= 1 {
        return;
    }
    h.raw("<nav class=\"pages\">page ").num(page + 1).raw(" of ").num(pages).raw(": ");
    if page > 0 {
        h.link(&here.clone().with("page", &(page - 1).to_string()), "previous");
    }
    if page + 1 < pages {
        h.link(&here.clone().with("page", &(page + 1).to_string()), "next");
    }
    h.link(&here.clone().with("page", &(pages - 1).to_string()), "last");
    h.raw("</nav>");
}

/// One event as a row: in the agent's column or the sandbox's, marked
/// when a label rests on it, and a sandbox event between a call and its
/// result named as during that call.
fn row(
    h: &mut Html,
    ev: &Event,
    classes: Option<&Vec<&str>>,
    during: &mut Option<String>,
    full: &Path,
) {
    let (what, text) = describe(&ev.body);
    let agent = ev.source == Source::Agent;
    match &ev.body {
        Body::ToolCall { call_id, .. } => *during = Some(call_id.clone()),
        Body::ToolResult { .. } => *during = None,
        _ => {}
    }
    h.raw("<tr id=\"e")
        .num(ev.seq)
        .raw("\"")
        .raw(if classes.is_some() { " class=\"ev\"" } else { "" })
        .raw("><td class=\"seq\">")
        .num(ev.seq)
        .raw("</td><td class=\"ts\">")
        .text(&ev.ts.to_string()[11..23])
        .raw("</td>");
    let mut cell = Html::new();
    cell.raw("<b>").text(&what).raw("</b> ");
    for c in classes.into_iter().flatten() {
        cell.raw("<span class=\"chip\">").text(c).raw("</span>");
    }
    if !agent && let Some(call) = during.as_ref() {
        cell.raw("<span class=\"muted\">during call ").text(call).raw("</span>");
    }
    cell_text(&mut cell, &text, Some(full));
    if agent {
        h.raw("<td class=\"agent\">").push(&cell).raw("</td><td class=\"seen\"></td>");
    } else {
        h.raw("<td class=\"agent\"></td><td class=\"seen\">").push(&cell).raw("</td>");
    }
    h.raw("</tr>\n");
}

pub fn event(app: &App, i: usize, j: usize, seq: u64) -> Response {
    let Some(r) = app.sources.runs.get(i) else { return not_found() };
    let Some(e) = r.summary.episodes.get(j) else { return not_found() };
    let Ok(index) = app.traces.get(&r.dir.join(&e.trace)) else { return not_found() };
    let Some(ev) = index.event(seq) else { return not_found() };
    let (what, text) = describe(&ev.body);
    let mut h = Html::new();
    h.raw("<p><b>").text(&what).raw("</b></p><pre>").text(&text).raw("</pre>");
    layout(app, &format!("Event {seq} of {}/e{}", e.scenario, e.epoch), &h)
}

pub fn search(app: &App, q: &[(String, String)]) -> Response {
    let mut h = Html::new();
    filter_form(
        &mut h,
        &Path::new(&["search"]),
        q,
        &[
            ("class", "class"),
            ("scenario", "scenario"),
            ("end", "end reason"),
            ("client", "client"),
        ],
    );
    let get =
        |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    for (i, r) in app.sources.runs.iter().enumerate() {
        if get("client").is_some_and(|c| {
            !r.summary.header.scaffold.contains(c) && !r.summary.header.agent.contains(c)
        }) {
            continue;
        }
        let eps: Vec<_> =
            r.summary.episodes.iter().enumerate().filter(|(_, e)| keeps(e, q)).collect();
        if eps.is_empty() {
            continue;
        }
        h.raw("<h2>")
            .link(&Path::new(&["run", &i.to_string()]), &r.dir.display().to_string())
            .raw("</h2>");
        episodes_table(&mut h, i, &eps);
    }
    for (i, s) in app.sources.scans.iter().enumerate() {
        let sessions: Vec<_> = s
            .report
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, x)| get("class").is_none_or(|c| x.findings.iter().any(|f| f.class == c)))
            .filter(|(_, x)| get("client").is_none_or(|c| x.client.contains(c)))
            .filter(|(_, x)| !x.findings.is_empty())
            .collect();
        if sessions.is_empty() || get("scenario").is_some() || get("end").is_some() {
            continue;
        }
        h.raw("<h2>")
            .link(&Path::new(&["scan", &i.to_string()]), &s.path.display().to_string())
            .raw("</h2><ul>");
        for (k, x) in sessions {
            h.raw("<li>")
                .link(&Path::new(&["scan", &i.to_string(), "s", &k.to_string()]), &x.file)
                .raw("</li>");
        }
        h.raw("</ul>");
    }
    layout(app, "Search", &h)
}

pub fn scan(app: &App, i: usize, q: &[(String, String)]) -> Option<Response> {
    let s = app.sources.scans.get(i)?;
    let get =
        |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let mut h = Html::new();
    let t = &s.report.totals;
    h.raw("<div class=\"box\">")
        .num(t.sessions)
        .raw(" sessions read, ")
        .num(t.sessions_with_findings)
        .raw(" with findings.</div>");
    filter_form(
        &mut h,
        &Path::new(&["scan", &i.to_string()]),
        q,
        &[("class", "class"), ("client", "client")],
    );
    h.raw("<table><tr><th>session</th><th>client</th><th>findings</th></tr>");
    for (k, x) in s.report.sessions.iter().enumerate() {
        if get("class").is_some_and(|c| !x.findings.iter().any(|f| f.class == c))
            || get("client").is_some_and(|c| !x.client.contains(c))
        {
            continue;
        }
        h.raw("<tr><td>")
            .link(&Path::new(&["scan", &i.to_string(), "s", &k.to_string()]), &x.file)
            .raw("</td><td>")
            .text(&x.client)
            .raw("</td><td>");
        for f in &x.findings {
            h.raw("<span class=\"chip\">").text(f.class.as_str()).raw("</span>");
        }
        h.raw("</td></tr>");
    }
    h.raw("</table>");
    Some(layout(app, &format!("Scan {}", s.path.display()), &h))
}

pub fn session(app: &App, i: usize, k: usize) -> Response {
    let Some(s) = app.sources.scans.get(i) else { return not_found() };
    let Some(x) = s.report.sessions.get(k) else { return not_found() };
    let here = Path::new(&["scan", &i.to_string(), "s", &k.to_string()]);
    let mut h = Html::new();
    h.raw("<div class=\"box\">").text(&x.client).raw(" ").text(x.client_version.as_deref().unwrap_or(""))
        .raw(" · model ").text(x.model.as_deref().unwrap_or("not recorded")).raw(" · permission mode ")
        .text(x.permission_mode.as_deref().unwrap_or("not recorded"))
        .raw(" · a real session: the agent's own record only, no sandbox saw it.</div><h2>Findings</h2>");
    let mut evidence: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for f in &x.findings {
        for e in &f.evidence {
            evidence.entry(e.event).or_default().push(f.class.as_str());
        }
        h.raw("<div class=\"box\"><span class=\"chip\">")
            .text(f.class.as_str())
            .raw("</span> ")
            .text(&f.code)
            .raw(": ")
            .text(&f.message)
            .raw(". Events: ");
        for e in &f.evidence {
            h.raw("<a href=\"#e").num(e.event).raw("\">").num(e.event).raw("</a> ");
        }
        let target =
            Target::Finding { session: x.file.clone(), code: f.code.clone(), class: f.class };
        decide_form(&mut h, app, &target, &here, LABEL_REGRADE);
        h.raw("</div>");
    }
    let file = x.file.split('#').next().unwrap_or(&x.file);
    h.raw("<h2>The session</h2>");
    match std::fs::File::open(file) {
        Ok(f) => {
            let (_, session) =
                import::read(std::io::BufReader::new(f), None, import::Limits::default());
            h.raw("<table class=\"pair\"><tr><th class=\"seq\">#</th><th class=\"ts\">line</th><th>agent</th><th>sandbox</th></tr>");
            for (n, ev) in session.events.iter().enumerate() {
                let (what, text) = describe(&ev.body);
                let classes = evidence.get(&n);
                h.raw("<tr id=\"e")
                    .num(n)
                    .raw("\"")
                    .raw(if classes.is_some() { " class=\"ev\"" } else { "" })
                    .raw("><td class=\"seq\">")
                    .num(n)
                    .raw("</td><td class=\"ts\">")
                    .num(ev.line)
                    .raw("</td><td class=\"agent\"><b>")
                    .text(&what)
                    .raw("</b> ");
                for c in classes.into_iter().flatten() {
                    h.raw("<span class=\"chip\">").text(c).raw("</span>");
                }
                cell_text(&mut h, &text, None);
                h.raw("</td><td class=\"seen muted\">—</td></tr>\n");
            }
            h.raw("</table>");
        }
        Err(e) => {
            h.raw("<p class=\"bad\">").text(&format!("{file}: {e}")).raw("</p>");
        }
    }
    layout(app, &format!("Session {}", x.file), &h)
}

pub fn incidents(app: &App, i: usize) -> Option<Response> {
    let c = app.sources.incidents.get(i)?;
    let here = Path::new(&["incidents", &i.to_string()]);
    let mut h = Html::new();
    for inc in &c.catalogue.incidents {
        h.raw("<div class=\"box\"><b>")
            .text(&inc.id)
            .raw("</b> ")
            .text(inc.source.as_str())
            .raw(" ");
        for cl in &inc.classes {
            h.raw("<span class=\"chip\">").text(cl.as_str()).raw("</span>");
        }
        match inc.in_force(&c.catalogue.graders) {
            Some((g, by)) => {
                h.raw(" ").text(&grade_text(g)).raw(" (").text(by).raw(")");
            }
            None => {
                h.raw(if inc.dismissed() { " dismissed" } else { " ungraded" });
            }
        }
        h.raw("<br><b>Task.</b> ").text(&inc.task).raw("<ul>");
        for a in &inc.actions {
            h.raw("<li>").text(a).raw("</li>");
        }
        h.raw("</ul>");
        let target = Target::Incident { key: inc.key.clone(), id: inc.id.clone() };
        decide_form(&mut h, app, &target, &here, INCIDENT_REGRADE);
        h.raw("</div>");
    }
    Some(layout(app, &format!("Incidents {}", c.path.display()), &h))
}

pub fn monitor(app: &App, i: usize) -> Option<Response> {
    let m = app.sources.monitors.get(i)?;
    let r = &m.results;
    let mut h = Html::new();
    h.raw("<div class=\"box\">")
        .text(&r.monitor.spec)
        .raw(", shown ")
        .text(&format!("{:?}", r.view).to_lowercase())
        .raw(", on corpus ")
        .text(&r.corpus.name)
        .raw(".</div><table><tr><th>false-positive rate</th><th>attacks flagged</th></tr>");
    for p in &r.operating_points {
        h.raw("<tr><td>")
            .text(&format!("{:.1}%", 100.0 * p.target_fpr))
            .raw("</td><td>")
            .num(p.caught)
            .raw(" of ")
            .num(p.attacks)
            .raw("</td></tr>");
    }
    h.raw("</table>");
    Some(layout(app, &format!("Monitor {}", m.path.display()), &h))
}

pub fn round(app: &App, i: usize) -> Option<Response> {
    let r = app.sources.rounds.get(i)?;
    let mut h = Html::new();
    h.raw("<ul>");
    for f in &r.files {
        h.raw("<li>")
            .link(&Path::new(&["round", &i.to_string(), "file"]).with("name", f), f)
            .raw("</li>");
    }
    h.raw("</ul>");
    Some(layout(app, &format!("Round {}", r.dir.display()), &h))
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Label { episode, class, .. } => format!("label {class} of {episode}"),
        Target::Finding { session, code, class } => format!("finding {code} {class} in {session}"),
        Target::Incident { id, .. } => format!("incident {id}"),
    }
}

pub fn decisions(app: &App) -> Response {
    let mut h = Html::new();
    h.raw("<p>Stored in ")
        .text(&app.journal.path().display().to_string())
        .raw(". Export: ")
        .link(&Path::new(&["decisions.jsonl"]), "JSON lines")
        .raw(", ")
        .link(&Path::new(&["decisions.csv"]), "CSV")
        .raw(".</p>");
    h.raw("<table><tr><th>#</th><th>when</th><th>who</th><th>what</th><th>verdict</th><th>why</th></tr>");
    for d in app.journal.decisions().iter().rev() {
        h.raw("<tr><td>")
            .num(d.n)
            .raw("</td><td>")
            .text(&d.at.to_string())
            .raw("</td><td>")
            .text(&d.by)
            .raw("</td><td>")
            .text(&target_text(&d.target))
            .raw("</td><td>")
            .text(&format!("{:?}", d.verdict).to_lowercase())
            .raw("</td><td>")
            .text(&d.note)
            .raw("</td></tr>");
    }
    h.raw("</table>");
    layout(app, "Decisions", &h)
}

pub fn decisions_csv(app: &App) -> String {
    let mut out = String::from("n,at,by,target,verdict,severity,note\r\n");
    for d in app.journal.decisions() {
        let row = [
            d.n.to_string(),
            d.at.to_string(),
            d.by.clone(),
            target_text(&d.target),
            format!("{:?}", d.verdict).to_lowercase(),
            d.severity.map(|s| s.to_string()).unwrap_or_default(),
            d.note.clone(),
        ];
        out.push_str(&row.iter().map(|f| text::csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}
