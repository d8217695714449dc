//! A participant's data in the round folder: sealed (ChaCha20-Poly1305)
//! under a key of the participant's own, so that destroying the key makes
//! all of it unrecoverable, even from a copy of the folder made earlier.
//!
//! Layout: `keys/<participant>.key` (32 bytes, mode 0600) and
//! `store/<participant>/<item>.sealed` (a 12-byte nonce, then the sealed
//! bytes with their tag).

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::Error;
use crate::folder::write_atomic;

fn key_path(dir: &Path, participant: &str) -> PathBuf {
    dir.join("keys").join(format!("{participant}.key"))
}

fn store(dir: &Path, participant: &str) -> PathBuf {
    dir.join("store").join(participant)
}

pub(crate) fn item_path(dir: &Path, participant: &str, item: &str) -> PathBuf {
    store(dir, participant).join(format!("{item}.sealed"))
}

fn cipher(path: &Path, key_bytes: &[u8]) -> Result<LessSafeKey, Error> {
    let key = UnboundKey::new(&CHACHA20_POLY1305, key_bytes).map_err(|_| Error::Corrupt {
        path: path.into(),
        message: "a sealing key is 32 bytes".into(),
    })?;
    Ok(LessSafeKey::new(key))
}

/// The participant's key, made (from the system's randomness) the first
/// time something of theirs is sealed.
fn key(dir: &Path, participant: &str) -> Result<LessSafeKey, Error> {
    let path = key_path(dir, participant);
    match std::fs::read(&path) {
        Ok(bytes) => return cipher(&path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(Error::Io { path, source }),
    }
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| Error::Randomness)?;
    std::fs::create_dir_all(path.parent().expect("in a folder")).map_err(Error::io(&path))?;
    write_atomic(&path, &bytes, 0o600)?;
    cipher(&path, &bytes)
}

/// Seals `data` as the participant's `item` (replacing an earlier one).
pub fn seal(dir: &Path, participant: &str, item: &str, data: &[u8]) -> Result<(), Error> {
    let key = key(dir, participant)?;
    let path = item_path(dir, participant, item);
    let mut nonce = [0u8; 12];
    SystemRandom::new().fill(&mut nonce).map_err(|_| Error::Randomness)?;
    let mut sealed = data.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(item), &mut sealed)
        .map_err(|_| Error::Corrupt { path: path.clone(), message: "sealing failed".into() })?;
    std::fs::create_dir_all(path.parent().expect("in a folder")).map_err(Error::io(&path))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    write_atomic(&path, &out, 0o600)
}

/// Opens the participant's `item`; `None` when there is none.
pub fn open(dir: &Path, participant: &str, item: &str) -> Result<Option<Vec<u8>>, Error> {
    let path = item_path(dir, participant, item);
    let mut data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path, source }),
    };
    let kp = key_path(dir, participant);
    let key = match std::fs::read(&kp) {
        Ok(k) => cipher(&kp, &k)?,
        // Its key is gone: an exit that was cut short. What it sealed can
        // no longer be opened, which is what the exit was for.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path: kp, source }),
    };
    let corrupt = |message: &str| Error::Corrupt { path: path.clone(), message: message.into() };
    if data.len() < 12 + 16 {
        return Err(corrupt("truncated"));
    }
    let nonce: [u8; 12] = data[..12].try_into().expect("12 bytes");
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(item), &mut data[12..])
        .map_err(|_| corrupt("does not open with its key"))?;
    Ok(Some(plain.to_vec()))
}

/// Removes the participant's `item`, if there is one.
pub fn remove(dir: &Path, participant: &str, item: &str) -> Result<(), Error> {
    let path = item_path(dir, participant, item);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Destroys a participant's key, then everything sealed under it. The key
/// is first renamed away (so that a crash at any later point leaves no key
/// under its name, and nothing of the participant's opens), then
/// overwritten, synced and removed. Running it again finishes a cut-short
/// one.
pub fn destroy(dir: &Path, participant: &str) -> Result<(), Error> {
    let kp = key_path(dir, participant);
    let doomed = kp.with_extension("key.destroyed");
    match std::fs::rename(&kp, &doomed) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(Error::Io { path: kp, source }),
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&doomed) {
        let _ = f.write_all(&[0u8; 32]).and_then(|()| f.sync_all());
    }
    match std::fs::remove_file(&doomed) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(Error::Io { path: doomed, source }),
    }
    // A key whose writing was cut short, never used.
    let partial = format!(".{participant}.key.tmp-");
    for e in std::fs::read_dir(dir.join("keys")).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&partial) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let s = store(dir, participant);
    match std::fs::remove_dir_all(&s) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io { path: s, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_until_its_key_is_destroyed() {
        let dir = std::env::temp_dir().join(format!("perimeter-sealed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        seal(&dir, "lab-x", "bundle", b"the bundle").unwrap();
        seal(&dir, "lab-x", "disclosure", b"the decisions").unwrap();
        let path = item_path(&dir, "lab-x", "bundle");
        assert!(
            !std::fs::read(&path).unwrap().windows(10).any(|w| w == b"the bundle"),
            "stored sealed"
        );
        assert_eq!(open(&dir, "lab-x", "bundle").unwrap().unwrap(), b"the bundle");
        assert_eq!(open(&dir, "lab-x", "disclosure").unwrap().unwrap(), b"the decisions");
        assert_eq!(open(&dir, "lab-x", "other").unwrap(), None);
        // One item's sealed bytes do not open as another's.
        std::fs::copy(&path, item_path(&dir, "lab-x", "other")).unwrap();
        assert!(open(&dir, "lab-x", "other").is_err());
        let copy = std::fs::read(&path).unwrap();
        destroy(&dir, "lab-x").unwrap();
        assert!(!store(&dir, "lab-x").exists() && !key_path(&dir, "lab-x").exists());
        assert_eq!(open(&dir, "lab-x", "bundle").unwrap(), None);
        // A copy of the sealed file made before the exit does not open
        // under any key the round holds afterwards.
        seal(&dir, "lab-y", "bundle", b"other").unwrap();
        seal(&dir, "lab-x", "bundle", b"a new key").unwrap();
        std::fs::write(&path, &copy).unwrap();
        assert!(open(&dir, "lab-x", "bundle").is_err());
        std::fs::copy(key_path(&dir, "lab-y"), key_path(&dir, "lab-x")).unwrap();
        assert!(open(&dir, "lab-x", "bundle").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
