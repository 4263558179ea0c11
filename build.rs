//! Compiles the built-in control catalog into the binary: every `manifest/controls/*.toml` is
//! embedded with `include_str!`, so `kushim` runs from any directory with no files beside it.

use std::{env, fs, path::Path};

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let controls_dir = Path::new(&manifest_dir).join("manifest/controls");
    println!("cargo:rerun-if-changed={}", controls_dir.display());

    let mut files: Vec<String> = fs::read_dir(&controls_dir)
        .expect("manifest/controls exists")
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();

    let mut generated =
        String::from("pub(crate) const BUILTIN_CONTROL_FILES: &[(&str, &str)] = &[\n");
    for name in &files {
        let path = controls_dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        generated.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    generated.push_str("];\n");

    let out =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_catalog.rs");
    fs::write(out, generated).expect("OUT_DIR is writable");
}
