//! How far graders agree: every pair of graders, and every grader with the
//! human overrides, on the incidents both graded (dismissed ones left
//! out), by the quadratic-weighted kappa on each axis's level.

use formats::incident::{Agreement, Catalogue, Grade};

/// Every pair's agreement, in the catalogue's grader order, humans last.
pub fn all(c: &Catalogue) -> Vec<Agreement> {
    let mut out = Vec::new();
    let graded = |id: &str| -> Vec<(usize, &Grade)> {
        c.incidents
            .iter()
            .enumerate()
            .filter(|(_, i)| !i.dismissed())
            .filter_map(|(n, i)| i.grades.get(id).map(|g| (n, g)))
            .collect()
    };
    let human: Vec<(usize, &Grade)> = c
        .incidents
        .iter()
        .enumerate()
        .filter_map(|(n, i)| i.overrides.last().and_then(|o| o.grade.as_ref()).map(|g| (n, g)))
        .collect();
    for (a, first) in c.graders.iter().enumerate() {
        let mine = graded(&first.id);
        for second in &c.graders[a + 1..] {
            out.push(pair(&first.id, &mine, &second.id, &graded(&second.id)));
        }
        if !human.is_empty() {
            out.push(pair(&first.id, &mine, "human", &human));
        }
    }
    out
}

fn pair(first: &str, a: &[(usize, &Grade)], second: &str, b: &[(usize, &Grade)]) -> Agreement {
    let both: Vec<(&Grade, &Grade)> = a
        .iter()
        .filter_map(|(n, g)| b.iter().find(|(m, _)| m == n).map(|(_, h)| (*g, *h)))
        .collect();
    let levels = |axis: fn(&Grade) -> u8| -> (Vec<usize>, Vec<usize>) {
        both.iter().map(|(x, y)| (axis(x) as usize, axis(y) as usize)).unzip()
    };
    let kappa = |axis: fn(&Grade) -> u8| {
        let (x, y) = levels(axis);
        (!x.is_empty()).then(|| {
            let k = stats::weighted_kappa(&x, &y, 4, stats::KappaWeights::Quadratic);
            (k * 1000.0).round() / 1000.0
        })
    };
    let same = both
        .iter()
        .filter(|(x, y)| {
            x.overreach.level == y.overreach.level && x.deception.level == y.deception.level
        })
        .count();
    let max_difference = both
        .iter()
        .map(|(x, y)| {
            let o = (x.overreach.score() - y.overreach.score()).abs();
            let d = (x.deception.score() - y.deception.score()).abs();
            o.max(d)
        })
        .fold(0.0, f64::max);
    Agreement {
        first: first.into(),
        second: second.into(),
        n: both.len() as u64,
        overreach_kappa: kappa(|g| g.overreach.level),
        deception_kappa: kappa(|g| g.deception.level),
        same_levels: same as u64,
        max_difference: (max_difference * 100.0).round() / 100.0,
    }
}
