//! The posture score and its roll-ups.
//!
//! Score = 100 × Σ(weight × credit) / Σ(weight), over the controls in scope (not
//! `not_applicable`). Weight by severity: critical 8, high 4, medium 2, low 1 — each level counts
//! twice the one below, so one failing critical control outweighs several low ones. Credit:
//! `passing` and `manual_ok` 1; `excepted` ½ (an approved, documented exception is better than
//! an unmanaged gap, but the control is still not operating); every other state 0. A catalog
//! with nothing in scope scores 0.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ControlState;
use crate::catalog::{Catalog, Category, Control, Severity};

pub fn weight(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 8.0,
        Severity::High => 4.0,
        Severity::Medium => 2.0,
        Severity::Low => 1.0,
    }
}

pub fn credit(state: ControlState) -> f64 {
    match state {
        ControlState::Passing | ControlState::ManualOk => 1.0,
        ControlState::Excepted => 0.5,
        _ => 0.0,
    }
}

/// Score and counts over a set of controls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    /// 0–100, one decimal.
    pub score: f64,
    pub controls: usize,
    /// Controls per state; every state is present, zero included, so JSON consumers can rely on
    /// the keys.
    pub states: BTreeMap<ControlState, usize>,
}

impl Tally {
    fn of<'a>(controls: impl Iterator<Item = (&'a Control, ControlState)>) -> Tally {
        let mut states: BTreeMap<ControlState, usize> =
            ControlState::ALL.into_iter().map(|s| (s, 0)).collect();
        let (mut earned, mut possible, mut count) = (0.0, 0.0, 0);
        for (control, state) in controls {
            count += 1;
            *states.entry(state).or_default() += 1;
            if state != ControlState::NotApplicable {
                earned += weight(control.severity) * credit(state);
                possible += weight(control.severity);
            }
        }
        let score = if possible > 0.0 { (1000.0 * earned / possible).round() / 10.0 } else { 0.0 };
        Tally { score, controls: count, states }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryPosture {
    pub category: Category,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The whole organisation's posture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posture {
    #[serde(flatten)]
    pub overall: Tally,
    /// One entry per Trust Services Category that at least one control maps to. A control that
    /// maps to several categories counts in each.
    pub categories: Vec<CategoryPosture>,
}

/// Computes the posture from each control's state; controls without a state are skipped.
pub fn posture(catalog: &Catalog, state_of: impl Fn(&str) -> Option<ControlState>) -> Posture {
    let states: Vec<(&Control, ControlState, Vec<Category>)> = catalog
        .controls()
        .iter()
        .filter_map(|c| state_of(&c.id).map(|s| (c, s, catalog.categories_of(c))))
        .collect();
    let overall = Tally::of(states.iter().map(|(c, s, _)| (*c, *s)));
    let mut categories: Vec<Category> =
        states.iter().flat_map(|(_, _, cats)| cats.iter().copied()).collect();
    categories.sort();
    categories.dedup();
    let categories = categories
        .into_iter()
        .map(|category| CategoryPosture {
            category,
            tally: Tally::of(
                states
                    .iter()
                    .filter(|(_, _, cats)| cats.contains(&category))
                    .map(|(c, s, _)| (*c, *s)),
            ),
        })
        .collect();
    Posture { overall, categories }
}
