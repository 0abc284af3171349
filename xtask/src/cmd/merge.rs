//! `cargo xtask merge`: gathers what the release workflow's build jobs made,
//! one directory per job, into one release directory with one SHA256SUMS and
//! one manifest (`archive::merge` checks every archive against its job).

use std::path::PathBuf;

use anyhow::Result;

use crate::archive::merge;

pub(crate) struct Options {
    /// A directory of job outputs (as actions/download-artifact leaves them),
    /// or one job's output.
    pub(crate) jobs: PathBuf,
    pub(crate) into: PathBuf,
}

pub(crate) fn run(options: Options) -> Result<()> {
    let merged = merge::gather(&options.jobs)?;
    merged.write(&options.into)?;
    eprintln!(
        "    merged {} archives from {} jobs into {}",
        merged.archives(),
        merged.jobs.len(),
        options.into.display()
    );
    Ok(())
}
