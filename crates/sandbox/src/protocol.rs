//! The control channel between the harness and the sandbox's init process:
//! length-prefixed JSON frames over a unix stream socket. Private to this
//! crate; both ends are built from the same source, so it is not versioned.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::path::PathBuf;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::sys;
use crate::{ExecOutput, ExecRequest, FileType, Limits, ProcessInfo};

/// What init needs to build the sandbox, sent as the first frame.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InitConfig {
    /// The home directory's files, in order; their contents follow the
    /// configuration as one raw frame, concatenated.
    pub home_files: Vec<WireFile>,
    /// An empty directory init mounts the new root on.
    pub root: PathBuf,
    /// An empty directory for the size-limited tmpfs holding the overlay's
    /// layers.
    pub stage: PathBuf,
    pub home: PathBuf,
    /// Host directories bound read-only at absolute paths inside.
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// TCP ports to listen on at 127.0.0.1 inside the sandbox; the sockets
    /// travel to the harness with [`Handshake::Ready`].
    pub listeners: Vec<u16>,
    pub limits: Limits,
    /// Whether the harness maps the sandbox's root to a different host user
    /// (the harness runs as root): init then drops host groups and switches
    /// to the mapped user.
    pub switch_user: bool,
}

/// A file of the home to be written back as given (a file the harness's
/// setup made); its bytes travel separately.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RestoredFile {
    pub path: String,
    pub mode: u32,
    pub size: u64,
}

/// A home file's metadata on the wire; its bytes travel separately.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireFile {
    pub path: String,
    pub executable: bool,
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Handshake {
    /// Init has entered its namespaces and waits for its id maps.
    Unshared,
    /// The harness has written the id maps.
    Mapped,
    /// The host pid of the sandbox's pid 1.
    Forked(i32),
    /// The sandbox is built; the seccomp listener, the overlay's lower and
    /// upper directories, then the loopback listeners travel with this
    /// frame.
    Ready,
    SetupFailed(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    Exec(ExecRequest),
    WriteFile {
        path: String,
        content: String,
    },
    /// Regular files under `dir` (recursively, symlinks not followed) whose
    /// name ends with `suffix`, each up to `max_bytes`.
    ReadFiles {
        dir: String,
        suffix: String,
        max_bytes: u64,
    },
    /// Regular files of the home at these paths (relative to it), each up
    /// to `max_bytes`, never following a symlink.
    ReadPaths {
        paths: Vec<String>,
        max_bytes: u64,
    },
    Processes,
    KillAll,
    Changes,
    /// Brings `paths` of the home back to their starting state, leaving
    /// `keep` (the deliverable) as it is when refilling directories; writes
    /// `files` (whose contents follow as one raw frame, concatenated) as
    /// they are given; then empties (or makes) each of `fresh`, absolute
    /// directories.
    Restore {
        paths: Vec<String>,
        keep: Vec<String>,
        files: Vec<RestoredFile>,
        fresh: Vec<String>,
    },
    Shutdown,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    Exec(ExecOutput),
    Done,
    Failed(String),
    Processes(Vec<ProcessInfo>),
    Changes(UpperWalk),
    /// The paths that could not be restored, and why.
    Restored(Vec<WalkError>),
    /// The files found, each followed by one raw frame of its content (or
    /// why it was skipped).
    Files(Vec<FileRead>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileRead {
    pub path: String,
    /// Why the file was not read; `None` when its content follows.
    pub skipped: Option<String>,
}

/// One entry of the overlay's upper layer: the change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UpperEntry {
    /// Relative to the home directory.
    pub path: String,
    pub kind: UpperKind,
    pub meta: Meta,
    /// The inode of a regular file with more than one name, so that the
    /// harness can tell which names share it.
    pub link: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum UpperKind {
    /// A regular file, with `sha256:<hex>` of its content, or
    /// `unhashed:<size>:<mtime>` past the hashing limits.
    File(String),
    /// A symlink, with `sha256:<hex>` of its target.
    Symlink(String),
    /// A directory; `opaque` when it replaced a lower directory wholesale.
    Dir { opaque: bool },
    /// A deletion of the lower entry of the same path.
    Whiteout,
    /// A FIFO, socket or device node.
    Special(FileType),
}

/// Permission bits, owner (as the sandbox sees them) and extended
/// attributes of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `sha256:<hex>` over the attributes other than the overlay's own.
    pub xattrs: Option<String>,
}

/// An entry of the upper layer that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WalkError {
    pub path: String,
    pub error: String,
}

/// The whole change set as read: every entry that could be read, and the
/// errors of those that could not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UpperWalk {
    pub entries: Vec<UpperEntry>,
    pub errors: Vec<WalkError>,
    pub more_errors: u64,
}

/// One end of the control socket.
pub(crate) struct Channel {
    fd: OwnedFd,
    fds: Vec<OwnedFd>,
}

impl Channel {
    pub fn new(fd: OwnedFd) -> Channel {
        Channel { fd, fds: Vec::new() }
    }

    fn raw(&self) -> RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.fd)
    }

    pub fn send<T: Serialize>(&self, msg: &T, fds: &[RawFd]) -> io::Result<()> {
        let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
        frame.extend_from_slice(&body);
        sys::send_with_fds(self.raw(), &frame, fds)
    }

    /// As [`Channel::send`], as the init's one message carrying the seccomp
    /// listener (`confine::HANDOFF_FLAGS`).
    pub(crate) fn send_handoff<T: Serialize>(&self, msg: &T, fds: &[RawFd]) -> io::Result<()> {
        let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
        frame.extend_from_slice(&body);
        sys::send_handoff(self.raw(), &frame, fds, crate::confine::HANDOFF_FLAGS)
    }

    pub fn recv<T: DeserializeOwned>(&mut self) -> io::Result<T> {
        let body = self.recv_bytes()?;
        serde_json::from_slice(&body).map_err(io::Error::other)
    }

    /// Sends one frame of raw bytes.
    pub fn send_bytes(&self, bytes: &[u8]) -> io::Result<()> {
        let len =
            u32::try_from(bytes.len()).map_err(|_| io::Error::other("frame larger than 4 GiB"))?;
        let mut frame = Vec::with_capacity(bytes.len() + 4);
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(bytes);
        sys::send_with_fds(self.raw(), &frame, &[])
    }

    pub fn recv_bytes(&mut self) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        self.read_exact(&mut body)?;
        Ok(body)
    }

    /// Descriptors that arrived with earlier frames.
    pub fn take_fds(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.fds)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = sys::recv_with_fds(self.raw(), &mut buf[done..], &mut self.fds)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the sandbox closed its control channel",
                ));
            }
            done += n;
        }
        Ok(())
    }
}
