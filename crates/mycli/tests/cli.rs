//! Runs the built binary the way a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mycli(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mycli"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mycli");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn version_names_version_and_target() {
    let out = mycli(&["--version"], b"");
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "--version stays one line: {text}");
    assert!(
        text.starts_with(&format!("mycli {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains("-linux-") || text.contains("-windows-") || text.contains("-apple-"),
        "{text}"
    );
}

#[test]
fn verbose_version_names_target_commit_and_date() {
    let out = mycli(&["--version", "--verbose"], b"");
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], format!("mycli {}", env!("CARGO_PKG_VERSION")));
    assert!(
        lines[1].starts_with("target: ") && lines[2].starts_with("commit: "),
        "{text}"
    );
    assert!(lines[3].starts_with("built:  "), "{text}");
    assert_eq!(
        mycli(&["--verbose"], b"").status.code(),
        Some(2),
        "--verbose needs --version"
    );
}

#[test]
fn greets() {
    let out = mycli(&["greet", "Ada", "--shout"], b"");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "HELLO, ADA!\n");
}

#[test]
fn counts_stdin() {
    let out = mycli(&["count"], b"a b\nc\n");
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["2", "3", "6"]
    );
}

#[test]
fn missing_file_exits_1_and_names_it() {
    let out = mycli(&["count", "no-such-file.txt"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.txt"));
}

#[test]
fn usage_error_exits_2() {
    let out = mycli(&["frobnicate"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn generates_completions_and_the_man_page() {
    let out = mycli(&["--generate", "man"], b"");
    assert!(out.status.success());
    assert!(
        stdout(&out).starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        stdout(&out)
    );
    let out = mycli(&["--generate", "complete-bash"], b"");
    assert!(
        stdout(&out).contains("complete -F _mycli"),
        "{}",
        stdout(&out)
    );
    assert_eq!(mycli(&["--generate", "pdf"], b"").status.code(), Some(2));
}

#[test]
fn words_counts_files_and_directories_alike_on_any_number_of_threads() {
    let dir = std::env::temp_dir().join(format!("mycli-cli-words-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("more")).unwrap();
    std::fs::write(dir.join("a.txt"), "The cat and THE dog.\n").unwrap();
    std::fs::write(dir.join("more/b.txt"), "the end, the cat").unwrap();
    let a = dir.join("a.txt");
    let more = dir.join("more");
    let args = |threads: &'static str| {
        [
            "words",
            "--top",
            "2",
            "--threads",
            threads,
            a.to_str().unwrap(),
            more.to_str().unwrap(),
        ]
        .map(str::to_owned)
    };
    let run = |threads| {
        let args = args(threads);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = mycli(&args, b"");
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
    };
    let one = run("1");
    assert_eq!(
        one,
        "         4 the\n         2 cat\n9 words, 5 distinct, in 2 file(s)\n"
    );
    assert_eq!(run("4"), one);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn words_names_a_missing_file() {
    let out = mycli(&["words", "no-such-file.txt"], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-file.txt"), "{stderr}");
}
