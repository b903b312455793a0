//! The driver's view of the simulated file system (`spark::fs`): the parts of `os`,
//! `os.path`, `shutil`, `tempfile` and `open` a PySpark program uses to look at what
//! `saveAsTextFile` wrote. Before a context starts they see the host's files; afterwards the
//! engine's (which `saveAsTextFile` writes to).

use super::SparkState;
use crate::py::{ExcType, Interpreter, Module, NativeAttr, NativeObject, PResult, PyErr, Str, Value};
use crate::spark::fs::SimFs;
use std::cell::Cell;
use std::rc::Rc;

fn with_fs<T>(state: &SparkState, f: impl FnOnce(&mut SimFs) -> T) -> T {
    let ctx = state.engine.borrow().clone();
    match ctx {
        Some(c) => f(&mut c.engine.borrow_mut().fs),
        None => f(&mut state.host.borrow_mut().fs),
    }
}

fn not_found(path: &str) -> PyErr {
    PyErr::new(
        ExcType::FileNotFoundError,
        format!("[Errno 2] No such file or directory: {}", crate::py::repr::repr(&Value::str(path))),
    )
}

/// One of the file functions, bound to the program's file system.
struct FsFn {
    name: &'static str,
    state: Rc<SparkState>,
    /// `mkdtemp`'s counter: names are `tmp` + 8 characters, unique per run.
    temp_count: Rc<Cell<u32>>,
}

fn str_args(args: &[Value], it: &mut Interpreter) -> PResult<Vec<String>> {
    args.iter().map(|a| it.to_str(a)).collect()
}

fn one_path(name: &str, args: &[Value], it: &mut Interpreter) -> PResult<String> {
    match args.first() {
        Some(Value::Str(s)) => Ok(s.to_string()),
        Some(other) => Err(PyErr::new(
            ExcType::TypeError,
            format!("{name}: path should be string, bytes or os.PathLike, not {}", other.type_name()),
        )),
        None => {
            let _ = it;
            Err(PyErr::new(ExcType::TypeError, format!("{name}() missing 1 required positional argument: 'path'")))
        }
    }
}

/// `os.path.join`: a later absolute part restarts the path.
fn join(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p.clone();
        } else if out.ends_with('/') {
            out.push_str(p);
        } else {
            out = format!("{out}/{p}");
        }
    }
    out
}

impl NativeObject for FsFn {
    fn type_name(&self) -> &str {
        "builtin_function_or_method"
    }
    fn call(
        &self,
        _this: &Rc<dyn NativeObject>,
        args: Vec<Value>,
        kwargs: Vec<(Str, Value)>,
        it: &mut Interpreter,
    ) -> PResult<Value> {
        let state = &self.state;
        match self.name {
            "join" => Ok(Value::str(&join(&str_args(&args, it)?))),
            "exists" | "isdir" | "isfile" => {
                let p = one_path(self.name, &args, it)?;
                let (file, any) = with_fs(state, |fs| (fs.read(&p).is_some(), fs.exists(&p)));
                Ok(Value::Bool(match self.name {
                    "exists" => any,
                    "isfile" => file,
                    _ => any && !file,
                }))
            }
            "basename" => {
                let p = one_path(self.name, &args, it)?;
                Ok(Value::str(p.rsplit('/').next().unwrap_or("")))
            }
            "getsize" => {
                let p = one_path(self.name, &args, it)?;
                with_fs(state, |fs| fs.read(&p).map(|b| b.len()))
                    .map(|n| Value::Int(n as i64))
                    .ok_or_else(|| not_found(&p))
            }
            "listdir" => {
                let p = one_path(self.name, &args, it)?;
                let names = with_fs(state, |fs| fs.exists(&p).then(|| fs.list(&p)));
                let names = names.ok_or_else(|| not_found(&p))?;
                Ok(Value::list(names.iter().map(|n| Value::str(n)).collect()))
            }
            "rmtree" | "remove" => {
                let p = one_path(self.name, &args, it)?;
                let removed =
                    with_fs(state, |fs| if self.name == "rmtree" { fs.remove_tree(&p) } else { fs.remove(&p) });
                if removed {
                    Ok(Value::None)
                } else {
                    Err(not_found(&p))
                }
            }
            "mkdtemp" => {
                let n = self.temp_count.get();
                self.temp_count.set(n + 1);
                let _ = kwargs;
                Ok(Value::str(&format!("/tmp/tmp{:08x}", 0x5eed_0000u32.wrapping_add(n))))
            }
            "open" => open(state, &args, &kwargs, it),
            other => unreachable!("file function {other}"),
        }
    }
    fn repr(&self) -> String {
        format!("<built-in function {}>", self.name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `open(path, mode="r")`: reading text only.
fn open(state: &SparkState, args: &[Value], kwargs: &[(Str, Value)], it: &mut Interpreter) -> PResult<Value> {
    let path = one_path("open", args, it)?;
    let mode = match super::arg(args, kwargs, 1, "mode") {
        Some(m) => it.to_str(&m)?,
        None => "r".into(),
    };
    if mode != "r" && mode != "rt" {
        return Err(PyErr::new(
            ExcType::ValueError,
            format!("the job language opens files for reading only, not mode '{mode}'"),
        ));
    }
    let bytes = with_fs(state, |fs| fs.read(&path).map(<[u8]>::to_vec)).ok_or_else(|| not_found(&path))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Value::Native(Rc::new(File { path, text, pos: Cell::new(0), closed: Cell::new(false) })))
}

/// A text file opened for reading.
struct File {
    path: String,
    text: String,
    pos: Cell<usize>,
    closed: Cell<bool>,
}

impl NativeObject for File {
    fn type_name(&self) -> &str {
        "TextIOWrapper"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "read" | "readline" | "readlines" | "close" | "__enter__" | "__exit__" => NativeAttr::Method,
            "name" => NativeAttr::Value(Value::str(&self.path)),
            "closed" => NativeAttr::Value(Value::Bool(self.closed.get())),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(
        &self,
        this: &Rc<dyn NativeObject>,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Str, Value)>,
        _it: &mut Interpreter,
    ) -> PResult<Value> {
        if self.closed.get() && !matches!(name, "close" | "__exit__") {
            return Err(PyErr::new(ExcType::ValueError, "I/O operation on closed file."));
        }
        let rest = &self.text[self.pos.get()..];
        Ok(match name {
            "read" => {
                self.pos.set(self.text.len());
                Value::str(rest)
            }
            "readline" => {
                let n = rest.find('\n').map_or(rest.len(), |i| i + 1);
                self.pos.set(self.pos.get() + n);
                Value::str(&rest[..n])
            }
            "readlines" => {
                self.pos.set(self.text.len());
                Value::list(rest.split_inclusive('\n').map(Value::str).collect())
            }
            "__enter__" => Value::Native(this.clone()),
            _ => {
                self.closed.set(true);
                if name == "__exit__" {
                    Value::Bool(false)
                } else {
                    Value::None
                }
            }
        })
    }
    fn iterate(&self, _this: &Rc<dyn NativeObject>, _it: &mut Interpreter) -> PResult<Option<Vec<Value>>> {
        let rest = &self.text[self.pos.get()..];
        self.pos.set(self.text.len());
        Ok(Some(rest.split_inclusive('\n').map(Value::str).collect()))
    }
    fn repr(&self) -> String {
        format!("<_io.TextIOWrapper name={} mode='r' encoding='UTF-8'>", crate::py::repr::repr(&Value::str(&self.path)))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Registers `os` (with `os.path`), `shutil`, `tempfile` and the builtin `open`.
pub fn register(it: &mut Interpreter, state: &Rc<SparkState>) {
    let temp_count = Rc::new(Cell::new(0));
    let f = |name: &'static str| {
        Value::Native(Rc::new(FsFn { name, state: state.clone(), temp_count: temp_count.clone() }))
    };
    let path = Module::new("os.path");
    for name in ["join", "exists", "isdir", "isfile", "basename", "getsize"] {
        path.set(name, f(name));
    }
    path.set("sep", Value::str("/"));
    let path = Rc::new(path);
    let os = Module::new("os");
    os.set("path", Value::Module(path.clone()));
    os.set("sep", Value::str("/"));
    for name in ["listdir", "remove"] {
        os.set(name, f(name));
    }
    let shutil = Module::new("shutil");
    shutil.set("rmtree", f("rmtree"));
    let tempfile = Module::new("tempfile");
    tempfile.set("mkdtemp", f("mkdtemp"));
    for m in [Rc::new(os), path, Rc::new(shutil), Rc::new(tempfile)] {
        it.register_module(m);
    }
    it.register_builtin("open", f("open"));
}
