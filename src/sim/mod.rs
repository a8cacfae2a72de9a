//! The scanner simulator: physics-based transmission images of containers on trucks, with
//! ground truth. The single source of scans for samples, tests, benchmarks and training.

pub mod canvas;
pub mod cargo;
pub mod concealment;
pub mod container;
pub mod detector;
pub mod materials;
pub mod output;
pub mod scan;
pub mod scenario;
pub mod truck;
pub mod truth;

pub use scan::{Layout, SimOptions, SimulatedScan, simulate};
