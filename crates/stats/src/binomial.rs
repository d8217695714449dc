//! Intervals for a binomial rate k/n.

use crate::dist::{beta_inc, beta_quantile, normal_quantile};

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Wilson,
    ClopperPearson,
    /// Zero events: [0, −ln(1 − level)/n], about 3/n at 95%.
    RuleOfThree,
    /// A percentile bootstrap.
    Bootstrap,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Wilson => "wilson",
            Method::ClopperPearson => "clopper_pearson",
            Method::RuleOfThree => "rule_of_three",
            Method::Bootstrap => "bootstrap",
        }
    }
}

/// A rate with its denominator and a two-sided interval at `level`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub k: u64,
    pub n: u64,
    /// k/n; 0 when n is 0 (the interval is then [0, 1]).
    pub rate: f64,
    pub low: f64,
    pub high: f64,
    pub level: f64,
    pub method: Method,
}

fn check(k: u64, n: u64, level: f64) {
    assert!(k <= n, "k = {k} events out of n = {n}");
    assert!(level > 0.0 && level < 1.0, "a confidence level strictly between 0 and 1");
}

fn empty(level: f64, method: Method) -> Interval {
    Interval { k: 0, n: 0, rate: 0.0, low: 0.0, high: 1.0, level, method }
}

/// The Wilson score interval.
pub fn wilson(k: u64, n: u64, level: f64) -> Interval {
    check(k, n, level);
    if n == 0 {
        return empty(level, Method::Wilson);
    }
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / nf;
    let center = (p + z * z / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denom;
    Interval {
        k,
        n,
        rate: p,
        // Exactly 0 with no events and 1 with no non-events, where rounding
        // would leave a hair's breadth.
        low: if k == 0 { 0.0 } else { (center - half).max(0.0) },
        high: if k == n { 1.0 } else { (center + half).min(1.0) },
        level,
        method: Method::Wilson,
    }
}

/// The Clopper–Pearson ("exact") interval: never below its nominal
/// coverage.
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> Interval {
    check(k, n, level);
    if n == 0 {
        return empty(level, Method::ClopperPearson);
    }
    let alpha = 1.0 - level;
    let (kf, nf) = (k as f64, n as f64);
    let low = if k == 0 { 0.0 } else { beta_quantile(alpha / 2.0, kf, nf - kf + 1.0) };
    let high = if k == n { 1.0 } else { beta_quantile(1.0 - alpha / 2.0, kf + 1.0, nf - kf) };
    Interval { k, n, rate: kf / nf, low, high, level, method: Method::ClopperPearson }
}

/// The rule of three, for zero events in n: the upper bound −ln(1 − level)/n
/// (3/n at 95%), one-sided.
pub fn rule_of_three(n: u64, level: f64) -> Interval {
    check(0, n, level);
    if n == 0 {
        return empty(level, Method::RuleOfThree);
    }
    let high = (-(1.0 - level).ln() / n as f64).min(1.0);
    Interval { k: 0, n, rate: 0.0, low: 0.0, high, level, method: Method::RuleOfThree }
}

/// The fewest honest samples that certify a false-positive rate of at most
/// `fpr` at `confidence`, when at most `allowed` of them are flagged: the
/// smallest n for which seeing `allowed` or fewer false positives would be
/// that unlikely (probability 1 − confidence) were the rate `fpr`. With
/// none allowed: ⌈ln(1 − confidence) / ln(1 − fpr)⌉ (299 for 1% at 95%).
pub fn min_samples_for_fpr(fpr: f64, confidence: f64, allowed: u64) -> u64 {
    assert!(fpr > 0.0 && fpr < 1.0 && confidence > 0.0 && confidence < 1.0);
    let alpha = 1.0 - confidence;
    // P(X ≤ allowed | n, fpr) = I_{1−fpr}(n − allowed, allowed + 1).
    let tail = |n: u64| beta_inc((n - allowed) as f64, allowed as f64 + 1.0, 1.0 - fpr);
    let (mut lo, mut hi) = (allowed + 1, allowed + 1);
    while tail(hi) > alpha {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if tail(mid) > alpha { lo = mid + 1 } else { hi = mid }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_values() {
        let w = wilson(0, 10, 0.95);
        assert!((w.high - 0.277_532_799_862_142_5).abs() < 1e-12, "{w:?}");
        let cp = clopper_pearson(0, 10, 0.95);
        assert!((cp.high - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-12, "{cp:?}");
        assert!((rule_of_three(100, 0.95).high - 0.029_957_322_735_539_91).abs() < 1e-15);
        assert_eq!(min_samples_for_fpr(0.01, 0.95, 0), 299);
        assert_eq!(clopper_pearson(7, 7, 0.9).high, 1.0);
        assert_eq!(wilson(0, 0, 0.95).high, 1.0);
    }
}
