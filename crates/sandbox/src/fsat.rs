//! File operations relative to open directories, never following a
//! symlink at the last step: what the change-set walk and the restore use,
//! so that no path the agent made can redirect them or be too long.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::sys::check;

pub(crate) fn cname(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::other("a name with a NUL byte"))
}

pub(crate) fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: duplicating a descriptor we hold.
    let d = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) }.into(), || "dup".into())?;
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(d as RawFd) })
}

/// Opens `name` in `dir` without following a symlink there.
pub(crate) fn open_at(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: name is NUL-terminated.
    let fd = check(
        unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC) }
            .into(),
        || format!("open {}", name.to_string_lossy()),
    )?;
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The state of `name` in `dir`, itself if it is a symlink.
pub(crate) fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data, filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: name is NUL-terminated; st is a live stat.
    check(
        unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }.into(),
        || format!("stat {}", name.to_string_lossy()),
    )?;
    Ok(st)
}

/// The names in an open directory, without `.` and `..`. Reads through a
/// duplicate, from the start, so `dir` stays usable for `*at` calls.
pub(crate) fn names(dir: RawFd) -> io::Result<Vec<CString>> {
    let d = dup(dir)?;
    // SAFETY: fdopendir takes ownership of the duplicate; closedir below
    // closes it.
    let stream = unsafe { libc::fdopendir(d.as_raw_fd()) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(d);
    // SAFETY: a live stream; the duplicate shares the original's offset,
    // which an earlier listing may have moved.
    unsafe { libc::rewinddir(stream) };
    let mut out = Vec::new();
    loop {
        // SAFETY: readdir on a live stream; the name is copied out before
        // the next call.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            break;
        }
        // SAFETY: d_name is NUL-terminated inside the entry.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name != c"." && name != c".." {
            out.push(name.to_owned());
        }
    }
    // SAFETY: closing the stream we opened.
    unsafe { libc::closedir(stream) };
    Ok(out)
}
