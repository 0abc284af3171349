//! Text taken from binaries and archives (member names, interpreters,
//! library names, a program's output) as it may be shown on a terminal:
//! control characters and bidirectional overrides escaped, so a name such
//! as `\r\e[2K…` cannot erase or disguise the line that reports it.

/// `text` with control characters and bidi overrides written as escapes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_cannot_pass() {
        assert_eq!(escape("top/tool"), "top/tool");
        assert_eq!(escape("x\r\u{1b}[2Kok"), "x\\r\\u{1b}[2Kok");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(escape("naïve ünïcode"), "naïve ünïcode");
    }
}
