use super::*;

#[test]
fn the_demo_catalogue_passes() {
    let o = onething(&["catalog", "check", "catalog/"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok"), "{}", stdout(&o));
}

#[test]
fn a_broken_catalogue_lists_every_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("departments.toml"),
        "[[department]]\ncode = \"a\"\nname = \"甲\"\nname_en = \"A\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("items.toml"),
        "[[item]]\ncode = \"x\"\nname = \"X\"\nname_en = \"X\"\ndepartment = \"zz\"\nkind = \"licensing\"\nlegal_basis = \"l\"\nstatutory_limit = \"3 days\"\npromised_limit = \"1d\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().display().to_string();
    let o = onething(&["catalog", "check", &path]);
    assert_clean_failure(&o);
    let err = stderr(&o);
    assert!(err.contains("items.toml:5:14: unknown department \"zz\""), "{err}");
    assert!(err.contains("items.toml:8:19: bad duration \"3 days\""), "{err}");
    assert!(err.contains("2 errors"), "{err}");
}

#[test]
fn a_missing_directory_is_an_error_not_a_panic() {
    let o = onething(&["catalog", "check", "no/such/dir"]);
    assert_clean_failure(&o);
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}
