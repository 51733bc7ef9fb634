//! Per-step metric CSV, shared by `sdflow run --metrics` and the app's
//! "export history": every file starts with the same [`StepHead`] columns
//! (`step,sigma2,kernel_sigma2,eta,path,ms`), then the caller's metric
//! columns, one row per recorded step.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{SaveError, temp_path, write_atomic};
use crate::engine::{KernelPath, StepReport, TrainReport};

/// The columns every per-step CSV row starts with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepHead {
    /// Steps taken (the report's 0-based index + 1).
    pub steps_done: usize,
    pub sigma2: f64,
    pub kernel_sigma2: f64,
    pub eta: f64,
    pub path: KernelPath,
    /// Mean milliseconds per step so far.
    pub ms: f64,
}

impl StepHead {
    pub const NAMES: [&'static str; 6] = ["step", "sigma2", "kernel_sigma2", "eta", "path", "ms"];

    /// The head of a particle flow step.
    pub fn of_step(report: &StepReport, ms: f64) -> Self {
        let StepReport { step, sigma2, kernel_sigma2, eta, path, .. } = *report;
        Self { steps_done: step + 1, sigma2, kernel_sigma2, eta, path, ms }
    }

    /// The head of a generator training step.
    pub fn of_training(report: &TrainReport, ms: f64) -> Self {
        let TrainReport { step, sigma2, kernel_sigma2, eta, path, .. } = *report;
        Self { steps_done: step + 1, sigma2, kernel_sigma2, eta, path, ms }
    }

    /// The fields of the row before any step (the starting clouds): step 0
    /// and the sigma^2 the metrics were evaluated at; the per-step columns
    /// (kernel sigma^2, eta, path, ms) are empty, as no step was taken.
    pub fn start_fields(sigma2: f64) -> Vec<String> {
        let mut out = vec!["0".to_string(), sigma2.to_string()];
        out.resize(Self::NAMES.len(), String::new());
        out
    }

    /// The fields in [`StepHead::NAMES`] order; numbers as the shortest
    /// decimal that parses back to the same f64, `ms` to 0.1 microsecond.
    pub fn fields(&self) -> Vec<String> {
        vec![
            self.steps_done.to_string(),
            self.sigma2.to_string(),
            self.kernel_sigma2.to_string(),
            self.eta.to_string(),
            self.path.name().to_string(),
            format!("{:.4}", self.ms),
        ]
    }
}

/// A per-step CSV written row by row as a run goes (the CLI's `--metrics`).
/// Rows go to a temporary file beside `path`, renamed into place by
/// [`HistoryCsv::finish`]; a run that fails or is interrupted leaves no
/// half-written file under the chosen name.
pub struct HistoryCsv {
    path: PathBuf,
    temp: PathBuf,
    writer: csv::Writer<File>,
    finished: bool,
}

impl HistoryCsv {
    /// Starts the file for `path` and writes the header.
    pub fn create<S: AsRef<str>>(path: &Path, header: &[S]) -> Result<Self, SaveError> {
        let temp = temp_path(path);
        let file = File::create(&temp).map_err(|e| SaveError::io(path, e))?;
        let mut out = Self { path: path.to_path_buf(), temp, writer: csv::Writer::from_writer(file), finished: false };
        out.write_row(header.iter().map(AsRef::as_ref))?;
        Ok(out)
    }

    /// Appends one row.
    pub fn write_row<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(&mut self, row: I) -> Result<(), SaveError> {
        self.writer.write_record(row).map_err(|e| csv_error(&self.path, e))
    }

    /// Writes what is buffered and moves the file into place.
    pub fn finish(&mut self) -> Result<(), SaveError> {
        if self.finished {
            return Ok(());
        }
        self.writer.flush().map_err(|e| SaveError::io(&self.path, e))?;
        self.writer.get_ref().sync_all().map_err(|e| SaveError::io(&self.path, e))?;
        std::fs::rename(&self.temp, &self.path).map_err(|e| SaveError::io(&self.path, e))?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for HistoryCsv {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes a whole history at once (atomically): `header`, then `rows`.
/// Every row must have as many fields as the header.
pub fn write_history_csv<S, R, F>(path: &Path, header: &[S], rows: R) -> Result<(), SaveError>
where
    S: AsRef<str>,
    R: IntoIterator<Item = F>,
    F: IntoIterator,
    F::Item: AsRef<[u8]>,
{
    write_atomic(path, |w| {
        let mut writer = csv::Writer::from_writer(w);
        writer.write_record(header.iter().map(AsRef::as_ref)).map_err(|e| csv_error(path, e))?;
        for row in rows {
            writer.write_record(row).map_err(|e| csv_error(path, e))?;
        }
        writer.flush().map_err(|e| SaveError::io(path, e))
    })
}

fn csv_error(path: &Path, e: csv::Error) -> SaveError {
    SaveError::Encode { path: path.to_path_buf(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(step: usize) -> StepReport {
        StepReport {
            step,
            sigma2: 0.1,
            kernel_sigma2: 0.2,
            eta: 1.0 / 3.0,
            path: KernelPath::Full,
            moved: 10,
            kernel_evaluations: 100,
            non_finite: 0,
            driver_cosine: None,
        }
    }

    #[test]
    fn the_head_counts_steps_done_and_round_trips_numbers() {
        let head = StepHead::of_step(&report(4), 2.345678);
        let fields = head.fields();
        assert_eq!(fields.len(), StepHead::NAMES.len());
        assert_eq!(fields[0], "5");
        assert_eq!(fields[3].parse::<f64>().expect("eta"), 1.0 / 3.0);
        assert_eq!(fields[4], KernelPath::Full.name());
        assert_eq!(fields[5], "2.3457");
    }

    #[test]
    fn the_start_row_is_step_zero_with_empty_step_columns() {
        let fields = StepHead::start_fields(4.0);
        assert_eq!(fields.len(), StepHead::NAMES.len());
        assert_eq!(fields, ["0", "4", "", "", "", ""]);
        // Written first, it parses back as step 0 ahead of the step rows.
        let dir = std::env::temp_dir().join(format!("sdflow-history-start-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("h.csv");
        let rows = std::iter::once(fields).chain((0..2).map(|k| StepHead::of_step(&report(k), 1.0).fields()));
        write_history_csv(&path, &StepHead::NAMES, rows).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        let steps: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap_or_default()).collect();
        assert_eq!(steps, ["0", "1", "2"]);
    }

    #[test]
    fn a_history_is_written_with_its_header_and_rows() {
        let dir = std::env::temp_dir().join(format!("sdflow-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("h.csv");
        let mut header: Vec<&str> = StepHead::NAMES.to_vec();
        header.push("cfd");
        let rows = (0..3).map(|k| {
            let mut row = StepHead::of_step(&report(k), 1.0).fields();
            row.push((0.5 / (k + 1) as f64).to_string());
            row
        });
        write_history_csv(&path, &header, rows).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "step,sigma2,kernel_sigma2,eta,path,ms,cfd");
        assert_eq!(lines.len(), 4);
        assert!(lines[3].starts_with("3,0.1,0.2,"), "{}", lines[3]);
        assert!(lines[3].ends_with(",1.0000,0.16666666666666666"), "{}", lines[3]);
        // A ragged row is an error, and the file keeps its old content.
        let e = write_history_csv(&path, &["a", "b"], [vec!["1"]]).unwrap_err();
        assert!(e.to_string().contains("h.csv"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    }
}
