//! Decoding uploaded scan images, which come from outside and are treated as hostile: the
//! format is taken from the magic bytes, the declared size is checked against [`Limits`]
//! before any pixel buffer exists, and only grayscale images of the contract's kind are read.

use std::fmt;
use std::io::Cursor;

use image::codecs::png::PngDecoder;
use image::codecs::tiff::TiffDecoder;
use image::{ExtendedColorType, ImageDecoder, ImageError, ImageFormat};
use serde::Serialize;

/// The largest image accepted. A 40 ft scan with the cab in frame is about 3 400 × 780 px.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_width: 16_384, max_height: 4_096, max_pixels: 40_000_000 }
    }
}

impl Limits {
    /// What the codecs may allocate: the 16-bit pixels plus as much again for their own
    /// buffers (TIFF decodes into a buffer of its own before copying out).
    fn for_codec(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_pixels.saturating_mul(4));
        limits
    }
}

/// Which image of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Energy {
    High,
    Low,
}

impl fmt::Display for Energy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Energy::High => "high",
            Energy::Low => "low",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a PNG or TIFF file: scan images are 16-bit grayscale PNG or TIFF")]
    UnknownFormat,
    #[error("the image is {width} × {height} pixels: images must not be empty")]
    Empty { width: u32, height: u32 },
    #[error(
        "the image is {width} × {height} pixels, more than the {} × {} pixels ({} in all) accepted",
        limits.max_width, limits.max_height, limits.max_pixels
    )]
    TooLarge { width: u32, height: u32, limits: Limits },
    #[error("unsupported image, {found}: scan images are 16-bit grayscale (8-bit grayscale is tolerated)")]
    Unsupported { found: String },
    #[error("the {format:?} file is truncated or corrupt: {reason}")]
    Corrupt { format: ImageFormat, reason: String },
    #[error("{image} image: {error}")]
    Image { image: Energy, error: Box<DecodeError> },
    #[error(
        "the high image is {} × {} pixels but the low image is {} × {}: they must be the same size",
        high.0, high.1, low.0, low.1
    )]
    SizeMismatch { high: (u32, u32), low: (u32, u32) },
}

impl DecodeError {
    /// Names the image the error is about.
    pub fn in_image(self, image: Energy) -> Self {
        DecodeError::Image { image, error: Box::new(self) }
    }
}

/// Something a scan was accepted with but an officer or the station should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageWarning {
    /// An 8-bit image, scaled to 16 bits: 256 transmission levels cannot show dense cargo.
    EightBit { image: Energy },
}

impl fmt::Display for ImageWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageWarning::EightBit { image } => {
                write!(f, "the {image} image is 8-bit: dense cargo (below 1/256 transmission) is lost")
            }
        }
    }
}

/// One decoded image: transmission × 65535, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u16>,
    /// 16, or 8 when the file was 8-bit (each value then scaled by 257, so 255 becomes 65535).
    pub source_bit_depth: u8,
    pub format: ImageFormat,
}

/// The images of one scan, checked to be the same size.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanImages {
    pub width: u32,
    pub height: u32,
    pub high: Vec<u16>,
    pub low: Option<Vec<u16>>,
    pub warnings: Vec<ImageWarning>,
}

/// What an image is, read from its header without decoding a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    pub bit_depth: u8,
}

/// Checks an image's format, size and pixel kind from its header: what an upload is checked
/// for before it is acknowledged.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<ImageHeader, DecodeError> {
    match open(bytes, limits)? {
        Opened::Png(decoder) => {
            check_png_chunks(bytes)?;
            header(&decoder, ImageFormat::Png)
        }
        Opened::Tiff(decoder) => header(&decoder, ImageFormat::Tiff),
    }
}

/// Decodes one PNG or TIFF image of a scan.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, DecodeError> {
    match open(bytes, limits)? {
        Opened::Png(decoder) => read(decoder, ImageFormat::Png),
        Opened::Tiff(decoder) => read(decoder, ImageFormat::Tiff),
    }
}

// Short-lived, one per image: boxing the larger decoder would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Opened<'a> {
    Png(PngDecoder<Cursor<&'a [u8]>>),
    Tiff(TiffDecoder<Cursor<&'a [u8]>>),
}

/// Reads the header and checks the declared size before any pixel buffer exists.
fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Opened<'a>, DecodeError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let (width, height, bit_depth) = png_header(bytes)
            .ok_or_else(|| DecodeError::Corrupt { format: ImageFormat::Png, reason: "no IHDR chunk".into() })?;
        check_size(width, height, limits)?;
        // The codec expands 1-, 2- and 4-bit grayscale to 8 bits; such files are not scans.
        if bit_depth < 8 {
            return Err(DecodeError::Unsupported { found: format!("{bit_depth} bits per sample") });
        }
        let decoder =
            PngDecoder::with_limits(Cursor::new(bytes), limits.for_codec()).map_err(codec_error(ImageFormat::Png))?;
        Ok(Opened::Png(decoder))
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        let mut decoder = TiffDecoder::new(Cursor::new(bytes)).map_err(codec_error(ImageFormat::Tiff))?;
        let (width, height) = decoder.dimensions();
        check_size(width, height, limits)?;
        decoder.set_limits(limits.for_codec()).map_err(codec_error(ImageFormat::Tiff))?;
        Ok(Opened::Tiff(decoder))
    } else {
        Err(DecodeError::UnknownFormat)
    }
}

/// Decodes a scan's `high` and, for dual energy, `low` image and pairs them. The two images
/// inflate side by side: decoding is most of a scan's preprocessing time.
pub fn decode_scan(high: &[u8], low: Option<&[u8]>, limits: &Limits) -> Result<ScanImages, DecodeError> {
    let (high, low) = super::on_both_images(high, low, |bytes| decode(bytes, limits));
    let low = low.map(|low| low.map_err(|e| e.in_image(Energy::Low)));
    pair(high.map_err(|e| e.in_image(Energy::High))?, low.transpose()?)
}

/// Pairs a scan's images, which must be the same size.
pub fn pair(high: DecodedImage, low: Option<DecodedImage>) -> Result<ScanImages, DecodeError> {
    if let Some(low) = &low
        && (low.width, low.height) != (high.width, high.height)
    {
        return Err(DecodeError::SizeMismatch { high: (high.width, high.height), low: (low.width, low.height) });
    }
    let warnings = [(Energy::High, Some(&high)), (Energy::Low, low.as_ref())]
        .into_iter()
        .filter(|(_, image)| image.is_some_and(|i| i.source_bit_depth == 8))
        .map(|(image, _)| ImageWarning::EightBit { image })
        .collect();
    Ok(ScanImages { width: high.width, height: high.height, high: high.pixels, low: low.map(|l| l.pixels), warnings })
}

/// Width, height and bit depth from PNG's first chunk, which must be IHDR.
fn png_header(bytes: &[u8]) -> Option<(u32, u32, u8)> {
    let ihdr = bytes.get(12..29)?;
    let be = |at: usize| Some(u32::from_be_bytes(ihdr.get(at..at + 4)?.try_into().ok()?));
    (&ihdr[..4] == b"IHDR").then_some((be(4)?, be(8)?, ihdr[12]))
}

/// Walks a PNG's chunks, without inflating anything, to the IEND chunk: a cut-off upload is
/// refused at the door instead of failing in analysis.
fn check_png_chunks(bytes: &[u8]) -> Result<(), DecodeError> {
    let corrupt = |reason: &str| DecodeError::Corrupt { format: ImageFormat::Png, reason: reason.to_owned() };
    let mut at = 8;
    while let Some(head) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = at.checked_add(12 + length).ok_or_else(|| corrupt("chunk length overflows"))?;
        if end > bytes.len() {
            return Err(corrupt("the file ends inside a chunk (truncated upload?)"));
        }
        if &head[4..8] == b"IEND" {
            return Ok(());
        }
        at = end;
    }
    Err(corrupt("no IEND chunk (truncated upload?)"))
}

fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::Empty { width, height });
    }
    if width > limits.max_width
        || height > limits.max_height
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(DecodeError::TooLarge { width, height, limits: *limits });
    }
    Ok(())
}

fn header(decoder: &impl ImageDecoder, format: ImageFormat) -> Result<ImageHeader, DecodeError> {
    let (width, height) = decoder.dimensions();
    let bit_depth = match decoder.original_color_type() {
        ExtendedColorType::L16 => 16,
        ExtendedColorType::L8 => 8,
        other => return Err(DecodeError::Unsupported { found: describe(other) }),
    };
    Ok(ImageHeader { width, height, format, bit_depth })
}

fn read(decoder: impl ImageDecoder, format: ImageFormat) -> Result<DecodedImage, DecodeError> {
    let ImageHeader { width, height, bit_depth: source_bit_depth, .. } = header(&decoder, format)?;
    // Both sizes are within the limits checked before, so these allocations are bounded.
    let count = width as usize * height as usize;
    let pixels = if source_bit_depth == 16 {
        // The codecs give 16-bit samples in native byte order: read them in place.
        let mut pixels = vec![0u16; count];
        decoder.read_image(bytemuck::cast_slice_mut(&mut pixels)).map_err(codec_error(format))?;
        pixels
    } else {
        let mut bytes = vec![0u8; count];
        decoder.read_image(&mut bytes).map_err(codec_error(format))?;
        bytes.iter().map(|&v| u16::from(v) * 257).collect()
    };
    Ok(DecodedImage { width, height, pixels, source_bit_depth, format })
}

fn codec_error(format: ImageFormat) -> impl Fn(ImageError) -> DecodeError {
    move |error| match error {
        ImageError::Unsupported(e) => DecodeError::Unsupported { found: e.to_string() },
        other => DecodeError::Corrupt { format, reason: other.to_string() },
    }
}

/// A refused colour type in words.
fn describe(color: ExtendedColorType) -> String {
    use ExtendedColorType::*;
    let kind = match color {
        L1 | L2 | L4 | L8 | L16 => "grayscale",
        La1 | La2 | La4 | La8 | La16 => "grayscale with alpha",
        Rgb32F | Rgba32F => "floating-point colour",
        _ => "colour",
    };
    format!("{kind} at {} bits per pixel ({color:?})", color.bits_per_pixel())
}
