//! The `perimeter` command line: argument parsing, the terminal, the
//! environment and the wall clock. Glue only; the work is in the libraries.

#![forbid(unsafe_code)]
// The binary is glue: it reads the environment and the wall clock, and
// starts processes, so that no library does (clippy.toml).
#![allow(clippy::disallowed_methods)]

mod args;
mod commands;
mod demo;
mod demo_round;
mod failure;
mod render;

use std::process::ExitCode;

use clap::Parser;

pub(crate) use failure::{Failure, Kind};

/// `perimeter … | head` closes standard output early. Rust ignores SIGPIPE,
/// so printing then fails and `println!` panics; end quietly instead, with
/// the status a shell reports for SIGPIPE, as Unix tools do.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>().map_or("", String::as_str);
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(128 + 13);
        }
        default(info);
    }));
}

pub fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    if argv.nth(1).is_some_and(|a| a == sandbox::INIT_ARG) {
        let harness = argv.next().and_then(|a| a.into_string().ok());
        return ExitCode::from(sandbox::run_init(harness.as_deref()).clamp(0, 255) as u8);
    }
    quiet_on_closed_stdout();
    let cli = args::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            if let Some(h) = f.hint {
                eprintln!("hint: {h}");
            }
            f.kind.exit_code()
        }
    }
}
