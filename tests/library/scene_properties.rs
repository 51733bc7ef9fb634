//! Property tests of scene texts: built from the format's grammar, valid and
//! broken, then mutated byte by byte. Parsing, validation, cloud generation
//! and a short run never panic, every error names a line and column inside
//! the file, and a run that starts keeps every point finite.

use std::path::Path;

use proptest::prelude::*;

use crate::properties::config;
use proptest::strategy::ValueTree;

use sdflow::scene::{SceneError, SceneFile};

/// One of a field's written forms, the first (valid) one most often; the
/// others are out of range or broken.
fn one_of(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        7 => Just(options[0].to_string()),
        1 => proptest::sample::select(options).prop_map(str::to_string),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => (0.001f64..10.0).prop_map(|x| format!("{x}")),
        1 => proptest::sample::select(&["0.0", "-1.0", "1e-40", "1e40", "1e300", "inf", "NaN", "2", "\"one\"", ""][..])
            .prop_map(str::to_string),
    ]
}

fn dataset() -> impl Strategy<Value = String> {
    let points = prop_oneof![9 => 1usize..60, 1 => Just(0)];
    let dims = 1usize..5;
    prop_oneof![
        3 => points.clone().prop_map(|n| format!("SwissRoll(points: {n})")),
        1 => points.clone().prop_map(|n| format!("Mystery(points: {n})")),
        1 => points.clone().prop_map(|n| format!("Grid25(points: {n})")),
        1 => (points, dims, number()).prop_map(|(n, d, std)| {
            let mean = vec!["0.5"; d].join(", ");
            format!("Gaussian(points: {n}, mean: [{mean}], std: {std})")
        }),
        1 => proptest::sample::select(&["Csv(path: \"no-such-file.csv\")", "Blob(points: 3)", "SwissRoll(points: 10, size: 2)", "SwissRoll"][..])
            .prop_map(str::to_string),
    ]
}

fn schedule() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0.01f64..1.0, 1.0f64..20.0).prop_map(|(a, b)| format!("Cosine(sigma2_max: {b}, sigma2_min: {a})")),
        1 => (number(), number()).prop_map(|(a, b)| format!("Cosine(sigma2_max: {a}, sigma2_min: {b})")),
        1 => (number(), number()).prop_map(|(a, b)| format!("Geometric(sigma2_max: {a}, sigma2_min: {b})")),
        1 => number().prop_map(|s| format!("Constant(sigma2: {s})")),
        1 => number().prop_map(|f| format!("FromNearest(factor: {f})")),
        1 => proptest::sample::select(&["Cosine(sigma2_max: 4.0)", "Cosine", "Warm(sigma2: 1.0)"][..]).prop_map(str::to_string),
    ]
}

/// Optional fields, each present or not.
fn extras() -> impl Strategy<Value = Vec<String>> {
    let options = [
        one_of(&["direction: Forward", "direction: Reverse", "direction: Sideways"]).boxed(),
        (prop_oneof![Just("Fixed".to_string()), Just("Auto".to_string())], number())
            .prop_map(|(k, x)| {
                if k == "Fixed" {
                    format!("step_size: Fixed(eta: {x})")
                } else {
                    format!("step_size: Auto(first_norm: {x})")
                }
            })
            .boxed(),
        one_of(&["batch: None", "batch: Some(8)", "batch: Some(0)", "batch: 5"]).boxed(),
        one_of(&["cutoff: Auto", "cutoff: Off"]).boxed(),
        one_of(&["rho: StepSize", "rho: Diffusion", "rho: Fixed(0.5)", "rho: Fixed(2.0)"]).boxed(),
        number().prop_map(|s| format!("bandwidth: Fixed(sigma2: {s})")).boxed(),
        one_of(&["camera: (yaw_deg: 10.0, pitch_deg: 30.0)", "camera: (yaw_deg: 1.0, pitch_deg: 100.0)"]).boxed(),
        one_of(&[
            "driver: Discriminator(hidden: [4], learning_rate: 0.01, updates_per_step: 1, loss: Alt, minibatch: 8)",
            "driver: Discriminator(hidden: [], learning_rate: -1.0, updates_per_step: 0, loss: Alt)",
        ])
        .boxed(),
        one_of(&[
            "model: Linear(latent: 2, learning_rate: 0.01)",
            "model: Mlp(latent: 2, hidden: [4], activation: Relu, learning_rate: 0.01, optimizer: Adam)",
            "model: Mlp(latent: 0, hidden: [4], activation: Relu, learning_rate: 0.01, optimizer: Adam)",
        ])
        .boxed(),
        one_of(&["cfd_frequencies: 16", "cfd_frequencies: 0"]).boxed(),
    ];
    options.map(|o| proptest::option::weighted(0.2, o)).to_vec().prop_map(|v| v.into_iter().flatten().collect())
}

/// A whole scene text, then zero to three byte-level mutations.
fn scene_text() -> impl Strategy<Value = String> {
    let method = one_of(&["Sd", "SdDenoiser", "Mmd", "MmdNormalized", "RectifiedFlow", "Sdd"]);
    let steps = prop_oneof![9 => 1usize..4, 1 => Just(0)];
    let fields = (
        one_of(&["name: \"a scene\"", "name: \"steps: 3 // not a field\"", "name: unquoted", ""]),
        proptest::option::of(one_of(&["description: r#\"say \"steps: 0\" here\"#", "description: \"seed: -1\""])),
        one_of(&["seed: 3", "seed: -1", "seed: \"x\""]),
        dataset(),
        proptest::option::weighted(0.9, dataset()),
        method,
        schedule(),
        steps.prop_map(|n| n.to_string()),
        extras(),
    );
    let text = fields.prop_map(|(name, description, seed, target, source, method, schedule, steps, extras)| {
        let mut lines = vec![name];
        lines.extend(description);
        lines.push(seed);
        lines.push(format!("target: {target}"));
        lines.extend(source.map(|s| format!("source: {s}")));
        lines.push(format!("method: {method}"));
        lines.push(format!("schedule: {schedule}"));
        lines.push(format!("// steps: 99 in a comment\n    steps: {steps}"));
        lines.extend(extras);
        let body: Vec<String> = lines.into_iter().filter(|l| !l.is_empty()).map(|l| format!("    {l},")).collect();
        format!("(\n{}\n)\n", body.join("\n"))
    });
    let edit = (
        any::<prop::sample::Index>(),
        0u8..3,
        proptest::sample::select(&[b'(', b')', b',', b':', b'"', b'x', b'\n'][..]),
    );
    (text, prop_oneof![3 => Just(Vec::new()), 1 => proptest::collection::vec(edit, 1..=3)]).prop_map(|(text, edits)| {
        let mut bytes = text.into_bytes();
        for (at, kind, byte) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => {
                    bytes.remove(i);
                }
                1 => bytes.insert(i, byte),
                _ => bytes[i] = byte,
            }
        }
        // Mutations are ASCII, so the text stays UTF-8 (a removed byte is ASCII too).
        String::from_utf8(bytes).unwrap_or_default()
    })
}

/// Every problem of `e` points inside `text`.
fn located_inside(e: &SceneError, text: &str) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(!e.problems.is_empty(), "an error without a problem");
    for p in &e.problems {
        prop_assert!(p.line >= 1 && p.line <= lines.len(), "line {} outside the file: {e}\n{text}", p.line);
        let width = lines[p.line - 1].chars().count();
        prop_assert!(
            p.column >= 1 && p.column <= width + 1,
            "column {} outside line {}: {e}\n{text}",
            p.column,
            p.line
        );
        prop_assert!(!p.message.is_empty());
        prop_assert!(e.to_string().contains(&format!("scene.ron:{}:{}:", p.line, p.column)), "{e}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn scene_texts_never_panic_and_errors_point_inside_the_file(text in scene_text()) {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scene.ron");
        match SceneFile::parse(&path, text.clone()) {
            Err(e) => located_inside(&e, &text)?,
            Ok(mut file) => match file.clouds() {
                Err(e) => located_inside(&e, &text)?,
                Ok(clouds) => {
                    file.scene.steps = file.scene.steps.min(2);
                    let seed = file.scene.seed;
                    match file.scene.trainer(&clouds, seed) {
                        Some(Ok(mut trainer)) => {
                            while trainer.step().is_some() {}
                            prop_assert!(trainer.samples(16).as_slice().iter().all(|x| x.is_finite()));
                        }
                        Some(Err(_)) => {}
                        None => {
                            let mut sim = file.scene.simulation(&clouds, seed);
                            while sim.step().is_some() {}
                            prop_assert!(sim.moving().as_slice().iter().all(|x| x.is_finite()), "{text}");
                        }
                    }
                }
            },
        }
    }
}

#[test]
fn the_generator_reaches_valid_scenes_too() {
    // Without this the property above could pass by rejecting everything.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let valid = (0..400)
        .filter(|_| {
            let text = scene_text().new_tree(&mut runner).expect("a text").current();
            SceneFile::parse(Path::new("scene.ron"), text).is_ok_and(|f| f.clouds().is_ok())
        })
        .count();
    assert!(valid >= 20, "only {valid} of 400 generated scenes were valid");
}

#[test]
fn an_overflowing_std_is_refused_at_its_line() {
    // Found by the property above: std 1e40 made every point infinite in f32.
    let text = "(\n    name: \"a scene\",\n    seed: 3,\n    target: SwissRoll(points: 1),\n    source: Gaussian(points: 1, mean: [0.5, 0.5, 0.5], std: 1e40),\n    method: Sd,\n    schedule: Cosine(sigma2_max: 1, sigma2_min: 0.01),\n    steps: 1,\n)\n";
    let e = SceneFile::parse(Path::new("scene.ron"), text.to_string()).expect_err("std 1e40 is refused");
    located_inside(&e, text).expect("located");
    assert_eq!(e.problems[0].line, 5, "{e}");
    assert!(e.to_string().contains("`std` is") && e.to_string().contains("0 to 1e12"), "{e}");
}
