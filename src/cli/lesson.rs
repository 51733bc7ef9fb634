//! `sdflow lesson check` and `sdflow lesson validate`: the lesson's claims
//! measured and printed one line each, with exit codes scripts can use
//! (0 all hold, 1 a claim fails, 2 a lesson or scene is broken).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::lesson::check::{Outcome, measure};
use crate::lesson::{Bound, LessonFile};

/// Reads every lesson; prints the problems of those that fail.
fn read_all(paths: &[PathBuf]) -> Option<Vec<LessonFile>> {
    let mut out = Vec::new();
    let mut broken = false;
    for path in paths {
        match LessonFile::read(path) {
            Ok(l) => out.push(l),
            Err(e) => {
                eprintln!("{e}");
                broken = true;
            }
        }
    }
    (!broken).then_some(out)
}

/// `sdflow lesson validate`: files only, nothing runs.
pub fn validate(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let Some(lessons) = read_all(paths) else { return Ok(ExitCode::from(2)) };
    for l in &lessons {
        let checks: usize = l.lesson.steps.iter().map(|s| s.checks.len()).sum();
        println!("ok    {}: {} ({} steps, {checks} checks)", l.path.display(), l.lesson.title, l.lesson.steps.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `sdflow lesson check`: runs the scenes and tests every claim.
pub fn check(paths: &[PathBuf], threads: Option<u64>) -> anyhow::Result<ExitCode> {
    let Some(lessons) = read_all(paths) else { return Ok(ExitCode::from(2)) };
    let mut failed = 0;
    let mut total = 0;
    for l in &lessons {
        println!("lesson {} ({})", l.lesson.title, l.path.display());
        let outcomes = super::with_threads(threads, || measure(l))??;
        for o in &outcomes {
            println!("{}", line(o));
        }
        total += outcomes.len();
        failed += outcomes.iter().filter(|o| !o.holds).count();
    }
    if failed > 0 {
        println!("{failed} of {total} claims FAILED");
        return Ok(ExitCode::FAILURE);
    }
    println!("all {total} claims hold");
    Ok(ExitCode::SUCCESS)
}

/// `ok     <claim>: <metric> of run N at step S = V (bound: < X)`.
fn line(o: &Outcome) -> String {
    let status = if o.holds { "ok    " } else { "FAILED" };
    let bound = match (o.bound, o.other) {
        (Bound::Below(x), _) => format!("< {x}"),
        (Bound::Above(x), _) => format!("> {x}"),
        (Bound::BelowRun(r), v) => format!("< run {r}'s {}", fmt(v.unwrap_or(f64::NAN))),
        (Bound::AboveRun(r), v) => format!("> run {r}'s {}", fmt(v.unwrap_or(f64::NAN))),
    };
    format!(
        "{status} {}: {} of run {} at step {} = {} (bound: {bound})",
        o.claim,
        o.metric,
        o.run,
        o.step,
        fmt(o.value)
    )
}

fn fmt(v: f64) -> String {
    format!("{v:.6}")
}
