use super::*;

fn plan_json(bundle: &str, answers: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", bundle, "--format", "json"];
    for a in answers {
        args.push("--answer");
        args.push(a);
    }
    let o = onething(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[test]
fn open_transport_company_json_has_the_newspaper_figures() {
    let p = plan_json("open-transport-company", &[]);
    assert_eq!(p["bundle"], "open-transport-company");
    let r = &p["reduction"];
    assert_eq!(r["materials"]["before"], 18);
    assert_eq!(r["materials"]["after"], 12);
    assert_eq!(p["materials"].as_array().map(Vec::len), Some(12));
    assert_eq!(r["time_limit"]["after"], "0.5d");
    assert_eq!(p["promised_limit"], "0.5d");
    let before = r["time_limit"]["before"].as_str().unwrap_or_default();
    assert!(before.trim_end_matches('d').parse::<f64>().unwrap_or(0.0) >= 3.0, "{before}");
    assert!(r["time_limit"]["cut_percent"].as_f64().unwrap_or(0.0) >= 86.0);
    // The contract's shapes.
    let m = &p["materials"][0];
    for key in ["code", "name", "required"] {
        assert!(m.get(key).is_some(), "material lacks {key}");
    }
    let d = &p["dropped"][0];
    for key in ["code", "reason"] {
        assert!(d.get(key).is_some(), "dropped lacks {key}");
    }
    let f = p["form"].as_array().and_then(|f| f.iter().find(|f| f["type"] == "enum")).cloned().unwrap_or_default();
    for key in ["code", "label", "type", "required", "options"] {
        assert!(f.get(key).is_some(), "form field lacks {key}");
    }
    assert!(f["options"].as_array().is_some_and(|o| !o.is_empty()));
    assert!(p["tasks"].as_array().is_some_and(|t| t.len() == 3));
    assert!(p["critical_path"].as_array().is_some_and(|t| t.len() == 3));
    for key in ["steps", "submissions"] {
        assert!(r[key]["before"].is_number() && r[key]["after"].is_number());
    }
}

#[test]
fn close_company_json_has_the_newspaper_figures() {
    let p = plan_json("close-company", &[]);
    let r = &p["reduction"];
    assert_eq!(r["steps"]["before"], 9);
    assert_eq!(r["steps"]["after"], 1);
    assert_eq!(r["submissions"]["before"], 8);
    assert_eq!(r["submissions"]["after"], 1);
    assert!(r["time_limit"]["cut_percent"].as_f64().unwrap_or(0.0) >= 93.0);
    assert_eq!(p["tasks"].as_array().map(Vec::len), Some(8));
}

#[test]
fn answers_change_the_plan() {
    let p = plan_json("close-company", &["procedure=general", "customs_filed=no"]);
    assert_eq!(p["tasks"].as_array().map(Vec::len), Some(7));
    assert_eq!(p["answers"]["procedure"], "general");
}

#[test]
fn readable_report_of_open_transport_company() {
    let o = onething(&["plan", "open-transport-company"]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn readable_report_of_close_company() {
    let o = onething(&["plan", "close-company"]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn bad_answers_and_bundles_are_errors() {
    let o = onething(&["plan", "close-company", "--answer", "procedure=fast"]);
    assert_clean_failure(&o);
    assert!(stderr(&o).contains("\"fast\" is not an answer to \"procedure\""), "{}", stderr(&o));
    let o = onething(&["plan", "close-company", "--answer", "procedure"]);
    assert_clean_failure(&o);
    let o = onething(&["plan", "no-such-thing"]);
    assert_clean_failure(&o);
    assert!(stderr(&o).contains("unknown bundle"), "{}", stderr(&o));
}
