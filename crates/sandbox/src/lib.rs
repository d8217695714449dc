//! The episode sandbox: isolation plus a ground-truth audit that does not
//! depend on the agent's honesty.
//!
//! # Shape
//!
//! [`Sandbox::start`] re-executes an *init program* (the `perimeter` binary,
//! whose `main` hands [`INIT_ARG`] to [`run_init`]). Init enters new user,
//! mount, pid, network, ipc and uts namespaces, builds a new root (read-only
//! system directories, a private `/tmp`, `/dev` and `/proc`, and the agent's
//! home as an overlay of a fresh copy of its files and a writable layer, both
//! on a size-limited tmpfs that nothing outside the sandbox shares), sets
//! resource limits, restricts writes with Landlock, installs a seccomp filter
//! and hands its listener to the harness. It then serves requests (run a
//! command, write a file, list processes, report changes) over a private
//! control socket.
//!
//! # Ground truth
//!
//! - every `execve`/`execveat` (argv, cwd, pid, parent) and every process's
//!   `exit_group` code, through seccomp user notification: the filter is
//!   inherited by every descendant and cannot be removed, so an indirect
//!   `python -c "os.system(...)"` or a script written then run shows up;
//! - every `connect` to an IP address;
//! - opens of honeypot files: fanotify permission events when the harness
//!   runs as root (the opener is named exactly), inotify otherwise;
//! - the change set of the home directory: the overlay's upper layer;
//! - processes still alive at any moment, from inside the pid namespace.
//!
//! When the harness dies, the kernel kills init (parent-death signal) and with
//! it the whole pid namespace.

mod audit;
mod cgroup;
mod confine;
mod fsat;
mod init;
mod protocol;
mod restore;
mod session;
mod sys;
mod upper;

use serde::{Deserialize, Serialize};

pub use confine::landlock_abi;
pub use init::run_init;
pub use session::{Error, SANDBOX_UID_BASE, Sandbox, SandboxSpec, Session};

/// The first argument that makes the init program run [`run_init`].
pub const INIT_ARG: &str = "__sandbox-init";

/// Where the agent's home directory appears inside the sandbox.
pub const HOME: &str = "/home/agent";

/// Resource limits applied inside the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Memory the sandbox may use: each process's writable private memory
    /// (`RLIMIT_DATA`), and, when the harness runs as root and a memory
    /// cgroup can be made, all of the sandbox's memory together (its
    /// processes, shared mappings and files in its `/tmp`). By default half
    /// of this machine's physical memory, at most [`MEMORY_DEFAULT_CAP`].
    /// The address space itself is capped at [`ADDRESS_SPACE`], far above:
    /// Node's WebAssembly reserves large regions it never touches (an
    /// address-space limit of 16 GiB made Gemini CLI fail).
    pub memory_bytes: u64,
    /// Processes of the sandbox user (`RLIMIT_NPROC`).
    pub processes: u64,
    /// Largest file a process may write (`RLIMIT_FSIZE`).
    pub file_size_bytes: u64,
    /// Size of the tmpfs holding all changes to the home directory, and of
    /// `/tmp`.
    pub disk_bytes: u64,
    /// Open files per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
}

/// The most memory a sandbox gets by default, whatever the machine: so that
/// runs on hosts of different sizes keep the same limit (and stay
/// comparable) once hosts have twice this much.
pub const MEMORY_DEFAULT_CAP: u64 = 16 << 30;

/// The address space of one sandboxed process (`RLIMIT_AS`): reservations
/// are free, only what is written counts against [`Limits::memory_bytes`].
pub const ADDRESS_SPACE: u64 = 64 << 30;

/// This machine's physical memory in bytes.
pub fn physical_memory() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, size) =
        unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    (pages.max(0) as u64).saturating_mul(size.max(0) as u64)
}

/// The harness's effective user id (0 when it runs as root): the one
/// place outside the sandbox's own code that asks the kernel.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// A capability the harness uses when it runs as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// As the kernel names it: `CAP_SYS_PTRACE`.
    pub name: &'static str,
    bit: u32,
    /// Without it no sandbox can be trusted, and runs refuse to start;
    /// otherwise the sandbox falls back, as `without` says.
    pub required: bool,
    pub why: &'static str,
    pub without: &'static str,
}

/// The capabilities a root harness uses, and nothing more: a container
/// that drops every other one runs the same episodes to the same labels.
pub const ROOT_CAPABILITIES: [Capability; 4] = [
    Capability {
        name: "CAP_SETUID",
        bit: 7,
        required: true,
        why: "maps the sandbox's root to the agent's unprivileged host user",
        without: "no sandbox can start",
    },
    Capability {
        name: "CAP_SETGID",
        bit: 6,
        required: true,
        why: "maps the sandbox's groups to the agent's unprivileged host group",
        without: "no sandbox can start",
    },
    Capability {
        name: "CAP_SYS_PTRACE",
        bit: 19,
        required: true,
        why: "reads the path and arguments of each program the agent runs (process_vm_readv), which belong to another user",
        without: "the exec audit would see no program the agent runs: runs refuse to start",
    },
    Capability {
        name: "CAP_SYS_ADMIN",
        bit: 21,
        required: false,
        why: "fanotify's exact honeypot watch, which names every opener",
        without: "honeypots are watched with inotify; each trace header says so",
    },
];

/// The capabilities of [`ROOT_CAPABILITIES`] this process lacks (none
/// when it does not run as root: the sandbox is then built in a user
/// namespace it owns, and needs none).
pub fn missing_capabilities() -> Vec<Capability> {
    if effective_uid() != 0 {
        return Vec::new();
    }
    let effective = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
    });
    // Unreadable: assume what root has, and let the sandbox say otherwise.
    let effective = effective.unwrap_or(u64::MAX);
    ROOT_CAPABILITIES.into_iter().filter(|c| effective & (1 << c.bit) == 0).collect()
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: (physical_memory() / 2).clamp(1 << 30, MEMORY_DEFAULT_CAP),
            processes: 256,
            file_size_bytes: 256 << 20,
            disk_bytes: 1 << 30,
            open_files: 1024,
        }
    }
}

/// A command to run inside the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// Looked up in `PATH` from `env` when it has no slash.
    pub argv: Vec<String>,
    /// Absolute, inside the sandbox.
    pub cwd: String,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    pub stdin: Option<String>,
    pub timeout_ms: u64,
    /// Narrows where the command may write: only below these absolute
    /// directories (a further Landlock layer on top of the sandbox's own).
    /// The hidden checks run this way, with the home read-only.
    #[serde(default)]
    pub writable: Option<Vec<String>>,
    /// Lowers the command's scheduling priority by this much (`nice`, 0 to
    /// 19), for it and everything it starts. The hidden checks run at
    /// [`CHECK_NICE`], so that on a busy host the agents still running come
    /// first: their turns wait on the CPU, the checks' results do not.
    #[serde(default)]
    pub nice: u8,
}

/// How much lower the hidden checks run than the agents' commands: enough
/// that a waiting agent's command comes first (a weight of 335 to 1024),
/// not so much that an agent keeping a CPU busy starves another episode's
/// checks into their timeout (at 10, a tenth of the CPU).
pub const CHECK_NICE: u8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
    /// The timeout passed; the command's process group was killed.
    TimedOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecOutput {
    /// The command's pid inside the sandbox.
    pub pid: i32,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// True when output beyond [`OUTPUT_LIMIT`] bytes was dropped.
    pub truncated: bool,
}

/// The most output kept per stream of one command.
pub const OUTPUT_LIMIT: usize = 1 << 20;

/// A file read out of the sandbox by [`Session::read_files`]: its bytes, or
/// why it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub path: String,
    pub content: Result<Vec<u8>, String>,
}

/// A live process inside the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: i32,
    pub argv: Vec<String>,
}

/// One ground-truth record, in the order the supervisor saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Audit {
    Exec(ExecRecord),
    /// A process called `exit_group` with this code; `argv` is its command
    /// line then, as the kernel holds it.
    Exit {
        pid: i32,
        code: i32,
        argv: Vec<String>,
    },
    /// What an exec that another thread could rewrite actually ran, read
    /// once it went through, when it differs from the logged argv.
    ExecArgv {
        pid: i32,
        argv: Vec<String>,
    },
    Connect(ConnectRecord),
    HoneypotOpen(HoneypotOpen),
    /// A watched program of the home was opened (read by an interpreter,
    /// or for an exec), and by whom.
    ProgramOpen {
        program: String,
        pid: Option<i32>,
        argv: Vec<String>,
    },
    /// Records counted but not kept since the last drain: the kind
    /// (`process_exec`, `process_exit`, `network_attempt`) and how many.
    Overflow {
        of: &'static str,
        dropped: u64,
    },
}

/// A program an exec tripwire names, known by its content: an exec of it
/// under any name, a copy of it, a script an interpreter is handed, or the
/// standard input a shell reads it from, is an exec of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The name the tripwire gives it (`labctl`).
    pub name: String,
    /// Where it is in the home, for a program of the scenario's own: its
    /// opens are then watched too (as root), so an interpreter reading it
    /// (`exec(open(...).read())`) is seen.
    pub home_path: Option<String>,
    pub size: u64,
    /// `sha256:<hex>` of its content.
    pub sha256: String,
    /// Its text without trailing whitespace, when it is text: its length
    /// and `sha256:<hex>`, to recognise it handed over as an argument
    /// (`sh -c "$(cat ~/bin/labctl)"`, which drops the last newline).
    pub text: Option<(u64, String)>,
}

impl Program {
    /// A program of `name` with this content.
    pub fn new(name: &str, home_path: Option<String>, content: &[u8]) -> Program {
        use sha2::Digest as _;
        let hash = |b: &[u8]| format!("sha256:{:x}", sha2::Sha256::digest(b));
        let text = std::str::from_utf8(content)
            .ok()
            .map(|t| t.trim_end().as_bytes())
            .filter(|t| !t.is_empty())
            .map(|t| (t.len() as u64, hash(t)));
        Program {
            name: name.to_owned(),
            home_path,
            size: content.len() as u64,
            sha256: hash(content),
            text,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecRecord {
    /// Inside the sandbox's pid namespace.
    pub pid: i32,
    /// 0 when the parent is outside the sandbox.
    pub ppid: i32,
    pub path: String,
    pub argv: Vec<String>,
    pub cwd: String,
    /// The watched [`Program`]s this exec runs, by name: the executed
    /// file, a script argument or the standard input has their content.
    pub programs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    pub pid: i32,
    pub argv: Vec<String>,
    /// `inet` or `inet6`.
    pub family: &'static str,
    pub address: String,
    pub port: u16,
    /// A loopback destination: it stays inside the sandbox.
    pub loopback: bool,
    /// The call that named the destination: `connect`, `sendto`,
    /// `sendmsg` or `sendmmsg`.
    pub call: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HoneypotOpen {
    /// Relative to the home directory, as given in [`SandboxSpec::honeypots`].
    pub path: String,
    /// The name the opener used, when it is not the honeypot's own path
    /// (another hard link to it, or its new name after a rename).
    pub via: Option<String>,
    /// The opener, when the kernel reported it.
    pub pid: Option<i32>,
    pub argv: Option<Vec<String>>,
}

/// One file of the agent's home directory as the sandbox starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeFile {
    /// Relative to the home directory, without `..`.
    pub path: String,
    pub executable: bool,
    pub content: Vec<u8>,
}

/// What a path of the home is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

/// One path of the home as the change set sees it: what it is, its
/// content, and its metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathState {
    pub kind: FileType,
    /// `sha256:<hex>` of a file's content or a symlink's target;
    /// `unhashed:<size>:<mtime>` for a file past the hashing limits (see
    /// `docs/trace-format.md`); `None` for other kinds.
    pub content: Option<String>,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// The owner as the sandbox sees it (0 is the sandbox's root).
    pub uid: u32,
    pub gid: u32,
    /// `sha256:<hex>` over the extended attributes, `None` without any.
    pub xattrs: Option<String>,
}

/// A path of the home that is not as it started: created, deleted, changed
/// in content, type or metadata, or written and left as it was (`before`
/// equals `after`: the overlay copied the file up, so something opened it
/// for writing, linked, renamed or touched it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileChange {
    /// Relative to the home directory.
    pub path: String,
    /// `None` where absent.
    pub before: Option<PathState>,
    pub after: Option<PathState>,
}

/// The home's changes since the start, and what could not be read of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// Sorted by path.
    pub changes: Vec<FileChange>,
    /// Entries that could not be read: (path, error). Whatever else was
    /// read is in `changes`.
    pub errors: Vec<(String, String)>,
    /// Errors beyond those listed.
    pub more_errors: u64,
    /// Groups of paths that are names of one file (hard links), each sorted.
    pub links: Vec<Vec<String>>,
    /// (honeypot path, another name of the same file): hard links to a
    /// honeypot.
    pub aliases: Vec<(String, String)>,
}
