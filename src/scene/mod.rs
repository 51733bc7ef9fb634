//! The scene file: a RON description of one experiment (data sets, flow,
//! schedule, steps), its validation, and turning it into a [`Simulation`].
//!
//! ```ron
//! (
//!     name: "Swiss roll -> mystery",
//!     description: "Dataset interpolation, paper App. E.3.",
//!     seed: 7,
//!     target: Mystery(points: 1024),
//!     source: SwissRoll(points: 1024),
//!     method: Sd,
//!     direction: Forward,
//!     schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),
//!     steps: 500,
//!     step_size: Auto(first_norm: 0.5),
//!     batch: None,
//! )
//! ```
//!
//! Unknown fields are rejected. Every problem is reported as
//! `file:line:column: what to change`.

mod cloud;
mod csv_points;
pub(crate) mod locate;
mod npy;
mod save;
mod theory;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use cloud::SceneCloud;
pub use csv_points::{read_points, write_points};
pub use locate::locate;
pub use npy::read_npy;
pub use save::save_scene;

use crate::engine::Run;
use crate::engine::flow::DiscriminatorDrift;
use crate::engine::metrics::CFD_FREQUENCIES;
use crate::engine::training::{TrainError, initial_samples};
use crate::engine::{
    Bandwidth, Cloud, CutOff, Dataset, Direction, Driver, FlowSettings, Method, Model, Rho, Schedule, Simulation,
    StepSize, TrainSettings, Trainer,
};

/// One experiment, as written in a `.ron` scene file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    pub name: String,
    /// What the scene shows and what to look for.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    pub target: Dataset,
    /// The moving cloud of a particle flow. Omitted when `model` is set: the
    /// generator's output is then the moving cloud.
    // Written bare, never `null`: so says the schema, here and below.
    #[schemars(with = "Dataset")]
    #[serde(default, deserialize_with = "bare_some", skip_serializing_if = "Option::is_none")]
    pub source: Option<Dataset>,
    /// A generator trained by Algorithm 2 instead of moving `source`.
    #[schemars(with = "Model")]
    #[serde(default, deserialize_with = "bare_some", skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    /// Regression steps per flow step when training a `model` (Algorithm 2, step 6).
    #[serde(default = "one")]
    pub regression_steps: usize,
    pub method: Method,
    #[serde(default)]
    pub direction: Direction,
    pub schedule: Schedule,
    pub steps: usize,
    #[serde(default)]
    pub step_size: StepSize,
    /// Algorithm 1's batch size; None moves every point every step.
    #[serde(default)]
    pub batch: Option<usize>,
    #[serde(default)]
    pub bandwidth: Bandwidth,
    #[serde(default)]
    pub cutoff: CutOff,
    /// SdDenoiser's rho: `StepSize` (eta / 2), `Fixed(0.05)` or `Diffusion`.
    #[serde(default)]
    pub rho: Rho,
    /// Number K of CFD frequencies (App. E.1 uses 256).
    #[serde(default = "cfd_frequencies")]
    pub cfd_frequencies: usize,
    /// What gives the direction: `Kernel` (the method's kernel sums) or a
    /// trained `Discriminator(...)` (Section 4.3).
    #[serde(default)]
    pub driver: Driver,
    /// Where the app's camera starts for 3-D scenes (2-D scenes face it).
    #[schemars(with = "CameraHint")]
    #[serde(default, deserialize_with = "bare_some", skip_serializing_if = "Option::is_none")]
    pub camera: Option<CameraHint>,
}

/// A starting view for the app: the camera's angles around the clouds'
/// centre. Yaw turns about the vertical (y) axis, pitch raises the camera
/// above the x-z plane; (0, 0) looks along -z at the x-y plane.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraHint {
    pub yaw_deg: f64,
    pub pitch_deg: f64,
}

impl CameraHint {
    /// Why these angles cannot be used, if they cannot.
    pub fn problem(self) -> Option<String> {
        let usable = self.yaw_deg.is_finite() && self.pitch_deg.is_finite() && self.pitch_deg.abs() <= 90.0;
        (!usable).then(|| {
            format!(
                "camera angles ({}, {}) are not usable; give finite degrees with |pitch_deg| <= 90",
                self.yaw_deg, self.pitch_deg
            )
        })
    }
}

fn cfd_frequencies() -> usize {
    CFD_FREQUENCIES
}

fn one() -> usize {
    1
}

/// Reads an optional field written bare (`model: Linear(..)`, not `Some(..)`).
fn bare_some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// One problem in a scene file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A scene that cannot be used, with every problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SceneError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for SceneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.path.display(), p.line, p.column, p.message)?;
        }
        Ok(())
    }
}

/// The two clouds of a scene, as generated or read.
#[derive(Clone, Debug, PartialEq)]
pub struct Clouds {
    pub target: Cloud,
    pub source: Cloud,
}

/// A parsed, validated scene with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneFile {
    pub path: PathBuf,
    pub text: String,
    pub scene: Scene,
}

impl SceneFile {
    /// Reads, parses and validates a scene file.
    pub fn read(path: &Path) -> Result<Self, SceneError> {
        let text = std::fs::read_to_string(path).map_err(|e| SceneError {
            path: path.to_path_buf(),
            problems: vec![Problem { line: 1, column: 1, message: format!("cannot read the file: {e}") }],
        })?;
        Self::parse(path, text)
    }

    /// Parses and validates scene text that came from `path`: JSON when the
    /// path ends in `.json` (the same fields, see `sdflow schema`), else RON.
    pub fn parse(path: &Path, text: String) -> Result<Self, SceneError> {
        let error = |problems| SceneError { path: path.to_path_buf(), problems };
        let scene: Scene = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            serde_json::from_str(&text).map_err(|e| {
                // serde_json ends its message with the position, given here in front.
                let message = e.to_string();
                let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_string();
                error(vec![Problem { line: e.line().max(1), column: e.column().max(1), message }])
            })?
        } else {
            ron::Options::default().from_str(&text).map_err(|e| {
                error(vec![Problem { line: e.span.start.line, column: e.span.start.col, message: e.code.to_string() }])
            })?
        };
        let problems: Vec<Problem> = scene
            .problems()
            .into_iter()
            .map(|(field, message)| {
                let (line, column) = locate(&text, &field);
                Problem { line, column, message }
            })
            .collect();
        if !problems.is_empty() {
            return Err(error(problems));
        }
        Ok(Self { path: path.to_path_buf(), text, scene })
    }

    /// The folder CSV paths are relative to.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Generates (or reads) the clouds with the scene's seed.
    pub fn clouds(&self) -> Result<Clouds, SceneError> {
        self.clouds_with_seed(self.scene.seed)
    }

    /// Generates (or reads) the clouds, checking dimensions and memory.
    pub fn clouds_with_seed(&self, seed: u64) -> Result<Clouds, SceneError> {
        let build = |role: &str, data: &Dataset, stream: u64| -> Result<Cloud, Problem> {
            let mut rng = crate::engine::rng::seeded(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ stream);
            match data {
                Dataset::Csv { path } => read_points(&self.base_dir().join(path)).map_err(|message| {
                    let (line, column) = locate(&self.text, &[role, "path"]);
                    Problem { line, column, message: format!("{role}: {message}") }
                }),
                Dataset::Npy { path } => read_npy(&self.base_dir().join(path)).map_err(|message| {
                    let (line, column) = locate(&self.text, &[role, "path"]);
                    Problem { line, column, message: format!("{role}: {message}") }
                }),
                _ => data.generate(&mut rng).ok_or_else(|| {
                    let (line, column) = locate(&self.text, &[role]);
                    Problem { line, column, message: format!("{role}: this data set cannot be generated") }
                }),
            }
        };
        let target = build("target", &self.scene.target, 1);
        let source = match (&self.scene.source, &self.scene.model, &target) {
            (Some(source), _, _) => build("source", source, 2),
            // The untrained generator's output stands for the moving cloud.
            (None, Some(model), Ok(t)) => initial_samples(model, t.dim(), seed, t.len()).map_err(|e| {
                let (line, column) = locate(&self.text, &["model"]);
                Problem { line, column, message: format!("model: {e}") }
            }),
            (None, _, _) => {
                let (line, column) = locate(&self.text, &["target"]);
                Err(Problem { line, column, message: "no `source` (and no `model` to train)".into() })
            }
        };
        let (target, source) = match (target, source) {
            (Ok(t), Ok(s)) => (t, s),
            (t, s) => {
                let problems = [t.err(), s.err()].into_iter().flatten().collect();
                return Err(SceneError { path: self.path.clone(), problems });
            }
        };
        if target.dim() != source.dim() {
            let (line, column) = locate(&self.text, &["source"]);
            let message = format!(
                "the source has dimension {} but the target has {}; both clouds must live in one space",
                source.dim(),
                target.dim()
            );
            return Err(SceneError { path: self.path.clone(), problems: vec![Problem { line, column, message }] });
        }
        // Generated clouds were checked with the scene; read ones only now.
        let need: f64 = [&target, &source].iter().map(|c| cloud_bytes(c.len() as f64, c.dim() as f64)).sum();
        if let Some(message) = memory_message(need, available_memory()) {
            let role = if matches!(self.scene.target, Dataset::Csv { .. }) { "target" } else { "source" };
            let (line, column) = locate(&self.text, &[role, "path"]);
            return Err(SceneError { path: self.path.clone(), problems: vec![Problem { line, column, message }] });
        }
        Ok(Clouds { target, source })
    }
}

/// Why the brush cannot paint a scene's clouds (see [`Scene::paint_refusal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaintRefusal {
    /// The moving cloud is a generator's output.
    Generator,
    /// A cloud of this dimension (the brush paints on a plane).
    Dim(usize),
}

impl Scene {
    /// Why the brush cannot paint this scene's clouds, as far as the scene
    /// says: clouds read from files are checked once loaded.
    pub fn paint_refusal(&self) -> Option<PaintRefusal> {
        if self.model.is_some() {
            return Some(PaintRefusal::Generator);
        }
        let dims = [Some(&self.target), self.source.as_ref()].map(|d| d.and_then(|d| d.dim()));
        dims.into_iter().flatten().find(|d| *d != 2).map(PaintRefusal::Dim)
    }

    /// The engine settings of this scene.
    pub fn flow_settings(&self) -> FlowSettings {
        FlowSettings {
            method: self.method,
            schedule: self.schedule,
            steps: self.steps,
            step_size: self.step_size,
            batch: self.batch,
            bandwidth: self.bandwidth,
            cutoff: self.cutoff,
            rho: self.rho,
            driver: self.driver.clone(),
        }
    }

    /// A simulation of this scene on `clouds`: forward moves the source
    /// toward the target, reverse the target toward the source.
    pub fn simulation(&self, clouds: &Clouds, seed: u64) -> Simulation {
        let (fixed, moving) = self.fixed_and_moving(clouds);
        Simulation::new(self.flow_settings(), fixed.clone(), moving.clone(), seed)
    }

    /// The training settings of a scene with a `model`.
    pub fn train_settings(&self) -> TrainSettings {
        TrainSettings {
            method: self.method,
            schedule: self.schedule,
            steps: self.steps,
            step_size: self.step_size,
            batch: self.batch,
            bandwidth: self.bandwidth,
            regression_steps: self.regression_steps,
        }
    }

    /// A generator training run of this scene on `clouds.target` (None when
    /// the scene has no `model`).
    pub fn trainer(&self, clouds: &Clouds, seed: u64) -> Option<Result<Trainer, TrainError>> {
        let model = self.model.as_ref()?;
        let target = clouds.target.clone();
        Some(match DiscriminatorDrift::new(&self.driver, target.dim(), seed) {
            None => Trainer::new(model, self.train_settings(), target, seed),
            Some(drift) => drift
                .map_err(TrainError::from)
                .and_then(|drift| Trainer::with_drift(model, self.train_settings(), target, seed, Box::new(drift))),
        })
    }

    /// The scene's run on `seed`: a generator training when it has a
    /// `model`, else its particle flow.
    pub fn run(&self, clouds: &Clouds, seed: u64) -> Result<Run, TrainError> {
        match self.trainer(clouds, seed) {
            Some(trainer) => trainer.map(Run::from),
            None => Ok(Run::from(self.simulation(clouds, seed))),
        }
    }

    /// (cloud the flow aims at, cloud that moves) for the scene's direction.
    pub fn fixed_and_moving<'a>(&self, clouds: &'a Clouds) -> (&'a Cloud, &'a Cloud) {
        match self.direction {
            Direction::Forward => (&clouds.target, &clouds.source),
            Direction::Reverse => (&clouds.source, &clouds.target),
        }
    }

    /// Every problem with the values, as (field path, what to change).
    pub fn problems(&self) -> Vec<(Vec<&'static str>, String)> {
        let mut out: Vec<(Vec<&'static str>, String)> = Vec::new();
        if self.steps == 0 {
            out.push((vec!["steps"], "`steps` is 0; give at least 1".into()));
        }
        for e in self.schedule.problems() {
            let field = match e {
                crate::engine::ScheduleError::NotPositive { field, .. }
                | crate::engine::ScheduleError::OutOfRange { field, .. } => field,
                crate::engine::ScheduleError::MinAboveMax { .. } => "sigma2_min",
            };
            out.push((vec!["schedule", field], format!("schedule: {e}")));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        match self.step_size {
            StepSize::Fixed { eta } if !positive(eta) => {
                out.push((vec!["step_size", "eta"], format!("`eta` is {eta}; it must be a finite number > 0")))
            }
            StepSize::Auto { first_norm } if !positive(first_norm) => out.push((
                vec!["step_size", "first_norm"],
                format!("`first_norm` is {first_norm}; it must be a finite number > 0 (the paper uses 0.5)"),
            )),
            _ => {}
        }
        if self.batch == Some(0) {
            out.push((vec!["batch"], "`batch` is Some(0); use None for full data or a size >= 1".into()));
        }
        if let Bandwidth::Fixed { sigma2 } = self.bandwidth {
            if !positive(sigma2) {
                out.push((
                    vec!["bandwidth", "sigma2"],
                    format!("`sigma2` is {sigma2}; it must be a finite number > 0"),
                ));
            }
            if !self.method.allows_fixed_bandwidth() {
                out.push((
                    vec!["bandwidth"],
                    format!(
                        "a fixed bandwidth is only for Mmd and MmdNormalized: {}'s kernel means are the denoisers at the noise level; use `bandwidth: Tied`",
                        self.method.name()
                    ),
                ));
            }
        }
        if let Some(why) = self.camera.and_then(CameraHint::problem) {
            out.push((vec!["camera"], why));
        }
        out.extend(self.theory_problems());
        for (field, message) in self.driver.problems() {
            out.push((vec!["driver", field], format!("driver: {message}")));
        }
        if !self.driver.is_kernel() && self.method != Method::Sd {
            out.push((
                vec!["method"],
                format!(
                    "a Discriminator driver replaces the kernel direction and is compared with Sd's; use `method: Sd` (not {})",
                    self.method.name()
                ),
            ));
        }
        if self.cfd_frequencies == 0 {
            out.push((vec!["cfd_frequencies"], "`cfd_frequencies` is 0; use at least 1 (the paper uses 256)".into()));
        }
        for (role, data) in [("target", Some(&self.target)), ("source", self.source.as_ref())] {
            for (field, message) in data.map(Dataset::problems).unwrap_or_default() {
                out.push((vec![role, field], format!("{role}: {message}")));
            }
        }
        out.extend(self.model_problems());
        if let (Some(t), Some(s)) = (self.target.dim(), self.source.as_ref().and_then(Dataset::dim))
            && t != s
        {
            out.push((
                vec!["source"],
                format!("the source has dimension {s} but the target has {t}; both clouds must live in one space"),
            ));
        }
        if let Some(message) = self.memory_problem(available_memory()) {
            out.push((vec!["target", "points"], message));
        }
        out
    }

    /// Problems of the generator fields (`model`, and what it changes).
    fn model_problems(&self) -> Vec<(Vec<&'static str>, String)> {
        let mut out: Vec<(Vec<&'static str>, String)> = Vec::new();
        let Some(model) = &self.model else {
            if self.source.is_none() {
                out.push((
                    vec!["target"],
                    "`source` is missing; give the cloud that moves, or a `model` to train".into(),
                ));
            }
            return out;
        };
        for (field, message) in model.problems() {
            out.push((vec!["model", field], format!("model: {message}")));
        }
        if self.source.is_some() {
            out.push((
                vec!["source"],
                "`source` is not used when a `model` is trained (the generator's output is the moving cloud); remove it"
                    .into(),
            ));
        }
        if self.direction == Direction::Reverse {
            out.push((
                vec!["direction"],
                "a generator always moves toward the target; use `direction: Forward`".into(),
            ));
        }
        if self.regression_steps == 0 {
            out.push((vec!["regression_steps"], "`regression_steps` is 0; use at least 1 (the default)".into()));
        }
        if let (Some(b), Some(n)) = (self.batch, self.target.points())
            && b > n
        {
            out.push((
                vec!["batch"],
                format!("`batch` is {b} but the target has only {n} points; use at most {n}, or None for all"),
            ));
        }
        out
    }

    /// Says how much memory the clouds need when it exceeds `available` bytes.
    pub fn memory_problem(&self, available: u64) -> Option<String> {
        memory_message(self.memory_needed()?, available)
    }

    /// Approximate bytes a run holds: about eight f32 copies of each
    /// coordinate (clouds, start, deltas, kernel centres, cell lists,
    /// metrics) plus ~48 bytes of indices per point. None for CSV clouds.
    pub fn memory_needed(&self) -> Option<f64> {
        let mut total = 0.0;
        for d in std::iter::once(&self.target).chain(&self.source) {
            total += cloud_bytes(d.points()? as f64, d.dim()? as f64);
        }
        Some(total)
    }
}

/// Approximate bytes a run holds for a cloud of `n` points in `dim`
/// dimensions (see [`Scene::memory_needed`]). Kernel sums are tiled, so
/// nothing grows with the product of the two clouds' sizes.
fn cloud_bytes(n: f64, dim: f64) -> f64 {
    n * (32.0 * dim + 48.0)
}

/// What to say when `need` bytes exceed the `available` ones.
fn memory_message(need: f64, available: u64) -> Option<String> {
    let gib = |b: f64| b / (1u64 << 30) as f64;
    (need > available as f64).then(|| {
        format!(
            "the clouds need about {:.1} GiB of memory but only {:.1} GiB is available; lower `points` (or use fewer rows of a CSV file)",
            gib(need),
            gib(available as f64)
        )
    })
}

/// Bytes of memory available to a run (MemAvailable), or 16 GiB if unknown.
pub fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(16 << 30, |kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"(
    name: "Swiss roll -> mystery",
    description: "Dataset interpolation, paper App. E.3.",
    seed: 7,
    target: Mystery(points: 1024),
    source: SwissRoll(points: 1024),
    method: Sd,
    direction: Forward,
    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),
    steps: 500,
    step_size: Auto(first_norm: 0.5),
    batch: None,
)"#;

    fn parse(text: &str) -> Result<SceneFile, SceneError> {
        SceneFile::parse(Path::new("scenes/test.ron"), text.to_string())
    }

    #[test]
    fn the_documented_example_parses() {
        let f = parse(GOOD).expect("valid scene");
        assert_eq!(f.scene.target, Dataset::Mystery { points: 1024, std: 0.25 });
        assert_eq!(f.scene.schedule, Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.5 });
        assert_eq!(f.scene.batch, None);
        let clouds = f.clouds().expect("clouds");
        assert_eq!((clouds.target.len(), clouds.source.len()), (1024, 1024));
        assert_eq!(f.clouds().expect("clouds"), clouds, "clouds are seeded");
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = parse(&GOOD.replace("steps: 500,", "steps: 500,,")).unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].line, 10, "{e}");
        assert!(e.to_string().starts_with("scenes/test.ron:10:"), "{e}");
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_rejected() {
        let unknown = parse(&GOOD.replace("batch: None,", "batch: None,\n    colour: 3,")).unwrap_err();
        assert!(unknown.to_string().contains("colour"), "{unknown}");
        let missing = parse(&GOOD.replace("    steps: 500,\n", "")).unwrap_err();
        assert!(missing.to_string().contains("steps"), "{missing}");
        let mistyped = parse(&GOOD.replace("steps: 500", "steps: \"many\"")).unwrap_err();
        assert_eq!(mistyped.problems[0].line, 10, "{mistyped}");
        let inner = parse(&GOOD.replace("Mystery(points: 1024)", "Mystery(points: 1024, size: 2)")).unwrap_err();
        assert!(inner.to_string().contains("size"), "{inner}");
    }

    #[test]
    fn every_value_problem_is_reported_at_its_field() {
        let text = GOOD
            .replace("sigma2_max: 4.0, sigma2_min: 0.5", "sigma2_max: 0.5, sigma2_min: 4.0")
            .replace("steps: 500", "steps: 0")
            .replace("source: SwissRoll(points: 1024)", "source: Gaussian(points: 0, mean: [0.0, 0.0], std: 1.0)");
        let e = parse(&text).unwrap_err();
        let text_of = |needle: &str| e.problems.iter().find(|p| p.message.contains(needle)).cloned();
        let min = text_of("sigma2_min").expect("schedule problem");
        assert_eq!((min.line, min.column), (9, 39), "{e}");
        assert_eq!(text_of("`steps` is 0").expect("steps").line, 10);
        assert_eq!(text_of("`points` is 0").expect("points").line, 6);
        assert!(text_of("dimension 2 but the target has 3").is_some(), "{e}");
        assert_eq!(e.problems.len(), 4, "{e}");
    }

    #[test]
    fn a_field_named_in_the_description_or_a_comment_is_not_taken_for_the_field() {
        let text = GOOD
            .replace("Dataset interpolation, paper App. E.3.", "Try steps: 5 and sigma2_min: 2.0 first.")
            .replace("    seed: 7,", "    // steps: 9 would be quicker\n    seed: 7,")
            .replace("steps: 500", "steps: 0")
            .replace("sigma2_min: 0.5", "sigma2_min: -1.0");
        let e = parse(&text).unwrap_err();
        let at = |needle: &str| {
            let p = e.problems.iter().find(|p| p.message.contains(needle)).expect(needle);
            (p.line, p.column)
        };
        assert_eq!(at("`steps` is 0"), (11, 5), "{e}");
        assert_eq!(at("sigma2_min"), (10, 39), "{e}");
    }

    #[test]
    fn non_positive_noise_and_huge_sizes_are_rejected() {
        let e = parse(&GOOD.replace("sigma2_min: 0.5", "sigma2_min: -1.0")).unwrap_err();
        assert!(e.to_string().contains("> 0"), "{e}");
        let huge = parse(&GOOD.replace("Mystery(points: 1024)", "Mystery(points: 4000000000000)")).unwrap_err();
        assert!(huge.to_string().contains("GiB"), "{huge}");
        let scene = parse(GOOD).expect("valid").scene;
        assert!(scene.memory_problem(1 << 40).is_none());
        assert!(scene.memory_problem(1000).expect("too small").contains("lower `points`"));
    }

    #[test]
    fn fixed_bandwidth_is_only_for_mmd() {
        let e = parse(&GOOD.replace("batch: None,", "batch: None,\n    bandwidth: Fixed(sigma2: 1.0),")).unwrap_err();
        assert!(e.to_string().contains("only for Mmd"), "{e}");
        let ok = parse(
            &GOOD
                .replace("method: Sd", "method: Mmd")
                .replace("batch: None,", "batch: None,\n    bandwidth: Fixed(sigma2: 1.0),"),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn a_camera_hint_is_written_bare_and_checked() {
        let with = |hint: &str| parse(&GOOD.replace("batch: None,", &format!("batch: None,\n    camera: {hint},")));
        let f = with("(yaw_deg: 20.0, pitch_deg: 55.0)").expect("valid");
        assert_eq!(f.scene.camera, Some(CameraHint { yaw_deg: 20.0, pitch_deg: 55.0 }));
        let e = with("(yaw_deg: 20.0, pitch_deg: 95.0)").unwrap_err();
        assert!(e.to_string().contains("pitch_deg"), "{e}");
        assert_eq!(e.problems[0].line, 13, "{e}");
    }

    #[test]
    fn missing_csv_names_the_scene_field() {
        let f = parse(&GOOD.replace("Mystery(points: 1024)", "Csv(path: \"nowhere.csv\")")).expect("parses");
        let e = f.clouds().unwrap_err();
        assert_eq!(e.problems[0].line, 5);
        assert!(e.to_string().contains("nowhere.csv"), "{e}");
    }
}
