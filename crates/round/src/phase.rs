//! The round's phases (`phases.json`): information gathering, evaluations
//! and private reports, disclosure approval, the public report. Each
//! command belongs to phases; moving on is a recorded step with its date,
//! and it is checked: the public report goes out only once every
//! participant has finalised its approval and the draft has been with the
//! participants for the round's notice.

use std::path::Path;

pub use formats::process::{Circulated, Phase, Phases, Transition};
use formats::{Timestamp, day_number};

use crate::Error;
use crate::folder::write_json;

pub const FORMAT: &str = formats::process::PHASES_FORMAT;

/// The harness clock's reading: every recorded step carries both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct When {
    pub at: Timestamp,
}

impl When {
    pub fn date(&self) -> String {
        self.at.date()
    }
}

/// A round's first phase record: gathering, from today.
pub fn fresh(notice_days: u32, when: When) -> Phases {
    Phases {
        format: FORMAT.into(),
        draft_notice_days: notice_days,
        transitions: vec![Transition { phase: Phase::Gathering, on: when.date(), at: when.at }],
        draft: None,
        published: None,
    }
}

pub fn write(dir: &Path, phases: &Phases) -> Result<(), Error> {
    write_json(&dir.join("phases.json"), phases)
}

/// The round's phases; a round made before phases were recorded is in
/// its gathering phase, since an unknown date.
pub fn load(dir: &Path) -> Result<Phases, Error> {
    let path = dir.join("phases.json");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let p: Phases = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Corrupt { path: path.clone(), message: e.to_string() })?;
            if p.format != FORMAT {
                return Err(Error::Corrupt {
                    path,
                    message: format!("format {:?} where {FORMAT:?} is expected", p.format),
                });
            }
            Ok(p)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Phases {
            format: FORMAT.into(),
            draft_notice_days: 7,
            transitions: Vec::new(),
            draft: None,
            published: None,
        }),
        Err(source) => Err(Error::Io { path, source }),
    }
}

pub fn current(p: &Phases) -> Phase {
    p.transitions.last().map_or(Phase::Gathering, |t| t.phase)
}

/// The date a phase began, when it has.
pub fn began(p: &Phases, phase: Phase) -> Option<&str> {
    p.transitions.iter().find(|t| t.phase == phase).map(|t| t.on.as_str())
}

/// Refuses a step the round's current phase does not allow.
pub fn require(dir: &Path, allowed: &[Phase], step: &str) -> Result<Phase, Error> {
    let now = current(&load(dir)?);
    if allowed.contains(&now) {
        return Ok(now);
    }
    Err(Error::Phase { step: step.into(), now, allowed: allowed.to_vec() })
}

/// Whole days from `from` to `to` (YYYY-MM-DD each).
pub fn days_between(from: &str, to: &str) -> Option<i64> {
    Some(day_number(to)? - day_number(from)?)
}

/// Moves the round to `to`, which must be the next phase, after `check`
/// (the caller's conditions for it) passes; records the day.
pub fn advance(
    dir: &Path,
    to: Phase,
    when: When,
    check: impl FnOnce(&Phases) -> Vec<String>,
) -> Result<Phases, Error> {
    let mut phases = load(dir)?;
    let now = current(&phases);
    if now.next() != Some(to) {
        let expected = now.next().map_or("none: the round is over", |n| n.name());
        return Err(Error::Refused {
            problems: vec![format!(
                "the round is in its {} phase; the next is {expected}, not {}",
                now.name(),
                to.name()
            )],
        });
    }
    let mut problems = check(&phases);
    if let Some(last) = phases.transitions.last()
        && when.at < last.at
    {
        problems.push(format!(
            "the clock reads {}, before the {} phase began ({}): phases follow each other",
            when.at,
            last.phase.name(),
            last.at
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    phases.transitions.push(Transition { phase: to, on: when.date(), at: when.at });
    write(dir, &phases)?;
    Ok(phases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_across_months_and_years() {
        assert_eq!(days_between("2026-11-28", "2026-12-05"), Some(7));
        assert_eq!(days_between("2026-12-31", "2027-01-01"), Some(1));
        assert_eq!(days_between("2026-12-07", "2026-12-07"), Some(0));
    }

    #[test]
    fn only_the_next_phase_may_follow() {
        let dir = crate::testing::TempDir::new("phases");
        let when = When { at: Timestamp(1_796_000_000_000) };
        write(dir.path(), &fresh(7, when)).unwrap();
        let err = advance(dir.path(), Phase::Disclosure, when, |_| vec![]).unwrap_err();
        assert!(err.to_string().contains("the next is evaluation, not disclosure"), "{err}");
        let p = advance(dir.path(), Phase::Evaluation, when, |_| vec![]).unwrap();
        assert_eq!(current(&p), Phase::Evaluation);
        let err =
            advance(dir.path(), Phase::Disclosure, when, |_| vec!["not ready".into()]).unwrap_err();
        assert!(err.to_string().contains("not ready"));
        assert_eq!(current(&load(dir.path()).unwrap()), Phase::Evaluation);
    }
}
