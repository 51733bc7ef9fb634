//! Exact nearest-neighbour distances with an implicit k-d tree (any
//! dimension), for the nearest-neighbour histograms of the paper's Fig. 3.

use rayon::prelude::*;

use super::cloud::Cloud;
use super::kernel::fast::KernelImpl;
use super::kernel::gemm;

/// Points below this many are searched linearly.
const LEAF: usize = 8;

/// A k-d tree over a cloud: `order` is the point permutation, each range's
/// median splits on the axis of widest spread recorded in `axis`.
pub struct KdTree {
    dim: usize,
    points: Vec<f32>,
    order: Vec<usize>,
    axis: Vec<u16>,
}

impl KdTree {
    pub fn new(cloud: &Cloud) -> Self {
        let dim = cloud.dim();
        let mut order: Vec<usize> = (0..cloud.len()).collect();
        let mut axis = vec![0u16; cloud.len()];
        build(cloud, &mut order, &mut axis, 0);
        let mut points = Vec::with_capacity(cloud.len() * dim);
        for &i in &order {
            points.extend_from_slice(cloud.point(i));
        }
        Self { dim, points, order, axis }
    }

    /// Squared distance from `q` to its nearest point, skipping the point
    /// whose original index is `exclude`. Infinity if there is none.
    pub fn nearest_d2(&self, q: &[f32], exclude: Option<usize>) -> f64 {
        let mut best = f64::INFINITY;
        self.search(0, self.order.len(), q, exclude, &mut best);
        best
    }

    fn d2(&self, slot: usize, q: &[f32]) -> f64 {
        let p = &self.points[slot * self.dim..(slot + 1) * self.dim];
        p.iter().zip(q).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum()
    }

    fn search(&self, lo: usize, hi: usize, q: &[f32], exclude: Option<usize>, best: &mut f64) {
        if hi - lo <= LEAF {
            for slot in lo..hi {
                if Some(self.order[slot]) != exclude {
                    *best = best.min(self.d2(slot, q));
                }
            }
            return;
        }
        let mid = (lo + hi) / 2;
        if Some(self.order[mid]) != exclude {
            *best = best.min(self.d2(mid, q));
        }
        let a = self.axis[mid] as usize;
        let diff = (q[a] - self.points[mid * self.dim + a]) as f64;
        let (near, far) = if diff < 0.0 { ((lo, mid), (mid + 1, hi)) } else { ((mid + 1, hi), (lo, mid)) };
        self.search(near.0, near.1, q, exclude, best);
        if diff * diff < *best {
            self.search(far.0, far.1, q, exclude, best);
        }
    }
}

fn build(cloud: &Cloud, order: &mut [usize], axis: &mut [u16], offset: usize) {
    if order.len() <= LEAF {
        return;
    }
    // Axis of widest spread of this range.
    let dim = cloud.dim();
    let (mut best_axis, mut best_spread) = (0, -1.0f32);
    for k in 0..dim {
        let (lo, hi) = order.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &i| {
            let x = cloud.point(i)[k];
            (lo.min(x), hi.max(x))
        });
        if hi - lo > best_spread {
            best_spread = hi - lo;
            best_axis = k;
        }
    }
    let mid = order.len() / 2;
    order.select_nth_unstable_by(mid, |&a, &b| cloud.point(a)[best_axis].total_cmp(&cloud.point(b)[best_axis]));
    axis[offset + mid] = best_axis as u16;
    let (left, right) = order.split_at_mut(mid);
    build(cloud, left, axis, offset);
    build(cloud, &mut right[1..], axis, offset + mid + 1);
}

/// Distance from each point of `queries` to its nearest point in `tree`.
pub fn nearest_distances(tree: &KdTree, queries: &Cloud) -> Vec<f64> {
    if tree.dim >= gemm::MIN_DIM {
        return brute_force(tree.dim, &tree.points, queries.as_slice(), false);
    }
    (0..queries.len()).into_par_iter().map(|i| tree.nearest_d2(queries.point(i), None).sqrt()).collect()
}

/// Distance from each point of the tree's own cloud to its nearest other point.
pub fn self_distances(tree: &KdTree, cloud: &Cloud) -> Vec<f64> {
    if tree.dim >= gemm::MIN_DIM {
        return brute_force(tree.dim, cloud.as_slice(), cloud.as_slice(), true);
    }
    (0..cloud.len()).into_par_iter().map(|i| tree.nearest_d2(cloud.point(i), Some(i)).sqrt()).collect()
}

/// Mean distance from each point of `from` to its nearest point of `to`
/// (the `FromNearest` schedule): a k-d tree in low dimensions, all pairs by
/// matrix products from d = 8.
pub fn mean_nearest_distance(from: &Cloud, to: &Cloud) -> f64 {
    let d = nearest_distances(&KdTree::new(to), from);
    d.iter().sum::<f64>() / d.len().max(1) as f64
}

/// In high dimensions a k-d tree visits nearly every point anyway: all
/// pairs by matrix products are exact and much faster there. With
/// `exclude_self`, `queries` are `points` and each skips itself.
fn brute_force(dim: usize, points: &[f32], queries: &[f32], exclude_self: bool) -> Vec<f64> {
    const CHUNK: usize = 256;
    let centres = gemm::RowCentres::from_points(dim, points);
    let mut out = vec![0.0f64; queries.len() / dim];
    let imp = KernelImpl::detect();
    out.par_chunks_mut(CHUNK).zip(queries.par_chunks(CHUNK * dim)).enumerate().for_each_init(
        gemm::Tile::default,
        |tile, (c, (o, q))| {
            gemm::nearest_sq_distances(imp, &centres, q, exclude_self.then_some(c * CHUNK), tile, o);
            o.iter_mut().for_each(|d| *d = d.sqrt());
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::datasets;

    #[test]
    fn kd_tree_matches_brute_force() {
        for dim in [1, 2, 3, 7, 12, 50] {
            let cloud = datasets::gaussian(300, &vec![0.0; dim], 1.0, &mut crate::engine::rng::seeded(dim as u64));
            let queries = datasets::gaussian(50, &vec![0.5; dim], 2.0, &mut crate::engine::rng::seeded(99));
            let tree = KdTree::new(&cloud);
            let brute = |q: &[f32], skip: Option<usize>| {
                (0..cloud.len())
                    .filter(|&j| Some(j) != skip)
                    .map(|j| cloud.point(j).iter().zip(q).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum::<f64>())
                    .fold(f64::INFINITY, f64::min)
                    .sqrt()
            };
            // The tree is exact; the matrix products of d >= 8 round in f32.
            let tol = if dim >= gemm::MIN_DIM { 1e-4 } else { 0.0 };
            for (i, d) in nearest_distances(&tree, &queries).iter().enumerate() {
                let b = brute(queries.point(i), None);
                assert!((d - b).abs() <= tol * b, "d={dim}: {d} vs {b}");
            }
            for (i, d) in self_distances(&tree, &cloud).iter().enumerate() {
                let b = brute(cloud.point(i), Some(i));
                assert!((d - b).abs() <= tol * b, "d={dim}: {d} vs {b}");
            }
        }
    }
}
