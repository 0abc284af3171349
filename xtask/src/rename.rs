//! `cargo xtask rename <new-name>`: turns the template into your own CLI.
//! Renames the app's crate directory, package and binary, rewrites every
//! mention of the old name in the tracked files, sets repository,
//! description and author, and regenerates the generated files through
//! `codegen`. Refuses a dirty git tree (unless `--force`), so the result is
//! one reviewable change.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::compile::toml_string;
use crate::config::{self, ConfigError};
use crate::{atomic, codegen, plan};

/// The xtask's own directory, which renaming leaves alone.
const XTASK_DIR: &str = "xtask";

pub(crate) struct Options {
    pub(crate) name: String,
    pub(crate) force: bool,
    pub(crate) repository: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) author: Option<String>,
}

/// The spellings of a package name: `my-cli` in text and Cargo.toml,
/// `my_cli` for the Rust crate, `MY_CLI` in environment variables, `MY-CLI`
/// in man page headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) kebab: String,
    pub(crate) snake: String,
    pub(crate) upper: String,
    pub(crate) upper_kebab: String,
}

impl Names {
    pub(crate) fn of(name: &str) -> Names {
        let snake = name.replace('-', "_");
        Names {
            kebab: name.to_owned(),
            upper: snake.to_ascii_uppercase(),
            upper_kebab: name.to_ascii_uppercase(),
            snake,
        }
    }
}

pub(crate) fn run(options: Options) -> Result<()> {
    check_name(&options.name).map_err(|why| {
        usage_error(format!(
            "`{}` cannot be a package name: {why}",
            options.name
        ))
    })?;
    let repository = match &options.repository {
        Some(url) => Some(
            config::check_repository(url)
                .map_err(|why| usage_error(format!("--repository: {why}")))?,
        ),
        None => None,
    };
    let sh = Shell::new()?;
    let (ws, config) = plan::load(&sh)?;
    let app = ws.app(&config.app)?;
    let old = Names::of(&app.name);
    let new = Names::of(&options.name);
    let renaming = old != new;
    if !renaming
        && repository.is_none()
        && options.description.is_none()
        && options.author.is_none()
    {
        eprintln!("    the app is already called {}: nothing to do", new.kebab);
        return Ok(());
    }
    if !options.force {
        check_clean(&sh, &ws.root)?;
    }

    // The xtask is the template's, not the app's: a fork takes its updates
    // by copying `xtask/` over, so renaming must never touch it.
    let files: Vec<PathBuf> = project_files(&sh, &ws.root)?
        .into_iter()
        .filter(|p| !p.starts_with(XTASK_DIR))
        .collect();
    // A renamed app is no longer the sample: its description must not say it is.
    let description = options
        .description
        .clone()
        .or_else(|| renaming.then(|| format!("The {} command-line tool", new.kebab)));
    let old_repository = plan::repository(&config, app)?;
    let manifest = app
        .manifest_path
        .strip_prefix(&ws.root)
        .unwrap_or(&app.manifest_path)
        .to_owned();
    let mut changes: Vec<(PathBuf, String)> = Vec::new();
    for path in &files {
        let Ok(text) = fs::read_to_string(ws.root.join(path)) else {
            continue;
        }; // binary files
        let mut updated = text.clone();
        if renaming && path.extension().is_some_and(|e| e == "md") {
            let description = description.as_deref().unwrap_or_default();
            updated = replace_sample_blocks(&updated, &new.kebab, description)
                .with_context(|| format!("in {}", path.display()))?;
        }
        if let (Some(from), Some(to)) = (&old_repository, &repository) {
            updated = updated.replace(from.as_str(), to);
        }
        if renaming {
            let rust = path.extension().is_some_and(|e| e == "rs");
            updated = rewrite(&updated, rust, &old, &new);
        }
        if *path == manifest {
            updated = package_metadata(
                &updated,
                repository.as_deref(),
                description.as_deref(),
                options.author.as_deref(),
            )?;
        }
        if path.as_path() == Path::new(config::FILE_NAME)
            && let Some(url) = &repository
        {
            updated = set_key(&updated, "[dist]", "repository", &toml_string(url), "app")?;
        }
        if updated != text {
            changes.push((path.clone(), updated));
        }
    }
    for (path, text) in &changes {
        atomic::write(&ws.root.join(path), text.as_bytes())?;
    }
    let moved = if renaming {
        rename_dirs(&ws.root, &files, &old.kebab, &new.kebab)?
    } else {
        Vec::new()
    };

    // Regenerate through the same code as `cargo xtask codegen`, from the renamed tree.
    let (ws, config) = plan::load(&sh).context("reading the renamed workspace")?;
    let app = ws.app(&config.app)?;
    let generated = codegen::generate(&ws, &config, app)?;
    for file in &generated {
        atomic::write(&ws.root.join(&file.path), file.text.as_bytes())?;
    }

    // Names of another length move line breaks; leave the tree as `cargo fmt
    // --check` wants it, the xtask aside.
    let _dir = sh.push_dir(&ws.root);
    let packages: Vec<String> = ws
        .packages
        .iter()
        .filter(|p| !p.manifest_path.starts_with(ws.root.join(XTASK_DIR)))
        .flat_map(|p| ["-p".to_owned(), p.name.clone()])
        .collect();
    if cmd!(sh, "cargo fmt {packages...}").quiet().run().is_err() {
        eprintln!("    note: `cargo fmt` did not run; run it before committing");
    }

    for (from, to) in &moved {
        eprintln!("    moved {} -> {}", from.display(), to.display());
    }
    eprintln!(
        "    rewrote {} files; regenerated {} files",
        changes.len(),
        generated.len()
    );
    eprintln!(
        "==> now: review `git status`, run `cargo test --workspace` and `cargo xtask dist`, then commit"
    );
    Ok(())
}

fn usage_error(message: String) -> ConfigError {
    ConfigError {
        file: PathBuf::from("cargo xtask rename"),
        line: None,
        message,
    }
}

/// crates.io's rules for a package name, and names that would clash here.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
        "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
        "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
        "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
    ];
    const RESERVED: &[&str] = &[
        "std",
        "core",
        "alloc",
        "proc_macro",
        "proc-macro",
        "test",
        "xtask",
    ];
    const WINDOWS: &[&str] = &[
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "lpt1", "lpt2", "lpt3",
    ];
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 64 {
        return Err(format!(
            "it has {} characters; crates.io allows 64",
            name.len()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("it must start with a letter".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "`{bad}` is not allowed; use letters, digits, `-` and `_`"
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "use lowercase (`{}`), as cargo and crates.io expect",
            name.to_ascii_lowercase()
        ));
    }
    let snake = name.replace('-', "_");
    if KEYWORDS.contains(&snake.as_str()) || RESERVED.contains(&name) || WINDOWS.contains(&name) {
        return Err(
            "it is reserved (a Rust keyword, a standard crate, a Windows device name, or this repo's xtask)".into()
        );
    }
    Ok(())
}

/// Refuses uncommitted changes: the rename should be one reviewable commit.
fn check_clean(sh: &Shell, root: &Path) -> Result<()> {
    let _dir = sh.push_dir(root);
    let status = cmd!(sh, "git status --porcelain")
        .quiet()
        .ignore_stderr()
        .output();
    match status {
        Ok(out) if out.status.success() => {
            let dirty = String::from_utf8_lossy(&out.stdout).lines().count();
            if dirty > 0 {
                bail!(
                    "the git tree at {} has {dirty} uncommitted change(s); commit or stash them first so the rename \
                     is one reviewable change, or pass --force",
                    root.display()
                );
            }
            Ok(())
        }
        _ => bail!(
            "{} is not a git checkout, so uncommitted work cannot be told apart from the rename; \
             run `git init` and commit first, or pass --force",
            root.display()
        ),
    }
}

/// The files of the project, relative to `root`: what git tracks or would
/// track, else everything outside `target/` and `.git/`.
fn project_files(sh: &Shell, root: &Path) -> Result<Vec<PathBuf>> {
    let _dir = sh.push_dir(root);
    let listed = cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
        .quiet()
        .ignore_stderr()
        .output();
    if let Ok(out) = listed
        && out.status.success()
    {
        let mut files: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .filter(|p| root.join(p).is_file())
            .collect();
        files.sort();
        files.dedup();
        return Ok(files);
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(root.join(dir))
        .with_context(|| format!("listing {}", root.join(dir).display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let path = dir.join(&name);
        if dir.as_os_str().is_empty() && (name == "target" || name == ".git") {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(root, &path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Moves every directory named `old` among the files' parents to `new`.
fn rename_dirs(
    root: &Path,
    files: &[PathBuf],
    old: &str,
    new: &str,
) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .flat_map(|f| {
            f.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .filter(|d| d.file_name().is_some_and(|n| n == old))
        .collect();
    dirs.sort();
    dirs.dedup();
    // Deepest first, so a parent's move does not invalidate a child's path.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    let mut moved = Vec::new();
    for dir in dirs {
        let to = dir.with_file_name(new);
        if root.join(&to).exists() {
            bail!(
                "cannot move {} to {}: it exists",
                dir.display(),
                to.display()
            );
        }
        fs::rename(root.join(&dir), root.join(&to))
            .with_context(|| format!("moving {} to {}", dir.display(), to.display()))?;
        moved.push((dir, to));
    }
    Ok(moved)
}

/// Replaces whole-word mentions of `old` by `new`. In Rust source, a name
/// in code is the crate's identifier (`my_cli::run`), in strings and
/// comments the package's name (`my-cli`).
pub(crate) fn rewrite(text: &str, rust: bool, old: &Names, new: &Names) -> String {
    let code = if rust {
        code_mask(text)
    } else {
        vec![false; text.len()]
    };
    let bytes = text.as_bytes();
    let boundary = |i: Option<usize>| {
        i.and_then(|i| bytes.get(i))
            .is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    // A name right after an escape such as `\n` in a string starts a word.
    let escape_before =
        |i: usize| i >= 2 && bytes[i - 2] == b'\\' && bytes[i - 1].is_ascii_alphabetic();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'scan: while i < text.len() {
        if boundary(i.checked_sub(1)) || escape_before(i) {
            // The upper-case spellings first, so they are never taken for the lower-case ones.
            // A one-word name is spelt the same in both upper forms: next to
            // `_` or after `$` it is a variable (`TOOL_HOME`, `$TOOL`), else
            // a title (`.TH TOOL 1`).
            let variable = |from: &str| {
                bytes.get(i + from.len()) == Some(&b'_')
                    || i.checked_sub(1)
                        .and_then(|p| bytes.get(p))
                        .is_some_and(|b| b"_${".contains(b))
            };
            let titles = old.upper_kebab != old.upper || !variable(&old.upper);
            for (n, (from, in_code, in_text)) in [
                (&old.upper_kebab, &new.upper_kebab, &new.upper_kebab),
                (&old.upper, &new.upper, &new.upper),
                (&old.kebab, &new.snake, &new.kebab),
                (&old.snake, &new.snake, &new.snake),
            ]
            .into_iter()
            .enumerate()
            {
                if n == 0 && !titles {
                    continue;
                }
                if text[i..].starts_with(from.as_str()) && boundary(Some(i + from.len())) {
                    out.push_str(if code[i] { in_code } else { in_text });
                    i += from.len();
                    continue 'scan;
                }
            }
        }
        let c = text[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// For each byte of Rust source: is it code (not a comment, string or char literal)?
fn code_mask(text: &str) -> Vec<bool> {
    let b = text.as_bytes();
    let mut mask = vec![true; b.len()];
    let mut i = 0;
    let mark =
        |from: usize, to: usize, mask: &mut Vec<bool>| mask[from..to.min(b.len())].fill(false);
    while i < b.len() {
        let start = i;
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            mark(start, i, &mut mask);
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
            mark(start, i, &mut mask);
        } else if b[i] == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) {
            // r"…", r#"…"#: ends at a quote followed by as many hashes.
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            i += 2 + hashes;
            let end: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while i < b.len() && !b[i..].starts_with(&end) {
                i += 1;
            }
            i += end.len();
            mark(start, i, &mut mask);
        } else if b[i] == b'\''
            && (b.get(i + 2) == Some(&b'\'')
                || (b.get(i + 1) == Some(&b'\\') && b.get(i + 3) == Some(&b'\'')))
        {
            // A char literal such as '"' or '\'' (not a lifetime): skip it whole.
            i += if b[i + 1] == b'\\' { 4 } else { 3 };
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            mark(start, i, &mut mask);
        } else {
            i += 1;
        }
    }
    mask
}

/// Sets repository, description and authors in `[package]` of Cargo.toml.
fn package_metadata(
    text: &str,
    repository: Option<&str>,
    description: Option<&str>,
    author: Option<&str>,
) -> Result<String> {
    let mut text = text.to_owned();
    if let Some(url) = repository {
        text = set_key(
            &text,
            "[package]",
            "repository",
            &toml_string(url),
            "version",
        )?;
    }
    if let Some(description) = description {
        text = set_key(
            &text,
            "[package]",
            "description",
            &toml_string(description),
            "version",
        )?;
    }
    if let Some(author) = author {
        text = set_key(
            &text,
            "[package]",
            "authors",
            &format!("[{}]", toml_string(author)),
            "version",
        )?;
    }
    Ok(text)
}

/// Where the template's sample text begins: an HTML comment whose first
/// line is this and whose other lines are the text to put in its place.
const SAMPLE_BEGIN: &str = "<!-- sample:";
/// Where the sample text ends.
const SAMPLE_END: &str = "<!-- end sample -->";

/// Replaces each block of sample text (Markdown that describes the sample
/// app) by the neutral text its opening comment holds, with `@name@` and
/// `@description@` filled in:
///
/// ```text
/// <!-- sample: `cargo xtask rename` puts this in place of the block:
/// @description@
/// -->
/// A small tool that greets…
/// <!-- end sample -->
/// ```
pub(crate) fn replace_sample_blocks(text: &str, name: &str, description: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n').enumerate();
    while let Some((number, line)) = lines.next() {
        if !line.trim_start().starts_with(SAMPLE_BEGIN) {
            out.push_str(line);
            continue;
        }
        let mut replacement = String::new();
        let mut closed = false;
        for (_, line) in lines.by_ref() {
            if line.trim() == "-->" {
                closed = true;
                break;
            }
            replacement.push_str(line);
        }
        let mut ended = false;
        for (_, line) in lines.by_ref() {
            if line.trim() == SAMPLE_END {
                ended = true;
                break;
            }
        }
        if !closed || !ended {
            bail!(
                "the sample block opened on line {} has no `-->` line or no `{SAMPLE_END}` line after it",
                number + 1
            );
        }
        out.push_str(
            &replacement
                .replace("@name@", name)
                .replace("@description@", description),
        );
    }
    Ok(out)
}

/// `key = value` in `section`: replaces the key's line, or adds it after
/// the line of `after` (else at the section's end). Line-based, so
/// comments and layout elsewhere are kept.
pub(crate) fn set_key(
    text: &str,
    section: &str,
    key: &str,
    value: &str,
    after: &str,
) -> Result<String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == section) else {
        bail!("no {section} table to set `{key}` in");
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |p| start + 1 + p);
    let is_key = |line: &str, k: &str| {
        line.split_once('=')
            .is_some_and(|(name, _)| name.trim() == k)
    };
    let new_line = format!("{key} = {value}");
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    if let Some(at) = (start + 1..end).find(|&i| is_key(lines[i], key)) {
        out[at] = new_line;
    } else {
        let at = (start + 1..end)
            .find(|&i| is_key(lines[i], after))
            .map_or(end, |i| i + 1);
        out.insert(at, new_line);
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> (Names, Names) {
        (Names::of("oldtool"), Names::of("new-tool"))
    }

    #[test]
    fn names_follow_crates_io_rules() {
        assert!(check_name("hello-world").is_ok());
        assert!(check_name("rg_2").is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("2fast", "start with a letter"),
            ("hello world", "` ` is not allowed"),
            ("Hello", "use lowercase (`hello`)"),
            ("fn", "reserved"),
            ("std", "reserved"),
            ("nul", "reserved"),
            ("xtask", "reserved"),
        ] {
            let err = check_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(check_name(&"a".repeat(65)).unwrap_err().contains("64"));
    }

    #[test]
    fn rust_code_gets_the_identifier_and_strings_the_name() {
        let (old, new) = names();
        let source = "use oldtool::run; // oldtool's entry\nlet q = '\"'; let oldtool = 1;\nfn oldtool() { oldtool::main(\"oldtool --help\", r#\"oldtool\"#) }\nlet x = env!(\"CARGO_BIN_EXE_oldtool\");\n";
        let expected = "use new_tool::run; // new-tool's entry\nlet q = '\"'; let new_tool = 1;\nfn new_tool() { new_tool::main(\"new-tool --help\", r#\"new-tool\"#) }\nlet x = env!(\"CARGO_BIN_EXE_new-tool\");\n";
        assert_eq!(rewrite(source, true, &old, &new), expected);
    }

    #[test]
    fn text_gets_the_name_and_env_vars_the_upper_form() {
        let (old, new) = names();
        let text = "oldtool-installer.sh sets OLDTOOL_INSTALL_DIR; _oldtool.ps1; oldtoolish and myoldtool stay";
        assert_eq!(
            rewrite(
                "\".TH OLD-TOOL 1\\nold-tool \\- x\"",
                true,
                &Names::of("old-tool"),
                &new
            ),
            "\".TH NEW-TOOL 1\\nnew-tool \\- x\""
        );
        assert_eq!(
            rewrite(text, false, &old, &new),
            "new-tool-installer.sh sets NEW_TOOL_INSTALL_DIR; _new-tool.ps1; oldtoolish and myoldtool stay"
        );
        // A hyphenated old name: its snake form in code is the identifier.
        let (old, new) = (Names::of("my-tool"), Names::of("their-tool"));
        assert_eq!(
            rewrite("my_tool::x(\"my-tool\")", true, &old, &new),
            "their_tool::x(\"their-tool\")"
        );
    }

    #[test]
    fn set_key_replaces_or_inserts_within_the_section() {
        let toml = "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nx = \"1\"\n";
        let added = set_key(
            toml,
            "[package]",
            "repository",
            "\"https://h/o/r\"",
            "version",
        )
        .unwrap();
        assert_eq!(
            added,
            toml.replace(
                "version = \"0.1.0\"\n",
                "version = \"0.1.0\"\nrepository = \"https://h/o/r\"\n"
            )
        );
        let replaced = set_key(
            &added,
            "[package]",
            "repository",
            "\"https://h/o/s\"",
            "version",
        )
        .unwrap();
        assert!(
            replaced.contains("repository = \"https://h/o/s\"") && !replaced.contains("/o/r\"")
        );
        assert!(set_key(toml, "[dist]", "app", "\"a\"", "x").is_err());
        assert_eq!(toml_string("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn sample_blocks_give_way_to_their_neutral_text() {
        let text = "# old\n\n<!-- sample: rename puts this instead:\n@description@ (@name@)\n-->\nGreets and counts.\n\nMore sample.\n<!-- end sample -->\n\n## Install\n";
        assert_eq!(
            replace_sample_blocks(text, "new-tool", "Does things").unwrap(),
            "# old\n\nDoes things (new-tool)\n\n## Install\n"
        );
        assert_eq!(
            replace_sample_blocks("no blocks\n", "n", "d").unwrap(),
            "no blocks\n"
        );
        let err = replace_sample_blocks("a\n<!-- sample: x\ny\n-->\nz\n", "n", "d").unwrap_err();
        assert!(err.to_string().contains("opened on line 2"), "{err}");
    }
}
