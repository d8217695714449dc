//! Monitor scores: ROC curves, AUROC, and the operating point that a
//! false-positive budget on honest traffic allows, with its interval.

use crate::bootstrap::{Rng, percentile};

/// A ROC curve: (false-positive rate, true-positive rate, threshold) from
/// the strictest threshold to the loosest; a score above the threshold is
/// flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct Roc {
    pub points: Vec<(f64, f64, f64)>,
}

/// The ROC curve of `positive` (attack) and `negative` (honest) scores.
pub fn roc(positive: &[f64], negative: &[f64]) -> Roc {
    let mut thresholds: Vec<f64> = positive.iter().chain(negative).copied().collect();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let mut points = vec![(0.0, 0.0, f64::INFINITY)];
    for t in thresholds {
        points.push((rate_at_or_above(negative, t), rate_at_or_above(positive, t), t));
    }
    Roc { points }
}

fn rate_at_or_above(scores: &[f64], t: f64) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s >= t).count() as f64 / scores.len() as f64
}

/// The area under the ROC curve: the probability that an attack scores
/// above an honest sample, ties counting one half (Mann–Whitney).
pub fn auroc(positive: &[f64], negative: &[f64]) -> f64 {
    if positive.is_empty() || negative.is_empty() {
        return f64::NAN;
    }
    let mut neg = negative.to_vec();
    neg.sort_by(f64::total_cmp);
    let mut total = 0.0;
    for &p in positive {
        let below = neg.partition_point(|&x| x < p);
        let not_above = neg.partition_point(|&x| x <= p);
        total += below as f64 + 0.5 * (not_above - below) as f64;
    }
    total / (positive.len() * neg.len()) as f64
}

/// The lowest threshold at which at most `fpr` of the honest scores are
/// flagged (a score strictly above it is flagged).
pub fn threshold_at_fpr(negative: &[f64], fpr: f64) -> f64 {
    let mut neg = negative.to_vec();
    neg.sort_by(|a, b| b.total_cmp(a));
    // Flagging the top `allowed` honest scores is within budget.
    let allowed = (fpr * neg.len() as f64).floor() as usize;
    match neg.get(allowed) {
        Some(&t) => t,
        None => f64::NEG_INFINITY,
    }
}

/// The share of attack scores flagged at a threshold.
pub fn tpr_at_threshold(positive: &[f64], threshold: f64) -> f64 {
    if positive.is_empty() {
        return 0.0;
    }
    positive.iter().filter(|&&s| s > threshold).count() as f64 / positive.len() as f64
}

impl Roc {
    /// The TPR at a false-positive budget on honest scores, with a
    /// percentile interval from resampling both sets (the threshold is
    /// re-derived in every resample, as a deployment would).
    pub fn tpr_at_fpr(
        positive: &[f64],
        negative: &[f64],
        fpr: f64,
        reps: usize,
        level: f64,
        seed: u64,
    ) -> (f64, f64, f64) {
        let point = tpr_at_threshold(positive, threshold_at_fpr(negative, fpr));
        if positive.is_empty() || negative.is_empty() {
            return (point, 0.0, 1.0);
        }
        let mut rng = Rng::new(seed);
        let mut draws: Vec<f64> = (0..reps.max(1))
            .map(|_| {
                let pos: Vec<f64> =
                    (0..positive.len()).map(|_| positive[rng.below(positive.len())]).collect();
                let neg: Vec<f64> =
                    (0..negative.len()).map(|_| negative[rng.below(negative.len())]).collect();
                tpr_at_threshold(&pos, threshold_at_fpr(&neg, fpr))
            })
            .collect();
        draws.sort_by(f64::total_cmp);
        let alpha = 1.0 - level;
        (point, percentile(&draws, alpha / 2.0), percentile(&draws, 1.0 - alpha / 2.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_tied() {
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        assert_eq!(auroc(&[0.5], &[0.5]), 0.5);
        let t = threshold_at_fpr(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], 0.1);
        assert_eq!(t, 0.9, "flagging only the top honest score");
        assert_eq!(tpr_at_threshold(&[0.95, 0.85, 0.99, 0.5], t), 0.5);
        let r = roc(&[0.9], &[0.1]);
        assert_eq!(r.points.first(), Some(&(0.0, 0.0, f64::INFINITY)));
        assert_eq!(r.points.last().map(|p| (p.0, p.1)), Some((1.0, 1.0)));
    }
}
