//! GPU tests on a headless (software) adapter. They fail, never skip, when no adapter exists.

use obscura_render::{cpu_reference, headless, headless_with_format, GrayImage, RenderError, Renderer, View, Window};
use std::sync::Mutex;

/// Serialise GPU tests: lavapipe on two shared cores is slow, and parallel devices only add
/// contention.
static GPU: Mutex<()> = Mutex::new(());

fn renderer(format: wgpu::TextureFormat) -> Renderer {
    match pollster::block_on(headless_with_format(format)) {
        Ok(r) => r,
        Err(e) => panic!(
            "GPU tests need an adapter: {e}\n\
             Install a software Vulkan driver: apt-get install -y mesa-vulkan-drivers libvulkan1"
        ),
    }
}

/// Deterministic pseudo-random generator (xorshift) for test images.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Signed CT-like image: every i16 value appears (stored -32768..=32767), plus a ramp.
fn ct_pixels(width: u32, height: u32) -> Vec<u16> {
    let n = (width * height) as usize;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    (0..n)
        .map(|i| {
            if i < 65536 {
                // Every bit pattern once (covers the whole signed range).
                (i as u32 * 40503 % 65536) as u16
            } else {
                // Dense around typical HU: stored 0..4096 (HU -1024..3072).
                (rng.next() % 4096) as u16
            }
        })
        .collect()
}

/// Unsigned 12-bit MR-like image.
fn mr_pixels(width: u32, height: u32) -> Vec<u16> {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    (0..width * height).map(|i| if i < 4096 { i as u16 } else { (rng.next() % 4096) as u16 }).collect()
}

fn compare(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut bad = 0usize;
    let mut first = None;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.abs_diff(*w) > 1 {
            bad += 1;
            first.get_or_insert((i, *g, *w));
        }
    }
    assert_eq!(bad, 0, "{what}: {bad} pixels differ by more than 1, first (index, gpu, cpu) = {first:?}");
}

fn check_windows(r: &mut Renderer, img: &GrayImage, windows: &[Window], label: &str) {
    r.set_image(img).expect("set_image");
    assert!(r.has_image());
    for &window in windows {
        for invert in [false, true] {
            let view = View { window, invert, zoom: 1.0, pan: [0.0, 0.0] };
            let got = pollster::block_on(r.read_back(&view)).expect("read_back");
            let want = cpu_reference(img, window, invert);
            compare(&got, &want, &format!("{label} window {window:?} invert {invert}"));
        }
    }
}

fn ct_windows() -> Vec<Window> {
    vec![
        Window { center: 40.0, width: 80.0 },     // brain (narrow)
        Window { center: 40.0, width: 400.0 },    // soft tissue
        Window { center: -600.0, width: 1500.0 }, // lung
        Window { center: 0.0, width: 70000.0 },   // wider than the whole range
        Window { center: 40.5, width: 1.0 },      // threshold
        Window { center: 100.0, width: 1.0 },     // threshold, integer centre
        Window { center: -33792.0, width: 2.0 },  // centre at the bottom extreme
        Window { center: 31743.0, width: 10.0 },  // centre at the top extreme
        Window { center: 40.0, width: 0.0 },      // invalid width, treated as 1
    ]
}

fn mr_windows() -> Vec<Window> {
    vec![
        Window { center: 2048.0, width: 4096.0 },
        Window { center: 600.0, width: 300.0 },
        Window { center: 0.0, width: 1.0 },
        Window { center: 4095.0, width: 1.0 },
        Window { center: 4095.0, width: 100.0 },
        Window { center: 1000.25, width: 3.5 },
    ]
}

#[test]
fn signed_ct_matches_cpu_reference() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let px = ct_pixels(512, 160);
    let img = GrayImage {
        width: 512,
        height: 160,
        pixels: &px,
        signed: true,
        rescale_slope: 1.0,
        rescale_intercept: -1024.0,
    };
    check_windows(&mut r, &img, &ct_windows(), "CT");
}

#[test]
fn unsigned_mr_odd_size_matches_cpu_reference() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let px = mr_pixels(511, 257);
    let img =
        GrayImage { width: 511, height: 257, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    check_windows(&mut r, &img, &mr_windows(), "MR 511x257");
    // Non-trivial rescale on the same texture (size unchanged: texture reused).
    let img2 = GrayImage { rescale_slope: 0.5, rescale_intercept: 10.0, ..img };
    check_windows(&mut r, &img2, &[Window { center: 500.0, width: 700.0 }], "MR rescaled");
}

#[test]
fn tiny_and_thin_images() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    for (w, h) in [(1, 1), (3, 1), (1, 5), (63, 2), (65, 3)] {
        let px = mr_pixels(w, h);
        let img =
            GrayImage { width: w, height: h, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
        check_windows(&mut r, &img, &[Window { center: 2048.0, width: 4096.0 }], &format!("{w}x{h}"));
    }
}

#[test]
fn srgb_target_still_writes_the_voi_code() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8UnormSrgb);
    // Every 8-bit output code: stored 0..=255 with the identity window.
    let px: Vec<u16> = (0..256u16 * 4).map(|i| i % 256).collect();
    let img =
        GrayImage { width: 256, height: 4, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    check_windows(
        &mut r,
        &img,
        &[Window { center: 128.0, width: 256.0 }, Window { center: 127.5, width: 256.0 }],
        "sRGB identity",
    );
    let px = mr_pixels(257, 33);
    let img =
        GrayImage { width: 257, height: 33, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    check_windows(&mut r, &img, &mr_windows(), "sRGB MR");
}

#[test]
fn bgra_target_reads_back() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Bgra8Unorm);
    let px = mr_pixels(100, 50);
    let img =
        GrayImage { width: 100, height: 50, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    check_windows(&mut r, &img, &mr_windows(), "BGRA target");
}

/// Renders with `draw` into an offscreen target of another size and returns the R bytes.
fn draw_offscreen(r: &Renderer, size: [u32; 2], view: &View) -> Vec<u8> {
    let device = r.device();
    let tex = device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d { width: size[0], height: size[1], depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let tv = tex.create_view(&Default::default());
    r.draw(&tv, size, view);
    let padded = (size[0] * 4).div_ceil(256) * 256;
    let buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(padded * size[1]),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut enc = device.create_command_encoder(&Default::default());
    enc.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture: &tex,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer: &buf,
            layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(padded), rows_per_image: None },
        },
        wgpu::Extent3d { width: size[0], height: size[1], depth_or_array_layers: 1 },
    );
    r.queue().submit(Some(enc.finish()));
    buf.map_async(wgpu::MapMode::Read, .., |res| res.expect("map"));
    device.poll(wgpu::PollType::wait_indefinitely()).expect("poll");
    let data = buf.get_mapped_range(..).expect("mapped");
    data.chunks_exact(padded as usize)
        .flat_map(|row| row[..size[0] as usize * 4].chunks_exact(4).map(|p| p[0]).collect::<Vec<_>>())
        .collect()
}

#[test]
fn draw_fits_centres_zooms_and_pans() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    // 4x2 image, all white under the identity window.
    let px = vec![255u16; 8];
    let img = GrayImage { width: 4, height: 2, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    r.set_image(&img).unwrap();
    let view = View::default();
    // Target 8x8: image fits as 8x4, centred vertically: rows 2..6 white.
    let out = draw_offscreen(&r, [8, 8], &view);
    for y in 0..8 {
        for x in 0..8 {
            let want = if (2..6).contains(&y) { 255 } else { 0 };
            assert_eq!(out[y * 8 + x], want, "fit: pixel ({x},{y})");
        }
    }
    // Zoom 0.5: 4x2 in the centre: x 2..6, y 3..5.
    let out = draw_offscreen(&r, [8, 8], &View { zoom: 0.5, ..view });
    for y in 0..8 {
        for x in 0..8 {
            let want = if (2..6).contains(&x) && (3..5).contains(&y) { 255 } else { 0 };
            assert_eq!(out[y * 8 + x], want, "zoom: pixel ({x},{y})");
        }
    }
    // Zoom 0.5, pan (+2, -1): x 4..8, y 2..4.
    let out = draw_offscreen(&r, [8, 8], &View { zoom: 0.5, pan: [2.0, -1.0], ..view });
    for y in 0..8 {
        for x in 0..8 {
            let want = if (4..8).contains(&x) && (2..4).contains(&y) { 255 } else { 0 };
            assert_eq!(out[y * 8 + x], want, "pan: pixel ({x},{y})");
        }
    }
    // Nearest magnification keeps pixel values: a gradient image, zoom fit 2x.
    let px: Vec<u16> = (0..8u16).map(|i| i * 30).collect();
    let img = GrayImage { width: 4, height: 2, pixels: &px, ..img };
    r.set_image(&img).unwrap();
    let out = draw_offscreen(&r, [8, 4], &view);
    for y in 0..4 {
        for x in 0..8 {
            assert_eq!(out[y * 8 + x], px[(y / 2) * 4 + x / 2] as u8, "magnified (identity window): pixel ({x},{y})");
        }
    }
}

#[test]
fn clear_image_leaves_black() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let px = vec![4000u16; 64 * 32];
    let img =
        GrayImage { width: 64, height: 32, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    r.set_image(&img).unwrap();
    let view = View { window: Window { center: 0.0, width: 10.0 }, ..View::default() };
    assert!(pollster::block_on(r.read_back(&view)).unwrap().iter().all(|&v| v == 255));
    assert!(draw_offscreen(&r, [40, 40], &view).contains(&255));
    r.clear_image();
    assert!(!r.has_image());
    assert!(matches!(pollster::block_on(r.read_back(&view)), Err(RenderError::NoImage)));
    assert!(draw_offscreen(&r, [40, 40], &view).iter().all(|&v| v == 0));
    // The yielding variant gives the same bytes.
    let a = pollster::block_on(r.read_back(&view));
    assert!(a.is_err());
    // Clearing twice is harmless; a new image works afterwards.
    r.clear_image();
    r.set_image(&img).unwrap();
    assert_eq!(pollster::block_on(r.read_back(&view)).unwrap().len(), 64 * 32);
    let mut yields = 0;
    let b = pollster::block_on(r.read_back_with_yield(&view, || {
        yields += 1;
        std::future::ready(())
    }))
    .unwrap();
    assert_eq!(b, pollster::block_on(r.read_back(&view)).unwrap());
}

#[test]
fn size_change_recreates_texture_and_bad_input_is_rejected() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let px = mr_pixels(30, 20);
    let img =
        GrayImage { width: 30, height: 20, pixels: &px, signed: false, rescale_slope: 1.0, rescale_intercept: 0.0 };
    check_windows(&mut r, &img, &[Window { center: 2048.0, width: 4096.0 }], "30x20");
    let px2 = mr_pixels(20, 30);
    let img2 = GrayImage { width: 20, height: 30, pixels: &px2, ..img };
    check_windows(&mut r, &img2, &[Window { center: 2048.0, width: 4096.0 }], "20x30");
    assert_eq!(r.image_size(), Some([20, 30]));
    let short = GrayImage { width: 21, ..img2 };
    assert!(matches!(r.set_image(&short), Err(RenderError::PixelCount { .. })));
    let empty = GrayImage { width: 0, height: 0, pixels: &[], ..img2 };
    assert!(matches!(r.set_image(&empty), Err(RenderError::EmptyImage { .. })));
    // The previous image survives a rejected one.
    assert_eq!(r.image_size(), Some([20, 30]));
}

#[test]
fn headless_default_is_rgba8unorm() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let r = pollster::block_on(headless()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.target_format(), wgpu::TextureFormat::Rgba8Unorm);
    assert!(!r.has_image());
}

#[test]
fn report_adapter() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let info = r.device().adapter_info();
    eprintln!("adapter: {} ({:?}, {:?}, driver {})", info.name, info.backend, info.device_type, info.driver);
}
