//! The pprof-chain binary: parse arguments, run, map errors to exit status 2.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pprof_chain::cli::args::Cli::parse();
    match pprof_chain::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pprof-chain: {e:#}");
            ExitCode::from(2)
        }
    }
}
