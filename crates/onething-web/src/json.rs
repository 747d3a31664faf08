//! The JSON shapes of the API: cases, tasks, events. Timestamps are RFC 3339 in China time (+08:00).

use jiff::Timestamp;
use onething_core::calendar::china_tz;
use onething_core::case::Task;
use onething_core::catalog::FieldDef;
use onething_core::colour::Colour;
use onething_service::{CaseView, TaskView};
use onething_store::{CaseRow, EventRow, MaterialRow};
use serde_json::{Value, json};

pub fn ts(t: Timestamp) -> String {
    t.to_zoned(china_tz()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

fn colour(c: Option<Colour>) -> Value {
    c.map_or(Value::Null, |c| json!(c.as_str()))
}

pub fn material_upload(m: &MaterialRow) -> Value {
    json!({ "sha256": m.sha256, "size": m.size, "media_type": m.media_type, "uploaded_at": ts(m.uploaded_at) })
}

fn task(t: &Task, c: Option<Colour>, name: &str) -> Value {
    json!({
        "id": t.id,
        "item": t.item,
        "name": name,
        "department": t.department,
        "state": t.state.as_str(),
        "limit": t.limit.to_string(),
        "needs": t.needs,
        "ready_at": opt_ts(t.ready_at),
        "due_at": opt_ts(t.due_at),
        "decided_at": opt_ts(t.decided_at),
        "colour": colour(c),
        "result": t.result,
        "reasons": t.reasons,
    })
}

pub fn case(v: &CaseView) -> Value {
    let c = &v.case;
    let materials: Vec<Value> = v
        .plan
        .materials
        .iter()
        .map(|m| {
            let up = v.materials.iter().find(|u| u.material == m.code);
            json!({
                "code": m.code, "name": m.name, "name_en": m.name_en, "required": m.required, "items": m.items,
                "uploaded": up.map(material_upload),
            })
        })
        .collect();
    let tasks: Vec<Value> = c
        .tasks
        .iter()
        .zip(&v.task_colours)
        .map(|(t, col)| {
            let name = v.plan.tasks.iter().find(|p| p.item == t.item).map_or("", |p| p.name.as_str());
            task(t, *col, name)
        })
        .collect();
    json!({
        "id": v.row.id,
        "number": v.row.number,
        "bundle": c.bundle,
        "bundle_name": v.plan.name,
        "catalog_version": c.catalog_version,
        "state": c.state.as_str(),
        "outcome": c.outcome.map(|o| o.as_str()),
        "applicant": c.applicant,
        "answers": c.answers,
        "form": c.form,
        "materials": materials,
        "dropped": v.plan.dropped,
        "tasks": tasks,
        "promised_limit": c.promised_limit.to_string(),
        "due_at": opt_ts(c.due_at),
        "colour": colour(v.colour),
        "paused": c.is_paused(),
        "receipt_number": v.case.receipt_number,
        "corrections": c.corrections,
        "results": c.results(),
        "filed_by": v.case.filed_by,
        "created_at": ts(c.created_at),
        "submitted_at": opt_ts(c.submitted_at),
        "accepted_at": opt_ts(c.accepted_at),
        "concluded_at": opt_ts(c.concluded_at),
        "version": v.row.version,
    })
}

pub fn case_summary(r: &CaseRow) -> Value {
    json!({
        "id": r.id, "number": r.number, "bundle": r.bundle, "state": r.state,
        "due_at": opt_ts(r.due_at), "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
    })
}

pub fn field_def(f: &FieldDef) -> Value {
    json!({
        "code": f.code, "label": f.label, "label_en": f.label_en, "type": f.field_type, "required": f.required,
        "options": f.options.iter().map(|o| o.value.clone()).collect::<Vec<_>>(),
    })
}

pub fn task_view(v: &TaskView) -> Value {
    let mut out = task(&v.task, v.colour, &v.item_name);
    let obj = out.as_object_mut();
    if let Some(o) = obj {
        o.insert("case_id".into(), json!(v.case_id));
        o.insert("case_number".into(), json!(v.case_number));
        o.insert("case_state".into(), json!(v.case_state));
        o.insert("bundle".into(), json!(v.bundle));
        o.insert("applicant".into(), json!(v.applicant));
        o.insert(
            "form".into(),
            json!(v
                .fields
                .iter()
                .map(|f| json!({
                    "code": f.field.code, "label": f.field.label, "label_en": f.field.label_en, "type": f.field.field_type,
                    "required": f.field.required, "options": f.field.options, "value": f.value,
                }))
                .collect::<Vec<_>>()),
        );
        o.insert(
            "materials".into(),
            json!(
                v.materials
                    .iter()
                    .map(|m| json!({
                        "code": m.material.code, "name": m.material.name, "required": m.material.required,
                        "uploaded": m.upload.as_ref().map(material_upload),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        o.insert(
            "licence".into(),
            v.licence.as_ref().map_or(Value::Null, |l| json!({ "code": l.code, "name": l.name, "name_en": l.name_en })),
        );
        o.insert("result_fields".into(), json!(v.result_fields.iter().map(field_def).collect::<Vec<_>>()));
    }
    out
}

pub fn event(e: &EventRow) -> Value {
    let payload: Value = serde_json::from_str(&e.payload).unwrap_or(Value::String(e.payload.clone()));
    json!({
        "seq": e.seq, "id": e.id, "case_id": e.case_id, "kind": e.kind, "actor": e.actor, "at": ts(e.at),
        "payload": payload, "prev_hash": e.prev_hash, "case_prev_hash": e.case_prev_hash, "hash": e.hash,
    })
}
