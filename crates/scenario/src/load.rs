//! Reading a suite from disk without trusting it.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{Error, File};

/// The largest file a suite may hold.
pub const FILE_LIMIT: u64 = 64 << 20;
/// The most bytes a suite may hold in all.
pub const SUITE_LIMIT: u64 = 1 << 30;

/// Every file under `dir`, with paths relative to it.
pub(crate) fn walk(dir: &Path) -> Result<Vec<File>, Error> {
    let err = |path: &Path, message: String| Error { file: path.display().to_string(), message };
    let root = dir.canonicalize().map_err(|e| err(dir, e.to_string()))?;
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = dir.join(&rel);
        let entries = fs::read_dir(&here).map_err(|e| err(&here, e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| err(&here, e.to_string()))?;
            let rel = rel.join(entry.file_name());
            let full = dir.join(&rel);
            let kind = entry.file_type().map_err(|e| err(&full, e.to_string()))?;
            let path =
                rel.to_str().ok_or_else(|| err(&full, "path is not UTF-8".into()))?.to_owned();
            let source = if kind.is_dir() {
                stack.push(rel);
                continue;
            } else if kind.is_symlink() {
                confined_target(&root, &rel, &full)?
            } else if kind.is_file() {
                full.clone()
            } else {
                return Err(err(&full, format!("{}: a suite holds only files", special(&kind))));
            };
            let (content, executable) = read_limited(&source).map_err(|e| err(&full, e))?;
            total += content.len() as u64;
            if total > SUITE_LIMIT {
                return Err(err(dir, format!("the suite holds more than {SUITE_LIMIT} bytes")));
            }
            files.push(File { path, executable, content });
        }
    }
    Ok(files)
}

/// The target of the symlink at `rel`, which must be a regular file inside
/// the same top-level directory of the suite (its scenario, or its base
/// under `_shared/`).
fn confined_target(root: &Path, rel: &Path, full: &Path) -> Result<PathBuf, Error> {
    let err = |message: String| Error { file: full.display().to_string(), message };
    let depth = if rel.starts_with(crate::SHARED) { 2 } else { 1 };
    let top = root.join(rel.components().take(depth).collect::<PathBuf>());
    let target = full
        .canonicalize()
        .map_err(|e| err(format!("a symlink whose target cannot be read: {e}")))?;
    if !target.starts_with(&top) || target == top {
        return Err(err(format!(
            "a symlink to `{}`, outside `{}`: a scenario's links stay inside it",
            target.display(),
            top.display()
        )));
    }
    let meta = fs::metadata(&target).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err(format!(
            "a symlink to `{}`, which is not a regular file",
            target.display()
        )));
    }
    Ok(target)
}

fn special(kind: &fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// A regular file's bytes and executable bit, refusing one over
/// [`FILE_LIMIT`] (or one that grows past it while read).
fn read_limited(path: &Path) -> Result<(Vec<u8>, bool), String> {
    // Non-blocking: a FIFO swapped in after the type check cannot stall us.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > FILE_LIMIT {
        return Err(format!(
            "{} bytes, over the limit of {FILE_LIMIT} for a suite file",
            meta.len()
        ));
    }
    let mut content = Vec::with_capacity(meta.len() as usize);
    io::Read::take(&file, FILE_LIMIT + 1).read_to_end(&mut content).map_err(|e| e.to_string())?;
    if content.len() as u64 > FILE_LIMIT {
        return Err(format!("grew over the limit of {FILE_LIMIT} bytes while read"));
    }
    Ok((content, meta.permissions().mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A suite directory with one valid scenario, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("perimeter-load-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            let scenario = dir.join("s");
            fs::create_dir_all(scenario.join("home/lab")).unwrap();
            fs::write(scenario.join("home/lab/a.txt"), "a\n").unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn refused(dir: &Dir) -> String {
        walk(&dir.0).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn symlinks_leaving_the_scenario_are_refused() {
        let d = Dir::new("escape");
        let link = d.0.join("s/home/lab/hosts");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let e = refused(&d);
        assert!(e.starts_with(&link.display().to_string()) && e.contains("outside"), "{e}");
        fs::remove_file(&link).unwrap();
        // Relative links out of the scenario, into a sibling, are refused too.
        fs::create_dir_all(d.0.join("other")).unwrap();
        fs::write(d.0.join("other/secret"), "x").unwrap();
        std::os::unix::fs::symlink("../../../other/secret", &link).unwrap();
        assert!(refused(&d).contains("outside"));
        fs::remove_file(&link).unwrap();
        // A link to a device would be read until memory runs out.
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(refused(&d).contains("outside"));
        fs::remove_file(&link).unwrap();
        // A link inside the scenario, to one of its files, is its content.
        std::os::unix::fs::symlink("a.txt", &link).unwrap();
        let files = walk(&d.0).unwrap();
        let f = files.iter().find(|f| f.path == "s/home/lab/hosts").unwrap();
        assert_eq!(f.content, b"a\n");
    }

    #[test]
    fn special_and_oversized_files_are_refused() {
        let d = Dir::new("special");
        let fifo = d.0.join("s/home/lab/pipe");
        // coreutils' `mkfifo`: this crate holds no `unsafe`.
        #[allow(clippy::disallowed_methods)]
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let e = refused(&d);
        assert!(e.contains("pipe") && e.contains("a FIFO"), "{e}");
        fs::remove_file(&fifo).unwrap();
        let big = d.0.join("s/home/lab/big.bin");
        fs::File::create(&big).unwrap().set_len(FILE_LIMIT + 1).unwrap();
        let e = refused(&d);
        assert!(e.contains("big.bin") && e.contains("over the limit"), "{e}");
    }
}
