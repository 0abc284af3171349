//! The crates a binary was built from, in cargo-auditable's format: the
//! `.dep-v0` section holds zlib-compressed JSON listing every package with
//! its version, source, kind (runtime or build) and dependencies, for that
//! target and feature set. `cargo audit bin`, Trivy, Grype, Syft and
//! `rust-audit-info` read it. This module writes the section's contents and
//! reads them back out of an ELF, PE or Mach-O file, validated: anything
//! else a downloaded binary holds there is refused, not trusted.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection};
use serde_json::{Value, json};

/// The section's name (in Mach-O's `__DATA` segment).
pub const SECTION: &str = ".dep-v0";

/// The symbol the section is reached by, which keeps linkers from dropping it.
pub const SYMBOL: &str = "AUDITABLE_VERSION_INFO";

/// More than any real dependency list decompresses to (cargo-auditable's
/// guidance): a section inflating further is a zip bomb.
const MAX_JSON: u64 = 8 << 20;

/// The dependency list of one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepList {
    pub packages: Vec<Package>,
}

/// One package of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// `crates.io`, `git`, `local`, `registry`, or another source kind.
    pub source: String,
    /// Only used at build time (build scripts, proc macros and theirs).
    pub build_only: bool,
    /// Indices into the list.
    pub dependencies: Vec<usize>,
    /// The package the binary belongs to.
    pub root: bool,
}

impl DepList {
    /// The crates of several builds of one app (a universal binary's
    /// slices, each built for its CPU) as one list: each crate once, its
    /// dependencies in any build, build-only only where it is so in every
    /// build it is in. One root, or the builds were of different apps.
    pub fn union(lists: &[DepList]) -> Result<DepList> {
        use std::collections::{BTreeMap, BTreeSet};
        type Key = (String, String, String);
        let key = |p: &Package| (p.name.clone(), p.version.clone(), p.source.clone());
        let mut merged: BTreeMap<Key, (bool, bool, BTreeSet<Key>)> = BTreeMap::new();
        for list in lists {
            for package in &list.packages {
                let dependencies: BTreeSet<Key> = package
                    .dependencies
                    .iter()
                    .filter_map(|&i| list.packages.get(i).map(key))
                    .collect();
                let entry = merged
                    .entry(key(package))
                    .or_insert((true, false, BTreeSet::new()));
                entry.0 &= package.build_only;
                entry.1 |= package.root;
                entry.2.extend(dependencies);
            }
        }
        let keys: Vec<Key> = merged.keys().cloned().collect();
        let packages: Vec<Package> = merged
            .into_iter()
            .map(
                |((name, version, source), (build_only, root, dependencies))| Package {
                    name,
                    version,
                    source,
                    build_only,
                    dependencies: dependencies
                        .iter()
                        .filter_map(|d| keys.binary_search(d).ok())
                        .collect(),
                    root,
                },
            )
            .collect();
        let roots = packages.iter().filter(|p| p.root).count();
        if roots != 1 {
            bail!("the builds joined carry {roots} root packages: they are not builds of one app");
        }
        Ok(DepList { packages })
    }

    /// The JSON cargo-auditable writes: keys its reader knows, defaults left
    /// out (`kind` runtime, no dependencies, not root), format 1.
    pub fn to_json(&self) -> String {
        let packages: Vec<Value> = self
            .packages
            .iter()
            .map(|p| {
                let mut v = json!({ "name": p.name, "version": p.version, "source": p.source });
                if p.build_only {
                    v["kind"] = json!("build");
                }
                if !p.dependencies.is_empty() {
                    v["dependencies"] = json!(p.dependencies);
                }
                if p.root {
                    v["root"] = json!(true);
                }
                v
            })
            .collect();
        json!({ "packages": packages, "format": 1 }).to_string()
    }

    /// The section's contents: the JSON, zlib-compressed.
    pub fn to_section(&self) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(7));
        z.write_all(self.to_json().as_bytes())
            .expect("writing to memory");
        z.finish().expect("writing to memory")
    }

    /// Reads the section's contents back, checked as a reader must before
    /// walking the graph: indices in range, at most one root, no cycle.
    pub fn from_section(bytes: &[u8]) -> Result<DepList> {
        let mut json = Vec::new();
        flate2::read::ZlibDecoder::new(bytes)
            .take(MAX_JSON + 1)
            .read_to_end(&mut json)
            .context("the dependency data is not zlib-compressed")?;
        if json.len() as u64 > MAX_JSON {
            bail!(
                "the dependency data inflates to more than {} MiB",
                MAX_JSON >> 20
            );
        }
        let v: Value = serde_json::from_slice(&json).context("the dependency data is not JSON")?;
        let list = v["packages"]
            .as_array()
            .context("the dependency data has no `packages` list")?;
        let mut packages = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            let text = |key: &str| {
                p[key]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("package {i} of the dependency data has no `{key}`"))
            };
            let dependencies = match &p["dependencies"] {
                Value::Null => Vec::new(),
                deps => deps
                    .as_array()
                    .context("`dependencies` is not a list")?
                    .iter()
                    .map(|d| {
                        d.as_u64()
                            .map(|d| d as usize)
                            .filter(|d| *d < list.len())
                            .with_context(|| {
                                format!("package {i} depends on `{d}`, which is not in the list")
                            })
                    })
                    .collect::<Result<_>>()?,
            };
            let build_only = match p["kind"].as_str() {
                None | Some("runtime") => false,
                Some("build") => true,
                Some(other) => bail!("package {i} has the unknown kind `{other}`"),
            };
            packages.push(Package {
                name: text("name")?,
                version: text("version")?,
                source: text("source")?,
                build_only,
                dependencies,
                root: p["root"].as_bool().unwrap_or(false),
            });
        }
        let list = DepList { packages };
        if list.packages.iter().filter(|p| p.root).count() > 1 {
            bail!("the dependency data names more than one root package");
        }
        if list.has_cycle() {
            bail!("the dependency data's graph has a cycle");
        }
        Ok(list)
    }

    /// Packages that end up in the binary, not only in its build.
    pub fn runtime(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| !p.build_only)
    }

    fn has_cycle(&self) -> bool {
        // Kahn's algorithm: what is left after removing every package whose
        // dependencies are all removed lies on a cycle.
        let n = self.packages.len();
        let mut waiting: Vec<usize> = self.packages.iter().map(|p| p.dependencies.len()).collect();
        let mut users = vec![Vec::new(); n];
        for (i, p) in self.packages.iter().enumerate() {
            for &d in &p.dependencies {
                users[d].push(i);
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = ready.pop() {
            done += 1;
            for &u in &users[i] {
                waiting[u] -= 1;
                if waiting[u] == 0 {
                    ready.push(u);
                }
            }
        }
        done != n
    }
}

/// The dependency list of an ELF, PE or Mach-O binary: `None` when it has
/// no `.dep-v0` section, an error when the section is there but not valid.
pub fn read(binary: &[u8]) -> Result<Option<DepList>> {
    // A universal binary: each slice carries its own CPU's crates; the
    // binary is made of all of them.
    if let Some(slices) = crate::linkage::fat_slices(binary)? {
        let lists = slices.into_iter().map(read).collect::<Result<Vec<_>>>()?;
        let carried: Vec<DepList> = lists.iter().flatten().cloned().collect();
        if carried.is_empty() {
            return Ok(None);
        }
        if carried.len() != lists.len() {
            anyhow::bail!(
                "some slices of this universal binary carry dependency data and others do not"
            );
        }
        return DepList::union(&carried).map(Some);
    }
    let file = object::File::parse(binary).context("not an ELF, PE or Mach-O file")?;
    let Some(section) = file.section_by_name(SECTION) else {
        return Ok(None);
    };
    let data = section
        .data()
        .context("the `.dep-v0` section lies outside the file")?;
    DepList::from_section(data).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, deps: &[usize], root: bool) -> Package {
        Package {
            name: name.into(),
            version: "1.0.0".into(),
            source: "crates.io".into(),
            build_only: false,
            dependencies: deps.to_vec(),
            root,
        }
    }

    #[test]
    fn the_json_is_cargo_auditables_and_round_trips_through_zlib() {
        let mut cc = package("cc", &[], false);
        cc.build_only = true;
        let list = DepList {
            packages: vec![
                package("app", &[1, 2], true),
                cc,
                package("libc", &[], false),
            ],
        };
        assert_eq!(
            list.to_json(),
            r#"{"format":1,"packages":[{"dependencies":[1,2],"name":"app","root":true,"source":"crates.io","version":"1.0.0"},{"kind":"build","name":"cc","source":"crates.io","version":"1.0.0"},{"name":"libc","source":"crates.io","version":"1.0.0"}]}"#
        );
        let section = list.to_section();
        assert_eq!(&section[..1], b"\x78", "a zlib stream");
        assert_eq!(DepList::from_section(&section).unwrap(), list);
        assert_eq!(list.runtime().count(), 2);
    }

    #[test]
    fn the_union_of_two_cpus_builds_holds_each_crate_once_with_all_its_edges() {
        let mut cc = package("cc", &[], false);
        cc.build_only = true;
        // x86_64: app -> cpufeatures, cc (build only); arm64: app -> libc, cc at run time.
        let x86 = DepList {
            packages: vec![
                package("app", &[1, 2], true),
                cc.clone(),
                package("cpufeatures", &[], false),
            ],
        };
        let arm = DepList {
            packages: vec![
                package("app", &[1, 2], true),
                package("cc", &[], false),
                package("libc", &[], false),
            ],
        };
        let union = DepList::union(&[x86.clone(), arm]).unwrap();
        let names: Vec<&str> = union.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["app", "cc", "cpufeatures", "libc"]);
        assert_eq!(union.packages[0].dependencies, [1, 2, 3]);
        assert!(union.packages[0].root);
        assert!(!union.packages[1].build_only, "cc runs on arm64");
        // A valid list: it goes into a section and back.
        assert_eq!(DepList::from_section(&union.to_section()).unwrap(), union);
        assert_eq!(
            DepList::union(std::slice::from_ref(&x86))
                .unwrap()
                .packages
                .len(),
            3
        );
        let other_app = DepList {
            packages: vec![package("other", &[], true)],
        };
        let err = DepList::union(&[x86, other_app]).unwrap_err().to_string();
        assert!(err.contains("2 root packages"), "{err}");
    }

    #[test]
    fn what_a_reader_must_not_walk_is_refused() {
        let z = |json: &str| {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(json.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let cases = [
            (
                r#"{"packages":[{"name":"a","version":"1","source":"local","dependencies":[0]}]}"#,
                "cycle",
            ),
            (
                r#"{"packages":[{"name":"a","version":"1","source":"local","dependencies":[7]}]}"#,
                "not in the list",
            ),
            (
                r#"{"packages":[{"name":"a","version":"1","source":"local","root":true},{"name":"b","version":"1","source":"local","root":true}]}"#,
                "more than one root",
            ),
            (
                r#"{"packages":[{"name":"a","source":"local"}]}"#,
                "no `version`",
            ),
            (
                r#"{"packages":[{"name":"a","version":"1","source":"local","kind":"dev"}]}"#,
                "unknown kind",
            ),
            ("[1, 2", "not JSON"),
        ];
        for (json, why) in cases {
            let err = format!("{:#}", DepList::from_section(&z(json)).unwrap_err());
            assert!(err.contains(why), "{json}: {err}");
        }
        let err = DepList::from_section(b"plain text").unwrap_err();
        assert!(err.to_string().contains("zlib"), "{err}");
        let bomb = z(&" ".repeat((MAX_JSON + 10) as usize));
        let err = DepList::from_section(&bomb).unwrap_err();
        assert!(err.to_string().contains("more than 8 MiB"), "{err}");
    }
}
