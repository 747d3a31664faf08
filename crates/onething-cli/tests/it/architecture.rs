//! The invariants of ARCHITECTURE.md, checked by reading the crates' manifests and sources.

use std::path::Path;

fn manifest(krate: &str) -> String {
    let path = super::root().join("crates").join(krate).join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The dependency names of a manifest's `[dependencies]` table (not dev-dependencies).
fn dependencies(krate: &str) -> Vec<String> {
    let text = manifest(krate);
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim().trim_end_matches(".workspace").to_string();
            if !name.is_empty() && !name.starts_with('#') {
                out.push(name);
            }
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap_or_default()));
        }
    }
}

fn crates() -> Vec<String> {
    let dir = super::root().join("crates");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

#[test]
fn the_core_depends_on_nothing_in_the_workspace_and_does_no_io() {
    let deps = dependencies("onething-core");
    for forbidden in ["tokio", "sqlx", "axum", "hyper", "reqwest", "tower", "tower-http"] {
        assert!(!deps.iter().any(|d| d == forbidden), "onething-core depends on {forbidden}");
    }
    assert!(!deps.iter().any(|d| d.starts_with("onething")), "onething-core depends on a workspace crate: {deps:?}");
    let mut files = Vec::new();
    sources(&super::root().join("crates/onething-core/src"), &mut files);
    for (path, text) in files {
        for forbidden in
            ["std::fs", "std::net", "std::env", "Timestamp::now", "SystemTime", "Zoned::now", "TimeZone::system"]
        {
            assert!(!text.contains(forbidden), "{path} uses {forbidden}: the core does no IO");
        }
    }
}

#[test]
fn only_the_web_crate_knows_http() {
    for krate in crates() {
        if krate == "onething-web" {
            continue;
        }
        let deps = dependencies(&krate);
        for http in ["axum", "axum-extra", "hyper", "tower-http"] {
            assert!(!deps.iter().any(|d| d == http), "{krate} depends on {http}: only onething-web knows HTTP");
        }
    }
}

#[test]
fn sql_lives_only_in_store_crates() {
    for krate in crates() {
        if krate.starts_with("onething-store") {
            continue;
        }
        let mut files = Vec::new();
        sources(&super::root().join("crates").join(&krate).join("src"), &mut files);
        for (path, text) in files {
            for sql in ["SELECT ", "INSERT INTO", "UPDATE cases", "DELETE FROM", "BEGIN IMMEDIATE", "sqlx::"] {
                assert!(!text.contains(sql), "{path} contains {sql:?}: SQL belongs in the store crates");
            }
        }
        let deps = dependencies(&krate);
        assert!(!deps.iter().any(|d| d == "sqlx"), "{krate} depends on sqlx");
    }
}

#[test]
fn only_the_service_builds_changesets() {
    for krate in crates() {
        if krate == "onething-service" || krate.starts_with("onething-store") {
            continue;
        }
        let mut files = Vec::new();
        sources(&super::root().join("crates").join(&krate).join("src"), &mut files);
        for (path, text) in files {
            assert!(!text.contains("Changeset {"), "{path} builds a Changeset: transactions are the service's");
        }
    }
}
