//! Integration tests of the `onething` binary: they run the real executable from the workspace root, the way
//! a person would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod architecture;
mod bench;
mod calendar;
mod catalog;
mod kill;
mod life;
mod nodes;
mod plan;
mod roles;
mod serve;
mod server;
mod transfer;

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `onething ARGS…` from the workspace root.
pub fn onething(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onething"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("running onething: {e}"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 1 (a reported error), never 101 (a panic).
pub fn assert_clean_failure(o: &Output) {
    assert_eq!(o.status.code(), Some(1), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}
