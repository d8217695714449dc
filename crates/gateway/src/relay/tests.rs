use std::io::BufReader;

use super::*;

#[test]
fn parses_model_specs() {
    for s in [
        "scripted:honest",
        "anthropic:claude-x",
        "openai:gpt-5",
        "gemini:gemini-3",
        "openai-compatible:http://10.0.0.5:8000/v1#qwen3",
    ] {
        assert_eq!(ModelSpec::parse(s).unwrap().to_string(), s);
    }
    assert_eq!(
        ModelSpec::parse("openai-compatible:https://h/v1#a#b").unwrap(),
        ModelSpec::OpenAiCompatible { url: "https://h/v1#a".into(), model: "b".into() }
    );
    for bad in [
        "claude",
        "anthropic:",
        "nope:x",
        "openai-compatible:http://h",
        "openai-compatible:ftp://h#m",
        "openai-compatible:http://h#",
    ] {
        assert!(ModelSpec::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn parses_endpoints() {
    let e = Endpoint::parse("https://api.anthropic.com").unwrap();
    assert_eq!(
        (e.tls, e.host.as_str(), e.port, e.prefix.as_str()),
        (true, "api.anthropic.com", 443, "")
    );
    let e = Endpoint::parse("http://127.0.0.1:8000/v1/").unwrap();
    assert_eq!(
        (e.tls, e.host.as_str(), e.port, e.prefix.as_str()),
        (false, "127.0.0.1", 8000, "/v1")
    );
    let e = Endpoint::parse("http://[::1]:9/x").unwrap();
    assert_eq!((e.host.as_str(), e.port), ("::1", 9));
    assert!(Endpoint::parse("http://h:port").is_err());
    assert!(Endpoint::parse("h:80").is_err());
}

#[test]
fn the_key_never_prints() {
    let spec = ModelSpec::parse("openai:gpt").unwrap();
    let up =
        Upstream::new(&spec, &|k| (k == "OPENAI_API_KEY").then(|| "sk-secret".to_owned())).unwrap();
    assert!(!format!("{up:?}").contains("sk-secret"));
    assert_eq!(up.key_for_audit(), Some("sk-secret"));
    // A compatible server never gets the OpenAI key.
    let spec = ModelSpec::parse("openai-compatible:http://h/v1#m").unwrap();
    let up =
        Upstream::new(&spec, &|k| (k == "OPENAI_API_KEY").then(|| "sk-secret".to_owned())).unwrap();
    assert_eq!(up.key_for_audit(), None);
}

/// An HTTPS server on the loopback whose certificate for `localhost` is
/// signed by a private CA, both made by `openssl` in `dir`; answers every
/// request with `answer`. Returns the port and the CA certificate's path.
fn https_server(dir: &std::path::Path, answer: &'static str) -> (u16, std::path::PathBuf) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (ca, cert, key) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    let script = "set -e
        ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
        openssl req -x509 $ec -days 2 -subj '/CN=Perimeter test CA' -keyout ca.key -out ca.pem
        openssl req $ec -subj /CN=localhost -keyout key.pem -out server.csr
        printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' > ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out cert.pem";
    // A test makes its certificates with openssl.
    #[allow(clippy::disallowed_methods)]
    let status = std::process::Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("bash and openssl are installed");
    assert!(status.success());
    let certs =
        CertificateDer::pem_file_iter(&cert).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut reader = BufReader::new(&mut tls);
            let Ok(Some(head)) = http1::read_head(&mut reader) else { continue };
            let _ = http1::read_body(&mut reader, &head, 1 << 20);
            let _ = http1::write_response(&mut tls, 200, "application/json", answer.as_bytes());
        }
    });
    (port, ca)
}

#[test]
fn relays_over_tls_trusting_only_known_roots() {
    let dir = std::env::temp_dir().join(format!("perimeter-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}"#;
    let (port, cert) = https_server(&dir, answer);
    let spec =
        ModelSpec::parse(&format!("openai-compatible:https://localhost:{port}/v1#m")).unwrap();
    // The built-in roots do not know a self-signed certificate.
    let untrusted = Upstream::new(&spec, &|_| None).unwrap();
    let err = untrusted.post(Wire::ChatCompletions, "", &[], b"{}").unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    // Named in PERIMETER_CA_FILE, it is trusted.
    let cert_path = cert.to_str().unwrap().to_owned();
    let env = move |k: &str| (k == "PERIMETER_CA_FILE").then(|| cert_path.clone());
    let trusted = Upstream::new(&spec, &env).unwrap();
    let reply = trusted.post(Wire::ChatCompletions, "", &[], b"{}").unwrap();
    assert_eq!((reply.status, reply.body.as_slice()), (200, answer.as_bytes()));
    // A CA file that is not one is refused up front.
    let bad = dir.join("not.pem");
    std::fs::write(&bad, "nothing here").unwrap();
    let bad_path = bad.to_str().unwrap().to_owned();
    let err =
        Upstream::new(&spec, &move |k: &str| (k == "PERIMETER_CA_FILE").then(|| bad_path.clone()))
            .unwrap_err();
    assert!(err.0.contains("holds no PEM certificate"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
