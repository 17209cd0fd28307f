//! `pprof-chain flamegraph`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct FlamegraphArgs {
    /// Profile to draw
    pub file: PathBuf,
}

pub(super) fn run(_args: FlamegraphArgs) -> Result<()> {
    anyhow::bail!("flamegraph is not built yet")
}
