//! The release path tested, not only linted: the generated release.yml and
//! ci.yml replayed job by job as GitHub runs them (see `actions/mod.rs` for
//! what is faithful and what is not), on a repository made of this one with
//! the `greeter` fixture as its app, so the replay's time does not grow
//! with the app. Scenarios: a push to main (ci.yml, whose `cargo test` runs
//! with the workflow's `CARGO_TERM_COLOR=always`), a release tag, a tag of
//! another version, a pre-release tag, manual runs on main and on a tag, and
//! a publish job that fails half-way and is re-run.
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
    if std::env::var_os("XTASK_REPLAY_NESTED").is_some() {
        eprintln!("SKIPPED: already inside a replayed workflow");
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
        fs::copy(
            fixtures().join("greeter/dist-workspace.toml"),
            origin.join("dist-workspace.toml"),
        )
        .unwrap();
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
        origin
    })
}

/// A scenario's own fake GitHub (releases, scratch space) around the shared repository.
fn world(name: &str) -> World {
    let dir = e2e_dir("replay").join(name);
    let _ = fs::remove_dir_all(&dir);
    let world = World {
        origin: origin().clone(),
        gh_state: dir.join("github"),
        bin: dir.join("bin"),
        build_dir: e2e_dir("replay").join("shared-build-dir"),
        dir,
    };
    actions::write_gh(&world);
    world
}

fn release_yml(world: &World) -> PathBuf {
    world.origin.join(".github/workflows/release.yml")
}

/// The files a release of the fixture publishes, as `publish` names them.
fn release_files(version: &str) -> Vec<String> {
    let mut files = vec!["SHA256SUMS".to_owned(), "dist-manifest.json".to_owned()];
    for triple in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        let archive = format!("fixture-greeter-{version}-{triple}.tar.xz");
        files.push(format!("{archive}.sha256"));
        files.push(format!("{archive}.cdx.json"));
        files.push(format!("{archive}.cdx.json.sha256"));
        files.push(archive);
    }
    files.push("fixture-greeter-installer.sh".to_owned());
    files.push("fixture-greeter-installer.sh.sha256".to_owned());
    files.sort();
    files
}

/// The build matrix ran the Linux targets and left the others to their runners.
fn assert_builds(report: &actions::RunReport) {
    let builds = report.jobs_of("build");
    let ran: Vec<&str> = builds
        .iter()
        .filter(|j| j.status == Status::Success)
        .map(|j| j.name.as_str())
        .collect();
    assert_eq!(
        ran,
        [
            "Build x86_64-unknown-linux-musl",
            "Build aarch64-unknown-linux-musl"
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
fn a_release_tag_publishes_and_a_failed_publish_is_finished_by_a_rerun() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let world = world("tag");
    // The upload breaks off after three files, as a flaky network would.
    fs::write(world.gh_state.join("fail-after"), "3").unwrap();
    let tag = format!("v{VERSION}");
    let first = actions::run(
        &world,
        &release_yml(&world),
        &Event::push_tag(&tag),
        "first",
    );
    let plan = first.job("plan");
    assert_eq!(plan.status, Status::Success, "{}", first.logs());
    assert_eq!(plan.outputs["publish"], "true");
    assert_eq!(plan.outputs["tag"], tag);
    assert_builds(&first);
    let publish = first.job("publish");
    assert!(
        matches!(publish.status, Status::Failure(_)),
        "{}",
        first.logs()
    );
    assert!(
        publish
            .step("Publish the GitHub release")
            .log
            .contains("HTTP 502"),
        "{}",
        first.logs()
    );
    assert_eq!(
        actions::release(&world, &tag)
            .expect("created")
            .assets
            .len(),
        3
    );

    // "Re-run failed jobs": the same artifacts, the release completed.
    let second = actions::rerun(&world, &first, "publish");
    second.assert_success();
    let log = &second.job("publish").step("Publish the GitHub release").log;
    // Three of them went up before the upload broke off.
    let lacking = format!(
        "uploading the {} files it lacks",
        release_files(VERSION).len() - 3
    );
    assert!(log.contains(&lacking), "no `{lacking}` in:\n{log}");
    let release = actions::release(&world, &tag).unwrap();
    assert!(
        !release.flags.iter().any(|f| f.starts_with("--prerelease")),
        "{:?}",
        release.flags
    );
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
    // Build provenance covers every archive, SBOM and the installer; each
    // archive built here has its SBOM attested, bound to the archive's hash.
    let attested = fs::read_to_string(second.run_dir.join("attestations")).unwrap();
    assert_eq!(attested.lines().count(), 5, "{attested}");
    // The first run attested them before its upload broke off, and the
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

    // Again: nothing to do. Then a published file with other bytes: refused.
    let third = actions::rerun(&world, &second, "publish");
    third.assert_success();
    let all = format!("already holds all {} files", release_files(VERSION).len());
    let log = &third.job("publish").step("Publish the GitHub release").log;
    assert!(log.contains(&all), "no `{all}` in:\n{log}");
    let asset = world
        .gh_state
        .join(format!("releases/{tag}/assets/SHA256SUMS"));
    fs::write(&asset, "not ours\n").unwrap();
    let fourth = actions::rerun(&world, &third, "publish");
    let log = &fourth.job("publish").step("Publish the GitHub release").log;
    assert!(
        log.contains("already has SHA256SUMS with other bytes")
            && log.contains("refusing to replace"),
        "{log}"
    );
    assert_eq!(
        fs::read_to_string(&asset).unwrap(),
        "not ours\n",
        "nothing was replaced"
    );
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
    let plan = report.job("plan");
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
    for job in report.jobs.iter().filter(|j| j.id != "plan") {
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
    let tag = format!("v{RC_VERSION}");
    let report = actions::run(&world, &release_yml(&world), &Event::push_tag(&tag), "run");
    report.assert_success();
    assert_builds(&report);
    let release = actions::release(&world, &tag).expect("published");
    assert!(
        release.flags.contains(&"--prerelease".to_owned()),
        "{:?}",
        release.flags
    );
    assert!(
        release.flags.contains(&"--latest=false".to_owned()),
        "{:?}",
        release.flags
    );
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
        assert_eq!(report.job("plan").outputs["publish"], "false", "{name}");
        assert_builds(&report);
        let publish = report.job("publish");
        for step in ["Attest build provenance", "Publish the GitHub release"] {
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

/// ci.yml's test job in full, `cargo test --workspace` included, with the
/// workflow's `CARGO_TERM_COLOR=always`: the xtask must find what it looks
/// for in cargo's output however it is coloured.
#[test]
fn ci_passes_on_a_push_to_main_with_cargo_colouring_its_output() {
    if !enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let world = world("ci");
    let ci = world.origin.join(".github/workflows/ci.yml");
    assert_eq!(actions::load(&ci)["env"]["CARGO_TERM_COLOR"], "always");
    let report = actions::run(&world, &ci, &Event::push_branch("main"), "run");
    report.assert_success();
    let test = report.job("test");
    for step in [
        "Install the tools the tests use",
        "Format",
        "Lint",
        "Test",
        "Check that the generated files match dist-workspace.toml",
    ] {
        assert_eq!(test.step(step).status, Status::Success, "{step}");
    }
    assert!(
        test.step("Test").log.contains("test result: ok"),
        "{}",
        test.step("Test").log
    );
    for other in ["windows", "macos"] {
        assert!(
            matches!(&report.job(other).status, Status::Skipped(why) if why.contains("not replayed"))
        );
    }
}
