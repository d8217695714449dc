//! The harness's handle on a running sandbox.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::audit::{self, HoneypotWatch};
use crate::cgroup::MemoryCgroup;
use crate::protocol::{
    Channel, Handshake, InitConfig, Reply, Request, RestoredFile, UpperEntry, UpperKind, WireFile,
};
use crate::sys::check;
use crate::upper::digest;
use crate::{
    Audit, ChangeSet, ExecOutput, ExecRequest, FileChange, FileContent, FileType, HOME, HomeFile,
    INIT_ARG, Limits, PathState, ProcessInfo, Program,
};

/// When the harness runs as root, sandbox `n` runs as this host uid plus
/// its slot: an unprivileged user of its own, so process limits apply and
/// host files are protected by ordinary permissions too.
pub const SANDBOX_UID_BASE: u32 = 2_000_000;

/// What to build.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// A program whose `main` calls [`crate::run_init`] when given
    /// [`INIT_ARG`]: normally the `perimeter` binary itself.
    pub init_program: PathBuf,
    /// A directory private to this episode, traversable by the sandbox's
    /// user. The sandbox makes two empty mount points here and removes them
    /// at the end; nothing else touches the host's disk.
    pub scratch: PathBuf,
    /// The home directory's files. Init writes a fresh copy of them into the
    /// sandbox's own tmpfs (the overlay's lower layer), mounted at [`HOME`].
    pub home: Vec<HomeFile>,
    /// Paths relative to the home directory whose opens are recorded.
    pub honeypots: Vec<String>,
    /// Host directories to bind read-only inside, each at an absolute path
    /// that is not below a system directory (e.g. `/srv/agent-clients`).
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// Programs whose execs are recognised by content (see [`Program`]).
    pub programs: Vec<Program>,
    /// TCP ports on the sandbox's loopback that the harness serves (a model
    /// gateway, an egress sink): the sandbox listens on 127.0.0.1 at each and
    /// hands the sockets over, see [`Session::take_listeners`]. The sandbox
    /// has no other way out.
    pub listeners: Vec<u16>,
    pub limits: Limits,
    /// Distinguishes concurrent sandboxes (their host user when root).
    pub slot: u32,
}

#[derive(Debug)]
pub enum Error {
    /// The sandbox could not be built.
    Setup(String),
    /// Talking to the sandbox failed: it died or was killed.
    Channel(io::Error),
    /// The sandbox refused or failed a request.
    Request(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(e) => write!(f, "could not build the sandbox: {e}"),
            Error::Channel(e) => write!(f, "lost contact with the sandbox: {e}"),
            Error::Request(e) => write!(f, "sandbox request failed: {e}"),
        }
    }
}

impl std::error::Error for Error {}

fn setup(what: &str) -> impl FnOnce(io::Error) -> Error + '_ {
    move |e| Error::Setup(format!("{what}: {e}"))
}

/// A running sandbox. Dropping it kills everything inside.
pub struct Session {
    init: Child,
    ch: Channel,
    audit: Receiver<(Instant, Audit)>,
    supervisor: Option<JoinHandle<()>>,
    honeypots: Option<HoneypotWatch>,
    /// Every file and directory of the home as it started.
    lower: BTreeMap<String, PathState>,
    scratch: PathBuf,
    listeners: Vec<(u16, std::net::TcpListener)>,
    /// The memory cgroup holding every process of the sandbox, when one
    /// could be made; removed once they are gone.
    cgroup: Option<MemoryCgroup>,
    /// The overlay's upper directory.
    upper: Option<OwnedFd>,
    /// How many records the supervisor holds back, and counts.
    backlog: Arc<audit::Backlog>,
    /// Honeypot paths, relative to the home.
    honeypot_paths: Vec<String>,
}

/// The namespace-and-audit sandbox.
pub struct Sandbox;

impl Sandbox {
    /// Builds a sandbox and returns once it is ready to run commands.
    pub fn start(spec: &SandboxSpec) -> Result<Session, Error> {
        // SAFETY: geteuid cannot fail.
        let euid = unsafe { libc::geteuid() };
        // SAFETY: as above.
        let egid = unsafe { libc::getegid() };
        let as_root = euid == 0;
        let (host_uid, host_gid) = if as_root {
            (SANDBOX_UID_BASE + spec.slot, SANDBOX_UID_BASE + spec.slot)
        } else {
            (euid, egid)
        };
        let root = spec.scratch.join("root");
        let stage = spec.scratch.join("stage");
        for dir in [&root, &stage] {
            fs::create_dir_all(dir).map_err(setup("creating the scratch directory"))?;
        }
        let (ours, theirs) = socketpair().map_err(setup("socketpair"))?;
        // The one process the harness starts: the sandbox's init, its
        // control socket as its standard input. No code runs between fork
        // and exec, so the standard library spawns it without copying the
        // harness's memory (posix_spawn, a vfork): with hundreds of
        // episodes at once, forking the whole harness for each sandbox was
        // most of what the harness spent. The init moves the socket away
        // from 0, closes whatever else it inherited and sets its own
        // parent-death signal (`init::run_init`).
        #[allow(clippy::disallowed_methods)]
        let mut cmd = Command::new(&spec.init_program);
        cmd.arg(INIT_ARG)
            .arg(std::process::id().to_string())
            .env_clear()
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let init = cmd.spawn().map_err(|e| {
            Error::Setup(format!("starting `{}`: {e}", spec.init_program.display()))
        })?;
        // Before init has read its configuration, so that everything it
        // starts is inside the group.
        let cgroup = as_root
            .then(|| {
                let name = format!("{}-{}", std::process::id(), spec.slot);
                MemoryCgroup::create(&name, spec.limits.memory_bytes)
            })
            .flatten();
        if let Some(group) = &cgroup {
            group.add(init.id()).map_err(setup("joining the memory cgroup"))?;
        }
        let (tx, rx) = mpsc::channel();
        let mut session = Session {
            init,
            ch: Channel::new(ours),
            audit: rx,
            supervisor: None,
            honeypots: None,
            lower: lower_states(&spec.home),
            scratch: spec.scratch.clone(),
            listeners: Vec::new(),
            cgroup,
            upper: None,
            backlog: Arc::default(),
            honeypot_paths: spec.honeypots.clone(),
        };
        let home_files = spec
            .home
            .iter()
            .map(|f| WireFile {
                path: f.path.clone(),
                executable: f.executable,
                size: f.content.len() as u64,
            })
            .collect();
        let config = InitConfig {
            home_files,
            root,
            stage,
            home: HOME.into(),
            binds: spec.binds.clone(),
            listeners: spec.listeners.clone(),
            limits: spec.limits.clone(),
            switch_user: as_root,
        };
        let contents: Vec<u8> = spec.home.iter().flat_map(|f| f.content.iter().copied()).collect();
        session.ch.send(&config, &[]).map_err(setup("sending the configuration"))?;
        session.ch.send_bytes(&contents).map_err(setup("sending the home directory"))?;
        session.expect(|h| matches!(h, Handshake::Unshared))?;
        write_id_maps(session.init.id(), host_uid, host_gid, as_root)
            .map_err(setup("writing the user namespace's id maps"))?;
        session.ch.send(&Handshake::Mapped, &[]).map_err(setup("handshake"))?;
        let pid1 = match session.handshake()? {
            Handshake::Forked(pid) => pid,
            other => return Err(Error::Setup(format!("unexpected handshake {other:?}"))),
        };
        session.expect(|h| matches!(h, Handshake::Ready))?;
        let mut fds = session.ch.take_fds().into_iter();
        let mut next = |what: &str| {
            fds.next().ok_or_else(|| Error::Setup(format!("the {what} did not arrive")))
        };
        let listener = next("seccomp listener")?;
        let lower = next("lower layer")?;
        let upper = next("upper layer")?;
        session.listeners =
            spec.listeners.iter().copied().zip(fds.map(std::net::TcpListener::from)).collect();
        if session.listeners.len() != spec.listeners.len() {
            return Err(Error::Setup("the loopback listeners did not arrive".into()));
        }
        let watch = audit::WatchSetup {
            lower: &lower,
            honeypots: &spec.honeypots,
            programs: spec
                .programs
                .iter()
                .filter_map(|p| p.home_path.clone().map(|h| (p.name.clone(), h)))
                .collect(),
            exact: as_root,
            init_pid: pid1,
        };
        let watch =
            audit::watch_honeypots(watch, tx.clone()).map_err(setup("watching the honeypots"))?;
        let inotify = watch.reader.clone();
        session.honeypots = Some(watch);
        let (programs, backlog) = (spec.programs.clone(), session.backlog.clone());
        session.supervisor = Some(std::thread::spawn(move || {
            audit::supervise(listener, tx, programs, backlog, inotify)
        }));
        session.upper = Some(upper);
        Ok(session)
    }
}

impl Session {
    fn handshake(&mut self) -> Result<Handshake, Error> {
        match self.ch.recv() {
            Ok(Handshake::SetupFailed(e)) => Err(Error::Setup(e)),
            Ok(h) => Ok(h),
            Err(e) => Err(Error::Setup(format!("the sandbox init exited during setup ({e})"))),
        }
    }

    fn expect(&mut self, want: impl Fn(&Handshake) -> bool) -> Result<(), Error> {
        match self.handshake()? {
            h if want(&h) => Ok(()),
            other => Err(Error::Setup(format!("unexpected handshake {other:?}"))),
        }
    }

    fn request(&mut self, req: &Request) -> Result<Reply, Error> {
        self.ch.send(req, &[]).map_err(Error::Channel)?;
        match self.ch.recv().map_err(Error::Channel)? {
            Reply::Failed(e) => Err(Error::Request(e)),
            reply => Ok(reply),
        }
    }

    /// Whether a memory cgroup bounds the whole sandbox (see
    /// [`crate::Limits::memory_bytes`]).
    pub fn memory_cgroup(&self) -> bool {
        self.cgroup.is_some()
    }

    /// The listening sockets for [`SandboxSpec::listeners`], by port. A
    /// connection a sandboxed process makes to `127.0.0.1:<port>` is accepted
    /// here, outside the sandbox.
    pub fn take_listeners(&mut self) -> Vec<(u16, std::net::TcpListener)> {
        std::mem::take(&mut self.listeners)
    }

    /// Runs a command to completion or its timeout.
    pub fn exec(&mut self, req: &ExecRequest) -> Result<ExecOutput, Error> {
        match self.request(&Request::Exec(req.clone()))? {
            Reply::Exec(out) => Ok(out),
            other => Err(Error::Request(format!("unexpected reply {other:?}"))),
        }
    }

    /// Writes a file as a process inside the sandbox would: relative paths
    /// are under the home directory, and the sandbox's write restrictions
    /// apply.
    pub fn write_file(&mut self, path: &str, content: &str) -> Result<(), Error> {
        self.request(&Request::WriteFile { path: path.into(), content: content.into() }).map(drop)
    }

    /// Reads the regular files under `dir` inside the sandbox whose names
    /// end with `suffix`, sorted by path, without running anything there:
    /// no exec record, nothing the agent could intercept. Symlinks are not
    /// followed; FIFOs, devices and files over `max_bytes` come back as
    /// errors naming why.
    pub fn read_files(
        &mut self,
        dir: &str,
        suffix: &str,
        max_bytes: u64,
    ) -> Result<Vec<FileContent>, Error> {
        let req = Request::ReadFiles { dir: dir.into(), suffix: suffix.into(), max_bytes };
        self.files_reply(&req)
    }

    /// Sends a request answered with a list of files, then reads the content
    /// of each that was read.
    fn files_reply(&mut self, req: &Request) -> Result<Vec<FileContent>, Error> {
        let list = match self.request(req)? {
            Reply::Files(list) => list,
            other => return Err(Error::Request(format!("unexpected reply {other:?}"))),
        };
        let mut out = Vec::new();
        for f in list {
            let content = match f.skipped {
                Some(why) => Err(why),
                None => Ok(self.ch.recv_bytes().map_err(Error::Channel)?),
            };
            out.push(FileContent { path: f.path, content });
        }
        Ok(out)
    }

    /// The home's regular files at `paths` (relative to it), read without
    /// running anything in the sandbox and without following a symlink;
    /// one over `max_bytes`, or anything but a regular file, comes back as
    /// an error naming why.
    pub fn read_paths(
        &mut self,
        paths: &[String],
        max_bytes: u64,
    ) -> Result<Vec<FileContent>, Error> {
        let req = Request::ReadPaths { paths: paths.to_vec(), max_bytes };
        self.files_reply(&req)
    }

    /// Every process alive inside the sandbox, except its init.
    pub fn processes(&mut self) -> Result<Vec<ProcessInfo>, Error> {
        match self.request(&Request::Processes)? {
            Reply::Processes(p) => Ok(p),
            other => Err(Error::Request(format!("unexpected reply {other:?}"))),
        }
    }

    /// Kills every process inside the sandbox except its init.
    pub fn kill_all(&mut self) -> Result<(), Error> {
        self.request(&Request::KillAll).map(drop)
    }

    /// The ground-truth records gathered since the last call, in order.
    pub fn audit(&mut self) -> Vec<Audit> {
        self.audit_timed().into_iter().map(|(_, a)| a).collect()
    }

    /// As [`Session::audit`], each record with when the harness received
    /// it, to interleave it with what other sources saw.
    pub fn audit_timed(&mut self) -> Vec<(Instant, Audit)> {
        if let Some(fd) = self.honeypots.as_ref().and_then(|h| h.inotify_fd) {
            // inotify is asynchronous: let its reader catch up first.
            for _ in 0..100 {
                if audit::pending_bytes(fd) == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let mut out: Vec<(Instant, Audit)> = self.audit.try_iter().collect();
        self.backlog.pending.store(0, std::sync::atomic::Ordering::Relaxed);
        let kinds = ["process_exec", "process_exit", "network_attempt"];
        for (of, dropped) in kinds.into_iter().zip(&self.backlog.dropped) {
            let dropped = dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
            if dropped > 0 {
                out.push((Instant::now(), Audit::Overflow { of, dropped }));
            }
        }
        out
    }

    /// Watches files the harness's setup made (paths relative to the home)
    /// as honeypots from now on: a git object holding an answer, say.
    /// Call before the agent starts; paths the setup did not make are
    /// ignored.
    /// Which watch sees the honeypots: `fanotify`, `inotify`, or
    /// `inotify (fanotify unavailable: …)` when the kernel's limit on
    /// fanotify groups was reached.
    pub fn honeypot_watch(&self) -> &str {
        self.honeypots.as_ref().map_or("none", |w| w.kind.as_str())
    }

    pub fn watch_made_honeypots(&mut self, paths: &[String]) {
        if let (Some(watch), Some(upper)) = (&self.honeypots, &self.upper) {
            for p in paths {
                watch.watch_made(upper, p);
                if !self.honeypot_paths.contains(p) {
                    self.honeypot_paths.push(p.clone());
                }
            }
        }
    }

    /// Every path of the home directory that is not as it started (see
    /// [`FileChange`]), and what of the change set could not be read. The
    /// read never fails as a whole because of what the agent left.
    pub fn changes(&mut self) -> Result<ChangeSet, Error> {
        let walk = match self.request(&Request::Changes)? {
            Reply::Changes(c) => c,
            other => return Err(Error::Request(format!("unexpected reply {other:?}"))),
        };
        let mut links: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for e in &walk.entries {
            if let Some(ino) = e.link {
                links.entry(ino).or_default().push(e.path.clone());
            }
        }
        let links: Vec<Vec<String>> = links.into_values().filter(|g| g.len() > 1).collect();
        // A honeypot's copy in the upper layer, its other names, and files
        // with its content are the honeypot too: watched from now on, and
        // reported (other than its own path) as aliases.
        let mut aliases = Vec::new();
        if let (Some(watch), Some(upper)) = (&self.honeypots, &self.upper) {
            for h in &self.honeypot_paths {
                let original = self.lower.get(h).and_then(|s| s.content.clone());
                let linked: Vec<&String> =
                    links.iter().filter(|g| g.contains(h)).flatten().collect();
                for e in &walk.entries {
                    let UpperKind::File(content) = &e.kind else { continue };
                    let same = &e.path == h
                        || linked.contains(&&e.path)
                        || original.as_ref() == Some(content);
                    if same {
                        watch.watch_copy(upper, h, &e.path);
                        if &e.path != h {
                            aliases.push((h.clone(), e.path.clone()));
                        }
                    }
                }
            }
        }
        Ok(ChangeSet {
            changes: self.diff_against_lower(&walk.entries),
            errors: walk.errors.into_iter().map(|e| (e.path, e.error)).collect(),
            more_errors: walk.more_errors,
            links,
            aliases,
        })
    }

    /// Brings `paths` of the home (relative to it) back to how they started,
    /// inside the sandbox: files rewritten, directories remade and refilled
    /// (except `keep` paths, a trailing `/` for a directory), paths the home
    /// did not have removed; writes `files` (path, mode, content) as given;
    /// then empties (or makes) each directory of `fresh` (absolute, where
    /// the sandbox may write). Returns the paths that could not be
    /// restored. Meant for when nothing of the agent's runs any more.
    pub fn restore(
        &mut self,
        paths: &[String],
        keep: &[String],
        files: &[(String, u32, Vec<u8>)],
        fresh: &[String],
    ) -> Result<Vec<(String, String)>, Error> {
        let req = Request::Restore {
            paths: paths.to_vec(),
            keep: keep.to_vec(),
            files: files
                .iter()
                .map(|(path, mode, c)| RestoredFile {
                    path: path.clone(),
                    mode: *mode,
                    size: c.len() as u64,
                })
                .collect(),
            fresh: fresh.to_vec(),
        };
        self.ch.send(&req, &[]).map_err(Error::Channel)?;
        let contents: Vec<u8> = files.iter().flat_map(|(_, _, c)| c.iter().copied()).collect();
        self.ch.send_bytes(&contents).map_err(Error::Channel)?;
        match self.ch.recv().map_err(Error::Channel)? {
            Reply::Restored(errors) => Ok(errors.into_iter().map(|e| (e.path, e.error)).collect()),
            Reply::Failed(e) => Err(Error::Request(e)),
            other => Err(Error::Request(format!("unexpected reply {other:?}"))),
        }
    }

    /// Paths under the directory `rel` in the starting home.
    fn lower_under(&self, rel: &str) -> Vec<String> {
        let prefix = format!("{rel}/");
        self.lower
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn diff_against_lower(&self, entries: &[UpperEntry]) -> Vec<FileChange> {
        let mut after: BTreeMap<String, Option<PathState>> = BTreeMap::new();
        let mut gone = Vec::new();
        for e in entries {
            let state = |kind, content: Option<&String>| {
                Some(PathState {
                    kind,
                    content: content.cloned(),
                    mode: e.meta.mode,
                    uid: e.meta.uid,
                    gid: e.meta.gid,
                    xattrs: e.meta.xattrs.clone(),
                })
            };
            let now = match &e.kind {
                UpperKind::File(h) => state(FileType::File, Some(h)),
                UpperKind::Symlink(h) => state(FileType::Symlink, Some(h)),
                UpperKind::Special(kind) => state(*kind, None),
                UpperKind::Dir { opaque } => {
                    if *opaque {
                        gone.extend(self.lower_under(&e.path));
                    }
                    state(FileType::Dir, None)
                }
                UpperKind::Whiteout => {
                    gone.push(e.path.clone());
                    gone.extend(self.lower_under(&e.path));
                    continue;
                }
            };
            after.insert(e.path.clone(), now);
        }
        for path in gone {
            after.entry(path).or_insert(None);
        }
        let mut out = Vec::new();
        for (path, now) in after {
            let before = self.lower.get(&path).cloned();
            let dir = |s: &Option<PathState>| s.as_ref().is_some_and(|s| s.kind == FileType::Dir);
            let report = match (&before, &now) {
                // A directory is reported when one that was there changed
                // its metadata; new and removed ones show in their files
                // (creating an entry copies its directory up, unchanged).
                (Some(_), Some(_)) if dir(&before) && dir(&now) => before != now,
                (None, _) if dir(&now) => false,
                (_, None) if dir(&before) => false,
                // A file the overlay copied up is reported even unchanged:
                // it was written (or linked, renamed, touched) and restored.
                _ => true,
            };
            if report && !(before.is_none() && now.is_none()) {
                out.push(FileChange { path, before, after: now });
            }
        }
        out
    }

    /// Kills everything inside and waits for the sandbox to be gone.
    pub fn shutdown(mut self) {
        let _ = self.request(&Request::Shutdown);
        self.teardown();
    }

    fn teardown(&mut self) {
        let _ = self.init.kill();
        let _ = self.init.wait();
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
        if let Some(h) = self.honeypots.take() {
            drop(h.stop);
            let _ = h.thread.join();
        }
        drop(self.cgroup.take());
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// The starting home's files and their directories, as init writes them
/// (owned by the sandbox's root, modes 0644, 0755 and 0755).
fn lower_states(home: &[HomeFile]) -> BTreeMap<String, PathState> {
    let state =
        |kind, content, mode| PathState { kind, content, mode, uid: 0, gid: 0, xattrs: None };
    let mut out = BTreeMap::new();
    for f in home {
        let mode = if f.executable { 0o755 } else { 0o644 };
        out.insert(f.path.clone(), state(FileType::File, Some(digest(&f.content)), mode));
        let mut dir = f.path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            out.entry(parent.to_owned()).or_insert_with(|| state(FileType::Dir, None, 0o755));
            dir = parent;
        }
    }
    out
}

fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    check(
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        }
        .into(),
        || "socketpair".into(),
    )?;
    // SAFETY: fresh descriptors owned here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn write_id_maps(pid: u32, uid: u32, gid: u32, privileged: bool) -> io::Result<()> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if !privileged {
        // An unprivileged user may map only itself, and only once it has
        // given up setgroups.
        fs::write(proc.join("setgroups"), "deny")?;
    }
    fs::write(proc.join("uid_map"), format!("0 {uid} 1\n"))?;
    fs::write(proc.join("gid_map"), format!("0 {gid} 1\n"))
}
