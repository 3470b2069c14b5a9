//! Embeds the browser part of the decoding corpus (`target/corpus/wasm-subset.json`, made by
//! `cargo xtask corpus`) into the test binary: the wasm test cannot read files.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = root.join("target/corpus");
    let subset = corpus.join("wasm-subset.json");
    println!("cargo:rerun-if-changed={}", subset.display());
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("corpus_subset.rs");
    let mut code = String::from("pub static SUBSET: &[CorpusFile] = &[\n");
    let found = subset.exists();
    if let Ok(text) = std::fs::read_to_string(&subset) {
        let v: serde_json::Value = serde_json::from_str(&text).expect("wasm-subset.json is JSON");
        for f in v["files"].as_array().expect("files") {
            let name = f["name"].as_str().unwrap();
            let file = corpus.join(f["file"].as_str().unwrap());
            let tolerance = f["tolerance"].as_u64().unwrap();
            let shas: Vec<&str> = f["frame_sha256"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            let truth: Vec<String> = if tolerance > 0 {
                (0..shas.len())
                    .map(|i| {
                        let p = corpus.join(format!("truth/{name}.frame{i}.raw"));
                        format!("include_bytes!({:?})", p.display().to_string())
                    })
                    .collect()
            } else {
                Vec::new()
            };
            println!("cargo:rerun-if-changed={}", file.display());
            writeln!(
                code,
                "    CorpusFile {{ name: {name:?}, bytes: include_bytes!({:?}), tolerance: {tolerance}, frame_sha256: &{shas:?}, truth: &[{}] }},",
                file.display().to_string(),
                truth.join(", ")
            )
            .unwrap();
        }
    }
    code.push_str("];\n");
    writeln!(code, "pub const SUBSET_FOUND: bool = {found};").unwrap();
    std::fs::write(out, code).unwrap();
}
