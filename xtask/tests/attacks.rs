//! `verify` against archives crafted as an attacker would
//! (`fixtures/attacks/craft.py`): every attack is refused with its reason,
//! and whatever verify accepts, GNU tar, busybox tar, bsdtar, unzip and
//! Python unpack exactly as verify read it — the guarantee that what it
//! checks is what `tar -x` unpacks.

// Linux only: the extractors compared are Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::unpack::{self, Limits, MemberKind};

const SUFFIX: &str = "-1.0.0-x86_64-unknown-linux-musl";

/// Each attack and the words its refusal must hold.
const ATTACKS: &[(&str, &str)] = &[
    ("absolute", "is an absolute path"),
    ("chardev", "is a character device"),
    ("control-chars", "has mode 4755"),
    ("dotdot", "climbs out with `..`"),
    ("duplicate", "is in the archive twice"),
    ("duplicate-case", "differ only in case"),
    ("duplicate-dotted", "is in the archive twice"),
    ("fifo", "is a FIFO"),
    ("file-then-symlink", "is in the archive twice"),
    ("hardlink", "is a hardlink"),
    ("hardlink-outside", "is a hardlink"),
    ("longname-and-pax", "both a GNU long name and a PAX `path`"),
    ("pax-global", "a PAX global header"),
    ("pax-size", "a PAX `size` record"),
    ("pax-sparse", "GNU.sparse.name"),
    ("pax-xattr", "SCHILY.xattr.security.capability"),
    ("second-top", "expected one top directory"),
    ("setuid", "has mode 4755"),
    ("symlink-absolute", "points at an absolute path"),
    (
        "symlink-chain",
        "points outside the archive's top directory",
    ),
    ("through-symlink", "would be unpacked through the symlink"),
    ("trailing", "data follows the end of the tar archive"),
    ("world-writable", "is world-writable"),
    ("xz-bomb", "more than the 100 MiB a member may"),
    ("zip-backslash", "holds `\\`"),
    ("zip-claims-4gib", "claims to unpack to 4095 MiB"),
    ("zip-drive", "starts with a drive letter"),
    ("zip-duplicate", "is in the archive twice"),
    ("zip-name-mismatch", "its local header names"),
    ("zip-overlap", "share data"),
];

/// Archives that use the same features honestly: verify must read them
/// (else the comparison below proves nothing) as every extractor does.
const CONTROLS: &[&str] = &[
    "control-gnu",
    "control-gz",
    "control-pax",
    "control-ustar",
    "control-zip",
    "xz-concatenated",
];

/// Not unpacked by the comparison: writes outside the scratch directory if
/// an extractor kept the absolute path, a device node, 160 MiB.
const NOT_UNPACKED: &[&str] = &["absolute", "chardev", "xz-bomb", "zip-claims-4gib"];

/// The limit verify is given, below the bomb's 160 MiB.
const LIMIT_MIB: u64 = 100;

/// The crafted archives, made once per test run.
fn archives() -> &'static BTreeMap<String, PathBuf> {
    static ARCHIVES: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    ARCHIVES.get_or_init(|| {
        let dir = e2e_dir("attacks").join("archives");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let out = Command::new("python3")
            .arg(fixtures().join("attacks/craft.py"))
            .arg(&dir)
            .output()
            .expect("run python3");
        assert_ok("craft.py", &out);
        fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let case = name.split(SUFFIX).next().unwrap().to_owned();
                (case, path)
            })
            .collect()
    })
}

/// craft.py writes the archives: Python's tarfile and zipfile, a tar
/// implementation apart from the one verify uses.
fn can_craft() -> bool {
    require_tool("python3", "apt-get install python3")
}

#[test]
fn every_crafted_archive_is_an_attack_or_a_control() {
    if !can_craft() {
        return;
    }
    let known: Vec<&str> = ATTACKS
        .iter()
        .map(|(case, _)| *case)
        .chain(CONTROLS.iter().copied())
        .collect();
    let crafted: Vec<&str> = archives().keys().map(String::as_str).collect();
    let mut sorted = known.clone();
    sorted.sort_unstable();
    assert_eq!(
        crafted, sorted,
        "craft.py and this test must name the same cases"
    );
}

#[test]
fn verify_refuses_every_attack_with_its_reason() {
    if !can_craft() {
        return;
    }
    let scratch = e2e_dir("attacks").join("verify");
    fs::create_dir_all(&scratch).unwrap();
    let mut wrong = Vec::new();
    for (case, reason) in ATTACKS {
        let path = &archives()[*case];
        let out = xtask(
            &scratch,
            &scratch.join("target"),
            &[
                "verify",
                "--max-unpacked-mib",
                &LIMIT_MIB.to_string(),
                path.to_str().unwrap(),
            ],
        );
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let file = path.file_name().unwrap().to_string_lossy();
        if out.status.code() != Some(1) {
            wrong.push(format!(
                "{case}: exit {:?}, not 1\n{all}",
                out.status.code()
            ));
        } else if !all.contains(&format!("{file}: ")) {
            wrong.push(format!("{case}: the archive is not named\n{all}"));
        } else if !all.contains(reason) {
            wrong.push(format!("{case}: refused, but not for `{reason}`:\n{all}"));
        }
        // A name is reported, never obeyed: no control character reaches the terminal.
        if all.chars().any(|c| c.is_control() && c != '\n') {
            wrong.push(format!(
                "{case}: a control character in the report:\n{all:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// What an extraction left: path below the scratch root → what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File { data: Vec<u8>, exec: Option<bool> },
    Symlink(String),
}

type Tree = BTreeMap<String, Node>;

/// Where each extractor unpacks to, below its own scratch root: deep, so an
/// escape with `..` still lands where the comparison sees it.
const NEST: &str = "a/b/c/out";

/// The tree verify promises: its members below `NEST`, with their directories.
fn promised(members: &[unpack::Member], exec_bits: bool) -> Tree {
    let mut tree = Tree::new();
    let mut dir = String::new();
    for part in NEST.split('/') {
        dir = if dir.is_empty() {
            part.to_owned()
        } else {
            format!("{dir}/{part}")
        };
        tree.insert(dir.clone(), Node::Dir);
    }
    for m in members {
        let parts: Vec<&str> = m
            .path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let mut path = NEST.to_owned();
        for (i, part) in parts.iter().enumerate() {
            path = format!("{path}/{part}");
            if i + 1 < parts.len() {
                tree.insert(path.clone(), Node::Dir);
            }
        }
        let node = match &m.kind {
            MemberKind::Dir => Node::Dir,
            MemberKind::Symlink(target) => Node::Symlink(target.clone()),
            MemberKind::File => Node::File {
                data: m.data.clone(),
                exec: exec_bits.then_some(m.mode & 0o111 != 0),
            },
        };
        tree.insert(path, node);
    }
    tree
}

/// Everything below `root`, symlinks read and never followed.
fn walk(root: &Path, exec_bits: bool) -> Tree {
    fn go(root: &Path, dir: &Path, exec_bits: bool, tree: &mut Tree) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let node = if meta.file_type().is_symlink() {
                Node::Symlink(fs::read_link(&path).unwrap().to_string_lossy().into_owned())
            } else if meta.is_dir() {
                go(root, &path, exec_bits, tree);
                Node::Dir
            } else if meta.is_file() {
                Node::File {
                    data: fs::read(&path).unwrap(),
                    exec: exec_bits.then_some(meta.permissions().mode() & 0o111 != 0),
                }
            } else {
                Node::Symlink(format!(
                    "<special file, mode {:o}>",
                    meta.permissions().mode()
                ))
            };
            tree.insert(rel, node);
        }
    }
    let mut tree = Tree::new();
    go(root, root, exec_bits, &mut tree);
    tree
}

/// An extractor: its name, the formats it reads, how to run it.
struct Extractor {
    name: &'static str,
    reads: fn(ArchiveFormat) -> bool,
    /// The program and arguments for an archive and a destination.
    command: fn(&Path, &Path) -> Command,
    /// Whether it sets permissions from the archive.
    exec_bits: bool,
}

fn tars(format: ArchiveFormat) -> bool {
    format != ArchiveFormat::Zip
}

fn zips(format: ArchiveFormat) -> bool {
    format == ArchiveFormat::Zip
}

/// `program args…`, run inside the destination so that relative hardlink
/// targets resolve there whatever the extractor does.
fn cmd(program: &str, args: &[&str], dest: &Path) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(dest);
    command
}

const PY_TAR: &str = "import sys, tarfile\n\
with tarfile.open(sys.argv[1]) as t: t.extractall(sys.argv[2], filter='tar')";
const PY_ZIP: &str = "import sys, zipfile\n\
with zipfile.ZipFile(sys.argv[1]) as z: z.extractall(sys.argv[2])";

const EXTRACTORS: &[Extractor] = &[
    Extractor {
        name: "GNU tar",
        reads: tars,
        command: |a, d| {
            let mut c = cmd("tar", &["-xf"], d);
            c.arg(a).arg("-C").arg(d);
            c
        },
        exec_bits: true,
    },
    Extractor {
        name: "busybox tar",
        reads: tars,
        command: |a, d| {
            let flag = if a.to_string_lossy().ends_with(".gz") {
                "-xzf"
            } else {
                "-xJf"
            };
            let mut c = cmd("busybox", &["tar", flag], d);
            c.arg(a).arg("-C").arg(d);
            c
        },
        exec_bits: true,
    },
    Extractor {
        name: "bsdtar",
        reads: |_| true,
        command: |a, d| {
            let mut c = cmd("bsdtar", &["-xf"], d);
            c.arg(a).arg("-C").arg(d);
            c
        },
        exec_bits: true,
    },
    Extractor {
        name: "Python tarfile",
        reads: tars,
        command: |a, d| {
            let mut c = cmd("python3", &["-c", PY_TAR], d);
            c.arg(a).arg(d);
            c
        },
        exec_bits: true,
    },
    Extractor {
        name: "unzip",
        reads: zips,
        command: |a, d| {
            let mut c = cmd("unzip", &["-q"], d);
            c.arg(a).arg("-d").arg(d);
            c
        },
        exec_bits: false,
    },
    Extractor {
        name: "busybox unzip",
        reads: zips,
        command: |a, d| {
            let mut c = cmd("busybox", &["unzip", "-q"], d);
            c.arg(a).arg("-d").arg(d);
            c
        },
        exec_bits: false,
    },
    Extractor {
        name: "Python zipfile",
        reads: zips,
        command: |a, d| {
            let mut c = cmd("python3", &["-c", PY_ZIP], d);
            c.arg(a).arg(d);
            c
        },
        exec_bits: false,
    },
];

const LETTERS: [&str; 7] = ["A", "B", "C", "D", "E", "F", "G"];

/// For every crafted archive: verify's reading, and what each extractor
/// unpacked. Whatever verify accepts, every extractor must unpack exactly
/// as verify read it; for what it refuses the table shows why that matters.
#[test]
fn what_verify_accepts_every_extractor_unpacks_the_same() {
    let tools = [
        ("tar", "apt-get install tar"),
        ("xz", "apt-get install xz-utils"),
        ("busybox", "apt-get install busybox"),
        ("bsdtar", "apt-get install libarchive-tools"),
        ("unzip", "apt-get install unzip"),
        ("python3", "apt-get install python3"),
    ];
    if !require_tools(&tools) {
        return;
    }
    let scratch = e2e_dir("attacks").join("unpacked");
    let _ = fs::remove_dir_all(&scratch);
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    for (case, path) in archives() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let format = ArchiveFormat::of_file(&name).unwrap();
        let top = format!("{case}{SUFFIX}");
        let limits = Limits {
            total: LIMIT_MIB << 20,
            member: LIMIT_MIB << 20,
        };
        let read = unpack::read(format, fs::File::open(path).unwrap(), limits);
        let verdict = match &read {
            Err(e) => Err(format!("{e:#}")),
            Ok(u) => {
                let mut problems = u.problems.clone();
                problems.extend(unpack::layout_problems(&u.members, &top));
                if problems.is_empty() {
                    Ok(u.members.clone())
                } else {
                    Err(problems.join("; "))
                }
            }
        };
        let accepted = verdict.is_ok();
        if CONTROLS.contains(&case.as_str()) && !accepted {
            wrong.push(format!(
                "control {case} is refused: {}",
                verdict.unwrap_err()
            ));
            continue;
        }
        if ATTACKS.iter().any(|(c, _)| c == case) && accepted {
            wrong.push(format!("attack {case} is accepted"));
        }
        let mut row = format!(
            "{case:<18} {:<8}",
            if accepted { "accepted" } else { "refused" }
        );
        if NOT_UNPACKED.contains(&case.as_str()) {
            table.push(format!("{row} (not unpacked)"));
            continue;
        }
        let mut seen: Vec<Tree> = Vec::new();
        for tool in EXTRACTORS.iter().filter(|t| (t.reads)(format)) {
            let root = scratch.join(case).join(tool.name.replace(' ', "-"));
            let dest = root.join(NEST);
            fs::create_dir_all(&dest).unwrap();
            let out = (tool.command)(path, &dest).output().expect("run extractor");
            let tree = walk(&root, tool.exec_bits);
            let cell = match &verdict {
                Ok(members) => {
                    let want = promised(members, tool.exec_bits);
                    if !out.status.success() {
                        wrong.push(format!(
                            "{} fails on {case}, which verify accepts: {}",
                            tool.name,
                            text(&out.stderr)
                        ));
                        "fails"
                    } else if tree != want {
                        wrong.push(format!(
                            "{} unpacks {case} otherwise than verify read it:\n  verify: {want:?}\n  {}: {tree:?}",
                            tool.name, tool.name
                        ));
                        "DIFFERS"
                    } else {
                        "same"
                    }
                }
                Err(_) if !out.status.success() => "error",
                Err(_) => {
                    // Same letter, same tree: how the extractors disagree.
                    let at = seen.iter().position(|t| *t == tree).unwrap_or_else(|| {
                        seen.push(tree);
                        seen.len() - 1
                    });
                    LETTERS[at]
                }
            };
            row.push_str(&format!(" {}: {cell};", tool.name));
        }
        table.push(row);
    }
    eprintln!("what each extractor did:\n{}", table.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
