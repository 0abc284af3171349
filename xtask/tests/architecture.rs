//! The architecture invariants of ARCHITECTURE.md, checked on the source:
//! layers import only layers below them, commands do not import commands,
//! the import graph has no cycle, only the edge layers run processes, and
//! no module grows past what a reader holds in their head.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom: a layer may import those after it, never those before.
const LAYERS: &[&str] = &[
    "cmd", "check", "generate", "build", "archive", "run", "project", "model",
];

/// Layers whose modules may start processes (cargo, rustup, git, the sandbox).
const RUN_PROCESSES: &[&str] = &["cmd", "build", "run", "project"];

/// Non-test lines a module may have.
const MAX_LINES: usize = 420;

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code before the module's tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let Some(at) = text.find("\nmod tests {") else {
        return text;
    };
    // From its `#[cfg(test)]` (or `#[cfg(all(test, unix))]`) line.
    let start = text[..at]
        .rfind("\n#[cfg(")
        .filter(|&i| !text[i..at].trim_start().contains('\n'))
        .unwrap_or(at);
    text[..start].to_owned()
}

/// `layer::module` of a file under `src/`, e.g. `archive::release`.
fn module_of(src: &Path, path: &Path) -> Option<(String, String)> {
    let rel = path.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [layer, module, ..] => Some((layer.clone(), module.clone())),
        _ => None,
    }
}

/// Every `crate::layer::module` a file names, `use crate::layer::{a, b}` included.
fn imports(code: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        // `xtask_inspect::` and the like are other crates.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        let layer: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let after = &rest[layer.len()..];
        let Some(after) = after.strip_prefix("::") else {
            continue;
        };
        let names: Vec<String> = if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or("").to_owned())
                .collect()
        } else {
            vec![
                after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            ]
        };
        for name in names {
            found.insert((layer.clone(), name));
        }
    }
    found
}

#[test]
fn layers_import_only_downwards_and_commands_do_not_import_commands() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in sources(&src) {
        let Some((layer, module)) = module_of(&src, &path) else {
            continue;
        };
        let Some(rank) = LAYERS.iter().position(|l| *l == layer) else {
            wrong.push(format!("{}: not in a layer folder", path.display()));
            continue;
        };
        let code = code(&path);
        for (other, name) in imports(&code) {
            let Some(other_rank) = LAYERS.iter().position(|l| *l == other) else {
                continue;
            };
            let target_is_module = src.join(&other).join(format!("{name}.rs")).exists()
                || src.join(&other).join(&name).join("mod.rs").exists();
            if other_rank < rank {
                wrong.push(format!(
                    "{layer}::{module} imports {other}::{name}, a layer above it"
                ));
            } else if other == "cmd" && target_is_module && name != module {
                wrong.push(format!("cmd::{module} imports the command cmd::{name}"));
            }
            if target_is_module && !(other == layer && name == module) {
                graph
                    .entry(format!("{layer}::{module}"))
                    .or_default()
                    .insert(format!("{other}::{name}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Depth-first: a module met again while it is on the path closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn only_the_edge_layers_run_processes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut wrong = Vec::new();
    let mut files: Vec<(String, PathBuf)> = sources(&src)
        .into_iter()
        .filter_map(|p| Some((module_of(&src, &p)?.0, p)))
        .collect();
    // The inspector reads bytes; `verify` and the fuzz targets trust it not to run anything.
    files.extend(
        sources(&root.join("inspect/src"))
            .into_iter()
            .map(|p| ("inspect".to_owned(), p)),
    );
    for (layer, path) in files {
        if RUN_PROCESSES.contains(&layer.as_str()) {
            continue;
        }
        let code = code(&path);
        for pattern in [
            "std::process::Command",
            "process::Command",
            "xshell",
            "cmd!(",
        ] {
            if code.contains(pattern) {
                wrong.push(format!("{} ({layer}) uses {pattern}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_is_longer_than_a_reader_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for path in sources(&root.join("src"))
        .into_iter()
        .chain(sources(&root.join("inspect/src")))
    {
        let lines = code(&path).lines().count();
        if lines > MAX_LINES {
            long.push(format!(
                "{}: {lines} lines before its tests",
                path.display()
            ));
        }
    }
    assert!(
        long.is_empty(),
        "split these by what they do (ARCHITECTURE.md):\n{}",
        long.join("\n")
    );
}

/// Every non-test source of the xtask and the inspector.
fn all_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    sources(&root.join("src"))
        .into_iter()
        .chain(sources(&root.join("inspect/src")))
        .collect()
}

#[test]
fn only_the_release_index_reads_a_manifest_or_sha256sums() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Where each is defined, and the release index that reads them.
    let homes = [
        src.join("archive/index.rs"),
        src.join("archive/manifest.rs"),
        src.join("archive/checksum.rs"),
    ];
    let mut wrong = Vec::new();
    for path in all_sources() {
        if homes.contains(&path) {
            continue;
        }
        let code = code(&path);
        for reader in ["Manifest::from_json", "parse_sums("] {
            if code.contains(reader) {
                wrong.push(format!(
                    "{}: calls {reader}; read a release through archive::index",
                    path.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_layer_folders_are_the_layers_and_nothing_else() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut layers: Vec<&str> = LAYERS.to_vec();
    layers.sort();
    assert_eq!(
        folders, layers,
        "a new folder under src/ is a new layer: add it to ARCHITECTURE.md and LAYERS, or put the module in a layer"
    );
}

/// The enums the compiler must point at when one grows a variant.
const EXHAUSTIVE: &[&str] = &["Arch::", "Os::", "ArchiveFormat::"];

/// Arms of one `match` start at one indentation (the code is rustfmt'ed):
/// the pattern of each arm beside line `at`, up to the `match` line.
fn sibling_patterns<'a>(lines: &[&'a str], at: usize) -> Vec<&'a str> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own = indent(lines[at]);
    let mut patterns = Vec::new();
    let above = lines[..at].iter().rev();
    let below = lines[at + 1..].iter();
    for side in [
        Box::new(above) as Box<dyn Iterator<Item = &&str>>,
        Box::new(below),
    ] {
        for line in side {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with("//") {
                continue;
            }
            if indent(line) < own {
                break;
            }
            if indent(line) == own
                && let Some((pattern, _)) = trimmed.split_once("=>")
            {
                patterns.push(pattern);
            }
        }
    }
    patterns
}

#[test]
fn cpu_system_and_format_lists_are_exhaustive() {
    let target_rs = Path::new(env!("CARGO_MANIFEST_DIR")).join("inspect/src/target.rs");
    let mut wrong = Vec::new();
    for path in all_sources() {
        let code = code(&path);
        let lines: Vec<&str> = code.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            // A wildcard arm beside arms naming variants: a new variant would fall into it unseen.
            if trimmed.starts_with("_ =>") {
                let siblings = sibling_patterns(&lines, i);
                if let Some(named) = siblings
                    .iter()
                    .find(|p| EXHAUSTIVE.iter().any(|e| p.contains(e)))
                {
                    wrong.push(format!(
                        "{}:{}: `_ =>` beside `{}`; name every variant",
                        path.display(),
                        i + 1,
                        named.trim()
                    ));
                }
            }
        }
        // A hand-written list of CPUs instead of `Arch::ALL`.
        let squeezed: String = code.split_whitespace().collect();
        if path != target_rs && squeezed.contains("[Arch::X86_64,Arch::Aarch64,Arch::I686") {
            wrong.push(format!(
                "{}: lists CPUs by hand; use Arch::ALL",
                path.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
