//! The entry point of a Spark driver's or executor's Web Worker (a Trunk `data-type="worker"`
//! binary; it carries the Python interpreter, so the ZooKeeper servers' workers stay small).

#[cfg(target_arch = "wasm32")]
fn main() {
    zkspark::runtime::worker::run_spark();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("spark_worker runs as a Web Worker inside the page");
}
