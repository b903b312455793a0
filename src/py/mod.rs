//! The job language: a documented subset of Python 3 (CPython 3.11 semantics and output),
//! parsed by `ruff_python_parser` and run by our own tree-walking evaluator. Pure and sans-IO:
//! no threads, no clock, no wasm dependencies; `print` goes to a buffer the host drains.
//!
//! ```text
//!  source ─▶ lower.rs (ruff AST → ir.rs, names resolved) ─▶ interp.rs (evaluator) ─▶ output
//!                                                              │  ▲
//!                     host natives (pyspark, kazoo) ◀─calls────┘  └── Interpreter::call(lambda)
//!  driver closure ─ship.rs─▶ Shipped (serde: IR + captured values) ─revive─▶ executor interp
//! ```
//!
//! # The host interface
//!
//! * `Interpreter::new()`, `register_module(Rc<Module>)` (e.g. `pyspark` whose `SparkContext`
//!   is a callable `NativeObject`), `run(source)`, `take_output()`, `format_error(&PyErr)`
//!   (the traceback CPython prints, file `"<job>"`), `limits` (steps, depth, stack, output).
//! * `NativeObject`: `type_name`, `get_attr` (value / method / missing), `call_method`, `call`,
//!   `binary_op`, `iterate`, `repr`, `pickle` (`Pickle::State` or `Pickle::Unpicklable(type)`).
//!   Native methods receive `&mut Interpreter` and call Python back with
//!   `Interpreter::call(&func, args, kwargs)` — re-entrant, bounded by the same budget.
//! * `ship(&Value) -> Result<Shipped, PyErr>`: a closure as code + captured values (closure
//!   cells and referenced globals, by value, as cloudpickle does); unpicklable natives fail with
//!   `_pickle.PicklingError: Could not serialize object: TypeError: cannot pickle '<t>' object`.
//!   `Shipped` is serde data; `Shipped::revive(&mut Interpreter)` rebuilds it in an executor's
//!   interpreter (natives through `register_reviver`), `Shipped::call(args)` runs it in a fresh
//!   one. `to_wire`/`from_wire` move plain data records.
//!
//! # What runs
//!
//! Statements: assignment (targets: names, attributes, subscripts, nested and starred
//! unpacking), augmented assignment, `if/elif/else`, `while`/`for` with `else`, `break`,
//! `continue`, `def` (defaults, `*args`, keyword-only, `**kwargs`, decorators), `lambda`,
//! `return`, `class` (methods, `__init__`, inheritance, operator dunders, exception
//! subclasses), `try/except/else/finally`, `raise [from]`, `assert`, `del`, `global`,
//! `nonlocal`, `with`, `import`/`from … import`. Expressions: all operators with CPython's
//! int/float semantics (unbounded ints), chained comparisons, `and/or/not`, conditional
//! expressions, walrus, comprehensions (list/set/dict/generator, own scope), f-strings with
//! conversions and format specs, `%` and `str.format`, slicing. Builtins: `print`, `len`,
//! `range`, `sorted`, `sum`, `min`, `max`, `enumerate`, `zip`, `map`, `filter`,
//! `isinstance`, `abs`, `all`, `any`, `round` (half-even), `divmod`, `pow`, `reversed`,
//! `hash`, `iter`, `next`, `getattr`/`setattr`/`hasattr`, `repr`, `chr`/`ord`, `hex`/`oct`/
//! `bin`, `format`, the type constructors and the builtin exception classes. Modules: `math`,
//! `operator`, `functools` (`reduce`, `partial`), `itertools`, `collections` (`Counter`,
//! `defaultdict`), `random` (CPython's Mersenne Twister), `time` (virtual), `string`, `sys`, `json`,
//! `threading` (`Lock`/`RLock` that never block: one thread).
//!
//! # Differences from CPython (documented, deliberate)
//!
//! * Generators run eagerly to completion when called (an error inside is raised when the
//!   consumer reaches it); an endless generator ends with the step-budget error.
//! * `set` iteration order is CPython's for sets built by insertion (its hash table is
//!   simulated); `str` hashes are CPython's with `PYTHONHASHSEED=0` (CPython randomizes them
//!   per process otherwise, so even CPython's order of a set of strings varies by run).
//! * No `match`, `async`, `yield` expressions' values (`send`), `global` at class level, zero-
//!   argument `super()` (use `super(C, self)`), metaclasses, `open` (a host may register one:
//!   `pyspark` does, over its file system), `exec`/`eval`. They raise a `SyntaxError` naming
//!   the construct, or an error at run time.
//! * Object addresses in reprs (`<function f at 0x…>`) are stable fake ones.
//! * Tracebacks show only the program's frames: where CPython's stdlib is Python code (`json`,
//!   `random`), CPython also prints its library frames.
//! * The step budget ends a run with an uncatchable `TimeoutError`; recursion deeper than
//!   `limits.max_depth` or the native-stack allowance raises `RecursionError`.

pub mod builtins;
pub mod error;
pub mod format;
pub mod hash;
pub mod interp;
pub mod ir;
pub mod json;
pub mod lower;
pub mod methods;
pub mod modules;
pub mod native;
pub mod ops;
pub mod repr;
pub mod set;
pub mod ship;
pub mod value;

pub use error::{ExcType, PyErr};
pub use interp::{Interpreter, Limits};
pub use ir::Str;
pub use native::{Module, NativeAttr, NativeObject, Pickle, PickledNative};
pub use ship::{from_wire, ship, ship_with_source, to_wire, Shipped, ShippedFn, Wire};
pub use value::{PResult, Value};

/// What a program run produced: stdout, and CPython's stderr if it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutput {
    pub stdout: String,
    pub stderr: String,
    pub ok: bool,
}

/// Runs `source` in a fresh interpreter with only the standard modules.
pub fn run_program(source: &str) -> RunOutput {
    let mut it = Interpreter::new();
    let r = it.run(source);
    let stdout = it.take_output();
    let mut stderr = it.take_stderr();
    match r {
        Ok(()) => RunOutput { stdout, stderr, ok: true },
        Err(e) => {
            stderr.push_str(&it.format_error(&e));
            RunOutput { stdout, stderr, ok: false }
        }
    }
}
