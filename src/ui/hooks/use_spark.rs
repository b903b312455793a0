//! `use_spark`: owns the live Spark cluster (a driver and `executors` executors of `cores`
//! cores, each in its own worker); a new shape stops the old cluster's workers and starts anew.

use crate::runtime::LiveSpark;
use crate::spark::cluster::ClusterConfig;
use crate::ui::state::{Action, UiState};
use yew::prelude::*;

#[hook]
pub fn use_spark(shape: (u32, u32), dispatch: UseReducerDispatcher<UiState>) -> Option<LiveSpark> {
    let spark = use_state(|| None::<LiveSpark>);
    {
        let spark = spark.clone();
        use_effect_with(shape, move |&(executors, cores)| {
            let on_snapshot = Callback::from(move |s| dispatch.dispatch(Action::Spark(s)));
            let config = ClusterConfig { executors, cores, ..ClusterConfig::default() };
            spark.set(Some(LiveSpark::start(config, 1, on_snapshot)));
            || ()
        });
    }
    (*spark).clone()
}
