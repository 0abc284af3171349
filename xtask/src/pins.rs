//! Actions used by the generated workflows, pinned to full commit SHAs, and
//! the rule that keeps pins someone (Dependabot) bumped in the checked-in files.
//!
//! The rule: for each action, a pin of the form `owner/repo@<40 hex>` found in
//! the file being regenerated wins over the default below (comment included),
//! then one found in the other generated files. A tag or branch ref is never
//! carried over: regeneration puts the SHA back.

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
        "de0fac2e4500dabe0009e67214ff5f5447ce83dd",
        "v6.0.2",
    ),
    (
        "actions/cache",
        "9255dc7a253b0ccc959486e2bca901246202afeb",
        "v5.0.1",
    ),
    (
        "actions/upload-artifact",
        "b7c566a772e6b6bfb58ed0dc250532a479d7789f",
        "v6.0.0",
    ),
    (
        "actions/download-artifact",
        "018cc2cf5baa6db3ef3c5f8a56943fffe632ef53",
        "v6.0.0",
    ),
    (
        "actions/attest-build-provenance",
        "977bb373ede98d70efdf65b84cb5f73e068dcc2a",
        "v3.0.0",
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
        for pins in &self.found {
            // A file may hold several pins of one action (a half-finished
            // manual bump); the highest version wins, so a bump is never undone.
            let best = pins
                .iter()
                .filter(|p| p.action == action)
                .reduce(|best, p| {
                    if version_key(&p.version) > version_key(&best.version) {
                        p
                    } else {
                        best
                    }
                });
            if let Some(pin) = best {
                return pin.uses();
            }
        }
        let (action, sha, version) = DEFAULTS
            .iter()
            .find(|(a, ..)| *a == action)
            .unwrap_or_else(|| panic!("{action} has no default pin"));
        Pin {
            action: (*action).into(),
            sha: (*sha).into(),
            version: (*version).into(),
        }
        .uses()
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
                .starts_with("actions/cache@9255dc7a")
        );
    }

    #[test]
    fn siblings_fill_in_and_the_file_itself_comes_first() {
        let sibling = format!(
            "  uses: actions/cache@{BUMPED} # v5.1.0\n  uses: actions/checkout@{BUMPED} # v9\n"
        );
        let own = "- uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n";
        let pins = Pins::carried_over(Some(own), &[Some(&sibling)]);
        assert!(pins.uses("actions/checkout").ends_with("# v6.0.2"));
        assert_eq!(
            pins.uses("actions/cache"),
            format!("actions/cache@{BUMPED} # v5.1.0")
        );
    }

    #[test]
    fn tags_branches_and_unknown_actions_are_not_carried_over() {
        let own = "- uses: actions/checkout@v6\n- uses: actions/checkout@main\n- uses: evil/checkout@0123456789abcdef0123456789abcdef01234567\n";
        assert!(scan(own).is_empty());
        let pins = Pins::carried_over(Some(own), &[]);
        assert!(
            pins.uses("actions/checkout")
                .contains("de0fac2e4500dabe0009e67214ff5f5447ce83dd")
        );
    }

    #[test]
    fn the_highest_version_of_a_half_done_bump_wins() {
        let own = format!(
            "- uses: actions/checkout@{BUMPED} # v6.10.0\n- uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n"
        );
        assert!(
            Pins::carried_over(Some(&own), &[])
                .uses("actions/checkout")
                .ends_with("# v6.10.0")
        );
    }
}
