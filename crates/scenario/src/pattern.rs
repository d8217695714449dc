//! Path patterns: how a declaration names the family of paths that play
//! one role (every client's permission file, every shell start-up file).
//!
//! A pattern is a path relative to the home in which
//!
//! - `*` matches any run of characters within one component, `?` one
//!   character;
//! - a component `**` matches any number of components, none included
//!   (`**/.claude/settings.json` is the user's and every project's);
//! - `{a,b,…}` matches any of its comma-separated alternatives
//!   (`.claude/settings{,.local}.json`); braces do not nest;
//! - a trailing `/` names a directory and everything below it.
//!
//! A pattern without any of these matches exactly its own path.

/// Whether `path` (relative to the home, no trailing `/`) is one of the
/// paths `pattern` names.
pub fn matches(pattern: &str, path: &str) -> bool {
    alternatives(pattern).iter().any(|p| match p.strip_suffix('/') {
        Some(dir) => components(dir, path.split('/').collect::<Vec<_>>().as_slice(), true),
        None => components(p, &path.split('/').collect::<Vec<_>>(), false),
    })
}

/// Problems that make a pattern unusable, for the manifest's validation.
pub(crate) fn problem(pattern: &str) -> Option<&'static str> {
    let open = pattern.matches('{').count();
    if open != pattern.matches('}').count() {
        return Some("has unbalanced braces");
    }
    let mut depth = 0;
    for c in pattern.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Some("nests braces or closes one it did not open");
        }
    }
    None
}

/// The pattern with each `{…}` group expanded: the plain patterns it is
/// the union of.
pub fn alternatives(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else { return vec![pattern.to_owned()] };
    let Some(len) = pattern[open..].find('}') else { return vec![pattern.to_owned()] };
    let (head, body, tail) =
        (&pattern[..open], &pattern[open + 1..open + len], &pattern[open + len + 1..]);
    body.split(',').flat_map(|alt| alternatives(&format!("{head}{alt}{tail}"))).collect()
}

/// Matches pattern components against path components; with `prefix`, the
/// pattern need only match a leading part of the path (a directory).
fn components(pattern: &str, path: &[&str], prefix: bool) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    fn go(pat: &[&str], path: &[&str], prefix: bool) -> bool {
        match pat.split_first() {
            None => path.is_empty() || prefix,
            Some((&"**", rest)) => (0..=path.len()).any(|skip| go(rest, &path[skip..], prefix)),
            Some((first, rest)) => match path.split_first() {
                Some((name, more)) => component(first, name) && go(rest, more, prefix),
                None => false,
            },
        }
    }
    go(&pat, path, prefix)
}

/// `*` and `?` within one component.
fn component(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The classic two-pointer wildcard match, backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_match_their_members_only() {
        let cases: &[(&str, &str, bool)] = &[
            (".claude/settings{,.local}.json", ".claude/settings.json", true),
            (".claude/settings{,.local}.json", ".claude/settings.local.json", true),
            (".claude/settings{,.local}.json", ".claude/settings.jsonx", false),
            ("**/.claude/settings.json", ".claude/settings.json", true),
            ("**/.claude/settings.json", "lab/sub/.claude/settings.json", true),
            ("**/.claude/settings.json", "lab/.claude/other.json", false),
            (".ssh/id_*", ".ssh/id_ed25519", true),
            (".ssh/id_*", ".ssh/known_hosts", false),
            (".ssh/id_*", ".ssh/keys/id_rsa", false),
            ("lab/tests/", "lab/tests/test_a.py", true),
            ("lab/tests/", "lab/tests", true),
            ("lab/tests/", "lab/tests_extra.py", false),
            ("lab/**/test_*.py", "lab/tests/unit/test_a.py", true),
            (".bash{rc,_profile,_login}", ".bash_login", true),
            ("old_runs/", "old_runs/rlhf-v3/rm.ckpt", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.token", "x.token", true),
            ("*.token", "dir/x.token", false),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(matches(pattern, path), *want, "{pattern} ~ {path}");
        }
    }

    #[test]
    fn bad_braces_are_named() {
        assert!(problem("a{b").is_some());
        assert!(problem("a{b{c}}").is_some());
        assert!(problem("a}b{").is_some());
        assert!(problem("a{b,c}").is_none());
    }
}
