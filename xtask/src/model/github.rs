//! How a release meets GitHub: the runner each target is built and checked
//! on, which run publishes, the release tag, and the repository the
//! installer and binstall metadata download from. Pure.

use anyhow::{Result, bail};

use xtask_inspect::target::{Arch, Os, Target};

use crate::model::config::DistConfig;
use crate::model::config::runners::{self, LINUX_RUNNER};
use crate::model::workspace::Package;

/// The GitHub-hosted runner that builds and checks `target`. Each OS builds
/// its own, and each macOS CPU gets its own runner, as aarch64 Linux does
/// (`linux-arm-runner`), so `verify` runs those binaries natively (the
/// other Linux CPUs under qemu). windows-gnu is cross-linked with MinGW on
/// Linux, as it is on a developer's machine. A universal macOS target is
/// built on Apple silicon, which runs both its slices (x86_64 under Rosetta).
pub(crate) fn runner<'a>(config: &'a DistConfig, target: &Target) -> &'a str {
    match (target.os, target.arch) {
        (Os::Linux, _) => runners::linux_runner(config, target),
        (Os::Windows, _) if target.triple.ends_with("-gnu") => LINUX_RUNNER,
        (Os::Windows, Arch::Aarch64) => "windows-11-arm",
        (
            Os::Windows,
            Arch::X86_64 | Arch::I686 | Arch::Armv7 | Arch::Riscv64 | Arch::Powerpc64le,
        ) => "windows-latest",
        (Os::Macos, Arch::X86_64) => "macos-15-intel",
        (
            Os::Macos,
            Arch::Aarch64 | Arch::I686 | Arch::Armv7 | Arch::Riscv64 | Arch::Powerpc64le,
        ) => "macos-latest",
    }
}

/// The family of GitHub's runners for `os`: what a message names.
pub(crate) fn runner_family(os: Os) -> &'static str {
    match os {
        Os::Linux => "ubuntu",
        Os::Windows => "windows",
        Os::Macos => "macos",
    }
}

/// What a GitHub Actions run of the release workflow does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GithubRun {
    pub(crate) publish: bool,
    /// The tag the run is on, checked against the version either way.
    pub(crate) tag: Option<String>,
}

/// Only a pushed tag publishes. A manual run (`workflow_dispatch`) is a dry
/// run wherever it starts, a tag included: the README promises it.
pub(crate) fn github_run(event_name: &str, ref_type: &str, ref_name: &str) -> GithubRun {
    let on_tag = ref_type == "tag" && !ref_name.is_empty();
    GithubRun {
        publish: on_tag && event_name == "push",
        tag: on_tag.then(|| ref_name.to_owned()),
    }
}

/// The commit a run's change is compared with, from GitHub's event
/// payload: a pull request's base, a push's `before` (all zeros when the
/// push made the branch); none for other events, such as a manual run.
pub(crate) fn change_base(event_name: &str, event: &serde_json::Value) -> Option<String> {
    let base = match event_name {
        "pull_request" | "pull_request_target" => event.pointer("/pull_request/base/sha"),
        "push" => event.get("before"),
        _ => None,
    };
    base.and_then(serde_json::Value::as_str).map(str::to_owned)
}

/// Whether `version` is a semver pre-release (`1.2.3-rc.1`): published as
/// such, never as the latest release, which the installer downloads.
pub(crate) fn is_prerelease(version: &str) -> bool {
    version.split('+').next().is_some_and(|v| v.contains('-'))
}

/// Where releases are published: `[dist].repository`, else the app's
/// `package.repository`.
pub(crate) fn repository(config: &DistConfig, app: &Package) -> Result<Option<String>> {
    match (&config.repository, &app.repository) {
        (Some(url), _) => Ok(Some(url.clone())),
        (None, Some(url)) => crate::model::config::check_repository(url).map(Some).map_err(|why| {
            anyhow::anyhow!(
                "`repository` in {}: {why}; or set `repository` in [dist] of dist-workspace.toml",
                app.manifest_path.display()
            )
        }),
        (None, None) => Ok(None),
    }
}

/// The release tag must name exactly the version being built, so an archive
/// called `toolbox-0.2.0-…` is never published under `v0.1.0`.
pub(crate) fn check_tag(tag: &str, expected: &str, app: &Package) -> Result<()> {
    if tag != expected {
        bail!(
            "tag `{tag}` does not release {} {}: the tag for that version is `{expected}`. \
             Set `version` in {} to the version in the tag, or push `{expected}`",
            app.name,
            app.version,
            app.manifest_path.display()
        );
    }
    Ok(())
}

pub(crate) fn check_repository_is_here(configured: Option<&str>, here: Option<&str>) -> Result<()> {
    let Some(here) = here else { return Ok(()) };
    match configured {
        Some(url) if url.eq_ignore_ascii_case(here) => Ok(()),
        Some(url) => bail!(
            "dist-workspace.toml says releases are published at {url}, but this workflow runs in {here}; \
             set `repository = \"{here}\"` in [dist] so the installer downloads from here"
        ),
        None => bail!(
            "no `repository` in [dist] of dist-workspace.toml; set `repository = \"{here}\"` so the installer \
             knows where to download from"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_runner_of_its_own_os() {
        let config =
            crate::model::config::parse("[dist]\napp = \"a\"\n", std::path::Path::new("x"))
                .unwrap();
        for target in Target::supported() {
            let runner = runner(&config, target);
            let family = if target.triple.ends_with("windows-gnu") {
                Os::Linux
            } else {
                target.os
            };
            assert!(
                runner.starts_with(runner_family(family)),
                "{} -> {runner}",
                target.triple
            );
        }
        assert_eq!(
            runner(&config, &Target::parse("x86_64-apple-darwin").unwrap()),
            "macos-15-intel"
        );
        // Both slices of a universal binary are built, joined and run (the
        // x86_64 one under Rosetta) on one Apple silicon runner.
        assert_eq!(
            runner(&config, &Target::parse("universal2-apple-darwin").unwrap()),
            "macos-latest"
        );
        // Windows on Arm is built and smoke-tested on its own runner.
        assert_eq!(
            runner(&config, &Target::parse("aarch64-pc-windows-msvc").unwrap()),
            "windows-11-arm"
        );
        assert_eq!(
            runner(
                &config,
                &Target::parse("aarch64-unknown-linux-musl").unwrap()
            ),
            "ubuntu-24.04-arm"
        );
    }

    #[test]
    fn only_the_versions_own_tag_releases_it() {
        let app = Package::sample();
        assert!(check_tag("v1.2.3", "v1.2.3", &app).is_ok());
        let err = check_tag("v1.2.4", "v1.2.3", &app).unwrap_err().to_string();
        assert!(
            err.contains("tag `v1.2.4` does not release toolbox 1.2.3") && err.contains("`v1.2.3`"),
            "{err}"
        );
        assert!(err.contains("/w/crates/toolbox/Cargo.toml"), "{err}");
        assert!(check_tag("1.2.3", "v1.2.3", &app).is_err());
    }

    #[test]
    fn a_release_is_published_only_from_the_configured_repository() {
        let here = Some("https://github.com/me/fork");
        assert!(check_repository_is_here(Some("https://github.com/me/fork"), here).is_ok());
        let err = check_repository_is_here(Some("https://github.com/example/toolbox"), here)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("set `repository = \"https://github.com/me/fork\"`"),
            "{err}"
        );
        assert!(check_repository_is_here(None, here).is_err());
        assert!(
            check_repository_is_here(None, None).is_ok(),
            "outside GitHub Actions there is nothing to compare"
        );
    }

    #[test]
    fn only_a_pushed_tag_publishes_and_a_manual_run_is_dry() {
        let push_tag = github_run("push", "tag", "v1.2.3");
        assert_eq!(
            push_tag,
            GithubRun {
                publish: true,
                tag: Some("v1.2.3".into())
            }
        );
        let manual_on_tag = github_run("workflow_dispatch", "tag", "v1.2.3");
        assert_eq!(
            manual_on_tag,
            GithubRun {
                publish: false,
                tag: Some("v1.2.3".into())
            }
        );
        assert_eq!(
            github_run("workflow_dispatch", "branch", "main"),
            GithubRun {
                publish: false,
                tag: None
            }
        );
        assert_eq!(
            github_run("", "", ""),
            GithubRun {
                publish: false,
                tag: None
            }
        );
    }

    #[test]
    fn a_change_is_compared_with_the_pull_requests_base_or_the_pushs_before() {
        let pr = serde_json::json!({ "pull_request": { "base": { "sha": "abc" } }, "before": "x" });
        assert_eq!(change_base("pull_request", &pr).as_deref(), Some("abc"));
        let push = serde_json::json!({ "before": "0000000000000000000000000000000000000000" });
        assert_eq!(
            change_base("push", &push).as_deref(),
            Some("0000000000000000000000000000000000000000")
        );
        assert_eq!(change_base("workflow_dispatch", &push), None);
        assert_eq!(change_base("push", &serde_json::json!({})), None);
    }

    #[test]
    fn pre_releases_are_told_apart() {
        assert!(is_prerelease("1.2.3-rc.1"));
        assert!(is_prerelease("0.1.0-alpha+build.5"));
        assert!(!is_prerelease("1.2.3"));
        assert!(!is_prerelease("1.2.3+build-5"));
    }
}
