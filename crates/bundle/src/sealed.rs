//! The round's storage of a participant's data: sealed (ChaCha20-Poly1305)
//! under a key of its own, so that destroying the key makes the data
//! unrecoverable even from a copy of the folder made before the exit.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Where a participant's sealed data and its key live in a round folder.
pub fn paths(dir: &Path, participant: &str) -> (PathBuf, PathBuf) {
    (
        dir.join("store").join(format!("{participant}.sealed")),
        dir.join("keys").join(format!("{participant}.key")),
    )
}

/// Seals `data` under a fresh key; writes the sealed file and the key
/// (mode 0600).
pub fn seal(dir: &Path, participant: &str, data: &[u8]) -> Result<(), String> {
    let rng = SystemRandom::new();
    let mut key_bytes = [0u8; 32];
    let mut nonce = [0u8; 12];
    rng.fill(&mut key_bytes).map_err(|_| "no randomness")?;
    rng.fill(&mut nonce).map_err(|_| "no randomness")?;
    let key =
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key_bytes).map_err(|_| "bad key")?);
    let mut sealed = data.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
        .map_err(|_| "sealing failed")?;
    let (store, key_path) = paths(dir, participant);
    for p in [&store, &key_path] {
        std::fs::create_dir_all(p.parent().expect("in a folder")).map_err(|e| e.to_string())?;
    }
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    std::fs::write(&store, out).map_err(|e| format!("{}: {e}", store.display()))?;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&key_path)
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    f.write_all(&key_bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", key_path.display()))
}

/// Opens a participant's sealed data.
pub fn open(dir: &Path, participant: &str) -> Result<Vec<u8>, String> {
    let (store, key_path) = paths(dir, participant);
    let key_bytes = std::fs::read(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let mut data = std::fs::read(&store).map_err(|e| format!("{}: {e}", store.display()))?;
    if data.len() < 12 + 16 {
        return Err(format!("{}: truncated", store.display()));
    }
    let key =
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key_bytes).map_err(|_| "bad key")?);
    let nonce: [u8; 12] = data[..12].try_into().expect("12 bytes");
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data[12..])
        .map_err(|_| format!("{}: does not open with its key", store.display()))?;
    Ok(plain.to_vec())
}

/// Destroys a participant's key (overwritten, synced, removed) and then its
/// sealed data.
pub fn destroy(dir: &Path, participant: &str) -> Result<(), String> {
    let (store, key_path) = paths(dir, participant);
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&key_path) {
        let _ = f.write_all(&[0u8; 32]).and_then(|()| f.sync_all());
    }
    for p in [&key_path, &store] {
        match std::fs::remove_file(p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_until_its_key_is_destroyed() {
        let dir = std::env::temp_dir().join(format!("perimeter-sealed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        seal(&dir, "lab-x", b"the bundle").unwrap();
        let (store, _) = paths(&dir, "lab-x");
        assert!(
            !std::fs::read(&store).unwrap().windows(10).any(|w| w == b"the bundle"),
            "stored sealed"
        );
        assert_eq!(open(&dir, "lab-x").unwrap(), b"the bundle");
        let copy = std::fs::read(&store).unwrap();
        destroy(&dir, "lab-x").unwrap();
        assert!(open(&dir, "lab-x").is_err());
        // A copy of the sealed file made before the exit does not open
        // with any other participant's key.
        seal(&dir, "lab-y", b"other").unwrap();
        std::fs::write(&store, copy).unwrap();
        let (_, y_key) = paths(&dir, "lab-y");
        let (_, x_key) = paths(&dir, "lab-x");
        std::fs::copy(y_key, x_key).unwrap();
        assert!(open(&dir, "lab-x").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
