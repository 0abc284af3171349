//! Reading TOML without a schema, with line numbers for errors, and
//! writing TOML string literals.

use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use xtask_inspect::suggest::did_you_mean;

use super::ConfigError;

/// The value of `key` in a TOML table read without a schema (Cargo.lock,
/// cargo config files).
pub(crate) fn toml_field<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a DeValue<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v.get_ref())
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

/// Table entries in file order, so the first mistake reported is the first in the file.
pub(super) fn sorted<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

pub(super) struct Reader<'t> {
    pub(super) text: &'t str,
    pub(super) file: &'t Path,
}

impl Reader<'_> {
    pub(super) fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn error(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line: Some(self.line_of(span.start)),
            message,
        }
    }

    pub(super) fn string<'v>(
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

    pub(super) fn boolean(
        &self,
        value: &Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<bool, ConfigError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => Err(self.error(
                value.span(),
                format!(
                    "`[dist].{key}` must be true or false, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    pub(super) fn array<'v, 'i>(
        &self,
        value: &'v Spanned<DeValue<'i>>,
        key: &str,
    ) -> Result<&'v [Spanned<DeValue<'i>>], ConfigError> {
        match value.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(self.error(
                value.span(),
                format!(
                    "`[dist].{key}` must be an array, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    pub(super) fn owned_strings(
        &self,
        value: &Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .strings(value, key)?
            .into_iter()
            .map(|(s, _)| s.to_owned())
            .collect())
    }

    /// The fields of an inline table, each of which must be one of `known`.
    pub(super) fn fields<'v, 'i>(
        &self,
        table: &'v DeTable<'i>,
        key: &str,
        known: &[&str],
    ) -> Result<Vec<(&'v str, &'v Spanned<DeValue<'i>>)>, ConfigError> {
        let mut fields = Vec::new();
        for (key_name, field) in sorted(table) {
            let name: &str = key_name.get_ref();
            if !known.contains(&name) {
                let hint = did_you_mean(name, known.iter().copied());
                let list = known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(self.error(
                    key_name.span(),
                    format!("`[dist].{key}`: unknown field `{name}`{hint}; known: {list}"),
                ));
            }
            fields.push((name, field));
        }
        Ok(fields)
    }

    pub(super) fn strings<'v>(
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

/// A TOML string literal (for `cargo --config` and Cargo.toml edits), escaping what TOML requires.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
