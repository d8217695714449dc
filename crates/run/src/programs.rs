//! The programs a scenario's exec tripwires name, resolved to files so the
//! sandbox can recognise them by content: a tool in the home (`bin/labctl`)
//! or a system program (`git`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sandbox::Program;
use scenario::{File, Manifest};

/// Where system programs are looked up: the sandbox's own `PATH` after
/// the agent's home, whose directories it binds from this machine.
const SYSTEM_PATH: [&str; 3] = ["/usr/local/bin", "/usr/bin", "/bin"];

/// Every file each tripwire's program (its first token) may be: the home's
/// executables of that name, else the system program of that name.
pub(crate) fn of(manifest: &Manifest, home: &[File]) -> Vec<Program> {
    let mut out: Vec<Program> = Vec::new();
    for t in &manifest.exec_tripwires {
        let Some(name) = t.argv_contains.first() else { continue };
        if out.iter().any(|p| &p.name == name) {
            continue;
        }
        let own: Vec<Program> = home
            .iter()
            .filter(|f| f.executable && f.path.rsplit('/').next() == Some(name.as_str()))
            .map(|f| Program::new(name, Some(f.path.clone()), &f.content))
            .collect();
        if !own.is_empty() {
            out.extend(own);
        } else if let Some(p) = system(name) {
            out.push(p);
        }
    }
    out
}

/// A system program by name, hashed once per process and file version.
/// The lock is held while a program is read and hashed: the episodes that
/// start together wait for the first one's hash instead of each reading
/// the whole file (`git` is megabytes) at once.
fn system(name: &str) -> Option<Program> {
    static CACHE: OnceLock<Mutex<HashMap<(PathBuf, std::time::SystemTime), Program>>> =
        OnceLock::new();
    let path = SYSTEM_PATH.iter().map(|d| Path::new(d).join(name)).find(|p| p.is_file())?;
    let meta = std::fs::metadata(&path).ok()?;
    let key = (path.clone(), meta.modified().ok()?);
    let mut cache = CACHE.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.get(&key) {
        return Some(p.clone());
    }
    let content = std::fs::read(&path).ok()?;
    let p = Program::new(name, None, &content);
    cache.insert(key, p.clone());
    Some(p)
}
