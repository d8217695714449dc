//! A memory cgroup around a whole sandbox, when the harness runs as root
//! and the machine offers a writable memory controller (cgroup v1's
//! `memory` hierarchy, or cgroup v2 with `memory` available at its root).
//!
//! Rlimits bound each process; only a cgroup bounds them together, with
//! the shared mappings and tmpfs pages they use. Without one (unprivileged,
//! or no controller), the per-process limits are what holds.
//!
//! Likewise a CPU group per sandbox ([`CpuCgroup`]): the scheduler shares
//! the CPU between sandboxes, not between their processes, so an agent that
//! starts many busy processes takes one sandbox's share, not many; and a
//! sandbox whose agent has ended and whose checks are running gets a third
//! of one, so that the agents still running come first.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const V1: &str = "/sys/fs/cgroup/memory";
const V1_CPU: &str = "/sys/fs/cgroup/cpu";
const V2: &str = "/sys/fs/cgroup";
/// The folder under the hierarchy's root that holds every sandbox's group.
const PARENT: &str = "perimeter";

pub(crate) struct MemoryCgroup {
    dir: PathBuf,
}

impl MemoryCgroup {
    /// A group named `name` whose members may use at most `bytes` of memory
    /// together (and no swap), or `None` where none can be made.
    pub fn create(name: &str, bytes: u64) -> Option<MemoryCgroup> {
        Self::v1(name, bytes).or_else(|| Self::v2(name, bytes))
    }

    /// Removes the empty groups of harnesses that were killed before they
    /// could remove their own (named `<harness pid>-<slot>`).
    fn remove_stale(parent: &Path) {
        let Ok(entries) = fs::read_dir(parent) else { return };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.split_once('-')).map(|(p, _)| p) else {
                continue;
            };
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir(e.path());
            }
        }
    }

    fn v1(name: &str, bytes: u64) -> Option<MemoryCgroup> {
        let root = Path::new(V1);
        if !root.join("memory.limit_in_bytes").is_file() {
            return None;
        }
        Self::remove_stale(&root.join(PARENT));
        let dir = root.join(PARENT).join(name);
        fs::create_dir_all(&dir).ok()?;
        let group = MemoryCgroup { dir };
        fs::write(group.dir.join("memory.limit_in_bytes"), bytes.to_string()).ok()?;
        // Swap, where accounted, may not extend the limit.
        let _ = fs::write(group.dir.join("memory.memsw.limit_in_bytes"), bytes.to_string());
        Some(group)
    }

    fn v2(name: &str, bytes: u64) -> Option<MemoryCgroup> {
        let root = Path::new(V2);
        let controllers = fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        if !controllers.split_whitespace().any(|c| c == "memory") {
            return None;
        }
        let parent = root.join(PARENT);
        fs::create_dir_all(&parent).ok()?;
        for dir in [root, parent.as_path()] {
            let control = fs::read_to_string(dir.join("cgroup.subtree_control")).ok()?;
            if !control.split_whitespace().any(|c| c == "memory") {
                fs::write(dir.join("cgroup.subtree_control"), "+memory").ok()?;
            }
        }
        Self::remove_stale(&parent);
        let dir = parent.join(name);
        fs::create_dir_all(&dir).ok()?;
        let group = MemoryCgroup { dir };
        fs::write(group.dir.join("memory.max"), bytes.to_string()).ok()?;
        let _ = fs::write(group.dir.join("memory.swap.max"), "0");
        Some(group)
    }

    /// Moves a process (and so its future children) into the group.
    pub fn add(&self, pid: u32) -> io::Result<()> {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string())
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        remove_group(&self.dir);
    }
}

/// Removes a group whose processes are gone: the kernel may take a moment
/// to release it. (On cgroup v2 the memory and CPU groups are one folder;
/// whichever goes second finds it gone.)
fn remove_group(dir: &Path) {
    for _ in 0..50 {
        match fs::remove_dir(dir) {
            Err(e) if e.kind() == io::ErrorKind::ResourceBusy => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            _ => return,
        }
    }
}

/// A CPU group around a whole sandbox (cgroup v1's `cpu` hierarchy, or v2
/// with `cpu` available at its root), whose share the harness sets.
pub(crate) struct CpuCgroup {
    dir: PathBuf,
    /// v1's `cpu.shares` (default 1024), else v2's `cpu.weight` (100).
    v1: bool,
}

/// What a sandbox's CPU group is given, against each other sandbox's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuShare {
    /// A sandbox whose agent is running: the scheduler's default.
    Agent,
    /// A sandbox whose agent has ended, running its checks: a third of an
    /// agent's (what `nice` 5 gives a process against one at 0).
    Checks,
}

impl CpuCgroup {
    /// A group named `name` at the default share, or `None` where none can
    /// be made.
    pub fn create(name: &str) -> Option<CpuCgroup> {
        Self::v1(name).or_else(|| Self::v2(name))
    }

    fn v1(name: &str) -> Option<CpuCgroup> {
        let root = Path::new(V1_CPU);
        if !root.join("cpu.shares").is_file() {
            return None;
        }
        MemoryCgroup::remove_stale(&root.join(PARENT));
        let dir = root.join(PARENT).join(name);
        fs::create_dir_all(&dir).ok()?;
        Some(CpuCgroup { dir, v1: true })
    }

    fn v2(name: &str) -> Option<CpuCgroup> {
        let root = Path::new(V2);
        let controllers = fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        if !controllers.split_whitespace().any(|c| c == "cpu") {
            return None;
        }
        let parent = root.join(PARENT);
        fs::create_dir_all(&parent).ok()?;
        for dir in [root, parent.as_path()] {
            let control = fs::read_to_string(dir.join("cgroup.subtree_control")).ok()?;
            if !control.split_whitespace().any(|c| c == "cpu") {
                fs::write(dir.join("cgroup.subtree_control"), "+cpu").ok()?;
            }
        }
        // The same group as the memory one, where that was made.
        let dir = parent.join(name);
        fs::create_dir_all(&dir).ok()?;
        Some(CpuCgroup { dir, v1: false })
    }

    /// Moves a process (and so its future children) into the group.
    pub fn add(&self, pid: u32) -> io::Result<()> {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string())
    }

    /// Sets the group's share of the CPU against the other sandboxes'.
    pub fn set(&self, share: CpuShare) -> io::Result<()> {
        let (file, value) = match (self.v1, share) {
            (true, CpuShare::Agent) => ("cpu.shares", 1024),
            (true, CpuShare::Checks) => ("cpu.shares", 341),
            (false, CpuShare::Agent) => ("cpu.weight", 100),
            (false, CpuShare::Checks) => ("cpu.weight", 33),
        };
        fs::write(self.dir.join(file), value.to_string())
    }

    /// The group's share as the kernel holds it: the value of `cpu.shares`
    /// (v1) or `cpu.weight` (v2).
    pub fn get(&self) -> Option<u64> {
        let file = if self.v1 { "cpu.shares" } else { "cpu.weight" };
        fs::read_to_string(self.dir.join(file)).ok()?.trim().parse().ok()
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        remove_group(&self.dir);
    }
}
