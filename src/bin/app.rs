//! The page's entry point (built by Trunk from `www/index.html`).

#[cfg(target_arch = "wasm32")]
fn main() {
    zkspark::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in the browser: `make serve`");
}
