//! `cargo xtask verify`: prove that release archives are intact, safe to
//! unpack, static, and start on a machine without a dynamic loader, or
//! explain in plain words why any binary will not. It is pointed at
//! downloads people distrust: it opens regular files only, reads archives
//! as tar and unzip would unpack them with limits on size, shows no name
//! raw, and runs a binary only after every static check passed, only in the
//! sandbox, and — for anything `dist` did not build — only with `--run`.
//! It also says which crates each binary was built from, when the binary
//! carries that list (cargo-auditable's format), and checks the SBOM beside
//! an archive against it.

use std::path::PathBuf;

use anyhow::Result;
use xtask_inspect::unpack::Limits;

use crate::check::{self, Findings};
use crate::cmd::{expected, show_finding};
use crate::project::Project;

pub(crate) struct Options {
    pub(crate) paths: Vec<PathBuf>,
    /// Run the binaries of given paths (in the sandbox) too.
    pub(crate) run: bool,
    /// List every crate each binary carries.
    pub(crate) deps: bool,
    /// Overrides the unpacked-size limits, in MiB.
    pub(crate) max_unpacked_mib: Option<u64>,
}

/// `cargo xtask verify`: of `project`'s release directory when no paths are given.
pub(crate) fn run(project: Option<&Project>, options: Options) -> Result<()> {
    let mut limits = Limits::default();
    if let Some(mib) = options.max_unpacked_mib {
        limits = Limits {
            total: mib << 20,
            member: mib << 20,
        };
    }
    let mut show = show_finding;
    let mut findings = Findings::new(&mut show);
    if let Some(project) = project {
        let expected = expected(project, limits, options.deps)?;
        let dir = project.dist_dir();
        check::release::check(&dir, &expected, &mut findings)?;
        return findings.finish(&dir.display().to_string());
    }
    for path in &options.paths {
        let look = check::archive::Look {
            run: options.run,
            list_deps: options.deps,
        };
        check::archive::check_path(path, look, limits, &mut findings);
    }
    // Said only when a run could have followed: failed checks never run anything.
    if !options.run && findings.count() == 0 {
        eprintln!(
            "    (nothing was run: `verify --run PATH` starts the binaries too, in a sandbox)"
        );
    }
    findings.finish(&format!("{} path(s)", options.paths.len()))
}
