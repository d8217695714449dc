//! Thin, checked wrappers over the Linux system calls the sandbox needs.
//!
//! Everything `unsafe` in this crate lives here or in `audit.rs`, each call
//! with the reason it is sound.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub(crate) fn cstr(p: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(p.as_ref().as_bytes()).map_err(|_| io::Error::other("path contains a NUL byte"))
}

/// Turns a `-1` return into the thread's `errno`, with what was attempted.
pub(crate) fn check(ret: libc::c_long, what: impl FnOnce() -> String) -> io::Result<libc::c_long> {
    if ret == -1 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{}: {e}", what())))
    } else {
        Ok(ret)
    }
}

pub(crate) fn mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let src_c = src.map(cstr).transpose()?;
    let target_c = cstr(target)?;
    let fstype_c = fstype.map(cstr).transpose()?;
    let data_c = data.map(cstr).transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either null or a NUL-terminated string that
    // outlives the call.
    let ret = unsafe {
        libc::mount(ptr(&src_c), target_c.as_ptr(), ptr(&fstype_c), flags, ptr(&data_c).cast())
    };
    check(ret.into(), || {
        format!("mount {:?} on {}", src.or(fstype.map(Path::new)), target.display())
    })?;
    Ok(())
}

/// Mount flags of the filesystem holding `path` that a read-only remount
/// of a bind mount must keep (the kernel refuses to clear locked ones).
pub(crate) fn locked_mount_flags(path: &Path) -> io::Result<libc::c_ulong> {
    let c = cstr(path)?;
    // SAFETY: statvfs is plain data; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    check(unsafe { libc::statvfs(c.as_ptr(), &mut st) }.into(), || {
        format!("statvfs {}", path.display())
    })?;
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

pub(crate) fn pivot_root(new_root: &Path) -> io::Result<()> {
    std::env::set_current_dir(new_root)?;
    let dot = c".";
    // SAFETY: both arguments are NUL-terminated strings.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) }, || {
        "pivot_root".into()
    })?;
    // SAFETY: as above.
    check(unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) }.into(), || {
        "detach old root".into()
    })?;
    std::env::set_current_dir("/")
}

pub(crate) fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes no pointers.
    check(unsafe { libc::unshare(flags) }.into(), || "unshare".into())?;
    Ok(())
}

pub(crate) fn set_rlimit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: lim is a valid rlimit.
    check(unsafe { libc::setrlimit(resource, &lim) }.into(), || format!("setrlimit {resource}"))?;
    Ok(())
}

pub(crate) fn prctl(option: libc::c_int, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the options used here take integer arguments only.
    check(unsafe { libc::prctl(option, arg, 0, 0, 0) }.into(), || format!("prctl {option}"))?;
    Ok(())
}

/// Brings the loopback interface of the current network namespace up.
pub(crate) fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain socket call; the fd is owned below.
    let sock = check(
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }.into(),
        || "socket".into(),
    )?;
    // SAFETY: sock is a fresh fd we own.
    let sock = unsafe { OwnedFd::from_raw_fd(sock as RawFd) };
    // SAFETY: ifreq is plain data; the name fits in IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we pass.
    unsafe {
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req).into(), || {
            "get lo flags".into()
        })?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req).into(), || {
            "bring lo up".into()
        })?;
    }
    Ok(())
}

/// Opens `path` below the directory `dir` without leaving it: no `..` above
/// it, no symlinks (so nothing an agent planted can redirect the harness
/// to a file of the host), no magic links.
pub(crate) fn open_beneath(dir: RawFd, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    openat2(dir, path, flags, resolve)
}

/// Opens `path` as the process whose root is `root` would: absolute
/// symlinks and `..` resolve inside that root, never in the harness's.
pub(crate) fn open_in_root(root: RawFd, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    openat2(root, path, flags, libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS)
}

fn openat2(dir: RawFd, path: &str, flags: libc::c_int, resolve: u64) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: c is NUL-terminated and how is a live open_how of the size passed.
    let fd = check(
        unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        },
        || format!("open {path}"),
    )?;
    // SAFETY: the kernel returned a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The device and inode of an open file.
pub(crate) fn identity(fd: RawFd) -> io::Result<(u64, u64)> {
    identity_links(fd).map(|(id, _)| id)
}

/// The device and inode of an open file, and how many names it has.
pub(crate) fn identity_links(fd: RawFd) -> io::Result<((u64, u64), u64)> {
    // SAFETY: stat is plain data, filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a live stat.
    check(unsafe { libc::fstat(fd, &mut st) }.into(), || "fstat".into())?;
    Ok(((st.st_dev, st.st_ino), st.st_nlink))
}

pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: no pointers.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) }, || {
        format!("pidfd_open {pid}")
    })?;
    // SAFETY: the kernel returned a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Sends `data` and, if given, file descriptors over a unix socket.
pub(crate) fn send_with_fds(sock: RawFd, data: &[u8], fds: &[RawFd]) -> io::Result<()> {
    send_frame(sock, data, fds, libc::MSG_NOSIGNAL)
}

/// Sends `data` and `fds` with `sendmsg` and exactly `flags` (the init's
/// handoff of the seccomp listener; see `confine::HANDOFF_FLAGS`), waiting
/// for room when the flags make it nonblocking.
pub(crate) fn send_handoff(
    sock: RawFd,
    data: &[u8],
    fds: &[RawFd],
    flags: libc::c_int,
) -> io::Result<()> {
    send_frame(sock, data, fds, flags)
}

fn send_frame(sock: RawFd, data: &[u8], fds: &[RawFd], flags: libc::c_int) -> io::Result<()> {
    let space = if fds.is_empty() {
        0
    } else {
        // SAFETY: CMSG_SPACE is a pure computation.
        unsafe { libc::CMSG_SPACE(std::mem::size_of_val(fds) as u32) as usize }
    };
    let mut cbuf = vec![0u8; space];
    let mut sent = 0;
    while sent < data.len() {
        let mut iov =
            libc::iovec { iov_base: data[sent..].as_ptr() as *mut _, iov_len: data.len() - sent };
        // SAFETY: msghdr is plain data; every pointer set below outlives sendmsg.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        // The descriptors travel with the first byte only.
        if sent == 0 && !fds.is_empty() {
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = space;
            // SAFETY: the control buffer has room for one header and the fds.
            unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(&msg);
                (*cmsg).cmsg_level = libc::SOL_SOCKET;
                (*cmsg).cmsg_type = libc::SCM_RIGHTS;
                (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of_val(fds) as u32) as usize;
                std::ptr::copy_nonoverlapping(
                    fds.as_ptr(),
                    libc::CMSG_DATA(cmsg).cast(),
                    fds.len(),
                );
            }
        }
        let n = if fds.is_empty() || sent > 0 {
            // Without descriptors a plain `send` does: a `sendto` with no
            // address, which the sandbox's filter lets through unnotified.
            // SAFETY: the buffer is live for the call.
            unsafe { libc::send(sock, iov.iov_base, iov.iov_len, flags) }
        } else {
            // SAFETY: msg points at live buffers.
            unsafe { libc::sendmsg(sock, &msg, flags) }
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    let mut p = libc::pollfd { fd: sock, events: libc::POLLOUT, revents: 0 };
                    // SAFETY: polling one live descriptor.
                    unsafe { libc::poll(&mut p, 1, 1000) };
                    continue;
                }
                _ => return Err(e),
            }
        }
        sent += n as usize;
    }
    Ok(())
}

/// Receives up to `buf.len()` bytes, collecting any passed descriptors.
pub(crate) fn recv_with_fds(
    sock: RawFd,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut cbuf = [0u8; 128];
    loop {
        // SAFETY: msghdr is plain data; pointers refer to live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = cbuf.len();
        // SAFETY: as above.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: walking the control messages the kernel just wrote.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let len = (*cmsg).cmsg_len - libc::CMSG_LEN(0) as usize;
                    let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                    for i in 0..len / std::mem::size_of::<RawFd>() {
                        fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        return Ok(n as usize);
    }
}

/// Reads `len` bytes at `addr` in another process's memory, stopping early
/// at an unmapped page.
pub(crate) fn read_remote(pid: libc::pid_t, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let at = addr + done as u64;
        // Never cross a page boundary in one call: a partial read is then
        // all-or-nothing per page.
        let chunk = (4096 - (at % 4096) as usize).min(len - done);
        let local = libc::iovec { iov_base: out[done..].as_mut_ptr().cast(), iov_len: chunk };
        let remote = libc::iovec { iov_base: at as *mut _, iov_len: chunk };
        // SAFETY: local points into `out` with room for `chunk` bytes; the
        // remote side is only read by the kernel.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            if done == 0 {
                return Err(io::Error::last_os_error());
            }
            break;
        }
        done += n as usize;
    }
    out.truncate(done);
    Ok(out)
}

/// Reads a NUL-terminated string of at most `max` bytes from another process.
pub(crate) fn read_remote_cstr(pid: libc::pid_t, addr: u64, max: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < max {
        let chunk = (4096 - (at % 4096) as usize).min(max - out.len());
        let bytes = read_remote(pid, at, chunk)?;
        if let Some(end) = bytes.iter().position(|b| *b == 0) {
            out.extend_from_slice(&bytes[..end]);
            return Ok(out);
        }
        if bytes.is_empty() {
            break;
        }
        out.extend_from_slice(&bytes);
        at += bytes.len() as u64;
    }
    Ok(out)
}
