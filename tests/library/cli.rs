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

/// Runs sdflow and parses its stdout as one JSON object.
fn json_of(args: &[&str]) -> serde_json::Value {
    let out = sdflow(args);
    assert!(out.status.success(), "{:?}: {}", args, text(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {}", text(&out.stdout)))
}

/// The first data row of a metrics CSV, by column name.
fn first_row(path: &Path) -> Vec<(String, String)> {
    let csv = std::fs::read_to_string(path).expect("metrics");
    let mut lines = csv.lines();
    let header: Vec<String> = lines.next().expect("header").split(',').map(String::from).collect();
    let row: Vec<String> = lines.next().expect("a row").split(',').map(String::from).collect();
    header.into_iter().zip(row).collect()
}

#[test]
fn the_metrics_csv_starts_where_the_summary_starts() {
    let dir = temp_dir("start");
    let gen_scene = dir.join("gen.ron");
    std::fs::write(
        &gen_scene,
        r#"(name: "g", seed: 5, target: LinearGaussian(points: 200, dim: 4, latent: 2, data_seed: 1),
            model: Linear(latent: 2, init_std: 0.1, learning_rate: 0.004), method: Sd,
            schedule: FromNearest(factor: 10.0), steps: 6, step_size: Fixed(eta: 1.0), batch: Some(64))"#,
    )
    .expect("write");
    let gen_path = gen_scene.to_str().expect("utf-8").to_string();
    let cases: [(&str, &[&str]); 4] = [
        ("scenes/mystery_offset.ron", &["--steps", "12"]),
        ("scenes/mystery_offset.ron", &["--steps", "12", "--metrics-every", "1"]),
        ("scenes/grid25.ron", &["--steps", "4", "--metrics-every", "3"]),
        (&gen_path, &["--metrics-every", "2"]),
    ];
    for (k, (scene, extra)) in cases.iter().enumerate() {
        let csv = dir.join(format!("m{k}.csv"));
        let mut args = vec!["run", scene, "--quiet", "--json", "--metrics", csv.to_str().expect("utf-8")];
        args.extend(*extra);
        let summary = json_of(&args);
        let row = first_row(&csv);
        assert_eq!(row[0], ("step".to_string(), "0".to_string()), "{scene} {extra:?}");
        let mut compared = 0;
        for (name, value) in &row {
            let Some(start) = summary["metrics"][name.as_str()]["start"].as_f64() else { continue };
            if name == "loss" {
                assert_eq!(value, "", "no loss before the first step");
                continue;
            }
            assert_eq!(value.parse::<f64>().ok(), Some(start), "{scene} {extra:?}: {name}");
            compared += 1;
        }
        assert!(compared >= 6, "{scene}: only {compared} columns compared: {row:?}");
    }
    // The text summary's start is the same number.
    let csv = dir.join("text.csv");
    let out = sdflow(&[
        "run",
        "scenes/mystery_offset.ron",
        "--steps",
        "5",
        "--quiet",
        "--metrics",
        csv.to_str().expect("utf-8"),
    ]);
    let stdout = text(&out.stdout);
    let kl: f64 = first_row(&csv).iter().find(|(n, _)| n == "kl_qp").expect("kl_qp").1.parse().expect("number");
    let line = stdout.lines().find(|l| l.starts_with("kl_qp")).expect("a kl_qp line");
    assert!(line.contains(&format!("{kl:.6} ->")), "{line} vs {kl}");
}

#[test]
fn run_and_compare_print_one_json_object() {
    let run = json_of(&["run", "scenes/mystery_offset.ron", "--steps", "8", "--seed", "4", "--json"]);
    assert_eq!(
        (run["scene"].as_str(), run["seed"].as_u64(), run["steps"].as_u64()),
        (Some("Mystery from an offset Gaussian"), Some(4), Some(8))
    );
    assert_eq!(run["kind"], "particles");
    assert_eq!(run["method"], "Sd");
    for name in sdflow::engine::Metrics::NAMES.iter().chain(&sdflow::engine::Divergences::NAMES) {
        assert!(run["metrics"][name]["start"].is_number() || run["metrics"][name]["start"].is_null(), "{name}");
        assert!(run["metrics"][name].get("end").is_some(), "{name}");
    }
    assert_eq!(run["sigma2_end"].as_f64(), Some(0.5));
    let paths: u64 = run["kernel_paths"].as_object().expect("paths").values().filter_map(|v| v.as_u64()).sum();
    assert_eq!(paths, 8, "every step on some kernel path");
    assert_eq!(run["non_finite"].as_u64(), Some(0));
    assert!(run["kernel_evaluations"].as_u64().is_some_and(|k| k > 0));
    assert!(run["timings"]["total_seconds"].as_f64().is_some_and(|t| t > 0.0));

    let generator = json_of(&["run", "scenes/fig6_linear50.ron", "--steps", "3", "--json", "--quiet"]);
    assert_eq!(generator["kind"], "generator");
    assert!(generator["metrics"]["mu_rel_error"]["end"].is_number(), "{generator}");
    assert!(generator["non_finite"].is_null());

    let both =
        json_of(&["compare", "scenes/mystery_offset.ron", "scenes/mystery_offset_mmd.ron", "--steps", "5", "--json"]);
    assert_eq!(both["a"]["method"], "Sd");
    assert_eq!(both["b"]["method"], "Mmd");
}

#[test]
fn seeds_give_mean_and_range_the_same_on_any_thread_count() {
    let run = |threads: &str| {
        json_of(&[
            "run",
            "scenes/grid25_mmd.ron",
            "--steps",
            "6",
            "--seeds",
            "3",
            "--seed",
            "10",
            "--json",
            "--quiet",
            "--threads",
            threads,
        ])
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one["seeds"], serde_json::json!([10, 11, 12]));
    assert_eq!(one["end"], two["end"], "results depend on the thread count");
    for (name, stat) in one["end"].as_object().expect("end") {
        let (Some(lo), Some(mean), Some(hi)) = (stat["min"].as_f64(), stat["mean"].as_f64(), stat["max"].as_f64())
        else {
            continue;
        };
        assert!(lo <= mean && mean <= hi, "{name}: {stat}");
    }
    // Each seed's run is the single run with that seed.
    let cfds: Vec<f64> = (10..13)
        .map(|s| {
            let r = json_of(&[
                "run",
                "scenes/grid25_mmd.ron",
                "--steps",
                "6",
                "--seed",
                &s.to_string(),
                "--json",
                "--quiet",
            ]);
            r["metrics"]["cfd"]["end"].as_f64().expect("cfd")
        })
        .collect();
    let mean = cfds.iter().sum::<f64>() / 3.0;
    let stat = &one["end"]["cfd"];
    assert!((stat["mean"].as_f64().expect("mean") - mean).abs() <= 1e-12 * mean.abs(), "{stat} vs {cfds:?}");
    assert_eq!(stat["min"].as_f64(), cfds.iter().copied().reduce(f64::min));
    assert_eq!(stat["max"].as_f64(), cfds.iter().copied().reduce(f64::max));

    let dir = temp_dir("seeds");
    let png = dir.join("band.png");
    let out = sdflow(&[
        "compare",
        "scenes/mystery_offset.ron",
        "scenes/mystery_offset_mmd.ron",
        "--steps",
        "10",
        "--seeds",
        "2",
        "--metrics-every",
        "2",
        "--x-axis",
        "kernels",
        "--plot",
        png.to_str().expect("utf-8"),
        "--quiet",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("seeds 2..=3") && stdout.contains("mean [min, max]"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("cfd ")), "{stdout}");
    let bytes = std::fs::read(&png).expect("the plot");
    assert_eq!(&bytes[1..4], b"PNG");
}

#[test]
fn exit_codes_say_success_failed_check_or_bad_input() {
    let code = |args: &[&str]| {
        let out = sdflow(args);
        assert!(!text(&out.stderr).contains("panicked"), "{args:?}: {}", text(&out.stderr));
        out.status.code()
    };
    let help = text(&sdflow(&["--help"]).stdout);
    assert!(help.contains("Exit codes:") && help.contains("1  a check") && help.contains("2  bad input"), "{help}");
    assert_eq!(code(&["run", "scenes/mystery_offset.ron", "--steps", "2", "--quiet"]), Some(0));
    assert_eq!(code(&["validate", "scenes/grid25.ron"]), Some(0));
    // A check that failed: validate found problems.
    let dir = temp_dir("codes");
    let bad = dir.join("bad.ron");
    std::fs::write(&bad, "(name: \"b\", target: Mystery(points: 0), source: Ring(points: 5), method: Sd, schedule: Constant(sigma2: 1.0), steps: 3)").expect("write");
    let bad = bad.to_str().expect("utf-8");
    assert_eq!(code(&["validate", bad]), Some(1));
    assert_eq!(code(&["validate", "no/such/scene.ron"]), Some(1));
    // Bad input or usage: 2 everywhere.
    assert_eq!(code(&["run", bad]), Some(2));
    assert_eq!(code(&["run", "no/such/scene.ron"]), Some(2));
    assert_eq!(code(&["compare", "scenes/grid25.ron", bad]), Some(2));
    assert_eq!(code(&["run", "scenes/grid25.ron", "--frobnicate"]), Some(2));
    assert_eq!(code(&["run", "scenes/grid25.ron", "--steps", "0"]), Some(2));
    assert_eq!(code(&["run", "scenes/grid25.ron", "--seeds", "2", "--points", "p.csv"]), Some(2));
    assert_eq!(code(&["bench", "--repeats", "0"]), Some(2));
    let unwritable = dir.join("no/such/folder/m.csv");
    assert_eq!(
        code(&[
            "run",
            "scenes/grid25.ron",
            "--steps",
            "2",
            "--quiet",
            "--metrics",
            unwritable.to_str().expect("utf-8")
        ]),
        Some(2)
    );
}

#[test]
fn warnings_go_to_stderr_and_quiet_drops_them_but_not_the_result() {
    let scene = "scenes/mystery_rectified.ron";
    let loud = sdflow(&["run", scene, "--steps", "2"]);
    assert!(loud.status.success());
    assert!(text(&loud.stderr).contains("warning"), "{}", text(&loud.stderr));
    assert!(!text(&loud.stdout).contains("warning"));
    let quiet = sdflow(&["run", scene, "--steps", "2", "--quiet"]);
    assert_eq!(text(&quiet.stderr), "", "--quiet prints errors only");
    assert!(text(&quiet.stdout).contains("CFD"), "the summary is the result: {}", text(&quiet.stdout));
    let validate = sdflow(&["validate", scene]);
    assert!(text(&validate.stderr).contains("warning") && !text(&validate.stdout).contains("warning"));
    assert_eq!(text(&sdflow(&["validate", "--quiet", scene]).stderr), "");
    // Errors still print with --quiet.
    let missing = sdflow(&["run", "no/such/scene.ron", "--quiet"]);
    assert!(text(&missing.stderr).contains("no/such/scene.ron"));
}
