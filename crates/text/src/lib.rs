//! Text in other languages' terms: base64, HTML, the POSIX shell. One of
//! each for the whole project, so that a fix to one reaches every user.
//! No dependencies, no I/O.

#![forbid(unsafe_code)]

pub mod base64;

/// `s` safe inside HTML text and double-quoted attributes.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `s` as one single-quoted POSIX shell word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_shell() {
        assert_eq!(
            html_escape(r#"<a href="x">&</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(shell_quote("it's a/b"), r"'it'\''s a/b'");
    }
}
