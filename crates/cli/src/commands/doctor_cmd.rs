//! `perimeter doctor`.

use super::*;

pub(super) fn doctor(clients: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let root = sandbox::effective_uid() == 0;
    println!(
        "user          {}",
        if root { "root (sandboxes run as unprivileged host users)" } else { "unprivileged" }
    );
    println!("landlock      ABI {}", sandbox::landlock_abi());
    let scratch = scratch_dir()?.join(format!("doctor-{}", std::process::id()));
    let spec = sandbox::SandboxSpec {
        init_program: current_exe()?,
        scratch,
        home: vec![sandbox::HomeFile {
            path: "probe".into(),
            executable: false,
            content: b"ok".to_vec(),
        }],
        honeypots: vec!["probe".into()],
        programs: Vec::new(),
        binds: Vec::new(),
        listeners: Vec::new(),
        limits: sandbox::Limits::default(),
        slot: 0,
    };
    let sandbox_ok = match sandbox::Sandbox::start(&spec) {
        Ok(mut s) => {
            let req = sandbox::ExecRequest {
                argv: vec!["cat".into(), "/home/agent/probe".into()],
                cwd: "/".into(),
                env: vec![("PATH".into(), "/usr/bin:/bin".into())],
                stdin: None,
                timeout_ms: 10_000,
                writable: None,
            };
            let out = s.exec(&req);
            let audit = s.audit();
            let execs = audit.iter().filter(|a| matches!(a, sandbox::Audit::Exec(_))).count();
            let reads =
                audit.iter().filter(|a| matches!(a, sandbox::Audit::HoneypotOpen(_))).count();
            let cgroup = s.memory_cgroup();
            s.shutdown();
            let ran = out.is_ok_and(|o| o.stdout == "ok");
            println!(
                "sandbox       {} (exec audit: {}, honeypot watch: {} via {})",
                if ran { "works" } else { "starts, but a command failed" },
                if execs > 0 { "yes" } else { "NO" },
                if reads > 0 { "yes" } else { "NO" },
                if root { "fanotify" } else { "inotify" }
            );
            let limit = spec.limits.memory_bytes as f64 / f64::from(1 << 30);
            println!(
                "memory        {limit:.1} GiB per process{}",
                if cgroup {
                    ", and for the whole sandbox (memory cgroup)"
                } else {
                    "; no memory cgroup (needs root and a memory controller)"
                }
            );
            ran && execs > 0 && reads > 0
        }
        Err(e) => {
            println!("sandbox       FAILS: {e}");
            false
        }
    };
    match &clients {
        Some(dir) => println!("clients       {}", dir.display()),
        None => {
            println!("clients       none found (pass `--clients DIR` or set PERIMETER_CLIENTS)")
        }
    }
    for (agent, package) in agent::CLIENTS {
        let pinned = agent::pinned_version(package).unwrap_or_default();
        let version = clients.as_deref().and_then(|d| agent::installed_version(d, package));
        match version {
            Some(v) if v == pinned => println!("  {agent:<12} {package} {v}"),
            Some(v) => println!(
                "  {agent:<12} {package} {v}, but {pinned} is pinned: `npm ci --prefix clients` installs the pinned version"
            ),
            None => println!(
                "  {agent:<12} not installed: `npm ci --prefix clients` installs {package} {pinned}"
            ),
        }
    }
    if !sandbox_ok {
        return Err(Failure::runtime(
            "the sandbox does not work on this machine",
            Some("Perimeter needs user namespaces, Landlock and seccomp user notification (Linux 5.13 or newer)".into()),
        ));
    }
    Ok(ExitCode::SUCCESS)
}
