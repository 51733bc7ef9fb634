//! Where a field sits in a scene's text, for errors found after parsing
//! (a value out of range, a missing CSV file).
//!
//! A plain text search would stop at the first `steps:` anywhere, even one
//! inside the description string or a comment. Instead the text is scanned
//! once as RON (or JSON) tokens: strings, raw strings and comments are
//! skipped, and each field name is recorded with its bracket depth. A path
//! such as `["schedule", "sigma2_min"]` then matches `schedule` among the
//! top-level fields and `sigma2_min` only inside `schedule`'s value.

/// One field name written as `name:` (or `"name":` in JSON) outside strings
/// and comments.
#[derive(Clone, Copy, Debug)]
struct Key<'a> {
    name: &'a str,
    at: usize,
    depth: usize,
}

/// 1-based (line, column) of the field at `path` (e.g. `["schedule",
/// "sigma2_min"]`). Each key is looked up inside the value of the one
/// before. Falls back to the deepest key found, then to the start of the
/// file.
pub fn locate(text: &str, path: &[&str]) -> (usize, usize) {
    let keys = field_keys(text);
    let mut found: Option<usize> = None;
    for name in path {
        let hit = match found {
            // Top-level fields are at depth 1: inside the scene's own parentheses.
            None => keys.iter().position(|k| k.depth == 1 && k.name == *name),
            Some(parent) => {
                let depth = keys[parent].depth;
                keys[parent + 1..]
                    .iter()
                    // Keys deeper than the parent's belong to its value until a key
                    // at the parent's depth or above starts the next field.
                    .take_while(|k| k.depth > depth)
                    .position(|k| k.name == *name)
                    .map(|i| parent + 1 + i)
            }
        };
        match hit {
            Some(i) => found = Some(i),
            None => break,
        }
    }
    line_column(text, found.map_or(0, |i| keys[i].at))
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Every field name in the text, in order, with its bracket depth.
fn field_keys(text: &str) -> Vec<Key<'_>> {
    let bytes = text.as_bytes();
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line_comment(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'"' => {
                let end = skip_string(bytes, i);
                // A quoted key followed by `:` is a JSON field name.
                if followed_by_colon(bytes, end) {
                    keys.push(Key { name: &text[i + 1..end - 1], at: i, depth });
                }
                i = end;
            }
            b'r' if is_raw_string_start(bytes, i) => i = skip_raw_string(bytes, i),
            b'b' if bytes.get(i + 1) == Some(&b'"') => i = skip_string(bytes, i + 1),
            b'\'' => i = skip_char(bytes, i),
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                if followed_by_colon(bytes, end) {
                    keys.push(Key { name: &text[i..end], at: i, depth });
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    keys
}

/// Whether the next character after `from`, skipping blanks and comments, is `:`.
fn followed_by_colon(bytes: &[u8], mut from: usize) -> bool {
    loop {
        match bytes.get(from) {
            Some(b) if b.is_ascii_whitespace() => from += 1,
            Some(b'/') if bytes.get(from + 1) == Some(&b'/') => from = skip_line_comment(bytes, from),
            Some(b'/') if bytes.get(from + 1) == Some(&b'*') => from = skip_block_comment(bytes, from),
            Some(b':') => return bytes.get(from + 1) != Some(&b':'),
            _ => return false,
        }
    }
}

pub(crate) fn skip_line_comment(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |p| from + p + 1)
}

/// RON block comments nest.
pub(crate) fn skip_block_comment(bytes: &[u8], from: usize) -> usize {
    let (mut i, mut open) = (from + 2, 1usize);
    while i < bytes.len() && open > 0 {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            open += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            open -= 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    i
}

/// Index just past the string that opens at `from` (a `"`), escapes honoured.
pub(crate) fn skip_string(bytes: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A character literal such as `'a'` or `'\''`; a lone quote is one byte.
fn skip_char(bytes: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    if bytes.get(i) == Some(&b'\\') {
        i += 1;
    }
    // Step over one UTF-8 character, then expect the closing quote.
    i += bytes.get(i).map_or(0, |b| utf8_len(*b));
    if bytes.get(i) == Some(&b'\'') { i + 1 } else { from + 1 }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

/// `r"..."` or `r#"..."#` not preceded by an identifier character.
fn is_raw_string_start(bytes: &[u8], at: usize) -> bool {
    let starts_word = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
    let hashes = bytes[at + 1..].iter().take_while(|b| **b == b'#').count();
    starts_word && bytes.get(at + 1 + hashes) == Some(&b'"')
}

fn skip_raw_string(bytes: &[u8], from: usize) -> usize {
    let hashes = bytes[from + 1..].iter().take_while(|b| **b == b'#').count();
    let body = from + 2 + hashes;
    let mut i = body;
    while i < bytes.len() {
        if bytes[i] == b'"' && bytes[i + 1..].iter().take(hashes).filter(|b| **b == b'#').count() == hashes {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: &str = r##"// steps: 5 in a comment
(
    name: "steps: 7 in the name",
    description: r#"schedule: Cosine(sigma2_min: 9.0), steps: 3"#,
    /* a block /* nested */ schedule: here */
    seed: 7,
    target: Mystery(points: 1024),
    source: SwissRoll(points: 1024, note: "points: 3"),
    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),
    steps: 0,
)"##;

    #[test]
    fn names_in_strings_and_comments_are_skipped() {
        assert_eq!(locate(TRICKY, &["steps"]), (10, 5));
        assert_eq!(locate(TRICKY, &["schedule"]), (9, 5));
    }

    #[test]
    fn nested_fields_are_found_inside_their_parent() {
        assert_eq!(locate(TRICKY, &["schedule", "sigma2_min"]), (9, 39));
        // `points` of the source, not the target's (which comes first).
        assert_eq!(locate(TRICKY, &["source", "points"]), (8, 23));
        assert_eq!(locate(TRICKY, &["target", "points"]), (7, 21));
    }

    #[test]
    fn a_missing_child_falls_back_to_its_parent_then_the_start() {
        assert_eq!(locate(TRICKY, &["target", "path"]), (7, 5));
        assert_eq!(locate(TRICKY, &["model"]), (1, 1));
        // A child of another field is not taken for a child of this one.
        assert_eq!(locate(TRICKY, &["seed", "points"]), (6, 5));
    }

    #[test]
    fn json_keys_are_located_too() {
        let json =
            "{\n  \"name\": \"steps: 1\",\n  \"schedule\": {\"Cosine\": {\"sigma2_min\": 0.5}},\n  \"steps\": 0\n}";
        // JSON's top level is an object, one level like RON's parentheses.
        assert_eq!(locate(json, &["steps"]), (4, 3));
        assert_eq!(locate(json, &["schedule", "sigma2_min"]), (3, 27));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "(\n    name: \"σ²\", steps: 0,\n)";
        assert_eq!(locate(text, &["steps"]), (2, 17));
    }

    #[test]
    fn unterminated_strings_and_comments_do_not_panic() {
        for text in ["(name: \"open", "(r#\"open", "(/* open", "('", "(steps:", "r", "\"", "'\\"] {
            let _ = locate(text, &["steps", "x"]);
        }
        assert_eq!(locate("(steps: 1, /* x", &["steps"]), (1, 2));
    }
}
