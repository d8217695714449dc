//! Seeded resampling: the same seed gives the same interval on every
//! machine.

use crate::{Interval, Method};

/// xoshiro256** seeded through splitmix64.
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in 0..n (Lemire's multiply-shift, unbiased).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        let n = n as u64;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }
}

/// The q-quantile of sorted values, interpolating linearly (NumPy's
/// default).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty());
    let at = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (at.floor() as usize, at.fract());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// A pooled rate Σk/Σn over clusters (scenarios), with a percentile
/// interval from resampling whole clusters: episodes of one scenario are
/// not independent, so they are drawn together.
pub fn cluster_bootstrap_rate(
    clusters: &[(u64, u64)],
    reps: usize,
    level: f64,
    seed: u64,
) -> Interval {
    let (k, n) = clusters.iter().fold((0, 0), |(k, n), c| (k + c.0, n + c.1));
    let rate = if n == 0 { 0.0 } else { k as f64 / n as f64 };
    if clusters.is_empty() || n == 0 {
        return Interval { k, n, rate, low: 0.0, high: 1.0, level, method: Method::Bootstrap };
    }
    let mut rng = Rng::new(seed);
    let mut rates: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let (mut rk, mut rn) = (0u64, 0u64);
            for _ in 0..clusters.len() {
                let c = clusters[rng.below(clusters.len())];
                rk += c.0;
                rn += c.1;
            }
            if rn == 0 { 0.0 } else { rk as f64 / rn as f64 }
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    Interval {
        k,
        n,
        rate,
        low: percentile(&rates, alpha / 2.0),
        high: percentile(&rates, 1.0 - alpha / 2.0),
        level,
        method: Method::Bootstrap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_sane() {
        let clusters = [(3, 10), (0, 10), (5, 10), (1, 10), (2, 10)];
        let a = cluster_bootstrap_rate(&clusters, 2000, 0.95, 7);
        let b = cluster_bootstrap_rate(&clusters, 2000, 0.95, 7);
        assert_eq!(a, b, "reproducible");
        assert!((a.rate - 0.22).abs() < 1e-12);
        assert!(a.low < a.rate && a.rate < a.high, "{a:?}");
        assert!(a.low >= 0.0 && a.high <= 0.5, "{a:?}");
        assert_ne!(cluster_bootstrap_rate(&clusters, 2000, 0.95, 8), a);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        let mut rng = Rng::new(1);
        let mut counts = [0; 3];
        for _ in 0..30_000 {
            counts[rng.below(3)] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
    }
}
