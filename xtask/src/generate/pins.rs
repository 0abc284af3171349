//! Actions used by the generated workflows, pinned to full commit SHAs, and
//! the rule that keeps pins someone (Dependabot) bumped in the checked-in files.
//!
//! The rule: for each action, a pin of the form `owner/repo@<40 hex>` found in
//! the file being regenerated wins over the default below (comment included)
//! unless its version is older, then one found in the other generated files.
//! So a bump Dependabot made survives, and a newer xtask (a fork copying the
//! template's `xtask/`) still brings its newer defaults. A tag or branch ref
//! is never carried over: regeneration puts the SHA back.

/// An action reference: `uses: <action>@<sha> # <version>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    pub(crate) action: String,
    pub(crate) sha: String,
    /// The version comment, e.g. `v6.0.2`; may be empty.
    pub(crate) version: String,
}

impl Pin {
    pub(crate) fn uses(&self) -> String {
        if self.version.is_empty() {
            format!("{}@{}", self.action, self.sha)
        } else {
            format!("{}@{} # {}", self.action, self.sha, self.version)
        }
    }
}

/// The defaults: each SHA is the commit its version tag points to.
const DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "actions/checkout",
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
    ),
    (
        "actions/cache",
        "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
    ),
    (
        "actions/upload-artifact",
        "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "v7.0.0",
    ),
    (
        "actions/download-artifact",
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
    ),
    (
        "actions/attest-build-provenance",
        "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
        "v4.1.0",
    ),
    (
        "actions/attest",
        "1e69f48acb82d1966a394da916b4c1698aa569d6",
        "v4.2.2",
    ),
];

/// The pins to generate one file with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pins {
    /// Highest priority first: pins of the file itself, then of its siblings.
    found: Vec<Vec<Pin>>,
}

impl Pins {
    /// `own` is the current text of the file being generated, `siblings`
    /// the other generated files (either may be absent).
    pub(crate) fn carried_over(own: Option<&str>, siblings: &[Option<&str>]) -> Pins {
        let found = std::iter::once(own)
            .chain(siblings.iter().copied())
            .map(|t| t.map(scan).unwrap_or_default());
        Pins {
            found: found.collect(),
        }
    }

    /// The reference for `action`, which must be one of [`DEFAULTS`].
    pub(crate) fn uses(&self, action: &str) -> String {
        let (action, sha, version) = DEFAULTS
            .iter()
            .find(|(a, ..)| *a == action)
            .unwrap_or_else(|| panic!("{action} has no default pin"));
        let default = Pin {
            action: (*action).into(),
            sha: (*sha).into(),
            version: (*version).into(),
        };
        for pins in &self.found {
            // A file may hold several pins of one action (a half-finished
            // manual bump); the highest version wins, so a bump is never undone.
            let best = pins
                .iter()
                .filter(|p| p.action == *action)
                .reduce(|best, p| {
                    if version_key(&p.version) > version_key(&best.version) {
                        p
                    } else {
                        best
                    }
                });
            if let Some(pin) = best {
                return if version_key(&pin.version) < version_key(&default.version) {
                    default.uses()
                } else {
                    pin.uses()
                };
            }
        }
        default.uses()
    }
}

/// The SHA pins of known actions in a workflow's text.
pub(crate) fn scan(text: &str) -> Vec<Pin> {
    let mut pins = Vec::new();
    for line in text.lines() {
        let line = line.trim_start().trim_start_matches("- ").trim_start();
        let Some(rest) = line.strip_prefix("uses:") else {
            continue;
        };
        let (reference, comment) = match rest.split_once('#') {
            Some((r, c)) => (r.trim(), c.trim()),
            None => (rest.trim(), ""),
        };
        let reference = reference.trim_matches(['"', '\'']);
        let Some((action, sha)) = reference.split_once('@') else {
            continue;
        };
        let is_sha = sha.len() == 40
            && sha
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_sha && DEFAULTS.iter().any(|(a, ..)| *a == action) {
            pins.push(Pin {
                action: action.into(),
                sha: sha.into(),
                version: comment.into(),
            });
        }
    }
    pins
}

/// `v6.0.2` → [6, 0, 2]; anything unparsable sorts first.
fn version_key(version: &str) -> Vec<u64> {
    let digits = version.trim_start_matches(['v', 'V']);
    digits.split('.').map_while(|p| p.parse().ok()).collect()
}

/// Every default pin.
#[cfg(test)]
pub(crate) fn defaults() -> impl Iterator<Item = Pin> {
    DEFAULTS.iter().map(|(a, s, v)| Pin {
        action: (*a).into(),
        sha: (*s).into(),
        version: (*v).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUMPED: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn defaults_are_full_shas() {
        for pin in defaults() {
            let line = format!("- uses: {}", pin.uses());
            assert_eq!(scan(&line), [pin], "{line}");
        }
    }

    #[test]
    fn a_bumped_pin_in_the_file_wins() {
        let own = format!("      - uses: actions/checkout@{BUMPED} # v7.1.0\n");
        let pins = Pins::carried_over(Some(&own), &[]);
        assert_eq!(
            pins.uses("actions/checkout"),
            format!("actions/checkout@{BUMPED} # v7.1.0")
        );
        assert!(
            pins.uses("actions/cache")
                .starts_with("actions/cache@27d5ce7f")
        );
    }

    #[test]
    fn a_pin_older_than_the_default_gives_way_to_it() {
        // A fork's workflows from an older template, regenerated by a newer xtask.
        let own = "- uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n";
        let pins = Pins::carried_over(Some(own), &[]);
        assert_eq!(
            pins.uses("actions/checkout"),
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
        );
    }

    #[test]
    fn siblings_fill_in_and_the_file_itself_comes_first() {
        let sibling = format!(
            "  uses: actions/cache@{BUMPED} # v5.9.0\n  uses: actions/checkout@{BUMPED} # v9\n"
        );
        let own = format!("- uses: actions/checkout@{BUMPED} # v7.5.0\n");
        let pins = Pins::carried_over(Some(&own), &[Some(&sibling)]);
        assert!(pins.uses("actions/checkout").ends_with("# v7.5.0"));
        assert_eq!(
            pins.uses("actions/cache"),
            format!("actions/cache@{BUMPED} # v5.9.0")
        );
    }

    #[test]
    fn tags_branches_and_unknown_actions_are_not_carried_over() {
        let own = "- uses: actions/checkout@v6\n- uses: actions/checkout@main\n- uses: evil/checkout@0123456789abcdef0123456789abcdef01234567\n";
        assert!(scan(own).is_empty());
        let pins = Pins::carried_over(Some(own), &[]);
        assert!(
            pins.uses("actions/checkout")
                .contains("3d3c42e5aac5ba805825da76410c181273ba90b1")
        );
    }

    #[test]
    fn the_highest_version_of_a_half_done_bump_wins() {
        let own = format!(
            "- uses: actions/checkout@{BUMPED} # v7.10.0\n- uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n"
        );
        assert!(
            Pins::carried_over(Some(&own), &[])
                .uses("actions/checkout")
                .ends_with("# v7.10.0")
        );
    }
}
