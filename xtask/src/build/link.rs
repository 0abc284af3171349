//! musl builds are linked by the toolchain's `rust-lld` through the xtask
//! itself: a link named `rust-lld` to the xtask's executable (so rustc
//! speaks to it as to rust-lld) runs the real one with a link map
//! (`-Map`, `--cref`, `--why-extract`) filed under the output's SHA-256.
//! `dist` reads it to tell which allocator libc's `malloc` became: the
//! release binary is stripped, the map is not (runs rust-lld).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use xtask_inspect::allocator::LinkMap;

use crate::archive::checksum::sha256_hex;

/// The name rustc knows the toolchain's lld by; ours is a link of that name.
pub(crate) const LINKER: &str = "rust-lld";

/// Where the link maps go, set for the link only; its presence tells the
/// xtask, started as `rust-lld`, that it is the link step.
pub(crate) const MAPS_ENV: &str = "XTASK_LINK_MAPS";

/// Whether this process is the link step rather than a `cargo xtask` command.
pub(crate) fn invoked_as_linker() -> bool {
    let named_lld = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .is_some_and(|p| p.file_name().is_some_and(|n| n == LINKER));
    named_lld && std::env::var_os(MAPS_ENV).is_some()
}

/// The link step: the real rust-lld, with the map files asked for beside
/// the output, then filed under the output's hash. The linker's own exit
/// status is ours.
pub(crate) fn linker_main() -> ExitCode {
    match link() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rust-lld (through cargo xtask): {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn link() -> Result<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let maps = PathBuf::from(std::env::var_os(MAPS_ENV).unwrap_or_default());
    let real =
        real_lld().context("finding the toolchain's rust-lld on PATH (rustc puts it there)")?;
    let output = args
        .iter()
        .position(|a| a == "-o")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let tmp = maps.join(format!("link-{}", std::process::id()));
    let (map, why) = (tmp.with_extension("map"), tmp.with_extension("why"));
    std::fs::create_dir_all(&maps).with_context(|| format!("creating {}", maps.display()))?;
    let mut extra = vec![OsString::from("--cref")];
    for (flag, path) in [("-Map=", &map), ("--why-extract=", &why)] {
        let mut arg = OsString::from(flag);
        arg.push(path);
        extra.push(arg);
    }
    let status = Command::new(&real)
        .args(&args)
        .args(&extra)
        .status()
        .with_context(|| format!("running {}", real.display()))?;
    if status.success()
        && let Some(output) = output
    {
        let bytes = std::fs::read(&output)
            .with_context(|| format!("reading the linked {}", output.display()))?;
        let (map_to, why_to) = files_for(&maps, &sha256_hex(&bytes));
        std::fs::rename(&map, &map_to).context("filing the link map")?;
        std::fs::rename(&why, &why_to).context("filing the --why-extract list")?;
    } else {
        let _ = std::fs::remove_file(&map);
        let _ = std::fs::remove_file(&why);
    }
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// The first `rust-lld` on PATH that is not this executable.
fn real_lld() -> Result<PathBuf> {
    let me = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("finding the xtask's own executable")?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(LINKER))
        .find(|c| c.is_file() && c.canonicalize().is_ok_and(|p| p != me))
        .with_context(|| format!("no {LINKER} on PATH"))
}

/// The map and `--why-extract` files of the binary whose SHA-256 is `hash`.
fn files_for(maps: &Path, hash: &str) -> (PathBuf, PathBuf) {
    (
        maps.join(format!("{hash}.map")),
        maps.join(format!("{hash}.why")),
    )
}

/// Removes the maps of every binary but those whose SHA-256 is in `kept`:
/// each build keeps its own only, or the directory would grow by megabytes
/// a build.
pub(crate) fn keep_only(maps: &Path, kept: &[String]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(maps) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.context("listing the link maps")?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if !kept.iter().any(|h| h == stem) {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the old link map {}", path.display()))?;
        }
    }
    Ok(())
}

/// What links a musl target through us: the linker path for cargo, and the
/// directory of the maps, which the link step reads from [`MAPS_ENV`].
pub(crate) struct Through {
    pub(crate) linker: PathBuf,
    pub(crate) maps: PathBuf,
}

/// Makes `<dir>/bin/rust-lld`, a link to this executable, for `triple`'s
/// links; `None` where it cannot be (no symbolic links), and the target is
/// linked by rust-lld directly.
pub(crate) fn through_xtask(dir: &Path, triple: &str) -> Result<Option<Through>> {
    #[cfg(unix)]
    {
        let exe = std::env::current_exe().context("finding the xtask's own executable")?;
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
        let linker = bin.join(LINKER);
        if std::fs::read_link(&linker).ok().as_deref() != Some(exe.as_path()) {
            let _ = std::fs::remove_file(&linker);
            std::os::unix::fs::symlink(&exe, &linker)
                .with_context(|| format!("linking {} to the xtask", linker.display()))?;
        }
        let maps = dir.join("maps").join(triple);
        Ok(Some(Through { linker, maps }))
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, triple);
        Ok(None)
    }
}

/// The link map of the binary whose SHA-256 is `hash`, linked through us,
/// if there is one.
pub(crate) fn map_of(maps: &Path, hash: &str) -> Result<Option<LinkMap>> {
    let (map, why) = files_for(maps, hash);
    if !map.is_file() {
        return Ok(None);
    }
    let read =
        |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    LinkMap::parse(&read(&map)?, &read(&why)?)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", map.display()))
}
