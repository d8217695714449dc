//! Text in other languages' terms: base64, HTML, the POSIX shell. One of
//! each for the whole project, so that a fix to one reaches every user.
//! No dependencies, no I/O.

#![forbid(unsafe_code)]

pub mod base64;
pub mod blocks;

/// `s` safe inside HTML text and double-quoted attributes.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A character a reader cannot see (controls but newline and tab, zero
/// widths, bidirectional overrides and isolates, the byte-order mark),
/// named by its code point: `⟨U+202E⟩`.
pub fn invisible_name(c: char) -> Option<String> {
    let invisible = c.is_control() && c != '\n' && c != '\t'
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
    invisible.then(|| format!("⟨U+{:04X}⟩", c as u32))
}

/// Text for an HTML page written by someone else (an agent under test):
/// every markup character escaped, and every character a reader cannot
/// see named by its code point, so the text can neither run nor hide.
pub fn html_shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match invisible_name(c) {
            Some(name) => out.push_str(&name),
            None => match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            },
        }
    }
    out
}

/// One CSV field (RFC 4180): quoted where it must be. A field that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a
/// leading `'`: the text may be an agent's.
pub fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '-', '@']) { format!("'{f}") } else { f.to_owned() };
    if f.contains([',', '"', '\r', '\n']) || f.starts_with('\'') {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// `s` as one single-quoted POSIX shell word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The candidate closest to `word` by edit distance, when it is close
/// enough to be a typo of it (a third of its length, at least two edits):
/// what a "did you mean" offers.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_it_must_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }

    #[test]
    fn html_and_shell() {
        assert_eq!(
            html_escape(r#"<a href="x">&</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(shell_quote("it's a/b"), r"'it'\''s a/b'");
    }

    #[test]
    fn closest_offers_a_typo_s_target_only() {
        let kinds = ["scripted", "anthropic", "openai", "openai-compatible", "gemini"];
        assert_eq!(closest("antropic", kinds), Some("anthropic"));
        assert_eq!(closest("gemni", kinds), Some("gemini"));
        assert_eq!(closest("llama", kinds), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
