//! Archives crafted to escape where they are unpacked: a `..` member, an
//! absolute path, a symlink pointing outside its top directory. `verify`
//! rejects each, naming the archive and the member. Built with GNU tar's
//! `-P`, which stores names exactly as given.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::process::Command;

use common::*;

#[test]
fn archives_that_escape_their_top_directory_are_rejected() {
    let dir = e2e_dir("tamper");
    let _ = fs::remove_dir_all(&dir);
    let work = dir.join("work");
    let stem = "some-tool-0.1.0-x86_64-unknown-linux-musl";
    fs::create_dir_all(work.join(stem)).unwrap();
    fs::write(work.join(stem).join("README.md"), "hello\n").unwrap();
    fs::write(dir.join("outside"), "not yours\n").unwrap();
    let absolute = dir.join("outside");
    let cases: [(&str, Vec<String>, &str); 3] = [
        ("dotdot", vec![format!("{stem}/../../outside")], "`..`"),
        (
            "absolute",
            vec![absolute.to_str().unwrap().to_owned()],
            "absolute",
        ),
        ("symlink", vec![format!("{stem}/link")], "points outside"),
    ];
    std::os::unix::fs::symlink("../../../etc/passwd", work.join(stem).join("link")).unwrap();
    for (name, members, why) in cases {
        let case = dir.join(name);
        fs::create_dir_all(&case).unwrap();
        let archive = case.join(format!("{stem}.tar.xz"));
        let mut tar = Command::new("tar");
        tar.arg("-cJPf")
            .arg(&archive)
            .arg(format!("{stem}/README.md"))
            .args(&members)
            .current_dir(&work);
        assert_ok(&format!("tar for {name}"), &tar.output().unwrap());
        let out = xtask(
            &dir,
            &dir.join("target"),
            &["verify", archive.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(why),
            "{name}: expected `{why}` in:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{stem}.tar.xz")),
            "{name}: the archive is named:\n{stderr}"
        );
    }
}
