//! The clouds as entities and the camera.
//!
//! One entity per point; each cloud shares one mesh and one material, so
//! Bevy instances them automatically. Only the moving cloud's transforms are
//! written, and only when a new state arrived ([`MovingPositions`] changed).
//!
//! [`CloudsPlugin`] spawns and moves the entities and works headless (no
//! meshes needed); [`CloudRenderPlugin`] adds the mesh, materials and the
//! orbit camera with fit view and auto-rotation.

use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy_panorbit_camera::PanOrbitCamera;

use super::scene_loading::ActiveScene;
use super::simulation::{FixedPositions, MovingPositions, SimSystems};

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
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self { point_size: 1.0, show_fixed: true, show_moving: true, auto_rotate: false, fit_requested: true }
    }
}

/// Bounding sphere of both clouds at load, and whether the scene is flat.
#[derive(Resource, Debug, Clone, Copy)]
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
}

/// Shared mesh and materials; present only when rendering.
#[derive(Resource)]
pub struct CloudAssets {
    pub mesh: Handle<Mesh>,
    pub fixed: Handle<StandardMaterial>,
    pub moving: Handle<StandardMaterial>,
}

/// Point entities per cloud, so a new state updates without a lookup.
#[derive(Resource, Default, Debug)]
pub struct CloudEntities {
    pub fixed: Vec<Entity>,
    pub moving: Vec<Entity>,
}

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum RenderSystems {
    /// Spawns and moves the point entities.
    Follow,
    /// Camera fit and rotation.
    Camera,
}

/// Point entities that follow the simulation (headless-capable).
pub struct CloudsPlugin;

impl Plugin for CloudsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ViewSettings>()
            .init_resource::<CloudBounds>()
            .init_resource::<CloudEntities>()
            .configure_sets(Update, (RenderSystems::Follow, RenderSystems::Camera).chain().after(SimSystems::Control))
            .add_systems(
                Update,
                (respawn_clouds, follow_moving, apply_view_settings).chain().in_set(RenderSystems::Follow),
            );
    }
}

/// Mesh, materials and the orbit camera (needs the render plugins).
pub struct CloudRenderPlugin;

impl Plugin for CloudRenderPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ClearColor(BACKGROUND))
            .add_systems(PreStartup, setup_assets)
            .add_systems(Startup, spawn_camera)
            .add_systems(Update, (fit_view, auto_rotate).chain().in_set(RenderSystems::Camera));
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

fn spawn_camera(mut commands: Commands) {
    commands.spawn((
        Transform::from_xyz(0.0, 0.0, 10.0),
        // The orbit camera's own wheel zoom moves by a share of the radius
        // (so in and out do not cancel) and by a lot per notch: the input
        // plugin zooms by a fixed factor per notch instead.
        PanOrbitCamera { zoom_lower_limit: 1e-3, zoom_sensitivity: 0.0, ..default() },
        // Colours as given, so the Okabe-Ito pair stays exact.
        Tonemapping::None,
    ));
}

fn point_transform(p: &[f32], scale: f32) -> Transform {
    Transform::from_xyz(p[0], p[1], p[2]).with_scale(Vec3::splat(scale))
}

/// On a new load: despawns the old points, spawns one entity per point.
fn respawn_clouds(
    mut commands: Commands,
    fixed: Res<FixedPositions>,
    moving: Res<MovingPositions>,
    assets: Option<Res<CloudAssets>>,
    mut view: ResMut<ViewSettings>,
    mut bounds: ResMut<CloudBounds>,
    mut entities: ResMut<CloudEntities>,
) {
    let new_fixed = fixed.is_changed() && !fixed.positions.is_empty();
    let new_moving = moving.is_changed() && moving.positions.len() / 3 != entities.moving.len();
    if !new_fixed && !new_moving {
        return;
    }
    if new_fixed {
        *bounds = CloudBounds::of(&fixed.positions, &moving.positions);
        view.fit_requested = true;
    }
    let scale = bounds.base_point_radius() * view.point_size;
    let mut spawn = |role: CloudRole, positions: &[f32], old: &mut Vec<Entity>, visible: bool| {
        for e in old.drain(..) {
            commands.entity(e).despawn();
        }
        let visibility = if visible { Visibility::Inherited } else { Visibility::Hidden };
        for (i, p) in positions.chunks_exact(3).enumerate() {
            let mut e = commands.spawn((role, PointIndex(i as u32), point_transform(p, scale), visibility));
            if let Some(a) = &assets {
                let material = if role == CloudRole::Fixed { a.fixed.clone() } else { a.moving.clone() };
                e.insert((Mesh3d(a.mesh.clone()), MeshMaterial3d(material)));
            }
            old.push(e.id());
        }
    };
    let entities = &mut *entities;
    if new_fixed {
        spawn(CloudRole::Fixed, &fixed.positions, &mut entities.fixed, view.show_fixed);
    }
    // Always respawn the moving cloud with the fixed one: a new load.
    if new_fixed || new_moving {
        spawn(CloudRole::Moving, &moving.positions, &mut entities.moving, view.show_moving);
    }
}

/// Writes the moving points' transforms when a new state arrived.
fn follow_moving(
    moving: Res<MovingPositions>,
    entities: Res<CloudEntities>,
    view: Res<ViewSettings>,
    bounds: Res<CloudBounds>,
    mut points: Query<(&PointIndex, &mut Transform)>,
) {
    if !moving.is_changed() {
        return;
    }
    let scale = bounds.base_point_radius() * view.point_size;
    let mut iter = points.iter_many_mut(&entities.moving);
    while let Some((index, mut transform)) = iter.fetch_next() {
        if let Some(p) = moving.positions.get(index.0 as usize * 3..index.0 as usize * 3 + 3) {
            *transform = point_transform(p, scale);
        }
    }
}

/// Point size and visibility, applied only when they change.
fn apply_view_settings(
    view: Res<ViewSettings>,
    bounds: Res<CloudBounds>,
    entities: Res<CloudEntities>,
    mut points: Query<(&CloudRole, &mut Transform, &mut Visibility)>,
    mut last: Local<Option<(f32, bool, bool)>>,
) {
    let now = (view.point_size, view.show_fixed, view.show_moving);
    if *last == Some(now) {
        return;
    }
    let size_changed = last.is_none_or(|l| l.0 != now.0);
    *last = Some(now);
    let scale = bounds.base_point_radius() * view.point_size;
    let mut iter = points.iter_many_mut(entities.fixed.iter().chain(&entities.moving));
    while let Some((role, mut transform, mut visibility)) = iter.fetch_next() {
        if size_changed {
            transform.scale = Vec3::splat(scale);
        }
        let show = if *role == CloudRole::Fixed { view.show_fixed } else { view.show_moving };
        visibility.set_if_neq(if show { Visibility::Inherited } else { Visibility::Hidden });
    }
}

/// Starting angles (yaw, pitch) in radians: the scene's camera hint, else
/// slightly from the side and above, so depth shows.
pub fn view_angles(scene: Option<&crate::scene::Scene>) -> (f32, f32) {
    scene
        .and_then(|s| s.camera)
        .map_or((0.35, 0.2), |c| (c.yaw_deg.to_radians() as f32, c.pitch_deg.to_radians() as f32))
}

/// Camera distance that frames the clouds in a view of vertical field of
/// view `fov` (radians) and width/height `aspect`.
pub fn fit_distance(bounds: &CloudBounds, fov: f32, aspect: f32) -> f32 {
    let tan_v = (fov * 0.5).tan().max(1e-3);
    let tan_h = tan_v * aspect;
    if bounds.flat {
        // Facing the plane: fit the box's width and height, with a margin.
        let h = bounds.half_extents;
        (h.y / tan_v).max(h.x / tan_h) * 1.1
    } else {
        // Any orientation: fit the bounding sphere in the narrower angle.
        bounds.radius / tan_v.min(tan_h)
    }
}

/// Frames both clouds; 2-D scenes face the camera with orbiting locked.
fn fit_view(
    mut view: ResMut<ViewSettings>,
    bounds: Res<CloudBounds>,
    active: Res<ActiveScene>,
    mut cameras: Query<(&mut PanOrbitCamera, &Projection, &Camera)>,
) {
    if !view.fit_requested {
        return;
    }
    // The orbit camera takes its targets from its transform when it
    // initialises: wait for that, or the fit would be overwritten.
    if cameras.iter().any(|(cam, _, _)| !cam.initialized) {
        return;
    }
    view.fit_requested = false;
    for (mut cam, projection, camera) in &mut cameras {
        let fov = match projection {
            Projection::Perspective(p) => p.fov,
            _ => std::f32::consts::FRAC_PI_4,
        };
        let aspect = camera.logical_viewport_size().map_or(1.0, |s| (s.x / s.y.max(1.0)).max(0.1));
        let distance = fit_distance(&bounds, fov, aspect);
        cam.target_focus = bounds.center;
        cam.target_radius = distance.max(1e-3);
        if bounds.flat {
            cam.target_yaw = 0.0;
            cam.target_pitch = 0.0;
            cam.yaw_upper_limit = Some(0.0);
            cam.yaw_lower_limit = Some(0.0);
            cam.pitch_upper_limit = Some(0.0);
            cam.pitch_lower_limit = Some(0.0);
        } else {
            (cam.target_yaw, cam.target_pitch) = view_angles(active.scene());
            cam.yaw_upper_limit = None;
            cam.yaw_lower_limit = None;
            cam.pitch_upper_limit = None;
            cam.pitch_lower_limit = None;
        }
        cam.force_update = true;
    }
}

/// Slow turn for demos (about 12 degrees a second).
fn auto_rotate(
    time: Res<Time>,
    view: Res<ViewSettings>,
    bounds: Res<CloudBounds>,
    mut cameras: Query<&mut PanOrbitCamera>,
) {
    if !view.auto_rotate || bounds.flat {
        return;
    }
    for mut cam in &mut cameras {
        cam.target_yaw += 0.2 * time.delta_secs();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_fit_distance() {
        let flat = CloudBounds::of(&[-2.0, -1.0, 0.0, 2.0, 1.0, 0.0], &[0.0, 0.0, 0.0]);
        assert!(flat.flat);
        assert_eq!(flat.center, Vec3::ZERO);
        assert_eq!(flat.half_extents.truncate(), Vec2::new(2.0, 1.0));
        // 90 degrees vertical field of view, square view: the wider half-extent (2) at tan 45 = 1.
        let d = fit_distance(&flat, std::f32::consts::FRAC_PI_2, 1.0);
        assert!((d - 2.2).abs() < 1e-5, "{d}");
        // A wide view fits the height instead.
        let d = fit_distance(&flat, std::f32::consts::FRAC_PI_2, 4.0);
        assert!((d - 1.1).abs() < 1e-5, "{d}");
        let solid = CloudBounds::of(&[0.0, 0.0, -3.0, 0.0, 0.0, 3.0], &[]);
        assert!(!solid.flat);
        assert!((fit_distance(&solid, std::f32::consts::FRAC_PI_2, 0.5) - 6.0).abs() < 1e-4);
        // No finite point: a unit default instead of NaN.
        assert_eq!(CloudBounds::of(&[f32::NAN; 3], &[]).radius, 1.0);
    }
}
