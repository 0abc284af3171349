//! `cargo xtask lipo -o OUT SLICE…`: one universal macOS binary from one
//! Mach-O per CPU, as Apple's `lipo -create` makes it, on any machine (a
//! Linux host with cargo-zigbuild slices, say). `verify OUT` then checks
//! every slice.

use std::path::PathBuf;

use anyhow::Result;

use crate::archive::{atomic, files};
use crate::build::universal;

pub(crate) struct Options {
    pub(crate) output: PathBuf,
    pub(crate) slices: Vec<PathBuf>,
}

/// Larger than any CLI's binary; a bound on what a mistaken path reads.
const SLICE_LIMIT: u64 = 1 << 30;

pub(crate) fn run(options: Options) -> Result<()> {
    let mut slices = Vec::new();
    for path in &options.slices {
        let name = path.display().to_string();
        let data = files::read_regular_following(path, SLICE_LIMIT)
            .map_err(|why| anyhow::anyhow!("{name} {why}"))?;
        slices.push((name, data));
    }
    let fat = universal::fat_macho(&slices)?;
    atomic::write(&options.output, &fat)?;
    #[cfg(unix)]
    {
        use anyhow::Context;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&options.output, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", options.output.display()))?;
    }
    println!(
        "wrote {}: a universal Mach-O of {} slices, {} bytes",
        options.output.display(),
        slices.len(),
        fat.len()
    );
    Ok(())
}
