//! Every entry point of the shader must translate to GLSL ES 3.00 for WebGL2 (what wgpu's WebGL
//! backend does), without optional capabilities.

use naga::back::glsl;

#[test]
fn shader_translates_to_webgl2_glsl() {
    let source = include_str!("../src/shader.wgsl");
    let module = naga::front::wgsl::parse_str(source).expect("WGSL parses");
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .expect("WGSL validates without optional capabilities");
    let entries: Vec<(naga::ShaderStage, String)> =
        module.entry_points.iter().map(|e| (e.stage, e.name.clone())).collect();
    let names: Vec<&str> = entries.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["vs_image", "fs_image", "vs_overlay", "fs_overlay"]);
    for (stage, entry) in entries {
        let options =
            glsl::Options { version: glsl::Version::Embedded { version: 300, is_webgl: true }, ..Default::default() };
        let pipeline = glsl::PipelineOptions { shader_stage: stage, entry_point: entry.clone(), multiview: None };
        let mut out = String::new();
        let mut writer = glsl::Writer::new(
            &mut out,
            &module,
            &info,
            &options,
            &pipeline,
            naga::proc::BoundsCheckPolicies::default(),
        )
        .unwrap_or_else(|e| panic!("{entry}: GLSL ES 3.00 writer: {e:?}"));
        writer.write().unwrap_or_else(|e| panic!("{entry}: GLSL ES 3.00 output: {e:?}"));
        assert!(out.starts_with("#version 300 es"), "{entry}: {out}");
        if entry == "fs_image" {
            assert!(out.contains("usampler2D"), "integer textures expected: {out}");
            assert!(out.contains("texelFetch"), "textureLoad must become texelFetch: {out}");
            assert!(!out.contains("texture("), "no filtered sampling: {out}");
        }
    }
}
