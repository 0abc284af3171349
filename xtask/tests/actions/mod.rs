//! A replay of GitHub Actions workflows on this machine, close enough to a
//! hosted Linux runner to run the generated release.yml and ci.yml for real:
//!
//! - each job runs in a fresh depth-1 clone (the checkout stand-in), its
//!   `run:` steps with `bash --noprofile --norc -eo pipefail`, the
//!   workflow's, job's and step's `env:`, `CI=true`, the `GITHUB_*`
//!   variables and a fresh `GITHUB_OUTPUT`/`GITHUB_ENV`/`GITHUB_PATH` file
//!   per step, read back as GitHub does;
//! - `${{ }}` expressions (see `expr`), `if:`, `needs:`, matrices from
//!   `fromJSON`, whose jobs run at once, as on GitHub; jobs on other runners than `ubuntu-*` are recorded as not
//!   replayed;
//! - `uses:` steps get stand-ins with the real actions' semantics: checkout
//!   (depth 1, no tags), upload-artifact v4+ (hidden files left out, one
//!   artifact per name and run), download-artifact (one folder per artifact,
//!   straight into the path when only one matches), cache (nothing),
//!   attest (SBOMs: the file and its SBOM read, one line recorded per call),
//!   attest-build-provenance (a recorder that checks the checksums file and
//!   the job's permissions); `gh` is a recorder with release state;
//! - a step the workflow names that does not exist, an unknown action, an
//!   unpinned one or an expression the replay does not understand fails.
//!
//! A job on another runner image than `ubuntu-latest` (`ubuntu-22.04`,
//! where the release workflow rebuilds) runs its `run:` steps in another
//! Debian release's root than this machine's (`Image`): its own glibc, gcc,
//! binutils and git, no Python; this machine's toolchain, cargo home, the
//! pinned zig and the replay's directories are mounted at their own paths,
//! and qemu-aarch64-static is copied in, where the runner would install it.
//! GitHub's Arm runners (`ubuntu-24.04-arm`, where aarch64 Linux is built,
//! and `ubuntu-22.04-arm`, where it is rebuilt) cannot be had here: their
//! jobs run on this x86_64 machine (the `-22.04` one in the other root),
//! so aarch64 is cross-built and smoke-tested under qemu in the replay
//! where the real runner builds and runs it natively.
//!
//! Differences from a runner, on purpose: steps run as this process's user
//! (a runner's is not root but has passwordless sudo), and cargo's build
//! directory for the xtask's own compilation (`cargo xtask` in each clone)
//! is shared between jobs to save minutes; the release builds inside
//! `dist` set a build directory of their own, so they start from scratch in
//! every job as on GitHub.
#![allow(dead_code)] // each scenario uses a different part

pub mod calls;
pub mod expr;

use crate::common::debian;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// The repository GitHub would run in.
pub const REPOSITORY: &str = "example/fixture-greeter";

/// What starts a run.
#[derive(Debug, Clone)]
pub struct Event {
    /// `push`, `pull_request` or `workflow_dispatch`.
    pub name: &'static str,
    /// `refs/tags/v1.2.3`, `refs/heads/main` or `refs/pull/1/merge`.
    pub git_ref: String,
    /// The event's payload, `github.event`.
    pub payload: Value,
}

/// A push's `before` when the ref is new: GitHub's all-zero commit.
pub const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

impl Event {
    pub fn push_tag(tag: &str) -> Event {
        Event {
            name: "push",
            git_ref: format!("refs/tags/{tag}"),
            payload: json!({ "before": NO_COMMIT, "created": true }),
        }
    }
    /// Pull request `number`, whose merge commit GitHub keeps at
    /// `refs/pull/<number>/merge`, onto `base` (a branch at commit `base_sha`).
    pub fn pull_request(number: u32, base: &str, base_sha: &str, head: &str) -> Event {
        Event {
            name: "pull_request",
            git_ref: format!("refs/pull/{number}/merge"),
            payload: json!({
                "action": "synchronize",
                "number": number,
                "pull_request": {
                    "number": number,
                    "base": { "ref": base, "sha": base_sha },
                    "head": { "ref": head },
                },
            }),
        }
    }
    pub fn dispatch(git_ref: &str) -> Event {
        Event {
            name: "workflow_dispatch",
            git_ref: git_ref.to_owned(),
            payload: json!({}),
        }
    }
    fn ref_name(&self) -> &str {
        self.git_ref
            .strip_prefix("refs/tags/")
            .or_else(|| self.git_ref.strip_prefix("refs/heads/"))
            .or_else(|| self.git_ref.strip_prefix("refs/pull/"))
            .unwrap_or(&self.git_ref)
    }
    fn ref_type(&self) -> &str {
        if self.git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        }
    }
}

/// What a scenario's runs share: the repository, the fake GitHub, scratch space.
pub struct World {
    /// The git repository the checkout clones.
    pub origin: PathBuf,
    pub dir: PathBuf,
    /// The GitHub releases `gh` sees.
    pub gh_state: PathBuf,
    /// Stand-in programs, first on every step's PATH.
    pub bin: PathBuf,
    /// Cargo's build directory for the xtask's own builds, shared by all jobs.
    pub build_dir: PathBuf,
}

/// A scenario that passed leaves nothing in `dir`: every job's checkout holds
/// its own xtask build, and the pull request's whole-suite run gigabytes; a CI
/// run that kept them all ran out of disk. A failed one is kept to look at.
impl Drop for World {
    fn drop(&mut self) {
        crate::common::discard_scratch(&self.dir);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Success,
    Failure(String),
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub name: String,
    pub status: Status,
    pub log: String,
}

#[derive(Debug, Clone)]
pub struct JobReport {
    pub id: String,
    pub name: String,
    pub matrix: Value,
    pub status: Status,
    pub steps: Vec<StepReport>,
    pub outputs: BTreeMap<String, String>,
    pub workspace: PathBuf,
    /// How long its steps ran (zero for a job that did not run here).
    pub elapsed: Duration,
}

impl JobReport {
    pub fn step(&self, name: &str) -> &StepReport {
        self.steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "job {} has no step `{name}`: {:?}",
                    self.name,
                    self.steps.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
    }
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub workflow: PathBuf,
    pub event: Event,
    pub run_dir: PathBuf,
    pub jobs: Vec<JobReport>,
    /// One line per attestation the attest stand-in made.
    pub attestations: Vec<String>,
    /// Why GitHub refused to start the run (no job ran), as it says it.
    pub startup_failure: Option<String>,
}

impl RunReport {
    pub fn jobs_of(&self, id: &str) -> Vec<&JobReport> {
        self.jobs.iter().filter(|j| j.id == id).collect()
    }

    /// A job by its id; a job of a called workflow is `caller/called`.
    pub fn job(&self, id: &str) -> &JobReport {
        let jobs = self.jobs_of(id);
        assert_eq!(jobs.len(), 1, "job {id} ran {} times", jobs.len());
        jobs[0]
    }

    /// Every job that was replayed succeeded (or was skipped on purpose).
    pub fn assert_success(&self) {
        if let Some(why) = &self.startup_failure {
            panic!("{}: the run did not start: {why}", self.workflow.display());
        }
        for job in &self.jobs {
            if let Status::Failure(why) = &job.status {
                panic!(
                    "{}: job {} failed: {why}\n{}",
                    self.workflow.display(),
                    job.name,
                    job.failure_log()
                );
            }
        }
    }

    /// Everything every step printed, for a failure message.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for job in &self.jobs {
            for step in &job.steps {
                text.push_str(&format!(
                    "--- {} / {} ({:?})\n{}\n",
                    job.name, step.name, step.status, step.log
                ));
            }
        }
        text
    }
}

impl JobReport {
    pub fn failure_log(&self) -> String {
        self.steps
            .iter()
            .filter(|s| matches!(s.status, Status::Failure(_)))
            .map(|s| format!("--- step `{}`:\n{}", s.name, tail(&s.log, 80)))
            .collect()
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Reads a workflow file as GitHub does: YAML, into JSON values.
pub fn load(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let docs = yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one document expected", path.display());
    yaml_to_json(&docs[0])
}

fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .map(|f| json!(f))
            .unwrap_or(Value::String(s.clone())),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => panic!("unsupported YAML key {other:?}"),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Yaml::Null => Value::Null,
        Yaml::Alias(_) | Yaml::BadValue => panic!("YAML aliases are not replayed"),
    }
}

/// Whether `event` starts `workflow` at all (its `on:` filters).
pub fn triggers(workflow: &Value, event: &Event) -> bool {
    let Some(on) = workflow.get("on") else {
        return false;
    };
    let Some(trigger) = on.get(event.name) else {
        return false;
    };
    if event.name != "push" {
        return true;
    }
    let (filter, name) = match event.ref_type() {
        "tag" => ("tags", event.ref_name()),
        _ => ("branches", event.ref_name()),
    };
    match trigger.get(filter).and_then(Value::as_array) {
        Some(patterns) => patterns
            .iter()
            .filter_map(Value::as_str)
            .any(|p| filter_matches(p, name)),
        // A push filter on the other kind only: this kind does not trigger it.
        None => trigger
            .get(if filter == "tags" { "branches" } else { "tags" })
            .is_none(),
    }
}

/// GitHub's filter patterns: `*` (no `/`), `**`, `+` and `?` after a
/// character or class, `[…]` classes, `!` is not needed here.
pub fn filter_matches(pattern: &str, text: &str) -> bool {
    #[derive(Debug)]
    enum Atom {
        Char(char),
        Class(Vec<(char, char)>),
        Star,
        DoubleStar,
    }
    #[derive(Debug)]
    enum Rep {
        One,
        OneOrMore,
        ZeroOrOne,
    }
    let p: Vec<char> = pattern.chars().collect();
    let mut atoms: Vec<(Atom, Rep)> = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let atom = match p[i] {
            '*' if p.get(i + 1) == Some(&'*') => {
                i += 2;
                Atom::DoubleStar
            }
            '*' => {
                i += 1;
                Atom::Star
            }
            '[' => {
                let end = p[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|e| i + e)
                    .expect("closed class");
                let body = &p[i + 1..end];
                let mut ranges = Vec::new();
                let mut j = 0;
                while j < body.len() {
                    if body.get(j + 1) == Some(&'-') && j + 2 < body.len() {
                        ranges.push((body[j], body[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((body[j], body[j]));
                        j += 1;
                    }
                }
                i = end + 1;
                Atom::Class(ranges)
            }
            c => {
                i += 1;
                Atom::Char(c)
            }
        };
        let rep = match p.get(i) {
            Some('+') => {
                i += 1;
                Rep::OneOrMore
            }
            Some('?') => {
                i += 1;
                Rep::ZeroOrOne
            }
            _ => Rep::One,
        };
        atoms.push((atom, rep));
    }
    fn matches_at(atoms: &[(Atom, Rep)], text: &[char]) -> bool {
        let Some(((atom, rep), rest)) = atoms.split_first() else {
            return text.is_empty();
        };
        let one = |c: char| match atom {
            Atom::Char(x) => *x == c,
            Atom::Class(ranges) => ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)),
            Atom::Star => c != '/',
            Atom::DoubleStar => true,
        };
        let (min, max) = match (atom, rep) {
            (Atom::Star | Atom::DoubleStar, _) => (0, usize::MAX),
            (_, Rep::One) => (1, 1),
            (_, Rep::OneOrMore) => (1, usize::MAX),
            (_, Rep::ZeroOrOne) => (0, 1),
        };
        let run = text.iter().take_while(|&&c| one(c)).count().min(max);
        (min..=run).rev().any(|n| matches_at(rest, &text[n..]))
    }
    let text: Vec<char> = text.chars().collect();
    matches_at(&atoms, &text)
}

/// Runs every job of `workflow` for `event` in a new run directory `name`.
pub fn run(world: &World, workflow: &Path, event: &Event, name: &str) -> RunReport {
    let run_dir = world.dir.join("runs").join(name);
    let _ = fs::remove_dir_all(&run_dir);
    fs::create_dir_all(run_dir.join("artifacts")).unwrap();
    let mut report = RunReport {
        workflow: workflow.to_owned(),
        event: event.clone(),
        run_dir,
        jobs: Vec::new(),
        attestations: Vec::new(),
        startup_failure: None,
    };
    run_jobs(world, &mut report, None);
    report
}

/// Runs job `job` of an earlier run again, as "Re-run failed jobs" does:
/// same run, same artifacts, the outputs of the jobs it needs as they were.
pub fn rerun(world: &World, earlier: &RunReport, job: &str) -> RunReport {
    let mut report = earlier.clone();
    report.jobs.retain(|j| j.id != job);
    report.attestations.clear();
    run_jobs(world, &mut report, Some(job));
    report
}

fn run_jobs(world: &World, report: &mut RunReport, only: Option<&str>) {
    let workflow = load(&report.workflow);
    assert!(
        triggers(&workflow, &report.event),
        "{:?} does not start {}",
        report.event,
        report.workflow.display()
    );
    if let Err(why) = calls::validate(&report.workflow, &workflow) {
        report.startup_failure = Some(why);
        return;
    }
    let frame = Frame {
        workflow: &workflow,
        name: workflow["name"].as_str().unwrap_or("workflow").to_owned(),
        prefix: String::new(),
        name_prefix: String::new(),
        inputs: json!({}),
    };
    run_frame(world, report, &frame, only);
}

/// The workflow whose jobs are running: the one the event started, or one
/// a job of it calls (`jobs.<id>.uses`), whose jobs are reported as
/// `caller/called` and named `Caller name / Called name`, as GitHub shows them.
struct Frame<'a> {
    workflow: &'a Value,
    /// `github.workflow`: the started workflow's name, also inside a call.
    name: String,
    prefix: String,
    name_prefix: String,
    /// The `inputs` context of a called workflow.
    inputs: Value,
}

fn run_frame(world: &World, report: &mut RunReport, frame: &Frame, only: Option<&str>) {
    let jobs = frame.workflow["jobs"].as_object().expect("jobs").clone();
    let mut done: Vec<String> = jobs
        .keys()
        .filter(|id| {
            let full = format!("{}{id}", frame.prefix);
            report.jobs.iter().any(|j| j.id == full)
        })
        .cloned()
        .collect();
    while done.len() < jobs.len() {
        let ready = jobs
            .iter()
            .find(|(id, job)| !done.contains(id) && needs_of(job).iter().all(|n| done.contains(n)));
        let Some((id, job)) = ready else {
            panic!("jobs with needs that never run: {jobs:?}")
        };
        done.push(id.clone());
        if only.is_some_and(|o| o != id) {
            continue;
        }
        if job.get("uses").is_some() {
            let caller = run_call(world, report, frame, id, job);
            report.jobs.push(caller);
        } else {
            let reports = run_job(world, report, frame, id, job);
            report.jobs.extend(reports);
        }
    }
}

/// A job that calls a reusable workflow: the called jobs run as jobs of
/// this run (same artifacts, same event); the calling job's result is
/// theirs and its outputs are the called workflow's `on.workflow_call.outputs`.
fn run_call(
    world: &World,
    report: &mut RunReport,
    frame: &Frame,
    id: &str,
    job: &Value,
) -> JobReport {
    let full_id = format!("{}{id}", frame.prefix);
    let mut ctx = base_context(world, report, frame, id);
    let (needs, blocked) = needs_context(report, &needs_of(job), &frame.prefix);
    ctx["needs"] = needs;
    let name = expr::to_string(
        &job.get("name")
            .map_or(Ok(Value::String(id.to_owned())), |n| {
                interpolate_value(n, &ctx)
            })
            .unwrap_or_else(|e| panic!("job {id}: name: {e}")),
    );
    let mut caller = JobReport {
        id: full_id.clone(),
        name: format!("{}{name}", frame.name_prefix),
        matrix: Value::Null,
        status: Status::Success,
        steps: Vec::new(),
        outputs: BTreeMap::new(),
        workspace: PathBuf::new(),
        elapsed: Duration::ZERO,
    };
    assert!(
        job.get("strategy").is_none(),
        "job {id}: the replay does not run a matrix of calls"
    );
    if let Some(why) = blocked {
        caller.status = Status::Skipped(why);
        return caller;
    }
    if let Some(cond) = job.get("if").and_then(Value::as_str)
        && !expr::condition(cond, &ctx).unwrap_or_else(|e| panic!("job {id}: if: {e}"))
    {
        caller.status = Status::Skipped(format!("if: {cond}"));
        return caller;
    }
    let uses = job["uses"].as_str().expect("uses is a string");
    // Checked when the run started (calls::validate).
    let path = calls::called_path(&calls::repository_root(&report.workflow), uses).unwrap();
    let called = load(&path);
    let declared = calls::workflow_call(&called, uses).unwrap();
    let mut inputs = Map::new();
    for (input, spec) in declared["inputs"].as_object().into_iter().flatten() {
        if let Some(default) = spec.get("default") {
            let value = interpolate_value(default, &ctx)
                .unwrap_or_else(|e| panic!("{uses}: input {input}: {e}"));
            inputs.insert(input.clone(), value);
        }
    }
    for (input, value) in job["with"].as_object().into_iter().flatten() {
        let value = interpolate_value(value, &ctx)
            .unwrap_or_else(|e| panic!("job {id}: with.{input}: {e}"));
        let typed = match (declared["inputs"][input]["type"].as_str(), &value) {
            (Some("boolean"), Value::String(s)) => json!(s == "true"),
            _ => value,
        };
        inputs.insert(input.clone(), typed);
    }
    let inner = Frame {
        workflow: &called,
        name: frame.name.clone(),
        prefix: format!("{full_id}/"),
        name_prefix: format!("{} / ", caller.name),
        inputs: Value::Object(inputs),
    };
    let first = report.jobs.len();
    run_frame(world, report, &inner, None);
    let nested = &report.jobs[first..];
    if let Some(failed) = nested
        .iter()
        .find(|j| matches!(j.status, Status::Failure(_)))
    {
        caller.status = Status::Failure(format!("called job `{}` failed", failed.name));
    } else if nested
        .iter()
        .all(|j| matches!(j.status, Status::Skipped(_)))
    {
        caller.status = Status::Skipped("every called job was skipped".to_owned());
    }
    // The `jobs` context of the called workflow's outputs.
    let mut jobs = Map::new();
    for (called_id, _) in called["jobs"].as_object().into_iter().flatten() {
        let (context, _) = needs_context(report, std::slice::from_ref(called_id), &inner.prefix);
        jobs.insert(called_id.clone(), context[called_id].clone());
    }
    ctx["jobs"] = Value::Object(jobs);
    for (key, spec) in declared["outputs"].as_object().into_iter().flatten() {
        let value = interpolate_value(&spec["value"], &ctx)
            .unwrap_or_else(|e| panic!("{uses}: outputs.{key}: {e}"));
        caller.outputs.insert(key.clone(), expr::to_string(&value));
    }
    caller
}

fn needs_of(job: &Value) -> Vec<String> {
    match &job["needs"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The `needs` context of a job: each needed job's result and outputs.
fn needs_context(report: &RunReport, needs: &[String], prefix: &str) -> (Value, Option<String>) {
    let mut ctx = Map::new();
    let mut blocked = None;
    for need in needs {
        let jobs = report.jobs_of(&format!("{prefix}{need}"));
        let result = if jobs.iter().any(|j| matches!(j.status, Status::Failure(_))) {
            "failure"
        } else if jobs.is_empty() || jobs.iter().all(|j| matches!(j.status, Status::Skipped(_))) {
            "skipped"
        } else {
            "success"
        };
        if result != "success" && blocked.is_none() {
            blocked = Some(format!("job `{need}` it needs did not succeed ({result})"));
        }
        let mut outputs = Map::new();
        for job in &jobs {
            for (k, v) in &job.outputs {
                outputs.insert(k.clone(), Value::String(v.clone()));
            }
        }
        ctx.insert(
            need.clone(),
            json!({ "result": result, "outputs": outputs }),
        );
    }
    (Value::Object(ctx), blocked)
}

fn base_context(world: &World, report: &RunReport, frame: &Frame, job_id: &str) -> Value {
    let sha = git(
        &world.origin,
        &["rev-parse", &format!("{}^{{commit}}", report.event.git_ref)],
    );
    let pull = &report.event.payload["pull_request"];
    json!({
        "github": {
            "workflow": frame.name,
            "event_name": report.event.name,
            "event": report.event.payload,
            "base_ref": pull["base"]["ref"].as_str().unwrap_or_default(),
            "head_ref": pull["head"]["ref"].as_str().unwrap_or_default(),
            "ref": report.event.git_ref,
            "ref_name": report.event.ref_name(),
            "ref_type": report.event.ref_type(),
            "sha": sha.trim(),
            "repository": REPOSITORY,
            "repository_owner": REPOSITORY.split('/').next().unwrap(),
            "server_url": "https://github.com",
            "api_url": "https://api.github.com",
            "run_id": "4242",
            "run_attempt": "1",
            "job": job_id,
            "actor": "replay",
            "token": "ghs_replay_token",
        },
        "runner": { "os": "Linux", "arch": "X64" },
        "env": {},
        "matrix": {},
        "steps": {},
        // The replay's repository has a crates.io token as a secret.
        "secrets": { "GITHUB_TOKEN": "ghs_replay_token", "CARGO_REGISTRY_TOKEN": "cio_replay_token" },
        "job": { "status": "success" },
        "inputs": frame.inputs,
        "vars": {},
    })
}

fn run_job(
    world: &World,
    report: &RunReport,
    frame: &Frame,
    id: &str,
    job: &Value,
) -> Vec<JobReport> {
    let workflow = frame.workflow;
    let mut ctx = base_context(world, report, frame, id);
    let (needs, blocked) = needs_context(report, &needs_of(job), &frame.prefix);
    ctx["needs"] = needs;
    let skipped = |name: String, why: String| JobReport {
        id: format!("{}{id}", frame.prefix),
        name: format!("{}{name}", frame.name_prefix),
        matrix: Value::Null,
        status: Status::Skipped(why),
        steps: Vec::new(),
        outputs: BTreeMap::new(),
        workspace: PathBuf::new(),
        elapsed: Duration::ZERO,
    };
    if let Some(why) = blocked {
        return vec![skipped(id.to_owned(), why)];
    }
    let combos: Vec<Value> = match job.get("strategy").and_then(|s| s.get("matrix")) {
        None => vec![Value::Null],
        Some(m) => {
            let m = interpolate_value(m, &ctx).unwrap_or_else(|e| panic!("job {id}: matrix: {e}"));
            let include = m["include"].as_array().cloned().unwrap_or_default();
            assert!(
                m.as_object()
                    .is_some_and(|o| o.keys().all(|k| k == "include")),
                "job {id}: the replay runs include-only matrices, not {m}"
            );
            include
        }
    };
    // Each combination is decided in order, then those that run, run at
    // once, as GitHub runs a matrix's jobs on runners of their own.
    let mut reports: Vec<Option<JobReport>> = Vec::new();
    let mut pending = Vec::new();
    for (index, matrix) in combos.into_iter().enumerate() {
        let mut ctx = ctx.clone();
        ctx["matrix"] = matrix.clone();
        let name = job
            .get("name")
            .map_or(Ok(Value::String(id.to_owned())), |n| {
                interpolate_value(n, &ctx)
            });
        let name = expr::to_string(&name.unwrap_or_else(|e| panic!("job {id}: name: {e}")));
        let runs_on = expr::to_string(
            &interpolate_value(&job["runs-on"], &ctx)
                .unwrap_or_else(|e| panic!("job {id}: runs-on: {e}")),
        );
        // GitHub evaluates a job's `if:` before it looks for a runner.
        if let Some(cond) = job.get("if").and_then(Value::as_str)
            && !expr::condition(cond, &ctx).unwrap_or_else(|e| panic!("job {id}: if: {e}"))
        {
            reports.push(Some(JobReport {
                matrix,
                ..skipped(name, format!("if: {cond}"))
            }));
            continue;
        }
        if !runs_on.starts_with("ubuntu") {
            reports.push(Some(JobReport {
                matrix,
                ..skipped(name, format!("runs on {runs_on}: not replayed here"))
            }));
            continue;
        }
        let dir_name = if has_matrix(job) {
            format!("{}{id}-{index}", frame.prefix)
        } else {
            format!("{}{id}", frame.prefix)
        }
        .replace('/', "-");
        let job_dir = report.run_dir.join("jobs").join(dir_name);
        let image = Image::for_runner(world, &runs_on);
        pending.push((reports.len(), ctx, name, matrix, job_dir, image));
        reports.push(None);
    }
    let done: Vec<(usize, JobReport)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pending
            .into_iter()
            .map(|(at, ctx, name, matrix, job_dir, image)| {
                scope.spawn(move || {
                    let done = run_steps(
                        world,
                        report,
                        workflow,
                        id,
                        job,
                        ctx,
                        name,
                        matrix,
                        &job_dir,
                        image.as_ref(),
                    );
                    (at, done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    for (at, mut done) in done {
        done.id = format!("{}{id}", frame.prefix);
        done.name = format!("{}{}", frame.name_prefix, done.name);
        reports[at] = Some(done);
    }
    reports
        .into_iter()
        .map(|r| r.expect("every job reported"))
        .collect()
}

fn has_matrix(job: &Value) -> bool {
    job.get("strategy").is_some()
}

/// The environment every step starts from: this machine's, less what
/// belongs to the test harness (cargo's variables for the test, GitHub's).
fn host_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            let harness = (k.starts_with("CARGO") && k != "CARGO_HOME")
                || (k.starts_with("RUST") && !k.starts_with("RUSTUP"))
                || k.starts_with("GITHUB_")
                || k.starts_with("RUNNER_")
                || k == "CI"
                || k.starts_with("XTASK_");
            !harness
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn run_steps(
    world: &World,
    report: &RunReport,
    workflow: &Value,
    id: &str,
    job: &Value,
    mut ctx: Value,
    name: String,
    matrix: Value,
    job_dir: &Path,
    image: Option<&Image>,
) -> JobReport {
    let started = Instant::now();
    let _ = fs::remove_dir_all(job_dir);
    let workspace = job_dir.join("work");
    let temp = job_dir.join("tmp");
    fs::create_dir_all(&workspace).unwrap();
    fs::create_dir_all(&temp).unwrap();
    // The payload `github.event` is made of, as GitHub writes it for steps.
    let event_path = job_dir.join("event.json");
    fs::write(&event_path, report.event.payload.to_string()).unwrap();
    ctx["github"]["workspace"] = json!(workspace.to_string_lossy());
    ctx["runner"]["temp"] = json!(temp.to_string_lossy());
    let timeout = Duration::from_secs(60 * job["timeout-minutes"].as_u64().unwrap_or(360));
    let deadline = Instant::now() + timeout;

    let mut env: BTreeMap<String, String> = host_env().into_iter().collect();
    let github = ctx["github"].clone();
    for (key, value) in [
        ("CI", "true".to_owned()),
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_WORKFLOW", expr::to_string(&github["workflow"])),
        ("GITHUB_EVENT_NAME", expr::to_string(&github["event_name"])),
        ("GITHUB_REF", expr::to_string(&github["ref"])),
        ("GITHUB_REF_NAME", expr::to_string(&github["ref_name"])),
        ("GITHUB_REF_TYPE", expr::to_string(&github["ref_type"])),
        ("GITHUB_SHA", expr::to_string(&github["sha"])),
        ("GITHUB_REPOSITORY", REPOSITORY.to_owned()),
        (
            "GITHUB_REPOSITORY_OWNER",
            expr::to_string(&github["repository_owner"]),
        ),
        ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
        ("GITHUB_API_URL", "https://api.github.com".to_owned()),
        ("GITHUB_RUN_ID", "4242".to_owned()),
        ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
        ("GITHUB_JOB", id.to_owned()),
        ("GITHUB_ACTOR", "replay".to_owned()),
        ("GITHUB_WORKSPACE", workspace.to_string_lossy().into_owned()),
        ("RUNNER_OS", "Linux".to_owned()),
        ("RUNNER_ARCH", "X64".to_owned()),
        ("RUNNER_TEMP", temp.to_string_lossy().into_owned()),
        (
            "GITHUB_EVENT_PATH",
            event_path.to_string_lossy().into_owned(),
        ),
        // Not GitHub's: where the xtask's own compilation is shared between
        // jobs (see the module notes), and a marker that stops the replay
        // test from starting inside a replayed `cargo test`.
        (
            "CARGO_BUILD_BUILD_DIR",
            world.build_dir.to_string_lossy().into_owned(),
        ),
        ("XTASK_REPLAY_NESTED", "1".to_owned()),
    ] {
        env.insert(key.to_owned(), value);
    }
    if let Some(image) = image {
        // Compiled in another root, with its own glibc: kept apart from
        // what this machine runs.
        env.insert(
            "CARGO_BUILD_BUILD_DIR".to_owned(),
            image.build_dir.to_string_lossy().into_owned(),
        );
    }
    for scope in [&workflow["env"], &job["env"]] {
        for (key, value) in scope.as_object().into_iter().flatten() {
            let value = interpolate_value(value, &ctx)
                .unwrap_or_else(|e| panic!("job {id}: env {key}: {e}"));
            env.insert(key.clone(), expr::to_string(&value));
        }
    }
    let mut paths: Vec<String> = vec![world.bin.to_string_lossy().into_owned()];
    let mut steps_report = Vec::new();
    let mut failed: Option<String> = None;
    for (index, step) in job["steps"].as_array().expect("steps").iter().enumerate() {
        ctx["job"]["status"] = json!(if failed.is_some() {
            "failure"
        } else {
            "success"
        });
        ctx["env"] = json!(env);
        let step_name = step
            .get("name")
            .map(|n| {
                expr::to_string(
                    &interpolate_value(n, &ctx).unwrap_or_else(|e| panic!("step name: {e}")),
                )
            })
            .or_else(|| step.get("uses").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| format!("step {index}"));
        let cond = step
            .get("if")
            .and_then(Value::as_str)
            .unwrap_or("success()");
        let run_it =
            expr::condition(cond, &ctx).unwrap_or_else(|e| panic!("step `{step_name}`: if: {e}"));
        if !run_it {
            steps_report.push(StepReport {
                name: step_name,
                status: Status::Skipped(format!("if: {cond}")),
                log: String::new(),
            });
            continue;
        }
        let mut step_env = env.clone();
        for (key, value) in step["env"].as_object().into_iter().flatten() {
            let value = interpolate_value(value, &ctx)
                .unwrap_or_else(|e| panic!("step `{step_name}`: env {key}: {e}"));
            step_env.insert(key.clone(), expr::to_string(&value));
        }
        let files = job_dir.join(format!("step-{index}"));
        fs::create_dir_all(&files).unwrap();
        let output_file = files.join("output");
        let env_file = files.join("env");
        let path_file = files.join("path");
        for f in [&output_file, &env_file, &path_file] {
            fs::write(f, "").unwrap();
        }
        step_env.insert(
            "GITHUB_OUTPUT".into(),
            output_file.to_string_lossy().into_owned(),
        );
        step_env.insert("GITHUB_ENV".into(), env_file.to_string_lossy().into_owned());
        step_env.insert(
            "GITHUB_PATH".into(),
            path_file.to_string_lossy().into_owned(),
        );
        step_env.insert(
            "GITHUB_STEP_SUMMARY".into(),
            files.join("summary").to_string_lossy().into_owned(),
        );
        let host_path = env.get("PATH").cloned().unwrap_or_default();
        let mut full_path = paths.clone();
        full_path.push(host_path);
        step_env.insert("PATH".into(), full_path.join(":"));

        let result = if let Some(uses) = step.get("uses").and_then(Value::as_str) {
            let with = step
                .get("with")
                .map(|w| {
                    interpolate_value(w, &ctx)
                        .unwrap_or_else(|e| panic!("step `{step_name}`: with: {e}"))
                })
                .unwrap_or(json!({}));
            run_action(world, report, job, uses, &with, &workspace, &ctx)
        } else if let Some(script) = step.get("run").and_then(Value::as_str) {
            let script = expr::to_string(
                &expr::interpolate(script, &ctx)
                    .unwrap_or_else(|e| panic!("step `{step_name}`: run: {e}")),
            );
            let shell = step
                .get("shell")
                .or_else(|| job.pointer("/defaults/run/shell"))
                .or_else(|| workflow.pointer("/defaults/run/shell"))
                .and_then(Value::as_str)
                .unwrap_or("bash");
            assert_eq!(
                shell, "bash",
                "step `{step_name}`: the replay runs bash steps only"
            );
            let cwd = match step
                .get("working-directory")
                .or_else(|| job.pointer("/defaults/run/working-directory"))
                .or_else(|| workflow.pointer("/defaults/run/working-directory"))
                .and_then(Value::as_str)
            {
                Some(dir) => workspace.join(dir),
                None => workspace.clone(),
            };
            run_script(&script, &cwd, &step_env, &files, deadline, image)
        } else {
            panic!("step `{step_name}` has neither `uses` nor `run`");
        };
        let (status, log) = match result {
            Ok(log) => (Status::Success, log),
            Err((why, log)) => (Status::Failure(why), log),
        };
        // What the step left for the steps after it.
        if let Some(step_id) = step.get("id").and_then(Value::as_str) {
            let outputs = parse_key_values(&fs::read_to_string(&output_file).unwrap_or_default());
            ctx["steps"][step_id] = json!({
                "outputs": outputs,
                "outcome": if status == Status::Success { "success" } else { "failure" },
            });
        }
        for (k, v) in parse_key_values(&fs::read_to_string(&env_file).unwrap_or_default()) {
            env.insert(k, v);
        }
        for line in fs::read_to_string(&path_file)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            paths.insert(0, line.trim().to_owned());
        }
        if let Status::Failure(why) = &status
            && !step.get("continue-on-error").is_some_and(|c| c == true)
        {
            failed.get_or_insert_with(|| format!("step `{step_name}` failed: {why}"));
        }
        steps_report.push(StepReport {
            name: step_name,
            status,
            log,
        });
    }
    ctx["job"]["status"] = json!(if failed.is_some() {
        "failure"
    } else {
        "success"
    });
    let mut outputs = BTreeMap::new();
    for (key, value) in job["outputs"].as_object().into_iter().flatten() {
        let value = interpolate_value(value, &ctx)
            .unwrap_or_else(|e| panic!("job {id}: outputs.{key}: {e}"));
        outputs.insert(key.clone(), expr::to_string(&value));
    }
    JobReport {
        id: id.to_owned(),
        name,
        matrix,
        status: failed.map_or(Status::Success, Status::Failure),
        steps: steps_report,
        outputs,
        workspace,
        elapsed: started.elapsed(),
    }
}

/// Every string inside `value` with its expressions evaluated.
fn interpolate_value(value: &Value, ctx: &Value) -> Result<Value, String> {
    match value {
        Value::String(s) => expr::interpolate(s, ctx),
        Value::Array(items) => items
            .iter()
            .map(|i| interpolate_value(i, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), interpolate_value(v, ctx)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// `name=value` lines and `name<<DELIMITER` blocks, as in GITHUB_OUTPUT and GITHUB_ENV.
pub fn parse_key_values(text: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((key, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            values.insert(key.to_owned(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            values.insert(key.to_owned(), value.to_owned());
        }
    }
    values
}

fn run_script(
    script: &str,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    files: &Path,
    deadline: Instant,
    image: Option<&Image>,
) -> Result<String, (String, String)> {
    use std::os::unix::process::CommandExt;
    let script_file = files.join("script.sh");
    fs::write(&script_file, script).unwrap();
    let log_file = files.join("log");
    let log = fs::File::create(&log_file).unwrap();
    let bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail"];
    let mut command = match image {
        None => {
            let mut c = Command::new(bash[0]);
            c.args(&bash[1..])
                .arg(&script_file)
                .current_dir(cwd)
                .env_clear()
                .envs(env);
            c
        }
        Some(image) => {
            let mut inner: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            inner.extend(bash.iter().map(|s| s.to_string()));
            inner.push(script_file.to_string_lossy().into_owned());
            image.command(&files.join("root"), cwd, &inner)
        }
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting bash: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Ok(status);
        }
        if Instant::now() > deadline {
            // The whole process group, as the runner cancels a job.
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break Err("the job's timeout-minutes ran out".to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Some(image) = image {
        image.give_back(&files.join("root"));
    }
    let text = fs::read_to_string(&log_file).unwrap_or_default();
    match status {
        Ok(s) if s.success() => Ok(text),
        Ok(s) => Err((format!("exited with {s}"), text)),
        Err(why) => Err((why, text)),
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runner labels whose jobs run in another Debian release's root; every
/// other `ubuntu-*` label runs on this machine. The `-arm` ones stand in
/// for GitHub's Arm runners, which this x86_64 machine cannot be: their
/// jobs run here as x86_64 jobs would, cross-building aarch64.
const OTHER_IMAGES: &[&str] = &["ubuntu-22.04", "ubuntu-22.04-arm"];

/// The stand-in for another runner image: a kept Debian root of another
/// release than this machine's, entered afresh for each step.
pub struct Image {
    root: debian::Root,
    /// The directories mounted into it at their own paths.
    binds: Vec<PathBuf>,
    /// Cargo's build directory for the xtask compiled there.
    build_dir: PathBuf,
}

/// Makes each bind mount and copies in what a runner has installed (as
/// root here, `$root` the root; the arguments are `N dir… cwd owner env…`).
const IMAGE_SETUP: &str = r#"
n=$1
shift
while [ "$n" -gt 0 ]; do
    mkdir -p "$root$1"
    mount --bind "$1" "$root$1"
    n=$((n - 1))
    shift
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
if qemu=$(command -v qemu-aarch64-static); then cp "$qemu" "$root/usr/local/bin/"; fi
"#;

/// Runs the step in the root, as this process's user, with its environment.
const IMAGE_STEP: &str = r#"
shift $(($1 + 1))
cwd=$1 owner=$2
shift 2
cd "$cwd"
if [ "$owner" = 0:0 ]; then exec env -i "$@"; fi
exec setpriv --reuid="${owner%:*}" --regid="${owner#*:}" --clear-groups env -i "$@"
"#;

impl Image {
    /// The image `runs_on` names, or `None` when it is this machine's (or
    /// this machine cannot make the root: skipped here, failed under CI).
    fn for_runner(world: &World, runs_on: &str) -> Option<Image> {
        if !OTHER_IMAGES.contains(&runs_on) {
            return None;
        }
        let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
        let suite = if os.contains("VERSION_CODENAME=trixie") {
            "bookworm"
        } else {
            "trixie"
        };
        let root = debian::root(suite, &["ca-certificates", "git", "gcc", "libc6-dev"])?;
        let home = PathBuf::from(std::env::var("HOME").expect("HOME"));
        let from_env =
            |var: &str, default: PathBuf| std::env::var_os(var).map_or(default, PathBuf::from);
        let mut binds = vec![
            world
                .dir
                .parent()
                .expect("the replay's directory")
                .to_owned(),
            from_env("CARGO_HOME", home.join(".cargo")),
            from_env("RUSTUP_HOME", home.join(".rustup")),
        ];
        let zig = home.join(".cache/cargo-xtask");
        if zig.is_dir() {
            binds.push(zig);
        }
        Some(Image {
            root,
            binds,
            build_dir: world.build_dir.with_file_name(format!("build-dir-{suite}")),
        })
    }

    /// What root wrote in `dir` (the step's throwaway copy of the root),
    /// given back to this process's user.
    fn give_back(&self, dir: &Path) {
        let owner = debian::owner();
        if owner != "0:0" {
            let out = self
                .root
                .as_root("chown -R \"$1\" \"$2\"", &[&owner, &dir.to_string_lossy()]);
            assert!(out.status.success(), "chown {}", dir.display());
        }
    }

    fn command(&self, scratch: &Path, cwd: &Path, inner: &[String]) -> Command {
        let mut args: Vec<String> = vec![self.binds.len().to_string()];
        args.extend(self.binds.iter().map(|b| b.to_string_lossy().into_owned()));
        args.push(cwd.to_string_lossy().into_owned());
        args.push(debian::owner());
        args.extend(inner.iter().cloned());
        self.root.command(scratch, IMAGE_SETUP, IMAGE_STEP, &args)
    }
}

/// A `uses:` step, by the action it names; the pin must be a full SHA.
fn run_action(
    world: &World,
    report: &RunReport,
    job: &Value,
    uses: &str,
    with: &Value,
    workspace: &Path,
    ctx: &Value,
) -> Result<String, (String, String)> {
    let (action, pin) = uses.split_once('@').unwrap_or((uses, ""));
    if pin.len() != 40 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err((
            format!("`{uses}` is not pinned to a full commit SHA"),
            String::new(),
        ));
    }
    let known = |keys: &[&str]| -> Result<(), (String, String)> {
        for key in with.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !keys.contains(&key.as_str()) {
                return Err((format!("{action} has no input `{key}`"), String::new()));
            }
        }
        Ok(())
    };
    let input = |key: &str| with.get(key).map(expr::to_string);
    match action {
        "actions/checkout" => {
            known(&[
                "persist-credentials",
                "fetch-depth",
                "ref",
                "fetch-tags",
                "allow-unsafe-pr-checkout",
                "path",
            ])?;
            // `path`: where under the workspace the repository goes.
            let workspace = &match input("path") {
                Some(path) => workspace.join(path),
                None => workspace.to_owned(),
            };
            let git_ref = input("ref").unwrap_or_else(|| report.event.git_ref.clone());
            let branch = git_ref
                .strip_prefix("refs/tags/")
                .or_else(|| git_ref.strip_prefix("refs/heads/"))
                .unwrap_or(&git_ref);
            let depth = input("fetch-depth").unwrap_or_else(|| "1".to_owned());
            let _ = fs::remove_dir_all(workspace);
            let origin = format!("file://{}", world.origin.display());
            let log = if git_ref.starts_with("refs/pull/") {
                // A pull request's merge commit is no branch: fetched by its ref.
                let mut fetch = vec!["fetch", "--quiet", "--no-tags"];
                if depth != "0" {
                    fetch.extend(["--depth", &depth]);
                }
                fetch.extend([origin.as_str(), git_ref.as_str()]);
                let mut log = String::new();
                fs::create_dir_all(workspace).unwrap();
                for args in [
                    &["init", "--quiet"][..],
                    &fetch,
                    &["checkout", "--quiet", "--detach", "FETCH_HEAD"],
                ] {
                    let out = Command::new("git")
                        .args(args)
                        .current_dir(workspace)
                        .output()
                        .unwrap();
                    log.push_str(&String::from_utf8_lossy(&out.stderr));
                    if !out.status.success() {
                        return Err((format!("git {} failed", args[0]), log));
                    }
                }
                log
            } else {
                let mut clone = Command::new("git");
                clone.args(["clone", "--quiet", "--no-tags", "--branch", branch]);
                if depth != "0" {
                    clone.args(["--depth", &depth]);
                }
                let out = clone.arg(&origin).arg(workspace).output().unwrap();
                let log = String::from_utf8_lossy(&out.stderr).into_owned();
                if !out.status.success() {
                    return Err(("git clone failed".to_owned(), log));
                }
                log
            };
            Ok(format!("checked out {git_ref} at depth {depth}\n{log}"))
        }
        "actions/cache" => {
            known(&[
                "path",
                "key",
                "restore-keys",
                "enableCrossOsArchive",
                "fail-on-cache-miss",
                "lookup-only",
            ])?;
            Ok("cache: nothing restored (the replay starts cold, as a first run does)".to_owned())
        }
        "actions/upload-artifact" => {
            known(&[
                "name",
                "path",
                "if-no-files-found",
                "retention-days",
                "compression-level",
                "overwrite",
                "include-hidden-files",
                "archive",
            ])?;
            let name = input("name").unwrap_or_else(|| "artifact".to_owned());
            let store = report.run_dir.join("artifacts").join(&name);
            if store.exists() && input("overwrite").as_deref() != Some("true") {
                return Err((
                    format!("an artifact named `{name}` already exists in this run"),
                    String::new(),
                ));
            }
            let hidden = input("include-hidden-files").as_deref() == Some("true");
            let mut count = 0;
            for path in input("path")
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                let root = workspace.join(path);
                count += copy_tree(&root, &store, hidden);
            }
            if count == 0 {
                let mode = input("if-no-files-found").unwrap_or_else(|| "warn".to_owned());
                if mode == "error" {
                    return Err((
                        format!("no files were found for the artifact `{name}`"),
                        String::new(),
                    ));
                }
            }
            Ok(format!(
                "uploaded {count} files as artifact `{name}` (hidden files left out: {})",
                !hidden
            ))
        }
        "actions/download-artifact" => {
            known(&[
                "name",
                "pattern",
                "path",
                "merge-multiple",
                "github-token",
                "repository",
                "run-id",
                "artifact-ids",
                "digest-mismatch",
                "skip-decompress",
            ])?;
            let store = report.run_dir.join("artifacts");
            let mut names: Vec<String> = fs::read_dir(&store)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            let single = input("name");
            let selected: Vec<String> = match (&single, input("pattern")) {
                (Some(name), _) => {
                    if !names.contains(name) {
                        return Err((format!("no artifact named `{name}`"), String::new()));
                    }
                    vec![name.clone()]
                }
                (None, Some(pattern)) => names
                    .into_iter()
                    .filter(|n| filter_matches(&pattern, n))
                    .collect(),
                (None, None) => names,
            };
            let dest = workspace.join(input("path").unwrap_or_default());
            let merge = input("merge-multiple").as_deref() == Some("true");
            for name in &selected {
                let into = if single.is_some() || merge || selected.len() == 1 {
                    dest.clone()
                } else {
                    dest.join(name)
                };
                copy_tree(&store.join(name), &into, true);
            }
            Ok(format!(
                "downloaded {} artifact(s): {}",
                selected.len(),
                selected.join(", ")
            ))
        }
        "actions/attest-build-provenance" => {
            known(&[
                "subject-path",
                "subject-digest",
                "subject-name",
                "subject-checksums",
                "push-to-registry",
                "show-summary",
                "github-token",
            ])?;
            attest_permissions(job)?;
            let Some(sums) = input("subject-checksums") else {
                return Err((
                    "the replay expects subject-checksums".to_owned(),
                    String::new(),
                ));
            };
            let sums_path = workspace.join(&sums);
            let text = fs::read_to_string(&sums_path)
                .map_err(|e| (format!("{sums}: {e}"), String::new()))?;
            let mut subjects = Vec::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let (digest, name) = line
                    .split_once("  ")
                    .ok_or_else(|| (format!("{sums}: malformed line `{line}`"), String::new()))?;
                let file = sums_path.parent().unwrap().join(name);
                let bytes = fs::read(&file)
                    .map_err(|e| (format!("{}: {e}", file.display()), String::new()))?;
                let actual = sha256_hex(&bytes);
                if actual != digest {
                    return Err((
                        format!("{name} does not match its line in {sums}"),
                        String::new(),
                    ));
                }
                subjects.push(format!("{name} sha256:{digest}"));
            }
            fs::write(report.run_dir.join("attestations"), subjects.join("\n")).unwrap();
            let _ = ctx;
            Ok(format!("attested {} subjects", subjects.len()))
        }
        "actions/attest" => {
            known(&[
                "subject-path",
                "subject-digest",
                "subject-name",
                "subject-checksums",
                "subject-version",
                "sbom-path",
                "predicate-type",
                "predicate",
                "predicate-path",
                "push-to-registry",
                "create-storage-record",
                "show-summary",
                "github-token",
            ])?;
            attest_permissions(job)?;
            // As the action does: one subject file, one SBOM of at most 16 MB.
            let (Some(subject), Some(sbom)) = (input("subject-path"), input("sbom-path")) else {
                return Err((
                    "the replay expects subject-path and sbom-path".to_owned(),
                    String::new(),
                ));
            };
            let read = |path: &str| {
                fs::read(workspace.join(path)).map_err(|e| (format!("{path}: {e}"), String::new()))
            };
            let (subject_bytes, sbom_bytes) = (read(&subject)?, read(&sbom)?);
            if sbom_bytes.len() > 16 << 20 {
                return Err((format!("{sbom} is over 16 MB"), String::new()));
            }
            let doc: Value = serde_json::from_slice(&sbom_bytes)
                .map_err(|e| (format!("{sbom} is not JSON: {e}"), String::new()))?;
            if doc["bomFormat"] != "CycloneDX" {
                return Err((format!("{sbom} is not a CycloneDX SBOM"), String::new()));
            }
            let digest = sha256_hex(&subject_bytes);
            let name = subject.rsplit('/').next().unwrap_or(&subject);
            let line = format!(
                "{name} sha256:{digest} sbom:{}",
                sbom.rsplit('/').next().unwrap_or(&sbom)
            );
            let path = report.run_dir.join("sbom-attestations");
            let mut lines = fs::read_to_string(&path).unwrap_or_default();
            lines.push_str(&line);
            lines.push('\n');
            fs::write(&path, lines).unwrap();
            Ok(format!("attested the SBOM of {name}"))
        }
        other => Err((
            format!("the replay has no stand-in for the action `{other}`"),
            String::new(),
        )),
    }
}

/// What GitHub requires of a job that attests: it may mint an OIDC token
/// and write attestations.
fn attest_permissions(job: &Value) -> Result<(), (String, String)> {
    let permissions = &job["permissions"];
    for (scope, level) in [("id-token", "write"), ("attestations", "write")] {
        if permissions.get(scope).and_then(Value::as_str) != Some(level) {
            return Err((
                format!("attesting needs `permissions: {scope}: {level}` on the job"),
                String::new(),
            ));
        }
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Copies the files below `from` to `to`; returns how many. Hidden files
/// and directories are left out unless `hidden`.
fn copy_tree(from: &Path, to: &Path, hidden: bool) -> usize {
    let Ok(meta) = fs::metadata(from) else {
        return 0;
    };
    if meta.is_file() {
        fs::create_dir_all(to).unwrap();
        fs::copy(from, to.join(from.file_name().unwrap())).unwrap();
        return 1;
    }
    let mut count = 0;
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if !hidden && name.to_string_lossy().starts_with('.') {
            continue;
        }
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            count += copy_tree(&entry.path(), &to.join(&name), hidden);
        } else if ty.is_file() {
            fs::create_dir_all(to).unwrap();
            fs::copy(entry.path(), to.join(&name)).unwrap();
            count += 1;
        }
    }
    count
}

/// The `gh` stand-in: GitHub's releases of the repository kept in a
/// directory, answering the calls `cargo xtask publish` makes as gh 2.60.0
/// (cli/cli at 44ee177, read through `fetch`) and GitHub do:
///
/// - drafts and published releases are apart, and several drafts may claim
///   one tag (GitHub allows it); `gh release upload/edit TAG` find a release
///   as `shared.FetchRelease` does (pkg/cmd/release/shared/fetch.go
///   134-161, 169-199): the published release of the tag, else the draft
///   GraphQL's `release(tagName:)` gives — here the newest;
/// - `gh release create` with files and without `--draft` creates a draft,
///   uploads, publishes, and deletes the draft when the upload fails
///   (create/create.go 462-512: `draftWhileUploading`,
///   `cleanupDraftRelease`); a process killed meanwhile deletes nothing;
/// - an upload retries a 5xx three times before failing
///   (shared/upload.go 133-147); `gh release upload` finds the release by
///   tag (upload/upload.go 85), refuses a name it has (108: "asset under
///   the same name already exists") and cleans nothing up on failure;
/// - `gh release edit TAG --draft=false --latest=…` finds it the same way
///   (edit/edit.go 103) and publishes (147-170: `draft`, `make_latest`);
/// - `gh api` answers the REST paths publish uses: the release listing,
///   an asset's bytes, an asset's deletion.
///
/// Newer than that source, from GitHub's documentation ("Immutable
/// releases", "Verifying the integrity of a release", `gh release verify`
/// in gh's manual): with the repository setting on (`immutable-releases` in
/// the state), a release is immutable once published — assets can no
/// longer be added, changed or deleted ("Only release title and notes can
/// be modified") — and `gh release verify TAG` succeeds for an immutable
/// release only.
///
/// What the scenarios set in the state directory: `fail-after N` (the
/// upload fails, every retry, after N files: an outage), `kill-after N`
/// (after N files gh and the process that ran it are killed, as a
/// cancelled job is), `immutable-releases`.
pub fn write_gh(world: &World) {
    fs::create_dir_all(world.gh_state.join("releases")).unwrap();
    let script = GH
        .replace("@STATE@", &world.gh_state.to_string_lossy())
        .replace("@ORIGIN@", &world.origin.to_string_lossy())
        .replace("@REPO@", REPOSITORY);
    write_stand_in(world, "gh", &script);
}

/// The `cargo` stand-in: crates.io's side of `cargo publish` (an upload
/// recorded in the state, a version it has refused as cargo 1.95.0 refuses
/// it: "error: crate NAME@VERSION already exists on crates.io index",
/// checked against crates.io with itoa 1.0.0); the crate is really packaged
/// and built first. Every other cargo call is the real cargo's.
pub fn write_cargo(world: &World) {
    // The real cargo by its path (rustup's proxy, as on this test's PATH):
    // a lookup at run time could find another wrapper that looks for cargo
    // on PATH in turn (the cdeps suite's), and the two would call each other.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let real = std::env::split_paths(&path)
        .filter(|dir| *dir != world.bin)
        .map(|dir| dir.join("cargo"))
        .find(|cargo| cargo.is_file())
        .expect("cargo on PATH");
    let script = CARGO
        .replace("@STATE@", &world.gh_state.to_string_lossy())
        .replace("@REAL@", &real.to_string_lossy());
    write_stand_in(world, "cargo", &script);
}

/// The crates the `cargo` stand-in's crates.io holds: `name@version`.
pub fn crates_io(world: &World) -> Vec<String> {
    state_lines(world, "crates-io")
}

/// The lines of a stand-in's state file; none when it was never written.
fn state_lines(world: &World, file: &str) -> Vec<String> {
    fs::read_to_string(world.gh_state.join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// An executable stand-in named `name`, first on every step's PATH.
fn write_stand_in(world: &World, name: &str, script: &str) {
    fs::create_dir_all(&world.bin).unwrap();
    let path = world.bin.join(name);
    fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

const CARGO: &str = r#"#!/bin/bash
set -euo pipefail
state='@STATE@'
# The real cargo; PATH is kept, so what cargo runs sees the other stand-ins.
real='@REAL@'
if [ "${1:-}" != publish ] || printf '%s\n' "$@" | grep -qx -- --dry-run; then
    exec "$real" "$@"
fi
shift
package='' args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --package) package=$2; shift 2 ;;
        --locked) args+=("$1"); shift ;;
        *) echo "cargo stand-in: unexpected: cargo publish $1" >&2; exit 2 ;;
    esac
done
echo "cargo publish --package $package ${args[*]}" >> "$state/cargo-publish.log"
[ -n "${CARGO_REGISTRY_TOKEN:-}" ] || { echo "error: no token found, please run \`cargo login\`" >&2; exit 101; }
spec=$("$real" pkgid --package "$package")
version=${spec##*[@#]}
echo "    Updating crates.io index" >&2
if grep -qx "$package@$version" "$state/crates-io" 2>/dev/null; then
    echo "error: crate $package@$version already exists on crates.io index" >&2
    exit 101
fi
"$real" package --package "$package" "${args[@]}"
echo "$package@$version" >> "$state/crates-io"
echo "   Uploading $package v$version" >&2
echo "    Uploaded $package v$version to registry \`crates-io\`" >&2
"#;

/// A release as the stand-in holds it.
#[derive(Debug)]
pub struct Release {
    pub id: u64,
    pub tag: String,
    pub draft: bool,
    pub prerelease: bool,
    pub immutable: bool,
    /// The repository's "latest" release.
    pub latest: bool,
    /// What `gh release create` was given.
    pub flags: Vec<String>,
    /// Its notes: `--notes-file`'s text, or `(generated)`.
    pub notes: String,
    pub assets: BTreeMap<String, Vec<u8>>,
}

/// Every release of `tag`, drafts too, oldest first.
pub fn releases(world: &World, tag: &str) -> Vec<Release> {
    let root = world.gh_state.join("releases");
    let latest = fs::read_to_string(world.gh_state.join("latest")).unwrap_or_default();
    let mut ids: Vec<u64> = fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
        .collect();
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        let dir = root.join(id.to_string());
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        if read("tag").trim() != tag {
            continue;
        }
        let mut assets = BTreeMap::new();
        for entry in fs::read_dir(dir.join("assets")).unwrap() {
            let entry = entry.unwrap();
            assets.insert(
                entry.file_name().to_string_lossy().into_owned(),
                fs::read(entry.path()).unwrap(),
            );
        }
        out.push(Release {
            id,
            tag: tag.to_owned(),
            draft: dir.join("draft").exists(),
            prerelease: dir.join("prerelease").exists(),
            immutable: dir.join("immutable").exists(),
            latest: latest.trim() == id.to_string(),
            flags: read("flags").lines().map(str::to_owned).collect(),
            notes: read("notes"),
            assets,
        });
    }
    out
}

/// The published release of `tag`, else its only draft.
pub fn release(world: &World, tag: &str) -> Option<Release> {
    let mut all = releases(world, tag);
    match all.iter().position(|r| !r.draft) {
        Some(i) => Some(all.swap_remove(i)),
        None if all.len() == 1 => all.pop(),
        None => None,
    }
}

/// A release that was there before the scenario: `published` or a draft,
/// holding `assets`; a published one becomes the latest when `latest`.
pub fn seed_release(
    world: &World,
    tag: &str,
    published: bool,
    latest: bool,
    assets: &[(&str, &[u8])],
) -> u64 {
    let id_file = world.gh_state.join("next-id");
    let id: u64 = fs::read_to_string(&id_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1);
    fs::write(&id_file, (id + 1).to_string()).unwrap();
    let dir = world.gh_state.join("releases").join(id.to_string());
    fs::create_dir_all(dir.join("assets")).unwrap();
    fs::create_dir_all(dir.join("ids")).unwrap();
    fs::write(dir.join("tag"), tag).unwrap();
    fs::write(
        dir.join("created"),
        format!("2026-12-0{}T10:00:00Z", id.min(9)),
    )
    .unwrap();
    if !published {
        fs::write(dir.join("draft"), "").unwrap();
    }
    if latest {
        fs::write(world.gh_state.join("latest"), id.to_string()).unwrap();
    }
    for (n, (name, bytes)) in assets.iter().enumerate() {
        fs::write(dir.join("assets").join(name), bytes).unwrap();
        fs::write(
            dir.join("ids").join(name),
            (id * 1000 + n as u64).to_string(),
        )
        .unwrap();
    }
    id
}

/// The gh calls made so far, one line each.
pub fn gh_calls(world: &World) -> Vec<String> {
    state_lines(world, "calls.log")
}

const GH: &str = r#"#!/bin/bash
# The replay's stand-in for the GitHub CLI: GitHub releases in a directory
# (see `write_gh` for what it follows, and where from).
set -euo pipefail
state='@STATE@'
origin='@ORIGIN@'
echo "gh $*" >> "$state/calls.log"
[ -n "${GH_TOKEN:-}" ] || { echo "gh: GH_TOKEN is not set; gh cannot authenticate" >&2; exit 4; }
[ "${GH_REPO:-}" = '@REPO@' ] || { echo "gh: GH_REPO is '${GH_REPO:-}', not the repository the workflow runs in" >&2; exit 1; }
releases="$state/releases"
mkdir -p "$releases"

new_id() {
    local id
    id=$(cat "$state/next-id" 2>/dev/null || echo 1)
    echo $((id + 1)) > "$state/next-id"
    echo "$id"
}
is_draft() { [ -e "$releases/$1/draft" ]; }
# Immutable: published while the repository setting was on.
is_immutable() { [ -e "$releases/$1/immutable" ]; }
refuse_if_immutable() {
    if is_immutable "$1"; then
        echo "HTTP 422: Cannot modify an immutable release (https://docs.github.com/rest/releases)" >&2
        exit 1
    fi
}
# Newest first, as the REST listing and GraphQL give them.
ids_newest_first() { ls "$releases" | sort -rn; }
published_of() {
    local id
    for id in $(ids_newest_first); do
        if [ "$(cat "$releases/$id/tag")" = "$1" ] && ! is_draft "$id"; then echo "$id"; return; fi
    done
}
draft_of() {
    local id
    for id in $(ids_newest_first); do
        if [ "$(cat "$releases/$id/tag")" = "$1" ] && is_draft "$id"; then echo "$id"; return; fi
    done
}
# shared.FetchRelease: the published release of the tag, else a draft of it.
fetch_release() {
    local id
    id=$(published_of "$1")
    [ -n "$id" ] || id=$(draft_of "$1")
    [ -n "$id" ] || { echo "release not found" >&2; exit 1; }
    echo "$id"
}
html_url() {
    if is_draft "$1"; then
        echo "https://github.com/@REPO@/releases/tag/untagged-$1"
    else
        echo "https://github.com/@REPO@/releases/tag/$(cat "$releases/$1/tag")"
    fi
}
# Uploads `$2...` to release `$1`, failing or being killed as the state says.
upload_to() {
    local id=$1 file name asset_id
    shift
    for file in "$@"; do
        name=$(basename "$file")
        if [ -f "$state/kill-after" ] && [ "$(cat "$state/kill-after")" -le 0 ]; then
            rm -f "$state/kill-after"
            echo "gh stand-in: killed while uploading $name, as a cancelled job is" >&2
            kill -KILL "$PPID" $$
        fi
        if [ -f "$state/fail-after" ] && [ "$(cat "$state/fail-after")" -le 0 ]; then
            rm -f "$state/fail-after"
            # upload.go retries a 5xx three times; the outage outlasts them.
            echo "HTTP 502: Bad Gateway (https://uploads.github.com/repos/@REPO@/releases/$id/assets?name=$name)" >&2
            return 1
        fi
        for count in kill-after fail-after; do
            if [ -f "$state/$count" ]; then echo $(($(cat "$state/$count") - 1)) > "$state/$count"; fi
        done
        cp "$file" "$releases/$id/assets/$name"
        asset_id=$(cat "$state/next-asset-id" 2>/dev/null || echo 500000)
        echo $((asset_id + 1)) > "$state/next-asset-id"
        echo "$asset_id" > "$releases/$id/ids/$name"
    done
}
make_release() {
    local tag=$1 id
    id=$(new_id)
    mkdir -p "$releases/$id/assets" "$releases/$id/ids"
    echo "$tag" > "$releases/$id/tag"
    date -u +%Y-%m-%dT%H:%M:%SZ > "$releases/$id/created"
    touch "$releases/$id/draft"
    echo "$id"
}
publish_release() {
    local id=$1 latest=$2
    rm -f "$releases/$id/draft"
    [ ! -e "$state/immutable-releases" ] || touch "$releases/$id/immutable"
    # make_latest: "true" makes it the latest; "false" leaves the latest as is.
    if [ "$latest" = true ] && [ ! -e "$releases/$id/prerelease" ]; then echo "$id" > "$state/latest"; fi
}

case "${1:-}" in
api)
    shift
    method=GET accept=json paginate=no
    while [ $# -gt 1 ]; do
        case "$1" in
            -X) method=$2; shift 2 ;;
            -H) [ "$2" = "Accept: application/octet-stream" ] || { echo "gh stand-in: unexpected header $2" >&2; exit 2; }
                accept=raw; shift 2 ;;
            --paginate) paginate=yes; shift ;;
            *) echo "gh stand-in: unexpected: gh api $*" >&2; exit 2 ;;
        esac
    done
    path=${1:-}
    case "$method $path" in
    "GET repos/{owner}/{repo}/releases?per_page=100")
        [ "$paginate" = yes ] || { echo "gh stand-in: the listing is read with --paginate" >&2; exit 2; }
        printf '['
        sep=''
        for id in $(ids_newest_first); do
            draft=false pre=false imm=false
            is_draft "$id" && draft=true
            [ -e "$releases/$id/prerelease" ] && pre=true
            is_immutable "$id" && imm=true
            printf '%s{"id":%s,"tag_name":"%s","draft":%s,"prerelease":%s,"immutable":%s,"html_url":"%s","created_at":"%s","assets":[' \
                "$sep" "$id" "$(cat "$releases/$id/tag")" "$draft" "$pre" "$imm" "$(html_url "$id")" "$(cat "$releases/$id/created")"
            asep=''
            for asset in "$releases/$id/assets/"*; do
                [ -e "$asset" ] || continue
                name=$(basename "$asset")
                printf '%s{"id":%s,"name":"%s","size":%s,"state":"uploaded"}' "$asep" "$(cat "$releases/$id/ids/$name")" "$name" "$(stat -c %s "$asset")"
                asep=,
            done
            printf ']}'
            sep=,
        done
        printf ']\n'
        ;;
    "GET repos/{owner}/{repo}/releases/assets/"* | "DELETE repos/{owner}/{repo}/releases/assets/"*)
        asset_id=${path##*/}
        found=$(grep -lx -- "$asset_id" "$releases"/*/ids/* 2>/dev/null | head -n1 || true)
        [ -n "$found" ] || { echo "HTTP 404: Not Found" >&2; exit 1; }
        id=$(basename "$(dirname "$(dirname "$found")")") name=$(basename "$found")
        if [ "$method" = GET ]; then
            [ "$accept" = raw ] || { echo "gh stand-in: an asset's bytes need Accept: application/octet-stream" >&2; exit 2; }
            cat "$releases/$id/assets/$name"
        else
            refuse_if_immutable "$id"
            rm -f "$releases/$id/assets/$name" "$found"
        fi
        ;;
    *) echo "gh stand-in: gh api $method $path is not replayed" >&2; exit 2 ;;
    esac
    ;;
release)
    cmd=${2:-}
    shift 2
    case "$cmd" in
    create)
        tag=$1
        shift
        flags=() files=() draft=no pre=no notes='(generated)' latest='' from_file=no generate=no
        while [ $# -gt 0 ]; do
            case "$1" in
                --draft) draft=yes; flags+=("$1"); shift ;;
                --prerelease) pre=yes; flags+=("$1"); shift ;;
                --latest=*) latest=${1#--latest=}; flags+=("$1"); shift ;;
                --verify-tag) flags+=("$1"); shift ;;
                --generate-notes) generate=yes; flags+=("$1"); shift ;;
                --title) flags+=("$1=$2"); shift 2 ;;
                --notes-file) notes=$(cat "$2"); from_file=yes; flags+=("$1"); shift 2 ;;
                -*) echo "gh stand-in: unknown flag $1" >&2; exit 2 ;;
                *) files+=("$1"); shift ;;
            esac
        done
        # Both: the file's text, then GitHub's (create.go: Body + "\n" + generated).
        if [ "$from_file" = yes ] && [ "$generate" = yes ]; then notes="$notes"$'\n''(generated)'; fi
        if printf '%s\n' "${flags[@]}" | grep -qx -- --verify-tag; then
            git -C "$origin" rev-parse -q --verify "refs/tags/$tag" >/dev/null || { echo "tag $tag doesn't exist in the repo @REPO@, aborting due to --verify-tag flag" >&2; exit 1; }
        fi
        if [ "$draft" = no ] && [ -n "$(published_of "$tag")" ]; then
            echo "a release with the same tag name already exists: $tag" >&2
            exit 1
        fi
        id=$(make_release "$tag")
        printf '%s\n' "${flags[@]}" > "$releases/$id/flags"
        printf '%s' "$notes" > "$releases/$id/notes"
        [ "$pre" = no ] || touch "$releases/$id/prerelease"
        if [ ${#files[@]} -gt 0 ]; then
            if ! upload_to "$id" "${files[@]}"; then
                # cleanupDraftRelease, when gh made the draft only to upload.
                [ "$draft" = yes ] || rm -rf "${releases:?}/$id"
                exit 1
            fi
        fi
        [ "$draft" = yes ] || publish_release "$id" "${latest:-true}"
        html_url "$id"
        ;;
    upload)
        tag=$1
        shift
        id=$(fetch_release "$tag")
        refuse_if_immutable "$id"
        existing=()
        for file in "$@"; do
            case "$file" in -*) echo "gh stand-in: unexpected flag $file" >&2; exit 2 ;; esac
            [ ! -e "$releases/$id/assets/$(basename "$file")" ] || existing+=("$(basename "$file")")
        done
        [ ${#existing[@]} -eq 0 ] || { echo "asset under the same name already exists: [${existing[*]}]" >&2; exit 1; }
        upload_to "$id" "$@"
        ;;
    edit)
        tag=$1
        shift
        id=$(fetch_release "$tag")
        latest='' publish=no pre=''
        while [ $# -gt 0 ]; do
            case "$1" in
                --draft=false) publish=yes; shift ;;
                --latest=true | --latest=false) latest=${1#--latest=}; shift ;;
                --prerelease=true | --prerelease=false) pre=${1#--prerelease=}; shift ;;
                *) echo "gh stand-in: unexpected: gh release edit $tag $1" >&2; exit 2 ;;
            esac
        done
        [ "$publish" = yes ] || { echo "gh stand-in: only publishing a draft is replayed" >&2; exit 2; }
        is_draft "$id" || refuse_if_immutable "$id"
        case "$pre" in true) touch "$releases/$id/prerelease" ;; false) rm -f "$releases/$id/prerelease" ;; esac
        publish_release "$id" "${latest:-true}"
        html_url "$id"
        ;;
    verify)
        [ "${1:-}" != --help ] || { echo "Verify the attestation for a release"; exit 0; }
        tag=$1
        id=$(published_of "$tag")
        [ -n "$id" ] || { echo "release not found" >&2; exit 1; }
        is_immutable "$id" || { echo "no attestation found for release $tag: it is not an immutable release" >&2; exit 1; }
        echo "Resolved tag $tag"
        echo "Loaded attestation from GitHub API"
        echo "Verification succeeded! $tag is present with the following $(ls "$releases/$id/assets" | wc -l) assets"
        ;;
    *) echo "gh stand-in: gh release $cmd is not replayed" >&2; exit 2 ;;
    esac
    ;;
*) echo "gh stand-in: only 'gh release' and 'gh api' are replayed, not: gh $*" >&2; exit 2 ;;
esac
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_filter_patterns() {
        let p = "v[0-9]+.[0-9]+.[0-9]+*";
        for tag in ["v1.2.3", "v10.0.1", "v1.2.3-rc.1"] {
            assert!(filter_matches(p, tag), "{tag}");
        }
        for tag in ["1.2.3", "v1.2", "va.b.c", "v1.2.3/x"] {
            assert!(!filter_matches(p, tag), "{tag}");
        }
        assert!(filter_matches("dist-*", "dist-x86_64-unknown-linux-musl"));
        assert!(!filter_matches("dist-*", "sbom"));
    }

    #[test]
    fn outputs_are_read_as_github_writes_them() {
        let values = parse_key_values("a=1\nb<<EOF\nline 1\nline 2\nEOF\nc=x=y\n");
        assert_eq!(values["a"], "1");
        assert_eq!(values["b"], "line 1\nline 2");
        assert_eq!(values["c"], "x=y");
    }
}
