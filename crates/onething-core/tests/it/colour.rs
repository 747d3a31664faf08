//! `next_change` finds the first instant the colour changes, so a watcher can sleep until then.

use jiff::Timestamp;
use onething_core::calendar::{Pause, WorkClock, china_tz};
use onething_core::colour::{Colour, Thresholds, colour, next_change};
use onething_core::duration::WorkingDuration;
use proptest::prelude::*;

fn at(s: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(china_tz()).unwrap().timestamp()
}

fn walk(start: Timestamp, limit: &str) -> Vec<(Colour, Timestamp)> {
    let clock = WorkClock::official();
    let t = Thresholds::default();
    let limit: WorkingDuration = limit.parse().unwrap();
    let mut now = start;
    let mut out = vec![(colour(&clock, start, limit, &[], now, &t).unwrap(), now)];
    while let Some(next) = next_change(&clock, start, limit, &[], now, &t).unwrap() {
        assert!(next > now);
        let before = colour(&clock, start, limit, &[], next - jiff::SignedDuration::from_secs(1), &t).unwrap();
        let after = colour(&clock, start, limit, &[], next, &t).unwrap();
        assert_eq!(before, out.last().unwrap().0, "the colour holds until the change");
        assert_ne!(after, before, "the colour changes at the instant");
        out.push((after, next));
        now = next;
        assert!(out.len() <= 4);
    }
    out
}

#[test]
fn a_twenty_day_case_changes_three_times() {
    let steps = walk(at("2025-03-03T09:00:00"), "20d");
    let colours: Vec<Colour> = steps.iter().map(|s| s.0).collect();
    assert_eq!(colours, [Colour::Green, Colour::Blue, Colour::Yellow, Colour::Red]);
    let zoned = |t: Timestamp| t.to_zoned(china_tz()).strftime("%Y-%m-%d %H:%M").to_string();
    assert_eq!(zoned(steps[1].1), "2025-03-17 13:45");
    assert_eq!(zoned(steps[2].1), "2025-03-25 15:42");
    assert_eq!(zoned(steps[3].1), "2025-03-31 17:00");
}

#[test]
fn a_paused_clock_has_no_next_change() {
    let clock = WorkClock::official();
    let start = at("2025-03-03T09:00:00");
    let pauses = [Pause { from: at("2025-03-04T10:00:00"), to: None }];
    let next =
        next_change(&clock, start, "5d".parse().unwrap(), &pauses, at("2025-03-05T10:00:00"), &Thresholds::default());
    assert_eq!(next.unwrap(), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn next_change_is_exactly_the_next_change(day in 0i64..600, minute in 0i64..1440, limit in prop::sample::select(vec!["1h", "0.5d", "1d", "2d", "5d", "20d", "3h15m"])) {
        let start = at("2024-03-04T00:00:00") + jiff::SignedDuration::from_mins(day * 1440 + minute);
        walk(start, limit);
    }
}
