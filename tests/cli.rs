//! The command line as a user types it: `sdflow run`, `sdflow validate`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sdflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sdflow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sdflow runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdflow-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_writes_a_summary_metrics_and_points() {
    let dir = temp_dir("run");
    let (metrics, points) = (dir.join("m.csv"), dir.join("p.csv"));
    let out = sdflow(&[
        "run",
        "scenes/mystery_offset.ron",
        "--steps",
        "20",
        "--seed",
        "3",
        "--metrics",
        metrics.to_str().expect("utf-8"),
        "--points",
        points.to_str().expect("utf-8"),
        "--metrics-every",
        "1",
        "--quiet",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for needle in ["CFD", "outliers", "ms per step", "total time", "seed 3", "kl_qp", "non-finite   0"] {
        assert!(stdout.contains(needle), "summary lacks {needle}: {stdout}");
    }
    let rows: Vec<String> = std::fs::read_to_string(&metrics).expect("metrics").lines().map(String::from).collect();
    assert!(rows[0].starts_with("step,sigma2,"), "{}", rows[0]);
    assert!(rows[0].contains("cfd") && rows[0].contains("outlier_fraction"));
    let header: Vec<&str> = rows[0].split(',').collect();
    for name in sdflow::engine::Divergences::NAMES {
        assert!(header.contains(&name), "no column {name}: {}", rows[0]);
    }
    assert_eq!(rows.len(), 22, "a header, the start and one row per step");
    assert!(rows[1].starts_with("0,4,,,,,"), "the start, before any step: {}", rows[1]);
    assert!(rows[2].starts_with("1,4,"), "first step uses sigma2_max: {}", rows[2]);
    assert!(rows[21].starts_with("20,0.5,"), "last step uses sigma2_min: {}", rows[21]);
    let lines: Vec<String> = std::fs::read_to_string(&points).expect("points").lines().map(String::from).collect();
    assert_eq!(lines[0], "x0,x1,x2");
    assert_eq!(lines.len(), 501, "a header and the 500 moving points");
    assert!(lines[1..].iter().all(|l| l.split(',').filter_map(|v| v.parse::<f32>().ok()).count() == 3));
}

#[test]
fn seeds_change_results_and_repeat_exactly() {
    let dir = temp_dir("seed");
    let run = |seed: &str, name: &str| {
        let path = dir.join(name);
        let out = sdflow(&[
            "run",
            "scenes/swiss_to_mystery.ron",
            "--steps",
            "5",
            "--seed",
            seed,
            "--points",
            path.to_str().expect("utf-8"),
            "--quiet",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::read_to_string(path).expect("points")
    };
    assert_eq!(run("1", "a.csv"), run("1", "b.csv"));
    assert_ne!(run("1", "a.csv"), run("2", "c.csv"));
}

#[test]
fn validate_accepts_every_preset() {
    let mut args = vec!["validate".to_string()];
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes")).expect("scenes") {
        args.push(e.expect("entry").path().display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sdflow(&refs);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().filter(|l| l.starts_with("ok")).count(), args.len() - 1);
}

#[test]
fn bad_scenes_give_every_problem_with_its_position_and_never_panic() {
    let dir = temp_dir("bad");
    let bad = dir.join("bad.ron");
    std::fs::write(
        &bad,
        "(\n    name: \"bad\",\n    target: Mystery(points: 0),\n    source: SwissRoll(points: 10),\n    method: Sd,\n    schedule: Cosine(sigma2_max: 1.0, sigma2_min: 2.0),\n    steps: 10,\n)\n",
    )
    .expect("write");
    let out = sdflow(&["validate", bad.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad.ron:3:21:") && stderr.contains("`points` is 0"), "{stderr}");
    assert!(stderr.contains("bad.ron:6:39:") && stderr.contains("sigma2_min"), "{stderr}");

    let syntax = dir.join("syntax.ron");
    std::fs::write(&syntax, "(\n    name: \"x\",\n    steps: 10,,\n)\n").expect("write");
    let out = sdflow(&["run", syntax.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("syntax.ron:3:"), "{stderr}");

    let csv = dir.join("csv.ron");
    let scene = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/swiss_to_mystery.ron"))
        .expect("preset")
        .replace("SwissRoll(points: 1024)", "Csv(path: \"ragged.csv\")");
    std::fs::write(&csv, scene).expect("write");
    std::fs::write(dir.join("ragged.csv"), "x,y,z\n1,2,3\n4,5\n").expect("write");
    let out = sdflow(&["run", csv.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ragged.csv:3:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[cfg(feature = "app")]
#[test]
fn the_app_says_what_is_wrong_before_any_window() {
    let no_display = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sdflow"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .expect("sdflow runs")
    };
    let out = no_display(&["scenes/two_moons_from_ring.ron"]);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("no display found") && err.contains("sdflow run SCENE"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = no_display(&["frobnicate"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no such scene file: frobnicate"), "{err}");

    let dir = temp_dir("bad-first");
    let bad = dir.join("bad.ron");
    let good = std::fs::read_to_string("scenes/two_moons_from_ring.ron").expect("preset");
    let line = good.lines().position(|l| l.trim_start().starts_with("steps:")).expect("a steps line") + 1;
    std::fs::write(&bad, good.replacen("steps:", "steps: 0, //", 1)).expect("write");
    let out = no_display(&[bad.to_str().expect("utf-8 path")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("bad.ron:{line}:")), "no file:line:col in {err}");
    assert!(!err.contains("panicked") && !err.contains("no display"), "{err}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sdflow"))
        .args(["bench", "--quick", "--json", "--repeats", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sdflow runs");
    // What `| head -1` does: read one line, then close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("a line");
    let out = child.wait_with_output().expect("sdflow ends");
    let err = text(&out.stderr);
    assert!(!first.is_empty());
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // Ended by SIGPIPE as Unix tools are, or finished before noticing.
        assert!(out.status.success() || out.status.signal() == Some(13), "{:?}", out.status);
    }
}

#[test]
fn the_default_cadence_thins_metrics_and_keeps_the_last_step() {
    let dir = temp_dir("cadence");
    let metrics = dir.join("m.csv");
    let out = sdflow(&[
        "run",
        "scenes/mystery_offset.ron",
        "--steps",
        "40",
        "--metrics",
        metrics.to_str().expect("utf-8"),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<String> = std::fs::read_to_string(&metrics).expect("metrics").lines().map(String::from).collect();
    assert!(rows.len() < 21, "metrics every step by default: {} rows", rows.len());
    assert!(rows.last().expect("a row").starts_with("40,0.5,"), "the last step is always recorded");
}

#[test]
fn compare_prints_both_scenes_and_plots_them() {
    let dir = temp_dir("compare");
    let png = dir.join("c.png");
    let out = sdflow(&[
        "compare",
        "scenes/mystery_offset.ron",
        "scenes/mystery_offset_mmd.ron",
        "--steps",
        "30",
        "--plot",
        png.to_str().expect("utf-8"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let header = stdout.lines().next().expect("a header");
    assert!(header.contains("Mystery from an offset Gaussian") && header.contains("MMD flow"), "{header}");
    for name in ["cfd", "kl_qp", "memorization", "sw2"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "no row {name}: {stdout}");
    }
    let bytes = std::fs::read(&png).expect("the plot");
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 10_000, "a near-empty plot: {} bytes", bytes.len());
}

#[test]
fn run_trains_a_generator_and_writes_its_parameters_samples_and_errors() {
    let dir = temp_dir("gen");
    let scene = dir.join("gen.ron");
    std::fs::write(
        &scene,
        r#"(
    name: "small linear generator",
    seed: 2,
    target: LinearGaussian(points: 300, dim: 6, latent: 3, data_seed: 1),
    model: Linear(latent: 3, init_std: 0.1, learning_rate: 0.004),
    method: Sd,
    schedule: FromNearest(factor: 10.0),
    steps: 20,
    step_size: Fixed(eta: 1.0),
    batch: Some(128),
)"#,
    )
    .expect("write");
    let (params, points, metrics) = (dir.join("p.json"), dir.join("s.csv"), dir.join("m.csv"));
    let path = |p: &PathBuf| p.to_str().expect("utf-8").to_string();
    let out = sdflow(&[
        "run",
        &path(&scene),
        "--quiet",
        "--params",
        &path(&params),
        "--points",
        &path(&points),
        "--samples",
        "50",
        "--metrics",
        &path(&metrics),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for needle in ["Linear generator", "FromNearest: 10 x mean distance", "loss", "mu error", "BB^T error", "CFD"] {
        assert!(stdout.contains(needle), "summary lacks {needle}: {stdout}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&params).expect("params")).expect("json");
    assert_eq!(json["kind"], "Linear");
    let matrix = json["matrix"].as_array().expect("matrix");
    assert_eq!(matrix.len(), 6, "d rows");
    assert!(matrix.iter().all(|r| r.as_array().is_some_and(|r| r.len() == 3)), "l numbers per row");
    assert_eq!(json["offset"].as_array().map(Vec::len), Some(6));
    assert_eq!(std::fs::read_to_string(&points).expect("points").lines().count(), 51, "a header and 50 samples");
    let rows: Vec<String> = std::fs::read_to_string(&metrics).expect("metrics").lines().map(String::from).collect();
    assert!(
        rows[0].starts_with("step,sigma2,kernel_sigma2,eta,path,ms,loss,mu_rel_error,cov_rel_error,cfd"),
        "{}",
        rows[0]
    );
    assert_eq!(rows.len(), 22, "a header, the start and one row per step");
    assert!(rows[1].starts_with("0,"), "{}", rows[1]);
}
