//! `perimeter trace verify`.

use super::*;

pub(super) fn trace_verify(files: &[PathBuf], format: Format) -> Result<ExitCode, Failure> {
    for f in files {
        named(f, "trace file", "traces are a run folder's `episodes/<scenario>/e<N>.trace.jsonl`")?;
    }
    let mut bad = 0;
    let mut rows = Vec::new();
    for f in files {
        let result = std::fs::File::open(f)
            .map_err(|e| e.to_string())
            .and_then(|file| trace::verify(BufReader::new(file)).map_err(|e| e.to_string()));
        match &result {
            Ok(v) if format == Format::Table => {
                println!("{}: ok ({} events, head {})", f.display(), v.events, v.head)
            }
            Err(e) if format == Format::Table => println!("{}: {e}", f.display()),
            _ => {}
        }
        bad += usize::from(result.is_err());
        let file = f.display().to_string();
        rows.push(match result {
            Ok(v) => formats::output::TraceCheck {
                file,
                ok: true,
                events: Some(v.events),
                head: Some(v.head.to_string()),
                error: None,
            },
            Err(e) => formats::output::TraceCheck {
                file,
                ok: false,
                events: None,
                head: None,
                error: Some(e),
            },
        });
    }
    if format == Format::Json {
        let out = formats::output::TraceVerification {
            format: "perimeter.trace-verification/1".into(),
            traces: rows,
        };
        print_json(&out);
    }
    if bad > 0 {
        return Err(Failure::runtime(
            format!("{bad} of {} failed verification", render::count(files.len() as u64, "trace")),
            None,
        ));
    }
    Ok(ExitCode::SUCCESS)
}
