//! The evaluator's own program form: what `lower.rs` makes of ruff's syntax tree.
//!
//! Names are resolved here, once: a function's locals live in numbered slots of its scope, a
//! name from an enclosing function is a `(depth, slot)` pair, everything else is a global. The
//! tree is serde-serializable, so a shipped closure carries its code as this IR (the analogue of
//! the code object cloudpickle pickles) together with the values it captures.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::Deref;
use std::rc::Rc;

/// A shared, serializable `Rc`: the IR shares strings and function bodies between the tree,
/// the values made from it and shipped closures.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared<T: ?Sized>(pub Rc<T>);

impl<T: ?Sized> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T: ?Sized> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl std::fmt::Display for Shared<str> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Shared<str> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<T: Serialize + ?Sized> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (*self.0).serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Shared(Rc::new(T::deserialize(d)?)))
    }
}

impl<'de> Deserialize<'de> for Shared<str> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Shared(Rc::from(s.as_str())))
    }
}

/// An interned-ish string of the program: identifiers, literals.
pub type Str = Shared<str>;

pub fn s(text: &str) -> Str {
    Shared(Rc::from(text))
}

/// A source range: 1-based lines, 0-based UTF-8 byte columns (as CPython's AST), plus the
/// caret anchors CPython 3.11 draws under it (`~~^~~` for a binary operator or subscript).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
    /// `(left_end, right_start)` byte offsets relative to `col`, when the node is a binary
    /// operation or a subscript on one line.
    pub anchors: Option<(u32, u32)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub loc: Loc,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum StmtKind {
    Expr(Expr),
    Assign(Vec<Target>, Expr),
    AugAssign(Target, BinOp, Expr),
    /// `x: int` without a value does nothing at run time.
    AnnAssign(Target, Option<Expr>),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    While(Expr, Vec<Stmt>, Vec<Stmt>),
    For(Target, Expr, Vec<Stmt>, Vec<Stmt>),
    Break,
    Continue,
    Pass,
    Return(Option<Expr>),
    FunctionDef(Box<FunctionDef>),
    ClassDef(Box<ClassDef>),
    Try(Box<Try>),
    Raise(Option<Expr>, Option<Expr>),
    Assert(Expr, Option<Expr>),
    Delete(Vec<Target>),
    /// `import a.b as c`: (dotted module name, the name bound, what it binds).
    Import(Vec<(Str, Option<Str>, NameRef)>),
    /// `from m import a as b`: module, then (attribute, binding).
    ImportFrom(Str, Vec<(Str, NameRef)>),
    With(Vec<(Expr, Option<Target>)>, Vec<Stmt>),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FunctionDef {
    pub def: Shared<FuncDef>,
    pub defaults: Vec<Expr>,
    pub kw_defaults: Vec<Option<Expr>>,
    pub decorators: Vec<Expr>,
    pub target: NameRef,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassDef {
    pub name: Str,
    pub bases: Vec<Expr>,
    pub body: Vec<Stmt>,
    pub decorators: Vec<Expr>,
    pub target: NameRef,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Try {
    pub body: Vec<Stmt>,
    pub handlers: Vec<Handler>,
    pub orelse: Vec<Stmt>,
    pub finalbody: Vec<Stmt>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Handler {
    pub typ: Option<Expr>,
    pub name: Option<NameRef>,
    pub body: Vec<Stmt>,
    pub loc: Loc,
}

/// Where a name lives, decided at lowering time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum NameRef {
    /// A slot of the current function (or comprehension) scope.
    Local(u32, Str),
    /// A slot of the `depth`-th enclosing function scope (1 = the defining one).
    Free(u32, u32, Str),
    /// Module globals, then builtins.
    Global(Str),
    /// A class body's namespace, then globals, then builtins (CPython's `LOAD_NAME`).
    ClassBody(Str),
}

impl NameRef {
    pub fn name(&self) -> &Str {
        match self {
            NameRef::Local(_, n) | NameRef::Free(_, _, n) | NameRef::Global(n) | NameRef::ClassBody(n) => n,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Target {
    Name(NameRef),
    Attr(Expr, Str, Loc),
    Subscript(Expr, Expr, Loc),
    /// A tuple or list target; `star` is the index of a `*rest` element.
    Seq(Vec<Target>, Option<usize>, Loc),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub loc: Loc,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Const {
    None,
    Bool(bool),
    Int(i64),
    /// Decimal digits of an int literal beyond `i64`.
    BigInt(String),
    Float(f64),
    Str(Str),
    Bytes(Vec<u8>),
    Ellipsis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    MatMul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    LShift,
    RShift,
    BitOr,
    BitXor,
    BitAnd,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::MatMul => "@",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "** or pow()",
            BinOp::LShift => "<<",
            BinOp::RShift => ">>",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnOp {
    Not,
    Neg,
    Pos,
    Invert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Is,
    IsNot,
    In,
    NotIn,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Is => "is",
            CmpOp::IsNot => "is not",
            CmpOp::In => "in",
            CmpOp::NotIn => "not in",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Arg {
    Pos(Expr),
    Star(Expr),
    Kw(Str, Expr),
    StarStar(Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompKind {
    List,
    Set,
    Dict,
    Gen,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comp {
    pub kind: CompKind,
    pub elt: Expr,
    /// The value of a dict comprehension (`elt` is its key).
    pub value: Option<Expr>,
    pub gens: Vec<CompFor>,
    /// Slots of the comprehension's own scope.
    pub n_slots: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompFor {
    pub target: Target,
    pub iter: Expr,
    pub ifs: Vec<Expr>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FPart {
    Lit(Str),
    Value {
        expr: Expr,
        /// `!r`, `!s`, `!a`.
        conv: Option<char>,
        spec: Option<Vec<FPart>>,
        /// `f"{x=}"` prints this text before the value.
        debug: Option<Str>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ExprKind {
    Const(Const),
    Name(NameRef),
    Attr(Box<Expr>, Str),
    Subscript(Box<Expr>, Box<Expr>),
    Slice(Option<Box<Expr>>, Option<Box<Expr>>, Option<Box<Expr>>),
    BinOp(Box<Expr>, BinOp, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    /// `and` when true, `or` when false.
    BoolOp(bool, Vec<Expr>),
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
    IfExp(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Arg>),
    Lambda(Shared<FuncDef>, Vec<Expr>, Vec<Option<Expr>>),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Set(Vec<Expr>),
    /// `None` key: `**mapping`.
    Dict(Vec<(Option<Expr>, Expr)>),
    Starred(Box<Expr>),
    Comp(Box<Comp>),
    FString(Vec<FPart>),
    Walrus(NameRef, Box<Expr>),
    Yield(Option<Box<Expr>>),
    YieldFrom(Box<Expr>),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Param {
    pub name: Str,
    pub slot: u32,
}

/// A `def` or `lambda`: its signature, body and scope layout.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FuncDef {
    pub name: Str,
    pub qualname: Str,
    /// Positional parameters (positional-only ones first).
    pub args: Vec<Param>,
    pub posonly: u32,
    pub vararg: Option<Param>,
    pub kwonly: Vec<Param>,
    pub kwarg: Option<Param>,
    pub body: Vec<Stmt>,
    /// A lambda's body is one expression.
    pub lambda: Option<Expr>,
    pub slot_names: Vec<Str>,
    /// `(depth, slot)` of every enclosing-scope variable this function or anything nested in
    /// it reads or writes; `depth` 1 is the scope the function was defined in.
    pub captures: Vec<(u32, u32)>,
    /// Globals this function or anything nested in it refers to.
    pub globals: Vec<Str>,
    pub is_generator: bool,
    pub line: u32,
}
