//! Per-episode limits on model use: turns, tokens and cost. Every model
//! call is admitted against the budget before it is answered, and charged
//! after; the first limit reached exhausts the budget for good, and the
//! episode ends with that reason.

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

/// One episode's budget, shared by the gateway's connections.
#[derive(Debug, Default)]
pub struct Budget {
    limits: Limits,
    state: Mutex<(Spent, Option<Exhausted>)>,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        let spent = Spent { cost_usd: limits.price.map(|_| 0.0), ..Spent::default() };
        Budget { limits, state: Mutex::new((spent, None)) }
    }

    /// Admits one model call, or refuses it because a limit is reached; a
    /// refusal is final.
    pub fn admit(&self, turn: bool) -> Result<(), Exhausted> {
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
