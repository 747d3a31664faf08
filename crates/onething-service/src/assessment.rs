//! Performance assessment (绩效考核) for a period: per department and per item — cases handled, on-time rate,
//! mean and p90 handling time in working hours, correction rate, overdue count, escalations and interviews,
//! satisfaction — and per bundle the realised reduction: the actual working time from acceptance to
//! conclusion against the items-one-by-one baseline (the sum of the items' promised limits).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::Date;
use onething_core::calendar::china_tz;
use onething_core::case::{Case, ReturnedBy, Task, TaskState};
use onething_store::{RecordFilter, TaskFilter};
use serde::Serialize;

use crate::Service;
use crate::auth::{Role, User};
use crate::cases::parse_case;
use crate::errors::{AssessmentError, BadInput, ErrorCode};
use crate::records::{Rating, Record, RecordDoc};

/// A period of the assessment: a year (`2026`), a quarter (`2026-Q1`) or a month (`2026-03`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub label: String,
    pub from: Date,
    /// Exclusive.
    pub until: Date,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, BadInput> {
        let bad = || {
            BadInput::new(
                ErrorCode::BadPeriod,
                "period",
                format!("{s:?} is not a period: write 2026, 2026-Q1 or 2026-03"),
            )
        };
        let s = s.trim();
        let (year, rest) = s.split_once('-').map_or((s, None), |(y, r)| (y, Some(r)));
        let year: i16 = year.parse().map_err(|_| bad())?;
        if !(1900..=2999).contains(&year) {
            return Err(bad());
        }
        let date = |y: i16, m: i8| Date::new(y, m, 1).map_err(|_| bad());
        let (from, until) = match rest {
            None => (date(year, 1)?, date(year + 1, 1)?),
            Some(q) if q.starts_with(['Q', 'q']) => {
                let n: i8 = q[1..].parse().map_err(|_| bad())?;
                if !(1..=4).contains(&n) {
                    return Err(bad());
                }
                let start = (n - 1) * 3 + 1;
                (date(year, start)?, if n == 4 { date(year + 1, 1)? } else { date(year, start + 3)? })
            }
            Some(m) => {
                let m: i8 = m.parse().map_err(|_| bad())?;
                if !(1..=12).contains(&m) {
                    return Err(bad());
                }
                (date(year, m)?, if m == 12 { date(year + 1, 1)? } else { date(year, m + 1)? })
            }
        };
        Ok(Period { label: s.to_string(), from, until })
    }

    fn bounds(&self) -> Result<(Timestamp, Timestamp), AssessmentError> {
        let ts = |d: Date| {
            d.to_zoned(china_tz()).map(|z| z.timestamp()).map_err(|e| AssessmentError::Internal(e.to_string()))
        };
        Ok((ts(self.from)?, ts(self.until)?))
    }
}

/// The figures of one department or one item.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    /// Tasks decided in the period.
    pub handled: u64,
    /// Distinct cases among them.
    pub cases: u64,
    pub on_time: u64,
    /// on_time / handled, percent with one decimal (None when nothing was handled).
    pub on_time_rate: Option<f64>,
    pub mean_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    /// Tasks that asked the applicant for a correction.
    pub corrected: u64,
    pub correction_rate: Option<f64>,
    /// Decided late, or still open past their deadline at the period's end.
    pub overdue: u64,
    pub escalations: u64,
    pub interviews: u64,
    /// Mean 好差评 level (1–5) of rated cases it took part in.
    pub satisfaction: Option<f64>,
    pub ratings: u64,
}

/// The realised reduction of a bundle.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BundleFigures {
    pub concluded: u64,
    /// Mean working hours from acceptance to conclusion.
    pub mean_hours: Option<f64>,
    /// The items-one-by-one baseline in working hours (the sum of the items' promised limits).
    pub baseline_hours: Option<f64>,
    /// 1 − actual / baseline, percent with one decimal.
    pub realised_cut_percent: Option<f64>,
}

/// The assessment of a period.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub period: Period,
    pub departments: BTreeMap<String, Figures>,
    pub items: BTreeMap<String, Figures>,
    pub bundles: BTreeMap<String, BundleFigures>,
}

#[derive(Default)]
struct Acc {
    cases: BTreeSet<String>,
    hours: Vec<f64>,
    handled: u64,
    on_time: u64,
    corrected: u64,
    overdue: u64,
    escalations: u64,
    interviews: u64,
    ratings: Vec<f64>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Acc {
    fn figures(mut self) -> Figures {
        let n = self.handled;
        let rate = |k: u64| (n > 0).then(|| round1(k as f64 * 100.0 / n as f64));
        self.hours.sort_by(f64::total_cmp);
        let mean = (!self.hours.is_empty()).then(|| round1(self.hours.iter().sum::<f64>() / self.hours.len() as f64));
        // p90 by the nearest-rank method.
        let p90 = (!self.hours.is_empty()).then(|| {
            let rank = ((0.9 * self.hours.len() as f64).ceil() as usize).clamp(1, self.hours.len());
            round1(self.hours[rank - 1])
        });
        let satisfaction =
            (!self.ratings.is_empty()).then(|| round1(self.ratings.iter().sum::<f64>() / self.ratings.len() as f64));
        Figures {
            handled: n,
            cases: self.cases.len() as u64,
            on_time: self.on_time,
            on_time_rate: rate(self.on_time),
            mean_hours: mean,
            p90_hours: p90,
            corrected: self.corrected,
            correction_rate: rate(self.corrected),
            overdue: self.overdue,
            escalations: self.escalations,
            interviews: self.interviews,
            satisfaction,
            ratings: self.ratings.len() as u64,
        }
    }
}

impl Service {
    /// The performance assessment of a period (supervisors and administrators).
    pub async fn assessment(&self, user: &User, period: &Period) -> Result<Assessment, AssessmentError> {
        if !(user.has(Role::Supervisor) || user.has(Role::Admin)) {
            return Err(AssessmentError::Forbidden("the assessment is for supervisors"));
        }
        let (from, until) = period.bounds()?;
        let end = until.min(self.now().max(from));
        let mut by_dept: BTreeMap<String, Acc> = BTreeMap::new();
        let mut by_item: BTreeMap<String, Acc> = BTreeMap::new();
        // The cases of the period: those with a task decided (or otherwise written) since the period began, and
        // those with a task still open (open work may be overdue at the period's end).
        let mut rows = self.store.tasks_updated_between(from, Timestamp::MAX).await?;
        let open = [TaskState::Ready, TaskState::Returned].iter().map(|s| s.as_str().to_string()).collect();
        rows.extend(self.store.tasks(&TaskFilter { states: open, limit: 10_000_000, ..TaskFilter::default() }).await?);
        let mut ids: Vec<String> = rows.into_iter().map(|r| r.case_id).collect();
        ids.sort();
        ids.dedup();
        let mut docs: BTreeMap<String, Case> = BTreeMap::new();
        for chunk in ids.chunks(500) {
            for row in self.store.cases_by_ids(chunk).await? {
                let case = parse_case(&row).map_err(AssessmentError::Internal)?;
                docs.insert(row.id.clone(), case);
            }
        }
        for doc in docs.values() {
            for t in &doc.tasks {
                let decided_in = t.decided_at.is_some_and(|d| d >= from && d < until)
                    && matches!(t.state, TaskState::Approved | TaskState::Rejected);
                let open_overdue =
                    matches!(t.state, TaskState::Ready | TaskState::Returned) && t.due_at.is_some_and(|d| d < end);
                if !(decided_in || open_overdue) {
                    continue;
                }
                for acc in
                    [by_dept.entry(t.department.clone()).or_default(), by_item.entry(t.item.clone()).or_default()]
                {
                    self.add_task(acc, doc, t, decided_in);
                }
            }
        }
        for (kind, field) in [("escalation", 0), ("interview", 1)] {
            let filter = RecordFilter {
                kind: kind.into(),
                since: Some(from),
                until: Some(until),
                limit: 100_000,
                ..RecordFilter::default()
            };
            for r in self.store.records(&filter).await? {
                let Some(d) = r.department else { continue };
                let acc = by_dept.entry(d).or_default();
                if field == 0 {
                    acc.escalations += 1;
                } else {
                    acc.interviews += 1;
                }
            }
        }
        let filter = RecordFilter {
            kind: Rating::KIND.into(),
            since: Some(from),
            until: Some(until),
            limit: 100_000,
            ..RecordFilter::default()
        };
        for r in self.store.records(&filter).await? {
            let r = Record::<Rating>::from_row(r).map_err(AssessmentError::Internal)?;
            let level = f64::from(r.doc.level);
            let depts: BTreeSet<String> = r.doc.departments.into_iter().collect();
            for d in depts {
                by_dept.entry(d).or_default().ratings.push(level);
            }
            let items: BTreeSet<String> = r.doc.items.into_iter().collect();
            for i in items {
                by_item.entry(i).or_default().ratings.push(level);
            }
        }
        let mut bundles: BTreeMap<String, (Vec<f64>, Option<f64>)> = BTreeMap::new();
        let clock = self.clock();
        for c in docs.values() {
            let (Some(acc), Some(con)) = (c.accepted_at, c.concluded_at) else { continue };
            if con < from || con >= until {
                continue;
            }
            let actual = clock.used(acc, con, &c.pauses).unwrap_or(0) as f64 / 60.0;
            self.ensure_catalog(&c.catalog_version).await.map_err(|e| AssessmentError::Internal(e.to_string()))?;
            let catalog = self.catalog_of(&c.catalog_version).map_err(AssessmentError::Internal)?;
            let baseline = c
                .tasks
                .iter()
                .filter_map(|t| catalog.items.get(&t.item))
                .map(|i| i.promised_limit.to_minutes(clock.day_minutes()) as f64 / 60.0)
                .sum::<f64>();
            let e = bundles.entry(c.bundle.clone()).or_default();
            e.0.push(actual);
            e.1 = Some(baseline);
        }
        let bundles = bundles
            .into_iter()
            .map(|(b, (hours, baseline))| {
                let mean = (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64);
                let cut = match (mean, baseline) {
                    (Some(m), Some(base)) if base > 0.0 => Some(round1((1.0 - m / base) * 100.0)),
                    _ => None,
                };
                (
                    b,
                    BundleFigures {
                        concluded: hours.len() as u64,
                        mean_hours: mean.map(round1),
                        baseline_hours: baseline.map(round1),
                        realised_cut_percent: cut,
                    },
                )
            })
            .collect();
        Ok(Assessment {
            period: period.clone(),
            departments: by_dept.into_iter().map(|(k, v)| (k, v.figures())).collect(),
            items: by_item.into_iter().map(|(k, v)| (k, v.figures())).collect(),
            bundles,
        })
    }

    fn add_task(&self, acc: &mut Acc, case: &Case, t: &Task, decided: bool) {
        if !decided {
            acc.overdue += 1;
            return;
        }
        let (Some(ready), Some(decided_at)) = (t.ready_at, t.decided_at) else { return };
        acc.handled += 1;
        acc.cases.insert(case.id.clone());
        let pauses: Vec<_> = case.pauses.iter().filter(|p| p.from >= ready).cloned().collect();
        let minutes = self.clock().used(ready, decided_at, &pauses).unwrap_or(0);
        acc.hours.push(minutes as f64 / 60.0);
        if t.due_at.is_none_or(|due| decided_at <= due) {
            acc.on_time += 1;
        } else {
            acc.overdue += 1;
        }
        let asked = case.corrections.iter().any(|c| matches!(&c.by, ReturnedBy::Task { task_id } if task_id == &t.id));
        if asked {
            acc.corrected += 1;
        }
    }
}

/// The assessment as CSV: one row per department, then per item, then per bundle.
pub fn assessment_csv(a: &Assessment) -> String {
    let mut out = String::from(
        "scope,code,handled,cases,on_time,on_time_rate,mean_hours,p90_hours,corrected,correction_rate,overdue,escalations,interviews,satisfaction,ratings,concluded,baseline_hours,realised_cut_percent\n",
    );
    let opt = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v:.1}"));
    for (scope, map) in [("department", &a.departments), ("item", &a.items)] {
        for (code, f) in map {
            let _ = writeln!(
                out,
                "{scope},{code},{},{},{},{},{},{},{},{},{},{},{},{},{},,,",
                f.handled,
                f.cases,
                f.on_time,
                opt(f.on_time_rate),
                opt(f.mean_hours),
                opt(f.p90_hours),
                f.corrected,
                opt(f.correction_rate),
                f.overdue,
                f.escalations,
                f.interviews,
                opt(f.satisfaction),
                f.ratings
            );
        }
    }
    for (code, b) in &a.bundles {
        let _ = writeln!(
            out,
            "bundle,{code},,,,,{},,,,,,,,,{},{},{}",
            opt(b.mean_hours),
            b.concluded,
            opt(b.baseline_hours),
            opt(b.realised_cut_percent)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        let p = Period::parse("2026").unwrap();
        assert_eq!((p.from.to_string(), p.until.to_string()), ("2026-01-01".into(), "2027-01-01".into()));
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!((q.from.to_string(), q.until.to_string()), ("2026-10-01".into(), "2027-01-01".into()));
        let m = Period::parse("2026-03").unwrap();
        assert_eq!((m.from.to_string(), m.until.to_string()), ("2026-03-01".into(), "2026-04-01".into()));
        for bad in ["", "26", "2026-Q5", "2026-13", "abc", "2026-Qx"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
