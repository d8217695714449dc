//! `perimeter review …`: an external review of a developer's risk report.

use super::*;

impl From<riskreview::Error> for Failure {
    fn from(e: riskreview::Error) -> Failure {
        use riskreview::Error as E;
        let kind = match e {
            E::Io { .. } => crate::Kind::Failed,
            E::Parse { .. } | E::Refused { .. } | E::Incomplete { .. } => crate::Kind::Usage,
            E::Verify(_) => crate::Kind::Failed,
        };
        Failure { hint: e.hint(), message: e.to_string(), kind }
    }
}

pub(super) fn review_check(dir: &Path) -> Result<ExitCode, Failure> {
    let versions = riskreview::load(dir)?;
    let mut problems = Vec::new();
    for (path, v) in &versions {
        problems.extend(
            riskreview::problems(v, dir).into_iter().map(|p| format!("{}: {p}", path.display())),
        );
    }
    if !problems.is_empty() {
        return Err(riskreview::Error::Refused { problems }.into());
    }
    for (path, v) in &versions {
        let open = riskreview::open_items(v);
        let (computed, _) = riskreview::graph::computed(v);
        let stated = v.conclusion.overridden.as_ref().map_or(computed, |o| o.verdict);
        let conclusion = match stated == computed {
            true => computed.name().to_owned(),
            false => format!("{} (the rule gives {})", stated.name(), computed.name()),
        };
        match open.is_empty() {
            true => println!(
                "{}: `{}` review, {} claims, conclusion {conclusion}: ready for publication",
                path.display(),
                v.review.version,
                v.claims.len(),
            ),
            false => println!(
                "{}: `{}` review: not ready for publication:\n  {}",
                path.display(),
                v.review.version,
                open.join("\n  ")
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn review_build(
    dir: &Path,
    out: &Path,
    key: Option<&Path>,
    draft: bool,
) -> Result<ExitCode, Failure> {
    let key = key.map(bundle::submission::read_key).transpose()?;
    let built = riskreview::build(dir, draft, key.as_ref())?;
    let files = riskreview::write(out, &built)?;
    for b in &built {
        println!(
            "{} review ({}): conclusion {}{}; digest {}",
            b.version.review.version,
            b.status,
            b.conclusion.stated.name(),
            if b.conclusion.stated != b.conclusion.computed {
                format!(" (the rule gives {})", b.conclusion.computed.name())
            } else {
                String::new()
            },
            b.digest
        );
    }
    println!("{} files in {}", files.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn review_verify(file: &Path, pubkey: Option<&Path>) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("{}: {e}", file.display()), None))?;
    let key = match pubkey {
        Some(p) => {
            let line = std::fs::read_to_string(p)
                .map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))?;
            Some(
                bundle::keys::parse_public(&line)
                    .map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))?,
            )
        }
        None => None,
    };
    let what =
        riskreview::verify(&text, key.as_ref()).map_err(|e| Failure::from(e).in_file(file))?;
    println!("{}: {what}", file.display());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn review_demo(out: &Path) -> Result<ExitCode, Failure> {
    const MARKER: &str = ".perimeter-review-demo";
    if out.join(MARKER).exists() {
        std::fs::remove_dir_all(out)
            .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
    } else if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Failure::usage(
            format!("{} exists and is not an earlier review demo's folder", out.display()),
            Some("choose another --out".into()),
        ));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
    write_out(
        &out.join(MARKER),
        "made by `perimeter review demo`; a later one replaces this folder\n",
    )?;
    let demo = riskreview::example::demo(out)?;
    println!(
        "A fictional developer's risk report on automated R&D, reviewed twice: {}",
        demo.review.display()
    );
    for b in &demo.built {
        let c = &b.conclusion;
        let mut line = format!(
            "  {} ({}): conclusion {}",
            b.version.review.version,
            b.version.review.date,
            c.stated.name()
        );
        if let Some(d) = &b.differences {
            line += &format!(
                "; since {}: {} added, {} removed, {} reworded, {} changed",
                d.from,
                render::count(d.claims_added.len() as u64, "claim"),
                d.claims_removed.len(),
                d.claims_reworded.len(),
                render::count(d.verdicts_changed.len() as u64, "verdict")
            );
        }
        println!("{line}");
        if let (Some(reason), true) = (&c.reason, c.stated != c.computed) {
            println!("    where the rule gives {}: {reason}", c.computed.name());
        }
        println!(
            "    {} (and .md, .json, .svg), digest {}",
            demo.published.join(format!("{}.html", b.version.review.version)).display(),
            b.digest
        );
    }
    println!(
        "signed with {}; check a copy with\n    perimeter review verify {} --pubkey {}",
        demo.key.display(),
        text::shell_quote(&demo.published.join("updated.json").display().to_string()),
        text::shell_quote(&out.join("reviewer.key.pub").display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}
