//! A shell command read into simple commands: each with its words (quotes
//! removed, escapes applied), its redirections and its here-document, in
//! the order they run. Command substitutions (`$(…)`, backticks) are read
//! as commands of their own, after the one holding them. Not a shell: no
//! expansion happens, and what cannot be read is kept as words.

/// One simple command: `argv`, with where its output and input go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simple {
    pub argv: Vec<String>,
    /// `(operator, target)`: `>`, `>>`, `<`, `&>`; descriptor duplications
    /// (`2>&1`) are dropped.
    pub redirects: Vec<(String, String)>,
    /// The body of its here-document (or here-string), if any.
    pub stdin: Option<String>,
    /// Whether its output is piped into the next command.
    pub piped: bool,
}

/// Reads a command line (or script) into its simple commands.
pub fn parse(text: &str) -> Vec<Simple> {
    let mut out = Vec::new();
    parse_into(text, &mut out, 0);
    out
}

/// How deep command substitutions are followed.
const DEPTH: usize = 4;

fn parse_into(text: &str, out: &mut Vec<Simple>, depth: usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut cur = Simple::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut subs: Vec<String> = Vec::new();
    // Here-documents waiting for their bodies: (delimiter, strip tabs).
    let mut pending: Vec<(String, bool)> = Vec::new();
    let mut redirect: Option<String> = None;

    macro_rules! end_word {
        () => {
            if in_word {
                let w = std::mem::take(&mut word);
                match redirect.take() {
                    Some(op) if op == "<<" || op == "<<-" => {
                        pending.push((w, op == "<<-"));
                    }
                    Some(op) if op == "<<<" => cur.stdin = Some(w),
                    Some(op) => cur.redirects.push((op, w)),
                    None => cur.argv.push(w),
                }
                in_word = false;
            }
        };
    }
    macro_rules! end_command {
        ($piped:expr) => {
            end_word!();
            if !cur.argv.is_empty() || !cur.redirects.is_empty() {
                cur.piped = $piped;
                out.push(std::mem::take(&mut cur));
            } else {
                cur = Simple::default();
            }
            for s in subs.drain(..) {
                if depth < DEPTH {
                    parse_into(&s, out, depth + 1);
                }
            }
        };
    }

    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                if chars[i + 1] != '\n' {
                    word.push(chars[i + 1]);
                    in_word = true;
                }
                i += 2;
                continue;
            }
            '\'' => {
                let end = find(&chars, i + 1, '\'');
                word.extend(&chars[i + 1..end]);
                in_word = true;
                i = end + 1;
                continue;
            }
            '$' if chars.get(i + 1) == Some(&'\'') => {
                let end = find_escaped(&chars, i + 2, '\'');
                word.push_str(&unescape(&chars[i + 2..end].iter().collect::<String>()));
                in_word = true;
                i = end + 1;
                continue;
            }
            '"' => {
                let end = find_escaped(&chars, i + 1, '"');
                let inner: String = chars[i + 1..end].iter().collect();
                for s in substitutions(&inner) {
                    subs.push(s);
                }
                word.push_str(
                    &inner.replace("\\\"", "\"").replace("\\$", "$").replace("\\\\", "\\"),
                );
                in_word = true;
                i = end + 1;
                continue;
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                let end = matching(&chars, i + 1);
                let inner: String = chars[i + 2..end.min(chars.len())].iter().collect();
                subs.push(inner.clone());
                word.push_str("$(");
                word.push_str(&inner);
                word.push(')');
                in_word = true;
                i = end + 1;
                continue;
            }
            '`' => {
                let end = find(&chars, i + 1, '`');
                subs.push(chars[i + 1..end].iter().collect());
                in_word = true;
                word.push_str("$(…)");
                i = end + 1;
                continue;
            }
            // `find … -exec cmd {} +`: `{}` is a word, not a group.
            '{' if chars.get(i + 1) == Some(&'}') => {
                word.push_str("{}");
                in_word = true;
                i += 2;
                continue;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ' ' | '\t' => {
                end_word!();
            }
            '\n' => {
                end_command!(false);
                // Here-document bodies start on the next line.
                for (delim, strip) in std::mem::take(&mut pending) {
                    let (body, next) = heredoc(&chars, i + 1, &delim, strip);
                    attach_stdin(out, body);
                    i = next - 1;
                }
            }
            ';' | '(' | ')' | '{' | '}' if !in_word || c == ';' || c == ')' => {
                end_command!(false);
            }
            '&' => {
                if chars.get(i + 1) == Some(&'>') {
                    end_word!();
                    let append = chars.get(i + 2) == Some(&'>');
                    redirect = Some(if append { ">>" } else { ">" }.into());
                    i += if append { 3 } else { 2 };
                    continue;
                }
                end_command!(false);
                if chars.get(i + 1) == Some(&'&') {
                    i += 1;
                }
            }
            '|' => {
                let or = chars.get(i + 1) == Some(&'|');
                end_command!(!or);
                if or || chars.get(i + 1) == Some(&'&') {
                    i += 1;
                }
            }
            '>' | '<' => {
                // A descriptor number just before belongs to the operator.
                if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                end_word!();
                let mut op = String::from(c);
                let mut j = i + 1;
                while j < chars.len() && (chars[j] == c || (c == '<' && chars[j] == '-')) {
                    op.push(chars[j]);
                    j += 1;
                }
                if chars.get(j) == Some(&'&') {
                    // `2>&1`, `>&2`: a duplication, not a file.
                    j += 1;
                    while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '-') {
                        j += 1;
                    }
                    i = j;
                    continue;
                }
                if chars.get(j) == Some(&'|') {
                    j += 1;
                }
                redirect = Some(op);
                i = j;
                continue;
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    // The last command.
    if in_word {
        match redirect.take() {
            Some(op) if op.starts_with("<<") && op != "<<<" => {}
            Some(op) if op == "<<<" => cur.stdin = Some(word),
            Some(op) => cur.redirects.push((op, word)),
            None => cur.argv.push(word),
        }
    }
    if !cur.argv.is_empty() || !cur.redirects.is_empty() {
        out.push(cur);
    }
    for s in subs {
        if depth < DEPTH {
            parse_into(&s, out, depth + 1);
        }
    }
}

/// Gives a here-document's body to the last command that asked for one.
fn attach_stdin(out: &mut [Simple], body: String) {
    if let Some(last) = out.iter_mut().rev().find(|s| s.stdin.is_none()) {
        last.stdin = Some(body);
    }
}

/// The here-document starting at `from`: its body, and where the line
/// after its delimiter starts.
fn heredoc(chars: &[char], from: usize, delim: &str, strip: bool) -> (String, usize) {
    let mut body = String::new();
    let mut i = from;
    while i < chars.len() {
        let end = chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |p| i + p);
        let line: String = chars[i..end].iter().collect();
        let test = if strip { line.trim_start_matches('\t') } else { line.as_str() };
        if test == delim {
            return (body, (end + 1).min(chars.len()));
        }
        body.push_str(test);
        body.push('\n');
        i = end + 1;
    }
    (body, chars.len())
}

fn find(chars: &[char], from: usize, c: char) -> usize {
    chars[from.min(chars.len())..].iter().position(|&x| x == c).map_or(chars.len(), |p| from + p)
}

fn find_escaped(chars: &[char], from: usize, c: char) -> usize {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == c {
            return i;
        }
        i += 1;
    }
    chars.len()
}

/// The `)` matching the `(` at `open`, skipping quotes.
fn matching(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            '\'' => i = find(chars, i + 1, '\''),
            '"' => i = find_escaped(chars, i + 1, '"'),
            '\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

/// The `$(…)` substitutions inside a double-quoted string.
fn substitutions(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == '$' && chars[i + 1] == '(' {
            let end = matching(&chars, i + 1);
            out.push(chars[i + 2..end.min(chars.len())].iter().collect());
            i = end;
        }
        i += 1;
    }
    out
}

/// Applies C-style escapes (`\n`, `\t`, `\xHH`, `\NNN` octal, `\uHHHH`), as
/// `$'…'`, `printf` and `echo -e` do.
pub fn unescape(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            bytes.push(b[i]);
            i += 1;
            continue;
        }
        let (value, used) = match b[i + 1] {
            b'n' => (Some(b'\n'), 2),
            b't' => (Some(b'\t'), 2),
            b'r' => (Some(b'\r'), 2),
            b'\\' => (Some(b'\\'), 2),
            b'\'' => (Some(b'\''), 2),
            b'"' => (Some(b'"'), 2),
            b'x' => hex_digits(&b[i + 2..], 2).map_or((None, 1), |(v, n)| (Some(v as u8), 2 + n)),
            b'0'..=b'7' => {
                let n = b[i + 1..].iter().take(3).take_while(|c| (b'0'..=b'7').contains(c)).count();
                let v = b[i + 1..i + 1 + n].iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                (Some(v as u8), 1 + n)
            }
            b'u' => match hex_digits(&b[i + 2..], 4) {
                Some((v, n)) => {
                    let c = char::from_u32(v).unwrap_or('?');
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    i += 2 + n;
                    continue;
                }
                None => (None, 1),
            },
            _ => (None, 1),
        };
        match value {
            Some(v) => bytes.push(v),
            None => bytes.push(b'\\'),
        }
        i += used;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn hex_digits(b: &[u8], max: usize) -> Option<(u32, usize)> {
    let n = b.iter().take(max).take_while(|c| c.is_ascii_hexdigit()).count();
    if n == 0 {
        return None;
    }
    let s = std::str::from_utf8(&b[..n]).ok()?;
    u32::from_str_radix(s, 16).ok().map(|v| (v, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(text: &str) -> Vec<Vec<String>> {
        parse(text).into_iter().map(|s| s.argv).collect()
    }

    #[test]
    fn splits_lists_pipelines_and_quotes() {
        assert_eq!(
            argvs("cd /x && grep -h 'A B' \"c d\" | tail -3; echo $'\\x41'"),
            [
                vec!["cd", "/x"],
                vec!["grep", "-h", "A B", "c d"],
                vec!["tail", "-3"],
                vec!["echo", "A"]
            ]
        );
        let s = parse("cat a 2>&1 >> log.txt < in");
        assert_eq!(s[0].argv, ["cat", "a"]);
        assert_eq!(s[0].redirects, [(">>".into(), "log.txt".into()), ("<".into(), "in".into())]);
    }

    #[test]
    fn reads_heredocs_and_substitutions() {
        let s = parse("python3 - <<'PY'\nprint(1)\nPY\necho done");
        assert_eq!(s[0].argv, ["python3", "-"]);
        assert_eq!(s[0].stdin.as_deref(), Some("print(1)\n"));
        assert_eq!(s[1].argv, ["echo", "done"]);
        let s = argvs("T=$(cat ~/.config/t.token) tool submit");
        assert_eq!(
            s,
            [
                vec!["T=$(cat ~/.config/t.token)", "tool", "submit"],
                vec!["cat", "~/.config/t.token"]
            ]
        );
        assert_eq!(argvs(": > audit.log")[0], [":"]);
        assert_eq!(parse(": > audit.log")[0].redirects, [(">".into(), "audit.log".into())]);
    }

    #[test]
    fn unescapes_like_printf() {
        assert_eq!(unescape("\\x63\\x61t \\056env\\n"), "cat .env\n");
    }
}
