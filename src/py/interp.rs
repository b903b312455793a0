//! The evaluator: walks the IR with explicit frames, bounded by a step budget, a call depth
//! and a native-stack allowance, so no program can hang or overflow the host.

use super::error::{exc_class, format_traceback, ExcType, PyErr};
use super::ir::*;
use super::native::{Module, NativeAttr, PickledNative};
use super::ops;
use super::repr::{self, ReprHook};
use super::value::*;
use indexmap::IndexMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Bounds on one program run (or one shipped call).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Python call depth (CPython's recursion limit is 1000).
    pub max_depth: u32,
    /// Statements plus calls; `while True: pass` ends here.
    pub max_steps: u64,
    /// Native stack the evaluator may use below its entry point.
    pub max_stack_bytes: usize,
    /// Bytes of `print` output kept.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        // A wasm32 module's whole stack is 1 MiB by default; native test threads have 2 MiB.
        let max_stack_bytes = if cfg!(target_arch = "wasm32") { 512 << 10 } else { 1 << 20 };
        Limits { max_depth: 1000, max_steps: 50_000_000, max_stack_bytes, max_output_bytes: 16 << 20 }
    }
}

pub type Reviver = Rc<dyn Fn(&PickledNative, &mut Interpreter) -> PResult<Value>>;

pub struct Interpreter {
    pub source: Rc<str>,
    pub filename: String,
    pub globals: Rc<Globals>,
    pub(crate) builtins: Rc<IndexMap<Str, Value>>,
    pub(crate) modules: IndexMap<String, Rc<Module>>,
    pub(crate) revivers: HashMap<String, Reviver>,
    pub(crate) output: String,
    /// What the program wrote to `sys.stderr`.
    pub(crate) stderr: String,
    pub limits: Limits,
    depth: u32,
    steps: u64,
    stack_base: usize,
    /// Exceptions being handled, innermost last (`raise` with no argument re-raises the last).
    handling: Vec<PyErr>,
    /// Virtual time in seconds: `time.sleep` advances it, `time.time` reads it.
    pub virtual_time_s: f64,
    pub(crate) rng: super::modules::Random,
    /// The line of the statement running in the innermost frame: natives read it to name
    /// their caller's site (PySpark's call sites, `reduceByKey at job.py:10`).
    pub line: u32,
}

pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
    Return(Value),
}

/// One activation: a function, a comprehension, a class body or the module.
pub(crate) struct Frame {
    pub scope: Option<Rc<Scope>>,
    pub class_ns: Option<Rc<RefCell<IndexMap<Str, Value>>>>,
    pub globals: Rc<Globals>,
    pub func: Str,
    /// Values yielded so far by a generator function (generators run eagerly).
    pub yields: Option<Vec<Value>>,
    /// The function this frame runs, for `super()`.
    pub this_fn: Option<Rc<Function>>,
}

impl Interpreter {
    pub fn new() -> Interpreter {
        Interpreter {
            source: Rc::from(""),
            filename: "<job>".into(),
            globals: Rc::new(Globals { vars: RefCell::new(IndexMap::new()), name: s("__main__") }),
            builtins: Rc::new(super::builtins::make_builtins()),
            modules: IndexMap::new(),
            revivers: HashMap::new(),
            output: String::new(),
            stderr: String::new(),
            limits: Limits::default(),
            depth: 0,
            steps: 0,
            stack_base: 0,
            handling: vec![],
            virtual_time_s: 0.0,
            rng: super::modules::Random::new(0),
            line: 0,
        }
    }

    /// Drains the collected `print` output.
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.output)
    }

    /// Drains what the program wrote to `sys.stderr` (tracebacks are not included).
    pub fn take_stderr(&mut self) -> String {
        std::mem::take(&mut self.stderr)
    }

    pub fn write_stderr(&mut self, text: &str) {
        if self.stderr.len() + text.len() <= self.limits.max_output_bytes {
            self.stderr.push_str(text);
        }
    }

    pub fn output(&self) -> &str {
        &self.output
    }

    pub fn write_output(&mut self, text: &str) {
        if self.output.len() + text.len() <= self.limits.max_output_bytes {
            self.output.push_str(text);
        }
    }

    /// Makes `import name` / `from name import x` find a host module.
    pub fn register_module(&mut self, module: Rc<Module>) {
        self.modules.insert(module.name.to_string(), module);
    }

    /// Adds or replaces a builtin name (a host's `open` over its own file system).
    pub fn register_builtin(&mut self, name: &str, v: Value) {
        Rc::make_mut(&mut self.builtins).insert(s(name), v);
    }

    /// How natives pickled as `kind` come back to life on this (executor) interpreter.
    pub fn register_reviver(&mut self, kind: &str, f: Reviver) {
        self.revivers.insert(kind.to_string(), f);
    }

    pub fn steps_used(&self) -> u64 {
        self.steps
    }

    /// Parses and runs a whole program. Errors are `PyErr`s; `format_error` prints them.
    pub fn run(&mut self, source: &str) -> PResult<()> {
        self.source = Rc::from(source);
        let program = super::lower::parse_program(source).map_err(|e| {
            if e.msg == super::lower::TOO_COMPLEX {
                PyErr::new(ExcType::RecursionError, e.msg)
            } else {
                PyErr::syntax(e.line, e.col, e.end_col, &e.msg)
            }
        })?;
        let mut frame = Frame { scope: None, class_ns: None, globals: self.globals.clone(), func: s("<module>"), yields: None, this_fn: None };
        self.enter(|me| me.exec_block(&program, &mut frame).map(|_| ()))
    }

    /// The traceback CPython would print for `err`, file name normalized to this
    /// interpreter's `filename`.
    pub fn format_error(&self, err: &PyErr) -> String {
        format_traceback(err, &self.source, &self.filename)
    }

    /// Runs `f` as a host entry point: records the native stack base for the overflow guard
    /// if this is the outermost entry.
    pub(crate) fn enter<T>(&mut self, f: impl FnOnce(&mut Interpreter) -> PResult<T>) -> PResult<T> {
        let marker = 0u8;
        let here = &marker as *const u8 as usize;
        let outermost = self.stack_base == 0;
        if outermost {
            self.stack_base = here;
            self.steps = 0;
        }
        let r = f(self);
        if outermost {
            self.stack_base = 0;
        }
        r
    }

    /// Calls a Python callable from host code (e.g. the function passed to `rdd.map`).
    pub fn call(&mut self, func: &Value, args: Vec<Value>, kwargs: Vec<(Str, Value)>) -> PResult<Value> {
        self.enter(|me| me.call_value(func, args, kwargs))
    }

    pub fn get_global(&self, name: &str) -> Option<Value> {
        self.globals.vars.borrow().get(name).cloned()
    }

    pub fn set_global(&mut self, name: &str, v: Value) {
        self.globals.vars.borrow_mut().insert(s(name), v);
    }

    // ----- budget -----

    fn step(&mut self) -> PResult<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            let mut e = PyErr::new(ExcType::TimeoutError, format!("step budget of {} exhausted", self.limits.max_steps));
            e.fatal = true;
            return Err(e);
        }
        Ok(())
    }

    fn check_stack(&self) -> PResult<()> {
        let marker = 0u8;
        let here = &marker as *const u8 as usize;
        if self.stack_base != 0 && self.stack_base.abs_diff(here) > self.limits.max_stack_bytes {
            return Err(PyErr::new(ExcType::RecursionError, "maximum recursion depth exceeded"));
        }
        Ok(())
    }

    // ----- statements -----

    pub(crate) fn exec_block(&mut self, body: &[Stmt], f: &mut Frame) -> PResult<Flow> {
        let outer_line = self.line;
        for st in body {
            self.line = st.loc.line;
            match self.exec_stmt(st, f) {
                Ok(Flow::Normal) => {}
                Ok(other) => {
                    self.line = outer_line;
                    return Ok(other);
                }
                Err(e) => {
                    self.line = outer_line;
                    return Err(e.locate(&f.func, st.loc));
                }
            }
        }
        self.line = outer_line;
        Ok(Flow::Normal)
    }

    fn exec_stmt(&mut self, st: &Stmt, f: &mut Frame) -> PResult<Flow> {
        self.step()?;
        match &st.kind {
            StmtKind::Expr(e) => {
                self.eval(e, f)?;
            }
            StmtKind::Assign(targets, value) => {
                let v = self.eval(value, f)?;
                for t in targets {
                    self.assign(t, v.clone(), f)?;
                }
            }
            StmtKind::AugAssign(t, op, value) => self.aug_assign(t, *op, value, f)?,
            StmtKind::AnnAssign(t, value) => {
                if let Some(value) = value {
                    let v = self.eval(value, f)?;
                    self.assign(t, v, f)?;
                }
            }
            StmtKind::If(test, body, orelse) => {
                let c = self.eval(test, f)?;
                return if self.truthy(&c)? { self.exec_block(body, f) } else { self.exec_block(orelse, f) };
            }
            StmtKind::While(test, body, orelse) => {
                loop {
                    let c = self.eval(test, f)?;
                    if !self.truthy(&c)? {
                        return self.exec_block(orelse, f);
                    }
                    match self.exec_block(body, f)? {
                        Flow::Break => return Ok(Flow::Normal),
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        Flow::Normal | Flow::Continue => {}
                    }
                    self.step()?;
                }
            }
            StmtKind::For(target, iter, body, orelse) => {
                let it = self.eval(iter, f)?;
                let it = self.get_iter(&it).map_err(|e| e.locate(&f.func, iter.loc))?;
                while let Some(v) = self.next(&it)? {
                    self.assign(target, v, f)?;
                    match self.exec_block(body, f)? {
                        Flow::Break => return Ok(Flow::Normal),
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        Flow::Normal | Flow::Continue => {}
                    }
                }
                return self.exec_block(orelse, f);
            }
            StmtKind::Break => return Ok(Flow::Break),
            StmtKind::Continue => return Ok(Flow::Continue),
            StmtKind::Pass => {}
            StmtKind::Return(v) => {
                let v = match v {
                    Some(e) => self.eval(e, f)?,
                    None => Value::None,
                };
                return Ok(Flow::Return(v));
            }
            StmtKind::FunctionDef(fd) => {
                let mut func = self.make_function(&fd.def, &fd.defaults, &fd.kw_defaults, f)?;
                for d in fd.decorators.iter().rev() {
                    let dv = self.eval(d, f)?;
                    func = self.call_value(&dv, vec![func], vec![])?;
                }
                self.store(&fd.target, func, f)?;
            }
            StmtKind::ClassDef(cd) => self.class_def(cd, f)?,
            StmtKind::Try(t) => return self.exec_try(t, f),
            StmtKind::Raise(exc, cause) => return Err(self.raise(exc.as_ref(), cause.as_ref(), f)?),
            StmtKind::Assert(test, msg) => {
                let c = self.eval(test, f)?;
                if !self.truthy(&c)? {
                    let args = match msg {
                        Some(m) => vec![self.eval(m, f)?],
                        None => vec![],
                    };
                    // CPython attributes the failure to the tested expression.
                    return Err(PyErr::with_args(exc_class(ExcType::AssertionError), args).locate(&f.func, test.loc));
                }
            }
            StmtKind::Delete(targets) => {
                for t in targets {
                    self.delete(t, f)?;
                }
            }
            StmtKind::Import(items) => {
                for (module, asname, target) in items {
                    let m = self.import(module)?;
                    let bound = match asname {
                        Some(_) => m,
                        None => {
                            let top = module.split('.').next().unwrap_or("");
                            self.import(top)?
                        }
                    };
                    self.store(target, bound, f)?;
                }
            }
            StmtKind::ImportFrom(module, names) => {
                let m = self.import(module)?;
                for (name, target) in names {
                    let v = match &m {
                        Value::Module(md) => match md.get(name) {
                            Some(v) => v,
                            None => match self.import(&format!("{module}.{name}")) {
                                Ok(v) => v,
                                Err(_) => {
                                    return Err(PyErr::new(
                                        ExcType::ImportError,
                                        format!("cannot import name '{name}' from '{module}' (unknown location)"),
                                    ))
                                }
                            },
                        },
                        _ => unreachable!("import returns modules"),
                    };
                    self.store(target, v, f)?;
                }
            }
            StmtKind::With(items, body) => return self.exec_with(items, body, f),
        }
        Ok(Flow::Normal)
    }

    fn exec_with(&mut self, items: &[(Expr, Option<Target>)], body: &[Stmt], f: &mut Frame) -> PResult<Flow> {
        let Some(((ctx_expr, target), rest)) = items.split_first() else {
            return self.exec_block(body, f);
        };
        let mgr = self.eval(ctx_expr, f)?;
        let entered = self.call_method(&mgr, "__enter__", vec![], vec![])?;
        if let Some(t) = target {
            self.assign(t, entered, f)?;
        }
        let r = if rest.is_empty() { self.exec_block(body, f) } else { self.exec_with(rest, body, f) };
        match r {
            Ok(flow) => {
                self.call_method(&mgr, "__exit__", vec![Value::None, Value::None, Value::None], vec![])?;
                Ok(flow)
            }
            Err(e) if e.fatal => Err(e),
            Err(e) => {
                let suppress = self.call_method(&mgr, "__exit__", vec![Value::Class(e.class().clone()), e.value(), Value::None], vec![])?;
                if self.truthy(&suppress)? {
                    Ok(Flow::Normal)
                } else {
                    Err(e)
                }
            }
        }
    }

    fn raise(&mut self, exc: Option<&Expr>, cause: Option<&Expr>, f: &mut Frame) -> PResult<PyErr> {
        let Some(exc) = exc else {
            return match self.handling.last() {
                Some(e) => {
                    let mut e = e.clone();
                    e.located = true;
                    Ok(e)
                }
                None => Err(PyErr::new(ExcType::RuntimeError, "No active exception to reraise")),
            };
        };
        let v = self.eval(exc, f)?;
        let err = self.make_exception(v)?;
        if let Some(c) = cause {
            let cv = self.eval(c, f)?;
            let cause_err = if cv.is_none() { None } else { Some(self.make_exception(cv)?) };
            let mut st = err.state().borrow_mut();
            st.cause = cause_err;
            st.suppress_context = true;
        }
        Ok(err)
    }

    /// `raise X` accepts an exception class or instance.
    pub(crate) fn make_exception(&mut self, v: Value) -> PResult<PyErr> {
        match v {
            Value::Class(c) if c.is_exception => {
                let inst = self.call_value(&Value::Class(c), vec![], vec![])?;
                self.make_exception(inst)
            }
            Value::Instance(i) if i.exc.is_some() => Ok(PyErr::from_instance(i)),
            _ => Err(PyErr::new(ExcType::TypeError, "exceptions must derive from BaseException")),
        }
    }

    fn exec_try(&mut self, t: &Try, f: &mut Frame) -> PResult<Flow> {
        let mut result = self.exec_block(&t.body, f);
        if let Err(e) = &result {
            if !e.fatal {
                let e = e.clone();
                if let Some(h) = self.find_handler(t, &e, f)? {
                    result = self.run_handler(h, e, f);
                }
            }
        } else if !t.orelse.is_empty() {
            if let Ok(Flow::Normal) = result {
                result = self.exec_block(&t.orelse, f);
            }
        }
        if t.finalbody.is_empty() {
            return result;
        }
        let pending = result.as_ref().err().cloned();
        if let Some(e) = &pending {
            self.handling.push(e.clone());
        }
        let fin = self.exec_block(&t.finalbody, f);
        if pending.is_some() {
            self.handling.pop();
        }
        match fin {
            Ok(Flow::Normal) => result,
            Ok(flow) => Ok(flow),
            Err(e2) => {
                if let Some(e) = pending {
                    set_context(&e2, &e);
                }
                Err(e2)
            }
        }
    }

    fn find_handler<'t>(&mut self, t: &'t Try, e: &PyErr, f: &mut Frame) -> PResult<Option<&'t Handler>> {
        for h in &t.handlers {
            let Some(typ) = &h.typ else { return Ok(Some(h)) };
            let tv = self.eval(typ, f)?;
            if self.exc_matches(e, &tv)? {
                return Ok(Some(h));
            }
        }
        Ok(None)
    }

    fn exc_matches(&mut self, e: &PyErr, tv: &Value) -> PResult<bool> {
        match tv {
            Value::Class(c) => Ok(e.class().is_subclass(c)),
            Value::Tuple(items) => {
                for it in items.iter() {
                    if self.exc_matches(e, it)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => Err(PyErr::new(ExcType::TypeError, "catching classes that do not inherit from BaseException is not allowed")),
        }
    }

    fn run_handler(&mut self, h: &Handler, e: PyErr, f: &mut Frame) -> PResult<Flow> {
        if let Some(name) = &h.name {
            self.store(name, e.value(), f)?;
        }
        self.handling.push(e.clone());
        let r = self.exec_block(&h.body, f);
        self.handling.pop();
        if let Some(name) = &h.name {
            let _ = self.unbind(name, f);
        }
        if let Err(e2) = &r {
            set_context(e2, &e);
        }
        r
    }

    fn class_def(&mut self, cd: &ClassDef, f: &mut Frame) -> PResult<()> {
        let mut bases = vec![];
        for b in &cd.bases {
            match self.eval(b, f)? {
                Value::Class(c) => bases.push(c),
                Value::Type(TypeKind::Object) => {}
                other => {
                    return Err(PyErr::new(
                        ExcType::TypeError,
                        format!("zkspark's Python cannot subclass '{}'", other.type_name()),
                    ))
                }
            }
        }
        let ns = Rc::new(RefCell::new(IndexMap::new()));
        ns.borrow_mut().insert(s("__module__"), Value::str("__main__"));
        ns.borrow_mut().insert(s("__qualname__"), Value::str(&cd.name));
        let mut body_frame = Frame {
            scope: f.scope.clone(),
            class_ns: Some(ns.clone()),
            globals: f.globals.clone(),
            func: cd.name.clone(),
            yields: None,
            this_fn: None,
        };
        self.exec_block(&cd.body, &mut body_frame)?;
        let is_exception = bases.iter().any(|b| b.is_exception);
        let ns_map = std::mem::take(&mut *ns.borrow_mut());
        let cls = Rc::new(Class {
            name: cd.name.clone(),
            module: Some(s("__main__")),
            bases: bases.clone(),
            mro: RefCell::new(vec![]),
            ns: RefCell::new(ns_map),
            is_exception,
            id: next_id(),
        });
        let mut mro = vec![cls.clone()];
        for b in &bases {
            for c in b.mro.borrow().iter() {
                if !mro.iter().any(|m| Rc::ptr_eq(m, c)) {
                    mro.push(c.clone());
                }
            }
        }
        *cls.mro.borrow_mut() = mro;
        for v in cls.ns.borrow().values() {
            if let Value::Function(f) = v {
                *f.owner.borrow_mut() = Some(cls.clone());
            }
        }
        let mut v = Value::Class(cls);
        for d in cd.decorators.iter().rev() {
            let dv = self.eval(d, f)?;
            v = self.call_value(&dv, vec![v], vec![])?;
        }
        self.store(&cd.target, v, f)
    }

    fn import(&mut self, name: &str) -> PResult<Value> {
        if let Some(m) = self.modules.get(name) {
            return Ok(Value::Module(m.clone()));
        }
        if let Some(m) = super::modules::stdlib_module(name) {
            self.modules.insert(name.to_string(), m.clone());
            return Ok(Value::Module(m));
        }
        Err(PyErr::new(ExcType::ModuleNotFoundError, format!("No module named '{name}'")))
    }

    // ----- names -----

    fn load(&mut self, r: &NameRef, f: &Frame) -> PResult<Value> {
        match r {
            NameRef::Local(slot, name) => {
                let scope = f.scope.as_ref().expect("locals only inside functions");
                let v = scope.slots.borrow()[*slot as usize].clone();
                v.ok_or_else(|| {
                    PyErr::new(
                        ExcType::UnboundLocalError,
                        format!("cannot access local variable '{name}' where it is not associated with a value"),
                    )
                })
            }
            NameRef::Free(depth, slot, name) => {
                let scope = f.scope.as_ref().and_then(|s| s.ancestor(*depth));
                let v = scope.and_then(|s| s.slots.borrow().get(*slot as usize).cloned().flatten());
                v.ok_or_else(|| {
                    PyErr::new(
                        ExcType::NameError,
                        format!("cannot access free variable '{name}' where it is not associated with a value in enclosing scope"),
                    )
                })
            }
            NameRef::Global(name) => self.load_global(name, &f.globals),
            NameRef::ClassBody(name) => {
                if let Some(ns) = &f.class_ns {
                    if let Some(v) = ns.borrow().get(&**name) {
                        return Ok(v.clone());
                    }
                }
                self.load_global(name, &f.globals)
            }
        }
    }

    fn load_global(&self, name: &Str, globals: &Globals) -> PResult<Value> {
        if let Some(v) = globals.vars.borrow().get(&**name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.builtins.get(&**name) {
            return Ok(v.clone());
        }
        Err(PyErr::new(ExcType::NameError, format!("name '{name}' is not defined")))
    }

    pub(crate) fn store(&mut self, r: &NameRef, v: Value, f: &Frame) -> PResult<()> {
        match r {
            NameRef::Local(slot, _) => {
                let scope = f.scope.as_ref().expect("locals only inside functions");
                scope.slots.borrow_mut()[*slot as usize] = Some(v);
            }
            NameRef::Free(depth, slot, _) => {
                let scope = f.scope.as_ref().and_then(|s| s.ancestor(*depth)).expect("resolved free variable has a scope");
                scope.slots.borrow_mut()[*slot as usize] = Some(v);
            }
            NameRef::Global(name) => {
                f.globals.vars.borrow_mut().insert(name.clone(), v);
            }
            NameRef::ClassBody(name) => match &f.class_ns {
                Some(ns) => {
                    ns.borrow_mut().insert(name.clone(), v);
                }
                None => {
                    f.globals.vars.borrow_mut().insert(name.clone(), v);
                }
            },
        }
        Ok(())
    }

    fn unbind(&mut self, r: &NameRef, f: &Frame) -> PResult<()> {
        let missing = |name: &Str| PyErr::new(ExcType::NameError, format!("name '{name}' is not defined"));
        match r {
            NameRef::Local(slot, name) | NameRef::Free(_, slot, name) => {
                let depth = if let NameRef::Free(d, ..) = r { *d } else { 0 };
                let scope = f.scope.as_ref().and_then(|s| s.ancestor(depth)).expect("resolved");
                let old = scope.slots.borrow_mut()[*slot as usize].take();
                old.map(|_| ()).ok_or_else(|| missing(name))
            }
            NameRef::Global(name) => f.globals.vars.borrow_mut().shift_remove(&**name).map(|_| ()).ok_or_else(|| missing(name)),
            NameRef::ClassBody(name) => match &f.class_ns {
                Some(ns) => ns.borrow_mut().shift_remove(&**name).map(|_| ()).ok_or_else(|| missing(name)),
                None => f.globals.vars.borrow_mut().shift_remove(&**name).map(|_| ()).ok_or_else(|| missing(name)),
            },
        }
    }

    // ----- assignment -----

    pub(crate) fn assign(&mut self, t: &Target, v: Value, f: &mut Frame) -> PResult<()> {
        match t {
            Target::Name(r) => self.store(r, v, f),
            Target::Attr(obj, name, loc) => {
                let o = self.eval(obj, f)?;
                self.set_attr(&o, name, v).map_err(|e| e.locate(&f.func, *loc))
            }
            Target::Subscript(obj, idx, loc) => {
                let o = self.eval(obj, f)?;
                let i = self.eval(idx, f)?;
                self.set_item(&o, i, v).map_err(|e| e.locate(&f.func, *loc))
            }
            Target::Seq(targets, star, loc) => {
                let items = self.unpack(v, targets.len(), *star).map_err(|e| e.locate(&f.func, *loc))?;
                for (t, item) in targets.iter().zip(items) {
                    self.assign(t, item, f)?;
                }
                Ok(())
            }
        }
    }

    fn unpack(&mut self, v: Value, n: usize, star: Option<usize>) -> PResult<Vec<Value>> {
        let items = match &v {
            Value::Tuple(t) => (**t).clone(),
            Value::List(l) => l.borrow().clone(),
            _ => {
                if !self.is_iterable(&v) {
                    return Err(PyErr::new(ExcType::TypeError, format!("cannot unpack non-iterable {} object", v.type_name())));
                }
                self.collect(&v)?
            }
        };
        match star {
            None => {
                if items.len() > n {
                    return Err(PyErr::new(ExcType::ValueError, format!("too many values to unpack (expected {n})")));
                }
                if items.len() < n {
                    return Err(PyErr::new(
                        ExcType::ValueError,
                        format!("not enough values to unpack (expected {n}, got {})", items.len()),
                    ));
                }
                Ok(items)
            }
            Some(si) => {
                let fixed = n - 1;
                if items.len() < fixed {
                    return Err(PyErr::new(
                        ExcType::ValueError,
                        format!("not enough values to unpack (expected at least {fixed}, got {})", items.len()),
                    ));
                }
                let after = n - si - 1;
                let mut out: Vec<Value> = items[..si].to_vec();
                out.push(Value::list(items[si..items.len() - after].to_vec()));
                out.extend_from_slice(&items[items.len() - after..]);
                Ok(out)
            }
        }
    }

    fn aug_assign(&mut self, t: &Target, op: BinOp, value: &Expr, f: &mut Frame) -> PResult<()> {
        match t {
            Target::Name(r) => {
                let cur = self.load(r, f)?;
                let rhs = self.eval(value, f)?;
                let v = self.inplace_op(op, cur, rhs)?;
                self.store(r, v, f)
            }
            Target::Attr(obj, name, _) => {
                let o = self.eval(obj, f)?;
                let cur = self.get_attr(&o, name)?;
                let rhs = self.eval(value, f)?;
                let v = self.inplace_op(op, cur, rhs)?;
                self.set_attr(&o, name, v)
            }
            Target::Subscript(obj, idx, loc) => {
                let o = self.eval(obj, f)?;
                let i = self.eval(idx, f)?;
                let cur = self.get_item(&o, &i).map_err(|e| e.locate(&f.func, *loc))?;
                let rhs = self.eval(value, f)?;
                let v = self.inplace_op(op, cur, rhs)?;
                self.set_item(&o, i, v)
            }
            Target::Seq(..) => Err(PyErr::new(ExcType::SyntaxError, "illegal expression for augmented assignment")),
        }
    }

    fn delete(&mut self, t: &Target, f: &mut Frame) -> PResult<()> {
        match t {
            Target::Name(r) => self.unbind(r, f),
            Target::Attr(obj, name, _) => {
                let o = self.eval(obj, f)?;
                match &o {
                    Value::Instance(i) => i.dict.borrow_mut().shift_remove(&**name).map(|_| ()).ok_or_else(|| no_attr(&o, name)),
                    _ => Err(no_attr(&o, name)),
                }
            }
            Target::Subscript(obj, idx, loc) => {
                let o = self.eval(obj, f)?;
                let i = self.eval(idx, f)?;
                self.del_item(&o, &i).map_err(|e| e.locate(&f.func, *loc))
            }
            Target::Seq(ts, _, _) => {
                for t in ts {
                    self.delete(t, f)?;
                }
                Ok(())
            }
        }
    }

    // ----- expressions -----

    pub(crate) fn eval(&mut self, e: &Expr, f: &mut Frame) -> PResult<Value> {
        if let ExprKind::Const(c) = &e.kind {
            return Ok(const_value(c));
        }
        self.check_stack().map_err(|err| err.locate(&f.func, e.loc))?;
        self.eval_kind(e, f).map_err(|err| err.locate(&f.func, e.loc))
    }

    fn eval_kind(&mut self, e: &Expr, f: &mut Frame) -> PResult<Value> {
        Ok(match &e.kind {
            ExprKind::Const(c) => const_value(c),
            ExprKind::Name(r) => self.load(r, f)?,
            ExprKind::Attr(obj, name) => {
                let o = self.eval(obj, f)?;
                self.get_attr(&o, name)?
            }
            ExprKind::Subscript(obj, idx) => {
                let o = self.eval(obj, f)?;
                let i = self.eval(idx, f)?;
                self.get_item(&o, &i)?
            }
            ExprKind::Slice(a, b, c) => {
                let mut parts = [Value::None, Value::None, Value::None];
                for (slot, p) in parts.iter_mut().zip([a, b, c]) {
                    if let Some(p) = p {
                        *slot = self.eval(p, f)?;
                    }
                }
                Value::Slice(Rc::new(parts))
            }
            ExprKind::BinOp(l, op, r) => {
                let a = self.eval(l, f)?;
                let b = self.eval(r, f)?;
                self.binop(*op, &a, &b)?
            }
            ExprKind::Unary(op, x) => {
                let v = self.eval(x, f)?;
                self.unary(*op, &v)?
            }
            ExprKind::BoolOp(is_and, values) => {
                let mut last = Value::None;
                for (i, ve) in values.iter().enumerate() {
                    last = self.eval(ve, f)?;
                    if i + 1 == values.len() {
                        break;
                    }
                    let t = self.truthy(&last)?;
                    if t != *is_and {
                        break;
                    }
                }
                last
            }
            ExprKind::Compare(left, rest) => {
                let mut a = self.eval(left, f)?;
                for (op, re) in rest {
                    let b = self.eval(re, f)?;
                    if !self.compare(*op, &a, &b)? {
                        return Ok(Value::Bool(false));
                    }
                    a = b;
                }
                Value::Bool(true)
            }
            ExprKind::IfExp(test, body, orelse) => {
                let c = self.eval(test, f)?;
                if self.truthy(&c)? {
                    self.eval(body, f)?
                } else {
                    self.eval(orelse, f)?
                }
            }
            ExprKind::Call(func, args) => self.eval_call(func, args, f)?,
            ExprKind::Lambda(def, defaults, kw) => self.make_function(def, defaults, kw, f)?,
            ExprKind::List(items) => Value::list(self.eval_items(items, f)?),
            ExprKind::Tuple(items) => Value::tuple(self.eval_items(items, f)?),
            ExprKind::Set(items) => {
                let values = self.eval_items(items, f)?;
                if items.len() > 2 && items.iter().all(is_constant) {
                    // CPython compiles `{1, 2, 3}` to BUILD_SET 0 + SET_UPDATE of a frozenset
                    // constant: the set is a merge of that frozenset, which orders it.
                    // The compiler's constant merging rebuilds that frozenset from its own
                    // iteration order once more (`merge_consts_recursive`).
                    let first = Set::from_values(values)?;
                    let folded = Set::from_values(first.ordered())?;
                    let mut s = Set::new();
                    s.merge(&folded);
                    Value::set(s)
                } else {
                    Value::set(Set::from_values(values)?)
                }
            }
            ExprKind::Dict(items) => {
                let mut d = Dict::new();
                for (k, v) in items {
                    match k {
                        Some(k) => {
                            let kv = self.eval(k, f)?;
                            let vv = self.eval(v, f)?;
                            d.set(kv, vv)?;
                        }
                        None => {
                            let m = self.eval(v, f)?;
                            for (k, v) in self.mapping_items(&m)? {
                                d.set(k, v)?;
                            }
                        }
                    }
                }
                Value::dict(d)
            }
            ExprKind::Starred(_) => return Err(PyErr::new(ExcType::SyntaxError, "can't use starred expression here")),
            ExprKind::Comp(c) => self.eval_comp(c, f)?,
            ExprKind::FString(parts) => Value::str(&self.eval_fstring(parts, f)?),
            ExprKind::Walrus(target, value) => {
                let v = self.eval(value, f)?;
                self.store(target, v.clone(), f)?;
                v
            }
            ExprKind::Yield(v) => {
                let v = match v {
                    Some(e) => self.eval(e, f)?,
                    None => Value::None,
                };
                match &mut f.yields {
                    Some(ys) => ys.push(v),
                    None => return Err(PyErr::new(ExcType::SyntaxError, "'yield' outside function")),
                }
                Value::None
            }
            ExprKind::YieldFrom(src) => {
                let v = self.eval(src, f)?;
                let items = self.collect(&v)?;
                match &mut f.yields {
                    Some(ys) => ys.extend(items),
                    None => return Err(PyErr::new(ExcType::SyntaxError, "'yield' outside function")),
                }
                Value::None
            }
        })
    }

    fn eval_items(&mut self, items: &[Expr], f: &mut Frame) -> PResult<Vec<Value>> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            if let ExprKind::Starred(inner) = &it.kind {
                let v = self.eval(inner, f)?;
                out.extend(self.collect(&v).map_err(|e| e.locate(&f.func, it.loc))?);
            } else {
                out.push(self.eval(it, f)?);
            }
        }
        Ok(out)
    }

    fn eval_call(&mut self, func: &Expr, args: &[Arg], f: &mut Frame) -> PResult<Value> {
        // `obj.method(...)` skips building a bound method.
        let (callee, method) = match &func.kind {
            ExprKind::Attr(obj, name) => {
                let o = self.eval(obj, f)?;
                (o, Some((name, func.loc)))
            }
            _ => (self.eval(func, f)?, None),
        };
        let mut pos = Vec::with_capacity(args.len());
        let mut kw: Vec<(Str, Value)> = vec![];
        for a in args {
            match a {
                Arg::Pos(e) => pos.push(self.eval(e, f)?),
                Arg::Star(e) => {
                    let v = self.eval(e, f)?;
                    pos.extend(self.collect(&v)?);
                }
                Arg::Kw(name, e) => kw.push((name.clone(), self.eval(e, f)?)),
                Arg::StarStar(e) => {
                    let m = self.eval(e, f)?;
                    for (k, v) in self.mapping_items(&m)? {
                        match k {
                            Value::Str(s) => kw.push((Shared(s), v)),
                            _ => return Err(PyErr::new(ExcType::TypeError, "keywords must be strings")),
                        }
                    }
                }
            }
        }
        match method {
            Some((name, loc)) => {
                let fname = f.func.clone();
                self.call_method_at(&callee, name, pos, kw, &fname, loc)
            }
            None => {
                if pos.is_empty() && kw.is_empty() && matches!(&func.kind, ExprKind::Name(NameRef::Global(g)) if &**g == "super") {
                    return self.zero_arg_super(f);
                }
                self.call_value(&callee, pos, kw)
            }
        }
    }

    /// `super()` inside a method: the class that defined it and its first argument.
    fn zero_arg_super(&mut self, f: &Frame) -> PResult<Value> {
        let err = || PyErr::new(ExcType::RuntimeError, "super(): no arguments");
        let fun = f.this_fn.clone().ok_or_else(err)?;
        let owner = fun.owner.borrow().clone().ok_or_else(err)?;
        let first = fun.def.args.first().ok_or_else(err)?;
        let this = f.scope.as_ref().and_then(|sc| sc.slots.borrow()[first.slot as usize].clone()).ok_or_else(err)?;
        super::builtins::make_super(&owner, this)
    }

    /// `obj.name(args)`; an attribute error is located at `obj.name` as CPython does.
    fn call_method_at(&mut self, obj: &Value, name: &Str, args: Vec<Value>, kwargs: Vec<(Str, Value)>, func: &Str, attr_loc: Loc) -> PResult<Value> {
        match obj {
            Value::Instance(_) | Value::Class(_) | Value::Module(_) | Value::Native(_) => {
                let m = self.get_attr(obj, name).map_err(|e| e.locate(func, attr_loc))?;
                self.call_value(&m, args, kwargs)
            }
            _ if super::methods::has_method(obj, name) => match super::methods::call_method(self, obj, name, args, kwargs) {
                Some(r) => r,
                None => Err(no_attr(obj, name).locate(func, attr_loc)),
            },
            _ => {
                let m = self.get_attr(obj, name).map_err(|e| e.locate(func, attr_loc))?;
                self.call_value(&m, args, kwargs)
            }
        }
    }

    /// `obj.name(args)` from Rust.
    pub fn call_method(&mut self, obj: &Value, name: &str, args: Vec<Value>, kwargs: Vec<(Str, Value)>) -> PResult<Value> {
        self.call_method_at(obj, &s(name), args, kwargs, &s("<native>"), Loc::default())
    }

    pub(crate) fn make_function(&mut self, def: &Shared<FuncDef>, defaults: &[Expr], kw: &[Option<Expr>], f: &mut Frame) -> PResult<Value> {
        let mut dv = Vec::with_capacity(defaults.len());
        for d in defaults {
            dv.push(self.eval(d, f)?);
        }
        let mut kv = Vec::with_capacity(kw.len());
        for k in kw {
            kv.push(match k {
                Some(e) => Some(self.eval(e, f)?),
                None => None,
            });
        }
        Ok(Value::Function(Rc::new(Function {
            def: def.clone(),
            defaults: dv,
            kw_defaults: kv,
            closure: f.scope.clone(),
            globals: f.globals.clone(),
            id: next_id(),
            dict: RefCell::new(IndexMap::new()),
            owner: RefCell::new(None),
        })))
    }

    fn eval_comp(&mut self, c: &Comp, f: &mut Frame) -> PResult<Value> {
        let first = self.eval(&c.gens[0].iter, f)?;
        let first = self.get_iter(&first)?;
        let name = match c.kind {
            CompKind::List => "<listcomp>",
            CompKind::Set => "<setcomp>",
            CompKind::Dict => "<dictcomp>",
            CompKind::Gen => "<genexpr>",
        };
        let mut cf = Frame {
            scope: Some(Scope::new(c.n_slots as usize, f.scope.clone())),
            class_ns: None,
            globals: f.globals.clone(),
            func: s(name),
            yields: None,
            this_fn: None,
        };
        self.depth += 1;
        let mut out = CompOut::new(c.kind);
        let r = self.comp_level(c, 0, Some(first), &mut cf, &mut out);
        self.depth -= 1;
        let r = r.map_err(|mut e| {
            e.located = false;
            e
        });
        match (c.kind, r) {
            (CompKind::Gen, Err(e)) if !e.fatal => Ok(deferred_iter(out.items, e, TypeKind::Generator)),
            (_, Err(e)) => Err(e),
            (_, Ok(())) => Ok(out.finish()),
        }
    }

    fn comp_level(&mut self, c: &Comp, level: usize, first: Option<Value>, cf: &mut Frame, out: &mut CompOut) -> PResult<()> {
        let g = &c.gens[level];
        let it = match first {
            Some(it) => it,
            None => {
                let v = self.eval(&g.iter, cf)?;
                self.get_iter(&v)?
            }
        };
        'items: while let Some(v) = self.next(&it)? {
            self.step()?;
            self.assign(&g.target, v, cf)?;
            for cond in &g.ifs {
                let t = self.eval(cond, cf)?;
                if !self.truthy(&t)? {
                    continue 'items;
                }
            }
            if level + 1 < c.gens.len() {
                self.comp_level(c, level + 1, None, cf, out)?;
            } else {
                let x = self.eval(&c.elt, cf)?;
                match &c.value {
                    Some(ve) => {
                        let y = self.eval(ve, cf)?;
                        out.dict.set(x, y)?;
                    }
                    None => out.push(x)?,
                }
            }
        }
        Ok(())
    }

    fn eval_fstring(&mut self, parts: &[FPart], f: &mut Frame) -> PResult<String> {
        let mut out = String::new();
        for p in parts {
            match p {
                FPart::Lit(text) => out.push_str(text),
                FPart::Value { expr, conv, spec, debug } => {
                    if let Some(d) = debug {
                        out.push_str(d);
                    }
                    let v = self.eval(expr, f)?;
                    let v = match conv {
                        Some('r') => Value::str(&self.repr(&v)?),
                        Some('s') => Value::str(&self.to_str(&v)?),
                        Some('a') => Value::str(&repr::ascii(&self.repr(&v)?)),
                        _ => v,
                    };
                    let spec = match spec {
                        Some(sp) => self.eval_fstring(sp, f)?,
                        None => String::new(),
                    };
                    out.push_str(&self.format(&v, &spec)?);
                }
            }
        }
        Ok(out)
    }

    // ----- calls -----

    pub(crate) fn call_value(&mut self, func: &Value, mut args: Vec<Value>, kwargs: Vec<(Str, Value)>) -> PResult<Value> {
        match func {
            Value::Function(fun) => self.call_function(fun, args, kwargs),
            Value::Builtin(b) => {
                if b.this.is_none() && b.module.starts_with("<unbound") {
                    if args.is_empty() {
                        return Err(PyErr::new(ExcType::TypeError, format!("unbound method {}.{}() needs an argument", &b.module[9..b.module.len() - 1], b.name)));
                    }
                    let this = args.remove(0);
                    return match super::methods::call_method(self, &this, &b.name, args, kwargs) {
                        Some(r) => r,
                        None => Err(no_attr(&this, &b.name)),
                    };
                }
                if !b.module.is_empty() {
                    super::modules::CURRENT_BUILTIN.with(|c| {
                        let mut c = c.borrow_mut();
                        c.clear();
                        c.push_str(&b.name);
                    });
                }
                if let Some(this) = &b.this {
                    return match super::methods::call_method(self, this, &b.name, args, kwargs) {
                        Some(r) => r,
                        None => Err(no_attr(this, &b.name)),
                    };
                }
                self.step()?;
                (b.f)(self, args, kwargs)
            }
            Value::Method(m) => {
                args.insert(0, m.0.clone());
                self.call_value(&m.1, args, kwargs)
            }
            Value::Type(t) => super::builtins::construct(self, *t, args, kwargs),
            Value::Class(c) => self.instantiate(c, args, kwargs),
            Value::Native(n) => {
                let n = n.clone();
                n.call(&n, args, kwargs, self)
            }
            Value::NativeMethod(m) => {
                let (n, name) = (m.0.clone(), m.1.clone());
                n.call_method(&n, &name, args, kwargs, self)
            }
            Value::Instance(i) => match i.class.lookup("__call__") {
                Some(call) => {
                    args.insert(0, func.clone());
                    self.call_value(&call, args, kwargs)
                }
                None => Err(not_callable(func)),
            },
            _ => Err(not_callable(func)),
        }
    }

    fn instantiate(&mut self, c: &Rc<Class>, args: Vec<Value>, kwargs: Vec<(Str, Value)>) -> PResult<Value> {
        let inst = if c.is_exception {
            super::error::new_exception(c.clone(), args.clone())
        } else {
            Rc::new(Instance { class: c.clone(), dict: RefCell::new(IndexMap::new()), exc: None, id: next_id() })
        };
        let v = Value::Instance(inst);
        match c.lookup("__init__") {
            Some(init) => {
                let mut a = vec![v.clone()];
                a.extend(args);
                let r = self.call_value(&init, a, kwargs)?;
                if !r.is_none() {
                    return Err(PyErr::new(ExcType::TypeError, format!("__init__() should return None, not '{}'", r.type_name())));
                }
            }
            None => {
                if !c.is_exception && (!args.is_empty() || !kwargs.is_empty()) {
                    return Err(PyErr::new(ExcType::TypeError, format!("{}() takes no arguments", c.name)));
                }
            }
        }
        Ok(v)
    }

    pub(crate) fn call_function(&mut self, fun: &Rc<Function>, args: Vec<Value>, kwargs: Vec<(Str, Value)>) -> PResult<Value> {
        self.step()?;
        if self.depth >= self.limits.max_depth {
            return Err(PyErr::new(ExcType::RecursionError, "maximum recursion depth exceeded"));
        }
        self.check_stack()?;
        let def = &fun.def;
        let scope = Scope::new(def.slot_names.len(), fun.closure.clone());
        bind_args(fun, &scope, args, kwargs)?;
        let mut frame = Frame {
            scope: Some(scope),
            class_ns: None,
            globals: fun.globals.clone(),
            func: def.name.clone(),
            yields: if def.is_generator { Some(vec![]) } else { None },
            this_fn: Some(fun.clone()),
        };
        self.depth += 1;
        let r = match &def.lambda {
            Some(body) => self.eval(body, &mut frame),
            None => self.exec_block(&def.body, &mut frame).map(|flow| match flow {
                Flow::Return(v) => v,
                _ => Value::None,
            }),
        };
        self.depth -= 1;
        if def.is_generator {
            let items = frame.yields.take().unwrap_or_default();
            return match r {
                Ok(_) => Ok(Value::Iter(Rc::new(RefCell::new(Iter::Seq { items: Rc::new(items), pos: 0, kind: TypeKind::Generator })))),
                Err(mut e) if !e.fatal => {
                    e.located = false;
                    Ok(deferred_iter(items, e, TypeKind::Generator))
                }
                Err(e) => Err(e),
            };
        }
        r.map_err(|mut e| {
            e.located = false;
            e
        })
    }

    // ----- attributes -----

    pub fn get_attr(&mut self, obj: &Value, name: &str) -> PResult<Value> {
        match obj {
            Value::Instance(inst) => {
                if let Some(v) = inst.dict.borrow().get(name) {
                    return Ok(v.clone());
                }
                if let Some(st) = &inst.exc {
                    let st = st.borrow();
                    match name {
                        "args" => return Ok(Value::tuple(st.args.clone())),
                        "__cause__" => return Ok(st.cause.as_ref().map(|e| e.value()).unwrap_or(Value::None)),
                        "__context__" => return Ok(st.context.as_ref().map(|e| e.value()).unwrap_or(Value::None)),
                        "__suppress_context__" => return Ok(Value::Bool(st.suppress_context)),
                        _ => {}
                    }
                }
                if name == "__class__" {
                    return Ok(Value::Class(inst.class.clone()));
                }
                match inst.class.lookup(name) {
                    Some(Value::Function(f)) => Ok(Value::Method(Rc::new((obj.clone(), Value::Function(f))))),
                    Some(v) => Ok(v),
                    None => {
                        if let Some(ga) = inst.class.lookup("__getattr__") {
                            return self.call_value(&ga, vec![obj.clone(), Value::str(name)], vec![]);
                        }
                        Err(no_attr(obj, name))
                    }
                }
            }
            Value::Class(c) => match name {
                "__name__" => Ok(Value::str(&c.name)),
                "__qualname__" => Ok(Value::str(&c.name)),
                "__module__" => Ok(Value::str(c.module.as_deref().unwrap_or("builtins"))),
                _ => c.lookup(name).ok_or_else(|| PyErr::new(ExcType::AttributeError, format!("type object '{}' has no attribute '{}'", c.name, name))),
            },
            Value::Module(m) => m.get(name).ok_or_else(|| PyErr::new(ExcType::AttributeError, format!("module '{}' has no attribute '{}'", m.name, name))),
            Value::Native(n) => {
                let n = n.clone();
                match n.get_attr(&n, name, self)? {
                    NativeAttr::Value(v) => Ok(v),
                    NativeAttr::Method => Ok(Value::NativeMethod(Rc::new((n, s(name))))),
                    NativeAttr::Missing => Err(no_attr(obj, name)),
                }
            }
            Value::Function(f) => match name {
                "__name__" => Ok(Value::str(&f.def.name)),
                "__qualname__" => Ok(Value::str(&f.def.qualname)),
                "__module__" => Ok(Value::str("__main__")),
                "__defaults__" => Ok(if f.defaults.is_empty() { Value::None } else { Value::tuple(f.defaults.clone()) }),
                _ => f.dict.borrow().get(name).cloned().ok_or_else(|| no_attr(obj, name)),
            },
            Value::Builtin(b) if name == "__name__" => Ok(Value::str(&b.name)),
            Value::Type(t) => match name {
                "__name__" | "__qualname__" => Ok(Value::str(t.name())),
                _ => super::methods::unbound_method(*t, name)
                    .ok_or_else(|| PyErr::new(ExcType::AttributeError, format!("type object '{}' has no attribute '{}'", t.name(), name))),
            },
            _ => {
                if name == "__class__" {
                    return Ok(super::builtins::type_of(obj));
                }
                super::methods::get_attr(obj, name).ok_or_else(|| no_attr(obj, name))
            }
        }
    }

    pub fn set_attr(&mut self, obj: &Value, name: &str, v: Value) -> PResult<()> {
        match obj {
            Value::Instance(inst) => {
                if let Some(sa) = inst.class.lookup("__setattr__") {
                    self.call_value(&sa, vec![obj.clone(), Value::str(name), v], vec![])?;
                    return Ok(());
                }
                inst.dict.borrow_mut().insert(s(name), v);
                Ok(())
            }
            Value::Class(c) => {
                c.ns.borrow_mut().insert(s(name), v);
                Ok(())
            }
            Value::Function(f) => {
                f.dict.borrow_mut().insert(s(name), v);
                Ok(())
            }
            Value::Module(m) => {
                m.set(name, v);
                Ok(())
            }
            Value::Native(n) => {
                let n = n.clone();
                n.set_attr(&n, name, v, self)
            }
            _ => Err(no_attr(obj, name)),
        }
    }

    // ----- items -----

    pub fn get_item(&mut self, obj: &Value, idx: &Value) -> PResult<Value> {
        match obj {
            Value::Dict(d) => {
                let r = d.borrow().get(idx)?;
                if let Some(v) = r {
                    return Ok(v);
                }
                let (kind, factory) = {
                    let b = d.borrow();
                    (b.kind, b.default.clone())
                };
                match (kind, factory) {
                    (DictKind::Counter, _) => Ok(Value::Int(0)),
                    (DictKind::DefaultDict, Some(fac)) => {
                        let v = self.call_value(&fac, vec![], vec![])?;
                        d.borrow_mut().set(idx.clone(), v.clone())?;
                        Ok(v)
                    }
                    _ => Err(PyErr::key_error(idx)),
                }
            }
            Value::Instance(i) => match i.class.lookup("__getitem__") {
                Some(g) => self.call_value(&g, vec![obj.clone(), idx.clone()], vec![]),
                None => Err(not_subscriptable(obj)),
            },
            _ => super::methods::get_item(obj, idx),
        }
    }

    pub fn set_item(&mut self, obj: &Value, idx: Value, v: Value) -> PResult<()> {
        match obj {
            Value::Dict(d) => d.borrow_mut().set(idx, v),
            Value::List(l) => super::methods::list_set_item(self, l, &idx, v),
            Value::Instance(i) => match i.class.lookup("__setitem__") {
                Some(g) => self.call_value(&g, vec![obj.clone(), idx, v], vec![]).map(|_| ()),
                None => Err(PyErr::new(ExcType::TypeError, format!("'{}' object does not support item assignment", obj.type_name()))),
            },
            _ => Err(PyErr::new(ExcType::TypeError, format!("'{}' object does not support item assignment", obj.type_name()))),
        }
    }

    fn del_item(&mut self, obj: &Value, idx: &Value) -> PResult<()> {
        match obj {
            Value::Dict(d) => match d.borrow_mut().remove(idx)? {
                Some(_) => Ok(()),
                None => Err(PyErr::key_error(idx)),
            },
            Value::List(l) => super::methods::list_del_item(l, idx),
            Value::Instance(i) => match i.class.lookup("__delitem__") {
                Some(g) => self.call_value(&g, vec![obj.clone(), idx.clone()], vec![]).map(|_| ()),
                None => Err(PyErr::new(ExcType::TypeError, format!("'{}' object does not support item deletion", obj.type_name()))),
            },
            _ => Err(PyErr::new(ExcType::TypeError, format!("'{}' object does not support item deletion", obj.type_name()))),
        }
    }

    // ----- operators -----

    pub fn binop(&mut self, op: BinOp, a: &Value, b: &Value) -> PResult<Value> {
        if let Some(v) = ops::num_binop(op, a, b)? {
            return Ok(v);
        }
        if let Some(v) = super::methods::seq_binop(self, op, a, b)? {
            return Ok(v);
        }
        if let Some(v) = self.user_binop(op, a, b)? {
            return Ok(v);
        }
        Err(binop_error(op, a, b))
    }

    fn user_binop(&mut self, op: BinOp, a: &Value, b: &Value) -> PResult<Option<Value>> {
        let (name, rname) = dunder(op);
        if let Value::Instance(i) = a {
            if let Some(m) = i.class.lookup(name) {
                let r = self.call_value(&m, vec![a.clone(), b.clone()], vec![])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(Some(r));
                }
            }
        }
        if let Value::Instance(i) = b {
            if let Some(m) = i.class.lookup(rname) {
                let r = self.call_value(&m, vec![b.clone(), a.clone()], vec![])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(Some(r));
                }
            }
        }
        if let Value::Native(n) = a {
            let n = n.clone();
            if let Some(v) = n.binary_op(&n, op, b, false, self)? {
                return Ok(Some(v));
            }
        }
        if let Value::Native(n) = b {
            let n = n.clone();
            if let Some(v) = n.binary_op(&n, op, a, true, self)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    fn inplace_op(&mut self, op: BinOp, cur: Value, rhs: Value) -> PResult<Value> {
        match (&cur, op) {
            (Value::List(l), BinOp::Add) => {
                let items = self.collect(&rhs)?;
                l.borrow_mut().extend(items);
                return Ok(cur);
            }
            (Value::List(l), BinOp::Mul) => {
                let n = rhs.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, format!("can't multiply sequence by non-int of type '{}'", rhs.type_name())))?;
                let items = l.borrow().clone();
                let mut out = vec![];
                for _ in 0..n.max(0) {
                    out.extend(items.iter().cloned());
                }
                *l.borrow_mut() = out;
                return Ok(cur);
            }
            (Value::Set(sv), BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor) if matches!(rhs, Value::Set(_) | Value::FrozenSet(_)) => {
                let name = match op {
                    BinOp::BitOr => "update",
                    BinOp::BitAnd => "intersection_update",
                    BinOp::Sub => "difference_update",
                    _ => "symmetric_difference_update",
                };
                let _ = sv;
                self.call_method(&cur, name, vec![rhs], vec![])?;
                return Ok(cur);
            }
            (Value::Dict(d), BinOp::BitOr) => {
                for (k, v) in self.mapping_items(&rhs)? {
                    d.borrow_mut().set(k, v)?;
                }
                return Ok(cur);
            }
            (Value::Instance(i), _) => {
                let iname = format!("__i{}", &dunder(op).0[2..]);
                if let Some(m) = i.class.lookup(&iname) {
                    return self.call_value(&m, vec![cur.clone(), rhs], vec![]);
                }
            }
            _ => {}
        }
        self.binop(op, &cur, &rhs).map_err(|e| {
            // CPython names the augmented operator: "unsupported operand type(s) for -=: ...".
            let msg = e.message();
            let prefix = format!("unsupported operand type(s) for {}:", op.symbol());
            match msg.strip_prefix(&prefix) {
                Some(rest) if e.is(ExcType::TypeError) => {
                    let sym = if op == BinOp::Pow { "**" } else { op.symbol() };
                    PyErr::new(ExcType::TypeError, format!("unsupported operand type(s) for {sym}=:{rest}"))
                }
                _ => e,
            }
        })
    }

    fn unary(&mut self, op: UnOp, v: &Value) -> PResult<Value> {
        let bad = |sym: &str| PyErr::new(ExcType::TypeError, format!("bad operand type for unary {}: '{}'", sym, v.type_name()));
        match op {
            UnOp::Not => Ok(Value::Bool(!self.truthy(v)?)),
            UnOp::Neg => match ops::neg(v) {
                Some(r) => Ok(r),
                None => self.unary_dunder(v, "__neg__").unwrap_or_else(|| Err(bad("-"))),
            },
            UnOp::Pos => match v {
                Value::Int(_) | Value::Big(_) | Value::Float(_) => Ok(v.clone()),
                Value::Bool(b) => Ok(Value::Int(*b as i64)),
                _ => self.unary_dunder(v, "__pos__").unwrap_or_else(|| Err(bad("+"))),
            },
            UnOp::Invert => match v {
                Value::Int(i) => Ok(Value::Int(!i)),
                Value::Bool(b) => Ok(Value::Int(!(*b as i64))),
                Value::Big(b) => Ok(Value::big(-(**b).clone() - 1)),
                _ => self.unary_dunder(v, "__invert__").unwrap_or_else(|| Err(bad("~"))),
            },
        }
    }

    fn unary_dunder(&mut self, v: &Value, name: &str) -> Option<PResult<Value>> {
        if let Value::Instance(i) = v {
            if let Some(m) = i.class.lookup(name) {
                return Some(self.call_value(&m, vec![v.clone()], vec![]));
            }
        }
        None
    }

    pub fn compare(&mut self, op: CmpOp, a: &Value, b: &Value) -> PResult<bool> {
        match op {
            CmpOp::Eq => self.eq(a, b),
            CmpOp::Ne => Ok(!self.eq(a, b)?),
            CmpOp::Is => Ok(same_object(a, b)),
            CmpOp::IsNot => Ok(!same_object(a, b)),
            CmpOp::In => self.contains(b, a),
            CmpOp::NotIn => Ok(!self.contains(b, a)?),
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => self.order(op, a, b),
        }
    }

    pub fn eq(&mut self, a: &Value, b: &Value) -> PResult<bool> {
        match (a, b) {
            (Value::Instance(i), _) if i.class.lookup("__eq__").is_some() => {
                let m = i.class.lookup("__eq__").expect("checked");
                let r = self.call_value(&m, vec![a.clone(), b.clone()], vec![])?;
                if matches!(r, Value::NotImplemented) {
                    return Ok(same_object(a, b));
                }
                self.truthy(&r)
            }
            (_, Value::Instance(i)) if i.class.lookup("__eq__").is_some() => self.eq(b, a),
            (Value::List(x), Value::List(y)) => {
                let (x, y) = (x.borrow().clone(), y.borrow().clone());
                self.seq_eq(&x, &y)
            }
            (Value::Tuple(x), Value::Tuple(y)) => self.seq_eq(&x.clone(), &y.clone()),
            (Value::Native(x), Value::Native(y)) => Ok(x.native_eq(&**y).unwrap_or_else(|| structural_eq(a, b))),
            _ => Ok(structural_eq(a, b)),
        }
    }

    fn seq_eq(&mut self, x: &[Value], y: &[Value]) -> PResult<bool> {
        if x.len() != y.len() {
            return Ok(false);
        }
        for (p, q) in x.iter().zip(y.iter()) {
            if !same_object(p, q) && !self.eq(p, q)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `<`, `<=`, `>`, `>=`.
    pub fn order(&mut self, op: CmpOp, a: &Value, b: &Value) -> PResult<bool> {
        use std::cmp::Ordering::*;
        if let (Some(x), Some(y)) = (num(a), num(b)) {
            let o = x.compare(&y);
            return Ok(match (op, o) {
                (_, None) => false,
                (CmpOp::Lt, Some(o)) => o == Less,
                (CmpOp::Le, Some(o)) => o != Greater,
                (CmpOp::Gt, Some(o)) => o == Greater,
                (_, Some(o)) => o != Less,
            });
        }
        let ord = match (a, b) {
            (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
            (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
            (Value::List(x), Value::List(y)) => {
                let (x, y) = (x.borrow().clone(), y.borrow().clone());
                return self.seq_order(op, &x, &y);
            }
            (Value::Tuple(x), Value::Tuple(y)) => return self.seq_order(op, &x.clone(), &y.clone()),
            (Value::Set(_) | Value::FrozenSet(_), Value::Set(_) | Value::FrozenSet(_)) => {
                return super::methods::set_order_cmp(op, a, b);
            }
            _ => None,
        };
        if let Some(o) = ord {
            return Ok(match op {
                CmpOp::Lt => o == Less,
                CmpOp::Le => o != Greater,
                CmpOp::Gt => o == Greater,
                _ => o != Less,
            });
        }
        let (name, rname) = match op {
            CmpOp::Lt => ("__lt__", "__gt__"),
            CmpOp::Le => ("__le__", "__ge__"),
            CmpOp::Gt => ("__gt__", "__lt__"),
            _ => ("__ge__", "__le__"),
        };
        if let Value::Instance(i) = a {
            if let Some(m) = i.class.lookup(name) {
                let r = self.call_value(&m, vec![a.clone(), b.clone()], vec![])?;
                if !matches!(r, Value::NotImplemented) {
                    return self.truthy(&r);
                }
            }
        }
        if let Value::Instance(i) = b {
            if let Some(m) = i.class.lookup(rname) {
                let r = self.call_value(&m, vec![b.clone(), a.clone()], vec![])?;
                if !matches!(r, Value::NotImplemented) {
                    return self.truthy(&r);
                }
            }
        }
        Err(PyErr::new(
            ExcType::TypeError,
            format!("'{}' not supported between instances of '{}' and '{}'", op.symbol(), a.type_name(), b.type_name()),
        ))
    }

    fn seq_order(&mut self, op: CmpOp, x: &[Value], y: &[Value]) -> PResult<bool> {
        for (p, q) in x.iter().zip(y.iter()) {
            if !self.eq(p, q)? {
                return self.order(op, p, q);
            }
        }
        let (lx, ly) = (x.len(), y.len());
        Ok(match op {
            CmpOp::Lt => lx < ly,
            CmpOp::Le => lx <= ly,
            CmpOp::Gt => lx > ly,
            _ => lx >= ly,
        })
    }

    /// `needle in haystack`.
    pub fn contains(&mut self, hay: &Value, needle: &Value) -> PResult<bool> {
        match hay {
            Value::Str(s) => match needle {
                Value::Str(n) => Ok(s.contains(&**n)),
                _ => Err(PyErr::new(ExcType::TypeError, format!("'in <string>' requires string as left operand, not {}", needle.type_name()))),
            },
            Value::Bytes(b) => match needle {
                Value::Bytes(n) => Ok(n.is_empty() || b.windows(n.len()).any(|w| w == &n[..])),
                Value::Int(i) => Ok(b.contains(&(*i as u8))),
                _ => Err(PyErr::new(ExcType::TypeError, "a bytes-like object is required")),
            },
            Value::Dict(d) => Ok(d.borrow().get(needle)?.is_some()),
            Value::DictView(dv) if dv.0 == ViewKind::Keys => Ok(dv.1.borrow().get(needle)?.is_some()),
            Value::Set(st) => st.borrow().contains(needle),
            Value::FrozenSet(st) => st.contains(needle),
            Value::Range(r) => Ok(match needle.as_int() {
                Some(i) => {
                    let n = r.len();
                    n > 0 && (i - r.start) % r.step == 0 && {
                        let k = (i - r.start) / r.step;
                        (0..n).contains(&k)
                    }
                }
                None => false,
            }),
            Value::List(l) => {
                let items = l.borrow().clone();
                self.any_eq(&items, needle)
            }
            Value::Tuple(t) => self.any_eq(&t.clone(), needle),
            Value::Instance(i) if i.class.lookup("__contains__").is_some() => {
                let m = i.class.lookup("__contains__").expect("checked");
                let r = self.call_value(&m, vec![hay.clone(), needle.clone()], vec![])?;
                self.truthy(&r)
            }
            _ => {
                if !self.is_iterable(hay) {
                    return Err(PyErr::new(ExcType::TypeError, format!("argument of type '{}' is not iterable", hay.type_name())));
                }
                let items = self.collect(hay)?;
                self.any_eq(&items, needle)
            }
        }
    }

    fn any_eq(&mut self, items: &[Value], needle: &Value) -> PResult<bool> {
        for x in items {
            if same_object(x, needle) || self.eq(x, needle)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn truthy(&mut self, v: &Value) -> PResult<bool> {
        if let Value::Instance(i) = v {
            if let Some(m) = i.class.lookup("__bool__") {
                let r = self.call_value(&m, vec![v.clone()], vec![])?;
                return Ok(r.truthy());
            }
            if let Some(m) = i.class.lookup("__len__") {
                let r = self.call_value(&m, vec![v.clone()], vec![])?;
                return Ok(r.truthy());
            }
        }
        Ok(v.truthy())
    }

    // ----- iteration -----

    pub fn is_iterable(&self, v: &Value) -> bool {
        match v {
            Value::Str(_) | Value::Bytes(_) | Value::List(_) | Value::Tuple(_) | Value::Dict(_) | Value::Set(_) | Value::FrozenSet(_) | Value::Range(_) | Value::Iter(_) | Value::DictView(_) => true,
            Value::Instance(i) => i.class.lookup("__iter__").is_some() || i.class.lookup("__getitem__").is_some(),
            Value::Native(_) => true,
            _ => false,
        }
    }

    /// `iter(v)`: always a `Value::Iter`.
    pub fn get_iter(&mut self, v: &Value) -> PResult<Value> {
        let it = match v {
            Value::Iter(_) => return Ok(v.clone()),
            Value::List(l) => Iter::List { list: l.clone(), pos: 0 },
            Value::Tuple(t) => Iter::Seq { items: t.clone(), pos: 0, kind: TypeKind::Iterator },
            Value::Range(r) => Iter::Range { next: r.start, stop: r.stop, step: r.step },
            Value::Str(s) => Iter::Str { s: s.clone(), pos: 0 },
            Value::Bytes(b) => seq_iter(b.iter().map(|x| Value::Int(*x as i64)).collect()),
            Value::Dict(d) => seq_iter(d.borrow().keys()),
            Value::Set(st) => seq_iter(st.borrow().ordered()),
            Value::FrozenSet(st) => seq_iter(st.ordered()),
            Value::DictView(dv) => seq_iter(super::methods::view_items(dv)),
            Value::Instance(i) => {
                if let Some(m) = i.class.lookup("__iter__") {
                    let r = self.call_value(&m, vec![v.clone()], vec![])?;
                    if let Value::Instance(ri) = &r {
                        if ri.class.lookup("__next__").is_some() {
                            return self.drain_user_iterator(&r);
                        }
                    }
                    return self.get_iter(&r);
                }
                return Err(not_iterable(v));
            }
            Value::Native(n) => {
                let n = n.clone();
                match n.iterate(&n, self)? {
                    Some(items) => seq_iter(items),
                    None => return Err(not_iterable(v)),
                }
            }
            _ => return Err(not_iterable(v)),
        };
        Ok(Value::Iter(Rc::new(RefCell::new(it))))
    }

    fn drain_user_iterator(&mut self, it: &Value) -> PResult<Value> {
        let mut items = vec![];
        loop {
            self.step()?;
            match self.call_method(it, "__next__", vec![], vec![]) {
                Ok(v) => items.push(v),
                Err(e) if e.is(ExcType::StopIteration) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(Value::Iter(Rc::new(RefCell::new(Iter::Seq { items: Rc::new(items), pos: 0, kind: TypeKind::Iterator }))))
    }

    /// `next(it)`; `None` at the end. Deferred generator errors surface here.
    pub fn next(&mut self, it: &Value) -> PResult<Option<Value>> {
        let Value::Iter(cell) = it else { return Err(PyErr::new(ExcType::TypeError, format!("'{}' object is not an iterator", it.type_name()))) };
        let lazy = matches!(&*cell.borrow(), Iter::Map { .. } | Iter::Filter { .. } | Iter::Zip { .. } | Iter::Enumerate { .. });
        if lazy {
            return self.next_lazy(cell);
        }
        let mut st = cell.borrow_mut();
        Ok(match &mut *st {
            Iter::Seq { items, pos, .. } => {
                if *pos < items.len() {
                    *pos += 1;
                    Some(items[*pos - 1].clone())
                } else {
                    None
                }
            }
            Iter::List { list, pos } => {
                let l = list.borrow();
                if *pos < l.len() {
                    *pos += 1;
                    Some(l[*pos - 1].clone())
                } else {
                    None
                }
            }
            Iter::Range { next, stop, step } => {
                if (*step > 0 && *next < *stop) || (*step < 0 && *next > *stop) {
                    let v = *next;
                    *next = next.saturating_add(*step);
                    Some(Value::Int(v))
                } else {
                    None
                }
            }
            Iter::Str { s, pos } => match s[*pos..].chars().next() {
                Some(c) => {
                    *pos += c.len_utf8();
                    let mut buf = [0u8; 4];
                    Some(Value::str(c.encode_utf8(&mut buf)))
                }
                None => None,
            },
            Iter::Count { next, step } => {
                let v = next.clone();
                let n = ops::num_binop(BinOp::Add, next, step)?.unwrap_or(Value::None);
                *next = n;
                Some(v)
            }
            Iter::Repeat { value, left } => match left {
                Some(0) => None,
                Some(n) => {
                    *n -= 1;
                    Some(value.clone())
                }
                None => Some(value.clone()),
            },
            Iter::Done => None,
            Iter::Map { .. } | Iter::Filter { .. } | Iter::Zip { .. } | Iter::Enumerate { .. } => unreachable!("handled by next_lazy"),
            Iter::Failing { items, pos, error } => {
                if *pos < items.len() {
                    *pos += 1;
                    Some(items[*pos - 1].clone())
                } else {
                    let e = error.clone();
                    *st = Iter::Done;
                    return Err(e);
                }
            }
        })
    }

    fn next_lazy(&mut self, cell: &Rc<RefCell<Iter>>) -> PResult<Option<Value>> {
        enum L {
            Map(Value, Vec<Value>),
            Filter(Value, Value),
            Zip(Vec<Value>),
            Enumerate(i64, Value),
        }
        let snap = match &*cell.borrow() {
            Iter::Map { func, srcs } => L::Map(func.clone(), srcs.clone()),
            Iter::Filter { func, src } => L::Filter(func.clone(), src.clone()),
            Iter::Zip { srcs } => L::Zip(srcs.clone()),
            Iter::Enumerate { next, src } => L::Enumerate(*next, src.clone()),
            _ => unreachable!("lazy iterators only"),
        };
        let done = |cell: &Rc<RefCell<Iter>>| {
            *cell.borrow_mut() = Iter::Done;
            Ok(None)
        };
        match snap {
            L::Map(func, srcs) => {
                let mut row = Vec::with_capacity(srcs.len());
                for src in &srcs {
                    match self.next(src)? {
                        Some(v) => row.push(v),
                        None => return done(cell),
                    }
                }
                self.call_value(&func, row, vec![]).map(Some)
            }
            L::Zip(srcs) => {
                if srcs.is_empty() {
                    return done(cell);
                }
                let mut row = Vec::with_capacity(srcs.len());
                for src in &srcs {
                    match self.next(src)? {
                        Some(v) => row.push(v),
                        None => return done(cell),
                    }
                }
                Ok(Some(Value::tuple(row)))
            }
            L::Filter(func, src) => loop {
                self.step()?;
                let Some(v) = self.next(&src)? else { return done(cell) };
                let keep = if func.is_none() {
                    self.truthy(&v)?
                } else {
                    let r = self.call_value(&func, vec![v.clone()], vec![])?;
                    self.truthy(&r)?
                };
                if keep {
                    return Ok(Some(v));
                }
            },
            L::Enumerate(i, src) => match self.next(&src)? {
                Some(v) => {
                    if let Iter::Enumerate { next, .. } = &mut *cell.borrow_mut() {
                        *next += 1;
                    }
                    Ok(Some(Value::tuple(vec![Value::Int(i), v])))
                }
                None => done(cell),
            },
        }
    }

    /// All items of an iterable (bounded by the step budget for endless iterators).
    pub fn collect(&mut self, v: &Value) -> PResult<Vec<Value>> {
        match v {
            Value::List(l) => return Ok(l.borrow().clone()),
            Value::Tuple(t) => return Ok((**t).clone()),
            _ => {}
        }
        let it = self.get_iter(v)?;
        let mut out = vec![];
        while let Some(x) = self.next(&it)? {
            self.step()?;
            out.push(x);
        }
        Ok(out)
    }

    pub fn mapping_items(&mut self, m: &Value) -> PResult<Vec<(Value, Value)>> {
        match m {
            Value::Dict(d) => Ok(d.borrow().items()),
            Value::Instance(_) => {
                let keys = self.call_method(m, "keys", vec![], vec![])?;
                let mut out = vec![];
                for k in self.collect(&keys)? {
                    let v = self.get_item(m, &k)?;
                    out.push((k, v));
                }
                Ok(out)
            }
            _ => Err(PyErr::new(ExcType::TypeError, format!("'{}' object is not a mapping", m.type_name()))),
        }
    }

    // ----- conversions -----

    pub fn repr(&mut self, v: &Value) -> PResult<String> {
        let mut out = String::new();
        repr::repr_into(v, &mut out, &mut Hook(self), &mut vec![])?;
        Ok(out)
    }

    pub fn to_str(&mut self, v: &Value) -> PResult<String> {
        match v {
            Value::Str(s) => Ok(s.to_string()),
            Value::Instance(i) => {
                if let Some(m) = i.class.lookup("__str__") {
                    let r = self.call_value(&m, vec![v.clone()], vec![])?;
                    return match r {
                        Value::Str(s) => Ok(s.to_string()),
                        other => Err(PyErr::new(ExcType::TypeError, format!("__str__ returned non-string (type {})", other.type_name()))),
                    };
                }
                if i.exc.is_some() {
                    return Ok(repr::to_str(v));
                }
                self.repr(v)
            }
            Value::Native(n) => match n.str() {
                Some(s) => Ok(s),
                None => self.repr(v),
            },
            _ => self.repr(v),
        }
    }

    pub fn format(&mut self, v: &Value, spec: &str) -> PResult<String> {
        if let Value::Instance(i) = v {
            if let Some(m) = i.class.lookup("__format__") {
                let r = self.call_value(&m, vec![v.clone(), Value::str(spec)], vec![])?;
                return self.to_str(&r);
            }
        }
        let text = if spec.is_empty() || matches!(v, Value::Instance(_) | Value::None | Value::List(_) | Value::Tuple(_) | Value::Dict(_)) {
            self.to_str(v)?
        } else {
            String::new()
        };
        super::format::format_value(v, spec, &text)
    }

    pub fn hash(&mut self, v: &Value) -> PResult<i64> {
        if let Value::Instance(i) = v {
            if let Some(m) = i.class.lookup("__hash__") {
                let r = self.call_value(&m, vec![v.clone()], vec![])?;
                return r.as_int().ok_or_else(|| PyErr::new(ExcType::TypeError, "__hash__ method should return an integer"));
            }
        }
        super::hash::hash_value(v)
    }

}

impl Default for Interpreter {
    fn default() -> Self {
        Interpreter::new()
    }
}

struct Hook<'a>(&'a mut Interpreter);

impl ReprHook for Hook<'_> {
    fn instance_repr(&mut self, inst: &Rc<Instance>) -> Option<PResult<String>> {
        let m = inst.class.lookup("__repr__")?;
        Some(self.0.call_value(&m, vec![Value::Instance(inst.clone())], vec![]).and_then(|r| match r {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(PyErr::new(ExcType::TypeError, format!("__repr__ returned non-string (type {})", other.type_name()))),
        }))
    }
}

/// Collects a comprehension's results.
struct CompOut {
    kind: CompKind,
    items: Vec<Value>,
    set: Set,
    dict: Dict,
}

impl CompOut {
    fn new(kind: CompKind) -> CompOut {
        CompOut { kind, items: vec![], set: Set::new(), dict: Dict::new() }
    }

    fn push(&mut self, v: Value) -> PResult<()> {
        match self.kind {
            CompKind::Set => self.set.add(v),
            _ => {
                self.items.push(v);
                Ok(())
            }
        }
    }

    fn finish(self) -> Value {
        match self.kind {
            CompKind::List => Value::list(self.items),
            CompKind::Set => Value::set(self.set),
            CompKind::Dict => Value::dict(self.dict),
            CompKind::Gen => Value::Iter(Rc::new(RefCell::new(Iter::Seq { items: Rc::new(self.items), pos: 0, kind: TypeKind::Generator }))),
        }
    }
}

/// What CPython's AST optimizer folds into a constant.
fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Const(_) => true,
        ExprKind::Unary(UnOp::Neg | UnOp::Pos | UnOp::Invert, x) => matches!(x.kind, ExprKind::Const(Const::Int(_) | Const::Float(_) | Const::BigInt(_))),
        ExprKind::Tuple(items) => items.iter().all(is_constant),
        _ => false,
    }
}

fn seq_iter(items: Vec<Value>) -> Iter {
    Iter::Seq { items: Rc::new(items), pos: 0, kind: TypeKind::Iterator }
}

/// A generator that ran eagerly and failed: yields what it produced, then raises.
fn deferred_iter(items: Vec<Value>, error: PyErr, _kind: TypeKind) -> Value {
    Value::Iter(Rc::new(RefCell::new(Iter::Failing { items: Rc::new(items), pos: 0, error })))
}

fn set_context(e2: &PyErr, e: &PyErr) {
    if Rc::ptr_eq(&e2.exc, &e.exc) {
        return;
    }
    let mut st = e2.state().borrow_mut();
    if st.context.is_none() {
        st.context = Some(e.clone());
    }
}

pub(crate) fn const_value(c: &Const) -> Value {
    match c {
        Const::None => Value::None,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::BigInt(text) => {
            let (radix, digits) = text.split_once(':').unwrap_or(("10", text));
            let r: u32 = radix.parse().unwrap_or(10);
            Value::big(num_bigint::BigInt::parse_bytes(digits.as_bytes(), r).unwrap_or_default())
        }
        Const::Float(f) => Value::Float(*f),
        Const::Str(s) => Value::Str(s.0.clone()),
        Const::Bytes(b) => Value::Bytes(Rc::new(b.clone())),
        Const::Ellipsis => Value::Ellipsis,
    }
}

fn dunder(op: BinOp) -> (&'static str, &'static str) {
    match op {
        BinOp::Add => ("__add__", "__radd__"),
        BinOp::Sub => ("__sub__", "__rsub__"),
        BinOp::Mul => ("__mul__", "__rmul__"),
        BinOp::MatMul => ("__matmul__", "__rmatmul__"),
        BinOp::Div => ("__truediv__", "__rtruediv__"),
        BinOp::FloorDiv => ("__floordiv__", "__rfloordiv__"),
        BinOp::Mod => ("__mod__", "__rmod__"),
        BinOp::Pow => ("__pow__", "__rpow__"),
        BinOp::LShift => ("__lshift__", "__rlshift__"),
        BinOp::RShift => ("__rshift__", "__rrshift__"),
        BinOp::BitOr => ("__or__", "__ror__"),
        BinOp::BitXor => ("__xor__", "__rxor__"),
        BinOp::BitAnd => ("__and__", "__rand__"),
    }
}

fn binop_error(op: BinOp, a: &Value, b: &Value) -> PyErr {
    match (a, op) {
        (Value::Str(_), BinOp::Add) => PyErr::new(ExcType::TypeError, format!("can only concatenate str (not \"{}\") to str", b.type_name())),
        (Value::List(_), BinOp::Add) => PyErr::new(ExcType::TypeError, format!("can only concatenate list (not \"{}\") to list", b.type_name())),
        (Value::Tuple(_), BinOp::Add) => PyErr::new(ExcType::TypeError, format!("can only concatenate tuple (not \"{}\") to tuple", b.type_name())),
        (Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_), BinOp::Mul) => {
            PyErr::new(ExcType::TypeError, format!("can't multiply sequence by non-int of type '{}'", b.type_name()))
        }
        _ => ops::unsupported(op, &a.type_name(), &b.type_name()),
    }
}

pub(crate) fn no_attr(obj: &Value, name: &str) -> PyErr {
    PyErr::new(ExcType::AttributeError, format!("'{}' object has no attribute '{}'", obj.type_name(), name))
}

fn not_callable(v: &Value) -> PyErr {
    PyErr::new(ExcType::TypeError, format!("'{}' object is not callable", v.type_name()))
}

fn not_iterable(v: &Value) -> PyErr {
    PyErr::new(ExcType::TypeError, format!("'{}' object is not iterable", v.type_name()))
}

pub(crate) fn not_subscriptable(v: &Value) -> PyErr {
    PyErr::new(ExcType::TypeError, format!("'{}' object is not subscriptable", v.type_name()))
}

/// Binds call arguments to a function's parameter slots, with CPython's error messages.
fn bind_args(fun: &Function, scope: &Rc<Scope>, args: Vec<Value>, kwargs: Vec<(Str, Value)>) -> PResult<()> {
    let def = &fun.def;
    let name = &def.name;
    let mut slots = scope.slots.borrow_mut();
    let n_pos = def.args.len();
    let n_given = args.len();
    let mut extra = vec![];
    for (i, a) in args.into_iter().enumerate() {
        if i < n_pos {
            slots[def.args[i].slot as usize] = Some(a);
        } else {
            extra.push(a);
        }
    }
    if let Some(va) = &def.vararg {
        slots[va.slot as usize] = Some(Value::tuple(std::mem::take(&mut extra)));
    } else if !extra.is_empty() {
        let n_defaults = fun.defaults.len();
        let takes = if n_defaults > 0 {
            format!("from {} to {} positional arguments", n_pos - n_defaults, n_pos)
        } else {
            format!("{} positional argument{}", n_pos, if n_pos == 1 { "" } else { "s" })
        };
        return Err(PyErr::new(
            ExcType::TypeError,
            format!("{}() takes {} but {} {} given", name, takes, n_given, if n_given == 1 { "was" } else { "were" }),
        ));
    }
    let mut kwdict = Dict::new();
    for (k, v) in kwargs {
        let pos = def.args.iter().position(|p| p.name == k);
        let target = match pos {
            Some(i) if i >= def.posonly as usize => Some(def.args[i].slot),
            _ => def.kwonly.iter().find(|p| p.name == k).map(|p| p.slot),
        };
        match target {
            Some(slot) => {
                if slots[slot as usize].is_some() {
                    return Err(PyErr::new(ExcType::TypeError, format!("{}() got multiple values for argument '{}'", name, k)));
                }
                slots[slot as usize] = Some(v);
            }
            None => {
                if def.kwarg.is_some() {
                    kwdict.set(Value::Str(k.0.clone()), v)?;
                } else {
                    return Err(PyErr::new(ExcType::TypeError, format!("{}() got an unexpected keyword argument '{}'", name, k)));
                }
            }
        }
    }
    if let Some(kw) = &def.kwarg {
        slots[kw.slot as usize] = Some(Value::dict(kwdict));
    }
    let first_default = n_pos - fun.defaults.len();
    let mut missing = vec![];
    for (i, p) in def.args.iter().enumerate() {
        if slots[p.slot as usize].is_none() {
            if i >= first_default {
                slots[p.slot as usize] = Some(fun.defaults[i - first_default].clone());
            } else {
                missing.push(p.name.to_string());
            }
        }
    }
    if !missing.is_empty() {
        return Err(missing_args(name, &missing, "positional"));
    }
    let mut missing_kw = vec![];
    for (i, p) in def.kwonly.iter().enumerate() {
        if slots[p.slot as usize].is_none() {
            match fun.kw_defaults.get(i).cloned().flatten() {
                Some(d) => slots[p.slot as usize] = Some(d),
                None => missing_kw.push(p.name.to_string()),
            }
        }
    }
    if !missing_kw.is_empty() {
        return Err(missing_args(name, &missing_kw, "keyword-only"));
    }
    Ok(())
}

fn missing_args(fname: &str, names: &[String], kind: &str) -> PyErr {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let list = match quoted.len() {
        1 => quoted[0].clone(),
        2 => format!("{} and {}", quoted[0], quoted[1]),
        _ => format!("{}, and {}", quoted[..quoted.len() - 1].join(", "), quoted[quoted.len() - 1]),
    };
    PyErr::new(
        ExcType::TypeError,
        format!("{}() missing {} required {} argument{}: {}", fname, names.len(), kind, if names.len() == 1 { "" } else { "s" }, list),
    )
}
