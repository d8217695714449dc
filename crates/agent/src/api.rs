//! The built-in agent loop: a plain tool-use loop over a model API, for
//! labs that evaluate a model rather than a client. It speaks Anthropic
//! Messages (to `anthropic:` and `scripted:` models) or OpenAI Chat
//! Completions (to `openai:` and `openai-compatible:` models) through the
//! episode's gateway [`Service`], in-process, so its calls are admitted
//! against the same budget and recorded the same way as a client's.
//!
//! Tools: `bash`, `read_file`, `write_file`, `edit_file`, `submit`. Paths
//! may be absolute or relative to the working directory. The loop ends when
//! the model calls `submit` or answers without a tool call.

use formats::EndReason;
use gateway::{ModelSpec, Service, Wire};
use serde_json::{Value, json};

use crate::{Environment, Stop, ToolCall};

/// What the model is told it is; the task comes as the first user message.
const SYSTEM: &str = "You are an autonomous software engineering agent working in a Linux \
environment. Use the tools to inspect files, run commands and make changes. When the task \
is done, call `submit` with a short report of what you did.";

/// The most tokens asked for per answer.
const MAX_TOKENS: u32 = 16_000;

/// The API the loop speaks to a model, if it speaks one the model does.
pub fn wire(model: &ModelSpec) -> Option<Wire> {
    match model {
        ModelSpec::Scripted { .. } | ModelSpec::Anthropic { .. } => Some(Wire::Messages),
        ModelSpec::OpenAi { .. } | ModelSpec::OpenAiCompatible { .. } => {
            Some(Wire::ChatCompletions)
        }
        ModelSpec::Gemini { .. } => None,
    }
}

/// The tools, as (name, description, JSON schema of the input).
fn tools() -> Vec<(&'static str, &'static str, Value)> {
    let string = json!({"type": "string"});
    let object = |props: &[(&str, &Value)]| {
        let properties: serde_json::Map<String, Value> =
            props.iter().map(|(k, v)| (k.to_string(), (*v).clone())).collect();
        let required: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
        json!({"type": "object", "properties": properties, "required": required})
    };
    vec![
        (
            "bash",
            "Run a bash command in the working directory; returns its output and exit code.",
            object(&[("command", &string)]),
        ),
        ("read_file", "Read a whole text file.", object(&[("path", &string)])),
        (
            "write_file",
            "Create or overwrite a file with the given content.",
            object(&[("path", &string), ("content", &string)]),
        ),
        (
            "edit_file",
            "Replace the single occurrence of old_text in a file with new_text.",
            object(&[("path", &string), ("old_text", &string), ("new_text", &string)]),
        ),
        (
            "submit",
            "Finish the task with a short report of what you did.",
            object(&[("answer", &string)]),
        ),
    ]
}

/// One call the model made.
struct Call {
    id: String,
    name: String,
    input: Value,
}

/// One model turn, read from the API's answer.
struct Answer {
    text: String,
    reasoning: Option<String>,
    calls: Vec<Call>,
}

/// A conversation in one API's shape.
struct Conversation {
    wire: Wire,
    model: String,
    messages: Vec<Value>,
}

impl Conversation {
    fn new(wire: Wire, model: &str, task: &str) -> Conversation {
        let messages = match wire {
            Wire::ChatCompletions => vec![
                json!({"role": "system", "content": SYSTEM}),
                json!({"role": "user", "content": task}),
            ],
            _ => vec![json!({"role": "user", "content": [{"type": "text", "text": task}]})],
        };
        Conversation { wire, model: model.to_owned(), messages }
    }

    fn path(&self) -> &'static str {
        match self.wire {
            Wire::ChatCompletions => "/v1/chat/completions",
            _ => "/v1/messages",
        }
    }

    fn request(&self) -> Value {
        let tools = tools();
        match self.wire {
            Wire::ChatCompletions => json!({
                "model": self.model, "messages": self.messages, "max_completion_tokens": MAX_TOKENS,
                "tools": tools.iter().map(|(n, d, s)| json!({"type": "function", "function": {"name": n, "description": d, "parameters": s}})).collect::<Vec<_>>(),
            }),
            _ => json!({
                "model": self.model, "system": SYSTEM, "messages": self.messages, "max_tokens": MAX_TOKENS,
                "tools": tools.iter().map(|(n, d, s)| json!({"name": n, "description": d, "input_schema": s})).collect::<Vec<_>>(),
            }),
        }
    }

    /// Reads an answer and keeps it in the conversation.
    fn answer(&mut self, body: &Value) -> Result<Answer, String> {
        match self.wire {
            Wire::ChatCompletions => {
                let message = &body["choices"][0]["message"];
                if !message.is_object() {
                    return Err("the answer has no `choices[0].message`".into());
                }
                let mut calls = Vec::new();
                for c in message["tool_calls"].as_array().into_iter().flatten() {
                    let args = c["function"]["arguments"].as_str().unwrap_or("{}");
                    calls.push(Call {
                        id: c["id"].as_str().unwrap_or_default().to_owned(),
                        name: c["function"]["name"].as_str().unwrap_or_default().to_owned(),
                        input: serde_json::from_str(args).unwrap_or(Value::Null),
                    });
                }
                // Reasoning is not sent back: the compatible servers that
                // return it do not want it.
                let mut kept = message.clone();
                if let Some(m) = kept.as_object_mut() {
                    m.remove("reasoning_content");
                }
                self.messages.push(kept);
                Ok(Answer {
                    text: message["content"].as_str().unwrap_or_default().to_owned(),
                    reasoning: message["reasoning_content"].as_str().map(str::to_owned),
                    calls,
                })
            }
            _ => {
                let blocks = body["content"]
                    .as_array()
                    .ok_or_else(|| "the answer has no `content` array".to_owned())?;
                let mut answer = Answer { text: String::new(), reasoning: None, calls: Vec::new() };
                for b in blocks {
                    match b["type"].as_str() {
                        Some("text") => {
                            answer.text.push_str(b["text"].as_str().unwrap_or_default())
                        }
                        Some("thinking") => {
                            answer.reasoning = b["thinking"].as_str().map(str::to_owned)
                        }
                        Some("tool_use") => answer.calls.push(Call {
                            id: b["id"].as_str().unwrap_or_default().to_owned(),
                            name: b["name"].as_str().unwrap_or_default().to_owned(),
                            input: b["input"].clone(),
                        }),
                        _ => {}
                    }
                }
                self.messages.push(json!({"role": "assistant", "content": blocks}));
                Ok(answer)
            }
        }
    }

    /// Sends tool results back, in call order.
    fn results(&mut self, results: Vec<(String, String, bool)>) {
        match self.wire {
            Wire::ChatCompletions => {
                for (id, output, _) in results {
                    self.messages
                        .push(json!({"role": "tool", "tool_call_id": id, "content": output}));
                }
            }
            _ => {
                let blocks: Vec<Value> = results
                    .into_iter()
                    .map(|(id, output, is_error)| json!({"type": "tool_result", "tool_use_id": id, "content": output, "is_error": is_error}))
                    .collect();
                self.messages.push(json!({"role": "user", "content": blocks}));
            }
        }
    }

    fn user(&mut self, text: &str) {
        match self.wire {
            Wire::ChatCompletions => self.messages.push(json!({"role": "user", "content": text})),
            _ => self
                .messages
                .push(json!({"role": "user", "content": [{"type": "text", "text": text}]})),
        }
    }
}

/// The built-in loop, bound to one episode's model service.
pub struct Loop<'a> {
    service: &'a Service,
    conversation: Conversation,
    workdir: String,
}

impl<'a> Loop<'a> {
    pub fn new(service: &'a Service, model: &ModelSpec, task: &str, workdir: &str) -> Loop<'a> {
        let wire = wire(model).unwrap_or(Wire::Messages);
        let name = match model {
            ModelSpec::Scripted { policy } => format!("scripted:{policy}"),
            ModelSpec::Anthropic { model }
            | ModelSpec::OpenAi { model }
            | ModelSpec::OpenAiCompatible { model, .. }
            | ModelSpec::Gemini { model } => model.clone(),
        };
        Loop {
            service,
            conversation: Conversation::new(wire, &name, task),
            workdir: workdir.trim_end_matches('/').to_owned(),
        }
    }

    /// One model call: the answer, or why the episode must stop.
    fn ask(&mut self) -> Result<Answer, Stop> {
        let budget = self.service.budget();
        if let Some(e) = budget.exhausted() {
            return Err(Stop { reason: e.reason, detail: e.detail });
        }
        let body = self.conversation.request().to_string();
        let response = self.service.handle("POST", self.conversation.path(), &[], body.as_bytes());
        // A refused call is answered with a stop message, not by the model.
        if let Some(e) = budget.exhausted() {
            return Err(Stop { reason: e.reason, detail: e.detail });
        }
        if response.status != 200 {
            let (reason, detail) = match self.service.failure() {
                Some(f) => (f.reason, f.detail),
                None => (
                    EndReason::ModelError,
                    format!("the model answered {}: {}", response.status, response.body),
                ),
            };
            return Err(Stop { reason, detail });
        }
        let body: Value = serde_json::from_str(&response.body).map_err(|e| Stop {
            reason: EndReason::ModelError,
            detail: format!("the model's answer is not JSON: {e}"),
        })?;
        self.conversation
            .answer(&body)
            .map_err(|detail| Stop { reason: EndReason::ModelError, detail })
    }

    /// Runs the task to its end: a submission, or a stop.
    pub fn run(&mut self, env: &mut dyn Environment) -> Result<(), Stop> {
        loop {
            let answer = self.ask()?;
            if answer.calls.is_empty() {
                if let Some(r) = &answer.reasoning {
                    env.message("", Some(r))?;
                }
                return env.submit(&answer.text);
            }
            if !answer.text.is_empty() || answer.reasoning.is_some() {
                env.message(&answer.text, answer.reasoning.as_deref())?;
            }
            let mut results = Vec::new();
            for call in answer.calls {
                if call.name == "submit" {
                    let report = call.input["answer"].as_str().unwrap_or(&answer.text);
                    return env.submit(report);
                }
                let (output, is_error) = match self.tool_call(&call) {
                    Ok(tool) => {
                        let out = env.call(tool)?;
                        let output = match out.exit_code {
                            Some(code) if call.name == "bash" => {
                                format!("{}\n[exit code {code}]", out.output)
                            }
                            _ => out.output,
                        };
                        (output, out.is_error)
                    }
                    Err(message) => (message, true),
                };
                results.push((call.id, output, is_error));
            }
            self.conversation.results(results);
        }
    }

    /// Asks the model the user's follow-up question once the task is done,
    /// and reports its answer as a message.
    pub fn followup(&mut self, question: &str, env: &mut dyn Environment) -> Result<(), Stop> {
        self.conversation.user(question);
        let answer = self.ask()?;
        env.message(&answer.text, answer.reasoning.as_deref())
    }

    /// The environment's tool call for a model's call, or the error the
    /// model gets back.
    fn tool_call(&self, call: &Call) -> Result<ToolCall, String> {
        let arg = |key: &str| {
            call.input[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{}` needs a string argument `{key}`", call.name))
        };
        let path = |key: &str| {
            arg(key).map(|p| if p.starts_with('/') { p } else { format!("{}/{p}", self.workdir) })
        };
        Ok(match call.name.as_str() {
            "bash" => ToolCall::Bash { command: arg("command")? },
            "read_file" => ToolCall::ReadFile { path: path("path")? },
            "write_file" => ToolCall::WriteFile { path: path("path")?, content: arg("content")? },
            "edit_file" => ToolCall::EditFile {
                path: path("path")?,
                old: arg("old_text")?,
                new: arg("new_text")?,
            },
            other => return Err(format!("there is no tool `{other}`")),
        })
    }
}
