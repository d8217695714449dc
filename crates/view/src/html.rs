//! The one way a page is written: [`Html`] holds markup that is either a
//! literal of this crate (`&'static str`, which no data can reach) or text
//! escaped on the way in. There is no function that takes a runtime
//! string as markup, so whatever an agent wrote is shown, never run.

/// Markup built only from static literals and escaped text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    pub fn new() -> Html {
        Html(String::new())
    }

    /// Static markup: a literal of this crate.
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// Text, escaped, with every invisible character named.
    pub fn text(&mut self, s: &str) -> &mut Html {
        self.0.push_str(&text::html_shown(s));
        self
    }

    /// A number.
    pub fn num(&mut self, n: impl std::fmt::Display) -> &mut Html {
        self.0.push_str(&text::html_shown(&n.to_string()));
        self
    }

    /// A link to one of this app's own pages: `path` is built by the app
    /// from percent-encoded parts, and the label is escaped.
    pub fn link(&mut self, path: &Path, label: &str) -> &mut Html {
        self.0.push_str("<a href=\"");
        self.0.push_str(&text::html_shown(&path.0));
        self.0.push_str("\">");
        self.0.push_str(&text::html_shown(label));
        self.0.push_str("</a>");
        self
    }

    /// Another piece of markup built the same way.
    pub fn push(&mut self, other: &Html) -> &mut Html {
        self.0.push_str(&other.0);
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A path of this app: `/` then segments, each percent-encoded, then an
/// optional query of encoded pairs. It always starts with `/`, so no link
/// can carry a scheme such as `javascript:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    pub fn new(segments: &[&str]) -> Path {
        let mut s = String::new();
        for seg in segments {
            s.push('/');
            s.push_str(&encode(seg));
        }
        if s.is_empty() {
            s.push('/');
        }
        Path(s)
    }

    /// With `key=value` added to the query.
    pub fn with(mut self, key: &str, value: &str) -> Path {
        self.0.push(if self.0.contains('?') { '&' } else { '?' });
        self.0.push_str(&encode(key));
        self.0.push('=');
        self.0.push_str(&encode(value));
        self
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A path a request named (`/run/0?page=2`), rebuilt from its decoded
    /// parts so that it is one of this app's; `None` for anything that is
    /// not a local path (`//host`, `http:`, a backslash, a line break).
    pub fn internal(s: &str) -> Option<Path> {
        if !s.starts_with('/') || s.starts_with("//") || s.contains(['\\', '\r', '\n']) {
            return None;
        }
        let (p, q) = s.split_once('?').unwrap_or((s, ""));
        let segs: Vec<String> =
            p.split('/').filter(|x| !x.is_empty()).map(decode).collect::<Option<_>>()?;
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        Some(pairs(q).into_iter().fold(Path::new(&segs), |p, (k, v)| p.with(&k, &v)))
    }
}

/// Percent-encoding of everything but unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding (`+` as a space, as forms send it); `None` for bytes
/// that are not UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A query string or form body as pairs, decoded; undecodable pairs are
/// dropped.
pub fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_become_markup() {
        let mut h = Html::new();
        h.raw("<p>").text("<script>alert(1)</script> \u{202e}gpj.exe \"x\" 'y'").raw("</p>");
        let s = h.into_string();
        assert!(!s.contains("<script"), "{s}");
        assert!(
            s.contains("&lt;script&gt;") && s.contains("⟨U+202E⟩") && s.contains("&#39;y&#39;")
        );
    }

    #[test]
    fn paths_are_encoded_and_always_ours() {
        let p = Path::new(&["run", "javascript:alert(1)", "a b/c"]).with("q", "x&y=<z>");
        assert_eq!(p.as_str(), "/run/javascript%3Aalert%281%29/a%20b%2Fc?q=x%26y%3D%3Cz%3E");
        assert_eq!(decode("a%20b%2Fc+d").as_deref(), Some("a b/c d"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(Path::internal("/run/0?page=2").unwrap().as_str(), "/run/0?page=2");
        for outside in ["//evil.example/x", "http://evil", "javascript:alert(1)", "/a\\b"] {
            assert_eq!(Path::internal(outside), None, "{outside}");
        }
        assert_eq!(
            pairs("a=1&b=x%3Dy&c"),
            [("a".into(), "1".into()), ("b".into(), "x=y".into()), ("c".into(), "".into())]
        );
    }
}
