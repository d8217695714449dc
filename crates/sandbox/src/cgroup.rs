//! A memory cgroup around a whole sandbox, when the harness runs as root
//! and the machine offers a writable memory controller (cgroup v1's
//! `memory` hierarchy, or cgroup v2 with `memory` available at its root).
//!
//! Rlimits bound each process; only a cgroup bounds them together, with
//! the shared mappings and tmpfs pages they use. Without one (unprivileged,
//! or no controller), the per-process limits are what holds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const V1: &str = "/sys/fs/cgroup/memory";
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
        // Its processes are gone by now; the kernel may take a moment to
        // release the group.
        for _ in 0..50 {
            match fs::remove_dir(&self.dir) {
                Err(e) if e.kind() == io::ErrorKind::ResourceBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                _ => return,
            }
        }
    }
}
