//! `perimeter doctor`.

use super::*;

pub(super) fn doctor(clients: Option<PathBuf>, format: Format) -> Result<ExitCode, Failure> {
    let root = sandbox::effective_uid() == 0;
    let landlock = sandbox::landlock_abi();
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
    // What the probe sandbox showed: whether it ran a command, audited the
    // exec, saw the honeypot read, and had a memory cgroup; or why it did
    // not start.
    let probe = sandbox::Sandbox::start(&spec).map(|mut s| {
        let req = sandbox::ExecRequest {
            argv: vec!["cat".into(), "/home/agent/probe".into()],
            cwd: "/".into(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            stdin: None,
            timeout_ms: 10_000,
            writable: None,
            nice: 0,
        };
        let out = s.exec(&req);
        let audit = s.audit();
        let execs = audit.iter().any(|a| matches!(a, sandbox::Audit::Exec(_)));
        let reads = audit.iter().any(|a| matches!(a, sandbox::Audit::HoneypotOpen(_)));
        let cgroup = s.memory_cgroup();
        let watch = s.honeypot_watch().to_owned();
        s.shutdown();
        (out.is_ok_and(|o| o.stdout == "ok"), execs, reads, cgroup, watch)
    });
    let features = features(root, probe.as_ref().ok().map(|p| (p.3, p.4.as_str())));
    let sandbox_ok = matches!(probe, Ok((true, true, true, _, _)));
    let memory_gib = spec.limits.memory_bytes as f64 / f64::from(1 << 30);
    // Each pinned client: (agent, package, pinned, installed).
    let found: Vec<(&str, &str, String, Option<String>)> = agent::CLIENTS
        .iter()
        .map(|(agent, package)| {
            let pinned = agent::pinned_version(package).unwrap_or_default();
            let version = clients.as_deref().and_then(|d| agent::installed_version(d, package));
            (*agent, *package, pinned, version)
        })
        .collect();
    match format {
        Format::Json => {
            let (ran, execs, reads, cgroup) =
                probe.as_ref().map(|p| (p.0, p.1, p.2, p.3)).unwrap_or_default();
            let out = formats::output::Doctor {
                format: "perimeter.doctor/1".into(),
                root,
                landlock_abi: landlock,
                features: features.clone(),
                sandbox: formats::output::DoctorSandbox {
                    works: sandbox_ok,
                    error: probe.as_ref().err().map(|e| e.to_string()),
                    ran_a_command: ran,
                    exec_audit: execs,
                    honeypot_watch: reads,
                    honeypot_watch_via: probe.as_ref().map_or_else(
                        |_| if root { "fanotify" } else { "inotify" }.into(),
                        |p| p.4.clone(),
                    ),
                    memory_cgroup: cgroup,
                    memory_bytes_per_process: spec.limits.memory_bytes,
                },
                clients_dir: clients.as_ref().map(|d| d.display().to_string()),
                clients: found
                    .iter()
                    .map(|(agent, package, pinned, version)| formats::output::DoctorClient {
                        agent: (*agent).into(),
                        package: (*package).into(),
                        pinned: pinned.clone(),
                        installed: version.clone(),
                        at_pin: version.as_deref() == Some(pinned.as_str()),
                    })
                    .collect(),
            };
            print_json(&out);
        }
        Format::Table => {
            println!(
                "user          {}",
                if root {
                    "root (sandboxes run as unprivileged host users)"
                } else {
                    "unprivileged"
                }
            );
            println!("landlock      ABI {landlock}");
            match &probe {
                Ok((ran, execs, reads, cgroup, watch)) => {
                    println!(
                        "sandbox       {} (exec audit: {}, honeypot watch: {} via {})",
                        if *ran { "works" } else { "starts, but a command failed" },
                        if *execs { "yes" } else { "NO" },
                        if *reads { "yes" } else { "NO" },
                        watch
                    );
                    println!(
                        "memory        {memory_gib:.1} GiB per process{}",
                        if *cgroup {
                            ", and for the whole sandbox (memory cgroup)"
                        } else {
                            "; no memory cgroup (needs root and a memory controller)"
                        }
                    );
                }
                Err(e) => println!("sandbox       FAILS: {e}"),
            }
            for f in &features {
                println!(
                    "kernel        {}: {} ({}){}",
                    f.name.replace('_', " "),
                    if f.available { "yes" } else { "NO" },
                    f.detail,
                    match f.name.ends_with("_groups") || f.name.ends_with("_instances") {
                        _ if f.without.is_empty() => String::new(),
                        true => format!("; {}", f.without),
                        false if f.available => String::new(),
                        false => format!("; without it: {}", f.without),
                    }
                );
            }
            match &clients {
                Some(dir) => println!("clients       {}", dir.display()),
                None => println!(
                    "clients       none found (pass `--clients DIR` or set PERIMETER_CLIENTS)"
                ),
            }
            for (agent, package, pinned, version) in &found {
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
        }
    }
    let missing: Vec<&str> = sandbox::missing_capabilities()
        .into_iter()
        .filter(|c| c.required)
        .map(|c| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(Failure::runtime(
            format!(
                "the sandbox cannot be trusted here: running as root without {}",
                missing.join(", ")
            ),
            Some(
                "in a container, add them (docs/cluster.md lists what the sandbox needs and why)"
                    .into(),
            ),
        ));
    }
    if !sandbox_ok {
        return Err(Failure::runtime(
            "the sandbox does not work on this machine",
            Some("Perimeter needs user namespaces, Landlock and seccomp user notification (Linux 5.13 or newer)".into()),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// A number the kernel publishes under /proc/sys.
fn sysctl(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The kernel features the sandbox uses, probed here, each with what
/// Perimeter does without it. `probe` is what the probe sandbox showed:
/// its memory cgroup and its honeypot watch.
fn features(root: bool, probe: Option<(bool, &str)>) -> Vec<formats::output::DoctorFeature> {
    let feature = |name: &str, available: bool, detail: String, without: &str| {
        formats::output::DoctorFeature {
            name: name.into(),
            available,
            detail,
            without: without.into(),
        }
    };
    let watch = probe.map_or("none: the sandbox did not start", |p| p.1);
    let mut out = vec![feature(
        "fanotify",
        watch == "fanotify",
        format!("honeypot watch: {watch}"),
        if root {
            "honeypots are watched with inotify, which sees an open but names the process that made it less exactly; each trace header says which watch it used"
        } else {
            "(not root) honeypots are watched with inotify, which sees an open but names the process that made it less exactly; each trace header says which watch it used"
        },
    )];
    if let Some(groups) = sysctl("/proc/sys/fs/fanotify/max_user_groups") {
        out.push(feature(
            "fanotify_groups",
            groups > 0,
            format!("{groups} per user"),
            &format!(
                "up to {groups} sandboxes at once watch with fanotify; past that, with inotify"
            ),
        ));
    }
    if let Some(n) = sysctl("/proc/sys/fs/inotify/max_user_instances") {
        out.push(feature(
            "inotify_instances",
            n > 0,
            format!("{n} per user"),
            "a sandbox that finds none free waits for another episode to end, as often as that takes: past these and the fanotify groups, further episodes queue; with no other episode running it tries 4 times, then ends as sandbox_error (in no rate)",
        ));
    }
    if let Some(n) = sysctl("/proc/sys/user/max_user_namespaces") {
        out.push(feature(
            "user_namespaces",
            n > 0,
            format!("up to {n}"),
            "the sandbox cannot start",
        ));
    }
    if root {
        let missing = sandbox::missing_capabilities();
        for c in sandbox::ROOT_CAPABILITIES {
            out.push(feature(
                &c.name.to_lowercase(),
                !missing.contains(&c),
                format!("{}: {}", if c.required { "required" } else { "optional" }, c.why),
                c.without,
            ));
        }
    }
    let cgroup = probe.is_some_and(|p| p.0);
    out.push(feature(
        "memory_cgroup",
        cgroup,
        if cgroup {
            "the sandbox's memory is limited as a whole".into()
        } else {
            "not available".into()
        },
        if cgroup {
            ""
        } else {
            "memory is limited per process only (needs root and a cgroup v2 memory controller)"
        },
    ));
    out
}
