//! The two confinements that descendants inherit and cannot lift: a
//! Landlock ruleset (where writes may go) and a seccomp filter (which system
//! calls the supervisor hears about).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::sys::{check, cstr};

// Landlock filesystem access rights (linux/landlock.h).
const FS_WRITE_FILE: u64 = 1 << 1;
const FS_REMOVE_DIR: u64 = 1 << 4;
const FS_REMOVE_FILE: u64 = 1 << 5;
const FS_MAKE_CHAR: u64 = 1 << 6;
const FS_MAKE_DIR: u64 = 1 << 7;
const FS_MAKE_REG: u64 = 1 << 8;
const FS_MAKE_SOCK: u64 = 1 << 9;
const FS_MAKE_FIFO: u64 = 1 << 10;
const FS_MAKE_BLOCK: u64 = 1 << 11;
const FS_MAKE_SYM: u64 = 1 << 12;
const FS_REFER: u64 = 1 << 13;
const FS_TRUNCATE: u64 = 1 << 14;
const FS_IOCTL_DEV: u64 = 1 << 15;
const SCOPE_SIGNAL: u64 = 1 << 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version of the running kernel, 0 when unsupported.
pub fn landlock_abi() -> u32 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION takes a null attr and size 0.
    let v = unsafe {
        libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0, 1u32)
    };
    u32::try_from(v).unwrap_or(0)
}

/// Forbids every write outside `writable_dirs` and `writable_files` for the
/// calling process and all its future descendants. Reads are not limited:
/// the mount namespace already decides what is visible.
pub(crate) fn restrict_writes(writable_dirs: &[&Path], writable_files: &[&Path]) -> io::Result<()> {
    restrict_self(&ruleset(writable_dirs, writable_files)?)
}

/// A Landlock ruleset that allows writes only in `writable_dirs` and to
/// `writable_files`, ready for [`restrict_self`] (which is one system call,
/// so a freshly forked child may apply it).
pub(crate) fn ruleset(writable_dirs: &[&Path], writable_files: &[&Path]) -> io::Result<OwnedFd> {
    let abi = landlock_abi();
    if abi == 0 {
        return Err(io::Error::other("Landlock is not available on this kernel"));
    }
    let mut dir_rights = FS_WRITE_FILE
        | FS_REMOVE_DIR
        | FS_REMOVE_FILE
        | FS_MAKE_CHAR
        | FS_MAKE_DIR
        | FS_MAKE_REG
        | FS_MAKE_SOCK
        | FS_MAKE_FIFO
        | FS_MAKE_BLOCK
        | FS_MAKE_SYM;
    let mut file_rights = FS_WRITE_FILE;
    if abi >= 2 {
        dir_rights |= FS_REFER;
    }
    if abi >= 3 {
        dir_rights |= FS_TRUNCATE;
        file_rights |= FS_TRUNCATE;
    }
    if abi >= 5 {
        dir_rights |= FS_IOCTL_DEV;
        file_rights |= FS_IOCTL_DEV;
    }
    let attr = RulesetAttr {
        handled_access_fs: dir_rights,
        handled_access_net: 0,
        scoped: if abi >= 6 { SCOPE_SIGNAL } else { 0 },
    };
    let size = if abi >= 6 { 24 } else { 8 };
    // SAFETY: attr is a valid ruleset_attr of at least `size` bytes.
    let fd = check(
        unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                size,
                0u32,
            )
        },
        || "landlock_create_ruleset".into(),
    )?;
    // SAFETY: a fresh fd owned here.
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let rules = writable_dirs
        .iter()
        .map(|p| (p, dir_rights))
        .chain(writable_files.iter().map(|p| (p, file_rights)));
    for (path, rights) in rules {
        let c = cstr(path)?;
        // SAFETY: plain open of a NUL-terminated path.
        let Ok(pfd) =
            check(unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) }.into(), || {
                format!("open {}", path.display())
            })
        else {
            continue; // A missing optional path (say /dev/tty) needs no rule.
        };
        // SAFETY: a fresh fd owned here.
        let pfd = unsafe { OwnedFd::from_raw_fd(pfd as RawFd) };
        let rule = PathBeneathAttr {
            allowed_access: rights,
            parent_fd: std::os::fd::AsRawFd::as_raw_fd(&pfd),
        };
        // SAFETY: rule is a packed path_beneath_attr; 1 = LANDLOCK_RULE_PATH_BENEATH.
        check(
            unsafe {
                libc::syscall(
                    libc::SYS_landlock_add_rule,
                    std::os::fd::AsRawFd::as_raw_fd(&ruleset),
                    1u32,
                    &rule as *const PathBeneathAttr,
                    0u32,
                )
            },
            || format!("landlock rule for {}", path.display()),
        )?;
    }
    Ok(ruleset)
}

/// Applies a ruleset to the calling thread and its future descendants; a
/// further ruleset narrows the ones before it, never widens them.
pub(crate) fn restrict_self(ruleset: &OwnedFd) -> io::Result<()> {
    // SAFETY: no pointers.
    check(
        unsafe {
            libc::syscall(
                libc::SYS_landlock_restrict_self,
                std::os::fd::AsRawFd::as_raw_fd(ruleset),
                0u32,
            )
        },
        || "landlock_restrict_self".into(),
    )?;
    Ok(())
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_ERRNO_EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The system calls the supervisor is told about, in filter order.
/// `sendmmsg` carries its destinations inside structures the filter cannot
/// read, so every call is notified and the supervisor reads them (most
/// name none: a connected or local socket). `sendmsg` likewise, but for
/// the one the sandbox's init makes to hand the harness this filter's
/// listener ([`HANDOFF_FLAGS`]).
pub(crate) const NOTIFIED: [libc::c_long; 5] = [
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_connect,
    libc::SYS_exit_group,
    libc::SYS_sendmmsg,
];

/// The `sendmsg` flags of the init's one message that carries the
/// listener: a notification for it would wait on a supervisor that has no
/// listener yet. [`seal_handoff`] then refuses these flags to everyone.
pub(crate) const HANDOFF_FLAGS: libc::c_int =
    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT | libc::MSG_CONFIRM;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Where `seccomp_data.args[i]` lies (low 32 bits; the high half follows):
/// `sendmsg`'s flags are args[2], `sendto`'s destination address args[4].
const ARG2_LO: u32 = 32;
const ARG4_LO: u32 = 48;
const ARG4_HI: u32 = 52;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// The classic-BPF program: foreign architectures and the x32 ABI are
/// refused (so no one can reach `execve` under another number), the
/// [`NOTIFIED`] calls, a `sendmsg` (but the handoff) and a `sendto` with a
/// destination address go to the supervisor, everything else (including
/// `sendto` on a connected socket, the common case) is allowed.
pub(crate) fn filter_program() -> Vec<libc::sock_filter> {
    // Layout: 4 header instructions, one test per notified call, the
    // `sendmsg` test and its flags check (3), the `sendto` test, its
    // 4-instruction address check, then the returns.
    let n = NOTIFIED.len();
    let sendmsg = 4 + n;
    let sendto = sendmsg + 3;
    let (allow, notify, deny) = (sendto + 5, sendto + 6, sendto + 7);
    // Jumps are relative to the next instruction and forward only.
    let to = |from: usize, target: usize| u8::try_from(target - from - 1).expect("short jump");
    let mut prog = vec![
        stmt(LD_W_ABS, 4), // seccomp_data.arch
        jump(JEQ_K, AUDIT_ARCH, 0, to(1, deny)),
        stmt(LD_W_ABS, 0), // seccomp_data.nr
        jump(JGE_K, X32_SYSCALL_BIT, to(3, deny), 0),
    ];
    for (i, nr) in NOTIFIED.iter().enumerate() {
        prog.push(jump(JEQ_K, *nr as u32, to(4 + i, notify), 0));
    }
    prog.extend([
        jump(JEQ_K, libc::SYS_sendmsg as u32, 0, to(sendmsg, sendto)),
        stmt(LD_W_ABS, ARG2_LO),
        jump(JEQ_K, HANDOFF_FLAGS as u32, to(sendmsg + 2, allow), to(sendmsg + 2, notify)),
    ]);
    prog.extend([
        jump(JEQ_K, libc::SYS_sendto as u32, 0, to(sendto, allow)),
        stmt(LD_W_ABS, ARG4_LO),
        jump(JEQ_K, 0, 0, to(sendto + 2, notify)),
        stmt(LD_W_ABS, ARG4_HI),
        jump(JEQ_K, 0, to(sendto + 4, allow), to(sendto + 4, notify)),
        stmt(RET_K, RET_ALLOW),
        stmt(RET_K, RET_USER_NOTIF),
        stmt(RET_K, RET_ERRNO_EPERM),
    ]);
    debug_assert_eq!(prog.len(), deny + 1);
    prog
}

/// The filter [`seal_handoff`] adds: a `sendmsg` with [`HANDOFF_FLAGS`]
/// fails (EPERM), so that no process of the sandbox can send unseen the way
/// the init handed over the listener.
pub(crate) fn seal_program() -> Vec<libc::sock_filter> {
    vec![
        stmt(LD_W_ABS, 0),
        jump(JEQ_K, libc::SYS_sendmsg as u32, 0, 2),
        stmt(LD_W_ABS, ARG2_LO),
        jump(JEQ_K, HANDOFF_FLAGS as u32, 1, 0),
        stmt(RET_K, RET_ALLOW),
        stmt(RET_K, RET_ERRNO_EPERM),
    ]
}

/// Installs [`seal_program`] on the calling thread, once the listener is
/// handed over; every process the init starts afterwards inherits it.
pub(crate) fn seal_handoff() -> io::Result<()> {
    let prog = seal_program();
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut _ };
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    // SAFETY: fprog points at `prog`, alive for the call.
    check(
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                0 as libc::c_ulong,
                &fprog as *const libc::sock_fprog,
            )
        },
        || "install the handoff seal".into(),
    )?;
    Ok(())
}

/// Installs [`filter_program`] on the calling thread with a new listener and
/// returns the listener's fd. Requires `no_new_privs`.
pub(crate) fn install_filter() -> io::Result<OwnedFd> {
    let prog = filter_program();
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut _ };
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
    // SAFETY: fprog points at `prog`, alive for the call.
    let fd = check(
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &fprog as *const libc::sock_fprog,
            )
        },
        || "install seccomp filter".into(),
    )?;
    // SAFETY: the kernel returned a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter for the subset of classic BPF the filter uses.
    fn run(prog: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
        run_with(prog, arch, nr, 0)
    }

    fn run_with(prog: &[libc::sock_filter], arch: u32, nr: u32, arg4: u64) -> u32 {
        run_args(prog, arch, nr, 0, arg4)
    }

    fn run_args(prog: &[libc::sock_filter], arch: u32, nr: u32, arg2: u32, arg4: u64) -> u32 {
        let mut acc = 0u32;
        let mut pc = 0;
        loop {
            let ins = prog[pc];
            pc += 1;
            match ins.code as u32 {
                c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                    acc = match ins.k {
                        0 => nr,
                        4 => arch,
                        ARG2_LO => arg2,
                        ARG4_LO => arg4 as u32,
                        ARG4_HI => (arg4 >> 32) as u32,
                        k => panic!("unexpected load at {k}"),
                    };
                }
                c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                    pc += usize::from(if acc == ins.k { ins.jt } else { ins.jf });
                }
                c if c == libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K => {
                    pc += usize::from(if acc >= ins.k { ins.jt } else { ins.jf });
                }
                c if c == libc::BPF_RET | libc::BPF_K => return ins.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn filter_routes_each_syscall() {
        let prog = filter_program();
        for nr in NOTIFIED {
            assert_eq!(run(&prog, AUDIT_ARCH, nr as u32), RET_USER_NOTIF, "syscall {nr}");
        }
        for nr in [libc::SYS_read, libc::SYS_openat, libc::SYS_clone, libc::SYS_write] {
            assert_eq!(run(&prog, AUDIT_ARCH, nr as u32), RET_ALLOW, "syscall {nr}");
        }
        assert_eq!(run(&prog, AUDIT_ARCH, X32_SYSCALL_BIT | 59), RET_ERRNO_EPERM);
        let sendto = libc::SYS_sendto as u32;
        assert_eq!(run_with(&prog, AUDIT_ARCH, sendto, 0), RET_ALLOW, "connected socket");
        assert_eq!(run_with(&prog, AUDIT_ARCH, sendto, 0x7ffd_1234), RET_USER_NOTIF);
        assert_eq!(run_with(&prog, AUDIT_ARCH, sendto, 0x7ffd_0000_0000), RET_USER_NOTIF);
        assert_eq!(run(&prog, 0x4000_0003, 11), RET_ERRNO_EPERM, "i386 execve");
        let sendmsg = libc::SYS_sendmsg as u32;
        assert_eq!(run_args(&prog, AUDIT_ARCH, sendmsg, 0, 0), RET_USER_NOTIF);
        assert_eq!(
            run_args(&prog, AUDIT_ARCH, sendmsg, libc::MSG_NOSIGNAL as u32, 0),
            RET_USER_NOTIF
        );
        let handoff = HANDOFF_FLAGS as u32;
        assert_eq!(run_args(&prog, AUDIT_ARCH, sendmsg, handoff, 0), RET_ALLOW, "the handoff");
        // Once sealed, the handoff's flags are refused to everyone.
        let seal = seal_program();
        assert_eq!(run_args(&seal, AUDIT_ARCH, sendmsg, handoff, 0), RET_ERRNO_EPERM);
        assert_eq!(run_args(&seal, AUDIT_ARCH, sendmsg, 0, 0), RET_ALLOW);
        assert_eq!(run_args(&seal, AUDIT_ARCH, libc::SYS_write as u32, handoff, 0), RET_ALLOW);
    }
}
