//! Proof as a library: [`e2e::run`] is the whole flow `cargo xtask e2e` runs (and the test suite's fourth
//! layer), [`bench::run`] the benchmark. Both start what they need (the emulator, the Docker engine, the Ghost
//! image) and return their figures as typed, serialisable values; `Display` renders them as the tables the
//! command prints.

pub mod bench;
pub mod e2e;
pub mod graph;
