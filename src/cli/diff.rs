use anyhow::Result;

use super::args::DiffArgs;

pub(super) fn run(_args: DiffArgs) -> Result<()> {
    anyhow::bail!("diff is not built yet")
}
