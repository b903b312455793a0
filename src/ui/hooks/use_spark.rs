//! `use_spark`: owns the live Spark cluster (a driver and two executors of two cores, each in
//! its own worker) for the page's lifetime.

use crate::runtime::LiveSpark;
use crate::spark::cluster::ClusterConfig;
use crate::ui::state::{Action, UiState};
use yew::prelude::*;

#[hook]
pub fn use_spark(dispatch: UseReducerDispatcher<UiState>) -> Option<LiveSpark> {
    let spark = use_state(|| None::<LiveSpark>);
    {
        let spark = spark.clone();
        use_effect_with((), move |_| {
            let on_snapshot = Callback::from(move |s| dispatch.dispatch(Action::Spark(s)));
            spark.set(Some(LiveSpark::start(ClusterConfig::default(), 1, on_snapshot)));
            || ()
        });
    }
    (*spark).clone()
}
