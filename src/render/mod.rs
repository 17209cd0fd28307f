//! Output: tables for people, JSON for programs. Renderers format results;
//! they compute nothing.

pub mod dot;
pub mod json;
pub mod names;
pub mod report;
pub mod top;
pub mod units;
