//! The opening hours of a service hall (办事大厅): the sessions (时段) of a working day, written as
//! `09:00-12:00,13:30-17:00`. One working day is the sum of the session minutes, so "0.5 工作日" is half of them.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Time, time};

/// One opening session of a working day, from `start` to `end` (e.g. 09:00–12:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub start: Time,
    pub end: Time,
}

impl Session {
    /// The session's length in minutes.
    pub fn minutes(&self) -> u64 {
        u64::try_from(self.end.duration_since(self.start).as_mins()).unwrap_or(0)
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.strftime("%H:%M"), self.end.strftime("%H:%M"))
    }
}

/// The sessions of a working day in the hall, in order and not overlapping, each at least a minute long and on
/// whole minutes. The default is the common 09:00–12:00 and 13:30–17:00 (390 minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallHours {
    sessions: Vec<Session>,
}

/// Why hall hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HallHoursError {
    #[error("no opening sessions: write them like 09:00-12:00,13:30-17:00")]
    Empty,
    #[error("bad session {session:?}: write it as start-end, like 09:00-12:00")]
    BadSession { session: String },
    #[error("bad time {time:?}: write hours and minutes from 00:00 to 23:59, like 13:30")]
    BadTime { time: String },
    #[error("session {session} ends before it starts or when it starts")]
    EmptySession { session: Session },
    #[error("session {later} starts before {earlier}: list the sessions in the order of the day")]
    Unordered { earlier: Session, later: Session },
    #[error("sessions {first} and {second} overlap")]
    Overlapping { first: Session, second: Session },
}

impl HallHours {
    /// Checks and keeps the given sessions.
    pub fn new(sessions: Vec<Session>) -> Result<HallHours, HallHoursError> {
        if sessions.is_empty() {
            return Err(HallHoursError::Empty);
        }
        for session in &sessions {
            for t in [session.start, session.end] {
                if t.second() != 0 || t.subsec_nanosecond() != 0 {
                    return Err(HallHoursError::BadTime { time: t.to_string() });
                }
            }
            if session.end <= session.start {
                return Err(HallHoursError::EmptySession { session: *session });
            }
        }
        for pair in sessions.windows(2) {
            let [first, second] = *pair else { continue };
            if second.start < first.start {
                return Err(HallHoursError::Unordered { earlier: first, later: second });
            }
            if second.start < first.end {
                return Err(HallHoursError::Overlapping { first, second });
            }
        }
        Ok(HallHours { sessions })
    }

    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// The minutes of one working day: the sum of the sessions.
    pub fn day_minutes(&self) -> u64 {
        self.sessions.iter().map(Session::minutes).sum()
    }

    /// The opening of the day (start of the first session).
    pub fn open(&self) -> Time {
        self.sessions.first().map_or(Time::MIN, |s| s.start)
    }

    /// The close of the day (end of the last session): a deadline in whole working days falls here.
    pub fn close(&self) -> Time {
        self.sessions.last().map_or(Time::MAX, |s| s.end)
    }
}

impl Default for HallHours {
    fn default() -> Self {
        let session = |h1, m1, h2, m2| Session { start: time(h1, m1, 0, 0), end: time(h2, m2, 0, 0) };
        HallHours { sessions: vec![session(9, 0, 12, 0), session(13, 30, 17, 0)] }
    }
}

impl fmt::Display for HallHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, session) in self.sessions.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{session}")?;
        }
        Ok(())
    }
}

/// Parses `HH:MM` (or `H:MM`), 00:00 to 23:59.
fn parse_time(text: &str) -> Result<Time, HallHoursError> {
    let bad = || HallHoursError::BadTime { time: text.to_string() };
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let digits =
        |s: &str, len: std::ops::RangeInclusive<usize>| len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

impl FromStr for HallHours {
    type Err = HallHoursError;

    /// Reads `09:00-12:00,13:30-17:00`; spaces are allowed and an en dash (–) may stand for the hyphen.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.trim().is_empty() {
            return Err(HallHoursError::Empty);
        }
        let sessions = input
            .split(',')
            .map(|part| {
                let bad = || HallHoursError::BadSession { session: part.trim().to_string() };
                let (start, end) = part.split_once(['-', '–']).ok_or_else(bad)?;
                Ok(Session { start: parse_time(start)?, end: parse_time(end)? })
            })
            .collect::<Result<Vec<_>, HallHoursError>>()?;
        HallHours::new(sessions)
    }
}

impl serde::Serialize for HallHours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for HallHours {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_hours_print_and_parse_back() {
        let hours = HallHours::default();
        assert_eq!(hours.to_string(), "09:00-12:00,13:30-17:00");
        assert_eq!(hours.to_string().parse::<HallHours>(), Ok(hours));
    }
}
