//! Time limits of the hotline (办理时限, 签收时限) that count either working time on the [`WorkClock`] or plain
//! calendar time, and the supervision colour of a deadline counted either way.
//!
//! The colour follows [`crate::colour`] exactly (same [`Thresholds`], same rules): red once the deadline has
//! passed; yellow from the yellow share of the time used, or when little is left (a number of days for limits of
//! three days or more, a number of minutes for limits of one day or less, and only when that is under half the
//! limit); blue from the blue share; green before. For a working-time limit without extension it gives the
//! same answer as [`crate::colour::colour`] (a property test checks it). A calendar day is 24 hours.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkClock};
use crate::colour::{Colour, Thresholds};
use crate::duration::WorkingDuration;

/// Minutes of one calendar day.
pub const CALENDAR_DAY_MINUTES: u64 = 24 * 60;

/// The longest calendar limit accepted, in days: more is certainly a data error.
pub const MAX_CALENDAR_DAYS: u64 = 3660;

/// How a limit counts (计时方式): working time (工作日/工作时间) on the hall's clock, or calendar time
/// (自然日/小时), e.g. "24 小时内" for a burst water main.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Working,
    Calendar,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Working => "working",
            Basis::Calendar => "calendar",
        }
    }

    pub fn parse(s: &str) -> Option<Basis> {
        match s {
            "working" => Some(Basis::Working),
            "calendar" => Some(Basis::Calendar),
            _ => None,
        }
    }
}

/// A time limit: an amount written like the catalogue's limits (`2h`, `24h`, `7d`, `0.5d`) and how it counts.
/// `5d` working is "the close of the 5th working day after the start"; `7d` calendar is 7 × 24 hours.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct TimeLimit {
    pub amount: WorkingDuration,
    pub counts: Basis,
}

impl TimeLimit {
    pub fn working(amount: WorkingDuration) -> TimeLimit {
        TimeLimit { amount, counts: Basis::Working }
    }

    pub fn calendar(amount: WorkingDuration) -> TimeLimit {
        TimeLimit { amount, counts: Basis::Calendar }
    }

    /// The amount in minutes: calendar days are 1440 minutes, working days the nominal 390.
    pub fn nominal_minutes(&self) -> u64 {
        match self.counts {
            Basis::Working => self.amount.nominal_minutes(),
            Basis::Calendar => calendar_minutes(self.amount),
        }
    }

    /// The deadline of this limit started at `start`.
    pub fn deadline(&self, start: Timestamp, clock: &WorkClock) -> Result<Timestamp, CalendarError> {
        deadline(self.counts, start, self.amount, clock)
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.amount, self.counts.as_str())
    }
}

/// Two amounts added the way `counts` counts them: days stay days; otherwise minutes, a day being 24 hours on
/// the calendar clock and the nominal working day ([`WorkingDuration::plus`]) on the working clock.
pub fn sum(counts: Basis, a: WorkingDuration, b: WorkingDuration) -> WorkingDuration {
    match (counts, a, b) {
        (Basis::Working, a, b) => a.plus(b),
        (Basis::Calendar, WorkingDuration::Days { thousandths: x }, WorkingDuration::Days { thousandths: y }) => {
            WorkingDuration::Days { thousandths: x + y }
        }
        (Basis::Calendar, a, b) => WorkingDuration::Minutes(calendar_minutes(a) + calendar_minutes(b)),
    }
}

/// The minutes of an amount read as calendar time.
fn calendar_minutes(amount: WorkingDuration) -> u64 {
    match amount {
        WorkingDuration::Days { thousandths } => (thousandths * CALENDAR_DAY_MINUTES).div_ceil(1000),
        WorkingDuration::Minutes(m) => m,
    }
}

/// The deadline of `amount` counted the `counts` way from `start`. Calendar amounts above
/// [`MAX_CALENDAR_DAYS`] and working amounts the clock refuses are errors.
pub fn deadline(
    counts: Basis,
    start: Timestamp,
    amount: WorkingDuration,
    clock: &WorkClock,
) -> Result<Timestamp, CalendarError> {
    match counts {
        Basis::Working => clock.add(start, amount),
        Basis::Calendar => {
            let minutes = calendar_minutes(amount);
            if minutes > MAX_CALENDAR_DAYS * CALENDAR_DAY_MINUTES {
                return Err(CalendarError::DurationTooLong { duration: amount });
            }
            let minutes = i64::try_from(minutes).map_err(|_| CalendarError::OutOfRange)?;
            start.checked_add(SignedDuration::from_mins(minutes)).map_err(|_| CalendarError::OutOfRange)
        }
    }
}

/// The colour at `now` of a deadline `deadline` for a limit of `limit` (the original limit plus any approved
/// extension) started at `start`, counted the `counts` way.
pub fn colour(
    clock: &WorkClock,
    counts: Basis,
    start: Timestamp,
    limit: WorkingDuration,
    deadline: Timestamp,
    now: Timestamp,
    t: &Thresholds,
) -> Result<Colour, CalendarError> {
    if now > deadline {
        return Ok(Colour::Red);
    }
    let (day, limit_minutes) = match counts {
        Basis::Working => (clock.day_minutes(), limit.to_minutes(clock.day_minutes())),
        Basis::Calendar => (CALENDAR_DAY_MINUTES, calendar_minutes(limit)),
    };
    let measure = |from: Timestamp, to: Timestamp| -> Result<u64, CalendarError> {
        match counts {
            Basis::Working => clock.between(from, to),
            Basis::Calendar => Ok(u64::try_from(to.duration_since(from).as_secs() / 60).unwrap_or(0)),
        }
    };
    let total = measure(start, deadline)?;
    let used = measure(start, now)?;
    // The same marks as `crate::colour`: the "time left" rule is by the size of the limit and applies only when
    // it covers less than half of it.
    let left_threshold = if limit_minutes >= 3 * day {
        Some(t.yellow_days_left.saturating_mul(day))
    } else if limit_minutes <= day {
        Some(t.yellow_minutes_left_short)
    } else {
        None
    };
    let left_threshold = left_threshold.filter(|th| total > th.saturating_mul(2));
    let share = |percent: u32| (u64::from(percent) * total).div_ceil(100);
    let mut yellow = share(t.yellow_percent);
    if let Some(th) = left_threshold {
        yellow = yellow.min(total.saturating_sub(th));
    }
    Ok(if used >= yellow {
        Colour::Yellow
    } else if used >= share(t.blue_percent) {
        Colour::Blue
    } else {
        Colour::Green
    })
}
