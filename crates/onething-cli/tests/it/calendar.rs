use super::*;

fn add(start: &str, duration: &str) -> String {
    let o = onething(&["calendar", "add", start, duration]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_string()
}

#[test]
fn the_worked_examples_of_the_domain_notes() {
    // DOMAIN.md §6: whole working days count from the day after, to the close of the Nth working day.
    assert_eq!(add("2025-09-26T10:00:00+08:00", "5d"), "2025-10-10T17:00:00+08:00");
    assert_eq!(add("2024-02-08T10:00:00+08:00", "3d"), "2024-02-19T17:00:00+08:00");
    assert_eq!(add("2025-01-24T10:00:00+08:00", "1d"), "2025-01-26T17:00:00+08:00");
    assert_eq!(add("2026-02-13T10:00:00+08:00", "20d"), "2026-03-19T17:00:00+08:00");
    // DOMAIN.md §8.1: 0.5 working day is 3 h 15 min of session time.
    assert_eq!(add("2025-03-03T10:00:00+08:00", "0.5d"), "2025-03-03T14:45:00+08:00");
    assert_eq!(add("2025-03-03T16:00:00+08:00", "0.5d"), "2025-03-04T11:15:00+08:00");
    // Another offset is the same instant.
    assert_eq!(add("2025-03-03T02:00:00Z", "0.5d"), "2025-03-03T14:45:00+08:00");
}

#[test]
fn between_counts_session_minutes() {
    let o = onething(&["calendar", "between", "2025-03-03T10:00:00+08:00", "2025-03-03T14:45:00+08:00"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("3h15m (195 working minutes"), "{}", stdout(&o));
    // Across the National Day week of 2025 (10-01..10-08 off, 09-28 a working Sunday).
    let o = onething(&["calendar", "between", "2025-09-26T17:00:00+08:00", "2025-10-10T17:00:00+08:00"]);
    assert!(stdout(&o).starts_with("5d (1950 working minutes"), "{}", stdout(&o));
}

#[test]
fn a_year_without_data_is_an_error_until_a_file_adds_it() {
    let o = onething(&["calendar", "add", "2101-03-01T10:00:00+08:00", "1d"]);
    assert_clean_failure(&o);
    assert!(stderr(&o).contains("2101"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("2101.toml");
    std::fs::write(&file, "[[year]]\nyear = 2101\nsource = \"test data\"\nholidays = []\nworkdays = []\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let f = file.display().to_string();
    let o = onething(&["calendar", "add", "2101-03-01T10:00:00+08:00", "1d", "--calendar", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "2101-03-02T17:00:00+08:00");
}

#[test]
fn bad_input_is_a_clear_error() {
    for args in [
        ["calendar", "add", "2025-09-26T10:00:00+08:00", "5 days"],
        ["calendar", "add", "2025-13-26T10:00:00+08:00", "5d"],
        ["calendar", "add", "yesterday", "5d"],
        ["calendar", "between", "2025-09-26T10:00:00+08:00", "soon"],
    ] {
        let o = onething(&args);
        assert_clean_failure(&o);
    }
    let o = onething(&["calendar", "add", "2025-09-26T10:00:00+08:00", "1d", "--hours", "12:00-09:00"]);
    assert_clean_failure(&o);
}
