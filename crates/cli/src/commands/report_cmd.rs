//! `perimeter report`.

use super::*;

pub(super) fn report(args: ReportArgs) -> Result<ExitCode, Failure> {
    let hint = "name a run folder: the --out of `perimeter run`, with its summary.json";
    named(&args.dir, "run folder", hint)?;
    if let Some(other) = &args.compare {
        named(other, "run folder", hint)?;
    }
    let mut first = report::load(&args.dir)?;
    if let Some(file) = &args.decisions {
        let decisions = read_decisions(file)?;
        first.review =
            Some(report::review::reviewed(&first.summary, &decisions, &file.display().to_string()));
    }
    let text = match &args.compare {
        Some(other) => {
            let second = report::load(other)?;
            let rows = report::compare(&first.summary, &second.summary)?;
            match args.format {
                ReportFormat::Json => {
                    let v = formats::output::ComparisonReport {
                        format: "perimeter.comparison/1".into(),
                        first: args.dir.display().to_string(),
                        second: other.display().to_string(),
                        classes: rows,
                    };
                    serde_json::to_string_pretty(&v).expect("JSON") + "\n"
                }
                _ => render::comparison(
                    &first.summary.header.agent,
                    &second.summary.header.agent,
                    &rows,
                ),
            }
        }
        None => match args.format {
            ReportFormat::Html => report::html(&first),
            ReportFormat::Md => report::markdown(&first),
            ReportFormat::Json => {
                serde_json::to_string_pretty(&report::report(&first)).expect("JSON") + "\n"
            }
        },
    };
    // A page of HTML is no use on a terminal: it goes next to the run, and
    // the terminal gets its path.
    if args.out.is_none()
        && args.compare.is_none()
        && args.format == ReportFormat::Html
        && std::io::stdout().is_terminal()
    {
        let path = args.dir.join("report.html");
        emit(Some(&path), &text)?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    emit(args.out.as_deref(), &text)
}
