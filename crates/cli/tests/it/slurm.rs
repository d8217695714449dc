//! `perimeter cluster slurm` on a real Slurm cluster: munged, slurmctld and
//! slurmd from Debian's `munge` and `slurm-wlm` (`.ci/run` installs them),
//! started here on loopback in a folder of the test's own, and stopped
//! with it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

/// A single-node Slurm cluster: its daemons, killed on drop.
struct Cluster {
    conf: PathBuf,
    daemons: Vec<Child>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn program(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed: `apt-get install slurm-wlm munge` (.ci/run does)")
        })
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let (munge, state, spool) = (dir.join("munge"), dir.join("state"), dir.join("spool"));
        for d in [&munge, &state, &spool] {
            std::fs::create_dir_all(d).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&munge, std::fs::Permissions::from_mode(0o711)).unwrap();
        let key: Vec<u8> =
            (0..1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        std::fs::write(munge.join("munge.key"), key).unwrap();
        std::fs::set_permissions(munge.join("munge.key"), std::fs::Permissions::from_mode(0o400))
            .unwrap();
        let socket = munge.join("socket");
        let mut cluster = Cluster { conf: dir.join("slurm.conf"), daemons: Vec::new() };
        let quiet = |c: &mut Command| {
            c.stdout(Stdio::null()).stderr(Stdio::null());
        };
        let mut munged = Command::new(program("munged"));
        munged
            .args(["--foreground", "--force", "--socket"])
            .arg(&socket)
            .arg(format!("--key-file={}", munge.join("munge.key").display()))
            .arg(format!("--log-file={}", munge.join("log").display()))
            .arg(format!("--pid-file={}", munge.join("pid").display()))
            .arg(format!("--seed-file={}", munge.join("seed").display()));
        quiet(&mut munged);
        cluster.daemons.push(munged.spawn().unwrap());
        wait_for("munged's socket", || socket.exists());

        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned();
        let d = dir.display();
        std::fs::write(
            &cluster.conf,
            format!(
                "ClusterName=perimeter-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld}
SlurmdPort={slurmd}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={socket}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
",
                ctld = free_port(),
                slurmd = free_port(),
                socket = socket.display(),
            ),
        )
        .unwrap();
        for (daemon, extra) in [("slurmctld", vec!["-i"]), ("slurmd", vec!["-N", host.as_str()])] {
            let mut c = Command::new(program(daemon));
            c.arg("-D").arg("-f").arg(&cluster.conf).args(extra);
            quiet(&mut c);
            cluster.daemons.push(c.spawn().unwrap());
        }
        wait_for("the node to be idle", || {
            cluster
                .cmd("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        cluster
    }

    /// A Slurm client command of this cluster.
    fn cmd(&self, name: &str) -> Command {
        let mut c = Command::new(program(name));
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn out(&self, name: &str, args: &[&str]) -> String {
        let o = self.cmd(name).args(args).output().unwrap();
        assert!(o.status.success(), "{name} {args:?}: {:?}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ready() {
        assert!(t0.elapsed() < Duration::from_secs(120), "waited 2 min for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The files `perimeter cluster slurm` writes, submitted to a real
/// cluster: the job array runs the shards, one task is requeued (killed
/// mid-shard and run again by Slurm), and the dependent merge job joins
/// them into the run of the whole plan, with no episode lost or run twice.
#[test]
fn a_slurm_job_array_runs_the_shards_and_a_requeued_task_resumes_its_shard() {
    assert!(is_root(), "Slurm's daemons and the sandbox run as root here");
    let d = TempDir::new("slurm");
    let dir = d.path();
    let cluster = Cluster::start(&dir.join("cluster"));
    let plan = [
        "--agent",
        "scripted:mixed:50",
        "--scenario",
        "release-gate",
        "--scenario",
        "flaky-loader",
        "--scenario",
        "quota-crunch",
        "--scenario",
        "audit-log",
        "--epochs",
        "6",
        "--seed",
        "5",
        "--concurrency",
        "1",
    ];
    let o = perimeter()
        .args(["cluster", "slurm", "--shards", "2", "--dir"])
        .arg(dir.join("c"))
        .arg("--")
        .args(plan)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let submitted = cluster.cmd("sh").arg(dir.join("c/submit.sh")).output().unwrap();
    assert!(submitted.status.success(), "{:?}", text(&submitted));
    let said = text(&submitted).0;
    let job = said
        .split_once("shards: job ")
        .and_then(|(_, rest)| rest.split(';').next())
        .unwrap_or_else(|| panic!("no job id in {said:?}"))
        .to_owned();
    let task = format!("{job}_0");

    // Task 0 is requeued once its first episode is written.
    let episodes = dir.join("c/shards/0/episodes");
    wait_for("shard 0's first episode", || {
        std::fs::read_dir(&episodes).is_ok_and(|mut scenarios| {
            scenarios.any(|s| {
                s.ok().and_then(|s| std::fs::read_dir(s.path()).ok()).is_some_and(|mut f| {
                    f.any(|f| f.is_ok_and(|f| f.path().to_string_lossy().ends_with(".result.json")))
                })
            })
        })
    });
    assert!(!dir.join("c/shards/0/summary.json").exists(), "shard 0 finished before its requeue");
    cluster.out("scontrol", &["requeue", &task]);
    wait_for("the requeued task to be pending", || {
        cluster.out("squeue", &["-h", "-j", &task, "-o", "%T"]).trim() == "PENDING"
    });
    // A requeued job waits two minutes before it may start again.
    wait_for("the requeued task to be let start", || {
        cluster
            .cmd("scontrol")
            .args(["update", &format!("JobId={task}"), "StartTime=now"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let t0 = Instant::now();
    loop {
        let queue = cluster.out("squeue", &["-h", "-o", "%i %T %r"]);
        if queue.trim().is_empty() {
            break;
        }
        let logs: Vec<String> = ["shard-0.log", "shard-1.log", "merge.log"]
            .iter()
            .map(|l| std::fs::read_to_string(dir.join("c/logs").join(l)).unwrap_or_default())
            .collect();
        let ctld = std::fs::read_to_string(dir.join("cluster/slurmctld.log")).unwrap_or_default();
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "still queued after 4 min:\n{queue}\nlogs: {logs:#?}\nslurmctld: {ctld}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let shown = cluster.out("scontrol", &["show", "job", &task]);
    assert!(shown.contains("Restarts=1"), "{shown}");
    assert!(shown.contains("JobState=COMPLETED"), "{shown}");
    let log = std::fs::read_to_string(dir.join("c/logs/shard-0.log")).unwrap();
    assert!(log.contains("DUE TO JOB REQUEUE"), "the log keeps the killed attempt: {log}");
    let merge_log = std::fs::read_to_string(dir.join("c/logs/merge.log")).unwrap();
    let merged: Value = summary(&dir.join("c/run"));
    assert_eq!(merged["episodes"].as_array().unwrap().len(), 24, "{merge_log}");

    run_ok(plan[1], &dir.join("whole"), &plan[2..]);
    let (ours, theirs) =
        (crate::run::outcome(&merged), crate::run::outcome(&summary(&dir.join("whole"))));
    for (a, b) in ours.0.iter().zip(&theirs.0) {
        assert_eq!(a, b, "an episode of the merged run differs from the whole plan's");
    }
    assert_eq!(ours, theirs, "the merged run is the run of the whole plan");
}
