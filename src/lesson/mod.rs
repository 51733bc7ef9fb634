//! Lessons: a sequence of scenes with captions, a question, and claims the
//! lab checks itself (`sdflow lesson check`).
//!
//! A lesson is a RON file whose steps name scenes by path (relative to the
//! lesson file). Each check states a bound on one metric column of one run
//! at one step, so a caption such as "SD lands on the target" is a number
//! that a headless run confirms. This module parses and validates lessons;
//! it holds no Bevy types, so the app's player and the CLI share it.

pub mod check;
mod path;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::{Divergences, Metrics};
use crate::scene::{CameraHint, PaintRefusal, Problem, SceneFile};
use path::Seg::{Field, Index};
pub use path::{Seg, locate_path};

/// Scenes a step may show beside its own.
pub const MAX_COMPARE: usize = 3;

/// Words a caption may have (the guide asks for about 80).
pub const MAX_CAPTION_WORDS: usize = 100;

/// Panel sections a step may open (`show`).
pub const SECTIONS: [&str; 13] = [
    "scene",
    "method",
    "flow",
    "parameters",
    "schedule",
    "timeline",
    "plots",
    "view",
    "compare",
    "share",
    "paint",
    "divergences",
    "generator",
];

/// Extra metric columns of some runs (see `cli::gan::GanColumns`).
pub const GAN_NAMES: [&str; 2] = ["driver_cosine", "modes_covered"];

/// A lesson as written.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub steps: Vec<Step>,
}

/// One page of a lesson: a scene (and up to three beside it), what to read,
/// what to look at, and what the lab confirms.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub caption: String,
    /// Scene file, relative to the lesson file.
    pub scene: String,
    /// Scenes run beside it in lockstep, runs 1, 2, 3.
    #[serde(default)]
    pub compare: Vec<String>,
    /// Steps the player runs before handing over.
    #[serde(default)]
    pub run_to: Option<usize>,
    #[serde(default)]
    pub view: View,
    /// Panel sections to open.
    #[serde(default)]
    pub show: Option<Vec<String>>,
    #[serde(default)]
    pub question: Option<Question>,
    /// Turn the brush on once the scene is shown, so the viewer paints a
    /// cloud of their own (a 2-D scene; ignored by `lesson check`).
    #[serde(default)]
    pub paint: bool,
    #[serde(default)]
    pub checks: Vec<Check>,
}

/// How the player sets the view; None leaves it as it is, but for `camera`,
/// where None gives the scene's own starting angles.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    #[serde(default)]
    pub arrows: Option<bool>,
    #[serde(default)]
    pub colour: Option<Colour>,
    #[serde(default)]
    pub heat_map: Option<bool>,
    #[serde(default)]
    pub camera: Option<CameraHint>,
}

/// Colourings of the moving points, as `sdflow --colour` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Colour {
    OkabeIto,
    HStar,
    DiscH,
    Displacement,
    NnDistance,
}

/// A multiple-choice question about what the step shows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub prompt: String,
    pub choices: Vec<String>,
    /// Index of the right choice.
    pub answer: usize,
    /// Shown after answering.
    #[serde(default)]
    pub explain: String,
}

/// A claim: one metric of one run at one step, against a bound.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub claim: String,
    /// 0: the step's scene; 1..: its `compare` scenes in order.
    pub run: usize,
    /// A `--metrics` column name.
    pub metric: String,
    /// Steps taken when the metric is read (1..= the scene's `steps`).
    pub step: usize,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below_run: Option<usize>,
    #[serde(default)]
    pub above_run: Option<usize>,
}

/// What a check's value must satisfy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Below(f64),
    Above(f64),
    /// Below the same metric of another run at the same step.
    BelowRun(usize),
    AboveRun(usize),
}

impl Bound {
    /// The run the bound compares with, if any.
    pub fn other_run(self) -> Option<usize> {
        match self {
            Bound::BelowRun(r) | Bound::AboveRun(r) => Some(r),
            _ => None,
        }
    }

    /// Whether `value` holds against the bound (`other`: the other run's value).
    pub fn holds(self, value: f64, other: Option<f64>) -> bool {
        match (self, other) {
            (Bound::Below(x), _) => value < x,
            (Bound::Above(x), _) => value > x,
            (Bound::BelowRun(_), Some(o)) => value < o,
            (Bound::AboveRun(_), Some(o)) => value > o,
            _ => false,
        }
    }
}

impl Check {
    /// The one bound set, or the names of those set when not exactly one.
    pub fn bound(&self) -> Result<Bound, Vec<&'static str>> {
        let set: Vec<(&'static str, Bound)> = [
            ("below", self.below.map(Bound::Below)),
            ("above", self.above.map(Bound::Above)),
            ("below_run", self.below_run.map(Bound::BelowRun)),
            ("above_run", self.above_run.map(Bound::AboveRun)),
        ]
        .into_iter()
        .filter_map(|(n, b)| b.map(|b| (n, b)))
        .collect();
        match set.as_slice() {
            [(_, b)] => Ok(*b),
            _ => Err(set.iter().map(|(n, _)| *n).collect()),
        }
    }
}

impl Step {
    /// Scene paths of the step's runs, run 0 first.
    pub fn runs(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.scene.as_str()).chain(self.compare.iter().map(String::as_str))
    }
}

/// A lesson that cannot be used, with every problem found: reported as a
/// scene's are, `file:line:column: what to change` per problem.
pub type LessonError = crate::scene::SceneError;

/// A parsed, validated lesson with its scenes loaded.
#[derive(Clone, Debug)]
pub struct LessonFile {
    pub path: PathBuf,
    pub lesson: Lesson,
    /// Per step, its runs' scenes (run 0 first).
    pub scenes: Vec<Vec<SceneFile>>,
}

impl LessonFile {
    /// Reads, parses and validates a lesson and every scene it names.
    pub fn read(path: &Path) -> Result<Self, LessonError> {
        let text = std::fs::read_to_string(path).map_err(|e| LessonError {
            path: path.to_path_buf(),
            problems: vec![Problem { line: 1, column: 1, message: format!("cannot read the file: {e}") }],
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates lesson text that came from `path` (scene paths
    /// are relative to its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Self, LessonError> {
        let error = |problems| LessonError { path: path.to_path_buf(), problems };
        let lesson: Lesson = ron::Options::default().from_str(text).map_err(|e| {
            error(vec![Problem { line: e.span.start.line, column: e.span.start.col, message: e.code.to_string() }])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = Vec::new();
        let mut scenes = Vec::new();
        for (i, step) in lesson.steps.iter().enumerate() {
            let mut loaded = Vec::new();
            for (r, scene) in step.runs().enumerate() {
                match load_scene(&base.join(scene)) {
                    Ok(file) => loaded.push(Some(file)),
                    Err(message) => {
                        let at = if r == 0 { vec![Field("scene")] } else { vec![Field("compare"), Index(r - 1)] };
                        problems.push((step_path(i, &at), message));
                        loaded.push(None);
                    }
                }
            }
            problems.extend(step_problems(step, &loaded).into_iter().map(|(at, m)| (step_path(i, &at), m)));
            scenes.push(loaded);
        }
        if lesson.steps.is_empty() {
            problems.push((vec![Field("steps")], "a lesson needs at least one step".to_string()));
        }
        if !problems.is_empty() {
            let problems = problems
                .into_iter()
                .map(|(at, message)| {
                    let (line, column) = locate_path(text, &at);
                    Problem { line, column, message }
                })
                .collect();
            return Err(error(problems));
        }
        // Every scene loaded (a failure is a problem above).
        let scenes = scenes.into_iter().map(|s| s.into_iter().flatten().collect()).collect();
        Ok(Self { path: path.to_path_buf(), lesson, scenes })
    }
}

fn step_path<'a>(step: usize, rest: &[Seg<'a>]) -> Vec<Seg<'a>> {
    let mut out = vec![Field("steps"), Index(step)];
    out.extend_from_slice(rest);
    out
}

/// A scene a lesson can run: it loads.
fn load_scene(path: &Path) -> Result<SceneFile, String> {
    let file = SceneFile::read(path).map_err(|e| format!("scene {} does not load:\n{e}", path.display()))?;
    Ok(file)
}

/// The metric columns `sdflow run --metrics` writes for runs of `scene`
/// after the step head: particle flows have the metrics and divergences;
/// generators (a `model`) the regression loss, the errors of mu and B B^T
/// against a `LinearGaussian` truth (Fig. 6) and the metrics of their
/// samples; both then the GAN columns (driver cosine, modes covered).
pub fn metric_columns(scene: &SceneFile) -> Vec<&'static str> {
    let mut out = Vec::new();
    if scene.scene.model.is_some() {
        out.push("loss");
        if scene.scene.target.linear_truth().is_some() {
            out.extend(["mu_rel_error", "cov_rel_error"]);
        }
        out.extend(Metrics::NAMES);
    } else {
        out.extend(Metrics::NAMES);
        out.extend(Divergences::NAMES);
    }
    out.extend(crate::cli::gan::GanColumns::new(&scene.scene).names());
    out
}

/// Whether `name` is a metric column of runs of `scene`, and where.
pub fn metric_index(name: &str, scene: &SceneFile) -> Option<usize> {
    metric_columns(scene).iter().position(|n| *n == name)
}

/// Problems of one step, as (path inside the step, message).
fn step_problems(step: &Step, scenes: &[Option<SceneFile>]) -> Vec<(Vec<Seg<'static>>, String)> {
    let mut out = Vec::new();
    let words = step.caption.split_whitespace().count();
    if words > MAX_CAPTION_WORDS {
        out.push((
            vec![Field("caption")],
            format!("the caption has {words} words; keep it under about 80 (at most {MAX_CAPTION_WORDS})"),
        ));
    }
    if step.compare.len() > MAX_COMPARE {
        out.push((
            vec![Field("compare"), Index(MAX_COMPARE)],
            format!("{} compare scenes; at most {MAX_COMPARE} run beside the step's scene", step.compare.len()),
        ));
    }
    let steps_of = |r: usize| scenes.get(r).and_then(|s| s.as_ref()).map(|f| f.scene.steps);
    if let (Some(run_to), Some(steps)) = (step.run_to, steps_of(0))
        && (run_to == 0 || run_to > steps)
    {
        out.push((vec![Field("run_to")], format!("run_to is {run_to}; use 1 to {steps}, the scene's `steps`")));
    }
    for (k, name) in step.show.iter().flatten().enumerate() {
        if !SECTIONS.contains(&name.as_str()) {
            out.push((
                vec![Field("show"), Index(k)],
                format!("unknown section {name:?}; use one of {}", SECTIONS.join(", ")),
            ));
        }
    }
    if let Some(why) = step.view.camera.and_then(CameraHint::problem) {
        out.push((vec![Field("view"), Field("camera")], why));
    }
    if step.paint
        && let Some(Some(file)) = scenes.first()
        && let Some(refusal) = file.scene.paint_refusal()
    {
        let why = match refusal {
            PaintRefusal::Generator => "the scene trains a generator".to_string(),
            PaintRefusal::Dim(d) => format!("the scene is {d}-D"),
        };
        out.push((vec![Field("paint")], format!("the brush cannot open here: {why}; use a 2-D particle scene")));
    }
    if step.paint && step.show.as_ref().is_some_and(|s| !s.iter().any(|n| n == "paint")) {
        out.push((
            vec![Field("show")],
            "the step turns the brush on but hides its section; add \"paint\" to show".into(),
        ));
    }
    if let Some(q) = &step.question {
        if q.choices.len() < 2 {
            out.push((vec![Field("question"), Field("choices")], "a question needs at least two choices".into()));
        }
        if q.answer >= q.choices.len() {
            out.push((
                vec![Field("question"), Field("answer")],
                format!(
                    "answer {} is out of range: choices are numbered 0 to {}",
                    q.answer,
                    q.choices.len().saturating_sub(1)
                ),
            ));
        }
    }
    let runs = 1 + step.compare.len();
    for (j, check) in step.checks.iter().enumerate() {
        let at = |field: &'static str| vec![Field("checks"), Index(j), Field(field)];
        let run_range = format!("runs are 0 (the scene) to {} (its compare scenes)", runs - 1);
        match check.bound() {
            Ok(bound) => {
                if let Some(other) = bound.other_run() {
                    let field = if check.below_run.is_some() { "below_run" } else { "above_run" };
                    if other >= runs {
                        out.push((at(field), format!("{field} names run {other}, which does not exist; {run_range}")));
                    } else if other == check.run {
                        out.push((at(field), format!("{field} compares run {other} with itself; name another run")));
                    } else if let Some(steps) = steps_of(other)
                        && check.step > steps
                    {
                        out.push((at("step"), format!("step {} is beyond run {other}'s {steps} steps", check.step)));
                    }
                }
            }
            Err(set) if set.is_empty() => out.push((
                vec![Field("checks"), Index(j)],
                "a check needs one bound: below, above, below_run or above_run".into(),
            )),
            Err(set) => out.push((
                at(set[1]),
                format!("a check takes exactly one bound, this one has {}; keep one", set.join(" and ")),
            )),
        }
        if check.run >= runs {
            out.push((at("run"), format!("run {} does not exist; {run_range}", check.run)));
            continue;
        }
        let Some(scene) = scenes.get(check.run).and_then(|s| s.as_ref()) else { continue };
        if metric_index(&check.metric, scene).is_none() {
            let names = metric_columns(scene);
            out.push((at("metric"), format!("unknown metric {:?}; use one of {}", check.metric, names.join(", "))));
        }
        let steps = scene.scene.steps;
        if check.step > steps {
            out.push((
                at("step"),
                format!("step {} is out of range; use 0 (the start) to {steps}, the scene's `steps`", check.step),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(below: Option<f64>, above_run: Option<usize>) -> Check {
        Check {
            claim: "c".into(),
            run: 0,
            metric: "cfd".into(),
            step: 1,
            below,
            above: None,
            below_run: None,
            above_run,
        }
    }

    #[test]
    fn exactly_one_bound() {
        assert_eq!(check(Some(0.1), None).bound(), Ok(Bound::Below(0.1)));
        assert_eq!(check(None, Some(1)).bound(), Ok(Bound::AboveRun(1)));
        assert_eq!(check(None, None).bound(), Err(vec![]));
        assert_eq!(check(Some(0.1), Some(1)).bound(), Err(vec!["below", "above_run"]));
    }

    #[test]
    fn bounds_are_strict() {
        assert!(Bound::Below(0.1).holds(0.09, None));
        assert!(!Bound::Below(0.1).holds(0.1, None));
        assert!(Bound::AboveRun(0).holds(2.0, Some(1.0)));
        assert!(!Bound::AboveRun(0).holds(1.0, Some(1.0)));
        assert!(!Bound::Below(0.1).holds(f64::NAN, None));
    }
}
