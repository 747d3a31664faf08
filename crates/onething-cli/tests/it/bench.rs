//! `onething bench` end to end on a tiny scale (SQLite only): it runs (a), (b) and (c) in one process, exits 0
//! and prints its report. No assertion on any figure: tests never depend on wall-clock time.

#[test]
fn a_small_bench_run_prints_every_section() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().display().to_string();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_onething"))
        .args(["bench", "--lifecycles", "20", "--load-cases", "2000", "--clients", "4", "--quiet"])
        .args(["--limit-seconds", "0.5", "--data-dir", &dir])
        .env_remove("ONETHING_DATABASE__URL")
        .env_remove("ONETHING_TEST_POSTGRES_URL")
        .current_dir(super::root())
        .output()
        .unwrap();
    let out = super::stdout(&o);
    assert!(o.status.success(), "stdout: {out}\nstderr: {}", super::stderr(&o));
    for heading in [
        "(a) physical limit",
        "(b) lifecycles",
        "(c) supervision queries at 2,000 loaded cases",
        "lifecycles/s",
        "state changes/s",
        "ratio: lifecycle commits/s ÷ grouped limit",
        "open tasks by department × colour",
        "a department's overdue list",
        "a case's history",
        "peak RSS",
        "targets",
    ] {
        assert!(out.contains(heading), "{heading:?} missing from:\n{out}");
    }
    assert!(out.contains("lifecycles done / failed") && out.contains("20 / 0"), "{out}");
    // The scratch storage is removed afterwards.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
