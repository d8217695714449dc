//! Ed25519 signing keys: Perimeter's own (PKCS#8 in a PEM file, from
//! `perimeter keys generate`) or a lab's existing OpenSSH ed25519 key
//! (unencrypted `openssh-key-v1`). Public keys are written and read as
//! OpenSSH lines (`ssh-ed25519 AAAA… comment`), the form labs already
//! exchange.

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use text::base64;

use crate::Error;

/// A private key that can sign.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", public_line(&self.public(), ""))
    }
}

/// A new key as a PEM `PRIVATE KEY` (PKCS#8 v2) file's text.
pub fn generate() -> Result<String, Error> {
    let pkcs8 =
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| Error::Randomness)?;
    Ok(pem("PRIVATE KEY", pkcs8.as_ref()))
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The base64 body between a PEM file's BEGIN and END lines.
fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    base64::decode(&text[start..stop])
}

impl SigningKey {
    /// Reads a key file's text: a PKCS#8 `PRIVATE KEY` or an OpenSSH
    /// `OPENSSH PRIVATE KEY` (ed25519, not encrypted).
    pub fn from_text(text: &str) -> Result<SigningKey, Error> {
        if let Some(der) = pem_body(text, "PRIVATE KEY") {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map_err(|e| Error::key(format!("not an ed25519 PKCS#8 key: {e}")))?;
            return Ok(SigningKey { pair });
        }
        if let Some(blob) = pem_body(text, "OPENSSH PRIVATE KEY") {
            return openssh(&blob).map_err(Error::key);
        }
        Err(Error::key(
            "not a key file: expected a PEM `PRIVATE KEY` (perimeter keys generate) or an OpenSSH ed25519 private key",
        ))
    }

    /// The 32-byte public key.
    pub fn public(&self) -> [u8; 32] {
        self.pair.public_key().as_ref().try_into().expect("ed25519 public keys are 32 bytes")
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.pair.sign(message).as_ref().try_into().expect("ed25519 signatures are 64 bytes")
    }

    /// Signs a JSON document (bundle, disclosure decisions) as `signer`:
    /// its `signature` becomes `{algorithm, public_key, value}` over
    /// [`crate::canonical::signed_bytes`], replacing any earlier one.
    pub fn sign_document(&self, doc: &mut serde_json::Value, signer: &str) {
        let signature = self.sign(&crate::canonical::signed_bytes(doc));
        doc["signature"] = serde_json::json!({
            "algorithm": "ed25519",
            "public_key": public_line(&self.public(), signer),
            "value": to_base64(&signature),
        });
    }
}

/// Reads an `openssh-key-v1` blob holding one unencrypted ed25519 key.
fn openssh(blob: &[u8]) -> Result<SigningKey, String> {
    let mut r = Reader(blob);
    if r.take(15)? != b"openssh-key-v1\0" {
        return Err("not an openssh-key-v1 key".into());
    }
    let cipher = r.string()?;
    let _kdf = r.string()?;
    let _kdf_options = r.string()?;
    if cipher != b"none" {
        return Err("the OpenSSH key is passphrase-protected: decrypt a copy first (ssh-keygen -p -N '' -f COPY)".into());
    }
    if r.u32()? != 1 {
        return Err("the OpenSSH file must hold exactly one key".into());
    }
    let _public_blob = r.string()?;
    let mut p = Reader(r.string()?);
    if p.u32()? != p.u32()? {
        return Err("the OpenSSH key's check numbers differ (a damaged file)".into());
    }
    let kind = p.string()?;
    if kind != b"ssh-ed25519" {
        return Err(format!(
            "the OpenSSH key is {}, not ssh-ed25519",
            String::from_utf8_lossy(kind)
        ));
    }
    let public = p.string()?;
    let private = p.string()?;
    if public.len() != 32 || private.len() != 64 {
        return Err("the OpenSSH ed25519 key has the wrong length".into());
    }
    let pair = Ed25519KeyPair::from_seed_and_public_key(&private[..32], public)
        .map_err(|e| format!("the OpenSSH key does not hold together: {e}"))?;
    Ok(SigningKey { pair })
}

/// SSH wire format: u32 lengths, big-endian.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the OpenSSH key is truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// A public key as an OpenSSH line.
pub fn public_line(key: &[u8; 32], comment: &str) -> String {
    let mut blob = Vec::new();
    for part in [&b"ssh-ed25519"[..], &key[..]] {
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    format!("ssh-ed25519 {} {comment}", base64::encode(&blob)).trim_end().to_owned()
}

/// Reads a public key: an OpenSSH `ssh-ed25519` line, or 32 bytes in
/// base64.
pub fn parse_public(text: &str) -> Result<[u8; 32], Error> {
    public(text).map_err(Error::key)
}

fn public(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("ssh-ed25519 ") {
        let b64 = rest.split_whitespace().next().unwrap_or_default();
        let blob = base64::decode(b64).ok_or("the ssh-ed25519 line is not base64")?;
        let mut r = Reader(&blob);
        if r.string()? != b"ssh-ed25519" {
            return Err("the key line's type is not ssh-ed25519".into());
        }
        return r.string()?.try_into().map_err(|_| "the ed25519 key is not 32 bytes".to_owned());
    }
    let raw = base64::decode(text).ok_or("not an ssh-ed25519 line or a base64 key")?;
    raw.as_slice().try_into().map_err(|_| "a base64 ed25519 key is 32 bytes".to_owned())
}

/// Whether `signature` is `key`'s over `message`.
pub fn verify(key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, key).verify(message, signature).is_ok()
}

pub fn to_base64(bytes: &[u8]) -> String {
    base64::encode(bytes)
}

pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    base64::decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        let key = SigningKey::from_text(&generate().unwrap()).unwrap();
        let sig = key.sign(b"hello");
        assert!(verify(&key.public(), b"hello", &sig));
        assert!(!verify(&key.public(), b"hellO", &sig));
        let other = SigningKey::from_text(&generate().unwrap()).unwrap();
        assert!(!verify(&other.public(), b"hello", &sig));
        let line = public_line(&key.public(), "lab-a");
        assert!(
            line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI") && line.ends_with(" lab-a"),
            "{line}"
        );
        assert_eq!(parse_public(&line).unwrap(), key.public());
    }

    #[test]
    fn reads_an_openssh_key_made_by_ssh_keygen() {
        let dir = std::env::temp_dir().join(format!("perimeter-ssh-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("id_ed25519");
        // A test makes a real OpenSSH key to read.
        #[allow(clippy::disallowed_methods)]
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "lab@example", "-f"])
            .arg(&path)
            .status();
        let Ok(status) = made else {
            eprintln!("ssh-keygen is not installed; skipped");
            return;
        };
        assert!(status.success());
        let key = SigningKey::from_text(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let public = std::fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();
        assert_eq!(
            parse_public(&public).unwrap(),
            key.public(),
            "the same key as ssh-keygen's .pub"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        assert!(SigningKey::from_text("hello").is_err());
        assert!(
            SigningKey::from_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
        assert!(parse_public("ssh-rsa AAAAB3NzaC1yc2E= x").is_err());
    }
}
