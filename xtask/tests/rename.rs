//! Forking: `cargo xtask rename` on the `template` fixture, a small copy of
//! the template's shape with the real `xtask/` beside it, then a real `dist`
//! and `verify` there, as someone starting their own CLI would.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const OLD: &str = "sample-tool";
const NEW: &str = "hello-world";

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

/// Files (outside .git, target and xtask) whose text mentions `word`, any case.
fn mentions(dir: &Path, word: &str, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == ".git" || name == "target" || name == "xtask" {
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
fn a_renamed_copy_releases_under_the_new_name_and_keeps_nothing_of_the_sample() {
    let snake = NEW.replace('-', "_");
    let (ws, target) = fixture("template", "rename");
    // The real xtask beside it, as in a fork: renaming must leave it alone.
    copy_tracked("xtask", &ws);
    // Generated files start out current, as in the template.
    assert_ok("codegen", &xtask(&ws, &target, &["codegen"]));
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-qm", "template"]);

    // Uncommitted work is never mixed into the rename.
    fs::write(ws.join("notes.txt"), "mine").unwrap();
    let out = xtask(&ws, &target, &["rename", NEW]);
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

    let repository = format!("https://github.com/example/{NEW}");
    let args = [
        "rename",
        NEW,
        "--repository",
        &repository,
        "--author",
        "Ada <ada@example.com>",
    ];
    assert_ok("cargo xtask rename", &xtask(&ws, &target, &args));

    // A fork takes template updates by copying xtask/: rename never touches it.
    let xtask_diff = git(&ws, &["status", "--porcelain", "--", "xtask"]);
    assert!(xtask_diff.stdout.is_empty(), "{}", text(&xtask_diff.stdout));

    let mut left = Vec::new();
    mentions(&ws, OLD, &mut left);
    mentions(&ws, &OLD.replace('-', "_"), &mut left);
    assert!(left.is_empty(), "still mention {OLD}: {left:?}");
    assert!(!ws.join("crates").join(OLD).exists());
    let crate_dir = ws.join("crates").join(NEW);
    let main_rs = fs::read_to_string(crate_dir.join("src/main.rs")).unwrap();
    assert!(
        main_rs.contains(&format!("{snake}::greeting(")),
        "code uses the crate identifier:\n{main_rs}"
    );
    let lib_rs = fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    assert!(lib_rs.contains("HELLO_WORLD_SHOUT"), "{lib_rs}");

    // The sample's description, README and changelog text are gone; neutral text is in their place.
    let manifest = fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    for line in [
        format!("name = \"{NEW}\""),
        format!("repository = \"{repository}\""),
        format!("description = \"The {NEW} command-line tool\""),
        "authors = [\"Ada <ada@example.com>\"]".to_owned(),
        format!("pkg-url = \"{repository}/releases/download/v{{ version }}/{NEW}-{{ version }}"),
    ] {
        assert!(manifest.contains(&line), "missing `{line}` in:\n{manifest}");
    }
    let readme = fs::read_to_string(ws.join("README.md")).unwrap();
    assert!(
        readme.starts_with(&format!(
            "# {NEW}\n\nThe {NEW} command-line tool\n\nBuilt from a template"
        )),
        "{readme}"
    );
    assert!(
        !readme.contains("greet") && !readme.contains("<!--"),
        "{readme}"
    );
    let changelog = fs::read_to_string(ws.join("CHANGELOG.md")).unwrap();
    assert!(
        changelog.contains(&format!("- The first release of {NEW}.\n"))
            && !changelog.contains("greet"),
        "{changelog}"
    );
    let config = fs::read_to_string(ws.join("dist-workspace.toml")).unwrap();
    assert!(
        config.contains(&format!("app = \"{NEW}\""))
            && config.contains(&format!("repository = \"{repository}\""))
            && config.contains(&format!("\"doc/{NEW}.1\""))
            && config.contains("maintainer = \"Ada <ada@example.com>\"\n"),
        "{config}"
    );
    // A fork's CI tests the xtask only where a change can reach it.
    assert!(
        config.contains("\nxtask-tests = \"when-changed\"\n") && !config.contains("\"always\""),
        "{config}"
    );

    // Renaming again to the same name changes nothing.
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-qm", "rename"]);
    let out = xtask(&ws, &target, &["rename", NEW]);
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

    // A release under the new name: archive, binary, docs, installer.
    let triple = "x86_64-unknown-linux-musl";
    assert_ok(
        "dist in the renamed tree",
        &xtask(&ws, &target, &["dist", "--target", triple]),
    );
    assert_ok(
        "verify in the renamed tree",
        &xtask(&ws, &target, &["verify"]),
    );
    let dist = target.join(DIST);
    let stem = format!("{NEW}-0.1.0-{triple}");
    let listing = list_tar_xz(&dist.join(format!("{stem}.tar.xz")));
    for entry in [
        NEW.to_owned(),
        format!("doc/{NEW}.1"),
        "README.md".to_owned(),
    ] {
        assert!(
            listing.contains(&format!("{stem}/{entry}")),
            "no {entry} in: {listing:?}"
        );
    }
    assert!(dist.join(format!("{NEW}-installer.sh")).is_file());

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

    // The renamed sources build and pass their own tests.
    let build = target.join("cargo");
    assert_ok(
        "cargo test in the renamed tree",
        &cargo(&ws, &build, &["test", "--quiet", "--locked"]),
    );
}
