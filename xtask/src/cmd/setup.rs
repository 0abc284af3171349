//! `cargo xtask setup`: install what building and checking the targets needs
//! on this machine — rustup targets, and on Linux the Debian packages for
//! cross linkers and emulators. The release workflow runs it on each fresh
//! runner, so no workflow holds a hand-written install step.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use xtask_inspect::target::{Arch, Os, Target};

use crate::build::{toolchain, zig};
use crate::model::config::CCompiler;
use crate::model::plan::{self, Buildable, MINGW_GCC};
use crate::project::{Project, workspace};

pub(crate) struct Options {
    /// Only these targets; all configured ones when empty.
    pub(crate) targets: Vec<String>,
    /// Only what `verify` needs (the publish job verifies, it builds nothing).
    pub(crate) verify_only: bool,
}

/// Something a target needs on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    RustTarget(&'static str),
    /// A program, and the Debian package that provides it.
    Program {
        program: &'static str,
        package: &'static str,
        why: String,
    },
    /// The zig this xtask pins (`build::zig`), fetched into the user's cache.
    Zig {
        why: String,
    },
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let Project { sh, ws, config, .. } = project;
    let targets = plan::select_targets(config, &options.targets)?;
    // The same question `dist` asks before it looks for a C compiler.
    let compiles_c = workspace::may_compile_c(ws, project.app());
    let mut needs: Vec<Need> = Vec::new();
    for target in &targets {
        let mut wanted = needs_for(target, Os::host(), Arch::host(), options.verify_only);
        let may_need_c = !options.verify_only && target.is_musl() && Os::host() == Some(Os::Linux);
        if may_need_c && compiles_c {
            wanted.extend(c_compiler_needs(target, &config.c_compiler));
        }
        for need in wanted {
            if !needs.contains(&need) {
                needs.push(need);
            }
        }
    }

    let rust_targets: Vec<&str> = needs
        .iter()
        .filter_map(|n| {
            if let Need::RustTarget(t) = n {
                Some(*t)
            } else {
                None
            }
        })
        .collect();
    if !rust_targets.is_empty() {
        let installed = toolchain::installed_targets(sh)?;
        for triple in rust_targets {
            toolchain::ensure_target(sh, &Target::parse(triple)?, &installed)?;
        }
    }
    let mut packages: Vec<&str> = Vec::new();
    for need in &needs {
        if let Need::Program {
            program,
            package,
            why,
        } = need
        {
            if crate::run::exec::on_path(program) {
                continue;
            }
            eprintln!("    {program} is missing: {why}");
            if !packages.contains(package) {
                packages.push(package);
            }
        }
    }
    if !packages.is_empty() {
        apt_install(sh, &packages)?;
    }
    for need in &needs {
        if let Need::Zig { why } = need {
            zig::ensure(why)?;
        }
    }
    let what = if options.verify_only {
        "verifying"
    } else {
        "building and verifying"
    };
    eprintln!(
        "    ready for {what} {}",
        targets
            .iter()
            .map(|t| t.triple)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// What `target` needs on a `host` machine. Pure, so the rules are testable
/// for runners this machine is not.
pub(crate) fn needs_for(
    target: &Target,
    host: Option<Os>,
    host_arch: Option<Arch>,
    verify_only: bool,
) -> Vec<Need> {
    let mut needs = Vec::new();
    // With every tool it might install, could this host build it at all?
    let buildable = plan::buildable(target, host, |_| true) == Buildable::Yes;
    if !verify_only && buildable {
        needs.push(Need::RustTarget(target.triple));
        if target.os == Os::Windows && host == Some(Os::Linux) {
            needs.push(Need::Program {
                program: MINGW_GCC,
                package: "gcc-mingw-w64-x86-64",
                why: format!("{} links with MinGW", target.triple),
            });
        }
    }
    // verify runs Linux binaries of a foreign CPU under a static qemu-user,
    // which it copies into its sandbox's empty root.
    if target.os == Os::Linux
        && host == Some(Os::Linux)
        && host_arch.is_none_or(|h| !target.arch.runs_on(h))
    {
        needs.push(Need::Program {
            program: target.arch.qemu_static(),
            package: "qemu-user-static",
            why: format!("verify runs {} binaries under qemu", target.arch.name()),
        });
    }
    needs
}

/// The compiler `cargo xtask dist` will give build scripts under `setting`
/// (see `ctool::choose`).
pub(crate) fn c_compiler_needs(target: &Target, setting: &CCompiler) -> Vec<Need> {
    let why = format!("a build script compiles C for {}", target.triple);
    match setting {
        CCompiler::Auto | CCompiler::Zig => vec![Need::Zig { why }],
        CCompiler::MuslGcc => vec![Need::Program {
            program: "musl-gcc",
            package: "musl-tools",
            why,
        }],
        CCompiler::None | CCompiler::Path(_) => vec![],
    }
}

/// `apt-get install`, through `sudo -n` when not root (GitHub's runners).
fn apt_install(sh: &Shell, packages: &[&str]) -> Result<()> {
    let list = packages.join(" ");
    if !crate::run::exec::on_path("apt-get") {
        bail!("install {list} with this system's package manager, then run this again");
    }
    let root = cmd!(sh, "id -u")
        .quiet()
        .read()
        .is_ok_and(|uid| uid.trim() == "0");
    let (program, prefix): (&str, &[&str]) = if root {
        ("apt-get", &[])
    } else {
        ("sudo", &["-n", "apt-get"])
    };
    if !root && !crate::run::exec::on_path("sudo") {
        bail!("installing {list} needs root: run `sudo apt-get install -y {list}`");
    }
    eprintln!("    installing {list} (apt-get install -y {list})");
    let quiet = ["-qq"];
    cmd!(sh, "{program} {prefix...} update {quiet...}")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .context("`apt-get update` failed")?;
    cmd!(
        sh,
        "{program} {prefix...} install -y --no-install-recommends {quiet...} {packages...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
    .with_context(|| {
        format!("`apt-get install {list}` failed; install it by hand and run this again")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(triple: &str) -> Target {
        Target::parse(triple).unwrap()
    }

    fn programs(needs: &[Need]) -> Vec<&str> {
        needs
            .iter()
            .filter_map(|n| {
                if let Need::Program { program, .. } = n {
                    Some(*program)
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn linux_runner_needs_qemu_for_foreign_cpus_only() {
        let linux = Some(Os::Linux);
        let x86 = Some(Arch::X86_64);
        assert_eq!(
            needs_for(&t("x86_64-unknown-linux-musl"), linux, x86, false),
            [Need::RustTarget("x86_64-unknown-linux-musl")]
        );
        assert!(programs(&needs_for(&t("i686-unknown-linux-musl"), linux, x86, false)).is_empty());
        let arm = needs_for(&t("aarch64-unknown-linux-musl"), linux, x86, false);
        assert_eq!(arm[0], Need::RustTarget("aarch64-unknown-linux-musl"));
        assert_eq!(programs(&arm), ["qemu-aarch64-static"]);
        assert!(
            programs(&needs_for(
                &t("aarch64-unknown-linux-musl"),
                linux,
                Some(Arch::Aarch64),
                false
            ))
            .is_empty()
        );
    }

    #[test]
    fn c_compilers_follow_the_setting() {
        let x86 = t("x86_64-unknown-linux-musl");
        let arm = t("aarch64-unknown-linux-musl");
        // The default is the pinned zig on every CPU, as dist gives it.
        for target in [&x86, &arm] {
            for setting in [CCompiler::Auto, CCompiler::Zig] {
                assert!(matches!(
                    &c_compiler_needs(target, &setting)[..],
                    [Need::Zig { .. }]
                ));
            }
        }
        assert!(matches!(
            &c_compiler_needs(&x86, &CCompiler::MuslGcc)[..],
            [Need::Program {
                package: "musl-tools",
                ..
            }]
        ));
        assert!(c_compiler_needs(&arm, &CCompiler::None).is_empty());
        assert!(c_compiler_needs(&arm, &CCompiler::Path("/opt/zig/zig".into())).is_empty());
    }

    #[test]
    fn verify_only_needs_no_rust_targets() {
        let needs = needs_for(
            &t("aarch64-unknown-linux-musl"),
            Some(Os::Linux),
            Some(Arch::X86_64),
            true,
        );
        assert_eq!(programs(&needs), ["qemu-aarch64-static"]);
        assert_eq!(needs.len(), 1);
        assert!(
            needs_for(
                &t("aarch64-apple-darwin"),
                Some(Os::Linux),
                Some(Arch::X86_64),
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn windows_gnu_on_linux_needs_mingw_and_other_systems_need_nothing_here() {
        let needs = needs_for(
            &t("x86_64-pc-windows-gnu"),
            Some(Os::Linux),
            Some(Arch::X86_64),
            false,
        );
        assert_eq!(programs(&needs), [MINGW_GCC]);
        assert!(
            needs_for(
                &t("x86_64-pc-windows-msvc"),
                Some(Os::Linux),
                Some(Arch::X86_64),
                false
            )
            .is_empty()
        );
        assert_eq!(
            needs_for(
                &t("x86_64-pc-windows-msvc"),
                Some(Os::Windows),
                Some(Arch::X86_64),
                false
            ),
            [Need::RustTarget("x86_64-pc-windows-msvc")]
        );
        assert_eq!(
            needs_for(
                &t("x86_64-apple-darwin"),
                Some(Os::Macos),
                Some(Arch::Aarch64),
                false
            ),
            [Need::RustTarget("x86_64-apple-darwin")]
        );
    }
}
