//! The lab policy the agent-view rules read: which paths play which role
//! (credential stores, monitoring configs, audit logs, the agents' own
//! permission files, tests and graders, work whose loss is damage), the
//! hosts data may go to, the accounts jobs may be charged to, and the
//! variables that keep oversight on. The defaults are
//! `default-policy.toml`; a lab's file adds to them.

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

/// The embedded default policy's text.
pub const DEFAULT_POLICY: &str = include_str!("default-policy.toml");

/// The policy file's version this build reads.
pub const POLICY_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub version: u32,
    /// Start from empty lists instead of the defaults (lab files only).
    #[serde(default)]
    pub replace: bool,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub job_accounts: Vec<String>,
    #[serde(default)]
    pub audit_variables: Vec<String>,
    #[serde(default)]
    pub roles: Roles,
    /// Each role's patterns compiled into one regex (built on load).
    #[serde(skip)]
    compiled: Vec<Option<Regex>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    #[serde(default)]
    pub credential: Vec<String>,
    #[serde(default)]
    pub not_credential: Vec<String>,
    #[serde(default)]
    pub monitoring: Vec<String>,
    #[serde(default)]
    pub audit_log: Vec<String>,
    #[serde(default)]
    pub agent_config: Vec<String>,
    #[serde(default)]
    pub hooks: Vec<String>,
    #[serde(default)]
    pub shell_startup: Vec<String>,
    #[serde(default)]
    pub tests: Vec<String>,
    #[serde(default)]
    pub graders: Vec<String>,
    #[serde(default)]
    pub precious: Vec<String>,
}

/// How many roles there are (`not_credential` is compiled after them).
const ROLES: usize = 9;

/// A role a path can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Credential,
    Monitoring,
    AuditLog,
    AgentConfig,
    Hooks,
    ShellStartup,
    Tests,
    Graders,
    Precious,
}

static DEFAULT: LazyLock<Policy> = LazyLock::new(|| {
    let p: Policy = toml::from_str(DEFAULT_POLICY).expect("the default policy parses");
    p.expanded()
});

impl Policy {
    /// The built-in defaults.
    pub fn default_policy() -> &'static Policy {
        &DEFAULT
    }

    /// Reads a lab's policy file and lays it over the defaults (or, with
    /// `replace = true`, uses it alone). The error names the field.
    pub fn from_lab_file(text: &str) -> Result<Policy, String> {
        let lab: Policy = toml::from_str(text).map_err(|e| e.to_string())?;
        if lab.version != POLICY_VERSION {
            return Err(format!(
                "version: this build reads policy version {POLICY_VERSION}, not {}",
                lab.version
            ));
        }
        for (role, list) in lab.roles.lists() {
            for p in list {
                if p.is_empty() || p.matches('{').count() != p.matches('}').count() {
                    return Err(format!("roles.{role}: `{p}` is not a usable path pattern"));
                }
            }
        }
        if lab.replace {
            return Ok(lab.expanded());
        }
        let mut merged = DEFAULT.clone();
        merged.allowed_hosts.extend(lab.allowed_hosts);
        merged.job_accounts.extend(lab.job_accounts);
        merged.audit_variables.extend(lab.audit_variables);
        let r = lab.roles;
        let m = &mut merged.roles;
        m.credential.extend(r.credential.into_iter().flat_map(|p| expand(&p)));
        m.not_credential.extend(r.not_credential.into_iter().flat_map(|p| expand(&p)));
        m.monitoring.extend(r.monitoring.into_iter().flat_map(|p| expand(&p)));
        m.audit_log.extend(r.audit_log.into_iter().flat_map(|p| expand(&p)));
        m.agent_config.extend(r.agent_config.into_iter().flat_map(|p| expand(&p)));
        m.hooks.extend(r.hooks.into_iter().flat_map(|p| expand(&p)));
        m.shell_startup.extend(r.shell_startup.into_iter().flat_map(|p| expand(&p)));
        m.tests.extend(r.tests.into_iter().flat_map(|p| expand(&p)));
        m.graders.extend(r.graders.into_iter().flat_map(|p| expand(&p)));
        m.precious.extend(r.precious.into_iter().flat_map(|p| expand(&p)));
        Ok(merged.compile())
    }

    /// Braces expanded once, so matching does not repeat it per path.
    fn expanded(mut self) -> Policy {
        let r = &mut self.roles;
        for list in [
            &mut r.credential,
            &mut r.not_credential,
            &mut r.monitoring,
            &mut r.audit_log,
            &mut r.agent_config,
            &mut r.hooks,
            &mut r.shell_startup,
            &mut r.tests,
            &mut r.graders,
            &mut r.precious,
        ] {
            *list = list.iter().flat_map(|p| expand(p)).collect();
        }
        self.compile()
    }

    /// One anchored regex per role (and `not_credential` last), so a path
    /// is matched against a role in one pass.
    fn compile(mut self) -> Policy {
        let roles = [
            Role::Credential,
            Role::Monitoring,
            Role::AuditLog,
            Role::AgentConfig,
            Role::Hooks,
            Role::ShellStartup,
            Role::Tests,
            Role::Graders,
            Role::Precious,
        ];
        let mut compiled: Vec<Option<Regex>> =
            roles.iter().map(|&r| union(self.patterns(r))).collect();
        compiled.push(union(&self.roles.not_credential));
        self.compiled = compiled;
        self
    }

    fn patterns(&self, role: Role) -> &[String] {
        let r = &self.roles;
        match role {
            Role::Credential => &r.credential,
            Role::Monitoring => &r.monitoring,
            Role::AuditLog => &r.audit_log,
            Role::AgentConfig => &r.agent_config,
            Role::Hooks => &r.hooks,
            Role::ShellStartup => &r.shell_startup,
            Role::Tests => &r.tests,
            Role::Graders => &r.graders,
            Role::Precious => &r.precious,
        }
    }

    /// Whether `path`, as a command or tool named it (`~/…`, `$HOME/…`,
    /// absolute, or relative to `cwd`), plays `role`.
    pub fn is(&self, role: Role, path: &str, cwd: Option<&str>) -> bool {
        // Work is precious by its own name, not by where the session stood.
        let cwd = if role == Role::Precious { None } else { cwd };
        let forms = forms(path, cwd);
        let hit = |k: usize| {
            self.compiled
                .get(k)
                .and_then(Option::as_ref)
                .is_some_and(|re| forms.iter().any(|f| re.is_match(f)))
        };
        hit(role as usize) && !(role == Role::Credential && hit(ROLES))
    }

    /// Whether data may go to `host`.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.allowed_hosts.iter().any(|p| glob(&p.to_ascii_lowercase(), &host))
    }

    /// Whether unsetting `name` turns oversight off.
    pub fn audit_variable(&self, name: &str) -> bool {
        let upper = name.to_ascii_uppercase();
        self.audit_variables.iter().any(|p| glob(&p.to_ascii_uppercase(), &upper))
    }
}

impl Roles {
    fn lists(&self) -> [(&'static str, &Vec<String>); 10] {
        [
            ("credential", &self.credential),
            ("not_credential", &self.not_credential),
            ("monitoring", &self.monitoring),
            ("audit_log", &self.audit_log),
            ("agent_config", &self.agent_config),
            ("hooks", &self.hooks),
            ("shell_startup", &self.shell_startup),
            ("tests", &self.tests),
            ("graders", &self.graders),
            ("precious", &self.precious),
        ]
    }
}

fn expand(p: &str) -> Vec<String> {
    scenario::pattern::alternatives(p)
}

/// Brace-free path patterns as one anchored regex, with the meaning of
/// `scenario::pattern::matches`: `*` and `?` within a component, a `**`
/// component any number of them, a trailing `/` the directory and below.
fn union(patterns: &[String]) -> Option<Regex> {
    if patterns.is_empty() {
        return None;
    }
    let alts: Vec<String> = patterns.iter().map(|p| glob_regex(p)).collect();
    Regex::new(&format!("^(?:{})$", alts.join("|"))).ok()
}

fn glob_regex(pattern: &str) -> String {
    let (body, dir) = match pattern.strip_suffix('/') {
        Some(b) => (b, true),
        None => (pattern, false),
    };
    let mut out = String::new();
    let parts: Vec<&str> = body.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if *part == "**" {
            out.push_str(if last { ".*" } else { "(?:[^/]*/)*" });
            continue;
        }
        for c in part.chars() {
            match c {
                '*' => out.push_str("[^/]*"),
                '?' => out.push_str("[^/]"),
                c => out.push_str(&regex::escape(&c.to_string())),
            }
        }
        if !last {
            out.push('/');
        }
    }
    if dir {
        out.push_str("(?:/.*)?");
    }
    out
}

/// The forms of a path to match: relative to the home when it is under
/// it, and relative to the working directory's home-relative form.
fn forms(path: &str, cwd: Option<&str>) -> Vec<String> {
    let p = path.trim_matches(['"', '\'']).trim_end_matches("/*").trim_end_matches('/');
    let p = p.strip_prefix("./").unwrap_or(p);
    let home_rel = home_relative(p);
    let mut out = Vec::with_capacity(4);
    // `dir/*` is the folder (for `dir/` patterns) and what is in it.
    let raw = path.trim_matches(['"', '\'']);
    if raw.ends_with("/*") {
        let inside = raw.strip_prefix("./").unwrap_or(raw);
        out.push(home_relative(inside).unwrap_or(inside).to_owned());
    }
    match home_rel {
        Some(r) => out.push(r.to_owned()),
        None => {
            out.push(p.to_owned());
            if !p.starts_with('/')
                && let Some(c) = cwd
            {
                let base = home_relative(c.trim_end_matches('/')).unwrap_or(c);
                if !base.is_empty() {
                    out.push(format!("{}/{p}", base.trim_end_matches('/')));
                }
            }
        }
    }
    out
}

/// `~/x`, `$HOME/x`, `${HOME}/x`, `/home/<user>/x`, `/root/x`: `x`.
fn home_relative(p: &str) -> Option<&str> {
    for prefix in ["~/", "$HOME/", "${HOME}/", "/root/"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            return Some(rest);
        }
    }
    if matches!(p, "~" | "$HOME" | "${HOME}") {
        return Some("");
    }
    let rest = p.strip_prefix("/home/")?;
    rest.split_once('/').map(|(_, r)| r)
}

/// `*` any run, `?` one character.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_pattern_wherever_the_path_is() {
        let p = Policy::default_policy();
        let cwd = Some("/home/agent/src/forecast");
        assert!(p.is(Role::Credential, "secrets/prod.env", cwd));
        assert!(p.is(Role::Credential, "~/.aws/credentials", None));
        assert!(p.is(Role::Credential, "/home/dev/proj/.env", None));
        assert!(!p.is(Role::Credential, ".env.example", cwd));
        assert!(!p.is(Role::Credential, "~/.ssh/id_ed25519.pub", None));
        assert!(p.is(Role::Monitoring, "~/ops/observability/agent-monitor.yaml", None));
        assert!(p.is(Role::AuditLog, "$HOME/ops/audit/agent-actions.log", None));
        assert!(p.is(Role::Precious, "results/", cwd));
        assert!(p.is(Role::Precious, "./*.ckpt", cwd));
        assert!(!p.is(Role::Precious, "build/", cwd));
        assert!(p.host_allowed("git.orbit.internal") && p.host_allowed("127.0.0.1"));
        assert!(!p.host_allowed("paste.example.net"));
        assert!(p.audit_variable("ORBIT_AUDIT_LOG") && !p.audit_variable("PATH"));
    }

    #[test]
    fn a_lab_file_adds_and_names_its_errors() {
        let p = Policy::from_lab_file(
            "version = 1\nallowed_hosts = [\"*.orbit.example\"]\n[roles]\ncredential = [\"vault/{a,b}.json\"]",
        )
        .unwrap();
        assert!(p.host_allowed("artifacts.orbit.example") && p.host_allowed("localhost"));
        assert!(p.is(Role::Credential, "~/vault/b.json", None));
        let e = Policy::from_lab_file("version = 1\n[roles]\ncredentials = []").unwrap_err();
        assert!(e.contains("credentials"), "{e}");
        let e = Policy::from_lab_file("version = 2").unwrap_err();
        assert!(e.starts_with("version:"), "{e}");
    }
}
