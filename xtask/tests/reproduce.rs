//! `cargo xtask reproduce`: a release of the `greeter` fixture, committed to
//! a git repository of its own, rebuilt and compared — identical when it is
//! the release, the member named when a published archive was altered, and
//! identical when the release was built in another Debian release's root
//! (its own gcc and binutils, glibc and no rustup), as someone checking a
//! release on another system would.

// Linux only: it builds Linux release binaries, and debootstraps a Debian root.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const X86: &str = "x86_64-unknown-linux-musl";
const ARM: &str = "aarch64-unknown-linux-musl";
const PACKAGE: &str = "fixture-greeter";
const VERSION: &str = "0.3.0";

/// The xtask as a user runs it: the date and commit from git, not the
/// fixed values the other tests set.
fn xtask_in(ws: &Path, target_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("XDG_CACHE_HOME", e2e_dir("zig-cache"))
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("GIT_COMMIT")
        .output()
        .expect("run xtask")
}

fn git(ws: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(ws)
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
        .output()
        .expect("run git");
    assert_ok(&format!("git {args:?}"), &out);
    text(&out.stdout).trim().to_owned()
}

/// The greeter fixture as a repository of its own with one commit.
fn repository(scratch: &str) -> (PathBuf, PathBuf, String) {
    repository_of("greeter", scratch)
}

/// Fixture `name` as a repository of its own with one commit.
fn repository_of(name: &str, scratch: &str) -> (PathBuf, PathBuf, String) {
    let (ws, target_dir) = fixture(name, scratch);
    fs::write(ws.join(".gitignore"), "/target\n").unwrap();
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "release"]);
    let commit = git(&ws, &["rev-parse", "HEAD"]);
    (ws, target_dir, commit)
}

fn archive(target: &str) -> String {
    format!("{PACKAGE}-{VERSION}-{target}.tar.xz")
}

/// Rewrites `name`'s line in SHA256SUMS, the manifest and its sidecar to
/// `new_sha`: a release altered by whoever could write all of them.
fn relist(dir: &Path, name: &str, old_sha: &str, new_sha: &str) {
    for file in [
        "SHA256SUMS".to_owned(),
        "dist-manifest.json".to_owned(),
        format!("{name}.sha256"),
    ] {
        let path = dir.join(&file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(old_sha), "{file} lists {old_sha}");
        fs::write(&path, text.replace(old_sha, new_sha)).unwrap();
    }
}

fn sha256(path: &Path) -> String {
    sha256_hex(&fs::read(path).unwrap())
}

/// `reproduce` reported each of `targets`' archives identical.
fn assert_identical(stderr: &str, targets: &[&str]) {
    for target in targets {
        let block = stderr
            .split("==> ")
            .find(|b| b.starts_with(&archive(target)))
            .unwrap_or_else(|| panic!("no report for {target}:\n{stderr}"));
        assert!(block.contains("identical (sha256 "), "{block}");
    }
}

#[test]
fn a_release_rebuilds_identically_and_an_altered_archive_is_named_by_member() {
    let (ws, target_dir, commit) = repository("reproduce");
    let out = xtask_in(
        &ws,
        &target_dir,
        &["dist", "--target", X86, "--target", ARM],
    );
    assert_ok("cargo xtask dist", &out);
    let published = target_dir.join("published");
    let _ = fs::remove_dir_all(&published);
    copy_dir(&target_dir.join(DIST), &published);
    let manifest = fs::read_to_string(published.join("dist-manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!("\"commit\": \"{commit}\"")),
        "{manifest}"
    );

    let out = xtask_in(
        &ws,
        &target_dir,
        &["reproduce", published.to_str().unwrap()],
    );
    assert_ok("cargo xtask reproduce", &out);
    let stderr = text(&out.stderr);
    assert_identical(&stderr, &[X86, ARM]);
    assert!(stderr.contains("all checks passed"), "{stderr}");

    // One byte of the x86_64 binary changed, and every list made to agree.
    let altered = target_dir.join("altered");
    let _ = fs::remove_dir_all(&altered);
    copy_dir(&published, &altered);
    let name = archive(X86);
    let stem = format!("{PACKAGE}-{VERSION}-{X86}");
    let old_sha = sha256(&altered.join(&name));
    flip_tar_xz_member_byte(&altered.join(&name), &format!("{stem}/greet"), 4096);
    relist(&altered, &name, &old_sha, &sha256(&altered.join(&name)));

    // Read over HTTP, as from a release page.
    let url = serve(&altered);
    let out = xtask_in(&ws, &target_dir, &["reproduce", &url, "--target", X86]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.contains(&format!("{name}: the rebuild differs"))
            && last.contains(&format!("`{stem}/greet` differs: 1 of its"))
            && last.contains("changed after it was built"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&archive(ARM)),
        "only --target is rebuilt: {stderr}"
    );
}

#[test]
fn a_new_commit_reruns_a_build_script_that_reads_the_commit() {
    // The greeter's build script embeds the commit without a `rerun-if`
    // line, as ripgrep's does; the second commit changes no file of its package.
    let (ws, target_dir, first) = repository("reproduce-commits");
    let greet = || {
        let out = xtask_in(&ws, &target_dir, &["dist", "--target", X86]);
        assert_ok("cargo xtask dist", &out);
        read_tar_xz_member(
            &target_dir.join(DIST).join(archive(X86)),
            &format!("{PACKAGE}-{VERSION}-{X86}/greet"),
        )
    };
    let contains = |data: &[u8], commit: &str| data.windows(40).any(|w| w == commit.as_bytes());
    assert!(contains(&greet(), &first));
    fs::write(ws.join("NOTES.md"), "not in the app's package\n").unwrap();
    git(&ws, &["add", "NOTES.md"]);
    git(&ws, &["commit", "-q", "-m", "notes"]);
    let second = git(&ws, &["rev-parse", "HEAD"]);
    let binary = greet();
    assert!(
        contains(&binary, &second) && !contains(&binary, &first),
        "the release of {second} must embed {second}, not the previous commit {first}"
    );
}

#[test]
fn only_the_releases_commit_unchanged_is_rebuilt() {
    let (ws, target_dir, commit) = repository("reproduce-checkout");
    let published = target_dir.join("published");
    fs::create_dir_all(&published).unwrap();
    let manifest = |commit: &str, version: &str| {
        format!(
            r#"{{"app": "{PACKAGE}", "version": "{version}", "source_date_epoch": 1700000000,
                "commit": "{commit}", "artifacts": [], "installers": []}}"#
        )
    };
    fs::write(published.join("SHA256SUMS"), "").unwrap();
    let dir = published.to_str().unwrap();
    // Refused before anything is built: exit 1 and the reason as the last line.
    let refused = |commit: &str, version: &str| {
        fs::write(
            published.join("dist-manifest.json"),
            manifest(commit, version),
        )
        .unwrap();
        let out = xtask_in(&ws, &target_dir, &["reproduce", dir]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("==> building"), "{stderr}");
        stderr.lines().last().unwrap_or_default().to_owned()
    };

    let other = "1111111111111111111111111111111111111111";
    let error = refused(other, VERSION);
    assert!(
        error.contains(&format!(
            "this checkout is commit {commit}, the release was built from {other}; run `git checkout {other}` first"
        )),
        "{error}"
    );
    let error = refused(&commit, "9.9.9");
    assert!(
        error.contains(&format!(
            "the release is {PACKAGE} 9.9.9, but this checkout builds {PACKAGE} {VERSION}"
        )),
        "{error}"
    );
    fs::write(ws.join("README.md"), "changed\n").unwrap();
    let error = refused(&commit, VERSION);
    assert!(
        error.contains("this checkout has changes to 1 file(s) (README.md)"),
        "{error}"
    );

    // Nothing to compare against: no manifest there.
    let out = xtask_in(&ws, &target_dir, &["reproduce", "/nonexistent/release"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/release/dist-manifest.json cannot be read"),
        "{stderr}"
    );
}

/// The Debian release to build in: not the host's.
fn other_suite() -> &'static str {
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    if os.contains("VERSION_CODENAME=trixie") {
        "bookworm"
    } else {
        "trixie"
    }
}

/// What the other root holds: Debian's minimal system, its own gcc,
/// binutils and glibc, git and CA certificates; no rustup, no musl-tools.
const PACKAGES: &[&str] = &["ca-certificates", "git", "gcc", "libc6-dev"];

/// Fills the other root (as root here, `$root` the root): the test's
/// toolchain read-only at the same path (no rustup), the xtask, qemu when
/// this machine has it (for aarch64 smoke runs), this machine's CA bundle
/// (crates are downloaded there), the pinned zig read-only where the xtask
/// looks for it, the commit as a git bundle, a release at `/published`,
/// and `/out` for what comes back.
const SETUP: &str = r#"
sysroot=$1 xtask=$2 zig=$3 bundle=$4 published=$5 out=$6
mkdir -p "$root$sysroot" "$root/usr/local/bin" "$root/src" "$root/published" "$root/out"
cp "$xtask" "$root/usr/local/bin/xtask"
if qemu=$(command -v qemu-aarch64-static); then cp "$qemu" "$root/usr/local/bin/"; fi
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp "$bundle" "$root/src/project.bundle"
mount --bind "$sysroot" "$root$sysroot"
mount -o remount,bind,ro "$root$sysroot"
if [ -d "$zig" ]; then
    mkdir -p "$root/root/.cache/cargo-xtask/zig-0.17.1"
    mount --bind "$zig" "$root/root/.cache/cargo-xtask/zig-0.17.1"
    mount -o remount,bind,ro "$root/root/.cache/cargo-xtask/zig-0.17.1"
fi
mkdir -p "$published" "$out"
mount --bind "$published" "$root/published"
mount --bind "$out" "$root/out"
"#;

/// In the other root: clone the commit, then `xtask "$@"`, output and exit
/// code to `/out`, and the root's own linker named there.
const INSIDE: &str = r#"
sysroot=$1 commit=$2
shift 2
export PATH="$sysroot/bin:$PATH" CARGO_TARGET_DIR=/src/target
ld --version | head -n 1 >/out/ld
git clone -q /src/project.bundle /src/ws
cd /src/ws
git checkout -q "$commit"
rc=0
xtask "$@" >/out/xtask.log 2>&1 || rc=$?
echo "$rc" >/out/xtask.rc
if [ -d /src/target/dist.out ]; then cp -R /src/target/dist.out /out/dist.out; fi
"#;

/// What `xtask args` did in the other root: its output, and whether it passed.
struct InRoot {
    log: String,
    ok: bool,
    out: PathBuf,
}

/// Runs `xtask args` in the other Debian release's root, on a clone of
/// `ws`'s `commit`, with `published` at `/published`; `None` if this
/// machine cannot make the root (skipped).
fn in_other_root(
    scratch: &str,
    ws: &Path,
    commit: &str,
    published: &Path,
    args: &[&str],
) -> Option<InRoot> {
    let root = debian::root(other_suite(), PACKAGES)?;
    let dir = e2e_dir(scratch);
    let bundle = dir.join("project.bundle");
    git(
        ws,
        &["bundle", "create", "-q", bundle.to_str().unwrap(), "--all"],
    );
    let sysroot = {
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap();
        assert_ok("rustc --print sysroot", &out);
        text(&out.stdout).trim().to_owned()
    };
    let out = dir.join("out");
    root.as_root("rm -rf \"$1\"", &[out.to_str().unwrap()]);
    let zig = e2e_dir("zig-cache").join("cargo-xtask/zig-0.17.1");
    let mut all = vec![
        sysroot.as_str(),
        env!("CARGO_BIN_EXE_xtask"),
        zig.to_str().unwrap(),
        bundle.to_str().unwrap(),
        published.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    let setup_args = all.len();
    all.push(commit);
    all.extend(args);
    // SETUP takes the first six, INSIDE the sysroot, the commit and `args`.
    let inside = format!(
        "shift {}; set -- \"{sysroot}\" \"$@\"\n{INSIDE}",
        setup_args
    );
    let run = root.run(&dir.join("root"), SETUP, &inside, &all);
    assert_ok(&format!("entering a Debian {} root", other_suite()), &run);
    root.as_root(
        "chown -R \"$1\" \"$2\"",
        &[&debian::owner(), out.to_str().unwrap()],
    );
    let read = |name: &str| fs::read_to_string(out.join(name)).unwrap_or_default();
    eprintln!("the {} root's linker: {}", other_suite(), read("ld").trim());
    Some(InRoot {
        log: text(read("xtask.log").as_bytes()),
        ok: read("xtask.rc").trim() == "0",
        out,
    })
}

/// A release of the pure-Rust greeter built in another Debian release's
/// root (its own gcc, binutils and glibc, and no rustup) is rebuilt here
/// bit for bit.
#[test]
fn another_debian_release_builds_the_same_archives() {
    if inside_replay("the same archives built in another Debian release's root") {
        return;
    }
    let (ws, target_dir, commit) = repository("reproduce-elsewhere");
    fs::create_dir_all(&target_dir).unwrap();
    let none = e2e_dir("reproduce-elsewhere").join("none");
    let Some(built) = in_other_root(
        "reproduce-elsewhere",
        &ws,
        &commit,
        &none,
        &["dist", "--target", X86, "--target", ARM],
    ) else {
        return;
    };
    assert!(
        built.ok,
        "cargo xtask dist in the other root:\n{}",
        built.log
    );
    // Smoke-tested in the other root too: x86_64 always, aarch64 with qemu.
    let ran = built.log.matches("(sandboxed: an empty root").count();
    assert!(
        ran >= 1 && ran + skipped_smoke_runs(&built.log) >= 2,
        "the release was smoke-tested in the other root too:\n{}",
        built.log
    );
    let elsewhere = built.out.join("dist.out");
    let out = xtask_in(
        &ws,
        &target_dir,
        &["reproduce", elsewhere.to_str().unwrap()],
    );
    assert_ok("cargo xtask reproduce of the other root's release", &out);
    let stderr = text(&out.stderr);
    assert_identical(&stderr, &[X86, ARM]);
    let manifest = fs::read_to_string(elsewhere.join("dist-manifest.json")).unwrap();
    assert!(manifest.contains("\"rustc\": \"rustc "), "{manifest}");
    assert!(
        manifest.contains(&format!("\"commit\": \"{commit}\"")),
        "{manifest}"
    );
}

/// The other way round, with C: a release of the `cdep` fixture (zstd and
/// C of its own, compiled by the pinned zig) built on this machine — with
/// whatever C compilers it has, musl-tools included under CI — is rebuilt
/// bit for bit by `reproduce` in the other Debian release's root, which has
/// only ca-certificates, git, gcc, libc6-dev and the toolchain.
#[test]
fn a_release_with_c_built_here_is_rebuilt_identically_in_another_debian_release() {
    if inside_replay("a release with C rebuilt identically in another Debian release's root") {
        return;
    }
    let (ws, target_dir, commit) = repository_of("cdep", "reproduce-c");
    let out = xtask_in(&ws, &target_dir, &["dist"]);
    assert_ok("cargo xtask dist of the C fixture", &out);
    let published = e2e_dir("reproduce-c").join("published");
    let _ = fs::remove_dir_all(&published);
    copy_dir(&target_dir.join(DIST), &published);
    let Some(rebuilt) = in_other_root(
        "reproduce-c",
        &ws,
        &commit,
        &published,
        &["reproduce", "/published"],
    ) else {
        return;
    };
    assert!(
        rebuilt.ok,
        "cargo xtask reproduce in the other root:\n{}",
        rebuilt.log
    );
    let archives = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];
    for target in archives {
        let name = format!("fixture-cdep-0.1.0-{target}.tar.xz");
        let block = rebuilt
            .log
            .split("==> ")
            .find(|b| b.starts_with(&name))
            .unwrap_or_else(|| panic!("no report for {name}:\n{}", rebuilt.log));
        assert!(block.contains("identical (sha256 "), "{block}");
        assert!(
            block.contains(&format!("{name}.cdx.json: identical")),
            "{block}"
        );
    }
    assert!(rebuilt.log.contains("all checks passed"), "{}", rebuilt.log);
}
