//! Latency histograms (microseconds, 3 significant digits), peak RSS from /proc, number formatting.

use std::time::Duration;

use hdrhistogram::Histogram;

/// A latency histogram in microseconds, 1 µs to 100 s, two significant digits (1 %): about 20 KB, so that every
/// client can keep its own without the histograms weighing on the peak RSS being measured.
#[derive(Clone)]
pub struct Latency(Option<Histogram<u64>>);

impl Latency {
    pub fn new() -> Latency {
        // The bounds are constants hdrhistogram accepts; `None` (never seen) would only leave the figures empty.
        Latency(Histogram::new_with_bounds(1, 100_000_000, 2).ok())
    }

    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        if let Some(h) = &mut self.0 {
            h.saturating_record(us);
        }
    }

    pub fn merge(&mut self, other: &Latency) {
        if let (Some(a), Some(b)) = (&mut self.0, &other.0) {
            // Same bounds on both sides: adding cannot fail; if it did, the figures would only be short.
            let _ = a.add(b);
        }
    }

    pub fn count(&self) -> u64 {
        self.0.as_ref().map_or(0, Histogram::len)
    }

    /// The value at a quantile (0.5, 0.99), in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        match &self.0 {
            Some(h) if !h.is_empty() => h.value_at_quantile(q),
            _ => 0,
        }
    }

    pub fn p50(&self) -> String {
        ms(self.quantile_us(0.5))
    }

    pub fn p99(&self) -> String {
        ms(self.quantile_us(0.99))
    }
}

/// Microseconds as milliseconds, e.g. `1.23 ms`, `0.087 ms`, `153 ms`.
pub fn ms(us: u64) -> String {
    let m = us as f64 / 1000.0;
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else if m >= 10.0 {
        format!("{m:.1} ms")
    } else if m >= 1.0 {
        format!("{m:.2} ms")
    } else {
        format!("{m:.3} ms")
    }
}

/// A rate with thousands separators, e.g. `12,345/s`.
pub fn per_sec(n: f64) -> String {
    format!("{}/s", thousands(n.round() as u64))
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A field of a /proc status file, in KiB (e.g. `VmHWM`).
fn status_kib(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// KiB as MB (10^6 bytes, the unit of the targets).
fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// The peak resident set size of this process so far (VmHWM), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    status_kib("/proc/self/status", "VmHWM:").map(mb)
}

/// The peak RSS of another process (e.g. a spawned server), in MB.
pub fn peak_rss_of_mb(pid: u32) -> Option<f64> {
    status_kib(&format!("/proc/{pid}/status"), "VmHWM:").map(mb)
}

/// The current RSS of another process, in MB.
pub fn rss_of_mb(pid: u32) -> Option<f64> {
    status_kib(&format!("/proc/{pid}/status"), "VmRSS:").map(mb)
}

/// Resets this process's peak RSS to its current RSS (Linux: `5` to /proc/self/clear_refs), so each backend's
/// peak is its own. Best effort: without it the peak is that of the whole run so far.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A reading of the CPU counters: this process's CPU time and the machine's (from /proc, in USER_HZ ticks).
#[derive(Clone, Copy)]
pub struct CpuMark {
    process: u64,
    busy: u64,
    iowait: u64,
    total: u64,
    at: std::time::Instant,
}

/// CPU use over an interval.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    /// Cores' worth of CPU this process used on average (user + system).
    pub process_cores: f64,
    /// The share of the machine's CPU time that was busy (any process), 0–1.
    pub machine_busy: f64,
    /// The share spent idle waiting for IO, 0–1.
    pub iowait: f64,
}

impl CpuMark {
    pub fn now() -> CpuMark {
        CpuMark::of("self")
    }

    /// A reading for another process (its pid), e.g. a spawned server.
    pub fn of_pid(pid: u32) -> CpuMark {
        CpuMark::of(&pid.to_string())
    }

    fn of(pid: &str) -> CpuMark {
        let process = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                // Fields after the command name (which may hold spaces) — utime and stime are the 14th and 15th.
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        let (busy, iowait, total) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let line = s.lines().next()?;
                let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
                let total: u64 = v.iter().take(8).sum();
                let idle = v.get(3).copied().unwrap_or(0);
                let iowait = v.get(4).copied().unwrap_or(0);
                Some((total.saturating_sub(idle + iowait), iowait, total))
            })
            .unwrap_or((0, 0, 0));
        CpuMark { process, busy, iowait, total, at: std::time::Instant::now() }
    }

    /// The use since this mark, of this process.
    pub fn since(&self) -> CpuUse {
        self.until(CpuMark::now())
    }

    /// The use between this mark and a later one (of the same process).
    pub fn until(&self, now: CpuMark) -> CpuUse {
        let secs = self.at.elapsed().as_secs_f64().max(1e-9);
        // USER_HZ is 100 on Linux whatever the kernel's HZ.
        let process_cores = now.process.saturating_sub(self.process) as f64 / 100.0 / secs;
        let total = now.total.saturating_sub(self.total).max(1) as f64;
        CpuUse {
            process_cores,
            machine_busy: now.busy.saturating_sub(self.busy) as f64 / total,
            iowait: now.iowait.saturating_sub(self.iowait) as f64 / total,
        }
    }
}

impl CpuUse {
    pub fn show(&self) -> String {
        format!("{:.2} cores / {:.0} % / {:.0} %", self.process_cores, self.machine_busy * 100.0, self.iowait * 100.0)
    }
}

/// The machine, in one line: cores, memory.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = status_kib("/proc/meminfo", "MemTotal:")
        .map_or_else(String::new, |k| format!(", {:.1} GiB memory", k as f64 / 1024.0 / 1024.0));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .map_or_else(String::new, |m| format!(" ({m})"));
    format!("{cores} cores{cpu}{mem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(ms(87), "0.087 ms");
        assert_eq!(ms(1234), "1.23 ms");
        assert_eq!(ms(153_400), "153 ms");
    }

    #[test]
    fn quantiles() {
        let mut l = Latency::new();
        for i in 1..=100 {
            l.record(Duration::from_micros(i * 10));
        }
        assert_eq!(l.count(), 100);
        assert!((490..=510).contains(&l.quantile_us(0.5)), "{}", l.quantile_us(0.5));
        assert!((975..=1000).contains(&l.quantile_us(0.99)), "{}", l.quantile_us(0.99));
    }
}
