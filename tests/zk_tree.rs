//! The znode tree against ZooKeeper 3.8's data model. Each test pins one rule and names the Java
//! method it comes from; `golden_*` tests replay a recorded zkCli session
//! (`tests/fixtures/zkcli/*.out`, a real 3.8 server) as txns and compare the Stat fields and the
//! names it printed. The property tests at the end drive random txn sequences (seeded, fixed
//! algorithm) and print the seed on failure.

use zkspark::sim::Rng;
use zkspark::zab::Zxid;
use zkspark::zk::acl::{self, check_acl, digest, fixup_acl, parse_acl, perms_from_string, perms_to_string};
use zkspark::zk::path::{basename, parent, validate_path};
use zkspark::zk::tree::{
    java_hash_set_clone_order, java_hash_set_order, EphemeralType, CONTAINER_EPHEMERAL_OWNER, TTL_MAX_MS,
};
use zkspark::zk::*;

/// The session the recordings show (`ephemeralOwner = 0x1000006d7180000`).
const S1: SessionId = 0x0100_0006_d718_0000;
const S2: SessionId = 0x0100_0006_d718_0001;

/// A replica fed one txn at a time, with zxids and virtual time counting up like a fresh
/// server's: the session is created by txn 0x1, so the first write is 0x2, as in the recordings.
struct Zk {
    tree: DataTree,
    counter: u32,
    time: u64,
}

fn txn(zxid: Zxid, time: u64, session: SessionId, kind: TxnKind) -> Txn {
    Txn { zxid, time, session, cxid: 0, kind }
}

fn world() -> Id {
    Id { scheme: "world".into(), id: "anyone".into() }
}

fn acl_of(s: &str) -> Vec<Acl> {
    let (acl, warnings) = parse_acl(s);
    assert!(warnings.is_empty(), "{warnings:?}");
    acl
}

fn create_op(path: &str, data: &str, mode: CreateMode) -> Op {
    Op::Create { path: path.into(), data: data.as_bytes().to_vec(), acl: Acl::open_unsafe(), mode, ttl_ms: None }
}

impl Zk {
    /// A tree as the recording server runs it (`zookeeper.extendedTypesEnabled=true`, so TTL
    /// nodes work), with session `S1` open.
    fn new() -> Zk {
        Zk::with_tree(DataTree::with_extended_types(true))
    }

    fn with_tree(tree: DataTree) -> Zk {
        let mut zk = Zk { tree, counter: 0, time: 1_000_000 };
        let _ = zk.apply(S1, TxnKind::CreateSession { timeout_ms: 30_000 });
        zk
    }

    fn next_zxid(&self) -> Zxid {
        Zxid::new(0, self.counter + 1)
    }

    fn apply(&mut self, session: SessionId, kind: TxnKind) -> (Result<OpResult, ZkError>, Vec<WatchTrigger>) {
        self.counter += 1;
        self.time += 1000;
        let t = txn(Zxid::new(0, self.counter), self.time, session, kind);
        let out = self.tree.apply(&t);
        assert_eq!(self.tree.last_zxid(), t.zxid, "every txn consumes its zxid");
        self.tree.check_invariants().expect("tree invariants");
        out
    }

    fn write_as(&mut self, session: SessionId, auth: &[Id], op: Op) -> Result<OpResult, ZkError> {
        self.apply(session, TxnKind::Op { op, auth: auth.to_vec() }).0
    }

    fn write(&mut self, op: Op) -> Result<OpResult, ZkError> {
        self.write_as(S1, &[], op)
    }

    fn create(&mut self, path: &str, mode: CreateMode) -> Result<String, ZkError> {
        match self.write(create_op(path, "", mode))? {
            OpResult::Created { path, .. } => Ok(path),
            other => panic!("create answered {other:?}"),
        }
    }

    fn create_ttl(&mut self, path: &str, ttl_ms: i64) -> Result<String, ZkError> {
        let op = Op::Create {
            path: path.into(),
            data: Vec::new(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::PersistentWithTtl,
            ttl_ms: Some(ttl_ms),
        };
        match self.write(op)? {
            OpResult::Created { path, .. } => Ok(path),
            other => panic!("create answered {other:?}"),
        }
    }

    fn delete(&mut self, path: &str, version: i32) -> Result<OpResult, ZkError> {
        self.write(Op::Delete { path: path.into(), version })
    }

    fn set(&mut self, path: &str, data: &str, version: i32) -> Result<OpResult, ZkError> {
        self.write(Op::SetData { path: path.into(), data: data.as_bytes().to_vec(), version })
    }

    fn stat(&self, path: &str) -> Stat {
        match self.tree.read(&Op::Exists { path: path.into(), watch: false }, &[]) {
            Ok(OpResult::Stat(stat)) => stat,
            other => panic!("stat {path}: {other:?}"),
        }
    }

    fn ls(&self, path: &str) -> Vec<String> {
        match self.tree.read(&Op::GetChildren { path: path.into(), watch: false }, &[]) {
            Ok(OpResult::Children { children, .. }) => children,
            other => panic!("ls {path}: {other:?}"),
        }
    }
}

fn z(counter: u32) -> Zxid {
    Zxid::new(0, counter)
}

// ---- the fresh tree --------------------------------------------------------------------------

/// `DataTree()` and `addConfigNode`: `ls /` → `[zookeeper]`, `ls /zookeeper` → `[config, quota]`
/// (recording 01, 07).
#[test]
fn fresh_tree_has_zookeeper_with_config_and_quota() {
    let zk = Zk::with_tree(DataTree::new());
    assert_eq!(zk.ls("/"), vec!["zookeeper"]);
    assert_eq!(zk.ls("/zookeeper"), vec!["config", "quota"]);
    assert!(zk.ls("/zookeeper/quota").is_empty());
    assert_eq!(zk.tree.nodes().count(), 4);
}

/// `DataNode.copyStat`: clients see cversion = 2 × creations − numChildren, and the built-in
/// nodes were linked in without a create, so `/` shows -1 and `/zookeeper` -2; the rest is 0.
#[test]
fn fresh_root_reports_cversion_minus_one_and_zookeeper_minus_two() {
    let zk = Zk::with_tree(DataTree::new());
    let root = zk.stat("/");
    assert_eq!((root.cversion, root.num_children, root.pzxid, root.czxid), (-1, 1, Zxid::ZERO, Zxid::ZERO));
    assert_eq!((root.ctime, root.mtime, root.version, root.aversion), (0, 0, 0, 0));
    assert_eq!(zk.stat("/zookeeper").cversion, -2);
    assert_eq!(zk.stat("/zookeeper").num_children, 2);
    assert_eq!(zk.stat("/zookeeper/quota"), Stat::default());
}

/// `addConfigNode`: `/zookeeper/config` is `world:anyone:r` (ZOOKEEPER-2014), set with
/// `setACL(.., -1)`, so its aclVersion is -1.
#[test]
fn config_node_is_read_only_with_aversion_minus_one() {
    let zk = Zk::with_tree(DataTree::new());
    let node = zk.tree.get("/zookeeper/config").unwrap();
    assert_eq!(node.acl, acl_of("world:anyone:r"));
    assert_eq!(node.stat.aversion, -1);
    assert_eq!(zk.tree.get("/").unwrap().acl, Acl::open_unsafe());
}

// ---- paths -----------------------------------------------------------------------------------

/// `PathUtils.validatePath`: the messages zkCli prints.
#[test]
fn validate_path_reports_java_messages() {
    let cases: &[(&str, Result<(), &str>)] = &[
        ("/", Ok(())),
        ("/a/b.c/..d", Ok(())),
        ("", Err("Path length must be > 0")),
        ("a", Err("Path must start with / character")),
        ("/a/", Err("Path must not end with / character")),
        ("/a//b", Err("Invalid path string \"/a//b\" caused by empty node name specified @3")),
        ("/a/./b", Err("Invalid path string \"/a/./b\" caused by relative paths not allowed @3")),
        ("/a/..", Err("Invalid path string \"/a/..\" caused by relative paths not allowed @4")),
        ("/.", Err("Invalid path string \"/.\" caused by relative paths not allowed @1")),
        ("/a\0b", Err("Invalid path string \"/a\0b\" caused by null character not allowed @2")),
        ("/a\u{1}", Err("Invalid path string \"/a\u{1}\" caused by invalid character @2")),
        ("/a\u{9f}", Err("Invalid path string \"/a\u{9f}\" caused by invalid character @2")),
        ("/a\u{fff5}", Err("Invalid path string \"/a\u{fff5}\" caused by invalid character @2")),
        ("/é\u{e000}", Err("Invalid path string \"/é\u{e000}\" caused by invalid character @2")),
    ];
    for (path, expected) in cases {
        assert_eq!(validate_path(path, false), expected.map_err(str::to_string), "{path:?}");
    }
}

/// `PathUtils.validatePath(path, isSequential)` checks `path + "1"`; positions count UTF-16
/// units and characters outside the BMP (surrogates) are invalid.
#[test]
fn validate_path_sequential_appends_one_and_counts_utf16() {
    assert_eq!(validate_path("/a/", true), Ok(()));
    assert_eq!(
        validate_path("/a//", true),
        Err("Invalid path string \"/a//1\" caused by empty node name specified @3".to_string())
    );
    assert_eq!(validate_path("/", true), Ok(()), "\"/1\" is fine");
    assert_eq!(
        validate_path("/\u{1F600}x", false),
        Err("Invalid path string \"/\u{1F600}x\" caused by invalid character @1".to_string())
    );
    assert_eq!(parent("/a/b"), "/a");
    assert_eq!(parent("/a"), "/");
    assert_eq!(basename("/a/b"), "b");
}

// ---- ACLs ------------------------------------------------------------------------------------

/// `DigestAuthenticationProvider.generateDigest`: `user:` + base64(SHA-1(`user:password`)).
#[test]
fn digest_is_user_and_base64_sha1_of_user_password() {
    assert_eq!(digest("super:admin"), "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
    assert_eq!(digest("bob:secret"), "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=");
    assert_eq!(digest("user:password"), "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=");
    assert_eq!(digest("nocolon"), "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=");
    // As a real server printed them (recording 09, `getAcl /mine` after three `addauth`s).
    assert_eq!(digest("user:pass"), "user:smGaoVKd/cQkjm7b88GyorAUz20=");
    assert_eq!(digest("alice:secret"), "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
    assert_eq!(digest("user:wrongpass"), "user:Ca6dx4zaEw+XpwROqp7btQxt98Q=");
}

/// `ZKUtil.getPermString` (order `cdrwa`) and `AclParser` (any order, unknown letters warned).
#[test]
fn perms_print_cdrwa_and_parse_any_order() {
    assert_eq!(perms_to_string(perms::ALL), "cdrwa");
    assert_eq!(perms_to_string(perms::READ | perms::ADMIN), "ra");
    assert_eq!(perms_from_string("arwdc"), (perms::ALL, vec![]));
    assert_eq!(perms_from_string("rx"), (perms::READ, vec!["Unknown perm type: x".to_string()]));
}

/// `AclParser.parse`: the id is between the first and last colon; bad entries are skipped with
/// zkCli's message.
#[test]
fn parse_acl_keeps_digest_colons_and_skips_malformed_entries() {
    let (acl, warnings) = parse_acl("digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdr,world:anyone");
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].id.id, "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=");
    assert_eq!(acl[0].perms, perms::CREATE | perms::DELETE | perms::READ);
    assert_eq!(warnings, vec!["world:anyone does not have the form scheme:id:perm".to_string()]);
    assert_eq!(acl::acl_to_string(&acl[0]), "digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdr");
}

/// zkCli's `getAcl` prints `Id.toString()` (jute: `'world,'anyone` and a newline), `: `, perms.
#[test]
fn getacl_entry_prints_jute_id_then_perms() {
    assert_eq!(acl::getacl_entry(&Acl::open_unsafe()[0]), "'world,'anyone\n: cdrwa");
}

/// `ZooKeeperServer.checkACL`: world:anyone, exact digest ids, ip masks, `super`, empty ACLs.
#[test]
fn check_acl_matches_world_digest_ip_and_super() {
    let bob = acl::digest_auth_id("bob:secret");
    let digest_only = vec![Acl { perms: perms::READ, id: bob.clone() }];
    assert!(check_acl(&digest_only, perms::READ, std::slice::from_ref(&bob)));
    assert!(!check_acl(&digest_only, perms::WRITE, std::slice::from_ref(&bob)), "perm bit not granted");
    assert!(!check_acl(&digest_only, perms::READ, &[acl::digest_auth_id("bob:wrong")]));
    assert!(!check_acl(&digest_only, perms::READ, &[]));
    assert!(check_acl(&digest_only, perms::WRITE, &[Id { scheme: "super".into(), id: String::new() }]));
    assert!(check_acl(&[], perms::ADMIN, &[]), "an empty ACL allows everything");
    let ip = acl_of("ip:10.0.0.0/8:r");
    assert!(check_acl(&ip, perms::READ, &[Id { scheme: "ip".into(), id: "10.1.2.3".into() }]));
    assert!(!check_acl(&ip, perms::READ, &[Id { scheme: "ip".into(), id: "11.1.2.3".into() }]));
    assert!(check_acl(&Acl::open_unsafe(), perms::ADMIN, &[]));
    assert!(check_acl(&acl_of("world:anyone:r"), perms::READ | perms::ADMIN, &[]), "any one bit suffices");
}

/// `PrepRequestProcessor.fixupACL`: duplicates dropped, `auth` expanded to the authenticated
/// (digest) ids, unknown schemes and malformed ids refused.
#[test]
fn fixup_acl_expands_auth_and_refuses_invalid_ids() {
    let bob = acl::digest_auth_id("bob:secret");
    let ip_id = Id { scheme: "ip".into(), id: "127.0.0.1".into() };
    let auth = vec![ip_id.clone(), bob.clone()];
    assert_eq!(fixup_acl(&acl_of("auth::cdrwa"), &auth), Ok(vec![Acl { perms: perms::ALL, id: bob.clone() }]));
    assert_eq!(fixup_acl(&acl_of("auth::cdrwa"), &[ip_id]), Err(ZkError::InvalidAcl), "ip is not authenticated");
    assert_eq!(fixup_acl(&[], &auth), Err(ZkError::InvalidAcl));
    assert_eq!(fixup_acl(&acl_of("world:nobody:r"), &auth), Err(ZkError::InvalidAcl));
    assert_eq!(fixup_acl(&acl_of("digest:bob:r"), &auth), Err(ZkError::InvalidAcl), "digest wants user:hash");
    assert_eq!(fixup_acl(&acl_of("ip:1.2.3:r"), &auth), Err(ZkError::InvalidAcl));
    assert_eq!(fixup_acl(&acl_of("foo:bar:r"), &auth), Err(ZkError::InvalidAcl));
    let twice = acl_of("world:anyone:r,world:anyone:r,ip:10.0.0.0/8:r");
    assert_eq!(fixup_acl(&twice, &[]), Ok(acl_of("world:anyone:r,ip:10.0.0.0/8:r")));
}

// ---- create ----------------------------------------------------------------------------------

/// `DataTree.createStat` and `pRequest2TxnCreate`: czxid = mzxid = pzxid = zxid, ctime = mtime
/// = txn time, versions 0; the parent's pzxid = zxid and its cversion counts the child
/// (recording 01: `get -s /app/config`, `stat /app`, `ls -s /`).
#[test]
fn create_stamps_zxid_and_time_and_counts_child_in_parent() {
    let mut zk = Zk::new();
    assert_eq!(zk.create("/app", CreateMode::Persistent), Ok("/app".into()));
    let zxid = zk.next_zxid();
    let out = zk.write(create_op("/app/config", "v1", CreateMode::Persistent)).unwrap();
    let time = zk.time;
    let stat = zk.stat("/app/config");
    assert_eq!(out, OpResult::Created { path: "/app/config".into(), stat });
    assert_eq!((stat.czxid, stat.mzxid, stat.pzxid), (z(3), z(3), z(3)));
    assert_eq!(zxid, z(3));
    assert_eq!((stat.ctime, stat.mtime), (time, time));
    assert_eq!((stat.version, stat.cversion, stat.aversion, stat.data_length, stat.num_children), (0, 0, 0, 2, 0));
    for name in ["greeting", "single", "empty"] {
        zk.create(&format!("/app/{name}"), CreateMode::Persistent).unwrap();
    }
    let app = zk.stat("/app");
    assert_eq!((app.czxid, app.pzxid, app.cversion, app.num_children), (z(2), z(6), 4, 4));
    let root = zk.stat("/");
    assert_eq!((root.pzxid, root.cversion, root.num_children), (z(2), 0, 2));
}

/// `createNode` triggers NodeCreated on the path and NodeChildrenChanged on the parent ("/"
/// for a top-level node).
#[test]
fn create_triggers_node_created_and_parent_children_changed() {
    let mut zk = Zk::new();
    let (_, triggers) = zk.apply(S1, TxnKind::Op { op: create_op("/a", "", CreateMode::Persistent), auth: vec![] });
    assert_eq!(
        triggers,
        vec![
            WatchTrigger { path: "/a".into(), event: EventType::NodeCreated },
            WatchTrigger { path: "/".into(), event: EventType::NodeChildrenChanged },
        ]
    );
}

/// `pRequest2TxnCreate`: the suffix is the parent's persisted cversion (creations, so it keeps
/// growing after deletes and counts plain children), `%010d` (recording 03).
#[test]
fn sequential_suffix_is_parent_creation_count() {
    let mut zk = Zk::new();
    zk.create("/q", CreateMode::Persistent).unwrap();
    for n in 0..3 {
        assert_eq!(zk.create("/q/item-", CreateMode::PersistentSequential), Ok(format!("/q/item-000000000{n}")));
    }
    zk.delete("/q/item-0000000001", -1).unwrap();
    assert_eq!(zk.create("/q/item-", CreateMode::PersistentSequential), Ok("/q/item-0000000003".into()));
    zk.create("/q/plain", CreateMode::Persistent).unwrap();
    assert_eq!(zk.create("/q/item-", CreateMode::PersistentSequential), Ok("/q/item-0000000005".into()));
    let q = zk.stat("/q");
    assert_eq!((q.pzxid, q.cversion, q.num_children), (z(9), 7, 5));
    assert_eq!(zk.create("/q/", CreateMode::PersistentSequential), Ok("/q/0000000006".into()));
    assert_eq!(zk.create("/q/x/", CreateMode::PersistentSequential), Err(ZkError::NoNode));
    assert_eq!(zk.create("/seq-at-root-", CreateMode::PersistentSequential), Ok("/seq-at-root-0000000001".into()));
}

/// `DataTree.deleteNode` moves only the parent's pzxid; the reported cversion still rises by one
/// per delete because numChildren drops (recording 03: `stat /r` 3 → 6).
#[test]
fn delete_moves_parent_pzxid_and_reported_cversion() {
    let mut zk = Zk::new();
    zk.create("/r", CreateMode::Persistent).unwrap();
    zk.create("/r/", CreateMode::PersistentSequential).unwrap();
    zk.create("/r/job-", CreateMode::PersistentSequential).unwrap();
    zk.create("/r/job-", CreateMode::EphemeralSequential).unwrap();
    let r = zk.stat("/r");
    assert_eq!((r.czxid, r.pzxid, r.cversion, r.num_children), (z(2), z(5), 3, 3));
    for child in ["0000000000", "job-0000000001", "job-0000000002"] {
        assert_eq!(zk.delete(&format!("/r/{child}"), -1), Ok(OpResult::Deleted));
    }
    let r = zk.stat("/r");
    assert_eq!((r.pzxid, r.cversion, r.num_children, r.mzxid), (z(8), 6, 0, z(2)));
    assert_eq!(zk.create("/r/job-", CreateMode::PersistentSequential), Ok("/r/job-0000000003".into()));
}

/// `%010d` of a negative persisted cversion prints the sign inside the width, and
/// `DataTree.createNode` only moves the cversion forward: past `i32::MAX` the counter wraps to
/// a smaller number, is not stored, and the next sequential name collides.
#[test]
fn sequential_suffix_formats_negative_and_sticks_at_overflow() {
    let with_cversion = |c: i32| {
        let mut zk = Zk::new();
        zk.create("/p", CreateMode::Persistent).unwrap();
        let mut json = serde_json::to_value(&zk.tree).unwrap();
        json["nodes"]["/p"]["stored_cversion"] = c.into();
        json["nodes"]["/p"]["stat"]["cversion"] = c.wrapping_mul(2).into();
        zk.tree = serde_json::from_value(json).unwrap();
        zk.tree.check_invariants().unwrap();
        zk
    };
    let mut zk = with_cversion(-5);
    assert_eq!(zk.create("/p/s-", CreateMode::PersistentSequential), Ok("/p/s--000000005".into()));
    let mut zk = with_cversion(i32::MAX);
    assert_eq!(zk.create("/p/s-", CreateMode::PersistentSequential), Ok("/p/s-2147483647".into()));
    assert_eq!(zk.tree.get("/p").unwrap().stored_cversion, i32::MAX, "MIN is not larger: not stored");
    assert_eq!(zk.create("/p/s-", CreateMode::PersistentSequential), Err(ZkError::NodeExists));
}

/// `pRequest2TxnCreate`'s order of checks: fixupACL before the parent lookup, CREATE on the
/// parent before the existence check, the existence check before the ephemeral parent.
#[test]
fn create_checks_run_in_prep_order() {
    let mut zk = Zk::new();
    let no_acl =
        Op::Create { path: "/missing/x".into(), data: vec![], acl: vec![], mode: CreateMode::Persistent, ttl_ms: None };
    assert_eq!(zk.write(no_acl), Err(ZkError::InvalidAcl), "InvalidAcl before NoNode");
    assert_eq!(zk.create("/missing/x", CreateMode::Persistent), Err(ZkError::NoNode));
    let ro = Op::Create {
        path: "/ro".into(),
        data: vec![],
        acl: acl_of("world:anyone:r"),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    zk.write(ro).unwrap();
    assert_eq!(zk.create("/ro/x", CreateMode::Persistent), Err(ZkError::NoAuth));
    assert_eq!(zk.create("/ro/", CreateMode::Persistent), Err(ZkError::NoAuth), "NoAuth before path validation");
    assert_eq!(zk.create("/ro", CreateMode::Persistent), Err(ZkError::NodeExists));
    zk.create("/a", CreateMode::Persistent).unwrap();
    assert_eq!(zk.create("/a/", CreateMode::Persistent), Err(ZkError::BadArguments));
    assert_eq!(zk.create("/a//b", CreateMode::Persistent), Err(ZkError::NoNode), "parent \"/a/\" is looked up first");
    assert_eq!(zk.create("/", CreateMode::Persistent), Err(ZkError::NodeExists));
    assert_eq!(zk.create("noslash", CreateMode::Persistent), Err(ZkError::BadArguments));
    assert_eq!(zk.create("/a\0", CreateMode::Persistent), Err(ZkError::BadArguments));
    assert_eq!(zk.create("", CreateMode::Persistent), Err(ZkError::BadArguments));
}

/// `pRequest2TxnCreate`: an ephemeral's parent refuses children (`NoChildrenForEphemerals`),
/// plain, sequential or ephemeral (recording 05).
#[test]
fn ephemeral_parent_refuses_children() {
    let mut zk = Zk::new();
    zk.create("/eph", CreateMode::Ephemeral).unwrap();
    for mode in [CreateMode::Persistent, CreateMode::PersistentSequential, CreateMode::Ephemeral] {
        assert_eq!(zk.create("/eph/child", mode), Err(ZkError::NoChildrenForEphemerals), "{mode:?}");
    }
    assert_eq!(zk.create("/eph", CreateMode::Persistent), Err(ZkError::NodeExists));
}

/// `validateCreateRequest` → `checkGlobalSession`: an ephemeral from a session the tree doesn't
/// know is `SessionExpired`, checked before anything about the path.
#[test]
fn ephemeral_from_unknown_session_is_session_expired() {
    let mut zk = Zk::new();
    let op = |path: &str| create_op(path, "", CreateMode::Ephemeral);
    assert_eq!(zk.write_as(S2, &[], op("/e")), Err(ZkError::SessionExpired));
    assert_eq!(zk.write_as(S2, &[], op("noslash")), Err(ZkError::SessionExpired));
    assert_eq!(zk.write_as(S2, &[], create_op("/p", "", CreateMode::Persistent)).map(|_| ()), Ok(()));
    let _ = zk.apply(S2, TxnKind::CreateSession { timeout_ms: 10_000 });
    assert!(zk.write_as(S2, &[], op("/e")).is_ok());
    assert_eq!(zk.stat("/e").ephemeral_owner, S2);
}

/// `validateCreateRequest`: TTL without `zookeeper.extendedTypesEnabled` is `Unimplemented`;
/// `EphemeralType.validateTTL`: ttl in 1..=0xFF_FFFF_FFFF for TTL modes, none otherwise.
#[test]
fn ttl_needs_extended_types_and_a_valid_ttl() {
    let mut plain = Zk::with_tree(DataTree::new());
    assert_eq!(plain.create_ttl("/t", 1000), Err(ZkError::Unimplemented));
    let mut zk = Zk::new();
    assert_eq!(zk.create_ttl("/t", 0), Err(ZkError::BadArguments));
    assert_eq!(zk.create_ttl("/t", -5), Err(ZkError::BadArguments));
    assert_eq!(zk.create_ttl("/t", TTL_MAX_MS + 1), Err(ZkError::BadArguments));
    assert_eq!(TTL_MAX_MS, 1_099_511_627_775);
    assert_eq!(zk.create_ttl("/t", TTL_MAX_MS), Ok("/t".into()));
    let with_ttl = Op::Create {
        path: "/p".into(),
        data: vec![],
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: Some(5),
    };
    assert_eq!(zk.write(with_ttl), Err(ZkError::BadArguments));
}

/// `pRequest2TxnCreate` stores `CONTAINER_EPHEMERAL_OWNER` / `TTL.toEphemeralOwner(ttl)`;
/// `DataNode.getClientEphemeralOwner` shows clients 0 for both (recording 02).
#[test]
fn container_and_ttl_owners_are_encoded_but_shown_as_zero() {
    let mut zk = Zk::new();
    zk.create("/c", CreateMode::Container).unwrap();
    zk.create_ttl("/t", 10_000).unwrap();
    zk.create("/e", CreateMode::Ephemeral).unwrap();
    let c = zk.tree.get("/c").unwrap();
    assert_eq!((c.stored_ephemeral_owner, c.stat.ephemeral_owner), (CONTAINER_EPHEMERAL_OWNER, 0));
    let t = zk.tree.get("/t").unwrap();
    assert_eq!((t.stored_ephemeral_owner, t.stat.ephemeral_owner), (0xFF00_0000_0000_2710, 0));
    assert_eq!(t.ephemeral_type(true), EphemeralType::Ttl);
    assert_eq!(zk.stat("/e").ephemeral_owner, S1);
    assert_eq!(zk.create("/c/child", CreateMode::Persistent), Ok("/c/child".into()), "containers take children");
    assert_eq!(zk.stat("/c").cversion, 1);
}

// ---- delete ----------------------------------------------------------------------------------

/// `pRequest2Txn` (delete): BadArguments for the system nodes (`isSpecialPath`), then NoNode,
/// BadVersion, NotEmpty (recordings 04, 05, 07).
#[test]
fn delete_checks_system_nodes_version_and_children() {
    let mut zk = Zk::new();
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "noslash", "/a\0"] {
        assert_eq!(zk.delete(path, -1), Err(ZkError::BadArguments), "{path:?}");
    }
    assert_eq!(zk.delete("/nope", -1), Err(ZkError::NoNode));
    assert_eq!(zk.delete("/nope/x", 0), Err(ZkError::NoNode));
    zk.create("/a", CreateMode::Persistent).unwrap();
    zk.create("/a/b", CreateMode::Persistent).unwrap();
    assert_eq!(zk.delete("/a", 7), Err(ZkError::BadVersion), "BadVersion before NotEmpty");
    assert_eq!(zk.delete("/a", 0), Err(ZkError::NotEmpty));
    assert_eq!(zk.delete("/a/", -1), Err(ZkError::NoNode), "no path validation on delete");
    assert_eq!(zk.delete("/a/b", 0), Ok(OpResult::Deleted));
    assert_eq!(zk.delete("/a", -1), Ok(OpResult::Deleted));
    assert_eq!(zk.ls("/"), vec!["zookeeper"]);
}

/// `checkACL(parent, DELETE)`: deleting needs DELETE on the *parent*, not on the node.
#[test]
fn delete_needs_delete_permission_on_parent() {
    let mut zk = Zk::new();
    let op = Op::Create {
        path: "/p".into(),
        data: vec![],
        acl: acl_of("world:anyone:crwa"),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    zk.write(op).unwrap();
    let op = Op::Create {
        path: "/p/c".into(),
        data: vec![],
        acl: acl_of("world:anyone:r"),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    zk.write(op).unwrap();
    assert_eq!(zk.delete("/p/c", -1), Err(ZkError::NoAuth));
    assert_eq!(zk.delete("/p/missing", -1), Err(ZkError::NoAuth), "NoAuth before the node lookup");
}

/// `deleteNode` triggers NodeDeleted on the path and NodeChildrenChanged on the parent.
#[test]
fn delete_triggers_node_deleted_and_parent_children_changed() {
    let mut zk = Zk::new();
    zk.create("/a", CreateMode::Persistent).unwrap();
    zk.create("/a/b", CreateMode::Persistent).unwrap();
    let (result, triggers) =
        zk.apply(S1, TxnKind::Op { op: Op::Delete { path: "/a/b".into(), version: -1 }, auth: vec![] });
    assert_eq!(result, Ok(OpResult::Deleted));
    assert_eq!(
        triggers,
        vec![
            WatchTrigger { path: "/a/b".into(), event: EventType::NodeDeleted },
            WatchTrigger { path: "/a".into(), event: EventType::NodeChildrenChanged },
        ]
    );
}

// ---- setData / setACL ------------------------------------------------------------------------

/// `DataTree.setData`: version + 1, mzxid, mtime and dataLength change, czxid/ctime/pzxid don't;
/// version -1 matches any (recordings 01, 04).
#[test]
fn set_data_bumps_version_mzxid_mtime() {
    let mut zk = Zk::new();
    zk.write(create_op("/v", "one", CreateMode::Persistent)).unwrap();
    let before = zk.stat("/v");
    assert_eq!(zk.set("/v", "two", 0).map(|_| ()), Ok(()));
    assert_eq!(zk.set("/v", "three", 0), Err(ZkError::BadVersion));
    assert_eq!(zk.set("/v", "three", 5), Err(ZkError::BadVersion));
    let out = zk.set("/v", "three", 1).unwrap();
    let after = zk.stat("/v");
    assert_eq!(out, OpResult::Stat(after));
    assert_eq!((after.version, after.mzxid, after.mtime, after.data_length), (2, z(6), zk.time, 5));
    assert_eq!((after.czxid, after.ctime, after.pzxid), (before.czxid, before.ctime, before.pzxid));
    zk.set("/v", "four", -1).unwrap();
    assert_eq!(zk.stat("/v").version, 3);
    assert_eq!(zk.set("/nope", "x", -1), Err(ZkError::NoNode));
    assert_eq!(zk.set("/v/", "x", -1), Err(ZkError::BadArguments), "setData validates the path");
}

/// `checkAndIncVersion` (3.8) adds one like a Java int: past `i32::MAX` the version wraps.
#[test]
fn set_data_version_wraps_like_java_int() {
    let mut zk = Zk::new();
    zk.create("/v", CreateMode::Persistent).unwrap();
    let mut json = serde_json::to_value(&zk.tree).unwrap();
    json["nodes"]["/v"]["stat"]["version"] = i32::MAX.into();
    zk.tree = serde_json::from_value(json).unwrap();
    zk.set("/v", "x", i32::MAX).unwrap();
    assert_eq!(zk.stat("/v").version, i32::MIN);
    assert_eq!(zk.set("/v", "x", i32::MAX), Err(ZkError::BadVersion));
}

/// `DataTree.setData` triggers NodeDataChanged; `setACL` triggers nothing.
#[test]
fn set_data_triggers_data_changed_and_set_acl_nothing() {
    let mut zk = Zk::new();
    zk.create("/a", CreateMode::Persistent).unwrap();
    let set = Op::SetData { path: "/a".into(), data: b"x".to_vec(), version: -1 };
    let (_, triggers) = zk.apply(S1, TxnKind::Op { op: set, auth: vec![] });
    assert_eq!(triggers, vec![WatchTrigger { path: "/a".into(), event: EventType::NodeDataChanged }]);
    let set_acl = Op::SetAcl { path: "/a".into(), acl: acl_of("world:anyone:r"), version: -1 };
    let (result, triggers) = zk.apply(S1, TxnKind::Op { op: set_acl, auth: vec![] });
    assert!(result.is_ok());
    assert!(triggers.is_empty());
}

/// `pRequest2Txn` (setACL): fixupACL before the node lookup, ADMIN on the node, aversion checked
/// and bumped (recording 04: `setAcl -v 1` fails, `-v 0` sets aclVersion 1).
#[test]
fn set_acl_fixes_up_checks_admin_and_bumps_aversion() {
    let mut zk = Zk::new();
    zk.create("/v2", CreateMode::Persistent).unwrap();
    let set_acl = |acl: &str, version| Op::SetAcl { path: "/v2".into(), acl: acl_of(acl), version };
    assert_eq!(zk.write(set_acl("world:anyone:cdrwa", 1)), Err(ZkError::BadVersion));
    zk.write(set_acl("world:anyone:cdrwa", 0)).unwrap();
    assert_eq!(zk.stat("/v2").aversion, 1);
    assert_eq!(zk.write(set_acl("world:anyone:cdrwa", 0)), Err(ZkError::BadVersion));
    let missing = Op::SetAcl { path: "/nope".into(), acl: vec![], version: -1 };
    assert_eq!(zk.write(missing), Err(ZkError::InvalidAcl), "InvalidAcl before NoNode");
    let bob = acl::digest_auth_id("bob:secret");
    let op = Op::SetAcl { path: "/v2".into(), acl: acl_of("auth::cdr"), version: -1 };
    assert_eq!(zk.write(op.clone()), Err(ZkError::InvalidAcl), "auth without authenticated ids");
    zk.write_as(S1, std::slice::from_ref(&bob), op).unwrap();
    assert_eq!(
        zk.tree.get("/v2").unwrap().acl,
        vec![Acl { perms: perms::CREATE | perms::DELETE | perms::READ, id: bob }]
    );
    assert_eq!(zk.write(set_acl("world:anyone:cdrwa", -1)), Err(ZkError::NoAuth), "no ADMIN any more");
    assert_eq!(
        zk.write(Op::SetAcl { path: "/zookeeper/config".into(), acl: Acl::open_unsafe(), version: -1 }),
        Err(ZkError::NoAuth)
    );
}

// ---- check and multi -------------------------------------------------------------------------

/// `DataTree.processTxn` (multi): the ops apply in order under one zxid, later ops seeing
/// earlier ones, and their triggers come in op order.
#[test]
fn multi_applies_all_ops_in_order_under_one_zxid() {
    let mut zk = Zk::new();
    zk.create("/m", CreateMode::Persistent).unwrap();
    let zxid = zk.next_zxid();
    let ops = vec![
        create_op("/m/a", "1", CreateMode::Persistent),
        create_op("/m/a/s-", "", CreateMode::PersistentSequential),
        Op::Check { path: "/m/a".into(), version: 0 },
        Op::SetData { path: "/m/a".into(), data: b"2".to_vec(), version: 0 },
        Op::Delete { path: "/m/a/s-0000000000".into(), version: 0 },
        create_op("/m/a/s-", "", CreateMode::PersistentSequential),
    ];
    let (result, triggers) = zk.apply(S1, TxnKind::Op { op: Op::Multi(ops), auth: vec![] });
    let OpResult::Multi(results) = result.unwrap() else { panic!("not a multi result") };
    assert_eq!(results.len(), 6);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(matches!(&results[5], Ok(OpResult::Created { path, .. }) if path == "/m/a/s-0000000001"));
    let a = zk.stat("/m/a");
    // Two creations, one left: 2 * 2 - 1.
    assert_eq!((a.czxid, a.mzxid, a.pzxid, a.version, a.cversion), (zxid, zxid, zxid, 1, 3));
    let events: Vec<(&str, EventType)> = triggers.iter().map(|t| (t.path.as_str(), t.event)).collect();
    assert_eq!(
        events,
        vec![
            ("/m/a", EventType::NodeCreated),
            ("/m", EventType::NodeChildrenChanged),
            ("/m/a/s-0000000000", EventType::NodeCreated),
            ("/m/a", EventType::NodeChildrenChanged),
            ("/m/a", EventType::NodeDataChanged),
            ("/m/a/s-0000000000", EventType::NodeDeleted),
            ("/m/a", EventType::NodeChildrenChanged),
            ("/m/a/s-0000000001", EventType::NodeCreated),
            ("/m/a", EventType::NodeChildrenChanged),
        ]
    );
}

/// `PrepRequestProcessor` (multi) + `DataTree.processTxn` (multi): on failure the ops before
/// the failing one report code 0 (`RolledBack`), the failing one its error, the ones after
/// `RuntimeInconsistency`; nothing changes and nothing triggers, but the zxid is consumed.
#[test]
fn failed_multi_reports_rolled_back_error_then_runtime_inconsistency() {
    let mut zk = Zk::new();
    zk.create("/m", CreateMode::Persistent).unwrap();
    let before = zk.tree.digest();
    let ops = vec![
        create_op("/m/a", "", CreateMode::Persistent),
        Op::SetData { path: "/m/a".into(), data: vec![], version: 0 },
        Op::Check { path: "/m".into(), version: 3 },
        Op::Delete { path: "/m".into(), version: -1 },
        create_op("/m/b", "", CreateMode::Persistent),
    ];
    let zxid = zk.next_zxid();
    let (result, triggers) = zk.apply(S1, TxnKind::Op { op: Op::Multi(ops), auth: vec![] });
    let result = result.unwrap();
    assert_eq!(
        result,
        OpResult::Multi(vec![
            Err(ZkError::RolledBack),
            Err(ZkError::RolledBack),
            Err(ZkError::BadVersion),
            Err(ZkError::RuntimeInconsistency),
            Err(ZkError::RuntimeInconsistency),
        ])
    );
    assert_eq!(result.multi_error(), Some(ZkError::BadVersion));
    assert_eq!(ZkError::RolledBack.code(), 0);
    assert!(triggers.is_empty());
    assert_eq!(zk.tree.last_zxid(), zxid);
    let mut expected = Zk::new();
    expected.create("/m", CreateMode::Persistent).unwrap();
    assert_eq!(before, expected.tree.digest());
    assert!(zk.tree.get("/m/a").is_none());
    assert_eq!(zk.stat("/m").cversion, 0, "the rolled-back create left no count");
}

/// `PrepRequestProcessor` (check): a check needs READ on the node.
#[test]
fn check_needs_read_permission() {
    let mut zk = Zk::new();
    let op = Op::Create {
        path: "/w".into(),
        data: vec![],
        acl: acl_of("world:anyone:w"),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    zk.write(op).unwrap();
    let multi = Op::Multi(vec![Op::Check { path: "/w".into(), version: 0 }]);
    assert_eq!(zk.write(multi), Ok(OpResult::Multi(vec![Err(ZkError::NoAuth)])));
    assert_eq!(zk.write(Op::Check { path: "/w".into(), version: -1 }), Err(ZkError::NoAuth));
}

/// `MultiOperationRecord.deserialize`: only create, delete, setData and check travel in a write
/// multi; anything else fails the whole request (`MarshallingError`). An empty multi succeeds.
#[test]
fn multi_of_other_ops_is_a_marshalling_error() {
    let mut zk = Zk::new();
    zk.create("/a", CreateMode::Persistent).unwrap();
    let with_set_acl = Op::Multi(vec![
        create_op("/b", "", CreateMode::Persistent),
        Op::SetAcl { path: "/a".into(), acl: Acl::open_unsafe(), version: -1 },
    ]);
    assert_eq!(zk.write(with_set_acl), Err(ZkError::MarshallingError));
    let with_read = Op::Multi(vec![Op::GetData { path: "/a".into(), watch: false }]);
    assert_eq!(zk.write(with_read), Err(ZkError::MarshallingError));
    assert!(zk.tree.get("/b").is_none());
    assert_eq!(zk.write(Op::Multi(vec![])), Ok(OpResult::Multi(vec![])));
}

// ---- sessions --------------------------------------------------------------------------------

/// `DataTree.killSession`: closing a session deletes its ephemerals (and only its), with
/// NodeDeleted and the parents' NodeChildrenChanged; the session leaves the table.
#[test]
fn close_session_deletes_its_ephemerals_with_triggers() {
    let mut zk = Zk::new();
    let _ = zk.apply(S2, TxnKind::CreateSession { timeout_ms: 5000 });
    zk.create("/d", CreateMode::Persistent).unwrap();
    zk.create("/d/e1", CreateMode::Ephemeral).unwrap();
    zk.create("/e2", CreateMode::Ephemeral).unwrap();
    zk.write_as(S2, &[], create_op("/d/other", "", CreateMode::Ephemeral)).unwrap();
    assert_eq!(zk.tree.sessions().get(&S1), Some(&30_000));
    let zxid = zk.next_zxid();
    let (result, triggers) = zk.apply(S1, TxnKind::CloseSession);
    assert_eq!(result, Ok(OpResult::Done));
    assert_eq!(zk.ls("/d"), vec!["other"]);
    assert!(zk.tree.get("/e2").is_none());
    assert!(!zk.tree.sessions().contains_key(&S1));
    assert_eq!(zk.stat("/d").pzxid, zxid);
    let events: Vec<(&str, EventType)> = triggers.iter().map(|t| (t.path.as_str(), t.event)).collect();
    assert_eq!(
        events,
        vec![
            ("/d/e1", EventType::NodeDeleted),
            ("/d", EventType::NodeChildrenChanged),
            ("/e2", EventType::NodeDeleted),
            ("/", EventType::NodeChildrenChanged),
        ]
    );
}

// ---- containers and TTLs ---------------------------------------------------------------------

/// `ContainerManager.getCandidates`: a container is reapable once it had a child (persisted
/// cversion > 0) and has none; a fresh one is not.
#[test]
fn reapable_containers_had_children_and_have_none() {
    let mut zk = Zk::new();
    zk.create("/fresh", CreateMode::Container).unwrap();
    zk.create("/used", CreateMode::Container).unwrap();
    zk.create("/used/c", CreateMode::Persistent).unwrap();
    assert!(zk.tree.reapable(u64::MAX).is_empty());
    zk.delete("/used/c", -1).unwrap();
    assert_eq!(zk.tree.reapable(0), vec!["/used".to_string()]);
    let (result, triggers) = zk.apply(0, TxnKind::DeleteContainer { path: "/used".into() });
    assert_eq!(result, Ok(OpResult::Deleted));
    assert_eq!(triggers.len(), 2);
    assert!(zk.tree.reapable(u64::MAX).is_empty());
}

/// `ContainerManager.getCandidates`: a childless TTL node is reapable when now − mtime > ttl
/// (strictly); setData renews it.
#[test]
fn reapable_ttl_nodes_expire_after_mtime_plus_ttl() {
    let mut zk = Zk::new();
    zk.create_ttl("/t", 5000).unwrap();
    let mtime = zk.stat("/t").mtime;
    assert!(zk.tree.reapable(mtime + 5000).is_empty());
    assert_eq!(zk.tree.reapable(mtime + 5001), vec!["/t".to_string()]);
    zk.set("/t", "renew", -1).unwrap();
    assert!(zk.tree.reapable(mtime + 5001).is_empty());
    zk.create("/t/child", CreateMode::Persistent).unwrap();
    assert!(zk.tree.reapable(u64::MAX).is_empty(), "a TTL node with children stays");
}

/// `pRequest2Txn` (deleteContainer): NotEmpty with children, BadVersion for an ephemeral,
/// NoNode if gone, BadArguments for system nodes; no ACL or session check.
#[test]
fn delete_container_refuses_nonempty_ephemeral_and_missing() {
    let mut zk = Zk::new();
    let acl = acl_of("world:anyone:r");
    zk.write(Op::Create { path: "/c".into(), data: vec![], acl, mode: CreateMode::Container, ttl_ms: None }).unwrap();
    zk.create("/e", CreateMode::Ephemeral).unwrap();
    zk.write(Op::Create {
        path: "/c/x".into(),
        data: vec![],
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    })
    .unwrap_err();
    let reap = |zk: &mut Zk, path: &str| zk.apply(0, TxnKind::DeleteContainer { path: path.into() }).0;
    let op = Op::Create {
        path: "/c2".into(),
        data: vec![],
        acl: Acl::open_unsafe(),
        mode: CreateMode::Container,
        ttl_ms: None,
    };
    zk.write(op).unwrap();
    zk.create("/c2/x", CreateMode::Persistent).unwrap();
    assert_eq!(reap(&mut zk, "/c2"), Err(ZkError::NotEmpty));
    assert_eq!(reap(&mut zk, "/e"), Err(ZkError::BadVersion));
    assert_eq!(reap(&mut zk, "/gone"), Err(ZkError::NoNode));
    assert_eq!(reap(&mut zk, "/zookeeper"), Err(ZkError::BadArguments));
    assert_eq!(reap(&mut zk, "/c"), Ok(OpResult::Deleted), "no ACL check for the reaper");
}

// ---- reads -----------------------------------------------------------------------------------

/// `FinalRequestProcessor` getData/getChildren/getAllChildrenNumber: NoNode, then READ.
#[test]
fn reads_need_read_permission() {
    let mut zk = Zk::new();
    let op = Op::Create {
        path: "/w".into(),
        data: b"x".to_vec(),
        acl: acl_of("world:anyone:w"),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    zk.write(op).unwrap();
    for op in [
        Op::GetData { path: "/w".into(), watch: false },
        Op::GetChildren { path: "/w".into(), watch: false },
        Op::GetAllChildrenNumber { path: "/w".into() },
    ] {
        assert_eq!(zk.tree.read(&op, &[]), Err(ZkError::NoAuth), "{op:?}");
    }
    assert_eq!(zk.tree.read(&Op::GetData { path: "/nope".into(), watch: false }, &[]), Err(ZkError::NoNode));
    let data = zk.tree.read(&Op::GetData { path: "/zookeeper/config".into(), watch: false }, &[]);
    assert_eq!(data, Ok(OpResult::Data { data: vec![], stat: zk.tree.get("/zookeeper/config").unwrap().stat }));
}

/// `FinalRequestProcessor` exists (3.8.0): missing is no Stat (not an error), a NUL is
/// BadArguments, and there is no ACL check (recording 08: `stat /noread`, `stat /sec`).
#[test]
fn exists_answers_no_stat_and_checks_no_acl() {
    let mut zk = Zk::new();
    let exists = |path: &str| Op::Exists { path: path.into(), watch: true };
    assert_eq!(zk.tree.read(&exists("/nope"), &[]), Ok(OpResult::NoStat));
    assert_eq!(zk.tree.read(&exists("/a\0"), &[]), Err(ZkError::BadArguments));
    let acl = acl_of("digest:user:smGaoVKd/cQkjm7b88GyorAUz20=:cdrwa");
    zk.write(Op::Create { path: "/sec".into(), data: b"x".to_vec(), acl, mode: CreateMode::Persistent, ttl_ms: None })
        .unwrap();
    assert!(matches!(zk.tree.read(&exists("/sec"), &[]), Ok(OpResult::Stat(stat)) if stat.data_length == 1));
    assert_eq!(zk.tree.read(&Op::GetData { path: "/sec".into(), watch: false }, &[]), Err(ZkError::NoAuth));
}

/// getChildren returns a hash set's order in Java; zkCli's `ls` sorts, and so do we.
#[test]
fn get_children_are_sorted() {
    let mut zk = Zk::new();
    zk.create("/l", CreateMode::Persistent).unwrap();
    for name in ["b", "a", "c10", "c2"] {
        zk.create(&format!("/l/{name}"), CreateMode::Persistent).unwrap();
    }
    assert_eq!(zk.ls("/l"), vec!["a", "b", "c10", "c2"]);
}

/// `FinalRequestProcessor` getACL: READ *or* ADMIN suffices; without ADMIN, digest ids come back
/// as `user:x`.
#[test]
fn get_acl_needs_read_or_admin_and_redacts_digests_without_admin() {
    let mut zk = Zk::new();
    let bob = acl::digest_auth_id("bob:secret");
    let acl = vec![Acl { perms: perms::ADMIN, id: bob.clone() }, Acl { perms: perms::READ, id: world() }];
    zk.write(Op::Create {
        path: "/s".into(),
        data: vec![],
        acl: acl.clone(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    })
    .unwrap();
    let get_acl = Op::GetAcl { path: "/s".into() };
    let redacted =
        vec![Acl { perms: perms::ADMIN, id: Id { scheme: "digest".into(), id: "bob:x".into() } }, acl[1].clone()];
    let stat = zk.tree.get("/s").unwrap().stat;
    assert_eq!(zk.tree.read(&get_acl, &[]), Ok(OpResult::Acl { acl: redacted, stat }));
    assert_eq!(zk.tree.read(&get_acl, std::slice::from_ref(&bob)), Ok(OpResult::Acl { acl: acl.clone(), stat }));
    let admin_only = vec![Acl { perms: perms::ADMIN, id: bob.clone() }];
    zk.write(Op::SetAcl { path: "/s".into(), acl: admin_only.clone(), version: -1 }).unwrap_err();
    zk.write_as(S1, std::slice::from_ref(&bob), Op::SetAcl { path: "/s".into(), acl: admin_only.clone(), version: -1 })
        .unwrap();
    assert_eq!(zk.tree.read(&get_acl, &[]), Err(ZkError::NoAuth));
    assert!(zk.tree.read(&get_acl, &[bob]).is_ok(), "ADMIN alone suffices");
    assert_eq!(zk.tree.read(&Op::GetAcl { path: "/nope".into() }, &[]), Err(ZkError::NoNode));
}

/// `DataTree.getAllChildrenNumber`: all descendants; for `/` every node but the root
/// (recording 07: 2 under `/zookeeper`).
#[test]
fn all_children_number_counts_descendants() {
    let mut zk = Zk::new();
    let count = |zk: &Zk, path: &str| zk.tree.read(&Op::GetAllChildrenNumber { path: path.into() }, &[]);
    assert_eq!(count(&zk, "/"), Ok(OpResult::Count(3)));
    assert_eq!(count(&zk, "/zookeeper"), Ok(OpResult::Count(2)));
    zk.create("/a", CreateMode::Persistent).unwrap();
    zk.create("/a/b", CreateMode::Persistent).unwrap();
    zk.create("/a/b/c", CreateMode::Persistent).unwrap();
    zk.create("/ab", CreateMode::Persistent).unwrap();
    assert_eq!(count(&zk, "/a"), Ok(OpResult::Count(2)), "/ab is not under /a");
    assert_eq!(count(&zk, "/"), Ok(OpResult::Count(7)));
    assert_eq!(count(&zk, "/nope"), Err(ZkError::NoNode));
}

/// `FinalRequestProcessor` getEphemerals: the session's ephemerals by plain string prefix
/// (blank or `/` = all), in the server's `HashSet` order (recording 02).
#[test]
fn get_ephemerals_lists_the_sessions_nodes_in_hash_set_order() {
    let mut zk = Zk::new();
    zk.create("/modes", CreateMode::Persistent).unwrap();
    zk.create("/modes/seq-", CreateMode::PersistentSequential).unwrap();
    zk.create("/modes/seq-", CreateMode::PersistentSequential).unwrap();
    zk.create("/modes/eph", CreateMode::Ephemeral).unwrap();
    zk.create("/modes/eph2", CreateMode::Ephemeral).unwrap();
    assert_eq!(zk.create("/modes/ephseq-", CreateMode::EphemeralSequential), Ok("/modes/ephseq-0000000004".into()));
    zk.create("/modes/ephseq-", CreateMode::EphemeralSequential).unwrap();
    zk.create("/modes/c", CreateMode::Container).unwrap();
    let expected = ["/modes/ephseq-0000000004", "/modes/eph", "/modes/ephseq-0000000005", "/modes/eph2"];
    let get = |prefix: &str, session| zk.tree.read_as(&Op::GetEphemerals { prefix: prefix.into() }, session, &[]);
    let paths = |v: &[&str]| Ok(OpResult::Paths(v.iter().map(|s| s.to_string()).collect()));
    assert_eq!(get("/", S1), paths(&expected));
    assert_eq!(get(" ", S1), paths(&expected));
    assert_eq!(get("/modes", S1), paths(&expected));
    assert_eq!(get("/modes/ephs", S1), paths(&[expected[0], expected[2]]));
    assert_eq!(get("/nonexistent", S1), paths(&[]));
    assert_eq!(get("/", S2), paths(&[]));
    assert_eq!(zk.tree.ephemerals(S1).len(), 4);
}

/// `HashMap`'s table: 16 buckets, doubled when the size passes 3/4; buckets by spread hash;
/// `HashSet.clone` presizes to `tableSizeFor(size / 0.75 + 1)` and refills in iteration order.
/// Both recorded `getEphemerals` orders (02, 14) come out.
#[test]
fn java_hash_set_order_matches_recorded_order() {
    let ephemerals = |inserted: &[&str]| {
        java_hash_set_clone_order(java_hash_set_order(inserted.iter().map(|s| s.to_string()).collect()))
    };
    let order = ephemerals(&["/modes/eph", "/modes/eph2", "/modes/ephseq-0000000004", "/modes/ephseq-0000000005"]);
    assert_eq!(order, vec!["/modes/ephseq-0000000004", "/modes/eph", "/modes/ephseq-0000000005", "/modes/eph2"]);
    let order = ephemerals(&["/s/eph1", "/s/eph2", "/eph-0000000001"]);
    assert_eq!(order, vec!["/s/eph2", "/eph-0000000001", "/s/eph1"]);
    let order = java_hash_set_order(vec!["/s/eph1".into(), "/s/eph2".into(), "/eph-0000000001".into()]);
    assert_eq!(order, vec!["/s/eph1", "/s/eph2", "/eph-0000000001"], "the set itself, 16 buckets");
}

/// `FinalRequestProcessor` multiRead: each read answered on its own, errors in place.
#[test]
fn multi_read_answers_each_op() {
    let zk = Zk::new();
    let ops = Op::Multi(vec![
        Op::GetChildren { path: "/".into(), watch: false },
        Op::GetData { path: "/nope".into(), watch: false },
    ]);
    let Ok(OpResult::Multi(results)) = zk.tree.read(&ops, &[]) else { panic!("not a multi") };
    assert!(matches!(&results[0], Ok(OpResult::Children { children, .. }) if children == &["zookeeper"]));
    assert_eq!(results[1], Err(ZkError::NoNode));
}

// ---- properties ------------------------------------------------------------------------------

/// A random txn over a small namespace, so creates, deletes and conflicts are frequent.
fn random_op(rng: &mut Rng) -> Op {
    const PATHS: &[&str] =
        &["/a", "/a/b", "/a/b/c", "/b", "/b/x", "/c", "/a/", "//", "x", "/zookeeper", "/zookeeper/quota", "/", ""];
    let path = PATHS[rng.below(PATHS.len() as u64) as usize].to_string();
    let version = [-1, 0, 1, 2, i32::MAX, i32::MIN][rng.below(6) as usize];
    let modes = [
        CreateMode::Persistent,
        CreateMode::PersistentSequential,
        CreateMode::Ephemeral,
        CreateMode::EphemeralSequential,
        CreateMode::Container,
        CreateMode::PersistentWithTtl,
    ];
    let acls = [Acl::open_unsafe(), acl_of("world:anyone:r"), acl_of("auth::cdrwa"), vec![]];
    match rng.below(7) {
        0 | 1 => {
            let mode = modes[rng.below(modes.len() as u64) as usize];
            let ttl_ms = if mode.is_ttl() { Some(rng.range_inclusive(1, 20_000) as i64) } else { None };
            let n_acls = if rng.chance_ppm(900_000) { 1 } else { 4 };
            let acl = acls[rng.below(n_acls) as usize].clone();
            Op::Create { path, data: vec![b'x'; rng.below(4) as usize], acl, mode, ttl_ms }
        }
        2 => Op::Delete { path, version },
        3 => Op::SetData { path, data: vec![b'y'; rng.below(4) as usize], version },
        4 => Op::SetAcl { path, acl: acls[rng.below(4) as usize].clone(), version },
        5 => Op::Check { path, version },
        _ => Op::Multi(
            (0..rng.below(4))
                .map(|_| random_op(rng))
                .filter(|op| !matches!(op, Op::Multi(_) | Op::SetAcl { .. }))
                .collect(),
        ),
    }
}

fn random_txn(rng: &mut Rng, zxid: Zxid, time: u64, tree: &DataTree) -> Txn {
    let sessions = [S1, S2, 7];
    let session = sessions[rng.below(3) as usize];
    let kind = match rng.below(20) {
        0 => TxnKind::CreateSession { timeout_ms: 10_000 },
        1 => TxnKind::CloseSession,
        2 => match tree.reapable(time).first() {
            Some(path) => TxnKind::DeleteContainer { path: path.clone() },
            None => TxnKind::DeleteContainer { path: "/a".into() },
        },
        _ => {
            let auth = if rng.chance_ppm(300_000) { vec![acl::digest_auth_id("bob:secret")] } else { vec![] };
            TxnKind::Op { op: random_op(rng), auth }
        }
    };
    txn(zxid, time, session, kind)
}

/// Replicas applying the same txns agree on every result, trigger and digest; a failed multi
/// leaves the digest unchanged; the invariants (numChildren = children.len() among them) hold
/// after every step; and no input panics.
#[test]
fn replicas_applying_the_same_txns_agree() {
    for seed in 0..100u64 {
        let outcome = std::panic::catch_unwind(|| run_replicas(seed));
        if let Err(e) = outcome {
            eprintln!("failing seed: {seed} (replay: run_replicas({seed}))");
            std::panic::resume_unwind(e);
        }
    }
}

fn run_replicas(seed: u64) {
    let mut rng = Rng::new(seed);
    let extended = rng.chance_ppm(500_000);
    let mut a = DataTree::with_extended_types(extended);
    let mut b = DataTree::with_extended_types(extended);
    let mut time = 0;
    for counter in 1..=300u32 {
        time += rng.range_inclusive(0, 3000);
        let t = random_txn(&mut rng, Zxid::new(1, counter), time, &a);
        let before = a.clone();
        let out_a = a.apply(&t);
        let out_b = b.apply(&t);
        assert_eq!(out_a, out_b, "seed {seed}: results differ at {t:?}");
        assert_eq!(a.digest(), b.digest(), "seed {seed}: digests differ after {t:?}");
        a.check_invariants().unwrap_or_else(|e| panic!("seed {seed}: {e} after {t:?}"));
        for (path, node) in a.nodes() {
            assert_eq!(node.stat.num_children as usize, node.children.len(), "seed {seed}: {path}");
        }
        let failed_multi = matches!(&out_a.0, Ok(r @ OpResult::Multi(_)) if r.multi_error().is_some());
        if failed_multi || out_a.0.is_err() {
            // Only last_zxid may move: the old state after a no-op (an empty multi) at this zxid.
            assert!(out_a.1.is_empty(), "seed {seed}: a failed txn triggered {:?}", out_a.1);
            let mut unchanged = before;
            let _ = unchanged.apply(&txn(t.zxid, t.time, 0, TxnKind::Op { op: Op::Multi(vec![]), auth: vec![] }));
            assert_eq!(unchanged.digest(), a.digest(), "seed {seed}: failed {t:?} changed the tree");
        }
    }
}

/// A failed multi changes nothing but the last zxid: its digest equals the digest of a tree that
/// applied an empty multi at that zxid instead.
#[test]
fn failed_multi_leaves_digest_unchanged() {
    let mut rng = Rng::new(0x5eed);
    let mut checked = 0;
    for seed in 0..400u64 {
        let mut tree = DataTree::with_extended_types(true);
        let mut counter = 0;
        let mut time = 0;
        for _ in 0..40 {
            counter += 1;
            time += 1000;
            let t = random_txn(&mut rng, Zxid::new(1, counter), time, &tree);
            let _ = tree.apply(&t);
        }
        counter += 1;
        let ops: Vec<Op> =
            (0..4).map(|_| random_op(&mut rng)).filter(|op| !matches!(op, Op::Multi(_) | Op::SetAcl { .. })).collect();
        let multi = txn(Zxid::new(1, counter), time, S1, TxnKind::Op { op: Op::Multi(ops), auth: vec![] });
        let mut control = tree.clone();
        let (result, triggers) = tree.apply(&multi);
        if result.as_ref().ok().and_then(OpResult::multi_error).is_some() {
            let _ = control.apply(&txn(multi.zxid, time, S1, TxnKind::Op { op: Op::Multi(vec![]), auth: vec![] }));
            assert_eq!(tree.digest(), control.digest(), "seed {seed}: a failed multi changed the tree");
            assert!(triggers.is_empty(), "seed {seed}");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} failed multis exercised");
}

/// Arbitrary strings as paths, huge versions and unknown sessions are errors, never panics.
#[test]
fn garbage_inputs_are_errors_not_panics() {
    let mut rng = Rng::new(42);
    let alphabet: Vec<char> = "/a.\0\u{1}é\u{1F600}\u{fff0}b".chars().collect();
    let mut zk = Zk::new();
    for _ in 0..2000 {
        let len = rng.below(8) as usize;
        let path: String = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
        let _ = validate_path(&path, rng.chance_ppm(500_000));
        let _ = parse_acl(&path);
        let _ = acl::is_valid_id("ip", &path);
        let session = if rng.chance_ppm(500_000) { S1 } else { rng.next_u64() };
        let ops = [
            create_op(&path, "", CreateMode::EphemeralSequential),
            create_op(&path, "", CreateMode::Persistent),
            Op::Delete { path: path.clone(), version: i32::MIN },
            Op::SetData { path: path.clone(), data: vec![], version: i32::MAX },
            Op::SetAcl { path: path.clone(), acl: acl_of("ip:1.2.3.4/33:r"), version: -1 },
        ];
        for op in ops {
            let _ = zk.write_as(session, &[], op);
        }
        for op in [
            Op::GetData { path: path.clone(), watch: false },
            Op::Exists { path: path.clone(), watch: false },
            Op::GetAllChildrenNumber { path: path.clone() },
            Op::GetEphemerals { prefix: path.clone() },
        ] {
            let _ = zk.tree.read_as(&op, session, &[]);
        }
        let _ = zk.apply(session, TxnKind::DeleteContainer { path: path.clone() });
    }
}

/// `fixupACL` expands `auth` to every authenticated id in the connection's order, whatever the
/// id part says, and drops `ip` (recording 09: `create /mine data auth::cdrwa`,
/// `create /mine2 data auth:whatever:r`, then `getAcl` without ADMIN shows `user:x`).
#[test]
fn auth_acl_expands_to_the_connections_digest_ids() {
    let mut zk = Zk::new();
    let auth = vec![
        Id { scheme: "ip".into(), id: "127.0.0.1".into() },
        acl::digest_auth_id("alice:secret"),
        acl::digest_auth_id("user:wrongpass"),
        acl::digest_auth_id("user:pass"),
    ];
    let create = |path: &str, acl: &str| Op::Create {
        path: path.into(),
        data: b"data".to_vec(),
        acl: acl_of(acl),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    zk.write_as(S1, &auth, create("/mine", "auth::cdrwa")).unwrap();
    let ids: Vec<String> =
        zk.tree.get("/mine").unwrap().acl.iter().map(|a| format!("{}:{}", a.id.scheme, a.id.id)).collect();
    assert_eq!(
        ids,
        vec![
            "digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=",
            "digest:user:Ca6dx4zaEw+XpwROqp7btQxt98Q=",
            "digest:user:smGaoVKd/cQkjm7b88GyorAUz20=",
        ]
    );
    zk.write_as(S1, &auth, create("/mine2", "auth:whatever:r")).unwrap();
    let Ok(OpResult::Acl { acl, .. }) = zk.tree.read(&Op::GetAcl { path: "/mine2".into() }, &auth) else { panic!() };
    let shown: Vec<String> = acl.iter().map(acl::getacl_entry).collect();
    assert_eq!(shown, vec!["'digest,'alice:x\n: r", "'digest,'user:x\n: r", "'digest,'user:x\n: r"]);
}

/// The quota counters (`DataTree.updateQuotaForPath` when `zookeeper_stats` is created,
/// `updateQuotaStat` on every create/delete/setData below a path with `zookeeper_limits`),
/// replaying zkCli's `setquota` (`SetQuotaCommand.createQuota`) as recorded in 15: the stats
/// node reads `count=1,bytes=0` at once and `count=4,bytes=0` after three children.
#[test]
fn quota_stats_count_nodes_and_bytes_under_the_quota_path() {
    let mut zk = Zk::new();
    zk.create("/qt", CreateMode::Persistent).unwrap();
    zk.create("/zookeeper/quota/qt", CreateMode::Persistent).unwrap();
    let limits = "count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1";
    zk.write(create_op("/zookeeper/quota/qt/zookeeper_limits", limits, CreateMode::Persistent)).unwrap();
    let created = zk.write(create_op("/zookeeper/quota/qt/zookeeper_stats", "count=0,bytes=0", CreateMode::Persistent));
    let Ok(OpResult::Created { stat, .. }) = created else { panic!("{created:?}") };
    assert_eq!(stat.data_length, 15, "the reply carries the Stat from before the recount");
    let stats =
        |zk: &Zk| String::from_utf8(zk.tree.get("/zookeeper/quota/qt/zookeeper_stats").unwrap().data.clone()).unwrap();
    assert_eq!(stats(&zk), "count=1,bytes=0");
    let stats_stat = zk.stat("/zookeeper/quota/qt/zookeeper_stats");
    for child in ["a", "b", "c"] {
        zk.create(&format!("/qt/{child}"), CreateMode::Persistent).unwrap();
    }
    assert_eq!(stats(&zk), "count=4,bytes=0");
    zk.set("/qt/a", "12345", -1).unwrap();
    zk.write(create_op("/qt/a/x", "xy", CreateMode::Persistent)).unwrap();
    assert_eq!(stats(&zk), "count=5,bytes=7");
    zk.delete("/qt/a/x", -1).unwrap();
    assert_eq!(stats(&zk), "count=4,bytes=5");
    let after = zk.stat("/zookeeper/quota/qt/zookeeper_stats");
    assert_eq!((after.version, after.mzxid), (stats_stat.version, stats_stat.mzxid), "updated silently");
    zk.create("/qtx", CreateMode::Persistent).unwrap();
    assert_eq!(stats(&zk), "count=4,bytes=5", "/qtx is not below /qt");
    // `delquota`: without the limits node the path has no quota any more.
    zk.delete("/zookeeper/quota/qt/zookeeper_limits", -1).unwrap();
    zk.create("/qt/d", CreateMode::Persistent).unwrap();
    assert_eq!(stats(&zk), "count=4,bytes=5");
}
