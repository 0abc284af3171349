//! Writing outputs so an interrupted run never leaves a file that looks finished.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Marker in the names of files still being written.
pub(crate) const PARTIAL_MARKER: &str = ".partial-";

/// The temporary name `path` is written under before it is renamed into place.
pub(crate) fn partial_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{PARTIAL_MARKER}{}", std::process::id()))
}

/// Writes `bytes` to a temporary name in the same directory, syncs, then renames.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_name(path);
    let result = (|| -> Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Whether `name` is a leftover of an interrupted write.
pub(crate) fn is_partial(name: &str) -> bool {
    name.starts_with('.') && name.contains(PARTIAL_MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_file_and_leaves_no_partial() {
        let dir = std::env::temp_dir().join(format!("xtask-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.tar.xz");
        write(&path, b"abc").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.tar.xz"]);
        assert!(is_partial(
            &partial_name(&path).file_name().unwrap().to_string_lossy()
        ));
        assert!(write(&dir.join("missing-dir/x"), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
