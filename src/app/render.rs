//! The clouds as entities and the cameras.
//!
//! One entity per point, carrying its run ([`OfRun`]) and its run's render
//! layer; each cloud shares one mesh and one material, so Bevy instances
//! them automatically. Only the moving cloud's transforms are written, and
//! only when a new state arrived ([`MovingPositions`] changed).
//!
//! [`CloudsPlugin`] spawns and moves the entities and works headless (no
//! meshes needed); [`CloudRenderPlugin`] adds the mesh, materials and one
//! orbit camera per run, each drawing its run's layer into its own viewport;
//! turning any view turns them all.

use bevy::camera::visibility::RenderLayers;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy_panorbit_camera::{PanOrbitCamera, PanOrbitCameraSystemSet};

use super::runs::{Focused, OfRun, ViewSlot};
use super::scene_loading::ActiveScene;
use super::simulation::{FixedPositions, MovingPositions, RunId, SimSystems};

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

/// A run's point entities per cloud, so a new state updates without a lookup.
#[derive(Component, Default, Debug)]
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

/// The camera of a run's view.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOf(pub Entity);

/// Point entities that follow the simulation (headless-capable).
pub struct CloudsPlugin;

impl Plugin for CloudsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ViewSettings>()
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
            .add_systems(Update, (sync_cameras, fit_view, auto_rotate).chain().in_set(RenderSystems::Camera))
            .add_systems(PostUpdate, turn_views_together.after(PanOrbitCameraSystemSet));
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

/// The orbit camera of a run's view.
fn view_camera(run: Entity, layers: RenderLayers, like: Option<&PanOrbitCamera>) -> impl Bundle {
    let mut orbit = PanOrbitCamera { zoom_lower_limit: 1e-3, zoom_sensitivity: 0.0, ..default() };
    if let Some(like) = like {
        // Join the others where they are.
        orbit = PanOrbitCamera { initialized: false, ..*like };
    }
    (
        ViewOf(run),
        Transform::from_xyz(0.0, 0.0, 10.0),
        // The orbit camera's own wheel zoom moves by a share of the radius
        // (so in and out do not cancel) and by a lot per notch: the input
        // plugin zooms by a fixed factor per notch instead.
        orbit,
        // Colours as given, so the Okabe-Ito pair stays exact.
        Tonemapping::None,
        layers,
    )
}

/// What a run's camera draws: the run's own layer, and layer 0 (heat map,
/// latent grid) in the focused view.
fn camera_layers(id: RunId, focused: bool) -> RenderLayers {
    if focused { run_layer(id).with(0) } else { run_layer(id) }
}

/// One camera per run: spawns the missing ones, drops those of closed runs,
/// and keeps each camera's layers and order in step with its run.
fn sync_cameras(
    mut commands: Commands,
    runs: Query<(Entity, &RunId, &ViewSlot, Has<Focused>)>,
    mut cameras: Query<(Entity, &ViewOf, &PanOrbitCamera, &mut RenderLayers, &mut Camera)>,
    mut view: ResMut<ViewSettings>,
) {
    let like = cameras.iter().next().map(|c| *c.2);
    for (camera, of, ..) in &cameras {
        if !runs.contains(of.0) {
            commands.entity(camera).despawn();
            view.fit_requested = true;
        }
    }
    for (run, id, slot, focused) in &runs {
        let layers = camera_layers(*id, focused);
        match cameras.iter_mut().find(|c| c.1.0 == run) {
            Some((_, _, _, mut current, mut camera)) => {
                current.set_if_neq(layers);
                let order = slot.0 as isize - 10;
                if camera.order != order {
                    camera.order = order;
                }
            }
            None => {
                let order = slot.0 as isize - 10;
                commands.spawn((view_camera(run, layers, like.as_ref()), Camera { order, ..default() }));
                view.fit_requested = true;
            }
        }
    }
}

/// Dragging or zooming any view turns them all: the camera whose targets
/// moved since last frame leads, the others take its targets.
fn turn_views_together(mut cameras: Query<&mut PanOrbitCamera>, mut last: Local<Option<OrbitTargets>>) {
    let moved = cameras.iter().map(OrbitTargets::of).find(|t| Some(*t) != *last);
    let Some(lead) = moved else { return };
    for mut cam in &mut cameras {
        if OrbitTargets::of(&cam) != lead {
            lead.apply(&mut cam);
        }
    }
    *last = Some(lead);
}

/// Where an orbit camera is heading.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrbitTargets {
    focus: Vec3,
    yaw: f32,
    pitch: f32,
    radius: f32,
}

impl OrbitTargets {
    fn of(cam: &PanOrbitCamera) -> Self {
        Self { focus: cam.target_focus, yaw: cam.target_yaw, pitch: cam.target_pitch, radius: cam.target_radius }
    }

    fn apply(&self, cam: &mut PanOrbitCamera) {
        cam.target_focus = self.focus;
        cam.target_yaw = self.yaw;
        cam.target_pitch = self.pitch;
        cam.target_radius = self.radius;
    }
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
    runs: Query<(&CloudBounds, &CloudEntities, Has<super::tools::brush::PaintDraft>)>,
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
            if !painted {
                visibility.set_if_neq(view.visibility(*role));
            }
        }
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

/// Frames every run's clouds (one framing for all views, as they turn
/// together); 2-D scenes face the camera with orbiting locked.
fn fit_view(
    mut view: ResMut<ViewSettings>,
    runs: Query<(&CloudBounds, &ActiveScene, Has<Focused>)>,
    mut cameras: Query<(&mut PanOrbitCamera, &Projection, &Camera)>,
) {
    if !view.fit_requested {
        return;
    }
    // The orbit camera takes its targets from its transform when it
    // initialises: wait for that, or the fit would be overwritten.
    if cameras.is_empty() || cameras.iter().any(|(cam, _, _)| !cam.initialized) {
        return;
    }
    let Some(bounds) = CloudBounds::union(runs.iter().map(|r| r.0)) else { return };
    let scene = runs.iter().find(|r| r.2).and_then(|r| r.1.scene());
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
            (cam.target_yaw, cam.target_pitch) = view_angles(scene);
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
    runs: Query<&CloudBounds>,
    mut cameras: Query<&mut PanOrbitCamera>,
) {
    if !view.auto_rotate || runs.iter().all(|b| b.flat) {
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
    fn one_framing_covers_every_run() {
        let flat = CloudBounds::of(&[-2.0, -1.0, 0.0, 0.0, 1.0, 0.0], &[]);
        let far = CloudBounds::of(&[3.0, 0.0, 0.0, 5.0, 2.0, 0.0], &[]);
        let both = CloudBounds::union([&flat, &far]).expect("two runs");
        assert_eq!(both.center, Vec3::new(1.5, 0.5, 0.0));
        assert_eq!(both.half_extents.truncate(), Vec2::new(3.5, 1.5));
        assert!(both.flat);
        let solid = CloudBounds::of(&[0.0, 0.0, -1.0, 0.0, 0.0, 1.0], &[]);
        assert!(!CloudBounds::union([&flat, &solid]).expect("two").flat);
        let one = CloudBounds::union([&flat]).expect("one run");
        assert_eq!((one.center, one.half_extents, one.flat), (flat.center, flat.half_extents, flat.flat));
        assert!((one.radius - flat.radius).abs() < 1e-5);
        assert!(CloudBounds::union([]).is_none());
    }

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
