//! Scene files as JSON (the same fields as RON), the JSON Schema of the
//! format, and clouds read from NumPy `.npy` files.

use std::path::{Path, PathBuf};

use sdflow::scene::{Scene, SceneFile};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdflow-formats-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn presets() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    out.sort();
    out
}

/// Every top-level field of [`Scene`], written out by hand.
const FIELDS: [&str; 19] = [
    "name",
    "description",
    "seed",
    "target",
    "source",
    "model",
    "regression_steps",
    "method",
    "direction",
    "schedule",
    "steps",
    "step_size",
    "batch",
    "bandwidth",
    "cutoff",
    "rho",
    "cfd_frequencies",
    "driver",
    "camera",
];

#[test]
fn every_preset_converted_to_json_loads_to_the_same_scene() {
    let dir = temp_dir("json");
    let schema = sdflow::cli::scene_schema();
    let properties = schema["properties"].as_object().expect("properties");
    let required: Vec<&str> =
        schema["required"].as_array().expect("required").iter().filter_map(|v| v.as_str()).collect();
    let presets = presets();
    assert!(presets.len() >= 10, "{presets:?}");
    for ron in presets {
        let from_ron = SceneFile::read(&ron).expect("a valid preset");
        let json = serde_json::to_value(&from_ron.scene).expect("serialises");
        let object = json.as_object().expect("an object");
        assert!(object.keys().all(|k| properties.contains_key(k)), "{}: {object:?}", ron.display());
        assert!(required.iter().all(|k| object.contains_key(*k)), "{}: lacks a required field", ron.display());
        let path = dir.join(ron.file_name().expect("name")).with_extension("json");
        std::fs::write(&path, serde_json::to_string_pretty(&json).expect("text")).expect("write");
        let from_json = SceneFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_json.scene, from_ron.scene, "{}", ron.display());
    }
}

#[test]
fn the_schema_is_json_and_names_every_field() {
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_sdflow")).arg("schema").output().expect("runs");
    assert!(text.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&text.stdout).expect("valid JSON");
    assert!(schema["$schema"].as_str().is_some_and(|s| s.contains("json-schema.org")), "{schema}");
    let properties = schema["properties"].as_object().expect("properties");
    for field in FIELDS {
        assert!(properties.contains_key(field), "the schema lacks {field}");
    }
    assert_eq!(properties.len(), FIELDS.len(), "{:?}", properties.keys().collect::<Vec<_>>());
    assert_eq!(schema["additionalProperties"], false, "unknown fields are rejected");
    let mut required: Vec<&str> =
        schema["required"].as_array().expect("required").iter().filter_map(|v| v.as_str()).collect();
    required.sort_unstable();
    assert_eq!(required, ["method", "name", "schedule", "steps", "target"]);
    // Every data set has its variant, Npy included.
    let datasets = schema["$defs"]["Dataset"].to_string();
    for kind in ["SwissRoll", "Mystery", "Grid25", "Gaussian", "LinearGaussian", "Ring", "TwoMoons", "Csv", "Npy"] {
        assert!(datasets.contains(&format!("\"{kind}\"")), "no {kind} in {datasets}");
    }
}

const JSON_SCENE: &str = r#"{
  "name": "JSON moons",
  "seed": 4,
  "target": {"TwoMoons": {"points": 200}},
  "source": {"Ring": {"points": 150}},
  "method": "Sd",
  "schedule": {"Cosine": {"sigma2_max": 1.0, "sigma2_min": 0.05}},
  "steps": 20,
  "batch": null
}"#;

#[test]
fn json_scenes_are_written_by_hand_and_their_errors_have_positions() {
    let dir = temp_dir("json-errors");
    let good = dir.join("good.json");
    std::fs::write(&good, JSON_SCENE).expect("write");
    let f = SceneFile::read(&good).unwrap_or_else(|e| panic!("{e}"));
    let ron = r#"(name: "JSON moons", seed: 4, target: TwoMoons(points: 200), source: Ring(points: 150),
        method: Sd, schedule: Cosine(sigma2_max: 1.0, sigma2_min: 0.05), steps: 20)"#;
    let expected: Scene = SceneFile::parse(Path::new("x.ron"), ron.into()).expect("ron").scene;
    assert_eq!(f.scene, expected);

    let syntax = dir.join("syntax.json");
    std::fs::write(&syntax, JSON_SCENE.replace("\"steps\": 20,", "\"steps\": 20,,")).expect("write");
    let e = SceneFile::read(&syntax).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:8:", syntax.display())), "{e}");
    assert!(!e.contains(" at line "), "the position is given once: {e}");

    let unknown = dir.join("unknown.json");
    std::fs::write(&unknown, JSON_SCENE.replace("\"seed\": 4,", "\"seed\": 4, \"colour\": 3,")).expect("write");
    let e = SceneFile::read(&unknown).unwrap_err().to_string();
    assert!(e.contains("unknown.json:3:") && e.contains("colour"), "{e}");

    let value = dir.join("value.json");
    std::fs::write(&value, JSON_SCENE.replace("\"sigma2_min\": 0.05", "\"sigma2_min\": 2.0")).expect("write");
    let e = SceneFile::read(&value).unwrap_err().to_string();
    assert!(e.contains("value.json:7:") && e.contains("sigma2_min"), "value problems at their key: {e}");
}

/// A `.npy` file as `numpy.save` writes it: format 1.0, header padded to 64 bytes.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let f = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header);
    out.extend(data);
    out
}

fn npy_scene(dir: &Path, file: &str) -> PathBuf {
    let scene = dir.join(format!("{file}.ron"));
    std::fs::write(
        &scene,
        format!(
            "(\n    name: \"from numpy\",\n    target: TwoMoons(points: 300),\n    source: Npy(path: \"{file}\"),\n    method: Sd,\n    schedule: Constant(sigma2: 0.5),\n    steps: 3,\n)\n"
        ),
    )
    .expect("write");
    scene
}

#[test]
fn npy_clouds_load_relative_to_the_scene_in_f32_and_f64() {
    let dir = temp_dir("npy");
    let points: Vec<[f64; 2]> = (0..40).map(|k| [k as f64 * 0.25 - 5.0, (k as f64).sin()]).collect();
    let f64s: Vec<u8> = points.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    let f32s: Vec<u8> = points.iter().flatten().flat_map(|x| (*x as f32).to_le_bytes()).collect();
    std::fs::write(dir.join("a.npy"), npy("<f8", false, "(40, 2)", &f64s)).expect("write");
    std::fs::write(dir.join("b.npy"), npy("<f4", false, "(40, 2)", &f32s)).expect("write");
    let expected: Vec<f32> = points.iter().flatten().map(|&x| x as f32).collect();
    for file in ["a.npy", "b.npy"] {
        let scene = SceneFile::read(&npy_scene(&dir, file)).unwrap_or_else(|e| panic!("{e}"));
        let clouds = scene.clouds().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((clouds.source.len(), clouds.source.dim()), (40, 2), "{file}");
        assert_eq!(clouds.source.as_slice(), &expected[..], "{file}");
    }
}

#[test]
fn npy_problems_name_the_scene_field_and_the_file() {
    let dir = temp_dir("npy-bad");
    let cases = [
        ("ints.npy", npy("<i8", false, "(2, 2)", &[0; 32]), "'<i8'"),
        ("fortran.npy", npy("<f8", true, "(2, 2)", &[0; 32]), "Fortran order"),
        ("flat.npy", npy("<f8", false, "(4,)", &[0; 32]), "2-D"),
        ("big_endian.npy", npy(">f8", false, "(2, 2)", &[0; 32]), "'>f8'"),
        ("short.npy", npy("<f4", false, "(3, 2)", &[0; 8]), "needs 24 bytes"),
    ];
    for (file, bytes, needle) in cases {
        std::fs::write(dir.join(file), bytes).expect("write");
        let scene = SceneFile::read(&npy_scene(&dir, file)).expect("parses");
        let e = scene.clouds().unwrap_err();
        assert_eq!((e.problems[0].line, e.problems[0].column), (4, 17), "{e}");
        let text = e.to_string();
        assert!(text.contains(file) && text.contains(needle), "{file}: {text}");
    }
    let missing = SceneFile::read(&npy_scene(&dir, "nowhere.npy")).expect("parses").clouds().unwrap_err();
    assert!(missing.to_string().contains("nowhere.npy") && missing.to_string().contains("cannot read"));
}
