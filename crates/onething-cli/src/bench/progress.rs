//! Progress bars (indicatif, on stderr), so that the report on stdout stays clean. Hidden with --quiet. When
//! stderr is not a terminal (a log file, CI) indicatif draws nothing, so the bars' positions are written as a
//! plain line every 30 seconds instead.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    /// Without a terminal: the bars to report on now and then.
    logged: Option<Arc<Mutex<Vec<ProgressBar>>>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress { multi: None, logged: None }
        } else if std::io::stderr().is_terminal() {
            Progress { multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())), logged: None }
        } else {
            let logged: Arc<Mutex<Vec<ProgressBar>>> = Arc::new(Mutex::new(Vec::new()));
            let bars = logged.clone();
            // A detached reporter: it lives as long as the process, which is as long as a bench runs.
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(30));
                    let Ok(mut bars) = bars.lock() else { return };
                    bars.retain(|b| !b.is_finished());
                    for b in bars.iter() {
                        let secs = b.elapsed().as_secs_f64();
                        match b.length() {
                            Some(len) => {
                                eprintln!("{}: {}/{len} after {secs:.0} s {}", b.prefix(), b.position(), b.message())
                            }
                            None => eprintln!("{}: running for {secs:.0} s {}", b.prefix(), b.message()),
                        }
                    }
                }
            });
            Progress { multi: None, logged: Some(logged) }
        }
    }

    /// A bar that draws nothing; reported as a line now and then when there is no terminal.
    fn quiet_bar(&self, len: Option<u64>, prefix: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden()).with_prefix(prefix.to_string());
        if let Some(logged) = &self.logged
            && let Ok(mut bars) = logged.lock()
        {
            bars.push(bar.clone());
        }
        bar
    }

    /// A bar of `len` steps.
    pub fn bar(&self, len: u64, prefix: &str) -> ProgressBar {
        let Some(multi) = &self.multi else { return self.quiet_bar(Some(len), prefix) };
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
        let Some(multi) = &self.multi else { return self.quiet_bar(None, prefix) };
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
        let Some(multi) = &self.multi else { return self.quiet_bar(None, prefix) };
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
        } else if self.logged.is_some() {
            eprintln!("{line}");
        }
    }
}
