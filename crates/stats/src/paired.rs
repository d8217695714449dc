//! Comparing two agents on the same scenarios, and raters on the same
//! items.

use std::collections::HashMap;
use std::hash::Hash;

use crate::bootstrap::{Rng, percentile};
use crate::dist::beta_inc;

/// McNemar's exact test on the discordant pairs: `b` items where only the
/// first agent did it, `c` where only the second did. The two-sided
/// p-value of the binomial test of b against n = b + c at one half.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let m = b.min(c);
    // P(X ≤ m) for X ~ Bin(n, 1/2) = I_{1/2}(n − m, m + 1).
    let cdf = if m == n { 1.0 } else { beta_inc((n - m) as f64, m as f64 + 1.0, 0.5) };
    (2.0 * cdf).min(1.0)
}

/// The difference of two paired rates (first − second) over the same
/// items, with a percentile interval from resampling the pairs.
pub fn paired_bootstrap_difference(
    first: &[bool],
    second: &[bool],
    reps: usize,
    level: f64,
    seed: u64,
) -> (f64, f64, f64) {
    assert_eq!(first.len(), second.len(), "paired outcomes");
    let n = first.len();
    if n == 0 {
        return (0.0, -1.0, 1.0);
    }
    let diff = |idx: &mut dyn Iterator<Item = usize>| {
        let (mut a, mut b) = (0i64, 0i64);
        for i in idx {
            a += i64::from(first[i]);
            b += i64::from(second[i]);
        }
        (a - b) as f64 / n as f64
    };
    let observed = diff(&mut (0..n));
    let mut rng = Rng::new(seed);
    let mut draws: Vec<f64> = (0..reps.max(1))
        .map(|_| diff(&mut (0..n).map(|_| rng.below(n)).collect::<Vec<_>>().into_iter()))
        .collect();
    draws.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    (observed, percentile(&draws, alpha / 2.0), percentile(&draws, 1.0 - alpha / 2.0))
}

/// How far apart two ordinal ratings are counted in a weighted kappa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KappaWeights {
    /// `|i - j|`.
    Linear,
    /// `(i - j)²`: one level apart costs little, three apart much.
    Quadratic,
}

/// Weighted Cohen's kappa for ordinal ratings `0..categories` (the
/// scikit-learn definition: disagreement weights `|i-j|` or `(i-j)²`,
/// chance from the two raters' marginals). `NaN` for no items; 1 when
/// both raters gave every item the same single category.
pub fn weighted_kappa(
    first: &[usize],
    second: &[usize],
    categories: usize,
    weights: KappaWeights,
) -> f64 {
    assert_eq!(first.len(), second.len(), "ratings of the same items");
    assert!(first.iter().chain(second).all(|&r| r < categories), "ratings within 0..{categories}");
    if first.is_empty() {
        return f64::NAN;
    }
    let n = first.len() as f64;
    let k = categories;
    let mut observed = vec![0.0; k * k];
    let (mut a, mut b) = (vec![0.0; k], vec![0.0; k]);
    for (&x, &y) in first.iter().zip(second) {
        observed[x * k + y] += 1.0;
        a[x] += 1.0;
        b[y] += 1.0;
    }
    let weight = |i: usize, j: usize| {
        let d = i.abs_diff(j) as f64;
        match weights {
            KappaWeights::Linear => d,
            KappaWeights::Quadratic => d * d,
        }
    };
    let (mut disagree, mut chance) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            disagree += weight(i, j) * observed[i * k + j];
            chance += weight(i, j) * a[i] * b[j] / n;
        }
    }
    if chance == 0.0 {
        return 1.0;
    }
    1.0 - disagree / chance
}

/// Cohen's kappa: agreement between two raters beyond chance.
pub fn cohen_kappa<T: Eq + Hash>(first: &[T], second: &[T]) -> f64 {
    assert_eq!(first.len(), second.len(), "ratings of the same items");
    let n = first.len() as f64;
    if first.is_empty() {
        return f64::NAN;
    }
    let observed = first.iter().zip(second).filter(|(a, b)| a == b).count() as f64 / n;
    let mut a: HashMap<&T, f64> = HashMap::new();
    let mut b: HashMap<&T, f64> = HashMap::new();
    for (x, y) in first.iter().zip(second) {
        *a.entry(x).or_default() += 1.0;
        *b.entry(y).or_default() += 1.0;
    }
    let expected: f64 =
        a.iter().map(|(k, ca)| ca * b.get(k).copied().unwrap_or(0.0)).sum::<f64>() / (n * n);
    if (1.0 - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (observed - expected) / (1.0 - expected)
}
