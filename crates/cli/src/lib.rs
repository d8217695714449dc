//! The `perimeter` command line: argument parsing, the terminal, the
//! environment and the wall clock. Glue only; the work is in the libraries.

mod args;
mod commands;
mod demo;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// What went wrong, for the user: one line, an optional hint, an exit code.
pub(crate) struct Failure {
    pub message: String,
    pub hint: Option<String>,
    /// 2 for bad input (usage), 1 for a failure while working.
    pub code: u8,
}

impl Failure {
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure { message: message.into(), hint, code: 2 }
    }

    pub fn runtime(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure { message: message.into(), hint, code: 1 }
    }
}

pub fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    if argv.nth(1).is_some_and(|a| a == sandbox::INIT_ARG) {
        return ExitCode::from(sandbox::run_init().clamp(0, 255) as u8);
    }
    let cli = args::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            if let Some(h) = f.hint {
                eprintln!("hint: {h}");
            }
            ExitCode::from(f.code)
        }
    }
}
