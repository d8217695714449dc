//! The sandbox's side: the re-executed init program.
//!
//! Two processes: the *outer* one enters the namespaces and waits; its child
//! is pid 1 of the new pid namespace, builds the root, confines itself and
//! serves the harness. Both die with the harness (parent-death signals).

use std::ffi::CString;
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::protocol::{
    Channel, FileRead, Handshake, InitConfig, Reply, Request, RestoredFile, UpperWalk, WalkError,
    WireFile,
};
use crate::sys::{self, check, cstr, mount};
use crate::upper::Upper;
use crate::{ExecOutput, ExecRequest, ExitStatus, HOME, OUTPUT_LIMIT, ProcessInfo, confine};

/// Where the init keeps its control socket, which the harness hands it as
/// its standard input: past every descriptor a process starts with.
const CONTROL_FD: RawFd = 100;

/// Entry point of the init program (`perimeter __sandbox-init <harness
/// pid>`, its control socket as standard input); returns its exit code.
pub fn run_init(harness: Option<&str>) -> i32 {
    // Before anything else: die with the harness (it spawned us without
    // running code of its own in between, so this is ours to set), and
    // leave if it is already gone.
    // SAFETY: prctl and getppid take no pointers.
    let parent_ok = unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) == 0
            && harness.and_then(|h| h.parse::<libc::pid_t>().ok()) == Some(libc::getppid())
    };
    if !parent_ok {
        eprintln!("perimeter sandbox init: not started by a live harness");
        return 2;
    }
    // The socket leaves standard input (which becomes /dev/null), and no
    // other descriptor the harness had open stays: only 0, 1, 2 and the
    // socket, which no process the agent starts inherits.
    // SAFETY: descriptor calls on numbers, no pointers but the path.
    let moved = unsafe {
        libc::dup3(0, CONTROL_FD, libc::O_CLOEXEC) == CONTROL_FD
            && {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                null >= 0 && libc::dup2(null, 0) == 0 && (null == 0 || libc::close(null) == 0)
            }
            && libc::syscall(libc::SYS_close_range, 3, CONTROL_FD - 1, 0) == 0
            && libc::syscall(libc::SYS_close_range, CONTROL_FD + 1, libc::c_uint::MAX, 0) == 0
    };
    if !moved {
        eprintln!("perimeter sandbox init: no control socket on standard input");
        return 2;
    }
    // SAFETY: the socket was placed at CONTROL_FD just above, and nothing
    // else in this process owns it.
    let mut ch = Channel::new(unsafe { OwnedFd::from_raw_fd(CONTROL_FD) });
    let (mut cfg, contents) =
        match ch.recv::<InitConfig>().and_then(|cfg| Ok((cfg, ch.recv_bytes()?))) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("perimeter sandbox init: no configuration on the control socket: {e}");
                return 2;
            }
        };
    match outer(&mut ch, &mut cfg, &contents) {
        Ok(code) => code,
        Err(e) => {
            let _ = ch.send(&Handshake::SetupFailed(e.to_string()), &[]);
            1
        }
    }
}

fn outer(ch: &mut Channel, cfg: &mut InitConfig, contents: &[u8]) -> io::Result<i32> {
    // SAFETY: getppid cannot fail.
    let harness = unsafe { libc::getppid() };
    sys::unshare(
        libc::CLONE_NEWUSER
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS,
    )?;
    ch.send(&Handshake::Unshared, &[])?;
    match ch.recv()? {
        Handshake::Mapped => {}
        other => return Err(io::Error::other(format!("unexpected handshake {other:?}"))),
    }
    // Open the bind sources now: inside the new mount namespace (a bind
    // from another namespace's mount is refused) and still as the harness's
    // user (the sandbox's user may not traverse their parents). Pid 1 binds
    // from the descriptors, which stay open until this process ends.
    let sources = cfg
        .binds
        .iter()
        .map(|(host, _)| {
            fs::File::open(host).map_err(|e| {
                io::Error::new(e.kind(), format!("opening `{}` to bind it: {e}", host.display()))
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    for ((host, _), f) in cfg.binds.iter_mut().zip(&sources) {
        *host = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
    }
    if cfg.switch_user {
        // SAFETY: plain credential calls; 0 is mapped by the harness.
        unsafe {
            check(libc::setgroups(0, std::ptr::null()).into(), || "setgroups".into())?;
            check(libc::setresgid(0, 0, 0).into(), || "setresgid".into())?;
            check(libc::setresuid(0, 0, 0).into(), || "setresuid".into())?;
        }
        // Changing credentials cleared the parent-death signal: set it again,
        // and leave if the harness died in between.
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong)?;
        // SAFETY: getppid cannot fail.
        if unsafe { libc::getppid() } != harness {
            return Ok(1);
        }
    }
    // Pid 1 waits on `go` until the outer process has told the harness its
    // host pid, so the two never write to the control socket at once.
    let (go_r, go_w) = pipe()?;
    // SAFETY: this process is single-threaded (fresh exec, no threads
    // started), so the child may run arbitrary code.
    let pid = check(unsafe { libc::fork() }.into(), || "fork".into())? as libc::pid_t;
    if pid == 0 {
        drop(go_w);
        let mut byte = [0u8];
        let code = match fs::File::from(go_r).read_exact(&mut byte) {
            Ok(()) => pid1(ch, cfg, contents),
            Err(_) => 1,
        };
        // SAFETY: leave without running the outer process's destructors.
        unsafe { libc::_exit(code) };
    }
    drop(go_r);
    ch.send(&Handshake::Forked(pid), &[])?;
    std::io::Write::write_all(&mut fs::File::from(go_w), b"g")?;
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

fn pid1(ch: &mut Channel, cfg: &InitConfig, contents: &[u8]) -> i32 {
    if sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong).is_err() {
        return 1;
    }
    // Files and directories the harness and the agent create get the usual
    // modes, whatever the harness's own umask: the change set compares
    // modes against the starting home's.
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o022) };
    // What `ps` inside the sandbox shows for pid 1.
    let _ = sys::prctl(libc::PR_SET_NAME, c"sandbox-init".as_ptr() as libc::c_ulong);
    let Built { seccomp, lower, upper, listeners } = match build(cfg, contents) {
        Ok(v) => v,
        Err(e) => {
            let _ = ch.send(&Handshake::SetupFailed(e.to_string()), &[]);
            return 1;
        }
    };
    let mut fds = vec![seccomp.as_raw_fd(), lower.as_raw_fd(), upper.as_raw_fd()];
    fds.extend(listeners.iter().map(AsRawFd::as_raw_fd));
    // The listener's own filter would hold an ordinary `sendmsg` for a
    // supervisor that has no listener yet: this one message goes with the
    // handoff's flags, which are refused to everyone from then on.
    if ch.send_handoff(&Handshake::Ready, &fds).is_err() {
        return 1;
    }
    if let Err(e) = confine::seal_handoff() {
        eprintln!("sandbox-init: {e}");
        return 1;
    }
    // The harness holds them now; pid 1 keeps no listening socket.
    drop((seccomp, listeners));
    Server { lower, upper, walker: Upper::default() }.serve(ch);
    0
}

/// What building the sandbox hands back.
struct Built {
    /// The seccomp filter's notification listener.
    seccomp: OwnedFd,
    /// The overlay's lower directory: the home as it started.
    lower: OwnedFd,
    /// The overlay's upper directory: the change set.
    upper: OwnedFd,
    /// Listening sockets on the sandbox's loopback, for the harness to serve.
    listeners: Vec<std::net::TcpListener>,
}

/// Builds the sandbox around this process and confines it.
fn build(cfg: &InitConfig, contents: &[u8]) -> io::Result<Built> {
    let root = &cfg.root;
    let disk = format!("size={}", cfg.limits.disk_bytes);
    // The stage holds the home's fresh copy too, beside the agent's changes.
    let stage_size = format!("size={}", cfg.limits.disk_bytes + contents.len() as u64);
    mount(None, Path::new("/"), None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    let nosuid_nodev = libc::MS_NOSUID | libc::MS_NODEV;
    mount(Some(Path::new("tmpfs")), root, Some("tmpfs"), nosuid_nodev, Some("mode=0755,size=16m"))?;
    mount(
        Some(Path::new("tmpfs")),
        &cfg.stage,
        Some("tmpfs"),
        nosuid_nodev,
        Some(&format!("mode=0700,{stage_size}")),
    )?;

    for name in ["bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "opt"] {
        let host = Path::new("/").join(name);
        let Ok(meta) = fs::symlink_metadata(&host) else {
            continue;
        };
        let inside = root.join(name);
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&host)?, &inside)?;
        } else if meta.is_dir() {
            fs::create_dir(&inside)?;
            bind_read_only(&host, &inside)?;
        }
    }

    for (host, inside) in &cfg.binds {
        let target = root.join(inside.strip_prefix("/").unwrap_or(inside));
        fs::create_dir_all(&target).map_err(|e| {
            io::Error::new(e.kind(), format!("mount point {}: {e}", inside.display()))
        })?;
        bind_read_only(host, &target)?;
    }

    let home = root.join(HOME.trim_start_matches('/'));
    fs::create_dir_all(&home)?;
    let lower = cfg.stage.join("lower");
    write_home(&lower, &cfg.home_files, contents)?;
    let (upper, work) = (cfg.stage.join("upper"), cfg.stage.join("work"));
    fs::create_dir(&upper)?;
    fs::create_dir(&work)?;
    let overlay = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        lower.display(),
        upper.display(),
        work.display()
    );
    mount(Some(Path::new("overlay")), &home, Some("overlay"), nosuid_nodev, Some(&overlay))?;
    let upper_fd = fs::File::open(&upper)?.into();
    let lower_fd = fs::File::open(&lower)?.into();

    let tmp = root.join("tmp");
    fs::create_dir(&tmp)?;
    mount(
        Some(Path::new("tmpfs")),
        &tmp,
        Some("tmpfs"),
        nosuid_nodev,
        Some(&format!("mode=1777,{disk}")),
    )?;

    let dev = root.join("dev");
    fs::create_dir(&dev)?;
    mount(
        Some(Path::new("tmpfs")),
        &dev,
        Some("tmpfs"),
        libc::MS_NOSUID,
        Some("mode=0755,size=1m"),
    )?;
    for node in ["null", "zero", "full", "random", "urandom", "tty"] {
        let host = Path::new("/dev").join(node);
        if host.exists() {
            fs::File::create(dev.join(node))?;
            mount(Some(&host), &dev.join(node), None, libc::MS_BIND, None)?;
        }
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))?;
    }
    fs::create_dir(dev.join("shm"))?;
    mount(
        Some(Path::new("tmpfs")),
        &dev.join("shm"),
        Some("tmpfs"),
        nosuid_nodev,
        Some("mode=1777,size=64m"),
    )?;

    let proc = root.join("proc");
    fs::create_dir(&proc)?;
    mount(Some(Path::new("proc")), &proc, Some("proc"), nosuid_nodev | libc::MS_NOEXEC, None)?;

    fs::set_permissions(root, fs::Permissions::from_mode(0o755))?;
    sys::pivot_root(root)?;
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | nosuid_nodev,
        None,
    )?;

    let hostname = b"perimeter";
    // SAFETY: a pointer and length into a live byte string.
    check(unsafe { libc::sethostname(hostname.as_ptr().cast(), hostname.len()) }.into(), || {
        "sethostname".into()
    })?;
    sys::loopback_up()?;
    let listeners = cfg
        .listeners
        .iter()
        .map(|port| {
            std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, *port)).map_err(|e| {
                io::Error::new(e.kind(), format!("listening on 127.0.0.1:{port}: {e}"))
            })
        })
        .collect::<io::Result<Vec<_>>>()?;

    let l = &cfg.limits;
    sys::set_rlimit(libc::RLIMIT_NPROC, l.processes)?;
    sys::set_rlimit(libc::RLIMIT_DATA, l.memory_bytes)?;
    sys::set_rlimit(libc::RLIMIT_AS, crate::ADDRESS_SPACE.max(l.memory_bytes))?;
    sys::set_rlimit(libc::RLIMIT_FSIZE, l.file_size_bytes)?;
    sys::set_rlimit(libc::RLIMIT_NOFILE, l.open_files)?;
    sys::set_rlimit(libc::RLIMIT_CORE, 0)?;

    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1)?;
    let dev_files: Vec<PathBuf> =
        ["null", "zero", "full", "tty"].iter().map(|n| Path::new("/dev").join(n)).collect();
    let dev_files: Vec<&Path> = dev_files.iter().map(PathBuf::as_path).collect();
    confine::restrict_writes(
        &[Path::new(HOME), Path::new("/tmp"), Path::new("/dev/shm")],
        &dev_files,
    )?;
    let listener = confine::install_filter()?;
    Ok(Built { seccomp: listener, lower: lower_fd, upper: upper_fd, listeners })
}

/// Writes the home's files (contents concatenated in `contents`, in order).
fn write_home(dir: &Path, files: &[WireFile], contents: &[u8]) -> io::Result<()> {
    fs::create_dir(dir)?;
    let mut at = 0;
    for f in files {
        let rel = Path::new(&f.path);
        if rel.is_absolute()
            || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(io::Error::other(format!(
                "home file `{}` is not a plain relative path",
                f.path
            )));
        }
        let size = f.size as usize;
        let bytes = contents
            .get(at..at + size)
            .ok_or_else(|| io::Error::other("home file contents cut short"))?;
        at += size;
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mode = if f.executable { 0o755 } else { 0o644 };
        std::io::Write::write_all(
            &mut fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&path)?,
            bytes,
        )?;
    }
    Ok(())
}

fn bind_read_only(src: &Path, dst: &Path) -> io::Result<()> {
    mount(Some(src), dst, None, libc::MS_BIND | libc::MS_REC, None)?;
    let keep = sys::locked_mount_flags(src)?;
    mount(None, dst, None, libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | keep, None)
}

struct Server {
    /// The overlay's lower directory: the home as it started.
    lower: OwnedFd,
    /// The overlay's upper directory.
    upper: OwnedFd,
    walker: Upper,
}

impl Server {
    fn serve(mut self, ch: &mut Channel) {
        while let Ok(req) = ch.recv::<Request>() {
            let reply = match req {
                Request::Exec(r) => match exec(&r) {
                    Ok(out) => Reply::Exec(out),
                    Err(e) => Reply::Failed(e.to_string()),
                },
                Request::WriteFile { path, content } => match write_file(&path, &content) {
                    Ok(()) => Reply::Done,
                    Err(e) => Reply::Failed(format!("write {path}: {e}")),
                },
                Request::ReadFiles { dir, suffix, max_bytes } => {
                    if send_files(ch, read_files(Path::new(&dir), &suffix, max_bytes)).is_err() {
                        return;
                    }
                    continue;
                }
                Request::ReadPaths { paths, max_bytes } => {
                    if send_files(ch, read_paths(&paths, max_bytes)).is_err() {
                        return;
                    }
                    continue;
                }
                Request::Processes => {
                    reap();
                    Reply::Processes(processes())
                }
                Request::KillAll => {
                    kill_all();
                    Reply::Done
                }
                Request::Changes => Reply::Changes(self.changes()),
                Request::Restore { paths, keep, files, fresh } => {
                    let Ok(contents) = ch.recv_bytes() else { return };
                    match self.restore(&paths, &keep, &files, &contents, &fresh) {
                        Ok(errors) => Reply::Restored(errors),
                        Err(e) => Reply::Failed(format!("opening the home: {e}")),
                    }
                }
                Request::Shutdown => {
                    kill_all();
                    let _ = ch.send(&Reply::Done, &[]);
                    return;
                }
            };
            if ch.send(&reply, &[]).is_err() {
                return;
            }
        }
        kill_all();
    }

    /// Restores `paths` to their starting state, writes `files` (their
    /// contents concatenated in `contents`), and empties the `fresh`
    /// directories; returns what failed.
    fn restore(
        &self,
        paths: &[String],
        keep: &[String],
        files: &[RestoredFile],
        contents: &[u8],
        fresh: &[String],
    ) -> io::Result<Vec<WalkError>> {
        let home = fs::File::open(HOME)?;
        let mut errors =
            crate::restore::restore(self.lower.as_raw_fd(), home.as_raw_fd(), paths, keep);
        let mut at = 0usize;
        for f in files {
            let end = at.saturating_add(f.size as usize).min(contents.len());
            if let Err(e) =
                crate::restore::write_at(home.as_raw_fd(), &f.path, &contents[at..end], f.mode)
            {
                errors.push((f.path.clone(), e.to_string()));
            }
            at = end;
        }
        for dir in fresh {
            if let Err(e) = crate::restore::fresh_dir(dir) {
                errors.push((dir.clone(), e.to_string()));
            }
        }
        Ok(errors.into_iter().map(|(path, error)| WalkError { path, error }).collect())
    }

    fn changes(&mut self) -> UpperWalk {
        let w = self.walker.walk(self.upper.as_raw_fd());
        UpperWalk { entries: w.entries, errors: w.errors, more_errors: w.more_errors }
    }
}

fn write_file(path: &str, content: &str) -> io::Result<()> {
    let path = Path::new(HOME).join(path);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)
}

/// The regular files under `dir` whose names end with `suffix`, sorted by
/// path, with their content when it could be read. Whatever the agent left
/// there cannot stall the harness: symlinks are not followed, a FIFO or
/// device is skipped without being opened, and a file over `max_bytes` is
/// skipped.
fn read_files(dir: &Path, suffix: &str, max_bytes: u64) -> Vec<(FileRead, Option<Vec<u8>>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push((path, kind));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(path, kind)| {
            let shown = path.to_string_lossy().into_owned();
            let content = if kind.is_file() {
                read_regular(&path, max_bytes)
            } else {
                Err("not a regular file".to_owned())
            };
            match content {
                Ok(bytes) => (FileRead { path: shown, skipped: None }, Some(bytes)),
                Err(why) => (FileRead { path: shown, skipped: Some(why) }, None),
            }
        })
        .collect()
}

/// Answers a request for files: their list, then each content read as one
/// raw frame.
fn send_files(ch: &mut Channel, files: Vec<(FileRead, Option<Vec<u8>>)>) -> io::Result<()> {
    let list = files.iter().map(|(f, _)| f.clone()).collect();
    ch.send(&Reply::Files(list), &[])?;
    for content in files.into_iter().filter_map(|(_, c)| c) {
        ch.send_bytes(&content)?;
    }
    Ok(())
}

/// The home's files at `paths`, each read as [`read_regular`] does; a path
/// through a symlink is refused.
fn read_paths(paths: &[String], max_bytes: u64) -> Vec<(FileRead, Option<Vec<u8>>)> {
    let home = fs::File::open(HOME);
    paths
        .iter()
        .map(|p| {
            let content = home
                .as_ref()
                .map_err(|e| e.to_string())
                .and_then(|h| {
                    sys::open_beneath(h.as_raw_fd(), p, libc::O_RDONLY | libc::O_NONBLOCK)
                        .map_err(|e| e.to_string())
                })
                .and_then(|f| read_open(fs::File::from(f), max_bytes));
            match content {
                Ok(bytes) => (FileRead { path: p.clone(), skipped: None }, Some(bytes)),
                Err(why) => (FileRead { path: p.clone(), skipped: Some(why) }, None),
            }
        })
        .collect()
}

fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    read_open(file, max_bytes)
}

/// The bytes of an open regular file of at most `max_bytes`.
fn read_open(file: fs::File, max_bytes: u64) -> Result<Vec<u8>, String> {
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > max_bytes {
        return Err(format!("{} bytes, over the limit of {max_bytes}", meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::take(&file, max_bytes + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("grew over the limit of {max_bytes} bytes while read"));
    }
    Ok(bytes)
}

/// Reaps every exited child without blocking.
fn reap() {
    let mut status = 0;
    // SAFETY: non-blocking wait on any child.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
}

fn kill_all() {
    // SAFETY: as pid 1, kill(-1) signals every other process in the namespace.
    unsafe { libc::kill(-1, libc::SIGKILL) };
    let mut status = 0;
    // SAFETY: blocking wait until no children remain.
    while unsafe { libc::waitpid(-1, &mut status, 0) } > 0 {}
}

/// The processes alive in the sandbox besides init, each with its argv.
///
/// A process on its way out is not a survivor: one whose exit is under
/// way (a zombie, or already dead) is left out, and when any process is
/// listed at all the listing is taken again after a moment, and that one
/// counts. Otherwise a command's last child, still exiting on a loaded
/// machine when the agent reports done, would be labelled as compute left
/// running. The second listing is whole, not what the two share: a loop
/// that keeps replacing itself with a new process (a new pid each time)
/// is still there. A process that runs with an empty argv (which its
/// parent can ask for) is named by its `comm`, so it cannot hide.
fn processes() -> Vec<ProcessInfo> {
    if living().is_empty() {
        return Vec::new();
    }
    std::thread::sleep(Duration::from_millis(SETTLE_MS));
    reap();
    living()
}

/// How long a listed process has to finish exiting before it counts as a
/// survivor.
const SETTLE_MS: u64 = 200;

fn living() -> Vec<ProcessInfo> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == 1 {
            continue;
        }
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state …`: comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let state = stat[close + 1..].trim_start().chars().next().unwrap_or('?');
        if matches!(state, 'Z' | 'X' | 'x') {
            continue;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let mut argv = split_nul(&cmdline);
        if argv.is_empty() {
            argv.push(format!("[{}]", &stat[open + 1..close]));
        }
        out.push(ProcessInfo { pid, argv });
    }
    out.sort_by_key(|p| p.pid);
    out
}

pub(crate) fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }.into(), || "pipe".into())?;
    // SAFETY: fresh descriptors owned here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Runs one command to completion or timeout, capturing its output.
fn exec(req: &ExecRequest) -> io::Result<ExecOutput> {
    let child = spawn(req)?;
    let pid = child.pid;
    let timeout = Duration::from_millis(req.timeout_ms);
    let (status, [stdout, stderr], truncated) =
        pump(child, req.stdin.as_deref().map(str::as_bytes), timeout)?;
    reap();
    Ok(ExecOutput {
        pid,
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        truncated,
    })
}

/// A started command and our ends of its standard streams.
struct Child {
    pid: libc::pid_t,
    stdin: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
}

/// Forks and execs the command in its own process group.
fn spawn(req: &ExecRequest) -> io::Result<Child> {
    if req.argv.is_empty() {
        return Err(io::Error::other("empty argv"));
    }
    // Everything the child needs is allocated before the fork.
    let argv: Vec<CString> = req.argv.iter().map(cstr).collect::<io::Result<_>>()?;
    let env: Vec<CString> =
        req.env.iter().map(|(k, v)| cstr(format!("{k}={v}"))).collect::<io::Result<_>>()?;
    let cwd = cstr(&req.cwd)?;
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    env_p.push(std::ptr::null());
    let narrower = match &req.writable {
        Some(dirs) => {
            let dirs: Vec<&Path> = dirs.iter().map(Path::new).collect();
            let null = [Path::new("/dev/null")];
            Some(confine::ruleset(&dirs, &null)?)
        }
        None => None,
    };
    let narrower_fd = narrower.as_ref().map(AsRawFd::as_raw_fd);
    let req_nice = libc::c_int::from(req.nice.min(19));
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // SAFETY: init is single-threaded; the child only makes system calls
    // before exec.
    let pid = check(unsafe { libc::fork() }.into(), || "fork".into())? as libc::pid_t;
    if pid == 0 {
        // SAFETY: async-signal-safe calls on descriptors this child owns.
        unsafe {
            libc::setpgid(0, 0);
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::dup2(in_r.as_raw_fd(), 0);
            libc::dup2(out_w.as_raw_fd(), 1);
            libc::dup2(err_w.as_raw_fd(), 2);
            if req_nice > 0 {
                libc::setpriority(libc::PRIO_PROCESS, 0, req_nice);
            }
            let confined = narrower_fd
                .is_none_or(|fd| libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) == 0);
            if confined && libc::chdir(cwd.as_ptr()) == 0 {
                libc::execvpe(argv_p[0], argv_p.as_ptr(), env_p.as_ptr());
            }
            let msg = b"perimeter sandbox: cannot start the command\n";
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(127);
        }
    }
    Ok(Child { pid, stdin: in_w, stdout: out_r, stderr: err_r })
}

/// How long output is still read after the command exits, for background
/// processes that hold its pipes open.
const DRAIN: Duration = Duration::from_millis(100);

/// Feeds stdin and collects stdout and stderr until the command exits (then
/// drains what is ready, for at most [`DRAIN`]) or `timeout` passes (then
/// kills its process group). Returns the status, the two outputs and
/// whether output was dropped beyond [`OUTPUT_LIMIT`].
fn pump(
    child: Child,
    input: Option<&[u8]>,
    timeout: Duration,
) -> io::Result<(ExitStatus, [Vec<u8>; 2], bool)> {
    let pid = child.pid;
    let pidfd = sys::pidfd_open(pid)?;
    let mut stdin = input.map(|data| (child.stdin, data)); // dropping it closes the pipe
    let mut streams = [Some(child.stdout), Some(child.stderr)];
    let mut out = [Vec::new(), Vec::new()];
    let mut truncated = false;
    let deadline = Instant::now() + timeout;
    let mut status = None;
    let mut drain_until = None;
    loop {
        let mut fds =
            vec![libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        for s in streams.iter().flatten() {
            fds.push(libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        if let Some((w, _)) = &stdin {
            fds.push(libc::pollfd { fd: w.as_raw_fd(), events: libc::POLLOUT, revents: 0 });
        }
        let wait = match drain_until {
            Some(until) if Instant::now() >= until => break,
            Some(_) => Duration::ZERO,
            None => deadline.saturating_duration_since(Instant::now()),
        };
        // SAFETY: fds is a live array of pollfd.
        let n = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                wait.as_millis().min(i32::MAX as u128) as i32,
            )
        };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n == 0 {
            if status.is_some() {
                break; // the command is gone and nothing more is ready
            }
            // SAFETY: killing the command's own process group, then it.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            wait_for(pid);
            status = Some(ExitStatus::TimedOut);
            drain_until = Some(Instant::now() + DRAIN);
            continue;
        }
        for p in fds[1..].iter().filter(|p| p.revents != 0) {
            if let Some((w, data)) = &mut stdin
                && p.fd == w.as_raw_fd()
            {
                // SAFETY: writing from a live slice.
                let k = unsafe { libc::write(p.fd, data.as_ptr().cast(), data.len()) };
                *data = &data[k.max(0) as usize..];
                if k <= 0 || data.is_empty() {
                    stdin = None;
                }
                continue;
            }
            let idx = usize::from(streams[1].as_ref().is_some_and(|f| f.as_raw_fd() == p.fd));
            let mut chunk = [0u8; 16 * 1024];
            // SAFETY: reading into a live buffer.
            let k = unsafe { libc::read(p.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if k <= 0 {
                streams[idx] = None;
                continue;
            }
            let room = OUTPUT_LIMIT.saturating_sub(out[idx].len());
            truncated |= k as usize > room;
            out[idx].extend_from_slice(&chunk[..(k as usize).min(room)]);
        }
        if status.is_none() && fds[0].revents != 0 {
            status = Some(wait_for(pid));
            drain_until = Some(Instant::now() + DRAIN);
            stdin = None;
        }
        if status.is_some() && streams.iter().all(Option::is_none) {
            break;
        }
    }
    Ok((status.unwrap_or(ExitStatus::TimedOut), out, truncated))
}

fn wait_for(pid: libc::pid_t) -> ExitStatus {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
    if libc::WIFSIGNALED(status) {
        ExitStatus::Signaled(libc::WTERMSIG(status))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(status))
    }
}
