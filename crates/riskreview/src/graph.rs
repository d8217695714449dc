//! The report as a graph: claims support claims up to the conclusion. A
//! cycle is refused by name; the conclusion's verdict is computed from the
//! load-bearing claims it rests on; the graph is drawn as SVG with each
//! claim coloured by its verdict.

use std::collections::{BTreeMap, BTreeSet};

use formats::riskreview::{VerdictKind, Version};
use text::html_escape as esc;

pub const CONCLUSION: &str = "conclusion";

/// The first cycle among the claims' `supports`, as the path that closes
/// it (`L1 → L2 → L1`).
pub fn cycle(v: &Version) -> Option<Vec<String>> {
    let edges: BTreeMap<&str, Vec<&str>> = v
        .claims
        .iter()
        .map(|c| (c.id.as_str(), c.supports.iter().map(String::as_str).collect()))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        at: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(at) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = path.iter().position(|p| *p == at).expect("an open node is on the path");
                let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(at.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(at, Mark::Open);
        path.push(at);
        for next in edges.get(at).into_iter().flatten() {
            if edges.contains_key(next)
                && let Some(c) = visit(next, edges, marks, path)
            {
                return Some(c);
            }
        }
        path.pop();
        marks.insert(at, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for c in &v.claims {
        if let Some(found) = visit(&c.id, &edges, &mut marks, &mut Vec::new()) {
            return Some(found);
        }
    }
    None
}

/// The claims from which the conclusion can be reached through
/// `supports`, in the report's order. (No cycle: checked first.)
pub fn under_conclusion(v: &Version) -> Vec<String> {
    let mut reaching: BTreeSet<&str> = BTreeSet::new();
    loop {
        let before = reaching.len();
        for c in &v.claims {
            if c.supports.iter().any(|s| s == CONCLUSION || reaching.contains(s.as_str())) {
                reaching.insert(&c.id);
            }
        }
        if reaching.len() == before {
            break;
        }
    }
    v.claims.iter().filter(|c| reaching.contains(c.id.as_str())).map(|c| c.id.clone()).collect()
}

/// A claim's verdict, when the reviewer gave one.
pub fn verdict_of(v: &Version, claim: &str) -> Option<VerdictKind> {
    v.verdicts.iter().find(|x| x.claim == claim).map(|x| x.verdict)
}

/// The conclusion's verdict by the documented rule: the worst verdict
/// (supported < insufficient < disagree) of the load-bearing claims it
/// rests on; a load-bearing claim without a verdict counts as
/// insufficient; a conclusion that rests on no load-bearing claim is
/// insufficient. Returns it with the claims it was computed from.
pub fn computed(v: &Version) -> (VerdictKind, Vec<String>) {
    let from: Vec<String> = under_conclusion(v)
        .into_iter()
        .filter(|id| v.claims.iter().any(|c| &c.id == id && c.load_bearing))
        .collect();
    let worst = from
        .iter()
        .map(|id| verdict_of(v, id).unwrap_or(VerdictKind::Insufficient))
        .max()
        .unwrap_or(VerdictKind::Insufficient);
    (worst, from)
}

fn colour(verdict: Option<VerdictKind>) -> (&'static str, &'static str) {
    match verdict {
        Some(VerdictKind::Supported) => ("#e3f1e4", "#2e7d32"),
        Some(VerdictKind::Insufficient) => ("#fff3cd", "#a66d00"),
        Some(VerdictKind::Disagree) => ("#fde2e1", "#b00020"),
        None => ("#f3f3f3", "#777"),
    }
}

/// Words of `s`, cut to `max` characters.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The claim graph as a self-contained SVG: the conclusion on top, each
/// claim a level below the highest claim it supports, the developer's
/// evidence at the bottom; claims coloured by verdict, evidence the
/// public cannot read dashed.
pub fn svg(v: &Version, stated: VerdictKind) -> String {
    // Depth: 0 for the conclusion, 1 + the smallest depth of what a claim
    // supports (claims that reach no conclusion go one level below the
    // deepest).
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    depth.insert(CONCLUSION, 0);
    for _ in 0..=v.claims.len() {
        for c in &v.claims {
            if let Some(d) = c.supports.iter().filter_map(|s| depth.get(s.as_str())).min() {
                let d = d + 1;
                let e = depth.entry(c.id.as_str()).or_insert(d);
                *e = (*e).min(d);
            }
        }
    }
    let deepest = depth.values().copied().max().unwrap_or(0);
    for c in &v.claims {
        depth.entry(c.id.as_str()).or_insert(deepest + 1);
    }
    let claim_levels = depth.values().copied().max().unwrap_or(0);
    let evidence_level = claim_levels + 1;
    let mut levels: Vec<Vec<String>> = vec![Vec::new(); evidence_level + 1];
    levels[0].push(CONCLUSION.to_owned());
    for c in &v.claims {
        levels[depth[c.id.as_str()]].push(c.id.clone());
    }
    for e in &v.evidence {
        levels[evidence_level].push(e.id.clone());
    }
    let (w, h, gap_x, gap_y) = (190.0, 64.0, 24.0, 56.0);
    let widest = levels.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
    let width = widest * (w + gap_x) + gap_x;
    let height = levels.len() as f64 * (h + gap_y) + gap_y;
    let mut at: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (l, ids) in levels.iter().enumerate() {
        let row = ids.len() as f64 * (w + gap_x) - gap_x;
        let x0 = (width - row) / 2.0;
        for (i, id) in ids.iter().enumerate() {
            at.insert(id.clone(), (x0 + i as f64 * (w + gap_x), gap_y + l as f64 * (h + gap_y)));
        }
    }
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="The report's claim graph, coloured by the reviewer's verdicts">"#
    );
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>"##);
    let edge = |out: &mut String, from: &str, to: &str, dashed: bool| {
        let (Some(&(fx, fy)), Some(&(tx, ty))) = (at.get(from), at.get(to)) else { return };
        out.push_str(&format!(
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555" stroke-width="1.2"{} marker-end="url(#arrow)"/>"##,
            fx + w / 2.0,
            fy,
            tx + w / 2.0,
            ty + h,
            if dashed { r#" stroke-dasharray="4 3""# } else { "" }
        ));
    };
    for c in &v.claims {
        for s in &c.supports {
            edge(&mut out, &c.id, s, false);
        }
        for e in &c.cites {
            edge(&mut out, e, &c.id, true);
        }
    }
    let node = |out: &mut String,
                id: &str,
                label: &str,
                text: &str,
                fill: &str,
                stroke: &str,
                dashed: bool| {
        let (x, y) = at[id];
        out.push_str(&format!(
            r#"<g><title>{}</title><rect x="{x:.1}" y="{y:.1}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{}/>"#,
            esc(&format!("{label}: {text}")),
            if dashed { r#" stroke-dasharray="4 3""# } else { "" }
        ));
        out.push_str(&format!(
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"#,
            x + 8.0,
            y + 16.0,
            esc(&short(label, 30))
        ));
        for (i, line) in wrap(text, 32).iter().take(3).enumerate() {
            out.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                x + 8.0,
                y + 31.0 + 12.0 * i as f64,
                esc(line)
            ));
        }
        out.push_str("</g>");
    };
    let (fill, stroke) = colour(Some(stated));
    node(
        &mut out,
        CONCLUSION,
        &format!("Conclusion ({})", stated.name()),
        &v.conclusion.text,
        fill,
        stroke,
        false,
    );
    for c in &v.claims {
        let verdict = verdict_of(v, &c.id);
        let (fill, stroke) = colour(verdict);
        let label = format!("{} · {}", c.id, verdict.map_or("no verdict", |x| x.name()));
        node(&mut out, &c.id, &label, &c.text, fill, stroke, !c.load_bearing);
    }
    for e in &v.evidence {
        let kind = format!("{:?}", e.kind).to_lowercase();
        let label = format!("{} · {kind}{}", e.id, if e.public { "" } else { " (not public)" });
        node(&mut out, &e.id, &label, &e.text, "#fff", "#3465a4", !e.public);
    }
    out.push_str("</svg>\n");
    out
}

/// Lines of at most `max` characters, broken at spaces.
fn wrap(s: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > 3 {
        lines[2] = short(&format!("{} {}", lines[2], lines[3]), max);
    }
    lines
}
