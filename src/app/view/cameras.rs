//! One orbit camera per run, each drawing its run's layer into its own
//! viewport; turning any view turns them all. The views are framed to the
//! clouds (one framing covers every run) and a 3-D scene turns slowly until
//! the user takes the mouse.

use bevy::camera::visibility::RenderLayers;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy_panorbit_camera::{PanOrbitCamera, PanOrbitCameraSystemSet};

use super::clouds::{CloudBounds, ViewSettings, run_layer};
use crate::app::run::{ActiveScene, Focused, RunId, ViewSlot};
use crate::app::schedule::AppSet;
use crate::scene::CameraHint;

/// The cameras (needs the render plugins).
pub struct CamerasPlugin;

impl Plugin for CamerasPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, (sync_cameras, fit_view, auto_rotate).chain().in_set(AppSet::Camera))
            .add_systems(PostUpdate, turn_views_together.after(PanOrbitCameraSystemSet).in_set(AppSet::Camera));
    }
}

/// The camera of a run's view.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOf(pub Entity);

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

/// Starting angles (yaw, pitch) in radians: the given camera hint (a
/// lesson's, else the scene's), else slightly from the side and above, so
/// depth shows.
pub fn view_angles(hint: Option<CameraHint>) -> (f32, f32) {
    hint.map_or((0.35, 0.2), |c| (c.yaw_deg.to_radians() as f32, c.pitch_deg.to_radians() as f32))
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
            (cam.target_yaw, cam.target_pitch) = view_angles(view.camera.or(scene.and_then(|s| s.camera)));
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
