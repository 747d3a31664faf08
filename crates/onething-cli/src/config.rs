//! The configuration file (`--config FILE`, or `ONETHING_CONFIG`): supervision thresholds and rules. Layers:
//! built-in defaults < this file < environment variables and flags (for the settings that have them). Unknown
//! keys are errors with their place, so a typo never silently keeps a default.

use std::path::Path;

use anyhow::Context;
use onething_core::colour::Thresholds;
use onething_service::SupervisionConfig;
use serde::Deserialize;

/// The settings a file may carry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// When a deadline turns blue and yellow (DOMAIN.md §8.2 defaults).
    pub colours: Thresholds,
    /// Escalation and interview rules, and the worker's lease.
    pub supervision: SupervisionConfig,
    /// The service hall (政务服务大厅).
    pub hall: HallConfig,
}

/// The service hall's rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HallConfig {
    /// The window (受理窗口) receipts name.
    pub window: String,
    /// A clerk who filed a case for an applicant (帮办代办) may not also accept it.
    pub separate_filing_and_acceptance: bool,
}

impl Default for HallConfig {
    fn default() -> Self {
        let d = onething_service::ServiceConfig::default();
        HallConfig { window: d.hall_window, separate_filing_and_acceptance: d.separate_filing_and_acceptance }
    }
}

/// The default file, commented, as `onething config print-default` prints it.
pub const DEFAULT_TOML: &str = r#"# onething configuration. Every key is optional; the values shown are the defaults.

[colours]
# Blue (提醒) once this share of the working time is used.
blue_percent = 50
# Yellow (预警) once this share is used …
yellow_percent = 80
# … or, for limits of 3 working days or more, when at most this many working days are left,
yellow_days_left = 1
# … or, for limits of 1 working day or less, when at most this many working minutes are left (only for
# limits longer than twice this, so a short task does not start yellow).
yellow_minutes_left_short = 120
# Red (超期) is always: the deadline has passed.

[supervision]
# Overdue by more than this many working days: the escalation becomes an interview (约谈) of the head.
interview_after_days = 5
# A department that goes red again within this many working days is interviewed at once.
repeat_within_days = 20
# A node's claim on a due deadline lasts this long; another node takes over after it.
lease_seconds = 60
# How many due deadlines one sweep handles at most.
batch = 500

[hall]
# The window (受理窗口) receipts name.
window = "政务服务中心 综合窗口"
# A clerk who filed a case for an applicant (帮办代办) may not also accept it: another clerk does.
separate_filing_and_acceptance = false
"#;

/// Reads a configuration file; errors name the file, line and column.
pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = onething_core::source::SourceFile::new(path.display().to_string(), text);
    toml::from_str(&file.text).map_err(|e| anyhow::anyhow!("{}", onething_core::source::toml_error(&file, &e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_the_default() {
        let parsed: FileConfig = toml::from_str(DEFAULT_TOML).expect("default parses");
        let d = FileConfig::default();
        assert_eq!(parsed.colours, d.colours);
        assert_eq!(parsed.supervision.interview_after_days, d.supervision.interview_after_days);
        assert_eq!(parsed.supervision.repeat_within_days, d.supervision.repeat_within_days);
        assert_eq!(parsed.supervision.lease_seconds, d.supervision.lease_seconds);
        assert_eq!(parsed.supervision.batch, d.supervision.batch);
        assert_eq!(parsed.hall.window, d.hall.window);
        assert_eq!(parsed.hall.separate_filing_and_acceptance, d.hall.separate_filing_and_acceptance);
    }

    #[test]
    fn a_typo_is_an_error_with_its_place() {
        let dir = std::env::temp_dir().join(format!("onething-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[colours]\nblue_percnt = 40\n").expect("write");
        let err = load(Some(&path)).expect_err("typo").to_string();
        assert!(err.contains("bad.toml:2:1") && err.contains("blue_percnt"), "{err}");
    }
}
