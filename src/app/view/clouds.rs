//! The clouds as entities.
//!
//! One entity per point, carrying its run ([`OfRun`]) and its run's render
//! layer; each cloud shares one mesh and one material, so Bevy instances
//! them automatically. Only the moving cloud's transforms are written, and
//! only when a new state arrived ([`MovingPositions`] changed).
//!
//! [`CloudsPlugin`] spawns and moves the entities and works headless (no
//! meshes needed); [`CloudRenderPlugin`] adds the mesh and materials (the
//! cameras are in `view::cameras`).

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;

use crate::app::run::{FixedPositions, MovingPositions, OfRun, RunId};
use crate::app::schedule::DeriveSet;
use crate::scene::CameraHint;

/// Okabe-Ito blue: the fixed cloud (what the flow aims at).
pub const FIXED_COLOR: Color = Color::srgb_u8(0x00, 0x72, 0xB2);
/// Okabe-Ito orange: the moving cloud.
pub const MOVING_COLOR: Color = Color::srgb_u8(0xE6, 0x9F, 0x00);
/// Light grey behind the clouds, so both colours stand out.
pub const BACKGROUND: Color = Color::srgb_u8(0xF4, 0xF4, 0xF4);

/// Which cloud a point belongs to.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudRole {
    Fixed,
    Moving,
}

/// Index of the point in its cloud.
#[derive(Component, Debug, Clone, Copy)]
pub struct PointIndex(pub u32);

/// How the clouds are shown.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct ViewSettings {
    /// Multiplier on the base radius (a fraction of the clouds' extent).
    pub point_size: f32,
    pub show_fixed: bool,
    pub show_moving: bool,
    /// Slow turn around the vertical axis (3-D scenes only).
    pub auto_rotate: bool,
    /// Set to frame both clouds at the next frame.
    pub fit_requested: bool,
    /// Starting angles that override the scene's (a lesson step's `camera`).
    pub camera: Option<CameraHint>,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self {
            point_size: 1.0,
            show_fixed: true,
            show_moving: true,
            auto_rotate: false,
            fit_requested: true,
            camera: None,
        }
    }
}

impl ViewSettings {
    /// The visibility of a cloud's points, as the two checkboxes say.
    pub fn visibility(&self, role: CloudRole) -> Visibility {
        let show = if role == CloudRole::Fixed { self.show_fixed } else { self.show_moving };
        if show { Visibility::Inherited } else { Visibility::Hidden }
    }
}

/// Bounding sphere of a run's two clouds at load, and whether the scene is flat.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct CloudBounds {
    pub center: Vec3,
    pub radius: f32,
    /// Half the size of the bounding box along x, y, z.
    pub half_extents: Vec3,
    /// All z are zero (2-D scenes): shown facing the camera, no tilt.
    pub flat: bool,
}

impl Default for CloudBounds {
    fn default() -> Self {
        Self { center: Vec3::ZERO, radius: 1.0, half_extents: Vec3::ONE, flat: false }
    }
}

impl CloudBounds {
    /// Point radius at point size 1.
    pub fn base_point_radius(&self) -> f32 {
        self.radius * 0.007
    }

    /// Bounds of both clouds (x, y, z per point).
    pub fn of(fixed: &[f32], moving: &[f32]) -> Self {
        let mut min = Vec3::splat(f32::INFINITY);
        let mut max = Vec3::splat(f32::NEG_INFINITY);
        let mut flat = true;
        for p in fixed.chunks_exact(3).chain(moving.chunks_exact(3)) {
            let v = Vec3::new(p[0], p[1], p[2]);
            min = min.min(v);
            max = max.max(v);
            flat &= p[2] == 0.0;
        }
        if !min.is_finite() || !max.is_finite() {
            return Self::default();
        }
        let center = (min + max) * 0.5;
        let radius = ((max - min).length() * 0.5).max(1e-3);
        Self { center, radius, half_extents: ((max - min) * 0.5).max(Vec3::splat(1e-3)), flat }
    }

    /// Bounds around several runs' bounds (one shared camera frames all).
    pub fn union<'a>(all: impl IntoIterator<Item = &'a CloudBounds>) -> Option<Self> {
        let mut out: Option<(Vec3, Vec3, bool)> = None;
        for b in all {
            let (lo, hi) = (b.center - b.half_extents, b.center + b.half_extents);
            out = Some(match out {
                None => (lo, hi, b.flat),
                Some((l, h, f)) => (l.min(lo), h.max(hi), f && b.flat),
            });
        }
        let (min, max, flat) = out?;
        let half = ((max - min) * 0.5).max(Vec3::splat(1e-3));
        Some(Self { center: (min + max) * 0.5, radius: half.length().max(1e-3), half_extents: half, flat })
    }
}

/// The render layer of a run's points and arrows (layer 0 holds what only
/// the focused view shows: the heat map and the latent grid).
pub fn run_layer(id: RunId) -> RenderLayers {
    RenderLayers::layer(id.0 as usize)
}

/// Shared mesh and materials; present only when rendering.
#[derive(Resource)]
pub struct CloudAssets {
    pub mesh: Handle<Mesh>,
    pub fixed: Handle<StandardMaterial>,
    pub moving: Handle<StandardMaterial>,
}

/// Whether a run's points are hidden whatever the view settings say (the
/// brush shows its draft instead while a run is painted).
#[derive(Component, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PointsHidden(pub bool);

/// A run's point entities per cloud, so a new state updates without a lookup.
#[derive(Component, Default, Debug)]
pub struct CloudEntities {
    pub fixed: Vec<Entity>,
    pub moving: Vec<Entity>,
}

/// Point entities that follow the simulation (headless-capable).
pub struct CloudsPlugin;

impl Plugin for CloudsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ViewSettings>()
            .register_required_components::<RunId, CloudBounds>()
            .register_required_components::<RunId, CloudEntities>()
            .register_required_components::<RunId, PointsHidden>()
            .add_systems(
                Update,
                (respawn_clouds, follow_moving, apply_view_settings).chain().in_set(DeriveSet::Points),
            );
    }
}

/// Mesh, materials and the orbit camera (needs the render plugins).
pub struct CloudRenderPlugin;

impl Plugin for CloudRenderPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ClearColor(BACKGROUND)).add_systems(PreStartup, setup_assets);
    }
}

fn setup_assets(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    // Unlit: flat, exact colours, and cheap on software renderers.
    let material = |color: Color| StandardMaterial { base_color: color, unlit: true, ..default() };
    commands.insert_resource(CloudAssets {
        mesh: meshes.add(Sphere::new(1.0).mesh().uv(10, 7)),
        fixed: materials.add(material(FIXED_COLOR)),
        moving: materials.add(material(MOVING_COLOR)),
    });
}

fn point_transform(p: &[f32], scale: f32) -> Transform {
    Transform::from_xyz(p[0], p[1], p[2]).with_scale(Vec3::splat(scale))
}

/// A run's parts the point entities follow.
type CloudSource = (
    Entity,
    &'static RunId,
    Ref<'static, FixedPositions>,
    Ref<'static, MovingPositions>,
    &'static mut CloudBounds,
    &'static mut CloudEntities,
);

/// On a new load: despawns the run's old points, spawns one entity per point.
fn respawn_clouds(
    mut commands: Commands,
    mut runs: Query<CloudSource>,
    assets: Option<Res<CloudAssets>>,
    mut view: ResMut<ViewSettings>,
) {
    for (run, id, fixed, moving, mut bounds, mut entities) in &mut runs {
        let new_fixed = fixed.is_changed() && !fixed.positions.is_empty();
        let new_moving = moving.is_changed() && moving.positions.len() / 3 != entities.moving.len();
        if !new_fixed && !new_moving {
            continue;
        }
        if new_fixed {
            *bounds = CloudBounds::of(&fixed.positions, &moving.positions);
            view.fit_requested = true;
        }
        let scale = bounds.base_point_radius() * view.point_size;
        let layer = run_layer(*id);
        let mut spawn = |role: CloudRole, positions: &[f32], old: &mut Vec<Entity>, visibility: Visibility| {
            for e in old.drain(..) {
                commands.entity(e).despawn();
            }
            for (i, p) in positions.chunks_exact(3).enumerate() {
                let mut e = commands.spawn((
                    role,
                    PointIndex(i as u32),
                    OfRun(run),
                    layer.clone(),
                    point_transform(p, scale),
                    visibility,
                ));
                if let Some(a) = &assets {
                    let material = if role == CloudRole::Fixed { a.fixed.clone() } else { a.moving.clone() };
                    e.insert((Mesh3d(a.mesh.clone()), MeshMaterial3d(material)));
                }
                old.push(e.id());
            }
        };
        let entities = &mut *entities;
        if new_fixed {
            spawn(CloudRole::Fixed, &fixed.positions, &mut entities.fixed, view.visibility(CloudRole::Fixed));
        }
        // Always respawn the moving cloud with the fixed one: a new load.
        if new_fixed || new_moving {
            spawn(CloudRole::Moving, &moving.positions, &mut entities.moving, view.visibility(CloudRole::Moving));
        }
    }
}

/// Writes each run's moving points' transforms when a new state arrived.
fn follow_moving(
    runs: Query<(Ref<MovingPositions>, &CloudEntities, &CloudBounds)>,
    view: Res<ViewSettings>,
    mut points: Query<(&PointIndex, &mut Transform)>,
) {
    for (moving, entities, bounds) in &runs {
        if !moving.is_changed() {
            continue;
        }
        let scale = bounds.base_point_radius() * view.point_size;
        let mut iter = points.iter_many_mut(&entities.moving);
        while let Some((index, mut transform)) = iter.fetch_next() {
            if let Some(p) = moving.positions.get(index.0 as usize * 3..index.0 as usize * 3 + 3) {
                *transform = point_transform(p, scale);
            }
        }
    }
}

/// Point size and visibility, applied only when they change; a run being
/// painted keeps its points hidden (the brush's draft shows its clouds).
fn apply_view_settings(
    view: Res<ViewSettings>,
    runs: Query<(&CloudBounds, &CloudEntities, &PointsHidden)>,
    mut points: Query<(&CloudRole, &mut Transform, &mut Visibility)>,
    mut last: Local<Option<(f32, bool, bool)>>,
) {
    let now = (view.point_size, view.show_fixed, view.show_moving);
    if *last == Some(now) {
        return;
    }
    let size_changed = last.is_none_or(|l| l.0 != now.0);
    *last = Some(now);
    for (bounds, entities, painted) in &runs {
        let scale = bounds.base_point_radius() * view.point_size;
        let mut iter = points.iter_many_mut(entities.fixed.iter().chain(&entities.moving));
        while let Some((role, mut transform, mut visibility)) = iter.fetch_next() {
            if size_changed {
                transform.scale = Vec3::splat(scale);
            }
            if !painted.0 {
                visibility.set_if_neq(view.visibility(*role));
            }
        }
    }
}
