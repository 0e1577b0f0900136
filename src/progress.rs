//! Progress on the terminal: a bar per phase on a TTY, plain log lines otherwise
//! (CI logs, pipes), and nothing at all when quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on stderr (interactive terminal).
    Bars,
    /// One line per step on stderr.
    Lines,
    /// Nothing (tests).
    Quiet,
}

impl ProgressMode {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn detect() -> ProgressMode {
        if std::io::stderr().is_terminal() {
            ProgressMode::Bars
        } else {
            ProgressMode::Lines
        }
    }
}

/// The run's progress reporter. Cheap to pass by reference.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Progress {
    /// A reporter in `mode`.
    pub fn new(mode: ProgressMode) -> Progress {
        Progress {
            mode,
            bar: std::sync::Mutex::new(None),
        }
    }

    /// A reporter that shows nothing.
    pub fn quiet() -> Progress {
        Progress::new(ProgressMode::Quiet)
    }

    /// Start a phase of `steps` steps (ends the previous phase).
    pub fn phase(&self, name: &str, steps: u64) {
        self.finish();
        match self.mode {
            ProgressMode::Bars => {
                let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>8.bold} [{bar:30.cyan/blue}] {pos}/{len} {elapsed} {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(name.to_string());
                bar.enable_steady_tick(Duration::from_millis(200));
                *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
            }
            ProgressMode::Lines => eprintln!("tailgate: {name} ({steps} steps)"),
            ProgressMode::Quiet => {}
        }
    }

    /// One step of the current phase is done; `what` says which.
    pub fn step(&self, what: &str) {
        match self.mode {
            ProgressMode::Bars => {
                if let Some(bar) = &*self.bar.lock().unwrap_or_else(|p| p.into_inner()) {
                    bar.set_message(what.to_string());
                    bar.inc(1);
                }
            }
            ProgressMode::Lines => eprintln!("tailgate:   {what}"),
            ProgressMode::Quiet => {}
        }
    }

    /// A message outside any bar.
    pub fn log(&self, message: &str) {
        match self.mode {
            ProgressMode::Bars => {
                let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
                match &*bar {
                    Some(bar) => bar.println(format!("tailgate: {message}")),
                    None => eprintln!("tailgate: {message}"),
                }
            }
            ProgressMode::Lines => eprintln!("tailgate: {message}"),
            ProgressMode::Quiet => {}
        }
    }

    /// End the current phase's bar.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
