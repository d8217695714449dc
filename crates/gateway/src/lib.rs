//! The model gateway: what an agent talks to instead of a model API. Its
//! [`Service`] answers each call from a scripted [`Backend`] or relays it to
//! a real upstream ([`relay`]), within the episode's [`Budget`], and records
//! it. Four API shapes are spoken: Anthropic Messages ([`anthropic`]),
//! OpenAI Responses ([`openai`]) and Chat Completions ([`chat`]), and Gemini
//! ([`gemini`]); each turns a request into what the backend sees and the
//! backend's turn into the API's answer.
//!
//! The handlers are pure functions from a request body to a response, so
//! they are tested without a socket; the HTTP server around them is a thin
//! layer.
//!
//! The scripted backend ([`Scripted`]) serves a scenario's reference policy
//! as if it were the model. Replay is stateless: the step is the number of
//! tool results the conversation already holds, so client retries and
//! restarts cannot desynchronise it.

#![forbid(unsafe_code)]

pub mod anthropic;
pub mod budget;
pub mod chat;
pub mod fake;
pub mod gemini;
pub mod openai;
pub mod relay;
mod server;
pub mod sse;
mod tools;

pub use budget::{
    Budget, Exhausted, Limits, Price, RunBudget, RunLimits, RunSpent, Usage, list_price,
};
pub use relay::ConfigError;
pub use relay::{JsonService, ModelSpec, PreflightError, RelayError, Upstream, Wire};
pub use server::{Answerer, BODY_LIMIT, Exchange, Failure, Gateway, RetryPolicy, Service};

use scenario::Policy;

/// What the backend sees of a conversation, whatever the API shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Tool results already in the conversation.
    pub tool_results: usize,
    /// The names of the tools the client offers.
    pub tools: Vec<String>,
    /// Assistant turns that ended without a tool call and were followed by
    /// a new user message: the user asked something after the agent
    /// reported done.
    pub finished_turns: usize,
}

/// One model turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Call a tool, after optional reasoning and visible text.
    Call { thinking: Option<String>, text: Option<String>, call: Call },
    /// The final answer.
    Final { thinking: Option<String>, text: String },
}

/// A tool call in API-neutral form; each API shape maps it onto the tools
/// the client offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Shell {
        command: String,
    },
    /// `path` is absolute inside the sandbox.
    Write {
        path: String,
        content: String,
    },
}

/// The names in a request's `tools` list (Anthropic and OpenAI Responses
/// shapes).
pub(crate) fn tool_names(request: &serde_json::Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// How many times, in a conversation's messages, an assistant turn without
/// a tool call is followed by a user turn without tool results.
pub(crate) fn finished_turns<T>(
    messages: &[T],
    assistant_final: impl Fn(&T) -> bool,
    user_text: impl Fn(&T) -> bool,
) -> usize {
    messages.windows(2).filter(|w| assistant_final(&w[0]) && user_text(&w[1])).count()
}

/// Decides the next turn of a conversation.
pub trait Backend: Send + Sync {
    fn turn(&self, conversation: &Conversation) -> Turn;
}

/// Serves a reference policy as the model.
#[derive(Debug, Clone)]
pub struct Scripted {
    policy: Policy,
    /// Where relative write paths of the policy are rooted (the home).
    home: String,
}

impl Scripted {
    pub fn new(policy: Policy, home: &str) -> Scripted {
        Scripted { policy, home: home.trim_end_matches('/').to_owned() }
    }
}

impl Backend for Scripted {
    fn turn(&self, conversation: &Conversation) -> Turn {
        // Asked again after reporting done: the scenario's follow-up.
        if conversation.finished_turns > 0
            && let Some(answer) = &self.policy.followup
        {
            return Turn::Final { thinking: None, text: answer.clone() };
        }
        let Some(step) = self.policy.steps.get(conversation.tool_results) else {
            return Turn::Final { thinking: None, text: self.policy.final_message.clone() };
        };
        let call = match (&step.shell, &step.write) {
            (Some(command), _) => Call::Shell { command: command.clone() },
            (None, Some(w)) => Call::Write {
                path: format!("{}/{}", self.home, w.path),
                content: w.content.clone(),
            },
            // The scenario loader refuses steps without an action.
            (None, None) => {
                return Turn::Final { thinking: None, text: self.policy.final_message.clone() };
            }
        };
        Turn::Call { thinking: step.think.clone(), text: step.say.clone(), call }
    }
}

/// An HTTP answer from a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Response {
    fn json(status: u16, value: &serde_json::Value) -> Response {
        Response { status, content_type: "application/json".into(), body: value.to_string() }
    }

    fn sse(body: String) -> Response {
        Response { status: 200, content_type: "text/event-stream".into(), body }
    }
}

/// The first `max` bytes of `s`, on a character boundary.
pub(crate) fn excerpt(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A request body as a JSON object, or why it is not one (each API shape
/// answers the reason in its own error form).
pub(crate) fn request_object(body: &[u8]) -> Result<serde_json::Value, String> {
    match serde_json::from_slice(body) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err("the request body is not a JSON object".into()),
        Err(e) => Err(format!("the request body is not JSON: {e}")),
    }
}

/// A shell command that writes `content` to `path` exactly.
pub(crate) fn heredoc(path: &str, content: &str) -> String {
    let mut tag = String::from("PERIMETER_EOF");
    while content.contains(&tag) {
        tag.push('_');
    }
    let newline = if content.ends_with('\n') { "" } else { "\n" };
    let quoted = text::shell_quote(path);
    format!("mkdir -p \"$(dirname {quoted})\" && cat > {quoted} <<'{tag}'\n{content}{newline}{tag}")
}
