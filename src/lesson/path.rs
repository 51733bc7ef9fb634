//! Where a value sits in a lesson's text, for problems found after parsing.
//!
//! [`crate::scene::locate`] finds named fields but not the n-th element of a
//! list, and a lesson's problems live inside `steps[i].checks[j]`. This walks
//! a path of field names and list indices over the RON text, skipping
//! strings and comments, and returns the 1-based line and column.

use crate::scene::locate::{self, line_column};

/// One step of a path into the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A struct field, `name: value`.
    Field(&'a str),
    /// The n-th element of a list.
    Index(usize),
}

/// 1-based (line, column) of the value at `path`; falls back to the deepest
/// part found, then to the start of the file.
pub fn locate_path(text: &str, path: &[Seg]) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut best = 0;
    for seg in path {
        let found = match seg {
            Seg::Field(name) => find_field(bytes, enter(bytes, at), name),
            Seg::Index(n) => find_element(bytes, at, *n),
        };
        match found {
            Some(p) => {
                best = p;
                at = match seg {
                    // The value starts after the name and its colon.
                    Seg::Field(name) => after_colon(bytes, p + name.len()),
                    Seg::Index(_) => p,
                };
            }
            None => break,
        }
    }
    line_column(text, best)
}

/// From a value's start, the offset just inside its struct parentheses,
/// past any wrapper such as `Some(` or a struct name.
fn enter(bytes: &[u8], mut at: usize) -> usize {
    loop {
        at = skip_blank(bytes, at);
        match bytes.get(at) {
            Some(b'(') => {
                at += 1;
                let next = skip_blank(bytes, at);
                // `Some((` or `Some(Name(`: keep going inward.
                if bytes.get(next) == Some(&b'(') || starts_wrapper(bytes, next) {
                    continue;
                }
                return at;
            }
            Some(c) if c.is_ascii_alphabetic() => {
                at += bytes[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            }
            _ => return at,
        }
    }
}

/// An identifier directly followed by `(`, such as `Some(` or `Check(`.
fn starts_wrapper(bytes: &[u8], at: usize) -> bool {
    let len = bytes[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    len > 0 && bytes.get(skip_blank(bytes, at + len)) == Some(&b'(')
}

/// The offset of `name:` among the fields at this level, from `at` to the
/// closing bracket of the enclosing struct.
fn find_field(bytes: &[u8], mut at: usize, name: &str) -> Option<usize> {
    let mut depth = 0usize;
    while at < bytes.len() {
        let c = bytes[at];
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                at += 1;
            }
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
                at += 1;
            }
            b'"' | b'/' => at = skip_token(bytes, at),
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let len = bytes[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                let colon = skip_blank(bytes, at + len);
                if depth == 0 && &bytes[at..at + len] == name.as_bytes() && bytes.get(colon) == Some(&b':') {
                    return Some(at);
                }
                at += len;
            }
            _ => at += 1,
        }
    }
    None
}

/// The offset of the n-th element of the list (possibly `Some([..])`) that
/// starts at `at`.
fn find_element(bytes: &[u8], at: usize, n: usize) -> Option<usize> {
    let mut at = skip_blank(bytes, at);
    // Step into `Some(` or other wrappers until the list's bracket.
    while bytes.get(at) != Some(&b'[') {
        match bytes.get(at) {
            Some(b'(') => at = skip_blank(bytes, at + 1),
            Some(c) if c.is_ascii_alphabetic() => {
                at += bytes[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                at = skip_blank(bytes, at);
            }
            _ => return None,
        }
    }
    let mut start = skip_blank(bytes, at + 1);
    for _ in 0..n {
        // Past the next comma at this level.
        let mut at = start;
        let mut depth = 0usize;
        loop {
            match *bytes.get(at)? {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth == 0 => return None,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => break,
                b'"' | b'/' => {
                    at = skip_token(bytes, at);
                    continue;
                }
                _ => {}
            }
            at += 1;
        }
        start = skip_blank(bytes, at + 1);
    }
    (bytes.get(start) != Some(&b']')).then_some(start)
}

fn after_colon(bytes: &[u8], at: usize) -> usize {
    let at = skip_blank(bytes, at);
    if bytes.get(at) == Some(&b':') { at + 1 } else { at }
}

/// Skips whitespace and comments.
fn skip_blank(bytes: &[u8], mut at: usize) -> usize {
    loop {
        match bytes.get(at) {
            Some(b) if b.is_ascii_whitespace() => at += 1,
            Some(b'/') if matches!(bytes.get(at + 1), Some(b'/' | b'*')) => at = skip_token(bytes, at),
            _ => return at,
        }
    }
}

/// Skips a string or a comment starting at `at` (a lone `/` is one byte),
/// by the same rules as the scene locator.
fn skip_token(bytes: &[u8], at: usize) -> usize {
    match (bytes[at], bytes.get(at + 1)) {
        (b'"', _) => locate::skip_string(bytes, at),
        (b'/', Some(b'/')) => locate::skip_line_comment(bytes, at),
        (b'/', Some(b'*')) => locate::skip_block_comment(bytes, at),
        _ => at + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::Seg::{Field, Index};
    use super::*;

    const TEXT: &str = r#"(
    title: "steps: [ignored, (x: 1)]", // checks: here
    steps: [
        (caption: "a, b", checks: [(claim: "c", below: Some(1.0))]),
        (
            caption: "two",
            question: Some((prompt: "p", answer: 3)),
            checks: [
                (claim: "x"),
                (claim: "y", below: None),
            ],
        ),
    ],
)"#;

    #[test]
    fn finds_fields_inside_list_elements() {
        assert_eq!(locate_path(TEXT, &[Field("steps")]), (3, 5));
        assert_eq!(locate_path(TEXT, &[Field("steps"), Index(0), Field("checks"), Index(0), Field("below")]), (4, 49));
        assert_eq!(locate_path(TEXT, &[Field("steps"), Index(1), Field("caption")]), (6, 13));
        assert_eq!(locate_path(TEXT, &[Field("steps"), Index(1), Field("question"), Field("answer")]), (7, 42));
        assert_eq!(locate_path(TEXT, &[Field("steps"), Index(1), Field("checks"), Index(1), Field("below")]), (10, 30));
    }

    #[test]
    fn falls_back_to_the_deepest_part_found() {
        // No third step: the `steps` field itself.
        assert_eq!(locate_path(TEXT, &[Field("steps"), Index(2), Field("caption")]), (3, 5));
        assert_eq!(locate_path(TEXT, &[Field("nothing")]), (1, 1));
    }
}
