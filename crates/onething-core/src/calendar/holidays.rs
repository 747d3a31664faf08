//! The holiday calendar: per year, the blocks of days off (放假, around the 法定节假日) and the weekend days worked
//! in exchange (调休上班). Official years are read from TOML with every error located; a year without official
//! data may be estimated from the law ([`super::provisional`]) and is then marked provisional, until a
//! published notice replaces it ([`HolidayCalendar::publish`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

use super::CalendarError;
use super::provisional::{self, PROVISIONAL_SOURCE, PROVISIONAL_YEARS};
use crate::source::{SourceError, SourceFile, toml_error};

/// The name the embedded calendar carries in error messages.
const OFFICIAL_NAME: &str = "calendar/china.toml";
const OFFICIAL_TEXT: &str = include_str!("../../../../calendar/china.toml");

/// The years a calendar file may describe. Anything else is a typo, and the bound keeps date arithmetic far
/// from the ends of jiff's range.
const YEARS: std::ops::RangeInclusive<i64> = 1900..=2999;

static OFFICIAL: LazyLock<HolidayCalendar> = LazyLock::new(|| {
    match HolidayCalendar::from_toml(&SourceFile::new(OFFICIAL_NAME, OFFICIAL_TEXT)) {
        Ok(calendar) => calendar.with_estimates(),
        // The file is compiled in and parsed by the tests, so this is a build defect, not bad input.
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("the embedded {OFFICIAL_NAME} is invalid:\n{}", errors.join("\n"))
        }
    }
});

/// One block of days off (放假), both ends included, e.g. 春节 2025-01-28 to 2025-02-04. A block may include
/// weekends; it only matters for Monday to Friday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub from: Date,
    pub to: Date,
    /// The festival, e.g. "春节", if the file names it.
    pub name: Option<String>,
}

impl Holiday {
    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The calendar of one year: as published in the State Council notice (国务院办公厅关于…年部分节假日安排的通知),
/// or estimated from the law for a year whose notice is not out ([`CalendarYear::is_provisional`]). Only
/// [`HolidayCalendar::from_toml`] and the estimator build one, so its dates are checked: inside the year,
/// holidays ordered and disjoint, workdays on weekends and outside holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    year: i16,
    source: String,
    holidays: Vec<Holiday>,
    workdays: Vec<Date>,
    provisional: bool,
}

impl CalendarYear {
    /// An estimated year (暂定): the estimator guarantees what `check_year` checks for files.
    pub(super) fn provisional(year: i16, holidays: Vec<Holiday>, workdays: Vec<Date>) -> CalendarYear {
        CalendarYear { year, source: PROVISIONAL_SOURCE.to_string(), holidays, workdays, provisional: true }
    }

    pub fn year(&self) -> i16 {
        self.year
    }

    /// The notice the data is copied from, e.g. "国办发明电〔2024〕12号", or [`PROVISIONAL_SOURCE`] for an
    /// estimate.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this is an estimate from the law rather than a published notice.
    pub fn is_provisional(&self) -> bool {
        self.provisional
    }

    /// The blocks of days off, in date order.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// The weekend days that are working days (调休上班), in date order.
    pub fn workdays(&self) -> &[Date] {
        &self.workdays
    }

    /// Whether `date` (a date of this year) is a working day (工作日) under this table.
    pub fn is_working_day(&self, date: Date) -> bool {
        let weekday = !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
        self.workdays.contains(&date) || (weekday && !self.holidays.iter().any(|h| h.contains(date)))
    }
}

/// How a year is covered by a [`HolidayCalendar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coverage {
    /// From a published notice (the compiled-in data or a published file).
    Official,
    /// Estimated from the law (暂定): a deadline that uses it is provisional.
    Provisional,
    /// Neither: a date of this year is [`CalendarError::YearNotCovered`].
    NotCovered,
}

/// The calendar of working days (工作日):
///
/// `is_working_day(d) = d ∈ workdays ∨ (weekday(d) ∈ Mon..Fri ∧ d ∉ holidays)`,
///
/// over the official years it holds and, when it has estimates switched on ([`HolidayCalendar::official`] does),
/// over every other year of [`PROVISIONAL_YEARS`] with the provisional estimate of that year. A date of any other
/// year is an error ([`CalendarError::YearNotCovered`]): the clock never falls back to a plain Monday-to-Friday
/// week, and an estimate is always marked ([`HolidayCalendar::is_provisional`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    years: BTreeMap<i16, CalendarYear>,
    estimates: bool,
}

impl HolidayCalendar {
    /// The calendar shipped with onething (`calendar/china.toml`, compiled in): official 2024 to 2026, and the
    /// provisional estimate for the other years of [`PROVISIONAL_YEARS`].
    pub fn official() -> HolidayCalendar {
        OFFICIAL.clone()
    }

    /// Reads a calendar file (see `calendar/china.toml` for the format). Returns every problem found, each with
    /// its file, line and column; a syntax or type error stops the reading, so it comes alone. The calendar
    /// holds only the file's years, without estimates ([`with_estimates`](Self::with_estimates) adds them).
    pub fn from_toml(file: &SourceFile) -> Result<HolidayCalendar, Vec<SourceError>> {
        let years = read_years(file)?;
        Ok(HolidayCalendar { years: years.into_iter().map(|(y, _)| (y.year, y)).collect(), estimates: false })
    }

    /// The same calendar, with every year of [`PROVISIONAL_YEARS`] that has no official data estimated.
    pub fn with_estimates(mut self) -> HolidayCalendar {
        self.estimates = true;
        self
    }

    /// The same calendar with official years only: any other year is [`CalendarError::YearNotCovered`].
    pub fn without_estimates(mut self) -> HolidayCalendar {
        self.estimates = false;
        self
    }

    /// Whether years without official data are estimated.
    pub fn has_estimates(&self) -> bool {
        self.estimates
    }

    /// Adds the years of another calendar, e.g. a file with next year's notice; a year that was estimated here
    /// becomes official. A year official in both is an error, and then nothing is added. The estimates setting
    /// stays this calendar's.
    pub fn extend(&mut self, other: HolidayCalendar) -> Result<(), CalendarError> {
        if let Some(&year) = other.years.keys().find(|y| self.years.contains_key(y)) {
            return Err(CalendarError::YearDefinedTwice { year });
        }
        self.years.extend(other.years);
        Ok(())
    }

    /// Publishes a calendar file with newly announced official years (e.g. the next year's notice, while the
    /// service runs): the file gets every check of [`from_toml`](Self::from_toml), and a year that is official
    /// here already is an error located at its `year` key. On any error nothing changes. On success each year
    /// of the file becomes official and the result says, per year, which dates changed against what the
    /// calendar used before (the estimate), so that the caller can recompute the deadlines they touch.
    pub fn publish(&mut self, file: &SourceFile) -> Result<Vec<YearChange>, Vec<SourceError>> {
        let years = read_years(file)?;
        let mut errors = Vec::new();
        for (year, at) in &years {
            if let Some(existing) = self.years.get(&year.year) {
                let message = format!(
                    "year {} is official already ({}): a published year is not replaced",
                    year.year, existing.source
                );
                errors.push(file.error_at(*at, message));
            }
        }
        if !errors.is_empty() {
            errors.sort();
            return Err(errors);
        }
        let mut changes = Vec::with_capacity(years.len());
        for (year, _) in years {
            let change = match self.coverage(year.year) {
                Coverage::Provisional => match provisional::estimate(year.year) {
                    Ok(estimate) => YearChange::between(estimate, &year),
                    Err(_) => YearChange::new(year.year, Coverage::NotCovered),
                },
                coverage => YearChange::new(year.year, coverage),
            };
            changes.push(change);
            self.years.insert(year.year, year);
        }
        Ok(changes)
    }

    /// Whether `date` is a working day (工作日). Fails for a year neither official nor estimated.
    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        self.year_or_estimate(date.year()).map(|data| data.is_working_day(date))
    }

    /// The table in force for `year`: the official one, else (with estimates) the provisional estimate.
    pub fn year_or_estimate(&self, year: i16) -> Result<&CalendarYear, CalendarError> {
        match self.years.get(&year) {
            Some(data) => Ok(data),
            None if self.estimates => provisional::estimate(year),
            None => Err(CalendarError::YearNotCovered { year }),
        }
    }

    /// How `year` is covered.
    pub fn coverage(&self, year: i16) -> Coverage {
        if self.years.contains_key(&year) {
            Coverage::Official
        } else if self.estimates && PROVISIONAL_YEARS.contains(&year) {
            Coverage::Provisional
        } else {
            Coverage::NotCovered
        }
    }

    /// Whether the working days of `year` are an estimate (no official data, estimates on, year in range).
    pub fn is_provisional(&self, year: i16) -> bool {
        self.coverage(year) == Coverage::Provisional
    }

    /// The provisional estimate for `year` (in [`PROVISIONAL_YEARS`]), whether or not the year has official
    /// data: for comparing an estimate with a notice.
    pub fn estimate(year: i16) -> Result<&'static CalendarYear, CalendarError> {
        provisional::estimate(year)
    }

    /// The official years, in order (estimated years are not listed).
    pub fn years(&self) -> impl Iterator<Item = i16> + '_ {
        self.years.keys().copied()
    }

    /// The official data of one year, if any (see [`year_or_estimate`](Self::year_or_estimate) for the table
    /// in force).
    pub fn year(&self, year: i16) -> Option<&CalendarYear> {
        self.years.get(&year)
    }
}

/// What publishing a year changed: the dates whose working-day status differs between the table used before
/// (the estimate) and the published one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearChange {
    pub year: i16,
    /// How the year was covered before: [`Coverage::Provisional`], or [`Coverage::NotCovered`] (then no
    /// deadline can have used it and the lists are empty).
    pub before: Coverage,
    /// Days off in the estimate that are working days in the notice, in date order.
    pub now_working: Vec<Date>,
    /// Working days in the estimate that are days off in the notice, in date order.
    pub now_off: Vec<Date>,
}

impl YearChange {
    fn new(year: i16, before: Coverage) -> YearChange {
        YearChange { year, before, now_working: Vec::new(), now_off: Vec::new() }
    }

    /// The dates whose status differs from `before` to `after`, two tables of the same year.
    pub fn between(before: &CalendarYear, after: &CalendarYear) -> YearChange {
        let coverage = if before.is_provisional() { Coverage::Provisional } else { Coverage::Official };
        let mut change = YearChange::new(after.year, coverage);
        let first = Date::new(after.year, 1, 1).ok();
        let days = first.into_iter().flat_map(|d| d.series(jiff::Span::new().days(1)));
        for day in days.take_while(|d| d.year() == after.year) {
            match (before.is_working_day(day), after.is_working_day(day)) {
                (false, true) => change.now_working.push(day),
                (true, false) => change.now_off.push(day),
                _ => {}
            }
        }
        change
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.now_working.is_empty() && self.now_off.is_empty()
    }

    /// How many dates changed.
    pub fn len(&self) -> usize {
        self.now_working.len() + self.now_off.len()
    }

    /// The earliest changed date: deadlines computed before it are unaffected.
    pub fn first_changed(&self) -> Option<Date> {
        self.now_working.first().into_iter().chain(self.now_off.first()).min().copied()
    }
}

/// Reads and checks every `[[year]]` table of a file; each year comes with the offset of its `year` key.
fn read_years(file: &SourceFile) -> Result<Vec<(CalendarYear, usize)>, Vec<SourceError>> {
    let raw: RawFile = toml::from_str(&file.text).map_err(|e| vec![toml_error(file, &e)])?;
    let mut errors = Vec::new();
    if raw.year.is_empty() {
        errors.push(file.error_at(0, "the file defines no year: add a [[year]] table"));
    }
    let mut years: Vec<(CalendarYear, usize)> = Vec::new();
    let mut first_at: BTreeMap<i16, usize> = BTreeMap::new();
    for raw_year in raw.year {
        let at = raw_year.get_ref().year.span().start;
        let Some(year) = check_year(file, raw_year.into_inner(), &mut errors) else {
            continue;
        };
        if let Some(&first) = first_at.get(&year.year) {
            let (line, _) = file.line_col(first);
            let message = format!("year {} is defined twice (first on line {line})", year.year);
            errors.push(file.error_at(at, message));
            continue;
        }
        first_at.insert(year.year, at);
        years.push((year, at));
    }
    if errors.is_empty() {
        years.sort_by_key(|(y, _)| y.year);
        Ok(years)
    } else {
        errors.sort();
        Err(errors)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    year: Vec<Spanned<RawYear>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: Spanned<i64>,
    source: Spanned<String>,
    holidays: Vec<Spanned<RawHoliday>>,
    #[serde(default)]
    workdays: Vec<Spanned<Datetime>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    from: Spanned<Datetime>,
    to: Option<Spanned<Datetime>>,
    name: Option<String>,
}

/// Checks one `[[year]]` table, pushing its errors; returns the year only if it has none.
fn check_year(file: &SourceFile, raw: RawYear, errors: &mut Vec<SourceError>) -> Option<CalendarYear> {
    let errors_before = errors.len();
    let year = match i16::try_from(*raw.year.get_ref()) {
        Ok(year) if YEARS.contains(&i64::from(year)) => year,
        _ => {
            let message = format!(
                "year {} is out of range: write a year between {} and {}",
                raw.year.get_ref(),
                YEARS.start(),
                YEARS.end()
            );
            errors.push(file.error_at(raw.year.span().start, message));
            return None;
        }
    };
    if raw.source.get_ref().trim().is_empty() {
        let message = "the source is empty: name the notice the dates come from";
        errors.push(file.error_at(raw.source.span().start, message));
    }

    let date_in_year = |value: &Spanned<Datetime>, errors: &mut Vec<SourceError>| {
        let date = to_date(file, value, errors)?;
        if date.year() != year {
            let message = format!(
                "{date} is not in {year}: a [[year]] table lists only its own dates \
                 (put it under year {}, or split a block at the new year)",
                date.year()
            );
            errors.push(file.error_at(value.span().start, message));
            return None;
        }
        Some(date)
    };

    // Holidays, each with the offset of its table for later messages.
    let mut holidays: Vec<(Holiday, usize)> = Vec::new();
    for raw_holiday in &raw.holidays {
        let at = raw_holiday.span().start;
        let raw_holiday = raw_holiday.get_ref();
        let from = date_in_year(&raw_holiday.from, errors);
        let to = match &raw_holiday.to {
            Some(to) => date_in_year(to, errors).map(|d| (d, to.span().start)),
            None => from.map(|d| (d, raw_holiday.from.span().start)),
        };
        let (Some(from), Some((to, to_at))) = (from, to) else {
            continue;
        };
        if to < from {
            let message = format!("the holiday ends on {to}, before it starts on {from}: swap `from` and `to`");
            errors.push(file.error_at(to_at, message));
            continue;
        }
        holidays.push((Holiday { from, to, name: raw_holiday.name.clone() }, at));
    }
    holidays.sort_by_key(|(h, _)| h.from);
    // Compared with the block reaching furthest so far, so that a long block overlapping several is caught.
    let mut reach: Option<&Holiday> = None;
    for (holiday, at) in &holidays {
        if let Some(previous) = reach
            && holiday.from <= previous.to
        {
            let message = format!("this holiday overlaps {}: list each day off once", describe(previous));
            errors.push(file.error_at(*at, message));
        }
        if reach.is_none_or(|r| holiday.to > r.to) {
            reach = Some(holiday);
        }
    }

    let mut workdays: Vec<Date> = Vec::new();
    for raw_workday in &raw.workdays {
        let at = raw_workday.span().start;
        let Some(date) = date_in_year(raw_workday, errors) else {
            continue;
        };
        let weekday = date.weekday();
        if !matches!(weekday, Weekday::Saturday | Weekday::Sunday) {
            let message = format!(
                "{date} is a {weekday:?}, a working day anyway: `workdays` lists only the Saturdays and \
                 Sundays worked in exchange (调休上班)"
            );
            errors.push(file.error_at(at, message));
        } else if workdays.contains(&date) {
            errors.push(file.error_at(at, format!("{date} is listed twice")));
        } else if let Some((holiday, _)) = holidays.iter().find(|(h, _)| h.contains(date)) {
            let message = format!("{date} is a workday inside the holiday {}", describe(holiday));
            errors.push(file.error_at(at, message));
        } else {
            workdays.push(date);
        }
    }
    workdays.sort();

    if errors.len() > errors_before {
        return None;
    }
    Some(CalendarYear {
        year,
        source: raw.source.into_inner(),
        holidays: holidays.into_iter().map(|(h, _)| h).collect(),
        workdays,
        provisional: false,
    })
}

/// A TOML local date (`2025-01-28`) as a civil date.
fn to_date(file: &SourceFile, value: &Spanned<Datetime>, errors: &mut Vec<SourceError>) -> Option<Date> {
    let at = value.span().start;
    let datetime = value.get_ref();
    let date = match (datetime.date, datetime.time, datetime.offset) {
        (Some(date), None, None) => date,
        _ => {
            let message = format!("expected a date like 2025-01-28, found {datetime}");
            errors.push(file.error_at(at, message));
            return None;
        }
    };
    let parts = (i16::try_from(date.year), i8::try_from(date.month), i8::try_from(date.day));
    let date = match parts {
        (Ok(year), Ok(month), Ok(day)) => Date::new(year, month, day).ok(),
        _ => None,
    };
    if date.is_none() {
        errors.push(file.error_at(at, format!("{datetime} is not a valid date")));
    }
    date
}

fn describe(holiday: &Holiday) -> String {
    let days = if holiday.from == holiday.to {
        holiday.from.to_string()
    } else {
        format!("{} to {}", holiday.from, holiday.to)
    };
    match &holiday.name {
        Some(name) => format!("{name} ({days})"),
        None => days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_calendar_reads_cleanly() {
        let file = SourceFile::new(OFFICIAL_NAME, OFFICIAL_TEXT);
        let calendar = HolidayCalendar::from_toml(&file).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(calendar.years().collect::<Vec<_>>(), [2024, 2025, 2026]);
    }
}
