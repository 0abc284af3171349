//! The release path tested, not only linted: the generated release.yml and
//! ci.yml replayed job by job as GitHub runs them (see `actions/mod.rs` for
//! what is faithful and what is not), on a repository made of this one with
//! the `greeter` fixture as its app, so the replay's time does not grow
//! with the app. Scenarios: pull requests of a fork (ci.yml): one changing
//! only the app, in a way that breaks its aarch64 build, and one changing
//! the xtask, whose `cargo test` runs with the workflow's
//! `CARGO_TERM_COLOR=always`; a release tag, a tag of another version, a
//! pre-release tag, manual runs on main and on a tag; a publish job
//! cancelled mid-upload with immutable releases on and re-run, re-run again
//! on the published release, against a repository with a higher version
//! (a backport), with a published file changed by hand, and with two drafts
//! of the tag; an upload outage outlasting gh's retries. The fork publishes
//! its crate too (`publish-crate`). Both workflows run their builds through
//! build.yml, the reusable workflow they call; `gh` and crates.io's side of
//! `cargo publish` are stand-ins (see `actions`).
//!
//! It takes minutes: CI (`CI=true`) runs it; elsewhere `XTASK_REPLAY=1` does.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod actions;
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use actions::{Event, Status, World};
use common::*;

const VERSION: &str = "0.3.0";
const RC_VERSION: &str = "0.4.0-rc.1";

fn enabled() -> bool {
    if inside_replay("the workflows") {
        return false;
    }
    let on =
        std::env::var("CI").as_deref() == Ok("true") || std::env::var_os("XTASK_REPLAY").is_some();
    if !on {
        skip("opt-in, as the workflow replay takes minutes: `CI=true` or `XTASK_REPLAY=1` runs it");
    }
    on
}

/// Scenarios build and run release binaries: one at a time.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn git(dir: &Path, args: &[&str]) {
    git_out(dir, args);
}

/// What `git args` printed, trimmed.
fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Replay",
            "-c",
            "user.email=replay@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert_ok(&format!("git {args:?}"), &out);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The repository the replay's GitHub holds: this one's files (the xtask,
/// the generated workflows' sources, `.ci/run`) with the `greeter` fixture
/// as the app, its Cargo.lock trimmed to match, the generated files made,
/// and the tags the scenarios push.
fn origin() -> &'static PathBuf {
    static ORIGIN: OnceLock<PathBuf> = OnceLock::new();
    ORIGIN.get_or_init(|| {
        let origin = e2e_dir("replay").join("origin");
        let _ = fs::remove_dir_all(&origin);
        fs::create_dir_all(&origin).unwrap();
        // The template without its app: the greeter fixture takes its place.
        let files: Vec<String> = tracked_files(".")
            .into_iter()
            .filter(|p| !p.starts_with("crates/"))
            .collect();
        copy_files(&files, &origin);
        copy_dir(
            &fixtures().join("greeter/crates/greeter"),
            &origin.join("crates/fixture-greeter"),
        );
        // The fork publishes its crate too.
        let config = fs::read_to_string(fixtures().join("greeter/dist-workspace.toml")).unwrap();
        let config = config.replacen("[dist]\n", "[dist]\npublish-crate = true\n", 1);
        fs::write(origin.join("dist-workspace.toml"), config).unwrap();
        let manifest = origin.join("crates/fixture-greeter/Cargo.toml");
        let text = fs::read_to_string(&manifest).unwrap();
        assert!(text.contains("publish = false\n"));
        fs::write(&manifest, text.replacen("publish = false\n", "", 1)).unwrap();
        let cargo = |args: &[&str]| {
            let out = Command::new(env!("CARGO"))
                .args(args)
                .current_dir(&origin)
                .output()
                .unwrap();
            assert_ok(&format!("cargo {args:?}"), &out);
        };
        cargo(&["update", "--workspace", "--offline", "--quiet"]);
        let target = e2e_dir("replay").join("codegen-target");
        assert_ok("codegen", &xtask(&origin, &target, &["codegen"]));
        git(&origin, &["init", "--quiet", "--initial-branch=main"]);
        git(&origin, &["add", "-A"]);
        git(
            &origin,
            &["commit", "--quiet", "-m", "fixture-greeter 0.3.0"],
        );
        git(&origin, &["tag", &format!("v{VERSION}")]);
        git(&origin, &["tag", "v9.9.9"]);
        // A pre-release on a branch of its own.
        git(&origin, &["checkout", "--quiet", "-b", "rc"]);
        let manifest = origin.join("crates/fixture-greeter/Cargo.toml");
        let text = fs::read_to_string(&manifest).unwrap();
        fs::write(
            &manifest,
            text.replacen(
                &format!("version = \"{VERSION}\""),
                &format!("version = \"{RC_VERSION}\""),
                1,
            ),
        )
        .unwrap();
        cargo(&["update", "--workspace", "--offline", "--quiet"]);
        git(
            &origin,
            &["commit", "--quiet", "-am", "fixture-greeter 0.4.0-rc.1"],
        );
        git(&origin, &["tag", &format!("v{RC_VERSION}")]);
        git(&origin, &["checkout", "--quiet", "main"]);

        // Two pull requests of the fork, each with the merge commit GitHub
        // keeps at refs/pull/<n>/merge. #1 changes only the app: a new
        // option written for x86_64 alone, so its aarch64 build breaks.
        let main_rs = origin.join("crates/fixture-greeter/src/main.rs");
        let text = fs::read_to_string(&main_rs).unwrap();
        let app_change = text
            .replacen(
                "        [\"--commit\"] =>",
                "        [\"--cpu\"] => println!(\"{}\", cpu()),\n        [\"--commit\"] =>",
                1,
            )
            .replacen(
                "\nfn main() -> ExitCode {",
                "\n#[cfg(target_arch = \"x86_64\")]\nfn cpu() -> &'static str {\n    \"x86_64\"\n}\n\nfn main() -> ExitCode {",
                1,
            );
        assert_ne!(app_change, text, "the greeter fixture changed: update the app change");
        pull_request(&origin, APP_PR, "app-change", &[("crates/fixture-greeter/src/main.rs", &app_change)]);
        // #2 changes the xtask.
        let xtask_main = fs::read_to_string(origin.join("xtask/src/main.rs")).unwrap();
        pull_request(
            &origin,
            XTASK_PR,
            "xtask-change",
            &[("xtask/src/main.rs", &format!("{xtask_main}// A change to the xtask.\n"))],
        );
        origin
    })
}

const APP_PR: u32 = 1;
const XTASK_PR: u32 = 2;

/// Branch `branch` off main with `files` changed, and its merge into main
/// at refs/pull/<number>/merge, as GitHub makes it.
fn pull_request(origin: &Path, number: u32, branch: &str, files: &[(&str, &str)]) {
    git(origin, &["checkout", "--quiet", "-b", branch, "main"]);
    for (path, text) in files {
        fs::write(origin.join(path), text).unwrap();
    }
    git(origin, &["commit", "--quiet", "-am", branch]);
    git(origin, &["checkout", "--quiet", "--detach", "main"]);
    git(
        origin,
        &[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            &format!("Merge {branch} into main"),
            branch,
        ],
    );
    git(
        origin,
        &["update-ref", &format!("refs/pull/{number}/merge"), "HEAD"],
    );
    git(origin, &["checkout", "--quiet", "main"]);
}

fn main_sha() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "main"])
        .current_dir(origin())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A scenario's own fake GitHub (releases, scratch space) around the shared repository.
fn world(name: &str) -> World {
    world_of(name, origin())
}

/// A new scenario `name` on the repository at `origin`.
fn world_of(name: &str, origin: &Path) -> World {
    let dir = e2e_dir("replay").join(name);
    let _ = fs::remove_dir_all(&dir);
    let world = World {
        origin: origin.to_owned(),
        gh_state: dir.join("github"),
        bin: dir.join("bin"),
        build_dir: e2e_dir("replay").join("shared-build-dir"),
        dir,
    };
    actions::write_gh(&world);
    actions::write_cargo(&world);
    world
}

fn release_yml(world: &World) -> PathBuf {
    world.origin.join(".github/workflows/release.yml")
}

/// The files a release of the fixture publishes, as `publish` names them.
fn release_files(version: &str) -> Vec<String> {
    let mut files = Vec::new();
    // Debian and RPM spell a pre-release `0.4.0~rc.1`.
    let package_version = version.replacen('-', "~", 1);
    for (triple, deb, rpm) in [
        ("x86_64-unknown-linux-musl", "amd64", "x86_64"),
        ("aarch64-unknown-linux-musl", "arm64", "aarch64"),
    ] {
        let archive = format!("fixture-greeter-{version}-{triple}.tar.xz");
        files.push(format!("{archive}.cdx.json"));
        files.push(format!("fixture-greeter_{package_version}_{deb}.deb"));
        files.push(format!("fixture-greeter-{package_version}-1.{rpm}.rpm"));
        files.push(archive);
    }
    files.extend(
        ["installer.sh", "installer.ps1"]
            .map(|i| format!("fixture-greeter-{i}"))
            .into_iter()
            .chain(["fixture-greeter.rb".to_owned()]),
    );
    // What the rebuild jobs rebuilt identical, beside the manifest.
    files.push("dist-rebuild.json".to_owned());
    let sidecars: Vec<String> = files.iter().map(|f| format!("{f}.sha256")).collect();
    files.extend(sidecars);
    files.extend(["SHA256SUMS".to_owned(), "dist-manifest.json".to_owned()]);
    files.sort();
    files.dedup();
    files
}

/// Each Linux target was rebuilt in the other Debian release's root and
/// came out identical, every file.
fn assert_rebuilt(report: &actions::RunReport, version: &str) -> String {
    let rebuilds = report.jobs_of("rebuild");
    assert_eq!(rebuilds.len(), 2, "{}", report.logs());
    let mut os = String::new();
    for job in rebuilds {
        assert_eq!(job.status, Status::Success, "{}", job.failure_log());
        let log = &job.step("Rebuild from scratch and compare every file").log;
        let target = job.matrix["target"].as_str().unwrap();
        os = other_os();
        for expected in [
            format!("==> rebuilding on {os}"),
            format!("==> fixture-greeter-{version}-{target}.tar.xz"),
            "identical (sha256 ".to_owned(),
            format!("{target} rebuilt identical on {os}"),
        ] {
            assert!(log.contains(&expected), "no `{expected}` in:\n{log}");
        }
        // From a checkout at another path than the build's.
        let build = report
            .jobs_of("build/build")
            .into_iter()
            .find(|b| b.matrix["target"] == job.matrix["target"])
            .unwrap();
        assert_ne!(build.workspace, job.workspace.join("rebuild"));
    }
    os
}

/// What the other Debian release's root calls itself.
fn other_os() -> String {
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    if os.contains("VERSION_CODENAME=trixie") {
        "Debian GNU/Linux 12 (bookworm)".to_owned()
    } else {
        "Debian GNU/Linux 13 (trixie)".to_owned()
    }
}

/// The build matrix ran the Linux targets and left the others to their runners.
fn assert_builds(report: &actions::RunReport, caller: &str) {
    let builds = report.jobs_of(&format!("{caller}/build"));
    let ran: Vec<String> = builds
        .iter()
        .filter(|j| j.status == Status::Success)
        .map(|j| j.name.clone())
        .collect();
    assert_eq!(
        ran,
        [
            format!(
                "{} / Build x86_64-unknown-linux-musl",
                report.job(caller).name
            ),
            format!(
                "{} / Build aarch64-unknown-linux-musl",
                report.job(caller).name
            ),
        ],
        "{}",
        report.logs()
    );
    let elsewhere = builds
        .iter()
        .filter(|j| matches!(&j.status, Status::Skipped(why) if why.contains("not replayed")))
        .count();
    assert_eq!(elsewhere, 3, "windows and both macOS runners");
}

#[test]
fn a_release_tag_cut_off_mid_upload_is_published_whole_by_a_rerun() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let world = world("tag");
    // The repository has released 0.2.0, and has immutable releases on.
    actions::seed_release(&world, "v0.2.0", true, true, &[("SHA256SUMS", b"0.2.0\n")]);
    fs::write(world.gh_state.join("immutable-releases"), "").unwrap();
    // The publish job is cancelled after three files went up.
    fs::write(world.gh_state.join("kill-after"), "3").unwrap();
    let tag = format!("v{VERSION}");
    let first = actions::run(
        &world,
        &release_yml(&world),
        &Event::push_tag(&tag),
        "first",
    );
    let plan = first.job("build/plan");
    assert_eq!(plan.status, Status::Success, "{}", first.logs());
    assert_eq!(plan.outputs["publish"], "true");
    assert_eq!(plan.outputs["tag"], tag);
    // build.yml hands the plan to release.yml's publish job.
    assert_eq!(first.job("build").outputs["publish"], "true");
    assert_eq!(first.job("build").outputs["version"], VERSION);
    assert_builds(&first, "build");
    let os = assert_rebuilt(&first, VERSION);
    let publish = first.job("publish");
    assert!(
        matches!(publish.status, Status::Failure(_)),
        "{}",
        first.logs()
    );
    let log = &publish.step("Publish the GitHub release").log;
    assert!(log.contains("killed while uploading"), "{log}");
    // Every run packages the crate first, as crates.io would.
    assert_eq!(
        first.job("build/crate").status,
        Status::Success,
        "{}",
        first.logs()
    );
    assert!(
        matches!(
            publish.step("Publish the crate to crates.io").status,
            Status::Skipped(_)
        ),
        "nothing after the GitHub release runs when it fails"
    );
    assert!(actions::crates_io(&world).is_empty());
    // What a cancelled job leaves: a draft of three files, nothing public.
    let draft = actions::release(&world, &tag).expect("a draft");
    assert!(draft.draft, "{draft:?}");
    assert_eq!(draft.assets.len(), 3);
    // The CHANGELOG's section is the release's notes, then what was rebuilt.
    let commit = git_out(&world.origin, &["rev-parse", &tag]);
    let (changes, rebuilt) = draft.notes.split_once("\n\n").unwrap();
    assert_eq!(changes, "- Says hello.");
    for expected in [
        "### Rebuilt bit for bit".to_owned(),
        format!("from commit `{}`", &commit[..12]),
        format!(
            "- x86_64-unknown-linux-musl: built on ubuntu-latest, rebuilt on {os}, image `ubuntu-22.04`: `fixture-greeter-{VERSION}-x86_64-unknown-linux-musl.tar.xz`, `fixture-greeter-{VERSION}-x86_64-unknown-linux-musl.tar.xz.cdx.json`, `fixture-greeter_{VERSION}_amd64.deb`, `fixture-greeter-{VERSION}-1.x86_64.rpm`"
        ),
        // Built on GitHub's Arm runner and rebuilt on the other image's (both
        // stood in for by this machine: see actions/mod.rs).
        format!(
            "- aarch64-unknown-linux-musl: built on ubuntu-24.04-arm, rebuilt on {os}, image `ubuntu-22.04-arm`"
        ),
    ] {
        assert!(
            rebuilt.contains(&expected),
            "no `{expected}` in:\n{rebuilt}"
        );
    }
    assert!(actions::release(&world, "v0.2.0").unwrap().latest);

    // "Re-run failed jobs": the same artifacts; the draft completed,
    // downloaded and verified, then published.
    let second = actions::rerun(&world, &first, "publish");
    second.assert_success();
    let log = &second.job("publish").step("Publish the GitHub release").log;
    let all = release_files(VERSION).len();
    for expected in [
        "resuming the draft of v0.3.0".to_owned(),
        format!("uploading {} of {all} files to the draft", all - 3),
        "==> verifying v0.3.0 as downloaded from GitHub".to_owned(),
        "published v0.3.0 as the latest release".to_owned(),
        "Verification succeeded! v0.3.0 is present".to_owned(),
    ] {
        assert!(log.contains(&expected), "no `{expected}` in:\n{log}");
    }
    // The crate follows the GitHub release.
    let log = &second
        .job("publish")
        .step("Publish the crate to crates.io")
        .log;
    assert!(
        log.contains("published fixture-greeter 0.3.0 on crates.io"),
        "{log}"
    );
    assert_eq!(actions::crates_io(&world), ["fixture-greeter@0.3.0"]);
    let releases = actions::releases(&world, &tag);
    assert_eq!(releases.len(), 1, "one release of the tag: {releases:?}");
    let release = &releases[0];
    assert!(!release.draft && release.latest && release.immutable && !release.prerelease);
    assert!(!actions::release(&world, "v0.2.0").unwrap().latest);
    let names: Vec<&String> = release.assets.keys().collect();
    assert_eq!(names, release_files(VERSION).iter().collect::<Vec<_>>());
    let dist = second.job("publish").workspace.join("target").join(DIST);
    for (name, bytes) in &release.assets {
        assert_eq!(
            *bytes,
            fs::read(dist.join(name)).unwrap(),
            "{name} differs from the verified release"
        );
    }
    // Every asset was downloaded back before the release was published.
    let calls = actions::gh_calls(&world);
    let published_at = calls
        .iter()
        .position(|c| c.starts_with(&format!("gh release edit {tag} --draft=false")))
        .expect("published");
    let downloads = calls[..published_at]
        .iter()
        .filter(|c| c.contains("Accept: application/octet-stream"))
        .count();
    assert!(
        downloads >= all,
        "{downloads} downloads before publishing:\n{calls:#?}"
    );
    // Build provenance covers every file SHA256SUMS lists (archives, SBOMs,
    // packages, installers, formula); each archive built here has its SBOM
    // attested, bound to the archive's hash.
    let attested = fs::read_to_string(second.run_dir.join("attestations")).unwrap();
    let listed = release_files(VERSION)
        .iter()
        .filter(|f| !f.ends_with(".sha256") && *f != "SHA256SUMS" && *f != "dist-manifest.json")
        .count();
    assert_eq!(attested.lines().count(), listed, "{attested}");
    // The first run attested them before its upload was cut off, and the
    // re-run job attests them again, as GitHub would: twice each, the same.
    let sboms = fs::read_to_string(second.run_dir.join("sbom-attestations")).unwrap();
    let mut expected = Vec::new();
    for triple in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        let archive = format!("fixture-greeter-{VERSION}-{triple}.tar.xz");
        let sha = sha256_hex(&release.assets[&archive]);
        expected.push(format!("{archive} sha256:{sha} sbom:{archive}.cdx.json"));
    }
    for line in sboms.lines() {
        assert!(
            expected.iter().any(|e| e == line),
            "`{line}` attests something else:\n{sboms}"
        );
    }
    for line in &expected {
        assert_eq!(sboms.lines().filter(|l| l == line).count(), 2, "{sboms}");
    }

    // Again: the published release is checked, never touched.
    let before = actions::gh_calls(&world).len();
    let third = actions::rerun(&world, &second, "publish");
    third.assert_success();
    let log = &third.job("publish").step("Publish the GitHub release").log;
    let done = format!("published and holds all {all} files, byte for byte: nothing to do");
    assert!(log.contains(&done), "no `{done}` in:\n{log}");
    let log = &third
        .job("publish")
        .step("Publish the crate to crates.io")
        .log;
    assert!(
        log.contains("fixture-greeter 0.3.0 is on crates.io already: skipped"),
        "{log}"
    );
    let after = &actions::gh_calls(&world)[before..];
    assert!(
        after.iter().all(|c| c.starts_with("gh api --paginate")
            || c.contains("Accept: application/octet-stream")
            || c.starts_with("gh release verify")),
        "a call that could change the release:\n{after:#?}"
    );

    // The same build released where 1.0.0 is out already: a backport,
    // never the latest. Then, without immutable releases, a published
    // file replaced by hand is named, and nothing is replaced.
    let backport = crate::world("tag-backport");
    actions::seed_release(
        &backport,
        "v1.0.0",
        true,
        true,
        &[("SHA256SUMS", b"1.0.0\n")],
    );
    let run = actions::rerun(&backport, &first, "publish");
    run.assert_success();
    let log = &run.job("publish").step("Publish the GitHub release").log;
    assert!(
        log.contains("published v0.3.0, not as the latest release"),
        "{log}"
    );
    assert!(log.contains("not an immutable release"), "{log}");
    let release = actions::release(&backport, &tag).unwrap();
    assert!(!release.draft && !release.latest && !release.immutable);
    assert!(actions::release(&backport, "v1.0.0").unwrap().latest);
    let asset = backport
        .gh_state
        .join(format!("releases/{}/assets/SHA256SUMS", release.id));
    fs::write(&asset, "not ours\n").unwrap();
    let installer = backport.gh_state.join(format!(
        "releases/{}/assets/fixture-greeter-installer.sh",
        release.id
    ));
    fs::remove_file(&installer).unwrap();
    let run = actions::rerun(&backport, &first, "publish");
    let log = &run.job("publish").step("Publish the GitHub release").log;
    for expected in [
        "the published release v0.3.0 lacks fixture-greeter-installer.sh",
        "holds SHA256SUMS with other bytes than this build",
        "finish this one by hand from the verified release directory: `gh release upload v0.3.0 fixture-greeter-installer.sh SHA256SUMS --clobber`",
    ] {
        assert!(log.contains(expected), "no `{expected}` in:\n{log}");
    }
    assert_eq!(
        fs::read_to_string(&asset).unwrap(),
        "not ours\n",
        "nothing was replaced"
    );

    // Two drafts claiming the tag (made by hand, or by another tool): neither is touched.
    let drafts = crate::world("tag-two-drafts");
    let one = actions::seed_release(&drafts, &tag, false, false, &[]);
    let two = actions::seed_release(&drafts, &tag, false, false, &[("SHA256SUMS", b"x\n")]);
    let run = actions::rerun(&drafts, &first, "publish");
    let log = &run.job("publish").step("Publish the GitHub release").log;
    assert!(
        log.contains("2 draft releases claim the tag v0.3.0"),
        "{log}"
    );
    for id in [one, two] {
        assert!(log.contains(&format!("untagged-{id} (id {id}")), "{log}");
    }
    assert!(actions::releases(&drafts, &tag).iter().all(|r| r.draft));
    assert!(
        !actions::gh_calls(&drafts)
            .iter()
            .any(|c| c.contains("upload") || c.contains("edit")),
        "{:#?}",
        actions::gh_calls(&drafts)
    );
}

/// The fork's release tag on a commit whose build script writes the time
/// into the binary (x86_64 only: the point needs one target): the rebuild
/// in the other root differs, is named by archive and member, and nothing
/// is published.
#[test]
fn a_build_that_does_not_reproduce_stops_the_release_before_anything_is_published() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let origin = e2e_dir("replay").join("origin-clock");
    let _ = fs::remove_dir_all(&origin);
    git(
        origin.parent().unwrap(),
        &[
            "clone",
            "--quiet",
            &crate::origin().to_string_lossy(),
            "origin-clock",
        ],
    );
    let edit = |path: &str, from: &str, to: &str| {
        let path = origin.join(path);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{} has no `{from}`", path.display());
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "crates/fixture-greeter/build.rs",
        "    println!(\"cargo:rustc-env=GREETER_REV",
        "    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();\n    \
         println!(\"cargo:rustc-env=GREETER_BUILT_AT={}\", now.as_nanos());\n    \
         println!(\"cargo:rustc-env=GREETER_REV",
    );
    edit(
        "crates/fixture-greeter/src/main.rs",
        "        [\"--commit\"] =>",
        "        [\"--built-at\"] => println!(\"{}\", env!(\"GREETER_BUILT_AT\")),\n        [\"--commit\"] =>",
    );
    edit(
        "dist-workspace.toml",
        "[dist]\n",
        "[dist]\ntargets = [\"x86_64-unknown-linux-musl\"]\n",
    );
    let target = e2e_dir("replay").join("codegen-target");
    assert_ok("codegen", &xtask(&origin, &target, &["codegen"]));
    git(
        &origin,
        &["commit", "--quiet", "-am", "Embed the build time"],
    );
    let tag = format!("v{VERSION}");
    git(&origin, &["tag", "--force", &tag]);

    let world = world_of("clock", &origin);
    let report = actions::run(&world, &release_yml(&world), &Event::push_tag(&tag), "run");
    let build = report.job("build/build");
    assert_eq!(build.status, Status::Success, "{}", report.logs());
    let rebuild = report.job("rebuild");
    let step = rebuild.step("Rebuild from scratch and compare every file");
    assert!(
        matches!(step.status, Status::Failure(_)),
        "{}",
        report.logs()
    );
    let archive = format!("fixture-greeter-{VERSION}-x86_64-unknown-linux-musl.tar.xz");
    for expected in [
        format!("==> rebuilding on {}", other_os()),
        format!("{archive}: the rebuild differs"),
        format!("`fixture-greeter-{VERSION}-x86_64-unknown-linux-musl/greet`"),
        "a build script that reads the machine or the clock".to_owned(),
    ] {
        assert!(
            step.log.contains(&expected),
            "no `{expected}` in:\n{}",
            step.log
        );
    }
    assert!(
        matches!(
            rebuild.step("Upload what was rebuilt identical").status,
            Status::Skipped(_)
        ),
        "no statement of a rebuild that differed"
    );
    assert!(
        matches!(report.job("publish").status, Status::Skipped(_)),
        "{}",
        report.logs()
    );
    assert!(actions::releases(&world, &tag).is_empty());
    assert!(
        actions::gh_calls(&world).is_empty(),
        "{:#?}",
        actions::gh_calls(&world)
    );
    assert!(actions::crates_io(&world).is_empty());
}

#[test]
fn a_tag_of_another_version_stops_at_the_plan() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let world = world("wrong-tag");
    let report = actions::run(
        &world,
        &release_yml(&world),
        &Event::push_tag("v9.9.9"),
        "run",
    );
    let plan = report.job("build/plan");
    let step = plan.step("Check the tag against the version and plan the builds");
    assert!(
        matches!(step.status, Status::Failure(_)),
        "{}",
        report.logs()
    );
    assert!(
        step.log
            .contains("tag `v9.9.9` does not release fixture-greeter 0.3.0"),
        "{}",
        step.log
    );
    for job in report
        .jobs
        .iter()
        .filter(|j| j.id != "build/plan" && j.id != "build")
    {
        assert!(
            matches!(job.status, Status::Skipped(_)),
            "{}: {:?}",
            job.name,
            job.status
        );
    }
    assert!(actions::release(&world, "v9.9.9").is_none());
}

#[test]
fn a_pre_release_tag_is_published_as_a_pre_release_never_the_latest() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let world = world("pre-release");
    actions::seed_release(&world, "v0.3.0", true, true, &[("SHA256SUMS", b"0.3.0\n")]);
    // An outage outlasting gh's retries after two files.
    fs::write(world.gh_state.join("fail-after"), "2").unwrap();
    let tag = format!("v{RC_VERSION}");
    let first = actions::run(&world, &release_yml(&world), &Event::push_tag(&tag), "run");
    assert_builds(&first, "build");
    assert_rebuilt(&first, RC_VERSION);
    let log = &first.job("publish").step("Publish the GitHub release").log;
    assert!(
        log.contains("HTTP 502") && log.contains("run the publish job again"),
        "{log}"
    );
    // gh upload cleans nothing up: the draft stays for the re-run.
    let draft = actions::release(&world, &tag).expect("a draft");
    assert!(
        draft.draft && draft.prerelease && draft.assets.len() == 2,
        "{draft:?}"
    );
    // No CHANGELOG section for the pre-release: what was rebuilt, then
    // GitHub's generated notes.
    assert!(
        draft.notes.starts_with("### Rebuilt bit for bit"),
        "{}",
        draft.notes
    );
    assert!(draft.notes.ends_with("\n(generated)"), "{}", draft.notes);
    assert!(
        draft.flags.contains(&"--generate-notes".to_owned()),
        "{:?}",
        draft.flags
    );

    let second = actions::rerun(&world, &first, "publish");
    second.assert_success();
    let release = actions::release(&world, &tag).expect("published");
    assert!(
        !release.draft && release.prerelease && !release.latest,
        "{release:?}"
    );
    assert!(actions::release(&world, "v0.3.0").unwrap().latest);
    assert_eq!(
        release.assets.keys().cloned().collect::<Vec<_>>(),
        release_files(RC_VERSION)
    );
}

#[test]
fn a_manual_run_is_a_dry_run_on_a_branch_and_on_a_tag() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    for (name, git_ref) in [
        ("dispatch-main", "refs/heads/main"),
        ("dispatch-tag", "refs/tags/v0.3.0"),
    ] {
        let world = world(name);
        let report = actions::run(
            &world,
            &release_yml(&world),
            &Event::dispatch(git_ref),
            "run",
        );
        report.assert_success();
        assert_eq!(report.job("build").outputs["publish"], "false", "{name}");
        assert_builds(&report, "build");
        let publish = report.job("publish");
        // The crate is packaged as crates.io would, and not published.
        let log = &report
            .job("build/crate")
            .step("Package the crate as crates.io would")
            .log;
        assert!(
            log.contains("packages and builds as crates.io would"),
            "{name}: {log}"
        );
        assert!(actions::crates_io(&world).is_empty(), "{name}");
        for step in [
            "Attest build provenance",
            "Publish the GitHub release",
            "Publish the crate to crates.io",
        ] {
            assert!(
                matches!(publish.step(step).status, Status::Skipped(_)),
                "{name}: {step}"
            );
        }
        assert_eq!(
            publish.step("Verify everything again").status,
            Status::Success
        );
        assert!(
            !world.gh_state.join("calls.log").exists(),
            "{name}: gh was called"
        );
    }
}

/// The tools `.ci/run tools` installs: only the xtask's suite needs them.
const TOOLS_STEP: &str = "Install the tools the xtask's tests use";

/// ci.yml run for pull request `number` (branch `branch`) onto main, in a
/// world of its own; its job times printed, to be seen with `--nocapture`.
fn pull_request_run(name: &str, number: u32, branch: &str) -> (World, actions::RunReport) {
    let world = world(name);
    let ci = world.origin.join(".github/workflows/ci.yml");
    let event = Event::pull_request(number, "main", &main_sha(), branch);
    let report = actions::run(&world, &ci, &event, "run");
    eprintln!("{}", timings(&report));
    (world, report)
}

/// A fork's pull request that changes only its app, and breaks the app's
/// aarch64 build: the release dry run fails on that target and names it,
/// while the tests run without the xtask's tools or integration suite.
#[test]
fn a_pull_request_changing_only_the_app_skips_the_xtask_suite_and_its_broken_aarch64_build_fails() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let (world, report) = pull_request_run("pr-app", APP_PR, "app-change");
    assert!(
        report.startup_failure.is_none(),
        "{:?}",
        report.startup_failure
    );
    let changes = report.job("changes");
    assert_eq!(changes.outputs["xtask"], "false", "{}", report.logs());
    let test = report.job("test");
    assert_eq!(test.status, Status::Success, "{}", report.logs());
    for skipped in [TOOLS_STEP, "Test everything, the xtask's suite included"] {
        assert!(
            matches!(test.step(skipped).status, Status::Skipped(_)),
            "{skipped} ran"
        );
    }
    for ran in [
        "Format",
        "Lint",
        "Test the app",
        "Check that the generated files match dist-workspace.toml",
    ] {
        assert_eq!(test.step(ran).status, Status::Success, "{ran}");
    }
    // The app's tests only: no test binary of the xtask ran.
    let log = plain(&test.step("Test the app").log);
    assert!(log.contains("Running unittests src/main.rs"), "{log}");
    for xtask in ["/deps/xtask-", "/deps/xtask_inspect-", "Running tests/"] {
        assert!(!log.contains(xtask), "an xtask test ran ({xtask}):\n{log}");
    }
    for other in ["xtask-windows", "xtask-macos"] {
        assert!(
            matches!(&report.job(other).status, Status::Skipped(why) if why.contains("needs.changes.outputs.xtask")),
            "{other}: {:?}",
            report.job(other).status
        );
    }
    // The dry run: x86_64 built and verified, aarch64 failed, by name.
    let builds = report.jobs_of("release/build");
    let by_target = |triple: &str| {
        builds
            .iter()
            .find(|j| j.matrix["target"] == triple)
            .unwrap_or_else(|| panic!("no build of {triple}"))
    };
    assert_eq!(
        by_target("x86_64-unknown-linux-musl").status,
        Status::Success,
        "{}",
        report.logs()
    );
    let aarch64 = by_target("aarch64-unknown-linux-musl");
    assert_eq!(
        aarch64.name,
        "Release dry run / Build aarch64-unknown-linux-musl"
    );
    assert!(
        matches!(aarch64.status, Status::Failure(_)),
        "{}",
        report.logs()
    );
    let log = &aarch64.step("Build, package and check").log;
    assert!(
        log.contains("`cargo build` of fixture-greeter for aarch64-unknown-linux-musl failed")
            && log.contains("cannot find function `cpu`"),
        "{log}"
    );
    assert!(matches!(report.job("release").status, Status::Failure(_)));
    assert!(
        !world.gh_state.join("calls.log").exists(),
        "a dry run called gh"
    );
}

/// A pull request that changes the xtask: its tools are installed and its
/// whole suite runs, `cargo test --workspace`, with the workflow's
/// `CARGO_TERM_COLOR=always` (the xtask must find what it looks for in
/// cargo's output however it is coloured), and the dry run passes.
#[test]
fn a_pull_request_changing_the_xtask_runs_its_whole_suite() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let (world, report) = pull_request_run("pr-xtask", XTASK_PR, "xtask-change");
    let ci = world.origin.join(".github/workflows/ci.yml");
    assert_eq!(actions::load(&ci)["env"]["CARGO_TERM_COLOR"], "always");
    report.assert_success();
    assert_eq!(report.job("changes").outputs["xtask"], "true");
    assert!(
        report
            .job("changes")
            .step("Decide whether the xtask's own suite runs")
            .log
            .contains("xtask/src/main.rs changed")
    );
    let test = report.job("test");
    for step in [
        TOOLS_STEP,
        "Format",
        "Lint",
        "Test everything, the xtask's suite included",
        "Check that the generated files match dist-workspace.toml",
    ] {
        assert_eq!(test.step(step).status, Status::Success, "{step}");
    }
    assert!(matches!(
        test.step("Test the app").status,
        Status::Skipped(_)
    ));
    let log = plain(&test.step("Test everything, the xtask's suite included").log);
    for suite in [
        "Running tests/replay.rs",
        "Running tests/any_machine.rs",
        "/deps/xtask-",
    ] {
        assert!(log.contains(suite), "{suite} did not run:\n{log}");
    }
    // What the run around the replay proved is left out inside, and said.
    for left_out in [
        "SKIPPED any_machine::",
        "SKIPPED replay::",
        "SKIPPED cdeps::",
        "SKIPPED reproduce::another_debian_release",
    ] {
        assert!(
            log.contains(left_out) && log.contains("inside a replayed workflow"),
            "{left_out}… not said:\n{log}"
        );
    }
    for other in ["xtask-windows", "xtask-macos"] {
        assert!(
            matches!(&report.job(other).status, Status::Skipped(why) if why.contains("not replayed")),
            "{other}: {:?}",
            report.job(other).status
        );
    }
    assert_builds(&report, "release");
    assert_eq!(report.job("release").outputs["publish"], "false");
}

/// `log` without the colours cargo gives it under `CARGO_TERM_COLOR=always`.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut rest = log;
    while let Some(start) = rest.find('\x1b') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(after.len(), |e| e + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Each job's wall time, for the log of a passing run.
fn timings(report: &actions::RunReport) -> String {
    report
        .jobs
        .iter()
        .filter(|j| !j.elapsed.is_zero())
        .map(|j| format!("  {:>6.1} s  {}\n", j.elapsed.as_secs_f64(), j.name))
        .collect()
}

/// The `gh` stand-in itself, on the paths `publish` no longer takes but gh
/// has (its source, as `actions::write_gh` cites it): `gh release create`
/// with files deletes its draft when an upload fails and leaves it when
/// killed; a published release of an immutable repository refuses uploads.
/// Fast: a repository of one commit, no workflow.
#[test]
fn the_gh_stand_in_keeps_gh_s_drafts() {
    let dir = e2e_dir("replay").join("gh-stand-in");
    let _ = fs::remove_dir_all(&dir);
    let origin = dir.join("origin");
    fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "--quiet", "--initial-branch=main"]);
    git(
        &origin,
        &["commit", "--quiet", "--allow-empty", "-m", "one"],
    );
    git(&origin, &["tag", "v1.0.0"]);
    let world = World {
        origin,
        gh_state: dir.join("github"),
        bin: dir.join("bin"),
        build_dir: dir.join("build"),
        dir: dir.clone(),
    };
    actions::write_gh(&world);
    let files: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let path = dir.join(n);
            fs::write(&path, n).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();
    // Through a shell that waits for it: a kill reaches gh's parent, which
    // must not be this test.
    let gh = |args: &[&str]| {
        Command::new("sh")
            .args(["-c", "\"$0\" \"$@\"; exit $?"])
            .arg(world.bin.join("gh"))
            .args(args)
            .env("GH_TOKEN", "t")
            .env("GH_REPO", actions::REPOSITORY)
            .output()
            .unwrap()
    };
    let create = |extra: &[&str]| {
        let mut args = vec![
            "release",
            "create",
            "v1.0.0",
            "--verify-tag",
            "--title",
            "v1.0.0",
        ];
        args.extend(extra);
        args.extend(files.iter().map(String::as_str));
        gh(&args)
    };
    // An outage: the draft gh made to upload into is deleted.
    fs::write(world.gh_state.join("fail-after"), "1").unwrap();
    let out = create(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 502"));
    assert!(actions::releases(&world, "v1.0.0").is_empty());
    // Killed: the draft stays, with what went up, and nobody publishes it.
    fs::write(world.gh_state.join("kill-after"), "2").unwrap();
    let out = create(&[]);
    assert!(!out.status.success());
    let left = actions::releases(&world, "v1.0.0");
    assert_eq!(left.len(), 1);
    assert!(left[0].draft && left[0].assets.len() == 2, "{left:?}");
    // A second draft of the tag is allowed, as on GitHub; a tag that does not exist is refused.
    assert!(
        gh(&[
            "release", "create", "v1.0.0", "--draft", "--title", "v1.0.0"
        ])
        .status
        .success()
    );
    assert_eq!(actions::releases(&world, "v1.0.0").len(), 2);
    let out = gh(&["release", "create", "v2.0.0", "--draft", "--verify-tag"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("tag v2.0.0 doesn't exist"));
    // Immutable releases: once published, no upload and no deletion.
    fs::write(world.gh_state.join("immutable-releases"), "").unwrap();
    let out = create(&["--latest=true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = actions::release(&world, "v1.0.0").unwrap();
    assert!(!published.draft && published.immutable && published.latest);
    let extra = dir.join("d");
    fs::write(&extra, "d").unwrap();
    let out = gh(&["release", "upload", "v1.0.0", extra.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("immutable release"));
    let listing = gh(&[
        "api",
        "--paginate",
        "repos/{owner}/{repo}/releases?per_page=100",
    ]);
    let text = String::from_utf8_lossy(&listing.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let asset = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["draft"] == false)
        .unwrap()["assets"][0]["id"]
        .to_string();
    let path = format!("repos/{{owner}}/{{repo}}/releases/assets/{asset}");
    let out = gh(&["api", "-X", "DELETE", &path]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("immutable release"));
    assert!(gh(&["release", "verify", "v1.0.0"]).status.success());
    assert_eq!(actions::release(&world, "v1.0.0").unwrap().assets.len(), 3);
}
