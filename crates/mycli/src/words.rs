//! `mycli words`: the most frequent words of many files, counted in
//! parallel. One lowercased `String` per word and a `HashMap` per thread make
//! it the kind of allocation-heavy, multi-threaded work where an allocator
//! shows (see the global allocator in main.rs).

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How often each word occurs, keyed by its lowercase form.
pub type Frequencies = HashMap<String, u64>;

/// Counts the words of `text` into `freq`. A word is a run of alphabetic
/// characters and inner apostrophes (`don't`), compared in lowercase.
pub fn count_words(text: &str, freq: &mut Frequencies) {
    let is_word = |c: char| c.is_alphabetic() || c == '\'';
    for word in text.split(|c: char| !is_word(c)) {
        let word = word.trim_matches('\'');
        if word.is_empty() {
            continue;
        }
        *freq.entry(word.to_lowercase()).or_insert(0) += 1;
    }
}

/// The files `paths` name: files as given, directories by their files
/// (not recursively), sorted so that every run reads them in one order.
pub fn expand(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| with_path(e, path))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Counts the words of `files` on `threads` threads: each takes the next
/// unread file, counts into a map of its own, and the maps are merged.
pub fn count_files(files: &[PathBuf], threads: usize) -> io::Result<Frequencies> {
    let next = AtomicUsize::new(0);
    let worker = || -> io::Result<Frequencies> {
        let mut freq = Frequencies::new();
        while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            let bytes = std::fs::read(path).map_err(|e| with_path(e, path))?;
            count_words(&String::from_utf8_lossy(&bytes), &mut freq);
        }
        Ok(freq)
    };
    let maps: Vec<io::Result<Frequencies>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.clamp(1, files.len().max(1)))
            .map(|_| s.spawn(worker))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a word-counting thread panicked"))
            .collect()
    });
    let mut total = Frequencies::new();
    for map in maps {
        for (word, n) in map? {
            *total.entry(word).or_insert(0) += n;
        }
    }
    Ok(total)
}

/// The `top` most frequent words, most frequent first, ties alphabetically:
/// the same output whatever the number of threads.
pub fn top(freq: &Frequencies, top: usize) -> Vec<(&str, u64)> {
    let mut words: Vec<(&str, u64)> = freq.iter().map(|(w, n)| (w.as_str(), *n)).collect();
    words.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    words.truncate(top);
    words
}

/// Prints the `top` words and a summary line.
pub fn report(freq: &Frequencies, files: usize, n: usize, out: &mut impl Write) -> io::Result<()> {
    for (word, count) in top(freq, n) {
        writeln!(out, "{count:>10} {word}")?;
    }
    let total: u64 = freq.values().sum();
    writeln!(
        out,
        "{total} words, {} distinct, in {files} file(s)",
        freq.len()
    )
}

/// Writes `files` files of `words` words each into `dir`: text in a made-up
/// language whose word frequencies fall off as in real text, so that a
/// benchmark has something to count on any machine. Deterministic.
pub fn write_sample(dir: &Path, files: usize, words: usize) -> io::Result<()> {
    const SYLLABLES: [&str; 32] = [
        "ka", "lo", "mi", "ne", "ru", "ta", "so", "vi", "da", "re", "po", "li", "an", "el", "or",
        "is", "ba", "ce", "du", "fo", "ga", "he", "jo", "ku", "ma", "ni", "pe", "qu", "sa", "te",
        "wu", "zo",
    ];
    std::fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        // xorshift64*: fast, and the same sequence on every machine.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for f in 0..files {
        let mut text = String::with_capacity(words * 8);
        for w in 0..words {
            // Short words are common and long ones rare, as in real text.
            let r = next();
            let syllables = 1 + (r % 4).min((r >> 8) % 4) as usize;
            let start = text.len();
            for s in 0..syllables {
                let a = (next() >> 16) as usize % SYLLABLES.len();
                let b = (next() >> 16) as usize % SYLLABLES.len();
                text.push_str(SYLLABLES[if s == 0 { a.min(b) } else { a }]);
            }
            if r % 7 == 0 {
                text[start..start + 1].make_ascii_uppercase();
            }
            text.push_str(match r % 29 {
                0 => ".\n",
                1 | 2 => ", ",
                _ if w % 13 == 12 => "\n",
                _ => " ",
            });
        }
        let path = dir.join(format!("sample-{:02}.txt", f + 1));
        std::fs::write(&path, text).map_err(|e| with_path(e, &path))?;
    }
    Ok(())
}

fn with_path(err: io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_alphabetic_runs_in_lowercase() {
        let mut freq = Frequencies::new();
        count_words(
            "Don't stop; don't STOP -- 'quoted' 42 naïve Naïve",
            &mut freq,
        );
        assert_eq!(freq["don't"], 2);
        assert_eq!(freq["stop"], 2);
        assert_eq!(freq["quoted"], 1);
        assert_eq!(freq["naïve"], 2);
        assert_eq!(freq.len(), 4, "{freq:?}");
    }

    #[test]
    fn ties_are_alphabetical() {
        let mut freq = Frequencies::new();
        count_words("b a c b a", &mut freq);
        assert_eq!(top(&freq, 2), [("a", 2), ("b", 2)]);
    }

    #[test]
    fn any_number_of_threads_counts_the_same() {
        let dir = std::env::temp_dir().join(format!("mycli-words-{}", std::process::id()));
        write_sample(&dir, 5, 2_000).unwrap();
        let files = expand(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(files.len(), 5);
        let one = count_files(&files, 1).unwrap();
        assert_eq!(one.values().sum::<u64>(), 10_000);
        for threads in [2, 3, 8] {
            assert_eq!(
                count_files(&files, threads).unwrap(),
                one,
                "{threads} threads"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
