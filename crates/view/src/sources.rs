//! What the viewer was given: run folders, scan reports, incident
//! catalogues, monitor results and round folders, found under each path by
//! what they are (a `summary.json`, a `round.json`, a JSON file's
//! `format`), never by their names.

use std::path::{Path, PathBuf};

use formats::incident::Catalogue;
use formats::monitor::Results;
use formats::run::Summary;
use formats::scan::Report;

pub struct Run {
    pub dir: PathBuf,
    pub summary: Summary,
}

pub struct Scan {
    pub path: PathBuf,
    pub report: Report,
}

pub struct Incidents {
    pub path: PathBuf,
    pub catalogue: Catalogue,
}

pub struct Monitor {
    pub path: PathBuf,
    pub results: Results,
}

pub struct Round {
    pub dir: PathBuf,
    /// The report files in `reports/` (and `reports/private/`), relative.
    pub files: Vec<String>,
}

#[derive(Default)]
pub struct Sources {
    pub runs: Vec<Run>,
    pub scans: Vec<Scan>,
    pub incidents: Vec<Incidents>,
    pub monitors: Vec<Monitor>,
    pub rounds: Vec<Round>,
    /// Files that looked like one of these and were not, with why.
    pub problems: Vec<String>,
}

/// How deep under a given folder sources are looked for.
const DEPTH: usize = 5;

impl Sources {
    /// Everything under `paths`, sorted by path.
    pub fn load(paths: &[PathBuf]) -> Sources {
        let mut s = Sources::default();
        for p in paths {
            s.visit(p, 0);
        }
        s.runs.sort_by(|a, b| a.dir.cmp(&b.dir));
        s.scans.sort_by(|a, b| a.path.cmp(&b.path));
        s.incidents.sort_by(|a, b| a.path.cmp(&b.path));
        s.monitors.sort_by(|a, b| a.path.cmp(&b.path));
        s.rounds.sort_by(|a, b| a.dir.cmp(&b.dir));
        s
    }

    fn visit(&mut self, p: &Path, depth: usize) {
        if p.is_dir() {
            if p.join("summary.json").is_file() {
                match read_json::<Summary>(&p.join("summary.json")) {
                    Ok(summary) => self.runs.push(Run { dir: p.to_owned(), summary }),
                    Err(e) => self.problems.push(e),
                }
                return;
            }
            if p.join("round.json").is_file() {
                self.rounds.push(Round { dir: p.to_owned(), files: report_files(p) });
                return;
            }
            if depth >= DEPTH {
                return;
            }
            let Ok(entries) = std::fs::read_dir(p) else { return };
            let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            children.sort();
            for c in children {
                let hidden = c.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
                let link = c.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
                if !hidden && !link {
                    self.visit(&c, depth + 1);
                }
            }
            return;
        }
        if p.extension().is_none_or(|e| e != "json") {
            return;
        }
        match format_of(p).as_deref() {
            Some(formats::scan::FORMAT) => match read_json::<Report>(p) {
                Ok(report) => self.scans.push(Scan { path: p.to_owned(), report }),
                Err(e) => self.problems.push(e),
            },
            Some(formats::incident::CATALOGUE_FORMAT) => match read_json::<Catalogue>(p) {
                Ok(catalogue) => self.incidents.push(Incidents { path: p.to_owned(), catalogue }),
                Err(e) => self.problems.push(e),
            },
            Some(formats::monitor::RESULTS_FORMAT) => match read_json::<Results>(p) {
                Ok(results) => self.monitors.push(Monitor { path: p.to_owned(), results }),
                Err(e) => self.problems.push(e),
            },
            _ => {}
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}:{}: {e}", p.display(), e.line()))
}

/// The `format` a JSON file declares near its start, read from its first
/// 4 KiB only.
fn format_of(p: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = vec![0; 4096];
    let n = std::fs::File::open(p).ok()?.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    let at = text.find("\"format\"")?;
    let rest = &text[at + 8..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

fn report_files(round: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (dir, prefix) in [(round.join("reports"), ""), (round.join("reports/private"), "private/")]
    {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_file() && (name.ends_with(".html") || name.ends_with(".svg")) {
                out.push(format!("{prefix}{name}"));
            }
        }
    }
    out.sort();
    out
}
