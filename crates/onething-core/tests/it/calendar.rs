//! The working-time clock against the official calendar: the worked examples of DOMAIN.md §6 and §8.1, every
//! 2024–2026 holiday block, the hand-entered years against the `holiday-cn` data set, the yearly totals,
//! calendar-file errors, pauses and properties of the arithmetic. The provisional years are in `provisional.rs`.

// In tests a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

use jiff::Timestamp;
use jiff::civil::{Date, Weekday, date};
use onething_core::calendar::{
    CalendarError, HallHours, HallHoursError, HolidayCalendar, MAX_WORKING_DAYS, Pause, WorkClock, china_tz,
};
use onething_core::duration::WorkingDuration;
use onething_core::source::SourceFile;
use proptest::prelude::*;

fn clock() -> WorkClock {
    WorkClock::official()
}

/// An instant written as `YYYY-MM-DD HH:MM` in +08:00.
pub(crate) fn at(s: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    china_tz().to_timestamp(dt).unwrap()
}

/// An instant as `YYYY-MM-DD HH:MM` in +08:00.
pub(crate) fn show(t: Timestamp) -> String {
    china_tz().to_datetime(t).strftime("%Y-%m-%d %H:%M").to_string()
}

pub(crate) fn dur(s: &str) -> WorkingDuration {
    s.parse().unwrap()
}

fn deadline(start: &str, limit: &str) -> String {
    show(clock().add(at(start), dur(limit)).unwrap())
}

pub(crate) fn d(s: &str) -> Date {
    s.parse().unwrap()
}

pub(crate) fn dates_of(year: i16) -> impl Iterator<Item = Date> {
    let first = date(year, 1, 1);
    first.series(jiff::Span::new().days(1)).take_while(move |d| d.year() == year)
}

pub(crate) fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

// ---------------------------------------------------------------------------------------------------------
// Worked examples (DOMAIN.md §6 and §8.1)

#[test]
fn whole_day_examples_of_the_domain_notes() {
    // Counting starts the day after acceptance; the deadline is the close of the Nth working day.
    let exact = clock().add("2025-09-26T10:00:00+08:00".parse().unwrap(), dur("5d")).unwrap();
    assert_eq!(exact, "2025-10-10T17:00:00+08:00".parse::<Timestamp>().unwrap());

    // 09-28 (调休 Sunday), 09-29, 09-30, 10-09, 10-10.
    assert_eq!(deadline("2025-09-26 10:00", "5d"), "2025-10-10 17:00");
    // 02-09 (除夕, a working day), 02-18 (调休 Sunday), 02-19.
    assert_eq!(deadline("2024-02-08 10:00", "3d"), "2024-02-19 17:00");
    // The 调休 Sunday itself.
    assert_eq!(deadline("2025-01-24 10:00", "1d"), "2025-01-26 17:00");
    // 行政许可法 §42's 20 days across the 2026 春节.
    assert_eq!(deadline("2026-02-13 10:00", "20d"), "2026-03-19 17:00");
}

#[test]
fn half_day_examples_of_the_domain_notes() {
    // 0.5 day = 195 minutes of the 390-minute day.
    assert_eq!(deadline("2025-03-04 10:00", "0.5d"), "2025-03-04 14:45");
    // 1 h today, then 2 h 15 min on the next working day.
    assert_eq!(deadline("2025-03-04 16:00", "0.5d"), "2025-03-05 11:15");
    // On a Friday the rest rolls over the weekend.
    assert_eq!(deadline("2025-03-07 16:00", "0.5d"), "2025-03-10 11:15");
}

#[test]
fn whole_day_deadlines_do_not_depend_on_the_hour() {
    for time in ["00:00", "08:59", "10:00", "16:59", "17:00", "23:59"] {
        assert_eq!(deadline(&format!("2025-09-26 {time}"), "5d"), "2025-10-10 17:00", "{time}");
    }
    // Acceptance on a day off still counts from the next day.
    assert_eq!(deadline("2025-10-04 11:00", "1d"), "2025-10-09 17:00");
}

#[test]
fn minute_counting_rules() {
    // Running out exactly at a session's end gives that end, not the next opening.
    assert_eq!(deadline("2025-03-04 10:00", "2h"), "2025-03-04 12:00");
    assert_eq!(deadline("2025-03-04 09:00", "390m"), "2025-03-04 17:00");
    assert_eq!(deadline("2025-03-04 09:00", "391m"), "2025-03-05 09:01");
    // Outside a session the count starts at the next opening.
    assert_eq!(deadline("2025-03-04 08:00", "0.5d"), "2025-03-04 13:45");
    assert_eq!(deadline("2025-03-04 12:30", "0.5d"), "2025-03-04 16:45");
    assert_eq!(deadline("2025-03-04 17:30", "1h"), "2025-03-05 10:00");
    assert_eq!(deadline("2025-03-08 10:00", "1h"), "2025-03-10 10:00");
    // 1.5 days = 585 minutes: 390 today is not available from 10:00, so 330 today and 255 tomorrow.
    assert_eq!(deadline("2025-03-04 10:00", "1.5d"), "2025-03-05 14:45");
    // Seconds are kept.
    let start = at("2025-03-04 10:00") + jiff::SignedDuration::from_secs(30);
    let end = clock().add(start, dur("45m")).unwrap();
    assert_eq!(end, at("2025-03-04 10:45") + jiff::SignedDuration::from_secs(30));
}

#[test]
fn a_zero_limit_is_due_at_the_start() {
    let start = at("2025-10-04 11:00");
    assert_eq!(clock().add(start, dur("0d")).unwrap(), start);
    assert_eq!(clock().add(start, dur("0m")).unwrap(), start);
}

#[test]
fn other_hall_hours() {
    let hours: HallHours = "08:30-12:00, 14:00-17:30".parse().unwrap();
    let clock = WorkClock::new(HolidayCalendar::official(), hours);
    assert_eq!(clock.day_minutes(), 420);
    assert_eq!(show(clock.add(at("2025-09-26 10:00"), dur("5d")).unwrap()), "2025-10-10 17:30");
    // 0.5 day = 210 minutes: 120 in the morning, 90 after 14:00.
    assert_eq!(show(clock.add(at("2025-03-04 10:00"), dur("0.5d")).unwrap()), "2025-03-04 15:30");
}

// ---------------------------------------------------------------------------------------------------------
// Every holiday block of 2024–2026

/// Each block of days off, the last working day before it and the first working day after it (worked out by
/// hand from the notices, independently of the data file).
const BLOCKS: &[(&str, &str, &str, &str)] = &[
    // 2024-01-01's previous working day is in 2023, which has no data: see `the_year_before_is_not_covered`.
    ("2024-02-10", "2024-02-17", "2024-02-09", "2024-02-18"),
    ("2024-04-04", "2024-04-06", "2024-04-03", "2024-04-07"),
    ("2024-05-01", "2024-05-05", "2024-04-30", "2024-05-06"),
    ("2024-06-08", "2024-06-10", "2024-06-07", "2024-06-11"),
    ("2024-09-15", "2024-09-17", "2024-09-14", "2024-09-18"),
    ("2024-10-01", "2024-10-07", "2024-09-30", "2024-10-08"),
    ("2025-01-01", "2025-01-01", "2024-12-31", "2025-01-02"),
    ("2025-01-28", "2025-02-04", "2025-01-27", "2025-02-05"),
    ("2025-04-04", "2025-04-06", "2025-04-03", "2025-04-07"),
    ("2025-05-01", "2025-05-05", "2025-04-30", "2025-05-06"),
    ("2025-05-31", "2025-06-02", "2025-05-30", "2025-06-03"),
    ("2025-10-01", "2025-10-08", "2025-09-30", "2025-10-09"),
    ("2026-01-01", "2026-01-03", "2025-12-31", "2026-01-04"),
    ("2026-02-15", "2026-02-23", "2026-02-14", "2026-02-24"),
    ("2026-04-04", "2026-04-06", "2026-04-03", "2026-04-07"),
    ("2026-05-01", "2026-05-05", "2026-04-30", "2026-05-06"),
    ("2026-06-19", "2026-06-21", "2026-06-18", "2026-06-22"),
    ("2026-09-25", "2026-09-27", "2026-09-24", "2026-09-28"),
    ("2026-10-01", "2026-10-07", "2026-09-30", "2026-10-08"),
];

#[test]
fn one_day_before_each_holiday_block_lands_after_it() {
    let clock = clock();
    let calendar = clock.calendar();
    for &(from, to, before, after) in BLOCKS {
        let (from, to, before, after) = (d(from), d(to), d(before), d(after));
        for day in from.series(jiff::Span::new().days(1)).take_while(|x| *x <= to) {
            assert_eq!(calendar.is_working_day(day), Ok(false), "{day} in {from}..{to}");
        }
        assert_eq!(calendar.is_working_day(before), Ok(true), "{before}");
        assert_eq!(calendar.is_working_day(after), Ok(true), "{after}");
        // Everything between the last working day and the block is a day off too.
        let mut gap = before.tomorrow().unwrap();
        while gap < from {
            assert_eq!(calendar.is_working_day(gap), Ok(false), "{gap} before {from}");
            gap = gap.tomorrow().unwrap();
        }
        for time in ["09:00", "16:00"] {
            let start = at(&format!("{before} {time}"));
            assert_eq!(show(clock.add(start, dur("1d")).unwrap()), format!("{after} 17:00"), "{before} {time}");
        }
        // A half day accepted at the last hour of the last working day ends on the first one after.
        let start = at(&format!("{before} 16:00"));
        assert_eq!(show(clock.add(start, dur("0.5d")).unwrap()), format!("{after} 11:15"), "{before}");
        // Across the block only the two working days' sessions count.
        let end = at(&format!("{after} 10:00"));
        assert_eq!(clock.between(start, end), Ok(60 + 60), "{before}..{after}");
    }
}

#[test]
fn the_year_before_is_not_covered() {
    // 2024-01-01 follows 2023-12-29 (Fri); the weekend in between belongs to 2023, which has no data.
    let err = clock().add(at("2023-12-29 10:00"), dur("1d")).unwrap_err();
    assert_eq!(err, CalendarError::YearNotCovered { year: 2023 });
    // From the last day of 2023 only 2024 dates are looked at.
    assert_eq!(deadline("2023-12-31 10:00", "1d"), "2024-01-02 17:00");
}

/// The weekend days worked in exchange (调休上班), from DOMAIN.md §6.
const ADJUSTED_WORKDAYS: &[&str] = &[
    "2024-02-04",
    "2024-02-18",
    "2024-04-07",
    "2024-04-28",
    "2024-05-11",
    "2024-09-14",
    "2024-09-29",
    "2024-10-12",
    "2025-01-26",
    "2025-02-08",
    "2025-04-27",
    "2025-09-28",
    "2025-10-11",
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
];

#[test]
fn adjusted_working_weekend_days_count() {
    let clock = clock();
    let calendar = clock.calendar();
    let listed: Vec<Date> = ADJUSTED_WORKDAYS.iter().map(|s| d(s)).collect();
    let found: Vec<Date> = (2024..=2026)
        .flat_map(dates_of)
        .filter(|&day| is_weekend(day) && calendar.is_working_day(day).unwrap())
        .collect();
    assert_eq!(found, listed);
    for &day in &listed {
        // The day before is a day off or a working day; either way the next working day is the 调休 day.
        let eve = day.yesterday().unwrap();
        assert_eq!(show(clock.add(at(&format!("{eve} 12:00")), dur("1d")).unwrap()), format!("{day} 17:00"));
        // Minutes are counted on it too.
        assert_eq!(clock.between(at(&format!("{day} 00:00")), at(&format!("{day} 23:59"))), Ok(390), "{day}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Yearly totals

/// Weekday days off per year, from DOMAIN.md §6.
const WEEKDAYS_OFF: &[(i16, &[&str])] = &[
    (
        2024,
        &[
            "01-01", "02-12", "02-13", "02-14", "02-15", "02-16", "04-04", "04-05", "05-01", "05-02", "05-03", "06-10",
            "09-16", "09-17", "10-01", "10-02", "10-03", "10-04", "10-07",
        ],
    ),
    (
        2025,
        &[
            "01-01", "01-28", "01-29", "01-30", "01-31", "02-03", "02-04", "04-04", "05-01", "05-02", "05-05", "06-02",
            "10-01", "10-02", "10-03", "10-06", "10-07", "10-08",
        ],
    ),
    (
        2026,
        &[
            "01-01", "01-02", "02-16", "02-17", "02-18", "02-19", "02-20", "02-23", "04-06", "05-01", "05-04", "05-05",
            "06-19", "09-25", "10-01", "10-02", "10-05", "10-06", "10-07",
        ],
    ),
];

#[test]
fn weekday_days_off_per_year() {
    let calendar = HolidayCalendar::official();
    for &(year, days) in WEEKDAYS_OFF {
        let off: Vec<String> = dates_of(year)
            .filter(|&day| !is_weekend(day) && !calendar.is_working_day(day).unwrap())
            .map(|day| day.strftime("%m-%d").to_string())
            .collect();
        assert_eq!(off, days, "{year}");
    }
    let counts: Vec<usize> = WEEKDAYS_OFF.iter().map(|(_, days)| days.len()).collect();
    assert_eq!(counts, [19, 18, 19]);
}

#[test]
fn working_days_per_year() {
    let calendar = HolidayCalendar::official();
    let totals: Vec<(i16, usize)> = calendar
        .years()
        .map(|year| (year, dates_of(year).filter(|&day| calendar.is_working_day(day).unwrap()).count()))
        .collect();
    assert_eq!(totals, [(2024, 251), (2025, 248), (2026, 248)]);
}

/// The hand-entered 2024 and 2025 against a kept data set of the notices (`holiday-cn`, built from the State
/// Council's texts), day by day. Its 2026 file is empty, so 2026 rests on the lists above.
#[test]
fn the_hand_entered_years_match_the_holiday_cn_data_day_by_day() {
    let calendar = HolidayCalendar::official().without_estimates();
    for year in [2024, 2025] {
        let mut differing = Vec::new();
        for day in dates_of(year) {
            let theirs = holiday_cn::is_workday(&day.to_string()).unwrap();
            if calendar.is_working_day(day).unwrap() != theirs {
                differing.push(day);
            }
        }
        assert_eq!(differing, [], "{year}");
    }
    // The data set knows every 2025 block by name, and nothing of 2026 (the 春节 Tuesday is a plain weekday).
    assert_eq!(holiday_cn::is_offday("2025-10-08").unwrap(), (true, Some("国庆节、中秋节")));
    assert_eq!(holiday_cn::is_offday("2026-02-17").unwrap(), (false, None));
}

#[test]
fn the_official_calendar_cites_its_sources() {
    let calendar = HolidayCalendar::official();
    assert_eq!(calendar.year(2025).unwrap().source(), "国办发明电〔2024〕12号");
    let spring = &calendar.year(2025).unwrap().holidays()[1];
    assert_eq!((spring.from, spring.to, spring.name.as_deref()), (d("2025-01-28"), d("2025-02-04"), Some("春节")));
    assert_eq!(calendar.year(2024).unwrap().workdays().len(), 8);
    assert!(calendar.year(2027).is_none());
}

// ---------------------------------------------------------------------------------------------------------
// Years without data

#[test]
fn a_year_without_data_is_an_error_never_a_plain_week() {
    // Without estimates, 2027 has no data at all.
    let clock = WorkClock::new(HolidayCalendar::official().without_estimates(), HallHours::default());
    let err = clock.calendar().is_working_day(d("2027-01-04")).unwrap_err();
    assert_eq!(err, CalendarError::YearNotCovered { year: 2027 });
    assert_eq!(err.to_string(), "no official calendar for 2027: add a calendar file for that year");
    assert_eq!(err.code(), "calendar_year_not_covered");
    assert_eq!(clock.calendar().is_working_day(d("2023-06-01")), Err(CalendarError::YearNotCovered { year: 2023 }));
    // 20 days from mid-December run into 2027.
    assert_eq!(clock.add(at("2026-12-10 10:00"), dur("20d")), Err(CalendarError::YearNotCovered { year: 2027 }));
    assert_eq!(clock.add(at("2026-12-31 16:00"), dur("2h")), Err(CalendarError::YearNotCovered { year: 2027 }));
    assert_eq!(
        clock.between(at("2026-12-31 10:00"), at("2027-01-04 10:00")),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
    // Up to midnight the next year is not needed.
    assert_eq!(clock.between(at("2026-12-31 10:00"), at("2027-01-01 00:00")), Ok(330));
    assert_eq!(show(clock.add(at("2026-12-31 10:00"), dur("330m")).unwrap()), "2026-12-31 17:00");

    // With estimates (the official calendar's default), the years before the amended law and after 2100 stay
    // errors: only 2025–2100 are estimated.
    let calendar = HolidayCalendar::official();
    assert_eq!(calendar.is_working_day(d("2023-06-01")), Err(CalendarError::YearNotCovered { year: 2023 }));
    assert_eq!(calendar.is_working_day(d("2101-01-04")), Err(CalendarError::YearNotCovered { year: 2101 }));
    assert_eq!(calendar.is_working_day(d("2100-12-31")), Ok(true));
}

/// A made-up calendar for 2027 (NOT official data: the notice is not out yet), to test extending.
const FICTIONAL_2027: &str = r#"
[[year]]
year = 2027
source = "test data, not a real notice"
holidays = [ { from = 2027-01-01 } ]
workdays = []
"#;

#[test]
fn a_calendar_file_extends_the_official_one() {
    let file = SourceFile::new("2027.toml", FICTIONAL_2027);
    let mut calendar = HolidayCalendar::official();
    calendar.extend(HolidayCalendar::from_toml(&file).unwrap()).unwrap();
    assert_eq!(calendar.years().collect::<Vec<_>>(), [2024, 2025, 2026, 2027]);
    assert_eq!(calendar.is_working_day(d("2027-01-01")), Ok(false));
    assert_eq!(calendar.is_working_day(d("2027-01-04")), Ok(true));
    let clock = WorkClock::new(calendar, HallHours::default());
    assert_eq!(show(clock.add(at("2026-12-31 10:00"), dur("1d")).unwrap()), "2027-01-04 17:00");
}

#[test]
fn a_year_defined_twice_is_refused_and_nothing_is_added() {
    let mut calendar = HolidayCalendar::official();
    let again =
        HolidayCalendar::from_toml(&SourceFile::new("again.toml", FICTIONAL_2027.replace("2027", "2025"))).unwrap();
    let err = calendar.extend(again).unwrap_err();
    assert_eq!(err, CalendarError::YearDefinedTwice { year: 2025 });
    assert!(err.to_string().contains("2025"), "{err}");
    assert_eq!(calendar, HolidayCalendar::official());
}

// ---------------------------------------------------------------------------------------------------------
// Calendar files with errors

fn errors_of(text: &str) -> Vec<String> {
    let file = SourceFile::new("bad.toml", text);
    match HolidayCalendar::from_toml(&file) {
        Ok(_) => panic!("{text} should not read"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn assert_errors(text: &str, expected: &[(&str, &str)]) {
    let errors = errors_of(text);
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, (at, words)) in errors.iter().zip(expected) {
        assert!(error.starts_with(&format!("bad.toml:{at}: ")), "{error} should be at {at}");
        assert!(error.contains(words), "{error} should say {words:?}");
    }
}

#[test]
fn a_broken_toml_file_is_located() {
    assert_errors("[[year]\nyear = 2027\n", &[("1:8", "unclosed array table")]);
    assert_errors(
        "[[year]]\nyear = 2027\nsource = \"x\"\nholidays = [ { from = 2027-01-01 ]\n",
        &[("4:34", "expected `,`")],
    );
}

#[test]
fn unknown_keys_are_errors() {
    let text = "[[year]]\nyear = 2027\nsource = \"x\"\nholiday = []\n";
    assert_errors(text, &[("4:1", "unknown field `holiday`")]);
    let text = "[[year]]\nyear = 2027\nsource = \"x\"\nholidays = [ { from = 2027-01-01, until = 2027-01-02 } ]\n";
    assert_errors(text, &[("4:35", "unknown field `until`")]);
    assert_errors("years = []\n", &[("1:1", "unknown field `years`")]);
}

#[test]
fn missing_and_mistyped_values_are_errors() {
    assert_errors("[[year]]\nyear = 2027\nholidays = []\n", &[("1:1", "missing field `source`")]);
    assert_errors("[[year]]\nyear = \"2027\"\nsource = \"x\"\nholidays = []\n", &[("2:8", "")]);
    assert_errors(
        "[[year]]\nyear = 2027\nsource = \"x\"\nholidays = []\nworkdays = [\"2027-01-09\"]\n",
        &[("5:13", "")],
    );
}

#[test]
fn every_data_error_is_reported_at_once() {
    let text = r#"[[year]]
year = 2027
source = "test"
holidays = [
  { from = 2027-02-10, to = 2027-02-06, name = "春节" },
  { from = 2026-12-31, to = 2027-01-01, name = "元旦" },
  { from = 2027-05-01, to = 2027-05-05 },
  { from = 2027-05-04 },
  { from = 2027-06-01T09:00:00 },
]
workdays = [ 2027-01-04, 2027-01-09, 2027-01-09, 2027-05-02, 2028-01-08 ]
"#;
    assert_errors(
        text,
        &[
            ("5:29", "ends on 2027-02-06, before it starts on 2027-02-10"),
            ("6:12", "2026-12-31 is not in 2027"),
            ("8:3", "this holiday overlaps 2027-05-01 to 2027-05-05"),
            ("9:12", "expected a date like 2025-01-28"),
            ("11:14", "2027-01-04 is a Monday"),
            ("11:38", "2027-01-09 is listed twice"),
            ("11:50", "2027-05-02 is a workday inside the holiday 2027-05-01 to 2027-05-05"),
            ("11:62", "2028-01-08 is not in 2027"),
        ],
    );
}

#[test]
fn a_long_block_overlapping_several_is_caught_for_each() {
    let text = r#"[[year]]
year = 2027
source = "test"
holidays = [
  { from = 2027-05-01, to = 2027-05-10, name = "long" },
  { from = 2027-05-02, to = 2027-05-03 },
  { from = 2027-05-06 },
]
"#;
    assert_errors(
        text,
        &[
            ("6:3", "this holiday overlaps long (2027-05-01 to 2027-05-10)"),
            ("7:3", "this holiday overlaps long (2027-05-01 to 2027-05-10)"),
        ],
    );
}

#[test]
fn file_level_errors() {
    assert_errors("# nothing yet\n", &[("1:1", "defines no year")]);
    let twice = format!("{FICTIONAL_2027}{FICTIONAL_2027}");
    assert_errors(&twice, &[("9:8", "year 2027 is defined twice (first on line 3)")]);
    assert_errors("[[year]]\nyear = 27\nsource = \"x\"\nholidays = []\n", &[("2:8", "year 27 is out of range")]);
    assert_errors("[[year]]\nyear = 2027\nsource = \" \"\nholidays = []\n", &[("3:10", "the source is empty")]);
}

// ---------------------------------------------------------------------------------------------------------
// Hall hours

#[test]
fn hall_hours_parse_and_print() {
    let hours: HallHours = "09:00-12:00,13:30-17:00".parse().unwrap();
    assert_eq!(hours, HallHours::default());
    assert_eq!(hours.day_minutes(), 390);
    assert_eq!(hours.to_string(), "09:00-12:00,13:30-17:00");
    let hours: HallHours = " 8:30–12:00 , 14:00-17:30 ".parse().unwrap();
    assert_eq!(hours.to_string(), "08:30-12:00,14:00-17:30");
    assert_eq!(hours.day_minutes(), 420);
    // Back-to-back sessions are allowed; a 午间不间断 hall is one session.
    assert_eq!("09:00-12:00,12:00-17:00".parse::<HallHours>().unwrap().day_minutes(), 480);
    assert_eq!("09:00-17:00".parse::<HallHours>().unwrap().day_minutes(), 480);
}

#[test]
fn hall_hours_errors_say_what_is_wrong() {
    let err = |s: &str| s.parse::<HallHours>().unwrap_err();
    assert_eq!(err(""), HallHoursError::Empty);
    assert!(matches!(err("09:00-12:00,11:30-17:00"), HallHoursError::Overlapping { .. }));
    assert_eq!(err("09:00-12:00,11:30-17:00").to_string(), "sessions 09:00-12:00 and 11:30-17:00 overlap");
    assert!(matches!(err("13:30-17:00,09:00-12:00"), HallHoursError::Unordered { .. }));
    assert!(err("13:30-17:00,09:00-12:00").to_string().contains("in the order of the day"));
    assert!(matches!(err("12:00-09:00"), HallHoursError::EmptySession { .. }));
    assert!(matches!(err("09:00-09:00"), HallHoursError::EmptySession { .. }));
    for bad in ["25:00-26:00", "09:60-10:00", "9-12", "09:0-12:00", "ab:cd-12:00", "09:00-24:00"] {
        assert!(matches!(err(bad), HallHoursError::BadTime { .. }), "{bad}: {:?}", err(bad));
    }
    assert_eq!(err("09:00-12:00,").to_string(), "bad session \"\": write it as start-end, like 09:00-12:00");
    assert!(matches!(err("09:00"), HallHoursError::BadSession { .. }));
}

// ---------------------------------------------------------------------------------------------------------
// Working minutes between instants

#[test]
fn between_counts_only_sessions_on_working_days() {
    let clock = clock();
    let between = |a: &str, b: &str| clock.between(at(a), at(b)).unwrap();
    assert_eq!(between("2025-03-04 10:00", "2025-03-04 14:45"), 195);
    assert_eq!(between("2025-03-04 12:10", "2025-03-04 13:20"), 0);
    assert_eq!(between("2025-03-04 00:00", "2025-03-05 00:00"), 390);
    // Friday 16:00 to Monday 10:00: one hour each side of the weekend.
    assert_eq!(between("2025-03-07 16:00", "2025-03-10 10:00"), 120);
    // The whole 2025 国庆 block adds nothing; the 调休 Sunday before it counts.
    assert_eq!(between("2025-09-27 00:00", "2025-10-09 00:00"), 3 * 390);
    assert_eq!(between("2025-03-04 10:00", "2025-03-04 10:00"), 0);
    assert_eq!(between("2025-03-05 10:00", "2025-03-04 10:00"), 0);
    // An end before the start needs no data at all.
    assert_eq!(clock.between(at("2030-01-02 10:00"), at("2030-01-01 10:00")), Ok(0));
}

// ---------------------------------------------------------------------------------------------------------
// Pauses

fn pause(from: &str, to: &str) -> Pause {
    Pause { from: at(from), to: Some(at(to)) }
}

#[test]
fn a_pause_moves_the_deadline_by_the_working_time_paused() {
    let clock = clock();
    let start = at("2025-03-03 10:00");
    assert_eq!(show(clock.add(start, dur("5d")).unwrap()), "2025-03-10 17:00");
    // A whole working day paused (补正): the deadline moves to the next day's close.
    let pauses = [pause("2025-03-04 09:00", "2025-03-05 09:00")];
    assert_eq!(show(clock.deadline_with_pauses(start, dur("5d"), &pauses).unwrap()), "2025-03-11 17:00");
    // Paused over a weekend: only Friday afternoon's hour counts.
    let pauses = [pause("2025-03-07 16:00", "2025-03-10 09:00")];
    assert_eq!(show(clock.deadline_with_pauses(start, dur("5d"), &pauses).unwrap()), "2025-03-11 10:00");
    // Minutes: 0.5 day from 10:00 is 14:45; a 30-minute pause makes it 15:15.
    let pauses = [pause("2025-03-03 11:00", "2025-03-03 11:30")];
    assert_eq!(show(clock.deadline_with_pauses(start, dur("0.5d"), &pauses).unwrap()), "2025-03-03 15:15");
    // No pauses: the plain deadline.
    assert_eq!(clock.deadline_with_pauses(start, dur("5d"), &[]), clock.add(start, dur("5d")));
}

#[test]
fn pauses_are_clipped_to_the_start_and_counted_once() {
    let clock = clock();
    let start = at("2025-03-03 10:00");
    // Only the hour after the start counts.
    let before = [pause("2025-03-03 09:00", "2025-03-03 11:00")];
    assert_eq!(show(clock.deadline_with_pauses(start, dur("0.5d"), &before).unwrap()), "2025-03-03 15:45");
    // A pause wholly before the start counts nothing.
    let earlier = [pause("2025-02-28 09:00", "2025-02-28 11:00")];
    assert_eq!(show(clock.deadline_with_pauses(start, dur("0.5d"), &earlier).unwrap()), "2025-03-03 14:45");
    // Overlapping pauses (11:00–11:30 and 11:15–11:45) stop the clock for 45 minutes, not 60.
    let overlapping = [pause("2025-03-03 11:15", "2025-03-03 11:45"), pause("2025-03-03 11:00", "2025-03-03 11:30")];
    assert_eq!(show(clock.deadline_with_pauses(start, dur("0.5d"), &overlapping).unwrap()), "2025-03-03 15:30");
    assert_eq!(clock.used(start, at("2025-03-03 12:00"), &overlapping), Ok(75));
}

#[test]
fn an_open_pause_adds_nothing_to_the_deadline_and_stops_the_used_time() {
    let clock = clock();
    let start = at("2025-03-03 10:00");
    let open = [Pause { from: at("2025-03-03 11:00"), to: None }];
    assert_eq!(clock.deadline_with_pauses(start, dur("0.5d"), &open), clock.add(start, dur("0.5d")));
    // Used time stops at the pause's start while it is open.
    assert_eq!(clock.used(start, at("2025-03-04 10:00"), &open), Ok(60));
    // Closed at "now", it gives the deadline as if the clock resumed then.
    let now = at("2025-03-03 14:00");
    let closed = [Pause { from: at("2025-03-03 11:00"), to: Some(now) }];
    // 60 minutes before the pause, 135 after 14:00.
    assert_eq!(show(clock.deadline_with_pauses(start, dur("0.5d"), &closed).unwrap()), "2025-03-03 16:15");
}

#[test]
fn used_time_leaves_out_pauses_and_non_working_time() {
    let clock = clock();
    let start = at("2025-03-03 10:00");
    let now = at("2025-03-04 10:00");
    // 120 + 210 on Monday, 60 on Tuesday.
    assert_eq!(clock.used(start, now, &[]), Ok(390));
    assert_eq!(clock.used(start, now, &[pause("2025-03-03 14:00", "2025-03-03 15:00")]), Ok(330));
    // A pause running past now counts only up to now.
    assert_eq!(clock.used(start, now, &[pause("2025-03-04 09:30", "2025-03-05 12:00")]), Ok(360));
    assert_eq!(clock.used(start, start, &[]), Ok(0));
    assert_eq!(clock.used(now, start, &[]), Ok(0));
}

#[test]
fn a_pause_that_ends_before_it_starts_is_an_error() {
    let clock = clock();
    let backwards = [pause("2025-03-04 10:00", "2025-03-03 10:00")];
    let err = clock.deadline_with_pauses(at("2025-03-03 10:00"), dur("1d"), &backwards).unwrap_err();
    assert!(matches!(err, CalendarError::PauseEndsBeforeItStarts { .. }));
    assert_eq!(err.to_string(), "a pause ends at 2025-03-03T10:00:00 before it starts at 2025-03-04T10:00:00");
    assert!(clock.used(at("2025-03-03 10:00"), at("2025-03-05 10:00"), &backwards).is_err());
}

// ---------------------------------------------------------------------------------------------------------
// Guards

#[test]
fn absurd_limits_are_errors_not_hangs() {
    let clock = clock();
    let start = at("2025-03-03 10:00");
    let too_long = WorkingDuration::days(MAX_WORKING_DAYS + 1);
    assert_eq!(clock.add(start, too_long), Err(CalendarError::DurationTooLong { duration: too_long }));
    assert_eq!(
        clock.add(start, too_long).unwrap_err().to_string(),
        "the time limit 10001d is longer than 10000 working days: check the limit"
    );
    let too_many_minutes = WorkingDuration::minutes((MAX_WORKING_DAYS + 1) * 390);
    assert!(matches!(clock.add(start, too_many_minutes), Err(CalendarError::DurationTooLong { .. })));
    assert!(matches!(clock.add(start, dur("10000.5d")), Err(CalendarError::DurationTooLong { .. })));
    // Within the limit, the walk ends in an estimated year (about 40 years on) and is marked provisional…
    let far = clock.add(start, WorkingDuration::days(MAX_WORKING_DAYS)).unwrap();
    assert_eq!(china_tz().to_datetime(far).year(), 2065);
    assert!(clock.touches_provisional(start, far));
    // …and without estimates the calendar's end stops it.
    let strict = WorkClock::new(HolidayCalendar::official().without_estimates(), HallHours::default());
    assert_eq!(
        strict.add(start, WorkingDuration::days(MAX_WORKING_DAYS)),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
    assert_eq!(
        strict.add(start, WorkingDuration::minutes(MAX_WORKING_DAYS * 390)),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
    // Beyond the estimates' last year the walk stops too.
    assert_eq!(
        clock.add(at("2090-01-02 10:00"), WorkingDuration::days(MAX_WORKING_DAYS)),
        Err(CalendarError::YearNotCovered { year: 2101 })
    );
}

// ---------------------------------------------------------------------------------------------------------
// Properties

/// Instants from 2024-01-01 to 2026-10-31 (+08:00), to the second: with the limits below, nothing leaves the
/// covered years.
fn instant() -> impl Strategy<Value = Timestamp> {
    let lo = at("2024-01-01 00:00").as_second();
    let hi = at("2026-10-31 00:00").as_second();
    (lo..hi).prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// Pauses near `start`: from two days before to five days after it, each up to two days long, one after
/// another (disjoint).
fn pauses_near(start: Timestamp) -> impl Strategy<Value = Vec<Pause>> {
    const DAY: i64 = 86_400;
    (-2 * DAY..5 * DAY, prop::collection::vec((0..2 * DAY, 0..2 * DAY), 0..=3)).prop_map(move |(first, spans)| {
        let mut pauses = Vec::new();
        let mut cursor = start.as_second() + first;
        for (gap, length) in spans {
            let from = cursor + gap;
            let to = from + length;
            pauses.push(Pause {
                from: Timestamp::from_second(from).unwrap(),
                to: Some(Timestamp::from_second(to).unwrap()),
            });
            cursor = to;
        }
        pauses
    })
}

/// The working minutes paused after `start`, by the rule: between(max(from, start), to) for each pause.
fn paused_minutes(clock: &WorkClock, start: Timestamp, pauses: &[Pause]) -> u64 {
    pauses.iter().map(|p| clock.between(p.from.max(start), p.to.unwrap()).unwrap()).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_later_start_never_gives_an_earlier_deadline(a in instant(), b in instant(), minutes in 0u64..=3000, days in 0u64..=30) {
        let clock = clock();
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        for limit in [WorkingDuration::minutes(minutes), WorkingDuration::days(days)] {
            prop_assert!(clock.add(early, limit).unwrap() <= clock.add(late, limit).unwrap(), "{limit}");
        }
    }

    #[test]
    fn a_longer_limit_never_gives_an_earlier_deadline(s in instant(), a in 0u64..=3000, b in 0u64..=3000, x in 0u64..=30, y in 0u64..=30) {
        let clock = clock();
        let (a, b) = (a.min(b), a.max(b));
        prop_assert!(clock.add(s, WorkingDuration::minutes(a)).unwrap() <= clock.add(s, WorkingDuration::minutes(b)).unwrap());
        let (x, y) = (x.min(y), x.max(y));
        prop_assert!(clock.add(s, WorkingDuration::days(x)).unwrap() <= clock.add(s, WorkingDuration::days(y)).unwrap());
    }

    #[test]
    fn minutes_add_up(s in instant(), a in 0u64..=3000, b in 0u64..=3000) {
        let clock = clock();
        let step = clock.add(s, WorkingDuration::minutes(a)).unwrap();
        prop_assert_eq!(
            clock.add(step, WorkingDuration::minutes(b)).unwrap(),
            clock.add(s, WorkingDuration::minutes(a + b)).unwrap()
        );
    }

    #[test]
    fn days_add_up(s in instant(), a in 0u64..=15, b in 0u64..=15) {
        let clock = clock();
        let step = clock.add(s, WorkingDuration::days(a)).unwrap();
        prop_assert_eq!(
            clock.add(step, WorkingDuration::days(b)).unwrap(),
            clock.add(s, WorkingDuration::days(a + b)).unwrap()
        );
    }

    #[test]
    fn between_undoes_add(s in instant(), minutes in 0u64..=6000, thousandths in 0u64..=15_000) {
        let clock = clock();
        let end = clock.add(s, WorkingDuration::minutes(minutes)).unwrap();
        prop_assert_eq!(clock.between(s, end).unwrap(), minutes);
        prop_assert_eq!(clock.used(s, end, &[]).unwrap(), minutes);
        let limit = WorkingDuration::Days { thousandths };
        if limit.whole_days().is_none() {
            let end = clock.add(s, limit).unwrap();
            prop_assert_eq!(clock.between(s, end).unwrap(), limit.to_minutes(390));
        }
    }

    #[test]
    fn pauses_add_exactly_the_paused_working_time(
        (s, pauses) in instant().prop_flat_map(|s| (Just(s), pauses_near(s))),
        minutes in 0u64..=3000,
        days in 0u64..=8,
    ) {
        let clock = clock();
        let paused = paused_minutes(&clock, s, &pauses);
        let limit = WorkingDuration::minutes(minutes);
        let end = clock.deadline_with_pauses(s, limit, &pauses).unwrap();
        prop_assert_eq!(clock.between(s, end).unwrap() - paused, minutes);
        // Whole days: the paused time is added after the plain deadline.
        let limit = WorkingDuration::days(days);
        let plain = clock.add(s, limit).unwrap();
        let end = clock.deadline_with_pauses(s, limit, &pauses).unwrap();
        prop_assert_eq!(clock.between(plain, end).unwrap(), paused);
    }
}
