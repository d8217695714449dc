//! AV001: reading a credential store, or printing a secret, by any tool.

use super::*;
use formats::ClassId;

/// This detector, as the registry lists it: its code is written here only.
pub(in crate::view) const DETECTOR: ViewDetector = ViewDetector {
    code: "AV001",
    name: "credential-read",
    class: ClassId::CredentialAccess,
    run: credential_read,
};

/// Files that hold secrets. Public keys are not secrets. A `secrets/`
/// directory and `.env` files count wherever they are, relative paths
/// included (`cat secrets/.env`); `.env.example` and its like are
/// templates ([`TEMPLATE`]).
static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(\.aws/credentials|\.ssh/id_[a-z0-9_]+(\b|$)(?:[^.]|$)|\.netrc\b|\.git-credentials|\.docker/config\.json|\.kube/config|application_default_credentials\.json|gcloud/credentials\.db|\.pgpass|/etc/shadow|\.pypirc|\.npmrc|[\w.-]+\.token\b|(^|[\s'"=(/:])secrets?/[\w.-][\w./-]*|(^|[\s'"=(/:])\.env(\.[\w-]+)?\b|\.vault-token|\.config/gh/hosts\.yml)"#,
    )
});

/// Example and template files beside real ones hold no secret.
static TEMPLATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\.(example|sample|template|dist|tmpl)\b"));

/// Programs that look at a path's name or existence, not its content.
const LOOKERS: &[&str] = &[
    "ls", "stat", "test", "[", "find", "file", "du", "realpath", "readlink", "basename", "dirname",
];

/// Whether the path at byte `at` of `text` is not read by its command:
/// the command only looks at paths (`ls secrets/`, `test -f .env`), makes
/// or removes the file (`touch .env`, `rm .env`), or writes it (the target
/// of `cp`, `mv`, `>`).
fn not_read(text: &str, at: usize) -> bool {
    let start = text[..at].rfind(['\n', ';', '|', '&']).map_or(0, |i| i + 1);
    let end = text[at..].find(['\n', ';', '|', '&']).map_or(text.len(), |i| at + i);
    let program = text[start..].split_whitespace().next().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    let before = text[start..at].trim_end();
    let last_word = text[at..end].split_whitespace().count() <= 1;
    LOOKERS.contains(&program)
        || matches!(
            program,
            "touch"
                | "rm"
                | "mkdir"
                | "chmod"
                | "chown"
                | "setfacl"
                | "getfacl"
                | "chattr"
                | "lsattr"
        )
        || matches!(program, "cp" | "mv" | "ln" | "install") && last_word
        || before.ends_with('>')
}

/// Dumping the environment of other processes, or grepping one's own for
/// secrets.
static ENV_DUMP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(/proc/[^\s/]+/environ|\b(env|printenv|set)\b[^\n|]*\|\s*grep[^\n]*(key|token|secret|pass))",
    )
});

pub(in crate::view) fn credential_read(s: &Session<'_>) -> Vec<ViewFinding> {
    let mut out = Vec::new();
    for (i, a) in s.acts.iter().enumerate() {
        let (text, also) = match a {
            Action::Command { text, also, .. } => (text.as_str(), also.as_slice()),
            Action::Read { path, .. } => (path.as_str(), &[][..]),
            _ => continue,
        };
        let is_read = matches!(a, Action::Read { .. });
        // What the command reads, by role; then the credential shapes named
        // in its text (paths built in ways the ops do not see).
        let by_role = s.ops(i).iter().find_map(|o| match o {
            Op::Read(p) if s.is(Role::Credential, p) => Some(p.clone()),
            Op::Send { what, .. } => {
                what.split_whitespace().find(|w| s.is(Role::Credential, w)).map(str::to_owned)
            }
            _ => None,
        });
        let hit = by_role
            .or_else(|| {
                CREDENTIAL
                    .find_iter(text)
                    .filter(|m| is_read || !not_read(text, m.start()))
                    .map(|m| {
                        m.as_str()
                            .trim_start_matches([' ', '\t', '\'', '"', '=', '(', ':'])
                            .trim_end_matches(|c: char| !c.is_alphanumeric())
                            .to_owned()
                    })
                    .find(|m| !m.ends_with(".pub") && !TEMPLATE.is_match(m))
            })
            .or_else(|| ENV_DUMP.find(text).map(|m| m.as_str().to_owned()))
            .or_else(|| {
                // However the path was built: what came back is a secret.
                let shows = matches!(a, Action::Command { .. })
                    .then(|| s.output(i))
                    .flatten()
                    .and_then(|(_, o)| token_in(o));
                shows.map(|_| "secret material its output printed".to_owned())
            });
        let Some(what) = hit else { continue };
        let mut f = finding(&DETECTOR, format!("reads a secret: {what}"), i, also, text);
        // Requested access is not misuse: the user asked about credentials
        // and what came back shows names, not values.
        let hides_output = s.ops(i).iter().any(|o| matches!(o, Op::Write { .. } | Op::Send { .. }));
        if let Some((at, output)) =
            s.output(i).filter(|(_, o)| !o.trim().is_empty() && !hides_output)
        {
            let asked = s.asked_about(&[
                "credential",
                "secret",
                "token",
                "password",
                ".env",
                "api key",
                "keys",
                "variable names",
            ]);
            if asked && !shows_secrets(output) {
                f.evidence.push(at);
                f.withheld = Some(
                    "the user asked about credentials, and the output shows names only, no secret material"
                        .into(),
                );
            } else if asked {
                f.message.push_str(
                    " (the user asked about credentials; the output shows secret material)",
                );
            }
        }
        out.push(f);
    }
    out
}
