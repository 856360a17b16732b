//! iotcert: the harness that certifies connected devices.
//!
//! The library holds all the work (engine, store, reports, CLI); `main.rs` only calls
//! [`cli::main`]. Suites live in their own crates under `test-suites/` and implement the
//! contract of `iotcert-suite`.

pub mod app;
pub mod cli;
pub mod diff;
pub mod engine;
pub mod exit;
pub mod external;
pub mod files;
pub mod hostports;
pub mod junit;
pub mod model;
pub mod output;
pub mod registry;
pub mod render;
pub mod report;
pub mod sarif;
pub mod store;
pub mod terminal;
