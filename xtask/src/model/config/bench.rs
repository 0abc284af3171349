//! `[dist.bench]`: the app's own workloads for `cargo xtask bench`, each a
//! named table (`[dist.bench.walk]`), or one unnamed workload written as
//! `[dist.bench]` itself, the form the template had first.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::syntax::{Reader, sorted};

/// A command of the app's main binary worth timing, run in a scratch
/// directory of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BenchWorkload {
    /// The table's name (`walk` in `[dist.bench.walk]`); `workload` for the
    /// unnamed form.
    pub(crate) name: String,
    /// Arguments run once before any timing, e.g. to write input files.
    pub(crate) setup: Option<Vec<String>>,
    /// The arguments timed; [`THREADS`] stands for the number of threads.
    pub(crate) run: Vec<String>,
}

/// In `run`: the number of threads, 1 and then every core.
pub(crate) const THREADS: &str = "{threads}";

/// The name of a workload written as `[dist.bench]` itself.
const UNNAMED: &str = "workload";

const FIELDS: [&str; 2] = ["setup", "run"];

impl BenchWorkload {
    /// `run` for `threads` threads.
    pub(crate) fn args(&self, threads: usize) -> Vec<String> {
        let n = threads.to_string();
        self.run.iter().map(|a| a.replace(THREADS, &n)).collect()
    }

    /// Whether the workload takes a thread count: if not, one timing says it all.
    pub(crate) fn takes_threads(&self) -> bool {
        self.run.iter().any(|a| a.contains(THREADS))
    }
}

/// `[dist.bench.words]` + `[dist.bench.walk]`, or `[dist.bench]` with
/// `setup` and `run` directly in it.
pub(super) fn workloads(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<BenchWorkload>, ConfigError> {
    let table = table_of(reader, value, "bench")?;
    let unnamed = table
        .iter()
        .any(|(k, _)| FIELDS.contains(&k.get_ref().as_ref()));
    if unnamed {
        return Ok(vec![workload(reader, value, table, UNNAMED, "bench")?]);
    }
    let mut all = Vec::new();
    for (name, item) in sorted(table) {
        let name: &str = name.get_ref();
        let key = format!("bench.{name}");
        let inner = table_of(reader, item, &key)?;
        all.push(workload(reader, item, inner, name, &key)?);
    }
    if all.is_empty() {
        return Err(reader.error(
            value.span(),
            "`[dist.bench]` is empty: name a workload, e.g. `[dist.bench.search]` with `run = [\"search\", \"--threads\", \"{threads}\", \"corpus/\"]`".into(),
        ));
    }
    Ok(all)
}

fn table_of<'v, 'i>(
    reader: &Reader<'_>,
    value: &'v Spanned<DeValue<'i>>,
    key: &str,
) -> Result<&'v DeTable<'i>, ConfigError> {
    match value.get_ref() {
        DeValue::Table(table) => Ok(table),
        other => Err(reader.error(
            value.span(),
            format!(
                "`[dist].{key}` must be a table, found {}: write `[dist.{key}]` above `run = [\"…\"]`",
                other.type_str()
            ),
        )),
    }
}

fn workload(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
    table: &DeTable<'_>,
    name: &str,
    key: &str,
) -> Result<BenchWorkload, ConfigError> {
    let fields = reader.fields(table, key, &FIELDS)?;
    let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let Some(run) = field("run") else {
        return Err(reader.error(
            value.span(),
            format!("`[dist.{key}]` needs `run`: the arguments of the command to time, e.g. `run = [\"search\", \"--threads\", \"{{threads}}\", \"corpus/\"]`"),
        ));
    };
    let args = |v: &Spanned<DeValue<'_>>, field: &str| -> Result<Vec<String>, ConfigError> {
        let args = reader.owned_strings(v, &format!("{key}.{field}"))?;
        if args.is_empty() {
            return Err(reader.error(
                v.span(),
                format!("`[dist].{key}.{field}` is empty: give the binary's arguments"),
            ));
        }
        Ok(args)
    };
    Ok(BenchWorkload {
        name: name.to_owned(),
        setup: field("setup").map(|v| args(v, "setup")).transpose()?,
        run: args(run, "run")?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse;

    fn bench(text: &str) -> Result<Vec<super::BenchWorkload>, String> {
        parse(
            &format!("[dist]\napp = \"a\"\n{text}"),
            Path::new("dist-workspace.toml"),
        )
        .map(|c| c.bench)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_workload_takes_its_thread_count_where_it_says() {
        let all = bench("[dist.bench]\nsetup = [\"gen\", \".\"]\nrun = [\"-j{threads}\", \"--threads={threads}\", \".\"]\n").unwrap();
        let [one] = &all[..] else { panic!("{all:?}") };
        assert_eq!(one.name, "workload");
        assert_eq!(one.setup, Some(vec!["gen".to_owned(), ".".to_owned()]));
        assert!(one.takes_threads());
        assert_eq!(one.args(8), ["-j8", "--threads=8", "."]);
        let single = &bench("[dist.bench]\nrun = [\"x\"]\n").unwrap()[0];
        assert!(!single.takes_threads());
        assert_eq!(single.setup, None);
    }

    #[test]
    fn named_workloads_are_each_a_table_in_file_order() {
        let all = bench(
            "[dist.bench.words]\nrun = [\"words\", \".\"]\n[dist.bench.walk]\nsetup = [\"walk\", \"--write-tree\", \".\"]\nrun = [\"walk\", \"-j{threads}\", \".\"]\n",
        )
        .unwrap();
        let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["words", "walk"]);
        assert!(all[1].takes_threads());
        assert_eq!(all[1].setup.as_ref().unwrap()[1], "--write-tree");
    }

    #[test]
    fn mistakes_are_one_line_naming_the_table_and_line() {
        for (text, wanted) in [
            (
                "bench = [\"x\"]\n",
                ":3: `[dist].bench` must be a table, found array",
            ),
            (
                "[dist.bench]\nrun = [\"x\"]\nrnu = []\n",
                ":5: `[dist].bench`: unknown field `rnu`; did you mean `run`?",
            ),
            ("[dist.bench]\n", "`[dist.bench]` is empty: name a workload"),
            (
                "[dist.bench]\nwalk = 3\n",
                ":4: `[dist].bench.walk` must be a table, found integer",
            ),
            (
                "[dist.bench.walk]\nsetup = [\"x\"]\n",
                "`[dist.bench.walk]` needs `run`",
            ),
            (
                "[dist.bench.walk]\nrun = []\n",
                "`[dist].bench.walk.run` is empty",
            ),
            (
                "[dist.bench.walk]\nrun = [\"x\"]\nsteup = []\n",
                "`[dist].bench.walk`: unknown field `steup`; did you mean `setup`?",
            ),
        ] {
            let err = bench(text).unwrap_err();
            assert!(err.contains(wanted), "{text}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
