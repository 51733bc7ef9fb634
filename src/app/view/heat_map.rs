//! Drawing the GAN view: the moving points in the colours of
//! [`super::gan`]'s map, and the heat map quad behind 2-D clouds.
//!
//! The points keep sharing one mesh and a few materials: a palette of
//! [`BINS`] unlit materials is made once, and a moving point's
//! `MeshMaterial3d` is switched only when its bin changes, so automatic
//! instancing still batches them. In the default view nothing here runs
//! per frame beyond two change checks.

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

use super::clouds::{BACKGROUND, CloudAssets, CloudBounds, CloudEntities, PointIndex};
use super::gan::{BINS, GanView, bin, bin_colour, heat_pixels};
use crate::app::run::{Focused, RunGan};
use crate::app::schedule::DeriveSet;
use crate::app::worker::GridValues;

/// Strength of the heat map's colours over the background (mixed in sRGB):
/// pale enough that the points, in the full colours, stand out on it.
pub const HEAT_MAP_STRENGTH: f32 = 0.45;
/// Bin marker of a point drawn in its cloud's own colour.
const DEFAULT_BIN: u8 = u8::MAX;

/// The colour map's bins as materials, made once.
#[derive(Resource)]
pub struct GanPalette(pub Vec<Handle<StandardMaterial>>);

/// The heat map's quad, texture and material.
#[derive(Resource)]
pub struct HeatMap {
    pub entity: Entity,
    pub image: Handle<Image>,
    pub material: Handle<StandardMaterial>,
}

/// Marks the heat map quad.
#[derive(Component)]
pub struct HeatMapQuad;

pub struct GanRenderPlugin;

impl Plugin for GanRenderPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup_gan_assets)
            .add_systems(Update, (colour_points, update_heat_map).in_set(DeriveSet::Paint));
    }
}

fn setup_gan_assets(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut images: ResMut<Assets<Image>>,
) {
    let palette = (0..BINS as u8)
        .map(|b| {
            let [r, g, bl] = bin_colour(b);
            materials.add(StandardMaterial { base_color: Color::srgb(r, g, bl), unlit: true, ..default() })
        })
        .collect();
    commands.insert_resource(GanPalette(palette));

    let image = images.add(heat_image(1, 1, vec![255; 4]));
    // Opaque: the texture is already mixed with the background.
    let material =
        materials.add(StandardMaterial { base_color_texture: Some(image.clone()), unlit: true, ..default() });
    let entity = commands
        .spawn((
            HeatMapQuad,
            Mesh3d(meshes.add(Rectangle::new(1.0, 1.0))),
            MeshMaterial3d(material.clone()),
            Transform::default(),
            Visibility::Hidden,
        ))
        .id();
    commands.insert_resource(HeatMap { entity, image, material });
}

fn heat_image(width: u32, height: u32, data: Vec<u8>) -> Image {
    Image::new(
        Extent3d { width, height, depth_or_array_layers: 1 },
        TextureDimension::D2,
        data,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    )
}

/// Which bin each moving point of a run is drawn with (`DEFAULT_BIN`: its
/// cloud's colour), indexed like the moving entities.
#[derive(Default)]
struct ShownBins {
    bins: Vec<u8>,
    serial: Option<u64>,
}

/// Gives each moving point the material of its bin when new values arrive,
/// the colouring changes or the points are respawned; touches only the
/// points whose bin changed.
fn colour_points(
    runs: Query<(Entity, &RunGan, Ref<CloudEntities>)>,
    view: Res<GanView>,
    assets: Option<Res<CloudAssets>>,
    palette: Option<Res<GanPalette>>,
    mut points: Query<(&PointIndex, &mut MeshMaterial3d<StandardMaterial>)>,
    mut shown_by_run: Local<std::collections::HashMap<Entity, ShownBins>>,
) {
    let (Some(assets), Some(palette)) = (assets, palette) else { return };
    shown_by_run.retain(|run, _| runs.contains(*run));
    for (run, gan, entities) in &runs {
        let shown = shown_by_run.entry(run).or_default();
        let paint = Paint { view: &view, view_changed: view.is_changed(), assets: &assets, palette: &palette };
        colour_run(gan, &entities, entities.is_changed(), &paint, &mut points, shown);
    }
}

/// What the points are painted with: the view's choice (and whether it just
/// changed) and the materials.
struct Paint<'a> {
    view: &'a GanView,
    view_changed: bool,
    assets: &'a CloudAssets,
    palette: &'a GanPalette,
}

fn colour_run(
    gan: &RunGan,
    entities: &CloudEntities,
    respawned: bool,
    paint: &Paint,
    points: &mut Query<(&PointIndex, &mut MeshMaterial3d<StandardMaterial>)>,
    shown: &mut ShownBins,
) {
    let Paint { view, view_changed, assets, palette } = *paint;
    if respawned {
        // New entities start in the cloud's colour.
        shown.bins = vec![DEFAULT_BIN; entities.moving.len()];
        shown.serial = None;
    }
    let values =
        gan.0.as_ref().filter(|g| Some(g.field) == view.colouring.field() && g.points.len() == entities.moving.len());
    let serial = values.map(|g| g.serial);
    if serial == shown.serial && !respawned && !view_changed {
        return;
    }
    shown.serial = serial;
    let mut iter = points.iter_many_mut(&entities.moving);
    while let Some((index, mut material)) = iter.fetch_next() {
        let i = index.0 as usize;
        let Some(current) = shown.bins.get(i).copied() else { continue };
        let wanted = values.map_or(DEFAULT_BIN, |g| bin(g.points[i], g.range));
        if wanted != current {
            let handle = if wanted == DEFAULT_BIN { &assets.moving } else { &palette.0[wanted as usize] };
            material.0 = handle.clone();
            shown.bins[i] = wanted;
        }
    }
}

/// Uploads a new grid as the heat map's texture, places the quad over the
/// grid's rectangle just behind the plane of the points, and shows it while
/// asked for in a 2-D scene.
fn update_heat_map(
    runs: Query<(Entity, &RunGan, &CloudBounds), With<Focused>>,
    view: Res<GanView>,
    heat: Option<Res<HeatMap>>,
    mut images: ResMut<Assets<Image>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut quads: Query<(&mut Transform, &mut Visibility), With<HeatMapQuad>>,
    mut shown: Local<Option<(Entity, u64, u32)>>,
) {
    let Some(heat) = heat else { return };
    let Ok((run, gan, bounds)) = runs.single() else { return };
    let Ok((mut transform, mut visibility)) = quads.get_mut(heat.entity) else { return };
    let grid: Option<&GridValues> =
        gan.0.as_ref().and_then(|g| g.grid.as_ref()).filter(|g| g.values.len() == g.layout.len());
    let show = view.heat_map && bounds.flat && grid.is_some();
    visibility.set_if_neq(if show { Visibility::Inherited } else { Visibility::Hidden });
    let (Some(grid), Some(gan)) = (grid, gan.0.as_ref()) else { return };
    // The colours follow the points' range, so a new range redraws too.
    let key = (run, grid.serial, gan.range.to_bits());
    if !show || *shown == Some(key) {
        return;
    }
    *shown = Some(key);
    let (nx, ny) = (grid.layout.nx as u32, grid.layout.ny as u32);
    if let Some(mut image) = images.get_mut(&heat.image) {
        let background = BACKGROUND.to_srgba().to_f32_array_no_alpha();
        *image = heat_image(nx, ny, heat_pixels(&grid.values, gan.range, background, HEAT_MAP_STRENGTH));
    }
    // The material holds the texture's binding: mark it changed too.
    if let Some(material) = materials.get_mut(&heat.material) {
        material.into_inner();
    }
    let (mid, size) = grid.layout.rect();
    // Behind the points' centres by more than the largest point radius.
    let z = -0.05 * bounds.radius;
    *transform = Transform::from_xyz(mid.x, mid.y, z).with_scale(size.extend(1.0));
}
