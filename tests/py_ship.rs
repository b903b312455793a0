//! Shipping closures to executors (PySpark's cloudpickle contract) and the host interface:
//! captured values travel by value, shipped code runs in a fresh interpreter, unpicklable
//! natives fail with PySpark's exact `PicklingError`, natives call Python back.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;
use zkspark::py::*;

fn run_ok(it: &mut Interpreter, src: &str) {
    if let Err(e) = it.run(src) {
        panic!("program failed:\n{}", it.format_error(&e));
    }
}

fn global(it: &Interpreter, name: &str) -> Value {
    it.get_global(name).unwrap_or_else(|| panic!("no global {name}"))
}

fn repr(v: &Value) -> String {
    zkspark::py::repr::repr(v)
}

/// Ships through JSON, as a worker boundary would, then calls in a fresh interpreter.
fn ship_and_call(v: &Value, args: Vec<Value>) -> PResult<Value> {
    let shipped = ship(v)?;
    let back = Shipped::from_json(&shipped.to_json()).expect("round trip");
    back.call(args)
}

#[test]
fn globals_and_cells_travel_by_value_at_ship_time() {
    let mut it = Interpreter::new();
    run_ok(
        &mut it,
        "factor = 3\noffset = {'k': 10}\ndef scale(x):\n    return x * factor + offset['k']\ndef make(n):\n    return lambda x: x + n\nadd5 = make(5)\n",
    );
    let scale = global(&it, "scale");
    let shipped = ship(&scale).expect("ships");
    run_ok(&mut it, "factor = 100\n");
    assert_eq!(repr(&shipped.call(vec![Value::Int(2)]).expect("runs")), "16");
    assert_eq!(repr(&ship_and_call(&global(&it, "add5"), vec![Value::Int(1)]).expect("runs")), "6");
}

#[test]
fn closures_over_loop_variables_bind_late_like_cpython() {
    let mut it = Interpreter::new();
    run_ok(&mut it, "fs = [lambda: i for i in range(3)]\ngs = [lambda i=i: i for i in range(3)]\n");
    let Value::List(fs) = global(&it, "fs") else { panic!("list") };
    let Value::List(gs) = global(&it, "gs") else { panic!("list") };
    let first = fs.borrow()[0].clone();
    let g1 = gs.borrow()[1].clone();
    assert_eq!(repr(&ship_and_call(&first, vec![]).expect("runs")), "2");
    assert_eq!(repr(&ship_and_call(&g1, vec![]).expect("runs")), "1");
}

#[test]
fn referenced_functions_modules_classes_and_recursion_ship() {
    let mut it = Interpreter::new();
    run_ok(
        &mut it,
        "import math\nfrom functools import reduce\ndef helper(x):\n    return math.sqrt(x)\nf = lambda x: helper(x) + 1\ndef fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nclass P:\n    def __init__(self, v):\n        self.v = v\n    def get(self):\n        return self.v * 2\np = P(7)\ng = lambda: (p.get(), reduce(lambda a, b: a + b, [1, 2, 3]), sorted({3, 1}))\n",
    );
    assert_eq!(repr(&ship_and_call(&global(&it, "f"), vec![Value::Int(16)]).expect("runs")), "5.0");
    assert_eq!(repr(&ship_and_call(&global(&it, "fact"), vec![Value::Int(10)]).expect("runs")), "3628800");
    assert_eq!(repr(&ship_and_call(&global(&it, "g"), vec![]).expect("runs")), "(14, 6, [1, 3])");
}

#[test]
fn shipped_code_raises_python_errors_with_a_traceback() {
    let mut it = Interpreter::new();
    run_ok(&mut it, "def inv(x):\n    return 1 / x\n");
    let shipped = ship_with_source(&global(&it, "inv"), &it).expect("ships");
    let mut ex = Interpreter::new();
    let f = shipped.revive(&mut ex).expect("revives");
    let err = ex.call(&f, vec![Value::Int(0)], vec![]).expect_err("divides by zero");
    assert_eq!(err.last_line(), "ZeroDivisionError: division by zero");
    let tb = ex.format_error(&err);
    assert!(tb.contains("  File \"<job>\", line 2, in inv\n    return 1 / x\n           ~~^~~\n"), "{tb}");
}

#[test]
fn generators_and_iterators_do_not_ship() {
    let mut it = Interpreter::new();
    run_ok(&mut it, "gen = (x for x in range(3))\nf = lambda: next(gen)\n");
    let err = ship(&global(&it, "f")).expect_err("generator captured");
    assert_eq!(err.last_line(), "_pickle.PicklingError: Could not serialize object: TypeError: cannot pickle 'generator' object");
}

/// A stand-in for a started `KazooClient`: it holds a lock, so pickle refuses it.
struct FakeZk {
    started: RefCell<bool>,
}

impl NativeObject for FakeZk {
    fn type_name(&self) -> &str {
        "KazooClient"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "start" | "get" => NativeAttr::Method,
            "connected" => NativeAttr::Value(Value::Bool(*self.started.borrow())),
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, _kw: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        match name {
            "start" => {
                *self.started.borrow_mut() = true;
                Ok(Value::None)
            }
            _ => Ok(Value::tuple(vec![args.first().cloned().unwrap_or(Value::None), Value::None])),
        }
    }
    fn pickle(&self) -> Pickle {
        Pickle::Unpicklable("_thread.lock".into())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `KazooClient(hosts=...)`: a callable native class.
struct FakeZkClass;

impl NativeObject for FakeZkClass {
    fn type_name(&self) -> &str {
        "type"
    }
    fn call(&self, _this: &Rc<dyn NativeObject>, _args: Vec<Value>, _kw: Vec<(Str, Value)>, _it: &mut Interpreter) -> PResult<Value> {
        Ok(Value::Native(Rc::new(FakeZk { started: RefCell::new(false) })))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A miniature SparkContext: `parallelize(data, n).map(f).collect()` ships `f` and runs it
/// in a fresh interpreter per partition, as executors do.
struct FakeSc;
struct FakeRdd {
    data: Vec<Value>,
    slices: usize,
    funcs: Vec<Shipped>,
}

impl NativeObject for FakeSc {
    fn type_name(&self) -> &str {
        "SparkContext"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(if name == "parallelize" { NativeAttr::Method } else { NativeAttr::Missing })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, _name: &str, args: Vec<Value>, _kw: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        let data = it.collect(&args[0])?;
        let slices = args.get(1).and_then(|v| v.as_int()).unwrap_or(2) as usize;
        Ok(Value::Native(Rc::new(FakeRdd { data, slices, funcs: vec![] })))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl NativeObject for FakeRdd {
    fn type_name(&self) -> &str {
        "RDD"
    }
    fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
        Ok(match name {
            "map" | "collect" => NativeAttr::Method,
            _ => NativeAttr::Missing,
        })
    }
    fn call_method(&self, _this: &Rc<dyn NativeObject>, name: &str, args: Vec<Value>, _kw: Vec<(Str, Value)>, it: &mut Interpreter) -> PResult<Value> {
        match name {
            "map" => {
                let shipped = ship_with_source(&args[0], it)?;
                let mut funcs = self.funcs.clone();
                funcs.push(shipped);
                Ok(Value::Native(Rc::new(FakeRdd { data: self.data.clone(), slices: self.slices, funcs })))
            }
            _ => {
                let mut out = vec![];
                let per = self.data.len().div_ceil(self.slices.max(1)).max(1);
                for part in self.data.chunks(per) {
                    // One executor task: records and code cross as serde data.
                    let records: Vec<Wire> = part.iter().map(to_wire).collect::<PResult<_>>()?;
                    let mut ex = Interpreter::new();
                    let funcs: Vec<Value> = self.funcs.iter().map(|f| Shipped::from_json(&f.to_json()).expect("json").revive(&mut ex)).collect::<PResult<_>>()?;
                    for r in records {
                        let mut v = from_wire(&r)?;
                        for f in &funcs {
                            v = ex.call(f, vec![v], vec![])?;
                        }
                        out.push(from_wire(&to_wire(&v)?)?);
                    }
                }
                Ok(Value::list(out))
            }
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn host() -> Interpreter {
    let mut it = Interpreter::new();
    let pyspark = Module::new("pyspark");
    pyspark.set("sc", Value::Native(Rc::new(FakeSc)));
    it.register_module(Rc::new(pyspark));
    let kazoo = Module::new("kazoo.client");
    kazoo.set("KazooClient", Value::Native(Rc::new(FakeZkClass)));
    it.register_module(Rc::new(kazoo));
    it
}

#[test]
fn host_natives_receive_python_callables_and_run_them_shipped() {
    let mut it = host();
    run_ok(
        &mut it,
        "from pyspark import sc\nbase = 100\nout = sc.parallelize(range(5), 2).map(lambda x: x * 2).map(lambda y: (y, y + base)).collect()\nprint(out)\n",
    );
    assert_eq!(it.take_output(), "[(0, 100), (2, 102), (4, 104), (6, 106), (8, 108)]\n");
}

#[test]
fn a_closure_over_a_started_client_fails_with_pysparks_pickling_error() {
    let mut it = host();
    let src = "from pyspark import sc\nfrom kazoo.client import KazooClient\nzk = KazooClient(hosts='127.0.0.1:2181')\nzk.start()\nprint(zk.connected)\nok = sc.parallelize([1, 2], 2).map(lambda x: x + 1).collect()\nprint(ok)\nsc.parallelize(range(100)).map(lambda x: zk.get('/my_counter')).collect()\n";
    let err = it.run(src).expect_err("zk cannot be pickled");
    assert_eq!(it.take_output(), "True\n[2, 3]\n");
    assert_eq!(err.message(), "Could not serialize object: TypeError: cannot pickle '_thread.lock' object");
    assert_eq!(
        it.format_error(&err),
        "Traceback (most recent call last):\n  File \"<job>\", line 8, in <module>\n    sc.parallelize(range(100)).map(lambda x: zk.get('/my_counter')).collect()\n    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n_pickle.PicklingError: Could not serialize object: TypeError: cannot pickle '_thread.lock' object\n"
    );
    // The same error is catchable, as in PySpark.
    let mut it = host();
    run_ok(
        &mut it,
        "from pyspark import sc\nfrom kazoo.client import KazooClient\nzk = KazooClient()\ntry:\n    sc.parallelize([1]).map(lambda x: zk).collect()\nexcept Exception as e:\n    print(type(e).__name__, e)\n",
    );
    assert_eq!(it.take_output(), "PicklingError Could not serialize object: TypeError: cannot pickle '_thread.lock' object\n");
}

#[test]
fn a_missing_method_on_a_native_is_pythons_attribute_error() {
    let mut it = host();
    let err = it.run("from kazoo.client import KazooClient\nzk = KazooClient()\nzk.incr()\n").expect_err("no such method");
    assert_eq!(err.last_line(), "AttributeError: 'KazooClient' object has no attribute 'incr'");
}

#[test]
fn the_host_calls_driver_functions_with_python_values() {
    let mut it = Interpreter::new();
    run_ok(&mut it, "def add(a, b=10, *rest, **kw):\n    return a + b + sum(rest) + kw.get('c', 0)\n");
    let add = global(&it, "add");
    let r = it.call(&add, vec![Value::Int(1), Value::Int(2), Value::Int(3)], vec![(zkspark::py::ir::s("c"), Value::Int(4))]).expect("calls");
    assert_eq!(repr(&r), "10");
    let r = it.call(&add, vec![Value::Int(1)], vec![]).expect("defaults");
    assert_eq!(repr(&r), "11");
    let err = it.call(&add, vec![], vec![]).expect_err("missing argument");
    assert_eq!(err.last_line(), "TypeError: add() missing 1 required positional argument: 'a'");
}

#[test]
fn data_round_trips_through_wire_form() {
    let mut it = Interpreter::new();
    run_ok(&mut it, "v = [1, 2 ** 70, -0.0, 1e300, float('nan'), float('-inf'), 'é\\n', b'\\x00', (1, (2,)), {'k': [None, True]}, {3, 1, 2}, frozenset({'a'}), range(1, 9, 2)]\n");
    let v = global(&it, "v");
    let wire = to_wire(&v).expect("data");
    let text = serde_json::to_string(&wire).expect("serializes");
    let back: Wire = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(repr(&from_wire(&back).expect("revives")), repr(&v));
}

#[test]
fn budgets_end_runaway_programs_without_panicking() {
    let mut it = Interpreter::new();
    it.limits.max_steps = 10_000;
    let err = it.run("try:\n    while True:\n        pass\nexcept Exception:\n    print('caught')\n").expect_err("budget");
    assert!(err.fatal);
    assert_eq!(it.take_output(), "");
    assert_eq!(err.type_name(), "TimeoutError");

    let mut it = Interpreter::new();
    let err = it.run("def f(n):\n    return f(n + 1)\nf(0)\n").expect_err("recursion");
    assert_eq!(err.last_line(), "RecursionError: maximum recursion depth exceeded");
    let tb = it.format_error(&err);
    assert!(tb.contains("[Previous line repeated"), "{tb}");

    let mut it = Interpreter::new();
    let err = it.run("x = 1\nmatch x:\n    case 1:\n        pass\n").expect_err("unsupported");
    assert_eq!(
        it.format_error(&err),
        "  File \"<job>\", line 2\n    match x:\n    ^^^^^\nSyntaxError: 'match' statements are not supported by zkspark's Python\n"
    );
}

#[test]
fn an_executor_interpreter_revives_picklable_natives() {
    struct Bcast(i64);
    impl NativeObject for Bcast {
        fn type_name(&self) -> &str {
            "Broadcast"
        }
        fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
            Ok(if name == "value" { NativeAttr::Value(Value::Int(self.0)) } else { NativeAttr::Missing })
        }
        fn pickle(&self) -> Pickle {
            Pickle::State(PickledNative { kind: "broadcast".into(), state: self.0.to_le_bytes().to_vec() })
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }
    let mut it = Interpreter::new();
    it.set_global("b", Value::Native(Rc::new(Bcast(41))));
    run_ok(&mut it, "f = lambda x: b.value + x\n");
    let shipped = ship(&global(&it, "f")).expect("picklable");
    let mut ex = Interpreter::new();
    ex.register_reviver(
        "broadcast",
        Rc::new(|p: &PickledNative, _it: &mut Interpreter| {
            let n = i64::from_le_bytes(p.state[..8].try_into().expect("8 bytes"));
            Ok(Value::Native(Rc::new(Bcast(n))))
        }),
    );
    let f = shipped.revive(&mut ex).expect("revives");
    assert_eq!(repr(&ex.call(&f, vec![Value::Int(1)], vec![]).expect("runs")), "42");
}

#[test]
fn stdlib_callables_ship_by_reference_or_value() {
    let mut it = Interpreter::new();
    run_ok(
        &mut it,
        "import operator\nfrom operator import itemgetter\nfrom functools import partial\nk = 7\ndef scale(a, x):\n    return a * x + k\nadd = operator.add\nsecond = itemgetter(1)\nby7 = partial(scale, 3)\nupper = str.upper\nsep_join = '-'.join\n",
    );
    let call = |name: &str, args: Vec<Value>| repr(&ship_and_call(&global(&it, name), args).expect("ships and runs"));
    assert_eq!(call("add", vec![Value::Int(2), Value::Int(3)]), "5");
    assert_eq!(call("second", vec![Value::tuple(vec![Value::Int(1), Value::str("b")])]), "'b'");
    assert_eq!(call("by7", vec![Value::Int(2)]), "13");
    assert_eq!(call("upper", vec![Value::str("spark")]), "'SPARK'");
    assert_eq!(call("sep_join", vec![Value::list(vec![Value::str("a"), Value::str("b")])]), "'a-b'");
}

/// kazoo's `Counter` supports `counter += 1` through `__add__`: a native's `binary_op`.
#[test]
fn augmented_assignment_reaches_native_binary_ops() {
    struct Counter(RefCell<i64>);
    impl NativeObject for Counter {
        fn type_name(&self) -> &str {
            "Counter"
        }
        fn get_attr(&self, _this: &Rc<dyn NativeObject>, name: &str, _it: &mut Interpreter) -> PResult<NativeAttr> {
            Ok(if name == "value" { NativeAttr::Value(Value::Int(*self.0.borrow())) } else { NativeAttr::Missing })
        }
        fn binary_op(&self, this: &Rc<dyn NativeObject>, op: zkspark::py::ir::BinOp, other: &Value, _reflected: bool, _it: &mut Interpreter) -> PResult<Option<Value>> {
            if op != zkspark::py::ir::BinOp::Add {
                return Ok(None);
            }
            *self.0.borrow_mut() += other.as_int().unwrap_or(0);
            Ok(Some(Value::Native(this.clone())))
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }
    let mut it = Interpreter::new();
    it.set_global("counter", Value::Native(Rc::new(Counter(RefCell::new(0)))));
    run_ok(&mut it, "for _ in range(100):\n    counter += 1\ncounter = counter + 5\nprint(counter.value)\n");
    assert_eq!(it.take_output(), "105\n");
    let err = it.run("counter -= 1\n").expect_err("no __sub__");
    assert_eq!(err.last_line(), "TypeError: unsupported operand type(s) for -=: 'Counter' and 'int'");
}
