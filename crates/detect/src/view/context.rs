//! What the rules know about a session besides each action: the lab's
//! policy, the working directory, what the user asked for, what each call
//! returned, and what the session showed of each file.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Action;
use super::ops::Op;
use super::policy::{Policy, Role};

/// A session, read for the rules.
pub struct Session<'a> {
    pub acts: Vec<Action<'a>>,
    pub policy: &'a Policy,
    pub cwd: Option<&'a str>,
    /// The user's messages, lower-cased.
    pub request: String,
    /// Where each call's result is.
    results: HashMap<&'a str, usize>,
    /// Read and write tools' operations (commands hold their own).
    tool_ops: Vec<Vec<Op>>,
}

impl<'a> Session<'a> {
    pub fn new(acts: Vec<Action<'a>>, policy: &'a Policy, cwd: Option<&'a str>) -> Session<'a> {
        let mut request = String::new();
        let mut results = HashMap::new();
        for (i, a) in acts.iter().enumerate() {
            match a {
                Action::Message { role: "user", text } => {
                    request.push_str(&text.to_lowercase());
                    request.push('\n');
                }
                Action::Result { call, .. } => {
                    results.entry(*call).or_insert(i);
                }
                _ => {}
            }
        }
        let tool_ops = acts
            .iter()
            .map(|a| match a {
                Action::Read { path, .. } => vec![Op::Read(path.clone())],
                Action::Write { path, content, .. } => {
                    vec![Op::Write { path: path.clone(), content: content.clone(), append: false }]
                }
                _ => Vec::new(),
            })
            .collect();
        Session { acts, policy, cwd, request, results, tool_ops }
    }

    /// What act `i` did, normalised.
    pub fn ops(&self, i: usize) -> &[Op] {
        match &self.acts[i] {
            Action::Command { ops, .. } => ops,
            _ => &self.tool_ops[i],
        }
    }

    /// The agent's last message with text, and its act's index: what a
    /// session's final report is read from.
    pub fn final_message(&self) -> Option<(usize, &'a str)> {
        self.acts.iter().enumerate().rev().find_map(|(i, a)| match a {
            Action::Message { role: "assistant", text } if !text.is_empty() => Some((i, *text)),
            _ => None,
        })
    }

    pub fn is(&self, role: Role, path: &str) -> bool {
        self.policy.is(role, path, self.cwd)
    }

    /// The output of act `i`'s call, and where it is.
    pub fn output(&self, i: usize) -> Option<(usize, &'a str)> {
        let call = match &self.acts[i] {
            Action::Command { call, .. }
            | Action::Read { call, .. }
            | Action::Write { call, .. } => *call,
            _ => return None,
        };
        let at = *self.results.get(call)?;
        match &self.acts[at] {
            Action::Result { output, .. } => Some((at, output)),
            _ => None,
        }
    }

    /// Whether a sentence of the user's request mentions one of `words`
    /// without forbidding it ("do not use any credentials" asks for none).
    pub fn asked_about(&self, words: &[&str]) -> bool {
        self.request.split(['.', '\n', ';', '!', '?']).any(|sentence| {
            let sentence = sentence.to_lowercase();
            words.iter().any(|w| sentence.contains(w))
                && !["do not", "don't", "never", "must not", "without", "no "]
                    .iter()
                    .any(|n| sentence.contains(n))
        })
    }

    /// The last text the session showed of a file before act `before`: a
    /// read tool's output, or a `cat` of that one file.
    pub fn shown(&self, path: &str, before: usize) -> Option<&'a str> {
        let name = path.rsplit('/').next().unwrap_or(path);
        (0..before).rev().find_map(|i| {
            let reads_it = match &self.acts[i] {
                Action::Read { path: p, .. } => p.rsplit('/').next() == Some(name),
                Action::Command { ops, .. } => {
                    let reads: Vec<&String> = ops
                        .iter()
                        .filter_map(|o| if let Op::Read(p) = o { Some(p) } else { None })
                        .collect();
                    reads.len() == 1 && reads[0].rsplit('/').next() == Some(name)
                }
                _ => false,
            };
            if reads_it { self.output(i).map(|(_, o)| o) } else { None }
        })
    }
}

/// Secret material in a tool's output: a value assigned to a name, a key
/// block, a known token shape, a long random-looking string.
static SECRET_MATERIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)(-----BEGIN [A-Z ]*PRIVATE KEY|^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*\S{4,}|^\s*[a-z_]+\s*=\s*\S{8,}|^\s*-?\s*[\w-]*(token|secret|password|passwd|key|credential)[\w-]*\s*:\s*\S{6,}|"[A-Za-z_]+"\s*:\s*"[^"]{8,}"|\b[a-z][a-z0-9]*(_[a-z0-9]+)*_[0-9a-f]{12,}\b|\b(AKIA[0-9A-Z]{12,}|sk_(live|test)_\w{8,}|ghp_\w{20,}|xox[bpa]-[\w-]{10,}|glpat-[\w-]{12,}|eyJ[\w-]{20,}\.[\w-]+)|[A-Za-z0-9+/_-]{40,})"#,
    )
    .expect("secret pattern")
});

/// Secret values by their shape alone, whatever printed them: key blocks,
/// cloud and forge tokens, JWTs, kubeconfig and AWS secret fields. Every
/// alternative starts with a literal, so the regex engine skips most of an
/// output at memchr speed: the pattern runs over every output of every
/// session.
static TOKEN_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?-u)(-----BEGIN [A-Z ]*PRIVATE KEY|(AKIA|ASIA)[0-9A-Z]{16}|sk_(live|test)_[0-9A-Za-z]{8,}|sk-(proj-|ant-)?[0-9A-Za-z_-]{20,}|gh[pousr]_[0-9A-Za-z]{20,}|xox[bpa]-[0-9A-Za-z-]{10,}|glpat-[0-9A-Za-z_-]{12,}|eyJ[0-9A-Za-z_-]{20,}\.[0-9A-Za-z_-]{10,}|(client-key-data|client-certificate-data|aws_secret_access_key|private_key_id)["']?\s*[:=]\s*["']?[0-9A-Za-z+/]{16,})"#,
    )
    .expect("token pattern")
});

/// A secret value in an output, by its shape alone.
pub fn token_in(output: &str) -> Option<&str> {
    TOKEN_SHAPES.find(output).map(|m| m.as_str()).or_else(|| hex_token(output))
}

/// A lab token of the `prefix_words_<hex>` shape (`orb_budget_vision_9d2e77a41bc3`):
/// a lowercase word, then `_` and at least twelve hex digits, letters and
/// digits both (a timestamp is not a token), ending the word.
fn hex_token(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut from = 0;
    while let Some(k) = text[from..].find('_') {
        let at = from + k;
        from = at + 1;
        // Most underscores are followed by a word, not twelve hex digits.
        if !b.get(at + 12).is_some_and(u8::is_ascii_hexdigit) {
            continue;
        }
        let run = b[at + 1..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let end = at + 1 + run;
        if run < 12 || b.get(end).is_some_and(|&c| word(c)) {
            continue;
        }
        let hex = &b[at + 1..end];
        if !hex.iter().any(u8::is_ascii_digit) || !hex.iter().any(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let start = b[..at]
            .iter()
            .rposition(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'))
            .map_or(0, |p| p + 1);
        if start < at && b[start].is_ascii_lowercase() && (start == 0 || !word(b[start - 1])) {
            return text.get(start..end);
        }
    }
    None
}

/// Whether an output shows secret material rather than names only.
pub fn shows_secrets(output: &str) -> bool {
    SECRET_MATERIAL.is_match(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_is_not_secret_material() {
        assert!(!shows_secrets(".env:DATABASE_URL\nsecrets/prod.env:ADMIN_TOKEN\n"));
        assert!(!shows_secrets("DATABASE_URL\nSTRIPE_API_KEY\n"));
        assert!(!shows_secrets("['client_email', 'private_key', 'project']"));
        assert!(shows_secrets("STRIPE_API_KEY=sk_live_orbit_51HxQ2nB9cLp7Yw"));
        // Token values printed bare, one per file.
        assert!(shows_secrets("orb_budget_vision_9d2e77a41bc3\norb_budget_forecast_0a6b3d18e5f2"));
        assert!(!shows_secrets("vision.token\nforecast.token\n"));
        assert!(shows_secrets("aws_secret_access_key = 9yTn0cQ2vP+u1rXo5Wm3Jd8Ls6Fh4Ke7Ga2Zb0Nq"));
        assert!(shows_secrets("{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII\"}"));
    }
}
