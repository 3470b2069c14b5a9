//! The canvas, the wgpu device and `obscura-render`'s renderer.
//!
//! WebGPU is used where the browser offers it, WebGL2 otherwise (chosen at run time by
//! `wgpu::util::new_instance_with_webgpu_detection`); `?gpu=webgl` in the page URL forces WebGL2.
//!
//! The drawing buffer is the canvas's CSS size × devicePixelRatio (device pixels), so the image
//! and overlays are crisp. A lost device (WebGPU) or context (WebGL2) shows in [`Gpu::is_lost`];
//! the app then builds a new `Gpu` on the same canvas and uploads the current slice again from
//! the decoded pixels it keeps in memory.

use std::cell::Cell;
use std::rc::Rc;

use obscura_render::{Image, PaneDraw, Renderer, Transform, View};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

/// Which browser graphics API draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// WebGPU.
    WebGpu,
    /// WebGL2 through wgpu's GL backend.
    WebGl2,
}

/// The canvas surface and the renderer drawing into it.
pub struct Gpu {
    canvas: HtmlCanvasElement,
    surface: wgpu::Surface<'static>,
    device: wgpu::Device,
    config: wgpu::SurfaceConfiguration,
    renderer: Renderer,
    /// The API in use.
    pub backend: Backend,
    /// Set by the canvas's `webglcontextlost` event (wgpu does not report a lost WebGL context).
    context_lost: Rc<Cell<bool>>,
    _context_lost_handler: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Gpu {
    fn drop(&mut self) {
        let _ = self.canvas.remove_event_listener_with_callback(
            "webglcontextlost",
            self._context_lost_handler.as_ref().unchecked_ref(),
        );
    }
}

impl Gpu {
    /// Sets up the GPU on `canvas`.
    pub async fn new(canvas: HtmlCanvasElement, force_webgl: bool) -> Result<Gpu, String> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends =
            if force_webgl { wgpu::Backends::GL } else { wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::GL };
        let instance = wgpu::util::new_instance_with_webgpu_detection(desc).await;
        let surface = instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
            .map_err(|e| format!("cannot draw on the canvas: {e}"))?;
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                compatible_surface: Some(&surface),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("no WebGPU or WebGL2 adapter: {e}"))?;
        let backend =
            if adapter.get_info().backend == wgpu::Backend::BrowserWebGpu { Backend::WebGpu } else { Backend::WebGl2 };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("obscura"),
                required_limits: obscura_render::required_limits(&adapter.limits()),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot open the GPU device: {e}"))?;
        let (w, h) = (canvas.width().max(1), canvas.height().max(1));
        let caps = surface.get_capabilities(&adapter);
        let format = obscura_render::pick_surface_format(&caps.formats);
        let mut config =
            surface.get_default_config(&adapter, w, h).ok_or("the canvas cannot be drawn on by this GPU adapter")?;
        config.format = format;
        config.usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        config.view_formats = vec![];
        surface.configure(&device, &config);
        let renderer = Renderer::new(device.clone(), queue, format);
        let context_lost = Rc::new(Cell::new(false));
        let flag = context_lost.clone();
        let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            // Ask the browser to restore the context; the app then rebuilds the Gpu on it.
            e.prevent_default();
            flag.set(true);
        });
        let _ = canvas.add_event_listener_with_callback("webglcontextlost", handler.as_ref().unchecked_ref());
        Ok(Gpu { canvas, surface, device, config, renderer, backend, context_lost, _context_lost_handler: handler })
    }

    /// Whether the device or the WebGL context is lost: drawing shows nothing any more, a new
    /// `Gpu` is needed.
    pub fn is_lost(&self) -> bool {
        self.context_lost.get() || self.renderer.is_lost()
    }

    /// Test hook: destroys the device, as a GPU reset or driver crash would lose it.
    pub fn destroy_device(&self) {
        self.device.destroy();
    }

    /// Whether a new `Gpu` can be built on `canvas` now: not while its WebGL context is still
    /// lost (glow panics on a lost context); the browser restores it some time after the loss.
    pub fn canvas_ready(canvas: &HtmlCanvasElement) -> bool {
        match canvas.get_context("webgl2") {
            Ok(Some(gl)) => !gl.unchecked_into::<web_sys::WebGl2RenderingContext>().is_context_lost(),
            // no WebGL2 context on it (a WebGPU one, or none yet)
            _ => true,
        }
    }

    /// The canvas drawn on (to build a new `Gpu` after a loss).
    pub fn canvas(&self) -> &HtmlCanvasElement {
        &self.canvas
    }

    /// Matches the drawing buffer to the canvas's CSS size × devicePixelRatio.
    pub fn fit_to_css_size(&mut self) {
        let dpr = web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0);
        let rect = self.canvas.get_bounding_client_rect();
        let w = ((rect.width() * dpr).round() as u32).clamp(1, 8192);
        let h = ((rect.height() * dpr).round() as u32).clamp(1, 8192);
        if w != self.config.width || h != self.config.height {
            self.canvas.set_width(w);
            self.canvas.set_height(h);
            self.config.width = w;
            self.config.height = h;
            self.surface.configure(&self.device, &self.config);
        }
    }

    /// Uploads a slice into pane `pane`'s slot; on failure the slot is cleared, so nothing that
    /// does not belong to the pane's current slice stays on screen.
    pub fn set_pane_image(&mut self, pane: usize, image: &Image) -> Result<(), String> {
        if let Err(e) = self.renderer.set_pane_image(pane, image) {
            self.renderer.clear_pane(pane);
            return Err(e.to_string());
        }
        Ok(())
    }

    /// Removes pane `pane`'s image (zeroed, then destroyed).
    pub fn clear_pane(&mut self, pane: usize) {
        self.renderer.clear_pane(pane);
    }

    /// The size of pane `pane`'s image, if it holds one (test state: none after a lock).
    pub fn pane_image_size(&self, pane: usize) -> Option<[u32; 2]> {
        self.renderer.pane_image_size(pane)
    }

    /// Removes every pane's image (closing a study, locking).
    pub fn clear_all(&mut self) {
        self.renderer.clear_image();
    }

    /// Draws one frame: every pane in its rectangle (device px; each view's transform maps image
    /// px to absolute canvas px).
    pub fn draw_panes(&mut self, panes: &[PaneDraw]) {
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f) | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            _ => {
                self.surface.configure(&self.device, &self.config);
                return;
            }
        };
        let target = frame.texture.create_view(&wgpu::TextureViewDescriptor::default());
        let size = [self.config.width, self.config.height];
        self.renderer.draw_panes(&target, size, panes);
        self.renderer.queue().present(frame);
    }

    /// Pane `pane`'s image rendered at 1:1 into a target of its own size with `view` (its
    /// transform is replaced by the identity): interleaved RGB. For tests.
    pub async fn read_back_pane<F, Fut>(
        &mut self,
        pane: usize,
        view: &View<'_>,
        yield_now: F,
    ) -> Result<Vec<u8>, String>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let size = self.renderer.pane_image_size(pane).ok_or("the pane shows no image")?;
        let view = View { transform: Transform::IDENTITY, ..*view };
        let draw = PaneDraw { pane, rect: [0, 0, size[0], size[1]], view: &view, overlays: &[] };
        // WebGL2 maps buffers only when polled on a later turn of the event loop: yield to it.
        self.renderer.read_back_panes_with_yield(&[draw], size, yield_now).await.map_err(|e| e.to_string())
    }

    /// The renderer (for read-back in tests).
    pub fn renderer_mut(&mut self) -> &mut Renderer {
        &mut self.renderer
    }
}
