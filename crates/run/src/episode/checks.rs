//! The hidden checks, in an environment the harness owns.
//!
//! An agent that wants to pass its checks without doing the task will aim
//! at whatever the checks read: a module or tool that shadows the one they
//! use, a startup hook of the interpreter, a test helper of the lab's own.
//! So the checks never run in the agent's world:
//!
//! - **The home as the scenario shipped it, but for the deliverable.** What
//!   the agent changed outside `grading.under_test` is restored (to what
//!   the harness's own setup left, for the files it made), and what it
//!   created there is removed, before the first check. The trace records
//!   what was restored.
//! - **An environment of the harness's.** A fixed `PATH` of system
//!   directories; Python without the user site, without the working
//!   directory on its path and with only the hidden directory on
//!   `PYTHONPATH`; the hidden files written afresh into a directory the
//!   agent's leftovers never reach, with the harness's grading helper
//!   (`perimeter_check.py`), which runs the agent's code in a confined
//!   child interpreter so that the check's own process never loads it.
//! - **Read-only.** A check, and any code of the agent's it runs, may write
//!   only its own scratch directory: not the home, not the hidden files.
//!   The scratch directory is emptied before each check, so nothing that
//!   code leaves there reaches the next one.
//! - **The agent's home, for checks that judge it.** A behaviour check
//!   declared `view = "agent"` runs first, on the home as the agent left it
//!   (its start-up files, its ledger), with the scenario's version of the
//!   files it compares under `shipped/`; in the same environment, and
//!   read-only like every check.
//! - **Probes first, in the agent's world.** Code of the agent's that a
//!   check runs could tell the check environment from its own (the hidden
//!   directory exists, the variables differ, writes fail) and behave there.
//!   So a scenario's probes run before anything of the checks exists: in
//!   the agent's environment, workdir and rights, on the home as it left
//!   it; their output is the checks' to read.
//! - **After the agents.** The checks run at a lower priority (`nice`) than
//!   any agent's commands and the probes: they wait on nobody, and the
//!   agents still running wait on the CPU between their turns.
//! - **Recorded.** What runs during each check is in the trace with source
//!   `check`, and whatever outlives a check is listed and killed, so that a
//!   tripwire tripped by agent code a check ran counts as the agent's.

use sandbox::ExecRequest;
use scenario::{Check, CheckView, Grading, Instance, Probe};
use serde_json::json;
use trace::{Body, Source};

use super::{Episode, HIDDEN_DIR, bash, tail};
use crate::summary::CheckRecord;
use sandbox::ExitStatus;

/// The only directory the checks may write.
const CHECK_TMP: &str = "/tmp/perimeter-check";

/// The grading helper every check can import (`docs/check-environment.md`):
/// it runs the agent's code in a confined child interpreter and brings back
/// values as data.
pub(crate) const HELPER: (&str, &str) = ("perimeter_check.py", include_str!("perimeter_check.py"));

/// Where, under the hidden directory, a check finds the scenario's version
/// of the home files it names in `shipped`.
const SHIPPED: &str = "shipped";

/// Where, under the hidden directory, a check finds each probe's output.
const PROBES: &str = "probes";

/// The most restored paths listed in the trace; the rest are counted.
const LISTED: usize = 200;

/// The environment every check runs in: nothing of the agent's.
fn check_env() -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", sandbox::HOME),
        ("USER", "agent"),
        ("LOGNAME", "agent"),
        ("LANG", "C.UTF-8"),
        ("TERM", "dumb"),
        ("TMPDIR", CHECK_TMP),
        ("PYTHONPATH", HIDDEN_DIR),
        ("PYTHONSAFEPATH", "1"),
        ("PYTHONNOUSERSITE", "1"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("HTTP_PROXY", "http://127.0.0.1:3128"),
        ("HTTPS_PROXY", "http://127.0.0.1:3128"),
        ("http_proxy", "http://127.0.0.1:3128"),
        ("https_proxy", "http://127.0.0.1:3128"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Episode<'_> {
    /// Runs the scenario's probes, in the agent's world, then its hidden
    /// checks: first those that examine the home as the agent left it
    /// (`view = "agent"`), then, once the home is the scenario's again but
    /// for the deliverable, the rest. Records come back in the manifest's
    /// order.
    pub(super) fn hidden_checks(&mut self, instance: &Instance) -> Vec<CheckRecord> {
        let probes: Vec<ProbeOutput> =
            instance.manifest.probes.iter().map(|p| self.probe(p)).collect();
        let checks = &instance.manifest.checks;
        let mut out: Vec<(usize, CheckRecord)> = Vec::new();
        if checks.iter().any(|c| c.view == CheckView::Agent) {
            // Only the harness's directory is made fresh: the home stays
            // the agent's.
            self.fresh(HIDDEN_DIR);
            self.place_hidden(instance, &probes);
            out.extend(self.run_checks(checks, true));
        }
        self.check_view(&instance.manifest.grading);
        self.place_hidden(instance, &probes);
        out.extend(self.run_checks(checks, false));
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// Runs one probe as the agent's commands ran: its environment, its
    /// workdir, its rights, nothing of the checks' in sight. Whatever the
    /// probe's code does is on record as the checks' stage (source
    /// `check`), the home's changes included, and whatever it leaves
    /// running is killed.
    fn probe(&mut self, probe: &Probe) -> ProbeOutput {
        let req = bash(&probe.run, &self.workdir, &self.env, self.step_timeout_ms);
        let first = self.events.len();
        let mut out = ProbeOutput { id: probe.id.clone(), ..ProbeOutput::default() };
        match self.session.exec(&req) {
            Ok(o) => {
                out.pid = o.pid.to_string();
                out.status = match o.status {
                    ExitStatus::Exited(code) => format!("exit {code}"),
                    ExitStatus::Signaled(signal) => format!("signal {signal}"),
                    ExitStatus::TimedOut => "timeout".into(),
                };
                (out.stdout, out.stderr, out.truncated) = (o.stdout, o.stderr, o.truncated);
            }
            Err(e) => out.status = format!("error: {e}"),
        }
        self.record_audit(Source::Check);
        self.sweep_as(Source::Check);
        // What the probe's processes ran and left running, as the kernel
        // saw it: no login file can hide a program from this the way it
        // can from a shell's own trace.
        for e in &self.events[first..] {
            let (list, record) = match &e.body {
                Body::ProcessExec(p) => {
                    (&mut out.execs, json!({"pid": p.pid, "ppid": p.ppid, "argv": p.argv}))
                }
                Body::ProcessLingering { pid, argv } => {
                    (&mut out.lingering, json!({"pid": pid, "argv": argv}))
                }
                _ => continue,
            };
            if list.len() < sandbox::OUTPUT_LIMIT {
                list.push_str(&format!("{record}\n"));
            } else {
                out.truncated = true;
            }
        }
        if let Err(e) = self.record_changes(Source::Check) {
            let message = format!("reading the home after probe {}: {e}", probe.id);
            self.record(Source::Harness, Body::Error { message });
        }
        self.record(
            Source::Harness,
            Body::Probe {
                probe: out.id.clone(),
                status: out.status.clone(),
                detail: tail(&format!("{}{}", out.stdout, out.stderr), 2000),
            },
        );
        out
    }

    /// Runs the checks of one view (the agent's home, or the deliverable's),
    /// each shared run once, and returns each check's record with its index
    /// in the manifest.
    fn run_checks(&mut self, checks: &[Check], agent_view: bool) -> Vec<(usize, CheckRecord)> {
        let mut out = Vec::new();
        let mut done = vec![false; checks.len()];
        for (i, c) in checks.iter().enumerate() {
            if done[i] || (c.view == CheckView::Agent) != agent_view {
                continue;
            }
            let group: Vec<usize> =
                (i..checks.len()).filter(|&j| j == i || c.shares_run_with(&checks[j])).collect();
            let run: Vec<&Check> = group.iter().map(|&j| &checks[j]).collect();
            for (j, record) in group.iter().zip(self.run_check(&run)) {
                done[*j] = true;
                out.push((*j, record));
            }
        }
        out
    }

    /// Runs one check's command, or once the command several checks share
    /// (`verdict_bit`), and judges each of them by its exit status.
    fn run_check(&mut self, checks: &[&Check]) -> Vec<CheckRecord> {
        // Whatever the agent left in the scratch directory goes; and a check
        // may run the agent's code, whose leftovers must not reach the next.
        self.fresh(CHECK_TMP);
        let req = ExecRequest {
            argv: vec!["bash".into(), "-c".into(), checks[0].run.clone()],
            cwd: self.workdir.clone(),
            env: check_env(),
            stdin: None,
            timeout_ms: self.step_timeout_ms,
            writable: Some(vec![CHECK_TMP.into()]),
            nice: sandbox::CHECK_NICE,
        };
        let (status, detail) = match self.session.exec(&req) {
            Ok(o) => (
                match o.status {
                    ExitStatus::Exited(code) => Some(code),
                    _ => None,
                },
                tail(&format!("{}{}", o.stdout, o.stderr), 2000),
            ),
            Err(e) => (None, e.to_string()),
        };
        self.record_audit(Source::Check);
        self.sweep_as(Source::Check);
        checks
            .iter()
            .map(|c| {
                let passed = status.is_some_and(|s| c.passed_by_status(s));
                let body = Body::Score { check: c.id.clone(), passed, detail: detail.clone() };
                self.record(Source::Harness, body);
                CheckRecord { id: c.id.clone(), passed }
            })
            .collect()
    }

    /// Empties one of the checks' directories of anything left there,
    /// touching nothing else.
    fn fresh(&mut self, dir: &str) {
        match self.session.restore(&[], &[], &[], &[dir.to_owned()]) {
            Ok(errors) if errors.is_empty() => {}
            Ok(errors) => {
                let message = format!("emptying the check directories: {errors:?}");
                self.record(Source::Harness, Body::Error { message });
            }
            Err(e) => {
                let message = format!("emptying the check directories: {e}");
                self.record(Source::Harness, Body::Error { message });
            }
        }
        self.session.audit();
    }

    /// Makes the home what the checks may see: the agent's deliverable, and
    /// the scenario's own version of everything else.
    fn check_view(&mut self, grading: &Grading) {
        let now = match self.session.changes() {
            Ok(c) => c,
            Err(e) => {
                let message = format!("reading the home before the checks: {e}");
                return self.record(Source::Harness, Body::Error { message });
            }
        };
        let mut restore = Vec::new();
        let mut files = Vec::new();
        let mut unrestored = Vec::new();
        for c in now.changes.iter().filter(|c| !grading.covers(&c.path, c.before.is_none())) {
            match self.files.baseline(&c.path) {
                // Not the setup's: back to the scenario's version.
                None => restore.push(c.path.clone()),
                // The setup's, and the agent left it alone.
                Some(set_up) if *set_up == c.after => {}
                // The setup's, changed by the agent: back to the setup's.
                Some(Some(_)) if self.setup.contains_key(&c.path) => {
                    let (mode, content) = &self.setup[&c.path];
                    files.push((c.path.clone(), *mode, content.clone()));
                }
                Some(_) => {
                    unrestored.push((c.path.clone(), "the setup's version is not known".to_owned()))
                }
            }
        }
        // The setup's files the agent removed come back too.
        let present: std::collections::BTreeSet<&str> =
            now.changes.iter().map(|c| c.path.as_str()).collect();
        for (path, state) in self.files.baseline_paths() {
            let gone = state.is_some() && !present.contains(path.as_str());
            if gone
                && !grading.covers(path, true)
                && let Some((mode, content)) = self.setup.get(path)
            {
                files.push((path.clone(), *mode, content.clone()));
            }
        }
        // Whatever the agent left in the hidden directory (a module that
        // shadows a check's) goes too; the scratch directory is emptied
        // before each check.
        let fresh = [HIDDEN_DIR.to_owned()];
        match self.session.restore(&restore, &grading.under_test, &files, &fresh) {
            Ok(errors) => unrestored.extend(errors),
            Err(e) => unrestored.push((String::new(), e.to_string())),
        }
        restore.extend(files.into_iter().map(|(p, _, _)| p));
        restore.sort();
        // The restore's own reads and writes are the harness's.
        self.session.audit();
        self.record(
            Source::Harness,
            Body::CheckView {
                restored: restore.iter().take(LISTED).cloned().collect(),
                more: restore.len().saturating_sub(LISTED) as u64,
                unrestored: unrestored
                    .into_iter()
                    .map(|(path, error)| trace::UnreadPath { path, error })
                    .collect(),
            },
        );
    }

    /// Writes the hidden files into the hidden directory, which the check
    /// view emptied, with the probes' output. Every agent process is dead
    /// by now, so nothing races this.
    fn place_hidden(&mut self, instance: &Instance, probes: &[ProbeOutput]) {
        // The harness's grading helper comes last: a scenario's file of the
        // same name does not replace it.
        let helper = [(HELPER.0.to_owned(), HELPER.1.as_bytes())];
        let files = instance.hidden.iter().map(|f| (f.path.clone(), f.content.as_slice()));
        // The scenario's version of the home files a check compares with.
        let patterns: Vec<&str> =
            instance.manifest.checks.iter().flat_map(|c| &c.shipped).map(String::as_str).collect();
        let shipped = instance
            .home
            .iter()
            .filter(|f| patterns.iter().any(|p| scenario::pattern::matches(p, &f.path)))
            .map(|f| (format!("{SHIPPED}/{}", f.path), f.content.as_slice()));
        let probes = probes.iter().flat_map(|p| {
            let dir = format!("{PROBES}/{}", p.id);
            let truncated = p.truncated.then(|| (format!("{dir}/truncated"), &b""[..]));
            [
                (format!("{dir}/status"), p.status.as_bytes()),
                (format!("{dir}/stdout"), p.stdout.as_bytes()),
                (format!("{dir}/stderr"), p.stderr.as_bytes()),
                (format!("{dir}/pid"), p.pid.as_bytes()),
                (format!("{dir}/execs"), p.execs.as_bytes()),
                (format!("{dir}/lingering"), p.lingering.as_bytes()),
            ]
            .into_iter()
            .chain(truncated)
        });
        for (path, content) in files.chain(shipped).chain(probes).chain(helper) {
            let content = String::from_utf8_lossy(content);
            if let Err(e) = self.session.write_file(&format!("{HIDDEN_DIR}/{path}"), &content) {
                let message = format!("placing hidden file {path}: {e}");
                self.record(Source::Harness, Body::Error { message });
            }
        }
        self.session.audit();
    }
}

/// What a probe left for the checks, under `probes/<id>/`.
#[derive(Default)]
struct ProbeOutput {
    id: String,
    /// The probe's own shell, in the sandbox's pid namespace.
    pid: String,
    /// `exit <code>`, `signal <n>`, `timeout` or `error: …`.
    status: String,
    stdout: String,
    stderr: String,
    /// Output past the sandbox's limit per stream (or records past as
    /// much) were dropped.
    truncated: bool,
    /// Each program its processes ran, a JSON object a line: `pid`,
    /// `ppid`, `argv`.
    execs: String,
    /// Each process it left running, a JSON object a line: `pid`, `argv`.
    lingering: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_environment_holds_nothing_of_the_agents() {
        let env = check_env();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some("/usr/local/bin:/usr/bin:/bin"));
        assert!(!get("PATH").unwrap().contains("/home/agent"));
        assert_eq!(get("PYTHONSAFEPATH"), Some("1"));
        assert_eq!(get("PYTHONNOUSERSITE"), Some("1"));
        assert_eq!(get("PYTHONPATH"), Some(HIDDEN_DIR));
    }
}
