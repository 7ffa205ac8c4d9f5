//! Validate stage, `[lints]`: the lints a profile allows. Each allowance
//! names a lint gen knows and says why it does not apply; an allowance
//! nobody can read the reason of is how a warning becomes noise.

use std::collections::BTreeMap;

use super::Checker;
use crate::lints::LintCode;
use crate::profile::Profile;
use crate::source::{push_key, Underline};
use gen_target::host_path::shown;

impl Checker<'_> {
    pub(super) fn lint_allowances(&mut self, p: &Profile) -> BTreeMap<LintCode, String> {
        let mut allowed = BTreeMap::new();
        let entries = p.lints.iter().flat_map(|l| l.allow.iter().flatten());
        for (name, reason) in entries {
            let key = push_key("lints.allow", name);
            let Some(code) = LintCode::from_name(name) else {
                let help = match (name.strip_prefix("gen::lint::"), closest(name)) {
                    (Some(bare), _) => {
                        format!("name the lint without its prefix: `\"{}\"`", shown(bare))
                    }
                    (None, Some(code)) => format!(
                        "did you mean `{}`? `gen lints` lists every lint",
                        code.name()
                    ),
                    (None, None) => "`gen lints` lists every lint".to_string(),
                };
                self.errors.push(crate::profile_error::invalid(
                    self.sources,
                    &key,
                    Underline::Key,
                    format!("`{key}`: gen has no lint `{}`", shown(name)),
                    Some(help),
                ));
                continue;
            };
            if reason.trim().is_empty() {
                self.fail(
                    &key,
                    format!("`{key}`: an allowance needs the reason the lint does not apply here"),
                    "write it for the next reader, e.g. `\"public-metrics\" = \"scraped over the VPN\"`",
                );
                continue;
            }
            self.text(&key, reason);
            allowed.insert(code, reason.clone());
        }
        allowed
    }
}

/// The lint whose name is closest to `name`, if a typo could explain the
/// difference (at most a third of the name's characters, and 3, changed).
fn closest(name: &str) -> Option<LintCode> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    LintCode::ALL
        .into_iter()
        .map(|code| (edit_distance(name, code.name()), code))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, code)| code)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance, LintCode};

    #[test]
    fn a_misspelt_lint_name_suggests_the_closest_one() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("public-metric"), Some(LintCode::PublicMetrics));
        assert_eq!(closest("hsts_off"), Some(LintCode::HstsOff));
        assert_eq!(closest("firewall"), None);
    }
}
