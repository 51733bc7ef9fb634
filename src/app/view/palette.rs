//! The colour maps of the view, as sRGB stops, and the one interpolation
//! between stops that every colouring uses.

/// Stops of the diverging map at t = -1, -0.75, ..., 1 (sRGB): ColorBrewer's
/// colour-blind-safe PuOr, orange for h < 0 (the moving cloud is denser: the
/// points look like the source), purple for h > 0 (the target is denser).
/// The near-white middle is a light grey, so points at h = 0 still show on
/// the light background.
pub const DIVERGING: [[u8; 3]; 9] = [
    [0x7f, 0x3b, 0x08],
    [0xb3, 0x58, 0x06],
    [0xe0, 0x82, 0x14],
    [0xea, 0xa9, 0x50],
    [0xb8, 0xb8, 0xb8],
    [0xa4, 0x9c, 0xc9],
    [0x80, 0x73, 0xac],
    [0x54, 0x27, 0x88],
    [0x2d, 0x00, 0x4b],
];

/// Magma at t = 0, 0.1, ..., 1 (sRGB).
pub const MAGMA: [[u8; 3]; 11] = [
    [0x00, 0x00, 0x04],
    [0x14, 0x0e, 0x36],
    [0x3b, 0x0f, 0x70],
    [0x64, 0x1a, 0x80],
    [0x8c, 0x29, 0x81],
    [0xb7, 0x37, 0x79],
    [0xde, 0x49, 0x68],
    [0xf7, 0x70, 0x5c],
    [0xfe, 0x9f, 0x6d],
    [0xfe, 0xcf, 0x92],
    [0xfc, 0xfd, 0xbf],
];

/// The map `stops` at `s` in [0, 1] (clamped; NaN is 0), sRGB in 0..1:
/// linear between the two nearest stops.
pub fn interpolate(stops: &[[u8; 3]], s: f32) -> [f32; 3] {
    let s = if s.is_nan() { 0.0 } else { s.clamp(0.0, 1.0) };
    let x = s * (stops.len() - 1) as f32;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f32;
    let (a, b) = (stops[i], stops[i + 1]);
    std::array::from_fn(|k| (a[k] as f32 + f * (b[k] as f32 - a[k] as f32)) / 255.0)
}
