//! "Did you mean …?": ranking candidates for a mistyped name, and the phrase that offers them.
//! Each caller scores with the metric that suits its names (see the callers' comments); the
//! cut-off, order and count are the same everywhere.

/// The best three candidates scoring above 0.8, best first.
pub fn closest<'a>(scored: impl Iterator<Item = (f64, &'a str)>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &'a str)> = scored.filter(|(score, _)| *score > 0.8).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

/// "; did you mean X?" for an error message, or nothing when there is no close match.
pub fn did_you_mean(suggestions: &[impl AsRef<str>]) -> String {
    let suggestions: Vec<&str> = suggestions.iter().map(AsRef::as_ref).collect();
    match suggestions.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        many => format!("; did you mean one of {}?", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_three_above_the_cut_off() {
        let scored = [(0.9, "b"), (0.5, "x"), (0.95, "a"), (0.85, "c"), (0.81, "d")];
        assert_eq!(closest(scored.into_iter()), vec!["a", "b", "c"]);
        assert_eq!(did_you_mean(&["a"]), "; did you mean a?");
        assert_eq!(did_you_mean(&["a", "b"]), "; did you mean one of a, b?");
        assert_eq!(did_you_mean(&[] as &[&str]), "");
    }
}
