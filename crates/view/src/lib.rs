//! `perimeter view`: a local web app over run folders, scan reports,
//! incident catalogues, monitor results and round folders, where a person
//! reads an episode as the agent's account beside what the sandbox saw,
//! and confirms, dismisses or re-grades what the machine labelled.
//!
//! What it shows was written by the agent under test, so every page is
//! built through [`html::Html`], which takes markup only from this crate's
//! literals; pages carry no script at all and a Content-Security-Policy
//! that would refuse one. The app answers only the loopback host names,
//! and only a browser that presented the random token it was started with.
//! Decisions go to an append-only journal (`journal.rs`), synced before
//! they are acknowledged.

#![forbid(unsafe_code)]

pub mod html;
pub mod index;
pub mod journal;
mod pages;
pub mod sources;

use std::io::BufReader;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use formats::review::{Decision, Target, Verdict};

pub use journal::Journal;
pub use sources::Sources;

/// The policy every page of the app is served with: nothing but its own
/// stylesheet and forms that post back to it.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A round's own report files carry their style inline and no script.
const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The cookie that carries the token once the browser presented it.
const COOKIE: &str = "perimeter_view";

/// An answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn page(status: u16, body: String) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into_bytes(),
        }
    }

    fn file(content_type: &str, body: Vec<u8>) -> Response {
        Response { status: 200, headers: vec![("content-type".into(), content_type.into())], body }
    }

    fn redirect(to: &html::Path) -> Response {
        Response {
            status: 303,
            headers: vec![
                ("location".into(), to.as_str().into()),
                ("content-type".into(), "text/plain".into()),
            ],
            body: b"see other\n".to_vec(),
        }
    }
}

/// The app: what it shows, where decisions go, and who makes them.
pub struct App {
    pub sources: Sources,
    pub journal: Journal,
    /// Who decisions are attributed to; without one, pages are read-only.
    pub reviewer: Option<String>,
    token: String,
    port: u16,
    traces: index::Cache,
    clock: Box<dyn trace::Clock>,
}

impl App {
    pub fn new(
        sources: Sources,
        journal: Journal,
        reviewer: Option<String>,
        token: String,
        port: u16,
        clock: Box<dyn trace::Clock>,
    ) -> App {
        App { sources, journal, reviewer, token, port, traces: index::Cache::default(), clock }
    }

    /// Serves the app on `listener` (bound by the caller to loopback), a
    /// thread per connection, until the server is dropped.
    pub fn serve(self: Arc<App>, listener: TcpListener) -> std::io::Result<http1::Server> {
        http1::Server::start(listener, move |conn| {
            let Ok(reader) = conn.try_clone() else { return };
            let mut reader = BufReader::new(reader);
            let mut writer = conn;
            while let Ok(Some(head)) = http1::read_head(&mut reader) {
                let Ok((body, _)) = http1::read_body(&mut reader, &head, 1 << 20) else { return };
                let r = self.handle(&head.method, &head.target, &head.headers, &body);
                let mut headers: Vec<(&str, &str)> =
                    r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let csp = if head.path().starts_with("/round/") && head.path().ends_with("/file") {
                    REPORT_CSP
                } else {
                    CSP
                };
                headers.extend([
                    ("content-security-policy", csp),
                    ("x-content-type-options", "nosniff"),
                    ("referrer-policy", "same-origin"),
                    ("cache-control", "no-store"),
                    ("x-frame-options", "DENY"),
                ]);
                let close =
                    head.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
                if close {
                    headers.push(("connection", "close"));
                }
                if http1::write_response_with(&mut writer, r.status, &headers, &r.body).is_err()
                    || close
                {
                    return;
                }
            }
        })
    }

    /// The URL that opens the app in a browser: it presents the token once,
    /// which the app keeps as a cookie.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.port, self.token)
    }

    /// One request.
    pub fn handle(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Response {
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        // Only loopback names: a page elsewhere cannot reach the app
        // through a name of its own that resolves here.
        let host_ok = header("host").is_some_and(|h| {
            let port = format!(":{}", self.port);
            ["127.0.0.1", "localhost", "[::1]"].iter().any(|n| h == format!("{n}{port}"))
        });
        if !host_ok {
            return pages::refused(421, "This app answers http://127.0.0.1 only.");
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query = html::pairs(query);
        let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if method == "GET" && path == "/" && q("token").is_some() {
            if q("token") != Some(self.token.as_str()) {
                return pages::refused(403, "That is not this app's token.");
            }
            // Where to go next: a path of this app, rebuilt from its parts.
            let next = q("next").and_then(html::Path::internal);
            let mut r = Response::redirect(&next.unwrap_or_else(|| html::Path::new(&[])));
            r.headers.push((
                "set-cookie".into(),
                format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", self.token),
            ));
            return r;
        }
        let cookie_ok = header("cookie").is_some_and(|c| {
            c.split(';').any(|kv| kv.trim() == format!("{COOKIE}={}", self.token))
        });
        if !cookie_ok {
            return pages::refused(
                403,
                "Open the address `perimeter view` printed: it carries the token that lets this browser in.",
            );
        }
        if path == "/style.css" {
            return Response::file("text/css; charset=utf-8", pages::STYLE.as_bytes().to_vec());
        }
        let segs: Vec<String> =
            path.split('/').filter(|s| !s.is_empty()).filter_map(html::decode).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let num = |s: &str| s.parse::<usize>().ok();
        match (method, segs.as_slice()) {
            ("POST", ["decide"]) => self.decide(header("origin"), body),
            ("GET", []) => pages::index(self),
            ("GET", ["search"]) => pages::search(self, &query),
            ("GET", ["run", i]) => {
                num(i).and_then(|i| pages::run(self, i, &query)).unwrap_or_else(pages::not_found)
            }
            ("GET", ["run", i, "ep", j]) => match (num(i), num(j)) {
                (Some(i), Some(j)) => pages::episode(self, i, j, q("page").and_then(num)),
                _ => pages::not_found(),
            },
            ("GET", ["run", i, "ep", j, "event", seq]) => match (num(i), num(j), num(seq)) {
                (Some(i), Some(j), Some(seq)) => pages::event(self, i, j, seq as u64),
                _ => pages::not_found(),
            },
            ("GET", ["scan", i]) => {
                num(i).and_then(|i| pages::scan(self, i, &query)).unwrap_or_else(pages::not_found)
            }
            ("GET", ["scan", i, "s", k]) => match (num(i), num(k)) {
                (Some(i), Some(k)) => pages::session(self, i, k),
                _ => pages::not_found(),
            },
            ("GET", ["incidents", i]) => {
                num(i).and_then(|i| pages::incidents(self, i)).unwrap_or_else(pages::not_found)
            }
            ("GET", ["monitor", i]) => {
                num(i).and_then(|i| pages::monitor(self, i)).unwrap_or_else(pages::not_found)
            }
            ("GET", ["round", i]) => {
                num(i).and_then(|i| pages::round(self, i)).unwrap_or_else(pages::not_found)
            }
            ("GET", ["round", i, "file"]) => num(i)
                .and_then(|i| self.round_file(i, q("name").unwrap_or_default()))
                .unwrap_or_else(pages::not_found),
            ("GET", ["decisions"]) => pages::decisions(self),
            ("GET", ["decisions.jsonl"]) => match std::fs::read(self.journal.path()) {
                Ok(bytes) => Response::file("application/x-ndjson", bytes),
                Err(e) => pages::refused(500, &e.to_string()),
            },
            ("GET", ["decisions.csv"]) => {
                Response::file("text/csv; charset=utf-8", pages::decisions_csv(self).into_bytes())
            }
            ("GET", _) => pages::not_found(),
            _ => pages::refused(405, "Not a method this app takes."),
        }
    }

    /// A round's report file, by a name its listing holds (never a path
    /// from the request).
    fn round_file(&self, i: usize, name: &str) -> Option<Response> {
        let round = self.sources.rounds.get(i)?;
        let name = round.files.iter().find(|f| *f == name)?;
        let bytes = std::fs::read(round.dir.join("reports").join(name)).ok()?;
        let kind =
            if name.ends_with(".svg") { "image/svg+xml" } else { "text/html; charset=utf-8" };
        Some(Response::file(kind, bytes))
    }

    /// `POST /decide`: a decision from a form, with the token in the form
    /// too, from a page of this app.
    fn decide(&self, origin: Option<&str>, body: &[u8]) -> Response {
        if let Some(o) = origin {
            let ours = ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .any(|n| o == format!("http://{n}:{}", self.port));
            if !ours {
                return pages::refused(403, "A decision comes from this app's own pages.");
            }
        }
        let form = html::pairs(std::str::from_utf8(body).unwrap_or_default());
        let f = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned());
        if f("token").as_deref() != Some(self.token.as_str()) {
            return pages::refused(403, "The form did not carry this app's token.");
        }
        let Some(by) = self.reviewer.clone() else {
            return pages::refused(
                403,
                "Start `perimeter view` with --reviewer NAME to record decisions.",
            );
        };
        match decision(&form, by, self.clock.now()) {
            Ok((d, _)) if !self.holds(&d.target) => {
                pages::refused(400, "No such label, finding or incident among what this app shows.")
            }
            Ok((d, back)) => match self.journal.append(d) {
                Ok(_) => Response::redirect(&back),
                Err(e) => pages::refused(500, &format!("the decision was not recorded: {e}")),
            },
            Err(e) => pages::refused(400, &e),
        }
    }

    /// Whether `target` is among what the app shows: a decision is about
    /// something a reviewer could see.
    fn holds(&self, target: &Target) -> bool {
        let s = &self.sources;
        match target {
            Target::Label { trace_head, class, .. } => s.runs.iter().any(|r| {
                r.summary.episodes.iter().any(|e| {
                    &e.trace_head == trace_head && e.labels.iter().any(|l| l.class == *class)
                })
            }),
            Target::Finding { session, code, class } => s.scans.iter().any(|x| {
                x.report.sessions.iter().any(|ss| {
                    &ss.file == session
                        && ss.findings.iter().any(|f| &f.code == code && f.class == *class)
                })
            }),
            Target::Incident { key, id } => s
                .incidents
                .iter()
                .any(|c| c.catalogue.incidents.iter().any(|i| &i.key == key && &i.id == id)),
        }
    }

    /// The latest decision on `target`, if any.
    pub fn decided(&self, target: &Target) -> Option<Decision> {
        self.journal.latest(target)
    }
}

/// A decision read from a form's fields, and the page to go back to.
fn decision(
    form: &[(String, String)],
    by: String,
    at: trace::Timestamp,
) -> Result<(Decision, html::Path), String> {
    let f = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned());
    let need = |k: &str| f(k).filter(|v| !v.is_empty()).ok_or_else(|| format!("`{k}` is required"));
    let class = |k: &str| -> Result<formats::ClassId, String> {
        need(k)?.parse().map_err(|e: formats::UnknownClass| e.to_string())
    };
    let target = match need("kind")?.as_str() {
        "label" => Target::Label {
            trace_head: need("trace_head")?,
            episode: need("episode")?,
            class: class("class")?,
        },
        "finding" => Target::Finding {
            session: need("session")?,
            code: need("code")?,
            class: class("class")?,
        },
        "incident" => Target::Incident { key: need("key")?, id: need("id")? },
        other => return Err(format!("`{other}` is not something a decision is about")),
    };
    let verdict = match need("verdict")?.as_str() {
        "confirm" => Verdict::Confirm,
        "dismiss" => Verdict::Dismiss,
        "regrade" => Verdict::Regrade,
        other => return Err(format!("`{other}` is not a verdict (confirm, dismiss, regrade)")),
    };
    let note = need("note").map_err(|_| "a note saying why is required".to_owned())?;
    let (mut severity, mut grade) = (None, None);
    if verdict == Verdict::Regrade {
        match &target {
            Target::Incident { .. } => {
                let axis = |k: &str| {
                    formats::incident::Axis::parse(&need(k)?, &note)
                        .map_err(|e| format!("`{k}` {e}"))
                };
                grade = Some(formats::incident::Grade {
                    overreach: axis("overreach")?,
                    deception: axis("deception")?,
                });
            }
            _ => {
                let s: f64 = need("severity")?
                    .parse()
                    .ok()
                    .filter(|s| (0.0..=1.0).contains(s))
                    .ok_or("`severity`: a number from 0 to 1")?;
                severity = Some(s);
            }
        }
    }
    let back = f("back")
        .as_deref()
        .and_then(html::Path::internal)
        .unwrap_or_else(|| html::Path::new(&["decisions"]));
    let d = Decision { n: 0, at, by, target, verdict, severity, grade, note, check: String::new() };
    Ok((d, back))
}

/// The paths given, read (the problems with them are in
/// [`Sources::problems`]).
pub fn load(paths: &[PathBuf]) -> Sources {
    Sources::load(paths)
}
