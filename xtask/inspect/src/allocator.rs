//! Which allocator libc's own `malloc` became in a static musl binary, read
//! from what the linker says about the link: its cross-reference table
//! (lld's `-Map` with `--cref`: each symbol, the file that defines it, the
//! files that refer to it) and its `--why-extract` list (each archive member
//! linked, and the reference that pulled it in). The release binary is
//! stripped; these are not.
//!
//! A `#[global_allocator]` only replaces Rust's allocations: `opendir`,
//! `getaddrinfo`, `fopen`, `getline` and the rest allocate inside libc with
//! musl's allocator, slow and serialised on a lock, unless the allocator
//! also defines libc's public functions (mimalloc's `override` feature,
//! tikv-jemallocator's `unprefixed_malloc_on_supported_platforms`).

use std::collections::BTreeMap;

/// libc's public allocation functions: a program (and libc) frees with one
/// what it allocated with another, so all of them must come from one place.
pub const PUBLIC: [&str; 8] = [
    "malloc",
    "calloc",
    "realloc",
    "free",
    "aligned_alloc",
    "posix_memalign",
    "memalign",
    "malloc_usable_size",
];

/// musl's own allocator inside libc: for memory libc allocates and frees
/// itself (time zones, locales, `dlerror`), paired among themselves.
const MUSL_INTERNAL: [&str; 7] = [
    "__libc_malloc",
    "__libc_malloc_impl",
    "__libc_calloc",
    "__libc_realloc",
    "__libc_free",
    "__malloc_donate",
    "__malloc_allzerop",
];

/// Allocators known by a symbol only they define, and the switch that
/// makes each define libc's functions too.
const KNOWN: [(&str, &[&str], &str); 4] = [
    (
        "mimalloc",
        &["mi_free", "mi_malloc", "mi_malloc_aligned"],
        "turn on mimalloc's `override` feature for musl builds: `mimalloc = { version = \"…\", features = [\"override\"] }` under `[target.'cfg(target_env = \"musl\")'.dependencies]`",
    ),
    (
        "jemalloc",
        &["_rjem_mallocx", "_rjem_sdallocx", "mallocx", "sdallocx"],
        "turn on tikv-jemallocator's `unprefixed_malloc_on_supported_platforms` feature for musl builds",
    ),
    (
        "snmalloc",
        &["sn_rust_alloc"],
        "make it define libc's malloc, free and the rest (snmalloc's `libc` API)",
    ),
    (
        "rpmalloc",
        &["rpmalloc"],
        "build it with its malloc override (ENABLE_OVERRIDE)",
    ),
];

/// What the linker said: who defines each symbol, and why each archive
/// member was linked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LinkMap {
    /// Symbol → the file (object, or `archive(member)`) defining it, for
    /// the symbols of the sections kept in the output.
    pub defined_in: BTreeMap<String, String>,
    /// Archive member → (the file whose reference pulled it in, the symbol).
    pub pulled_in_by: BTreeMap<String, (String, String)>,
}

/// Where libc's public allocation functions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibcAllocator {
    /// All of them that the binary links, from one file outside libc.
    Replaced {
        file: String,
        /// The allocator's name, when it is one we know.
        name: Option<&'static str>,
    },
    /// musl's own: `fast` is the allocator Rust's allocations go to, when
    /// one we know is linked (and the switch that would make it libc's too).
    Musl {
        fast: Option<(&'static str, &'static str)>,
    },
    /// Some from libc, some from elsewhere: memory allocated by one and
    /// freed by the other corrupts the heap.
    Mixed {
        ours: Vec<(String, String)>,
        libc: Vec<(String, String)>,
    },
}

/// The verdict on one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub libc: LibcAllocator,
    /// musl's allocator objects still linked (libc's internal one next to a
    /// replacement is expected), each with what pulled it in.
    pub musl_objects: Vec<(String, Option<(String, String)>)>,
}

impl LinkMap {
    /// Reads lld's map file (only its cross-reference table matters) and
    /// its `--why-extract` output.
    pub fn parse(map: &str, why_extract: &str) -> Result<LinkMap, String> {
        let Some(start) = map.find("Cross Reference Table") else {
            return Err(
                "the link map has no cross-reference table (was it linked with --cref?)".into(),
            );
        };
        let mut defined_in = BTreeMap::new();
        // lld writes `symbol` padded to 49 columns, a space, then the file;
        // the files that refer to it follow on lines of their own, indented.
        for line in map[start..].lines().skip(1) {
            if line.is_empty() || line.starts_with(' ') || line.starts_with("Symbol ") {
                continue;
            }
            let (symbol, file) = match line.get(..49).zip(line.get(50..)) {
                Some((symbol, file)) if line.as_bytes()[49] == b' ' => (symbol.trim_end(), file),
                // A longer (C++ or Rust) name: not one of the names we look for.
                _ => continue,
            };
            if !symbol.is_empty() && !symbol.contains(' ') {
                defined_in.insert(symbol.to_owned(), file.to_owned());
            }
        }
        let mut pulled_in_by = BTreeMap::new();
        for (n, line) in why_extract.lines().enumerate() {
            if n == 0 || line.is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            match (fields.next(), fields.next(), fields.next(), fields.next()) {
                (Some(reference), Some(member), Some(symbol), None) => {
                    pulled_in_by
                        .entry(member.to_owned())
                        .or_insert_with(|| (reference.to_owned(), symbol.to_owned()));
                }
                _ => {
                    return Err(format!(
                        "line {} of the --why-extract list is not `reference<TAB>extracted<TAB>symbol`",
                        n + 1
                    ));
                }
            }
        }
        Ok(LinkMap {
            defined_in,
            pulled_in_by,
        })
    }

    /// Where libc's allocation functions come from, and which of musl's
    /// allocator objects are linked.
    pub fn judge(&self) -> Judgement {
        let (mut ours, mut libc) = (Vec::new(), Vec::new());
        for symbol in PUBLIC {
            if let Some(file) = self.defined_in.get(symbol) {
                let side = if is_libc(file) { &mut libc } else { &mut ours };
                side.push((symbol.to_owned(), file.clone()));
            }
        }
        // One allocator is one archive (or object), whichever members define what.
        let mut libraries: Vec<&str> = ours.iter().map(|(_, f)| library(f)).collect();
        libraries.sort_unstable();
        libraries.dedup();
        let verdict = match (&ours[..], &libc[..], &libraries[..]) {
            ([], _, _) => LibcAllocator::Musl {
                fast: KNOWN.iter().find_map(|(name, symbols, switch)| {
                    symbols
                        .iter()
                        .any(|s| self.defined_in.contains_key(*s))
                        .then_some((*name, *switch))
                }),
            },
            ([(_, file), ..], [], [_]) => LibcAllocator::Replaced {
                file: file.clone(),
                name: self.known_in(library(file)),
            },
            _ => LibcAllocator::Mixed { ours, libc },
        };
        let mut members: Vec<&String> = PUBLIC
            .iter()
            .chain(MUSL_INTERNAL.iter())
            .filter_map(|s| self.defined_in.get(*s))
            .filter(|f| is_libc(f))
            .collect();
        members.sort();
        members.dedup();
        Judgement {
            libc: verdict,
            musl_objects: members
                .into_iter()
                .map(|m| (m.clone(), self.pulled_in_by.get(m).cloned()))
                .collect(),
        }
    }

    /// The known allocator `library` defines, if any.
    fn known_in(&self, library_path: &str) -> Option<&'static str> {
        KNOWN.iter().find_map(|(name, symbols, _)| {
            symbols
                .iter()
                .any(|s| {
                    self.defined_in
                        .get(*s)
                        .is_some_and(|f| library(f) == library_path)
                })
                .then_some(*name)
        })
    }
}

/// `file` as an archive and member, when it is one: `…/libc.a(malloc.lo)`.
fn member(file: &str) -> Option<(&str, &str)> {
    file.strip_suffix(')')?.rsplit_once('(')
}

fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The archive `file` is a member of, or the object file itself.
fn library(file: &str) -> &str {
    member(file).map_or(file, |(archive, _)| archive)
}

/// Whether `file` is a member of libc's archive.
fn is_libc(file: &str) -> bool {
    member(file).is_some_and(|(archive, _)| base_name(archive) == "libc.a")
}

/// `…/dir/libfoo.a(member.o)` as `libfoo.a(member.o)`: the path is the build machine's.
pub fn short(file: &str) -> String {
    match member(file) {
        Some((archive, m)) => format!("{}({m})", base_name(archive)),
        None => base_name(file).to_owned(),
    }
}

impl Judgement {
    /// One line on what libc's allocations go to; `Err` when they go to two
    /// allocators at once.
    pub fn describe(&self, binary: &str) -> Result<String, String> {
        match &self.libc {
            LibcAllocator::Replaced { file, name } => Ok(format!(
                "{binary}: libc's malloc, free and the rest are {} ({}), as Rust's allocations are",
                name.unwrap_or("the replacement's"),
                short(file)
            )),
            LibcAllocator::Musl {
                fast: Some((name, switch)),
            } => Ok(format!(
                "{binary}: Rust's allocations go to {name} but libc's own (opendir, getaddrinfo, fopen, …) still to musl's slow allocator: {switch} (README, \"Speed on musl\")"
            )),
            LibcAllocator::Musl { fast: None } => Ok(format!(
                "{binary}: allocates with musl's own allocator, slow with threads; a fast one that also replaces libc's malloc is four lines (README, \"Speed on musl\")"
            )),
            LibcAllocator::Mixed { ours, libc } => {
                let list = |v: &[(String, String)]| {
                    v.iter()
                        .map(|(s, f)| format!("{s} ({})", short(f)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                Err(format!(
                    "{binary}: libc's allocation functions come from two allocators — {} but {} — and memory one allocates the other frees corrupts the heap; make one allocator define them all",
                    list(ours),
                    list(libc)
                ))
            }
        }
    }

    /// A line per musl allocator object still linked next to a replacement.
    pub fn internal_lines(&self) -> Vec<String> {
        if !matches!(self.libc, LibcAllocator::Replaced { .. }) {
            return Vec::new();
        }
        self.musl_objects
            .iter()
            .map(|(member, why)| match why {
                Some((reference, symbol)) => format!(
                    "musl's internal allocator linked for what libc allocates and frees itself: {} (pulled in by {} for {symbol})",
                    short(member),
                    short(reference)
                ),
                None => format!(
                    "musl's internal allocator linked for what libc allocates and frees itself: {}",
                    short(member)
                ),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBC: &str = "/r/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained/libc.a";
    const MI: &str = "/t/deps/liblibmimalloc_sys-3930.rlib(93ac-static.o)";

    /// A cross-reference table as lld writes it.
    fn map(rows: &[(&str, &str, &[&str])]) -> String {
        let mut out = String::from(
            "             VMA              LMA     Size Align Out     In      Symbol\n\n\nCross Reference Table\n\n",
        );
        out.push_str(&format!("{:<49} {}\n", "Symbol", "File"));
        for (symbol, file, refs) in rows {
            out.push_str(&format!("{symbol:<49} {file}\n"));
            for r in *refs {
                out.push_str(&format!("{:<49} {r}\n", ""));
            }
        }
        out
    }

    fn judge(rows: &[(&str, &str, &[&str])], why: &str) -> Judgement {
        LinkMap::parse(&map(rows), why).unwrap().judge()
    }

    #[test]
    fn mimalloc_with_override_defines_every_function_libc_uses() {
        let opendir = format!("{LIBC}(opendir.lo)");
        let j = judge(
            &[
                (
                    "free",
                    MI,
                    &["/t/toolbox.rcgu.o", &format!("{LIBC}(closedir.lo)")],
                ),
                ("malloc", MI, &["/t/toolbox.rcgu.o"]),
                ("calloc", MI, &[&opendir]),
                ("malloc_usable_size", MI, &[]),
                ("mi_free", MI, &["/t/toolbox.rcgu.o"]),
                ("opendir", &opendir, &["/t/toolbox.rcgu.o"]),
                ("operator delete(void*)", MI, &[]),
            ],
            "reference\textracted\tsymbol\n",
        );
        assert_eq!(
            j.libc,
            LibcAllocator::Replaced {
                file: MI.to_owned(),
                name: Some("mimalloc")
            }
        );
        assert!(j.musl_objects.is_empty());
        assert_eq!(
            j.describe("toolbox").unwrap(),
            "toolbox: libc's malloc, free and the rest are mimalloc (liblibmimalloc_sys-3930.rlib(93ac-static.o)), as Rust's allocations are"
        );
    }

    #[test]
    fn mimalloc_without_override_leaves_libc_on_musls_allocator_and_names_the_switch() {
        let j = judge(
            &[
                (
                    "free",
                    &format!("{LIBC}(free.lo)"),
                    &[&format!("{LIBC}(closedir.lo)")],
                ),
                ("calloc", &format!("{LIBC}(calloc.lo)"), &[]),
                ("mi_malloc_aligned", MI, &["/t/toolbox.rcgu.o"]),
            ],
            "",
        );
        let line = j.describe("toolbox for x86_64-unknown-linux-musl").unwrap();
        assert!(
            line.contains("Rust's allocations go to mimalloc but libc's own"),
            "{line}"
        );
        assert!(line.contains("`override` feature"), "{line}");
        // Nothing to list beside musl's allocator when it is the only one.
        assert!(j.internal_lines().is_empty());
        let jemalloc = judge(
            &[
                ("malloc", &format!("{LIBC}(lite_malloc.lo)"), &[]),
                (
                    "_rjem_sdallocx",
                    "/t/libtikv_jemalloc_sys.rlib(jemalloc.pic.o)",
                    &[],
                ),
            ],
            "",
        );
        assert!(
            jemalloc
                .describe("fd")
                .unwrap()
                .contains("unprefixed_malloc_on_supported_platforms")
        );
        let plain = judge(&[("malloc", &format!("{LIBC}(lite_malloc.lo)"), &[])], "");
        assert!(
            plain
                .describe("fd")
                .unwrap()
                .contains("musl's own allocator")
        );
    }

    #[test]
    fn members_of_one_allocators_archive_are_one_allocator_and_two_archives_are_two() {
        let je = "/t/libtikv_jemalloc_sys.rlib";
        let (a, b) = (
            format!("{je}(jemalloc.pic.o)"),
            format!("{je}(large.pic.o)"),
        );
        let j = judge(
            &[("malloc", &a, &[]), ("free", &b, &[]), ("mallocx", &a, &[])],
            "",
        );
        assert_eq!(
            j.libc,
            LibcAllocator::Replaced {
                file: a.clone(),
                name: Some("jemalloc")
            }
        );
        let two = judge(&[("malloc", &a, &[]), ("free", MI, &[])], "");
        assert!(matches!(two.libc, LibcAllocator::Mixed { .. }), "{two:?}");
    }

    #[test]
    fn functions_from_two_allocators_are_an_error_naming_each_side() {
        let usable = format!("{LIBC}(malloc_usable_size.lo)");
        let j = judge(
            &[
                ("malloc", MI, &[]),
                ("free", MI, &[]),
                ("malloc_usable_size", &usable, &["/t/x.o"]),
            ],
            "",
        );
        let err = j.describe("toolbox").unwrap_err();
        assert!(
            err.contains("malloc (liblibmimalloc_sys-3930.rlib(93ac-static.o)), free (liblibmimalloc_sys-3930.rlib(93ac-static.o)) but malloc_usable_size (libc.a(malloc_usable_size.lo))"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn musls_internal_allocator_beside_a_replacement_is_listed_with_what_pulled_it_in() {
        let je = "/t/libtikv_jemalloc_sys.rlib(jemalloc.pic.o)";
        let lite = format!("{LIBC}(lite_malloc.lo)");
        let why = format!("reference\textracted\tsymbol\n{LIBC}(__tz.lo)\t{lite}\t__libc_malloc\n");
        let j = judge(
            &[
                ("malloc", je, &[]),
                ("free", je, &[]),
                ("mallocx", je, &[]),
                ("__libc_malloc", &lite, &[]),
            ],
            &why,
        );
        assert_eq!(
            j.libc,
            LibcAllocator::Replaced {
                file: je.to_owned(),
                name: Some("jemalloc")
            }
        );
        assert_eq!(
            j.internal_lines(),
            [
                "musl's internal allocator linked for what libc allocates and frees itself: libc.a(lite_malloc.lo) (pulled in by libc.a(__tz.lo) for __libc_malloc)"
            ]
        );
    }

    #[test]
    fn a_map_without_the_table_or_a_bad_list_is_an_error() {
        assert!(
            LinkMap::parse("VMA LMA\n", "")
                .unwrap_err()
                .contains("--cref")
        );
        let err = LinkMap::parse(
            &map(&[]),
            "reference\textracted\tsymbol\nonly two\tfields\n",
        )
        .unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_long_name_does_not_shift_the_columns_of_the_next() {
        let long = "std::sys::pal::unix::thread::Thread::new::thread_start::h0123456789abcdef";
        let m = LinkMap::parse(&map(&[(long, "/t/a.o", &[]), ("malloc", MI, &[])]), "").unwrap();
        assert_eq!(m.defined_in.get("malloc").map(String::as_str), Some(MI));
        assert_eq!(m.defined_in.len(), 1);
        assert_eq!(short(MI), "liblibmimalloc_sys-3930.rlib(93ac-static.o)");
        assert_eq!(short("/t/deps/toolbox.rcgu.o"), "toolbox.rcgu.o");
    }
}
