//! Fuzz targets, run by `cargo xtask test` for a bounded number of cases each: the IGMP wire
//! parser, the IGMP router of one interface and the group manager, fed arbitrary and mutated
//! input. Each target checks invariants, not just the absence of panics.
//!
//! The case count is proptest's: `PROPTEST_CASES=200000 cargo xtask test -- --test fuzz` runs
//! each target longer (see docs/testing.md). A failure prints the shrunk input and saves its seed
//! in `tests/proptest-regressions/`, which later runs replay first.
mod manager;
mod parser;
mod router;
mod seeds;
