//! verify's sandbox, attacked: a binary that tries to leave its empty root,
//! write on the host, reach the network, leave a process behind and never
//! finish — natively and under qemu — reaches nothing, leaves nothing, and
//! is stopped at the timeout. And nothing is run at all when a check
//! before the smoke run failed, or when `--run` was not given.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// A token no other run of these tests has: the hostile binary names its
/// lingering child with it, so a test finds its own processes only, even
/// with another checkout's tests running beside it.
fn token(triple: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}-{triple}", std::process::id())
}

/// The hostile fixture for `triple`, packed as a release archive would be
/// (`extra` adds members), proof of escape to go to `marker`, `port` its
/// network target, `token` naming its lingering child.
fn hostile_archive(
    name: &str,
    triple: &str,
    marker: &Path,
    port: u16,
    token: &str,
    extra: &[&str],
) -> PathBuf {
    let dir = e2e_dir("sandbox").join(name);
    let _ = fs::remove_dir_all(&dir);
    let stem = format!("hostile-1.0.0-{triple}");
    fs::create_dir_all(dir.join(&stem)).unwrap();
    let exe = if triple.contains("-windows-") {
        "hostile.exe"
    } else {
        "hostile"
    };
    let mut rustc = Command::new("rustc");
    rustc
        .args([
            "--edition",
            "2024",
            "--target",
            triple,
            "-C",
            "opt-level=1",
            "-o",
        ])
        .arg(dir.join(&stem).join(exe))
        .arg(fixtures().join("hostile/main.rs"))
        .env("HOSTILE_MARKER", marker)
        .env("HOSTILE_PORT", port.to_string())
        .env("HOSTILE_TOKEN", token);
    if !triple.starts_with("x86_64") && !triple.contains("-windows-") {
        rustc.args(["-C", "linker=rust-lld"]);
    }
    assert_ok(
        &format!("rustc hostile for {triple}"),
        &rustc.output().unwrap(),
    );
    for link in extra {
        std::os::unix::fs::symlink(link, dir.join(&stem).join("passwd")).unwrap();
    }
    pack(&dir, &stem)
}

/// `dir/stem/` packed as a release archive would be, beside it.
fn pack(dir: &Path, stem: &str) -> PathBuf {
    let archive = dir.join(format!("{stem}.tar.xz"));
    pack_tar_xz(dir, stem, &archive);
    archive
}

fn verify(archive: &Path, run: bool, timeout_secs: u64) -> (Output, Duration) {
    let dir = e2e_dir("sandbox");
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.arg("verify");
    if run {
        command.arg("--run");
    }
    let started = Instant::now();
    let out = command
        .arg(archive)
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("XTASK_SMOKE_TIMEOUT_SECS", timeout_secs.to_string())
        .output()
        .unwrap();
    (out, started.elapsed())
}

/// Processes still running the lingering child named by `token`.
fn lingering(token: &str) -> Vec<String> {
    let mark = format!("--linger {token}");
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&mark) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

fn a_hostile_binary_reaches_nothing(triple: &str) {
    rustup_target_add(triple);
    let token = token(triple);
    let marker = e2e_dir("sandbox").join(format!("markers-{triple}"));
    let _ = fs::remove_dir_all(&marker);
    fs::create_dir_all(&marker).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let archive = hostile_archive(triple, triple, &marker, port, &token, &[]);

    let (out, took) = verify(&archive, true, 5);
    let stderr = text(&out.stderr);
    if skipped_smoke_runs(&stderr) > 0 {
        return;
    }
    // It ran, printed, and was stopped at the timeout with everything it started.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let exe = if triple.contains("-windows-") {
        "hostile.exe"
    } else {
        "hostile"
    };
    assert!(
        stderr.contains(&format!("`{exe} --version`: it did not finish within 5 s")),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(20), "verify took {took:?}");
    assert!(
        lingering(&token).is_empty(),
        "left running: {:?}",
        lingering(&token)
    );
    // The lingering child would have tried again after 3 s: give it the time.
    std::thread::sleep(Duration::from_secs(4));
    let written: Vec<_> = fs::read_dir(&marker)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        written.is_empty(),
        "the binary wrote on the host: {written:?}"
    );
    assert!(listener.accept().is_err(), "the binary reached the network");
    assert!(
        !Path::new("/usr/hostile-escaped").exists(),
        "the binary wrote into the host's /usr"
    );
    assert!(
        lingering(&token).is_empty(),
        "left running: {:?}",
        lingering(&token)
    );
}

#[test]
fn a_hostile_binary_reaches_nothing_and_leaves_nothing_behind() {
    a_hostile_binary_reaches_nothing("x86_64-unknown-linux-musl");
}

/// Under wine the root holds the host's /usr (read-only) and a /proc of
/// the sandbox's own: the Windows build of the same program reaches
/// nothing either, and wine's own processes end with it.
#[test]
fn a_hostile_windows_program_under_wine_is_contained_the_same_way() {
    let wine = has_wine();
    if !require_tool(
        "x86_64-w64-mingw32-gcc",
        "apt-get install gcc-mingw-w64-x86-64",
    ) {
        return;
    }
    if !wine {
        return skip("needs `wine64` to run Windows programs here (apt-get install wine64)");
    }
    a_hostile_binary_reaches_nothing("x86_64-pc-windows-gnu");
}

#[test]
fn a_hostile_aarch64_binary_under_qemu_is_contained_the_same_way() {
    if !require_tool("qemu-aarch64-static", "apt-get install qemu-user-static") {
        return;
    }
    a_hostile_binary_reaches_nothing("aarch64-unknown-linux-musl");
}

#[test]
fn without_run_or_after_a_failed_check_nothing_is_run() {
    let triple = "x86_64-unknown-linux-musl";
    rustup_target_add(triple);
    let marker = e2e_dir("sandbox").join("markers-not-run");
    let token = token(triple);
    let archive = hostile_archive("not-run", triple, &marker, 9, &token, &[]);
    let (out, took) = verify(&archive, false, 5);
    let stderr = text(&out.stderr);
    assert_ok("verify without --run", &out);
    assert!(
        stderr.contains("nothing was run") && !stderr.contains("smoke:"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An archive whose layout is unsafe: refused, and its binary never started.
    let archive = hostile_archive(
        "escaping",
        triple,
        &marker,
        9,
        &token,
        &["../../../etc/passwd"],
    );
    let (out, took) = verify(&archive, true, 5);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("symlink `hostile-1.0.0-x86_64-unknown-linux-musl/passwd`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("smoke test not run: the checks above failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("smoke:"), "{stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A one-file program `name` for x86_64 musl, packed as release 1.0.0.
fn tiny_archive(name: &str, source: &str) -> PathBuf {
    let triple = "x86_64-unknown-linux-musl";
    rustup_target_add(triple);
    let dir = e2e_dir("sandbox").join(name);
    let _ = fs::remove_dir_all(&dir);
    let stem = format!("{name}-1.0.0-{triple}");
    fs::create_dir_all(dir.join(&stem)).unwrap();
    fs::write(dir.join("main.rs"), source).unwrap();
    let rustc = Command::new("rustc")
        .args(["--edition", "2024", "--target", triple, "-o"])
        .arg(dir.join(&stem).join(name))
        .arg(dir.join("main.rs"))
        .output()
        .unwrap();
    assert_ok(&format!("rustc {name}"), &rustc);
    pack(&dir, &stem)
}

/// A binary that fails but prints what the sandbox's helper prints when no
/// sandbox can be made, hoping its failure is taken for a skip: the
/// helper's messages carry a tag the binary never sees, so it fails.
#[test]
fn a_binary_posing_as_the_sandbox_helper_still_fails() {
    let archive = tiny_archive(
        "impostor",
        r#"fn main() {
            eprintln!("sandbox-exec: unshare: Operation not permitted");
            eprintln!("sandbox-exec[0123456789abcdef0123456789abcdef]: unshare: Operation not permitted");
            std::process::exit(125);
        }"#,
    );
    let (out, _) = verify(&archive, true, 10);
    let stderr = text(&out.stderr);
    if stderr.contains("no sandbox can be made here") && !stderr.contains("exited with") {
        skipped_smoke_runs(&stderr);
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("smoke test failed") && stderr.contains("exited with exit status: 125"),
        "{stderr}"
    );
    assert!(!stderr.contains("SKIPPED"), "{stderr}");
}

/// With TMPDIR on a `noexec` mount the binary still runs: it is started
/// from the sandbox's own root, and a failure there would blame the binary.
#[test]
fn a_noexec_tmpdir_does_not_stop_the_smoke_run() {
    let archive = tiny_archive("tiny", r#"fn main() { println!("tiny 1.0.0"); }"#);
    let tmp = e2e_dir("sandbox").join("noexec-tmp");
    let _ = fs::create_dir_all(&tmp);
    // As root, or through `sudo -n` as on GitHub's runners.
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let privileged = |args: &[&str]| {
        let mut command = Command::new(if root { args[0] } else { "sudo" });
        if !root {
            command.arg("-n").arg(args[0]);
        }
        command
            .args(&args[1..])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let tmp_str = tmp.to_str().unwrap();
    if !privileged(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "noexec,size=64m",
        "tmpfs",
        tmp_str,
    ]) {
        skip("needs root or `sudo -n` to mount a noexec tmpfs");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["verify", "--run"])
        .arg(&archive)
        .current_dir(e2e_dir("sandbox"))
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(privileged(&["umount", tmp_str]), "umount {tmp_str}");
    let stderr = text(&out.stderr);
    if skipped_smoke_runs(&stderr) > 0 {
        return;
    }
    assert_ok("verify --run with a noexec TMPDIR", &out);
    assert!(stderr.contains("tiny 1.0.0"), "{stderr}");
}

/// `[dist].smoke-root`: an HTTPS client on the platform's certificate
/// store (the greeter's `certs`, which loads the CA bundle as
/// rustls-native-certs does) fails in the empty root, with the hint that
/// names the key, and passes with the CA bundle every real Linux has; a
/// time zone lookup passes with `tzdata`. Only x86_64: the root is the
/// same under qemu.
#[test]
fn smoke_runs_get_what_a_minimal_real_system_has_when_asked() {
    let (ws, target) = fixture("greeter", "smoke-root");
    let config = ws.join("dist-workspace.toml");
    let original = fs::read_to_string(&config).unwrap();
    let start = original.find("smoke = [").unwrap();
    let end = start + original[start..].find("]\n\n").unwrap() + 2;
    let write = |root: &str| {
        let smoke = "smoke = [\n    { args = [\"certs\"], expect = \"CA certificates from /etc/ssl/certs/ca-certificates.crt\" },\n    \
                     { args = [\"zone\", \"Europe/Paris\"], expect = \"TZif\" },\n]\n";
        fs::write(
            &config,
            format!("{}{smoke}{root}{}", &original[..start], &original[end..]),
        )
        .unwrap();
    };
    let dist = || {
        xtask(
            &ws,
            &target,
            &["dist", "--target", "x86_64-unknown-linux-musl"],
        )
    };

    write("smoke-root = [\"ca-certificates\", \"tzdata\"]\n");
    let out = dist();
    let stderr = text(&out.stderr);
    if skipped_smoke_runs(&stderr) > 0 {
        return;
    }
    assert_ok("dist with the CA bundle and time zones in the root", &out);
    assert!(
        stderr.contains("smoke: `greet certs`: loaded ")
            && stderr.contains("smoke: `greet zone Europe/Paris`: zone Europe/Paris: TZif"),
        "{stderr}"
    );

    write("");
    let out = dist();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("smoke test failed: `greet certs` exited with exit status: 1 (its output speaks of certificates")
            && stderr.contains("add `smoke-root = [\"ca-certificates\"]` to [dist]")
            && stderr.contains("No CA certificates were loaded from the system"),
        "{stderr}"
    );
}
