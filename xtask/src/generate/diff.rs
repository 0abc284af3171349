//! A unified line diff, for telling what a stale generated file lacks.
//! Generated files are a few hundred lines, so a quadratic LCS is plenty.

/// Lines of context around each change, as `diff -u` shows.
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// `diff -u old new`, labelled with `old_name` and `new_name`; empty when equal.
pub(crate) fn unified(old_name: &str, old: &str, new_name: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = edit_script(&a, &b);
    if ops.iter().all(|(op, ..)| *op == Op::Same) {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    // Group changes whose context overlaps into hunks.
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (op, ..))| *op != Op::Same)
        .map(|(i, _)| i)
        .collect();
    let mut start = 0;
    while start < changed.len() {
        let mut end = start;
        while end + 1 < changed.len() && changed[end + 1] - changed[end] <= 2 * CONTEXT + 1 {
            end += 1;
        }
        let from = changed[start].saturating_sub(CONTEXT);
        let to = (changed[end] + CONTEXT + 1).min(ops.len());
        let hunk = &ops[from..to];
        let (first_a, first_b) = (hunk[0].1, hunk[0].2);
        let len_a = hunk.iter().filter(|(op, ..)| *op != Op::Added).count();
        let len_b = hunk.iter().filter(|(op, ..)| *op != Op::Removed).count();
        // As in `diff -u`, an empty range starts at the line before it.
        let line = |first: usize, len: usize| if len == 0 { first } else { first + 1 };
        out.push_str(&format!(
            "@@ -{},{len_a} +{},{len_b} @@\n",
            line(first_a, len_a),
            line(first_b, len_b)
        ));
        for &(op, i, j) in hunk {
            match op {
                Op::Same => out.push_str(&format!(" {}\n", a[i])),
                Op::Removed => out.push_str(&format!("-{}\n", a[i])),
                Op::Added => out.push_str(&format!("+{}\n", b[j])),
            }
        }
        start = end + 1;
    }
    out
}

/// The edit script as (op, index in a, index in b); for an added line the
/// index in `a` is where it goes, and the reverse for a removed one.
fn edit_script(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((Op::Same, i, j));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals first, as `diff -u` prints them.
            ops.push((Op::Removed, i, j));
            i += 1;
        } else {
            ops.push((Op::Added, i, j));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a", "x\ny\n", "b", "x\ny\n"), "");
    }

    #[test]
    fn a_changed_line_shows_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        let diff = unified("old", old, "new", new);
        assert_eq!(
            diff,
            "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn distant_changes_get_separate_hunks() {
        let old: String = (1..=30).map(|n| format!("{n}\n")).collect();
        let new: String = (1..=30)
            .filter(|&n| n != 28)
            .map(|n| {
                if n == 2 {
                    "two\n".to_owned()
                } else {
                    format!("{n}\n")
                }
            })
            .collect();
        let diff = unified("old", &old, "new", &new);
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(
            diff.contains("-2\n+two\n") && diff.contains("-28\n"),
            "{diff}"
        );
    }

    #[test]
    fn additions_at_the_end_and_into_an_empty_file() {
        assert!(unified("a", "x\n", "b", "x\ny\n").ends_with(" x\n+y\n"));
        assert_eq!(
            unified("a", "", "b", "y\n"),
            "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+y\n"
        );
    }
}
