//! Shell completions and the man page for the archives. The app's `docs`
//! example writes them from its clap command on the build machine — the same
//! files for every target, with no cross-built binary run (runs cargo).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::package::ArchiveFile;
use crate::workspace::{Package, Workspace};

/// The example of the app package that writes `complete/` and `doc/`.
pub(crate) const EXAMPLE: &str = "docs";

/// The generated files, paths relative to the archive's top directory;
/// none when the app has no `docs` example.
pub(crate) fn generate(
    sh: &Shell,
    ws: &Workspace,
    app: &Package,
    source_date_epoch: u64,
) -> Result<Vec<ArchiveFile>> {
    if !app.examples.iter().any(|e| e == EXAMPLE) {
        eprintln!(
            "    note: {} has no `examples/{EXAMPLE}.rs`: archives carry no shell completions or man page",
            app.name
        );
        return Ok(Vec::new());
    }
    let out = ws.target_dir.join("dist-build").join("docs");
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    eprintln!("==> generating shell completions and the man page");
    let _dir = sh.push_dir(&ws.root);
    let package = &app.name;
    cmd!(
        sh,
        "cargo run --quiet --locked --package {package} --example {EXAMPLE} -- {out}"
    )
    .env("SOURCE_DATE_EPOCH", source_date_epoch.to_string())
    .run()
    .with_context(|| {
        format!("generating completions and the man page with `{EXAMPLE}` example of {package}")
    })?;
    let mut files = Vec::new();
    collect(&out, &out, &mut files)?;
    if files.is_empty() {
        bail!(
            "the `{EXAMPLE}` example of {package} wrote nothing into {}",
            out.display()
        );
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<ArchiveFile>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let relative = path.strip_prefix(root).expect("below root");
        let name: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push(ArchiveFile {
            path: name.join("/"),
            data,
            executable: false,
        });
    }
    Ok(())
}
