//! `@name@` placeholders in the template files, filled.

/// Fills `@name@` placeholders; panics on a placeholder left unfilled, which
/// the tests would catch.
pub(crate) fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    assert!(
        unfilled(&text).is_none(),
        "unfilled placeholder {:?} in:\n{text}",
        unfilled(&text)
    );
    text
}

/// The first `@name@` left in `text`; action references (`owner/repo@sha`)
/// never match, as a SHA is not followed by `@`.
fn unfilled(text: &str) -> Option<&str> {
    text.match_indices('@').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '-'))?;
        (end > 0 && rest[end..].starts_with('@')).then(|| &rest[..end])
    })
}
