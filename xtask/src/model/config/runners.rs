//! Runner labels the configuration decides: where the Linux builds run —
//! aarch64 natively on an Arm runner (`linux-arm-runner`) unless told to
//! cross-build — and `rebuild-runner`, where the release workflow rebuilds
//! them: never the same image, on which a rebuild would prove little.

use toml::Spanned;
use toml::de::DeValue;
use xtask_inspect::target::{Arch, Os, Target};

use super::syntax::Reader;
use super::{ConfigError, DistConfig};

/// Where the Linux builds run (`model::github::runner`).
pub(crate) const LINUX_RUNNER: &str = "ubuntu-latest";

/// Where aarch64 Linux is built by default: GitHub's Arm runner, where the
/// binary is compiled and smoke-tested natively (free for public
/// repositories). `linux-arm-runner = "ubuntu-latest"` cross-builds it on
/// x86_64 and smoke-tests it under qemu instead.
pub(crate) const LINUX_ARM_RUNNER: &str = "ubuntu-24.04-arm";

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

/// The runner a Linux target is built on: aarch64 on `linux-arm-runner`,
/// every other CPU on x86_64 (i686 runs there natively, the rest under qemu).
pub(crate) fn linux_runner<'a>(config: &'a DistConfig, target: &Target) -> &'a str {
    match target.arch {
        Arch::Aarch64 => &config.linux_arm_runner,
        Arch::X86_64 | Arch::I686 | Arch::Armv7 | Arch::Riscv64 | Arch::Powerpc64le => LINUX_RUNNER,
    }
}

/// Where `target`'s rebuild runs: on `rebuild-runner`, or for a target
/// built on one of GitHub's Arm runners, on the Arm runner of that image
/// (GitHub's `-arm` labels): the same CPU as the build, another image. A
/// build on a runner of your own is rebuilt on `rebuild-runner`.
pub(crate) fn rebuild_runner(config: &DistConfig, target: &Target) -> String {
    let rebuild = &config.rebuild_runner;
    let built_on = linux_runner(config, target);
    let github_arm = built_on.starts_with("ubuntu-") && built_on.ends_with("-arm");
    if github_arm && rebuild.starts_with("ubuntu-") && !rebuild.ends_with("-arm") {
        format!("{rebuild}-arm")
    } else {
        rebuild.clone()
    }
}

/// `rebuild-runner` and `linux-arm-runner`, checked, or their defaults.
pub(super) fn parse(
    reader: &Reader<'_>,
    rebuild: Option<&Spanned<DeValue<'_>>>,
    arm: Option<&Spanned<DeValue<'_>>>,
) -> Result<(String, String), ConfigError> {
    let label = |v: Option<&Spanned<DeValue<'_>>>,
                 key: &str,
                 default: &str,
                 check: fn(&str) -> Result<String, String>| match v {
        None => Ok(default.to_owned()),
        Some(v) => check(reader.string(v, key)?)
            .map_err(|why| reader.error(v.span(), format!("`[dist].{key}`: {why}"))),
    };
    let rebuild_label = label(
        rebuild,
        "rebuild-runner",
        REBUILD_RUNNER,
        check_rebuild_runner,
    )?;
    let arm_label = label(arm, "linux-arm-runner", LINUX_ARM_RUNNER, check_label)?;
    // aarch64 is rebuilt on the rebuild image's Arm runner: not its build's.
    if format!("{rebuild_label}-arm") == arm_label {
        let span = rebuild.or(arm).map_or(0..0, |v| v.span());
        return Err(reader.error(
            span,
            format!(
                "`[dist].rebuild-runner`: aarch64 Linux is built on `{arm_label}` (linux-arm-runner) and would be rebuilt there too, \
                 which proves little: name another image, such as \"{REBUILD_RUNNER}\""
            ),
        ));
    }
    Ok((rebuild_label, arm_label))
}

/// One word a workflow can hold as a runner label.
fn check_label(label: &str) -> Result<String, String> {
    let plain = !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(format!(
            "`{label}` is not a runner label (letters, digits, `-`, `_` and `.`), such as \"{REBUILD_RUNNER}\""
        ));
    }
    Ok(label.to_owned())
}

/// A `rebuild-runner` label, checked: a plain label, and not the Linux
/// build jobs' own runner.
pub(crate) fn check_rebuild_runner(label: &str) -> Result<String, String> {
    check_label(label)?;
    if label == LINUX_RUNNER || label == LINUX_ARM_RUNNER {
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

    fn config(extra: &str) -> DistConfig {
        super::super::parse(
            &format!("[dist]\napp = \"a\"\ntargets = [\"x86_64-unknown-linux-musl\", \"aarch64-unknown-linux-musl\", \"armv7-unknown-linux-musleabihf\"]\n{extra}"),
            std::path::Path::new("dist-workspace.toml"),
        )
        .unwrap()
    }

    #[test]
    fn aarch64_is_built_on_an_arm_runner_and_rebuilt_on_the_arm_runner_of_another_image() {
        let on = |c: &DistConfig, i: usize| {
            let t = &c.targets[i];
            (linux_runner(c, t).to_owned(), rebuild_runner(c, t))
        };
        let native = config("");
        assert_eq!(
            on(&native, 0),
            ("ubuntu-latest".into(), "ubuntu-22.04".into())
        );
        assert_eq!(
            on(&native, 1),
            ("ubuntu-24.04-arm".into(), "ubuntu-22.04-arm".into())
        );
        // armv7 has no runner of its own: cross-built, smoke-tested under qemu.
        assert_eq!(
            on(&native, 2),
            ("ubuntu-latest".into(), "ubuntu-22.04".into())
        );
        let cross = config("linux-arm-runner = \"ubuntu-latest\"\n");
        assert_eq!(
            on(&cross, 1),
            ("ubuntu-latest".into(), "ubuntu-22.04".into())
        );
        let own = config("linux-arm-runner = \"my-arm-box\"\nrebuild-runner = \"my-x86-box\"\n");
        assert_eq!(on(&own, 1), ("my-arm-box".into(), "my-x86-box".into()));
        // A self-hosted Arm build is not sent to GitHub's Arm runners to be rebuilt.
        let own_arm = config("linux-arm-runner = \"my-arm-box\"\n");
        assert_eq!(
            on(&own_arm, 1),
            ("my-arm-box".into(), "ubuntu-22.04".into())
        );
        let err = super::super::parse(
            "[dist]\napp = \"a\"\nlinux-arm-runner = \"arm box\"\n",
            std::path::Path::new("dist-workspace.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(":3: `[dist].linux-arm-runner`: `arm box` is not a runner label"),
            "{err}"
        );
        let err = super::super::parse(
            "[dist]\napp = \"a\"\nrebuild-runner = \"ubuntu-24.04\"\n",
            std::path::Path::new("dist-workspace.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                ":3: `[dist].rebuild-runner`: aarch64 Linux is built on `ubuntu-24.04-arm`"
            ),
            "{err}"
        );
    }

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
