//! A one-line progress display on stderr: redrawn in place on a terminal, a plain line every few
//! seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counters the workers update; the display thread reads them.
#[derive(Default)]
pub struct Counters {
    pub total_instances: AtomicU64,
    pub total_bytes: AtomicU64,
    pub done_instances: AtomicU64,
    pub done_bytes: AtomicU64,
    pub failed: AtomicU64,
}

pub struct Progress {
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    /// Whether the line is being redrawn in place (a message must clear it first).
    tty: bool,
    lock: Arc<Mutex<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// "12.3 MB" (decimal units, as throughput is usually given).
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

fn line(c: &Counters, start: Instant, tty: bool) -> String {
    let (done, total) = (c.done_instances.load(Relaxed), c.total_instances.load(Relaxed));
    let (db, tb) = (c.done_bytes.load(Relaxed), c.total_bytes.load(Relaxed));
    let failed = c.failed.load(Relaxed);
    let secs = start.elapsed().as_secs_f64().max(0.001);
    let rate = db as f64 / secs;
    let frac = if tb > 0 {
        db as f64 / tb as f64
    } else if total > 0 {
        done as f64 / total as f64
    } else {
        0.0
    };
    let failed = if failed > 0 { format!(", {failed} failed") } else { String::new() };
    let eta = if rate > 0.0 && tb > db { format!(", {:.0} s left", (tb - db) as f64 / rate) } else { String::new() };
    let text = format!(
        "{done}/{total} instances, {} of {} ({:.0} %){failed}, {}/s{eta}",
        bytes(db),
        bytes(tb),
        frac * 100.0,
        bytes(rate as u64)
    );
    if tty {
        const WIDTH: usize = 24;
        let filled = ((frac * WIDTH as f64).round() as usize).min(WIDTH);
        format!("[{}{}] {text}", "#".repeat(filled), ".".repeat(WIDTH - filled))
    } else {
        format!("progress: {text}")
    }
}

impl Progress {
    pub fn start() -> Self {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tty = std::io::stderr().is_terminal();
        let lock = Arc::new(Mutex::new(()));
        let thread = {
            let (counters, stop, lock) = (counters.clone(), stop.clone(), lock.clone());
            let start = Instant::now();
            std::thread::spawn(move || {
                let every = if tty { Duration::from_millis(200) } else { Duration::from_secs(5) };
                let mut last_print = Instant::now();
                let mut last_done = u64::MAX;
                while !stop.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    if last_print.elapsed() < every {
                        continue;
                    }
                    let done = counters.done_bytes.load(Relaxed) + counters.failed.load(Relaxed);
                    if !tty && done == last_done {
                        continue;
                    }
                    let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let text = line(&counters, start, tty);
                    let mut err = std::io::stderr().lock();
                    if tty {
                        let _ = write!(err, "\r{text}\x1b[K");
                    } else {
                        let _ = writeln!(err, "{text}");
                    }
                    let _ = err.flush();
                    last_print = Instant::now();
                    last_done = done;
                }
            })
        };
        Progress { counters, stop, tty, lock, thread: Some(thread) }
    }

    /// A handle workers can print through.
    pub fn printer(&self) -> Printer {
        Printer { tty: self.tty, lock: self.lock.clone() }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.tty {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// Prints message lines on stderr between progress redraws.
#[derive(Clone)]
pub struct Printer {
    tty: bool,
    lock: Arc<Mutex<()>>,
}

impl Printer {
    pub fn message(&self, text: &str) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = writeln!(err, "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500), "1.5 kB");
        assert_eq!(bytes(12_345_678), "12.3 MB");
        assert_eq!(bytes(2_000_000_000), "2.00 GB");
    }

    #[test]
    fn lines() {
        let c = Counters::default();
        c.total_instances.store(20, Relaxed);
        c.total_bytes.store(2_000_000, Relaxed);
        c.done_instances.store(5, Relaxed);
        c.done_bytes.store(500_000, Relaxed);
        let l = line(&c, Instant::now() - Duration::from_secs(1), true);
        assert!(l.starts_with("[######..................] 5/20 instances, 500.0 kB of 2.0 MB (25 %)"), "{l}");
        let l = line(&c, Instant::now(), false);
        assert!(l.starts_with("progress: 5/20 instances"), "{l}");
    }
}
