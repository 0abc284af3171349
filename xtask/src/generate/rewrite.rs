//! A fork's text rewritten for its new name: whole-word mentions (crate
//! identifiers in Rust code, the package name elsewhere), the sample's
//! README blocks, and keys of Cargo.toml and dist-workspace.toml. Pure.

use anyhow::{Result, bail};

use crate::model::config::toml_string;

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
pub(crate) fn package_metadata(
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
