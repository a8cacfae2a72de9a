//! Second step of a scan's journey: from 16-bit transmission images to what models and people
//! look at.

pub mod decode;
mod geometry;
pub mod locate;
pub mod mass;
pub mod partition;
pub mod preprocess;
pub mod render;

pub use geometry::PixelBox;

/// Works on a scan's `high` image here and on its `low` image, when there is one, on a thread
/// of its own: the two images are independent, and a scan has two cores to itself at best.
pub(crate) fn on_both_images<I: Sync + ?Sized, T: Send>(
    high: &I,
    low: Option<&I>,
    work: impl Fn(&I) -> T + Sync,
) -> (T, Option<T>) {
    std::thread::scope(|scope| {
        let low = low.map(|low| scope.spawn(|| work(low)));
        let high = work(high);
        (high, low.map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
    })
}
