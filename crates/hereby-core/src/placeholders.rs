//! Template placeholders left in a text: the `<describe what changed>` and `<time, UTC>` a
//! message template leaves for its author to fill in, which must never reach customers or a
//! published post-mortem as they are.

/// HTML elements a text may legitimately mention in angle brackets; anything else in
/// brackets that looks like words is a placeholder.
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "audio",
    "b",
    "blockquote",
    "br",
    "button",
    "code",
    "del",
    "details",
    "div",
    "em",
    "embed",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "li",
    "link",
    "mark",
    "meta",
    "object",
    "ol",
    "option",
    "p",
    "pre",
    "q",
    "s",
    "script",
    "select",
    "small",
    "source",
    "span",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "td",
    "textarea",
    "th",
    "time",
    "tr",
    "u",
    "ul",
    "video",
];

/// The placeholders in `text`, in order, each once: a `<` directly followed by a letter, then
/// up to 120 characters on the same line without brackets, then `>`, that is neither an
/// autolink (`<https://…>`, `<name@example.com>`) nor an HTML element (`<br>`,
/// `<img src=x>`).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find(['>', '<', '\n']) else {
            break;
        };
        let inside = &after[..end];
        let closed = after[end..].starts_with('>');
        if closed
            && inside.chars().next().is_some_and(char::is_alphabetic)
            && inside.chars().count() <= 120
            && !inside.contains("://")
            && !inside.contains('@')
            && !inside.starts_with("mailto:")
            // An element with attributes (`<img src=x>`) is markup, not a hint.
            && !inside.contains('=')
        {
            let word = inside
                .split([' ', '/'])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let is_tag = !inside.contains(',') && TAGS.contains(&word.as_str());
            let whole = &text[offset + start..offset + start + 1 + end + 1];
            if !is_tag && !found.contains(&whole) {
                found.push(whole);
            }
        }
        let consumed = start + 1 + end;
        offset += consumed;
        rest = &rest[consumed..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn the_hints_a_template_leaves_are_found_and_nothing_else() {
        assert_eq!(
            placeholders(
                "**Changed:** <describe what was tried, learnt or fixed>\nStarts at <time, UTC>, takes <duration>; see <https://status.example.com> or write to <ops@example.com>. Line<br>break, <b>bold</b>, <img src=x onerror=alert(1)>, 3 < 4 > 2."
            ),
            [
                "<describe what was tried, learnt or fixed>",
                "<time, UTC>",
                "<duration>"
            ]
        );
        assert!(placeholders("nothing to fill in").is_empty());
        assert_eq!(placeholders("<duration> and <duration>"), ["<duration>"]);
    }
}
