//! The znode tree (`DataTree`) as a pure, deterministic state machine: ZooKeeper 3.8's data
//! model, its request checks, its `Stat` bookkeeping and its quota counters. The reference is
//! 3.8.0, the server the zkCli recordings in `tests/fixtures/zkcli` come from.
//!
//! ```text
//!   committed Txn (zxid order) ──apply──▶ DataTree ──▶ (Result<OpResult, ZkError>, Vec<WatchTrigger>)
//!   read Op + auth ids         ──read───▶ DataTree ──▶ Result<OpResult, ZkError>
//!   virtual now                ──reapable─▶ paths for the leader's DeleteContainer txns
//! ```
//!
//! ZooKeeper checks a write twice over: the leader's `PrepRequestProcessor` decides, against the
//! tree plus the outstanding changes, whether the request succeeds (and with which error), and
//! every replica's `DataTree.processTxn` then applies the outcome. Here the replicas apply
//! committed transactions one at a time in zxid order, so the tree before a txn *is* the state
//! prep would see; `apply` runs prep's checks in prep's order and then `DataTree`'s mutation.
//! Every replica therefore computes the same result, and a failing op still consumes its zxid.
//!
//! Two stats live on a znode, as in ZooKeeper: the persisted one (`StatPersisted`, where
//! `cversion` counts child *creations* and `ephemeralOwner` encodes containers and TTLs), and the
//! one clients see (`DataNode.copyStat`, where `cversion = 2 * creations - numChildren` counts
//! creations and deletions, and containers/TTL nodes show owner 0). `Znode.stat` is the client's
//! view, kept up to date after every change; `Znode::stored_cversion` and
//! `Znode::stored_ephemeral_owner` are the persisted fields it is computed from.

use super::acl::{check_acl, fixup_acl, redact_digests};
use super::path::validate_path;
use super::txn::*;
use crate::zab::Zxid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `EphemeralType.CONTAINER_EPHEMERAL_OWNER` (`Long.MIN_VALUE`).
pub const CONTAINER_EPHEMERAL_OWNER: u64 = 0x8000_0000_0000_0000;
/// `EphemeralType.EXTENDED_MASK`: the high byte that marks an extended type (TTL).
const EXTENDED_MASK: u64 = 0xff00_0000_0000_0000;
/// `EphemeralType.RESERVED_BITS_MASK`: the extended feature bits (0 = TTL).
const RESERVED_BITS_MASK: u64 = 0x00ff_ff00_0000_0000;
/// `EphemeralType.TTL.maxValue()`: the largest TTL, in ms (about 34 years).
pub const TTL_MAX_MS: i64 = !(EXTENDED_MASK | RESERVED_BITS_MASK) as i64;

/// `EphemeralType`: what a persisted ephemeralOwner means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EphemeralType {
    /// Owner 0: a persistent node.
    Void,
    /// Owned by a session: an ephemeral node.
    Normal,
    Container,
    Ttl,
}

impl EphemeralType {
    /// `EphemeralType.get(ephemeralOwner)`. The TTL encoding is recognised only with extended
    /// types enabled; an unknown extended feature bit (Java throws) is taken as `Normal`.
    pub fn of(owner: u64, extended_types_enabled: bool) -> EphemeralType {
        if extended_types_enabled && owner & EXTENDED_MASK == EXTENDED_MASK {
            let feature = (owner & RESERVED_BITS_MASK) >> 40;
            return if feature == 0 { EphemeralType::Ttl } else { EphemeralType::Normal };
        }
        match owner {
            CONTAINER_EPHEMERAL_OWNER => EphemeralType::Container,
            0 => EphemeralType::Void,
            _ => EphemeralType::Normal,
        }
    }

    /// `EphemeralType.TTL.toEphemeralOwner(ttl)`: `0xFF00…` | ttl.
    pub fn ttl_owner(ttl_ms: i64) -> u64 {
        EXTENDED_MASK | (ttl_ms as u64 & !(EXTENDED_MASK | RESERVED_BITS_MASK))
    }
}

/// One znode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Znode {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    /// The Stat a client sees (`DataNode.copyStat`): reported cversion, visible owner,
    /// numChildren and dataLength included.
    pub stat: Stat,
    pub mode: CreateMode,
    pub ttl_ms: Option<i64>,
    pub children: BTreeSet<String>,
    /// `StatPersisted.cversion`: how many children were ever created here (deletes don't count).
    /// Sequential names use it; clients see `2 * stored_cversion - numChildren`.
    pub stored_cversion: i32,
    /// `StatPersisted.ephemeralOwner`: the owning session, `CONTAINER_EPHEMERAL_OWNER`, or the TTL
    /// encoding; clients see 0 for containers and TTL nodes.
    pub stored_ephemeral_owner: u64,
}

impl Znode {
    /// `DataTree.createStat`: czxid = mzxid = pzxid = zxid, ctime = mtime = time, versions 0.
    #[allow(clippy::too_many_arguments)]
    fn new(
        data: Vec<u8>,
        acl: Vec<Acl>,
        mode: CreateMode,
        ttl_ms: Option<i64>,
        zxid: Zxid,
        time: u64,
        owner: u64,
        extended: bool,
    ) -> Znode {
        let stat = Stat { czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, ..Stat::default() };
        let mut node = Znode {
            data,
            acl,
            stat,
            mode,
            ttl_ms,
            children: BTreeSet::new(),
            stored_cversion: 0,
            stored_ephemeral_owner: owner,
        };
        node.refresh_stat(extended);
        node
    }

    /// A built-in node of a fresh tree: zeroed stats.
    fn system(acl: Vec<Acl>, children: &[&str]) -> Znode {
        let mut node = Znode::new(Vec::new(), acl, CreateMode::Persistent, None, Zxid::ZERO, 0, 0, false);
        node.children = children.iter().map(|c| c.to_string()).collect();
        node.refresh_stat(false);
        node
    }

    /// Recomputes the client-visible parts of `stat` (`DataNode.copyStat`).
    fn refresh_stat(&mut self, extended_types_enabled: bool) {
        let n_children = self.children.len() as i32;
        self.stat.num_children = n_children;
        self.stat.data_length = self.data.len() as i32;
        // "translate from the count of the creates to the count of the changes (v3 semantics)".
        self.stat.cversion = self.stored_cversion.wrapping_mul(2).wrapping_sub(n_children);
        self.stat.ephemeral_owner = match self.ephemeral_type(extended_types_enabled) {
            EphemeralType::Normal => self.stored_ephemeral_owner,
            _ => 0,
        };
    }

    pub fn ephemeral_type(&self, extended_types_enabled: bool) -> EphemeralType {
        EphemeralType::of(self.stored_ephemeral_owner, extended_types_enabled)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTree {
    nodes: BTreeMap<String, Znode>,
    /// Live sessions and their negotiated timeouts (replicated via CreateSession/CloseSession).
    sessions: BTreeMap<SessionId, u32>,
    last_zxid: Zxid,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes exist only when set (off by default, as in 3.8).
    extended_types_enabled: bool,
    /// `DataTree.pTrie`: the paths with a quota, i.e. whose `/zookeeper/quota/<path>/zookeeper_limits`
    /// was created (and not deleted since), as `/`-joined non-blank components.
    quota_paths: BTreeSet<String>,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

/// Who asks, and the txn header's zxid and time.
struct Ctx<'a> {
    zxid: Zxid,
    time: u64,
    session: SessionId,
    auth: &'a [Id],
}

type OpOutcome = Result<(OpResult, Vec<WatchTrigger>), ZkError>;

impl DataTree {
    /// A fresh tree as a 3.8 server starts with (`DataTree()` and `addConfigNode`): `/` with the
    /// child `zookeeper`, which has `quota` and `config`; all stats zero, world-open ACLs except
    /// `/zookeeper/config`, which is `world:anyone:r` with aversion -1 (it was set by
    /// `setACL(configZookeeper, READ_ACL_UNSAFE, -1)`). Extended types (TTL nodes) are off.
    pub fn new() -> DataTree {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_string(), Znode::system(Acl::open_unsafe(), &["zookeeper"]));
        nodes.insert("/zookeeper".to_string(), Znode::system(Acl::open_unsafe(), &["quota", "config"]));
        nodes.insert("/zookeeper/quota".to_string(), Znode::system(Acl::open_unsafe(), &[]));
        let read_only = vec![Acl { perms: perms::READ, id: Id { scheme: "world".into(), id: "anyone".into() } }];
        let mut config = Znode::system(read_only, &[]);
        config.stat.aversion = -1;
        nodes.insert("/zookeeper/config".to_string(), config);
        DataTree {
            nodes,
            sessions: BTreeMap::new(),
            last_zxid: Zxid::ZERO,
            extended_types_enabled: false,
            quota_paths: BTreeSet::new(),
        }
    }

    /// A fresh tree with `zookeeper.extendedTypesEnabled` set as given (TTL nodes need it).
    pub fn with_extended_types(enabled: bool) -> DataTree {
        DataTree { extended_types_enabled: enabled, ..DataTree::new() }
    }

    pub fn extended_types_enabled(&self) -> bool {
        self.extended_types_enabled
    }

    /// Applies one committed transaction; every replica gets the same result and triggers.
    ///
    /// Every txn consumes its zxid, failed or not. A write that fails changes nothing and
    /// triggers nothing. A multi answers `Ok(OpResult::Multi(..))` whether or not it succeeded;
    /// when it failed, the per-op results carry the errors as ZooKeeper reports them (see
    /// `apply_multi`) and `OpResult::multi_error` gives the code of the reply header.
    pub fn apply(&mut self, txn: &Txn) -> (Result<OpResult, ZkError>, Vec<WatchTrigger>) {
        self.last_zxid = txn.zxid;
        let ctx = Ctx { zxid: txn.zxid, time: txn.time, session: txn.session, auth: &[] };
        let outcome = match &txn.kind {
            TxnKind::CreateSession { timeout_ms } => {
                self.sessions.insert(txn.session, *timeout_ms);
                Ok((OpResult::Done, Vec::new()))
            }
            TxnKind::CloseSession => Ok(self.close_session(&ctx)),
            TxnKind::Op { op, auth } => self.apply_op(op, &Ctx { auth, ..ctx }),
            TxnKind::DeleteContainer { path } => self.delete_container(path, &ctx),
        };
        match outcome {
            Ok((result, triggers)) => (Ok(result), triggers),
            Err(e) => (Err(e), Vec::new()),
        }
    }

    /// `DataTree.killSession`: the session's ephemerals go (in path order), then the session.
    fn close_session(&mut self, ctx: &Ctx) -> (OpResult, Vec<WatchTrigger>) {
        let mut triggers = Vec::new();
        for path in self.ephemerals(ctx.session) {
            triggers.extend(self.delete_node(&path, ctx.zxid));
        }
        self.sessions.remove(&ctx.session);
        (OpResult::Done, triggers)
    }

    fn apply_op(&mut self, op: &Op, ctx: &Ctx) -> OpOutcome {
        match op {
            Op::Multi(ops) => self.apply_multi(ops, ctx),
            Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::SetAcl { .. } | Op::Check { .. } => {
                self.apply_write(op, ctx)
            }
            // Sync goes through the leader to order the client's later reads; it changes nothing.
            Op::Sync { .. } => Ok((OpResult::Done, Vec::new())),
            // Reads are answered by `read`, never replicated.
            Op::GetData { .. }
            | Op::Exists { .. }
            | Op::GetChildren { .. }
            | Op::GetAcl { .. }
            | Op::GetAllChildrenNumber { .. }
            | Op::GetEphemerals { .. }
            | Op::AddWatch { .. } => Err(ZkError::Unimplemented),
        }
    }

    /// One write: every check first (prep), then the change (`DataTree.processTxn`), so a failed
    /// check leaves the tree untouched.
    fn apply_write(&mut self, op: &Op, ctx: &Ctx) -> OpOutcome {
        match op {
            Op::Create { path, data, acl, mode, ttl_ms } => self.create(path, data, acl, *mode, *ttl_ms, ctx),
            Op::Delete { path, version } => self.delete(path, *version, ctx),
            Op::SetData { path, data, version } => self.set_data(path, data, *version, ctx),
            Op::SetAcl { path, acl, version } => self.set_acl(path, acl, *version, ctx),
            Op::Check { path, version } => self.check(path, *version, ctx),
            _ => Err(ZkError::MarshallingError),
        }
    }

    /// A multi, all or nothing (`PrepRequestProcessor.pRequestHelper`, `OpCode.multi`, and
    /// `DataTree.processTxn`, `OpCode.multi`). The ops run in order against the state the earlier
    /// ones left (prep's outstanding change records). If op *k* fails, nothing changes, nothing
    /// triggers, and the results are: ops before *k* `Err(RolledBack)` (an `ErrorTxn` of code 0,
    /// which kazoo raises as `RolledBackError`), op *k* its own error, ops after *k*
    /// `Err(RuntimeInconsistency)` (prep stops checking them). Only create, delete, setData and
    /// check may appear (`MultiOperationRecord.deserialize`); anything else fails the whole
    /// request with `MarshallingError`.
    fn apply_multi(&mut self, ops: &[Op], ctx: &Ctx) -> OpOutcome {
        let allowed =
            |op: &Op| matches!(op, Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::Check { .. });
        if !ops.iter().all(allowed) {
            return Err(ZkError::MarshallingError);
        }
        let mut scratch = self.clone();
        let mut results = Vec::with_capacity(ops.len());
        let mut triggers = Vec::new();
        for (k, op) in ops.iter().enumerate() {
            match scratch.apply_write(op, ctx) {
                Ok((result, op_triggers)) => {
                    results.push(Ok(result));
                    triggers.extend(op_triggers);
                }
                Err(e) => {
                    let mut failed: Vec<Result<OpResult, ZkError>> = vec![Err(ZkError::RolledBack); k];
                    failed.push(Err(e));
                    failed.resize(ops.len(), Err(ZkError::RuntimeInconsistency));
                    return Ok((OpResult::Multi(failed), Vec::new()));
                }
            }
        }
        *self = scratch;
        Ok((OpResult::Multi(results), triggers))
    }

    /// `PrepRequestProcessor.pRequest2TxnCreate` then `DataTree.createNode`. Checks, in order:
    /// TTL mode without extended types → `Unimplemented`, a ttl that doesn't fit the mode →
    /// `BadArguments` (`validateCreateRequest`, `EphemeralType.validateTTL`); an ephemeral from a
    /// session not in the table → `SessionExpired`; no `/` or a NUL → `BadArguments`
    /// (`validatePathForCreate`); the ACL → `InvalidAcl` (`fixupACL`); parent missing → `NoNode`;
    /// no CREATE on the parent → `NoAuth`; the (suffixed) path invalid → `BadArguments`
    /// (`validatePath`); it exists → `NodeExists`; parent ephemeral → `NoChildrenForEphemerals`.
    fn create(
        &mut self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        mode: CreateMode,
        ttl_ms: Option<i64>,
        ctx: &Ctx,
    ) -> OpOutcome {
        self.validate_create_request(mode, ttl_ms, ctx.session)?;
        let parent_path = java_parent(path).filter(|_| !path.contains('\0')).ok_or(ZkError::BadArguments)?;
        let acl = fixup_acl(acl, ctx.auth)?;
        let parent = self.lookup(parent_path).ok_or(ZkError::NoNode)?;
        if !check_acl(&parent.acl, perms::CREATE, ctx.auth) {
            return Err(ZkError::NoAuth);
        }
        let path = if mode.is_sequential() {
            // The persisted cversion (child creations), `%010d`: a negative one prints as
            // `-000000001`, as Java's formatter does.
            format!("{path}{:010}", parent.stored_cversion)
        } else {
            path.to_string()
        };
        validate_path(&path, false).map_err(|_| ZkError::BadArguments)?;
        if self.lookup(&path).is_some() {
            return Err(ZkError::NodeExists);
        }
        if parent.ephemeral_type(self.extended_types_enabled) == EphemeralType::Normal {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        let new_cversion = parent.stored_cversion.wrapping_add(1);
        let owner = if mode.is_container() {
            CONTAINER_EPHEMERAL_OWNER
        } else if mode.is_ttl() {
            EphemeralType::ttl_owner(ttl_ms.unwrap_or(-1))
        } else if mode.is_ephemeral() {
            ctx.session
        } else {
            0
        };
        let ttl = if mode.is_ttl() { ttl_ms } else { None };
        let node = Znode::new(data.to_vec(), acl, mode, ttl, ctx.zxid, ctx.time, owner, self.extended_types_enabled);
        let (stat, triggers) = self.create_node(&path, node, new_cversion, ctx.zxid);
        Ok((OpResult::Created { path, stat }, triggers))
    }

    /// `validateCreateRequest`: TTLs need extended types and a ttl in 1..=`TTL_MAX_MS`; other
    /// modes must not carry one (-1, i.e. `None`, is "no ttl"); an ephemeral needs a live session
    /// (`checkGlobalSession`).
    fn validate_create_request(
        &self,
        mode: CreateMode,
        ttl_ms: Option<i64>,
        session: SessionId,
    ) -> Result<(), ZkError> {
        if mode.is_ttl() && !self.extended_types_enabled {
            return Err(ZkError::Unimplemented);
        }
        let ttl = ttl_ms.unwrap_or(-1);
        let ttl_ok = if mode.is_ttl() { ttl > 0 && ttl <= TTL_MAX_MS } else { ttl < 0 };
        if !ttl_ok {
            return Err(ZkError::BadArguments);
        }
        if mode.is_ephemeral() && !self.sessions.contains_key(&session) {
            return Err(ZkError::SessionExpired);
        }
        Ok(())
    }

    /// `DataTree.createNode`: the parent's persisted cversion and pzxid move only forward (a
    /// cversion that wrapped past `i32::MAX` is not larger, so it sticks there, and so do the
    /// sequential suffixes); the child is linked in; NodeCreated and the parent's
    /// NodeChildrenChanged fire.
    ///
    /// Returns the new node's Stat as `createNode` copies it out, before the quota bookkeeping.
    fn create_node(&mut self, path: &str, node: Znode, parent_cversion: i32, zxid: Zxid) -> (Stat, Vec<WatchTrigger>) {
        let parent_path = java_parent(path).unwrap_or("/");
        let child = basename(path);
        let extended = self.extended_types_enabled;
        if let Some(parent) = self.lookup_mut(parent_path) {
            if parent_cversion > parent.stored_cversion {
                parent.stored_cversion = parent_cversion;
                parent.stat.pzxid = zxid;
            }
            parent.children.insert(child.to_string());
            parent.refresh_stat(extended);
        }
        let (stat, bytes) = (node.stat, node.data.len() as i64);
        self.nodes.insert(path.to_string(), node);
        if let Some(quota_path) = parent_path.strip_prefix(QUOTA_ROOT) {
            if child == LIMIT_NODE {
                if let Some(quota_path) = trie_path(quota_path) {
                    self.quota_paths.insert(quota_path);
                }
            }
            if child == STAT_NODE {
                self.update_quota_for_path(quota_path);
            }
        }
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, bytes, 1);
        }
        let triggers = vec![
            WatchTrigger { path: path.to_string(), event: EventType::NodeCreated },
            WatchTrigger { path: display_path(parent_path).to_string(), event: EventType::NodeChildrenChanged },
        ];
        (stat, triggers)
    }

    /// `pRequest2Txn`, `OpCode.delete`: no `/`, a NUL or a system node → `BadArguments`
    /// (`getParentPathAndValidate`); parent missing → `NoNode`; no DELETE on the parent →
    /// `NoAuth`; node missing → `NoNode`; version → `BadVersion`; children → `NotEmpty`.
    fn delete(&mut self, path: &str, version: i32, ctx: &Ctx) -> OpOutcome {
        let parent_path = parent_path_and_validate(path)?;
        let parent = self.lookup(parent_path).ok_or(ZkError::NoNode)?;
        if !check_acl(&parent.acl, perms::DELETE, ctx.auth) {
            return Err(ZkError::NoAuth);
        }
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        check_and_inc_version(node.stat.version, version)?;
        if !node.children.is_empty() {
            return Err(ZkError::NotEmpty);
        }
        Ok((OpResult::Deleted, self.delete_node(path, ctx.zxid)))
    }

    /// `pRequest2Txn`, `OpCode.deleteContainer` (the reaper's request: no session, no ACL check):
    /// `BadArguments` as for delete; node missing → `NoNode`; children → `NotEmpty`; an ephemeral
    /// → `BadVersion`. Like ZooKeeper, only a session-owned node is refused: a path that has
    /// become a plain persistent node since the reaper looked would go too.
    fn delete_container(&mut self, path: &str, ctx: &Ctx) -> OpOutcome {
        let parent_path = parent_path_and_validate(path)?;
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        if !node.children.is_empty() {
            return Err(ZkError::NotEmpty);
        }
        if node.ephemeral_type(self.extended_types_enabled) == EphemeralType::Normal {
            return Err(ZkError::BadVersion);
        }
        self.lookup(parent_path).ok_or(ZkError::NoNode)?;
        Ok((OpResult::Deleted, self.delete_node(path, ctx.zxid)))
    }

    /// `DataTree.deleteNode`: unlinks the node; the parent's pzxid moves forward, its persisted
    /// cversion does not (its reported cversion rises by one as numChildren drops). NodeDeleted
    /// and the parent's NodeChildrenChanged fire.
    fn delete_node(&mut self, path: &str, zxid: Zxid) -> Vec<WatchTrigger> {
        let parent_path = java_parent(path).unwrap_or("/");
        let child = basename(path);
        let extended = self.extended_types_enabled;
        if let Some(parent) = self.lookup_mut(parent_path) {
            parent.children.remove(child);
            if zxid > parent.stat.pzxid {
                parent.stat.pzxid = zxid;
            }
            parent.refresh_stat(extended);
        }
        let bytes = self.nodes.remove(path).map_or(0, |n| n.data.len() as i64);
        if let Some(quota_path) = parent_path.strip_prefix(QUOTA_ROOT) {
            if child == LIMIT_NODE {
                if let Some(quota_path) = trie_path(quota_path) {
                    self.quota_paths.remove(&quota_path);
                }
            }
        }
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, -bytes, -1);
        }
        vec![
            WatchTrigger { path: path.to_string(), event: EventType::NodeDeleted },
            WatchTrigger { path: display_path(parent_path).to_string(), event: EventType::NodeChildrenChanged },
        ]
    }

    /// `pRequest2Txn`, `OpCode.setData`, then `DataTree.setData`: invalid path → `BadArguments`;
    /// missing → `NoNode`; no WRITE → `NoAuth`; version → `BadVersion`. Sets data, mtime, mzxid
    /// and version + 1; NodeDataChanged fires.
    fn set_data(&mut self, path: &str, data: &[u8], version: i32, ctx: &Ctx) -> OpOutcome {
        validate_path(path, false).map_err(|_| ZkError::BadArguments)?;
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        if !check_acl(&node.acl, perms::WRITE, ctx.auth) {
            return Err(ZkError::NoAuth);
        }
        let new_version = check_and_inc_version(node.stat.version, version)?;
        let extended = self.extended_types_enabled;
        let node = self.lookup_mut(path).ok_or(ZkError::NoNode)?;
        let bytes_diff = data.len() as i64 - node.data.len() as i64;
        node.data = data.to_vec();
        node.stat.mtime = ctx.time;
        node.stat.mzxid = ctx.zxid;
        node.stat.version = new_version;
        node.refresh_stat(extended);
        let stat = node.stat;
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, bytes_diff, 0);
        }
        let trigger = WatchTrigger { path: path.to_string(), event: EventType::NodeDataChanged };
        Ok((OpResult::Stat(stat), vec![trigger]))
    }

    /// `pRequest2Txn`, `OpCode.setACL`, then `DataTree.setACL`: invalid path → `BadArguments`;
    /// the new ACL → `InvalidAcl` (checked before the node is looked up); missing → `NoNode`; no
    /// ADMIN → `NoAuth`; aversion → `BadVersion`. No watch fires.
    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32, ctx: &Ctx) -> OpOutcome {
        validate_path(path, false).map_err(|_| ZkError::BadArguments)?;
        let acl = fixup_acl(acl, ctx.auth)?;
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        if !check_acl(&node.acl, perms::ADMIN, ctx.auth) {
            return Err(ZkError::NoAuth);
        }
        let new_aversion = check_and_inc_version(node.stat.aversion, version)?;
        let node = self.lookup_mut(path).ok_or(ZkError::NoNode)?;
        node.acl = acl;
        node.stat.aversion = new_aversion;
        Ok((OpResult::Stat(node.stat), Vec::new()))
    }

    /// `pRequest2Txn`, `OpCode.check`: invalid path → `BadArguments`; missing → `NoNode`; no
    /// READ → `NoAuth`; version → `BadVersion`. Changes nothing.
    fn check(&mut self, path: &str, version: i32, ctx: &Ctx) -> OpOutcome {
        validate_path(path, false).map_err(|_| ZkError::BadArguments)?;
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        if !check_acl(&node.acl, perms::READ, ctx.auth) {
            return Err(ZkError::NoAuth);
        }
        check_and_inc_version(node.stat.version, version)?;
        Ok((OpResult::Done, Vec::new()))
    }

    /// Answers a read from this replica's state, checking READ/ADMIN permission with `auth`.
    /// `GetEphemerals` needs the asking session: use `read_as`; here it lists none.
    pub fn read(&self, op: &Op, auth: &[Id]) -> Result<OpResult, ZkError> {
        self.read_as(op, 0, auth)
    }

    /// Answers a read for `session` (`FinalRequestProcessor`). Lookups go by exact path, as the
    /// server's do: paths are validated by the client library (`path::validate_path`), so an
    /// invalid one is simply not found (and "" is the root's alias, as in `DataTree`).
    ///
    /// - GetData, GetChildren, GetAllChildrenNumber: missing → `NoNode`; no READ → `NoAuth`.
    ///   Children come sorted (ZooKeeper returns a hash set's order; zkCli sorts for `ls`).
    /// - Exists: a NUL → `BadArguments`; missing → `NoStat`; no ACL check (3.8.0, the recorded
    ///   server: `stat` works on a node without READ; 3.8.4 added one, ZOOKEEPER-2590).
    /// - GetAcl: missing → `NoNode`; needs READ *or* ADMIN; without ADMIN the digest ids come
    ///   back as `user:x`.
    /// - GetEphemerals: the session's ephemerals under a prefix (plain string prefix; empty or
    ///   `/` means all), in the server's hash-set order; no ACL check.
    /// - A multi of GetData/GetChildren only (`multiRead`): each op answered on its own, errors
    ///   in place; a multi mixing in anything else → `MarshallingError`.
    pub fn read_as(&self, op: &Op, session: SessionId, auth: &[Id]) -> Result<OpResult, ZkError> {
        match op {
            Op::GetData { path, .. } => {
                let node = self.readable(path, perms::READ, auth)?;
                Ok(OpResult::Data { data: node.data.clone(), stat: node.stat })
            }
            Op::Exists { path, .. } => {
                if path.contains('\0') {
                    return Err(ZkError::BadArguments);
                }
                Ok(self.lookup(path).map_or(OpResult::NoStat, |node| OpResult::Stat(node.stat)))
            }
            Op::GetChildren { path, .. } => {
                let node = self.readable(path, perms::READ, auth)?;
                Ok(OpResult::Children { children: node.children.iter().cloned().collect(), stat: node.stat })
            }
            Op::GetAcl { path } => {
                let node = self.readable(path, perms::READ | perms::ADMIN, auth)?;
                let acl =
                    if check_acl(&node.acl, perms::ADMIN, auth) { node.acl.clone() } else { redact_digests(&node.acl) };
                Ok(OpResult::Acl { acl, stat: node.stat })
            }
            Op::GetAllChildrenNumber { path } => {
                self.readable(path, perms::READ, auth)?;
                Ok(OpResult::Count(self.all_children_number(path)))
            }
            Op::GetEphemerals { prefix } => Ok(OpResult::Paths(self.ephemerals_under(session, prefix))),
            Op::Multi(ops) => self.multi_read(ops, session, auth),
            // The watch itself is the server's; registering one checks nothing (3.8.0).
            Op::AddWatch { .. } | Op::Sync { .. } => Ok(OpResult::Done),
            Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::SetAcl { .. } | Op::Check { .. } => {
                Err(ZkError::Unimplemented)
            }
        }
    }

    /// `FinalRequestProcessor`, `OpCode.multiRead`: no atomicity, each result on its own.
    fn multi_read(&self, ops: &[Op], session: SessionId, auth: &[Id]) -> Result<OpResult, ZkError> {
        if !ops.iter().all(|op| matches!(op, Op::GetData { .. } | Op::GetChildren { .. })) {
            return Err(ZkError::MarshallingError);
        }
        Ok(OpResult::Multi(ops.iter().map(|op| self.read_as(op, session, auth)).collect()))
    }

    /// The node at `path` if it exists (`NoNode`) and `auth` has any of `perm` on it (`NoAuth`).
    fn readable(&self, path: &str, perm: u32, auth: &[Id]) -> Result<&Znode, ZkError> {
        let node = self.lookup(path).ok_or(ZkError::NoNode)?;
        if check_acl(&node.acl, perm, auth) {
            Ok(node)
        } else {
            Err(ZkError::NoAuth)
        }
    }

    /// `DataTree.getAllChildrenNumber`: every node below `path` (for `/`, every node but the root).
    fn all_children_number(&self, path: &str) -> i32 {
        if path == "/" {
            return (self.nodes.len() - 1) as i32;
        }
        let prefix = format!("{path}/");
        self.nodes.range(prefix.clone()..).take_while(|(p, _)| p.starts_with(&prefix)).count() as i32
    }

    /// The paths of the ephemeral nodes `session` owns, sorted (`DataTree.getEphemerals`).
    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| {
                n.stored_ephemeral_owner == session
                    && n.ephemeral_type(self.extended_types_enabled) == EphemeralType::Normal
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// `FinalRequestProcessor`, `OpCode.getEphemerals`: a blank or `/` prefix (after Java's
    /// `trim`) means all; otherwise a plain string prefix match on the untrimmed prefix. The
    /// order is the server's: the iteration order of a clone of the session's `HashSet` in
    /// `DataTree` (see `java_hash_set_clone_order`), which zkCli prints as is.
    fn ephemerals_under(&self, session: SessionId, prefix: &str) -> Vec<String> {
        let trimmed = prefix.trim_matches(|c: char| c <= ' ');
        let mut all: Vec<(Zxid, String)> = self
            .ephemerals(session)
            .into_iter()
            .map(|p| (self.nodes.get(&p).map(|n| n.stat.czxid).unwrap_or_default(), p))
            .collect();
        all.sort(); // insertion order: creation order
                    // `DataTree.getEphemerals` hands out a clone of the session's set.
        let all = java_hash_set_clone_order(java_hash_set_order(all.into_iter().map(|(_, p)| p).collect()));
        if trimmed.is_empty() || trimmed == "/" {
            all
        } else {
            all.into_iter().filter(|p| p.starts_with(prefix)).collect()
        }
    }

    /// `DataTree.getMaxPrefixWithQuota`: the deepest path with a quota (a `zookeeper_limits`
    /// node) that is `path` or above it, by path components (`PathTrie.findMaxPrefix`); `None`
    /// when there is none (the trie's answer `/`).
    fn max_prefix_with_quota(&self, path: &str) -> Option<String> {
        if self.quota_paths.is_empty() {
            return None;
        }
        let components = trie_components(path);
        (1..=components.len())
            .rev()
            .map(|k| format!("/{}", components[..k].join("/")))
            .find(|prefix| self.quota_paths.contains(prefix))
    }

    /// `DataTree.updateQuotaStat`: adds to the count and bytes in the quota's `zookeeper_stats`
    /// node. The data changes silently: no version, mzxid or watch. Data that doesn't parse
    /// (Java would throw) is left alone.
    fn update_quota_stat(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let extended = self.extended_types_enabled;
        let Some(node) = self.nodes.get_mut(&format!("{QUOTA_ROOT}{prefix}/{STAT_NODE}")) else {
            return;
        };
        let Some(mut stats) = StatsTrack::parse(&node.data) else {
            return;
        };
        stats.set("count", stats.get("count").wrapping_add(count_diff));
        stats.set("bytes", stats.get("bytes").wrapping_add(bytes_diff));
        node.data = stats.to_string().into_bytes();
        node.refresh_stat(extended);
    }

    /// `DataTree.updateQuotaForPath`: when a `zookeeper_stats` node is created, it is set to the
    /// node count and data bytes of the whole subtree at `path` (itself included).
    fn update_quota_for_path(&mut self, path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut pending = vec![path.to_string()];
        while let Some(p) = pending.pop() {
            let Some(node) = self.lookup(&p) else { continue };
            count += 1;
            bytes += node.data.len() as i64;
            pending.extend(node.children.iter().map(|c| format!("{p}/{c}")));
        }
        let extended = self.extended_types_enabled;
        if let Some(node) = self.nodes.get_mut(&format!("{QUOTA_ROOT}{path}/{STAT_NODE}")) {
            node.data = format!("count={count},bytes={bytes}").into_bytes();
            node.refresh_stat(extended);
        }
    }

    /// The zxid of the last applied transaction.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    pub fn sessions(&self) -> &BTreeMap<SessionId, u32> {
        &self.sessions
    }

    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(path)
    }

    /// Every znode, in path order (for the UI and for comparing replicas).
    pub fn nodes(&self) -> impl Iterator<Item = (&String, &Znode)> {
        self.nodes.iter()
    }

    /// What `ContainerManager.getCandidates` would hand to the reaper at virtual time `now`, in
    /// path order: containers without children that ever had one (persisted cversion > 0; the
    /// never-used timeout `znode.container.maxNeverUsedIntervalMs` is 0, off, by default), and
    /// TTL nodes without children whose `now - mtime` exceeds their ttl.
    pub fn reapable(&self, now: u64) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.children.is_empty())
            .filter(|(_, n)| match n.ephemeral_type(self.extended_types_enabled) {
                EphemeralType::Container => n.stored_cversion > 0,
                EphemeralType::Ttl => {
                    let ttl = n.stored_ephemeral_owner & !(EXTENDED_MASK | RESERVED_BITS_MASK);
                    ttl != 0 && now.saturating_sub(n.stat.mtime) > ttl
                }
                EphemeralType::Void | EphemeralType::Normal => false,
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// A hash of the whole tree (paths, data, stats, ACLs, sessions), for comparing replicas.
    /// Every field goes in fixed-width or length-prefixed, in path order, so the hash depends
    /// only on the state.
    pub fn digest(&self) -> u64 {
        let mut h = Digest(crate::sim::trace::TraceHasher::new());
        h.u64(self.last_zxid.0);
        h.u64(u64::from(self.extended_types_enabled));
        h.u64(self.sessions.len() as u64);
        for (session, timeout_ms) in &self.sessions {
            h.u64(*session);
            h.u64(u64::from(*timeout_ms));
        }
        h.u64(self.quota_paths.len() as u64);
        for path in &self.quota_paths {
            h.bytes(path.as_bytes());
        }
        h.u64(self.nodes.len() as u64);
        for (path, node) in &self.nodes {
            h.bytes(path.as_bytes());
            h.node(node);
        }
        h.0.finish()
    }

    /// The tree's structural invariants: a root; every other node linked from an existing
    /// parent; every listed child present; the client Stat consistent with the persisted fields
    /// (numChildren, dataLength, cversion, owner); ephemerals childless and owned by a live
    /// session.
    pub fn check_invariants(&self) -> Result<(), String> {
        if !self.nodes.contains_key("/") {
            return Err("the root is missing".to_string());
        }
        for (path, node) in &self.nodes {
            self.check_node(path, node)?;
        }
        Ok(())
    }

    fn check_node(&self, path: &str, node: &Znode) -> Result<(), String> {
        if path != "/" {
            let parent = self.lookup(java_parent(path).unwrap_or("")).ok_or(format!("{path}: no parent"))?;
            if !parent.children.contains(basename(path)) {
                return Err(format!("{path}: not among its parent's children"));
            }
        }
        for child in &node.children {
            if !self.nodes.contains_key(&super::path::join(path, child)) {
                return Err(format!("{path}: child {child} is missing"));
            }
        }
        let mut expected = node.clone();
        expected.refresh_stat(self.extended_types_enabled);
        if expected.stat != node.stat {
            return Err(format!("{path}: stat {:?} disagrees with the node ({:?})", node.stat, expected.stat));
        }
        if node.ephemeral_type(self.extended_types_enabled) == EphemeralType::Normal {
            if !node.children.is_empty() {
                return Err(format!("{path}: an ephemeral with children"));
            }
            if !self.sessions.contains_key(&node.stored_ephemeral_owner) {
                return Err(format!("{path}: ephemeral of dead session 0x{:x}", node.stored_ephemeral_owner));
            }
        }
        Ok(())
    }

    /// Looks a path up as `DataTree.getNode` does, where "" is an alias of the root.
    fn lookup(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(if path.is_empty() { "/" } else { path })
    }

    fn lookup_mut(&mut self, path: &str) -> Option<&mut Znode> {
        self.nodes.get_mut(if path.is_empty() { "/" } else { path })
    }
}

/// The text before the last `/` ("" for top-level paths, meaning the root, as ZooKeeper's
/// `path.substring(0, lastSlash)`); `None` without a `/`.
fn java_parent(path: &str) -> Option<&str> {
    path.rfind('/').map(|i| &path[..i])
}

fn basename(path: &str) -> &str {
    super::path::basename(path)
}

/// The iteration order of a `java.util.HashSet<String>` built by adding `inserted` in order:
/// by bucket (`String.hashCode`, spread by `HashMap.hash`, masked by the table size: 16,
/// doubled whenever the size passes 3/4 of it), then by insertion within a bucket (resizes keep
/// that order). The table never shrinks in Java; sizing it from the current count is exact as
/// long as the set never held more than it does now. (Buckets turned into trees at 8+
/// collisions are not modelled.)
pub fn java_hash_set_order(inserted: Vec<String>) -> Vec<String> {
    let mut capacity: u32 = 16;
    while inserted.len() as u64 * 4 > u64::from(capacity) * 3 {
        capacity *= 2;
    }
    java_table_order(inserted, capacity)
}

/// The iteration order of `HashSet.clone()` of a set that iterates as `iterated`: the clone is
/// presized by `HashMap.putMapEntries` to `tableSizeFor((int) (size / 0.75f + 1))` (the JDK 17
/// rule, which the recorded server ran) and filled in the original's order.
pub fn java_hash_set_clone_order(iterated: Vec<String>) -> Vec<String> {
    let presize = (iterated.len() as f32 / 0.75 + 1.0) as u32;
    java_table_order(iterated, presize.next_power_of_two())
}

fn java_table_order(items: Vec<String>, capacity: u32) -> Vec<String> {
    let bucket = |s: &str| {
        let h = s.encode_utf16().fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u))) as u32;
        (h ^ (h >> 16)) & (capacity - 1)
    };
    let mut keyed: Vec<(u32, usize, String)> = items.into_iter().enumerate().map(|(i, s)| (bucket(&s), i, s)).collect();
    keyed.sort();
    keyed.into_iter().map(|(_, _, s)| s).collect()
}

/// `Quotas.quotaZookeeper`, `limitNode`, `statNode`.
const QUOTA_ROOT: &str = "/zookeeper/quota";
const LIMIT_NODE: &str = "zookeeper_limits";
const STAT_NODE: &str = "zookeeper_stats";

/// `PathTrie.split`: the components of a path, blank ones (after Java's `trim`) dropped.
fn trie_components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.trim_matches(|ch: char| ch <= ' ').is_empty()).collect()
}

/// A quota path as the trie holds it, or `None` where `PathTrie.addPath` would hold nothing
/// (or throw, for "").
fn trie_path(path: &str) -> Option<String> {
    let components = trie_components(path);
    (!components.is_empty()).then(|| format!("/{}", components.join("/")))
}

/// `StatsTrack`: `count=N,bytes=M` plus, after an `=`, `;key=value` extras (the limits' hard
/// limits), keys unique, extras printed in key order.
struct StatsTrack(BTreeMap<String, i64>);

impl StatsTrack {
    /// `StatsTrack(String)`: pairs split on runs of `,`/`;`, each `key=value` (an empty value is
    /// -1). `None` where Java throws (a pair without `=`, a number that doesn't parse).
    fn parse(data: &[u8]) -> Option<StatsTrack> {
        let text = String::from_utf8_lossy(data);
        let mut stats = BTreeMap::new();
        if text.is_empty() {
            return Some(StatsTrack(stats));
        }
        let mut pairs: Vec<&str> = text.split([',', ';']).collect();
        // `Pattern.split` drops trailing empty strings and merges separator runs (`[,;]+`); a
        // leading separator still yields one empty first pair.
        while pairs.last() == Some(&"") {
            pairs.pop();
        }
        let leading_empty = pairs.first() == Some(&"");
        let pairs = pairs.iter().enumerate().filter(|(i, p)| !p.is_empty() || (*i == 0 && leading_empty));
        for (_, pair) in pairs {
            let mut kv: Vec<&str> = pair.split('=').collect();
            while kv.len() > 1 && kv.last() == Some(&"") {
                kv.pop();
            }
            let value = kv.get(1)?;
            let value = if value.is_empty() { -1 } else { value.parse().ok()? };
            stats.insert(kv[0].to_string(), value);
        }
        Some(StatsTrack(stats))
    }

    fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(-1)
    }

    fn set(&mut self, key: &str, value: i64) {
        self.0.insert(key.to_string(), value);
    }
}

impl std::fmt::Display for StatsTrack {
    /// `StatsTrack.toString`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "count={},bytes={}", self.get("count"), self.get("bytes"))?;
        let extras: Vec<_> = self.0.iter().filter(|(k, _)| *k != "count" && *k != "bytes").collect();
        if !extras.is_empty() {
            f.write_str("=")?;
            for (k, v) in extras {
                write!(f, ";{k}={v}")?;
            }
        }
        Ok(())
    }
}

/// Feeds a tree's fields to the FNV hasher, unambiguously (lengths before variable parts).
struct Digest(crate::sim::trace::TraceHasher);

impl Digest {
    fn u64(&mut self, v: u64) {
        self.0.write_bytes(&v.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.write_bytes(b);
    }

    fn node(&mut self, node: &Znode) {
        self.bytes(&node.data);
        self.u64(node.acl.len() as u64);
        for a in &node.acl {
            self.u64(u64::from(a.perms));
            self.bytes(a.id.scheme.as_bytes());
            self.bytes(a.id.id.as_bytes());
        }
        let s = &node.stat;
        for v in [s.czxid.0, s.mzxid.0, s.pzxid.0, s.ctime, s.mtime, s.ephemeral_owner] {
            self.u64(v);
        }
        for v in [s.version, s.cversion, s.aversion, s.data_length, s.num_children] {
            self.u64(v as u32 as u64);
        }
        self.bytes(format!("{:?}", node.mode).as_bytes());
        self.u64(node.ttl_ms.map_or(u64::MAX, |t| t as u64));
        self.u64(node.stored_cversion as u32 as u64);
        self.u64(node.stored_ephemeral_owner);
        self.u64(node.children.len() as u64);
        for child in &node.children {
            self.bytes(child.as_bytes());
        }
    }
}

/// The root's alias "" shown as `/` (watch paths).
fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// `PrepRequestProcessor.getParentPathAndValidate`: the parent, unless the path has no `/`, a NUL,
/// or is one of the system nodes (`DataTree.isSpecialPath`: `/`, `/zookeeper`,
/// `/zookeeper/quota`, `/zookeeper/config`).
fn parent_path_and_validate(path: &str) -> Result<&str, ZkError> {
    let special = matches!(path, "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config");
    if path.contains('\0') || special {
        return Err(ZkError::BadArguments);
    }
    java_parent(path).ok_or(ZkError::BadArguments)
}

/// `PrepRequestProcessor.checkAndIncVersion` (3.8): -1 matches any version; the next version is
/// current + 1, wrapping like a Java int.
fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, ZkError> {
    if expected != -1 && expected != current {
        return Err(ZkError::BadVersion);
    }
    Ok(current.wrapping_add(1))
}
