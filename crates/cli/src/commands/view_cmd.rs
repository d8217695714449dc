//! `perimeter view`: the workbench, served until interrupted.

use std::io::Write as _;

use super::*;

pub(super) fn view(
    paths: &[PathBuf],
    decisions: &Path,
    reviewer: Option<String>,
    port: u16,
) -> Result<ExitCode, Failure> {
    for p in paths {
        named(p, "run folder, scan report, catalogue or round folder", "check the path")?;
    }
    if reviewer.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Failure::usage(
            "`--reviewer` names who decides",
            Some("e.g. --reviewer 'A. Reviewer'".into()),
        ));
    }
    let sources = view::load(paths);
    let journal = view::Journal::open(decisions).map_err(|e| {
        Failure::usage(
            e.to_string(),
            Some("name another --decisions file, or move this one aside".into()),
        )
    })?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
        Failure::runtime(
            format!("127.0.0.1:{port}: {e}"),
            Some("choose another --port, or 0 for any".into()),
        )
    })?;
    let port = listener.local_addr().map_err(|e| Failure::runtime(e.to_string(), None))?.port();
    let app =
        std::sync::Arc::new(view::App::new(sources, journal, reviewer, token()?, port, clock()));
    let url = app.url();
    let _server = app.clone().serve(listener).map_err(|e| Failure::runtime(e.to_string(), None))?;
    let s = &app.sources;
    // What is said of the folder comes before the address, which scripts
    // wait for.
    eprintln!(
        "serving {} runs, {} scans, {} incident catalogues, {} monitor results, {} rounds on 127.0.0.1 only; decisions go to {}. Ctrl-C stops.",
        s.runs.len(),
        s.scans.len(),
        s.incidents.len(),
        s.monitors.len(),
        s.rounds.len(),
        decisions.display()
    );
    if let Some(r) = &app.journal.recovered {
        eprintln!("warning: a decision cut short by a crash was dropped: {r}");
    }
    for p in &s.problems {
        eprintln!("warning: {p}");
    }
    println!("{url}");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

/// 32 random bytes from the kernel, as hex: the token a browser presents.
fn token() -> Result<String, Failure> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Failure::runtime(format!("/dev/urandom: {e}"), None))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
