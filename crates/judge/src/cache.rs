//! Verdicts kept on disk, keyed by the model, the prompt and the transcript
//! as the judge read them: scanning the same sessions again costs nothing,
//! and a change to any of the three asks again. An entry that cannot be
//! read is a miss, and is written over.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::transcript::sha256;
use crate::verdict::Verdict;

/// The version of a cache entry.
pub const CACHE_FORMAT: &str = "perimeter.judge-cache/1";

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    format: String,
    key: String,
    model: String,
    prompt: String,
    transcript: String,
    verdicts: Vec<Verdict>,
}

impl Cache {
    /// The cache in `dir`, made if absent.
    pub fn open(dir: &Path) -> Result<Cache, crate::Error> {
        std::fs::create_dir_all(dir)
            .map_err(|source| crate::Error::Cache { dir: dir.into(), source })?;
        Ok(Cache { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a model, a prompt digest and a transcript digest.
    pub fn key(model: &str, prompt: &str, transcript: &str) -> String {
        let digest = sha256(format!("{CACHE_FORMAT}\0{model}\0{prompt}\0{transcript}").as_bytes());
        digest["sha256:".len()..].to_owned()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    pub fn get(&self, key: &str) -> Option<Vec<Verdict>> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.format == CACHE_FORMAT && entry.key == key).then_some(entry.verdicts)
    }

    /// Stores verdicts; written whole to a temporary file, then renamed.
    pub fn put(
        &self,
        key: &str,
        model: &str,
        prompt: &str,
        transcript: &str,
        verdicts: &[Verdict],
    ) -> io::Result<()> {
        let path = self.path(key);
        let dir = path.parent().expect("a key's folder");
        std::fs::create_dir_all(dir)?;
        let entry = Entry {
            format: CACHE_FORMAT.into(),
            key: key.into(),
            model: model.into(),
            prompt: prompt.into(),
            transcript: transcript.into(),
            verdicts: verdicts.to_vec(),
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(&entry).map_err(io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    }
}
