//! Checks that the OpenAPI description (`openapi.json`, served verbatim) matches the code: every route of
//! `router()` with its methods, every error code of `ERROR_CODES`, unique operation ids, resolvable `$ref`s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const DOC: &str = include_str!("openapi.json");
const LIB: &str = include_str!("lib.rs");
const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

fn doc() -> Value {
    serde_json::from_str(DOC).expect("openapi.json is JSON")
}

/// The text of the balanced `(…)` group that opens at byte `open` (which must be `(`), without the parens.
/// String literals are skipped, so parens inside them do not count.
fn group(src: &str, open: usize) -> &str {
    let bytes = src.as_bytes();
    assert_eq!(bytes[open], b'(');
    let mut depth = 0usize;
    let mut in_str = false;
    let mut i = open;
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            match b {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return &src[open + 1..i];
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    panic!("unbalanced parentheses in lib.rs");
}

/// The HTTP methods of a route's method router, e.g. `post(api::a).get(api::b).layer(…)` → {get, post}.
fn methods_of(handlers: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = handlers.as_bytes();
    for m in METHODS {
        let needle = format!("{m}(");
        let mut from = 0;
        while let Some(pos) = handlers[from..].find(&needle) {
            let at = from + pos;
            // A method-router call stands alone or after a `.`; not inside a longer name like `max(` or `a::get(`.
            let before = if at == 0 { b' ' } else { bytes[at - 1] };
            if !(before.is_ascii_alphanumeric() || before == b'_' || before == b':') {
                out.insert(m.to_string());
            }
            from = at + needle.len();
        }
    }
    out
}

/// The `.route("path", handlers)` calls in `src`, each with its path and methods.
fn routes_in(src: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = src[from..].find(".route(") {
        let open = from + pos + ".route".len();
        let args = group(src, open);
        let first_quote = args.find('"').expect("a route path literal");
        let rest = &args[first_quote + 1..];
        let end = rest.find('"').expect("the end of the route path literal");
        let path = rest[..end].to_string();
        let handlers = &rest[end + 1..];
        let methods = methods_of(handlers);
        assert!(!methods.is_empty(), "route {path} has no method in lib.rs: {handlers}");
        out.push((path, methods));
        from = open + args.len() + 2;
    }
    out
}

/// Every route of `router()` in lib.rs, with nested routers' prefixes, and its methods.
fn router_routes() -> BTreeMap<String, BTreeSet<String>> {
    let start = LIB.find("pub fn router(").expect("router() in lib.rs");
    let body_open = start + LIB[start..].find('{').expect("router() body");
    // The body of router(): up to the first `}` at the start of a line after it.
    let body_end = body_open + LIB[body_open..].find("\n}").expect("end of router()");
    let body = &LIB[body_open..body_end];

    // Nested routers: `.nest("/prefix", var)` where `let var = Router::new()…;`.
    let mut nested: BTreeMap<String, String> = BTreeMap::new();
    let mut from = 0;
    while let Some(pos) = body[from..].find(".nest(") {
        let open = from + pos + ".nest".len();
        let args = group(body, open);
        let (prefix, var) = args.split_once(',').expect("nest(prefix, router)");
        nested.insert(var.trim().to_string(), prefix.trim().trim_matches('"').to_string());
        from = open + args.len() + 2;
    }

    let mut routes = BTreeMap::new();
    let mut rest = body.to_string();
    for (var, prefix) in &nested {
        let let_at = rest.find(&format!("let {var} = ")).unwrap_or_else(|| panic!("`let {var}` in router()"));
        let end = let_at + rest[let_at..].find(";\n").expect("end of the nested router's statement");
        let statement = rest[let_at..end].to_string();
        for (path, methods) in routes_in(&statement) {
            let full = format!("{prefix}{path}");
            assert!(routes.insert(full.clone(), methods).is_none(), "route {full} registered twice");
        }
        rest.replace_range(let_at..end, "");
    }
    for (path, methods) in routes_in(&rest) {
        assert!(routes.insert(path.clone(), methods).is_none(), "route {path} registered twice");
    }
    routes
}

/// Every operation of the document: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn is_json_of_openapi_3_1() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "onething API");
    assert_eq!(doc["info"]["version"], "0.1.0");
    assert!(doc["components"]["securitySchemes"]["bearerAuth"].is_object());
}

#[test]
fn the_route_parser_reads_lib_rs() {
    let routes = router_routes();
    assert!(routes.len() >= 20, "only {} routes found in lib.rs: {routes:?}", routes.len());
    let set = |ms: &[&str]| ms.iter().map(|m| m.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(routes["/healthz"], set(&["get"]));
    assert_eq!(routes["/api/v1/cases"], set(&["get", "post"]));
    assert_eq!(routes["/api/v1/cases/{id}/materials/{material}"], set(&["get", "put"]));
}

#[test]
fn every_route_is_documented_with_its_methods() {
    let doc = doc();
    let paths = doc["paths"].as_object().expect("paths");
    let routes = router_routes();
    for (path, methods) in &routes {
        let item = paths.get(path).unwrap_or_else(|| panic!("route {path} is not in openapi.json"));
        let documented: BTreeSet<String> =
            item.as_object().expect("path item").keys().filter(|k| METHODS.contains(&k.as_str())).cloned().collect();
        assert_eq!(&documented, methods, "methods of {path}");
    }
    for path in paths.keys() {
        assert!(routes.contains_key(path), "openapi.json documents {path}, which router() does not serve");
    }
}

#[test]
fn the_error_schema_lists_every_error_code() {
    let doc = doc();
    let error = &doc["components"]["schemas"]["Error"];
    let listed: Vec<&str> = error["properties"]["code"]["enum"]
        .as_array()
        .expect("Error.code enum")
        .iter()
        .map(|v| v.as_str().expect("a code"))
        .collect();
    let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), listed_set.len(), "the Error.code enum repeats a code");
    let all = crate::error_codes();
    let codes: BTreeSet<&str> = all.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(listed_set, codes, "Error.code enum vs ERROR_CODES");
    let description = error["description"].as_str().expect("Error description");
    for (code, status, meaning) in &all {
        let row = format!("| `{code}` | {status} | {meaning} |");
        assert!(description.contains(&row), "the Error description's table lacks the row {row}");
    }
}

#[test]
fn error_responses_use_codes_of_their_status() {
    let doc = doc();
    for (path, method, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            let Some(schema) = response.pointer("/content/application~1json/schema/allOf") else { continue };
            let codes = schema[1]["properties"]["code"]["enum"].as_array().expect("a narrowed code enum");
            for code in codes {
                let code = code.as_str().expect("a code");
                let all = crate::error_codes();
                let (_, expected, _) = all
                    .iter()
                    .find(|(c, _, _)| *c == code)
                    .unwrap_or_else(|| panic!("{method} {path}: unknown code {code}"));
                // The one documented exception: a bundle named in a request body is invalid input.
                let exception = code == "unknown_bundle" && status == "422";
                assert!(exception || expected.to_string() == *status, "{method} {path}: {code} under {status}");
            }
        }
    }
}

#[test]
fn every_operation_has_a_unique_operation_id_a_tag_and_security() {
    let doc = doc();
    let tags: BTreeSet<&str> =
        doc["tags"].as_array().expect("tags").iter().map(|t| t["name"].as_str().expect("tag name")).collect();
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(!id.is_empty(), "{method} {path} has an empty operationId");
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        let op_tags = op["tags"].as_array().unwrap_or_else(|| panic!("{method} {path} has no tags"));
        assert!(
            !op_tags.is_empty() && op_tags.iter().all(|t| tags.contains(t.as_str().unwrap_or(""))),
            "{method} {path}"
        );
        let security = op["security"].as_array().unwrap_or_else(|| panic!("{method} {path} states no security"));
        let public = path == "/healthz"
            || path == "/metrics"
            || path == "/api/v1/sessions"
            || path == "/api/v1/openapi.json"
            || path == "/api/v1/track"
            || path.starts_with("/api/v1/bundles");
        if public {
            assert!(security.is_empty(), "{method} {path} is public");
        } else {
            assert_eq!(security, &vec![serde_json::json!({ "bearerAuth": [] })], "{method} {path} needs a token");
            assert!(op["responses"]["401"].is_object(), "{method} {path} can answer 401");
        }
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(v: &Value, doc: &Value, at: &str) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{at}: non-local $ref {r}"));
                    assert!(doc.pointer(pointer).is_some(), "{at}: $ref {r} does not resolve");
                }
                for (k, child) in map {
                    walk(child, doc, &format!("{at}/{k}"));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, doc, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }
    let doc = doc();
    walk(&doc, &doc, "");
}
