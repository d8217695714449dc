//! The stats crate against scipy, statsmodels and scikit-learn
//! (`fixtures/reference.json`, made by `fixtures/regenerate.py`).

use serde_json::Value;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs().max(1e-3), "{what}: got {got}, want {want}");
}

#[test]
fn binomial_intervals_match_statsmodels() {
    let r = reference();
    let cases = r["intervals"].as_array().unwrap();
    assert!(cases.len() > 100);
    for c in cases {
        let (k, n, level) =
            (c["k"].as_u64().unwrap(), c["n"].as_u64().unwrap(), c["level"].as_f64().unwrap());
        let what = format!("k={k} n={n} level={level}");
        let w = stats::wilson(k, n, level);
        close(w.low, c["wilson"][0].as_f64().unwrap(), 1e-9, &format!("wilson low {what}"));
        close(w.high, c["wilson"][1].as_f64().unwrap(), 1e-9, &format!("wilson high {what}"));
        let cp = stats::clopper_pearson(k, n, level);
        close(cp.low, c["clopper_pearson"][0].as_f64().unwrap(), 1e-8, &format!("cp low {what}"));
        close(cp.high, c["clopper_pearson"][1].as_f64().unwrap(), 1e-8, &format!("cp high {what}"));
    }
}

#[test]
fn quantiles_match_scipy() {
    let r = reference();
    for c in r["t_quantile"].as_array().unwrap() {
        let (p, df) = (c["p"].as_f64().unwrap(), c["df"].as_f64().unwrap());
        close(
            stats::t_quantile(p, df),
            c["x"].as_f64().unwrap(),
            1e-9,
            &format!("t.ppf({p}, {df})"),
        );
    }
    for c in r["normal_quantile"].as_array().unwrap() {
        let p = c["p"].as_f64().unwrap();
        close(stats::normal_quantile(p), c["x"].as_f64().unwrap(), 1e-12, &format!("ppf({p})"));
    }
    for c in r["beta_quantile"].as_array().unwrap() {
        let (p, a, b) =
            (c["p"].as_f64().unwrap(), c["a"].as_f64().unwrap(), c["b"].as_f64().unwrap());
        close(
            stats::beta_quantile(p, a, b),
            c["x"].as_f64().unwrap(),
            1e-9,
            &format!("beta.ppf({p}, {a}, {b})"),
        );
    }
}

#[test]
fn paired_tests_and_agreement_match() {
    let r = reference();
    for c in r["mcnemar"].as_array().unwrap() {
        let (b, cc) = (c["b"].as_u64().unwrap(), c["c"].as_u64().unwrap());
        close(
            stats::mcnemar_exact(b, cc),
            c["p"].as_f64().unwrap(),
            1e-10,
            &format!("mcnemar({b}, {cc})"),
        );
    }
    for c in r["kappa"].as_array().unwrap() {
        let a: Vec<u64> = c["a"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let b: Vec<u64> = c["b"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        close(stats::cohen_kappa(&a, &b), c["kappa"].as_f64().unwrap(), 1e-12, "kappa");
    }
    for c in r["weighted_kappa"].as_array().unwrap() {
        let f = |k: &str| -> Vec<usize> {
            c[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
        };
        let weights = match c["weights"].as_str().unwrap() {
            "linear" => stats::KappaWeights::Linear,
            _ => stats::KappaWeights::Quadratic,
        };
        let got = stats::weighted_kappa(&f("a"), &f("b"), 4, weights);
        close(got, c["kappa"].as_f64().unwrap(), 1e-12, "weighted kappa");
    }
    for c in r["auroc"].as_array().unwrap() {
        let f = |k: &str| -> Vec<f64> {
            c[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
        };
        close(
            stats::auroc(&f("positive"), &f("negative")),
            c["auroc"].as_f64().unwrap(),
            1e-12,
            "auroc",
        );
    }
    for c in r["min_samples"].as_array().unwrap() {
        let got = stats::min_samples_for_fpr(
            c["fpr"].as_f64().unwrap(),
            c["confidence"].as_f64().unwrap(),
            c["allowed"].as_u64().unwrap(),
        );
        assert_eq!(got, c["n"].as_u64().unwrap(), "{c}");
    }
}

/// At the edges (k = 0, 1, n − 1, n; n = 1, 5, 21, 63), the interval every
/// rate is reported with is statsmodels' Wilson interval, whatever the
/// clusters: a resampled interval there would be degenerate.
#[test]
fn reported_intervals_at_the_edges_are_statsmodels_wilson() {
    let r = reference();
    let mut seen = 0;
    for c in r["intervals"].as_array().unwrap() {
        let (k, n, level) =
            (c["k"].as_u64().unwrap(), c["n"].as_u64().unwrap(), c["level"].as_f64().unwrap());
        if ![1, 5, 21, 63].contains(&n) || ![0, 1, n - 1, n].contains(&k) {
            continue;
        }
        // One trial per cluster: as many clusters as trials.
        let clusters: Vec<(u64, u64)> = (0..n).map(|i| (u64::from(i < k), 1)).collect();
        let got = stats::rate_interval(&clusters, 2000, level, 3);
        let what = format!("k={k} n={n} level={level}");
        assert_eq!(got.method, stats::Method::Wilson, "{what}");
        close(got.low, c["wilson"][0].as_f64().unwrap(), 1e-9, &format!("low {what}"));
        close(got.high, c["wilson"][1].as_f64().unwrap(), 1e-9, &format!("high {what}"));
        assert!(got.high > got.low && (k == 0 || got.low > 0.0), "{what}: {got:?}");
        seen += 1;
    }
    assert!(seen >= 40, "{seen} edge cases");
}
