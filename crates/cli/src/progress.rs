//! Progress on stderr: a bar on a terminal, plain lines otherwise (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use perf_fixer_engine::measure::Progress;

pub struct StderrProgress {
    bar: Option<ProgressBar>,
    last_stage: Mutex<String>,
}

impl StderrProgress {
    pub fn new() -> StderrProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} runs ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        StderrProgress {
            bar,
            last_stage: Mutex::new(String::new()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for StderrProgress {
    fn stage(&self, message: &str) {
        if let Ok(mut last) = self.last_stage.lock() {
            *last = message.to_string();
        }
        match &self.bar {
            Some(bar) => {
                bar.set_message(message.to_string());
                bar.tick();
            }
            None => eprintln!("perf-fixer: {message}"),
        }
    }

    fn run_finished(&self, done: usize, budget: usize) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(budget as u64);
                bar.set_position(done as u64);
            }
            None => eprintln!("perf-fixer: bench run {done} (at most {budget})"),
        }
    }
}
