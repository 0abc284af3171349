//! Cross targets beyond the defaults, on the `greeter` fixture: i686 musl
//! and Windows (MinGW) built on this Linux machine, Mach-O and arm64 PE
//! checked from real zig-linked binaries, and the clear error for a target
//! the rustup mirror does not serve.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::*;

const I686: &str = "i686-unknown-linux-musl";
const WINDOWS_GNU: &str = "x86_64-pc-windows-gnu";
const INTEL_MAC: &str = "x86_64-apple-darwin";

const PACKAGE: &str = "fixture-greeter";
const VERSION: &str = "0.3.0";

/// The fixture with i686 and windows-gnu among its targets, built with
/// `dist --target` for just those two: (workspace, target directory, dist's stderr).
fn extra_targets_dist() -> Option<&'static (PathBuf, PathBuf, String)> {
    // Asked by every test that wants it, so each says it was skipped.
    if !require_tool(
        "x86_64-w64-mingw32-gcc",
        "apt-get install gcc-mingw-w64-x86-64",
    ) {
        return None;
    }
    static RUN: OnceLock<(PathBuf, PathBuf, String)> = OnceLock::new();
    Some(RUN.get_or_init(|| {
        let (ws, target_dir) = fixture("greeter", "cross");
        let config = fs::read_to_string(ws.join("dist-workspace.toml")).unwrap();
        let config = config.replace(
            "features = ",
            &format!("targets = [\"x86_64-unknown-linux-musl\", \"{I686}\", \"{WINDOWS_GNU}\"]\nfeatures = "),
        );
        fs::write(ws.join("dist-workspace.toml"), config).unwrap();
        let out = xtask(
            &ws,
            &target_dir,
            &["dist", "--target", I686, "--target", WINDOWS_GNU],
        );
        assert_ok("dist for i686 and windows-gnu", &out);
        (ws, target_dir, text(&out.stderr))
    }))
}

/// Whether a wine the sandbox runs is installed; skipped without one.
fn wine_installed() -> bool {
    let found = has_wine();
    if !found {
        skip("needs `wine64` to smoke-run Windows programs here (apt-get install wine64)");
    }
    found
}

#[test]
fn i686_and_windows_gnu_are_built_packaged_and_verified() {
    let Some((ws, target_dir, dist_stderr)) = extra_targets_dist() else {
        return;
    };
    // This machine cannot run the .exe: its docs come from a build for this machine.
    assert!(
        dist_stderr.contains("so the [dist.docs] files of x86_64-pc-windows-gnu come from a build of the same sources for this machine"),
        "{dist_stderr}"
    );
    let dist = target_dir.join(DIST);
    let sums = fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let zip = format!("{PACKAGE}-{VERSION}-{WINDOWS_GNU}.zip");
    assert!(
        sums.contains(&format!("{PACKAGE}-{VERSION}-{I686}.tar.xz")) && sums.contains(&zip),
        "{sums}"
    );
    // verify again from scratch: checksums, layout, PE imports, i686 smoke run.
    let out = xtask(ws, target_dir, &["verify"]);
    assert_ok("verify", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("format:      PE 64-bit, x86_64"),
        "{stderr}"
    );
    assert!(
        stderr.contains("format:      ELF 32-bit, Intel 80386"),
        "{stderr}"
    );
    // The PE and the 32-bit ELF carry their dependency list too (an object
    // file of their own format linked in), and each archive has its SBOM.
    assert_eq!(
        stderr
            .matches("dependencies: 1 crate (1 in the binary, 0 only to build it)")
            .count(),
        2,
        "{stderr}"
    );
    for archive in [format!("{PACKAGE}-{VERSION}-{I686}.tar.xz"), zip.clone()] {
        assert!(
            stderr.contains(&format!("{archive}.cdx.json: CycloneDX, 1 component, ")),
            "{stderr}"
        );
    }
    if skipped_smoke_runs(&stderr) == 0 {
        assert!(
            stderr.contains(&format!("smoke: `greet --version`: greet {VERSION} (loud)")),
            "{stderr}"
        );
    }
    // Where wine is installed, the .exe's smoke commands run under it, in
    // the sandbox, both when dist made the zip and when verify reads it.
    if wine_installed() {
        for log in [dist_stderr, &stderr] {
            for (command, said) in [
                ("greet.exe --version", format!("greet {VERSION} (loud)")),
                ("greet.exe hello Ada", "HELLO, ADA!".to_owned()),
            ] {
                let line = format!("smoke: `{command}`: {said} (under wine-");
                assert!(log.contains(&line), "no `{line}` in:\n{log}");
            }
            assert!(
                log.contains(
                    "not Windows itself, sandboxed: an empty root with /usr read-only, no network"
                ),
                "{log}"
            );
        }
    }
    // The zip holds <bin>.exe, the include files and the docs under one top directory.
    if require_tool("unzip", "apt-get install unzip") {
        let listing = Command::new("unzip")
            .arg("-l")
            .arg(dist.join(&zip))
            .output()
            .unwrap();
        assert_ok("unzip -l", &listing);
        let listing = text(&listing.stdout);
        for entry in ["/greet.exe", "/README.md", "/LICENSE-MIT", "/doc/greet.1"] {
            assert!(
                listing.contains(&format!("{PACKAGE}-{VERSION}-{WINDOWS_GNU}{entry}")),
                "{listing}"
            );
        }
    }
}

#[test]
fn a_pe_importing_libgcc_is_rejected_with_the_fix() {
    let Some((ws, target_dir, _)) = extra_targets_dist() else {
        return;
    };
    let exe = target_dir.join(WINDOWS_GNU).join("dist/greet.exe");
    let mut data = fs::read(&exe).unwrap();
    // A real MinGW build, made to import the DLL that a non-static libgcc brings.
    patch_name(
        &mut data,
        b"api-ms-win-core-synch-l1-2-0.dll",
        b"libgcc_s_seh-1.dll",
    );
    let patched = e2e_dir("cross").join("greet-libgcc.exe");
    fs::write(&patched, data).unwrap();
    let out = xtask(ws, target_dir, &["verify", patched.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("libgcc_s_seh-1.dll") && stderr.contains("+crt-static"),
        "{stderr}"
    );
}

/// `cargo xtask lipo` makes one universal binary of the two slices; `verify`
/// checks each slice, and `file` (libmagic, an independent reader) sees a
/// universal binary of both CPUs.
fn universal_of_both_slices(
    ws: &std::path::Path,
    target_dir: &std::path::Path,
    arm: &std::path::Path,
) {
    let intel = target_dir.join(INTEL_MAC).join("debug/greet");
    let universal = target_dir.join("greet-universal");
    let out = xtask(
        ws,
        target_dir,
        &[
            "lipo",
            "-o",
            universal.to_str().unwrap(),
            intel.to_str().unwrap(),
            arm.to_str().unwrap(),
        ],
    );
    assert_ok("cargo xtask lipo of both slices", &out);
    let out = xtask(ws, target_dir, &["verify", universal.to_str().unwrap()]);
    assert_ok("verify of the universal binary", &out);
    let stderr = text(&out.stderr);
    for line in [
        "greet-universal (x86_64 slice)",
        "format:      Mach-O 64-bit, x86_64",
        "greet-universal (aarch64 slice)",
        "format:      Mach-O 64-bit, aarch64",
        "universal:   2 slices (x86_64, aarch64), each checked above",
    ] {
        assert!(stderr.contains(line), "no `{line}` in:\n{stderr}");
    }
    if require_tool("file", "apt-get install file") {
        let out = Command::new("file").arg(&universal).output().unwrap();
        let said = text(&out.stdout);
        assert!(
            said.contains("Mach-O universal binary with 2 architectures")
                && said.contains("x86_64")
                && said.contains("arm64"),
            "{said}"
        );
    }
    universal_archive_is_checked_slice_by_slice(ws, target_dir, &universal, arm);
    // One slice twice is refused, naming why, and nothing is written.
    let twice = target_dir.join("greet-twice");
    let out = xtask(
        ws,
        target_dir,
        &[
            "lipo",
            "-o",
            twice.to_str().unwrap(),
            arm.to_str().unwrap(),
            arm.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("two slices for the same CPU"),
        "{}",
        text(&out.stderr)
    );
    assert!(!twice.exists());
}

/// A `universal2-apple-darwin` archive as `tar -x` unpacks it: its binary
/// passes when it is universal with both CPUs' slices, each smoke run said
/// per slice; a single-CPU binary in it is refused, naming what it needs.
fn universal_archive_is_checked_slice_by_slice(
    ws: &std::path::Path,
    target_dir: &std::path::Path,
    universal: &std::path::Path,
    thin: &std::path::Path,
) {
    let stem = "greet-0.1.0-universal2-apple-darwin";
    let pack = |binary: &std::path::Path, dir: &str| {
        let top = target_dir.join(dir).join(stem);
        let _ = fs::remove_dir_all(top.parent().unwrap());
        fs::create_dir_all(&top).unwrap();
        fs::copy(binary, top.join("greet")).unwrap();
        let archive = target_dir.join(dir).join(format!("{stem}.tar.gz"));
        let out = Command::new("tar")
            .args(["-czf", archive.to_str().unwrap(), "-C"])
            .arg(top.parent().unwrap())
            .arg(stem)
            .output()
            .unwrap();
        assert_ok("tar -czf", &out);
        archive
    };
    let good = pack(universal, "universal-archive");
    let out = xtask(ws, target_dir, &["verify", "--run", good.to_str().unwrap()]);
    assert_ok("verify of a universal2-apple-darwin archive", &out);
    let stderr = text(&out.stderr);
    for line in [
        "greet (x86_64 slice)",
        "greet (aarch64 slice)",
        "smoke test (x86_64 slice) not run here",
        "smoke test (aarch64 slice) not run here",
    ] {
        assert!(stderr.contains(line), "no `{line}` in:\n{stderr}");
    }
    let bad = pack(thin, "thin-in-universal-archive");
    let out = xtask(ws, target_dir, &["verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "universal2-apple-darwin needs a universal Mach-O with a slice for each of x86_64 and aarch64"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mach_o_system_dylibs_pass_and_rpath_dependencies_fail() {
    if !require_tool("cargo-zigbuild", "pip install ziglang cargo-zigbuild") {
        return;
    }
    let (ws, target_dir) = fixture("greeter", "macho");
    let triple = "aarch64-apple-darwin";
    rustup_target_add(triple);
    rustup_target_add(INTEL_MAC);
    let build = Command::new(env!("CARGO"))
        .args([
            "zigbuild", "--locked", "--target", triple, "--target", INTEL_MAC,
        ])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", &target_dir)
        // cargo-zigbuild writes its wrappers, and zig its cache, there: this
        // checkout's own, not one another test run is writing too.
        .env("XDG_CACHE_HOME", e2e_dir("zigbuild-cache"))
        .output()
        .unwrap();
    assert_ok("cargo zigbuild for both macOS CPUs", &build);
    let binary = target_dir.join(triple).join("debug/greet");
    universal_of_both_slices(&ws, &target_dir, &binary);
    let out = xtask(&ws, &target_dir, &["verify", binary.to_str().unwrap()]);
    assert_ok("verify of a Mach-O linked against libSystem only", &out);
    assert!(
        text(&out.stderr).contains("Mach-O 64-bit, aarch64"),
        "{}",
        text(&out.stderr)
    );

    let mut data = fs::read(&binary).unwrap();
    patch_name(
        &mut data,
        b"/usr/lib/libSystem.B.dylib",
        b"@rpath/libSystem.B.dylib",
    );
    let patched = target_dir.join("greet-rpath");
    fs::write(&patched, data).unwrap();
    let out = xtask(&ws, &target_dir, &["verify", patched.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("@rpath/libSystem.B.dylib") && stderr.contains("REJECTED"),
        "{stderr}"
    );
}

#[test]
fn a_target_the_mirror_does_not_serve_is_a_clear_error() {
    let triple = "armv7-unknown-linux-musleabihf";
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .unwrap();
    if text(&installed.stdout).lines().any(|l| l == triple) {
        eprintln!("SKIPPED: {triple} is installed here, so rustup cannot fail for it");
        return;
    }
    let (ws, target_dir) = fixture("greeter", "armv7");
    let config = fs::read_to_string(ws.join("dist-workspace.toml")).unwrap();
    fs::write(
        ws.join("dist-workspace.toml"),
        config.replace(
            "features = ",
            &format!("targets = [\"{triple}\"]\nfeatures = "),
        ),
    )
    .unwrap();
    let out = xtask(&ws, &target_dir, &["dist", "--target", triple]);
    if out.status.success() {
        eprintln!("SKIPPED: this machine's rustup mirror serves {triple}");
        return;
    }
    let stderr = text(&out.stderr);
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("`rustup target add {triple}` failed")),
        "{stderr}"
    );
    assert!(
        last.contains(&format!("remove `{triple}` from [dist].targets")),
        "{stderr}"
    );
    // rustup's reason, in either of its wordings: a 404 for the file, or a
    // channel manifest (a freshly installed pinned toolchain's) without it.
    assert!(
        last.contains(&format!("component download failed for rust-std-{triple}"))
            || last.contains(&format!(
                "component 'rust-std' for target '{triple}' is unavailable for download"
            )),
        "{stderr}"
    );
}

/// zig, from PyPI's `ziglang` (what `.ci/run` installs), or a skip.
fn zig() -> Option<Command> {
    let works = Command::new("python3")
        .args(["-m", "ziglang", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        skip("needs `ziglang` (pip install ziglang)");
        return None;
    }
    let mut zig = Command::new("python3");
    zig.args(["-m", "ziglang"]);
    Some(zig)
}

/// aarch64-pc-windows-msvc is built on GitHub's `windows-11-arm` runner;
/// here zig links an arm64 PE program importing only KERNEL32, as a Rust
/// build with a static C runtime does, and `verify` reads it as `PE 64-bit,
/// aarch64` and passes it. (What it refuses, a runtime DLL, is the same for
/// every CPU: `a_pe_importing_libgcc_is_rejected_with_the_fix`.)
#[test]
fn arm64_windows_programs_get_the_pe_checks() {
    let Some(_) = zig() else { return };
    let dir = e2e_dir("winarm");
    fs::create_dir_all(&dir).unwrap();
    let link = |source: &str, extra: &[&str]| {
        let exe = dir.join(source.replace(".c", ".exe"));
        let out = zig()
            .unwrap()
            .args(["cc", "-target", "aarch64-windows-gnu", "-O2"])
            .args(extra)
            .arg(fixtures().join("winarm").join(source))
            .arg("-o")
            .arg(&exe)
            // zig's cache: this checkout's own.
            .env("ZIG_GLOBAL_CACHE_DIR", e2e_dir("zig-cc-cache"))
            .output()
            .unwrap();
        assert_ok(&format!("zig cc {source} for arm64 Windows"), &out);
        exe
    };
    let plain = link(
        "kernel32-only.c",
        &["-nostdlib", "-Wl,--entry=start", "-lkernel32"],
    );
    let out = xtask(&dir, &dir, &["verify", plain.to_str().unwrap()]);
    assert_ok("verify of an arm64 PE importing KERNEL32 only", &out);
    let stderr = text(&out.stderr);
    for line in [
        "format:      PE 64-bit, aarch64",
        "needs:       KERNEL32.dll",
        "verdict:     OK: needs only libraries that every Windows installation has",
    ] {
        assert!(stderr.contains(line), "no `{line}` in:\n{stderr}");
    }
}

/// The Linux CPUs this machine's rustup mirror has no musl std for
/// (armv7, riscv64gc, powerpc64le) still get the checks their release
/// would: zig links a static program for each (raw system calls, no C
/// library to compile), and `verify --run` names its CPU and runs it under
/// that CPU's static qemu in the sandbox.
#[test]
fn the_other_linux_cpus_are_read_and_run_under_their_qemu() {
    let Some(_) = zig() else { return };
    let dir = e2e_dir("other-cpus");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .unwrap();
    for (zig_target, qemu, format) in [
        ("arm-linux-musleabihf", "qemu-arm-static", "ELF 32-bit, ARM"),
        (
            "riscv64-linux-musl",
            "qemu-riscv64-static",
            "ELF 64-bit, RISC-V",
        ),
        (
            "powerpc64le-linux-musl",
            "qemu-ppc64le-static",
            "ELF 64-bit, 64-bit PowerPC, little-endian",
        ),
    ] {
        if !require_tool(qemu, "apt-get install qemu-user-static") {
            continue;
        }
        let exe = dir.join(zig_target);
        let out = zig()
            .unwrap()
            .args([
                "cc",
                "-target",
                zig_target,
                "-O2",
                "-static",
                "-nostdlib",
                "-ffreestanding",
            ])
            .arg(fixtures().join("othercpu").join("hello.c"))
            .arg("-o")
            .arg(&exe)
            .env("ZIG_GLOBAL_CACHE_DIR", e2e_dir("zig-cc-cache"))
            .output()
            .unwrap();
        assert_ok(&format!("zig cc for {zig_target}"), &out);
        let out = xtask(&dir, &dir, &["verify", "--run", exe.to_str().unwrap()]);
        assert_ok(&format!("verify --run of the {zig_target} program"), &out);
        let stderr = text(&out.stderr);
        for line in [
            format!("format:      {format}"),
            "verdict:     OK: static".to_owned(),
            format!(
                "smoke: `{zig_target} --version`: hello (sandboxed: an empty root, no network)"
            ),
        ] {
            assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
        }
    }
}
