//! Forking: `cargo xtask rename` on a copy of this repository, then a real
//! `dist` and `verify` there, as someone starting their own CLI would.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// The app's name now, from dist-workspace.toml (a fork has its own).
fn old_name() -> String {
    let config = fs::read_to_string(root().join("dist-workspace.toml")).unwrap();
    let line = config
        .lines()
        .find(|l| l.starts_with("app = "))
        .expect("an app line");
    line.split('"').nth(1).unwrap().to_owned()
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert_ok(&format!("git {}", args.join(" ")), &out);
    out
}

/// Files (outside .git and the target directory) whose text mentions `word`, any case.
fn mentions(dir: &Path, word: &str, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == ".git" || name == "target" {
            continue;
        }
        if path.is_dir() {
            mentions(&path, word, found);
        } else if String::from_utf8_lossy(&fs::read(&path).unwrap())
            .to_lowercase()
            .contains(word)
        {
            found.push(path);
        }
    }
}

fn cargo(dir: &Path, target_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .unwrap()
}

#[test]
fn a_renamed_copy_releases_under_the_new_name_and_mentions_the_old_one_nowhere() {
    let old = old_name();
    // The new name must differ from the old one, in a fork too.
    let new = if old == "hello-world" {
        "hello-there"
    } else {
        "hello-world"
    };
    let snake = new.replace('-', "_");
    let dir = e2e_dir("rename");
    let ws = dir.join("ws");
    let target = dir.join("target");
    copy_workspace(&ws);
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-qm", "template"]);

    // Uncommitted work is never mixed into the rename.
    fs::write(ws.join("notes.txt"), "mine").unwrap();
    let out = xtask(&ws, &target, &["rename", new]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("uncommitted change"),
        "{}",
        text(&out.stderr)
    );
    fs::remove_file(ws.join("notes.txt")).unwrap();

    let out = xtask(&ws, &target, &["rename", "Hello World"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("`Hello World` cannot be a package name"),
        "{}",
        text(&out.stderr)
    );

    let repository = format!("https://github.com/example/{new}");
    let args = [
        "rename",
        new,
        "--repository",
        &repository,
        "--description",
        "Says hello",
        "--author",
        "Ada <ada@example.com>",
    ];
    assert_ok("cargo xtask rename", &xtask(&ws, &target, &args));

    let mut left = Vec::new();
    mentions(&ws, &old, &mut left);
    mentions(&ws, &old.replace('-', "_"), &mut left);
    assert!(left.is_empty(), "still mention {old}: {left:?}");
    assert!(!ws.join("crates").join(&old).exists());
    let main_rs = fs::read_to_string(ws.join("crates").join(new).join("src/main.rs")).unwrap();
    assert!(
        main_rs.contains(&format!("{snake}::run(")),
        "code uses the crate identifier:\n{main_rs}"
    );
    let manifest = fs::read_to_string(ws.join("crates").join(new).join("Cargo.toml")).unwrap();
    for line in [
        format!("name = \"{new}\""),
        format!("repository = \"{repository}\""),
        "description = \"Says hello\"".to_owned(),
        "authors = [\"Ada <ada@example.com>\"]".to_owned(),
        format!("pkg-url = \"{repository}/releases/download/v{{ version }}/{new}-{{ version }}"),
    ] {
        assert!(manifest.contains(&line), "missing `{line}` in:\n{manifest}");
    }
    let config = fs::read_to_string(ws.join("dist-workspace.toml")).unwrap();
    assert!(
        config.contains(&format!("app = \"{new}\""))
            && config.contains(&format!("repository = \"{repository}\""))
    );

    // Renaming again to the same name changes nothing.
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-qm", "rename"]);
    let out = xtask(&ws, &target, &["rename", new]);
    assert_ok("a second rename", &out);
    assert!(
        text(&out.stderr).contains("nothing to do"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        git(&ws, &["status", "--porcelain"]).stdout.is_empty(),
        "the second rename changed files"
    );
    assert_ok(
        "codegen --check in the renamed tree",
        &xtask(&ws, &target, &["codegen", "--check"]),
    );

    // A release under the new name: archive, binary, completions, man page, installer.
    let triple = "x86_64-unknown-linux-musl";
    assert_ok(
        "dist in the renamed tree",
        &xtask(&ws, &target, &["dist", "--target", triple]),
    );
    assert_ok(
        "verify in the renamed tree",
        &xtask(&ws, &target, &["verify"]),
    );
    let dist = target.join("dist");
    let stem = format!("{new}-{}-{triple}", version());
    let listing = Command::new("tar")
        .arg("-tJf")
        .arg(dist.join(format!("{stem}.tar.xz")))
        .output()
        .unwrap();
    assert_ok("tar -tJf", &listing);
    let listing = text(&listing.stdout);
    for entry in [
        new.to_owned(),
        format!("complete/_{new}"),
        format!("complete/{new}.bash"),
        format!("doc/{new}.1"),
    ] {
        assert!(
            listing.lines().any(|l| l == format!("{stem}/{entry}")),
            "no {entry} in:\n{listing}"
        );
    }
    assert!(dist.join(format!("{new}-installer.sh")).is_file());

    // Nothing changed: the archive is reused, not compressed again. A changed
    // include file always repackages.
    let archive = dist.join(format!("{stem}.tar.xz"));
    let before = fs::read(&archive).unwrap();
    let again = xtask(&ws, &target, &["dist", "--target", triple]);
    assert_ok("a no-op dist", &again);
    assert!(
        text(&again.stderr).contains(&format!("{stem}.tar.xz: inputs unchanged, archive reused")),
        "{again:?}"
    );
    let readme = ws.join("README.md");
    fs::write(
        &readme,
        fs::read_to_string(&readme).unwrap() + "\nOne more line.\n",
    )
    .unwrap();
    let changed = xtask(&ws, &target, &["dist", "--target", triple]);
    assert_ok("dist after editing README.md", &changed);
    assert!(
        text(&changed.stderr).contains(&format!("packaging {stem}.tar.xz")),
        "{changed:?}"
    );
    assert_ne!(
        fs::read(&archive).unwrap(),
        before,
        "the new README must be in the archive"
    );

    // The renamed sources build and pass their own tests, the xtask's
    // codegen freshness check included.
    let build = target.join("cargo");
    assert_ok(
        "cargo test -p <new>",
        &cargo(&ws, &build, &["test", "--quiet", "-p", new]),
    );
    assert_ok(
        "cargo test -p xtask --bins",
        &cargo(&ws, &build, &["test", "--quiet", "-p", "xtask", "--bins"]),
    );
}
