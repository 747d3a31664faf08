//! Compiled plans, cached: a plan is a pure function of (catalogue version, bundle, answers), and every use case
//! of a case needs its plan, so it is compiled once per node and shared.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use onething_core::catalog::Catalog;
use onething_core::plan::{self, Plan, PlanError};

/// The most plans kept; beyond it the cache starts again (the distinct answer combinations of a catalogue are
/// few, so this is a guard, not a policy).
const CAPACITY: usize = 4_096;

/// (catalogue version, bundle, answers) → plan.
type Key = (String, String, BTreeMap<String, String>);

#[derive(Default)]
pub(crate) struct PlanCache {
    plans: Mutex<HashMap<Key, Arc<Plan>>>,
}

impl PlanCache {
    /// The plan of a bundle with these answers under this catalogue, compiled at most once.
    pub(crate) fn compile(
        &self,
        catalog: &Catalog,
        bundle: &str,
        answers: &BTreeMap<String, String>,
    ) -> Result<Arc<Plan>, PlanError> {
        let key = (catalog.version.clone(), bundle.to_string(), answers.clone());
        if let Ok(plans) = self.plans.lock()
            && let Some(plan) = plans.get(&key)
        {
            return Ok(Arc::clone(plan));
        }
        let plan = Arc::new(plan::compile(catalog, bundle, answers)?);
        if let Ok(mut plans) = self.plans.lock() {
            if plans.len() >= CAPACITY {
                plans.clear();
            }
            plans.insert(key, Arc::clone(&plan));
        }
        Ok(plan)
    }
}
