//! `dist-workspace.toml`: the release configuration, read strictly.
//!
//! Key names follow cargo-dist where the meaning is the same (`targets`,
//! `include`, `checksum`, `unix-archive`). Every mistake is reported as one
//! line naming the file, the line and the key, and exits with code 2.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::package::ArchiveFormat;
use crate::suggest::did_you_mean;
use crate::target::{self, Target};

pub(crate) const FILE_NAME: &str = "dist-workspace.toml";

/// The release settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DistConfig {
    /// The workspace package to release.
    pub(crate) app: String,
    pub(crate) targets: Vec<Target>,
    /// Files (relative to the workspace root) shipped next to the binaries;
    /// `None` means "README and licence files, if present".
    pub(crate) include: Option<Vec<String>>,
    pub(crate) unix_archive: ArchiveFormat,
    pub(crate) windows_archive: ArchiveFormat,
    /// GitHub tag filter that starts the release workflow.
    pub(crate) tag_pattern: TagPattern,
    /// `https://github.com/<owner>/<repo>`: where releases are published.
    pub(crate) repository: Option<String>,
    /// Which C compiler musl builds give build scripts (`cc`, `cmake` crates).
    pub(crate) c_compiler: CCompiler,
}

/// `[dist].c-compiler`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CCompiler {
    /// Debian's musl-gcc for x86_64 when installed, else zig, else none.
    Auto,
    Zig,
    MuslGcc,
    /// Set nothing: the environment (CC_<target>, cargo config) decides.
    None,
    /// This compiler for every musl target.
    Path(PathBuf),
}

/// A GitHub Actions tag filter such as `v[0-9]+.[0-9]+.[0-9]+*`. A release tag
/// is its literal prefix followed by the app's version: `v0.1.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagPattern(String);

pub(crate) const DEFAULT_TAG_PATTERN: &str = "v[0-9]+.[0-9]+.[0-9]+*";

impl TagPattern {
    /// Checks that the pattern can be written into YAML as is and has a
    /// place for the version.
    pub(crate) fn parse(pattern: &str) -> Result<TagPattern, String> {
        if let Some(bad) = pattern
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_./+*?[]!".contains(*c)))
        {
            return Err(format!(
                "`{pattern}` holds `{bad}`; use letters, digits and the filter characters - _ . / + * ? [ ] !"
            ));
        }
        let pattern = TagPattern(pattern.to_owned());
        if pattern.prefix().len() == pattern.0.len() {
            return Err(format!(
                "`{}` matches one tag only; add a wildcard for the version, e.g. `v*`",
                pattern.0
            ));
        }
        Ok(pattern)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The literal text before the first wildcard: `v` for the default.
    pub(crate) fn prefix(&self) -> &str {
        let end = self
            .0
            .find(['*', '?', '+', '[', ']', '!'])
            .unwrap_or(self.0.len());
        &self.0[..end]
    }

    /// The tag that releases `version`.
    pub(crate) fn tag_for(&self, version: &str) -> String {
        format!("{}{version}", self.prefix())
    }
}

/// A mistake in the configuration file: always the user's to fix.
#[derive(Debug)]
pub(crate) struct ConfigError {
    pub(crate) file: PathBuf,
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

const DIST_KEYS: &[&str] = &[
    "app",
    "targets",
    "include",
    "checksum",
    "unix-archive",
    "windows-archive",
    "tag-pattern",
    "repository",
    "c-compiler",
];

/// Reads and validates `dist-workspace.toml` in `root`.
pub(crate) fn load(root: &Path) -> Result<DistConfig, ConfigError> {
    let file = root.join(FILE_NAME);
    let text = std::fs::read_to_string(&file).map_err(|err| ConfigError {
        file: file.clone(),
        line: None,
        message: format!(
            "cannot read the release configuration ({err}); create it with a [dist] table"
        ),
    })?;
    parse(&text, &file)
}

/// Parses configuration text; `file` only labels errors.
pub(crate) fn parse(text: &str, file: &Path) -> Result<DistConfig, ConfigError> {
    let reader = Reader { text, file };
    let doc = DeTable::parse(text).map_err(|err| {
        // toml's message is one sentence; the location goes in front, as for our own errors.
        let line = err.span().map(|s| reader.line_of(s.start));
        let message = format!(
            "invalid TOML: {}",
            err.message().trim_end().replace('\n', " ")
        );
        ConfigError {
            file: file.to_owned(),
            line,
            message,
        }
    })?;
    let doc = doc.get_ref();

    for (key, _) in sorted(doc) {
        if key.get_ref() != "dist" {
            let hint = did_you_mean(key.get_ref(), ["dist"]);
            return Err(reader.error(
                key.span(),
                format!(
                    "unknown table `[{}]`{hint}; release settings go in [dist]",
                    key.get_ref()
                ),
            ));
        }
    }
    let Some((dist_key, dist)) = doc.iter().find(|(k, _)| k.get_ref() == "dist") else {
        return Err(reader.error(
            0..0,
            "no [dist] table; add one with at least `app = \"<package>\"`".into(),
        ));
    };
    let DeValue::Table(dist) = dist.get_ref() else {
        return Err(reader.error(
            dist_key.span(),
            "`dist` must be a table: write `[dist]` above its keys".into(),
        ));
    };

    for (key, _) in sorted(dist) {
        if !DIST_KEYS.contains(&key.get_ref().as_ref()) {
            let hint = did_you_mean(key.get_ref(), DIST_KEYS.iter().copied());
            return Err(reader.error(
                key.span(),
                format!("unknown key `[dist].{}`{hint}", key.get_ref()),
            ));
        }
    }
    let get = |name: &str| {
        dist.iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v)
    };

    let app = match get("app") {
        Some(v) => reader.string(v, "app")?.to_owned(),
        None => {
            return Err(reader.error(
                dist_key.span(),
                "missing `[dist].app`: name the package to release, e.g. `app = \"mycli\"`".into(),
            ));
        }
    };

    let targets = match get("targets") {
        None => target::default_targets(),
        Some(v) => {
            let items = reader.strings(v, "targets")?;
            if items.is_empty() {
                return Err(reader.error(
                    v.span(),
                    "`[dist].targets` is empty: list at least one target, or remove the key for the defaults".into(),
                ));
            }
            let mut targets: Vec<Target> = Vec::new();
            for (triple, span) in items {
                let target = Target::parse(triple)
                    .map_err(|e| reader.error(span.clone(), format!("`[dist].targets`: {e}")))?;
                if targets.contains(&target) {
                    return Err(
                        reader.error(span, format!("`[dist].targets` lists `{triple}` twice"))
                    );
                }
                targets.push(target);
            }
            targets
        }
    };

    let include = match get("include") {
        None => None,
        Some(v) => {
            let mut files = Vec::new();
            for (path, span) in reader.strings(v, "include")? {
                if path.is_empty()
                    || Path::new(path).is_absolute()
                    || Path::new(path).components().any(|c| c.as_os_str() == "..")
                {
                    return Err(reader.error(
                        span,
                        format!("`[dist].include`: `{path}` must be a path inside the workspace, relative to its root"),
                    ));
                }
                if files.iter().any(|f| f == path) {
                    return Err(
                        reader.error(span, format!("`[dist].include` lists `{path}` twice"))
                    );
                }
                files.push(path.to_owned());
            }
            Some(files)
        }
    };

    if let Some(v) = get("checksum") {
        let algo = reader.string(v, "checksum")?;
        if algo != "sha256" {
            return Err(reader.error(
                v.span(),
                format!("`[dist].checksum = \"{algo}\"` is not supported; use \"sha256\""),
            ));
        }
    }

    let archive = |key: &str, default: ArchiveFormat| -> Result<ArchiveFormat, ConfigError> {
        let Some(v) = get(key) else {
            return Ok(default);
        };
        let ext = reader.string(v, key)?;
        ArchiveFormat::from_extension(ext).ok_or_else(|| {
            let hint = did_you_mean(ext, [".tar.xz", ".tar.gz", ".zip"]);
            let message =
                format!("`[dist].{key} = \"{ext}\"` is not supported{hint}; use \".tar.xz\", \".tar.gz\" or \".zip\"");
            reader.error(v.span(), message)
        })
    };
    let unix_archive = archive("unix-archive", ArchiveFormat::TarXz)?;
    let windows_archive = archive("windows-archive", ArchiveFormat::Zip)?;

    let tag_pattern = match get("tag-pattern") {
        None => TagPattern(DEFAULT_TAG_PATTERN.to_owned()),
        Some(v) => TagPattern::parse(reader.string(v, "tag-pattern")?)
            .map_err(|why| reader.error(v.span(), format!("`[dist].tag-pattern`: {why}")))?,
    };

    let repository = match get("repository") {
        None => None,
        Some(v) => Some(
            check_repository(reader.string(v, "repository")?)
                .map_err(|why| reader.error(v.span(), format!("`[dist].repository`: {why}")))?,
        ),
    };

    let c_compiler = match get("c-compiler") {
        None => CCompiler::Auto,
        Some(v) => match reader.string(v, "c-compiler")? {
            "auto" => CCompiler::Auto,
            "zig" => CCompiler::Zig,
            "musl-gcc" => CCompiler::MuslGcc,
            "none" => CCompiler::None,
            path if path.contains('/') => CCompiler::Path(PathBuf::from(path)),
            other => {
                let hint = did_you_mean(other, ["auto", "zig", "musl-gcc", "none"]);
                return Err(reader.error(
                    v.span(),
                    format!(
                        "`[dist].c-compiler = \"{other}\"` is not known{hint}; use \"auto\", \"zig\", \"musl-gcc\", \"none\" or a path such as \"/usr/bin/musl-gcc\""
                    ),
                ));
            }
        },
    };

    Ok(DistConfig {
        app,
        targets,
        include,
        unix_archive,
        windows_archive,
        tag_pattern,
        repository,
        c_compiler,
    })
}

/// The repository URL goes into a shell script and TOML as a literal, so it
/// may hold only what URLs of code hosts hold.
pub(crate) fn check_repository(url: &str) -> Result<String, String> {
    let url = url.trim_end_matches('/');
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(format!(
            "`{url}` must be an https:// URL, e.g. https://github.com/<owner>/<repo>"
        ));
    };
    if let Some(bad) = rest
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_./~".contains(*c)))
    {
        return Err(format!(
            "`{url}` holds `{bad}`; give the plain repository URL, e.g. https://github.com/<owner>/<repo>"
        ));
    }
    if rest.split('/').filter(|p| !p.is_empty()).count() < 3 {
        return Err(format!(
            "`{url}` is not a repository URL; expected https://<host>/<owner>/<repo>"
        ));
    }
    Ok(url.to_owned())
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

/// Table entries in file order, so the first mistake reported is the first in the file.
fn sorted<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

struct Reader<'t> {
    text: &'t str,
    file: &'t Path,
}

impl Reader<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line: Some(self.line_of(span.start)),
            message,
        }
    }

    fn string<'v>(
        &self,
        value: &'v Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<&'v str, ConfigError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.error(
                value.span(),
                format!(
                    "`[dist].{key}` must be a string, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn strings<'v>(
        &self,
        value: &'v Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<Vec<(&'v str, std::ops::Range<usize>)>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            let found = value.get_ref().type_str();
            return Err(self.error(
                value.span(),
                format!("`[dist].{key}` must be an array of strings, found {found}"),
            ));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok((s.as_ref(), item.span())),
                other => Err(self.error(
                    item.span(),
                    format!(
                        "`[dist].{key}` must hold strings, found {}",
                        other.type_str()
                    ),
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("dist-workspace.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_a_full_config() {
        let cfg = parse(
            "[dist]\napp = \"mycli\"\ntargets = [\"x86_64-unknown-linux-musl\"]\ninclude = [\"README.md\"]\nchecksum = \"sha256\"\nunix-archive = \".tar.gz\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.app, "mycli");
        assert_eq!(cfg.targets[0].triple, "x86_64-unknown-linux-musl");
        assert_eq!(cfg.include, Some(vec!["README.md".to_owned()]));
        assert_eq!(cfg.unix_archive, ArchiveFormat::TarGz);
    }

    #[test]
    fn defaults_when_keys_are_absent() {
        let cfg = parse("[dist]\napp = \"mycli\"\n", Path::new("x")).unwrap();
        assert_eq!(cfg.targets, target::default_targets());
        assert_eq!(cfg.include, None);
        assert_eq!(cfg.unix_archive, ArchiveFormat::TarXz);
    }

    #[test]
    fn unknown_key_names_key_line_and_closest() {
        let err = parse_err("[dist]\napp = \"mycli\"\ntarget = [\"x86_64-unknown-linux-musl\"]\n");
        assert_eq!(
            err,
            "dist-workspace.toml:3: unknown key `[dist].target`; did you mean `targets`?"
        );
    }

    #[test]
    fn syntax_error_is_one_line_with_line_number() {
        let err = parse_err("[dist]\napp = \"mycli\nx = 1\n");
        assert!(
            err.starts_with("dist-workspace.toml:2: invalid TOML:"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn wrong_types_empty_and_duplicate_targets() {
        assert!(
            parse_err("[dist]\napp = 1\n").contains("`[dist].app` must be a string, found integer")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\ntargets = \"x86_64-unknown-linux-musl\"\n")
                .contains("must be an array of strings")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\ntargets = []\n")
                .contains(":3: `[dist].targets` is empty")
        );
        let dup = "[dist]\napp = \"a\"\ntargets = [\"x86_64-unknown-linux-musl\",\n \"x86_64-unknown-linux-musl\"]\n";
        assert!(
            parse_err(dup).contains(":4: `[dist].targets` lists `x86_64-unknown-linux-musl` twice")
        );
    }

    #[test]
    fn misspelt_target_and_unknown_table() {
        let err = parse_err("[dist]\napp = \"a\"\ntargets = [\"x86_64-unknown-linux-mulс\"]\n");
        assert!(
            err.contains(":3:") && err.contains("did you mean `x86_64-unknown-linux-musl`"),
            "{err}"
        );
        assert!(
            parse_err("[dits]\napp = \"a\"\n")
                .contains("unknown table `[dits]`; did you mean `dist`?")
        );
        assert!(parse_err("").contains("no [dist] table"));
    }

    #[test]
    fn tag_pattern_gives_the_release_tag() {
        let cfg = parse("[dist]\napp = \"a\"\n", Path::new("x")).unwrap();
        assert_eq!(cfg.tag_pattern.as_str(), DEFAULT_TAG_PATTERN);
        assert_eq!(cfg.tag_pattern.tag_for("1.2.3"), "v1.2.3");
        let cfg = parse(
            "[dist]\napp = \"a\"\ntag-pattern = \"mycli/v*\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.tag_pattern.tag_for("1.2.3"), "mycli/v1.2.3");
        assert!(
            parse_err("[dist]\napp = \"a\"\ntag-pattern = \"v1.0\"\n")
                .contains(":3: `[dist].tag-pattern`")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\ntag-pattern = \"v\\\"*\"\n").contains("holds `\"`")
        );
    }

    #[test]
    fn repository_must_be_a_plain_https_url() {
        let cfg = parse(
            "[dist]\napp = \"a\"\nrepository = \"https://github.com/o/r/\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.repository.as_deref(), Some("https://github.com/o/r"));
        for bad in [
            "http://github.com/o/r",
            "https://github.com/o",
            "https://github.com/o/r$(reboot)",
        ] {
            let err = parse_err(&format!("[dist]\napp = \"a\"\nrepository = \"{bad}\"\n"));
            assert!(err.contains(":3: `[dist].repository`"), "{err}");
        }
    }

    #[test]
    fn c_compiler_choices() {
        let c = |v: &str| {
            parse(
                &format!("[dist]\napp = \"a\"\nc-compiler = \"{v}\"\n"),
                Path::new("x"),
            )
            .map(|c| c.c_compiler)
        };
        assert_eq!(
            parse("[dist]\napp = \"a\"\n", Path::new("x"))
                .unwrap()
                .c_compiler,
            CCompiler::Auto
        );
        assert_eq!(c("zig").unwrap(), CCompiler::Zig);
        assert_eq!(c("musl-gcc").unwrap(), CCompiler::MuslGcc);
        assert_eq!(c("/opt/cc").unwrap(), CCompiler::Path("/opt/cc".into()));
        let err = c("zgi").unwrap_err().to_string();
        assert!(
            err.contains(":3: `[dist].c-compiler = \"zgi\"` is not known; did you mean `zig`?"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_values() {
        assert!(parse_err("[dist]\napp = \"a\"\nchecksum = \"md5\"\n").contains("use \"sha256\""));
        assert!(parse_err("[dist]\napp = \"a\"\nunix-archive = \".rar\"\n").contains(":3:"));
        assert!(
            parse_err("[dist]\napp = \"a\"\ninclude = [\"../secret\"]\n")
                .contains("inside the workspace")
        );
    }
}
