//! The report as Markdown.

use std::fmt::Write as _;

use crate::{Run, percent, report};

pub fn markdown(run: &Run) -> String {
    let r = report(run);
    let mut out = String::new();
    let _ = writeln!(out, "# Perimeter run report\n");
    for line in crate::headline(&r) {
        let _ = writeln!(out, "> {line}\n>");
    }
    out.push('\n');
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| protocol | {} |", r.protocol);
    let _ = writeln!(out, "| suite | {} `{}` |", r.suite.name, r.suite.digest);
    let _ = writeln!(out, "| agent | `{}` |", r.agent);
    let _ = writeln!(out, "| scaffold | {} |", r.scaffold);
    let _ = writeln!(out, "| permission mode | {} |", r.permission_mode);
    let _ = writeln!(out, "| client | {} |", r.client_line());
    let _ = writeln!(out, "| harness | {} |", r.harness);
    let _ = writeln!(out, "| seed, epochs | {}, {} |", r.seed, r.epochs);
    let _ = writeln!(out, "| limits | {} |", r.limits.human());
    let _ = writeln!(out, "| episodes | {} |\n", r.episodes);
    if let Some(a) = &r.attack_mode {
        let _ = writeln!(out, "**{}**\n", crate::attack_line(a));
    }
    if let Some(v) = r.review {
        let _ = writeln!(out, "## Reviewed labels\n\n{}\n", crate::review::line(v));
        let _ =
            writeln!(out, "| class | machine labels, per opportunity | reviewed |\n|---|---|---|");
        for c in &v.classes {
            let f = crate::review::figure_text;
            let _ = writeln!(out, "| {} | {} | {} |", c.class, f(&c.machine), f(&c.reviewed));
        }
        out.push('\n');
    }
    if let Some(rates) = r.rates {
        let _ = writeln!(out, "## Rates ({:.0}% intervals)\n", 100.0 * rates.level);
        let _ = writeln!(
            out,
            "Per opportunity: among the counted episodes that offered the class (the headline). Per episode: among every counted episode.\n"
        );
        let _ = writeln!(
            out,
            "| class | per opportunity | per episode | per successful episode |\n|---|---|---|---|"
        );
        let heads = crate::headlines(rates);
        let any =
            |h: &crate::Headline| [h.opportunity, h.episode].iter().flatten().any(|x| x.k > 0);
        for h in heads.iter().filter(|h| any(h)) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                h.class,
                crate::cell(h.opportunity),
                crate::cell(h.episode),
                crate::cell(h.successful)
            );
        }
        let never: Vec<&str> = heads.iter().filter(|h| !any(h)).map(|h| h.class.as_str()).collect();
        if !never.is_empty() {
            let _ = writeln!(
                out,
                "\nNever labelled, in any episode that offered them: {}.",
                never.join(", ")
            );
        }
        if let Some(u) = rates.usefulness.first() {
            let _ = writeln!(
                out,
                "\nUsefulness (main task succeeded): {}/{} = {} ({})\n",
                u.k,
                u.n,
                percent(u),
                u.method
            );
        }
        if !rates.framings.is_empty() {
            let _ = writeln!(
                out,
                "## Framings\n\nA scenario's rates among the episodes that drew each framing.\n\n| scenario | framing | value | rate | k/n | rate [interval] |\n|---|---|---|---|---|---|"
            );
            for f in &rates.framings {
                for x in &f.rates {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {}/{} | {} |",
                        f.scenario,
                        f.param,
                        crate::framing_value(&f.value).replace('|', "\\|"),
                        x.class.map(formats::ClassId::as_str).unwrap_or("main task"),
                        x.k,
                        x.n,
                        percent(x)
                    );
                }
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "## Scenario × class (labelled episodes / episodes)\n");
    let seen = crate::seen_classes(&r);
    if seen.is_empty() {
        let _ = writeln!(out, "No class was labelled in any scenario.");
    } else {
        let _ = writeln!(out, "| scenario | {} |", seen.join(" | "));
        let _ = writeln!(out, "|---|{}", "---|".repeat(seen.len()));
        let scenarios: Vec<&String> =
            r.matrix.values().next().map(|row| row.keys().collect()).unwrap_or_default();
        for scenario in scenarios {
            let cells: Vec<String> = seen
                .iter()
                .map(|c| match r.matrix[c][scenario] {
                    (0, n) => format!("0/{n}"),
                    (k, n) => format!("**{k}/{n}**"),
                })
                .collect();
            let _ = writeln!(out, "| {scenario} | {} |", cells.join(" | "));
        }
    }
    let _ = writeln!(out, "\n## Labels and their evidence\n");
    for (e, found) in run.summary.episodes.iter().zip(&run.evidence) {
        for l in &e.labels {
            let seqs: Vec<String> = l.evidence.iter().map(|s| s.to_string()).collect();
            let _ = writeln!(
                out,
                "- {} e{}: **{}**, events {} in `{}`",
                e.scenario,
                e.epoch,
                l.class,
                seqs.join(", "),
                e.trace
            );
            for seq in &l.evidence {
                if let Some(v) = found.get(seq) {
                    let _ =
                        writeln!(out, "  - `{seq}` {}", crate::html::describe(v).replace('`', "'"));
                }
            }
        }
    }
    out
}
