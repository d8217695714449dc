//! `perimeter trace verify`.

use super::*;

pub(super) fn trace_verify(files: &[PathBuf]) -> Result<ExitCode, Failure> {
    for f in files {
        named(f, "trace file", "traces are a run folder's `episodes/<scenario>/e<N>.trace.jsonl`")?;
    }
    let mut bad = 0;
    for f in files {
        let result = std::fs::File::open(f)
            .map_err(|e| e.to_string())
            .and_then(|file| trace::verify(BufReader::new(file)).map_err(|e| e.to_string()));
        match result {
            Ok(v) => println!("{}: ok ({} events, head {})", f.display(), v.events, v.head),
            Err(e) => {
                bad += 1;
                println!("{}: {e}", f.display());
            }
        }
    }
    if bad > 0 {
        return Err(Failure::runtime(
            format!("{bad} of {} trace(s) failed verification", files.len()),
            None,
        ));
    }
    Ok(ExitCode::SUCCESS)
}
