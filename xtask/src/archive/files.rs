//! Reading files that may not be what they claim, as `verify` and `merge`
//! do with downloads: regular files only — a symlink could point at
//! `/etc/shadow`, a FIFO would hang the reader, `/dev/zero` never ends —
//! and never more than a limit.

use std::fs;
use std::io::Read;
use std::path::Path;

/// Reads `path` if it is a regular file (not a link, FIFO or device) of at
/// most `limit` bytes; else says what it is.
pub(crate) fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("cannot be read ({e})"))?;
    if meta.file_type().is_symlink() {
        return Err("is a symbolic link; a release holds files only".into());
    }
    read_opened(open(path, false)?, limit)
}

/// As [`read_regular`], but a symbolic link is followed (to a regular file
/// only): for a path the user typed.
pub(crate) fn read_regular_following(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    read_opened(open(path, true)?, limit)
}

/// Opens `path` without waiting on a FIFO and, unless `follow`, without
/// following a link put there since it was looked at; what was opened is
/// then checked, not what the name pointed at a moment before.
fn open(path: &Path, follow: bool) -> Result<fs::File, String> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    #[cfg(not(unix))]
    let _ = follow;
    let file = options
        .open(path)
        .map_err(|e| format!("cannot be read ({e})"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read ({e})"))?;
    if meta.is_dir() {
        return Err("is a directory".into());
    }
    if !meta.is_file() {
        return Err("is not a regular file (a FIFO or device); nothing was read".into());
    }
    Ok(file)
}

fn read_opened(file: fs::File, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({e})"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("is larger than {} MiB", limit >> 20));
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = std::env::temp_dir().join(format!("xtask-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
        assert!(
            read_regular(&dir.join("link"), 1 << 20)
                .unwrap_err()
                .contains("symbolic link")
        );
        assert!(
            read_regular(Path::new("/dev/zero"), 1 << 20)
                .unwrap_err()
                .contains("not a regular file")
        );
        fs::write(dir.join("big"), vec![0u8; 2048]).unwrap();
        assert!(
            read_regular(&dir.join("big"), 1024)
                .unwrap_err()
                .contains("larger than")
        );
        assert_eq!(read_regular(&dir.join("big"), 4096).unwrap().len(), 2048);
        // A FIFO is refused without waiting for a writer, followed or not.
        let fifo = dir.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(
            read_regular(&fifo, 1024)
                .unwrap_err()
                .contains("not a regular file")
        );
        std::os::unix::fs::symlink(&fifo, dir.join("to-fifo")).unwrap();
        assert!(
            read_regular_following(&dir.join("to-fifo"), 1024)
                .unwrap_err()
                .contains("not a regular file")
        );
        std::os::unix::fs::symlink(dir.join("big"), dir.join("to-big")).unwrap();
        assert_eq!(
            read_regular_following(&dir.join("to-big"), 4096)
                .unwrap()
                .len(),
            2048
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
