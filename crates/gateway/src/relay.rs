//! Relay backends: the gateway forwards a client's model call to a real
//! upstream API. The API key is read from the harness's environment and
//! added here, on the harness's side of the sandbox wall; the sandbox only
//! ever holds a placeholder.
//!
//! Model specs name the upstream: `anthropic:<model>` (Messages),
//! `openai:<model>` (Responses and Chat Completions),
//! `openai-compatible:<url>#<model>` (Chat Completions, and Responses where
//! the server has it), `gemini:<model>` (generateContent). A relayed request
//! keeps its shape: a client is relayed only to an upstream that speaks its
//! API. The model named in the request is replaced by the spec's.

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;

/// The largest upstream answer read.
pub const REPLY_LIMIT: usize = 64 << 20;

/// How long to wait for a connection, and for each read of an answer (a
/// model may think for minutes before its first byte).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(600);

/// What answers an agent's model calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A scenario's reference policy served as the model.
    Scripted {
        policy: String,
    },
    Anthropic {
        model: String,
    },
    OpenAi {
        model: String,
    },
    OpenAiCompatible {
        url: String,
        model: String,
    },
    Gemini {
        model: String,
    },
}

/// A model API's wire shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Anthropic Messages.
    Messages,
    /// OpenAI Responses.
    Responses,
    /// OpenAI Chat Completions.
    ChatCompletions,
    /// Gemini generateContent; the method (`generateContent`,
    /// `streamGenerateContent`, `countTokens`) goes in the path.
    Gemini,
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Wire::Messages => "Anthropic Messages",
            Wire::Responses => "OpenAI Responses",
            Wire::ChatCompletions => "OpenAI Chat Completions",
            Wire::Gemini => "Gemini generateContent",
        })
    }
}

/// A model spec, a price or an upstream setting that cannot be used: the
/// caller's input, never a failure of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<String> for ConfigError {
    fn from(message: String) -> ConfigError {
        ConfigError(message)
    }
}

pub const MODEL_SPEC_HELP: &str = "expected `scripted:<policy>`, `anthropic:<model>`, `openai:<model>`, \
     `openai-compatible:<url>#<model>` or `gemini:<model>`";

impl ModelSpec {
    pub fn parse(spec: &str) -> Result<ModelSpec, ConfigError> {
        Self::read(spec).map_err(ConfigError)
    }

    fn read(spec: &str) -> Result<ModelSpec, String> {
        let (kind, rest) = spec.split_once(':').ok_or_else(|| MODEL_SPEC_HELP.to_owned())?;
        if rest.trim().is_empty() {
            return Err(format!("`{kind}:` needs a name after the colon; {MODEL_SPEC_HELP}"));
        }
        let name = rest.to_owned();
        match kind {
            "scripted" => Ok(ModelSpec::Scripted { policy: name }),
            "anthropic" => Ok(ModelSpec::Anthropic { model: name }),
            "openai" => Ok(ModelSpec::OpenAi { model: name }),
            "gemini" => Ok(ModelSpec::Gemini { model: name }),
            "openai-compatible" => {
                let (url, model) = rest.rsplit_once('#').ok_or_else(|| {
                    "`openai-compatible:` needs `<url>#<model>`, e.g. `openai-compatible:http://10.0.0.5:8000/v1#qwen3`".to_owned()
                })?;
                Endpoint::parse(url)?;
                if model.is_empty() {
                    return Err("`openai-compatible:` needs a model name after `#`".into());
                }
                Ok(ModelSpec::OpenAiCompatible { url: url.into(), model: model.into() })
            }
            _ => {
                let kinds = ["scripted", "anthropic", "openai", "openai-compatible", "gemini"];
                let guess = text::closest(kind, kinds)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                Err(format!("unknown model kind `{kind}`{guess}; {MODEL_SPEC_HELP}"))
            }
        }
    }

    /// The wire shapes an upstream answers; none for a scripted model, which
    /// answers every shape itself.
    pub fn wires(&self) -> &'static [Wire] {
        match self {
            ModelSpec::Scripted { .. } => &[],
            ModelSpec::Anthropic { .. } => &[Wire::Messages],
            ModelSpec::OpenAi { .. } | ModelSpec::OpenAiCompatible { .. } => {
                &[Wire::Responses, Wire::ChatCompletions]
            }
            ModelSpec::Gemini { .. } => &[Wire::Gemini],
        }
    }

    /// The environment variable the harness reads the key from.
    pub fn key_var(&self) -> Option<&'static str> {
        match self {
            ModelSpec::Scripted { .. } => None,
            ModelSpec::Anthropic { .. } => Some("ANTHROPIC_API_KEY"),
            ModelSpec::OpenAi { .. } => Some("OPENAI_API_KEY"),
            // Never the OpenAI key: it would go to whatever server the URL
            // names.
            ModelSpec::OpenAiCompatible { .. } => Some("OPENAI_COMPATIBLE_API_KEY"),
            ModelSpec::Gemini { .. } => Some("GEMINI_API_KEY"),
        }
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSpec::Scripted { policy } => write!(f, "scripted:{policy}"),
            ModelSpec::Anthropic { model } => write!(f, "anthropic:{model}"),
            ModelSpec::OpenAi { model } => write!(f, "openai:{model}"),
            ModelSpec::OpenAiCompatible { url, model } => {
                write!(f, "openai-compatible:{url}#{model}")
            }
            ModelSpec::Gemini { model } => write!(f, "gemini:{model}"),
        }
    }
}

/// Where an upstream lives: `http[s]://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    /// The path prefix, without a trailing slash (`/v1`, or empty).
    prefix: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| format!("bad upstream URL `{url}`: {why}");
        let (tls, rest) = match url.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            _ => return Err(bad("it must start with http:// or https://")),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| bad("the port is not a number"))?)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Endpoint { tls, host: host.into(), port, prefix: prefix.into() })
    }
}

/// A secret that never prints.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A real model API the gateway relays to.
#[derive(Clone)]
pub struct Upstream {
    spec: ModelSpec,
    endpoint: Endpoint,
    key: Option<Secret>,
    tls: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("spec", &self.spec)
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Why a relayed call got no answer from the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayError {
    /// No key in the harness's environment.
    NoKey { var: &'static str },
    /// The client's API is not one the upstream speaks.
    WrongWire { wire: Wire, spec: String },
    /// No connection, TLS failure, timeout, or a garbled answer.
    Unreachable { url: String, message: String },
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelayError::NoKey { var } => {
                write!(f, "{var} is not set in the harness's environment")
            }
            RelayError::WrongWire { wire, spec } => {
                write!(f, "the client speaks {wire}, which `{spec}` does not")
            }
            RelayError::Unreachable { url, message } => {
                write!(f, "the upstream {url} is unreachable: {message}")
            }
        }
    }
}

impl std::error::Error for RelayError {}

/// Why a run does not start: the upstream cannot be used as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightError {
    /// The key's variable is not set.
    NoKey { var: &'static str },
    /// The upstream answered 401 or 403 to the key.
    Refused { spec: String, status: u16, detail: String },
    /// No answer at all.
    Unreachable { url: String, message: String },
}

impl fmt::Display for PreflightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightError::NoKey { var } => write!(f, "{var} is not set: the model needs its key"),
            PreflightError::Refused { spec, status, detail } => {
                write!(f, "`{spec}` refused the key ({status}): {detail}")
            }
            PreflightError::Unreachable { url, message } => {
                write!(f, "the upstream {url} does not answer: {message}")
            }
        }
    }
}

impl std::error::Error for PreflightError {}

/// An upstream's answer, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// The `retry-after` header, as sent.
    pub retry_after: Option<String>,
}

impl Upstream {
    /// The upstream for a non-scripted spec, its key and base URL read with
    /// `env` (the harness's environment): `ANTHROPIC_BASE_URL`,
    /// `OPENAI_BASE_URL` and `GEMINI_BASE_URL` override the public APIs, and
    /// `PERIMETER_CA_FILE` names PEM certificates trusted besides the
    /// built-in Mozilla roots (a lab's internal model server, or its
    /// TLS-inspecting proxy). A missing key is not an error here: each call
    /// fails with [`RelayError::NoKey`], which ends its episode with a
    /// reason.
    pub fn new(
        spec: &ModelSpec,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Upstream, ConfigError> {
        let base = |var: &str, default: &str| env(var).unwrap_or_else(|| default.to_owned());
        let url = match spec {
            ModelSpec::Scripted { .. } => {
                return Err(ConfigError("a scripted model has no upstream".into()));
            }
            ModelSpec::Anthropic { .. } => base("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
            ModelSpec::OpenAi { .. } => base("OPENAI_BASE_URL", "https://api.openai.com/v1"),
            ModelSpec::OpenAiCompatible { url, .. } => url.clone(),
            ModelSpec::Gemini { .. } => {
                base("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com")
            }
        };
        let key = spec.key_var().and_then(env).filter(|k| !k.is_empty()).map(Secret);
        let tls = tls_config(env("PERIMETER_CA_FILE").as_deref())?;
        Ok(Upstream { spec: spec.clone(), endpoint: Endpoint::parse(&url)?, key, tls })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The model name the upstream is asked for.
    pub fn model(&self) -> &str {
        match &self.spec {
            ModelSpec::Scripted { policy } => policy,
            ModelSpec::Anthropic { model }
            | ModelSpec::OpenAi { model }
            | ModelSpec::OpenAiCompatible { model, .. }
            | ModelSpec::Gemini { model } => model,
        }
    }

    /// The key, to recognise it if it ever shows up where it must not.
    pub fn key_for_audit(&self) -> Option<&str> {
        self.key.as_ref().map(|k| k.0.as_str())
    }

    /// Checks, before any episode, that the upstream answers and takes the
    /// key: one request to its model list (`GET …/models`), which costs no
    /// tokens. Any answer but 401 or 403 will do (a compatible server may
    /// have no model list); no answer, or a refused key, will not.
    pub fn preflight(&self) -> Result<(), PreflightError> {
        let compatible = matches!(self.spec, ModelSpec::OpenAiCompatible { .. });
        let key = match (&self.key, self.spec.key_var()) {
            (Some(k), _) => Some(k.0.as_str()),
            (None, Some(var)) if !compatible => return Err(PreflightError::NoKey { var }),
            (None, _) => None,
        };
        let prefix = &self.endpoint.prefix;
        let (target, mut headers) = match &self.spec {
            ModelSpec::Anthropic { .. } => (
                format!("{prefix}/v1/models"),
                vec![("anthropic-version".into(), "2023-06-01".into())],
            ),
            ModelSpec::Gemini { .. } => (format!("{prefix}/v1beta/models"), Vec::new()),
            _ => (format!("{prefix}/models"), Vec::new()),
        };
        if let Some(key) = key {
            headers.push(match self.spec {
                ModelSpec::Anthropic { .. } => ("x-api-key".to_owned(), key.to_owned()),
                ModelSpec::Gemini { .. } => ("x-goog-api-key".to_owned(), key.to_owned()),
                _ => ("authorization".to_owned(), format!("Bearer {key}")),
            });
        }
        let url = format!(
            "{}://{}:{}{target}",
            if self.endpoint.tls { "https" } else { "http" },
            self.endpoint.host,
            self.endpoint.port
        );
        let reply = exchange(
            &self.endpoint,
            &self.tls,
            READ_TIMEOUT,
            "GET",
            &target,
            &headers,
            &[],
            &mut |_, _| {},
            &mut |_| {},
        )
        .map_err(|e| PreflightError::Unreachable { url, message: e.to_string() })?;
        if matches!(reply.status, 401 | 403) {
            return Err(PreflightError::Refused {
                spec: self.spec.to_string(),
                status: reply.status,
                detail: crate::excerpt(&String::from_utf8_lossy(&reply.body), 300).to_owned(),
            });
        }
        Ok(())
    }

    /// Sends one model call. `call` is what follows the API's base path: the
    /// query string for Messages, Responses and Chat Completions (`?beta=true`
    /// or empty), `<method>[?query]` for Gemini (`streamGenerateContent?alt=sse`).
    /// `headers` are the client's; only protocol headers pass on.
    pub fn post(
        &self,
        wire: Wire,
        call: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Reply, RelayError> {
        self.post_streaming(wire, call, headers, body, &mut |_, _| {}, &mut |_| {})
    }

    /// As [`Upstream::post`], handing the answer on as it arrives: `start`
    /// gets the status and content type once the head is in, `piece` each
    /// piece of the body (a model's stream reaches the client as the model
    /// writes it). The whole answer is returned as well, for the record.
    pub fn post_streaming(
        &self,
        wire: Wire,
        call: &str,
        headers: &[(String, String)],
        body: &[u8],
        start: &mut dyn FnMut(u16, &str),
        piece: &mut dyn FnMut(&[u8]),
    ) -> Result<Reply, RelayError> {
        if !self.spec.wires().contains(&wire) {
            return Err(RelayError::WrongWire { wire, spec: self.spec.to_string() });
        }
        let compatible = matches!(self.spec, ModelSpec::OpenAiCompatible { .. });
        let key = match (&self.key, self.spec.key_var()) {
            (Some(k), _) => Some(k.0.as_str()),
            (None, _) if compatible => None,
            (None, Some(var)) => return Err(RelayError::NoKey { var }),
            (None, None) => None,
        };
        let prefix = &self.endpoint.prefix;
        let target = match wire {
            Wire::Messages => format!("{prefix}/v1/messages{call}"),
            Wire::Responses => format!("{prefix}/responses{call}"),
            Wire::ChatCompletions => format!("{prefix}/chat/completions{call}"),
            Wire::Gemini => format!("{prefix}/v1beta/models/{}:{call}", self.model()),
        };
        let body = match (wire, serde_json::from_slice::<Value>(body)) {
            (Wire::Gemini, _) | (_, Err(_)) => body.to_vec(),
            (_, Ok(mut v)) => {
                v["model"] = Value::String(self.model().to_owned());
                serde_json::to_vec(&v).unwrap_or_else(|_| body.to_vec())
            }
        };
        let mut out: Vec<(String, String)> = vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json, text/event-stream".into()),
        ];
        for (k, v) in headers {
            if matches!(k.as_str(), "anthropic-version" | "anthropic-beta" | "openai-beta") {
                out.push((k.clone(), v.clone()));
            }
        }
        match (wire, key) {
            (Wire::Messages, Some(key)) => {
                out.push(("x-api-key".into(), key.into()));
                if !out.iter().any(|(k, _)| k == "anthropic-version") {
                    out.push(("anthropic-version".into(), "2023-06-01".into()));
                }
            }
            (Wire::Gemini, Some(key)) => out.push(("x-goog-api-key".into(), key.into())),
            (_, Some(key)) => out.push(("authorization".into(), format!("Bearer {key}"))),
            (_, None) => {}
        }
        let url = format!(
            "{}://{}:{}{target}",
            if self.endpoint.tls { "https" } else { "http" },
            self.endpoint.host,
            self.endpoint.port
        );
        exchange(
            &self.endpoint,
            &self.tls,
            READ_TIMEOUT,
            "POST",
            &target,
            &out,
            &body,
            start,
            piece,
        )
        .map_err(|e| RelayError::Unreachable { url, message: e.to_string() })
    }
}

/// One request over a fresh connection (`connection: close`).
#[allow(clippy::too_many_arguments)]
fn exchange(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    start: &mut dyn FnMut(u16, &str),
    piece: &mut dyn FnMut(&[u8]),
) -> io::Result<Reply> {
    let addr = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address"))?;
    let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let mut stream: Box<dyn ReadWrite> = if endpoint.tls {
        let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = rustls::ClientConnection::new(tls.clone(), name).map_err(io::Error::other)?;
        Box::new(rustls::StreamOwned::new(conn, tcp))
    } else {
        Box::new(tcp)
    };
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
        endpoint.host,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    let head = http1::read_head(&mut reader)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))?;
    // A status line reads like a request line: `HTTP/1.1`, then the code.
    if !head.method.starts_with("HTTP/") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer"));
    }
    let status = head
        .target
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad status code"))?;
    let content_type = head.header("content-type").unwrap_or("application/json").to_owned();
    let retry_after = head.header("retry-after").map(str::to_owned);
    start(status, &content_type);
    let (body, _) = http1::stream_body(&mut reader, &head, REPLY_LIMIT, true, &mut |p| {
        piece(p);
        Ok(())
    })?;
    Ok(Reply { status, content_type, body, retry_after })
}

/// A service inside the lab's walls that takes one JSON document per
/// request (a lab's production monitor, its traffic router): `POST` to a
/// fixed `http[s]://host[:port][/path]`, with the TLS roots the relays use
/// (`PERIMETER_CA_FILE` read with `env`), each request bounded in time.
#[derive(Clone)]
pub struct JsonService {
    url: String,
    endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl fmt::Debug for JsonService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonService").field("url", &self.url).finish_non_exhaustive()
    }
}

impl JsonService {
    pub fn new(
        url: &str,
        timeout: Duration,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<JsonService, ConfigError> {
        let endpoint = Endpoint::parse(url)?;
        let tls = tls_config(env("PERIMETER_CA_FILE").as_deref())?;
        Ok(JsonService { url: url.to_owned(), endpoint, tls, timeout })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Posts `body` (JSON); the answer, whatever its status.
    pub fn post(&self, body: &[u8]) -> io::Result<Reply> {
        let target = if self.endpoint.prefix.is_empty() { "/" } else { &self.endpoint.prefix };
        let headers = [
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        exchange(
            &self.endpoint,
            &self.tls,
            self.timeout,
            "POST",
            target,
            &headers,
            body,
            &mut |_, _| {},
            &mut |_| {},
        )
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// TLS with the Mozilla root set compiled in (no system store needed), and
/// the certificates of `ca_file` besides.
fn tls_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    static DEFAULT: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let build = |extra: Vec<rustls::pki_types::CertificateDer<'static>>| {
        let mut roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in extra {
            roots.add(cert).map_err(|e| format!("a certificate in PERIMETER_CA_FILE: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok::<_, String>(Arc::new(config))
    };
    let Some(path) = ca_file.filter(|p| !p.is_empty()) else {
        if let Some(c) = DEFAULT.get() {
            return Ok(c.clone());
        }
        let config = build(Vec::new())?;
        return Ok(DEFAULT.get_or_init(|| config).clone());
    };
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| format!("PERIMETER_CA_FILE `{path}`: {e}"))?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("PERIMETER_CA_FILE `{path}`: {e}"))?;
    if certs.is_empty() {
        return Err(format!("PERIMETER_CA_FILE `{path}` holds no PEM certificate"));
    }
    build(certs)
}

#[cfg(test)]
mod tests;
