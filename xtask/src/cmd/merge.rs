//! `cargo xtask merge`: gathers what the release workflow's build jobs made,
//! one directory per job, into one release directory with one SHA256SUMS and
//! one manifest (`archive::merge` checks every archive against its job),
//! and the installers made for the whole release. With `--rebuilt`, the
//! rebuild jobs' statements too: the release is merged only when every
//! Linux file was rebuilt identical, and says so in `dist-rebuild.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::archive::files::read_regular;
use crate::archive::index::TEXT_LIMIT;
use crate::archive::merge;
use crate::archive::rebuilt::Statement;
use crate::generate::published::ReleaseFiles;
use crate::project::Project;

pub(crate) struct Options {
    /// A directory of job outputs (as actions/download-artifact leaves them),
    /// or one job's output.
    pub(crate) jobs: PathBuf,
    pub(crate) into: PathBuf,
    /// The rebuild jobs' statements: `.json` files in it or one level down.
    pub(crate) rebuilt: Option<PathBuf>,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let mut merged = merge::gather(&options.jobs)?;
    // The installers carry every archive's hash: made here, for the whole release.
    let release_files = ReleaseFiles::for_config(&project.config, project.app())?;
    merged.set_installers(release_files.for_release(&merged.manifest));
    if let Some(dir) = &options.rebuilt {
        merged.set_rebuilt(statements(dir)?)?;
    }
    merged.write(&options.into)?;
    eprintln!(
        "    merged {} archives from {} jobs into {}{}",
        merged.archives(),
        merged.jobs.len(),
        options.into.display(),
        if options.rebuilt.is_some() {
            ", every Linux file rebuilt identical"
        } else {
            ""
        }
    );
    Ok(())
}

/// Every statement under `dir` (as actions/download-artifact leaves one
/// artifact per folder), with where it was read.
fn statements(dir: &Path) -> Result<Vec<(String, Statement)>> {
    let mut files = Vec::new();
    let mut look = |d: &Path, deeper: bool| -> Result<Vec<PathBuf>> {
        let mut dirs = Vec::new();
        let entries = std::fs::read_dir(d)
            .with_context(|| format!("listing the rebuild statements in {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() && deeper {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
        Ok(dirs)
    };
    for sub in look(dir, true)? {
        look(&sub, false)?;
    }
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no rebuild statement (`cargo xtask reproduce --statement` writes them); \
             did the rebuild jobs run?",
            dir.display()
        );
    }
    files
        .into_iter()
        .map(|path| {
            let bytes = read_regular(&path, TEXT_LIMIT)
                .map_err(|why| anyhow::anyhow!("{} {why}", path.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
            let statement = Statement::from_json(&text)
                .with_context(|| format!("{} is not a rebuild statement", path.display()))?;
            Ok((path.display().to_string(), statement))
        })
        .collect()
}
