//! The bundle compiler: turns a bundle (一件事) and the applicant's situation answers (情形) into one plan —
//! the integrated form (一表申请), the deduplicated materials (一套材料) with the reason each dropped material
//! is not asked for, the task graph, its critical path and limit, and the reduction report (before: the items
//! done one by one as separate applications; after: the bundle).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::{Bundle, BundleItem, Catalog, ConclusionRule, FieldDef, FieldType, MaterialForm};
use crate::duration::WorkingDuration;

/// Why a material of the separate-items total is not asked for in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Another item of the bundle already asks for it (材料共用).
    Duplicate,
    /// A shared data source answers it (数据共享).
    SharedData,
    /// An earlier item of the bundle issues it (前序事项结果).
    ProducedInBundle,
    /// The situation answers make it unnecessary (情形).
    SwitchedOff,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Duplicate => "duplicate",
            DropReason::SharedData => "shared_data",
            DropReason::ProducedInBundle => "produced_in_bundle",
            DropReason::SwitchedOff => "switched_off",
        }
    }
}

/// A material the applicant submits.
#[derive(Debug, Clone, Serialize)]
pub struct PlanMaterial {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub required: bool,
    pub form: MaterialForm,
    /// The items that use it.
    pub items: Vec<String>,
}

/// A material of one item that the bundle does not ask for, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub code: String,
    pub name: String,
    /// The item that would have asked for it.
    pub item: String,
    pub reason: DropReason,
    /// The data source, producing item, first-asking item or situation answer behind the reason.
    pub by: String,
}

/// A field of the integrated form.
#[derive(Debug, Clone, Serialize)]
pub struct PlanField {
    pub code: String,
    pub label: String,
    pub label_en: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
    /// The allowed values of an `enum`.
    pub options: Vec<String>,
    pub choices: Vec<crate::catalog::Choice>,
    pub items: Vec<String>,
}

/// A task of the plan: one item for its department.
#[derive(Debug, Clone, Serialize)]
pub struct PlanTask {
    pub item: String,
    pub name: String,
    pub name_en: String,
    pub department: String,
    pub limit: WorkingDuration,
    pub needs: Vec<String>,
    pub result: Option<String>,
    pub on_critical_path: bool,
}

/// A before/after pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BeforeAfter {
    pub before: u32,
    pub after: u32,
}

/// The time limit before and after, with the cut in percent (one decimal).
#[derive(Debug, Clone, Serialize)]
pub struct TimeCut {
    pub before: WorkingDuration,
    pub after: WorkingDuration,
    pub cut_percent: f64,
}

/// The reduction report (减材料、减环节、减跑动、减时限).
#[derive(Debug, Clone, Serialize)]
pub struct Reduction {
    pub materials: BeforeAfter,
    pub steps: BeforeAfter,
    pub submissions: BeforeAfter,
    pub departments: BeforeAfter,
    pub time_limit: TimeCut,
}

/// A compiled bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub bundle: String,
    pub name: String,
    pub name_en: String,
    pub catalog_version: String,
    pub answers: BTreeMap<String, String>,
    pub materials: Vec<PlanMaterial>,
    pub dropped: Vec<Dropped>,
    pub form: Vec<PlanField>,
    pub tasks: Vec<PlanTask>,
    pub critical_path: Vec<String>,
    pub critical_path_limit: WorkingDuration,
    pub promised_limit: WorkingDuration,
    pub conclusion: ConclusionRule,
    pub reduction: Reduction,
    /// Items added to the bundle's own for this application ([`compile_with_extra_items`]: the "+N" of
    /// 企业注销 "8+N", one cancellation item per kind of licence the company holds), in the order given. Their
    /// tasks are in `tasks` too, after the bundle's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_items: Vec<String>,
}

/// Why a bundle could not be compiled for these answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown bundle {0:?}")]
    UnknownBundle(String),
    #[error("unknown situation question {question:?}")]
    UnknownQuestion { question: String },
    #[error("{value:?} is not an answer to {question:?}: expected one of {}", allowed.join(", "))]
    BadAnswer { question: String, value: String, allowed: Vec<String> },
    #[error("field {field:?} is defined differently by items {first:?} and {second:?}")]
    FieldConflict { field: String, first: String, second: String },
    #[error("dependency cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    /// An extra item given to [`compile_with_extra_items`] is not in the catalogue.
    #[error("unknown item {item:?}: it is not in the catalogue")]
    UnknownItem { item: String },
}

impl PlanError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::UnknownBundle(_) => "unknown_bundle",
            PlanError::UnknownQuestion { .. } => "unknown_question",
            PlanError::BadAnswer { .. } => "bad_answer",
            PlanError::FieldConflict { .. } => "field_conflict",
            PlanError::Cycle(_) => "dependency_cycle",
            PlanError::UnknownItem { .. } => "unknown_item",
        }
    }
}

/// The longest path through the bundle's items by their in-bundle limits, and its limit. Needs that name no
/// member are ignored (the catalogue check reports them). On a cycle, returns the items on it.
pub fn critical_path(items: &[BundleItem]) -> Result<(Vec<String>, WorkingDuration), Vec<String>> {
    let index: BTreeMap<&str, usize> = items.iter().enumerate().map(|(i, bi)| (bi.item.as_str(), i)).collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; items.len()];
    let mut order = Vec::with_capacity(items.len());
    for start in 0..items.len() {
        if state[start] != 0 {
            continue;
        }
        // Iterative DFS: (node, next need to look at).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let needs = &items[node].needs;
            if *next < needs.len() {
                let n = &needs[*next];
                *next += 1;
                let Some(&dep) = index.get(n.as_str()) else {
                    continue;
                };
                match state[dep] {
                    0 => {
                        state[dep] = 1;
                        stack.push((dep, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(s, _)| *s == dep).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(s, _)| items[*s].item.clone()).collect();
                        cycle.push(items[dep].item.clone());
                        return Err(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                order.push(node);
                stack.pop();
            }
        }
    }
    // `order` has every item after its needs: the longest finish time per item.
    let mut finish: Vec<WorkingDuration> = vec![WorkingDuration::ZERO; items.len()];
    let mut via: Vec<Option<usize>> = vec![None; items.len()];
    for &node in &order {
        let mut best: Option<usize> = None;
        for n in &items[node].needs {
            if let Some(&dep) = index.get(n.as_str())
                && best.is_none_or(|b| finish[dep].nominal_minutes() > finish[b].nominal_minutes())
            {
                best = Some(dep);
            }
        }
        finish[node] = best.map_or(WorkingDuration::ZERO, |b| finish[b]).plus(items[node].limit);
        via[node] = best;
    }
    let Some(mut last) =
        (0..items.len()).reduce(|a, b| if finish[b].nominal_minutes() > finish[a].nominal_minutes() { b } else { a })
    else {
        return Ok((Vec::new(), WorkingDuration::ZERO));
    };
    let limit = finish[last];
    let mut path = vec![items[last].item.clone()];
    while let Some(prev) = via[last] {
        path.push(items[prev].item.clone());
        last = prev;
    }
    path.reverse();
    Ok((path, limit))
}

/// The answers with defaults filled in, checked against the bundle's questions.
pub fn resolve_answers(
    bundle: &Bundle,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, PlanError> {
    for q in given.keys() {
        if !bundle.questions.iter().any(|x| &x.code == q) {
            return Err(PlanError::UnknownQuestion { question: q.clone() });
        }
    }
    let mut answers = BTreeMap::new();
    for q in &bundle.questions {
        let value = given.get(&q.code).cloned().unwrap_or_else(|| q.default.clone());
        if !q.options.iter().any(|o| o.value == value) {
            return Err(PlanError::BadAnswer {
                question: q.code.clone(),
                value,
                allowed: q.options.iter().map(|o| o.value.clone()).collect(),
            });
        }
        answers.insert(q.code.clone(), value);
    }
    Ok(answers)
}

/// Compiles a bundle for a set of situation answers (missing answers take the question's default).
pub fn compile(catalog: &Catalog, bundle_code: &str, given: &BTreeMap<String, String>) -> Result<Plan, PlanError> {
    compile_with_extra_items(catalog, bundle_code, given, &[])
}

/// Compiles a bundle with items added for this application: the "+N" of 企业注销 "8+N", the cancellation
/// items of the licences a closing company holds ([`crate::deregistration::Precheck::added_items`]).
///
/// Each extra item must be in the catalogue ([`PlanError::UnknownItem`]). Extras are deduplicated: an item
/// given twice, or already a member of the bundle, is one task. An extra task needs nothing, runs in parallel
/// with the bundle's own and has its item's promised limit; its materials and fields join the one set of
/// materials and the one form like any member's (so a field it defines differently is a
/// [`PlanError::FieldConflict`]). Should an extra item's limit be longer than the bundle's promised limit, the
/// plan's promised limit becomes the critical path's, so the plan never promises less than its tasks take.
/// With no extras the plan is exactly [`compile`]'s.
pub fn compile_with_extra_items(
    catalog: &Catalog,
    bundle_code: &str,
    given: &BTreeMap<String, String>,
    extra: &[String],
) -> Result<Plan, PlanError> {
    let bundle = catalog.bundle(bundle_code).ok_or_else(|| PlanError::UnknownBundle(bundle_code.to_string()))?;
    let answers = resolve_answers(bundle, given)?;
    let firing: Vec<&crate::catalog::Rule> = bundle.rules.iter().filter(|r| r.when.holds(&answers)).collect();
    let rule_label = |r: &crate::catalog::Rule| format!("{}={}", r.when.question, r.when.value);
    let off_item = |code: &str| firing.iter().any(|r| r.off_items.iter().any(|i| i == code));

    // The items that apply, with needs on switched-off items dropped (nothing to wait for).
    let mut active: Vec<BundleItem> = bundle
        .items
        .iter()
        .filter(|bi| !off_item(&bi.item) && catalog.items.contains_key(&bi.item))
        .map(|bi| BundleItem {
            item: bi.item.clone(),
            limit: bi.limit,
            needs: bi.needs.iter().filter(|n| !off_item(n)).cloned().collect(),
        })
        .collect();
    let mut extra_items: Vec<String> = Vec::new();
    for code in extra {
        let item = catalog.items.get(code).ok_or_else(|| PlanError::UnknownItem { item: code.clone() })?;
        if bundle.items.iter().any(|bi| &bi.item == code) || extra_items.contains(code) {
            continue;
        }
        extra_items.push(code.clone());
        active.push(BundleItem { item: code.clone(), limit: item.promised_limit, needs: Vec::new() });
    }
    let (path, path_limit) = critical_path(&active).map_err(PlanError::Cycle)?;
    let promised_limit = if path_limit.nominal_minutes() > bundle.promised_limit.nominal_minutes() {
        path_limit
    } else {
        bundle.promised_limit
    };

    // Everything an item transitively waits for: only those results can stand in for its materials.
    let upstream = |code: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![code.to_string()];
        while let Some(c) = todo.pop() {
            if let Some(bi) = active.iter().find(|b| b.item == c) {
                for n in &bi.needs {
                    if seen.insert(n.clone()) {
                        todo.push(n.clone());
                    }
                }
            }
        }
        seen
    };

    let mut materials: Vec<PlanMaterial> = Vec::new();
    let mut dropped: Vec<Dropped> = Vec::new();
    let mut form: Vec<PlanField> = Vec::new();
    let mut form_first: BTreeMap<String, (String, FieldDef)> = BTreeMap::new();
    for bi in &active {
        let Some(item) = catalog.items.get(&bi.item) else {
            continue;
        };
        let before_me = upstream(&item.code);
        for m in &item.materials {
            let name = catalog.materials.get(&m.code).map_or_else(|| m.code.clone(), |x| x.name.clone());
            let drop = |reason, by: String| Dropped {
                code: m.code.clone(),
                name: name.clone(),
                item: item.code.clone(),
                reason,
                by,
            };
            if let Some(c) = m.when.as_ref().filter(|c| !c.holds(&answers)) {
                let actual = answers.get(&c.question).cloned().unwrap_or_default();
                dropped.push(drop(DropReason::SwitchedOff, format!("{}={actual}", c.question)));
                continue;
            }
            if let Some(r) = firing.iter().find(|r| r.off_materials.contains(&m.code)) {
                dropped.push(drop(DropReason::SwitchedOff, rule_label(r)));
                continue;
            }
            if let Some(src) = bundle
                .shared_sources
                .iter()
                .find(|s| catalog.sources.get(*s).is_some_and(|src| src.answers.contains(&m.code)))
            {
                dropped.push(drop(DropReason::SharedData, src.clone()));
                continue;
            }
            let licence = catalog.materials.get(&m.code).and_then(|x| x.licence.as_deref());
            if let Some(producer) = licence.and_then(|l| {
                active.iter().find(|p| {
                    before_me.contains(&p.item)
                        && catalog.items.get(&p.item).is_some_and(|pi| pi.result.as_deref() == Some(l))
                })
            }) {
                dropped.push(drop(DropReason::ProducedInBundle, producer.item.clone()));
                continue;
            }
            if let Some(existing) = materials.iter_mut().find(|x| x.code == m.code) {
                existing.required |= m.required;
                let first = existing.items[0].clone();
                existing.items.push(item.code.clone());
                dropped.push(drop(DropReason::Duplicate, first));
                continue;
            }
            let (name, name_en) = catalog
                .materials
                .get(&m.code)
                .map_or((m.code.clone(), m.code.clone()), |x| (x.name.clone(), x.name_en.clone()));
            materials.push(PlanMaterial {
                code: m.code.clone(),
                name,
                name_en,
                required: m.required,
                form: m.form,
                items: vec![item.code.clone()],
            });
        }
        for f in &item.fields {
            if f.when.as_ref().is_some_and(|c| !c.holds(&answers))
                || firing.iter().any(|r| r.off_fields.contains(&f.def.code))
            {
                continue;
            }
            if let Some((first, def)) = form_first.get(&f.def.code) {
                if def.conflicts_with(&f.def) {
                    return Err(PlanError::FieldConflict {
                        field: f.def.code.clone(),
                        first: first.clone(),
                        second: item.code.clone(),
                    });
                }
                if let Some(pf) = form.iter_mut().find(|x| x.code == f.def.code) {
                    pf.required |= f.def.required;
                    pf.items.push(item.code.clone());
                }
                continue;
            }
            form_first.insert(f.def.code.clone(), (item.code.clone(), f.def.clone()));
            form.push(PlanField {
                code: f.def.code.clone(),
                label: f.def.label.clone(),
                label_en: f.def.label_en.clone(),
                field_type: f.def.field_type,
                required: f.def.required,
                options: f.def.options.iter().map(|c| c.value.clone()).collect(),
                choices: f.def.options.clone(),
                items: vec![item.code.clone()],
            });
        }
    }

    let tasks: Vec<PlanTask> = active
        .iter()
        .filter_map(|bi| {
            let item = catalog.items.get(&bi.item)?;
            Some(PlanTask {
                item: item.code.clone(),
                name: item.name.clone(),
                name_en: item.name_en.clone(),
                department: item.department.clone(),
                limit: bi.limit,
                needs: bi.needs.clone(),
                result: item.result.clone(),
                on_critical_path: path.contains(&item.code),
            })
        })
        .collect();

    // Before: each item applied for on its own, one after the other.
    let items: Vec<&crate::catalog::Item> = active.iter().filter_map(|bi| catalog.items.get(&bi.item)).collect();
    let departments: BTreeSet<&str> = items.iter().map(|i| i.department.as_str()).collect();
    let before_time = items.iter().fold(WorkingDuration::ZERO, |acc, i| acc.plus(i.promised_limit));
    let after_time = promised_limit;
    let cut = if before_time.nominal_minutes() == 0 {
        0.0
    } else {
        let b = before_time.nominal_minutes() as f64;
        let a = after_time.nominal_minutes() as f64;
        ((b - a) / b * 1000.0).round() / 10.0
    };
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let reduction = Reduction {
        materials: BeforeAfter { before: count(materials.len() + dropped.len()), after: count(materials.len()) },
        steps: BeforeAfter { before: items.iter().map(|i| i.steps).sum(), after: bundle.steps },
        submissions: BeforeAfter { before: count(items.len()), after: 1 },
        departments: BeforeAfter { before: count(departments.len()), after: 1 },
        time_limit: TimeCut { before: before_time, after: after_time, cut_percent: cut },
    };

    Ok(Plan {
        bundle: bundle.code.clone(),
        name: bundle.name.clone(),
        name_en: bundle.name_en.clone(),
        catalog_version: catalog.version.clone(),
        answers,
        materials,
        dropped,
        form,
        tasks,
        critical_path: path,
        critical_path_limit: path_limit,
        promised_limit,
        conclusion: bundle.conclusion,
        reduction,
        extra_items,
    })
}

fn reason_zh(r: DropReason) -> &'static str {
    match r {
        DropReason::Duplicate => "重复 duplicate",
        DropReason::SharedData => "数据共享 shared data",
        DropReason::ProducedInBundle => "前序结果 produced in bundle",
        DropReason::SwitchedOff => "情形不需 switched off",
    }
}

/// A readable report of a plan for the terminal (Chinese first, English beside it).
pub fn render_text(plan: &Plan, catalog: &Catalog) -> String {
    let mut out = String::new();
    let dept = |code: &str| catalog.departments.get(code).map_or(code.to_string(), |d| d.name.clone());
    let _ = writeln!(out, "{} — {} ({})", plan.name, plan.name_en, plan.bundle);
    let answers: Vec<String> = plan.answers.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(out, "情形 answers: {}", if answers.is_empty() { "-".to_string() } else { answers.join(", ") });
    let _ = writeln!(out);
    let r = &plan.reduction;
    let _ = writeln!(out, "压减 reduction               before  after");
    let row = |out: &mut String, label: &str, ba: BeforeAfter| {
        let _ = writeln!(out, "  {label:<26}{:>6}  {:>5}", ba.before, ba.after);
    };
    row(&mut out, "材料 materials", r.materials);
    row(&mut out, "环节 applicant steps", r.steps);
    row(&mut out, "申报 submissions", r.submissions);
    row(&mut out, "跑动 departments visited", r.departments);
    let _ = writeln!(
        out,
        "  {:<26}{:>6}  {:>5}  (-{:.1}%)",
        "时限 time limit",
        r.time_limit.before.to_string(),
        r.time_limit.after.to_string(),
        r.time_limit.cut_percent
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "事项 tasks ({}; * = critical path)", plan.tasks.len());
    for t in &plan.tasks {
        let needs = if t.needs.is_empty() { "-".to_string() } else { t.needs.join(", ") };
        let _ = writeln!(
            out,
            "  {} {:<40} {:<6} {}  needs: {}",
            if t.on_critical_path { '*' } else { ' ' },
            t.item,
            t.limit.to_string(),
            dept(&t.department),
            needs
        );
    }
    let _ = writeln!(
        out,
        "关键路径 critical path: {} = {} (承诺 promised {})",
        plan.critical_path.join(" → "),
        plan.critical_path_limit,
        plan.promised_limit
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "提交材料 materials to submit ({})", plan.materials.len());
    for (i, m) in plan.materials.iter().enumerate() {
        let form = match m.form {
            MaterialForm::Original => "原件 original",
            MaterialForm::Copy => "复印件 copy",
            MaterialForm::Electronic => "电子件 electronic",
        };
        let req = if m.required { "必需 required" } else { "可选 optional" };
        let _ = writeln!(out, "  {:>2}. {} ({}) [{req}, {form}]", i + 1, m.name, m.code);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "免交材料 not asked for ({})", plan.dropped.len());
    for d in &plan.dropped {
        let _ = writeln!(out, "  - {} ({}) of {}: {} ← {}", d.name, d.code, d.item, reason_zh(d.reason), d.by);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "一张表单 integrated form ({} fields)", plan.form.len());
    for f in &plan.form {
        let opts = if f.options.is_empty() { String::new() } else { format!(" [{}]", f.options.join("|")) };
        let req = if f.required { "*" } else { " " };
        let _ = writeln!(out, "  {req} {:<28} {:<12} {}{opts}", f.code, f.field_type.as_str(), f.label);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bi(item: &str, limit: &str, needs: &[&str]) -> BundleItem {
        BundleItem {
            item: item.into(),
            limit: limit.parse().unwrap_or(WorkingDuration::ZERO),
            needs: needs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn critical_path_takes_the_longest_chain() {
        let items = [bi("a", "1d", &[]), bi("b", "2d", &["a"]), bi("c", "10d", &[]), bi("d", "1d", &["b"])];
        let (path, limit) = critical_path(&items).unwrap_or_default();
        assert_eq!(path, ["c"]);
        assert_eq!(limit.to_string(), "10d");
        let items = [bi("a", "1h", &[]), bi("b", "1.5h", &["a"]), bi("c", "30m", &["b"]), bi("x", "2h", &[])];
        let (path, limit) = critical_path(&items).unwrap_or_default();
        assert_eq!(path, ["a", "b", "c"]);
        assert_eq!(limit.to_string(), "3h");
    }

    #[test]
    fn cycles_are_named() {
        let items = [bi("a", "1d", &["c"]), bi("b", "1d", &["a"]), bi("c", "1d", &["b"])];
        let cycle = critical_path(&items).err().unwrap_or_default();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
    }
}
