//! The scanner simulator: physics-based transmission images of containers on trucks, with
//! ground truth. The single source of scans for samples, tests, benchmarks and training.

pub mod canvas;
pub mod materials;
