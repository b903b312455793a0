//! The Yew page (browser only). State lives in one `Reducible` (`state.rs`); components render
//! snapshots of the live cluster and dispatch user intent to it; no protocol logic here.

pub mod app;
pub mod chart;
pub mod console_panel;
pub mod control_bar;
pub mod election_log;
pub mod ensemble;
pub mod hooks;
pub mod server_card;
pub mod metrics_panel;
pub mod spark_panel;
pub mod state;
pub mod znode_tree;

pub use app::App;

/// Mounts the page on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    yew::Renderer::<App>::new().render();
}
