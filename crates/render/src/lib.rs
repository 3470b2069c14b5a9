//! The Obscura renderer: a 16-bit grayscale image drawn through [`wgpu`] with the DICOM
//! LINEAR window/level (VOI) function evaluated in the fragment shader.
//!
//! The stored pixel values are uploaded once as an `R16Uint` texture (read with
//! `textureLoad`, which works on WebGPU and on WebGL2); sign extension, the modality
//! rescale (`slope`, `intercept`), the VOI window and the optional inversion are all
//! applied per fragment, so changing the window only rewrites a 48-byte uniform.
//!
//! The pipeline is WebGL2-compatible: no storage buffers, no compute, no optional
//! features; a device created with [`required_limits`] is enough.
//!
//! [`cpu_reference`] evaluates exactly the same math on the CPU (in `f64`); the GPU output
//! equals it within ±1 code value on every pixel, whatever the target format (sRGB targets
//! are compensated for in the shader).
//!
//! # Example
//!
//! ```no_run
//! use obscura_render::{headless, GrayImage, View, Window};
//!
//! # async fn demo() -> Result<(), obscura_render::RenderError> {
//! let mut renderer = headless().await?;
//! let pixels: Vec<u16> = (0..64u16 * 64).collect();
//! let image = GrayImage {
//!     width: 64,
//!     height: 64,
//!     pixels: &pixels,
//!     signed: false,
//!     rescale_slope: 1.0,
//!     rescale_intercept: 0.0,
//! };
//! renderer.set_image(&image)?;
//! let view = View { window: Window { center: 2048.0, width: 4096.0 }, ..View::default() };
//! let gray: Vec<u8> = renderer.read_back(&view).await?;
//! assert_eq!(gray, obscura_render::cpu_reference(&image, view.window, false));
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
//! 6. Per frame: `surface.get_current_texture()`, [`Renderer::draw`] into its view with the
//!    canvas size, `present()`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

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
    /// `pixels.len()` does not equal `width * height`.
    #[error("image of {width}x{height} needs {expected} pixels, got {actual}")]
    PixelCount {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width * height`.
        expected: usize,
        /// `pixels.len()`.
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
    /// [`Renderer::read_back`] was called with no image set.
    #[error("no image is set")]
    NoImage,
    /// Mapping the read-back buffer failed.
    #[error("reading the rendered image back failed: {0}")]
    ReadBack(String),
}

/// A single-frame 16-bit grayscale image (DICOM MONOCHROME2 after decoding).
#[derive(Debug, Clone, Copy)]
pub struct GrayImage<'a> {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Row-major stored values as `u16` bit patterns (an `i16` reinterpreted as `u16` when
    /// [`signed`](Self::signed)); `width * height` entries.
    pub pixels: &'a [u16],
    /// Pixel Representation 1: the stored values are two's-complement `i16`.
    pub signed: bool,
    /// Rescale Slope (0028,1053); 1 when absent.
    pub rescale_slope: f32,
    /// Rescale Intercept (0028,1052); 0 when absent.
    pub rescale_intercept: f32,
}

/// A VOI window in modality units (e.g. HU), for the DICOM LINEAR function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Window Center (0028,1050).
    pub center: f32,
    /// Window Width (0028,1051); values below 1 are treated as 1.
    pub width: f32,
}

/// How the image is shown in the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// The VOI window.
    pub window: Window,
    /// Show the image inverted (white ↔ black), after the VOI.
    pub invert: bool,
    /// Magnification; 1.0 fits the whole image in the target, keeping its aspect ratio.
    pub zoom: f32,
    /// Translation of the image centre from the target centre, in target pixels (x right, y down).
    pub pan: [f32; 2],
}

impl Default for View {
    /// Window centre 128, width 256 (the identity on stored values 0..=255 with the DICOM
    /// LINEAR function), no inversion, fit, centred.
    fn default() -> Self {
        View { window: Window { center: 128.0, width: 256.0 }, invert: false, zoom: 1.0, pan: [0.0, 0.0] }
    }
}

/// The modality value of one stored value.
fn modality(raw: u16, img: &GrayImage) -> f64 {
    let stored = if img.signed { f64::from(raw as i16) } else { f64::from(raw) };
    stored * f64::from(img.rescale_slope) + f64::from(img.rescale_intercept)
}

/// The DICOM LINEAR VOI function (PS3.3 C.11.2.1.2.1) with output range 0..=255, before rounding.
fn voi_linear(x: f64, window: Window) -> f64 {
    let c = f64::from(window.center);
    let w = f64::from(effective_width(window.width));
    if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0.0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 {
        255.0
    } else {
        ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
    }
}

fn effective_width(width: f32) -> f32 {
    // `max` also maps NaN to 1.
    width.max(1.0)
}

/// The CPU reference of what the renderer draws at 1:1: one gray byte per image pixel,
/// row-major. Same math as the shader (sign extension, rescale, DICOM LINEAR VOI with output
/// range 0..255, rounding to nearest, then optional inversion `255 - v`), in `f64`.
///
/// Pixels beyond `width * height` are ignored; missing ones are treated as 0.
pub fn cpu_reference(img: &GrayImage, window: Window, invert: bool) -> Vec<u8> {
    let n = img.width as usize * img.height as usize;
    (0..n)
        .map(|i| {
            let raw = img.pixels.get(i).copied().unwrap_or(0);
            let y = voi_linear(modality(raw, img), window);
            let code = (y + 0.5).floor().clamp(0.0, 255.0) as u8;
            if invert {
                255 - code
            } else {
                code
            }
        })
        .collect()
}

/// Chooses the surface format: the first non-sRGB 8-bit RGBA/BGRA format offered
/// (WebGPU's preferred `bgra8unorm`), else the first 8-bit sRGB one (WebGL2 canvases),
/// else the first format offered; `Rgba8Unorm` if the list is empty.
///
/// Either kind works: for sRGB formats the renderer pre-compensates in the shader so that
/// the stored byte is the VOI output.
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

/// Uniform block, mirrored by `Params` in `shader.wgsl` (48 bytes, 16-byte aligned).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    quad: [f32; 4],
    voi: [f32; 4],
    flags: [u32; 4],
}

struct ImageState {
    texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    readback_bind_group: wgpu::BindGroup,
    width: u32,
    height: u32,
    signed: bool,
    slope: f32,
    intercept: f32,
}

/// Draws a [`GrayImage`] with a [`View`] into a wgpu texture view (a surface texture in
/// the browser, an offscreen texture in tests).
pub struct Renderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    target_format: wgpu::TextureFormat,
    bind_group_layout: wgpu::BindGroupLayout,
    pipeline: wgpu::RenderPipeline,
    /// Format and pipeline used by [`Renderer::read_back`] (`Rgba8Unorm`, or `Rgba8UnormSrgb`
    /// when the target format is sRGB); `None` when equal to the main pipeline's format.
    readback: Option<(wgpu::TextureFormat, wgpu::RenderPipeline)>,
    uniforms: wgpu::Buffer,
    readback_uniforms: wgpu::Buffer,
    image: Option<ImageState>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("target_format", &self.target_format)
            .field("image", &self.image.as_ref().map(|i| (i.width, i.height)))
            .finish_non_exhaustive()
    }
}

const SHADER: &str = include_str!("shader.wgsl");

impl Renderer {
    /// Creates the renderer for targets of `target_format` (the configured surface format).
    ///
    /// The device needs no optional features; [`required_limits`] suffice.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, target_format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("obscura-render shader"),
            source: wgpu::ShaderSource::Wgsl(std::borrow::Cow::Borrowed(SHADER)),
        });
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
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Uint,
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("obscura-render pipeline layout"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let make_pipeline = |format: wgpu::TextureFormat| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some("obscura-render pipeline"),
                layout: Some(&layout),
                vertex: wgpu::VertexState {
                    module: &module,
                    entry_point: Some("vs_main"),
                    compilation_options: Default::default(),
                    buffers: &[],
                },
                primitive: wgpu::PrimitiveState::default(),
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module: &module,
                    entry_point: Some("fs_main"),
                    compilation_options: Default::default(),
                    targets: &[Some(wgpu::ColorTargetState {
                        format,
                        blend: None,
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        let pipeline = make_pipeline(target_format);
        let readback_format =
            if target_format.is_srgb() { wgpu::TextureFormat::Rgba8UnormSrgb } else { wgpu::TextureFormat::Rgba8Unorm };
        let readback = (readback_format != target_format).then(|| (readback_format, make_pipeline(readback_format)));
        let make_uniforms = |label| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: std::mem::size_of::<Params>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let uniforms = make_uniforms("obscura-render uniforms");
        let readback_uniforms = make_uniforms("obscura-render read-back uniforms");
        Renderer {
            device,
            queue,
            target_format,
            bind_group_layout,
            pipeline,
            readback,
            uniforms,
            readback_uniforms,
            image: None,
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

    /// Uploads `img` as an `R16Uint` texture, replacing the current image. The texture is
    /// reused when the size is unchanged, otherwise the old one is zeroed, destroyed and a new
    /// one created.
    ///
    /// # Errors
    /// [`RenderError::EmptyImage`], [`RenderError::PixelCount`] or [`RenderError::TooLarge`];
    /// the current image is kept in that case.
    pub fn set_image(&mut self, img: &GrayImage) -> Result<(), RenderError> {
        let (width, height) = (img.width, img.height);
        if width == 0 || height == 0 {
            return Err(RenderError::EmptyImage { width, height });
        }
        let expected = width as usize * height as usize;
        if img.pixels.len() != expected {
            return Err(RenderError::PixelCount { width, height, expected, actual: img.pixels.len() });
        }
        let max = self.device.limits().max_texture_dimension_2d;
        if width > max || height > max {
            return Err(RenderError::TooLarge { width, height, max });
        }
        let reuse = matches!(&self.image, Some(s) if s.width == width && s.height == height);
        if !reuse {
            self.clear_image();
            let texture = self.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("obscura-render image"),
                size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R16Uint,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            let bind_group = self.make_bind_group(&view, &self.uniforms);
            let readback_bind_group = self.make_bind_group(&view, &self.readback_uniforms);
            self.image = Some(ImageState {
                texture,
                bind_group,
                readback_bind_group,
                width,
                height,
                signed: false,
                slope: 1.0,
                intercept: 0.0,
            });
        }
        let state = self.image.as_mut().expect("image state was just ensured");
        state.signed = img.signed;
        state.slope = img.rescale_slope;
        state.intercept = img.rescale_intercept;
        write_r16(&self.queue, &state.texture, bytemuck::cast_slice(img.pixels), width, height);
        Ok(())
    }

    /// Forgets the current image: its texture is overwritten with zeros, then destroyed.
    /// Afterwards [`Renderer::draw`] draws black and [`Renderer::read_back`] fails with
    /// [`RenderError::NoImage`].
    pub fn clear_image(&mut self) {
        if let Some(state) = self.image.take() {
            let zeros = vec![0u8; state.width as usize * state.height as usize * 2];
            write_r16(&self.queue, &state.texture, &zeros, state.width, state.height);
            // Flush the zeroing write before the texture goes away.
            self.queue.submit(std::iter::empty());
            state.texture.destroy();
        }
    }

    /// Whether an image is set.
    pub fn has_image(&self) -> bool {
        self.image.is_some()
    }

    /// The size of the current image, if any.
    pub fn image_size(&self) -> Option<[u32; 2]> {
        self.image.as_ref().map(|s| [s.width, s.height])
    }

    /// Clears `target` (of the format given to [`Renderer::new`] and of size `target_size`)
    /// to black and draws the current image with `view`; black only if no image is set.
    /// Submits the work to the queue; the caller presents the surface texture afterwards.
    pub fn draw(&self, target: &wgpu::TextureView, target_size: [u32; 2], view: &View) {
        self.encode_and_submit(target, target_size, view, &self.pipeline, self.target_format, &self.uniforms, None);
    }

    /// Renders the current image at 1:1 (target = image size, `view.zoom` and `view.pan`
    /// ignored) through the same shader into an offscreen `Rgba8Unorm` texture
    /// (`Rgba8UnormSrgb` if the target format is sRGB, to exercise the same compensation),
    /// and returns one gray byte per image pixel (the R channel), row-major.
    ///
    /// # Errors
    /// [`RenderError::NoImage`] if no image is set; [`RenderError::ReadBack`] if mapping fails.
    ///
    /// Natively this blocks in `Device::poll` until the GPU is done. In the browser it is fine
    /// on WebGPU; on WebGL2 the buffer map only completes when the device is polled on a later
    /// event-loop turn (or another `draw` submits), so prefer [`Renderer::read_back_with_yield`]
    /// there.
    pub async fn read_back(&self, view: &View) -> Result<Vec<u8>, RenderError> {
        self.read_back_inner::<fn() -> std::future::Ready<()>, _>(view, None).await
    }

    /// [`Renderer::read_back`] that, while the buffer map is pending, polls the device and
    /// awaits `yield_now()` between polls. In the browser pass a future that yields to the
    /// event loop (e.g. a 0 ms timeout or `requestAnimationFrame` promise); that makes the
    /// read-back complete on WebGL2 as well as WebGPU.
    ///
    /// # Errors
    /// As [`Renderer::read_back`].
    pub async fn read_back_with_yield<F, Fut>(&self, view: &View, yield_now: F) -> Result<Vec<u8>, RenderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        self.read_back_inner(view, Some(yield_now)).await
    }

    async fn read_back_inner<F, Fut>(&self, view: &View, mut yield_now: Option<F>) -> Result<Vec<u8>, RenderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let state = self.image.as_ref().ok_or(RenderError::NoImage)?;
        let (width, height) = (state.width, state.height);
        let (format, pipeline) = match &self.readback {
            Some((format, pipeline)) => (*format, pipeline),
            None => (self.target_format, &self.pipeline),
        };
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
        let one_to_one = View { zoom: 1.0, pan: [0.0, 0.0], ..*view };
        self.encode_and_submit(
            &target,
            [width, height],
            &one_to_one,
            pipeline,
            format,
            &self.readback_uniforms,
            Some((&offscreen, &buffer, padded)),
        );

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

        let mut gray = Vec::with_capacity(width as usize * height as usize);
        {
            let mapped = buffer.get_mapped_range(..).map_err(|e| RenderError::ReadBack(e.to_string()))?;
            for row in mapped.chunks_exact(padded as usize) {
                gray.extend(row[..unpadded as usize].chunks_exact(4).map(|px| px[0]));
            }
        }
        buffer.unmap();
        buffer.destroy();
        offscreen.destroy();
        // Rgba8/Bgra8 swap only matters for R vs B; gray has R == G == B.
        Ok(gray)
    }

    fn make_bind_group(&self, view: &wgpu::TextureView, uniforms: &wgpu::Buffer) -> wgpu::BindGroup {
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("obscura-render bind group"),
            layout: &self.bind_group_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniforms.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(view) },
            ],
        })
    }

    fn params(&self, target_size: [u32; 2], view: &View, format: wgpu::TextureFormat) -> Params {
        let (mut quad, voi, signed) = match &self.image {
            Some(s) => (
                quad_transform([s.width, s.height], target_size, view.zoom, view.pan),
                [view.window.center, effective_width(view.window.width), s.slope, s.intercept],
                s.signed,
            ),
            None => ([0.0; 4], [0.0; 4], false),
        };
        if quad.iter().any(|v| !v.is_finite()) {
            quad = [0.0; 4];
        }
        Params { quad, voi, flags: [u32::from(signed), u32::from(view.invert), u32::from(format.is_srgb()), 0] }
    }

    #[allow(clippy::too_many_arguments)]
    fn encode_and_submit(
        &self,
        target: &wgpu::TextureView,
        target_size: [u32; 2],
        view: &View,
        pipeline: &wgpu::RenderPipeline,
        format: wgpu::TextureFormat,
        uniforms: &wgpu::Buffer,
        copy_out: Option<(&wgpu::Texture, &wgpu::Buffer, u32)>,
    ) {
        let params = self.params(target_size, view, format);
        self.queue.write_buffer(uniforms, 0, bytemuck::bytes_of(&params));
        let bind_group = self.image.as_ref().map(|state| {
            if std::ptr::eq(uniforms, &self.uniforms) {
                &state.bind_group
            } else {
                &state.readback_bind_group
            }
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
            if let Some(bind_group) = &bind_group {
                if params.quad != [0.0; 4] {
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, *bind_group, &[]);
                    pass.draw(0..6, 0..1);
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

fn write_r16(queue: &wgpu::Queue, texture: &wgpu::Texture, bytes: &[u8], width: u32, height: u32) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        bytes,
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(width * 2), rows_per_image: Some(height) },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
}

/// The image quad in NDC: `[half_extent_x, half_extent_y, centre_x, centre_y]`.
/// Zoom 1 fits the image in the target keeping the aspect ratio; pan is in target pixels,
/// y down.
fn quad_transform(image: [u32; 2], target: [u32; 2], zoom: f32, pan: [f32; 2]) -> [f32; 4] {
    let (iw, ih) = (image[0] as f32, image[1] as f32);
    let (tw, th) = (target[0].max(1) as f32, target[1].max(1) as f32);
    let scale = (tw / iw).min(th / ih) * zoom;
    [iw * scale / tw, ih * scale / th, 2.0 * pan[0] / tw, -2.0 * pan[1] / th]
}

/// Creates a renderer on a headless device (all native backends, or those named in the
/// `WGPU_BACKEND` environment variable; a software adapter such as lavapipe is fine) targeting `Rgba8Unorm`, for tests and the CLI. The device is requested
/// with [`required_limits`] and no features, i.e. as constrained as in a WebGL2 browser.
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
    fn quad_fits_and_centres() {
        // Square image in a wide target: full height, half width.
        assert_eq!(quad_transform([100, 100], [200, 100], 1.0, [0.0, 0.0]), [0.5, 1.0, 0.0, 0.0]);
        // 1:1.
        assert_eq!(quad_transform([511, 257], [511, 257], 1.0, [0.0, 0.0]), [1.0, 1.0, 0.0, 0.0]);
        // Zoom 2, pan right/down by a quarter of the target.
        assert_eq!(quad_transform([100, 100], [100, 100], 2.0, [25.0, 25.0]), [2.0, 2.0, 0.5, -0.5]);
    }

    #[test]
    fn voi_linear_matches_the_standard() {
        let w = Window { center: 2048.0, width: 4096.0 };
        assert_eq!(voi_linear(0.0, w), ((0.0 - 2047.5) / 4095.0 + 0.5) * 255.0);
        assert_eq!(voi_linear(-1.0, w), 0.0);
        assert_eq!(voi_linear(5000.0, w), 255.0);
        // Width 1 is a threshold at c - 0.5.
        let t = Window { center: 100.5, width: 1.0 };
        assert_eq!(voi_linear(100.0, t), 0.0);
        assert_eq!(voi_linear(101.0, t), 255.0);
    }

    #[test]
    fn cpu_reference_signed_and_invert() {
        let px = [(-1024i16) as u16, 0, 2100];
        let img = GrayImage {
            width: 3,
            height: 1,
            pixels: &px,
            signed: true,
            rescale_slope: 1.0,
            rescale_intercept: -1024.0,
        };
        let w = Window { center: -1024.0, width: 2048.0 };
        // -2048 -> 0, -1024 -> ~128, 1076 -> 255
        assert_eq!(cpu_reference(&img, w, false), vec![0, 128, 255]);
        assert_eq!(cpu_reference(&img, w, true), vec![255, 127, 0]);
    }

    #[test]
    fn surface_format_choice() {
        use wgpu::TextureFormat as F;
        assert_eq!(pick_surface_format(&[F::Bgra8UnormSrgb, F::Bgra8Unorm]), F::Bgra8Unorm);
        assert_eq!(pick_surface_format(&[F::Rgba8UnormSrgb]), F::Rgba8UnormSrgb);
        assert_eq!(pick_surface_format(&[F::Rgba16Float, F::Rgba8UnormSrgb]), F::Rgba8UnormSrgb);
        assert_eq!(pick_surface_format(&[]), F::Rgba8Unorm);
    }
}
