//! ACLs: zkCli's text forms, the `digest` scheme's hash, the server's ACL fix-up on create and
//! setACL, and the permission check.
//!
//! ```text
//!   "world:anyone:cdrwa,digest:bob:X/…=:r"  ──parse_acl──▶  Vec<Acl>  ──fixup_acl(auth)──▶ stored
//!   stored ACL + requester's auth ids + wanted perm  ──check_acl──▶  allowed?
//! ```
//!
//! The authentication providers are the two a 3.8 server registers by default
//! (`ProviderRegistry.initialize`): `ip` and `digest`. `super` ids bypass every check.

use super::txn::{perms, Acl, Id, ZkError};

/// `ZKUtil.getPermString`: the permission bits as zkCli prints them, in the order `cdrwa`.
pub fn perms_to_string(bits: u32) -> String {
    let mut s = String::new();
    for (bit, c) in
        [(perms::CREATE, 'c'), (perms::DELETE, 'd'), (perms::READ, 'r'), (perms::WRITE, 'w'), (perms::ADMIN, 'a')]
    {
        if bits & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// `AclParser.getPermFromString`: letters in any order; an unknown letter is reported (zkCli
/// prints `Unknown perm type: x` to stderr) and skipped.
pub fn perms_from_string(s: &str) -> (u32, Vec<String>) {
    let mut bits = 0;
    let mut warnings = Vec::new();
    for c in s.chars() {
        match c {
            'r' => bits |= perms::READ,
            'w' => bits |= perms::WRITE,
            'c' => bits |= perms::CREATE,
            'd' => bits |= perms::DELETE,
            'a' => bits |= perms::ADMIN,
            other => warnings.push(format!("Unknown perm type: {other}")),
        }
    }
    (bits, warnings)
}

/// `AclParser.parse`: comma-separated `scheme:id:perms`; the id is everything between the first
/// and the last colon (so digest ids keep their inner colon). A malformed entry is reported
/// (`x does not have the form scheme:id:perm`) and skipped, as zkCli does.
pub fn parse_acl(s: &str) -> (Vec<Acl>, Vec<String>) {
    let mut acl = Vec::new();
    let mut warnings = Vec::new();
    for entry in java_split(s, ',') {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        };
        if first == last {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        }
        let (bits, perm_warnings) = perms_from_string(&entry[last + 1..]);
        warnings.extend(perm_warnings);
        let id = Id { scheme: entry[..first].to_string(), id: entry[first + 1..last].to_string() };
        acl.push(Acl { perms: bits, id });
    }
    (acl, warnings)
}

/// One ACL as zkCli's input syntax writes it: `world:anyone:cdrwa`.
pub fn acl_to_string(acl: &Acl) -> String {
    format!("{}:{}:{}", acl.id.scheme, acl.id.id, perms_to_string(acl.perms))
}

/// `Id.toString()` (jute's `ToStringOutputArchive`): `'world,'anyone` and a newline, with
/// jute's escapes. zkCli's `getAcl` prints `id + ": " + perms`, hence its two-line entries.
pub fn id_to_jute_string(id: &Id) -> String {
    format!("{},{}\n", jute_escape(&id.scheme), jute_escape(&id.id))
}

/// The lines zkCli's `getAcl` prints for one entry: `'world,'anyone` then `: cdrwa`.
pub fn getacl_entry(acl: &Acl) -> String {
    format!("{}: {}", id_to_jute_string(&acl.id), perms_to_string(acl.perms))
}

/// `ToStringOutputArchive.escapeString`.
fn jute_escape(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// `DigestAuthenticationProvider.generateDigest`: `user:` + base64(SHA-1(`user:password`)), the
/// id a `digest` ACL names and the id `addauth digest user:password` authenticates as. The user
/// is the text before the first colon; the hash covers the whole string.
pub fn digest(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or_default();
    let hash = sha1_smol::Sha1::from(user_password.as_bytes()).digest().bytes();
    format!("{user}:{}", base64(&hash))
}

/// The id `addauth digest user:password` adds to a connection (`handleAuthentication`).
pub fn digest_auth_id(user_password: &str) -> Id {
    Id { scheme: "digest".to_string(), id: digest(user_password) }
}

/// Standard base64 with `=` padding, as `DigestAuthenticationProvider.base64Encode` writes it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= chunk.len() {
                out.push(ALPHABET[((v >> shift) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether a provider is registered for `scheme` and accepts `id` (`isValid`): `digest` wants
/// exactly `user:hash`, `ip` an IPv4 address with an optional `/bits`.
pub fn is_valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        "digest" => java_split(id, ':').len() == 2,
        "ip" => parse_ip_pattern(id).is_some(),
        _ => false,
    }
}

/// Whether ids of `scheme` count as "authenticated" and so expand the `auth` ACL scheme
/// (`isAuthenticated`): true for `digest`, false for `ip`; unknown schemes have no provider.
fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == "digest"
}

/// `PrepRequestProcessor.fixupACL`: what create and setACL store. Duplicates go first
/// (`removeDuplicates`); an empty list is `InvalidAcl`; `world:anyone` stays; `auth` expands to
/// each of the requester's authenticated ids with the entry's perms (`InvalidAcl` if it has
/// none); any other id must be valid for its scheme's provider (`InvalidAcl` otherwise), and is
/// stored as given.
pub fn fixup_acl(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ZkError> {
    let mut unique: Vec<&Acl> = Vec::new();
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ZkError::InvalidAcl);
    }
    let mut fixed = Vec::new();
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            fixed.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mut expanded = false;
            for cid in auth.iter().filter(|cid| is_authenticated_scheme(&cid.scheme)) {
                expanded = true;
                fixed.push(Acl { perms: a.perms, id: cid.clone() });
            }
            if !expanded {
                return Err(ZkError::InvalidAcl);
            }
        } else if is_valid_id(&a.id.scheme, &a.id.id) {
            fixed.push(a.clone());
        } else {
            return Err(ZkError::InvalidAcl);
        }
    }
    Ok(fixed)
}

/// `ZooKeeperServer.checkACL`: whether ids `auth` may do `perm` (any of its bits) on a node with
/// `acl`. An empty ACL allows everything; a `super` id allows everything; otherwise some entry
/// granting a wanted bit must be `world:anyone` or match one of the ids of its scheme (`digest`:
/// the same `user:hash`; `ip`: the address under the entry's mask).
pub fn check_acl(acl: &[Acl], perm: u32, auth: &[Id]) -> bool {
    if acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
        return true;
    }
    acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        (a.id.scheme == "world" && a.id.id == "anyone")
            || auth.iter().any(|id| id.scheme == a.id.scheme && id_matches(&a.id.scheme, &id.id, &a.id.id))
    })
}

/// `AuthenticationProvider.matches(id, aclExpr)` for the registered providers.
fn id_matches(scheme: &str, id: &str, acl_expr: &str) -> bool {
    match scheme {
        "digest" => id == acl_expr,
        "ip" => ip_matches(id, acl_expr),
        _ => false,
    }
}

/// `IPAuthenticationProvider.matches`: IPv4 only, like the provider (its IPv6 parser is a TODO).
fn ip_matches(id: &str, acl_expr: &str) -> bool {
    let Some((acl_addr, bits)) = parse_ip_pattern(acl_expr) else {
        return false;
    };
    let Some(remote) = v4_addr(id) else {
        return false;
    };
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    remote & mask == acl_addr & mask
}

/// An `ip` ACL expression: `a.b.c.d` or `a.b.c.d/bits` (0 ≤ bits ≤ 32).
fn parse_ip_pattern(expr: &str) -> Option<(u32, u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((addr, bits)) => (addr, bits.parse::<i32>().ok().filter(|b| (0..=32).contains(b))? as u32),
        None => (expr, 32),
    };
    Some((v4_addr(addr)?, bits))
}

/// `IPAuthenticationProvider.v4addr2Bytes`: four decimal parts, each 0..=255.
fn v4_addr(addr: &str) -> Option<u32> {
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    parts.iter().try_fold(0u32, |acc, p| {
        let v = p.parse::<i32>().ok().filter(|v| (0..=255).contains(v))?;
        Some((acc << 8) | v as u32)
    })
}

/// What `getACL` shows a requester who has READ but not ADMIN on the node
/// (`FinalRequestProcessor`, `OpCode.getACL`): digest ids with the hash replaced by `x`
/// (`replaceAll(":.*", ":x")`).
pub fn redact_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            let mut a = a.clone();
            if a.id.scheme == "digest" {
                if let Some(i) = a.id.id.find(':') {
                    a.id.id = format!("{}:x", &a.id.id[..i]);
                }
            }
            a
        })
        .collect()
}

/// Java's `String.split` with a one-character literal separator: trailing empty strings are
/// dropped (so `"a:b:"` has two parts), and an empty input is one empty part.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && !s.is_empty() {
        // Only separators (e.g. ":"): Java returns an empty array.
        parts.clear();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_split_drops_trailing_empties() {
        assert_eq!(java_split("a:b:", ':'), vec!["a", "b"]);
        assert_eq!(java_split(":b", ':'), vec!["", "b"]);
        assert_eq!(java_split("", ':'), vec![""]);
        assert!(java_split("::", ':').is_empty());
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
