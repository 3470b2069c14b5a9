//! The Obscura renderer: the whole DICOM display pipeline drawn through [`wgpu`], in the
//! fragment shader, plus overlay geometry in the same render pass.
//!
//! The stored values of a frame are uploaded once ([`Renderer::set_image`]): gray and palette
//! images as an `R16Uint` texture, RGB as `Rgba8Uint`, both read with `textureLoad` (which works
//! on WebGPU and WebGL2; integer textures are not filterable, so bilinear sampling is four
//! loads). Everything else is per fragment: sign extension, the modality transform (rescale or a
//! Modality LUT), the VOI (LINEAR, LINEAR_EXACT, SIGMOID window or a VOI LUT), MONOCHROME1 /
//! Presentation LUT Shape INVERSE polarity, palette colour, the user's invert toggle, nearest or
//! bilinear interpolation and the view transform. Changing any of those only rewrites a uniform
//! block (a VOI LUT is uploaded the first time it is used), except that the image pipeline is
//! specialised per display mode: image kind, VOI function, Modality LUT or rescale, sign,
//! interpolation, sRGB target and whether there is an image are the shader's `override`
//! constants, and the first draw in a new mode compiles its pipeline (cached in the renderer).
//! Software GPUs (SwiftShader: headless Chromium, CI) pay for every branch of a mode chosen at run
//! time, several times the cost of the specialised shader; the window, the transform, the invert
//! toggle and the background stay uniforms, so scrolling, windowing and zooming within a mode
//! compile nothing. Overrides work on WebGPU and on the GL backend (WebGL2), where wgpu resolves
//! them with naga before writing GLSL. LUTs are 256-wide `R16Uint` / `Rgba8Uint` textures (65536
//! entries = 256×256), within WebGL2's limits.
//!
//! The reference is [`obscura_imaging::display`]: every displayed pixel equals
//! [`display::rgb8_at`](obscura_imaging::display::rgb8_at) at the target pixel's centre mapped
//! back through the view transform, ±1 code value (f32 on the GPU vs f64 on the CPU), whatever
//! the target format (sRGB targets are compensated for in the shader).
//!
//! The pipeline is WebGL2-compatible: no storage buffers, no compute, no optional features; a
//! device created with [`required_limits`] is enough.
//!
//! # Geometry and device pixels
//!
//! The caller passes a [`Transform`] from image pixel coordinates (x right, y down, pixel
//! centres at +0.5) to target pixel coordinates, and the target size in *device* pixels (CSS
//! size × devicePixelRatio in the browser). Zoom, pan, rotation and flips are the caller's
//! business; [`Transform::fit`] is the "whole image, centred" case. Overlay line widths are in
//! device pixels too, so everything stays crisp at any devicePixelRatio. Outside the image the
//! target shows [`View::background`].
//!
//! # Several panes
//!
//! One renderer (one device, one set of pipelines) draws a layout of panes (1×1, 1×2, 2×2, …)
//! into one target: WebGL2 cannot share a device across canvases, so a layout is one canvas.
//! Each pane, addressed by an index below [`MAX_PANES`], has its own image, Modality LUT,
//! palette, VOI LUT cache, uniform buffer and bind group, created on first use
//! ([`Renderer::set_pane_image`], [`Renderer::clear_pane`]). [`Renderer::draw_panes`] clears the
//! target to black once and draws every [`PaneDraw`] in one render pass, each cut to its
//! rectangle by a scissor: its image (the background where the image is not) and its overlays.
//! A pane's [`View::transform`] and its [`Space::Target`] overlays are in *absolute* target
//! pixels: the caller adds the pane's offset.
//!
//! The single-image API is pane 0 over the whole target: [`Renderer::set_image`],
//! [`Renderer::draw`] and [`Renderer::read_back`] are the pane calls with pane 0, while
//! [`Renderer::clear_image`] clears *every* pane (nothing of any image is drawn again).
//!
//! # Example
//!
//! ```no_run
//! use obscura_imaging::display::{render_rgb8, Voi};
//! use obscura_imaging::{DecodedImage, Frame, Photometric, VoiFunction, Window};
//! use obscura_render::{headless, Image, Transform, View};
//!
//! # async fn demo() -> Result<(), obscura_render::RenderError> {
//! let mut renderer = headless().await?;
//! let decoded = DecodedImage {
//!     rows: 64,
//!     columns: 64,
//!     samples_per_pixel: 1,
//!     photometric: Photometric::Monochrome2,
//!     bits_allocated: 16,
//!     bits_stored: 12,
//!     signed: false,
//!     rescale_slope: 1.0,
//!     rescale_intercept: 0.0,
//!     modality_lut: None,
//!     windows: vec![],
//!     voi_function: VoiFunction::Linear,
//!     voi_luts: vec![],
//!     presentation_lut_shape: None,
//!     palette: None,
//!     frames: vec![Frame::U16((0..64u16 * 64).collect())],
//! };
//! renderer.set_image(&Image::from_decoded(&decoded, 0)?)?;
//! let voi = Voi::Window(Window { center: 2048.0, width: 4096.0 }, VoiFunction::Linear);
//! let view = View { voi, ..View::default() };
//! // 1:1 into a 64x64 target: exactly the CPU reference, ±1.
//! let rgb = renderer.read_back(&view, &[], [64, 64]).await?;
//! assert_eq!(rgb.len(), render_rgb8(&decoded, 0, voi).unwrap().len());
//! // The same image fitted into a 300x200 canvas, magnified 3.125×, centred.
//! let fitted = View { transform: Transform::fit([64, 64], [300, 200]), ..view };
//! let _ = renderer.read_back(&fitted, &[], [300, 200]).await?;
//! renderer.clear_image();
//! # Ok(())
//! # }
//! ```
//!
//! # Browser setup (done by the caller, e.g. the `viewer` crate)
//!
//! 1. `wgpu::util::new_instance_with_webgpu_detection(desc).await` with
//!    `desc.backends = Backends::BROWSER_WEBGPU | Backends::GL` (WebGPU when the browser can
//!    really create an adapter, else WebGL2).
//! 2. `instance.create_surface(SurfaceTarget::Canvas(canvas))` (the unsafe-free canvas variant).
//! 3. `instance.request_adapter(&RequestAdapterOptions { compatible_surface: Some(&surface), .. })`
//!    (the surface is mandatory for WebGL2).
//! 4. `adapter.request_device(&DeviceDescriptor { required_features: Features::empty(),
//!    required_limits: required_limits(&adapter.limits()), .. })`.
//! 5. `let format = pick_surface_format(&surface.get_capabilities(&adapter).formats)`,
//!    configure the surface with it (`TextureUsages::RENDER_ATTACHMENT`), and
//!    `Renderer::new(device, queue, format)`.
//! 6. Per frame: `surface.get_current_texture()`, [`Renderer::draw`] (or
//!    [`Renderer::draw_panes`]) into its view with the canvas size in device pixels, `present()`.
//!
//! # A lost device or context
//!
//! A GPU process crash, a driver reset or a lost WebGL context loses the device and everything
//! on it. [`Renderer::is_lost`] turns true when wgpu reports it (the renderer sets the device's
//! lost callback; the reason is in [`Renderer::lost_reason`]). wgpu does not report a lost WebGL2
//! context: the caller listens for the canvas's `webglcontextlost` event (and calls
//! `preventDefault()` on it so that the browser restores the context). The caller then repeats the setup
//! above with a new device and surface, and calls [`Renderer::set_image`] (or
//! [`Renderer::set_pane_image`] for each pane) again with the cleartext it keeps (the decoded
//! slices in memory): nothing needs reloading or decrypting again. The renderer holds no state
//! that cannot be rebuilt from the [`Image`]s and [`View`]s.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use obscura_imaging::display::{self, rgb_level};
pub use obscura_imaging::display::{Interpolation, Voi};
use obscura_imaging::{DecodedImage, Photometric};
pub use obscura_imaging::{Lut, Palette, VoiFunction, Window};

mod overlay;
pub use overlay::{Overlay, Shape, Space};

/// Errors of the renderer.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No GPU adapter was found (natively: install a Vulkan driver, e.g. `mesa-vulkan-drivers`).
    #[error(
        "no GPU adapter found ({0}); for native tests install a software Vulkan driver: \
         `apt-get install -y mesa-vulkan-drivers libvulkan1` (lavapipe)"
    )]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("could not create a GPU device: {0}")]
    Device(String),
    /// The image has a zero dimension.
    #[error("image has a zero dimension ({width}x{height})")]
    EmptyImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The pixel data does not hold `width * height` pixels.
    #[error("image of {width}x{height} needs {expected} samples, got {actual}")]
    PixelCount {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Samples needed (`width * height`, times 3 for RGB).
        expected: usize,
        /// Samples given.
        actual: usize,
    },
    /// The image is larger than the device's `max_texture_dimension_2d`.
    #[error("image of {width}x{height} exceeds the device's maximum texture size {max}")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The device limit.
        max: u32,
    },
    /// The decoded image cannot be displayed by the renderer (e.g. 32-bit samples, a palette
    /// image without palette, a missing frame).
    #[error("cannot display this image: {0}")]
    Unsupported(String),
    /// Mapping the read-back buffer failed.
    #[error("reading the rendered image back failed: {0}")]
    ReadBack(String),
    /// A pane index at or above [`MAX_PANES`].
    #[error("pane {pane} does not exist: the renderer holds panes 0 to {} ({max} at most)", max - 1)]
    PaneIndex {
        /// The index given.
        pane: usize,
        /// [`MAX_PANES`].
        max: usize,
    },
}

/// An affine map from image pixel coordinates to target pixel coordinates (both x right, y
/// down; image pixel centres at +0.5, target pixel centres at +0.5):
/// `target = [m[0][0]·x + m[0][1]·y + m[0][2], m[1][0]·x + m[1][1]·y + m[1][2]]`.
///
/// Viewport math (zoom, pan, rotation, flips) lives with the caller; this is what it hands over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform(pub [[f32; 3]; 2]);

impl Transform {
    /// Image pixels are target pixels.
    pub const IDENTITY: Transform = Transform([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);

    /// The whole image as large as it fits in the target, keeping its aspect ratio, centred.
    pub fn fit(image: [u32; 2], target: [u32; 2]) -> Transform {
        let (iw, ih) = (image[0].max(1) as f32, image[1].max(1) as f32);
        let (tw, th) = (target[0] as f32, target[1] as f32);
        let s = (tw / iw).min(th / ih);
        Transform([[s, 0.0, (tw - s * iw) / 2.0], [0.0, s, (th - s * ih) / 2.0]])
    }

    /// Maps an image point to the target.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let m = &self.0;
        [m[0][0] * p[0] + m[0][1] * p[1] + m[0][2], m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]]
    }

    /// The inverse map (target → image), computed in f64; `None` when the transform is singular
    /// or not finite.
    pub fn inverse(&self) -> Option<[[f64; 3]; 2]> {
        let m = self.0.map(|row| row.map(f64::from));
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        let inv = [
            [m[1][1] / det, -m[0][1] / det, (m[0][1] * m[1][2] - m[1][1] * m[0][2]) / det],
            [-m[1][0] / det, m[0][0] / det, (m[1][0] * m[0][2] - m[0][0] * m[1][2]) / det],
        ];
        (det != 0.0 && inv.iter().flatten().all(|v| v.is_finite())).then_some(inv)
    }

    /// The largest factor by which the transform stretches a length.
    fn max_scale(&self) -> f32 {
        let m = &self.0;
        (m[0][0].hypot(m[1][0])).max(m[0][1].hypot(m[1][1]))
    }
}

/// How the modality values of a gray image are obtained from its stored values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Modality<'a> {
    /// `stored × slope + intercept` (Rescale Slope / Intercept; 1 and 0 when absent).
    Rescale {
        /// Rescale Slope (0028,1053).
        slope: f64,
        /// Rescale Intercept (0028,1052).
        intercept: f64,
    },
    /// A Modality LUT (it replaces the rescale).
    Lut(&'a Lut),
}

/// The pixels of one frame, as the renderer uploads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels<'a> {
    /// MONOCHROME1 / MONOCHROME2.
    Gray {
        /// Row-major stored values as 16-bit patterns (BitsStored masked, sign-extended: an
        /// `i16` value `v` as `v as u16`), as [`DecodedImage::values16`] gives them.
        values: Cow<'a, [u16]>,
        /// Pixel Representation 1.
        signed: bool,
        /// The modality transform.
        modality: Modality<'a>,
        /// MONOCHROME1 or Presentation LUT Shape INVERSE: the VOI output is inverted
        /// ([`display::inverted`]).
        inverse: bool,
    },
    /// PALETTE COLOR.
    Palette {
        /// Row-major stored indices as 16-bit patterns (as for [`Pixels::Gray`]).
        indices: Cow<'a, [u16]>,
        /// Pixel Representation 1.
        signed: bool,
        /// The Palette Color LUTs.
        palette: &'a Palette,
    },
    /// RGB (YBR already converted by the decoder), 8 bits per sample
    /// ([`display::rgb_level`]), interleaved `R G B` per pixel, row-major.
    Rgb(Cow<'a, [u8]>),
}

/// One frame to display.
#[derive(Debug, Clone, PartialEq)]
pub struct Image<'a> {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// The samples and how to read them.
    pub pixels: Pixels<'a>,
}

impl<'a> Image<'a> {
    /// Frame `frame` of a decoded image, borrowing its 16-bit samples and LUTs (8-bit gray and
    /// palette samples are widened, RGB samples scaled to 8 bits, into new buffers).
    ///
    /// # Errors
    /// [`RenderError::Unsupported`] for a missing frame, 32-bit gray or palette samples, or a
    /// palette image without palette.
    pub fn from_decoded(image: &'a DecodedImage, frame: usize) -> Result<Self, RenderError> {
        let unsupported = |what: &str| RenderError::Unsupported(what.to_string());
        let frame_data = image.frames.get(frame).ok_or_else(|| unsupported("no such frame"))?;
        let pixels = match image.photometric {
            Photometric::Monochrome1 | Photometric::Monochrome2 => Pixels::Gray {
                values: image.values16(frame).ok_or_else(|| unsupported("32-bit gray samples"))?,
                signed: image.signed,
                modality: match &image.modality_lut {
                    Some(lut) => Modality::Lut(lut),
                    None => Modality::Rescale { slope: image.rescale_slope, intercept: image.rescale_intercept },
                },
                inverse: display::inverted(image),
            },
            Photometric::PaletteColor => Pixels::Palette {
                indices: image.values16(frame).ok_or_else(|| unsupported("32-bit palette indices"))?,
                signed: image.signed,
                palette: image.palette.as_ref().ok_or_else(|| unsupported("a palette image without palette"))?,
            },
            Photometric::Rgb => Pixels::Rgb(Cow::Owned(
                (0..frame_data.len())
                    .map(|i| image.get_stored_value(frame, i).map_or(0, |s| rgb_level(image, s)))
                    .collect(),
            )),
            _ => return Err(unsupported("an unknown photometric interpretation")),
        };
        Ok(Image { width: image.columns, height: image.rows, pixels })
    }

    /// The number of samples the pixels must hold.
    fn expected_samples(&self) -> usize {
        let n = self.width as usize * self.height as usize;
        if matches!(self.pixels, Pixels::Rgb(_)) {
            n * 3
        } else {
            n
        }
    }

    fn samples(&self) -> usize {
        match &self.pixels {
            Pixels::Gray { values, .. } => values.len(),
            Pixels::Palette { indices, .. } => indices.len(),
            Pixels::Rgb(rgb) => rgb.len(),
        }
    }
}

/// How the image is shown in the target. Changing any field only rewrites uniforms (except the
/// first use of a VOI LUT, which is uploaded then).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View<'a> {
    /// The VOI transform of gray images (ignored for palette and RGB).
    pub voi: Voi<'a>,
    /// The user's invert toggle, on top of the image's own polarity; for every kind of image.
    pub invert: bool,
    /// Nearest or bilinear sampling.
    pub interpolation: Interpolation,
    /// Image pixel coordinates → target pixel coordinates.
    pub transform: Transform,
    /// 8-bit sRGB code values shown where the image is not.
    pub background: [u8; 3],
}

impl Default for View<'static> {
    /// The DICOM LINEAR window centre 128, width 256 (the identity on stored values 0..=255),
    /// no inversion, nearest, image pixels = target pixels, black background.
    fn default() -> Self {
        View {
            voi: Voi::Window(Window { center: 128.0, width: 256.0 }, VoiFunction::Linear),
            invert: false,
            interpolation: Interpolation::Nearest,
            transform: Transform::IDENTITY,
            background: [0, 0, 0],
        }
    }
}

/// What [`Renderer::read_back`] must return for frame `frame` of `image` (uploaded with
/// [`Image::from_decoded`]), `view` and no overlays, ±1: for each target pixel, its centre mapped
/// back through the view transform and sampled by the CPU reference
/// [`display::rgb8_at`](obscura_imaging::display::rgb8_at); the background where that falls
/// outside the image (everywhere if the transform is singular). Interleaved RGB, row-major.
///
/// Only the geometry is here; every rule of the display pipeline is `imaging::display`'s.
pub fn reference_rgb8(image: &DecodedImage, frame: usize, view: &View, target_size: [u32; 2]) -> Vec<u8> {
    let inverse = view.transform.inverse();
    let mut out = Vec::with_capacity(target_size[0] as usize * target_size[1] as usize * 3);
    for ty in 0..target_size[1] {
        for tx in 0..target_size[0] {
            let (qx, qy) = (f64::from(tx) + 0.5, f64::from(ty) + 0.5);
            let pixel = inverse.and_then(|m| {
                let x = m[0][0] * qx + m[0][1] * qy + m[0][2];
                let y = m[1][0] * qx + m[1][1] * qy + m[1][2];
                display::rgb8_at(image, frame, view.voi, view.interpolation, view.invert, x, y)
            });
            out.extend_from_slice(&pixel.unwrap_or(view.background));
        }
    }
    out
}

/// Chooses the surface format: the first non-sRGB 8-bit RGBA/BGRA format offered
/// (WebGPU's preferred `bgra8unorm`), else the first 8-bit sRGB one (WebGL2 canvases),
/// else the first format offered; `Rgba8Unorm` if the list is empty.
///
/// Either kind works: for sRGB formats the renderer pre-compensates in the shader so that
/// the stored byte is the display pipeline's output.
pub fn pick_surface_format(formats: &[wgpu::TextureFormat]) -> wgpu::TextureFormat {
    use wgpu::TextureFormat as F;
    formats
        .iter()
        .copied()
        .find(|f| matches!(f, F::Bgra8Unorm | F::Rgba8Unorm))
        .or_else(|| formats.iter().copied().find(|f| matches!(f, F::Bgra8UnormSrgb | F::Rgba8UnormSrgb)))
        .or_else(|| formats.first().copied())
        .unwrap_or(F::Rgba8Unorm)
}

/// The limits to request for the device, given the adapter's limits: WebGL2 downlevel
/// defaults, with the texture-size limits raised to what the adapter supports
/// (`Limits::downlevel_webgl2_defaults().using_resolution(adapter_limits)`), so that large
/// images (e.g. 4096×3328 mammograms) fit in one texture. Works for WebGPU, WebGL2 and
/// native backends. No optional features are needed.
pub fn required_limits(adapter_limits: &wgpu::Limits) -> wgpu::Limits {
    wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter_limits.clone())
}

/// Uniform block, mirrored by `Params` in `shader.wgsl` (vec4 members only: std140-safe).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    inv_x: [f32; 4],
    inv_y: [f32; 4],
    modality: [f32; 4],
    voi: [f32; 4],
    background: [f32; 4],
    target_size: [f32; 4],
    mode: [u32; 4],
    luts: [i32; 4],
    palette_range: [i32; 4],
}

// Mirrors of the shader's constants. `Params::mode` still carries the kind, the VOI function and
// every flag (the layout is unchanged), but the shader reads only FLAG_INVERT from it: the rest is
// the image pipeline's `ImageMode`.
const KIND_GRAY: u32 = 0;
const KIND_PALETTE: u32 = 1;
const KIND_RGB: u32 = 2;
const VOI_LINEAR: u32 = 0;
const VOI_LINEAR_EXACT: u32 = 1;
const VOI_SIGMOID: u32 = 2;
const VOI_LUT: u32 = 3;
const FLAG_SIGNED: u32 = 1;
const FLAG_INVERT: u32 = 2;
const FLAG_SRGB: u32 = 4;
const FLAG_BILINEAR: u32 = 8;
const FLAG_MODALITY_LUT: u32 = 16;
const FLAG_HAS_IMAGE: u32 = 32;
/// Entries per LUT texture row.
const LUT_WIDTH: u32 = 256;
/// The most entries a LUT texture holds (256 rows of 256).
const LUT_MAX_ENTRIES: usize = 65536;

/// A LUT uploaded as a texture: its first mapped input and number of entries.
struct LutTexture {
    texture: wgpu::Texture,
    first: i32,
    count: i32,
}

/// What the shader needs to know about a pane's image, besides its textures.
struct ImageState {
    texture: wgpu::Texture,
    width: u32,
    height: u32,
    kind: u32,
    signed: bool,
    inverse: bool,
    rescale: [f32; 2],
}

impl ImageState {
    /// Overwrites the texture with zeros (queued: the caller submits before destroying it).
    fn write_zeros(&self, queue: &wgpu::Queue) {
        let bytes_per_texel = if self.kind == KIND_RGB { 4 } else { 2 };
        let zeros = vec![0u8; self.width as usize * self.height as usize * bytes_per_texel as usize];
        write_texture(queue, &self.texture, &zeros, self.width, self.height, bytes_per_texel);
    }
}

/// The GPU resources of one pane. Each pane has its own uniform buffer: all panes' uniforms are
/// written before the one render pass that draws them, and a shared buffer would hold only the
/// last pane's.
struct Pane {
    uniforms: wgpu::Buffer,
    image: Option<ImageState>,
    modality_lut: Option<LutTexture>,
    palette: Option<LutTexture>,
    /// The VOI LUT last used in this pane, and its texture.
    voi_lut: Option<(Lut, LutTexture)>,
    bind_group: wgpu::BindGroup,
}

/// The most panes a [`Renderer`] holds (a 4×4 layout); [`PaneDraw::pane`] and the `pane` of
/// [`Renderer::set_pane_image`] are below it.
pub const MAX_PANES: usize = 16;

/// One pane of [`Renderer::draw_panes`]: which pane's image, where in the target, how.
#[derive(Debug, Clone, Copy)]
pub struct PaneDraw<'a> {
    /// The pane index (below [`MAX_PANES`]), as given to [`Renderer::set_pane_image`].
    pub pane: usize,
    /// `[x, y, width, height]` in target device pixels (x right, y down). Nothing of the pane is
    /// drawn outside it (it is the scissor rectangle, clamped to the target).
    pub rect: [u32; 4],
    /// How the pane's image is shown. `view.transform` maps image pixels to *absolute* target
    /// pixels: it includes the rect's offset.
    pub view: &'a View<'a>,
    /// Overlays of this pane; [`Space::Target`] coordinates are absolute target pixels too.
    pub overlays: &'a [Overlay],
}

/// The display mode an image pipeline is specialised for: the shader's `override` constants.
/// Software GPUs (SwiftShader) pay for every branch a uniform-selected mode leaves in the shader,
/// so each mode gets its own pipeline; what changes per frame within a mode stays uniform.
/// Fields that do not apply to the kind of image are normalised away ([`ImageMode::new`]) so that
/// equivalent modes share a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ImageMode {
    kind: u32,
    function: u32,
    signed: bool,
    modality_lut: bool,
    bilinear: bool,
    has_image: bool,
}

impl ImageMode {
    /// Only the background (no image, or a singular transform).
    const BACKGROUND: ImageMode = ImageMode {
        kind: KIND_GRAY,
        function: VOI_LINEAR,
        signed: false,
        modality_lut: false,
        bilinear: false,
        has_image: false,
    };

    fn new(kind: u32, function: u32, signed: bool, modality_lut: bool, bilinear: bool) -> Self {
        let gray = kind == KIND_GRAY;
        ImageMode {
            kind,
            function: if gray { function } else { VOI_LINEAR },
            signed: signed && kind != KIND_RGB,
            modality_lut: modality_lut && gray,
            bilinear,
            has_image: true,
        }
    }

    /// The fragment stage's pipeline constants for this mode and a target that is `srgb` or not.
    fn constants(&self, srgb: bool) -> [(&'static str, f64); 7] {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        [
            ("IMAGE_KIND", f64::from(self.kind)),
            ("VOI_FUNCTION", f64::from(self.function)),
            ("SIGNED", flag(self.signed)),
            ("MODALITY_LUT", flag(self.modality_lut)),
            ("BILINEAR", flag(self.bilinear)),
            ("SRGB", flag(srgb)),
            ("HAS_IMAGE", flag(self.has_image)),
        ]
    }
}

/// Draws [`Image`]s with [`View`]s and [`Overlay`]s into a wgpu texture view (a surface texture
/// in the browser, an offscreen texture in tests): one image, or several panes side by side
/// (see the crate documentation, "Several panes").
pub struct Renderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    target_format: wgpu::TextureFormat,
    bind_group_layout: wgpu::BindGroupLayout,
    module: wgpu::ShaderModule,
    pipeline_layout: wgpu::PipelineLayout,
    /// The overlay pipeline for the target format.
    overlay: wgpu::RenderPipeline,
    /// Format and overlay pipeline used by [`Renderer::read_back`] (`Rgba8Unorm`, or
    /// `Rgba8UnormSrgb` when the target format is sRGB); `None` when equal to the main format.
    readback: Option<(wgpu::TextureFormat, wgpu::RenderPipeline)>,
    /// Image pipelines by mode and target format, created when first drawn with (a layout of
    /// panes uses a few; compiling one costs more than drawing it once).
    image_pipelines: HashMap<(ImageMode, wgpu::TextureFormat), wgpu::RenderPipeline>,
    /// 1×1 stand-ins bound where no image / LUT / palette is set (`R16Uint`, `Rgba8Uint`).
    empty_r16: wgpu::Texture,
    empty_rgba8: wgpu::Texture,
    /// The panes used so far, by index (created on first use, at most [`MAX_PANES`]).
    panes: Vec<Pane>,
    lost: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let images: Vec<Option<[u32; 2]>> = (0..self.panes.len()).map(|i| self.pane_image_size(i)).collect();
        f.debug_struct("Renderer")
            .field("target_format", &self.target_format)
            .field("pane_images", &images)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

const SHADER: &str = include_str!("shader.wgsl");

impl Renderer {
    /// Creates the renderer for targets of `target_format` (the configured surface format), and
    /// sets the device's lost callback (see [`Renderer::is_lost`]).
    ///
    /// The device needs no optional features; [`required_limits`] suffice.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, target_format: wgpu::TextureFormat) -> Self {
        let lost = Arc::new(Mutex::new(None));
        let lost_in_callback = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = lost_in_callback.lock() {
                *slot = Some(format!("{reason:?}: {message}"));
            }
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("obscura-render shader"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
        });
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Uint,
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let bind_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("obscura-render bind group layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
                    },
                    count: None,
                },
                texture_entry(1),
                texture_entry(2),
                texture_entry(3),
                texture_entry(4),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("obscura-render pipeline layout"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let overlay_pipeline = |format| {
            create_pipeline(
                &device,
                &module,
                &layout,
                format,
                PipelineKind::Overlay,
                &[("SRGB", f64::from(u8::from(format.is_srgb())))],
            )
        };
        let overlay = overlay_pipeline(target_format);
        let readback_format =
            if target_format.is_srgb() { wgpu::TextureFormat::Rgba8UnormSrgb } else { wgpu::TextureFormat::Rgba8Unorm };
        let readback = (readback_format != target_format).then(|| (readback_format, overlay_pipeline(readback_format)));
        let empty_r16 = new_texture(&device, "obscura-render empty", wgpu::TextureFormat::R16Uint, 1, 1);
        let empty_rgba8 = new_texture(&device, "obscura-render empty colour", wgpu::TextureFormat::Rgba8Uint, 1, 1);
        Renderer {
            device,
            queue,
            target_format,
            bind_group_layout,
            module,
            pipeline_layout: layout,
            overlay,
            readback,
            image_pipelines: HashMap::new(),
            empty_r16,
            empty_rgba8,
            panes: Vec::new(),
            lost,
        }
    }

    /// The target format given to [`Renderer::new`].
    pub fn target_format(&self) -> wgpu::TextureFormat {
        self.target_format
    }

    /// The device the renderer draws with.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue the renderer submits to.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Whether the device is lost (wgpu called its lost callback): drawing does nothing useful
    /// any more; build a new renderer on a new device and upload the image again (see the crate
    /// documentation, "A lost device or context").
    pub fn is_lost(&self) -> bool {
        self.lost_reason().is_some()
    }

    /// Why the device was lost (wgpu's reason and message), if it was.
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.lock().map(|slot| slot.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Uploads `image` into pane `pane`, replacing the pane's current one (its textures are
    /// zeroed and destroyed, or reused when the size and kind are unchanged). Its Modality LUT
    /// and palette are uploaded with it. The pane's resources are created on first use.
    ///
    /// # Errors
    /// [`RenderError::PaneIndex`] for `pane >= MAX_PANES`; [`RenderError::EmptyImage`],
    /// [`RenderError::PixelCount`] or [`RenderError::TooLarge`]. The pane's current image is
    /// kept in those cases.
    pub fn set_pane_image(&mut self, pane: usize, image: &Image) -> Result<(), RenderError> {
        if pane >= MAX_PANES {
            return Err(RenderError::PaneIndex { pane, max: MAX_PANES });
        }
        let (width, height) = (image.width, image.height);
        if width == 0 || height == 0 {
            return Err(RenderError::EmptyImage { width, height });
        }
        let (expected, actual) = (image.expected_samples(), image.samples());
        if expected != actual {
            return Err(RenderError::PixelCount { width, height, expected, actual });
        }
        let max = self.device.limits().max_texture_dimension_2d;
        if width > max || height > max {
            return Err(RenderError::TooLarge { width, height, max });
        }
        let (kind, format) = match image.pixels {
            Pixels::Gray { .. } => (KIND_GRAY, wgpu::TextureFormat::R16Uint),
            Pixels::Palette { .. } => (KIND_PALETTE, wgpu::TextureFormat::R16Uint),
            Pixels::Rgb(_) => (KIND_RGB, wgpu::TextureFormat::Rgba8Uint),
        };
        self.ensure_pane(pane);
        let reuse = matches!(&self.panes[pane].image,
            Some(s) if s.width == width && s.height == height && s.texture.format() == format);
        if !reuse {
            self.clear_panes(pane..pane + 1);
            let texture = new_texture(&self.device, "obscura-render image", format, width, height);
            self.panes[pane].image =
                Some(ImageState { texture, width, height, kind, signed: false, inverse: false, rescale: [1.0, 0.0] });
        }
        let (device, queue) = (&self.device, &self.queue);
        let slot = &mut self.panes[pane];
        slot.modality_lut = None;
        slot.palette = None;
        let state = slot.image.as_mut().expect("image state was just ensured");
        state.kind = kind;
        match &image.pixels {
            Pixels::Gray { values, signed, modality, inverse } => {
                state.signed = *signed;
                state.inverse = *inverse;
                write_texture(queue, &state.texture, bytemuck::cast_slice(values), width, height, 2);
                match modality {
                    Modality::Rescale { slope, intercept } => state.rescale = [*slope as f32, *intercept as f32],
                    Modality::Lut(lut) => {
                        slot.modality_lut = Some(upload_lut(device, queue, lut.first_mapped, &lut.data))
                    }
                }
            }
            Pixels::Palette { indices, signed, palette } => {
                state.signed = *signed;
                state.inverse = false;
                write_texture(queue, &state.texture, bytemuck::cast_slice(indices), width, height, 2);
                slot.palette = Some(upload_palette(device, queue, palette));
            }
            Pixels::Rgb(rgb) => {
                state.signed = false;
                state.inverse = false;
                let rgba: Vec<u8> = rgb.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
                write_texture(queue, &state.texture, &rgba, width, height, 4);
            }
        }
        self.rebuild_bind_group(pane);
        Ok(())
    }

    /// Forgets pane `pane`'s image: its texture is overwritten with zeros, then destroyed (so
    /// that nothing of it is drawn again); its Modality LUT and palette go with it. Afterwards
    /// the pane shows only its background and overlays. Other panes are untouched; a pane never
    /// used (or out of range) has nothing to clear.
    pub fn clear_pane(&mut self, pane: usize) {
        self.clear_panes(pane..pane + 1);
    }

    /// The size of pane `pane`'s image, if it has one.
    pub fn pane_image_size(&self, pane: usize) -> Option<[u32; 2]> {
        self.panes.get(pane)?.image.as_ref().map(|s| [s.width, s.height])
    }

    /// Uploads `image` into pane 0, the single-image API's pane: [`Renderer::set_pane_image`]
    /// with `pane` 0.
    ///
    /// # Errors
    /// [`RenderError::EmptyImage`], [`RenderError::PixelCount`] or [`RenderError::TooLarge`];
    /// the current image is kept in that case.
    pub fn set_image(&mut self, image: &Image) -> Result<(), RenderError> {
        self.set_pane_image(0, image)
    }

    /// Forgets the image of *every* pane (not only pane 0): each texture is overwritten with
    /// zeros, then destroyed, so that nothing of any image is drawn again. Afterwards every pane
    /// (and [`Renderer::draw`]'s target) shows only its background and overlays.
    pub fn clear_image(&mut self) {
        self.clear_panes(0..self.panes.len());
    }

    /// Whether pane 0 (the single-image API's pane) has an image.
    pub fn has_image(&self) -> bool {
        self.pane_image_size(0).is_some()
    }

    /// The size of pane 0's image, if any.
    pub fn image_size(&self) -> Option<[u32; 2]> {
        self.pane_image_size(0)
    }

    /// Draws pane 0's image with `view`, then `overlays`, into `target` (of the format given to
    /// [`Renderer::new`] and of `target_size` device pixels), covering all of it (background
    /// where the image is not): [`Renderer::draw_panes`] with one pane over the whole target.
    /// Submits the work; the caller presents the surface texture.
    pub fn draw(&mut self, target: &wgpu::TextureView, target_size: [u32; 2], view: &View, overlays: &[Overlay]) {
        let whole = PaneDraw { pane: 0, rect: [0, 0, target_size[0], target_size[1]], view, overlays };
        self.draw_panes(target, target_size, &[whole]);
    }

    /// Draws several panes into `target` (of the format given to [`Renderer::new`] and of
    /// `target_size` device pixels) in one render pass: the whole target is cleared to black
    /// once, then each pane draws, inside its rect only, its image through its view (its
    /// background where the image is not, all of it if the pane has no image) and its
    /// overlays. Submits the work; the caller presents the surface texture.
    ///
    /// A pane whose rect is empty (after clamping to the target) or whose index is not below
    /// [`MAX_PANES`] is skipped; a pane index listed again after its first entry is skipped too
    /// (a pane has one uniform block per pass).
    pub fn draw_panes(&mut self, target: &wgpu::TextureView, target_size: [u32; 2], panes: &[PaneDraw]) {
        let panes = self.prepare_panes(panes);
        self.encode_and_submit(target, target_size, &panes, false, None);
    }

    /// Renders `view` and `overlays` into an offscreen target of `target_size` through the same
    /// pipeline as [`Renderer::draw`] (an `Rgba8Unorm` texture, `Rgba8UnormSrgb` if the target
    /// format is sRGB, to exercise the same compensation), and returns its pixels as
    /// interleaved 8-bit RGB, row-major (the layout of
    /// [`display::render_rgb8`](obscura_imaging::display::render_rgb8)).
    ///
    /// # Errors
    /// [`RenderError::ReadBack`] if mapping fails.
    ///
    /// Natively this blocks in `Device::poll` until the GPU is done. In the browser it is fine
    /// on WebGPU; on WebGL2 the buffer map only completes when the device is polled on a later
    /// event-loop turn, so prefer [`Renderer::read_back_with_yield`] there.
    pub async fn read_back(
        &mut self,
        view: &View<'_>,
        overlays: &[Overlay],
        target_size: [u32; 2],
    ) -> Result<Vec<u8>, RenderError> {
        let whole = PaneDraw { pane: 0, rect: [0, 0, target_size[0], target_size[1]], view, overlays };
        self.read_back_panes(&[whole], target_size).await
    }

    /// [`Renderer::read_back`] that, while the buffer map is pending, polls the device and
    /// awaits `yield_now()` between polls. In the browser pass a future that yields to the
    /// event loop (e.g. a 0 ms timeout); that makes the read-back complete on WebGL2 as well
    /// as WebGPU.
    ///
    /// # Errors
    /// As [`Renderer::read_back`].
    pub async fn read_back_with_yield<F, Fut>(
        &mut self,
        view: &View<'_>,
        overlays: &[Overlay],
        target_size: [u32; 2],
        yield_now: F,
    ) -> Result<Vec<u8>, RenderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let whole = PaneDraw { pane: 0, rect: [0, 0, target_size[0], target_size[1]], view, overlays };
        self.read_back_panes_with_yield(&[whole], target_size, yield_now).await
    }

    /// [`Renderer::draw_panes`] into an offscreen target of `target_size`, read back as
    /// [`Renderer::read_back`] does (interleaved 8-bit RGB, row-major, over the whole target).
    ///
    /// # Errors
    /// [`RenderError::EmptyImage`] for a zero target size, [`RenderError::ReadBack`] if mapping
    /// fails.
    pub async fn read_back_panes(
        &mut self,
        panes: &[PaneDraw<'_>],
        target_size: [u32; 2],
    ) -> Result<Vec<u8>, RenderError> {
        self.read_back_inner::<fn() -> std::future::Ready<()>, _>(panes, target_size, None).await
    }

    /// [`Renderer::read_back_panes`] yielding between polls, as
    /// [`Renderer::read_back_with_yield`] does (for WebGL2).
    ///
    /// # Errors
    /// As [`Renderer::read_back_panes`].
    pub async fn read_back_panes_with_yield<F, Fut>(
        &mut self,
        panes: &[PaneDraw<'_>],
        target_size: [u32; 2],
        yield_now: F,
    ) -> Result<Vec<u8>, RenderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        self.read_back_inner(panes, target_size, Some(yield_now)).await
    }

    async fn read_back_inner<F, Fut>(
        &mut self,
        panes: &[PaneDraw<'_>],
        target_size: [u32; 2],
        mut yield_now: Option<F>,
    ) -> Result<Vec<u8>, RenderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let [width, height] = target_size;
        if width == 0 || height == 0 {
            return Err(RenderError::EmptyImage { width, height });
        }
        let panes = self.prepare_panes(panes);
        let format = self.readback.as_ref().map_or(self.target_format, |(f, _)| *f);
        let offscreen = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("obscura-render read-back target"),
            size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let target = offscreen.create_view(&wgpu::TextureViewDescriptor::default());
        let unpadded = width * 4;
        let padded = unpadded.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("obscura-render read-back buffer"),
            size: u64::from(padded) * u64::from(height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        self.encode_and_submit(&target, target_size, &panes, true, Some((&offscreen, &buffer, padded)));

        let (sender, mut receiver) = futures_channel::oneshot::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = sender.send(result);
        });
        // Natively, `Wait` blocks until the GPU is done and fires the map callback. On the web
        // waiting is impossible: WebGPU resolves the map by itself, WebGL2 needs polls from
        // later event-loop turns (`yield_now`, see `read_back_with_yield`).
        let poll_type =
            if cfg!(target_arch = "wasm32") { wgpu::PollType::Poll } else { wgpu::PollType::wait_indefinitely() };
        let mapped = loop {
            let _ = self.device.poll(poll_type.clone());
            match receiver.try_recv() {
                Ok(Some(result)) => break result,
                Ok(None) => match yield_now.as_mut() {
                    Some(yield_now) => yield_now().await,
                    None => {
                        break receiver
                            .await
                            .map_err(|_| RenderError::ReadBack("the map callback was dropped".into()))?
                    }
                },
                Err(_) => return Err(RenderError::ReadBack("the map callback was dropped".into())),
            }
        };
        mapped.map_err(|e| RenderError::ReadBack(e.to_string()))?;

        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        {
            let mapped = buffer.get_mapped_range(..).map_err(|e| RenderError::ReadBack(e.to_string()))?;
            for row in mapped.chunks_exact(padded as usize) {
                rgb.extend(row[..unpadded as usize].chunks_exact(4).flat_map(|px| [px[0], px[1], px[2]]));
            }
        }
        buffer.unmap();
        buffer.destroy();
        offscreen.destroy();
        Ok(rgb)
    }

    /// Creates the resources of panes up to `pane` (below [`MAX_PANES`]) that do not exist yet.
    fn ensure_pane(&mut self, pane: usize) {
        while self.panes.len() <= pane.min(MAX_PANES - 1) {
            let uniforms = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("obscura-render pane uniforms"),
                size: std::mem::size_of::<Params>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let empty = [&self.empty_r16, &self.empty_r16, &self.empty_r16, &self.empty_rgba8];
            let bind_group = bind_group(&self.device, &self.bind_group_layout, &uniforms, empty);
            self.panes.push(Pane {
                uniforms,
                image: None,
                modality_lut: None,
                palette: None,
                voi_lut: None,
                bind_group,
            });
        }
    }

    /// Zeroes and destroys the images of the existing panes in `panes`, with their Modality LUTs
    /// and palettes (VOI LUTs belong to the view and stay cached).
    fn clear_panes(&mut self, panes: std::ops::Range<usize>) {
        let panes = panes.start.min(self.panes.len())..panes.end.min(self.panes.len());
        let mut cleared = Vec::new();
        for pane in panes.clone() {
            let slot = &mut self.panes[pane];
            slot.modality_lut = None;
            slot.palette = None;
            if let Some(state) = slot.image.take() {
                state.write_zeros(&self.queue);
                cleared.push(state);
            }
        }
        if !cleared.is_empty() {
            // Flush the zeroing writes before the textures go away.
            self.queue.submit(std::iter::empty());
            for state in cleared {
                state.texture.destroy();
            }
        }
        for pane in panes {
            self.rebuild_bind_group(pane);
        }
    }

    /// The panes of one pass that are drawn: valid indices, each once (the first entry wins),
    /// their resources created and their VOI LUTs uploaded.
    fn prepare_panes<'a>(&mut self, panes: &[PaneDraw<'a>]) -> Vec<PaneDraw<'a>> {
        let mut drawn: Vec<PaneDraw<'a>> = Vec::with_capacity(panes.len());
        for entry in panes {
            if entry.pane >= MAX_PANES || drawn.iter().any(|d| d.pane == entry.pane) {
                continue;
            }
            self.ensure_pane(entry.pane);
            self.prepare_voi_lut(entry.pane, entry.view);
            drawn.push(*entry);
        }
        drawn
    }

    /// Uploads the view's VOI LUT for pane `pane` unless it is the one the pane used last.
    fn prepare_voi_lut(&mut self, pane: usize, view: &View) {
        let Voi::Lut(lut) = view.voi else { return };
        if matches!(&self.panes[pane].voi_lut, Some((cached, _)) if cached == lut) {
            return;
        }
        let texture = upload_lut(&self.device, &self.queue, lut.first_mapped, &lut.data);
        self.panes[pane].voi_lut = Some((lut.clone(), texture));
        self.rebuild_bind_group(pane);
    }

    fn rebuild_bind_group(&mut self, pane: usize) {
        let slot = &mut self.panes[pane];
        let image = slot.image.as_ref().map_or(&self.empty_r16, |s| &s.texture);
        let modality = slot.modality_lut.as_ref().map_or(&self.empty_r16, |l| &l.texture);
        let voi = slot.voi_lut.as_ref().map_or(&self.empty_r16, |(_, l)| &l.texture);
        let palette = slot.palette.as_ref().map_or(&self.empty_rgba8, |l| &l.texture);
        slot.bind_group =
            bind_group(&self.device, &self.bind_group_layout, &slot.uniforms, [image, modality, voi, palette]);
    }

    /// The uniform block of `pane` drawn with `view` into a target of `target_size`, and the
    /// mode of the image pipeline that draws it.
    fn params(pane: &Pane, target_size: [u32; 2], view: &View, srgb: bool) -> (Params, ImageMode) {
        let inverse = view.transform.inverse();
        let [inv_x, inv_y] = inverse.map_or([[0.0; 4]; 2], |m| m.map(|r| [r[0] as f32, r[1] as f32, r[2] as f32, 0.0]));
        let mut flags = if srgb { FLAG_SRGB } else { 0 };
        if view.interpolation == Interpolation::Bilinear {
            flags |= FLAG_BILINEAR;
        }
        let mut params = Params {
            inv_x,
            inv_y,
            modality: [1.0, 0.0, 0.0, 0.0],
            voi: [0.0, 1.0, 1.0, 0.0],
            background: [view.background[0], view.background[1], view.background[2], 0].map(f32::from),
            target_size: [target_size[0].max(1) as f32, target_size[1].max(1) as f32, 0.0, 0.0],
            mode: [KIND_GRAY, VOI_LINEAR, 0, 0],
            luts: [0, 1, 0, 1],
            palette_range: [0, 1, 0, 0],
        };
        let Some(state) = pane.image.as_ref().filter(|_| inverse.is_some()) else {
            params.mode[2] = flags;
            return (params, ImageMode::BACKGROUND);
        };
        flags |= FLAG_HAS_IMAGE;
        if state.signed {
            flags |= FLAG_SIGNED;
        }
        // The image's polarity applies to gray only; the user's toggle to everything.
        let gray_inverse = state.kind == KIND_GRAY && state.inverse;
        if gray_inverse != view.invert {
            flags |= FLAG_INVERT;
        }
        params.modality = [state.rescale[0], state.rescale[1], 0.0, 0.0];
        if let Some(lut) = &pane.modality_lut {
            flags |= FLAG_MODALITY_LUT;
            params.luts[0] = lut.first;
            params.luts[1] = lut.count;
        }
        if let Some(lut) = &pane.palette {
            params.palette_range = [lut.first, lut.count, 0, 0];
        }
        let function = match view.voi {
            Voi::Window(w, function) => {
                let (code, width) = match function {
                    // `max` also maps NaN to the floor (display.rs does the same in f64).
                    VoiFunction::Linear => (VOI_LINEAR, (w.width as f32).max(1.0)),
                    VoiFunction::LinearExact => (VOI_LINEAR_EXACT, (w.width as f32).max(f32::MIN_POSITIVE)),
                    VoiFunction::Sigmoid => (VOI_SIGMOID, (w.width as f32).max(f32::MIN_POSITIVE)),
                };
                params.voi = [w.center as f32, width, 1.0, 0.0];
                code
            }
            Voi::Lut(lut) => {
                if let Some((_, texture)) = &pane.voi_lut {
                    params.luts[2] = texture.first;
                    params.luts[3] = texture.count;
                }
                params.voi = [0.0, 1.0, lut.max_value() as f32, 0.0];
                VOI_LUT
            }
        };
        params.mode = [state.kind, function, flags, 0];
        let mode = ImageMode::new(
            state.kind,
            function,
            state.signed,
            pane.modality_lut.is_some(),
            view.interpolation == Interpolation::Bilinear,
        );
        (params, mode)
    }

    /// Writes the uniforms of every pane in `panes` (prepared by `prepare_panes`), then records
    /// one render pass that clears `target` to black and draws each pane inside its scissor
    /// rectangle, and submits it (with the read-back copy, if any).
    fn encode_and_submit(
        &mut self,
        target: &wgpu::TextureView,
        target_size: [u32; 2],
        panes: &[PaneDraw],
        for_readback: bool,
        copy_out: Option<(&wgpu::Texture, &wgpu::Buffer, u32)>,
    ) {
        let format = match (&self.readback, for_readback) {
            (Some((format, _)), true) => *format,
            _ => self.target_format,
        };
        // Scissor rectangles must lie inside the attachment, whatever size the caller says.
        let attachment = target.texture().size();
        let bounds = [target_size[0].min(attachment.width), target_size[1].min(attachment.height)];
        let mut vertices = Vec::new();
        // (pane, scissor rectangle, its overlay vertices in `vertices`)
        let mut draws = Vec::with_capacity(panes.len());
        for entry in panes {
            let Some(scissor) = scissor_rect(entry.rect, bounds) else { continue };
            let pane = &self.panes[entry.pane];
            let (params, mode) = Self::params(pane, target_size, entry.view, format.is_srgb());
            // Every pane has its own buffer: these writes all land before the pass below runs.
            self.queue.write_buffer(&pane.uniforms, 0, bytemuck::bytes_of(&params));
            let first = vertices.len() as u32;
            vertices.extend(overlay::tessellate(entry.overlays, &entry.view.transform));
            draws.push((entry.pane, scissor, mode, first..vertices.len() as u32));
        }
        for &(_, _, mode, _) in &draws {
            if !self.image_pipelines.contains_key(&(mode, format)) {
                let pipeline = create_pipeline(
                    &self.device,
                    &self.module,
                    &self.pipeline_layout,
                    format,
                    PipelineKind::Image,
                    &mode.constants(format.is_srgb()),
                );
                self.image_pipelines.insert((mode, format), pipeline);
            }
        }
        let overlay_pipeline = match (&self.readback, for_readback) {
            (Some((_, pipeline)), true) => pipeline,
            _ => &self.overlay,
        };
        let vertex_buffer = (!vertices.is_empty()).then(|| {
            let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("obscura-render overlay vertices"),
                size: std::mem::size_of_val(vertices.as_slice()) as u64,
                usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.queue.write_buffer(&buffer, 0, bytemuck::cast_slice(&vertices));
            buffer
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("obscura-render encoder") });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("obscura-render pass"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    // Black between and around the panes; each pane's image pass writes every
                    // pixel of its rectangle (background included).
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            for (pane, [x, y, width, height], mode, overlay_vertices) in draws {
                // The full-target triangle and the overlays, both cut to the pane.
                pass.set_scissor_rect(x, y, width, height);
                pass.set_bind_group(0, &self.panes[pane].bind_group, &[]);
                pass.set_pipeline(&self.image_pipelines[&(mode, format)]);
                pass.draw(0..3, 0..1);
                if let (Some(buffer), false) = (&vertex_buffer, overlay_vertices.is_empty()) {
                    pass.set_pipeline(overlay_pipeline);
                    pass.set_vertex_buffer(0, buffer.slice(..));
                    pass.draw(overlay_vertices, 0..1);
                }
            }
        }
        if let Some((texture, buffer, padded)) = copy_out {
            encoder.copy_texture_to_buffer(
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::TexelCopyBufferInfo {
                    buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(padded),
                        rows_per_image: Some(target_size[1]),
                    },
                },
                wgpu::Extent3d { width: target_size[0], height: target_size[1], depth_or_array_layers: 1 },
            );
        }
        self.queue.submit(Some(encoder.finish()));
    }
}

/// `rect` (`[x, y, width, height]`) clamped to a target of `bounds`; `None` when nothing of it
/// is left.
fn scissor_rect(rect: [u32; 4], bounds: [u32; 2]) -> Option<[u32; 4]> {
    let [x, y, width, height] = rect;
    let (x0, y0) = (x.min(bounds[0]), y.min(bounds[1]));
    let (x1, y1) = (x.saturating_add(width).min(bounds[0]), y.saturating_add(height).min(bounds[1]));
    (x1 > x0 && y1 > y0).then_some([x0, y0, x1 - x0, y1 - y0])
}

/// Which of the shader's two pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PipelineKind {
    /// The full-target triangle drawing the image (and background).
    Image,
    /// Overlay triangles from the vertex buffer, alpha-blended.
    Overlay,
}

/// A render pipeline of the shader into targets of `format`, its fragment stage specialised by
/// `constants` (the vertex stages use no override).
fn create_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    layout: &wgpu::PipelineLayout,
    format: wgpu::TextureFormat,
    kind: PipelineKind,
    constants: &[(&str, f64)],
) -> wgpu::RenderPipeline {
    let vertex_layout = [Some(wgpu::VertexBufferLayout {
        array_stride: std::mem::size_of::<overlay::Vertex>() as u64,
        step_mode: wgpu::VertexStepMode::Vertex,
        attributes: &overlay::Vertex::ATTRIBUTES,
    })];
    let (label, vs, fs, buffers, blend) = match kind {
        PipelineKind::Image => ("obscura-render image pipeline", "vs_image", "fs_image", &[][..], None),
        PipelineKind::Overlay => (
            "obscura-render overlay pipeline",
            "vs_overlay",
            "fs_overlay",
            &vertex_layout[..],
            Some(wgpu::BlendState::ALPHA_BLENDING),
        ),
    };
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState { module, entry_point: Some(vs), compilation_options: Default::default(), buffers },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fs),
            compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
            targets: &[Some(wgpu::ColorTargetState { format, blend, write_mask: wgpu::ColorWrites::ALL })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

fn new_texture(
    device: &wgpu::Device,
    label: &str,
    format: wgpu::TextureFormat,
    width: u32,
    height: u32,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    uniforms: &wgpu::Buffer,
    textures: [&wgpu::Texture; 4],
) -> wgpu::BindGroup {
    let views = textures.map(|t| t.create_view(&wgpu::TextureViewDescriptor::default()));
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("obscura-render bind group"),
        layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: uniforms.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&views[0]) },
            wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&views[1]) },
            wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::TextureView(&views[2]) },
            wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::TextureView(&views[3]) },
        ],
    })
}

fn write_texture(queue: &wgpu::Queue, texture: &wgpu::Texture, bytes: &[u8], width: u32, height: u32, texel: u32) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        bytes,
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(width * texel), rows_per_image: Some(height) },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
}

/// A LUT as a 256-wide `R16Uint` texture (at most 65536 entries; a longer table is cut, which
/// the DICOM LUT Descriptor cannot express anyway).
fn upload_lut(device: &wgpu::Device, queue: &wgpu::Queue, first: i32, data: &[u16]) -> LutTexture {
    let data = if data.is_empty() { &[0u16][..] } else { &data[..data.len().min(LUT_MAX_ENTRIES)] };
    let rows = (data.len() as u32).div_ceil(LUT_WIDTH);
    let mut padded = data.to_vec();
    padded.resize((rows * LUT_WIDTH) as usize, 0);
    let texture = new_texture(device, "obscura-render LUT", wgpu::TextureFormat::R16Uint, LUT_WIDTH, rows);
    write_texture(queue, &texture, bytemuck::cast_slice(&padded), LUT_WIDTH, rows, 2);
    LutTexture { texture, first, count: data.len() as i32 }
}

/// The palette's 8-bit colours ([`Palette::rgb8`]) for every index its three tables cover, as a
/// 256-wide `Rgba8Uint` texture.
fn upload_palette(device: &wgpu::Device, queue: &wgpu::Queue, palette: &Palette) -> LutTexture {
    let tables = [&palette.red, &palette.green, &palette.blue];
    let first = tables.iter().map(|l| l.first_mapped).min().unwrap_or(0);
    let end = tables.iter().map(|l| i64::from(l.first_mapped) + l.data.len() as i64).max().unwrap_or(1);
    let count = ((end - i64::from(first)).clamp(1, LUT_MAX_ENTRIES as i64)) as u32;
    let rows = count.div_ceil(LUT_WIDTH);
    let mut rgba = vec![0u8; (rows * LUT_WIDTH * 4) as usize];
    for i in 0..count {
        let [r, g, b] = palette.rgb8(i64::from(first) + i64::from(i));
        rgba[i as usize * 4..i as usize * 4 + 4].copy_from_slice(&[r, g, b, 255]);
    }
    let texture = new_texture(device, "obscura-render palette", wgpu::TextureFormat::Rgba8Uint, LUT_WIDTH, rows);
    write_texture(queue, &texture, &rgba, LUT_WIDTH, rows, 4);
    LutTexture { texture, first, count: count as i32 }
}

/// Creates a renderer on a headless device (all native backends, or those named in the
/// `WGPU_BACKEND` environment variable; a software adapter such as lavapipe is fine) targeting
/// `Rgba8Unorm`, for tests and the CLI. The device is requested with [`required_limits`] and no
/// features, i.e. as constrained as in a WebGL2 browser.
///
/// # Errors
/// [`RenderError::NoAdapter`] (with a hint to install `mesa-vulkan-drivers`) or
/// [`RenderError::Device`].
pub async fn headless() -> Result<Renderer, RenderError> {
    headless_with_format(wgpu::TextureFormat::Rgba8Unorm).await
}

/// Like [`headless`], with a chosen target format (e.g. `Rgba8UnormSrgb` to test the sRGB
/// compensation).
///
/// # Errors
/// As [`headless`].
pub async fn headless_with_format(format: wgpu::TextureFormat) -> Result<Renderer, RenderError> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    // All native backends, unless narrowed by `WGPU_BACKEND` (e.g. `gl` to exercise the GLES
    // backend, the closest native stand-in for WebGL2).
    // (Read here: wgpu's own env lookup needs its `std` feature, off in this workspace.)
    desc.backends = std::env::var("WGPU_BACKEND")
        .map(|list| wgpu::Backends::from_comma_list(&list))
        .unwrap_or(wgpu::Backends::all());
    let instance = wgpu::Instance::new(desc);
    let mut last_error = String::new();
    let mut adapter = None;
    for force_fallback_adapter in [false, true] {
        match instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::default(),
                force_fallback_adapter,
                compatible_surface: None,
                apply_limit_buckets: false,
            })
            .await
        {
            Ok(a) => {
                adapter = Some(a);
                break;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let adapter = adapter.ok_or(RenderError::NoAdapter(last_error))?;
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("obscura-render headless device"),
            required_features: wgpu::Features::empty(),
            required_limits: required_limits(&adapter.limits()),
            ..Default::default()
        })
        .await
        .map_err(|e| RenderError::Device(e.to_string()))?;
    Ok(Renderer::new(device, queue, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_centres_and_keeps_the_aspect_ratio() {
        // Square image in a wide target: full height, centred horizontally.
        assert_eq!(Transform::fit([100, 100], [200, 100]), Transform([[1.0, 0.0, 50.0], [0.0, 1.0, 0.0]]));
        assert_eq!(Transform::fit([511, 257], [511, 257]), Transform::IDENTITY);
        assert_eq!(Transform::fit([4, 2], [8, 8]), Transform([[2.0, 0.0, 0.0], [0.0, 2.0, 2.0]]));
    }

    #[test]
    fn inverse_undoes_apply() {
        // Rotation by 90°, scale 2, translation.
        let t = Transform([[0.0, -2.0, 30.0], [2.0, 0.0, 5.0]]);
        let inv = t.inverse().unwrap();
        for p in [[0.0, 0.0], [3.5, 7.25], [-1.0, 100.0]] {
            let q = t.apply(p);
            let back = [
                inv[0][0] * f64::from(q[0]) + inv[0][1] * f64::from(q[1]) + inv[0][2],
                inv[1][0] * f64::from(q[0]) + inv[1][1] * f64::from(q[1]) + inv[1][2],
            ];
            assert!((back[0] - f64::from(p[0])).abs() < 1e-5 && (back[1] - f64::from(p[1])).abs() < 1e-5);
        }
        assert_eq!(Transform([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]]).inverse(), None);
        assert_eq!(Transform([[f32::NAN, 0.0, 0.0], [0.0, 1.0, 0.0]]).inverse(), None);
    }

    #[test]
    fn surface_format_choice() {
        use wgpu::TextureFormat as F;
        assert_eq!(pick_surface_format(&[F::Bgra8UnormSrgb, F::Bgra8Unorm]), F::Bgra8Unorm);
        assert_eq!(pick_surface_format(&[F::Rgba8UnormSrgb]), F::Rgba8UnormSrgb);
        assert_eq!(pick_surface_format(&[F::Rgba16Float, F::Rgba8UnormSrgb]), F::Rgba8UnormSrgb);
        assert_eq!(pick_surface_format(&[]), F::Rgba8Unorm);
    }

    #[test]
    fn scissor_rects_are_clamped_to_the_target() {
        assert_eq!(scissor_rect([0, 0, 100, 50], [100, 50]), Some([0, 0, 100, 50]));
        assert_eq!(scissor_rect([90, 40, 20, 20], [100, 50]), Some([90, 40, 10, 10]));
        assert_eq!(scissor_rect([u32::MAX, 0, u32::MAX, 5], [100, 50]), None);
        assert_eq!(scissor_rect([10, 10, 0, 5], [100, 50]), None);
        assert_eq!(scissor_rect([100, 0, 5, 5], [100, 50]), None);
        assert_eq!(scissor_rect([5, 5, u32::MAX, u32::MAX], [100, 50]), Some([5, 5, 95, 45]));
    }

    #[test]
    fn modes_that_draw_alike_share_a_pipeline() {
        // What does not apply to palette and RGB images is normalised away.
        let palette = ImageMode::new(KIND_PALETTE, VOI_SIGMOID, true, true, false);
        assert_eq!(palette, ImageMode::new(KIND_PALETTE, VOI_LINEAR, true, false, false));
        assert!(palette.signed && !palette.modality_lut && palette.function == VOI_LINEAR);
        let rgb = ImageMode::new(KIND_RGB, VOI_LUT, true, true, true);
        assert_eq!(rgb, ImageMode::new(KIND_RGB, VOI_LINEAR, false, false, true));
        // Gray keeps every field.
        let gray = ImageMode::new(KIND_GRAY, VOI_LUT, true, true, true);
        assert_eq!(
            gray.constants(true),
            [
                ("IMAGE_KIND", 0.0),
                ("VOI_FUNCTION", 3.0),
                ("SIGNED", 1.0),
                ("MODALITY_LUT", 1.0),
                ("BILINEAR", 1.0),
                ("SRGB", 1.0),
                ("HAS_IMAGE", 1.0)
            ]
        );
    }

    #[test]
    fn params_block_is_std140_sized() {
        assert_eq!(std::mem::size_of::<Params>() % 16, 0);
        assert_eq!(std::mem::size_of::<Params>(), 9 * 16);
    }
}
