//! The page's state: the latest cluster snapshot plus the user's view choices.

use crate::live::ClusterSnapshot;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    pub snapshot: Option<Rc<ClusterSnapshot>>,
    pub n_servers: u32,
    /// Bumped to start a fresh ensemble of the same size.
    pub epoch_of_page: u32,
}

impl Default for UiState {
    fn default() -> Self {
        UiState { snapshot: None, n_servers: 5, epoch_of_page: 0 }
    }
}

pub enum Action {
    Snapshot(Rc<ClusterSnapshot>),
    SetSize(u32),
    Reset,
}

impl Reducible for UiState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Snapshot(s) => next.snapshot = Some(s),
            Action::SetSize(n) => {
                next.n_servers = n;
                next.snapshot = None;
            }
            Action::Reset => {
                next.epoch_of_page += 1;
                next.snapshot = None;
            }
        }
        Rc::new(next)
    }
}
