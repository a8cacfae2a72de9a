use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use image::imageops::{FilterType, resize};

use crate::imaging::render::{Window, grayscale, material_colour};
use crate::sim::output::{HIGH_FILE, LOW_FILE};

/// Render a scan folder (high.png [+ low.png]) as an 8-bit picture for people.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Scan folder holding high.png and optionally low.png.
    #[arg(long)]
    scan: PathBuf,
    /// PNG file to write.
    #[arg(long)]
    out: PathBuf,
    /// Dual-energy material colouring (needs low.png).
    #[arg(long)]
    colour: bool,
    /// Window level, in log-attenuation units.
    #[arg(long, default_value_t = Window::default().level)]
    level: f32,
    /// Window width, in log-attenuation units.
    #[arg(long, default_value_t = Window::default().width)]
    width: f32,
    /// Shrink by this factor (1 = full resolution).
    #[arg(long, default_value_t = 1)]
    shrink: u32,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let read = |name: &str| -> anyhow::Result<image::ImageBuffer<image::Luma<u16>, Vec<u16>>> {
        let path = args.scan.join(name);
        Ok(image::open(&path).with_context(|| format!("cannot read {}", path.display()))?.into_luma16())
    };
    if args.shrink == 0 {
        bail!("--shrink must be at least 1");
    }
    let high = read(HIGH_FILE)?;
    let (w, h) = high.dimensions();
    let window = Window { level: args.level, width: args.width };
    let (tw, th) = ((w / args.shrink).max(1), (h / args.shrink).max(1));
    if args.colour {
        let low = read(LOW_FILE)?;
        if low.dimensions() != (w, h) {
            bail!("low.png is {:?} but high.png is {:?}", low.dimensions(), (w, h));
        }
        resize(&material_colour(&high, &low, w, h, window), tw, th, FilterType::Triangle).save(&args.out)?;
    } else {
        resize(&grayscale(&high, w, h, window), tw, th, FilterType::Triangle).save(&args.out)?;
    }
    tracing::info!(out = %args.out.display(), "rendered");
    Ok(())
}
