//! Helpers shared by the end-to-end tests.
#![allow(dead_code)] // each test file uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod debian;
mod skip;
#[allow(unused_imports)] // each test file uses a different subset
pub use skip::{
    inside_replay, require_tool, require_tools, skip, skipped_smoke_runs, summarise, summary,
};

/// The release directory's name in a target directory.
pub const DIST: &str = "dist.out";

/// Fixed so every run and every checkout dates its files the same.
pub const SOURCE_DATE_EPOCH: &str = "1700000000";

/// Fixed for the same reason: a copy of the workspace has no git history.
pub const GIT_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A scratch directory of this test suite, apart from the one `cargo test` uses.
pub fn e2e_dir(name: &str) -> PathBuf {
    root().join("target").join("e2e").join(name)
}

/// Removes a test's scratch directory `dir` unless the test is failing (its
/// files are then what there is to look at). Called when a test is done with
/// gigabytes: CI runs the whole suite on a machine of unknown free disk, and a
/// run that left every test's scratch behind ran out of it.
pub fn discard_scratch(dir: &Path) {
    if keep_scratch() {
        return;
    }
    if let Err(e) = fs::remove_dir_all(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!("note: could not remove {}: {e}", dir.display());
    }
}

/// A failing test's scratch is kept: it is what there is to look at.
pub fn keep_scratch() -> bool {
    std::thread::panicking()
}

pub fn xtask(cwd: &Path, target_dir: &Path, args: &[&str]) -> Output {
    xtask_command(cwd, target_dir, args)
        .output()
        .expect("run xtask")
}

/// The command [`xtask`] runs, for a test to change before running it.
pub fn xtask_command(cwd: &Path, target_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .current_dir(cwd)
        .env("CARGO_TARGET_DIR", target_dir)
        // The pinned zig a C-compiling fixture needs is fetched once per
        // target directory, not into the user's own cache.
        .env("XDG_CACHE_HOME", e2e_dir("zig-cache"))
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env("GIT_COMMIT", GIT_COMMIT);
    command
}

/// Output as text, without the ANSI colours cargo adds when told to
/// (`CARGO_TERM_COLOR=always`, as the generated workflows set it).
pub fn text(bytes: &[u8]) -> String {
    let raw = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences: `ESC [` parameters, then a final byte in @..~.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

pub fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The xtask's test fixtures: small workspaces of their own, so the tests
/// never build the app a fork puts in `crates/`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh copy of fixture `name` at `target/e2e/<scratch>/ws`, and a target
/// directory of its own beside it.
pub fn fixture(name: &str, scratch: &str) -> (PathBuf, PathBuf) {
    let dir = e2e_dir(scratch);
    let ws = dir.join("ws");
    let _ = fs::remove_dir_all(&ws);
    copy_dir(&fixtures().join(name), &ws);
    (ws, dir.join("target"))
}

/// Copies a directory tree, files and directories only.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else if ty.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The `version` of the package whose manifest is `manifest`.
pub fn version_of(manifest: &Path) -> String {
    let text = fs::read_to_string(manifest).unwrap();
    let line = text.lines().find(|l| l.starts_with("version")).unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}

/// The files git tracks (or would track) under `sub` of this repository,
/// relative to its root, that exist in the working tree.
pub fn tracked_files(sub: &str) -> Vec<String> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            sub,
        ])
        .current_dir(root())
        .output()
        .expect("run git ls-files");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        text(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty() && root().join(p).is_file())
        .map(str::to_owned)
        .collect()
}

/// Copies the files git tracks (or would track) under `sub` of this
/// repository to the same place below `dest`: no build output, no corpora.
pub fn copy_tracked(sub: &str, dest: &Path) {
    copy_files(&tracked_files(sub), dest);
}

/// Copies `paths` (relative to this repository's root) to the same place below `dest`.
pub fn copy_files(paths: &[String], dest: &Path) {
    for path in paths {
        let to = dest.join(path);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root().join(path), &to).unwrap();
    }
}

/// Replaces the first occurrence of `from` in `data` with `to`, NUL-padded
/// to the same length: a library name changed inside a real binary.
pub fn patch_name(data: &mut [u8], from: &[u8], to: &[u8]) {
    assert!(to.len() <= from.len());
    let at = data
        .windows(from.len())
        .position(|w| w == from)
        .expect("name to patch is in the binary");
    data[at..at + from.len()].fill(0);
    data[at..at + to.len()].copy_from_slice(to);
}

/// Serves the files of `dir` over HTTP on 127.0.0.1, on a free port, for
/// the rest of the test process; returns the base URL. GET only, no listing.
pub fn serve(dir: &Path) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    let port = listener.local_addr().unwrap().port();
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_owned();
            let file = (!path.is_empty() && !path.contains("..")).then(|| dir.join(&path));
            let response = match file.and_then(|f| fs::read(f).ok()) {
                Some(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// A directory of symlinks to the named programs (found on PATH) plus fake
/// ones given as scripts: a PATH with exactly these commands.
pub fn shim_path(dir: &Path, programs: &[&str], fakes: &[(&str, &str)]) -> PathBuf {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for program in programs {
        let real = std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("`{program}` is not installed"));
        std::os::unix::fs::symlink(real, dir.join(program)).unwrap();
    }
    for (name, script) in fakes {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join(name);
        fs::write(&file, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir.to_owned()
}

/// A directory of symlinks to every program on PATH but those `hidden`
/// refuses: this machine as one without them.
pub fn path_without(dir: &Path, hidden: impl Fn(&str) -> bool) -> PathBuf {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for entry in std::env::split_paths(&path).filter_map(|d| fs::read_dir(d).ok()) {
        for program in entry.flatten() {
            let name = program.file_name().to_string_lossy().into_owned();
            let link = dir.join(&name);
            // The first of a name on PATH wins, as for the shell.
            if hidden(&name) || link.symlink_metadata().is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(program.path(), link).unwrap();
        }
    }
    dir.to_owned()
}

/// The SHA-256 of `bytes` in hex, as SHA256SUMS writes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Unpacks the `.tar.xz` `archive` into `dir` with the tar and xz crates,
/// modes kept: for tests that check what an archive holds, not that a
/// system's tar can read it (a minimal machine has no `xz` for `tar -J`).
pub fn unpack_tar_xz(archive: &Path, dir: &Path) {
    let file = fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let mut tar = tar::Archive::new(xz2::read::XzDecoder::new(file));
    tar.set_preserve_permissions(true);
    tar.unpack(dir)
        .unwrap_or_else(|e| panic!("unpacking {}: {e}", archive.display()));
}

/// The member paths of the `.tar.xz` `archive`, in order (directories end in `/`).
pub fn list_tar_xz(archive: &Path) -> Vec<String> {
    let file = fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let mut tar = tar::Archive::new(xz2::read::XzDecoder::new(file));
    tar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The bytes of member `path` of the `.tar.xz` `archive`.
pub fn read_tar_xz_member(archive: &Path, path: &str) -> Vec<u8> {
    use std::io::Read;
    let file = fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let mut tar = tar::Archive::new(xz2::read::XzDecoder::new(file));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(path) {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            return data;
        }
    }
    panic!("{} holds no `{path}`", archive.display())
}

/// Flips byte `at` of member `path` of the `.tar.xz` `archive`, every tar
/// header left as it was: an archive altered after it was built.
pub fn flip_tar_xz_member_byte(archive: &Path, path: &str, at: u64) {
    use std::io::{Read, Write};
    let mut tar = Vec::new();
    xz2::read::XzDecoder::new(fs::File::open(archive).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    let mut reader = tar::Archive::new(&tar[..]);
    let offset = reader
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|e| e.path().unwrap().to_str() == Some(path))
        .map(|e| {
            assert!(at < e.size(), "{path} is shorter than {at} bytes");
            e.raw_file_position() + at
        })
        .unwrap_or_else(|| panic!("{} holds no `{path}`", archive.display()));
    tar[usize::try_from(offset).unwrap()] ^= 0xff;
    let mut xz = xz2::write::XzEncoder::new(fs::File::create(archive).unwrap(), 6);
    xz.write_all(&tar).unwrap();
    xz.finish().unwrap();
}

/// Packs `dir/stem/` into `archive` (`.tar.xz`) with the tar and xz crates,
/// symbolic links kept as links, modes 0644 or 0755 and root-owned as in a
/// release: an archive as someone else would make it.
pub fn pack_tar_xz(dir: &Path, stem: &str, archive: &Path) {
    let file = fs::File::create(archive).unwrap();
    let mut tar = tar::Builder::new(xz2::write::XzEncoder::new(file, 6));
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    tar.append_dir_all(stem, dir.join(stem)).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

/// `rustup target add triple`, taking turns with every other test run and
/// `cargo xtask` of this machine: rustup fails with "detected conflict"
/// when two install into its home at once. The lock is the xtask's own
/// (`build::toolchain`).
pub fn rustup_target_add(triple: &str) {
    let path = std::env::temp_dir().join("xtask-rustup-target-add.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lock.lock().unwrap();
    let out = Command::new("rustup")
        .args(["target", "add", triple])
        .output()
        .expect("run rustup");
    drop(lock);
    assert_ok(&format!("rustup target add {triple}"), &out);
}

/// Whether a wine the sandbox runs is installed: Debian's wine64 puts its
/// program under /usr/lib/wine, not on PATH (as `run::wine` looks for it).
pub fn has_wine() -> bool {
    ["/usr/lib/wine/wine64", "/usr/lib64/wine/wine64"]
        .iter()
        .map(PathBuf::from)
        .chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join("wine64")),
        )
        .any(|p| p.is_file())
}
