//! Output: tables for people, JSON for programs. Renderers format results;
//! they compute nothing.

pub mod names;
pub mod top;
pub mod units;
