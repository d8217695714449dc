//! `perimeter incidents collect | grade | override | chart`.

use formats::incident::{Catalogue, Override, POOLED_FORMAT, Pooled, SourceKind};

use super::*;

pub(super) fn incidents(command: IncidentsCommand) -> Result<ExitCode, Failure> {
    match command {
        IncidentsCommand::Collect {
            inputs,
            out,
            suite,
            include_elicited,
            include_reference,
            decisions,
            format,
        } => {
            for input in &inputs {
                named(input, "run folder, scan report or incidents file", "check the path")?;
            }
            let previous = match out.exists() {
                true => Some(incident::read(&out)?),
                false => None,
            };
            let options = incident::Options {
                include_elicited,
                include_reference,
                suite: load_suite(&suite)?,
            };
            let mut c = incident::collect(&inputs, previous.as_ref(), &options)?;
            if let Some(file) = &decisions {
                let n = incident::catalogue::apply_decisions(&mut c, &read_decisions(file)?);
                eprintln!(
                    "{n} reviewers' decision(s) from {} recorded as overrides",
                    file.display()
                );
            }
            write_out(&out, &incident::to_text(&c))?;
            report(&c, &out, format)
        }
        IncidentsCommand::Grade { catalogue, model, primary, out, format } => {
            named(&catalogue, "catalogue", "write one with `perimeter incidents collect`")?;
            let mut c = incident::read(&catalogue)?;
            let spec = gateway::ModelSpec::parse(&model)
                .map_err(|e| Failure::usage(format!("`--model {model}`: {e}"), None))?;
            if let Some(var) = spec
                .key_var()
                .filter(|_| !matches!(spec, gateway::ModelSpec::OpenAiCompatible { .. }))
                && std::env::var(var).map_or(true, |v| v.is_empty())
            {
                return Err(Failure::usage(
                    format!("{var} is not set: the grader `{spec}` needs its key"),
                    Some(format!(
                        "export {var}=… (it is sent only to the model's API, and written nowhere)"
                    )),
                ));
            }
            let m = judge::Model::from_spec(&spec, &|k| std::env::var(k).ok())?;
            let tty = std::io::stderr().is_terminal();
            incident::model::grade(&mut c, &m, primary, &mut |n, total, id| {
                if tty {
                    eprint!("\rgrading {n}/{total} ({id})   ");
                } else if n == total || n % 10 == 0 {
                    eprintln!("graded {n}/{total}");
                }
            });
            if tty {
                eprintln!();
            }
            let out = out.unwrap_or(catalogue);
            write_out(&out, &incident::to_text(&c))?;
            report(&c, &out, format)
        }
        IncidentsCommand::Override { catalogue, id, overreach, deception, dismiss, by, reason } => {
            named(&catalogue, "catalogue", "write one with `perimeter incidents collect`")?;
            let mut c = incident::read(&catalogue)?;
            let grade = match (overreach, deception) {
                (Some(o), Some(d)) => {
                    let axis = |t: &str, flag: &str| {
                        formats::incident::Axis::parse(t, &reason)
                            .map_err(|e| Failure::usage(format!("`--{flag}` {e}"), None))
                    };
                    Some(formats::incident::Grade {
                        overreach: axis(&o, "overreach")?,
                        deception: axis(&d, "deception")?,
                    })
                }
                _ => None,
            };
            let decision = Override { by, at: clock().now(), reason, dismissed: dismiss, grade };
            incident::catalogue::apply(&mut c, &id, decision).map_err(|e| {
                Failure::usage(
                    format!("{}: {e}", catalogue.display()),
                    Some("e.g. --overreach 2:0.3 --deception 1:0.2, or --dismiss".into()),
                )
            })?;
            write_out(&catalogue, &incident::to_text(&c))?;
            let i = c.incidents.iter().find(|i| i.id == id).expect("applied above");
            println!("{}", render::incident_line(i, &c.graders));
            Ok(ExitCode::SUCCESS)
        }
        IncidentsCommand::Chart { catalogue, out, source, model, lab, title } => {
            named(&catalogue, "catalogue", "write one with `perimeter incidents collect`")?;
            let source = source
                .map(|s| {
                    serde_json::from_value::<SourceKind>(serde_json::Value::String(s.clone()))
                        .map_err(|_| {
                            Failure::usage(
                                format!("`--source {s}` is not a source"),
                                Some(
                                    "suite_episode, scanned_session, lab_reported or public_report"
                                        .into(),
                                ),
                            )
                        })
                })
                .transpose()?;
            let filters = incident::chart::Filters { source, model, participant: lab };
            let bytes = std::fs::read(&catalogue)
                .map_err(|e| Failure::usage(format!("{}: {e}", catalogue.display()), None))?;
            let digest = incident::sha256(&bytes);
            let pooled = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .is_some_and(|v| v["format"] == POOLED_FORMAT);
            let data = if pooled {
                let p: Pooled = serde_json::from_slice(&bytes).map_err(|e| {
                    Failure::usage(format!("{}:{}: {e}", catalogue.display(), e.line()), None)
                })?;
                incident::chart::pooled_dataset(&p, &digest, &filters)
            } else {
                let c: Catalogue = incident::read(&catalogue)?;
                incident::chart::dataset(&c, &digest, &filters)
            };
            std::fs::create_dir_all(&out)
                .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
            write_out(&out.join("chart.svg"), &incident::chart::svg(&data, &title))?;
            let mut json = serde_json::to_string_pretty(&data).expect("JSON");
            json.push('\n');
            write_out(&out.join("incidents.json"), &json)?;
            write_out(&out.join("incidents.csv"), &incident::chart::csv(&data))?;
            let left: u64 = data.left_out.values().sum();
            println!(
                "{} incident{} plotted{}; {}/chart.svg, incidents.json, incidents.csv",
                data.points.len(),
                if data.points.len() == 1 { "" } else { "s" },
                if left > 0 { format!(", {left} not shown") } else { String::new() },
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn report(c: &Catalogue, out: &Path, format: Format) -> Result<ExitCode, Failure> {
    match format {
        Format::Json => print_json(c),
        Format::Table => print!("{}", render::incidents(c, out)),
    }
    Ok(ExitCode::SUCCESS)
}
