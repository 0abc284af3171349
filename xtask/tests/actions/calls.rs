//! Jobs that call a reusable workflow (`jobs.<id>.uses`), checked as GitHub
//! checks them when a run starts: before any job runs, a mistake here fails
//! the whole run ("startup failure"), even in a job whose `if:` would skip
//! it. The rules replayed:
//!
//! - a calling job has only the keys GitHub allows beside `uses`;
//! - the called file exists in this repository and has `on: workflow_call`;
//! - `with:` names only declared inputs, and every required input;
//! - a called job may not ask for more `GITHUB_TOKEN` permissions than the
//!   calling job grants (its own `permissions`, else its workflow's, else
//!   the repository's default, read-only), scope by scope: "The nested job
//!   'publish' is requesting 'contents: write', but is only allowed
//!   'contents: read'".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The keys GitHub allows in a job that calls a reusable workflow.
const CALLING_JOB_KEYS: &[&str] = &[
    "name",
    "uses",
    "with",
    "secrets",
    "needs",
    "if",
    "permissions",
    "strategy",
    "concurrency",
];

/// The `GITHUB_TOKEN` permission scopes.
const SCOPES: &[&str] = &[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
];

type Permissions = BTreeMap<&'static str, u8>;

fn level_name(level: u8) -> &'static str {
    match level {
        0 => "none",
        1 => "read",
        _ => "write",
    }
}

/// A `permissions:` value, or None where the key is absent.
fn permissions(value: &Value) -> Result<Option<Permissions>, String> {
    let all = |level: u8| SCOPES.iter().map(|s| (*s, level)).collect();
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s == "read-all" => Ok(Some(all(1))),
        Value::String(s) if s == "write-all" => Ok(Some(all(2))),
        Value::Object(map) => {
            let mut granted = all(0);
            for (scope, level) in map {
                let Some(scope) = SCOPES.iter().find(|s| **s == scope) else {
                    return Err(format!("unknown permission scope `{scope}`"));
                };
                let level = match level.as_str() {
                    Some("none") => 0,
                    Some("read") => 1,
                    Some("write") => 2,
                    _ => return Err(format!("`{scope}: {level}` is not none, read or write")),
                };
                granted.insert(scope, level);
            }
            Ok(Some(granted))
        }
        other => Err(format!("`permissions: {other}` is not understood")),
    }
}

/// A repository's default token, as GitHub sets it for new repositories:
/// read the contents and packages, nothing else.
fn restricted_default() -> Permissions {
    SCOPES
        .iter()
        .map(|s| (*s, u8::from(*s == "contents" || *s == "packages")))
        .collect()
}

/// The repository a workflow file belongs to: `<root>/.github/workflows/x.yml`.
pub fn repository_root(workflow: &Path) -> PathBuf {
    workflow
        .ancestors()
        .nth(3)
        .expect("a workflow lives in .github/workflows")
        .to_owned()
}

/// The file a calling job's `uses:` names; only local calls are replayed.
pub fn called_path(root: &Path, uses: &str) -> Result<PathBuf, String> {
    let Some(local) = uses.strip_prefix("./") else {
        return Err(format!(
            "the replay calls workflows of this repository only (`./.github/workflows/…`), not `{uses}`"
        ));
    };
    if !local.starts_with(".github/workflows/") || local.contains('@') {
        return Err(format!(
            "`{uses}`: a local reusable workflow is `./.github/workflows/<file>`, without a ref"
        ));
    }
    let path = root.join(local);
    if !path.is_file() {
        return Err(format!("`{uses}`: no such workflow in the repository"));
    }
    Ok(path)
}

/// The `on.workflow_call` of a called workflow.
pub fn workflow_call(called: &Value, uses: &str) -> Result<Value, String> {
    match called.pointer("/on/workflow_call") {
        Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(call) => Ok(call.clone()),
        None => Err(format!(
            "`{uses}` is not a reusable workflow: it has no `on: workflow_call`"
        )),
    }
}

/// GitHub's checks of every call in `workflow`, made when a run starts.
pub fn validate(path: &Path, workflow: &Value) -> Result<(), String> {
    let file = path.display();
    let granted = match permissions(&workflow["permissions"]) {
        Ok(p) => p.unwrap_or_else(restricted_default),
        Err(why) => return Err(format!("{file}: {why}")),
    };
    check_calls(&repository_root(path), workflow, &granted)
        .map_err(|why| format!("Invalid workflow file {file}: {why}"))
}

fn check_calls(
    root: &Path,
    workflow: &Value,
    workflow_granted: &Permissions,
) -> Result<(), String> {
    for (id, job) in workflow["jobs"].as_object().into_iter().flatten() {
        let Some(uses) = job.get("uses").and_then(Value::as_str) else {
            continue;
        };
        let error = |why: String| format!("error in job `{id}`: {why}");
        for key in job.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !CALLING_JOB_KEYS.contains(&key.as_str()) {
                return Err(error(format!(
                    "`{key}` is not allowed in a job that calls a reusable workflow"
                )));
            }
        }
        let path = called_path(root, uses).map_err(error)?;
        let called = super::load(&path);
        let call = workflow_call(&called, uses).map_err(error)?;
        let declared = call["inputs"].as_object().cloned().unwrap_or_default();
        let with = job["with"].as_object().cloned().unwrap_or_default();
        for key in with.keys() {
            if !declared.contains_key(key) {
                return Err(error(format!(
                    "Invalid input, {key} is not defined in the referenced workflow."
                )));
            }
        }
        for (name, input) in &declared {
            if input["required"] == Value::Bool(true) && !with.contains_key(name) {
                return Err(error(format!(
                    "Input {name} is required, but not provided while calling."
                )));
            }
        }
        let granted = permissions(&job["permissions"])
            .map_err(error)?
            .unwrap_or_else(|| workflow_granted.clone());
        let called_default = permissions(&called["permissions"]).map_err(error)?;
        for (nested_id, nested) in called["jobs"].as_object().into_iter().flatten() {
            let asked = permissions(&nested["permissions"])
                .map_err(error)?
                .or_else(|| called_default.clone());
            if let Some(asked) = asked {
                let over: Vec<&str> = SCOPES
                    .iter()
                    .copied()
                    .filter(|s| asked[s] > granted[s])
                    .collect();
                if !over.is_empty() {
                    let list = |p: &Permissions| {
                        over.iter()
                            .map(|s| format!("{s}: {}", level_name(p[s])))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    return Err(error(format!(
                        "The nested job '{nested_id}' is requesting '{}', but is only allowed '{}'.",
                        list(&asked),
                        list(&granted)
                    )));
                }
            }
        }
        // A called workflow's own calls get what its jobs were granted.
        let inner = called_default.unwrap_or_else(|| granted.clone());
        check_calls(root, &called, &inner).map_err(|why| error(format!("in `{uses}`: {why}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A repository holding `files` (path → text), and the first one's validation.
    fn validate_in(name: &str, files: &[(&str, &str)]) -> Result<(), String> {
        let root = std::env::temp_dir().join(format!("replay-calls-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let first = root.join(files[0].0);
        let result = validate(&first, &super::super::load(&first));
        let _ = fs::remove_dir_all(&root);
        result
    }

    const CALLER: &str = "on: pull_request\npermissions:\n  contents: read\njobs:\n  release:\n    uses: ./.github/workflows/release.yml\n";

    /// The example: a release workflow whose publish job would be
    /// skipped on a pull request still fails the whole run at its start.
    const RELEASE: &str = "on:\n  workflow_call:\njobs:\n  build:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - run: cargo xtask dist\n  publish:\n    if: false\n    needs: build\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n      id-token: write\n    steps:\n      - run: cargo xtask publish\n";

    #[test]
    fn a_called_job_may_not_ask_for_more_than_the_caller_grants_even_if_skipped() {
        let err = validate_in(
            "over",
            &[
                (".github/workflows/ci.yml", CALLER),
                (".github/workflows/release.yml", RELEASE),
            ],
        )
        .unwrap_err();
        assert!(
            err.contains(
                "The nested job 'publish' is requesting 'contents: write, id-token: write', \
                 but is only allowed 'contents: read, id-token: none'."
            ),
            "{err}"
        );
        // The caller's job may grant more than its workflow does.
        let granting = CALLER.replace(
            "    uses:",
            "    permissions:\n      contents: write\n      id-token: write\n    uses:",
        );
        validate_in(
            "granted",
            &[
                (".github/workflows/ci.yml", &granting),
                (".github/workflows/release.yml", RELEASE),
            ],
        )
        .unwrap();
        // A build-only workflow is callable from a read-only caller.
        let build_only = RELEASE[..RELEASE.find("  publish:").unwrap()].to_owned();
        validate_in(
            "build-only",
            &[
                (".github/workflows/ci.yml", CALLER),
                (".github/workflows/release.yml", &build_only),
            ],
        )
        .unwrap();
        // No permissions anywhere in the caller: the repository's read-only default.
        let no_permissions = CALLER.replace("permissions:\n  contents: read\n", "");
        let err = validate_in(
            "default",
            &[
                (".github/workflows/ci.yml", &no_permissions),
                (".github/workflows/release.yml", RELEASE),
            ],
        )
        .unwrap_err();
        assert!(err.contains("'publish' is requesting"), "{err}");
    }

    #[test]
    fn calls_name_a_reusable_workflow_of_this_repository_with_its_inputs() {
        let called = "on:\n  workflow_call:\n    inputs:\n      build:\n        type: boolean\n        default: true\n      name:\n        type: string\n        required: true\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo xtask plan\n";
        let caller = |job: &str| format!("on: push\njobs:\n  call:\n{job}");
        let cases = [
            (
                "    uses: ./.github/workflows/called.yml\n    with:\n      name: x\n      nope: 1\n",
                "Invalid input, nope is not defined",
            ),
            (
                "    uses: ./.github/workflows/called.yml\n",
                "Input name is required",
            ),
            (
                "    uses: ./.github/workflows/called.yml\n    runs-on: ubuntu-latest\n    with:\n      name: x\n",
                "`runs-on` is not allowed",
            ),
            (
                "    uses: ./.github/workflows/missing.yml\n",
                "no such workflow",
            ),
            (
                "    uses: ./.github/workflows/plain.yml\n",
                "no `on: workflow_call`",
            ),
        ];
        for (job, expected) in cases {
            let err = validate_in(
                "inputs",
                &[
                    (".github/workflows/ci.yml", &caller(job)),
                    (".github/workflows/called.yml", called),
                    (".github/workflows/plain.yml", "on: push\njobs: {}\n"),
                ],
            )
            .unwrap_err();
            assert!(err.contains(expected), "{job}: {err}");
        }
        validate_in(
            "ok",
            &[
                (
                    ".github/workflows/ci.yml",
                    &caller("    uses: ./.github/workflows/called.yml\n    with:\n      name: x\n"),
                ),
                (".github/workflows/called.yml", called),
            ],
        )
        .unwrap();
    }

    /// What this repository generates passes GitHub's checks of its calls.
    #[test]
    fn the_generated_workflows_call_build_yml_as_github_allows() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in ["ci.yml", "release.yml"] {
            let path = root.join(".github/workflows").join(file);
            validate(&path, &super::super::load(&path)).unwrap();
        }
    }
}
