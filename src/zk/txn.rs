//! The vocabulary shared by the tree, the replication protocol and clients: operations, their
//! results, ZooKeeper's error codes, `Stat`, ACLs and watch events.

use crate::zab::Zxid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A session id as ZooKeeper prints it (`0x` + hex).
pub type SessionId = u64;

/// ZooKeeper's error codes (`KeeperException.Code`), with their real names and numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ZkError {
    SystemError,
    RuntimeInconsistency,
    DataInconsistency,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    BadArguments,
    UnknownSession,
    ApiError,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    SessionExpired,
    InvalidCallback,
    InvalidAcl,
    AuthFailed,
    SessionMoved,
    NotReadOnly,
    EphemeralOnLocalSession,
    NoWatcher,
    Throttled,
    /// `Code.OK` (0) as a failed multi reports the ops *before* the failing one: an
    /// `ErrorResult` whose code is 0, which kazoo raises as `RolledBackError`.
    RolledBack,
}

impl ZkError {
    /// `KeeperException.Code.intValue()`.
    pub fn code(self) -> i32 {
        use ZkError::*;
        match self {
            SystemError => -1,
            RuntimeInconsistency => -2,
            DataInconsistency => -3,
            ConnectionLoss => -4,
            MarshallingError => -5,
            Unimplemented => -6,
            OperationTimeout => -7,
            BadArguments => -8,
            UnknownSession => -12,
            ApiError => -100,
            NoNode => -101,
            NoAuth => -102,
            BadVersion => -103,
            NoChildrenForEphemerals => -108,
            NodeExists => -110,
            NotEmpty => -111,
            SessionExpired => -112,
            InvalidCallback => -113,
            InvalidAcl => -114,
            AuthFailed => -115,
            SessionMoved => -118,
            NotReadOnly => -119,
            EphemeralOnLocalSession => -120,
            NoWatcher => -121,
            Throttled => -127,
            RolledBack => 0,
        }
    }

    /// The name as `KeeperException.Code` spells it (`NONODE`), as kazoo and Java print it.
    pub fn java_name(self) -> &'static str {
        use ZkError::*;
        match self {
            SystemError => "SYSTEMERROR",
            RuntimeInconsistency => "RUNTIMEINCONSISTENCY",
            DataInconsistency => "DATAINCONSISTENCY",
            ConnectionLoss => "CONNECTIONLOSS",
            MarshallingError => "MARSHALLINGERROR",
            Unimplemented => "UNIMPLEMENTED",
            OperationTimeout => "OPERATIONTIMEOUT",
            BadArguments => "BADARGUMENTS",
            UnknownSession => "UNKNOWNSESSION",
            ApiError => "APIERROR",
            NoNode => "NONODE",
            NoAuth => "NOAUTH",
            BadVersion => "BADVERSION",
            NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
            NodeExists => "NODEEXISTS",
            NotEmpty => "NOTEMPTY",
            SessionExpired => "SESSIONEXPIRED",
            InvalidCallback => "INVALIDCALLBACK",
            InvalidAcl => "INVALIDACL",
            AuthFailed => "AUTHFAILED",
            SessionMoved => "SESSIONMOVED",
            NotReadOnly => "NOTREADONLY",
            EphemeralOnLocalSession => "EPHEMERALONLOCALSESSION",
            NoWatcher => "NOWATCHER",
            Throttled => "THROTTLEDOP",
            RolledBack => "OK",
        }
    }

    /// `KeeperException.getCodeMessage`, e.g. "Node does not exist".
    pub fn message(self) -> &'static str {
        use ZkError::*;
        match self {
            SystemError => "SystemError",
            RuntimeInconsistency => "RuntimeInconsistency",
            DataInconsistency => "DataInconsistency",
            ConnectionLoss => "ConnectionLoss",
            MarshallingError => "MarshallingError",
            Unimplemented => "Unimplemented",
            OperationTimeout => "OperationTimeout",
            BadArguments => "BadArguments",
            UnknownSession => "Unknown session",
            ApiError => "APIError",
            NoNode => "NoNode",
            NoAuth => "NoAuth",
            BadVersion => "BadVersion",
            NoChildrenForEphemerals => "NoChildrenForEphemerals",
            NodeExists => "NodeExists",
            NotEmpty => "Directory not empty",
            SessionExpired => "Session expired",
            InvalidCallback => "Invalid callback",
            InvalidAcl => "InvalidACL",
            AuthFailed => "AuthFailed",
            SessionMoved => "Session moved",
            NotReadOnly => "Not a read-only call",
            EphemeralOnLocalSession => "Ephemeral node on local session",
            NoWatcher => "No such watcher",
            Throttled => "Op throttled due to high load",
            RolledBack => "ok",
        }
    }
}

impl fmt::Display for ZkError {
    /// As `KeeperException.getMessage()` starts: `KeeperErrorCode = NoNode`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeeperErrorCode = {}", self.message())
    }
}

/// `CreateMode`, with ZooKeeper's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
    PersistentSequential,
    Ephemeral,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }
    pub fn is_ttl(self) -> bool {
        matches!(self, CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl)
    }
}

/// An ACL identity: `world:anyone`, `auth:`, `digest:user:hash`, `ip:addr`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

/// Permission bits (`ZooDefs.Perms`): READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16.
pub mod perms {
    pub const READ: u32 = 1;
    pub const WRITE: u32 = 2;
    pub const CREATE: u32 = 4;
    pub const DELETE: u32 = 8;
    pub const ADMIN: u32 = 16;
    pub const ALL: u32 = 31;
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    pub perms: u32,
    pub id: Id,
}

impl Acl {
    /// `ZooDefs.Ids.OPEN_ACL_UNSAFE`: world:anyone with every permission.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl { perms: perms::ALL, id: Id { scheme: "world".into(), id: "anyone".into() } }]
    }
}

/// A znode's metadata with ZooKeeper's field names (`org.apache.zookeeper.data.Stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    /// Virtual milliseconds since the epoch of the simulated world.
    pub ctime: u64,
    pub mtime: u64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: SessionId,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: Zxid,
}

/// A client operation. Writes are replicated as `Txn`s; reads are answered locally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Create {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        mode: CreateMode,
        ttl_ms: Option<i64>,
    },
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// `Op.check` inside a multi.
    Check {
        path: String,
        version: i32,
    },
    Multi(Vec<Op>),
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    GetAcl {
        path: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    GetEphemerals {
        prefix: String,
    },
    /// `addWatch` (3.6+): `recursive` selects PERSISTENT_RECURSIVE over PERSISTENT.
    AddWatch {
        path: String,
        recursive: bool,
    },
    Sync {
        path: String,
    },
}

impl Op {
    /// Whether the op changes the tree (and so goes through the leader as a txn).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Create { .. }
                | Op::Delete { .. }
                | Op::SetData { .. }
                | Op::SetAcl { .. }
                | Op::Check { .. }
                | Op::Multi(_)
        )
    }
}

/// What a successful op returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// The created path (with its sequence suffix) and, for create2, its Stat.
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    Stat(Stat),
    /// `Exists` on a missing node: not an error, just no Stat.
    NoStat,
    Data {
        data: Vec<u8>,
        stat: Stat,
    },
    Children {
        children: Vec<String>,
        stat: Stat,
    },
    Acl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    Count(i32),
    Paths(Vec<String>),
    /// One result per op of a multi. When the multi failed (`DataTree.processTxn`, `OpCode.multi`):
    /// `RolledBack` (code 0) for the ops before the failing one, its own error for the failing
    /// one, `RuntimeInconsistency` for the ops after it.
    Multi(Vec<Result<OpResult, ZkError>>),
    Done,
}

impl OpResult {
    /// For a multi's results, the error of the failed op (the reply header's code, the first
    /// non-zero one), or `None` if every op succeeded; `None` for any other result.
    pub fn multi_error(&self) -> Option<ZkError> {
        match self {
            OpResult::Multi(results) => results.iter().find_map(|r| match r {
                Err(e) if *e != ZkError::RolledBack => Some(*e),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// A replicated state change. The leader stamps zxid and time; every replica applies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    /// Leader's virtual time, used for ctime/mtime.
    pub time: u64,
    pub session: SessionId,
    /// The client's request id (`TxnHeader.cxid`): lets the server holding the client's
    /// connection match the commit to the waiting request. 0 for server-made txns.
    pub cxid: u32,
    pub kind: TxnKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnKind {
    CreateSession {
        timeout_ms: u32,
    },
    /// Session closed by its client, or expired by the leader: its ephemerals go.
    CloseSession,
    /// A client write, checked against the ACLs with the requester's auth ids.
    Op {
        op: Op,
        auth: Vec<Id>,
    },
    /// The leader's container/TTL reaper (`ContainerManager`): delete if still empty.
    DeleteContainer {
        path: String,
    },
}

impl TxnKind {
    /// ZooKeeper's op name for logs (`OpCode`).
    pub fn name(&self) -> &'static str {
        match self {
            TxnKind::CreateSession { .. } => "createSession",
            TxnKind::CloseSession => "closeSession",
            TxnKind::DeleteContainer { .. } => "deleteContainer",
            TxnKind::Op { op, .. } => op.name(),
        }
    }
}

impl Op {
    /// ZooKeeper's op name (`OpCode`), e.g. `create`, `setData`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Delete { .. } => "delete",
            Op::SetData { .. } => "setData",
            Op::SetAcl { .. } => "setACL",
            Op::Check { .. } => "check",
            Op::Multi(_) => "multi",
            Op::GetData { .. } => "getData",
            Op::Exists { .. } => "exists",
            Op::GetChildren { .. } => "getChildren",
            Op::GetAcl { .. } => "getACL",
            Op::GetAllChildrenNumber { .. } => "getAllChildrenNumber",
            Op::GetEphemerals { .. } => "getEphemerals",
            Op::AddWatch { .. } => "addWatch",
            Op::Sync { .. } => "sync",
        }
    }
}

/// The kinds of `WatchedEvent` (`Watcher.Event.EventType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
}

/// A change the tree reports so the server's watch manager can fire watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchTrigger {
    pub path: String,
    pub event: EventType,
}
