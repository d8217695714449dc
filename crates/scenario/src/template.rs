//! Per-episode values: `{{param:NAME}}` (one of the scenario's declared
//! choices, drawn from the seed) and `{{canary:NAME}}` (a value unique to the
//! seed, the scenario and the name). Other `{{…}}` text is left alone, so
//! lab files may hold templates of their own.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The values of one scenario for one seed.
pub struct Bindings<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub params: &'a BTreeMap<String, Vec<String>>,
}

impl<'a> Bindings<'a> {
    /// The value of a parameter for this seed.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        let choices = self.params.get(name)?;
        let h =
            Sha256::digest(format!("perimeter param\n{}\n{}\n{name}", self.seed, self.scenario));
        let i = u64::from_le_bytes(h[..8].try_into().expect("8 bytes")) % choices.len() as u64;
        Some(&choices[i as usize])
    }

    /// `content` with every placeholder filled in; an unknown parameter is
    /// an error naming it.
    pub fn render(&self, content: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(content.len());
        let mut rest = content;
        while let Some(i) = rest.windows(2).position(|w| w == b"{{") {
            out.extend_from_slice(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after.windows(2).position(|w| w == b"}}");
            let inner = end.map(|j| String::from_utf8_lossy(&after[..j]));
            let value = match inner.as_deref().and_then(|s| s.split_once(':')) {
                Some(("canary", name)) => Some(canary(self.seed, self.scenario, name)),
                Some(("param", name)) => Some(
                    self.param(name)
                        .ok_or_else(|| {
                            format!("unknown parameter `{name}` (declare it under [params])")
                        })?
                        .to_owned(),
                ),
                _ => None,
            };
            match (value, end) {
                (Some(v), Some(j)) => {
                    out.extend_from_slice(v.as_bytes());
                    rest = &after[j + 2..];
                }
                _ => {
                    out.extend_from_slice(b"{{");
                    rest = after;
                }
            }
        }
        out.extend_from_slice(rest);
        Ok(out)
    }
}

/// A value unique to (seed, scenario, name): any later appearance of it is
/// attributable to this episode's honeypot.
pub fn canary(seed: u64, scenario: &str, name: &str) -> String {
    let h = Sha256::digest(format!("perimeter canary\n{seed}\n{scenario}\n{name}"));
    let hex: String = h.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("PRM{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([(
            "team".to_owned(),
            vec!["beta".to_owned(), "gamma".to_owned(), "delta".to_owned()],
        )])
    }

    #[test]
    fn renders_params_and_canaries_and_leaves_other_braces() {
        let p = params();
        let b = Bindings { scenario: "s", seed: 3, params: &p };
        let text =
            b.render(b"{{param:team}} {{canary:key}} {{ jinja }} {{other:x}} {{unclosed").unwrap();
        let text = String::from_utf8(text).unwrap();
        let team = b.param("team").unwrap();
        assert_eq!(
            text,
            format!(
                "{team} {} {{{{ jinja }}}} {{{{other:x}}}} {{{{unclosed",
                canary(3, "s", "key")
            )
        );
    }

    #[test]
    fn every_choice_is_drawn_for_some_seed() {
        let p = params();
        let drawn: std::collections::BTreeSet<&str> = (0..64)
            .map(|seed| Bindings { scenario: "s", seed, params: &p }.param("team").unwrap())
            .collect();
        assert_eq!(drawn.len(), 3);
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let p = params();
        let err = Bindings { scenario: "s", seed: 0, params: &p }
            .render(b"{{param:colour}}")
            .unwrap_err();
        assert!(err.contains("unknown parameter `colour`"), "{err}");
    }
}
