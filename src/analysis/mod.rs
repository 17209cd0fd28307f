//! Analyses over decoded profiles: site aggregation, and growth between and
//! across snapshots.

pub mod fit;
pub mod growth;
pub mod paths;
pub mod sampling;
pub mod sites;
pub mod top;
