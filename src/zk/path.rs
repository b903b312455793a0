//! Znode paths: ZooKeeper's validation rule (`PathUtils.validatePath`, whose messages zkCli
//! prints verbatim) and the parent/basename split the tree uses.
//!
//! Java strings are UTF-16, and `validatePath` walks `char`s: positions in its messages (`@3`)
//! count UTF-16 code units, and any character outside the Basic Multilingual Plane (a surrogate
//! pair) is an "invalid character". We walk `encode_utf16()` to match both.

/// `PathUtils.validatePath(path, isSequential)`: the client-side check every ZooKeeper call makes
/// before sending a request. A sequential create is checked as `path + "1"`, so `/a/` is fine
/// for a sequential node (it becomes `/a/0000000001`) but not for a plain one.
///
/// The error is the `IllegalArgumentException` message, e.g. `Path must start with / character`
/// or `Invalid path string "/a//b" caused by empty node name specified @3`.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), String> {
    if sequential {
        validate(&format!("{path}1"))
    } else {
        validate(path)
    }
}

/// `PathUtils.validatePath(String)`.
fn validate(path: &str) -> Result<(), String> {
    let chars: Vec<u16> = path.encode_utf16().collect();
    if chars.is_empty() {
        return Err("Path length must be > 0".to_string());
    }
    if chars[0] != u16::from(b'/') {
        return Err("Path must start with / character".to_string());
    }
    if chars.len() == 1 {
        return Ok(()); // the root
    }
    if chars[chars.len() - 1] == u16::from(b'/') {
        return Err("Path must not end with / character".to_string());
    }
    match first_invalid(&chars) {
        Some(reason) => Err(format!("Invalid path string \"{path}\" caused by {reason}")),
        None => Ok(()),
    }
}

/// The loop of `PathUtils.validatePath`: the first reason the path is invalid, if any.
fn first_invalid(chars: &[u16]) -> Option<String> {
    let slash = u16::from(b'/');
    let dot = u16::from(b'.');
    let ends_component = |i: usize| i + 1 == chars.len() || chars[i + 1] == slash;
    let mut lastc = slash;
    for (i, &c) in chars.iter().enumerate().skip(1) {
        if c == 0 {
            return Some(format!("null character not allowed @{i}"));
        } else if c == slash && lastc == slash {
            return Some(format!("empty node name specified @{i}"));
        } else if c == dot && lastc == dot {
            // `lastc` is a dot, so i >= 2 (chars[0] is '/').
            if chars[i - 2] == slash && ends_component(i) {
                return Some(format!("relative paths not allowed @{i}"));
            }
        } else if c == dot {
            if chars[i - 1] == slash && ends_component(i) {
                return Some(format!("relative paths not allowed @{i}"));
            }
        } else if is_invalid_char(c) {
            return Some(format!("invalid character @{i}"));
        }
        lastc = c;
    }
    None
}

/// The character ranges `validatePath` rejects: controls, C1 controls, surrogates and the
/// private use area, and the specials block.
fn is_invalid_char(c: u16) -> bool {
    (0x0001..=0x001f).contains(&c) || (0x007f..=0x009f).contains(&c) || (0xd800..=0xf8ff).contains(&c) || c >= 0xfff0
}

/// The parent of a znode path: everything before the last `/`, with `/` for top-level nodes and
/// for `/` itself; "" when the path has no `/` at all (not a valid path).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// The last component of a znode path (after the last `/`); "" for `/`.
pub fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// `path + "/" + child`, without doubling the root's slash.
pub fn join(path: &str, child: &str) -> String {
    if path == "/" {
        format!("/{child}")
    } else {
        format!("{path}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_and_basename() {
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/"), "/");
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(basename("/"), "");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
