//! Reading and writing a catalogue, and a person's decisions on it.

use std::path::Path;

use formats::incident::{CATALOGUE_FORMAT, Catalogue, Grade, Override};

use crate::{Error, error};

/// The catalogue as written: pretty JSON and a newline, the same bytes
/// for the same catalogue.
pub fn to_text(c: &Catalogue) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("JSON");
    s.push('\n');
    s
}

/// Reads a catalogue, naming the line and field of what is wrong.
pub fn read(path: &Path) -> Result<Catalogue, Error> {
    let bytes = std::fs::read(path).map_err(|e| error(path, None, e.to_string()))?;
    let c: Catalogue = serde_json::from_slice(&bytes).map_err(|e| {
        let mut err = error(path, Some(e.line()), format!("not an incident catalogue: {e}"));
        err.hint = Some("a catalogue is what `perimeter incidents collect` writes".into());
        err
    })?;
    if c.format != CATALOGUE_FORMAT {
        return Err(error(
            path,
            None,
            format!("`format` is `{}`; this reads `{CATALOGUE_FORMAT}`", c.format),
        ));
    }
    for i in &c.incidents {
        for (grader, g) in &i.grades {
            check(g).map_err(|m| error(path, None, format!("{} grades.{grader}: {m}", i.id)))?;
        }
        for (n, o) in i.overrides.iter().enumerate() {
            if let Some(g) = &o.grade {
                check(g).map_err(|m| error(path, None, format!("{} overrides[{n}]: {m}", i.id)))?;
            }
        }
    }
    Ok(c)
}

/// A grade's levels and severities are in range, 0 at level 0.
pub fn check(g: &Grade) -> Result<(), String> {
    for (name, a) in [("overreach", &g.overreach), ("deception", &g.deception)] {
        if a.level > 3 {
            return Err(format!("{name}.level: 0 to 3, not {}", a.level));
        }
        if !(0.0..=1.0).contains(&a.severity) || (a.level == 0 && a.severity != 0.0) {
            return Err(format!("{name}.severity: 0 to 1, and 0 at level 0, not {}", a.severity));
        }
    }
    Ok(())
}

/// Records a person's decision on incident `id`, newest last; the
/// agreement is computed again.
pub fn apply(c: &mut Catalogue, id: &str, decision: Override) -> Result<(), String> {
    if decision.by.trim().is_empty() {
        return Err("who decided is required (--by)".into());
    }
    if decision.reason.trim().is_empty() {
        return Err("why is required (--reason)".into());
    }
    match (&decision.grade, decision.dismissed) {
        (Some(_), true) => return Err("an incident is dismissed or re-graded, not both".into()),
        (None, false) => {
            return Err("give a grade (--overreach and --deception) or --dismiss".into());
        }
        (Some(g), false) => check(g)?,
        (None, true) => {}
    }
    let Some(at) = c.incidents.iter().position(|i| i.id == id) else {
        let hint = text::closest(id, c.incidents.iter().map(|i| i.id.as_str()))
            .map(|s| format!("; did you mean {s}?"))
            .unwrap_or_default();
        return Err(format!("no incident `{id}` in the catalogue{hint}"));
    };
    c.incidents[at].overrides.push(decision);
    c.agreement = crate::agreement::all(c);
    Ok(())
}

/// Reviewers' decisions from `perimeter view` on this catalogue's
/// incidents (matched by key), recorded as overrides in their order: a
/// confirmation keeps the grade in force, a dismissal dismisses, a
/// re-grade gives its grade. A decision already recorded (same reviewer,
/// time and reason) is not recorded twice. Returns how many were new.
pub fn apply_decisions(c: &mut Catalogue, decisions: &[formats::review::Decision]) -> usize {
    use formats::review::{Target, Verdict};
    let mut added = 0;
    for d in decisions {
        let Target::Incident { key, .. } = &d.target else { continue };
        let graders = c.graders.clone();
        let Some(i) = c.incidents.iter_mut().find(|i| &i.key == key) else { continue };
        if i.overrides.iter().any(|o| o.by == d.by && o.at == d.at && o.reason == d.note) {
            continue;
        }
        let grade = match d.verdict {
            Verdict::Dismiss => None,
            Verdict::Regrade => d.grade.clone(),
            Verdict::Confirm => i.in_force(&graders).map(|(g, _)| g.clone()),
        };
        if d.verdict != Verdict::Dismiss && grade.is_none() {
            continue;
        }
        i.overrides.push(Override {
            by: d.by.clone(),
            at: d.at,
            reason: d.note.clone(),
            dismissed: d.verdict == Verdict::Dismiss,
            grade,
        });
        added += 1;
    }
    if added > 0 {
        c.agreement = crate::agreement::all(c);
    }
    added
}
