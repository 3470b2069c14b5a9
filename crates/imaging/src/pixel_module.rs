//! The Image Pixel module as read from the header, validated before any pixel is touched.

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::ImagingError;

/// Photometric Interpretation (0028,0004) of the stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourcePhotometric {
    Monochrome1,
    Monochrome2,
    PaletteColor,
    Rgb,
    YbrFull,
    YbrFull422,
    YbrRct,
    YbrIct,
}

impl SourcePhotometric {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "MONOCHROME1" => Self::Monochrome1,
            "MONOCHROME2" => Self::Monochrome2,
            "PALETTE COLOR" => Self::PaletteColor,
            "RGB" => Self::Rgb,
            "YBR_FULL" => Self::YbrFull,
            "YBR_FULL_422" => Self::YbrFull422,
            "YBR_RCT" => Self::YbrRct,
            "YBR_ICT" => Self::YbrIct,
            _ => return None,
        })
    }

    /// Whether samples are Y, Cb, Cr (the equations of PS3.3 C.7.6.3.1.2 turn them into RGB).
    pub(crate) fn is_ybr(self) -> bool {
        matches!(self, Self::YbrFull | Self::YbrFull422 | Self::YbrRct | Self::YbrIct)
    }
}

/// Rows, columns, samples, bits, signedness, frames, photometric and planar configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PixelModule {
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    pub signed: bool,
    pub frames: u32,
    pub photometric: SourcePhotometric,
    /// Planar Configuration 1: each frame holds all of sample 0, then all of sample 1, ...
    pub planar: bool,
}

fn get_uint(obj: &InMemDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<u32>, ImagingError> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.value().multiplicity() == 0 => Ok(None),
        Some(e) => e
            .to_int::<u32>()
            .map(Some)
            .map_err(|err| ImagingError::InvalidAttribute { name, detail: crate::decode::error_chain(&err) }),
    }
}

fn require_uint(obj: &InMemDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<u32, ImagingError> {
    get_uint(obj, tag, name)?.ok_or(ImagingError::MissingAttribute { name })
}

fn invalid(name: &'static str, detail: impl Into<String>) -> ImagingError {
    ImagingError::InvalidAttribute { name, detail: detail.into() }
}

fn unsupported(detail: impl Into<String>) -> ImagingError {
    ImagingError::UnsupportedImage { detail: detail.into() }
}

impl PixelModule {
    pub(crate) fn read(obj: &InMemDicomObject) -> Result<Self, ImagingError> {
        let rows = require_uint(obj, tags::ROWS, "Rows")?;
        let columns = require_uint(obj, tags::COLUMNS, "Columns")?;
        let spp = get_uint(obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
        let ba = require_uint(obj, tags::BITS_ALLOCATED, "BitsAllocated")?;
        let bs = get_uint(obj, tags::BITS_STORED, "BitsStored")?.unwrap_or(ba);
        let hb = get_uint(obj, tags::HIGH_BIT, "HighBit")?.unwrap_or(bs.saturating_sub(1));
        let pr = get_uint(obj, tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0);
        let frames = match obj.get(tags::NUMBER_OF_FRAMES) {
            None => 1,
            Some(e) if e.value().multiplicity() == 0 => 1,
            Some(e) => {
                let n = e.to_int::<i64>().map_err(|err| invalid("NumberOfFrames", crate::decode::error_chain(&err)))?;
                u32::try_from(n).map_err(|_| invalid("NumberOfFrames", n.to_string()))?
            }
        };
        let pc = get_uint(obj, tags::PLANAR_CONFIGURATION, "PlanarConfiguration")?.unwrap_or(0);
        let pi_text = obj
            .get(tags::PHOTOMETRIC_INTERPRETATION)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0').to_ascii_uppercase())
            .unwrap_or_default();
        let photometric = if pi_text.is_empty() {
            // type 1, but absent in some old files: the sample count tells
            if spp == 3 {
                SourcePhotometric::Rgb
            } else {
                SourcePhotometric::Monochrome2
            }
        } else {
            SourcePhotometric::parse(&pi_text)
                .ok_or_else(|| unsupported(format!("photometric interpretation {pi_text}")))?
        };

        if rows == 0 || columns == 0 {
            return Err(invalid("Rows", format!("image is {rows}×{columns} pixels")));
        }
        if rows > 65535 || columns > 65535 {
            return Err(invalid("Rows", format!("image is {rows}×{columns} pixels (at most 65535 each)")));
        }
        if spp != 1 && spp != 3 {
            return Err(unsupported(format!("SamplesPerPixel {spp} (1 and 3 are supported)")));
        }
        let mono = matches!(
            photometric,
            SourcePhotometric::Monochrome1 | SourcePhotometric::Monochrome2 | SourcePhotometric::PaletteColor
        );
        if mono != (spp == 1) {
            return Err(invalid("PhotometricInterpretation", format!("{pi_text} with SamplesPerPixel {spp}")));
        }
        if !matches!(ba, 1 | 8 | 16 | 32) {
            return Err(unsupported(format!("BitsAllocated {ba} (1, 8, 16 and 32 are supported)")));
        }
        if ba == 1 && (spp != 1 || photometric == SourcePhotometric::PaletteColor) {
            return Err(unsupported("BitsAllocated 1 with colour samples"));
        }
        if photometric == SourcePhotometric::PaletteColor && !matches!(ba, 8 | 16) {
            return Err(unsupported(format!("PALETTE COLOR with BitsAllocated {ba}")));
        }
        if bs == 0 || bs > ba {
            return Err(invalid("BitsStored", format!("{bs} with BitsAllocated {ba}")));
        }
        if hb >= ba || hb + 1 < bs {
            return Err(invalid("HighBit", format!("{hb} with BitsStored {bs} and BitsAllocated {ba}")));
        }
        if pr > 1 {
            return Err(invalid("PixelRepresentation", format!("{pr} (must be 0 or 1)")));
        }
        if pc > 1 {
            return Err(invalid("PlanarConfiguration", format!("{pc} (must be 0 or 1)")));
        }
        if frames == 0 {
            return Err(invalid("NumberOfFrames", "0"));
        }
        Ok(PixelModule {
            rows,
            columns,
            samples_per_pixel: spp as u16,
            bits_allocated: ba as u16,
            bits_stored: bs as u16,
            high_bit: hb as u16,
            signed: pr == 1,
            frames,
            photometric,
            planar: pc == 1 && spp > 1,
        })
    }

    /// Pixels in one frame.
    pub(crate) fn pixels(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.columns)
    }

    /// Samples in one decoded frame (all samples of every pixel).
    pub(crate) fn frame_samples(&self) -> u64 {
        self.pixels() * u64::from(self.samples_per_pixel)
    }

    /// Bytes one decoded frame takes in memory (BitsAllocated 1 → one byte per pixel).
    pub(crate) fn decoded_frame_bytes(&self) -> u64 {
        self.frame_samples() * u64::from(self.bits_allocated.div_ceil(8))
    }

    /// Bits one frame occupies in native (uncompressed) pixel data. YBR_FULL_422 keeps two luma
    /// and one pair of chroma samples per two pixels.
    pub(crate) fn native_frame_bits(&self) -> u64 {
        let samples =
            if self.photometric == SourcePhotometric::YbrFull422 { self.pixels() * 2 } else { self.frame_samples() };
        samples * u64::from(self.bits_allocated)
    }
}
