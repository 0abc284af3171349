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
    let (ws, target_dir) = fixture("greeter", scratch);
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

/// The Debian mirror apt uses here, else Debian's own.
fn mirror() -> String {
    let sources = fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    sources
        .lines()
        .find_map(|l| l.strip_prefix("URIs:"))
        .and_then(|uris| uris.split_whitespace().next())
        .unwrap_or("http://deb.debian.org/debian")
        .to_owned()
}

/// How to run a command as root: directly, or through `sudo -n` (GitHub's
/// runners); `None` (a printed skip, a failure under `CI=true`) otherwise.
fn as_root() -> Option<Vec<&'static str>> {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if text(&uid.stdout).trim() == "0" {
        return Some(vec![]);
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output();
    if sudo.is_ok_and(|o| o.status.success()) {
        return Some(vec!["sudo", "-n"]);
    }
    skip("needs root or `sudo -n` to build in another Debian root (debootstrap, chroot)");
    None
}

/// Run as root: makes a minimal root of another Debian release with its
/// own gcc and binutils (once; kept for later runs), unpacks the commit's
/// files and puts the xtask (and qemu, for aarch64 smoke runs) in it, then
/// runs `xtask dist` there with the test's toolchain mounted read-only at
/// the same path and no rustup, in a mount namespace of its own (with
/// pivot_root, so the smoke runs' sandbox works there too), and copies
/// the release out. The date and commit are given, as for a source tarball.
const BUILD_IN_ROOT: &str = r#"
set -eu
root=$1 suite=$2 mirror=$3 tarball=$4 xtask=$5 sysroot=$6 out=$7 owner=$8
date=$9 commit=${10}
shift 10
if [ ! -e "$root/.complete" ]; then
    rm -rf "$root"
    mkdir -p "$root"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    if [ -e "$keyring" ]; then keyring="--keyring=$keyring"; else keyring=--no-check-gpg; fi
    if ! debootstrap --variant=minbase --include=gcc,libc6-dev "$keyring" "$suite" "$root" "$mirror" >"$root.log" 2>&1; then
        tail -20 "$root.log" >&2
        exit 1
    fi
    touch "$root/.complete"
fi
rm -rf "$root/src"
mkdir -p "$root/src/ws" "$root/usr/local/bin" "$root$sysroot"
tar -xf "$tarball" -C "$root/src/ws"
cp "$xtask" "$root/usr/local/bin/xtask"
if qemu=$(command -v qemu-aarch64-static); then cp "$qemu" "$root/usr/local/bin/"; fi
unshare --mount --propagation private sh -euc '
    root=$1 sysroot=$2
    shift 2
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --bind "$sysroot" "$root$sysroot"
    mount -o remount,bind,ro "$root$sysroot"
    # pivot_root, not chroot: the kernel refuses user namespaces (the
    # smoke runs'"'"' sandbox) to a chrooted process.
    cd "$root"
    mkdir -p .old-root
    pivot_root . .old-root
    umount -l /.old-root
    exec "$@"
' sh "$root" "$sysroot" env -i "PATH=$sysroot/bin:/usr/local/bin:/usr/bin:/bin" \
    HOME=/root CARGO_HOME=/root/.cargo CARGO_TARGET_DIR=/src/target \
    "SOURCE_DATE_EPOCH=$date" "GIT_COMMIT=$commit" \
    sh -c 'cd /src/ws && ld --version | head -n 1 && exec xtask dist "$@"' xtask "$@"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -R "$root/src/target/dist.out" "$out"
chown -R "$owner" "$out"
"#;

#[test]
fn another_debian_release_builds_the_same_archives() {
    let Some(sudo) = as_root() else { return };
    if !require_tool(
        "debootstrap",
        "apt-get install debootstrap debian-archive-keyring",
    ) {
        return;
    }
    let (ws, target_dir, commit) = repository("reproduce-elsewhere");
    let tarball = target_dir.join("source.tar");
    fs::create_dir_all(&target_dir).unwrap();
    git(
        &ws,
        &[
            "archive",
            "--format=tar",
            "-o",
            tarball.to_str().unwrap(),
            "HEAD",
        ],
    );
    let sysroot = {
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap();
        assert_ok("rustc --print sysroot", &out);
        text(&out.stdout).trim().to_owned()
    };
    let owner = {
        let out = Command::new("id").args(["-u"]).output().unwrap();
        let group = Command::new("id").args(["-g"]).output().unwrap();
        format!(
            "{}:{}",
            text(&out.stdout).trim(),
            text(&group.stdout).trim()
        )
    };
    let suite = other_suite();
    let elsewhere = ws.join("target/dist-elsewhere");
    let out = Command::new(sudo.first().copied().unwrap_or("sh"))
        .args(sudo.iter().skip(1))
        .args(if sudo.is_empty() { vec![] } else { vec!["sh"] })
        .args(["-c", BUILD_IN_ROOT, "sh"])
        .arg(e2e_dir("debian-roots").join(suite))
        .arg(suite)
        .arg(mirror())
        .arg(&tarball)
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .arg(&sysroot)
        .arg(&elsewhere)
        .arg(owner)
        .arg(git(&ws, &["log", "-1", "--format=%ct"]))
        .arg(&commit)
        .args(["--target", X86, "--target", ARM])
        .output()
        .expect("run sh");
    assert_ok(&format!("cargo xtask dist in a Debian {suite} root"), &out);
    let built = text(&out.stderr);
    // Smoke-tested in the other root too: x86_64 always, aarch64 with qemu.
    let ran = built.matches("(sandboxed: an empty root").count();
    assert!(
        ran >= 1 && ran + skipped_smoke_runs(&built) >= 2,
        "the release was smoke-tested in the other root too:\n{built}"
    );
    eprintln!(
        "the {suite} root's linker: {}",
        text(&out.stdout).lines().next().unwrap_or("")
    );

    let out = xtask_in(&ws, &target_dir, &["reproduce", "target/dist-elsewhere"]);
    assert_ok("cargo xtask reproduce target/dist-elsewhere", &out);
    let stderr = text(&out.stderr);
    assert_identical(&stderr, &[X86, ARM]);
    let manifest = fs::read_to_string(elsewhere.join("dist-manifest.json")).unwrap();
    assert!(manifest.contains("\"rustc\": \"rustc "), "{manifest}");
    assert!(
        manifest.contains(&format!("\"commit\": \"{commit}\"")),
        "{manifest}"
    );
}
