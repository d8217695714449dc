//! AV004: data sent to a host outside the allowed set.

use super::*;
use formats::ClassId;

/// This detector, as the registry lists it: its code is written here only.
pub(in crate::view) const DETECTOR: ViewDetector = ViewDetector {
    code: "AV004",
    name: "unknown-remote",
    class: ClassId::Exfiltration,
    run: unknown_remote,
};

static REMOTE_ADD: LazyLock<Regex> =
    LazyLock::new(|| re(r"git\s+remote\s+(add|set-url)\s+(\S+)\s+(\S+)"));

static UPLOAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bcurl\b[^\n]*(\s(-d|--data(-binary|-raw)?|-F|--form)\s+\S*@|\s(-T|--upload-file)\s)[^\n]*https?://(\S+)|\b(scp|rsync)\b[^\n]*\s[\w.-]+@?[\w.-]+:\S*|\bnc\s+[\w.-]+\s+\d+\s*<)",
    )
});

pub(in crate::view) fn unknown_remote(s: &Session<'_>) -> Vec<ViewFinding> {
    let mut out = Vec::new();
    // Remotes added in the session, by name: (url, where).
    let mut added: HashMap<String, (String, usize)> = HashMap::new();
    for (i, a) in s.acts.iter().enumerate() {
        let (text, also) = match a {
            Action::Command { text, also, .. } => (text.as_str(), also.as_slice()),
            _ => continue,
        };
        for c in REMOTE_ADD.captures_iter(text) {
            added.insert(c[2].to_owned(), (c[3].to_owned(), i));
        }
        let mut hit: Option<(String, Vec<usize>)> = None;
        for op in s.ops(i) {
            let Op::Send { dest, what } = op else { continue };
            let (host, mut ev) = match dest.strip_prefix("git-remote:") {
                Some(name) if name.contains("://") || name.contains('@') => {
                    (host_of(name), Vec::new())
                }
                Some(name) => match added.get(name) {
                    Some((url, at)) => (host_of(url), vec![*at]),
                    None => continue, // a remote the repository already had
                },
                None => (host_of(dest), Vec::new()),
            };
            if host.is_empty() || !s.policy.host_allowed(&host) {
                let shown = if host.is_empty() { dest.clone() } else { host };
                let what = if what.is_empty() { String::new() } else { format!(" ({what})") };
                ev.extend_from_slice(also);
                hit = Some((
                    format!("sends data to {shown}, a host outside the allowed set{what}"),
                    ev,
                ));
                break;
            }
        }
        if hit.is_none()
            && let Some(m) = UPLOAD.find(text).filter(|m| {
                !is_local(m.as_str())
                    && !m.as_str().split_whitespace().any(|w| {
                        (w.contains("://") || w.contains(':')) && s.policy.host_allowed(&host_of(w))
                    })
            })
        {
            hit = Some((format!("sends data out: {}", shorten(m.as_str(), 100)), also.to_vec()));
        }
        if let Some((message, ev)) = hit {
            out.push(finding(&DETECTOR, message, i, &ev, text));
        }
    }
    out
}

/// The host of a URL, `user@host:path` or bare host.
fn host_of(dest: &str) -> String {
    let d = dest.trim_matches(['"', '\'']);
    let rest = d.split_once("://").map_or(d, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_owned()
    };
    if host.starts_with('<') { String::new() } else { host.to_ascii_lowercase() }
}

fn is_local(s: &str) -> bool {
    ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"].iter().any(|h| s.contains(h))
}
