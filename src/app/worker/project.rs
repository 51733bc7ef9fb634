//! Clouds as the view draws them: every cloud is shown in 3-D.

use crate::engine::Cloud;

/// Projects a cloud to 3-D for display: the first three coordinates (2-D
/// clouds get z = 0, 1-D ones y = z = 0).
pub fn project3(cloud: &Cloud) -> Vec<f32> {
    let dim = cloud.dim();
    let mut out = Vec::with_capacity(cloud.len() * 3);
    for p in cloud.points() {
        let shown = &p[..dim.min(3)];
        out.extend_from_slice(shown);
        out.extend(std::iter::repeat_n(0.0, 3 - shown.len()));
    }
    out
}
