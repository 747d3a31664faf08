//! The figures of a unit's performance assessment (绩效考核) on hotline orders: the response rate (响应率),
//! the conclusion rate (办结率) and the satisfaction rate (满意率) — the 接诉即办 indicators (DOMAIN.md §3.3).
//! Pure functions of a list of orders and the instant of the report; the caller picks the orders (a month, a
//! district).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Satisfaction, Unit, WorkOrder, WorkOrderState};

/// A rate as a count over a count, so that figures add up exactly across reports.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
}

impl Rate {
    /// The rate in percent, `None` when nothing was counted.
    pub fn percent(&self) -> Option<f64> {
        (self.denominator > 0).then(|| self.numerator as f64 * 100.0 / self.denominator as f64)
    }
}

/// What one unit did with the orders it was given.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UnitFigures {
    /// Dispatches to the unit whose response can be judged: responded to, or past their sign-for deadline.
    pub assignments: u64,
    /// Of those, signed for or returned by the sign-for deadline (签收时限).
    pub responded: u64,
    /// Orders with the unit that are due: closed, or past their handling deadline (应办结).
    pub due: u64,
    /// Of those, closed (办结).
    pub concluded: u64,
    /// Orders with the unit that were called back (回访); the last callback counts.
    pub called_back: u64,
    pub satisfied: u64,
    pub basically_satisfied: u64,
    pub unsatisfied: u64,
}

impl UnitFigures {
    /// 响应率: responded in time over the dispatches that can be judged.
    pub fn response_rate(&self) -> Rate {
        Rate { numerator: self.responded, denominator: self.assignments }
    }

    /// 办结率: concluded over due.
    pub fn conclusion_rate(&self) -> Rate {
        Rate { numerator: self.concluded, denominator: self.due }
    }

    /// 满意率: satisfied and basically satisfied over called back. (Regions that weigh 基本满意 differently
    /// have the counts.)
    pub fn satisfaction_rate(&self) -> Rate {
        Rate { numerator: self.satisfied + self.basically_satisfied, denominator: self.called_back }
    }
}

/// The figures per unit at `now`. Every dispatch counts for the unit it went to (a unit that returned an order
/// in time responded); conclusion and satisfaction count for the unit that has the order at the end. Orders
/// answered at intake (no unit) and duplicates merged away count only for the response of their dispatches.
pub fn assessment(orders: &[WorkOrder], now: Timestamp) -> BTreeMap<Unit, UnitFigures> {
    let mut figures: BTreeMap<Unit, UnitFigures> = BTreeMap::new();
    for order in orders {
        for a in &order.assignments {
            let responded_at = a.responded_at();
            // A dispatch that left the unit before its sign-for deadline without an answer cannot be judged.
            let left_early = a.ended_at.is_some_and(|ended| ended <= a.sign_due_at);
            let judged = responded_at.is_some() || (now > a.sign_due_at && !left_early);
            if judged {
                let f = figures.entry(a.unit.clone()).or_default();
                f.assignments += 1;
                if responded_at.is_some_and(|r| r <= a.sign_due_at) {
                    f.responded += 1;
                }
            }
        }
        if order.state == WorkOrderState::Merged {
            continue;
        }
        let Some(unit) = &order.assignee else {
            continue;
        };
        let f = figures.entry(unit.clone()).or_default();
        let closed = order.state == WorkOrderState::Closed;
        if closed || order.due_at.is_some_and(|due| now > due) {
            f.due += 1;
            if closed {
                f.concluded += 1;
            }
        }
        if let Some(s) = order.satisfaction() {
            f.called_back += 1;
            match s {
                Satisfaction::Satisfied => f.satisfied += 1,
                Satisfaction::BasicallySatisfied => f.basically_satisfied += 1,
                Satisfaction::Unsatisfied => f.unsatisfied += 1,
            }
        }
    }
    figures
}
