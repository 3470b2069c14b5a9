//! The renderer in the page, on WebGPU and on WebGL2 (wgpu's `BROWSER_WEBGPU` and `GL` backends,
//! each on its own canvas): a few of the native render tests' cases (`crates/render/tests/gpu.rs`),
//! read back and compared with the CPU reference (`imaging::display` through
//! `render::reference_rgb8`) ±1, and two panes on one target.

use obscura_imaging::display::{Interpolation, Voi};
use obscura_imaging::{DecodedImage, Frame, Lut, Palette, Photometric, VoiFunction, Window};
use obscura_render::{reference_rgb8, Image, Overlay, PaneDraw, Renderer, Shape, Space, Transform, View};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

/// A renderer on a fresh canvas with only `backends` enabled; the surface is kept alive with it
/// (WebGL2's context belongs to the canvas).
struct OnCanvas {
    renderer: Renderer,
    _surface: wgpu::Surface<'static>,
}

async fn renderer_on(backends: wgpu::Backends, expected: wgpu::Backend) -> OnCanvas {
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document.create_element("canvas").unwrap().unchecked_into();
    canvas.set_width(64);
    canvas.set_height(64);
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    let instance = wgpu::Instance::new(desc);
    let surface = instance.create_surface(wgpu::SurfaceTarget::Canvas(canvas)).expect("a surface on the canvas");
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions { compatible_surface: Some(&surface), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("no {expected:?} adapter in this browser: {e}"));
    assert_eq!(adapter.get_info().backend, expected, "the adapter must be the backend under test");
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            required_limits: obscura_render::required_limits(&adapter.limits()),
            ..Default::default()
        })
        .await
        .expect("a device");
    let format = obscura_render::pick_surface_format(&surface.get_capabilities(&adapter).formats);
    OnCanvas { renderer: Renderer::new(device, queue, format), _surface: surface }
}

async fn yield_to_event_loop() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn image(columns: u32, rows: u32, photometric: Photometric, frame: Frame) -> DecodedImage {
    DecodedImage {
        rows,
        columns,
        samples_per_pixel: if photometric == Photometric::Rgb { 3 } else { 1 },
        photometric,
        bits_allocated: if matches!(frame, Frame::U8(_)) { 8 } else { 16 },
        bits_stored: if matches!(frame, Frame::U8(_)) { 8 } else { 16 },
        signed: false,
        rescale_slope: 1.0,
        rescale_intercept: 0.0,
        modality_lut: None,
        windows: Vec::new(),
        voi_function: VoiFunction::Linear,
        voi_luts: Vec::new(),
        presentation_lut_shape: None,
        palette: None,
        frames: vec![frame],
    }
}

/// Signed CT-like values: every i16 bit pattern once when the image is large enough, then a ramp.
fn ct(width: u32, height: u32) -> DecodedImage {
    let px = (0..width * height)
        .map(|i| if i < 65536 { (i * 40503 % 65536) as u16 } else { (i * 7 % 4096) as u16 })
        .collect();
    let mut img = image(width, height, Photometric::Monochrome2, Frame::U16(px));
    img.signed = true;
    img.rescale_intercept = -1024.0;
    img
}

fn window(center: f64, width: f64, f: VoiFunction) -> Voi<'static> {
    Voi::Window(Window { center, width }, f)
}

fn compare(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let bad = got.iter().zip(want).filter(|(g, w)| g.abs_diff(**w) > 1).count();
    let first = got.iter().zip(want).position(|(g, w)| g.abs_diff(*w) > 1).map(|i| (i, got[i], want[i]));
    assert_eq!(bad, 0, "{what}: {bad} samples differ by more than 1, first (index, gpu, cpu) = {first:?}");
}

async fn check(
    r: &mut Renderer,
    img: &DecodedImage,
    vois: &[Voi<'_>],
    interpolation: Interpolation,
    scale: u32,
    label: &str,
) {
    r.set_image(&Image::from_decoded(img, 0).expect("displayable")).expect("set_image");
    let s = scale as f32;
    let transform = Transform([[s, 0.0, 0.0], [0.0, s, 0.0]]);
    let size = [img.columns * scale, img.rows * scale];
    for &voi in vois {
        for invert in [false, true] {
            let view = View { voi, invert, interpolation, transform, background: [0, 0, 0] };
            let got = r.read_back_with_yield(&view, &[], size, yield_to_event_loop).await.expect("read back");
            compare(&got, &reference_rgb8(img, 0, &view, size), &format!("{label}: {voi:?} invert {invert}"));
        }
    }
}

async fn the_same_cases(backends: wgpu::Backends, expected: wgpu::Backend) {
    let mut on = renderer_on(backends, expected).await;
    let r = &mut on.renderer;
    let what = format!("{expected:?}");

    let img = ct(300, 230);
    let windows = [
        window(40.0, 400.0, VoiFunction::Linear),
        window(-600.0, 1500.0, VoiFunction::Linear),
        window(40.5, 1.0, VoiFunction::Linear),
        // At the bottom of the signed range: sign extension off by one shows here.
        window(-33792.0, 2.0, VoiFunction::Linear),
        window(40.0, 80.0, VoiFunction::LinearExact),
        window(-600.0, 1500.0, VoiFunction::Sigmoid),
    ];
    check(r, &img, &windows, Interpolation::Nearest, 1, &format!("{what} CT")).await;
    let lut = Lut { first_mapped: -1024, bits: 16, data: (0..4096u32).map(|i| (i * i / 256) as u16).collect() };
    check(r, &img, &[Voi::Lut(&lut)], Interpolation::Nearest, 1, &format!("{what} CT VOI LUT")).await;

    let small = ct(64, 40);
    check(r, &small, &windows[..2], Interpolation::Bilinear, 2, &format!("{what} CT bilinear 2x")).await;

    let mut mono1 = image(64, 64, Photometric::Monochrome1, Frame::U16((0..4096).collect()));
    mono1.modality_lut =
        Some(Lut { first_mapped: 0, bits: 16, data: (0..4096u32).map(|i| (60000 - i * 13) as u16).collect() });
    check(
        r,
        &mono1,
        &[window(30000.0, 40000.0, VoiFunction::Linear)],
        Interpolation::Nearest,
        1,
        &format!("{what} MONOCHROME1 + Modality LUT"),
    )
    .await;

    let ramp = |f: fn(u32) -> u32| Lut { first_mapped: 0, bits: 16, data: (0..256).map(|i| f(i) as u16).collect() };
    let mut pal =
        image(64, 32, Photometric::PaletteColor, Frame::U8((0..64u32 * 32).map(|i| (i * 37 % 256) as u8).collect()));
    pal.palette =
        Some(Palette { red: ramp(|i| i * 257), green: ramp(|i| (255 - i) * 257), blue: ramp(|i| i * 7919 % 65536) });
    let none = [window(0.0, 1.0, VoiFunction::Linear)];
    check(r, &pal, &none, Interpolation::Bilinear, 2, &format!("{what} palette bilinear")).await;

    let rgb = image(48, 16, Photometric::Rgb, Frame::U8((0..48u32 * 16 * 3).map(|i| (i * 101 % 256) as u8).collect()));
    check(r, &rgb, &none, Interpolation::Nearest, 1, &format!("{what} RGB")).await;

    // An overlay line in target pixels: x 3..21, y 9..11 red over the image, nothing else changes.
    let flat = image(16, 16, Photometric::Monochrome2, Frame::U16(vec![100; 256]));
    r.set_image(&Image::from_decoded(&flat, 0).unwrap()).unwrap();
    let view = View { transform: Transform([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), ..View::default() };
    let line = Overlay {
        shape: Shape::Line { from: [4.0, 10.0], to: [20.0, 10.0] },
        space: Space::Target,
        colour: [255, 0, 0, 255],
        width: 2.0,
    };
    let got = r.read_back_with_yield(&view, &[line], [32, 32], yield_to_event_loop).await.unwrap();
    for y in 0..32usize {
        for x in 0..32usize {
            let want = if (3..21).contains(&x) && (9..11).contains(&y) { [255, 0, 0] } else { [100; 3] };
            let px = &got[(y * 32 + x) * 3..][..3];
            assert!(px.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 1), "{what} overlay: pixel ({x},{y}) = {px:?}");
        }
    }

    // Two panes on one target (a 1×2 layout with a 4 px gap): each equals its own reference
    // inside its rectangle, black elsewhere. Pane 0's image (x 4..64) runs through the gap into
    // pane 1, where the scissor must cut it.
    let wide = ct(60, 30);
    r.set_pane_image(0, &Image::from_decoded(&wide, 0).unwrap()).unwrap();
    r.set_pane_image(1, &Image::from_decoded(&rgb, 0).unwrap()).unwrap();
    let size = [100, 40];
    let rects = [[0u32, 0, 48, 40], [52, 0, 48, 40]];
    let view0 = View {
        voi: windows[0],
        transform: Transform([[1.0, 0.0, 4.0], [0.0, 1.0, 5.0]]),
        background: [10, 20, 30],
        ..View::default()
    };
    let view1 = View {
        voi: none[0],
        invert: true,
        transform: Transform([[1.0, 0.0, 52.0], [0.0, 1.0, 12.0]]),
        background: [0, 0, 90],
        ..View::default()
    };
    let panes = [
        PaneDraw { pane: 0, rect: rects[0], view: &view0, overlays: &[] },
        PaneDraw { pane: 1, rect: rects[1], view: &view1, overlays: &[] },
    ];
    let got = r.read_back_panes_with_yield(&panes, size, yield_to_event_loop).await.expect("read back panes");
    let want = [reference_rgb8(&wide, 0, &view0, size), reference_rgb8(&rgb, 0, &view1, size)];
    for y in 0..size[1] {
        for x in 0..size[0] {
            let i = (y * size[0] + x) as usize * 3;
            let inside = |r: [u32; 4]| (r[0]..r[0] + r[2]).contains(&x) && (r[1]..r[1] + r[3]).contains(&y);
            let expected = match rects.iter().position(|&r| inside(r)) {
                Some(pane) => &want[pane][i..i + 3],
                None => &[0u8; 3][..],
            };
            let px = &got[i..i + 3];
            assert!(
                px.iter().zip(expected).all(|(g, w)| g.abs_diff(*w) <= 1),
                "{what} panes: pixel ({x},{y}) = {px:?}, want {expected:?}"
            );
        }
    }
    r.clear_image();
}

#[wasm_bindgen_test]
async fn render_on_webgpu_matches_the_cpu_reference() {
    the_same_cases(wgpu::Backends::BROWSER_WEBGPU, wgpu::Backend::BrowserWebGpu).await;
}

#[wasm_bindgen_test]
async fn render_on_webgl2_matches_the_cpu_reference() {
    the_same_cases(wgpu::Backends::GL, wgpu::Backend::Gl).await;
}
