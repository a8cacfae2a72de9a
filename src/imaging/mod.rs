//! Second step of a scan's journey: from 16-bit transmission images to what models and people
//! look at.

pub mod decode;
mod geometry;
pub mod locate;
pub mod mass;
pub mod preprocess;
pub mod render;

pub use geometry::PixelBox;
