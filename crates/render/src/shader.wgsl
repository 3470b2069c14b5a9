// Obscura renderer: the whole DICOM display pipeline per fragment, and overlay geometry.
// WebGL2-compatible: one uniform buffer (vec4 members only), integer textures read with
// textureLoad (WebGL2's texelFetch), vertex buffers; no storage buffers, no compute, no sampler.
//
// The CPU reference is obscura_imaging::display::rgb8_at; every rule below mirrors it.
//
// The display mode (image kind, VOI function, Modality LUT or rescale, sign, interpolation, sRGB
// target, whether there is an image at all) is fixed per pipeline by the `override` constants
// below, not read from the uniforms: a software GPU (SwiftShader: headless Chromium, CI, low-end
// tablets) runs every branch of a uniform-selected mode, 3-4x slower than a specialised shader.
// The renderer creates one pipeline per mode it meets (lib.rs, `ImageMode`). What changes from
// frame to frame within a mode (window, transform, invert toggle, background) stays uniform.

struct Params {
    // Target pixel -> image pixel (the inverse of the view transform): x = dot(inv_x.xy, p) + inv_x.z.
    inv_x: vec4<f32>,
    inv_y: vec4<f32>,
    // x: rescale slope, y: rescale intercept.
    modality: vec4<f32>,
    // x: window centre, y: window width (already clamped), z: VOI LUT maximum entry value.
    voi: vec4<f32>,
    // rgb: background as 8-bit code values (0..255).
    background: vec4<f32>,
    // xy: target size in pixels (for the overlay vertices).
    target_size: vec4<f32>,
    // x: image kind (KIND_*), y: VOI function (VOI_*), z: FLAG_* bits; the shader reads only
    // FLAG_INVERT (the rest is the pipeline's override constants; kept for the layout).
    mode: vec4<u32>,
    // x, y: Modality LUT first mapped value and entry count; z, w: the same for the VOI LUT.
    luts: vec4<i32>,
    // x, y: palette first mapped value and entry count.
    palette_range: vec4<i32>,
};

const KIND_GRAY: u32 = 0u;
const KIND_PALETTE: u32 = 1u;

const VOI_LINEAR: u32 = 0u;
const VOI_LINEAR_EXACT: u32 = 1u;
const VOI_SIGMOID: u32 = 2u;

const FLAG_INVERT: u32 = 2u;

// The pipeline's mode (set through the pipeline's constants; the defaults are a gray image,
// LINEAR window, rescale, unsigned, nearest, non-sRGB target).
// KIND_*.
override IMAGE_KIND: u32 = 0u;
// VOI_*, or any other value for a VOI LUT.
override VOI_FUNCTION: u32 = 0u;
// Pixel Representation 1: stored values are sign-extended.
override SIGNED: bool = false;
// A Modality LUT instead of the rescale.
override MODALITY_LUT: bool = false;
// Bilinear instead of nearest sampling.
override BILINEAR: bool = false;
// The target is sRGB-encoded: outputs are pre-compensated (also for the overlay pipeline).
override SRGB: bool = false;
// There is an image to draw (else only the background).
override HAS_IMAGE: bool = false;

// LUTs are 256 entries wide, row after row (a 65536-entry LUT is 256x256).
const LUT_WIDTH: i32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
// Gray / palette: stored values as 16-bit patterns in .r (R16Uint); RGB: 8-bit .rgb (Rgba8Uint).
@group(0) @binding(1) var image: texture_2d<u32>;
@group(0) @binding(2) var modality_lut: texture_2d<u32>;
@group(0) @binding(3) var voi_lut: texture_2d<u32>;
// 8-bit colours, .rgb (Rgba8Uint).
@group(0) @binding(4) var palette: texture_2d<u32>;

fn has(flag: u32) -> bool {
    return (params.mode.z & flag) != 0u;
}

// sRGB EOTF: the linear value whose sRGB encoding is `c` (0..1), so that an sRGB target stores `c`.
fn srgb_to_linear(c: f32) -> f32 {
    if (c <= 0.04045) {
        return c / 12.92;
    }
    return pow((c + 0.055) / 1.055, 2.4);
}

// 8-bit code values (0..255) to what the target must be written with to store them.
fn encode(code: vec3<f32>) -> vec3<f32> {
    var c = code / 255.0;
    if (SRGB) {
        c = vec3<f32>(srgb_to_linear(c.r), srgb_to_linear(c.g), srgb_to_linear(c.b));
    }
    return c;
}

fn lut_texel(input: i32, first: i32, count: i32) -> vec2<i32> {
    // Inputs below the table map to its first entry, above to its last (PS3.3 C.11.1.1).
    let i = clamp(input - first, 0, count - 1);
    return vec2<i32>(i % LUT_WIDTH, i / LUT_WIDTH);
}

fn stored_at(t: vec2<i32>) -> i32 {
    let raw = i32(textureLoad(image, t, 0).r & 0xffffu);
    if (SIGNED && raw >= 32768) {
        return raw - 65536;
    }
    return raw;
}

fn modality_at(t: vec2<i32>) -> f32 {
    let s = stored_at(t);
    if (MODALITY_LUT) {
        return f32(textureLoad(modality_lut, lut_texel(s, params.luts.x, params.luts.y), 0).r);
    }
    return f32(s) * params.modality.x + params.modality.y;
}

fn colour_at(t: vec2<i32>) -> vec3<f32> {
    if (IMAGE_KIND == KIND_PALETTE) {
        let index = stored_at(t);
        return vec3<f32>(textureLoad(palette, lut_texel(index, params.palette_range.x, params.palette_range.y), 0).rgb);
    }
    return vec3<f32>(textureLoad(image, t, 0).rgb);
}

// The VOI output (0..1) of modality value x (PS3.3 C.11.2.1.2).
fn voi(x: f32) -> f32 {
    let c = params.voi.x;
    let w = params.voi.y;
        if (VOI_FUNCTION == VOI_LINEAR) {
        // w >= 1 here.
        if (x <= c - 0.5 - (w - 1.0) / 2.0) {
            return 0.0;
        }
        if (x > c - 0.5 + (w - 1.0) / 2.0 || w <= 1.0) {
            return 1.0;
        }
        return (x - (c - 0.5)) / (w - 1.0) + 0.5;
    }
    if (VOI_FUNCTION == VOI_LINEAR_EXACT) {
        if (x <= c - w / 2.0) {
            return 0.0;
        }
        if (x > c + w / 2.0) {
            return 1.0;
        }
        return (x - c) / w + 0.5;
    }
    if (VOI_FUNCTION == VOI_SIGMOID) {
        // exp of more than ~88 overflows f32; 1 / (1 + e^80) is 0 at 8 bits anyway.
        return 1.0 / (1.0 + exp(clamp(-4.0 * (x - c) / w, -80.0, 80.0)));
    }
    // VOI LUT: its input is the modality value, truncated towards minus infinity.
    let input = i32(clamp(floor(x), -1.0e9, 1.0e9));
    return f32(textureLoad(voi_lut, lut_texel(input, params.luts.z, params.luts.w), 0).r) / params.voi.z;
}

fn code_of(v: f32) -> f32 {
    return clamp(floor(v + 0.5), 0.0, 255.0);
}

// The displayed 8-bit colour at image position p (pixel centres at +0.5), p inside the image.
fn display(p: vec2<f32>, dims: vec2<i32>) -> vec3<f32> {
    let last = dims - vec2<i32>(1, 1);
    let zero = vec2<i32>(0, 0);
    var t00: vec2<i32>;
    var t10: vec2<i32>;
    var t01: vec2<i32>;
    var t11: vec2<i32>;
    var f = vec2<f32>(0.0, 0.0);
    if (BILINEAR) {
        let u = p - vec2<f32>(0.5, 0.5);
        let f0 = floor(u);
        f = u - f0;
        let i0 = vec2<i32>(f0);
        t00 = clamp(i0, zero, last);
        t10 = clamp(i0 + vec2<i32>(1, 0), zero, last);
        t01 = clamp(i0 + vec2<i32>(0, 1), zero, last);
        t11 = clamp(i0 + vec2<i32>(1, 1), zero, last);
    } else {
        t00 = clamp(vec2<i32>(floor(p)), zero, last);
    }
    var code: vec3<f32>;
    if (IMAGE_KIND == KIND_GRAY) {
        var m = modality_at(t00);
        if (BILINEAR) {
            m = mix(mix(m, modality_at(t10), f.x), mix(modality_at(t01), modality_at(t11), f.x), f.y);
        }
        code = vec3<f32>(code_of(voi(m) * 255.0));
    } else {
        var c = colour_at(t00);
        if (BILINEAR) {
            c = mix(mix(c, colour_at(t10), f.x), mix(colour_at(t01), colour_at(t11), f.x), f.y);
        }
        code = vec3<f32>(code_of(c.r), code_of(c.g), code_of(c.b));
    }
    if (has(FLAG_INVERT)) {
        code = vec3<f32>(255.0, 255.0, 255.0) - code;
    }
    return code;
}

@vertex
fn vs_image(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the whole target.
    let x = f32(i32(index & 1u) * 4 - 1);
    let y = f32(i32(index & 2u) * 2 - 1);
    return vec4<f32>(x, y, 0.0, 1.0);
}

@fragment
fn fs_image(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    // position.xy is the target pixel centre (x + 0.5, y + 0.5), y down.
    let q = position.xy;
    let p = vec2<f32>(dot(params.inv_x.xy, q) + params.inv_x.z, dot(params.inv_y.xy, q) + params.inv_y.z);
    let dims = vec2<i32>(textureDimensions(image));
    let size = vec2<f32>(dims);
    var code = params.background.rgb;
    if (HAS_IMAGE && p.x >= 0.0 && p.y >= 0.0 && p.x < size.x && p.y < size.y) {
        code = display(p, dims);
    }
    return vec4<f32>(encode(code), 1.0);
}

struct OverlayOut {
    @builtin(position) position: vec4<f32>,
    @location(0) colour: vec4<f32>,
};

@vertex
fn vs_overlay(@location(0) position: vec2<f32>, @location(1) colour: vec4<f32>) -> OverlayOut {
    // position is in target pixels (x right, y down).
    let ndc = vec2<f32>(position.x / params.target_size.x * 2.0 - 1.0, 1.0 - position.y / params.target_size.y * 2.0);
    var out: OverlayOut;
    out.position = vec4<f32>(ndc, 0.0, 1.0);
    out.colour = colour;
    return out;
}

@fragment
fn fs_overlay(in: OverlayOut) -> @location(0) vec4<f32> {
    // colour.rgb holds 8-bit code values / 255.
    return vec4<f32>(encode(in.colour.rgb * 255.0), in.colour.a);
}
