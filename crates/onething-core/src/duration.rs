//! Working durations (工作时间): the time limits of the catalogue — promised limit (承诺时限), statutory limit
//! (法定时限), in-bundle limits — written as `20d`, `0.5d`, `3h`, `45m` or `3h15m`.
//!
//! A limit in days keeps its days: whole working days count on the calendar (the deadline is the close of the
//! Nth working day), fractional days count working minutes where one day is the hall's session minutes. A limit
//! in hours or minutes is working minutes.

use std::fmt;
use std::str::FromStr;

/// The number of working minutes in one nominal working day (09:00–12:00 and 13:30–17:00), used to compare
/// and add limits of different units in the catalogue. The clock uses the hall's configured day instead.
pub const NOMINAL_DAY_MINUTES: u64 = 390;

/// A working time limit. Days are held in thousandths so that `0.5d` and `1.25d` are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkingDuration {
    /// Working days, in thousandths of a day (`0.5d` is 500).
    Days { thousandths: u64 },
    /// Working minutes (`3h` is 180).
    Minutes(u64),
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad duration {input:?}: {reason} (write e.g. 20d, 0.5d, 3h, 45m or 3h15m)")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl WorkingDuration {
    pub const ZERO: WorkingDuration = WorkingDuration::Minutes(0);

    pub fn days(n: u64) -> Self {
        WorkingDuration::Days { thousandths: n * 1000 }
    }

    pub fn minutes(n: u64) -> Self {
        WorkingDuration::Minutes(n)
    }

    /// True for a whole number of working days, which the clock counts on the calendar rather than in minutes.
    pub fn whole_days(&self) -> Option<u64> {
        match *self {
            WorkingDuration::Days { thousandths } if thousandths % 1000 == 0 => Some(thousandths / 1000),
            _ => None,
        }
    }

    /// Working minutes, given the minutes of one working day (rounded to the nearest minute).
    pub fn to_minutes(&self, day_minutes: u64) -> u64 {
        match *self {
            WorkingDuration::Days { thousandths } => (thousandths * day_minutes + 500) / 1000,
            WorkingDuration::Minutes(m) => m,
        }
    }

    /// Minutes at the nominal day, for comparing catalogue limits.
    pub fn nominal_minutes(&self) -> u64 {
        self.to_minutes(NOMINAL_DAY_MINUTES)
    }

    /// The duration in (fractional) working days at the nominal day length.
    pub fn nominal_days(&self) -> f64 {
        match *self {
            WorkingDuration::Days { thousandths } => thousandths as f64 / 1000.0,
            WorkingDuration::Minutes(m) => m as f64 / NOMINAL_DAY_MINUTES as f64,
        }
    }

    /// The sum of two limits: days stay days, anything mixed becomes minutes at the nominal day.
    pub fn plus(self, other: WorkingDuration) -> WorkingDuration {
        match (self, other) {
            (WorkingDuration::Days { thousandths: a }, WorkingDuration::Days { thousandths: b }) => {
                WorkingDuration::Days { thousandths: a + b }
            }
            (a, b) if a.nominal_minutes() == 0 => b,
            (a, b) if b.nominal_minutes() == 0 => a,
            (a, b) => WorkingDuration::Minutes(a.nominal_minutes() + b.nominal_minutes()),
        }
    }

    /// The longer of two limits at the nominal day (the first on a tie).
    pub fn max(self, other: WorkingDuration) -> WorkingDuration {
        if other.nominal_minutes() > self.nominal_minutes() { other } else { self }
    }
}

impl Default for WorkingDuration {
    fn default() -> Self {
        WorkingDuration::ZERO
    }
}

impl fmt::Display for WorkingDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WorkingDuration::Days { thousandths } => {
                let whole = thousandths / 1000;
                let frac = thousandths % 1000;
                if frac == 0 {
                    write!(f, "{whole}d")
                } else {
                    let digits = format!("{frac:03}");
                    write!(f, "{whole}.{}d", digits.trim_end_matches('0'))
                }
            }
            WorkingDuration::Minutes(m) => {
                let (h, mm) = (m / 60, m % 60);
                match (h, mm) {
                    (0, mm) => write!(f, "{mm}m"),
                    (h, 0) => write!(f, "{h}h"),
                    (h, mm) => write!(f, "{h}h{mm}m"),
                }
            }
        }
    }
}

/// Parses a decimal with at most three fractional digits into thousandths.
fn parse_thousandths(number: &str, input: &str) -> Result<u64, DurationError> {
    let err = |reason| DurationError { input: input.to_string(), reason };
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("the amount is not a number"));
    }
    if number.contains('.') && frac.is_empty() {
        return Err(err("the amount is not a number"));
    }
    if frac.len() > 3 {
        return Err(err("at most three decimal places"));
    }
    let int: u64 = int.parse().map_err(|_| err("the amount is too large"))?;
    if int > 100_000 {
        return Err(err("the amount is too large"));
    }
    let mut frac_value: u64 =
        if frac.is_empty() { 0 } else { frac.parse().map_err(|_| err("the amount is not a number"))? };
    for _ in frac.len()..3 {
        frac_value *= 10;
    }
    Ok(int * 1000 + frac_value)
}

impl FromStr for WorkingDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| DurationError { input: input.to_string(), reason };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if let Some(number) = s.strip_suffix('d') {
            let thousandths = parse_thousandths(number, input)?;
            return Ok(WorkingDuration::Days { thousandths });
        }
        // Hours and minutes: `3h`, `1.5h`, `45m`, `3h15m`.
        let (hours, rest) = match s.split_once('h') {
            Some((h, rest)) => (Some(h), rest),
            None => (None, s),
        };
        let mut minutes = 0u64;
        if let Some(h) = hours {
            let t = parse_thousandths(h, input)?;
            if (t * 60) % 1000 != 0 {
                return Err(err("hours must come to whole minutes"));
            }
            minutes += t * 60 / 1000;
        }
        if !rest.is_empty() {
            let Some(m) = rest.strip_suffix('m') else {
                return Err(err("the unit must be d, h or m"));
            };
            if hours.is_some() && m.contains('.') {
                return Err(err("minutes must be whole"));
            }
            let t = parse_thousandths(m, input)?;
            if t % 1000 != 0 {
                return Err(err("minutes must be whole"));
            }
            minutes += t / 1000;
        } else if hours.is_none() {
            return Err(err("the unit must be d, h or m"));
        }
        Ok(WorkingDuration::Minutes(minutes))
    }
}

impl serde::Serialize for WorkingDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for WorkingDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> WorkingDuration {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for s in ["20d", "0.5d", "1.25d", "3h", "45m", "3h15m", "0d", "0m", "0.125d"] {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(p("1.5h"), WorkingDuration::Minutes(90));
        assert_eq!(p("0.5d"), WorkingDuration::Days { thousandths: 500 });
        assert_eq!(p("20d").whole_days(), Some(20));
        assert_eq!(p("0.5d").whole_days(), None);
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for s in [
            "",
            "d",
            "5",
            "5x",
            "-1d",
            "1.d",
            ".5d",
            "1.2345d",
            "3h15",
            "3h1.5m",
            "1.01h",
            "1e3d",
            "99999999999d",
            "５d",
        ] {
            assert!(s.parse::<WorkingDuration>().is_err(), "{s} should not parse");
        }
        let e = "5x".parse::<WorkingDuration>().unwrap_err();
        assert!(e.to_string().contains("unit"), "{e}");
    }

    #[test]
    fn mixed_sums_use_the_nominal_day() {
        assert_eq!(p("1d").plus(p("2d")), p("3d"));
        assert_eq!(p("1h").plus(p("0.5d")), WorkingDuration::Minutes(60 + 195));
        assert_eq!(p("0.5d").nominal_minutes(), 195);
        assert_eq!(WorkingDuration::ZERO.plus(p("2d")), p("2d"));
    }
}
