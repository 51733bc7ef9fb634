//! Reading a point cloud from a NumPy `.npy` file: a 2-D array, one point
//! per row, of little-endian f32 (`<f4`) or f64 (`<f8`) in C order, as
//! `numpy.save(path, points)` writes it. Format versions 1.0, 2.0 and 3.0.
//!
//! Hand-written rather than a crate: npyz 0.9 and ndarray-npy 0.10 both
//! parse the header through py_literal, which brings pest, pest_derive,
//! num-bigint and stacker: about 100 s of compile time (58 s wall on two
//! cores), a third of the whole build without the app, to read one line of
//! Python dict. The header here is only ever `descr`, `fortran_order` and
//! `shape`; anything else is refused with what to change.

use std::path::Path;

use crate::engine::Cloud;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads `path` into a cloud, or says what is wrong with the file.
pub fn read_npy(path: &Path) -> Result<Cloud, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    parse(&bytes).map_err(|e| format!("{shown}: {e}"))
}

/// The element types accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
}

fn parse(bytes: &[u8]) -> Result<Cloud, String> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err("not a .npy file (no \\x93NUMPY magic); write it with numpy.save".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(format!("format version {major}.{minor} is not supported (1.0, 2.0 or 3.0)")),
    };
    let header = bytes.get(start..start + header_len).ok_or("the header is cut short")?;
    let header = std::str::from_utf8(header).map_err(|_| "the header is not text")?;
    let (dtype, rows, cols) = header_fields(header)?;
    let data = &bytes[start + header_len..];
    let size = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    let count = rows.checked_mul(cols).ok_or("the shape is too large")?;
    if data.len() != count * size {
        return Err(format!(
            "shape ({rows}, {cols}) needs {} bytes of data but the file has {}",
            count * size,
            data.len()
        ));
    }
    if count == 0 {
        return Err(format!("shape ({rows}, {cols}) holds no points; give at least one row and one column"));
    }
    let values: Vec<f32> = match dtype {
        Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
    };
    if let Some(k) = values.iter().position(|v| !super::csv_points::within_limit(*v)) {
        return Err(format!(
            "row {}, column {} is {}; coordinates must be finite (in f32), from -{limit:e} to {limit:e}",
            k / cols,
            k % cols,
            values[k],
            limit = crate::engine::flow::COORD_LIMIT
        ));
    }
    Ok(Cloud::new(cols, values))
}

/// (dtype, rows, columns) from a header such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (100, 3), }`.
fn header_fields(header: &str) -> Result<(Dtype, usize, usize), String> {
    let value = |key: &str| -> Result<&str, String> {
        let at = header.find(&format!("'{key}'")).ok_or(format!("the header has no '{key}': {header}"))?;
        let rest = header[at + key.len() + 2..].trim_start();
        rest.strip_prefix(':').map(str::trim_start).ok_or(format!("the header's '{key}' has no value"))
    };
    let descr = value("descr")?;
    let dtype = if descr.starts_with("'<f4'") {
        Dtype::F32
    } else if descr.starts_with("'<f8'") {
        Dtype::F64
    } else {
        let shown = descr.split(',').next().unwrap_or(descr);
        return Err(format!(
            "dtype {shown} is not supported; save little-endian float32 or float64 ('<f4' or '<f8'), e.g. points.astype(numpy.float64)"
        ));
    };
    if value("fortran_order")?.starts_with("True") {
        return Err("the array is in Fortran order; save numpy.ascontiguousarray(points)".into());
    }
    let shape = value("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split_once(')'))
        .map(|(inside, _)| inside)
        .ok_or(format!("the header's shape is not a tuple: {shape}"))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("the shape has `{s}`, not a size")))
        .collect::<Result<_, _>>()?;
    match dims[..] {
        [rows, cols] => Ok((dtype, rows, cols)),
        _ => Err(format!(
            "the array has shape ({inner}); a cloud is 2-D, one point per row: reshape to (points, dimensions)"
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `.npy` file as numpy writes it (version 1.0, header padded to 64).
    pub(crate) fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend([1, 0]);
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header);
        out.extend(data);
        out
    }

    fn f64_bytes(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn f32_and_f64_arrays_read_row_by_row() {
        let f32s: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        let c = parse(&npy_bytes("<f4", false, "(3, 2)", &f32s)).expect("valid");
        assert_eq!(c, Cloud::new(2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
        let c =
            parse(&npy_bytes("<f8", false, "(2, 3)", &f64_bytes(&[0.1, -2.0, 3.0, 4.0, 5.0, 1e-3]))).expect("valid");
        assert_eq!(c, Cloud::new(3, vec![0.1f64 as f32, -2.0, 3.0, 4.0, 5.0, 1e-3f64 as f32]));
        // Version 2.0: a 4-byte header length.
        let mut v2 = npy_bytes("<f8", false, "(1, 2)", &f64_bytes(&[7.0, 8.0]));
        let len = u16::from_le_bytes([v2[8], v2[9]]) as u32;
        v2[6] = 2;
        v2.splice(8..10, len.to_le_bytes());
        assert_eq!(parse(&v2).expect("v2"), Cloud::new(2, vec![7.0, 8.0]));
    }

    #[test]
    fn other_dtypes_shapes_and_orders_say_what_to_change() {
        let data = f64_bytes(&[1.0, 2.0, 3.0, 4.0]);
        let e = parse(&npy_bytes(">f8", false, "(2, 2)", &data)).unwrap_err();
        assert!(e.contains("'>f8'") && e.contains("'<f8'"), "{e}");
        let e = parse(&npy_bytes("<i8", false, "(2, 2)", &data)).unwrap_err();
        assert!(e.contains("'<i8'") && e.contains("float64"), "{e}");
        let e = parse(&npy_bytes("<f8", true, "(2, 2)", &data)).unwrap_err();
        assert!(e.contains("Fortran order") && e.contains("ascontiguousarray"), "{e}");
        let e = parse(&npy_bytes("<f8", false, "(4,)", &data)).unwrap_err();
        assert!(e.contains("2-D") && e.contains("reshape"), "{e}");
        let e = parse(&npy_bytes("<f8", false, "(1, 2, 2)", &data)).unwrap_err();
        assert!(e.contains("2-D"), "{e}");
        let e = parse(&npy_bytes("<f8", false, "(3, 2)", &data)).unwrap_err();
        assert!(e.contains("48 bytes") && e.contains("32"), "{e}");
        let e = parse(&npy_bytes("<f8", false, "(2, 2)", &f64_bytes(&[1.0, f64::NAN, 0.0, 0.0]))).unwrap_err();
        assert!(e.contains("row 0, column 1") && e.contains("finite"), "{e}");
        assert!(parse(b"x,y\n1,2\n").unwrap_err().contains("magic"));
    }

    #[test]
    fn errors_name_the_file() {
        let path = std::env::temp_dir().join(format!("sdflow-npy-{}.npy", std::process::id()));
        std::fs::write(&path, npy_bytes("<i4", false, "(1, 1)", &[0; 4])).expect("write");
        let e = read_npy(&path).unwrap_err();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(read_npy(Path::new("/no/such/file.npy")).unwrap_err().contains("cannot read"));
    }
}
