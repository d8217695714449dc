//! A model's structured verdict on an agent's session, beside the rules:
//! what `perimeter scan --judge MODEL` asks of a model, and how its answer
//! is checked, kept and paid for.
//!
//! A session is rendered into a bounded [`Transcript`] (every event headed
//! by its index, between markers its own text cannot close) and sent with
//! a fixed, versioned [`Prompt`] (instructions, then each class's
//! criteria, from `prompts/`) in one call. The answer must be one JSON
//! object with a [`Verdict`] per class asked (present, confidence,
//! evidence indices the record shows, rationale); an answer that is not is
//! sent back with what is wrong, once. Transient failures (rate limits,
//! overload, server errors, no connection) are retried with backoff; what
//! still fails is a [`Status::Failed`] judgement, never an absent verdict.
//! Verdicts are cached by model, prompt and transcript digest, and every
//! call is admitted against a token budget.
//!
//! Knows nothing of files, formats or the scan: callers hand it events.

#![forbid(unsafe_code)]

mod cache;
mod error;
mod model;
mod prompt;
mod transcript;
mod verdict;

use std::sync::Mutex;

use gateway::{Price, Usage};
use serde::{Deserialize, Serialize};

pub use cache::{CACHE_FORMAT, Cache};
pub use error::Error;
pub use model::{CallError, MAX_OUTPUT_TOKENS, Message, Model, Reply, Script, backoff};
pub use prompt::{CLASS_PROMPTS, PROMPT_VERSION, Prompt};
pub use transcript::{EVENT_CHARS, TRANSCRIPT_CHARS, Transcript};
pub use verdict::{RATIONALE_CHARS, Verdict, parse};

/// Attempts after a transient failure, beyond the first.
pub const TRANSIENT_RETRIES: usize = 3;

/// How the judge spends.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The most tokens (input and output, every call) a scan may spend.
    pub budget_tokens: Option<u64>,
    /// For costs in US dollars.
    pub price: Option<Price>,
    /// Wait between transient retries ([`backoff`] unless set; tests set
    /// zero).
    pub no_backoff: bool,
}

pub use formats::scan::{Cost, Spent, Status};

/// A cost of nothing yet, in dollars when there is a price.
fn priced(price: Option<Price>) -> Cost {
    Cost { cost_usd: price.map(|_| 0.0), ..Cost::default() }
}

/// Adds one call's usage to a cost.
fn add(cost: &mut Cost, usage: Usage, price: Option<Price>) {
    cost.calls += 1;
    cost.input_tokens += usage.input_tokens;
    cost.output_tokens += usage.output_tokens;
    cost.estimated |= usage.estimated;
    if let (Some(total), Some(p)) = (&mut cost.cost_usd, price) {
        *total += p.cost(usage.input_tokens, usage.output_tokens);
    }
}

/// The judge on one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One per class asked, when judged or cached.
    pub verdicts: Vec<Verdict>,
    #[serde(flatten)]
    pub cost: Cost,
    /// The digest of the transcript as the judge read it.
    pub transcript: String,
    /// Events left out of it for length.
    pub events_omitted: usize,
}

pub struct Judge {
    model: Model,
    prompt: Prompt,
    cache: Option<Cache>,
    options: Options,
    /// Spent so far, tokens reserved by calls under way, and the last
    /// cache write that failed.
    state: Mutex<(Spent, u64, Option<String>)>,
}

impl Judge {
    pub fn new(model: Model, prompt: Prompt, cache: Option<Cache>, options: Options) -> Judge {
        let spent = Spent { cost: priced(options.price), ..Spent::default() };
        Judge { model, prompt, cache, options, state: Mutex::new((spent, 0, None)) }
    }

    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// The model as outputs name it.
    pub fn model(&self) -> String {
        self.model.identity()
    }

    pub fn spent(&self) -> Spent {
        self.lock().0
    }

    /// Why the last cache write failed, if one did.
    pub fn cache_error(&self) -> Option<String> {
        self.lock().2.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Spent, u64, Option<String>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Judges one session.
    pub fn judge(&self, transcript: &Transcript) -> Judgement {
        let j = self.judge_inner(transcript);
        let mut state = self.lock();
        let s = &mut state.0;
        s.sessions += 1;
        match j.status {
            Status::Judged => s.judged += 1,
            Status::Cached => s.cached += 1,
            Status::Failed => s.failed += 1,
            Status::Skipped => s.skipped += 1,
        }
        j
    }

    fn judge_inner(&self, transcript: &Transcript) -> Judgement {
        let mut j = Judgement {
            status: Status::Judged,
            error: None,
            verdicts: Vec::new(),
            cost: priced(self.options.price),
            transcript: transcript.digest.clone(),
            events_omitted: transcript.omitted(),
        };
        let model = self.model.identity();
        let key = Cache::key(&model, &self.prompt.digest, &transcript.digest);
        if let Some(verdicts) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            let asked = self.prompt.classes();
            if verdicts.len() == asked.len()
                && verdicts.iter().all(|v| asked.contains(&v.class.as_str()))
            {
                j.status = Status::Cached;
                j.verdicts = verdicts;
                return j;
            }
        }
        let classes = self.prompt.classes();
        let mut messages = vec![Message::User(self.prompt.user(transcript))];
        let mut transient = 0;
        let mut corrected = false;
        loop {
            let asked =
                self.prompt.system().len() + messages.iter().map(Message::len).sum::<usize>();
            let estimate = asked.div_ceil(4) as u64 + MAX_OUTPUT_TOKENS;
            if let Err(why) = self.reserve(estimate) {
                j.status = if j.cost.calls == 0 { Status::Skipped } else { Status::Failed };
                j.error = Some(why);
                return j;
            }
            let result =
                self.model.call(self.prompt.system(), &messages, transcript, classes, j.cost.calls);
            let usage = result.as_ref().map(|r| r.usage).unwrap_or_default();
            self.settle(estimate, usage, &mut j);
            match result {
                Ok(reply) => match verdict::parse(&reply.text, classes, transcript) {
                    Ok(verdicts) => {
                        j.verdicts = verdicts;
                        if let Some(cache) = &self.cache
                            && let Err(e) = cache.put(
                                &key,
                                &model,
                                &self.prompt.digest,
                                &transcript.digest,
                                &j.verdicts,
                            )
                        {
                            self.lock().2 = Some(format!("{}: {e}", cache.dir().display()));
                        }
                        return j;
                    }
                    Err(why) if !corrected => {
                        corrected = true;
                        messages.push(Message::Assistant(reply.text));
                        messages.push(Message::User(format!(
                            "That answer could not be used: {why}. Answer again with the JSON \
                             object only, as instructed."
                        )));
                    }
                    Err(why) => {
                        j.status = Status::Failed;
                        j.error = Some(format!("the answer could not be used, twice: {why}"));
                        return j;
                    }
                },
                Err(CallError::Transient(_)) if transient < TRANSIENT_RETRIES => {
                    transient += 1;
                    if !self.options.no_backoff {
                        std::thread::sleep(backoff(transient));
                    }
                }
                Err(e) => {
                    j.status = Status::Failed;
                    j.error = Some(e.message().to_owned());
                    return j;
                }
            }
        }
    }

    /// Holds `tokens` of the budget for a call, or says why not.
    fn reserve(&self, tokens: u64) -> Result<(), String> {
        let mut state = self.lock();
        if let Some(budget) = self.options.budget_tokens {
            let committed = state.0.cost.input_tokens + state.0.cost.output_tokens + state.1;
            if committed + tokens > budget {
                return Err(format!(
                    "the judge's token budget ({budget}) would not cover this call \
                     (about {tokens} tokens; {committed} spent or held)"
                ));
            }
        }
        state.1 += tokens;
        Ok(())
    }

    /// Replaces a reservation with what the call used.
    fn settle(&self, reserved: u64, usage: Usage, j: &mut Judgement) {
        add(&mut j.cost, usage, self.options.price);
        let mut state = self.lock();
        state.1 -= reserved;
        add(&mut state.0.cost, usage, self.options.price);
    }
}

#[cfg(test)]
mod tests;
