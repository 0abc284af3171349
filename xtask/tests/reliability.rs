//! Interrupted runs: `dist` killed with SIGKILL while packaging leaves no
//! file that passes for a finished archive, and the next run succeeds.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const TRIPLE: &str = "x86_64-unknown-linux-musl";

fn leftovers(dist: &Path) -> Vec<String> {
    fs::read_dir(dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect()
}

#[test]
fn a_dist_killed_while_packaging_leaves_nothing_verify_would_accept_as_finished() {
    let (ws, target) = fixture("greeter", "killed");
    // A complete run first, so the kill lands in packaging rather than in cargo.
    assert_ok(
        "first dist",
        &xtask(&ws, &target, &["dist", "--target", TRIPLE]),
    );
    let dist = target.join(DIST);

    // Kill at several moments after packaging starts: before, during and after the writes.
    for delay_ms in [0, 2, 10, 40, 120, 300] {
        // Forget the inputs records so the archive is compressed again.
        for entry in fs::read_dir(&dist).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with(".inputs")
            {
                fs::remove_file(path).unwrap();
            }
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["dist", "--target", TRIPLE])
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", &target)
            .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            .env("GIT_COMMIT", GIT_COMMIT)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.trim_start().starts_with("packaging ") {
                break;
            }
        }
        assert!(
            seen.contains("packaging "),
            "dist never reached packaging:\n{seen}"
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no cleanup code runs
        child.wait().unwrap();

        // Whatever moment it died at, verify passes only if every archive is whole.
        let verify = xtask(&ws, &target, &["verify"]);
        let partial = leftovers(&dist);
        if partial.is_empty() {
            assert_ok(&format!("verify after a kill at +{delay_ms} ms"), &verify);
        } else {
            assert!(
                !verify.status.success(),
                "verify accepted {partial:?} after a kill at +{delay_ms} ms"
            );
            assert!(
                text(&verify.stderr).contains("left half-written by an interrupted run"),
                "{verify:?}"
            );
        }
    }

    // The next run succeeds and leaves nothing half-written.
    assert_ok(
        "dist after the kills",
        &xtask(&ws, &target, &["dist", "--target", TRIPLE]),
    );
    assert!(leftovers(&dist).is_empty(), "{:?}", leftovers(&dist));
    assert_ok("verify after the kills", &xtask(&ws, &target, &["verify"]));
}
