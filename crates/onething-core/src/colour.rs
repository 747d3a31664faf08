//! The supervision colour (督办颜色, 电子监察 red/yellow/blue/green lights) of a deadline: how much of the
//! promised working time is used and whether the deadline has passed (DOMAIN.md §8.2). The thresholds are
//! configuration ([`Thresholds`]); the defaults are the recommended convention, not a national standard.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, Pause, WorkClock};
use crate::case::{Case, CaseState, Task, TaskState, closed_at};
use crate::duration::WorkingDuration;

/// The colour of a running deadline (督办颜色).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// 绿 正常: on track.
    Green,
    /// 蓝 提醒: past the first share of the time (reminder).
    Blue,
    /// 黄 预警: near the deadline (warning, 黄牌).
    Yellow,
    /// 红 超期: the deadline has passed (overdue, 红牌).
    Red,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
        }
    }

    /// The Chinese label: 正常, 提醒, 预警, 超期.
    pub fn label_zh(self) -> &'static str {
        match self {
            Colour::Green => "正常",
            Colour::Blue => "提醒",
            Colour::Yellow => "预警",
            Colour::Red => "超期",
        }
    }
}

/// When a deadline turns blue and yellow (预警阈值). Red is always "the deadline has passed".
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Blue from this share of the working time used, in percent (default 50).
    pub blue_percent: u32,
    /// Yellow from this share of the working time used, in percent (default 80).
    pub yellow_percent: u32,
    /// For limits of 3 working days or more: yellow when at most this many working days are left (default 1).
    pub yellow_days_left: u64,
    /// For limits of 1 working day or less: yellow when at most this many working minutes are left
    /// (default 120).
    pub yellow_minutes_left_short: u64,
}

impl Default for Thresholds {
    /// DOMAIN.md §8.2: blue ≥ 50 % used; yellow ≥ 80 % used or ≤ 1 working day left (≤ 2 h for short items).
    fn default() -> Self {
        Thresholds { blue_percent: 50, yellow_percent: 80, yellow_days_left: 1, yellow_minutes_left_short: 120 }
    }
}

/// The colour at `now` of a limit started at `start`, with the clock stopped during `pauses` (an open pause
/// is taken as running until `now`, so a paused clock keeps its colour).
///
/// The total is the working minutes from `start` to the plain deadline (so whole days, which count from the
/// next day, include the rest of the starting day); the used time leaves out the pauses; the deadline moves by
/// the working time paused. Red when `now` is past that deadline; yellow when the yellow share is used or
/// little time is left (1 working day for limits of 3 days or more, 120 minutes for limits of 1 day or less,
/// by default, and only for limits longer than twice that); blue when the blue share is used; green otherwise.
pub fn colour(
    clock: &WorkClock,
    start: Timestamp,
    limit: WorkingDuration,
    pauses: &[Pause],
    now: Timestamp,
    t: &Thresholds,
) -> Result<Colour, CalendarError> {
    let deadline = clock.deadline_with_pauses(start, limit, &closed_at(pauses, now))?;
    if now > deadline {
        return Ok(Colour::Red);
    }
    let marks = Marks::of(clock, start, limit, t)?;
    let used = clock.used(start, now, pauses)?;
    Ok(marks.colour_at(used))
}

/// The used working minutes at which a deadline turns blue and yellow.
struct Marks {
    blue: u64,
    yellow: u64,
}

impl Marks {
    fn of(clock: &WorkClock, start: Timestamp, limit: WorkingDuration, t: &Thresholds) -> Result<Marks, CalendarError> {
        let total = clock.between(start, clock.add(start, limit)?)?;
        let day = clock.day_minutes();
        let limit_minutes = limit.to_minutes(day);
        let left_threshold = if limit_minutes >= 3 * day {
            Some(t.yellow_days_left.saturating_mul(day))
        } else if limit_minutes <= day {
            Some(t.yellow_minutes_left_short)
        } else {
            None
        };
        // A "time left" rule that would cover more than half of the limit would make the item yellow from its
        // first minute (a 1-hour task with "2 hours left" is always late-looking): it applies only to limits
        // longer than twice the threshold, and the share rule covers the shorter ones.
        let left_threshold = left_threshold.filter(|th| total > th.saturating_mul(2));
        // The first whole minute at which `used * 100 >= percent * total`.
        let share = |percent: u32| (u64::from(percent) * total).div_ceil(100);
        let mut yellow = share(t.yellow_percent);
        if let Some(th) = left_threshold {
            yellow = yellow.min(total.saturating_sub(th));
        }
        Ok(Marks { blue: share(t.blue_percent), yellow })
    }

    fn colour_at(&self, used: u64) -> Colour {
        if used >= self.yellow {
            Colour::Yellow
        } else if used >= self.blue {
            Colour::Blue
        } else {
            Colour::Green
        }
    }
}

/// The first instant after `now` at which the colour changes, if the clock keeps running: `None` while the
/// clock is paused (nothing can change) or once red (nothing further to change). A deadline watcher sleeps
/// until this instant instead of re-checking every open item.
pub fn next_change(
    clock: &WorkClock,
    start: Timestamp,
    limit: WorkingDuration,
    pauses: &[Pause],
    now: Timestamp,
    t: &Thresholds,
) -> Result<Option<Timestamp>, CalendarError> {
    if pauses.iter().any(|p| p.to.is_none()) {
        return Ok(None);
    }
    let deadline = clock.deadline_with_pauses(start, limit, pauses)?;
    if now > deadline {
        return Ok(None);
    }
    let marks = Marks::of(clock, start, limit, t)?;
    let used = clock.used(start, now, pauses)?;
    let current = marks.colour_at(used);
    // Red one second after the deadline; blue and yellow when the used minutes reach their marks.
    let mut next = deadline.checked_add(jiff::SignedDuration::from_secs(1)).map_err(|_| CalendarError::OutOfRange)?;
    for mark in [marks.blue, marks.yellow] {
        if mark > used && marks.colour_at(mark) != current {
            let at = clock.add(now, WorkingDuration::Minutes(mark - used))?;
            // `add` counts whole minutes from `now`; step to the first instant the mark is really reached.
            let at = if clock.used(start, at, pauses)? >= mark {
                at
            } else {
                at.checked_add(jiff::SignedDuration::from_secs(60)).map_err(|_| CalendarError::OutOfRange)?
            };
            next = next.min(at);
        }
    }
    Ok(Some(next))
}

impl Case {
    /// The colour of the case's promised limit (承诺时限) from acceptance: `None` before acceptance, once
    /// concluded or withdrawn, or when the clock cannot tell (a date beyond the calendar).
    pub fn colour(&self, clock: &WorkClock, now: Timestamp, t: &Thresholds) -> Option<Colour> {
        if !matches!(self.state, CaseState::Accepted | CaseState::InProgress | CaseState::Returned) {
            return None;
        }
        let start = self.accepted_at?;
        colour(clock, start, self.promised_limit, &self.pauses, now, t).ok()
    }
}

impl Task {
    /// The colour of the task's limit from when it became ready, with the case's pauses: `None` unless the task
    /// is ready or returned (or when the clock cannot tell).
    pub fn colour(&self, case_pauses: &[Pause], clock: &WorkClock, now: Timestamp, t: &Thresholds) -> Option<Colour> {
        if !matches!(self.state, TaskState::Ready | TaskState::Returned) {
            return None;
        }
        let start = self.ready_at?;
        colour(clock, start, self.limit, case_pauses, now, t).ok()
    }
}
