//! The grading helper's timing (`perimeter_check.timed_call`), run by the
//! system's Python: CPU time of every process the code under test starts,
//! the same on a saturated machine, and a budget the kernel enforces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HELPER: &str = include_str!("../src/episode/perimeter_check.py");

/// A folder with the helper, a module `agent` of the given source, and a
/// driver that prints what `timed_call` gave as one JSON line.
struct Bench(PathBuf);

impl Bench {
    fn new(name: &str, module: &str) -> Bench {
        let dir =
            std::env::temp_dir().join(format!("perimeter-grading-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("code")).unwrap();
        std::fs::write(dir.join("perimeter_check.py"), HELPER).unwrap();
        std::fs::write(dir.join("code/agent.py"), module).unwrap();
        Bench(dir)
    }

    /// Runs `timed_call("agent", expr, …options)`; the value, the CPU
    /// seconds, or the exception's type and message.
    fn timed_call(&self, expr: &str, options: &str) -> serde_json::Value {
        let driver = format!(
            r#"
import json, sys
sys.path.insert(0, {dir:?})
from perimeter_check import timed_call, ChildFailed
try:
    value, cpu = timed_call("agent", {expr:?}, root={code:?}{options})
    print(json.dumps({{"value": value, "cpu": cpu}}))
except ChildFailed as e:
    print(json.dumps({{"failed": str(e)}}))
"#,
            dir = self.0.display().to_string(),
            code = self.0.join("code").display().to_string(),
        );
        let stdout = python(&driver);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `driver` as a check runs the helper, in the system's Python, and
/// returns its standard output; it must succeed.
fn python(driver: &str) -> String {
    #[allow(clippy::disallowed_methods)]
    let out = Command::new("python3").arg("-I").arg("-c").arg(driver).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Keeps twice as many threads busy as there are cores until dropped.
struct Load(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Load {
    fn saturate() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..2 * cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Load(stop, threads)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for t in self.1.drain(..) {
            let _ = t.join();
        }
    }
}

const LINEAR: &str = "def dedup(docs):\n    return list(dict.fromkeys(docs))\n";

/// Burns `seconds` of CPU in the calling process.
const BURN: &str = r#"
import os, time

def burn(seconds):
    start = time.process_time()
    x = 0
    while time.process_time() - start < seconds:
        x += 1
    return x
"#;

#[test]
fn a_fast_function_is_fast_on_a_saturated_machine() {
    let bench = Bench::new("fast", LINEAR);
    let _load = Load::saturate();
    let got =
        bench.timed_call(r#"dedup([f"doc-{i % 20000}" for i in range(60000)])"#, ", cpu_limit=3");
    assert_eq!(got["value"].as_array().map(Vec::len), Some(20000), "{got}");
    let cpu = got["cpu"].as_f64().unwrap();
    // Interpreter start, the test machinery's snapshot and the function:
    // a small fraction of a second, however long it waited for a core.
    assert!(cpu > 0.0 && cpu < 1.0, "{cpu} s of CPU");
}

#[test]
fn work_handed_to_a_process_nobody_waits_for_is_counted() {
    // The answer is computed by a grandchild, detached by a double fork and
    // never waited for by the code: only the helper, its reaper, sees it.
    let module = format!(
        "{BURN}
def offloaded(seconds):
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.close(r)
            burn(seconds)
            os.write(w, b'42')
            os._exit(0)
        os._exit(0)
    os.wait()
    os.close(w)
    return int(os.read(r, 16))
"
    );
    let bench = Bench::new("offloaded", &module);
    let got = bench.timed_call("offloaded(1.5)", "");
    assert_eq!(got["value"], 42, "{got}");
    let cpu = got["cpu"].as_f64().unwrap();
    assert!(cpu >= 1.4, "the grandchild's 1.5 s not counted: {cpu} s");
}

#[test]
fn a_process_left_running_is_killed_and_counted() {
    let module = format!(
        "{BURN}
def leave_behind():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        burn(3600)
        os._exit(0)
    burn(0.3)
    return pid
"
    );
    let bench = Bench::new("left", &module);
    let started = Instant::now();
    let got = bench.timed_call("leave_behind()", "");
    let pid = got["value"].as_u64().unwrap_or_else(|| panic!("{got}"));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the process left behind still runs");
    let cpu = got["cpu"].as_f64().unwrap();
    assert!(cpu >= 0.3, "{cpu} s");
}

#[test]
fn a_cpu_budget_ends_the_code_at_the_budget_not_at_the_timeout() {
    let bench = Bench::new("budget", &format!("{BURN}\ndef forever():\n    return burn(3600)\n"));
    let started = Instant::now();
    let got = bench.timed_call("forever()", ", timeout=300, cpu_limit=1");
    let failed = got["failed"].as_str().unwrap_or_else(|| panic!("{got}"));
    assert!(failed.contains("CPU budget of 1 s"), "{failed}");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    assert!(bench.path().exists());
}

#[test]
fn a_budget_below_a_second_ends_the_code_at_that_budget() {
    let bench = Bench::new("fraction", &format!("{BURN}\ndef forever():\n    return burn(3600)\n"));
    let got = bench.timed_call("forever()", ", timeout=300, cpu_limit=0.3");
    let failed = got["failed"].as_str().unwrap_or_else(|| panic!("{got}"));
    assert!(failed.contains("CPU budget of 0.3 s"), "{failed}");
    // Code within the budget answers.
    let got = bench.timed_call("burn(0.05)", ", cpu_limit=0.3");
    assert!(got["value"].as_u64().is_some(), "{got}");
}

#[test]
fn code_that_ignores_the_budget_signal_still_ends_near_the_budget() {
    let module = format!(
        "{BURN}
import signal

def stubborn():
    signal.signal(signal.SIGPROF, signal.SIG_IGN)
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    return burn(3600)
"
    );
    let bench = Bench::new("stubborn", &module);
    let started = Instant::now();
    let got = bench.timed_call("stubborn()", ", timeout=300, cpu_limit=0.5");
    let failed = got["failed"].as_str().unwrap_or_else(|| panic!("{got}"));
    assert!(failed.contains("CPU budget of 0.5 s"), "{failed}");
    // RLIMIT_CPU's hard limit: the next whole second, and one more.
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

#[test]
fn a_confined_command_writes_no_file_but_those_allowed() {
    let bench = Bench::new("confine", "");
    let scratch = bench.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let driver = format!(
        r#"
import subprocess, sys
sys.path.insert(0, {dir:?})
from perimeter_check import confine
script = "echo kept > {scratch}/made; echo fine > /dev/null && echo wrote-null; rm -f {scratch}/old"
p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                   preexec_fn=lambda: confine(writable=["/dev/null"]) or sys.exit(3))
print(p.returncode, p.stdout.strip())
"#,
        dir = bench.path().display().to_string(),
        scratch = scratch.display(),
    );
    std::fs::write(scratch.join("old"), "shipped").unwrap();
    let stdout = python(&driver);
    // /dev/null stays writable; the directory the caller could write is not.
    assert!(stdout.contains("wrote-null"), "{stdout}");
    assert!(!scratch.join("made").exists(), "a confined command created a file");
    assert_eq!(std::fs::read_to_string(scratch.join("old")).unwrap(), "shipped");
}
