//! The list-valued keys of `[dist]`: `include`, `smoke` and `[dist.docs]`.

use toml::Spanned;
use toml::de::DeValue;

use super::syntax::{Reader, sorted};
use super::*;

/// `include = ["README.md", { from = "doc/CHANGES.md", to = "doc/CHANGELOG.md" }]`.
pub(super) fn includes(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<Include>, ConfigError> {
    let mut files: Vec<Include> = Vec::new();
    for item in reader.array(value, "include")? {
        let (from, to) = match item.get_ref() {
            DeValue::String(from) => {
                let name = from.rsplit(['/', '\\']).next().unwrap_or_default();
                (from.to_string(), name.to_owned())
            }
            DeValue::Table(table) => {
                let fields = reader.fields(table, "include", &["from", "to"])?;
                let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                let Some(from) = field("from") else {
                    let why = "an include table needs `from` (and `to`), e.g. `{ from = \"doc/CHANGES.md\", to = \"CHANGELOG.md\" }`";
                    return Err(reader.error(item.span(), format!("`[dist].include`: {why}")));
                };
                let from = reader.string(from, "include.from")?.to_owned();
                let to = match field("to") {
                    Some(to) => reader.string(to, "include.to")?.to_owned(),
                    None => from
                        .rsplit(['/', '\\'])
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                };
                (from, to)
            }
            other => {
                let found = other.type_str();
                let why = format!(
                    "entries are paths or `{{ from = \"…\", to = \"…\" }}` tables, found {found}"
                );
                return Err(reader.error(item.span(), format!("`[dist].include`: {why}")));
            }
        };
        if from.is_empty()
            || Path::new(&from).is_absolute()
            || Path::new(&from).components().any(|c| c.as_os_str() == "..")
        {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include`: `{from}` must be a path inside the workspace, relative to its root"),
            ));
        }
        if let Some(why) = archive_path_problem(&to) {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include`: the archive path `{to}` {why}"),
            ));
        }
        if files.iter().any(|f| f.from == from) {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include` lists `{from}` twice"),
            ));
        }
        if files.iter().any(|f| f.to == to) {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include`: two files would be stored as `{to}` in the archive; give one a `to`"),
            ));
        }
        files.push(Include { from, to });
    }
    Ok(files)
}

/// `smoke = [["--version"], { args = ["greet"], expect = "Hello", bin = "…" }]`.
pub(super) fn smoke_commands(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<SmokeCommand>, ConfigError> {
    let mut commands = Vec::new();
    for item in reader.array(value, "smoke")? {
        let command = match item.get_ref() {
            DeValue::Array(_) => SmokeCommand {
                bin: None,
                args: reader.owned_strings(item, "smoke")?,
                expect: None,
            },
            DeValue::Table(table) => {
                let fields = reader.fields(table, "smoke", &["args", "expect", "bin"])?;
                let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                let Some(args) = field("args") else {
                    let why = "a smoke table needs `args`, e.g. `{ args = [\"--help\"], expect = \"Usage\" }`";
                    return Err(reader.error(item.span(), format!("`[dist].smoke`: {why}")));
                };
                let expect = match field("expect") {
                    None => None,
                    Some(v) if reader.string(v, "smoke.expect")?.is_empty() => {
                        return Err(reader.error(v.span(), "`[dist].smoke`: `expect` is empty; leave it out to only check the exit code".into()));
                    }
                    Some(v) => Some(reader.string(v, "smoke.expect")?.to_owned()),
                };
                let bin = field("bin")
                    .map(|v| reader.string(v, "smoke.bin").map(str::to_owned))
                    .transpose()?;
                SmokeCommand {
                    bin,
                    args: reader.owned_strings(args, "smoke.args")?,
                    expect,
                }
            }
            other => {
                let found = other.type_str();
                let why = format!(
                    "entries are argument lists or `{{ args = […], expect = \"…\" }}` tables, found {found}"
                );
                return Err(reader.error(item.span(), format!("`[dist].smoke`: {why}")));
            }
        };
        commands.push(command);
    }
    if commands.is_empty() {
        return Err(reader.error(
            value.span(),
            "`[dist].smoke` is empty: list at least one command, or remove the key for `--version`"
                .into(),
        ));
    }
    Ok(commands)
}

/// `[dist.docs]`: `"complete/app.bash" = ["--generate", "complete-bash"]`, or
/// `{ bin = "…", args = […] }` for another binary than the main one.
pub(super) fn doc_files(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<DocFile>, ConfigError> {
    let DeValue::Table(table) = value.get_ref() else {
        let found = value.get_ref().type_str();
        let why = format!(
            "must be a table of archive paths and arguments, found {found}: write `[dist.docs]` above `\"doc/app.1\" = [\"--generate\", \"man\"]`"
        );
        return Err(reader.error(value.span(), format!("`[dist].docs` {why}")));
    };
    let mut files = Vec::new();
    for (key, item) in sorted(table) {
        let path = key.get_ref().to_string();
        if let Some(why) = archive_path_problem(&path) {
            return Err(reader.error(
                key.span(),
                format!("`[dist.docs]`: the archive path `{path}` {why}"),
            ));
        }
        let (bin, args) = match item.get_ref() {
            DeValue::Array(_) => (None, reader.owned_strings(item, "docs")?),
            DeValue::Table(t) => {
                let fields = reader.fields(t, "docs", &["args", "bin"])?;
                let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                let Some(args) = field("args") else {
                    return Err(
                        reader.error(item.span(), format!("`[dist.docs]`: `{path}` needs `args`"))
                    );
                };
                let bin = field("bin")
                    .map(|v| reader.string(v, "docs.bin").map(str::to_owned))
                    .transpose()?;
                (bin, reader.owned_strings(args, "docs.args")?)
            }
            other => {
                let found = other.type_str();
                return Err(reader.error(
                    item.span(),
                    format!("`[dist.docs]`: `{path}` must be the binary's arguments, e.g. [\"--generate\", \"man\"], found {found}"),
                ));
            }
        };
        files.push(DocFile { path, bin, args });
    }
    Ok(files)
}
