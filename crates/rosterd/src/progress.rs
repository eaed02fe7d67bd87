//! Progress of a long command (`rosterd export`, `rosterd import`) on standard error: an
//! indicatif bar when standard error is a terminal, otherwise plain lines — one at each tenth of
//! the work (or each 64 MiB when its size is unknown) — that a log collector can keep.

use std::io::{IsTerminal, Read};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What the work is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Users,
    Bytes,
}

/// Bytes between two plain lines when the total is unknown.
const UNKNOWN_TOTAL_STEP: u64 = 64 << 20;

pub struct Progress {
    label: &'static str,
    unit: Unit,
    total: Option<u64>,
    started: Instant,
    position: u64,
    view: View,
}

enum View {
    Bar(ProgressBar),
    /// The next position at which a plain line is due.
    Lines {
        next: u64,
    },
}

impl Progress {
    /// Progress of `label`'s work of `total` units (unknown: `None`), drawn as a bar when
    /// standard error is a terminal.
    pub fn new(label: &'static str, total: Option<u64>, unit: Unit) -> Self {
        Self::with_bar(label, total, unit, std::io::stderr().is_terminal())
    }

    fn with_bar(label: &'static str, total: Option<u64>, unit: Unit, bar: bool) -> Self {
        let view = if bar {
            View::Bar(bar_for(label, total, unit))
        } else {
            View::Lines { next: 0 }
        };
        let mut progress = Self {
            label,
            unit,
            total,
            started: Instant::now(),
            position: 0,
            view,
        };
        if let View::Lines { next } = &mut progress.view {
            *next = step_after(0, total);
        }
        progress
    }

    /// The work done so far.
    pub fn set(&mut self, position: u64) {
        self.position = position;
        match &mut self.view {
            View::Bar(bar) => bar.set_position(position),
            View::Lines { next } => {
                if position >= *next {
                    *next = step_after(position, self.total);
                    eprintln!("{}: {}", self.label, self.describe());
                }
            }
        }
    }

    /// Ends the bar (or writes the last line): the figures, then `message`, then the time taken.
    pub fn finish(&mut self, message: &str) {
        let line = format!(
            "{} {message} ({:.1} s)",
            self.amount(self.position),
            self.started.elapsed().as_secs_f64()
        );
        match &self.view {
            View::Bar(bar) => {
                if let Ok(style) = ProgressStyle::with_template("{prefix}: {msg}") {
                    bar.set_style(style);
                }
                bar.finish_with_message(line);
            }
            View::Lines { .. } => eprintln!("{}: {line}", self.label),
        }
    }

    /// Removes the bar without a last line (the command failed and says why itself).
    pub fn abandon(&mut self) {
        if let View::Bar(bar) = &self.view {
            bar.abandon();
        }
    }

    fn describe(&self) -> String {
        match self.total {
            Some(total) if total > 0 => {
                let percent = self.position.saturating_mul(100) / total;
                match self.unit {
                    Unit::Users => format!("{} of {total} users ({percent}%)", self.position),
                    Unit::Bytes => format!("{:.1} of {} ({percent}%)", mib(self.position), self.amount(total)),
                }
            }
            _ => self.amount(self.position),
        }
    }

    fn amount(&self, n: u64) -> String {
        match self.unit {
            Unit::Users => format!("{n} users"),
            Unit::Bytes => format!("{:.1} MiB", mib(n)),
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// The position of the next plain line: the next tenth of `total`, or the next 64 MiB.
fn step_after(position: u64, total: Option<u64>) -> u64 {
    match total {
        Some(total) if total > 0 => {
            let tenth = position.saturating_mul(10) / total + 1;
            // The first position at or past that tenth (rounded up), and never the same again.
            (tenth.saturating_mul(total)).div_ceil(10).max(position + 1)
        }
        _ => (position / UNKNOWN_TOTAL_STEP + 1).saturating_mul(UNKNOWN_TOTAL_STEP),
    }
}

fn bar_for(label: &'static str, total: Option<u64>, unit: Unit) -> ProgressBar {
    let (bar, template) = match (total, unit) {
        (Some(total), Unit::Users) => (
            ProgressBar::new(total),
            "{prefix}: [{bar:40.cyan/blue}] {human_pos}/{human_len} users ({percent}%) eta {eta}",
        ),
        (Some(total), Unit::Bytes) => (
            ProgressBar::new(total),
            "{prefix}: [{bar:40.cyan/blue}] {bytes}/{total_bytes} ({percent}%) {bytes_per_sec} eta {eta}",
        ),
        (None, Unit::Users) => (ProgressBar::no_length(), "{prefix}: {spinner} {human_pos} users"),
        (None, Unit::Bytes) => (ProgressBar::no_length(), "{prefix}: {spinner} {bytes} {bytes_per_sec}"),
    };
    // The templates are constants; a bad one would show as the default style, not fail.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar.set_prefix(label);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A reader that reports the bytes read through it as progress.
pub struct ReadProgress<R> {
    inner: R,
    read: u64,
    progress: Progress,
    finished: bool,
}

impl<R> ReadProgress<R> {
    pub fn new(inner: R, progress: Progress) -> Self {
        Self {
            inner,
            read: 0,
            progress,
            finished: false,
        }
    }
}

impl<R: Read> Read for ReadProgress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if !self.finished {
                self.finished = true;
                self.progress.finish("read; checking and writing the new generation");
            }
        } else {
            self.read += n as u64;
            self.progress.set(self.read);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_at_each_tenth() {
        let total = Some(1000);
        let mut at = vec![];
        let mut next = step_after(0, total);
        for position in (0..=1000).step_by(7) {
            if position >= next {
                at.push(position);
                next = step_after(position, total);
            }
        }
        assert_eq!(at, [105, 203, 301, 406, 504, 602, 700, 805, 903]);
        assert_eq!(step_after(999, Some(1000)), 1000);
        assert_eq!(step_after(0, Some(3)), 1);
        assert_eq!(step_after(0, None), UNKNOWN_TOTAL_STEP);
        assert_eq!(step_after(UNKNOWN_TOTAL_STEP, None), 2 * UNKNOWN_TOTAL_STEP);
    }

    #[test]
    fn describes_users_and_bytes() {
        let mut users = Progress::with_bar("export", Some(200), Unit::Users, false);
        users.position = 50;
        assert_eq!(users.describe(), "50 of 200 users (25%)");
        let mut bytes = Progress::with_bar("import", None, Unit::Bytes, false);
        bytes.position = 3 << 20;
        assert_eq!(bytes.describe(), "3.0 MiB");
    }
}
