//! The shell around the igmp-ebpf classifier: the embedded object, loading, pinning, attaching,
//! typed access to the shared maps, and the event stream.
pub mod batch;
pub mod loader;
pub mod maps;
pub mod object;
pub mod write_queue;

pub use loader::{Classifier, MapSizes};
pub use maps::KernelMaps;
