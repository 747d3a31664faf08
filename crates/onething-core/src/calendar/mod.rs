//! The Chinese working-time clock: which days are working days (工作日) under the official holiday calendar
//! (法定节假日 and 调休), the service hall's opening sessions, and deadlines counted in working time, with pauses.
//!
//! - [`HolidayCalendar`] holds, per year, the days off and the weekend days worked in exchange. Official years
//!   are data (`calendar/china.toml`, embedded in [`HolidayCalendar::official`]; later notices added with
//!   [`HolidayCalendar::publish`]); a year without a notice is estimated from the law (`provisional`, 暂定) and
//!   marked so ([`HolidayCalendar::is_provisional`], [`WorkClock::touches_provisional`]); a year outside
//!   [`PROVISIONAL_YEARS`] without data is an error, never a silent Monday-to-Friday week.
//! - [`HallHours`] are the sessions of a working day; one working day is the sum of their minutes.
//! - [`WorkClock`] combines both and computes deadlines: whole working days count calendar days from the day
//!   after acceptance and end at the close of the last one; fractional days, hours and minutes count working
//!   minutes inside sessions.
//!
//! All instants are read in China Standard Time, a fixed +08:00 ([`china_tz`]): the crate never consults the
//! system time zone database or the system clock.

mod clock;
mod holidays;
mod hours;
mod provisional;

pub use clock::{Pause, WorkClock};
pub use holidays::{CalendarYear, Coverage, Holiday, HolidayCalendar, YearChange};
pub use hours::{HallHours, HallHoursError, Session};
pub use provisional::{
    FESTIVAL_YEARS, Festival, FestivalDates, PROVISIONAL_SOURCE, PROVISIONAL_YEARS, StatutoryDay, festival_dates,
    statutory_days,
};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::duration::WorkingDuration;

/// The longest time limit the clock accepts, in working days. A larger limit is certainly a data error, and
/// refusing it keeps every computation bounded.
pub const MAX_WORKING_DAYS: u64 = 10_000;

/// China Standard Time (北京时间), a fixed +08:00. Asia/Shanghai has had no daylight saving since 1991, so a
/// fixed offset gives the same answers for every date the calendar covers without reading tzdata.
pub fn china_tz() -> TimeZone {
    TimeZone::fixed(jiff::tz::offset(8))
}

/// Why a working-time computation or a calendar merge failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The computation reached a date of a year the calendar has neither official data nor an estimate for.
    #[error("no official calendar for {year}: add a calendar file for that year")]
    YearNotCovered { year: i16 },
    /// Two calendars given to [`HolidayCalendar::extend`] both define the same year.
    #[error("the calendar for {year} is defined twice: keep it in one calendar file only")]
    YearDefinedTwice { year: i16 },
    /// The time limit exceeds [`MAX_WORKING_DAYS`].
    #[error("the time limit {duration} is longer than {MAX_WORKING_DAYS} working days: check the limit")]
    DurationTooLong { duration: WorkingDuration },
    /// A pause (暂停计时) whose end lies before its start.
    #[error(
        "a pause ends at {} before it starts at {}",
        china_tz().to_datetime(*to),
        china_tz().to_datetime(*from)
    )]
    PauseEndsBeforeItStarts { from: Timestamp, to: Timestamp },
    /// Date arithmetic left the range jiff can represent (years -9999 to 9999).
    #[error("the date is outside the range the clock can represent")]
    OutOfRange,
}

impl CalendarError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::YearNotCovered { .. } => "calendar_year_not_covered",
            CalendarError::YearDefinedTwice { .. } => "calendar_year_defined_twice",
            CalendarError::DurationTooLong { .. } => "duration_too_long",
            CalendarError::PauseEndsBeforeItStarts { .. } => "pause_ends_before_it_starts",
            CalendarError::OutOfRange => "date_out_of_range",
        }
    }
}
