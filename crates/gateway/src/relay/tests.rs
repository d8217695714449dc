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
