//! Runner labels the configuration decides: where the Linux builds run, and
//! `rebuild-runner`, where the release workflow rebuilds them — never the
//! same image, on which a rebuild would prove little.

use xtask_inspect::target::{Os, Target};

use super::DistConfig;

/// Where the Linux builds run (`model::github::runner`).
pub(crate) const LINUX_RUNNER: &str = "ubuntu-latest";

/// Where the release workflow rebuilds the Linux files by default: another
/// image than `ubuntu-latest` (another Ubuntu release, with its own glibc,
/// compilers and packages), x86_64 like it.
pub(crate) const REBUILD_RUNNER: &str = "ubuntu-22.04";

/// The targets the release workflow rebuilds before it publishes: every
/// Linux one, with `rebuild-check` on.
pub(crate) fn rebuilt_targets(config: &DistConfig) -> Vec<&Target> {
    if !config.rebuild_check {
        return Vec::new();
    }
    config
        .targets
        .iter()
        .filter(|t| t.os == Os::Linux)
        .collect()
}

/// A `rebuild-runner` label, checked: one word a workflow can hold, and
/// not the Linux build jobs' own runner.
pub(crate) fn check_rebuild_runner(label: &str) -> Result<String, String> {
    let plain = !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(format!(
            "`{label}` is not a runner label (letters, digits, `-`, `_` and `.`), such as \"{REBUILD_RUNNER}\""
        ));
    }
    if label == LINUX_RUNNER {
        return Err(format!(
            "`{label}` is where the Linux builds run; a rebuild there proves little: \
             name another image, such as \"{REBUILD_RUNNER}\""
        ));
    }
    Ok(label.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebuild_runner_is_a_plain_label_other_than_the_builds() {
        assert_eq!(
            check_rebuild_runner("ubuntu-24.04").unwrap(),
            "ubuntu-24.04"
        );
        assert!(
            check_rebuild_runner("ubuntu-latest")
                .unwrap_err()
                .contains("where the Linux builds run")
        );
        assert!(
            check_rebuild_runner("x\n  steps: []")
                .unwrap_err()
                .contains("is not a runner label")
        );
        assert!(check_rebuild_runner("").is_err());
    }
}
