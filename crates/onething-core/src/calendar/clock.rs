//! The working-time clock (工作时间): deadlines (办理期限) and elapsed working time over the holiday calendar and
//! the hall's sessions, with pauses (暂停计时) for 补正, 听证/检验/鉴定/专家评审 (行政许可法 §45) and 延期.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Timestamp};

use super::{CalendarError, HallHours, HolidayCalendar, MAX_WORKING_DAYS, china_tz};
use crate::duration::WorkingDuration;

/// A period during which the clock is stopped. `to: None` means the clock is still stopped (see
/// [`WorkClock::deadline_with_pauses`] and [`WorkClock::used`] for how each treats it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pause {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

/// The working-time clock of one hall: the holiday calendar plus the hall's sessions.
///
/// Two ways of counting, chosen by the limit ([`WorkingDuration::whole_days`]):
///
/// - **Whole working days** count dates from the day after the start (the starting day is not counted, 民法典
///   §201); the deadline is the close of the Nth working day. `0d` is the start itself.
/// - **Fractional days, hours and minutes** count working minutes inside sessions from the start (or from the
///   next session's opening when the start is outside one); one day is [`HallHours::day_minutes`]. When the
///   minutes run out exactly at a session's end, the deadline is that end.
///
/// Every instant is read in +08:00 ([`china_tz`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkClock {
    calendar: HolidayCalendar,
    hours: HallHours,
}

impl WorkClock {
    pub fn new(calendar: HolidayCalendar, hours: HallHours) -> WorkClock {
        WorkClock { calendar, hours }
    }

    /// The official calendar with the default hall hours (09:00–12:00, 13:30–17:00).
    pub fn official() -> WorkClock {
        WorkClock::new(HolidayCalendar::official(), HallHours::default())
    }

    pub fn calendar(&self) -> &HolidayCalendar {
        &self.calendar
    }

    /// The calendar, to publish a new official year into ([`HolidayCalendar::publish`]).
    pub fn calendar_mut(&mut self) -> &mut HolidayCalendar {
        &mut self.calendar
    }

    /// Whether any date from `start` to `end` (either order, both dates included, read in +08:00) lies in a
    /// provisional year ([`HolidayCalendar::is_provisional`]): a deadline computed over that span rests on an
    /// estimate and should be shown as provisional until the year's notice is published.
    pub fn touches_provisional(&self, start: Timestamp, end: Timestamp) -> bool {
        let (first, last) = (local(start.min(end)).year(), local(start.max(end)).year());
        (first..=last).any(|year| self.calendar.is_provisional(year))
    }

    pub fn hours(&self) -> &HallHours {
        &self.hours
    }

    /// The minutes of one working day (1 工作日).
    pub fn day_minutes(&self) -> u64 {
        self.hours.day_minutes()
    }

    /// The deadline of a limit `d` started at `start`. Limits above [`MAX_WORKING_DAYS`] are refused.
    pub fn add(&self, start: Timestamp, d: WorkingDuration) -> Result<Timestamp, CalendarError> {
        let too_long = match d {
            WorkingDuration::Days { thousandths } => thousandths > MAX_WORKING_DAYS * 1000,
            WorkingDuration::Minutes(minutes) => minutes > MAX_WORKING_DAYS * self.day_minutes(),
        };
        if too_long {
            return Err(CalendarError::DurationTooLong { duration: d });
        }
        if let Some(days) = d.whole_days() {
            return self.add_days(start, days);
        }
        let minutes = i64::try_from(d.to_minutes(self.day_minutes()))
            .map_err(|_| CalendarError::DurationTooLong { duration: d })?;
        self.add_working_time(start, SignedDuration::from_mins(minutes))
    }

    /// The working minutes (inside sessions, on working days) from `start` to `end`; 0 if `end <= start`.
    pub fn between(&self, start: Timestamp, end: Timestamp) -> Result<u64, CalendarError> {
        self.working_time(start, end).map(whole_minutes)
    }

    /// The deadline of a limit `d` started at `start`, moved later by the working minutes spent paused after
    /// `start`: [`between`](Self::between) of each pause, clipped to begin no earlier than `start`, with
    /// overlapping pauses merged so that no time counts twice. The paused minutes are added to the plain
    /// deadline by counting working minutes, so a whole-day deadline paused for a whole working day moves to
    /// the next day's close, and a deadline on a whole minute stays on one.
    ///
    /// An open pause (`to: None`) adds nothing: while the clock is stopped the final deadline is not known yet.
    /// To show the deadline as if the clock resumed now, pass that pause closed at now.
    pub fn deadline_with_pauses(
        &self,
        start: Timestamp,
        d: WorkingDuration,
        pauses: &[Pause],
    ) -> Result<Timestamp, CalendarError> {
        let deadline = self.add(start, d)?;
        let paused = self.paused_minutes(&pause_spans(pauses, start, None)?)?;
        let paused = i64::try_from(paused).map_err(|_| CalendarError::OutOfRange)?;
        self.add_working_time(deadline, SignedDuration::from_mins(paused))
    }

    /// The working minutes used from `start` to `now`, less the paused working minutes counted as in
    /// [`deadline_with_pauses`](Self::deadline_with_pauses), so that at that deadline the whole limit is used.
    /// Pauses are clipped to `start..now`; an open pause (`to: None`) runs until `now`.
    pub fn used(&self, start: Timestamp, now: Timestamp, pauses: &[Pause]) -> Result<u64, CalendarError> {
        if now <= start {
            return Ok(0);
        }
        let total = self.between(start, now)?;
        let paused = self.paused_minutes(&pause_spans(pauses, start, Some(now))?)?;
        Ok(total.saturating_sub(paused))
    }

    /// Whole days: the close of the `days`-th working day after the start's date.
    fn add_days(&self, start: Timestamp, days: u64) -> Result<Timestamp, CalendarError> {
        if days == 0 {
            return Ok(start);
        }
        let mut date = local(start).date();
        let mut counted = 0;
        while counted < days {
            date = next_day(date)?;
            if self.calendar.is_working_day(date)? {
                counted += 1;
            }
        }
        instant(date.to_datetime(self.hours.close()))
    }

    /// Counts `amount` of in-session working time from `start`. Zero is the start itself. The walk ends at a
    /// year neither official nor estimated at the latest, so it is bounded by the calendar.
    fn add_working_time(&self, start: Timestamp, amount: SignedDuration) -> Result<Timestamp, CalendarError> {
        if amount <= SignedDuration::ZERO {
            return Ok(start);
        }
        let start = local(start);
        let mut remaining = amount;
        let mut date = start.date();
        // Only on the first day does the count begin later than the sessions' opening.
        let mut not_before = start.time();
        loop {
            if self.calendar.is_working_day(date)? {
                for session in self.hours.sessions() {
                    let from = session.start.max(not_before);
                    if from >= session.end {
                        continue;
                    }
                    let available = session.end.duration_since(from);
                    if remaining <= available {
                        return instant(date.to_datetime(from) + remaining);
                    }
                    remaining -= available;
                }
            }
            not_before = Time::MIN;
            date = next_day(date)?;
        }
    }

    /// The in-session working time between two instants.
    fn working_time(&self, start: Timestamp, end: Timestamp) -> Result<SignedDuration, CalendarError> {
        if end <= start {
            return Ok(SignedDuration::ZERO);
        }
        let (start, end) = (local(start), local(end));
        let mut total = SignedDuration::ZERO;
        let mut date = start.date();
        // A date is looked at only if part of it lies before `end`, so an end at midnight needs no data for
        // the day it opens.
        while date.to_datetime(Time::MIN) < end {
            if self.calendar.is_working_day(date)? {
                for session in self.hours.sessions() {
                    let from = date.to_datetime(session.start).max(start);
                    let to = date.to_datetime(session.end).min(end);
                    if to > from {
                        total += to.duration_since(from);
                    }
                }
            }
            date = next_day(date)?;
        }
        Ok(total)
    }

    fn paused_minutes(&self, spans: &[(Timestamp, Timestamp)]) -> Result<u64, CalendarError> {
        let mut total = 0;
        for &(from, to) in spans {
            total += self.between(from, to)?;
        }
        Ok(total)
    }
}

/// The pauses as disjoint, ordered spans, clipped to begin no earlier than `start` and, with `now`, to end no
/// later than `now`. An open pause ends at `now`, or at its own start (adding nothing) without one.
fn pause_spans(
    pauses: &[Pause],
    start: Timestamp,
    now: Option<Timestamp>,
) -> Result<Vec<(Timestamp, Timestamp)>, CalendarError> {
    let mut spans = Vec::new();
    for pause in pauses {
        if let Some(to) = pause.to
            && to < pause.from
        {
            return Err(CalendarError::PauseEndsBeforeItStarts { from: pause.from, to });
        }
        let from = pause.from.max(start);
        let to = match (pause.to, now) {
            (Some(to), Some(now)) => to.min(now),
            (Some(to), None) => to,
            (None, Some(now)) => now,
            (None, None) => pause.from,
        };
        if to > from {
            spans.push((from, to));
        }
    }
    spans.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (from, to) in spans {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    Ok(merged)
}

fn whole_minutes(d: SignedDuration) -> u64 {
    u64::try_from(d.as_secs() / 60).unwrap_or(0)
}

fn local(ts: Timestamp) -> DateTime {
    china_tz().to_datetime(ts)
}

fn instant(dt: DateTime) -> Result<Timestamp, CalendarError> {
    china_tz().to_timestamp(dt).map_err(|_| CalendarError::OutOfRange)
}

fn next_day(date: Date) -> Result<Date, CalendarError> {
    date.tomorrow().map_err(|_| CalendarError::OutOfRange)
}
