//! `perimeter merge`: shards of one run, made on several hosts
//! (`perimeter run --shard I/N`), joined into one run folder that is
//! interchangeable with a run of the same plan on one host: the same
//! episodes, records, traces and rates. The shards must agree on
//! everything but their index; an episode two folders both hold must be
//! the same episode (the same trace head). Merging again changes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use formats::run::{EpisodeRecord, RunHeader, Summary};
use scenario::Suite;

use crate::{Error, differences, finished_records, io_at, plan, summarize, write_atomic};

/// What a merge made.
#[derive(Debug)]
pub struct Merged {
    pub header: RunHeader,
    /// The shards' indices seen, in order.
    pub shards: Vec<u32>,
    /// Planned episodes no folder holds (`scenario/e<epoch>`).
    pub missing: Vec<String>,
    /// Files copied into the merged folder (already there and equal: not
    /// counted).
    pub copied: usize,
    /// The merged run's summary, when no episode is missing.
    pub summary: Option<Summary>,
}

fn read_header(dir: &Path) -> Result<RunHeader, Error> {
    let path = dir.join("run.json");
    let bytes = fs::read(&path).map_err(io_at(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadRecord { path, message: e.to_string() })
}

/// Copies `rel` from `from` to `to` unless `to` already has the same bytes;
/// a folder (a client's own files) is copied whole. Returns the files
/// copied.
fn copy(from: &Path, to: &Path, rel: &str) -> Result<usize, Error> {
    let (src, dst) = (from.join(rel), to.join(rel));
    if src.is_dir() {
        let mut n = 0;
        for e in fs::read_dir(&src).map_err(io_at(&src))?.flatten() {
            let name = e.file_name();
            n += copy(from, to, &format!("{rel}/{}", name.to_string_lossy()))?;
        }
        return Ok(n);
    }
    let bytes = match fs::read(&src) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(Error::Io { path: src, source }),
    };
    if fs::read(&dst).is_ok_and(|have| have == bytes) {
        return Ok(0);
    }
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    write_atomic(&dst, &bytes)?;
    Ok(1)
}

/// Joins run folders (shards, or an earlier merge) into `out`. Refused:
/// folders of different runs (every difference named), shards of
/// different splits, two different results for one episode. Without
/// every planned episode, the folder is written without a summary and the
/// missing episodes are listed: `perimeter run --resume --out OUT` (on the
/// whole plan) or the shard again finishes it.
/// `suites` are those the run ran: the standard one and its extensions.
pub fn merge(dirs: &[PathBuf], out: &Path, suites: &[Suite]) -> Result<Merged, Error> {
    let mut problems = Vec::new();
    let headers: Vec<RunHeader> = dirs.iter().map(|d| read_header(d)).collect::<Result<_, _>>()?;
    let mut whole = headers[0].clone();
    whole.shard = None;
    let counts: Vec<u32> = headers.iter().filter_map(|h| h.shard.map(|s| s.count)).collect();
    if counts.windows(2).any(|w| w[0] != w[1]) {
        problems.push(format!(
            "the shards split the plan differently (into {} parts)",
            counts.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    for (dir, h) in dirs.iter().zip(&headers) {
        let mut h = h.clone();
        h.shard = None;
        for d in differences(&whole, &h) {
            problems.push(format!(
                "{}: {}",
                dir.display(),
                d.replace(" there, ", " in the first, ").replace(" now", " here")
            ));
        }
    }
    let ran = std::iter::once((&whole.suite.name, &whole.suite.digest))
        .chain(whole.extensions.iter().map(|e| (&e.name, &e.digest)));
    for (name, digest) in ran {
        if !suites.iter().any(|s| &s.digest == digest) {
            problems.push(format!(
                "the run ran suite `{name}` {digest}, which is not among the suites given ({}): merge with the suites it ran (`--suite`, once for each)",
                suites.iter().map(|s| format!("`{}` {}", s.name, s.digest)).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if out.join("run.json").exists() && !dirs.iter().any(|d| d == out) {
        let there = read_header(out)?;
        for d in differences(&whole, &there) {
            problems.push(format!("{}: already holds another run: {d}", out.display()));
        }
    }
    if !problems.is_empty() {
        return Err(Error::ResumeMismatch { out: out.to_owned(), differences: problems });
    }
    let planned = plan(&whole.all_scenarios(), whole.epochs, whole.seed);
    let mut found: Vec<Option<(EpisodeRecord, &Path)>> = vec![None; planned.len()];
    for dir in dirs {
        for (i, r) in finished_records(dir, &planned)?.into_iter().enumerate() {
            let Some(r) = r else { continue };
            match &found[i] {
                Some((have, other)) if have.trace_head != r.trace_head => {
                    problems.push(format!(
                        "{}: two different results, in {} and in {}",
                        planned[i].trace_rel(),
                        other.display(),
                        dir.display()
                    ));
                }
                Some(_) => {}
                None => found[i] = Some((r, dir)),
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::ResumeMismatch { out: out.to_owned(), differences: problems });
    }
    fs::create_dir_all(out).map_err(io_at(out))?;
    write_atomic(
        &out.join("run.json"),
        &serde_json::to_vec_pretty(&whole).expect("header serializes"),
    )?;
    let mut copied = 0;
    let mut missing = Vec::new();
    for (p, f) in planned.iter().zip(&found) {
        match f {
            None => missing.push(format!("{}/e{}", p.scenario, p.epoch)),
            Some((_, dir)) if *dir == out => {}
            Some((_, dir)) => {
                // The trace first, then the record that commits to it: a
                // merge cut short leaves no record without its trace.
                copied += copy(dir, out, &p.trace_rel())?;
                copied += copy(dir, out, &p.trace_rel().replace(".trace.jsonl", ".client"))?;
                copied += copy(dir, out, &p.record_rel())?;
            }
        }
    }
    let mut shards: Vec<u32> = headers.iter().filter_map(|h| h.shard.map(|s| s.index)).collect();
    shards.sort_unstable();
    shards.dedup();
    let summary = match missing.is_empty() {
        false => {
            let _ = fs::remove_file(out.join("summary.json"));
            None
        }
        true => {
            let episodes: Vec<EpisodeRecord> =
                found.into_iter().map(|f| f.expect("none missing").0).collect();
            let started = episodes.iter().map(|e| e.started).min().unwrap_or_default();
            let finished = episodes.iter().map(|e| e.finished).max().unwrap_or_default();
            let scenarios = suites
                .iter()
                .flat_map(|s| &s.scenarios)
                .map(|s| (s.manifest.id.as_str(), s))
                .collect();
            let summary = summarize(&scenarios, whole.clone(), episodes, started, finished);
            let bytes = serde_json::to_vec_pretty(&summary).expect("summary serializes");
            write_atomic(&out.join("summary.json"), &bytes)?;
            Some(summary)
        }
    };
    Ok(Merged { header: whole, shards, missing, copied, summary })
}
