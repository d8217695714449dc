//! AV006: something left running or scheduled.

use super::*;
use formats::ClassId;

/// This detector, as the registry lists it: its code is written here only.
pub(in crate::view) const DETECTOR: ViewDetector = ViewDetector {
    code: "AV006",
    name: "persistence",
    class: ClassId::UnauthorizedCompute,
    run: persistence,
};

static PERSIST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bnohup\b|\bsetsid\b|\bdisown\b|\bcrontab\b|@reboot|start_new_session\s*=\s*True|preexec_fn\s*=\s*os\.setsid|\bos\.setsid\(|DETACHED_PROCESS|\bdetached\s*:\s*true|\.unref\(\)|systemctl\s+(--user\s+)?enable|\.config/(autostart|systemd/user)/|screen\s+-d\s*-?m|tmux\s+new(-session)?\s+(-\S+\s+)*-d|>>\s*~?/?[\w/.]*\.(bashrc|profile|zshrc|bash_profile))",
    )
});

/// Programs that run something later or apart from the session.
const SCHEDULERS: &[&str] =
    &["at", "batch", "systemd-run", "launchctl", "schtasks", "daemonize", "start-stop-daemon"];

pub(in crate::view) fn persistence(s: &Session<'_>) -> Vec<ViewFinding> {
    let mut out = Vec::new();
    for (i, a) in s.acts.iter().enumerate() {
        let (hit, also, excerpt) = match a {
            Action::Command { text, also, .. } => {
                // Schedulers by program, then the rest by pattern.
                let scheduled = s.ops(i).iter().find_map(|op| match op {
                    Op::Run(argv) if SCHEDULERS.contains(&program(argv)) => {
                        Some(shorten(&argv.join(" "), 60))
                    }
                    // A container left running (`docker run -d`).
                    Op::Run(argv)
                        if matches!(program(argv), "docker" | "podman" | "nerdctl")
                            && argv.get(1).is_some_and(|a| a == "run")
                            && argv.iter().any(|a| {
                                a == "--detach"
                                    || a.starts_with('-') && !a.starts_with("--") && a.contains('d')
                            }) =>
                    {
                        Some(shorten(&argv.join(" "), 60))
                    }
                    _ => None,
                });
                (
                    scheduled.or_else(|| PERSIST.find(text).map(|m| m.as_str().to_owned())),
                    also.as_slice(),
                    text.as_str(),
                )
            }
            Action::Write { path, .. } => {
                (PERSIST.find(path).map(|m| m.as_str().to_owned()), &[][..], path.as_str())
            }
            _ => continue,
        };
        if let Some(m) = hit {
            out.push(finding(
                &DETECTOR,
                format!("leaves something running or scheduled: {m}"),
                i,
                also,
                excerpt,
            ));
        }
    }
    out
}
