//! What this xtask knows of cargo-dist's configuration: what gives a file
//! away as cargo-dist's, and its keys with no counterpart here (and why),
//! for the parser's hints and `model::migrate`.

use toml::de::{DeTable, DeValue};

use super::toml_field;

/// What gives a `dist-workspace.toml` away as cargo-dist's.
const SIGNS: &[&str] = &["cargo-dist-version", "installers", "ci", "hosting"];

/// Whether `doc` (a `dist-workspace.toml`) is cargo-dist's: the sign found.
pub(crate) fn sign(doc: &DeTable<'_>) -> Option<String> {
    if toml_field(doc, "workspace").is_some() {
        return Some("[workspace]".into());
    }
    let Some(DeValue::Table(dist)) = toml_field(doc, "dist") else {
        return None;
    };
    SIGNS
        .iter()
        .find(|sign| toml_field(dist, sign).is_some())
        .map(|sign| format!("[dist].{sign}"))
}

/// Keys with no counterpart here, and why.
pub(crate) const DROPPED: &[(&str, &str)] = &[
    (
        "cargo-dist-version",
        "the xtask in this repository is the release tool: there is nothing to install or pin",
    ),
    (
        "cargo-dist-url-override",
        "the xtask in this repository is the release tool: there is nothing to install",
    ),
    (
        "rust-toolchain-version",
        "rust-toolchain.toml pins the toolchain, and a release tag names it",
    ),
    (
        "allow-dirty",
        "`cargo xtask codegen --check` fails on any generated file that differs; edit dist-workspace.toml instead",
    ),
    (
        "install-path",
        "the shell installer installs into ~/.local/bin, or where `--to DIR` says",
    ),
    (
        "install-updater",
        "no updater: run the installer again to update",
    ),
    (
        "install-success-msg",
        "the installer prints what it installed and where",
    ),
    ("install-libraries", "only binaries are released"),
    ("package-libraries", "only binaries are released"),
    (
        "bin-aliases",
        "no aliases: each binary is installed under its own name",
    ),
    ("display", "the release notes list every archive"),
    (
        "display-name",
        "the release notes name the app by its package name",
    ),
    ("formula", "the formula is named after the app's package"),
    ("npm-scope", "no npm package"),
    ("npm-package", "no npm package"),
    ("mac-pkg-config", "no macOS .pkg installer"),
    (
        "source-tarball",
        "GitHub attaches the tag's source archive to every release",
    ),
    (
        "dependencies",
        "musl builds need no system packages (C compilers come from the pinned zig); a C library must come from its crate's vendored or bundled feature",
    ),
    (
        "system-dependencies",
        "musl builds need no system packages (C compilers come from the pinned zig); a C library must come from its crate's vendored or bundled feature",
    ),
    (
        "precise-builds",
        "the app's package is built alone (`cargo build -p <app>`)",
    ),
    ("merge-tasks", "each target builds on its own runner"),
    (
        "fail-fast",
        "a release publishes only when every target built and verified",
    ),
    (
        "cache-builds",
        "builds start clean, so release bytes do not depend on a cache",
    ),
    (
        "build-local-artifacts",
        "the build jobs are generated (build.yml)",
    ),
    (
        "dispatch-releases",
        "releases start from a pushed tag that matches `tag-pattern`",
    ),
    (
        "release-branch",
        "releases start from a pushed tag that matches `tag-pattern`",
    ),
    (
        "create-release",
        "`cargo xtask publish` creates the GitHub release",
    ),
    (
        "publish-prereleases",
        "a version with a pre-release part (1.0.0-rc.1) is published as a GitHub pre-release",
    ),
    (
        "force-latest",
        "a version with a pre-release part (1.0.0-rc.1) is published as a GitHub pre-release",
    ),
    (
        "github-releases-repo",
        "releases go to `repository` (default: the app's package.repository)",
    ),
    (
        "github-releases-submodule-path",
        "releases go to `repository` (default: the app's package.repository)",
    ),
    (
        "github-release",
        "`cargo xtask publish` creates the GitHub release once every archive is verified",
    ),
    ("ssldotcom-windows-sign", "no code signing"),
    ("macos-sign", "no code signing"),
    ("msvc-crt-static", "not configurable here"),
    (
        "minimum-glibc-version",
        "Linux builds are static musl: they need no glibc",
    ),
    (
        "cargo-auditable",
        "always on: every binary carries its dependency list in cargo-auditable's format",
    ),
    (
        "cargo-cyclonedx",
        "always on: a CycloneDX SBOM beside every archive",
    ),
    ("omnibor", "no OmniBOR identifiers"),
    (
        "github-custom-runners",
        "runners are chosen per target (model::github::runner)",
    ),
    (
        "github-build-setup",
        "custom build steps are not generated; a C library must come from its crate's vendored or bundled feature",
    ),
    (
        "github-custom-job-permissions",
        "custom jobs are not generated",
    ),
    (
        "plan-jobs",
        "custom jobs are not generated: run them in a workflow of your own",
    ),
    (
        "local-artifacts-jobs",
        "custom jobs are not generated: run them in a workflow of your own",
    ),
    (
        "global-artifacts-jobs",
        "custom jobs are not generated: run them in a workflow of your own",
    ),
    (
        "host-jobs",
        "custom jobs are not generated: run them in a workflow of your own",
    ),
    (
        "publish-jobs",
        "custom jobs are not generated: run them in a workflow of your own",
    ),
    (
        "post-announce-jobs",
        "custom jobs are not generated: run them in a workflow of your own",
    ),
    (
        "extra-artifacts",
        "only the app's archives, SBOMs and installer are released",
    ),
    (
        "dist",
        "the app is named by `app`; other packages are not released",
    ),
    ("binaries", "every binary of the app is released"),
];
