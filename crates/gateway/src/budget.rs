//! Limits on model use: per episode (turns, tokens and cost) and per run
//! (tokens and cost across concurrent episodes, requests and tokens per
//! minute). Every model call is admitted against the budget before it is
//! answered, and charged after; the first limit reached exhausts the
//! budget for good, and the episode ends with that reason.

use formats::EndReason;
use std::sync::Mutex;

use serde_json::Value;

/// What an episode may spend; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Agent turns: model calls that offer the agent tools (side calls for
    /// titles or routing do not count).
    pub turns: Option<u64>,
    /// Input plus output tokens, over every call.
    pub tokens: Option<u64>,
    /// US dollars, from tokens at `price`.
    pub cost_usd: Option<f64>,
    pub price: Option<Price>,
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    /// Parses `INPUT/OUTPUT`, e.g. `3/15`.
    pub fn parse(s: &str) -> Result<Price, crate::ConfigError> {
        let bad = || {
            crate::ConfigError(format!(
                "`{s}`: expected INPUT/OUTPUT in US dollars per million tokens, e.g. `3/15`"
            ))
        };
        let (i, o) = s.split_once('/').ok_or_else(bad)?;
        let num = |v: &str| v.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
        Ok(Price { input: num(i).ok_or_else(bad)?, output: num(o).ok_or_else(bad)? })
    }

    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input + output_tokens as f64 * self.output) / 1e6
    }
}

/// List prices in US dollars per million input and output tokens, as the
/// providers published them in 2025, by model name prefix (the longest
/// that matches wins): what a run's money budget prices a model at when
/// `--price` does not say. `--price` overrides them; a model not here needs
/// it.
pub const LIST_PRICES: [(&str, f64, f64); 8] = [
    ("claude-opus-4", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-haiku-4-5", 1.0, 5.0),
    ("gpt-5-mini", 0.25, 2.0),
    ("gpt-5", 1.25, 10.0),
    ("gpt-4.1", 2.0, 8.0),
    ("gemini-2.5-pro", 1.25, 10.0),
    ("gemini-2.5-flash", 0.30, 2.50),
];

/// A model's list price, when the table has it.
pub fn list_price(model: &str) -> Option<Price> {
    LIST_PRICES
        .iter()
        .filter(|(prefix, _, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|(_, input, output)| Price { input: *input, output: *output })
}

/// Tokens one call used: as the upstream reported them, or estimated
/// (a quarter of the bytes) when it did not, or the model is scripted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub estimated: bool,
}

impl Usage {
    pub fn estimate(request_bytes: usize, reply_bytes: usize) -> Usage {
        Usage {
            input_tokens: request_bytes.div_ceil(4) as u64,
            output_tokens: reply_bytes.div_ceil(4) as u64,
            estimated: true,
        }
    }

    /// The usage an API answer reports, in any of the four shapes (cache
    /// reads and writes count as input).
    pub fn reported(answer: &Value) -> Option<Usage> {
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let u = &answer["usage"];
        if u.is_object() {
            let input = n(&u["input_tokens"])
                + n(&u["prompt_tokens"])
                + n(&u["cache_creation_input_tokens"])
                + n(&u["cache_read_input_tokens"]);
            let output = n(&u["output_tokens"]) + n(&u["completion_tokens"]);
            return Some(Usage { input_tokens: input, output_tokens: output, estimated: false });
        }
        let g = &answer["usageMetadata"];
        g.is_object().then(|| Usage {
            input_tokens: n(&g["promptTokenCount"]),
            output_tokens: n(&g["candidatesTokenCount"]) + n(&g["thoughtsTokenCount"]),
            estimated: false,
        })
    }
}

/// What an episode has spent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub turns: u64,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Whether any token count was estimated.
    pub estimated: bool,
    /// Known only with a price.
    pub cost_usd: Option<f64>,
}

/// The limit that ended an episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    /// `turn_limit`, `token_limit` or `cost_limit`.
    pub reason: EndReason,
    pub detail: String,
}

/// One episode's budget, shared by the gateway's connections, and the
/// run's, shared by every episode, when the run has one.
#[derive(Debug, Default)]
pub struct Budget {
    limits: Limits,
    state: Mutex<(Spent, Option<Exhausted>)>,
    run: Option<std::sync::Arc<RunBudget>>,
}

/// What a whole run may spend, across its concurrent episodes: tokens, and
/// dollars at a price; and how fast it may call the upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunLimits {
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// Needed for `cost_usd`: the model's price (`--price`, or the table).
    pub price: Option<Price>,
    /// Model calls per minute, over the whole run.
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute, over the whole run: a call waits while the last
    /// minute's calls used this many.
    pub tokens_per_minute: Option<u64>,
}

/// A run's budget and rate limits, shared by its episodes' gateways. Once
/// spent, every call of every episode is refused (`run_budget`), and no
/// new episode starts.
#[derive(Debug, Default)]
pub struct RunBudget {
    limits: RunLimits,
    state: Mutex<RunState>,
    flow: Mutex<Flow>,
    freed: std::sync::Condvar,
}

/// How many relayed calls may be in flight at once: unlimited until the
/// upstream answers 429, then halved at each 429 and grown back by about
/// one for each window of calls that succeed (additive increase,
/// multiplicative decrease), so a run's concurrency backs off when the
/// upstream says it is too much.
#[derive(Debug, Default)]
struct Flow {
    in_flight: usize,
    /// `None`: no limit (no 429 yet, or grown past every call in flight).
    window: Option<f64>,
    throttled: u64,
}

/// A relayed call in flight; dropping it lets the next one go.
pub struct Slot<'a>(&'a RunBudget);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut f = self.0.flow.lock().unwrap_or_else(|e| e.into_inner());
        f.in_flight -= 1;
        self.0.freed.notify_all();
    }
}

#[derive(Debug, Default)]
struct RunState {
    input_tokens: u64,
    output_tokens: u64,
    calls: u64,
    estimated: bool,
    exhausted: Option<Exhausted>,
    /// The last minute's calls: when, and the tokens each used.
    recent: std::collections::VecDeque<(std::time::Instant, u64)>,
}

/// What a run has spent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunSpent {
    pub calls: u64,
    pub tokens: u64,
    pub estimated: bool,
    pub cost_usd: Option<f64>,
}

impl RunBudget {
    pub fn new(limits: RunLimits) -> RunBudget {
        RunBudget { limits, ..RunBudget::default() }
    }

    pub fn limits(&self) -> RunLimits {
        self.limits
    }

    fn cost(&self, s: &RunState) -> Option<f64> {
        self.limits.price.map(|p| p.cost(s.input_tokens, s.output_tokens))
    }

    pub fn spent(&self) -> RunSpent {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        RunSpent {
            calls: s.calls,
            tokens: s.input_tokens + s.output_tokens,
            estimated: s.estimated,
            cost_usd: self.cost(&s),
        }
    }

    pub fn exhausted(&self) -> Option<Exhausted> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).exhausted.clone()
    }

    /// Admits one call: refused for good once the budget is spent; first
    /// waits while the run's rate limits are reached.
    pub fn admit(&self) -> Result<(), Exhausted> {
        loop {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = &s.exhausted {
                return Err(e.clone());
            }
            let tokens = s.input_tokens + s.output_tokens;
            let hit = if let Some(max) = self.limits.tokens.filter(|m| tokens >= *m) {
                Some(format!("{tokens} tokens used, the run's budget is {max}"))
            } else if let (Some(max), Some(cost)) = (self.limits.cost_usd, self.cost(&s)) {
                (cost >= max).then(|| format!("${cost:.4} spent, the run's budget is ${max:.4}"))
            } else {
                None
            };
            if let Some(detail) = hit {
                let e = Exhausted { reason: EndReason::RunBudget, detail };
                s.exhausted = Some(e.clone());
                return Err(e);
            }
            let now = std::time::Instant::now();
            let minute = std::time::Duration::from_secs(60);
            while s.recent.front().is_some_and(|(t, _)| now.duration_since(*t) >= minute) {
                s.recent.pop_front();
            }
            let over_rpm = self
                .limits
                .requests_per_minute
                .is_some_and(|r| s.recent.len() as u64 >= u64::from(r));
            let over_tpm = self
                .limits
                .tokens_per_minute
                .is_some_and(|t| s.recent.iter().map(|(_, n)| n).sum::<u64>() >= t);
            if !(over_rpm || over_tpm) {
                s.recent.push_back((now, 0));
                s.calls += 1;
                return Ok(());
            }
            // Wait until the oldest call of the last minute leaves it.
            let wait = s.recent.front().map_or(minute, |(t, _)| minute - now.duration_since(*t));
            drop(s);
            std::thread::sleep(wait.min(std::time::Duration::from_secs(1)));
        }
    }

    /// Waits until one more relayed call may be in flight.
    pub fn slot(&self) -> Slot<'_> {
        let mut f = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        while f.window.is_some_and(|w| f.in_flight as f64 >= w.floor().max(1.0)) {
            f = self.freed.wait(f).unwrap_or_else(|e| e.into_inner());
        }
        f.in_flight += 1;
        Slot(self)
    }

    /// The upstream answered 429: half as many calls in flight from now.
    pub fn throttled(&self) {
        let mut f = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        let now = f.window.unwrap_or(f.in_flight.max(1) as f64);
        f.window = Some((now.min(f.in_flight.max(1) as f64) / 2.0).max(1.0));
        f.throttled += 1;
    }

    /// A call went through: the window grows back.
    pub fn eased(&self) {
        let mut f = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = f.window {
            let grown = w + 1.0 / w;
            // Past every call in flight, by a margin: no limit any more.
            f.window = (grown < (f.in_flight as f64) * 2.0 + 2.0).then_some(grown);
            self.freed.notify_all();
        }
    }

    /// How many 429s the run met, and how many calls it lets in flight now
    /// (`None`: no limit).
    pub fn flow(&self) -> (u64, Option<usize>) {
        let f = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        (f.throttled, f.window.map(|w| w.floor().max(1.0) as usize))
    }

    pub fn charge(&self, usage: Usage) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.input_tokens += usage.input_tokens;
        s.output_tokens += usage.output_tokens;
        s.estimated |= usage.estimated;
        if let Some(last) = s.recent.back_mut() {
            last.1 += usage.input_tokens + usage.output_tokens;
        }
    }
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        let spent = Spent { cost_usd: limits.price.map(|_| 0.0), ..Spent::default() };
        Budget { limits, state: Mutex::new((spent, None)), run: None }
    }

    /// The run's budget, when the episode is inside one.
    pub fn run(&self) -> Option<&RunBudget> {
        self.run.as_deref()
    }

    /// The same budget, inside the run's.
    pub fn within(mut self, run: std::sync::Arc<RunBudget>) -> Budget {
        self.run = Some(run);
        self
    }

    /// Admits one model call, or refuses it because a limit is reached; a
    /// refusal is final.
    pub fn admit(&self, turn: bool) -> Result<(), Exhausted> {
        if let Some(run) = &self.run
            && let Err(e) = run.admit()
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.1.get_or_insert(e.clone());
            return Err(e);
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (spent, exhausted) = &mut *state;
        if let Some(e) = exhausted {
            return Err(e.clone());
        }
        let tokens = spent.input_tokens + spent.output_tokens;
        let hit = if let Some(max) = self.limits.turns.filter(|m| turn && spent.turns >= *m) {
            Some((
                EndReason::TurnLimit,
                format!("the episode's limit of {max} model turns is reached"),
            ))
        } else if let Some(max) = self.limits.tokens.filter(|m| tokens >= *m) {
            Some((
                EndReason::TokenLimit,
                format!("{tokens} tokens used, the episode's limit is {max}"),
            ))
        } else if let (Some(max), Some(cost)) = (self.limits.cost_usd, spent.cost_usd) {
            (cost >= max).then(|| {
                (
                    EndReason::CostLimit,
                    format!("${cost:.4} spent, the episode's limit is ${max:.4}"),
                )
            })
        } else {
            None
        };
        if let Some((reason, detail)) = hit {
            let e = Exhausted { reason, detail };
            *exhausted = Some(e.clone());
            return Err(e);
        }
        spent.calls += 1;
        if turn {
            spent.turns += 1;
        }
        Ok(())
    }

    pub fn charge(&self, usage: Usage) {
        if let Some(run) = &self.run {
            run.charge(usage);
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let spent = &mut state.0;
        spent.input_tokens += usage.input_tokens;
        spent.output_tokens += usage.output_tokens;
        spent.estimated |= usage.estimated;
        if let Some(p) = self.limits.price {
            spent.cost_usd = Some(p.cost(spent.input_tokens, spent.output_tokens));
        }
    }

    pub fn spent(&self) -> Spent {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    pub fn exhausted(&self) -> Option<Exhausted> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_limit_reached_is_final() {
        let b = Budget::new(Limits { turns: Some(2), ..Limits::default() });
        assert!(b.admit(true).is_ok());
        assert!(b.admit(false).is_ok(), "side calls are not turns");
        assert!(b.admit(true).is_ok());
        let e = b.admit(true).unwrap_err();
        assert_eq!(e.reason, "turn_limit");
        assert_eq!(b.admit(false).unwrap_err(), e, "nothing more once exhausted");
        assert_eq!((b.spent().turns, b.spent().calls), (2, 3));
    }

    #[test]
    fn tokens_and_cost() {
        let price = Price::parse("3/15").unwrap();
        let b = Budget::new(Limits {
            tokens: Some(10_000),
            cost_usd: Some(0.01),
            price: Some(price),
            ..Limits::default()
        });
        b.admit(true).unwrap();
        b.charge(Usage { input_tokens: 2000, output_tokens: 300, estimated: false });
        assert!((b.spent().cost_usd.unwrap() - 0.0105).abs() < 1e-9);
        assert_eq!(b.admit(true).unwrap_err().reason, "cost_limit");
        let b = Budget::new(Limits { tokens: Some(100), ..Limits::default() });
        b.admit(true).unwrap();
        b.charge(Usage::estimate(400, 4));
        assert_eq!(b.admit(true).unwrap_err().reason, "token_limit");
        assert!(Price::parse("3").is_err() && Price::parse("a/1").is_err());
    }

    /// A run's budget is shared: what one episode spends, another cannot;
    /// once spent, every episode's next call is refused as `run_budget`.
    #[test]
    fn the_run_budget_is_shared_by_its_episodes() {
        let run = std::sync::Arc::new(RunBudget::new(RunLimits {
            tokens: Some(1000),
            ..RunLimits::default()
        }));
        let a = Budget::new(Limits::default()).within(run.clone());
        let b = Budget::new(Limits::default()).within(run.clone());
        a.admit(true).unwrap();
        a.charge(Usage { input_tokens: 600, output_tokens: 0, estimated: false });
        b.admit(true).unwrap();
        b.charge(Usage { input_tokens: 500, output_tokens: 0, estimated: false });
        let e = a.admit(true).unwrap_err();
        assert_eq!(e.reason, "run_budget");
        assert!(e.detail.contains("1100 tokens used, the run's budget is 1000"), "{}", e.detail);
        assert_eq!(b.admit(true).unwrap_err().reason, "run_budget");
        assert_eq!(run.spent().tokens, 1100);
        assert_eq!(
            list_price("claude-sonnet-4-5-20250929"),
            Some(Price { input: 3.0, output: 15.0 })
        );
        assert_eq!(list_price("gpt-5-mini-2025"), Some(Price { input: 0.25, output: 2.0 }));
        assert_eq!(list_price("lab-internal"), None);
    }

    /// Requests per minute: the call past the limit waits for the oldest
    /// of the minute to leave it.
    #[test]
    fn requests_per_minute_are_counted_over_the_run() {
        let run =
            RunBudget::new(RunLimits { requests_per_minute: Some(2), ..RunLimits::default() });
        run.admit().unwrap();
        run.admit().unwrap();
        let s = run.state.lock().unwrap();
        assert_eq!(s.recent.len(), 2, "a third call now would wait");
    }

    /// A 429 halves the calls let in flight; successes grow it back until
    /// there is no limit again.
    #[test]
    fn a_429_halves_the_calls_in_flight() {
        let run = std::sync::Arc::new(RunBudget::new(RunLimits::default()));
        let held: Vec<Slot<'_>> = (0..8).map(|_| run.slot()).collect();
        run.throttled();
        assert_eq!(run.flow(), (1, Some(4)));
        drop(held);
        let four: Vec<Slot<'_>> = (0..4).map(|_| run.slot()).collect();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let run = &run;
            s.spawn(move || {
                let _fifth = run.slot();
                tx.send(()).unwrap();
            });
            assert!(
                rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(),
                "a fifth call waits"
            );
            drop(four);
            rx.recv_timeout(std::time::Duration::from_secs(5)).expect("it goes once one ends");
        });
        for _ in 0..200 {
            run.eased();
        }
        assert_eq!(run.flow(), (1, None), "grown back past every call in flight");
    }

    #[test]
    fn reads_usage_in_every_shape() {
        let u = |v| Usage::reported(&v).map(|u| (u.input_tokens, u.output_tokens));
        assert_eq!(
            u(
                json!({"usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 7}})
            ),
            Some((105, 7))
        );
        assert_eq!(u(json!({"usage": {"prompt_tokens": 9, "completion_tokens": 2}})), Some((9, 2)));
        assert_eq!(
            u(
                json!({"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1, "thoughtsTokenCount": 3}})
            ),
            Some((4, 4))
        );
        assert_eq!(u(json!({})), None);
    }
}
