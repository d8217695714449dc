//! Putting paths of the home back as they started, inside the sandbox,
//! before the hidden checks run: the grading harness's files come from the
//! scenario, not from what the agent left.
//!
//! Every step goes through descriptors with `O_NOFOLLOW`: a directory the
//! agent replaced by a symlink is replaced back by a directory, never
//! followed. Nothing of the agent's runs meanwhile (every process of the
//! sandbox was killed before), so nothing races it.

use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::fsat::{self, cname, dup, open_at};
use crate::sys::check;

/// Brings each of `paths` (relative to the home) back to its state in the
/// starting home (`lower`): files rewritten with their content and mode,
/// directories recreated with their mode and their missing files, paths
/// the home did not have removed. Paths in `keep` (and below a `keep`
/// entry ending in `/`) are left as they are when a directory's files are
/// filled in. Returns the paths that could not be restored, with why.
pub(crate) fn restore(
    lower: RawFd,
    home: RawFd,
    paths: &[String],
    keep: &[String],
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let r = Restorer { lower, home, keep };
    for p in paths {
        if let Err(e) = r.restore(p) {
            errors.push((p.clone(), e.to_string()));
        }
    }
    // Directories the agent made and left empty go too.
    for p in paths.iter().rev() {
        let mut dir = p.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if stat_at(lower, parent).is_some() || r.kept(parent) {
                break;
            }
            if let Ok((fd, name)) = r.parent_of(parent, false) {
                // SAFETY: name is NUL-terminated; fails harmlessly when not empty.
                unsafe { libc::unlinkat(fd.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) };
            }
            dir = parent;
        }
    }
    errors
}

/// Writes `content` as the file at `path` (relative to the home open as
/// `home`) with `mode`, replacing whatever is there; directories on the
/// way that are missing or not directories are made ones.
pub(crate) fn write_at(home: RawFd, path: &str, content: &[u8], mode: u32) -> io::Result<()> {
    let r = Restorer { lower: -1, home, keep: &[] };
    let (parent, name) = r.parent_of(path, true)?;
    remove_at(parent.as_raw_fd(), &name)?;
    create(parent.as_raw_fd(), &name, content, mode, path)
}

/// Creates `name` in `dir` (where nothing may be) with `content` and
/// `mode`; `path` names it in errors.
fn create(dir: RawFd, name: &CStr, content: &[u8], mode: u32, path: &str) -> io::Result<()> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: name is NUL-terminated.
    let fd = check(unsafe { libc::openat(dir, name.as_ptr(), flags, mode) }.into(), || {
        format!("create {path}")
    })?;
    // SAFETY: a fresh fd we own.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
    file.write_all(content)?;
    // SAFETY: fchmod on our own fd (the umask narrowed the mode above).
    check(unsafe { libc::fchmod(file.as_raw_fd(), mode) }.into(), || format!("chmod {path}"))?;
    Ok(())
}

/// Makes `dir` (absolute, in a writable directory) an empty directory,
/// removing whatever was there without following a symlink.
pub(crate) fn fresh_dir(dir: &str) -> io::Result<()> {
    let (parent, name) = dir.rsplit_once('/').ok_or_else(|| io::Error::other("not absolute"))?;
    let parent = std::fs::File::open(if parent.is_empty() { "/" } else { parent })?;
    let name = cname(name)?;
    remove_at(parent.as_raw_fd(), &name)?;
    mkdir_at(parent.as_raw_fd(), &name, 0o755)
}

struct Restorer<'a> {
    lower: RawFd,
    home: RawFd,
    keep: &'a [String],
}

impl Restorer<'_> {
    fn kept(&self, path: &str) -> bool {
        self.keep.iter().any(|k| match k.strip_suffix('/') {
            Some(dir) => path == dir || path.starts_with(k.as_str()),
            None => path == k,
        })
    }

    fn restore(&self, path: &str) -> io::Result<()> {
        match stat_at(self.lower, path) {
            None => {
                let Ok((parent, name)) = self.parent_of(path, false) else {
                    return Ok(()); // its directory is gone: so is it
                };
                remove_at(parent.as_raw_fd(), &name)
            }
            Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                let (parent, name) = self.parent_of(path, true)?;
                let dir = ensure_dir(parent.as_raw_fd(), &name, st.st_mode & 0o7777)?;
                self.fill(path, &dir)
            }
            Some(st) => {
                let (parent, name) = self.parent_of(path, true)?;
                remove_at(parent.as_raw_fd(), &name)?;
                self.copy_file(path, parent.as_raw_fd(), &name, st.st_mode & 0o7777)
            }
        }
    }

    /// Recreates the starting entries of the directory at `path` (open as
    /// `dir`) that are missing, except kept ones.
    fn fill(&self, path: &str, dir: &OwnedFd) -> io::Result<()> {
        let lower_dir = open_path(self.lower, path, libc::O_RDONLY | libc::O_DIRECTORY)?;
        for name in fsat::names(lower_dir.as_raw_fd())? {
            let child = format!("{path}/{}", name.to_string_lossy());
            if self.kept(&child) || fstatat(dir.as_raw_fd(), &name).is_some() {
                continue;
            }
            let st = fstatat(lower_dir.as_raw_fd(), &name).ok_or_else(io::Error::last_os_error)?;
            if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                let sub = ensure_dir(dir.as_raw_fd(), &name, st.st_mode & 0o7777)?;
                self.fill(&child, &sub)?;
            } else {
                self.copy_file(&child, dir.as_raw_fd(), &name, st.st_mode & 0o7777)?;
            }
        }
        Ok(())
    }

    /// Writes the starting content of `path` as `name` in `dir`.
    fn copy_file(&self, path: &str, dir: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
        let mut content = Vec::new();
        std::fs::File::from(open_path(self.lower, path, libc::O_RDONLY)?)
            .read_to_end(&mut content)?;
        create(dir, name, &content, mode, path)
    }

    /// The directory holding `path` in the home, open, and the last
    /// component's name. With `fix`, each directory on the way that is
    /// missing or not a directory (the agent replaced it) is made one again.
    fn parent_of(&self, path: &str, fix: bool) -> io::Result<(OwnedFd, CString)> {
        let mut parts: Vec<&str> = path.split('/').collect();
        let last = parts.pop().unwrap_or_default();
        let mut dir = dup(self.home)?;
        let mut walked = String::new();
        for part in parts {
            walked = if walked.is_empty() { part.to_owned() } else { format!("{walked}/{part}") };
            let name = cname(part)?;
            let opened = open_at(dir.as_raw_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY);
            dir = match opened {
                Ok(next) => next,
                Err(e) if !fix => return Err(e),
                Err(_) => {
                    let mode = stat_at(self.lower, &walked).map_or(0o755, |st| st.st_mode & 0o7777);
                    ensure_dir(dir.as_raw_fd(), &name, mode)?
                }
            };
        }
        Ok((dir, cname(last)?))
    }
}

/// The directory `name` in `dir`, made (or remade, when something else is
/// there) with `mode`.
fn ensure_dir(dir: RawFd, name: &CStr, mode: u32) -> io::Result<OwnedFd> {
    match fstatat(dir, name) {
        Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {}
        Some(_) => {
            remove_at(dir, name)?;
            mkdir_at(dir, name, mode)?;
        }
        None => mkdir_at(dir, name, mode)?,
    }
    let fd = open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY)?;
    // SAFETY: fchmod on our own fd.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }.into(), || "chmod".into())?;
    Ok(fd)
}

fn mkdir_at(dir: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: name is NUL-terminated.
    check(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) }.into(), || "mkdir".into())?;
    Ok(())
}

/// Removes `name` from `dir`, a whole tree for a directory; nothing there
/// is fine.
fn remove_at(dir: RawFd, name: &CStr) -> io::Result<()> {
    let Some(st) = fstatat(dir, name) else { return Ok(()) };
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let sub = open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY)?;
        // A directory the agent emptied of rights is still ours to clear.
        // SAFETY: fchmod on our own fd.
        unsafe { libc::fchmod(sub.as_raw_fd(), 0o700) };
        for child in fsat::names(sub.as_raw_fd())? {
            remove_at(sub.as_raw_fd(), &child)?;
        }
        // SAFETY: name is NUL-terminated.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) }.into(), || {
            "rmdir".into()
        })?;
    } else {
        // SAFETY: name is NUL-terminated.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }.into(), || "unlink".into())?;
    }
    Ok(())
}

fn fstatat(dir: RawFd, name: &CStr) -> Option<libc::stat> {
    fsat::stat_at(dir, name).ok()
}

/// The state of `path` below `root`, not following any symlink on the way.
fn stat_at(root: RawFd, path: &str) -> Option<libc::stat> {
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => {
            (open_path(root, d, libc::O_PATH | libc::O_DIRECTORY).ok()?, cname(n).ok()?)
        }
        None => (dup(root).ok()?, cname(path).ok()?),
    };
    fstatat(dir.as_raw_fd(), &name)
}

/// Opens `path` below `root` component by component, never following a
/// symlink.
fn open_path(root: RawFd, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let mut fd = dup(root)?;
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let f = if last { flags } else { libc::O_PATH | libc::O_DIRECTORY };
        fd = open_at(fd.as_raw_fd(), &cname(part)?, f)?;
    }
    Ok(fd)
}
