//! The decoder's error type.

/// A JPEG feature this decoder does not implement (rare in DICOM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// Progressive DCT (SOF2, SOF6): DICOM transfer syntaxes .55/.56/.59–.64, retired.
    Progressive,
    /// Arithmetic entropy coding (SOF9–SOF15, DAC).
    Arithmetic,
    /// Hierarchical (differential) processes (SOF5–SOF7, DHP, EXP).
    Hierarchical,
    /// A DNL marker defining the number of lines after the first scan.
    Dnl,
    /// A component count other than 1, 3 or 4.
    ComponentCount(u8),
    /// Sampling factors whose ratio to the largest is not an integer (libjpeg refuses them too).
    FractionalSampling,
    /// Lossless frames whose components have different sampling factors.
    LosslessSubsampling,
    /// A lossless restart interval that is not a whole number of MCU rows.
    LosslessRestartInterval,
    /// The YCbCr→RGB transform was asked for a frame that does not have 3 components.
    ColorTransform,
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Feature::Progressive => f.write_str("progressive DCT"),
            Feature::Arithmetic => f.write_str("arithmetic coding"),
            Feature::Hierarchical => f.write_str("hierarchical (differential) JPEG"),
            Feature::Dnl => f.write_str("a DNL marker (image height defined after the first scan)"),
            Feature::ComponentCount(n) => write!(f, "{n} components (only 1, 3 and 4 are supported)"),
            Feature::FractionalSampling => f.write_str("fractional sampling factor ratios"),
            Feature::LosslessSubsampling => f.write_str("subsampled components in a lossless frame"),
            Feature::LosslessRestartInterval => {
                f.write_str("a lossless restart interval that is not a multiple of the MCU row")
            }
            Feature::ColorTransform => {
                f.write_str("the YCbCr to RGB transform on a frame without exactly 3 components")
            }
        }
    }
}

/// Everything that can go wrong while reading or decoding a JPEG stream.
///
/// Offsets are byte offsets into the slice given to [`crate::decode`] or [`crate::read_header`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JpegError {
    /// The stream does not start with the SOI marker `FF D8`.
    #[error("not a JPEG stream: it starts with {0:02X?} instead of the SOI marker FF D8")]
    NotJpeg([u8; 2]),
    /// The data ends before the stream is complete.
    #[error("truncated JPEG stream at offset {offset}: {what}")]
    Truncated {
        /// Where the data ran out (or where the marker that cut an entropy-coded segment short sits).
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A marker segment's content is invalid.
    #[error("invalid {marker} segment at offset {offset}: {reason}")]
    InvalidSegment {
        /// The segment's marker name (`SOF`, `DHT`, `DQT`, `SOS`, `DRI`, ...).
        marker: &'static str,
        /// Offset of the segment's marker.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A feature this decoder does not implement.
    #[error("unsupported JPEG feature: {0}")]
    Unsupported(Feature),
    /// The frame has more pixels than [`crate::DecodeOptions::max_pixels`] allows.
    #[error("the frame is {width}×{height} pixels, more than the limit of {max_pixels}")]
    TooLarge {
        /// Frame width from the SOF segment.
        width: u32,
        /// Frame height from the SOF segment.
        height: u32,
        /// The limit in force.
        max_pixels: u64,
    },
    /// A marker that may not appear where it does (e.g. a second SOF, SOS before SOF, RST outside
    /// a scan).
    #[error("unexpected marker FF {marker:02X} at offset {offset}")]
    UnexpectedMarker {
        /// The marker code (the byte after `FF`).
        marker: u8,
        /// Offset of the marker's `FF`.
        offset: usize,
    },
    /// No frame header (SOF) was found before the end of the stream or before a scan.
    #[error("no frame header (SOF) before offset {offset}")]
    MissingFrame {
        /// Where the scan or the end of data was met.
        offset: usize,
    },
    /// A scan uses a Huffman table that was never defined.
    #[error("the scan at offset {offset} uses the undefined {class} Huffman table {index}")]
    MissingHuffmanTable {
        /// `"DC"` (also lossless) or `"AC"`.
        class: &'static str,
        /// Table destination 0–3.
        index: u8,
        /// Offset of the SOS marker.
        offset: usize,
    },
    /// A component uses a quantization table that was never defined.
    #[error("component {component} uses the undefined quantization table {index} (scan at offset {offset})")]
    MissingQuantTable {
        /// Component identifier.
        component: u8,
        /// Table destination 0–3.
        index: u8,
        /// Offset of the SOS marker of the component's first scan.
        offset: usize,
    },
    /// A scan names a component the frame does not have.
    #[error("the scan at offset {offset} references component {id}, which the frame does not define")]
    UnknownComponent {
        /// The component identifier named by the scan.
        id: u8,
        /// Offset of the SOS marker.
        offset: usize,
    },
    /// A component of the frame is in no scan (its samples would be undefined).
    #[error("component {id} is in no scan of the stream")]
    MissingComponentData {
        /// Component identifier.
        id: u8,
    },
    /// Entropy-coded data holds a bit pattern that is no code of the Huffman table.
    #[error("invalid Huffman code in the entropy-coded data near offset {offset}")]
    BadHuffmanCode {
        /// Approximate offset of the byte holding the code.
        offset: usize,
    },
    /// A DC/lossless difference category or AC magnitude is larger than the precision allows.
    #[error("invalid coefficient magnitude category {category} near offset {offset}")]
    BadCoefficient {
        /// The category read from the data.
        category: u8,
        /// Approximate offset in the entropy-coded data.
        offset: usize,
    },
    /// A restart interval ends without the expected RSTn marker.
    #[error("expected restart marker RST{expected} at offset {offset}, found {found}")]
    BadRestartMarker {
        /// The expected n of RSTn.
        expected: u8,
        /// Where the marker was looked for.
        offset: usize,
        /// What was found instead (`"FF xx"` or "end of data").
        found: String,
    },
}
