//! Second step of a scan's journey: from 16-bit transmission images to what models and people
//! look at.

pub mod mass;
pub mod render;
