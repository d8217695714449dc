//! Embeds `suites/builtin` into the binary: every file's path, executable
//! bit and bytes, so the built-in suite needs nothing on disk at run time.

// Cargo speaks to build scripts through the environment.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("read suite dir").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../../suites/builtin").canonicalize().expect("suites/builtin exists");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut code = String::from("pub(crate) static BUILTIN_FILES: &[(&str, bool, &[u8])] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(&root).unwrap().to_str().unwrap();
        let exec = std::fs::metadata(f).unwrap().permissions().mode() & 0o111 != 0;
        writeln!(code, "    ({rel:?}, {exec}, include_bytes!({:?})),", f.to_str().unwrap())
            .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin.rs");
    std::fs::write(out, code).unwrap();
}
