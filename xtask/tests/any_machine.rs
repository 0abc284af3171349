//! The README's two commands where users are: a Debian bookworm minbase
//! root with only ca-certificates, git, gcc and libc6-dev, and the rustup
//! toolchain copied in — what `rust:slim`-like containers and many CI
//! images have: no curl, wget, xz, python3, qemu or procps. A clone of this
//! checkout runs `cargo xtask dist` and then `cargo test --workspace` there
//! as written, with `CI` unset. Both must pass, `dist` must have smoke-run
//! the x86_64 archive (in its sandbox, inside the root), and the tests the
//! second command skipped must be exactly those `fixtures/any-machine/
//! skipped.txt` lists (`XTASK_BLESS=1` rewrites it).
//!
//! It builds the project's own app, as a user would: a fork's app too.

// Linux only: it debootstraps a Debian root.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

/// Fills the root (run as root here, `$root` the root): the pinned
/// toolchain mounted read-only where rustup keeps it, rustup and its
/// proxies, this machine's CA bundle (a TLS-intercepting proxy's CA with
/// it), the project as a git bundle, and `/out` for the logs.
const SETUP: &str = r#"
bundle=$1 toolchain=$2 name=$3 rustup=$4 out=$5
mkdir -p "$root/root/.rustup/toolchains/$name" "$root/root/.cargo/bin" "$root/src" "$root/out"
printf 'version = "12"\nprofile = "minimal"\n' >"$root/root/.rustup/settings.toml"
cp "$rustup" "$root/root/.cargo/bin/rustup"
for proxy in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do
    ln -sf rustup "$root/root/.cargo/bin/$proxy"
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp "$bundle" "$root/src/project.bundle"
mount --bind "$toolchain" "$root/root/.rustup/toolchains/$name"
mount -o remount,bind,ro "$root/root/.rustup/toolchains/$name"
mkdir -p "$out"
mount --bind "$out" "$root/out"
"#;

/// In the root: clone, then the README's two commands, each one's output
/// and exit code kept in `/out`.
const INSIDE: &str = r#"
git clone -q /src/project.bundle /project
cd /project
for step in dist test; do
    case $step in
        dist) set -- cargo xtask dist ;;
        test) set -- cargo test --workspace ;;
    esac
    started=$(date +%s)
    rc=0
    "$@" >"/out/$step.log" 2>&1 || rc=$?
    echo "$rc $(( $(date +%s) - started ))" >"/out/$step.rc"
done
"#;

/// The name rustup gives the toolchain this checkout pins, and where it is.
fn toolchain() -> (String, String) {
    let out = Command::new("rustup")
        .args(["show", "active-toolchain"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_ok("rustup show active-toolchain", &out);
    let name = text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_ok("rustc --print sysroot", &sysroot);
    let dir = fs::canonicalize(text(&sysroot.stdout).trim()).unwrap();
    (name, dir.to_string_lossy().into_owned())
}

/// This checkout's files (tracked, or new and not ignored) as one commit
/// in a git bundle: what a fresh clone of it would hold.
fn bundle(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    let _ = fs::remove_dir_all(&repo);
    copy_tracked(".", &repo);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "Fixture")
            .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
            .env("GIT_COMMITTER_NAME", "Fixture")
            .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
            .output()
            .unwrap();
        assert_ok(&format!("git {args:?}"), &out);
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "snapshot"]);
    let bundle = dir.join("project.bundle");
    git(&["bundle", "create", "-q", bundle.to_str().unwrap(), "--all"]);
    bundle
}

/// The `SKIPPED <test>: <why>` lines of a test run, sorted, without the
/// summary. A skip is written as its test runs, so it may land in the
/// middle of libtest's `test <name> ... ok` (which libtest writes in two
/// parts): it is taken from wherever it starts.
fn skipped(log: &str) -> Vec<String> {
    let mut lines: Vec<String> = log
        .lines()
        .filter_map(|l| l.find("SKIPPED ").map(|at| &l[at..]))
        .filter(|l| !l.contains(" test(s) of this run"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

/// The block `dist` printed while verifying the archive for `triple`.
fn verify_block<'a>(log: &'a str, triple: &str) -> &'a str {
    let start = log
        .find(&format!("-{triple}.tar.xz\n"))
        .and_then(|i| log[..i].rfind("==> "))
        .unwrap_or_else(|| panic!("no verify block for {triple}:\n{log}"));
    let rest = &log[start + 4..];
    &rest[..rest.find("==> ").unwrap_or(rest.len())]
}

#[test]
fn the_readme_commands_pass_on_a_machine_with_only_rustup_cargo_git_and_a_c_linker() {
    // The bare root is a world of its own: a replayed pull request's
    // `cargo test` would only build the same root and run the same commands
    // there again (six minutes on two cores).
    if inside_replay("the README's commands in the bare root") {
        return;
    }
    let Some(root) = debian::root("bookworm", &["ca-certificates", "git", "gcc", "libc6-dev"])
    else {
        return;
    };
    let scratch = e2e_dir("any-machine");
    let bundle = bundle(&scratch);
    let out_dir = scratch.join("out");
    let (name, toolchain) = toolchain();
    let rustup = fs::canonicalize(
        std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join("rustup"))
            .find(|p| p.is_file())
            .expect("rustup on PATH"),
    )
    .unwrap();
    let run = root.run(
        &scratch.join("root"),
        SETUP,
        INSIDE,
        &[
            bundle.to_str().unwrap(),
            &toolchain,
            &name,
            rustup.to_str().unwrap(),
            out_dir.to_str().unwrap(),
        ],
    );
    assert_ok("entering the bare root", &run);
    root.as_root(
        "chown -R \"$1\" \"$2\"",
        &[&debian::owner(), out_dir.to_str().unwrap()],
    );
    let read = |name: &str| fs::read_to_string(out_dir.join(name)).unwrap_or_default();
    let (dist, test) = (read("dist.log"), read("test.log"));
    let status = |step: &str| {
        let rc = read(&format!("{step}.rc"));
        let mut words = rc.split_whitespace();
        let code = words.next().unwrap_or("?").to_owned();
        let secs = words.next().unwrap_or("?").to_owned();
        (code, secs)
    };
    let ((dist_rc, dist_secs), (test_rc, test_secs)) = (status("dist"), status("test"));
    eprintln!(
        "in the bare root: cargo xtask dist {dist_secs} s, cargo test --workspace {test_secs} s"
    );
    assert_eq!(
        dist_rc, "0",
        "cargo xtask dist failed in the bare root:\n{dist}"
    );
    assert_eq!(
        test_rc, "0",
        "cargo test --workspace failed in the bare root:\n{test}"
    );

    // dist ran the x86_64 archive's smoke commands, in its sandbox.
    let block = verify_block(&dist, "x86_64-unknown-linux-musl");
    assert!(
        block.contains("(sandboxed: an empty root") && !block.contains("smoke test SKIPPED"),
        "the x86_64 archive was not smoke-run:\n{block}"
    );
    // No download tool but the xtask itself: the pinned zig came in-process.
    assert!(!dist.contains("needs curl"), "{dist}");

    let expected_file = fixtures().join("any-machine/skipped.txt");
    let found = skipped(&test);
    if std::env::var_os("XTASK_BLESS").is_some() {
        fs::write(&expected_file, found.join("\n") + "\n").unwrap();
    }
    let expected: Vec<String> = fs::read_to_string(&expected_file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let missing: Vec<&String> = expected.iter().filter(|l| !found.contains(l)).collect();
    let extra: Vec<&String> = found.iter().filter(|l| !expected.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the tests skipped in the bare root are not those {} lists (XTASK_BLESS=1 rewrites it)\n\
         skipped, but not listed:\n{}\nlisted, but not skipped:\n{}",
        expected_file.display(),
        extra.iter().map(|l| format!("  {l}\n")).collect::<String>(),
        missing
            .iter()
            .map(|l| format!("  {l}\n"))
            .collect::<String>(),
    );
    assert!(
        test.lines()
            .any(|l| l.contains("SKIPPED ") && l.contains(" test(s) of this run")),
        "no summary line:\n{test}"
    );
    // The root's copy holds a toolchain and two builds: 4 GB.
    root.discard(&scratch);
}
