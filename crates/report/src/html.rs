//! The report as one self-contained HTML file: inline CSS, intervals drawn
//! as inline SVG, no script and no network fetch; readable on a laptop and
//! in print. Every label links to its evidence, embedded below.

use std::fmt::Write as _;

use serde_json::Value;

use crate::{Run, percent, report};

use text::html_escape as esc;

/// One line describing a trace event.
pub(crate) fn describe(v: &Value) -> String {
    let kind = v["kind"].as_str().unwrap_or("event");
    let detail = match kind {
        "process_exec" => v["argv"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
        "file_change" => Some(format!(
            "{} {}",
            v["change"].as_str().unwrap_or(""),
            v["path"].as_str().unwrap_or("")
        )),
        "honeypot_read" => Some(format!(
            "{} ({})",
            v["path"].as_str().unwrap_or(""),
            v["honeypot"].as_str().unwrap_or("")
        )),
        "tool_call" => Some(v["input"].to_string()),
        "model_message" | "submission" => {
            v["text"].as_str().or(v["answer"].as_str()).map(str::to_owned)
        }
        "score" => Some(format!(
            "{} {}",
            v["check"].as_str().unwrap_or(""),
            if v["passed"] == true { "passed" } else { "failed" }
        )),
        "egress_request" | "network_attempt" => {
            v["target"].as_str().or(v["address"].as_str()).map(str::to_owned)
        }
        "process_lingering" => v["argv"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
        _ => None,
    };
    let mut d = detail.unwrap_or_default();
    if d.chars().count() > 160 {
        d = d.chars().take(160).collect::<String>() + "…";
    }
    format!("{kind}: {d}")
}

/// A horizontal interval plot: the interval as a bar, the rate as a dot.
fn interval_svg(rate: f64, low: f64, high: f64) -> String {
    let x = |v: f64| 10.0 + 280.0 * v.clamp(0.0, 1.0);
    format!(
        r##"<svg class="ci" viewBox="0 0 300 20" width="300" height="20" role="img" aria-label="{:.1}% [{:.1}, {:.1}]"><line x1="10" y1="10" x2="290" y2="10" stroke="#ddd"/><line x1="{:.1}" y1="10" x2="{:.1}" y2="10" stroke="#3465a4" stroke-width="6" stroke-linecap="round"/><circle cx="{:.1}" cy="10" r="4" fill="#111"/></svg>"##,
        100.0 * rate,
        100.0 * low,
        100.0 * high,
        x(low),
        x(high),
        x(rate)
    )
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#111}\
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.headline{border:2px solid #3465a4;background:#f4f7fc;padding:.4rem 1rem;margin:1rem 0}.headline p{margin:.35rem 0}\
.pair td{width:50%}.hit{background:#fde2e1;font-weight:600}.zero{color:#888}code,pre{font:13px ui-monospace,monospace}\
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.4rem}.ci{vertical-align:middle}\
@media print{a{color:inherit;text-decoration:none}details{display:block}}";

pub fn html(run: &Run) -> String {
    let r = report(run);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Perimeter report: {}</title><style>{STYLE}</style></head><body>",
        esc(r.agent)
    );
    out.push_str("<h1>Perimeter run report</h1><div class=\"headline\">");
    for line in crate::headline(&r) {
        let _ = write!(out, "<p>{}</p>", esc(&line));
    }
    out.push_str("</div><table>");
    let limits = r.limits.human();
    for (k, v) in [
        ("protocol", r.protocol.to_owned()),
        ("suite", format!("{} {}", r.suite.name, r.suite.digest)),
        ("agent", r.agent.to_owned()),
        ("scaffold", r.scaffold.to_owned()),
        ("permission mode", r.permission_mode.to_owned()),
        ("client", r.client_line()),
        ("harness", r.harness.to_owned()),
        ("seed, epochs", format!("{}, {}", r.seed, r.epochs)),
        ("limits", limits),
        ("episodes", r.episodes.to_string()),
    ] {
        let _ = write!(out, "<tr><th>{k}</th><td><code>{}</code></td></tr>", esc(&v));
    }
    out.push_str("</table>");
    if let Some(a) = &r.attack_mode {
        let _ = write!(out, "<p class=\"attack\"><b>{}</b></p>", esc(&crate::attack_line(a)));
    }
    if let Some(v) = r.review {
        let _ = write!(
            out,
            "<h2>Reviewed labels</h2><p>{}</p><table><tr><th>class</th><th>machine labels, per opportunity</th><th>reviewed</th></tr>",
            esc(&crate::review::line(v))
        );
        for c in &v.classes {
            let f = crate::review::figure_text;
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(c.class.as_str()),
                esc(&f(&c.machine)),
                esc(&f(&c.reviewed))
            );
        }
        out.push_str("</table>");
    }
    if let Some(rates) = r.rates {
        let _ = write!(
            out,
            "<h2>Rates, {:.0}% intervals</h2><p>Per opportunity: among the counted episodes that offered the class (the headline). Per episode: among every counted episode.</p><table><tr><th>class</th><th>per opportunity</th><th></th><th>per episode</th><th>per successful episode</th><th>method</th></tr>",
            100.0 * rates.level
        );
        let heads = crate::headlines(rates);
        let any =
            |h: &crate::Headline| [h.opportunity, h.episode].iter().flatten().any(|x| x.k > 0);
        for h in heads.iter().filter(|h| any(h)) {
            let svg = h
                .opportunity
                .filter(|x| x.n > 0)
                .map(|x| interval_svg(x.rate, x.ci_low, x.ci_high))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{svg}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(h.class.as_str()),
                crate::cell(h.opportunity),
                crate::cell(h.episode),
                crate::cell(h.successful),
                h.opportunity.map_or("", |x| x.method.as_str())
            );
        }
        if let Some(u) = rates.usefulness.first() {
            let _ = write!(
                out,
                "<tr><td>usefulness (main task)</td><td>-</td><td>{}</td><td>{}</td><td>-</td><td>{}</td></tr>",
                if u.n > 0 { interval_svg(u.rate, u.ci_low, u.ci_high) } else { String::new() },
                crate::cell(Some(u)),
                u.method
            );
        }
        out.push_str("</table>");
        let never: Vec<&str> = heads.iter().filter(|h| !any(h)).map(|h| h.class.as_str()).collect();
        if !never.is_empty() {
            let _ = write!(
                out,
                "<p class=\"zero\">Never labelled, in any episode that offered them: {}.</p>",
                esc(&never.join(", "))
            );
        }
        if !rates.framings.is_empty() {
            out.push_str("<h2>Framings</h2><p>A scenario's rates among the episodes that drew each framing.</p><table><tr><th>scenario</th><th>framing</th><th>value</th><th>rate</th><th>k/n</th><th>rate [interval]</th><th></th></tr>");
            for f in &rates.framings {
                for x in &f.rates {
                    let _ = write!(
                        out,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&f.scenario),
                        esc(&f.param),
                        esc(&crate::framing_value(&f.value)),
                        esc(x.class.map(formats::ClassId::as_str).unwrap_or("main task")),
                        x.k,
                        x.n,
                        percent(x),
                        interval_svg(x.rate, x.ci_low, x.ci_high)
                    );
                }
            }
            out.push_str("</table>");
        }
    }
    let seen = crate::seen_classes(&r);
    out.push_str("<h2>Scenario × class</h2>");
    if seen.is_empty() {
        out.push_str("<p>No class was labelled in any scenario.</p><table>");
    } else {
        out.push_str("<p>Labelled episodes / episodes, for the classes labelled somewhere; a count links to its first label's evidence.</p><table><tr><th>scenario</th>");
        for c in &seen {
            let _ = write!(out, "<th>{}</th>", esc(c));
        }
        out.push_str("</tr>");
        let scenarios: Vec<String> =
            r.matrix.values().next().map(|row| row.keys().cloned().collect()).unwrap_or_default();
        for scenario in &scenarios {
            let _ = write!(out, "<tr><th>{}</th>", esc(scenario));
            for class in &seen {
                let (k, n) = r.matrix[class][scenario];
                if k == 0 {
                    let _ = write!(out, "<td class=\"zero\">0/{n}</td>");
                    continue;
                }
                let first = run.summary.episodes.iter().find(|e| {
                    e.scenario == *scenario && e.labels.iter().any(|l| l.class == class.as_str())
                });
                let anchor = first
                    .map(|e| format!("#l-{}-{}-{}", esc(&e.scenario), e.epoch, esc(class)))
                    .unwrap_or_default();
                let _ = write!(out, "<td class=\"hit\"><a href=\"{anchor}\">{k}/{n}</a></td>");
            }
            out.push_str("</tr>");
        }
    }
    out.push_str("</table><h2>Labels and their evidence</h2>");
    for (e, found) in run.summary.episodes.iter().zip(&run.evidence) {
        for l in &e.labels {
            let _ = write!(
                out,
                "<section id=\"l-{}-{}-{}\"><h3>{} e{}: {}</h3><p>{}{}, severity {:.2}, from {}; trace <code>{}</code></p><ul>",
                esc(&e.scenario),
                e.epoch,
                esc(l.class.as_str()),
                esc(&e.scenario),
                e.epoch,
                esc(l.class.as_str()),
                if l.succeeded { "succeeded" } else { "attempted" },
                if l.concealed { ", concealed" } else { "" },
                l.severity,
                serde_json::to_value(l.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                esc(&e.trace)
            );
            out.push_str("</ul><table class=\"pair\"><tr><th>the agent's account</th><th>what the sandbox saw</th></tr>");
            for seq in &l.evidence {
                let cell = match found.get(seq) {
                    Some(v) => format!(
                        "<code>#{seq}</code> {}<details><summary>event</summary><pre>{}</pre></details>",
                        esc(&describe(v)),
                        esc(&serde_json::to_string_pretty(v).unwrap_or_default())
                    ),
                    None => format!("<code>#{seq}</code> (not in the trace)"),
                };
                let agent = found.get(seq).is_some_and(|v| v["source"] == "agent");
                let (left, right) =
                    if agent { (cell, String::new()) } else { (String::new(), cell) };
                let _ = write!(
                    out,
                    "<tr id=\"ev-{}-{}-{seq}\"><td>{left}</td><td>{right}</td></tr>",
                    esc(&e.scenario),
                    e.epoch
                );
            }
            out.push_str("</table></section>");
        }
    }
    out.push_str("</body></html>\n");
    out
}
