//! `mycli walk`: a directory tree walked in parallel, as fd, ripgrep or dust
//! walk one. Each directory is opened with `read_dir`, which on musl
//! allocates its `DIR` inside libc (`opendir`) rather than through Rust's
//! global allocator: the workload that shows whether libc's own allocations
//! are fast too (see "Speed on musl" in the README).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// What a walk found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub dirs: u64,
    pub files: u64,
    /// Bytes of the file names, so that each entry's name is read.
    pub name_bytes: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.dirs += other.dirs;
        self.files += other.files;
        self.name_bytes += other.name_bytes;
    }
}

/// Directories waiting to be read, and how many threads are reading one:
/// the walk ends when both are zero.
struct Queue {
    state: Mutex<(VecDeque<PathBuf>, usize)>,
    wake: Condvar,
}

impl Queue {
    /// The next directory to read, or `None` once the walk is over.
    fn take(&self) -> Option<PathBuf> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(dir) = state.0.pop_front() {
                state.1 += 1;
                return Some(dir);
            }
            if state.1 == 0 {
                self.wake.notify_all();
                return None;
            }
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// One directory read, and the directories found in it.
    fn done(&self, found: Vec<PathBuf>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0.extend(found);
        state.1 -= 1;
        self.wake.notify_all();
    }
}

/// Walks the trees under `roots` with `threads` threads, not following
/// symbolic links. An unreadable directory stops the walk with its path.
pub fn walk(roots: &[PathBuf], threads: usize) -> io::Result<Tally> {
    let queue = Queue {
        state: Mutex::new((roots.iter().cloned().collect(), 0)),
        wake: Condvar::new(),
    };
    let results: Vec<io::Result<Tally>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| scope.spawn(|| worker(&queue)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a walker panicked")))
            })
            .collect()
    });
    let mut total = Tally::default();
    for result in results {
        total.add(result?);
    }
    Ok(total)
}

fn worker(queue: &Queue) -> io::Result<Tally> {
    let mut tally = Tally::default();
    let mut failure = None;
    while let Some(dir) = queue.take() {
        let mut found = Vec::new();
        // After a failure, keep taking (and dropping) work so the walk ends.
        if failure.is_none()
            && let Err(err) = read_one(&dir, &mut tally, &mut found)
        {
            failure = Some(io::Error::new(
                err.kind(),
                format!("{}: {err}", dir.display()),
            ));
            found.clear();
        }
        queue.done(found);
    }
    failure.map_or(Ok(tally), Err)
}

fn read_one(dir: &Path, tally: &mut Tally, found: &mut Vec<PathBuf>) -> io::Result<()> {
    tally.dirs += 1;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        tally.name_bytes += entry.file_name().len() as u64;
        // The entry's type comes with it (d_type): no stat per file, as fd does.
        if entry.file_type()?.is_dir() {
            found.push(entry.path());
        } else {
            tally.files += 1;
        }
    }
    Ok(())
}

/// Writes a tree to walk into `dir`: `width` directories per level, `depth`
/// levels, and `files` empty files in every directory.
pub fn write_tree(dir: &Path, width: usize, depth: usize, files: usize) -> io::Result<Tally> {
    let mut tally = Tally::default();
    let mut level = vec![dir.to_owned()];
    for _ in 0..depth {
        let mut next = Vec::with_capacity(level.len() * width);
        for parent in &level {
            for i in 0..width {
                let child = parent.join(format!("d{i:02}"));
                std::fs::create_dir_all(&child)?;
                for f in 0..files {
                    std::fs::File::create(child.join(format!("file-{f:02}.txt")))?;
                }
                tally.dirs += 1;
                tally.files += files as u64;
                next.push(child);
            }
        }
        level = next;
    }
    Ok(tally)
}

/// The counts, one line.
pub fn report(tally: &Tally, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{} directories, {} files, {} bytes of names",
        tally.dirs, tally.files, tally.name_bytes
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mycli-walk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn any_number_of_threads_finds_the_tree_that_was_written() {
        let dir = scratch("tree");
        let written = write_tree(&dir, 3, 3, 2).unwrap();
        assert_eq!(written.dirs, 3 + 9 + 27);
        assert_eq!(written.files, 2 * 39);
        for threads in [1, 2, 7] {
            let found = walk(std::slice::from_ref(&dir), threads).unwrap();
            // The root is a directory too.
            assert_eq!(found.dirs, written.dirs + 1, "{threads} threads");
            assert_eq!(found.files, written.files, "{threads} threads");
            assert_eq!(found.name_bytes, 39 * 3 + 78 * 11, "{threads} threads");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_root_is_an_error_naming_it() {
        let dir = scratch("missing").join("not-there");
        let err = walk(std::slice::from_ref(&dir), 2).unwrap_err();
        assert!(err.to_string().contains("not-there"), "{err}");
    }
}
