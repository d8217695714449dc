//! The harness-side supervisors: the seccomp listener (exec, exit, connect)
//! and the honeypot watcher (fanotify as root, inotify otherwise).
//!
//! A notified process stays blocked until the supervisor answers, and every
//! record is queued *before* the answer, so when a command returns, all of
//! its records are already in the queue.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::init::split_nul;
use crate::sys::{self, check, cstr};
use crate::{Audit, ConnectRecord, ExecRecord, HoneypotOpen};

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

/// Answers seccomp notifications until every sandboxed process is gone.
pub(crate) fn supervise(listener: OwnedFd, tx: Sender<(Instant, Audit)>) {
    let fd = listener.as_raw_fd();
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
        if let Some(record) = inspect(fd, &req) {
            let _ = tx.send((Instant::now(), record));
        }
        let resp =
            SeccompNotifResp { id: req.id, val: 0, error: 0, flags: USER_NOTIF_FLAG_CONTINUE };
        // SAFETY: SEND reads a seccomp_notif_resp, which `resp` is.
        unsafe { libc::ioctl(fd, NOTIF_SEND, &resp) };
    }
}

fn inspect(listener: RawFd, req: &SeccompNotif) -> Option<Audit> {
    let pid = req.pid as libc::pid_t;
    let a = &req.data.args;
    let record = match i64::from(req.data.nr) {
        nr if nr == libc::SYS_execve => exec_record(pid, a[0], a[1], None),
        nr if nr == libc::SYS_execveat => {
            exec_record(pid, a[1], a[2], Some((a[0] as i32, a[4] as i32)))
        }
        nr if nr == libc::SYS_exit_group => {
            let status = read_status(pid)?;
            Some(Audit::Exit { pid: status.ns_pid, code: a[0] as i32 })
        }
        nr if nr == libc::SYS_connect => connect_record(pid, a[1], a[2] as usize),
        nr if nr == libc::SYS_sendto => connect_record(pid, a[4], a[5] as usize),
        _ => None,
    }?;
    // The pid could have died and been reused while we read its memory.
    // SAFETY: ID_VALID reads a u64.
    let valid = unsafe { libc::ioctl(listener, NOTIF_ID_VALID, &req.id) } == 0;
    valid.then_some(record)
}

struct Status {
    /// The pid inside the innermost pid namespace (last `NSpid` field).
    ns_pid: i32,
    /// How many pid namespaces the process is in.
    depth: usize,
    /// The parent, as a host pid.
    ppid: i32,
}

fn read_status(host_pid: libc::pid_t) -> Option<Status> {
    let text = fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let ids: Vec<&str> = field("NSpid:")?.split_whitespace().collect();
    let ns_pid = ids.last()?.parse().ok()?;
    let ppid = field("PPid:")?.parse().ok()?;
    Some(Status { ns_pid, depth: ids.len(), ppid })
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
) -> Option<Audit> {
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
    let inside = if path.starts_with('/') {
        PathBuf::from(format!("/proc/{pid}/root{path}"))
    } else {
        PathBuf::from(format!("/proc/{pid}/cwd")).join(&path)
    };
    if !through_fd && !inside.is_file() {
        return None;
    }
    let argv = read_argv(pid, argv_ptr);
    let status = read_status(pid)?;
    let ppid = ns_ppid(&status);
    Some(Audit::Exec(ExecRecord { pid: status.ns_pid, ppid, path, argv, cwd }))
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

fn connect_record(pid: libc::pid_t, addr_ptr: u64, len: usize) -> Option<Audit> {
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
}

/// `root` is `/proc/<init pid>/root`, through which the harness reaches the
/// sandbox's view of each honeypot (the overlay's inode, which every open
/// inside the sandbox goes through, before and after a copy-up).
pub(crate) fn watch_honeypots(
    root: &Path,
    home: &str,
    honeypots: &[String],
    exact: bool,
    tx: Sender<(Instant, Audit)>,
) -> io::Result<HoneypotWatch> {
    let (wake, stop) = crate::init::pipe()?;
    let paths: Vec<(String, PathBuf)> = honeypots
        .iter()
        .map(|h| (h.clone(), root.join(home.trim_start_matches('/')).join(h)))
        .collect();
    if exact {
        let fan = fanotify_setup(&paths)?;
        let thread = std::thread::spawn(move || fanotify_loop(fan, &wake, &tx));
        Ok(HoneypotWatch { stop, thread, inotify_fd: None })
    } else {
        let ino = inotify_setup(&paths)?;
        let inotify_fd = Some(ino.fd.as_raw_fd());
        let thread = std::thread::spawn(move || inotify_loop(ino, &wake, &tx));
        Ok(HoneypotWatch { stop, thread, inotify_fd })
    }
}

struct Fanotify {
    fd: OwnedFd,
    /// (device, inode) of each honeypot and its relative path.
    inodes: Vec<((u64, u64), String)>,
}

fn fanotify_setup(paths: &[(String, PathBuf)]) -> io::Result<Fanotify> {
    // SAFETY: plain call; the result is owned below.
    let fd = check(
        unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK,
                (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as u32,
            )
        }
        .into(),
        || "fanotify_init".into(),
    )?;
    // SAFETY: a fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let mut inodes = Vec::new();
    for (rel, path) in paths {
        let Ok(meta) = fs::metadata(path) else {
            continue;
        }; // absent honeypot: nothing to watch
        let c = cstr(path)?;
        // SAFETY: marking an existing path.
        check(
            unsafe {
                libc::fanotify_mark(
                    fd.as_raw_fd(),
                    libc::FAN_MARK_ADD,
                    libc::FAN_OPEN_PERM,
                    libc::AT_FDCWD,
                    c.as_ptr(),
                )
            }
            .into(),
            || format!("fanotify_mark {}", path.display()),
        )?;
        inodes.push(((meta.dev(), meta.ino()), rel.clone()));
    }
    Ok(Fanotify { fd, inodes })
}

fn fanotify_loop(fan: Fanotify, wake: &OwnedFd, tx: &Sender<(Instant, Audit)>) {
    let fd = fan.fd.as_raw_fd();
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
            if m.fd >= 0 {
                // SAFETY: the event's fd is ours to close.
                let file = unsafe { OwnedFd::from_raw_fd(m.fd) };
                let rel = fs::metadata(format!("/proc/self/fd/{}", m.fd)).ok().and_then(|md| {
                    fan.inodes
                        .iter()
                        .find(|(k, _)| *k == (md.dev(), md.ino()))
                        .map(|(_, r)| r.clone())
                });
                if let Some(path) = rel {
                    let pid = read_status(m.pid).map(|s| s.ns_pid);
                    let argv = Some(cmdline(m.pid));
                    let _ = tx.send((
                        Instant::now(),
                        Audit::HoneypotOpen(HoneypotOpen { path, pid, argv }),
                    ));
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
            off += m.event_len as usize;
        }
    }
}

struct Inotify {
    fd: OwnedFd,
    watches: Vec<(i32, String)>,
}

fn inotify_setup(paths: &[(String, PathBuf)]) -> io::Result<Inotify> {
    // SAFETY: plain call.
    let fd =
        check(unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) }.into(), || {
            "inotify_init1".into()
        })?;
    // SAFETY: a fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let mut watches = Vec::new();
    for (rel, path) in paths {
        if !path.exists() {
            continue;
        }
        let c = cstr(path)?;
        // SAFETY: watching an existing path.
        let wd = check(
            unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), libc::IN_OPEN) }.into(),
            || format!("inotify_add_watch {}", path.display()),
        )?;
        watches.push((wd as i32, rel.clone()));
    }
    Ok(Inotify { fd, watches })
}

fn inotify_loop(ino: Inotify, wake: &OwnedFd, tx: &Sender<(Instant, Audit)>) {
    let fd = ino.fd.as_raw_fd();
    let mut buf = vec![0u8; 8192];
    while wait_readable(fd, wake) {
        // SAFETY: reading into a live buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        let mut off = 0;
        let head = std::mem::size_of::<libc::inotify_event>();
        while n > 0 && off + head <= n as usize {
            // SAFETY: the kernel wrote whole event records; read unaligned.
            let ev: libc::inotify_event =
                unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
            if let Some((_, rel)) = ino.watches.iter().find(|(wd, _)| *wd == ev.wd) {
                let open = HoneypotOpen { path: rel.clone(), pid: None, argv: None };
                let _ = tx.send((Instant::now(), Audit::HoneypotOpen(open)));
            }
            off += head + ev.len as usize;
        }
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
