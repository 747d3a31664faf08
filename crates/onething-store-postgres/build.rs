//! Rebuilds the crate when a migration changes, and marks the integration tests that need a PostgreSQL server as ignored when none is named, so that a plain
//! `cargo test` reports them as ignored — never as passed — and runs them once `ONETHING_TEST_POSTGRES_URL` is
//! set (CI sets it).

fn main() {
    // `sqlx::migrate!` embeds the migrations at compile time: rebuild when one is added or changed.
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=ONETHING_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(onething_pg)");
    if std::env::var("ONETHING_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty()) {
        println!("cargo::rustc-cfg=onething_pg");
    }
}
