//! Recording a snapshot series from a live Go service: heap profiles fetched
//! over HTTP from net/http/pprof, task counts from a Prometheus or expvar
//! endpoint, saved into a folder with a manifest that `trend` reads.

pub mod duration;
pub mod folder;
pub mod http;
pub mod live;
pub mod metric;
pub mod session;
pub mod stop;

pub use folder::{Existing, Folder, MANIFEST};
pub use session::{record, Event, Outcome, RecordError, RecordOptions, Saved, TaskMetric};
pub use stop::Stop;
