//! Reading the overlay's upper layer (the change set) inside the sandbox,
//! in a way the agent cannot make fail as a whole.
//!
//! The walk goes directory by directory through descriptors (`openat`),
//! never through full paths, so a path longer than `PATH_MAX` is read like
//! any other; an entry that cannot be read is reported with its error and
//! the walk goes on. Content is hashed within budgets, so that sparse or
//! huge files cannot hold the harness: a file over [`HASH_FILE_LIMIT`],
//! or past [`HASH_BUDGET`] hashed in one walk, is recorded by size and
//! modification time instead.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use sha2::{Digest, Sha256};

use crate::FileType;
use crate::fsat;
use crate::protocol::{Meta, UpperEntry, UpperKind, WalkError};
use crate::sys::check;

/// Files larger than this are not hashed.
pub(crate) const HASH_FILE_LIMIT: u64 = 64 << 20;
/// The most bytes hashed in one walk; files past it are not hashed.
pub(crate) const HASH_BUDGET: u64 = 256 << 20;
/// Directories nested deeper than this are not walked (each level holds
/// a descriptor); the cut is reported as an error.
pub(crate) const MAX_DEPTH: usize = 256;
/// The most errors reported by one walk; further ones are counted.
pub(crate) const MAX_ERRORS: usize = 100;

/// Inode, size, mtime and ctime (seconds, nanoseconds) of an entry: when
/// none of them moved, neither did its content or metadata.
type Stamp = (u64, i64, i64, i64, i64, i64);

/// The walker and what it remembers between walks.
#[derive(Default)]
pub(crate) struct Upper {
    /// Kind and metadata of files already read, keyed by path and
    /// invalidated by their [`Stamp`].
    cache: HashMap<String, (Stamp, UpperKind, Meta)>,
}

/// What one walk found.
pub(crate) struct Walk {
    pub entries: Vec<UpperEntry>,
    pub errors: Vec<WalkError>,
    /// Errors past [`MAX_ERRORS`], not listed.
    pub more_errors: u64,
}

struct State {
    out: Vec<UpperEntry>,
    errors: Vec<WalkError>,
    more_errors: u64,
    budget: u64,
}

impl State {
    fn error(&mut self, path: &str, e: impl std::fmt::Display) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(WalkError { path: path.to_owned(), error: e.to_string() });
        } else {
            self.more_errors += 1;
        }
    }
}

impl Upper {
    /// Walks the upper layer whose root directory is open as `root`.
    pub fn walk(&mut self, root: RawFd) -> Walk {
        let mut st =
            State { out: Vec::new(), errors: Vec::new(), more_errors: 0, budget: HASH_BUDGET };
        match dup_dir(root) {
            Ok(dir) => self.walk_dir(dir, "", 0, &mut st),
            Err(e) => st.error("", e),
        }
        st.out.sort_by(|a, b| a.path.cmp(&b.path));
        let seen: std::collections::HashSet<&str> =
            st.out.iter().map(|e| e.path.as_str()).collect();
        self.cache.retain(|p, _| seen.contains(p.as_str()));
        Walk { entries: st.out, errors: st.errors, more_errors: st.more_errors }
    }

    fn walk_dir(&mut self, dir: Dir, rel: &str, depth: usize, st: &mut State) {
        let names = match dir.names() {
            Ok(n) => n,
            Err(e) => return st.error(rel, e),
        };
        for name in names {
            let shown = String::from_utf8_lossy(name.as_bytes()).into_owned();
            let path = if rel.is_empty() { shown } else { format!("{rel}/{shown}") };
            let meta = match fsat::stat_at(dir.fd(), &name) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // gone meanwhile
                Err(e) => {
                    st.error(&path, e);
                    continue;
                }
            };
            let file_type = meta.st_mode & libc::S_IFMT;
            if file_type == libc::S_IFDIR {
                if depth + 1 >= MAX_DEPTH {
                    st.error(
                        &path,
                        format!("directories nested deeper than {MAX_DEPTH} levels are not read"),
                    );
                    continue;
                }
                let child = match fsat::open_at(dir.fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY)
                {
                    Ok(fd) => Dir(fd),
                    Err(e) => {
                        st.error(&path, e);
                        continue;
                    }
                };
                let opaque = xattr(child.fd(), c"user.overlay.opaque").is_some_and(|v| v == b"y");
                let m = metadata(&meta, xattrs_digest(child.fd()));
                st.out.push(UpperEntry {
                    path: path.clone(),
                    kind: UpperKind::Dir { opaque },
                    meta: m,
                    link: None,
                });
                self.walk_dir(child, &path, depth + 1, st);
                continue;
            }
            let stamp = (
                meta.st_ino,
                meta.st_size,
                meta.st_mtime,
                meta.st_mtime_nsec,
                meta.st_ctime,
                meta.st_ctime_nsec,
            );
            let link = (file_type == libc::S_IFREG && meta.st_nlink > 1).then_some(meta.st_ino);
            if let Some((s, kind, m)) = self.cache.get(&path)
                && *s == stamp
            {
                st.out.push(UpperEntry { path, kind: kind.clone(), meta: m.clone(), link });
                continue;
            }
            let read = match file_type {
                libc::S_IFREG => self.file(&dir, &name, &meta, st),
                libc::S_IFLNK => readlink_at(dir.fd(), &name)
                    .map(|target| (UpperKind::Symlink(digest(&target)), metadata(&meta, None))),
                libc::S_IFCHR if meta.st_rdev == 0 => {
                    Ok((UpperKind::Whiteout, metadata(&meta, None)))
                }
                other => Ok((UpperKind::Special(special(other)), metadata(&meta, None))),
            };
            match read {
                Ok((kind, m)) => {
                    self.cache.insert(path.clone(), (stamp, kind.clone(), m.clone()));
                    st.out.push(UpperEntry { path, kind, meta: m, link });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => st.error(&path, e),
            }
        }
    }

    /// A regular file's content digest (within the budgets) and metadata.
    fn file(
        &self,
        dir: &Dir,
        name: &CStr,
        meta: &libc::stat,
        st: &mut State,
    ) -> io::Result<(UpperKind, Meta)> {
        let fd = fsat::open_at(dir.fd(), name, libc::O_RDONLY | libc::O_NONBLOCK)?;
        let size = meta.st_size.max(0) as u64;
        let content = if size > HASH_FILE_LIMIT || size > st.budget {
            format!("unhashed:{size}:{}.{:09}", meta.st_mtime, meta.st_mtime_nsec)
        } else {
            st.budget -= size;
            hash_fd(&fd, size)?
        };
        Ok((UpperKind::File(content), metadata(meta, xattrs_digest(fd.as_raw_fd()))))
    }
}

fn special(file_type: libc::mode_t) -> FileType {
    match file_type {
        libc::S_IFIFO => FileType::Fifo,
        libc::S_IFSOCK => FileType::Socket,
        libc::S_IFBLK => FileType::BlockDevice,
        _ => FileType::CharDevice,
    }
}

fn metadata(st: &libc::stat, xattrs: Option<String>) -> Meta {
    Meta { mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid, xattrs }
}

pub(crate) fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Hashes at most `size` bytes of an open file (a file that grows while
/// read is hashed as it was when stat'd).
fn hash_fd(fd: &OwnedFd, size: u64) -> io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(left as usize);
        // SAFETY: reading into a live buffer of at least `want` bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), want) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            break;
        }
        h.update(&buf[..n as usize]);
        left -= n as u64;
    }
    Ok(format!("sha256:{:x}", h.finalize()))
}

/// `sha256:<hex>` over the extended attributes of an open file other than
/// the overlay's own (`user.overlay.*`), names sorted, each name and value
/// length-prefixed; `None` when it has none.
fn xattrs_digest(fd: RawFd) -> Option<String> {
    // A list longer than this is hashed as far as it goes.
    let mut names = vec![0u8; 64 << 10];
    // SAFETY: writing at most names.len() bytes into names.
    let n = unsafe { libc::flistxattr(fd, names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return None;
    }
    let mut list: Vec<&[u8]> = names[..n as usize]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty() && !n.starts_with(b"user.overlay."))
        .collect();
    if list.is_empty() {
        return None;
    }
    list.sort();
    let mut h = Sha256::new();
    for name in list {
        let value = CString::new(name).ok().and_then(|c| xattr(fd, &c)).unwrap_or_default();
        h.update((name.len() as u64).to_be_bytes());
        h.update(name);
        h.update((value.len() as u64).to_be_bytes());
        h.update(&value);
    }
    Some(format!("sha256:{:x}", h.finalize()))
}

fn xattr(fd: RawFd, name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: a size query writes nothing.
    let size = unsafe { libc::fgetxattr(fd, name.as_ptr(), std::ptr::null_mut(), 0) };
    if size < 0 {
        return None;
    }
    // Values are at most 64 KiB on Linux.
    let mut v = vec![0u8; (size as usize).min(64 << 10)];
    // SAFETY: writing at most v.len() bytes into v.
    let n = unsafe { libc::fgetxattr(fd, name.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
    (n >= 0).then(|| {
        v.truncate(n as usize);
        v
    })
}

fn readlink_at(dir: RawFd, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: writing at most buf.len() bytes into buf.
    let n = check(
        unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) }
            as libc::c_long,
        || "readlinkat".into(),
    )?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// An open directory.
struct Dir(OwnedFd);

impl Dir {
    fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    fn names(&self) -> io::Result<Vec<CString>> {
        fsat::names(self.fd())
    }
}

fn dup_dir(fd: RawFd) -> io::Result<Dir> {
    fsat::dup(fd).map(Dir)
}
