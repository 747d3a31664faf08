//! Progress bars (indicatif, on stderr; hidden with --quiet, and by indicatif itself when stderr is not a
//! terminal), so that the report on stdout stays clean.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress { multi: None }
        } else {
            Progress { multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())) }
        }
    }

    /// A bar of `len` steps.
    pub fn bar(&self, len: u64, prefix: &str) -> ProgressBar {
        let Some(multi) = &self.multi else { return ProgressBar::hidden() };
        let style = ProgressStyle::with_template(
            "{prefix:>28.bold} [{bar:32.cyan/blue}] {human_pos}/{human_len} {per_sec:>12} eta {eta:>4} {msg}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = multi.add(ProgressBar::new(len).with_style(style).with_prefix(prefix.to_string()));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// A bar that fills over a fixed time (the timed limit measurements).
    pub fn timed(&self, seconds: f64, prefix: &str) -> ProgressBar {
        let Some(multi) = &self.multi else { return ProgressBar::hidden() };
        let style = ProgressStyle::with_template("{prefix:>28.bold} [{bar:32.green/blue}] {elapsed:>4} {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = multi
            .add(ProgressBar::new((seconds * 10.0).ceil() as u64).with_style(style).with_prefix(prefix.to_string()));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// A spinner for a step of unknown length.
    pub fn spinner(&self, prefix: &str) -> ProgressBar {
        let Some(multi) = &self.multi else { return ProgressBar::hidden() };
        let style = ProgressStyle::with_template("{prefix:>28.bold} {spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = multi.add(ProgressBar::new_spinner().with_style(style).with_prefix(prefix.to_string()));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A line above the bars (or on stderr when there are none and not quiet).
    pub fn note(&self, line: &str) {
        if let Some(multi) = &self.multi {
            let _ = multi.println(line);
        }
    }
}
