//! `pprof-chain gate`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Input
    pub input: Vec<PathBuf>,
}

pub(super) fn run(_args: GateArgs) -> Result<()> {
    anyhow::bail!("gate is not built yet")
}
