//! libFuzzer target: any bytes as a profile (beside the bundled `_base.toml`)
//! through load, validate, derive, render and hash. gen must refuse bad input
//! with an error, never panic; the error must render as gen prints it.
#![no_main]

use gen_compile::compile;
use gen_compile::load::MemoryProfiles;
use gen_compile::render::Renderer;
use libfuzzer_sys::fuzz_target;

const BASE: &str = include_str!("../../profiles/_base.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = MemoryProfiles::default()
        .with("_base", BASE)
        .with("fuzzed", text);
    let renderer = Renderer::new();
    if let Err(err) = compile::compile_from(&files, "fuzzed", &renderer) {
        let mut shown = String::new();
        miette::GraphicalReportHandler::new()
            .render_report(&mut shown, &err)
            .expect("an error renders");
    }
});
