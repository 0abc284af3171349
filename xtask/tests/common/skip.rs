//! Skipping a test this machine cannot run: one line naming the test and
//! what it needs, printed past libtest's capture so it shows in a passing
//! run, and kept for the run's summary, which `zz_skipped.rs` prints at the
//! end. Under `CI=true` a skip is a failure: `.ci/run` installs everything.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

/// Where this run's skips are kept: one file per `cargo test` process.
fn record() -> PathBuf {
    super::root()
        .join("target")
        .join("test-skips")
        .join(format!("{}.txt", run_id()))
}

/// The `cargo test` (or nextest) run this test binary belongs to: its
/// parent's process id and start time, which no other run shares.
pub fn run_id() -> String {
    let parent = std::os::unix::process::parent_id();
    let started = fs::read_to_string(format!("/proc/{parent}/stat"))
        .ok()
        .and_then(|stat| {
            // Field 22, counting from 1, and the name (field 2) may hold spaces.
            let after_name = stat.rsplit_once(')')?.1.to_owned();
            after_name.split_whitespace().nth(19).map(str::to_owned)
        })
        .unwrap_or_default();
    format!("{parent}-{started}")
}

/// `binary::test`: the test binary's name without cargo's hash, and the
/// test's, which libtest gives the thread it runs on.
fn test_name() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let binary = stem.rsplit_once('-').map_or(stem.as_str(), |(b, _)| b);
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
}

/// Skips the calling test for `why`, which names what is missing and how to
/// get it (``needs `xz` (apt-get install xz-utils)``); fails under `CI=true`.
pub fn skip(why: &str) {
    let test = test_name();
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "{test} is skipped under CI=true, where .ci/run installs what it needs: {why}"
    );
    let line = format!("SKIPPED {test}: {why}\n");
    // Past libtest's capture: `eprintln!` would show only if the test failed.
    let _ = std::io::stderr().write_all(line.as_bytes());
    let file = record();
    let _ = fs::create_dir_all(file.parent().unwrap());
    // One short append per line: lines of tests running at once do not mix.
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(&file) {
        let _ = f.write_all(format!("{test}\t{why}\n").as_bytes());
    }
}

/// Whether this test runs inside a workflow the replay test is replaying
/// (`XTASK_REPLAY_NESTED`), where it is left out, saying so: the run around
/// the replay ran it on this same machine a moment ago, and `what` says
/// what it proves that the replay would only prove again.
pub fn inside_replay(what: &str) -> bool {
    if std::env::var_os("XTASK_REPLAY_NESTED").is_none() {
        return false;
    }
    let line = format!(
        "SKIPPED {}: inside a replayed workflow; the run around it proves {what}\n",
        test_name()
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    true
}

/// Whether `tool` is on PATH; without it the test is skipped (see [`skip`]).
pub fn require_tool(tool: &str, install: &str) -> bool {
    require_tools(&[(tool, install)])
}

/// Whether every `(tool, how to install it)` is on PATH; else the test is
/// skipped once, naming all that are missing.
pub fn require_tools(tools: &[(&str, &str)]) -> bool {
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
    };
    let missing: Vec<String> = tools
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, install)| format!("`{tool}` ({install})"))
        .collect();
    if !missing.is_empty() {
        skip(&format!("needs {}", missing.join(", ")));
    }
    missing.is_empty()
}

/// The smoke runs `dist` or `verify` skipped, as their output says (`smoke
/// test SKIPPED: <why>`): each reason is a skip of the calling test.
pub fn skipped_smoke_runs(stderr: &str) -> usize {
    let reasons: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            l.split_once("smoke test SKIPPED: ")
                .map(|(_, why)| why.trim())
        })
        .collect();
    let mut seen: Vec<&str> = reasons.clone();
    seen.sort_unstable();
    seen.dedup();
    for why in seen {
        skip(&format!("a smoke run cannot run here: {why}"));
    }
    reasons.len()
}

/// What a skip's `why` says is missing: the names it puts in backticks
/// (`` needs `xz` (apt-get install xz-utils) `` → `xz`), else all of it.
fn missing(why: &str) -> Vec<String> {
    let quoted: Vec<String> = why
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    if quoted.is_empty() {
        vec![why.to_owned()]
    } else {
        quoted
    }
}

/// The install commands a skip's `why` names, as `(apt-get install xz-utils)`.
fn installs(why: &str) -> Vec<(String, Vec<String>)> {
    why.split('(')
        .skip(1)
        .filter_map(|part| part.split_once(')').map(|(inside, _)| inside))
        .filter_map(|inside| {
            let words: Vec<&str> = inside.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "install")?;
            let tool = words[..=at].join(" ");
            let known = [
                "apt-get install",
                "pip install",
                "npm install",
                "cargo install",
            ];
            known.contains(&tool.as_str()).then(|| {
                (
                    tool,
                    words[at + 1..].iter().map(|w| (*w).to_owned()).collect(),
                )
            })
        })
        .collect()
}

/// This run's skips in one line: how many tests, what they lack (with how
/// many tests lack each) and the commands that install it; `None` when
/// nothing was skipped. The record is removed (with any left by runs that
/// ended before their summary, a day on).
pub fn summary() -> Option<String> {
    let file = record();
    let text = fs::read_to_string(&file).ok();
    let _ = fs::remove_file(&file);
    let day = std::time::Duration::from_secs(24 * 3600);
    for old in fs::read_dir(file.parent()?).into_iter().flatten().flatten() {
        let age = old.metadata().and_then(|m| m.modified()).ok();
        if age.and_then(|t| t.elapsed().ok()).is_some_and(|a| a > day) {
            let _ = fs::remove_file(old.path());
        }
    }
    summarise(&text?)
}

/// [`summary`] of a record's lines (`test\twhy`).
pub fn summarise(record: &str) -> Option<String> {
    use std::collections::BTreeSet;
    let mut lacking: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut commands: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut tests = BTreeSet::new();
    for (test, why) in record.lines().filter_map(|l| l.split_once('\t')) {
        tests.insert(test);
        for what in missing(why) {
            lacking.entry(what).or_default().insert(test);
        }
        for (tool, args) in installs(why) {
            commands.entry(tool).or_default().extend(args);
        }
    }
    if tests.is_empty() {
        return None;
    }
    let mut counted: Vec<(&String, usize)> = lacking.iter().map(|(w, t)| (w, t.len())).collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let lacks: Vec<String> = counted.iter().map(|(w, n)| format!("{w} ({n})")).collect();
    let get: Vec<String> = commands
        .iter()
        .map(|(tool, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            format!("{tool} {}", args.join(" "))
        })
        .collect();
    Some(format!(
        "SKIPPED {} test(s) of this run, each named above, for what this machine lacks \
         (tests that need it): {}. To run them: {}; or `.ci/run tools`, which installs it all",
        tests.len(),
        lacks.join(", "),
        get.join("; ")
    ))
}
