//! Compiles Kushim's data into the binary, so `kushim` runs from any directory with no files beside
//! it: every `manifest/controls/*.toml` (the control catalog) and every `commands/*.toml` (the chat
//! commands) is embedded with `include_str!`.

use std::{env, fs, path::Path};

fn main() {
    embed("manifest/controls", "BUILTIN_CONTROL_FILES", "builtin_catalog.rs");
    embed("commands", "BUILTIN_COMMAND_FILES", "builtin_commands.rs");
}

/// Writes `OUT_DIR/{out}` holding `const {constant}: &[(file name, contents)]` for every `*.toml`
/// in `dir` (relative to the crate), in name order.
fn embed(dir: &str, constant: &str, out: &str) {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join(dir);
    println!("cargo:rerun-if-changed={}", dir.display());

    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();

    let mut generated = format!("pub(crate) const {constant}: &[(&str, &str)] = &[\n");
    for name in &files {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        generated.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    generated.push_str("];\n");

    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(out);
    fs::write(out, generated).expect("OUT_DIR is writable");
}
