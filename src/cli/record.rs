//! `pprof-chain record`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Input
    pub input: Vec<PathBuf>,
}

pub(super) fn run(_args: RecordArgs) -> Result<()> {
    anyhow::bail!("record is not built yet")
}
