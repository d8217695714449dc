//! `perimeter keys generate`.

use super::*;

pub(super) fn keys_generate(out: &Path) -> Result<ExitCode, Failure> {
    let public = out.with_file_name(format!(
        "{}.pub",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    for p in [out, public.as_path()] {
        if p.exists() {
            return Err(Failure::usage(
                format!("{} already exists", p.display()),
                Some("keys are never overwritten: choose another --out".into()),
            ));
        }
    }
    let pem = bundle::keys::generate()?;
    let key = bundle::keys::SigningKey::from_text(&pem)?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(out)
            .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
        f.write_all(pem.as_bytes())
            .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
    }
    write_out(&public, &(bundle::keys::public_line(&key.public(), "perimeter") + "\n"))?;
    println!("private key: {} (mode 0600)\npublic key:  {}", out.display(), public.display());
    Ok(ExitCode::SUCCESS)
}
