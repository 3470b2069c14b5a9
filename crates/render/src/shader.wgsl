// Obscura grayscale renderer: R16Uint texture + DICOM LINEAR VOI in the fragment shader.
// WebGL2-compatible: one uniform buffer (48 bytes, 16-byte aligned members), one
// integer texture read with textureLoad, no storage buffers, no compute.

struct Params {
    // xy: half extent of the image quad in NDC, zw: centre of the quad in NDC.
    quad: vec4<f32>,
    // x: window centre, y: window width, z: rescale slope, w: rescale intercept.
    voi: vec4<f32>,
    // x: signed (0/1), y: invert (0/1), z: target is sRGB (0/1), w: unused.
    flags: vec4<u32>,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var image: texture_2d<u32>;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VsOut {
    // Two triangles covering the unit square; uv (0,0) is the top-left image corner.
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0),
        vec2<f32>(1.0, 0.0),
        vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0),
        vec2<f32>(1.0, 0.0),
        vec2<f32>(1.0, 1.0),
    );
    let uv = corners[index];
    let ndc = vec2<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0);
    var out: VsOut;
    out.position = vec4<f32>(ndc * params.quad.xy + params.quad.zw, 0.0, 1.0);
    out.uv = uv;
    return out;
}

// sRGB EOTF: the linear value whose sRGB encoding is `c` (0..1).
fn srgb_to_linear(c: f32) -> f32 {
    if (c <= 0.04045) {
        return c / 12.92;
    }
    return pow((c + 0.055) / 1.055, 2.4);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let dims = textureDimensions(image);
    let size = vec2<f32>(f32(dims.x), f32(dims.y));
    let texel_f = clamp(floor(in.uv * size), vec2<f32>(0.0, 0.0), size - vec2<f32>(1.0, 1.0));
    let texel = vec2<i32>(i32(texel_f.x), i32(texel_f.y));
    let raw = textureLoad(image, texel, 0).r & 0xffffu;

    var stored = f32(raw);
    if (params.flags.x != 0u && raw >= 32768u) {
        stored = stored - 65536.0;
    }
    let x = stored * params.voi.z + params.voi.w;

    // DICOM PS3.3 C.11.2.1.2.1, LINEAR, output range 0..255.
    let c = params.voi.x;
    let w = params.voi.y;
    var y: f32;
    if (x <= c - 0.5 - (w - 1.0) / 2.0) {
        y = 0.0;
    } else if (x > c - 0.5 + (w - 1.0) / 2.0) {
        y = 255.0;
    } else {
        y = ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
    }
    var code = clamp(floor(y + 0.5), 0.0, 255.0);
    if (params.flags.y != 0u) {
        code = 255.0 - code;
    }
    var out = code / 255.0;
    if (params.flags.z != 0u) {
        out = srgb_to_linear(out);
    }
    return vec4<f32>(out, out, out, 1.0);
}
