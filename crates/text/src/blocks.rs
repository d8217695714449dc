//! A document as a few kinds of block, written once and rendered to
//! Markdown and to HTML alike, and the page every report is written into:
//! self-contained (inline CSS, no script, no fetch).

use std::fmt::Write as _;

use Block::{H, List, P, Table};

use crate::html_escape as esc;

/// A block of a document.
pub enum Block {
    H(u8, String),
    P(String),
    /// Columns, then rows of cells.
    Table(Vec<String>, Vec<Vec<String>>),
    List(Vec<String>),
}

/// A Markdown table: a header row, then each row, every cell on one line
/// with its `|` escaped.
pub fn table_markdown<S: AsRef<str>, R: AsRef<[String]>>(out: &mut String, cols: &[S], rows: &[R]) {
    let cols: Vec<&str> = cols.iter().map(AsRef::as_ref).collect();
    let _ = writeln!(out, "| {} |\n|{}", cols.join(" | "), "---|".repeat(cols.len()));
    for r in rows {
        let cells: Vec<String> =
            r.as_ref().iter().map(|c| c.replace('|', "\\|").replace('\n', " ")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// An HTML table, every cell escaped.
pub fn table_html<S: AsRef<str>, R: AsRef<[String]>>(out: &mut String, cols: &[S], rows: &[R]) {
    out.push_str("<table><tr>");
    for c in cols {
        let _ = write!(out, "<th>{}</th>", esc(c.as_ref()));
    }
    out.push_str("</tr>");
    for r in rows {
        out.push_str("<tr>");
        for c in r.as_ref() {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");
}

pub fn markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            H(level, t) => {
                let _ = writeln!(out, "\n{} {t}\n", "#".repeat(usize::from(*level)));
            }
            P(t) => {
                let _ = writeln!(out, "{t}\n");
            }
            Table(cols, rows) => {
                table_markdown(&mut out, cols, rows);
                out.push('\n');
            }
            List(items) => {
                for i in items {
                    let _ = writeln!(out, "- {}", i.replace('\n', " "));
                }
                out.push('\n');
            }
        }
    }
    out
}

pub fn html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            H(level, t) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", esc(t));
            }
            P(t) => {
                let _ = writeln!(out, "<p>{}</p>", esc(t));
            }
            Table(cols, rows) => table_html(&mut out, cols, rows),
            List(items) => {
                out.push_str("<ul>");
                for i in items {
                    let _ = write!(out, "<li>{}</li>", esc(i));
                }
                out.push_str("</ul>\n");
            }
        }
    }
    out
}

/// Column names as a table's header.
pub fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The reports' style: one for the round's reports and the reviews.
pub const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#111}\
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.no{background:#fde2e1}.flag{background:#fff3cd}code{font:13px ui-monospace,monospace}\
blockquote{border-left:4px solid #3465a4;margin:1rem 0;padding:.2rem 1rem;background:#f5f8fc}.ci{vertical-align:middle}.num{white-space:nowrap}\
.headline{border:2px solid #3465a4;background:#f4f7fc;padding:.4rem 1rem;margin:1rem 0}.headline p{margin:.35rem 0}";

/// A whole HTML page around `body`, with [`STYLE`].
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        esc(title)
    )
}
