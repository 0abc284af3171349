//! `cargo xtask setup`: install what building and checking the targets needs
//! on this machine — rustup targets, and on Linux the Debian packages for
//! cross linkers and emulators. The release workflow runs it on each fresh
//! runner, so no workflow holds a hand-written install step.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use xtask_inspect::target::{Arch, Os, Target};

use crate::build::needs::{self, Need};
use crate::build::{ctool, toolchain, zig};
use crate::model::plan;
use crate::project::{Project, workspace};

pub(crate) struct Options {
    /// Only these targets; all configured ones when empty.
    pub(crate) targets: Vec<String>,
    /// Only what `verify` needs (the publish job verifies, it builds nothing).
    pub(crate) verify_only: bool,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let Project { sh, ws, config, .. } = project;
    let targets = plan::select_targets(config, &options.targets)?;
    // The same question `dist` asks before it looks for a C compiler.
    let compiles_c = workspace::may_compile_c(ws, project.app());
    let mut needs: Vec<Need> = Vec::new();
    for target in &targets {
        let mut wanted = needs::for_target(target, Os::host(), Arch::host(), options.verify_only);
        let may_need_c = !options.verify_only && target.is_musl() && Os::host() == Some(Os::Linux);
        if may_need_c && compiles_c {
            wanted.extend(ctool::needs(target, &config.c_compiler));
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
