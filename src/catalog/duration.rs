//! Freshness windows as the catalog writes them: a whole number and a unit, `36h`, `2d`, `1w`.

use std::{fmt, str::FromStr};

use chrono::TimeDelta;

/// How long evidence stays current. Written `<n>h`, `<n>d` or `<n>w`; at least one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FreshnessWindow {
    hours: i64,
}

impl FreshnessWindow {
    pub fn hours(hours: i64) -> Self {
        Self { hours }
    }

    pub fn days(days: i64) -> Self {
        Self { hours: days * 24 }
    }

    pub fn as_delta(self) -> TimeDelta {
        TimeDelta::hours(self.hours)
    }
}

impl FromStr for FreshnessWindow {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let explain = || {
            format!("{text:?} is not a duration; write a whole number and h, d or w, like \"2d\"")
        };
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(explain)?;
        let (number, unit) = text.split_at(split);
        let number: i64 = number.parse().map_err(|_| explain())?;
        let hours_per_unit = match unit {
            "h" => 1,
            "d" => 24,
            "w" => 24 * 7,
            _ => return Err(explain()),
        };
        if number == 0 {
            return Err(format!("{text:?} is zero; evidence must stay current for at least 1h"));
        }
        // Ten years is far beyond any SOC 2 evidence cycle; anything larger is a typo.
        let hours = number
            .checked_mul(hours_per_unit)
            .filter(|h| *h <= 24 * 3660)
            .ok_or_else(|| format!("{text:?} is longer than ten years; check the number"))?;
        Ok(Self { hours })
    }
}

impl fmt::Display for FreshnessWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hours {
            h if h % (24 * 7) == 0 => write!(f, "{}w", h / (24 * 7)),
            h if h % 24 == 0 => write!(f, "{}d", h / 24),
            h => write!(f, "{h}h"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hours_days_and_weeks() {
        for (text, hours) in [("36h", 36), ("2d", 48), ("1w", 168), ("365d", 365 * 24)] {
            assert_eq!(
                text.parse::<FreshnessWindow>().unwrap().as_delta(),
                TimeDelta::hours(hours),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "2", "d", "2 days", "2y", "-1d", "1.5d", "0d", "99999w"] {
            assert!(text.parse::<FreshnessWindow>().is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        assert_eq!(FreshnessWindow::hours(36).to_string(), "36h");
        assert_eq!(FreshnessWindow::days(2).to_string(), "2d");
        assert_eq!(FreshnessWindow::days(14).to_string(), "2w");
    }
}
