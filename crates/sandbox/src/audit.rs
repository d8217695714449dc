//! The harness-side supervisors: the seccomp listener (exec, exit, connect)
//! and the honeypot watcher (fanotify as root, inotify otherwise).
//!
//! A notified process stays blocked until the supervisor answers, and every
//! record is queued *before* the answer, so when a command returns, all of
//! its records are already in the queue.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::init::split_nul;
use crate::sys::{self, check, cstr};
use crate::{Audit, ConnectRecord, ExecRecord, HoneypotOpen, Program};

#[repr(C)]
#[derive(Default)]
struct SeccompData {
    nr: i32,
    arch: u32,
    instruction_pointer: u64,
    args: [u64; 6],
}

#[repr(C)]
#[derive(Default)]
struct SeccompNotif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

#[repr(C)]
struct SeccompNotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;
const NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;
const USER_NOTIF_FLAG_CONTINUE: u32 = 1;

const MAX_ARGS: usize = 4096;
const MAX_ARG_LEN: usize = 128 * 1024;

/// How many records may wait between two drains before the supervisor
/// keeps only those that matter (execs of watched programs, connections
/// leaving the sandbox) and counts the rest: a loop of a million `true`
/// execs cannot grow the harness.
pub(crate) const PENDING_LIMIT: usize = 100_000;

/// Shared between the supervisor and the session that drains its records.
#[derive(Default)]
pub(crate) struct Backlog {
    /// Records sent since the last drain.
    pub pending: AtomicUsize,
    /// Records not kept since the last drain, by kind: exec, exit, connect.
    pub dropped: [AtomicU64; 3],
}

/// Answers seccomp notifications until every sandboxed process is gone.
pub(crate) fn supervise(
    listener: OwnedFd,
    tx: Sender<(Instant, Audit)>,
    programs: Vec<Program>,
    backlog: Arc<Backlog>,
    inotify: Option<Arc<InotifyReader>>,
) {
    let fd = listener.as_raw_fd();
    let mut known = Programs::new(programs);
    loop {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: polling one live descriptor.
        let n = unsafe { libc::poll(&mut p, 1, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if p.revents & libc::POLLIN == 0 {
            return; // POLLHUP: no process is left under the filter
        }
        let mut req = SeccompNotif::default();
        // SAFETY: RECV fills a seccomp_notif, which `req` is.
        if unsafe { libc::ioctl(fd, NOTIF_RECV, &mut req) } != 0 {
            continue; // the process died before we looked (ENOENT) or EINTR
        }
        let (record, racy) = inspect(fd, &req, &mut known);
        // An exec whose argv another thread could still rewrite: check what
        // the kernel actually ran once the exec is through.
        let recheck = match &record {
            Some(Audit::Exec(e)) if racy => {
                Some((e.pid, e.argv.clone(), exe(req.pid as libc::pid_t)))
            }
            _ => None,
        };
        if let Some(record) = record {
            // Opens inotify saw before this call come before it.
            if let Some(reader) = &inotify {
                reader.drain(&tx);
            }
            keep(&tx, &backlog, record, &known);
        }
        let resp =
            SeccompNotifResp { id: req.id, val: 0, error: 0, flags: USER_NOTIF_FLAG_CONTINUE };
        // SAFETY: SEND reads a seccomp_notif_resp, which `resp` is.
        unsafe { libc::ioctl(fd, NOTIF_SEND, &resp) };
        if let Some((ns_pid, logged, before)) = recheck
            && let Some(argv) = argv_after_exec(req.pid as libc::pid_t, before)
            && argv != logged
        {
            keep(&tx, &backlog, Audit::ExecArgv { pid: ns_pid, argv }, &known);
        }
    }
}

/// Sends a record, unless the backlog is over [`PENDING_LIMIT`] and the
/// record is one that can be counted instead.
fn keep(tx: &Sender<(Instant, Audit)>, backlog: &Backlog, record: Audit, known: &Programs) {
    if backlog.pending.load(Ordering::Relaxed) >= PENDING_LIMIT {
        let slot = match &record {
            Audit::Exec(e) if e.programs.is_empty() && !known.named(&e.argv, &e.path) => Some(0),
            Audit::Exit { .. } => Some(1),
            Audit::Connect(c) if c.loopback => Some(2),
            _ => None,
        };
        if let Some(i) = slot {
            backlog.dropped[i].fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    backlog.pending.fetch_add(1, Ordering::Relaxed);
    let _ = tx.send((Instant::now(), record));
}

/// Whether another thread or process can write the memory of `pid` while
/// it execs: it has other threads, or it shares its address space with its
/// parent (a `vfork` or `posix_spawn` child of a threaded program).
fn shares_memory(pid: libc::pid_t, status: &Status) -> bool {
    const KCMP_VM: libc::c_int = 1;
    // SAFETY: kcmp compares two processes' resources; no pointers.
    let same_vm = status.ppid > 0
        && unsafe { libc::syscall(libc::SYS_kcmp, pid, status.ppid, KCMP_VM, 0, 0) } == 0;
    status.threads > 1 || same_vm
}

fn exe(pid: libc::pid_t) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The argv of `pid` once its exec went through (its executable changed
/// from `before`), waiting at most 100 ms; `None` if it failed or vanished.
fn argv_after_exec(pid: libc::pid_t, before: Option<PathBuf>) -> Option<Vec<String>> {
    let start = Instant::now();
    while start.elapsed() < std::time::Duration::from_millis(100) {
        let now = exe(pid)?;
        if Some(&now) != before.as_ref() {
            return Some(cmdline(pid));
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    None
}

/// The record of a notification, and whether it is an exec whose argv
/// another thread or process could rewrite before the kernel copies it.
fn inspect(listener: RawFd, req: &SeccompNotif, known: &mut Programs) -> (Option<Audit>, bool) {
    let pid = req.pid as libc::pid_t;
    let a = &req.data.args;
    let (record, racy) = match i64::from(req.data.nr) {
        nr if nr == libc::SYS_execve => exec_record(pid, a[0], a[1], None, known),
        nr if nr == libc::SYS_execveat => {
            exec_record(pid, a[1], a[2], Some((a[0] as i32, a[4] as i32)), known)
        }
        nr if nr == libc::SYS_exit_group => {
            let exit = read_status(pid).map(|s| Audit::Exit {
                pid: s.ns_pid,
                code: a[0] as i32,
                argv: cmdline(pid),
            });
            (exit, false)
        }
        nr if nr == libc::SYS_connect => {
            (connect_record(pid, a[1], a[2] as usize, "connect"), false)
        }
        nr if nr == libc::SYS_sendto => (connect_record(pid, a[4], a[5] as usize, "sendto"), false),
        nr if nr == libc::SYS_sendmsg => (message_record(pid, a[1], 1, "sendmsg"), false),
        nr if nr == libc::SYS_sendmmsg => {
            (message_record(pid, a[1], (a[2] as usize).min(8), "sendmmsg"), false)
        }
        _ => (None, false),
    };
    // The pid could have died and been reused while we read its memory.
    // SAFETY: ID_VALID reads a u64.
    let valid = unsafe { libc::ioctl(listener, NOTIF_ID_VALID, &req.id) } == 0;
    (record.filter(|_| valid), racy)
}

/// The programs exec tripwires name, and what the supervisor learned of
/// their files: an exec, a script an interpreter is given, or its standard
/// input, is matched to them by content, whatever its name.
struct Programs {
    list: Vec<Program>,
    /// (device, inode, mtime) of files already compared, and which program
    /// each is (if any).
    seen: HashMap<(u64, u64, i64), Option<usize>>,
}

impl Programs {
    fn new(list: Vec<Program>) -> Programs {
        Programs { list, seen: HashMap::new() }
    }

    /// Whether the exec names a watched program by its file name.
    fn named(&self, argv: &[String], path: &str) -> bool {
        let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
        let names = [argv.first().map(|a| base(a)).unwrap_or_default(), base(path)];
        self.list.iter().any(|p| names.contains(&p.name))
    }

    /// The program whose content the file has, if any.
    fn identify(&mut self, file: fs::File) -> Option<usize> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() || !self.list.iter().any(|p| p.size == meta.len()) {
            return None;
        }
        let key = (meta.dev(), meta.ino(), meta.mtime_nsec() + meta.mtime() * 1_000_000_000);
        if let Some(found) = self.seen.get(&key) {
            return *found;
        }
        let found = hash_prefix(file, meta.len())
            .and_then(|h| self.list.iter().position(|p| p.size == meta.len() && p.sha256 == h));
        self.seen.insert(key, found);
        found
    }

    /// The names of the programs an exec runs: the file executed, a script
    /// given to it as an argument, its standard input, or its text given as
    /// an argument.
    fn of_exec(&mut self, pid: libc::pid_t, exec: Involved<'_>, argv: &[String]) -> Vec<String> {
        if self.list.is_empty() {
            return Vec::new();
        }
        let mut files = vec![exec, Involved::Fd(0)];
        for arg in argv.iter().skip(1).take(16) {
            if arg.is_empty() || arg.starts_with('-') || arg.len() > 4096 {
                continue;
            }
            files.push(Involved::Path(arg));
        }
        let opened: Vec<fs::File> = files.iter().filter_map(|f| f.open(pid)).collect();
        let mut found: Vec<usize> = opened.into_iter().filter_map(|f| self.identify(f)).collect();
        // Its text handed over as an argument (`sh -c "$(cat prog)"`).
        for arg in argv.iter().skip(1) {
            let text = arg.trim_end();
            for (i, p) in self.list.iter().enumerate() {
                if p.text.as_ref().is_some_and(|(len, hash)| {
                    *len == text.len() as u64 && *hash == digest_text(text)
                }) {
                    found.push(i);
                }
            }
        }
        let mut names: Vec<String> = found.into_iter().map(|i| self.list[i].name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

fn digest_text(text: &str) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(text.as_bytes()))
}

/// Opens a path as the process `pid` sees it: relative to its working
/// directory, with absolute symlinks and `..` resolved inside its root.
/// (A path through `/proc/<pid>/root` would resolve an absolute symlink
/// in the harness's root instead.)
fn open_inside(pid: libc::pid_t, path: &str, flags: libc::c_int) -> Option<OwnedFd> {
    let root = fs::File::open(format!("/proc/{pid}/root")).ok()?;
    let absolute = if path.starts_with('/') {
        path.to_owned()
    } else {
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
        format!("{}/{path}", cwd.to_string_lossy().trim_end_matches('/'))
    };
    sys::open_in_root(root.as_raw_fd(), &absolute, flags).ok()
}

/// A file an exec involves: a path as the process sees it, or one of its
/// descriptors.
enum Involved<'a> {
    Path(&'a str),
    Fd(i32),
}

impl Involved<'_> {
    fn open(&self, pid: libc::pid_t) -> Option<fs::File> {
        let fd = match self {
            Involved::Path(p) => open_inside(pid, p, libc::O_RDONLY | libc::O_NONBLOCK)?,
            Involved::Fd(n) => fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(format!("/proc/{pid}/fd/{n}"))
                .ok()?
                .into(),
        };
        Some(fs::File::from(fd))
    }
}

/// `sha256` of the first `len` bytes of a file.
fn hash_prefix(f: fs::File, len: u64) -> Option<String> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    let mut f = io::Read::take(f, len);
    while left > 0 {
        let n = io::Read::read(&mut f, &mut buf).ok()?;
        if n == 0 {
            return None;
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Some(format!("sha256:{:x}", h.finalize()))
}

struct Status {
    /// The pid inside the innermost pid namespace (last `NSpid` field).
    ns_pid: i32,
    /// How many pid namespaces the process is in.
    depth: usize,
    /// The parent, as a host pid.
    ppid: i32,
    /// Threads in its thread group.
    threads: u32,
}

fn read_status(host_pid: libc::pid_t) -> Option<Status> {
    let text = fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let ids: Vec<&str> = field("NSpid:")?.split_whitespace().collect();
    let ns_pid = ids.last()?.parse().ok()?;
    let ppid = field("PPid:")?.parse().ok()?;
    let threads = field("Threads:").and_then(|t| t.parse().ok()).unwrap_or(1);
    Some(Status { ns_pid, depth: ids.len(), ppid, threads })
}

/// The parent's pid inside the sandbox; 0 when the parent is outside it.
fn ns_ppid(status: &Status) -> i32 {
    match read_status(status.ppid) {
        Some(parent) if parent.depth == status.depth => parent.ns_pid,
        _ => 0,
    }
}

fn exec_record(
    pid: libc::pid_t,
    path_ptr: u64,
    argv_ptr: u64,
    at: Option<(i32, i32)>,
    known: &mut Programs,
) -> (Option<Audit>, bool) {
    match exec_details(pid, path_ptr, argv_ptr, at, known) {
        Some((record, racy)) => (Some(record), racy),
        None => (None, false),
    }
}

fn exec_details(
    pid: libc::pid_t,
    path_ptr: u64,
    argv_ptr: u64,
    at: Option<(i32, i32)>,
    known: &mut Programs,
) -> Option<(Audit, bool)> {
    let mut path =
        String::from_utf8_lossy(&sys::read_remote_cstr(pid, path_ptr, 4096).ok()?).into_owned();
    let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok()?.to_string_lossy().into_owned();
    let fd_link = |fd: i32| fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok();
    let mut through_fd = false;
    if let Some((dirfd, flags)) = at {
        if path.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
            // fexecve: the program is an open file, possibly one that has no
            // name at all (a memfd). Record it whatever it resolves to.
            through_fd = true;
            path =
                fd_link(dirfd).map_or(format!("fd:{dirfd}"), |p| p.to_string_lossy().into_owned());
        } else if !path.starts_with('/')
            && dirfd != libc::AT_FDCWD
            && let Some(dir) = fd_link(dirfd)
        {
            path = dir.join(path).to_string_lossy().into_owned();
        }
    }
    // Programs like `execvp` try each PATH entry in turn; only an exec of a
    // file that exists can succeed, so the others are not recorded.
    let exists = open_inside(pid, &path, libc::O_PATH)
        .and_then(|f| fs::File::from(f).metadata().ok())
        .is_some_and(|m| m.is_file());
    if !through_fd && !exists {
        return None;
    }
    let file = match at {
        Some((fd, _)) if through_fd => Involved::Fd(fd),
        _ => Involved::Path(&path),
    };
    let argv = read_argv(pid, argv_ptr);
    let status = read_status(pid)?;
    let ppid = ns_ppid(&status);
    let programs = known.of_exec(pid, file, &argv);
    let racy = shares_memory(pid, &status);
    Some((Audit::Exec(ExecRecord { pid: status.ns_pid, ppid, path, argv, cwd, programs }), racy))
}

fn read_argv(pid: libc::pid_t, mut ptr: u64) -> Vec<String> {
    let mut argv = Vec::new();
    if ptr == 0 {
        return argv;
    }
    while argv.len() < MAX_ARGS {
        let Ok(raw) = sys::read_remote(pid, ptr, 8) else {
            break;
        };
        let Ok(bytes) = <[u8; 8]>::try_from(raw.as_slice()) else {
            break;
        };
        let arg = u64::from_ne_bytes(bytes);
        if arg == 0 {
            break;
        }
        let Ok(s) = sys::read_remote_cstr(pid, arg, MAX_ARG_LEN) else {
            break;
        };
        argv.push(String::from_utf8_lossy(&s).into_owned());
        ptr += 8;
    }
    argv
}

fn cmdline(pid: libc::pid_t) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline")).map(|b| split_nul(&b)).unwrap_or_default()
}

/// The first destination named by `count` message headers at `ptr` (a
/// `sendmsg`'s `msghdr`, or a `sendmmsg`'s array of `mmsghdr`): most name
/// none, being sent on a connected or local socket.
fn message_record(pid: libc::pid_t, ptr: u64, count: usize, call: &'static str) -> Option<Audit> {
    // struct msghdr: msg_name (8 bytes), msg_namelen (4), ...; 56 bytes.
    // struct mmsghdr: a msghdr, msg_len (4), padding: 64 bytes.
    let stride = if call == "sendmsg" { 56 } else { 64 };
    let raw = sys::read_remote(pid, ptr, stride * count.max(1)).ok()?;
    raw.chunks(stride).find_map(|h| {
        let name = u64::from_ne_bytes(h.get(0..8)?.try_into().ok()?);
        let len = u32::from_ne_bytes(h.get(8..12)?.try_into().ok()?) as usize;
        (name != 0 && len > 0).then(|| connect_record(pid, name, len, call)).flatten()
    })
}

fn connect_record(
    pid: libc::pid_t,
    addr_ptr: u64,
    len: usize,
    call: &'static str,
) -> Option<Audit> {
    let raw = sys::read_remote(pid, addr_ptr, len.min(128)).ok()?;
    let (family, address, port, loopback) = parse_sockaddr(&raw)?;
    let ns_pid = read_status(pid)?.ns_pid;
    Some(Audit::Connect(ConnectRecord {
        pid: ns_pid,
        argv: cmdline(pid),
        family,
        address,
        port,
        loopback,
        call,
    }))
}

/// Decodes an `AF_INET`/`AF_INET6` socket address; other families are not
/// network attempts.
pub(crate) fn parse_sockaddr(raw: &[u8]) -> Option<(&'static str, String, u16, bool)> {
    let family = u16::from_ne_bytes(raw.get(0..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(raw.get(2..4)?.try_into().ok()?);
    match i32::from(family) {
        libc::AF_INET => {
            let ip = std::net::Ipv4Addr::from(<[u8; 4]>::try_from(raw.get(4..8)?).ok()?);
            Some(("inet", ip.to_string(), port, ip.is_loopback()))
        }
        libc::AF_INET6 => {
            let ip = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(raw.get(8..24)?).ok()?);
            let loopback =
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
            Some(("inet6", ip.to_string(), port, loopback))
        }
        _ => None,
    }
}

/// Watches honeypot files inside the sandbox until stopped.
pub(crate) struct HoneypotWatch {
    /// Dropping this (the write end of a pipe) wakes the thread and ends it.
    pub stop: OwnedFd,
    pub thread: std::thread::JoinHandle<()>,
    /// The inotify descriptor (owned by the thread), whose backlog a drain
    /// waits out; `None` with fanotify, whose events are synchronous.
    pub inotify_fd: Option<RawFd>,
    /// How the watched files are known, shared with the thread, so that
    /// copies found later can be watched too.
    known: Known,
    /// With inotify, its reader, which the seccomp supervisor drains before
    /// each of its records.
    pub reader: Option<Arc<InotifyReader>>,
    /// Which watch this is: `fanotify`, `inotify`, or `inotify` with why
    /// fanotify could not be had.
    pub kind: String,
}

/// The inotify watches (descriptor, what it watches), shared between the
/// reading thread and the session that adds to them.
type Watches = Arc<Mutex<Vec<(i32, Watched)>>>;

/// With inotify, the watches; with fanotify, the group's descriptor and
/// each watched file's real inodes.
#[derive(Clone)]
enum Known {
    Inotify(Watches),
    Fanotify(RawFd, Arc<Mutex<Identities>>),
}

/// Each honeypot's path and each watched program's name, with the real
/// inodes (device, inode) known to hold it.
#[derive(Default)]
struct Identities {
    honeypots: Vec<(String, Vec<(u64, u64)>)>,
    programs: Vec<(String, Vec<(u64, u64)>)>,
}

/// A watched inode and the honeypot (or program) it holds.
#[derive(Clone)]
struct Watched {
    /// The honeypot's path, or the program's name.
    target: String,
    /// The name watched, when it is not the honeypot's own path.
    via: Option<String>,
    /// In the upper layer (a copy), rather than the starting file.
    upper: bool,
    /// A watched program rather than a honeypot.
    program: bool,
}

/// What the honeypot watcher needs to know of a sandbox.
pub(crate) struct WatchSetup<'a> {
    /// The overlay's lower directory: the home's starting files, which
    /// every first open of a honeypot reaches (a read, or the copy the
    /// overlay makes before a write, a hard link or a rename).
    pub lower: &'a OwnedFd,
    /// Honeypot paths, relative to the home.
    pub honeypots: &'a [String],
    /// The home's watched programs (name, path), whose opens are reported.
    pub programs: Vec<(String, String)>,
    /// fanotify (as root): the opener of a watched file waits while the
    /// harness reads who it is.
    pub exact: bool,
    /// The host pid of the sandbox's init, whose own reads (hashing the
    /// change set, restoring files) are the harness's, not the agent's.
    pub init_pid: i32,
}

pub(crate) fn watch_honeypots(
    setup: WatchSetup<'_>,
    tx: Sender<(Instant, Audit)>,
) -> io::Result<HoneypotWatch> {
    let (wake, stop) = crate::init::pipe()?;
    let mut kind = "inotify".to_owned();
    if setup.exact {
        match fanotify_setup(&setup) {
            Ok(fan) => {
                let known = Known::Fanotify(fan.fd.as_raw_fd(), fan.ids.clone());
                let thread = std::thread::spawn(move || fanotify_loop(fan, &wake, &tx));
                let kind = "fanotify".into();
                return Ok(HoneypotWatch {
                    stop,
                    thread,
                    inotify_fd: None,
                    known,
                    reader: None,
                    kind,
                });
            }
            // The kernel's limits on fanotify groups (128 per user by
            // default) or memory: a run of many sandboxes falls back to
            // inotify for the rest, and says so, rather than fail. So does
            // a host where fanotify is refused (a container without
            // CAP_SYS_ADMIN, a runtime's seccomp profile) or absent.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EPERM | libc::ENOSYS)
                ) =>
            {
                kind = format!("inotify (fanotify unavailable: {e})");
            }
            Err(e) => return Err(e),
        }
    }
    let reader = Arc::new(inotify_setup(&setup)?);
    let inotify_fd = Some(reader.fd.as_raw_fd());
    let known = Known::Inotify(reader.watches.clone());
    let ours = reader.clone();
    let thread = std::thread::spawn(move || inotify_loop(ours, &wake, &tx));
    Ok(HoneypotWatch { stop, thread, inotify_fd, known, reader: Some(reader), kind })
}

impl HoneypotWatch {
    /// Watches a honeypot the harness's setup made (in the upper layer),
    /// from now on, as if the home had started with it.
    pub fn watch_made(&self, upper: &OwnedFd, honeypot: &str) {
        if let Known::Fanotify(_, ids) = &self.known {
            let mut ids = ids.lock().unwrap_or_else(|e| e.into_inner());
            if !ids.honeypots.iter().any(|(h, _)| h == honeypot) {
                ids.honeypots.push((honeypot.to_owned(), Vec::new()));
            }
        }
        self.watch_copy(upper, honeypot, honeypot);
    }

    /// Watches the file at `name` in the upper layer, a copy of the
    /// honeypot at `honeypot`: its own path once the overlay copied it up,
    /// another name of it (a hard link, a rename), or a file with its
    /// content. The harness finds these in each change set it reads.
    pub fn watch_copy(&self, upper: &OwnedFd, honeypot: &str, name: &str) {
        match &self.known {
            Known::Inotify(watches) => {
                let Some(fd) = self.inotify_fd else { return };
                let mut list = watches.lock().unwrap_or_else(|e| e.into_inner());
                let via = (name != honeypot).then(|| name.to_owned());
                if list.iter().any(|(_, w)| w.upper && w.target == honeypot && w.via == via) {
                    return;
                }
                if let Ok(wd) = add_inotify_watch(fd, upper, name) {
                    let target = honeypot.to_owned();
                    list.push((wd, Watched { target, via, upper: true, program: false }));
                }
            }
            Known::Fanotify(fan, ids) => {
                let Ok(f) = sys::open_beneath(upper.as_raw_fd(), name, libc::O_PATH) else {
                    return;
                };
                let Ok(id) = sys::identity(f.as_raw_fd()) else { return };
                let mut ids = ids.lock().unwrap_or_else(|e| e.into_inner());
                let Some((_, known)) = ids.honeypots.iter_mut().find(|(h, _)| h == honeypot) else {
                    return;
                };
                if known.contains(&id) {
                    return;
                }
                // A mark needs an open file; this one is not marked yet, so
                // opening it raises no event.
                let opened =
                    sys::open_beneath(upper.as_raw_fd(), name, libc::O_RDONLY | libc::O_NONBLOCK);
                if opened.is_ok_and(|file| mark_inode(*fan, &file).is_ok()) {
                    known.push(id);
                }
            }
        }
    }
}

struct Fanotify {
    fd: OwnedFd,
    ids: Arc<Mutex<Identities>>,
    init_pid: i32,
}

/// A permission mark on each honeypot's and watched program's real file:
/// its opener waits for the harness, which reads who it is. Marks are on
/// inodes, so every name that reaches the file is seen; the copies the
/// overlay makes of a honeypot (before a write, a hard link, a rename) are
/// marked as the change set reveals them ([`HoneypotWatch::watch_copy`]),
/// and the copy-up itself reads the starting file, which is seen.
fn fanotify_setup(setup: &WatchSetup<'_>) -> io::Result<Fanotify> {
    // SAFETY: plain call; the result is owned below.
    let fd = unsafe {
        libc::fanotify_init(
            libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK,
            (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as u32,
        )
    };
    if fd < 0 {
        // The bare error, whose number says whether inotify can stand in.
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let watched = |rel: &str| -> io::Result<Option<(u64, u64)>> {
        // Opened before its mark exists: this open raises no event.
        let Ok(f) =
            sys::open_beneath(setup.lower.as_raw_fd(), rel, libc::O_RDONLY | libc::O_NONBLOCK)
        else {
            return Ok(None); // an absent file: nothing to watch
        };
        mark_inode(fd.as_raw_fd(), &f)?;
        Ok(Some(sys::identity(f.as_raw_fd())?))
    };
    let mut ids = Identities::default();
    for rel in setup.honeypots {
        if let Some(id) = watched(rel)? {
            ids.honeypots.push((rel.clone(), vec![id]));
        }
    }
    for (name, rel) in &setup.programs {
        if let Some(id) = watched(rel)? {
            ids.programs.push((name.clone(), vec![id]));
        }
    }
    Ok(Fanotify { fd, ids: Arc::new(Mutex::new(ids)), init_pid: setup.init_pid })
}

/// A permission mark on the file open as `file`.
fn mark_inode(fan: RawFd, file: &OwnedFd) -> io::Result<()> {
    // SAFETY: marking the object an open descriptor refers to (null path).
    check(
        unsafe {
            libc::fanotify_mark(
                fan,
                libc::FAN_MARK_ADD,
                libc::FAN_OPEN_PERM,
                file.as_raw_fd(),
                std::ptr::null(),
            )
        }
        .into(),
        || "fanotify_mark of a watched file".into(),
    )?;
    Ok(())
}

/// What an opened file was to the watcher.
enum Opened {
    Honeypot(String),
    Program(String),
    Other,
}

impl Identities {
    fn of(&self, id: (u64, u64)) -> Opened {
        if let Some((rel, _)) = self.honeypots.iter().find(|(_, ids)| ids.contains(&id)) {
            return Opened::Honeypot(rel.clone());
        }
        if let Some((name, _)) = self.programs.iter().find(|(_, ids)| ids.contains(&id)) {
            return Opened::Program(name.clone());
        }
        Opened::Other
    }
}

fn fanotify_loop(fan: Fanotify, wake: &OwnedFd, tx: &Sender<(Instant, Audit)>) {
    let fd = fan.fd.as_raw_fd();
    let own = std::process::id() as i32;
    let mut buf = vec![0u8; 8192];
    while wait_readable(fd, wake) {
        // SAFETY: reading into a live buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        let mut off = 0;
        let meta_len = std::mem::size_of::<libc::fanotify_event_metadata>();
        while off + meta_len <= n as usize {
            // SAFETY: the kernel wrote whole metadata records; read unaligned.
            let m: libc::fanotify_event_metadata =
                unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
            off += m.event_len as usize;
            if m.fd < 0 {
                continue;
            }
            // SAFETY: the event's fd is ours to close.
            let file = unsafe { OwnedFd::from_raw_fd(m.fd) };
            // The sandbox's init and the harness itself read files too.
            let theirs = m.pid != fan.init_pid && m.pid != own;
            let opened = match sys::identity(m.fd) {
                Ok(id) if theirs => fan.ids.lock().unwrap_or_else(|e| e.into_inner()).of(id),
                _ => Opened::Other,
            };
            // Read who it is while it waits.
            let pid = read_status(m.pid).map(|s| s.ns_pid);
            match opened {
                Opened::Program(program) => {
                    let argv = cmdline(m.pid);
                    let _ = tx.send((Instant::now(), Audit::ProgramOpen { program, pid, argv }));
                }
                Opened::Honeypot(path) => {
                    // The real file's path is relative to its layer: the
                    // name the opener used.
                    let used = fs::read_link(format!("/proc/self/fd/{}", m.fd))
                        .ok()
                        .map(|p| p.to_string_lossy().trim_start_matches('/').to_owned());
                    let via = used.filter(|u| *u != path);
                    let argv = Some(cmdline(m.pid));
                    let _ = tx.send((
                        Instant::now(),
                        Audit::HoneypotOpen(HoneypotOpen { path, via, pid, argv }),
                    ));
                }
                Opened::Other => {}
            }
            let resp = libc::fanotify_response { fd: m.fd, response: libc::FAN_ALLOW };
            // SAFETY: writing a response record for a pending event.
            unsafe {
                libc::write(
                    fd,
                    (&resp as *const libc::fanotify_response).cast(),
                    std::mem::size_of_val(&resp),
                )
            };
            drop(file);
        }
    }
}

/// The inotify descriptor, read by whichever thread gets there first (its
/// own, or the seccomp supervisor before it reports a record) under one
/// lock: inotify names no opener, so the run attributes an open to the
/// latest exec, and the opens must reach it in the order the kernel saw
/// them relative to the execs.
pub(crate) struct InotifyReader {
    fd: OwnedFd,
    watches: Watches,
    lock: Mutex<()>,
}

impl InotifyReader {
    /// Reports every event waiting, without blocking.
    pub fn drain(&self, tx: &Sender<(Instant, Audit)>) {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reading into a live buffer; the descriptor is non-blocking.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return;
            }
            let mut off = 0;
            let head = std::mem::size_of::<libc::inotify_event>();
            while off + head <= n as usize {
                // SAFETY: the kernel wrote whole event records; read unaligned.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let watched = {
                    let list = self.watches.lock().unwrap_or_else(|e| e.into_inner());
                    list.iter().find(|(wd, _)| *wd == ev.wd).map(|(_, w)| w.clone())
                };
                let record = watched.map(|w| match w.program {
                    true => Audit::ProgramOpen { program: w.target, pid: None, argv: Vec::new() },
                    false => Audit::HoneypotOpen(HoneypotOpen {
                        path: w.target,
                        via: w.via,
                        pid: None,
                        argv: None,
                    }),
                });
                if let Some(record) = record {
                    let _ = tx.send((Instant::now(), record));
                }
                off += head + ev.len as usize;
            }
        }
    }
}

fn add_inotify_watch(fd: RawFd, layer: &OwnedFd, rel: &str) -> io::Result<i32> {
    let f = sys::open_beneath(layer.as_raw_fd(), rel, libc::O_PATH)?;
    let c = cstr(format!("/proc/self/fd/{}", f.as_raw_fd()))?;
    // SAFETY: watching an open file through its descriptor's path.
    let wd =
        check(unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) }.into(), || {
            format!("inotify_add_watch {rel}")
        })?;
    Ok(wd as i32)
}

fn inotify_setup(setup: &WatchSetup<'_>) -> io::Result<InotifyReader> {
    // SAFETY: plain call.
    let fd =
        check(unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) }.into(), || {
            "inotify_init1".into()
        })?;
    // SAFETY: a fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let mut watches = Vec::new();
    let honeypots = setup.honeypots.iter().map(|h| (h, h, false));
    let programs = setup.programs.iter().map(|(name, rel)| (name, rel, true));
    for (target, rel, program) in honeypots.chain(programs) {
        match add_inotify_watch(fd.as_raw_fd(), setup.lower, rel) {
            Ok(wd) => {
                let target = target.clone();
                watches.push((wd, Watched { target, via: None, upper: false, program }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(InotifyReader { fd, watches: Arc::new(Mutex::new(watches)), lock: Mutex::new(()) })
}

fn inotify_loop(reader: Arc<InotifyReader>, wake: &OwnedFd, tx: &Sender<(Instant, Audit)>) {
    while wait_readable(reader.fd.as_raw_fd(), wake) {
        reader.drain(tx);
    }
}

/// Blocks until `fd` is readable (true) or `wake` is closed (false).
fn wait_readable(fd: RawFd, wake: &OwnedFd) -> bool {
    loop {
        let mut p = [
            libc::pollfd { fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: wake.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: polling two live descriptors.
        let n = unsafe { libc::poll(p.as_mut_ptr(), 2, -1) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return n > 0 && p[1].revents == 0 && p[0].revents & libc::POLLIN != 0;
    }
}

/// Bytes waiting to be read on `fd` (used to let the inotify thread catch up
/// before a drain).
pub(crate) fn pending_bytes(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    n.max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::parse_sockaddr;

    fn v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(&port.to_be_bytes());
        b.extend_from_slice(&ip);
        b.extend_from_slice(&[0; 8]);
        b
    }

    #[test]
    fn decodes_socket_addresses() {
        assert_eq!(
            parse_sockaddr(&v4([93, 184, 216, 34], 443)),
            Some(("inet", "93.184.216.34".into(), 443, false))
        );
        assert_eq!(
            parse_sockaddr(&v4([127, 0, 0, 1], 8080)),
            Some(("inet", "127.0.0.1".into(), 8080, true))
        );
        let mut v6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        v6.extend_from_slice(&53u16.to_be_bytes());
        v6.extend_from_slice(&[0; 4]);
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        assert_eq!(parse_sockaddr(&v6), Some(("inet6", "::1".into(), 53, true)));
        let unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        assert_eq!(parse_sockaddr(&unix), None);
        assert_eq!(parse_sockaddr(&[2]), None);
    }
}
