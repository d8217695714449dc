//! The one interval Perimeter reports for a rate of events over trials that
//! come in clusters (a run's episodes grouped by scenario; a round's by
//! participant and scenario), chosen by situation:
//!
//! - Wilson's score interval, which treats trials as independent: it never
//!   has a lower bound of 0 with events seen, nor an upper bound of 1 with
//!   non-events seen, nor zero width, and at zero events its upper bound
//!   (about 3.8/n) is close to the rule of three's 3/n without reaching 1
//!   for small n as that rule does;
//! - a percentile cluster bootstrap instead, which lets trials of a
//!   cluster be alike, only with at least [`MIN_BOOTSTRAP_CLUSTERS`]
//!   clusters, some events and some non-events, and only when its interval
//!   is not degenerate (a bound at 0 or 1, or zero width). With few
//!   clusters, resampling them gives exactly such intervals: 3 events in 21
//!   trials over 7 clusters came out as `[0.0, 28.6]`.

use crate::{Interval, cluster_bootstrap_rate, wilson};

/// Clusters needed before a bootstrap interval is given.
pub const MIN_BOOTSTRAP_CLUSTERS: usize = 30;

/// The interval for Σk/Σn over `clusters` (events, trials); `reps` and
/// `seed` drive the bootstrap when it is used.
pub fn rate_interval(clusters: &[(u64, u64)], reps: usize, level: f64, seed: u64) -> Interval {
    let (k, n) = clusters.iter().fold((0, 0), |(k, n), c| (k + c.0, n + c.1));
    let w = wilson(k, n, level);
    let resampled = clusters.iter().filter(|c| c.1 > 0).count();
    if k == 0 || k == n || resampled < MIN_BOOTSTRAP_CLUSTERS {
        return w;
    }
    let b = cluster_bootstrap_rate(clusters, reps, level, seed);
    if b.low <= 0.0 || b.high >= 1.0 || b.high <= b.low {
        return w;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    /// The edges the issue names: k = 0, 1, n − 1, n for n = 1, 5, 21, 63,
    /// spread over clusters of three.
    #[test]
    fn never_a_zero_lower_bound_with_events_nor_a_zero_width() {
        for n in [1u64, 5, 21, 63, 300] {
            for k in [0, 1, n.saturating_sub(1), n] {
                let clusters: Vec<(u64, u64)> = (0..n.div_ceil(3))
                    .map(|c| {
                        let size = 3.min(n - 3 * c);
                        let events = k.saturating_sub(3 * c).min(size);
                        (events, size)
                    })
                    .collect();
                let i = rate_interval(&clusters, 500, 0.95, 1);
                assert_eq!((i.k, i.n), (k, n));
                assert!(i.high > i.low, "k={k} n={n}: {i:?}");
                if k > 0 {
                    assert!(i.low > 0.0, "k={k} n={n}: {i:?}");
                }
                if k < n {
                    assert!(i.high < 1.0, "k={k} n={n}: {i:?}");
                }
                assert!(i.low <= i.rate && i.rate <= i.high, "k={k} n={n}: {i:?}");
            }
        }
    }

    #[test]
    fn the_method_follows_the_situation() {
        let few: Vec<(u64, u64)> = (0..7).map(|c| (u64::from(c < 3), 3)).collect();
        assert_eq!(rate_interval(&few, 500, 0.95, 1).method, Method::Wilson, "3/21 in 7 clusters");
        let none = [(0, 10), (0, 10)];
        assert_eq!(rate_interval(&none, 500, 0.95, 1).method, Method::Wilson);
        let all: Vec<(u64, u64)> = (0..40).map(|_| (2, 2)).collect();
        assert_eq!(rate_interval(&all, 500, 0.95, 1).method, Method::Wilson, "every trial");
        let many: Vec<(u64, u64)> = (0..40).map(|c| (c % 4, 4)).collect();
        let b = rate_interval(&many, 2000, 0.95, 1);
        assert_eq!(b.method, Method::Bootstrap, "{b:?}");
        assert_eq!(b, rate_interval(&many, 2000, 0.95, 1), "seeded");
    }
}
