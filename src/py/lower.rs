//! From ruff's syntax tree to our IR (`ir.rs`): resolves every name to a slot, an enclosing
//! scope's slot or a global (CPython's symtable rules), computes source locations and caret
//! anchors, and turns every construct we do not run into a `SyntaxError` naming it.
//!
//! ```text
//! source ──ruff_python_parser──▶ ast::ModModule ──lower──▶ Vec<ir::Stmt> (+ FuncDefs)
//!                                                    └──▶ SyntaxErr { line, col, msg }
//! ```

use super::ir::*;
use ruff_python_ast as ast;
use ruff_text_size::{Ranged, TextRange};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A syntax error: CPython prints it with the offending line and a caret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxErr {
    pub line: u32,
    /// 0-based byte column of the first caret.
    pub col: u32,
    pub end_col: u32,
    pub msg: String,
}

/// CPython's tokenizer refuses more than 200 nested brackets; we refuse at 100 so that ruff's
/// recursive-descent parser and our lowering stay far from the native stack's end.
const MAX_NESTING: usize = 100;

/// Operators one statement may hold: a left-deep chain of binary operators (or a run of unary
/// ones) is as deep a tree, and every layer above the parser walks it recursively.
const MAX_OPERATORS_PER_STATEMENT: usize = 300;

/// The program is beyond what we compile (CPython has the same kind of limit).
pub const TOO_COMPLEX: &str = "maximum recursion depth exceeded during compilation";

pub fn parse_program(source: &str) -> Result<Vec<Stmt>, SyntaxErr> {
    let lines = LineIndex::new(source);
    check_nesting(source, &lines)?;
    check_complexity(source)?;
    let parsed = ruff_python_parser::parse_module(source).map_err(|e| {
        let (line, col) = lines.pos(e.location.start().to_u32());
        let (eline, ecol) = lines.pos(e.location.end().to_u32());
        let end_col = if eline == line && ecol > col { ecol } else { col + 1 };
        SyntaxErr { line, col, end_col, msg: cpython_message(&e.error.to_string()) }
    })?;
    let module = parsed.into_syntax();
    let mut lw = Lowerer { src: source, lines, stack: vec![ScopeCtx::new(ScopeKind::Module)] };
    lw.stmts(&module.body)
}

/// Maps ruff's wording to CPython's for the common cases; the rest keep ruff's text.
fn cpython_message(msg: &str) -> String {
    if msg.starts_with("Expected ':'") {
        "expected ':'".into()
    } else if msg.contains("unindent") || msg.contains("Unindent") {
        "unindent does not match any outer indentation level".into()
    } else if msg.starts_with("Expected an indented block") {
        "expected an indented block".into()
    } else if msg.contains("missing closing quote") {
        "unterminated string literal".into()
    } else {
        "invalid syntax".into()
    }
}

fn check_nesting(source: &str, lines: &LineIndex) -> Result<(), SyntaxErr> {
    let mut depth = 0usize;
    for (i, b) in source.bytes().enumerate() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    let (line, col) = lines.pos(i as u32);
                    return Err(SyntaxErr { line, col, end_col: col + 1, msg: "too many nested parentheses".into() });
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Bounds how deep one statement's syntax tree can be, before ruff's recursive-descent parser
/// and our recursive passes see it: counts the tokens that can deepen an expression (operators,
/// `.`, `(`, `[`, `lambda`, `not`, `if`, `else`, …) per statement, resetting at `,` `;` `=`
/// (siblings), and counts indentation levels (CPython allows 100).
fn check_complexity(source: &str) -> Result<(), SyntaxErr> {
    let b = source.as_bytes();
    let (mut i, mut line, mut depth, mut ops) = (0usize, 1u32, 0i32, 0usize);
    let mut indents: Vec<usize> = vec![0];
    let mut at_line_start = true;
    let too_complex = |line: u32| SyntaxErr { line, col: 0, end_col: 0, msg: TOO_COMPLEX.into() };
    let bump = |ops: &mut usize, line: u32| -> Result<(), SyntaxErr> {
        *ops += 1;
        if *ops > MAX_OPERATORS_PER_STATEMENT {
            return Err(too_complex(line));
        }
        Ok(())
    };
    while i < b.len() {
        if at_line_start && depth <= 0 {
            at_line_start = false;
            let mut width = 0usize;
            let mut j = i;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                width = if b[j] == b'\t' { (width / 8 + 1) * 8 } else { width + 1 };
                j += 1;
            }
            if j < b.len() && b[j] != b'\n' && b[j] != b'#' && b[j] != b'\r' {
                while indents.last().is_some_and(|w| *w > width) {
                    indents.pop();
                }
                if indents.last().is_some_and(|w| *w < width) {
                    indents.push(width);
                }
                if indents.len() > 100 {
                    return Err(SyntaxErr { line, col: 0, end_col: 1, msg: "too many levels of indentation".into() });
                }
            }
        }
        let c = b[i];
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                let triple = i + 2 < b.len() && b[i + 1] == c && b[i + 2] == c;
                let q = if triple { 3 } else { 1 };
                i += q;
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                        if !triple {
                            break;
                        }
                    }
                    if b[i] == c && (!triple || (i + 2 < b.len() && b[i + 1] == c && b[i + 2] == c)) {
                        i += q;
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                bump(&mut ops, line)?;
            }
            b')' | b']' | b'}' => depth -= 1,
            // Siblings (list items, arguments, targets) do not deepen the tree.
            b',' | b';' | b'=' => ops = 0,
            b'\n' => {
                line += 1;
                at_line_start = true;
                if depth <= 0 {
                    ops = 0;
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>' | b'@' | b'.' => bump(&mut ops, line)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if matches!(&b[start..i], b"lambda" | b"not" | b"if" | b"else" | b"await" | b"yield" | b"and" | b"or") {
                    bump(&mut ops, line)?;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(src: &str) -> LineIndex {
        let mut starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i as u32 + 1);
            }
        }
        LineIndex { starts }
    }

    /// (1-based line, 0-based byte column).
    pub fn pos(&self, offset: u32) -> (u32, u32) {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (idx as u32 + 1, offset - self.starts[idx])
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ScopeKind {
    Module,
    Function,
    Class,
    Comp,
}

struct ScopeCtx {
    kind: ScopeKind,
    /// Function and comprehension locals, by slot.
    slots: Vec<String>,
    slot_of: HashMap<String, u32>,
    /// Names bound in a class body.
    class_names: HashSet<String>,
    globals_decl: HashSet<String>,
    nonlocal_decl: HashSet<String>,
    captures: BTreeSet<(u32, u32)>,
    globals_used: BTreeSet<String>,
}

impl ScopeCtx {
    fn new(kind: ScopeKind) -> ScopeCtx {
        ScopeCtx {
            kind,
            slots: vec![],
            slot_of: HashMap::new(),
            class_names: HashSet::new(),
            globals_decl: HashSet::new(),
            nonlocal_decl: HashSet::new(),
            captures: BTreeSet::new(),
            globals_used: BTreeSet::new(),
        }
    }

    fn add_local(&mut self, name: &str) -> u32 {
        if let Some(&slot) = self.slot_of.get(name) {
            return slot;
        }
        let slot = self.slots.len() as u32;
        self.slots.push(name.to_string());
        self.slot_of.insert(name.to_string(), slot);
        slot
    }

    fn is_func_like(&self) -> bool {
        matches!(self.kind, ScopeKind::Function | ScopeKind::Comp)
    }
}

type LResult<T> = Result<T, SyntaxErr>;

struct Lowerer<'a> {
    src: &'a str,
    lines: LineIndex,
    stack: Vec<ScopeCtx>,
}

/// Names a block binds, without entering nested function or class bodies.
#[derive(Default)]
struct Bindings {
    names: Vec<String>,
    globals: Vec<String>,
    nonlocals: Vec<String>,
    has_yield: bool,
}

impl Bindings {
    fn add(&mut self, name: &str) {
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_string());
        }
    }

    fn stmts(&mut self, body: &[ast::Stmt]) {
        for st in body {
            self.stmt(st);
        }
    }

    fn stmt(&mut self, st: &ast::Stmt) {
        use ast::Stmt as S;
        match st {
            S::FunctionDef(f) => {
                self.add(f.name.id.as_str());
                for d in &f.decorator_list {
                    self.expr(&d.expression);
                }
            }
            S::ClassDef(c) => {
                self.add(c.name.id.as_str());
                for d in &c.decorator_list {
                    self.expr(&d.expression);
                }
            }
            S::Return(r) => {
                if let Some(v) = &r.value {
                    self.expr(v)
                }
            }
            S::Delete(d) => d.targets.iter().for_each(|t| self.target(t)),
            S::Assign(a) => {
                a.targets.iter().for_each(|t| self.target(t));
                self.expr(&a.value);
            }
            S::AugAssign(a) => {
                self.target(&a.target);
                self.expr(&a.value);
            }
            S::AnnAssign(a) => {
                if a.value.is_some() {
                    self.target(&a.target);
                }
                if let Some(v) = &a.value {
                    self.expr(v);
                }
            }
            S::For(f) => {
                self.target(&f.target);
                self.expr(&f.iter);
                self.stmts(&f.body);
                self.stmts(&f.orelse);
            }
            S::While(w) => {
                self.expr(&w.test);
                self.stmts(&w.body);
                self.stmts(&w.orelse);
            }
            S::If(i) => {
                self.expr(&i.test);
                self.stmts(&i.body);
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        self.expr(t);
                    }
                    self.stmts(&c.body);
                }
            }
            S::With(w) => {
                for item in &w.items {
                    self.expr(&item.context_expr);
                    if let Some(v) = &item.optional_vars {
                        self.target(v);
                    }
                }
                self.stmts(&w.body);
            }
            S::Try(t) => {
                self.stmts(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        self.add(n.id.as_str());
                    }
                    self.stmts(&h.body);
                }
                self.stmts(&t.orelse);
                self.stmts(&t.finalbody);
            }
            S::Import(i) => {
                for a in &i.names {
                    match &a.asname {
                        Some(n) => self.add(n.id.as_str()),
                        None => self.add(a.name.id.as_str().split('.').next().unwrap_or("")),
                    }
                }
            }
            S::ImportFrom(i) => {
                for a in &i.names {
                    self.add(a.asname.as_ref().unwrap_or(&a.name).id.as_str());
                }
            }
            S::Global(g) => g.names.iter().for_each(|n| self.globals.push(n.id.to_string())),
            S::Nonlocal(g) => g.names.iter().for_each(|n| self.nonlocals.push(n.id.to_string())),
            S::Expr(e) => self.expr(&e.value),
            S::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e);
                }
            }
            S::Assert(a) => self.expr(&a.test),
            _ => {}
        }
    }

    fn target(&mut self, t: &ast::Expr) {
        match t {
            ast::Expr::Name(n) => self.add(n.id.as_str()),
            ast::Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            ast::Expr::List(t) => t.elts.iter().for_each(|e| self.target(e)),
            ast::Expr::Starred(s) => self.target(&s.value),
            other => self.expr(other),
        }
    }

    /// Walks an expression for walrus targets and `yield`, not entering lambdas.
    fn expr(&mut self, e: &ast::Expr) {
        use ast::Expr as E;
        match e {
            E::Named(n) => {
                self.target(&n.target);
                self.expr(&n.value);
            }
            E::Yield(_) | E::YieldFrom(_) => self.has_yield = true,
            E::Lambda(_) => {}
            E::ListComp(c) => self.comp_walrus(&c.generators, &[&c.elt]),
            E::SetComp(c) => self.comp_walrus(&c.generators, &[&c.elt]),
            E::Generator(c) => self.comp_walrus(&c.generators, &[&c.elt]),
            E::DictComp(c) => {
                let mut parts: Vec<&ast::Expr> = vec![&c.value];
                if let Some(k) = &c.key {
                    parts.push(k);
                }
                self.comp_walrus(&c.generators, &parts)
            }
            _ => for_each_child(e, |c| self.expr(c)),
        }
    }

    /// A walrus inside a comprehension binds in the enclosing function (PEP 572).
    fn comp_walrus(&mut self, gens: &[ast::Comprehension], parts: &[&ast::Expr]) {
        let has_yield = self.has_yield;
        let mut inner = Bindings::default();
        for g in gens {
            inner.expr(&g.iter);
            g.ifs.iter().for_each(|i| inner.expr(i));
        }
        parts.iter().for_each(|p| inner.expr(p));
        for n in inner.names {
            self.add(&n);
        }
        self.has_yield = has_yield;
    }
}

/// Calls `f` on each direct sub-expression (not entering lambdas' bodies' scopes specially).
fn for_each_child(e: &ast::Expr, mut f: impl FnMut(&ast::Expr)) {
    use ast::Expr as E;
    match e {
        E::BoolOp(b) => b.values.iter().for_each(f),
        E::Named(n) => {
            f(&n.target);
            f(&n.value)
        }
        E::BinOp(b) => {
            f(&b.left);
            f(&b.right)
        }
        E::UnaryOp(u) => f(&u.operand),
        E::If(i) => {
            f(&i.test);
            f(&i.body);
            f(&i.orelse)
        }
        E::Dict(d) => {
            for it in &d.items {
                if let Some(k) = &it.key {
                    f(k);
                }
                f(&it.value);
            }
        }
        E::Set(s) => s.elts.iter().for_each(f),
        E::Compare(c) => {
            f(&c.left);
            c.comparators.iter().for_each(f)
        }
        E::Call(c) => {
            f(&c.func);
            c.arguments.args.iter().for_each(&mut f);
            c.arguments.keywords.iter().for_each(|k| f(&k.value));
        }
        E::FString(fs) => {
            for el in fs.value.elements() {
                if let ast::InterpolatedStringElement::Interpolation(i) = el {
                    f(&i.expression);
                }
            }
        }
        E::Attribute(a) => f(&a.value),
        E::Subscript(s) => {
            f(&s.value);
            f(&s.slice)
        }
        E::Starred(s) => f(&s.value),
        E::List(l) => l.elts.iter().for_each(f),
        E::Tuple(t) => t.elts.iter().for_each(f),
        E::Slice(s) => {
            for p in [&s.lower, &s.upper, &s.step].into_iter().flatten() {
                f(p);
            }
        }
        E::Await(a) => f(&a.value),
        E::Yield(y) => {
            if let Some(v) = &y.value {
                f(v)
            }
        }
        E::YieldFrom(y) => f(&y.value),
        _ => {}
    }
}

impl<'a> Lowerer<'a> {
    fn loc(&self, r: TextRange) -> Loc {
        let (line, col) = self.lines.pos(r.start().to_u32());
        let (end_line, end_col) = self.lines.pos(r.end().to_u32());
        Loc { line, col, end_line, end_col, anchors: None }
    }

    fn unsupported(&self, r: TextRange, what: &str) -> SyntaxErr {
        let loc = self.loc(r);
        let end_col = if loc.end_line == loc.line { loc.end_col } else { loc.col + 1 };
        SyntaxErr { line: loc.line, col: loc.col, end_col, msg: format!("{what} not supported by zkspark's Python") }
    }

    fn top(&mut self) -> &mut ScopeCtx {
        self.stack.last_mut().expect("scope stack is never empty")
    }

    // ----- names -----

    fn resolve(&mut self, name: &str) -> NameRef {
        let n = s(name);
        let top = self.stack.len() - 1;
        let kind = self.stack[top].kind;
        if self.stack[top].globals_decl.contains(name) {
            return self.global(name);
        }
        let search_from = if self.stack[top].nonlocal_decl.contains(name) {
            top
        } else {
            match kind {
                ScopeKind::Module => return self.global(name),
                ScopeKind::Class => {
                    if self.stack[top].class_names.contains(name) {
                        return NameRef::ClassBody(n);
                    }
                    top
                }
                ScopeKind::Function | ScopeKind::Comp => {
                    if let Some(&slot) = self.stack[top].slot_of.get(name) {
                        return NameRef::Local(slot, n);
                    }
                    top
                }
            }
        };
        for found in (0..search_from).rev() {
            let sc = &self.stack[found];
            if !sc.is_func_like() {
                continue;
            }
            if sc.globals_decl.contains(name) {
                break;
            }
            if let Some(&slot) = sc.slot_of.get(name) {
                let depth = self.stack[found + 1..=top].iter().filter(|s| s.is_func_like()).count() as u32;
                for k in found + 1..=top {
                    if self.stack[k].is_func_like() {
                        let rel = self.stack[found + 1..=k].iter().filter(|s| s.is_func_like()).count() as u32;
                        self.stack[k].captures.insert((rel, slot));
                    }
                }
                return NameRef::Free(depth, slot, n);
            }
        }
        if kind == ScopeKind::Class {
            return NameRef::ClassBody(n);
        }
        self.global(name)
    }

    fn global(&mut self, name: &str) -> NameRef {
        for sc in self.stack.iter_mut().filter(|s| s.is_func_like()) {
            sc.globals_used.insert(name.to_string());
        }
        NameRef::Global(s(name))
    }

    fn declare(&mut self, b: &Bindings) {
        let top = self.top();
        for g in &b.globals {
            top.globals_decl.insert(g.clone());
        }
        for g in &b.nonlocals {
            top.nonlocal_decl.insert(g.clone());
        }
        let kind = top.kind;
        for n in &b.names {
            if top.globals_decl.contains(n) || top.nonlocal_decl.contains(n) {
                continue;
            }
            match kind {
                ScopeKind::Class => {
                    top.class_names.insert(n.clone());
                }
                ScopeKind::Function | ScopeKind::Comp => {
                    top.add_local(n);
                }
                ScopeKind::Module => {}
            }
        }
    }

    // ----- statements -----

    fn stmts(&mut self, body: &[ast::Stmt]) -> LResult<Vec<Stmt>> {
        if self.stack.len() == 1 && self.stack[0].kind == ScopeKind::Module {
            // The module scope is dynamic: nothing to declare, but `global` at module level is fine.
        }
        body.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&mut self, st: &ast::Stmt) -> LResult<Stmt> {
        use ast::Stmt as S;
        let loc = self.loc(st.range());
        let kind = match st {
            S::Expr(e) => StmtKind::Expr(self.expr(&e.value)?),
            S::Assign(a) => {
                let value = self.expr(&a.value)?;
                let targets = a.targets.iter().map(|t| self.target(t)).collect::<LResult<_>>()?;
                StmtKind::Assign(targets, value)
            }
            S::AugAssign(a) => {
                let value = self.expr(&a.value)?;
                StmtKind::AugAssign(self.target(&a.target)?, binop(a.op), value)
            }
            S::AnnAssign(a) => {
                let value = a.value.as_ref().map(|v| self.expr(v)).transpose()?;
                StmtKind::AnnAssign(self.target(&a.target)?, value)
            }
            S::If(i) => self.if_stmt(i)?,
            S::While(w) => StmtKind::While(self.expr(&w.test)?, self.stmts(&w.body)?, self.stmts(&w.orelse)?),
            S::For(f) => {
                if f.is_async {
                    return Err(self.unsupported(st.range(), "'async for'"));
                }
                let iter = self.expr(&f.iter)?;
                StmtKind::For(self.target(&f.target)?, iter, self.stmts(&f.body)?, self.stmts(&f.orelse)?)
            }
            S::Break(_) => StmtKind::Break,
            S::Continue(_) => StmtKind::Continue,
            S::Pass(_) => StmtKind::Pass,
            S::Return(r) => StmtKind::Return(r.value.as_ref().map(|v| self.expr(v)).transpose()?),
            S::FunctionDef(f) => self.function_def(f)?,
            S::ClassDef(c) => self.class_def(c)?,
            S::Try(t) => self.try_stmt(t)?,
            S::Raise(r) => StmtKind::Raise(
                r.exc.as_ref().map(|e| self.expr(e)).transpose()?,
                r.cause.as_ref().map(|e| self.expr(e)).transpose()?,
            ),
            S::Assert(a) => StmtKind::Assert(self.expr(&a.test)?, a.msg.as_ref().map(|m| self.expr(m)).transpose()?),
            S::Delete(d) => StmtKind::Delete(d.targets.iter().map(|t| self.target(t)).collect::<LResult<_>>()?),
            S::Import(i) => {
                let mut out = vec![];
                for a in &i.names {
                    let module = a.name.id.to_string();
                    let (asname, bound) = match &a.asname {
                        Some(n) => (Some(s(n.id.as_str())), n.id.to_string()),
                        None => (None, module.split('.').next().unwrap_or("").to_string()),
                    };
                    out.push((s(&module), asname, self.resolve(&bound)));
                }
                StmtKind::Import(out)
            }
            S::ImportFrom(i) => {
                if i.level > 0 {
                    return Err(self.unsupported(st.range(), "relative import"));
                }
                let module = i.module.as_ref().map(|m| m.id.to_string()).unwrap_or_default();
                let mut out = vec![];
                for a in &i.names {
                    if a.name.id.as_str() == "*" {
                        return Err(self.unsupported(st.range(), "'import *'"));
                    }
                    let bound = a.asname.as_ref().unwrap_or(&a.name).id.to_string();
                    out.push((s(a.name.id.as_str()), self.resolve(&bound)));
                }
                StmtKind::ImportFrom(s(&module), out)
            }
            S::Global(_) | S::Nonlocal(_) => StmtKind::Pass,
            S::With(w) => {
                if w.is_async {
                    return Err(self.unsupported(st.range(), "'async with'"));
                }
                let mut items = vec![];
                for it in &w.items {
                    let e = self.expr(&it.context_expr)?;
                    let t = it.optional_vars.as_ref().map(|v| self.target(v)).transpose()?;
                    items.push((e, t));
                }
                StmtKind::With(items, self.stmts(&w.body)?)
            }
            S::Match(_) => return Err(self.unsupported(keyword_range(st), "'match' statements are")),
            S::TypeAlias(_) => return Err(self.unsupported(st.range(), "'type' aliases are")),
            S::IpyEscapeCommand(_) => return Err(self.unsupported(st.range(), "IPython escapes are")),
        };
        Ok(Stmt { kind, loc })
    }

    fn if_stmt(&mut self, i: &ast::StmtIf) -> LResult<StmtKind> {
        let test = self.expr(&i.test)?;
        let body = self.stmts(&i.body)?;
        // elif chains become nested ifs in the else branch.
        let mut orelse: Vec<Stmt> = vec![];
        for clause in i.elif_else_clauses.iter().rev() {
            let cbody = self.stmts(&clause.body)?;
            match &clause.test {
                None => orelse = cbody,
                Some(t) => {
                    let loc = self.loc(clause.range());
                    let test = self.expr(t)?;
                    orelse = vec![Stmt { kind: StmtKind::If(test, cbody, orelse), loc }];
                }
            }
        }
        Ok(StmtKind::If(test, body, orelse))
    }

    fn try_stmt(&mut self, t: &ast::StmtTry) -> LResult<StmtKind> {
        if t.is_star {
            return Err(self.unsupported(t.range(), "'except*'"));
        }
        let body = self.stmts(&t.body)?;
        let mut handlers = vec![];
        for h in &t.handlers {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            let typ = h.type_.as_ref().map(|e| self.expr(e)).transpose()?;
            let name = h.name.as_ref().map(|n| self.resolve(n.id.as_str()));
            let hbody = self.stmts(&h.body)?;
            handlers.push(Handler { typ, name, body: hbody, loc: self.loc(h.range()) });
        }
        Ok(StmtKind::Try(Box::new(Try {
            body,
            handlers,
            orelse: self.stmts(&t.orelse)?,
            finalbody: self.stmts(&t.finalbody)?,
        })))
    }

    fn function_def(&mut self, f: &ast::StmtFunctionDef) -> LResult<StmtKind> {
        if f.is_async {
            return Err(self.unsupported(f.range(), "'async def'"));
        }
        if f.type_params.is_some() {
            return Err(self.unsupported(f.range(), "type parameters are"));
        }
        let decorators = f.decorator_list.iter().map(|d| self.expr(&d.expression)).collect::<LResult<_>>()?;
        let (defaults, kw_defaults) = self.defaults(&f.parameters)?;
        let line = self.loc(f.range()).line;
        let def = self.function_body(f.name.id.as_str(), &f.parameters, FnBody::Block(&f.body), line)?;
        let target = self.resolve(f.name.id.as_str());
        Ok(StmtKind::FunctionDef(Box::new(FunctionDef { def, defaults, kw_defaults, decorators, target })))
    }

    fn defaults(&mut self, p: &ast::Parameters) -> LResult<(Vec<Expr>, Vec<Option<Expr>>)> {
        let mut defaults = vec![];
        for a in p.posonlyargs.iter().chain(p.args.iter()) {
            if let Some(d) = &a.default {
                defaults.push(self.expr(d)?);
            }
        }
        let mut kw = vec![];
        for a in &p.kwonlyargs {
            kw.push(a.default.as_ref().map(|d| self.expr(d)).transpose()?);
        }
        Ok((defaults, kw))
    }

    /// CPython's `__qualname__` would add `outer.<locals>.`; tracebacks only need the name.
    fn qualname(&self, name: &str) -> String {
        name.to_string()
    }

    fn function_body(&mut self, name: &str, p: &ast::Parameters, body: FnBody, line: u32) -> LResult<Shared<FuncDef>> {
        let mut sc = ScopeCtx::new(ScopeKind::Function);
        let mk = |sc: &mut ScopeCtx, prm: &ast::Parameter| Param { name: s(prm.name.id.as_str()), slot: sc.add_local(prm.name.id.as_str()) };
        let args: Vec<Param> = p.posonlyargs.iter().chain(p.args.iter()).map(|a| mk(&mut sc, &a.parameter)).collect();
        let vararg = p.vararg.as_ref().map(|a| mk(&mut sc, a));
        let kwonly: Vec<Param> = p.kwonlyargs.iter().map(|a| mk(&mut sc, &a.parameter)).collect();
        let kwarg = p.kwarg.as_ref().map(|a| mk(&mut sc, a));
        let mut b = Bindings::default();
        match body {
            FnBody::Block(stmts) => b.stmts(stmts),
            FnBody::Lambda(e) => b.expr(e),
        }
        self.stack.push(sc);
        self.declare(&b);
        let lowered = match body {
            FnBody::Block(stmts) => self.stmts(stmts).map(|st| (st, None)),
            FnBody::Lambda(e) => self.expr(e).map(|e| (vec![], Some(e))),
        };
        let sc = self.stack.pop().expect("pushed above");
        let (body, lambda) = lowered?;
        Ok(Shared(std::rc::Rc::new(FuncDef {
            name: s(name),
            qualname: s(&self.qualname(name)),
            args,
            posonly: p.posonlyargs.len() as u32,
            vararg,
            kwonly,
            kwarg,
            body,
            lambda,
            slot_names: sc.slots.iter().map(|n| s(n)).collect(),
            captures: sc.captures.into_iter().collect(),
            globals: sc.globals_used.iter().map(|n| s(n)).collect(),
            is_generator: b.has_yield,
            line,
        })))
    }

    fn class_def(&mut self, c: &ast::StmtClassDef) -> LResult<StmtKind> {
        if c.type_params.is_some() {
            return Err(self.unsupported(c.range(), "type parameters are"));
        }
        let decorators = c.decorator_list.iter().map(|d| self.expr(&d.expression)).collect::<LResult<_>>()?;
        let mut bases = vec![];
        if let Some(args) = &c.arguments {
            if !args.keywords.is_empty() {
                return Err(self.unsupported(c.range(), "class keywords (metaclass=...) are"));
            }
            for a in args.args.iter() {
                bases.push(self.expr(a)?);
            }
        }
        let mut b = Bindings::default();
        b.stmts(&c.body);
        self.stack.push(ScopeCtx::new(ScopeKind::Class));
        self.declare(&b);
        let body = self.stmts(&c.body);
        self.stack.pop();
        let body = body?;
        let target = self.resolve(c.name.id.as_str());
        Ok(StmtKind::ClassDef(Box::new(ClassDef { name: s(c.name.id.as_str()), bases, body, decorators, target })))
    }

    // ----- targets -----

    fn target(&mut self, t: &ast::Expr) -> LResult<Target> {
        use ast::Expr as E;
        match t {
            E::Name(n) => Ok(Target::Name(self.resolve(n.id.as_str()))),
            E::Attribute(a) => Ok(Target::Attr(self.expr(&a.value)?, s(a.attr.id.as_str()), self.loc(t.range()))),
            E::Subscript(sub) => {
                let mut loc = self.loc(t.range());
                loc.anchors = self.subscript_anchors(&sub.value, &sub.slice, t.range());
                Ok(Target::Subscript(self.expr(&sub.value)?, self.expr(&sub.slice)?, loc))
            }
            E::Tuple(tu) => self.seq_target(&tu.elts, t.range()),
            E::List(l) => self.seq_target(&l.elts, t.range()),
            _ => Err(self.unsupported(t.range(), "this assignment target is")),
        }
    }

    fn seq_target(&mut self, elts: &[ast::Expr], r: TextRange) -> LResult<Target> {
        let mut out = vec![];
        let mut star = None;
        for (i, e) in elts.iter().enumerate() {
            if let ast::Expr::Starred(st) = e {
                if star.is_some() {
                    return Err(SyntaxErr { msg: "multiple starred expressions in assignment".into(), ..self.unsupported(r, "") });
                }
                star = Some(i);
                out.push(self.target(&st.value)?);
            } else {
                out.push(self.target(e)?);
            }
        }
        Ok(Target::Seq(out, star, self.loc(r)))
    }

    // ----- expressions -----

    fn exprs(&mut self, es: &[ast::Expr]) -> LResult<Vec<Expr>> {
        es.iter().map(|e| self.expr(e)).collect()
    }

    fn expr(&mut self, e: &ast::Expr) -> LResult<Expr> {
        use ast::Expr as E;
        let mut loc = self.loc(e.range());
        let kind = match e {
            E::BoolOp(b) => ExprKind::BoolOp(matches!(b.op, ast::BoolOp::And), self.exprs(&b.values)?),
            E::Named(n) => {
                let ast::Expr::Name(name) = &*n.target else {
                    return Err(self.unsupported(n.range(), "this walrus target is"));
                };
                let value = self.expr(&n.value)?;
                ExprKind::Walrus(self.walrus_target(name.id.as_str()), Box::new(value))
            }
            E::BinOp(b) => {
                loc.anchors = self.binop_anchors(&b.left, &b.right, e.range());
                ExprKind::BinOp(Box::new(self.expr(&b.left)?), binop(b.op), Box::new(self.expr(&b.right)?))
            }
            E::UnaryOp(u) => {
                let op = match u.op {
                    ast::UnaryOp::Not => UnOp::Not,
                    ast::UnaryOp::USub => UnOp::Neg,
                    ast::UnaryOp::UAdd => UnOp::Pos,
                    ast::UnaryOp::Invert => UnOp::Invert,
                };
                // Fold negative literals so `-9223372036854775808` stays an int constant.
                ExprKind::Unary(op, Box::new(self.expr(&u.operand)?))
            }
            E::Lambda(l) => {
                let empty = ast::Parameters::default();
                let params = l.parameters.as_deref().unwrap_or(&empty);
                let (defaults, kw) = self.defaults(params)?;
                let def = self.function_body("<lambda>", params, FnBody::Lambda(&l.body), loc.line)?;
                ExprKind::Lambda(def, defaults, kw)
            }
            E::If(i) => ExprKind::IfExp(Box::new(self.expr(&i.test)?), Box::new(self.expr(&i.body)?), Box::new(self.expr(&i.orelse)?)),
            E::Dict(d) => {
                let mut items = vec![];
                for it in &d.items {
                    let k = it.key.as_ref().map(|k| self.expr(k)).transpose()?;
                    items.push((k, self.expr(&it.value)?));
                }
                ExprKind::Dict(items)
            }
            E::Set(st) => ExprKind::Set(self.exprs(&st.elts)?),
            E::ListComp(c) => self.comp(CompKind::List, &c.elt, None, &c.generators)?,
            E::SetComp(c) => self.comp(CompKind::Set, &c.elt, None, &c.generators)?,
            E::Generator(c) => self.comp(CompKind::Gen, &c.elt, None, &c.generators)?,
            E::DictComp(c) => match &c.key {
                Some(k) => self.comp(CompKind::Dict, k, Some(&c.value), &c.generators)?,
                None => return Err(self.unsupported(e.range(), "dict unpacking in comprehensions is")),
            },
            E::Await(_) => return Err(self.unsupported(e.range(), "'await' is")),
            E::Yield(y) => ExprKind::Yield(y.value.as_ref().map(|v| self.expr(v).map(Box::new)).transpose()?),
            E::YieldFrom(y) => ExprKind::YieldFrom(Box::new(self.expr(&y.value)?)),
            E::Compare(c) => {
                let left = self.expr(&c.left)?;
                let mut rest = vec![];
                for (op, r) in c.ops.iter().zip(c.comparators.iter()) {
                    rest.push((cmpop(*op), self.expr(r)?));
                }
                ExprKind::Compare(Box::new(left), rest)
            }
            E::Call(c) => {
                let func = self.expr(&c.func)?;
                let mut args = vec![];
                // Positional and keyword arguments in source order, as CPython evaluates them.
                let mut all: Vec<(u32, Arg)> = vec![];
                for a in c.arguments.args.iter() {
                    let arg = match a {
                        E::Starred(st) => Arg::Star(self.expr(&st.value)?),
                        other => Arg::Pos(self.expr(other)?),
                    };
                    all.push((a.range().start().to_u32(), arg));
                }
                for k in c.arguments.keywords.iter() {
                    let arg = match &k.arg {
                        Some(n) => Arg::Kw(s(n.id.as_str()), self.expr(&k.value)?),
                        None => Arg::StarStar(self.expr(&k.value)?),
                    };
                    all.push((k.range().start().to_u32(), arg));
                }
                all.sort_by_key(|(pos, _)| *pos);
                args.extend(all.into_iter().map(|(_, a)| a));
                ExprKind::Call(Box::new(func), args)
            }
            E::FString(f) => ExprKind::FString(self.fstring(f)?),
            E::TString(_) => return Err(self.unsupported(e.range(), "t-strings are")),
            E::StringLiteral(sl) => ExprKind::Const(Const::Str(s(sl.value.to_str()))),
            E::BytesLiteral(b) => ExprKind::Const(Const::Bytes(b.value.bytes().collect())),
            E::NumberLiteral(n) => ExprKind::Const(match &n.value {
                ast::Number::Int(i) => match i.as_i64() {
                    Some(v) => Const::Int(v),
                    None => Const::BigInt(big_literal(&i.to_string())),
                },
                ast::Number::Float(f) => Const::Float(*f),
                ast::Number::Complex { .. } => return Err(self.unsupported(e.range(), "complex numbers are")),
            }),
            E::BooleanLiteral(b) => ExprKind::Const(Const::Bool(b.value)),
            E::NoneLiteral(_) => ExprKind::Const(Const::None),
            E::EllipsisLiteral(_) => ExprKind::Const(Const::Ellipsis),
            E::Attribute(a) => ExprKind::Attr(Box::new(self.expr(&a.value)?), s(a.attr.id.as_str())),
            E::Subscript(sub) => {
                loc.anchors = self.subscript_anchors(&sub.value, &sub.slice, e.range());
                ExprKind::Subscript(Box::new(self.expr(&sub.value)?), Box::new(self.expr(&sub.slice)?))
            }
            E::Starred(st) => ExprKind::Starred(Box::new(self.expr(&st.value)?)),
            E::Name(n) => ExprKind::Name(self.resolve(n.id.as_str())),
            E::List(l) => ExprKind::List(self.exprs(&l.elts)?),
            E::Tuple(t) => ExprKind::Tuple(self.exprs(&t.elts)?),
            E::Slice(sl) => ExprKind::Slice(
                sl.lower.as_ref().map(|x| self.expr(x).map(Box::new)).transpose()?,
                sl.upper.as_ref().map(|x| self.expr(x).map(Box::new)).transpose()?,
                sl.step.as_ref().map(|x| self.expr(x).map(Box::new)).transpose()?,
            ),
            E::IpyEscapeCommand(_) => return Err(self.unsupported(e.range(), "IPython escapes are")),
        };
        Ok(Expr { kind, loc })
    }

    /// A walrus binds in the nearest enclosing function, skipping comprehension scopes.
    fn walrus_target(&mut self, name: &str) -> NameRef {
        let mut comps = vec![];
        while self.top().kind == ScopeKind::Comp {
            comps.push(self.stack.pop().expect("non-empty"));
        }
        let r = self.resolve(name);
        let depth_shift = comps.len() as u32;
        while let Some(c) = comps.pop() {
            self.stack.push(c);
        }
        if depth_shift == 0 {
            return r;
        }
        match r {
            NameRef::Local(slot, n) => {
                let top = self.stack.len() - 1;
                for k in top + 1 - depth_shift as usize..=top {
                    let rel = (k - (top - depth_shift as usize)) as u32;
                    self.stack[k].captures.insert((rel, slot));
                }
                NameRef::Free(depth_shift, slot, n)
            }
            NameRef::Free(d, slot, n) => NameRef::Free(d + depth_shift, slot, n),
            other => other,
        }
    }

    fn comp(&mut self, kind: CompKind, elt: &ast::Expr, value: Option<&ast::Expr>, gens: &[ast::Comprehension]) -> LResult<ExprKind> {
        if gens.iter().any(|g| g.is_async) {
            return Err(self.unsupported(gens[0].range(), "async comprehensions are"));
        }
        // The first iterable is evaluated in the enclosing scope.
        let first_iter = self.expr(&gens[0].iter)?;
        let mut sc = ScopeCtx::new(ScopeKind::Comp);
        let mut b = Bindings::default();
        for g in gens {
            b.target(&g.target);
        }
        for n in &b.names {
            sc.add_local(n);
        }
        self.stack.push(sc);
        let lowered = (|| -> LResult<(Vec<CompFor>, Expr, Option<Expr>)> {
            let mut out = vec![];
            for (i, g) in gens.iter().enumerate() {
                let iter = if i == 0 { first_iter.clone() } else { self.expr(&g.iter)? };
                let target = self.target(&g.target)?;
                let ifs = self.exprs(&g.ifs)?;
                out.push(CompFor { target, iter, ifs });
            }
            let e = self.expr(elt)?;
            let v = value.map(|v| self.expr(v)).transpose()?;
            Ok((out, e, v))
        })();
        let sc = self.stack.pop().expect("pushed above");
        let (gens, elt, value) = lowered?;
        Ok(ExprKind::Comp(Box::new(Comp { kind, elt, value, gens, n_slots: sc.slots.len() as u32 })))
    }

    fn fstring(&mut self, f: &ast::ExprFString) -> LResult<Vec<FPart>> {
        let mut parts = vec![];
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => parts.push(FPart::Lit(s(&l.value))),
                ast::FStringPart::FString(fs) => self.fstring_elements(&fs.elements, &mut parts)?,
            }
        }
        Ok(parts)
    }

    fn fstring_elements(&mut self, els: &ast::InterpolatedStringElements, out: &mut Vec<FPart>) -> LResult<()> {
        for el in els.iter() {
            match el {
                ast::InterpolatedStringElement::Literal(l) => out.push(FPart::Lit(s(&l.value))),
                ast::InterpolatedStringElement::Interpolation(i) => {
                    let expr = self.expr(&i.expression)?;
                    let conv = i.conversion.to_byte().map(|b| b as char);
                    let spec = match &i.format_spec {
                        Some(spec) => {
                            let mut sp = vec![];
                            self.fstring_elements(&spec.elements, &mut sp)?;
                            Some(sp)
                        }
                        None => None,
                    };
                    let debug = i.debug_text.as_ref().map(|d| s(&format!("{}{}{}", d.leading(), d.expression(), d.trailing())));
                    // `f"{x=}"` defaults to repr unless a format spec is given.
                    let conv = if debug.is_some() && conv.is_none() && spec.is_none() { Some('r') } else { conv };
                    out.push(FPart::Value { expr, conv, spec, debug });
                }
            }
        }
        Ok(())
    }

    // ----- caret anchors (CPython 3.11 traceback._extract_caret_anchors_from_line_segment) -----

    fn segment(&self, r: TextRange) -> Option<&'a str> {
        let text = &self.src[r.start().to_usize()..r.end().to_usize()];
        if text.contains('\n') {
            None
        } else {
            Some(text)
        }
    }

    fn binop_anchors(&self, left: &ast::Expr, right: &ast::Expr, r: TextRange) -> Option<(u32, u32)> {
        let seg = self.segment(r)?;
        let base = r.start().to_usize();
        let left_end = left.range().end().to_usize() - base;
        let right_start = right.range().start().to_usize() - base;
        let op_str = seg.get(left_end..right_start)?;
        let op_off = op_str.len() - op_str.trim_start().len();
        let mut la = left_end + op_off;
        let mut ra = la + 1;
        let ob = op_str.as_bytes();
        if op_off + 1 < ob.len() && !(ob[op_off + 1] as char).is_whitespace() {
            ra += 1;
        }
        let sb = seg.as_bytes();
        while la < sb.len() && ((sb[la] as char).is_whitespace() || sb[la] == b')' || sb[la] == b'#') {
            la += 1;
            ra += 1;
        }
        Some((char_offset(seg, la), char_offset(seg, ra)))
    }

    fn subscript_anchors(&self, value: &ast::Expr, slice: &ast::Expr, r: TextRange) -> Option<(u32, u32)> {
        let seg = self.segment(r)?;
        let base = r.start().to_usize();
        let chars: Vec<char> = seg.chars().collect();
        let mut la = char_offset(seg, value.range().end().to_usize() - base) as usize;
        let mut ra = char_offset(seg, slice.range().end().to_usize() - base + 1) as usize;
        while la < chars.len() && (chars[la].is_whitespace() || chars[la] != '[') {
            la += 1;
        }
        while ra < chars.len() && (chars[ra].is_whitespace() || chars[ra] != ']') {
            ra += 1;
        }
        if ra < chars.len() {
            ra += 1;
        }
        Some((la as u32, ra as u32))
    }
}

#[derive(Clone, Copy)]
enum FnBody<'b> {
    Block(&'b [ast::Stmt]),
    Lambda(&'b ast::Expr),
}

/// The character offset of a byte offset within `s` (clamped).
fn char_offset(s: &str, byte: usize) -> u32 {
    let byte = byte.min(s.len());
    s.char_indices().take_while(|(i, _)| *i < byte).count() as u32
}

fn keyword_range(st: &ast::Stmt) -> TextRange {
    let r = st.range();
    TextRange::new(r.start(), r.start() + ruff_text_size::TextSize::from(5))
}

/// Normalizes an int literal beyond i64 (`0xFFFF_FFFF_FFFF_FFFF_F`) to a `radix:digits` form.
fn big_literal(token: &str) -> String {
    let t: String = token.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return format!("{radix}:{rest}");
        }
    }
    format!("10:{t}")
}

fn binop(op: ast::Operator) -> BinOp {
    use ast::Operator as O;
    match op {
        O::Add => BinOp::Add,
        O::Sub => BinOp::Sub,
        O::Mult => BinOp::Mul,
        O::MatMult => BinOp::MatMul,
        O::Div => BinOp::Div,
        O::Mod => BinOp::Mod,
        O::Pow => BinOp::Pow,
        O::LShift => BinOp::LShift,
        O::RShift => BinOp::RShift,
        O::BitOr => BinOp::BitOr,
        O::BitXor => BinOp::BitXor,
        O::BitAnd => BinOp::BitAnd,
        O::FloorDiv => BinOp::FloorDiv,
    }
}

fn cmpop(op: ast::CmpOp) -> CmpOp {
    use ast::CmpOp as C;
    match op {
        C::Eq => CmpOp::Eq,
        C::NotEq => CmpOp::Ne,
        C::Lt => CmpOp::Lt,
        C::LtE => CmpOp::Le,
        C::Gt => CmpOp::Gt,
        C::GtE => CmpOp::Ge,
        C::Is => CmpOp::Is,
        C::IsNot => CmpOp::IsNot,
        C::In => CmpOp::In,
        C::NotIn => CmpOp::NotIn,
    }
}
