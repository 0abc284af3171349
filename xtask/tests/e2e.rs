//! End to end: `cargo xtask dist` and `verify` on this very workspace, as a user runs them.
//!
//! These tests build the sample app for real (release profile, fat LTO), so
//! they share one dist run and use target directories of their own under
//! `target/e2e/`, apart from the directory `cargo test` itself is using.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::*;

const TRIPLE: &str = "x86_64-unknown-linux-musl";
const ARM: &str = "aarch64-unknown-linux-musl";

/// The main dist run, shared by the tests: (target dir, table run, --json run).
struct DistRun {
    target_dir: PathBuf,
    table: Output,
    json: Output,
}

fn dist_run() -> &'static DistRun {
    static RUN: OnceLock<DistRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let target_dir = e2e_dir("main");
        let dist = target_dir.join("dist");
        fs::create_dir_all(&dist).unwrap();
        // An older release left behind: it must not end up in the new SHA256SUMS.
        fs::write(dist.join(format!("mycli-0.0.1-{TRIPLE}.tar.xz")), b"old").unwrap();
        fs::write(
            dist.join(format!("mycli-0.0.1-{TRIPLE}.tar.xz.sha256")),
            b"old",
        )
        .unwrap();
        let table = xtask(&root(), &target_dir, &["dist"]);
        assert_ok("cargo xtask dist", &table);
        let json = xtask(&root(), &target_dir, &["dist", "--json"]);
        assert_ok("cargo xtask dist --json", &json);
        DistRun {
            target_dir,
            table,
            json,
        }
    })
}

fn archive_name() -> String {
    format!("mycli-{}-{TRIPLE}.tar.xz", version())
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
        stderr.contains(&format!("==> building mycli {} for {TRIPLE}", version())),
        "{stderr}"
    );

    // Third-party tools must agree with us: GNU tar and coreutils.
    let dist = run.target_dir.join("dist");
    let listing = Command::new("tar")
        .arg("-tvJf")
        .arg(dist.join(archive_name()))
        .output()
        .unwrap();
    assert_ok("tar -tJf", &listing);
    let listing = text(&listing.stdout);
    let top = format!("mycli-{}-{TRIPLE}", version());
    // ripgrep's layout: completions under complete/, the man page under doc/.
    let entries = [
        "/",
        "/mycli",
        "/README.md",
        "/LICENSE-MIT",
        "/LICENSE-APACHE",
        "/complete/mycli.bash",
        "/complete/_mycli",
        "/complete/mycli.fish",
        "/complete/_mycli.ps1",
        "/complete/mycli.elv",
        "/doc/mycli.1",
    ];
    for entry in entries {
        assert!(
            listing.contains(&format!("{top}{entry}\n")),
            "missing {entry}:\n{listing}"
        );
    }
    assert!(
        listing.contains("-rwxr-xr-x 0/0"),
        "binary must be 0755 root:\n{listing}"
    );
    assert!(
        listing.contains("2023-11-14"),
        "mtime must be SOURCE_DATE_EPOCH:\n{listing}"
    );
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist)
        .output()
        .unwrap();
    assert_ok("sha256sum -c SHA256SUMS", &check);
}

#[test]
fn json_prints_the_manifest_and_runs_are_identical() {
    let run = dist_run();
    let manifest: serde_json::Value =
        serde_json::from_slice(&run.json.stdout).expect("--json prints JSON on stdout");
    assert_eq!(manifest["app"], "mycli");
    let artifact = &manifest["artifacts"][0];
    assert_eq!(artifact["name"], archive_name());
    assert_eq!(artifact["target"], TRIPLE);
    let on_disk = fs::read_to_string(run.target_dir.join("dist/dist-manifest.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&on_disk).unwrap(),
        manifest
    );
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
    let dist = run.target_dir.join("dist");
    let sums = fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert_eq!(
        sums.lines().count(),
        3,
        "x86_64 and aarch64 musl, and the installer:\n{sums}"
    );
    assert!(!dist.join(format!("mycli-0.0.1-{TRIPLE}.tar.xz")).exists());
}

#[test]
fn the_aarch64_archive_holds_a_static_arm_binary_that_runs_under_qemu() {
    let run = dist_run();
    let archive = run
        .target_dir
        .join("dist")
        .join(format!("mycli-{}-{ARM}.tar.xz", version()));
    let out_dir = e2e_dir("arm-extract");
    let _ = fs::remove_dir_all(&out_dir);
    fs::create_dir_all(&out_dir).unwrap();
    let untar = Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_ok("tar -xJf", &untar);
    let binary = out_dir.join(format!("mycli-{}-{ARM}/mycli", version()));
    if require_tool("file", "apt-get install file") {
        let file = Command::new("file").arg(&binary).output().unwrap();
        let said = text(&file.stdout);
        assert!(
            said.contains("ARM aarch64") && said.contains("statically linked"),
            "{said}"
        );
    }
    if require_tool("qemu-aarch64", "apt-get install qemu-user") {
        let out = Command::new("qemu-aarch64")
            .arg(&binary)
            .arg("--version")
            .output()
            .unwrap();
        assert_ok("qemu-aarch64 mycli --version", &out);
        assert!(text(&out.stdout).contains(&format!("mycli {} ({ARM})", version())));
        // The long version names this build: target, the commit, the date of SOURCE_DATE_EPOCH.
        let out = Command::new("qemu-aarch64")
            .arg(&binary)
            .args(["--version", "--verbose"])
            .output()
            .unwrap();
        let long = text(&out.stdout);
        let expected = format!(
            "mycli {}\ntarget: {ARM}\ncommit: {}\nbuilt:  2023-11-14\n",
            version(),
            &GIT_COMMIT[..12]
        );
        assert_eq!(long, expected);
    }
}

#[test]
fn verify_passes_and_runs_the_binary_in_an_empty_root() {
    let run = dist_run();
    let out = xtask(&root(), &run.target_dir, &["verify"]);
    assert_ok("cargo xtask verify", &out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("linking:     static"), "{stderr}");
    // Under CI=true a skipped smoke test fails verify, so this cannot pass by skipping there.
    if !stderr.contains(&format!(
        "smoke: `mycli {} ({TRIPLE})` from an empty root",
        version()
    )) {
        assert!(stderr.contains("smoke test SKIPPED"), "{stderr}");
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "smoke test skipped under CI:\n{stderr}"
        );
        eprintln!("note: empty-root smoke test skipped here (not root?)");
    }
}

/// The release workflow's publish job: each build job's output in a directory
/// of its own, merged into one release that verifies like a single dist run.
#[test]
fn per_target_job_outputs_merge_into_one_verified_release() {
    let run = dist_run();
    let dist = run.target_dir.join("dist");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dist.join("dist-manifest.json")).unwrap())
            .unwrap();
    let dir = e2e_dir("merge");
    let _ = fs::remove_dir_all(&dir);
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert!(artifacts.len() >= 2, "{manifest}");
    for artifact in artifacts {
        let name = artifact["name"].as_str().unwrap();
        let job = dir
            .join("jobs")
            .join(format!("dist-{}", artifact["target"].as_str().unwrap()));
        fs::create_dir_all(&job).unwrap();
        // Every job writes the same installer.
        for file in [name, "mycli-installer.sh"] {
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
    let into = target_dir.join("dist");
    let jobs = dir.join("jobs");
    let args = [
        "merge",
        jobs.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ];
    assert_ok("cargo xtask merge", &xtask(&root(), &target_dir, &args));
    let sums = |d: &Path| fs::read_to_string(d.join("SHA256SUMS")).unwrap();
    assert_eq!(
        sums(&into),
        sums(&dist),
        "one SHA256SUMS, as a single run writes it"
    );
    assert_ok(
        "cargo xtask verify of the merged release",
        &xtask(&root(), &target_dir, &["verify"]),
    );
}

/// Copies the dist output so a test can damage it without disturbing the others.
fn dist_copy(name: &str) -> PathBuf {
    let run = dist_run();
    let copy = e2e_dir(name);
    let _ = fs::remove_dir_all(&copy);
    fs::create_dir_all(copy.join("dist")).unwrap();
    for entry in fs::read_dir(run.target_dir.join("dist")).unwrap() {
        let entry = entry.unwrap();
        // target/dist is also cargo's host-artifact directory for profile `dist`.
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), copy.join("dist").join(entry.file_name())).unwrap();
        }
    }
    copy
}

#[test]
fn a_flipped_byte_fails_verify_naming_the_file() {
    let copy = dist_copy("tampered");
    let archive = copy.join("dist").join(archive_name());
    let mut bytes = fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&archive, bytes).unwrap();
    let out = xtask(&root(), &copy, &["verify"]);
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
        copy.join("dist")
            .join(format!(".{}.partial-123", archive_name())),
        b"half",
    )
    .unwrap();
    let out = xtask(&root(), &copy, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("interrupted run"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn another_checkout_path_gives_identical_archives() {
    let run = dist_run();
    // A different path and a different target directory: neither may leak into the bytes.
    let elsewhere = e2e_dir("elsewhere").join("checkout-at-another-path");
    copy_workspace(&elsewhere);
    let target_dir = e2e_dir("elsewhere").join("tgt");
    let out = xtask(&elsewhere, &target_dir, &["dist"]);
    assert_ok("dist from another checkout", &out);
    let ours = fs::read_to_string(run.target_dir.join("dist/SHA256SUMS")).unwrap();
    let theirs = fs::read_to_string(target_dir.join("dist/SHA256SUMS")).unwrap();
    assert_eq!(ours, theirs, "builds from two paths differ");
}

/// Builds the sample app with plain cargo, as a user might have shipped it.
fn cargo_build(name: &str, triple: &str, rustflags: Option<&str>) -> PathBuf {
    let target_dir = e2e_dir(name);
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--locked", "-p", "mycli", "--target", triple])
        .current_dir(root())
        .env("CARGO_TARGET_DIR", &target_dir);
    command
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if let Some(flags) = rustflags {
        command.env("RUSTFLAGS", flags);
    }
    let out = command.output().unwrap();
    assert_ok("cargo build", &out);
    target_dir.join(triple).join("debug/mycli")
}

#[test]
fn verify_rejects_a_gnu_build_and_says_why() {
    let binary = cargo_build("gnu", "x86_64-unknown-linux-gnu", None);
    let out = xtask(
        &root(),
        &e2e_dir("gnu"),
        &["verify", binary.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for needle in [
        "/lib64/ld-linux-x86-64.so.2",
        "libc.so.6",
        "linking:     dynamic",
        "REJECTED",
        "NixOS",
        "x86_64-unknown-linux-musl",
    ] {
        assert!(stderr.contains(needle), "missing `{needle}`:\n{stderr}");
    }
}

#[test]
fn verify_rejects_musl_without_crt_static() {
    dist_run(); // installs the musl target if it is missing
    let binary = cargo_build(
        "musl-dynamic",
        TRIPLE,
        Some("-C target-feature=-crt-static"),
    );
    let out = xtask(
        &root(),
        &e2e_dir("musl-dynamic"),
        &["verify", binary.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("linking:     dynamic") && stderr.contains("dynamic loader"),
        "{stderr}"
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
    for (path, expect) in [
        (truncated.as_path(), "truncated"),
        (text_file.as_path(), "not an executable"),
        (dir.as_path(), "is a directory"),
        (Path::new("/no/such/file"), "cannot be read"),
    ] {
        let out = xtask(&root(), &dir, &["verify", path.to_str().unwrap()]);
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
    let ws = e2e_dir("bad-config").join("ws");
    copy_workspace(&ws);
    let target_dir = e2e_dir("bad-config").join("tgt");
    let cases = [
        (
            "[dist]\napp = \"mycli\"\ntarget = [\"x86_64-unknown-linux-musl\"]\n",
            "dist-workspace.toml:3: unknown key `[dist].target`; did you mean `targets`?",
        ),
        (
            "[dist]\napp = \"mycli\"\ntargets = [\"aarch64-pc-windows-msvc\"]\n",
            "not supported yet",
        ),
        (
            "[dist]\napp = \"nope\"\n",
            "`[dist].app = \"nope\"` is not a package",
        ),
        (
            "[dist]\napp = \"mycli\"\ninclude = [\"MISSING.md\"]\n",
            "`MISSING.md` does not exist",
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
        assert!(!target_dir.join("dist").exists(), "{config}: wrote output");
    }
    fs::copy(
        root().join("dist-workspace.toml"),
        ws.join("dist-workspace.toml"),
    )
    .unwrap();
    let out = xtask(
        &ws,
        &target_dir,
        &["dist", "--target", "powerpc64le-unknown-linux-musl"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`powerpc64le-unknown-linux-musl` is not supported yet"),
        "{}",
        text(&out.stderr)
    );
}

// The installer, run as a user runs it: against the release directory
// served over HTTP on 127.0.0.1, into a fresh HOME.

/// What the installer needs from the system, besides a downloader.
const INSTALLER_TOOLS: &[&str] = &[
    "uname", "mktemp", "rm", "mkdir", "cp", "chmod", "mv", "sed", "head", "tr", "cut", "tar", "xz",
    "cat",
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
    let home = e2e_dir(name).join("home");
    let _ = fs::remove_dir_all(&home);
    fs::create_dir_all(&home).unwrap();
    let out = Command::new("/bin/sh")
        .arg(dist.join("mycli-installer.sh"))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", path)
        .env("MYCLI_DOWNLOAD_URL", url)
        .output()
        .unwrap();
    Install { out, home }
}

/// PATH with the installer's tools, `extra` and fakes.
fn tools_path(name: &str, extra: &[&str], fakes: &[(&str, &str)]) -> PathBuf {
    let programs: Vec<&str> = INSTALLER_TOOLS.iter().chain(extra).copied().collect();
    shim_path(&e2e_dir(name).join("bin"), &programs, fakes)
}

#[test]
fn the_installer_installs_a_working_binary_from_a_local_server() {
    let dist = dist_run().target_dir.join("dist");
    let url = serve(&dist);
    let path = tools_path("install-curl", &["curl", "sha256sum"], &[]);
    let run = install("install-curl", &dist, &url, &path, &[]);
    assert_ok("sh mycli-installer.sh", &run.out);
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!("downloading {}", archive_name())),
        "{stderr}"
    );
    assert!(stderr.contains("is not on your PATH"), "{stderr}");
    let installed = run.bin_dir().join("mycli");
    let version_out = Command::new(&installed).arg("--version").output().unwrap();
    assert_ok("the installed mycli --version", &version_out);
    assert!(
        text(&version_out.stdout).contains(&version()),
        "{version_out:?}"
    );

    // --version and --to, with wget instead of curl and shasum's absence irrelevant.
    let path = tools_path("install-wget", &["wget", "sha256sum"], &[]);
    let to = e2e_dir("install-wget").join("elsewhere");
    let _ = fs::remove_dir_all(&to);
    let v = format!("v{}", version());
    let run = install(
        "install-wget",
        &dist,
        &url,
        &path,
        &["--version", &v, "--to", to.to_str().unwrap()],
    );
    assert_ok("installer --version --to, with wget", &run.out);
    assert!(to.join("mycli").is_file(), "{}", run.stderr());
    assert!(!run.bin_dir().exists(), "--to wins over ~/.local/bin");
}

#[test]
fn the_installer_refuses_a_tampered_archive_and_installs_nothing() {
    let copy = dist_copy("install-tampered");
    let dist = copy.join("dist");
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
            .contains("does not match its published SHA-256"),
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

#[test]
fn the_installer_explains_what_it_cannot_do() {
    let dist = dist_run().target_dir.join("dist");
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
            "there is no mycli build for FreeBSD amd64; there are builds for Linux x86_64, Linux aarch64, macOS x86_64, macOS aarch64; on Windows, download the .zip",
        ),
        (
            "install-riscv",
            &["curl", "sha256sum"],
            &[(
                "uname",
                "case \"$1\" in -s) echo Linux ;; -m) echo riscv64 ;; esac",
            )],
            "there is no mycli build for Linux riscv64",
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

#[test]
fn the_installer_is_posix_sh_and_shellcheck_clean() {
    if !require_tool("shellcheck", "apt-get install shellcheck") {
        return;
    }
    let dist = dist_run().target_dir.join("dist");
    let out = Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style"])
        .arg(dist.join("mycli-installer.sh"))
        .output()
        .unwrap();
    assert_ok("shellcheck mycli-installer.sh", &out);
}

/// The benchmark is not a test of speed (these machines are noisy), but it
/// must run and print every ratio it promises.
#[test]
fn bench_runs_and_prints_every_ratio() {
    let run = dist_run();
    let out = xtask(&root(), &run.target_dir, &["bench", "--runs", "1"]);
    assert_ok("cargo xtask bench --runs 1", &out);
    let report = text(&out.stdout);
    for line in [
        "vs tar -cJf + sha256sum",
        "vs xz -9e",
        "speed-up",
        "vs no-op cargo build --profile dist",
        "verify of all artifacts",
        "vs cargo build --release",
    ] {
        assert!(report.contains(line), "no `{line}` in:\n{report}");
    }
    assert!(
        !run.target_dir.join("bench").exists(),
        "bench cleans up its scratch directory"
    );
}

// The linkage policy's fixture set, built here from the sample app (no
// binaries are committed): each case with the verdict `verify` must give.

const GNU: &str = "x86_64-unknown-linux-gnu";

fn verify_binary(target_dir: &Path, binary: &Path) -> Output {
    xtask(&root(), target_dir, &["verify", binary.to_str().unwrap()])
}

#[test]
fn verify_rejects_a_runpath_and_names_it() {
    let binary = cargo_build(
        "gnu-rpath",
        GNU,
        Some("-C link-arg=-Wl,-rpath,/opt/mycli/lib"),
    );
    let out = verify_binary(&e2e_dir("gnu-rpath"), &binary);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/opt/mycli/lib"),
        "the RUNPATH is shown:\n{stderr}"
    );
}

#[test]
fn verify_accepts_glibc_linked_fully_static() {
    let binary = cargo_build("gnu-static", GNU, Some("-C target-feature=+crt-static"));
    let out = verify_binary(&e2e_dir("gnu-static"), &binary);
    assert_ok("verify of a +crt-static glibc binary", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("interpreter: none") && stderr.contains("needs:       none"),
        "{stderr}"
    );
}

#[test]
fn verify_rejects_a_shared_library() {
    let target_dir = e2e_dir("cdylib");
    let out = Command::new(env!("CARGO"))
        .args([
            "rustc",
            "--locked",
            "-p",
            "mycli",
            "--lib",
            "--crate-type",
            "cdylib",
            "--target",
            GNU,
        ])
        .current_dir(root())
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert_ok("cargo rustc --crate-type cdylib", &out);
    // The library file takes the crate's identifier: `lib<name with underscores>.so`.
    let library = target_dir
        .join(GNU)
        .join("debug")
        .join(format!("lib{}.so", "mycli".replace('-', "_")));
    let out = verify_binary(&target_dir, &library);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.to_lowercase().contains("shared library"), "{stderr}");
}

#[test]
fn verify_rejects_an_x86_64_binary_in_an_aarch64_archive() {
    let run = dist_run();
    let dir = e2e_dir("mislabelled");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let untar = Command::new("tar")
        .arg("-xJf")
        .arg(run.target_dir.join("dist").join(archive_name()))
        .arg("-C")
        .arg(&dir)
        .output()
        .unwrap();
    assert_ok("tar -xJf", &untar);
    let x86_stem = format!("mycli-{}-{TRIPLE}", version());
    let arm_stem = format!("mycli-{}-{ARM}", version());
    fs::rename(dir.join(&x86_stem), dir.join(&arm_stem)).unwrap();
    let archive = dir.join(format!("{arm_stem}.tar.xz"));
    let tar = Command::new("tar")
        .arg("-cJf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .arg(&arm_stem)
        .output()
        .unwrap();
    assert_ok("tar -cJf", &tar);
    let out = xtask(
        &root(),
        &run.target_dir,
        &["verify", archive.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    let expected =
        format!("it is a ELF 64-bit, x86-64 binary, but {ARM} needs ELF 64-bit, ARM aarch64");
    assert!(stderr.contains(&expected), "{stderr}");
}
