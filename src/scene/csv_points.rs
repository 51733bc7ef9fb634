//! Reading a point cloud from CSV: one point per line, comma-separated.
//! A first line that is not all numbers is taken as a header; lines starting
//! with `#` are comments; blank lines, a UTF-8 byte-order mark, Windows line
//! ends and a trailing comma are accepted. Every problem names its line.
//! [`write_points`] writes the same format back, exactly.

use std::io::Write;
use std::path::Path;

use crate::engine::Cloud;
use crate::engine::flow::COORD_LIMIT;
use crate::export::{SaveError, write_atomic};

const GIB: f64 = (1u64 << 30) as f64;

/// Reads `path` into a cloud, or says what is wrong and on which line.
pub fn read_points(path: &Path) -> Result<Cloud, String> {
    let shown = path.display();
    // Reading holds the whole text; refuse a file that could not fit.
    let size = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?.len();
    let available = super::available_memory();
    if size > available / 2 {
        return Err(format!(
            "{shown} is {:.1} GiB, more than half of the {:.1} GiB of memory available; use a smaller sample of its points",
            size as f64 / GIB,
            available as f64 / GIB
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    // A byte-order mark (spreadsheets write one) is not part of the first field.
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text);
    let mut dim = None;
    let mut data = Vec::new();
    let mut first = true;
    for record in reader.records() {
        let record = record.map_err(|e| format!("{shown}: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        // `1,2,` has a trailing comma, not a third, empty coordinate.
        let fields = record.len() - record.iter().rev().take_while(|f| f.is_empty()).count();
        let parsed: Result<Vec<f32>, usize> =
            record.iter().take(fields).enumerate().map(|(i, f)| f.parse::<f32>().map_err(|_| i)).collect();
        let values = match parsed {
            Ok(v) => v,
            // A non-numeric first line is a header.
            Err(_) if first => {
                first = false;
                continue;
            }
            Err(i) => {
                return Err(format!(
                    "{shown}:{line}: field {} is `{}`, not a number",
                    i + 1,
                    record.get(i).unwrap_or_default()
                ));
            }
        };
        first = false;
        if let Some(i) = values.iter().position(|v| !within_limit(*v)) {
            return Err(format!(
                "{shown}:{line}: field {} is `{}`; coordinates must be finite, from -{COORD_LIMIT:e} to {COORD_LIMIT:e}",
                i + 1,
                &record[i]
            ));
        }
        match dim {
            None => dim = Some(values.len()),
            Some(d) if d != values.len() => {
                return Err(format!(
                    "{shown}:{line}: {} values where earlier lines have {d}; every point needs the same number of coordinates",
                    values.len()
                ));
            }
            Some(_) => {}
        }
        data.extend(values);
    }
    match dim {
        Some(d) if !data.is_empty() => Ok(Cloud::new(d, data)),
        _ => Err(format!("{shown}: no points found; write one point per line, comma-separated")),
    }
}

/// Whether a read coordinate is one the flows can keep finite.
pub(crate) fn within_limit(v: f32) -> bool {
    v.is_finite() && v.abs() <= COORD_LIMIT
}

/// Writes `cloud` as CSV (atomically): a header `x0,x1,...`, then one point
/// per line. Each coordinate is written as the shortest decimal that parses
/// back to the same f32, so [`read_points`] returns the cloud bit for bit.
/// Coordinates [`read_points`] would refuse are refused here too.
pub fn write_points(path: &Path, cloud: &Cloud) -> Result<(), SaveError> {
    if let Some(k) = cloud.as_slice().iter().position(|x| !within_limit(*x)) {
        let (point, value) = (k / cloud.dim(), cloud.as_slice()[k]);
        return Err(SaveError::NotFinite { path: path.to_path_buf(), point, value });
    }
    write_atomic(path, |w| {
        let io = |e| SaveError::io(path, e);
        let header: Vec<String> = (0..cloud.dim()).map(|k| format!("x{k}")).collect();
        writeln!(w, "{}", header.join(",")).map_err(io)?;
        for p in cloud.points() {
            for (k, x) in p.iter().enumerate() {
                let sep = if k + 1 == p.len() { '\n' } else { ',' };
                write!(w, "{x}{sep}").map_err(io)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Cloud, String> {
        let dir = std::env::temp_dir().join(format!("sdflow-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = dir.join(format!("{}.csv", COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        std::fs::write(&path, text).expect("write");
        read_points(&path)
    }

    #[test]
    fn header_comments_and_points() {
        let c = read("x,y\n# a comment\n1,2\n 3 , 4\n").expect("valid");
        assert_eq!(c, Cloud::new(2, vec![1.0, 2.0, 3.0, 4.0]));
    }

    #[test]
    fn spreadsheet_and_windows_habits_are_read_correctly() {
        let expect = Cloud::new(2, vec![1.0, 2.0, 0.003, -4000.0]);
        assert_eq!(read("\u{feff}1,2\r\n3e-3,-4E+03\r\n").expect("BOM and CRLF"), expect);
        assert_eq!(read("\u{feff}x,y\r\n1,2\r\n\r\n3e-3,-4E+03\r\n").expect("BOM before a header"), expect);
        assert_eq!(read("1,2,\n3e-3,-4E+03,\n").expect("trailing commas"), expect);
        assert_eq!(read("\n\n1,2\n\n   \n3e-3,-4E+03\n\n").expect("blank lines"), expect);
        assert_eq!(read("x,y\n1,2\n3e-3,-4E+03").expect("no final line end"), expect);
        let hole = read("1,2\n3,,4\n").unwrap_err();
        assert!(hole.contains(":2:") && hole.contains("field 2"), "{hole}");
    }

    #[test]
    fn a_million_rows_are_read() {
        let mut text = String::from("x,y,z\n");
        for i in 0..1_000_000u32 {
            text.push_str(&format!("{i},{}.5,-{i}e-3\n", i % 7));
        }
        let cloud = read(&text).expect("valid");
        assert_eq!((cloud.len(), cloud.dim()), (1_000_000, 3));
        assert_eq!(cloud.point(999_999), &[999_999.0, 0.5, -999.999]);
        assert_eq!(cloud.point(6), &[6.0, 6.5, -0.006]);
    }

    #[test]
    fn problems_name_their_line() {
        assert!(read("").unwrap_err().contains("no points"));
        let ragged = read("1,2\n3,4,5\n").unwrap_err();
        assert!(ragged.contains(":2:") && ragged.contains("3 values"), "{ragged}");
        let word = read("1,2\n3,abc\n").unwrap_err();
        assert!(word.contains(":2:") && word.contains("`abc`"), "{word}");
        let inf = read("1,2\n3,inf\n").unwrap_err();
        assert!(inf.contains(":2:") && inf.contains("finite"), "{inf}");
        let huge = read("1,2\n3,2e15\n").unwrap_err();
        assert!(huge.contains(":2:") && huge.contains("`2e15`"), "{huge}");
        assert!(read("1e15,-1e15\n").is_ok(), "the limit itself is allowed");
        assert!(read_points(Path::new("/no/such/file.csv")).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn written_points_read_back_bit_for_bit() {
        use rand::RngExt;
        let mut rng = crate::engine::rng::seeded(5);
        let special = [0.1f32, -0.0, 1.0 / 3.0, COORD_LIMIT, -COORD_LIMIT, f32::MIN_POSITIVE, 1e-42, 16777217.0];
        let dir = std::env::temp_dir().join(format!("sdflow-csv-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for dim in [1, 2, 3, 7] {
            let mut data: Vec<f32> =
                (0..dim * 300).map(|_| rng.random_range(-50.0f32..50.0) * rng.random::<f32>()).collect();
            let k = special.len().min(data.len());
            data[..k].copy_from_slice(&special[..k]);
            let cloud = Cloud::new(dim, data);
            let path = dir.join(format!("d{dim}.csv"));
            write_points(&path, &cloud).expect("written");
            let back = read_points(&path).expect("read back");
            assert_eq!(back.dim(), dim);
            let bits = |c: &Cloud| c.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&cloud), "dimension {dim}");
            let text = std::fs::read_to_string(&path).expect("text");
            let header = (0..dim).map(|k| format!("x{k}")).collect::<Vec<_>>().join(",");
            assert_eq!(text.lines().next(), Some(header.as_str()));
            assert_eq!(text.lines().count(), 301);
        }
    }

    #[test]
    fn non_finite_points_are_refused_by_index() {
        let path = std::env::temp_dir().join(format!("sdflow-csv-nan-{}.csv", std::process::id()));
        let cloud = Cloud::new(2, vec![0.0, 1.0, 2.0, f32::NAN]);
        let e = write_points(&path, &cloud).unwrap_err();
        assert!(matches!(e, SaveError::NotFinite { point: 1, .. }), "{e}");
        let huge = Cloud::new(1, vec![0.0, f32::MAX]);
        assert!(matches!(write_points(&path, &huge), Err(SaveError::NotFinite { point: 1, .. })));
        assert!(e.to_string().contains("point 1"), "{e}");
        assert!(!path.exists(), "nothing written");
    }
}
