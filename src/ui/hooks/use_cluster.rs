//! `use_cluster`: owns the live cluster for the current size; a new size (or a reset) stops
//! every worker of the old ensemble and starts a new one (with a new zkCli).

use crate::runtime::LiveCluster;
use crate::ui::state::{Action, UiState};
use yew::prelude::*;

#[hook]
pub fn use_cluster(
    n_servers: u32,
    observers: u32,
    generation: u32,
    dispatch: UseReducerDispatcher<UiState>,
) -> Option<LiveCluster> {
    let cluster = use_state(|| None::<LiveCluster>);
    {
        let cluster = cluster.clone();
        use_effect_with((n_servers, observers, generation), move |&(n, observers, generation)| {
            let on_console = {
                let dispatch = dispatch.clone();
                Callback::from(move |c| dispatch.dispatch(Action::Console(c)))
            };
            let on_metrics = {
                let dispatch = dispatch.clone();
                Callback::from(move |m| dispatch.dispatch(Action::Metrics(m)))
            };
            let on_snapshot = Callback::from(move |s| dispatch.dispatch(Action::Snapshot(s)));
            let live = LiveCluster::start(n, observers, u64::from(generation) + 1, on_snapshot, on_console);
            live.on_metrics(on_metrics);
            cluster.set(Some(live));
            || ()
        });
    }
    (*cluster).clone()
}
