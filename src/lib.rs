//! scantriage: triage of container X-ray scans against customs declarations.
//!
//! The modules follow a scan through the system: [`ingest`] (the contract a station speaks),
//! then [`imaging`], [`inference`], [`triage`], [`queue`] and [`review`]. [`sim`] is the scanner simulator that
//! produces scans for samples, tests, benchmarks and training; [`taxonomy`] is the goods
//! taxonomy shared by the simulator, the models and triage.

pub mod cli;
pub mod eval;
pub mod imaging;
pub mod inference;
pub mod ingest;
pub mod queue;
pub mod review;
pub mod sim;
pub mod taxonomy;
pub mod triage;
