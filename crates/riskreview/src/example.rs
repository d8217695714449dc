//! The worked example shipped with Perimeter: a fictional developer's risk
//! report on automated R&D, reviewed as received (`original`) and as
//! revised (`updated`), with the reviewer's own Perimeter run the verdicts
//! cite by digest. `perimeter review demo` builds it offline.

use std::path::{Path, PathBuf};

use formats::riskreview::Built;

use crate::Error;

/// The example's files: path in the review folder, content.
pub const FILES: [(&str, &str); 3] = [
    ("original.toml", include_str!("../example/original.toml")),
    ("updated.toml", include_str!("../example/updated.toml")),
    (
        "evaluations/agent-run/summary.json",
        include_str!("../example/evaluations/agent-run/summary.json"),
    ),
];

/// Writes the example's review folder into `dir`.
pub fn write(dir: &Path) -> Result<(), Error> {
    for (name, text) in FILES {
        let path = dir.join(name);
        let parent = path.parent().expect("a file in a folder");
        std::fs::create_dir_all(parent).map_err(crate::io(parent))?;
        std::fs::write(&path, text).map_err(crate::io(&path))?;
    }
    Ok(())
}

/// What the demo made.
pub struct Demo {
    pub review: PathBuf,
    pub published: PathBuf,
    pub key: PathBuf,
    pub built: Vec<Built>,
    pub files: Vec<PathBuf>,
}

/// Writes the example into `out/review`, a reviewer's key into
/// `out/reviewer.key`, and both versions, signed, into `out/published`.
pub fn demo(out: &Path) -> Result<Demo, Error> {
    let review = out.join("review");
    write(&review)?;
    let pem = bundle::keys::generate().map_err(|e| Error::Verify(e.to_string()))?;
    let key =
        bundle::keys::SigningKey::from_text(&pem).map_err(|e| Error::Verify(e.to_string()))?;
    let key_file = out.join("reviewer.key");
    std::fs::write(&key_file, &pem).map_err(crate::io(&key_file))?;
    let public = out.join("reviewer.key.pub");
    std::fs::write(&public, bundle::keys::public_line(&key.public(), "Example Evaluator") + "\n")
        .map_err(crate::io(&public))?;
    let built = crate::build(&review, false, Some(&key))?;
    let published = out.join("published");
    let files = crate::write(&published, &built)?;
    Ok(Demo { review, published, key: key_file, built, files })
}
