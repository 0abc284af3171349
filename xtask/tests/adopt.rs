//! Adding the release tooling to an existing project: the `rootcli`
//! fixture is a CLI as most are — a root package with its own release
//! profile, its own cargo-binstall table, cargo config, CI workflow and
//! toolchain pin. `cargo xtask adopt` adds the xtask without touching any
//! of those, codegen stops (one line each) at the workflow and the binstall
//! table it would replace until the project says so, and then the
//! project's own `cargo xtask dist` builds, verifies and smoke-runs its
//! release, from a Cargo.toml cargo still reads.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// `cargo <args>` in the adopted project, as its developers run it.
fn cargo(project: &Path, target: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap()
}

/// `cargo xtask adopt <project>`, run in this checkout.
fn adopt(project: &Path) -> Output {
    // Whoever adopts it: git's user, as a contributor's machine has one.
    let git_config = project.with_extension("gitconfig");
    fs::write(
        &git_config,
        "[user]\n\tname = Rootcli Maintainer\n\temail = rootcli@example.com\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("adopt")
        .arg(project)
        .current_dir(root())
        .env("GIT_CONFIG_GLOBAL", &git_config)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

/// The project outside this checkout: a root package inside another
/// workspace's directory would be taken for a member of it.
fn project_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-adopt-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    copy_dir(&fixtures().join("rootcli"), &dir);
    dir
}

#[test]
fn an_existing_root_package_cli_adopts_the_tooling_and_releases() {
    let project = project_dir();
    let target = e2e_dir("adopt").join("target");
    // Its own pin, of the toolchain this machine has.
    let pin = format!(
        "# The project's own pin.\n{}",
        fs::read_to_string(root().join("rust-toolchain.toml")).unwrap()
    );
    fs::write(project.join("rust-toolchain.toml"), &pin).unwrap();
    let own = |path: &str| fs::read(project.join(path)).unwrap();
    let kept = [
        ("rust-toolchain.toml", own("rust-toolchain.toml")),
        (".cargo/config.toml", own(".cargo/config.toml")),
        (".github/workflows/ci.yml", own(".github/workflows/ci.yml")),
    ];

    let out = adopt(&project);
    assert_ok("adopt", &out);
    let said = text(&out.stderr);
    for line in [
        "(app: fixture-rootcli)",
        "Cargo.toml: made it a workspace",
        "Cargo.toml: added the template's `[profile.dist]`",
        "wrote dist-workspace.toml (app = \"fixture-rootcli\")",
        "note: kept your .cargo/config.toml",
        "note: your .cargo/config.toml has no `xtask` alias",
        "note: kept your rust-toolchain.toml",
        "note: .github/workflows/ci.yml is yours",
        "note: Cargo.toml:19 has its own [package.metadata.binstall]",
        "note: the .deb and .rpm name Rootcli Maintainer <rootcli@example.com> (git's user) as maintainer",
    ] {
        assert!(said.contains(line), "no `{line}` in:\n{said}");
    }
    for (path, bytes) in &kept {
        assert_eq!(&own(path), bytes, "adopt changed the project's own {path}");
    }
    assert!(project.join("xtask/src/main.rs").is_file() && project.join(".ci/run").is_file());
    // Adopting twice is refused rather than half-done.
    let again = adopt(&project);
    assert!(!again.status.success() && text(&again.stderr).contains("already has xtask/"));

    // What the note says to do.
    let mut config = fs::read_to_string(project.join(".cargo/config.toml")).unwrap();
    config.push_str("\n[alias]\nxtask = \"run --locked --package xtask --quiet --\"\n");
    fs::write(project.join(".cargo/config.toml"), config).unwrap();

    let out = cargo(&project, &target, &["xtask", "codegen"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            ".github/workflows/ci.yml exists and was not written by `cargo xtask codegen`"
        ),
        "{stderr}"
    );
    assert_eq!(own(".github/workflows/ci.yml"), kept[2].1);
    fs::rename(
        project.join(".github/workflows/ci.yml"),
        project.join(".github/workflows/tests.yml"),
    )
    .unwrap();

    let out = cargo(&project, &target, &["xtask", "codegen"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 19: the app has its own `[package.metadata.binstall]`"),
        "{stderr}"
    );
    let mut dist = fs::read_to_string(project.join("dist-workspace.toml")).unwrap();
    dist.push_str("binstall-metadata = \"replace-own\"\n");
    fs::write(project.join("dist-workspace.toml"), dist).unwrap();
    assert_ok("codegen", &cargo(&project, &target, &["xtask", "codegen"]));
    assert_ok(
        "cargo reading the generated manifest",
        &cargo(
            &project,
            &target,
            &["metadata", "--format-version", "1", "--locked"],
        ),
    );
    let manifest = fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert_eq!(
        manifest.matches("[package.metadata.binstall]").count(),
        1,
        "{manifest}"
    );
    assert!(
        manifest.contains("[profile.release]\nopt-level = 1\n"),
        "{manifest}"
    );
    assert_ok(
        "codegen --check",
        &cargo(&project, &target, &["xtask", "codegen", "--check"]),
    );

    let out = cargo(
        &project,
        &target,
        &["xtask", "dist", "--target", "x86_64-unknown-linux-musl"],
    );
    assert_ok("dist of the adopted project", &out);
    let stderr = text(&out.stderr);
    if skipped_smoke_runs(&stderr) == 0 {
        assert!(
            stderr.contains("smoke: `rootcli --version`: rootcli 0.2.0"),
            "{stderr}"
        );
    }
    assert_ok("verify", &cargo(&project, &target, &["xtask", "verify"]));
    assert!(
        target
            .join("dist.out/fixture-rootcli_0.2.0_amd64.deb")
            .is_file(),
        "{stderr}"
    );
    for (path, bytes) in &kept[..1] {
        assert_eq!(&own(path), bytes, "{path} changed");
    }
    let _ = fs::remove_dir_all(&project);
    // A whole build of the xtask and the app: half a gigabyte.
    discard_scratch(&target);
}
