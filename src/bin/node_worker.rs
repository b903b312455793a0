//! The entry point of a ZooKeeper server's Web Worker (a Trunk `data-type="worker"` binary).

#[cfg(target_arch = "wasm32")]
fn main() {
    zkspark::runtime::worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("node_worker runs as a Web Worker inside the page");
}
