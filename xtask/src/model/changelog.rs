//! A version's release notes, taken from a CHANGELOG.md in the forms "Keep a
//! Changelog", git-cliff and release-please write: a heading naming the
//! version, its section running to the next heading of the same or a higher
//! level.

/// The body of `version`'s section in `text`, or `None` when there is no
/// such section or it says nothing.
pub(crate) fn section(text: &str, version: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, level) = lines.iter().enumerate().find_map(|(i, line)| {
        heading(line)
            .filter(|(_, title)| names(title, version))
            .map(|(level, _)| (i, level))
    })?;
    let end = lines[start + 1..]
        .iter()
        .position(|line| heading(line).is_some_and(|(l, _)| l <= level))
        .map_or(lines.len(), |n| start + 1 + n);
    let mut body: Vec<&str> = lines[start + 1..end].to_vec();
    // The last section runs into the file's link definitions (`[1.2.3]: https://…`).
    while body
        .last()
        .is_some_and(|l| l.trim().is_empty() || is_link_definition(l))
    {
        body.pop();
    }
    while body.first().is_some_and(|l| l.trim().is_empty()) {
        body.remove(0);
    }
    if body.is_empty() {
        return None;
    }
    Some(body.join("\n") + "\n")
}

/// Whether `text` has an `Unreleased` section (Keep a Changelog's place
/// for what the next version brings), which becomes the notes once its
/// heading names the version.
pub(crate) fn has_unreleased(text: &str) -> bool {
    text.lines().filter_map(heading).any(|(_, title)| {
        title
            .trim_start_matches('[')
            .get(..10)
            .is_some_and(|t| t.eq_ignore_ascii_case("unreleased"))
    })
}

/// An ATX heading's level and text: `## [1.2.3] - 2024-05-01` → (2, "[1.2.3] - 2024-05-01").
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    let rest = &line[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((level, rest.trim()))
}

/// Whether a heading's text names `version`: `1.2.3`, `v1.2.3`, `[1.2.3]`,
/// `[v1.2.3](https://…)`, each optionally followed by a date or a name.
fn names(title: &str, version: &str) -> bool {
    let title = title.trim_start_matches('[');
    let title = title.strip_prefix('v').unwrap_or(title);
    let Some(after) = title.strip_prefix(version) else {
        return false;
    };
    // `1.2.3` must not match `1.2.30` or `1.2.3-rc.1`.
    after.is_empty() || after.starts_with([']', ' ', '(', '\t'])
}

fn is_link_definition(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('[') && line.contains("]: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP_A_CHANGELOG: &str = "\
# Changelog
All notable changes to this project will be documented in this file.

## [Unreleased]
### Added
- Something not yet released.

## [1.2.3] - 2026-11-30
### Fixed
- The `--color` flag is read again.

### Added
- `toolbox walk`.

## [1.2.2] - 2026-10-01
### Fixed
- A crash on empty input.

[unreleased]: https://github.com/you/toolbox/compare/v1.2.3...HEAD
[1.2.3]: https://github.com/you/toolbox/compare/v1.2.2...v1.2.3
[1.2.2]: https://github.com/you/toolbox/releases/tag/v1.2.2
";

    #[test]
    fn keep_a_changelog_sections_end_at_the_next_version() {
        assert_eq!(
            section(KEEP_A_CHANGELOG, "1.2.3").unwrap(),
            "### Fixed\n- The `--color` flag is read again.\n\n### Added\n- `toolbox walk`.\n"
        );
        // The last section stops before the link definitions.
        assert_eq!(
            section(KEEP_A_CHANGELOG, "1.2.2").unwrap(),
            "### Fixed\n- A crash on empty input.\n"
        );
        assert_eq!(section(KEEP_A_CHANGELOG, "1.2.4"), None);
        assert_eq!(section(KEEP_A_CHANGELOG, "1.2"), None);
    }

    #[test]
    fn other_common_headings() {
        for (text, version) in [
            (
                "## v0.4.0 (2026-01-02)\n\n- one\n\n## v0.3.0\n- two\n",
                "0.4.0",
            ),
            ("## 0.4.0 - 2026-01-02\n- one\n## 0.3.0\n- two\n", "0.4.0"),
            (
                "## [0.4.0](https://github.com/a/b/compare/v0.3.0...v0.4.0) (2026-01-02)\n- one\n",
                "0.4.0",
            ),
            ("# Changes\n\n# 0.4.0\n- one\n# 0.3.0\n- two\n", "0.4.0"),
            ("## [0.4.0-rc.1]\n- one\n## [0.4.0]\n- no\n", "0.4.0-rc.1"),
        ] {
            assert_eq!(section(text, version).as_deref(), Some("- one\n"), "{text}");
        }
        // A pre-release's section is not its final version's, nor the reverse.
        assert_eq!(section("## [0.4.0-rc.1]\n- one\n", "0.4.0"), None);
        assert_eq!(section("## 0.4.10\n- one\n", "0.4.1"), None);
        // An empty section gives no notes: GitHub's generated ones are better.
        assert_eq!(section("## 0.4.0\n\n## 0.3.0\n- two\n", "0.4.0"), None);
        // `#hashtag` is not a heading.
        assert_eq!(section("#0.4.0\n- one\n", "0.4.0"), None);
        assert!(has_unreleased(KEEP_A_CHANGELOG));
        assert!(has_unreleased("## Unreleased\n- x\n"));
        assert!(!has_unreleased("## 0.4.0\nNothing unreleased.\n"));
    }
}
