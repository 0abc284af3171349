//! `cargo xtask merge`: gathers what the release workflow's build jobs made,
//! one directory per job, into one release directory with one SHA256SUMS and
//! one manifest (`archive::merge` checks every archive against its job),
//! and the installers made for the whole release.

use std::path::PathBuf;

use anyhow::Result;

use crate::archive::merge;
use crate::generate::published::ReleaseFiles;
use crate::project::Project;

pub(crate) struct Options {
    /// A directory of job outputs (as actions/download-artifact leaves them),
    /// or one job's output.
    pub(crate) jobs: PathBuf,
    pub(crate) into: PathBuf,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let mut merged = merge::gather(&options.jobs)?;
    // The installers carry every archive's hash: made here, for the whole release.
    let release_files = ReleaseFiles::for_config(&project.config, project.app())?;
    merged.set_installers(release_files.for_release(&merged.manifest));
    merged.write(&options.into)?;
    eprintln!(
        "    merged {} archives from {} jobs into {}",
        merged.archives(),
        merged.jobs.len(),
        options.into.display()
    );
    Ok(())
}
