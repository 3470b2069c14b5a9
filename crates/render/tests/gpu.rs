//! GPU tests on a headless (software) adapter: for images × windows × LUT shapes, the read-back
//! equals `obscura_imaging::display` (the CPU reference of the DICOM display pipeline) ±1.
//! They fail, never skip, when no adapter exists.

use obscura_imaging::display::{rgb8_at, Interpolation, Voi};
use obscura_imaging::{DecodedImage, Frame, Lut, Palette, Photometric, PresentationLutShape, VoiFunction, Window};
use obscura_render::{
    headless, headless_with_format, reference_rgb8, Image, Overlay, PaneDraw, Pixels, RenderError, Renderer, Shape,
    Space, Transform, View, MAX_PANES,
};
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

fn image(columns: u32, rows: u32, photometric: Photometric, frame: Frame) -> DecodedImage {
    DecodedImage {
        rows,
        columns,
        samples_per_pixel: if photometric == Photometric::Rgb { 3 } else { 1 },
        photometric,
        bits_allocated: match frame {
            Frame::U8(_) => 8,
            Frame::U16(_) => 16,
            Frame::U32(_) => 32,
        },
        bits_stored: 16,
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

/// Signed CT-like image: every i16 bit pattern once, then dense around typical HU (stored
/// 0..4096, HU -1024..3072 with the intercept).
fn ct(width: u32, height: u32) -> DecodedImage {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let px = (0..(width * height) as usize)
        .map(|i| if i < 65536 { (i as u32 * 40503 % 65536) as u16 } else { (rng.next() % 4096) as u16 })
        .collect();
    let mut img = image(width, height, Photometric::Monochrome2, Frame::U16(px));
    img.signed = true;
    img.rescale_intercept = -1024.0;
    img
}

/// Unsigned 12-bit MR-like image.
fn mr(width: u32, height: u32) -> DecodedImage {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let px = (0..width * height).map(|i| if i < 4096 { i as u16 } else { (rng.next() % 4096) as u16 }).collect();
    let mut img = image(width, height, Photometric::Monochrome2, Frame::U16(px));
    img.bits_stored = 12;
    img
}

fn window(center: f64, width: f64, f: VoiFunction) -> Voi<'static> {
    Voi::Window(Window { center, width }, f)
}

fn compare(got: &[u8], want: &[u8], width: u32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut bad = 0usize;
    let mut first = None;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.abs_diff(*w) > 1 {
            bad += 1;
            let px = i / 3;
            first.get_or_insert((px as u32 % width, px as u32 / width, i % 3, *g, *w));
        }
    }
    assert_eq!(bad, 0, "{what}: {bad} samples differ by more than 1, first (x, y, channel, gpu, cpu) = {first:?}");
}

/// Renders `img` with every VOI in `vois`, inverted and not, through `transform` into a target
/// of `size`, and compares with the CPU reference.
fn check(
    r: &mut Renderer,
    img: &DecodedImage,
    vois: &[Voi],
    interpolation: Interpolation,
    transform: Transform,
    size: [u32; 2],
    label: &str,
) {
    r.set_image(&Image::from_decoded(img, 0).expect("displayable")).expect("set_image");
    assert!(r.has_image());
    for &voi in vois {
        for invert in [false, true] {
            let view = View { voi, invert, interpolation, transform, background: [7, 8, 9] };
            let got = pollster::block_on(r.read_back(&view, &[], size)).expect("read_back");
            compare(&got, &reference_rgb8(img, 0, &view, size), size[0], &format!("{label}: {voi:?} invert {invert}"));
        }
    }
}

/// 1:1, nearest.
fn check_1to1(r: &mut Renderer, img: &DecodedImage, vois: &[Voi], label: &str) {
    check(r, img, vois, Interpolation::Nearest, Transform::IDENTITY, [img.columns, img.rows], label);
}

/// 2× magnification, bilinear: target pixel centres sample the image at x.25 / x.75, where the
/// weights are exact in f32 and f64 alike.
fn check_bilinear_2x(r: &mut Renderer, img: &DecodedImage, vois: &[Voi], label: &str) {
    let t = Transform([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]);
    check(r, img, vois, Interpolation::Bilinear, t, [img.columns * 2, img.rows * 2], label);
}

fn ct_windows(f: VoiFunction) -> Vec<Voi<'static>> {
    [
        (40.0, 80.0),     // brain (narrow)
        (40.0, 400.0),    // soft tissue
        (-600.0, 1500.0), // lung
        (0.0, 70000.0),   // wider than the whole range
        (40.5, 1.0),      // threshold
        (100.0, 1.0),     // threshold, integer centre
        (-33792.0, 2.0),  // centre at the bottom extreme
        (31743.0, 10.0),  // centre at the top extreme
        (40.0, 0.0),      // invalid width
    ]
    .into_iter()
    .map(|(c, w)| window(c, w, f))
    .collect()
}

fn mr_windows() -> Vec<Voi<'static>> {
    [(2048.0, 4096.0), (600.0, 300.0), (0.0, 1.0), (4095.0, 1.0), (4095.0, 100.0), (1000.25, 3.5)]
        .into_iter()
        .map(|(c, w)| window(c, w, VoiFunction::Linear))
        .collect()
}

#[test]
fn signed_ct_every_window_function() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let img = ct(512, 160);
    for f in [VoiFunction::Linear, VoiFunction::LinearExact, VoiFunction::Sigmoid] {
        check_1to1(&mut r, &img, &ct_windows(f), &format!("CT {f:?}"));
    }
}

#[test]
fn unsigned_mr_odd_size_and_rescale() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let mut img = mr(511, 257);
    check_1to1(&mut r, &img, &mr_windows(), "MR 511x257");
    // Rescaled (same size: the texture is reused).
    img.rescale_slope = 0.5;
    img.rescale_intercept = 10.0;
    check_1to1(&mut r, &img, &[window(500.0, 700.0, VoiFunction::Linear)], "MR rescaled 0.5/10");
    img.rescale_slope = 0.37;
    img.rescale_intercept = -3.3;
    let vois = [window(700.0, 1400.0, VoiFunction::Linear), window(300.0, 500.0, VoiFunction::Sigmoid)];
    check_1to1(&mut r, &img, &vois, "MR rescaled 0.37/-3.3");
}

#[test]
fn eight_bit_signed_and_unsigned_gray() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let px: Vec<u8> = (0..=255u8).cycle().take(64 * 8).collect();
    let mut img = image(64, 8, Photometric::Monochrome2, Frame::U8(px));
    img.bits_stored = 8;
    let vois = [window(128.0, 256.0, VoiFunction::Linear), window(0.0, 100.0, VoiFunction::Linear)];
    check_1to1(&mut r, &img, &vois, "8-bit unsigned");
    img.signed = true;
    check_1to1(&mut r, &img, &vois, "8-bit signed");
}

/// A VOI LUT over modality values `first..first + len`, a wavy curve of `bits` bits.
fn voi_lut(first: i32, len: usize, bits: u16) -> Lut {
    let max = (1u32 << bits) - 1;
    let data = (0..len)
        .map(|i| {
            let t = i as f64 / (len - 1) as f64;
            ((t * t * (3.0 - 2.0 * t) * 0.8 + 0.1 * (t * 40.0).sin().abs()) * f64::from(max)).round() as u16
        })
        .collect();
    Lut { first_mapped: first, bits, data }
}

#[test]
fn voi_luts_of_8_and_16_bits() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let img = ct(300, 230);
    // 16-bit over HU -1024..3071 (4096 entries), an 8-bit one over -200..55, and the full
    // 65536-entry table (256 texture rows) over the whole signed range.
    let luts = [voi_lut(-1024, 4096, 16), voi_lut(-200, 256, 8), voi_lut(-33792, 65536, 12)];
    let vois: Vec<Voi> = luts.iter().map(Voi::Lut).collect();
    check_1to1(&mut r, &img, &vois, "CT VOI LUT");
    check_bilinear_2x(&mut r, &img, &vois[..1], "CT VOI LUT bilinear");
}

#[test]
fn modality_lut_replaces_the_rescale() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let mut img = mr(257, 129);
    // Stored 100..3100 map to a decreasing 14-bit curve; below and above clamp.
    let data: Vec<u16> = (0..3000u32).map(|i| (16383 - i * 5 - (i % 7) * 3) as u16).collect();
    img.modality_lut = Some(Lut { first_mapped: 100, bits: 16, data });
    img.rescale_intercept = -5000.0; // must be ignored
    let lut = voi_lut(1000, 16000, 16);
    let vois =
        [window(8000.0, 16000.0, VoiFunction::Linear), window(5000.0, 3000.0, VoiFunction::Sigmoid), Voi::Lut(&lut)];
    check_1to1(&mut r, &img, &vois, "modality LUT");
    check_bilinear_2x(&mut r, &img, &vois[..1], "modality LUT bilinear");
}

#[test]
fn monochrome1_and_inverse_presentation_shape() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let mut img = mr(100, 60);
    img.photometric = Photometric::Monochrome1;
    let vois = [window(2048.0, 4096.0, VoiFunction::Linear), window(600.0, 300.0, VoiFunction::LinearExact)];
    check_1to1(&mut r, &img, &vois, "MONOCHROME1");
    img.photometric = Photometric::Monochrome2;
    img.presentation_lut_shape = Some(PresentationLutShape::Inverse);
    check_1to1(&mut r, &img, &vois, "INVERSE");
    // Sanity of the reference itself: MONOCHROME1's minimum is white.
    img.presentation_lut_shape = None;
    img.photometric = Photometric::Monochrome1;
    assert_eq!(rgb8_at(&img, 0, vois[0], Interpolation::Nearest, false, 0.5, 0.5), Some([255; 3]));
}

fn palette_16bit(first: i32, len: usize) -> Palette {
    let ramp =
        |f: fn(usize, usize) -> u16| Lut { first_mapped: first, bits: 16, data: (0..len).map(|i| f(i, len)).collect() };
    Palette {
        red: ramp(|i, n| (i * 65535 / (n - 1)) as u16),
        green: ramp(|i, n| ((n - 1 - i) * 65535 / (n - 1)) as u16),
        blue: ramp(|i, _| ((i * 7919) % 65536) as u16),
    }
}

#[test]
fn palette_colour_8_and_16_bit_indices() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let none = [window(0.0, 1.0, VoiFunction::Linear)];
    // 8-bit indices, 256-entry 16-bit palette.
    let px: Vec<u8> = (0..96 * 40).map(|i| (i * 37 % 256) as u8).collect();
    let mut img = image(96, 40, Photometric::PaletteColor, Frame::U8(px));
    img.bits_stored = 8;
    img.palette = Some(palette_16bit(0, 256));
    check_1to1(&mut r, &img, &none, "palette 8-bit");
    check_bilinear_2x(&mut r, &img, &none, "palette 8-bit bilinear");
    // 16-bit indices, a 4096-entry palette starting at 100 (indices below / above clamp), 8-bit
    // entries.
    let mut rng = Rng(7);
    let px: Vec<u16> = (0..200 * 50).map(|_| (rng.next() % 4400) as u16).collect();
    let mut img = image(200, 50, Photometric::PaletteColor, Frame::U16(px));
    let mut p = palette_16bit(100, 4096);
    p.green = Lut { first_mapped: 100, bits: 8, data: (0..4096).map(|i| (i % 256) as u16).collect() };
    img.palette = Some(p);
    check_1to1(&mut r, &img, &none, "palette 16-bit");
}

#[test]
fn rgb_8_and_12_bit() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let none = [window(0.0, 1.0, VoiFunction::Linear)];
    let mut rng = Rng(99);
    let px: Vec<u8> = (0..77 * 31 * 3).map(|_| rng.next() as u8).collect();
    let mut img = image(77, 31, Photometric::Rgb, Frame::U8(px));
    img.bits_stored = 8;
    check_1to1(&mut r, &img, &none, "RGB 8-bit");
    check_bilinear_2x(&mut r, &img, &none, "RGB 8-bit bilinear");
    let px: Vec<u16> = (0..40 * 20 * 3).map(|_| (rng.next() % 4096) as u16).collect();
    let mut img = image(40, 20, Photometric::Rgb, Frame::U16(px));
    img.bits_stored = 12;
    check_1to1(&mut r, &img, &none, "RGB 12-bit");
}

#[test]
fn bilinear_and_nearest_magnification_of_gray() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let img = ct(128, 64);
    let vois = [
        window(40.0, 400.0, VoiFunction::Linear),
        window(40.5, 1.0, VoiFunction::Linear),
        window(-600.0, 1500.0, VoiFunction::Sigmoid),
        window(0.0, 70000.0, VoiFunction::LinearExact),
    ];
    check_bilinear_2x(&mut r, &img, &vois, "CT bilinear 2x");
    // Nearest at 3x with a translation and a flip (x mirrored): centres at x + 1/6 etc.
    let t = Transform([[-3.0, 0.0, 3.0 * 128.0 + 5.0], [0.0, 3.0, 4.0]]);
    check(&mut r, &img, &vois[..2], Interpolation::Nearest, t, [128 * 3 + 10, 64 * 3 + 8], "CT nearest 3x flipped");
}

#[test]
fn srgb_target_still_writes_the_code_values() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8UnormSrgb);
    // Every 8-bit output code: stored 0..=255 with the identity window.
    let px: Vec<u16> = (0..256u16 * 4).map(|i| i % 256).collect();
    let img = image(256, 4, Photometric::Monochrome2, Frame::U16(px));
    let identity = [window(128.0, 256.0, VoiFunction::Linear), window(127.5, 256.0, VoiFunction::Linear)];
    check_1to1(&mut r, &img, &identity, "sRGB identity");
    check_1to1(&mut r, &mr(257, 33), &mr_windows(), "sRGB MR");
    let mut rng = Rng(5);
    let px: Vec<u8> = (0..64 * 16 * 3).map(|_| rng.next() as u8).collect();
    let mut rgb = image(64, 16, Photometric::Rgb, Frame::U8(px));
    rgb.bits_stored = 8;
    check_1to1(&mut r, &rgb, &identity[..1], "sRGB RGB");
}

#[test]
fn bgra_target_reads_back() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Bgra8Unorm);
    check_1to1(&mut r, &mr(100, 50), &mr_windows(), "BGRA target");
}

/// Renders with `draw` into an offscreen `Rgba8Unorm` target and returns its RGB bytes.
fn draw_offscreen(r: &mut Renderer, size: [u32; 2], view: &View, overlays: &[Overlay]) -> Vec<u8> {
    draw_offscreen_with(r, size, |r, target| r.draw(target, size, view, overlays))
}

/// Renders with `draw` (any drawing call on the renderer) into an offscreen `Rgba8Unorm` target
/// of `size` and returns its RGB bytes.
fn draw_offscreen_with(
    r: &mut Renderer,
    size: [u32; 2],
    draw: impl FnOnce(&mut Renderer, &wgpu::TextureView),
) -> Vec<u8> {
    let tex = r.device().create_texture(&wgpu::TextureDescriptor {
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
    draw(r, &tv);
    let device = r.device();
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
        .flat_map(|row| {
            row[..size[0] as usize * 4].chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn fit_places_the_image_and_the_background_fills_the_rest() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    // 4x2 image, all white under the identity window.
    let img = image(4, 2, Photometric::Monochrome2, Frame::U16(vec![255; 8]));
    r.set_image(&Image::from_decoded(&img, 0).unwrap()).unwrap();
    let bg = [10, 20, 30];
    let view = View { transform: Transform::fit([4, 2], [8, 8]), background: bg, ..View::default() };
    // Target 8x8: the image fits as 8x4, centred vertically: rows 2..6 white.
    let out = draw_offscreen(&mut r, [8, 8], &view, &[]);
    for y in 0..8 {
        for x in 0..8 {
            let want = if (2..6).contains(&y) { [255; 3] } else { bg };
            assert_eq!(out[(y * 8 + x) * 3..][..3], want, "fit: pixel ({x},{y})");
        }
    }
    // Half size, moved by (+2, -1) from the centre: x 4..8, y 2..4.
    let view = View { transform: Transform([[1.0, 0.0, 4.0], [0.0, 1.0, 2.0]]), ..view };
    let out = draw_offscreen(&mut r, [8, 8], &view, &[]);
    for y in 0..8 {
        for x in 0..8 {
            let want = if (4..8).contains(&x) && (2..4).contains(&y) { [255; 3] } else { bg };
            assert_eq!(out[(y * 8 + x) * 3..][..3], want, "moved: pixel ({x},{y})");
        }
    }
    // A singular transform shows only the background.
    let view = View { transform: Transform([[0.0; 3], [0.0; 3]]), ..view };
    assert!(draw_offscreen(&mut r, [8, 8], &view, &[]).chunks(3).all(|p| p == bg));
}

#[test]
fn overlays_change_exactly_their_pixels() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    for format in [wgpu::TextureFormat::Rgba8Unorm, wgpu::TextureFormat::Rgba8UnormSrgb] {
        let mut r = renderer(format);
        let img = image(16, 16, Photometric::Monochrome2, Frame::U16(vec![100; 256]));
        r.set_image(&Image::from_decoded(&img, 0).unwrap()).unwrap();
        let view = View { transform: Transform([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), ..View::default() };
        let overlays = [
            // Target space, width 2: x 3..21, y 9..11 (square caps).
            Overlay {
                shape: Shape::Line { from: [4.0, 10.0], to: [20.0, 10.0] },
                space: Space::Target,
                colour: [255, 0, 0, 255],
                width: 2.0,
            },
            // Image space (2,12)-(6,12) = target (4,24)-(12,24): x 3..13, y 23..25.
            Overlay {
                shape: Shape::Line { from: [2.0, 12.0], to: [6.0, 12.0] },
                space: Space::Image,
                colour: [0, 200, 0, 255],
                width: 2.0,
            },
            // Handle at image (10,3) = target (20,6), 4 wide: x 18..22, y 4..8.
            Overlay {
                shape: Shape::Handle { centre: [10.0, 3.0] },
                space: Space::Image,
                colour: [0, 0, 77, 255],
                width: 4.0,
            },
        ];
        let got = pollster::block_on(r.read_back(&view, &overlays, [32, 32])).unwrap();
        let plain = pollster::block_on(r.read_back(&view, &[], [32, 32])).unwrap();
        assert!(plain.iter().all(|&v| v == 100), "{format:?}: the image alone is uniform");
        for y in 0..32 {
            for x in 0..32 {
                let want = if (3..21).contains(&x) && (9..11).contains(&y) {
                    [255, 0, 0]
                } else if (3..13).contains(&x) && (23..25).contains(&y) {
                    [0, 200, 0]
                } else if (18..22).contains(&x) && (4..8).contains(&y) {
                    [0, 0, 77]
                } else {
                    [100; 3]
                };
                let i = (y * 32 + x) * 3;
                let px = [got[i], got[i + 1], got[i + 2]];
                assert!(
                    px.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 1),
                    "{format:?}: pixel ({x},{y}) = {px:?}, want {want:?}"
                );
            }
        }
        // The same through `draw` (the surface path).
        if format == wgpu::TextureFormat::Rgba8Unorm {
            assert_eq!(draw_offscreen(&mut r, [32, 32], &view, &overlays), got);
        }
    }
}

#[test]
fn clear_image_leaves_the_background() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let img = image(64, 32, Photometric::Monochrome2, Frame::U16(vec![4000; 64 * 32]));
    r.set_image(&Image::from_decoded(&img, 0).unwrap()).unwrap();
    let view = View { voi: window(0.0, 10.0, VoiFunction::Linear), ..View::default() };
    assert!(pollster::block_on(r.read_back(&view, &[], [64, 32])).unwrap().iter().all(|&v| v == 255));
    r.clear_image();
    assert!(!r.has_image());
    assert!(pollster::block_on(r.read_back(&view, &[], [64, 32])).unwrap().iter().all(|&v| v == 0));
    assert!(draw_offscreen(&mut r, [40, 40], &view, &[]).iter().all(|&v| v == 0));
    // Clearing twice is harmless; a new image works afterwards; the yielding variant agrees.
    r.clear_image();
    r.set_image(&Image::from_decoded(&img, 0).unwrap()).unwrap();
    let mut yields = 0;
    let b = pollster::block_on(r.read_back_with_yield(&view, &[], [64, 32], || {
        yields += 1;
        std::future::ready(())
    }))
    .unwrap();
    assert_eq!(b, pollster::block_on(r.read_back(&view, &[], [64, 32])).unwrap());
}

#[test]
fn size_change_recreates_textures_and_bad_input_is_rejected() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let w = [window(2048.0, 4096.0, VoiFunction::Linear)];
    check_1to1(&mut r, &mr(30, 20), &w, "30x20");
    check_1to1(&mut r, &mr(20, 30), &w, "20x30");
    assert_eq!(r.image_size(), Some([20, 30]));
    // Gray -> RGB -> gray of the same size switches texture formats.
    let mut rgb = image(20, 30, Photometric::Rgb, Frame::U8((0..20 * 30 * 3).map(|i| i as u8).collect()));
    rgb.bits_stored = 8;
    check_1to1(&mut r, &rgb, &w, "RGB 20x30");
    check_1to1(&mut r, &mr(20, 30), &w, "20x30 again");
    let values: Vec<u16> = vec![0; 20 * 30];
    let gray = |width, height, values: &[u16]| Image {
        width,
        height,
        pixels: Pixels::Gray {
            values: values.to_vec().into(),
            signed: false,
            modality: obscura_render::Modality::Rescale { slope: 1.0, intercept: 0.0 },
            inverse: false,
        },
    };
    assert!(matches!(r.set_image(&gray(21, 30, &values)), Err(RenderError::PixelCount { .. })));
    assert!(matches!(r.set_image(&gray(0, 0, &[])), Err(RenderError::EmptyImage { .. })));
    assert!(matches!(
        r.set_image(&Image { pixels: Pixels::Rgb(vec![0; 20 * 30].into()), ..gray(20, 30, &values) }),
        Err(RenderError::PixelCount { expected: 1800, actual: 600, .. })
    ));
    // The previous image survives a rejected one.
    assert_eq!(r.image_size(), Some([20, 30]));
    // What the renderer cannot show is an error, not a panic.
    let wide = image(2, 2, Photometric::Monochrome2, Frame::U32(vec![1; 4]));
    assert!(matches!(Image::from_decoded(&wide, 0), Err(RenderError::Unsupported(_))));
    assert!(matches!(Image::from_decoded(&wide, 1), Err(RenderError::Unsupported(_))));
    let no_palette = image(2, 2, Photometric::PaletteColor, Frame::U8(vec![1; 4]));
    assert!(matches!(Image::from_decoded(&no_palette, 0), Err(RenderError::Unsupported(_))));
}

#[test]
fn a_lost_device_is_reported_and_a_new_renderer_shows_the_same_image() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let img = ct(64, 48);
    let view = View { voi: window(40.0, 400.0, VoiFunction::Linear), ..View::default() };
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    r.set_image(&Image::from_decoded(&img, 0).unwrap()).unwrap();
    let before = pollster::block_on(r.read_back(&view, &[], [64, 48])).unwrap();
    assert!(!r.is_lost());
    r.device().destroy();
    let _ = r.device().poll(wgpu::PollType::wait_indefinitely());
    assert!(r.is_lost(), "destroying the device must trigger the lost callback");
    assert!(r.lost_reason().unwrap().contains("Destroyed"), "{:?}", r.lost_reason());
    // Recovery: a new device and renderer, the same cleartext uploaded again.
    let mut fresh = renderer(wgpu::TextureFormat::Rgba8Unorm);
    fresh.set_image(&Image::from_decoded(&img, 0).unwrap()).unwrap();
    assert_eq!(pollster::block_on(fresh.read_back(&view, &[], [64, 48])).unwrap(), before);
}

#[test]
fn headless_default_is_rgba8unorm() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let r = pollster::block_on(headless()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.target_format(), wgpu::TextureFormat::Rgba8Unorm);
    assert!(!r.has_image());
    let info = r.device().adapter_info();
    eprintln!("adapter: {} ({:?}, {:?}, driver {})", info.name, info.backend, info.device_type, info.driver);
}

// Several panes on one target.

/// Whether target pixel `(x, y)` lies in `rect` (`[x, y, width, height]`).
fn in_rect(rect: [u32; 4], x: u32, y: u32) -> bool {
    (rect[0]..rect[0] + rect[2]).contains(&x) && (rect[1]..rect[1] + rect[3]).contains(&y)
}

/// Compares `got` (the whole target) with `want` inside `rect` only, except the pixels `skip`
/// names, ±1.
fn compare_in_rect(
    got: &[u8],
    want: &[u8],
    size: [u32; 2],
    rect: [u32; 4],
    skip: impl Fn(u32, u32) -> bool,
    what: &str,
) {
    let mut bad = 0usize;
    let mut first = None;
    for y in 0..size[1] {
        for x in 0..size[0] {
            if !in_rect(rect, x, y) || skip(x, y) {
                continue;
            }
            let i = (y * size[0] + x) as usize * 3;
            let (g, w) = (&got[i..i + 3], &want[i..i + 3]);
            if g.iter().zip(w).any(|(g, w)| g.abs_diff(*w) > 1) {
                bad += 1;
                first.get_or_insert((x, y, g.to_vec(), w.to_vec()));
            }
        }
    }
    assert_eq!(bad, 0, "{what}: {bad} pixels differ by more than 1, first (x, y, gpu, cpu) = {first:?}");
}

/// Every pixel outside all `rects` is black.
fn assert_black_outside(got: &[u8], size: [u32; 2], rects: &[[u32; 4]], what: &str) {
    for y in 0..size[1] {
        for x in 0..size[0] {
            if rects.iter().any(|&r| in_rect(r, x, y)) {
                continue;
            }
            let i = (y * size[0] + x) as usize * 3;
            assert_eq!(got[i..i + 3], [0; 3], "{what}: pixel ({x},{y}) outside every pane");
        }
    }
}

/// Reads `panes` back, checks each pane's rect against the CPU reference of its image and view
/// (skipping `skip`ped pixels), black outside every rect, and that `draw_panes` (the surface
/// path) gives the same bytes for an `Rgba8Unorm` renderer. Returns the read-back.
fn check_panes(
    r: &mut Renderer,
    size: [u32; 2],
    panes: &[PaneDraw],
    images: &[Option<&DecodedImage>],
    skip: impl Fn(u32, u32) -> bool,
    what: &str,
) -> Vec<u8> {
    let got = pollster::block_on(r.read_back_panes(panes, size)).expect("read_back_panes");
    for (pane, image) in panes.iter().zip(images) {
        let want = match image {
            Some(image) => reference_rgb8(image, 0, pane.view, size),
            None => pane.view.background.repeat((size[0] * size[1]) as usize),
        };
        compare_in_rect(&got, &want, size, pane.rect, &skip, &format!("{what}: pane {}", pane.pane));
    }
    let rects: Vec<[u32; 4]> = panes.iter().map(|p| p.rect).collect();
    assert_black_outside(&got, size, &rects, what);
    if r.target_format() == wgpu::TextureFormat::Rgba8Unorm {
        let drawn = draw_offscreen_with(r, size, |r, target| r.draw_panes(target, size, panes));
        assert_eq!(drawn, got, "{what}: draw_panes and read_back_panes differ");
    }
    got
}

#[test]
fn two_panes_side_by_side_each_match_their_reference() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let size = [208, 100];
    // A 1×2 layout with an 8 px gap between the panes.
    let (left, right) = ([0, 0, 100, 100], [108, 0, 100, 100]);
    let ct = ct(64, 40);
    let mr = mr(40, 30);
    r.set_pane_image(0, &Image::from_decoded(&ct, 0).unwrap()).unwrap();
    r.set_pane_image(1, &Image::from_decoded(&mr, 0).unwrap()).unwrap();
    assert_eq!((r.pane_image_size(0), r.pane_image_size(1)), (Some([64, 40]), Some([40, 30])));
    // Pane 0: 2× nearest, 128 px wide from x = -10: the image runs through the gap into the
    // right pane's rect, where the scissor must cut it.
    let view0 = View {
        voi: window(40.0, 400.0, VoiFunction::Linear),
        invert: false,
        interpolation: Interpolation::Nearest,
        transform: Transform([[2.0, 0.0, -10.0], [0.0, 2.0, 10.0]]),
        background: [7, 8, 9],
    };
    // Pane 1: a quarter turn, 2× bilinear, inverted, in absolute target pixels (x 128..188).
    let view1 = View {
        voi: window(600.0, 300.0, VoiFunction::Linear),
        invert: true,
        interpolation: Interpolation::Bilinear,
        transform: Transform([[0.0, -2.0, 188.0], [2.0, 0.0, 10.0]]),
        background: [30, 40, 50],
    };
    let panes = [
        PaneDraw { pane: 0, rect: left, view: &view0, overlays: &[] },
        PaneDraw { pane: 1, rect: right, view: &view1, overlays: &[] },
    ];
    check_panes(&mut r, size, &panes, &[Some(&ct), Some(&mr)], |_, _| false, "1x2");
    // The same panes listed the other way round draw the same.
    let swapped = [panes[1], panes[0]];
    check_panes(&mut r, size, &swapped, &[Some(&mr), Some(&ct)], |_, _| false, "1x2 swapped");
    // Other windows in the next frame: only uniforms change.
    let view0 = View { voi: window(-600.0, 1500.0, VoiFunction::Sigmoid), invert: true, ..view0 };
    let view1 = View { voi: window(2048.0, 4096.0, VoiFunction::LinearExact), invert: false, ..view1 };
    let panes = [
        PaneDraw { pane: 0, rect: left, view: &view0, overlays: &[] },
        PaneDraw { pane: 1, rect: right, view: &view1, overlays: &[] },
    ];
    check_panes(&mut r, size, &panes, &[Some(&ct), Some(&mr)], |_, _| false, "1x2 new windows");
}

#[test]
fn four_panes_with_their_own_luts_palettes_and_overlays() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let size = [210, 170];
    // A 2×2 layout with 3 px margins and 4 px gaps.
    let rects = [[3, 3, 100, 80], [107, 3, 100, 80], [3, 87, 100, 80], [107, 87, 100, 80]];
    let ct_a = ct(60, 40);
    let ct_b = ct(50, 35);
    let px: Vec<u8> = (0..40 * 30).map(|i| (i * 37 % 256) as u8).collect();
    let mut palette = image(40, 30, Photometric::PaletteColor, Frame::U8(px));
    palette.bits_stored = 8;
    palette.palette = Some(palette_16bit(0, 256));
    let mut rng = Rng(42);
    let px: Vec<u8> = (0..30 * 20 * 3).map(|_| rng.next() as u8).collect();
    let mut rgb = image(30, 20, Photometric::Rgb, Frame::U8(px));
    rgb.bits_stored = 8;
    let images = [&ct_a, &ct_b, &palette, &rgb];
    for (pane, img) in images.iter().enumerate() {
        r.set_pane_image(pane, &Image::from_decoded(img, 0).unwrap()).unwrap();
    }
    // Two panes with two different VOI LUTs in the same pass: each pane caches its own.
    let lut_a = voi_lut(-1024, 4096, 16);
    let lut_b = voi_lut(-200, 256, 8);
    let none = window(0.0, 1.0, VoiFunction::Linear);
    let views = [
        // 1:1, inside its pane with background around it.
        View {
            voi: Voi::Lut(&lut_a),
            invert: false,
            interpolation: Interpolation::Nearest,
            transform: Transform([[1.0, 0.0, 23.0], [0.0, 1.0, 23.0]]),
            background: [10, 20, 30],
        },
        // 2×, starting left of its pane (x 102): cut at x 107.
        View {
            voi: Voi::Lut(&lut_b),
            invert: false,
            interpolation: Interpolation::Nearest,
            transform: Transform([[2.0, 0.0, 102.0], [0.0, 2.0, 8.0]]),
            background: [0, 0, 90],
        },
        // Palette, 2× bilinear.
        View {
            voi: none,
            invert: false,
            interpolation: Interpolation::Bilinear,
            transform: Transform([[2.0, 0.0, 13.0], [0.0, 2.0, 97.0]]),
            background: [0, 60, 0],
        },
        // RGB, 3× mirrored, inverted (x 112..202).
        View {
            voi: none,
            invert: true,
            interpolation: Interpolation::Nearest,
            transform: Transform([[-3.0, 0.0, 202.0], [0.0, 3.0, 97.0]]),
            background: [200, 0, 0],
        },
    ];
    // A handle in target pixels over pane 3's image: x 147..153, y 117..123.
    let handle = [Overlay {
        shape: Shape::Handle { centre: [150.0, 120.0] },
        space: Space::Target,
        colour: [0, 0, 255, 255],
        width: 6.0,
    }];
    let under_handle = |x: u32, y: u32| (147..153).contains(&x) && (117..123).contains(&y);
    let panes: Vec<PaneDraw> = (0..4)
        .map(|i| PaneDraw { pane: i, rect: rects[i], view: &views[i], overlays: if i == 3 { &handle } else { &[] } })
        .collect();
    let images: Vec<Option<&DecodedImage>> = images.iter().map(|&i| Some(i)).collect();
    let got = check_panes(&mut r, size, &panes, &images, under_handle, "2x2");
    for y in 117..123 {
        for x in 147..153 {
            let i = (y * size[0] + x) as usize * 3;
            assert_eq!(got[i..i + 3], [0, 0, 255], "2x2: handle pixel ({x},{y})");
        }
    }
    // Pane 0 with a 1×2-style full-height rect alone: the other panes are simply not drawn.
    let alone = [PaneDraw { pane: 0, rect: [3, 3, 100, 164], view: &views[0], overlays: &[] }];
    check_panes(&mut r, size, &alone, &images[..1], |_, _| false, "pane 0 alone");
}

#[test]
fn overlays_are_clipped_to_their_pane() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    for format in [wgpu::TextureFormat::Rgba8Unorm, wgpu::TextureFormat::Rgba8UnormSrgb] {
        let mut r = renderer(format);
        let flat = |value: u16| image(16, 16, Photometric::Monochrome2, Frame::U16(vec![value; 256]));
        r.set_pane_image(0, &Image::from_decoded(&flat(100), 0).unwrap()).unwrap();
        r.set_pane_image(1, &Image::from_decoded(&flat(200), 0).unwrap()).unwrap();
        // Two 32×32 panes filled by their 2× images.
        let view0 = View { transform: Transform([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), ..View::default() };
        let view1 = View { transform: Transform([[2.0, 0.0, 32.0], [0.0, 2.0, 0.0]]), ..View::default() };
        // Pane 0: a target-space line x 9..51, y 9..11 that runs into pane 1.
        let red = [Overlay {
            shape: Shape::Line { from: [10.0, 10.0], to: [50.0, 10.0] },
            space: Space::Target,
            colour: [255, 0, 0, 255],
            width: 2.0,
        }];
        // Pane 1: an image-space line from image x -8 (target 16) to 8 (target 48), y 15..17,
        // that runs back into pane 0.
        let green = [Overlay {
            shape: Shape::Line { from: [-8.0, 8.0], to: [8.0, 8.0] },
            space: Space::Image,
            colour: [0, 200, 0, 255],
            width: 2.0,
        }];
        let panes = [
            PaneDraw { pane: 0, rect: [0, 0, 32, 32], view: &view0, overlays: &red },
            PaneDraw { pane: 1, rect: [32, 0, 32, 32], view: &view1, overlays: &green },
        ];
        let got = pollster::block_on(r.read_back_panes(&panes, [64, 32])).unwrap();
        for y in 0..32 {
            for x in 0..64 {
                let want = if x < 32 && (9..11).contains(&y) && x >= 9 {
                    [255, 0, 0]
                } else if x < 32 {
                    [100; 3]
                } else if (15..17).contains(&y) && x < 49 {
                    [0, 200, 0]
                } else {
                    [200; 3]
                };
                let i = (y * 64 + x) * 3;
                let px = [got[i], got[i + 1], got[i + 2]];
                assert!(
                    px.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 1),
                    "{format:?}: pixel ({x},{y}) = {px:?}, want {want:?}"
                );
            }
        }
    }
}

#[test]
fn clearing_one_pane_leaves_the_others_and_clear_image_clears_all() {
    let _g = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = renderer(wgpu::TextureFormat::Rgba8Unorm);
    let size = [80, 40];
    let rects = [[0, 0, 40, 40], [40, 0, 40, 40]];
    let a = mr(40, 40);
    let b = ct(40, 40);
    r.set_pane_image(0, &Image::from_decoded(&a, 0).unwrap()).unwrap();
    r.set_pane_image(1, &Image::from_decoded(&b, 0).unwrap()).unwrap();
    let view0 = View { voi: window(2048.0, 4096.0, VoiFunction::Linear), background: [5, 6, 7], ..View::default() };
    let view1 = View {
        transform: Transform([[1.0, 0.0, 40.0], [0.0, 1.0, 0.0]]),
        voi: window(40.0, 400.0, VoiFunction::Linear),
        background: [9, 9, 9],
        ..view0
    };
    let panes = [
        PaneDraw { pane: 0, rect: rects[0], view: &view0, overlays: &[] },
        PaneDraw { pane: 1, rect: rects[1], view: &view1, overlays: &[] },
    ];
    check_panes(&mut r, size, &panes, &[Some(&a), Some(&b)], |_, _| false, "both");
    r.clear_pane(0);
    assert_eq!((r.pane_image_size(0), r.pane_image_size(1)), (None, Some([40, 40])));
    assert!(!r.has_image(), "the single-image API's pane is pane 0");
    check_panes(&mut r, size, &panes, &[None, Some(&b)], |_, _| false, "pane 0 cleared");
    // Clearing an unused or out-of-range pane is harmless.
    r.clear_pane(7);
    r.clear_pane(MAX_PANES + 3);
    // `clear_image` clears every pane, not only pane 0.
    r.set_image(&Image::from_decoded(&a, 0).unwrap()).unwrap();
    assert_eq!(r.pane_image_size(0), Some([40, 40]));
    r.clear_image();
    assert_eq!((r.pane_image_size(0), r.pane_image_size(1)), (None, None));
    check_panes(&mut r, size, &panes, &[None, None], |_, _| false, "all cleared");

    // Pane indices: the last one works, one past it is an error and leaves everything as is.
    let last = MAX_PANES - 1;
    r.set_pane_image(last, &Image::from_decoded(&b, 0).unwrap()).unwrap();
    let err = r.set_pane_image(MAX_PANES, &Image::from_decoded(&b, 0).unwrap()).unwrap_err();
    assert!(matches!(err, RenderError::PaneIndex { pane, max } if pane == MAX_PANES && max == MAX_PANES), "{err}");
    assert!(err.to_string().contains("pane 16"), "{err}");
    assert_eq!(r.pane_image_size(MAX_PANES), None);
    // A pane whose index is out of range, whose rect is empty or off the target, or which is
    // listed a second time is not drawn.
    let view_last = View { transform: Transform([[1.0, 0.0, 40.0], [0.0, 1.0, 0.0]]), ..view1 };
    let skipped = [
        PaneDraw { pane: last, rect: rects[1], view: &view_last, overlays: &[] },
        PaneDraw { pane: MAX_PANES, rect: rects[0], view: &view0, overlays: &[] },
        PaneDraw { pane: 2, rect: [0, 0, 0, 40], view: &view0, overlays: &[] },
        PaneDraw { pane: 3, rect: [80, 0, 10, 10], view: &view0, overlays: &[] },
        PaneDraw { pane: last, rect: rects[0], view: &view0, overlays: &[] },
    ];
    let got = pollster::block_on(r.read_back_panes(&skipped, size)).unwrap();
    compare_in_rect(&got, &reference_rgb8(&b, 0, &view_last, size), size, rects[1], |_, _| false, "last pane");
    assert_black_outside(&got, size, &rects[1..], "skipped panes");
}
