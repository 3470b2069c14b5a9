//! Every entry point of the shader, in every mode its `override` constants can select, must
//! translate to GLSL ES 3.00 for WebGL2 (what wgpu's WebGL backend does: resolve the overrides
//! with `process_overrides`, then write GLSL), without optional capabilities.

use naga::back::glsl;

/// The values each `override` of the shader can take (the renderer's `ImageMode` sets them):
/// image kind gray / palette / RGB, VOI function LINEAR / LINEAR_EXACT / SIGMOID / LUT, flags.
const OVERRIDES: [(&str, &[f64]); 7] = [
    ("IMAGE_KIND", &[0.0, 1.0, 2.0]),
    ("VOI_FUNCTION", &[0.0, 1.0, 2.0, 3.0]),
    ("SIGNED", &[0.0, 1.0]),
    ("MODALITY_LUT", &[0.0, 1.0]),
    ("BILINEAR", &[0.0, 1.0]),
    ("SRGB", &[0.0, 1.0]),
    ("HAS_IMAGE", &[0.0, 1.0]),
];

/// Every combination of the override values (the cross product of `OVERRIDES`).
fn every_variant() -> Vec<naga::back::PipelineConstants> {
    let mut variants = vec![naga::back::PipelineConstants::default()];
    for (name, values) in OVERRIDES {
        variants = variants
            .into_iter()
            .flat_map(|constants| {
                values.iter().map(move |&v| {
                    let mut c = constants.clone();
                    c.insert(name.to_string(), v);
                    c
                })
            })
            .collect();
    }
    variants
}

#[test]
fn shader_translates_to_webgl2_glsl() {
    let source = include_str!("../src/shader.wgsl");
    let module = naga::front::wgsl::parse_str(source).expect("WGSL parses");
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .expect("WGSL validates without optional capabilities");
    // A new override must be added to OVERRIDES (and so be translated in every value here).
    let mut declared: Vec<&str> = module.overrides.iter().filter_map(|(_, o)| o.name.as_deref()).collect();
    let mut listed: Vec<&str> = OVERRIDES.iter().map(|(n, _)| *n).collect();
    declared.sort_unstable();
    listed.sort_unstable();
    assert_eq!(declared, listed, "the shader's overrides");
    let entries: Vec<(naga::ShaderStage, String)> =
        module.entry_points.iter().map(|e| (e.stage, e.name.clone())).collect();
    let names: Vec<&str> = entries.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["vs_image", "fs_image", "vs_overlay", "fs_overlay"]);
    let variants = every_variant();
    assert_eq!(variants.len(), 3 * 4 * 32);
    for (stage, entry) in entries {
        for constants in &variants {
            // What wgpu-hal's GLES backend does before writing GLSL.
            let (module, info) =
                naga::back::pipeline_constants::process_overrides(&module, &info, Some((stage, &entry)), constants)
                    .unwrap_or_else(|e| panic!("{entry} {constants:?}: overrides: {e}"));
            let options = glsl::Options {
                version: glsl::Version::Embedded { version: 300, is_webgl: true },
                ..Default::default()
            };
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
            .unwrap_or_else(|e| panic!("{entry} {constants:?}: GLSL ES 3.00 writer: {e:?}"));
            writer.write().unwrap_or_else(|e| panic!("{entry} {constants:?}: GLSL ES 3.00 output: {e:?}"));
            assert!(out.starts_with("#version 300 es"), "{entry}: {out}");
            if entry == "fs_image" {
                assert!(out.contains("usampler2D"), "integer textures expected: {out}");
                assert!(!out.contains("texture("), "no filtered sampling: {out}");
                if constants["HAS_IMAGE"] == 1.0 {
                    assert!(out.contains("texelFetch"), "textureLoad must become texelFetch: {out}");
                }
            }
        }
    }
}
