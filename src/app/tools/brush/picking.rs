//! The brush's window part: the pointer over the focused view turned into
//! [`BrushInput`] on the z = 0 plane, the orbit camera kept off the left
//! button while the brush is on, and the brush drawn as a circle.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;

use super::draft::{BrushSettings, PaintDraft};
use super::systems::{BrushInput, BrushSystems, CloudColour};
use crate::app::run::{ActiveScene, Focused};
use crate::app::view::ViewOf;
use crate::engine::Direction;

/// The window part: pointer to strokes, the orbit camera off the left
/// button while the brush is on, and the brush circle under the pointer.
pub struct BrushWindowPlugin;

impl Plugin for BrushWindowPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<BrushCursor>()
            .add_systems(Update, pointer_to_brush.in_set(BrushSystems::Pointer))
            .add_systems(
                Update,
                (draw_brush, free_left_button).after(BrushSystems::Apply).in_set(crate::app::schedule::AppSet::Control),
            );
    }
}

/// Where the pointer meets the plane in the focused view (None: not over it).
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct BrushCursor(pub Option<Vec2>);

/// Where a ray meets the z = 0 plane, as (x, y); None when it runs along
/// the plane or away from it.
pub fn ray_on_plane(ray: Ray3d) -> Option<Vec2> {
    let distance = ray.intersect_plane(Vec3::ZERO, InfinitePlane3d::new(Vec3::Z))?;
    Some(ray.get_point(distance).truncate())
}

/// The cursor (logical window pixels) on the z = 0 plane through `camera`;
/// None outside its viewport.
pub fn cursor_on_plane(camera: &Camera, transform: &GlobalTransform, cursor: Vec2) -> Option<Vec2> {
    let rect = camera.logical_viewport_rect()?;
    if !rect.contains(cursor) {
        return None;
    }
    camera.viewport_to_world(transform, cursor).ok().and_then(ray_on_plane)
}

/// The pointer as the window sees it: the mouse buttons, the cursor over
/// the window, whether egui wants it, and the views' cameras to aim it.
#[derive(SystemParam)]
struct Pointer<'w, 's> {
    buttons: Res<'w, ButtonInput<MouseButton>>,
    window: Query<'w, 's, &'static Window, With<PrimaryWindow>>,
    wants: Option<Res<'w, EguiWantsInput>>,
    cameras: Query<'w, 's, (&'static Camera, &'static GlobalTransform, &'static ViewOf)>,
}

/// Turns the left button in the focused view into [`BrushInput`] while the
/// brush is on. egui wins: a press over a panel or a window (now or last
/// frame, as egui reports a frame late) starts no stroke.
fn pointer_to_brush(
    pointer: Pointer,
    runs: Query<Entity, (With<Focused>, With<PaintDraft>)>,
    mut cursor: ResMut<BrushCursor>,
    mut out: MessageWriter<BrushInput>,
    mut egui_last: Local<bool>,
    mut down: Local<Option<Vec2>>,
) {
    let Pointer { buttons, window, wants, cameras } = pointer;
    let egui_now = wants.is_some_and(|w| w.wants_any_pointer_input() || w.is_pointer_over_area());
    let egui_blocks = egui_now || *egui_last;
    *egui_last = egui_now;
    let run = runs.single().ok();
    let pos = run.and_then(|run| {
        let position = window.single().ok()?.cursor_position()?;
        let (camera, transform, _) = cameras.iter().find(|c| c.2.0 == run)?;
        cursor_on_plane(camera, transform, position)
    });
    let shown = pos.filter(|_| !egui_blocks || down.is_some());
    cursor.set_if_neq(BrushCursor(shown));
    if run.is_none() {
        if down.take().is_some() {
            out.write(BrushInput::Up);
        }
        return;
    }
    match *down {
        None => {
            if buttons.just_pressed(MouseButton::Left)
                && !egui_blocks
                && let Some(p) = pos
            {
                out.write(BrushInput::Down(p));
                *down = Some(p);
            }
        }
        Some(last) => {
            if !buttons.pressed(MouseButton::Left) {
                out.write(BrushInput::Up);
                *down = None;
            } else if let Some(p) = pos
                && p != last
            {
                out.write(BrushInput::Move(p));
                *down = Some(p);
            }
        }
    }
}

/// A mouse button no mouse has: the orbit camera's left-button actions are
/// parked on it while the brush is on.
const PARKED: MouseButton = MouseButton::Other(0xB0B);

/// While the brush is on, the left button paints: the orbit camera's
/// actions on it are parked, and given back when the brush goes off.
fn free_left_button(
    painting: Query<(), (With<Focused>, With<PaintDraft>)>,
    mut cameras: Query<&mut bevy_panorbit_camera::PanOrbitCamera>,
) {
    let on = !painting.is_empty();
    let (from, to) = if on { (MouseButton::Left, PARKED) } else { (PARKED, MouseButton::Left) };
    for mut cam in &mut cameras {
        if cam.button_orbit == from {
            cam.button_orbit = to;
        }
        if cam.button_pan == from {
            cam.button_pan = to;
        }
    }
}

/// The brush as a circle under the pointer (layer 0: only the focused view).
fn draw_brush(
    mut gizmos: Gizmos,
    cursor: Res<BrushCursor>,
    settings: Res<BrushSettings>,
    runs: Query<&ActiveScene, (With<Focused>, With<PaintDraft>)>,
) {
    let (Some(pos), Ok(active)) = (cursor.0, runs.single()) else { return };
    let direction = active.scene().map_or(Direction::Forward, |s| s.direction);
    let colour = if settings.erase { Color::srgb(0.75, 0.1, 0.1) } else { settings.cloud.colour(direction) };
    let centre = Isometry3d::from_translation(pos.extend(0.0));
    gizmos.circle(centre, settings.radius, colour).resolution(64);
    // A second, slightly smaller ring keeps the circle visible on both clouds.
    gizmos.circle(centre, settings.radius * 0.97, Color::srgba(0.1, 0.1, 0.1, 0.6)).resolution(64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rays_meet_the_plane() {
        let down = Ray3d::new(Vec3::new(1.0, 2.0, 10.0), Dir3::NEG_Z);
        assert_eq!(ray_on_plane(down), Some(Vec2::new(1.0, 2.0)));
        let slanted = Ray3d::new(Vec3::new(0.0, 0.0, 2.0), Dir3::new(Vec3::new(1.0, 0.0, -1.0)).expect("dir"));
        let hit = ray_on_plane(slanted).expect("hits");
        assert!((hit - Vec2::new(2.0, 0.0)).length() < 1e-5, "{hit}");
        assert_eq!(ray_on_plane(Ray3d::new(Vec3::Z, Dir3::Z)), None, "pointing away");
        assert_eq!(ray_on_plane(Ray3d::new(Vec3::Z, Dir3::X)), None, "along the plane");
    }

    #[test]
    fn the_cursor_meets_the_plane_inside_the_focused_viewport_only() {
        use bevy::camera::{ComputedCameraValues, RenderTargetInfo, Viewport};
        // A view right of a 300-pixel panel in a 1280 x 760 window at scale 2,
        // the camera 10 units above the origin looking down -z.
        let (fov, scale) = (std::f32::consts::FRAC_PI_2, 2.0);
        let size = UVec2::new(680, 700) * 2;
        let camera = Camera {
            viewport: Some(Viewport { physical_position: UVec2::new(300, 0) * 2, physical_size: size, ..default() }),
            computed: ComputedCameraValues {
                clip_from_view: Mat4::perspective_infinite_reverse_rh(fov, 680.0 / 700.0, 0.1),
                target_info: Some(RenderTargetInfo { physical_size: UVec2::new(1280, 760) * 2, scale_factor: scale }),
                ..default()
            },
            ..default()
        };
        let transform = GlobalTransform::from(Transform::from_xyz(1.0, 2.0, 10.0));
        let centre = cursor_on_plane(&camera, &transform, Vec2::new(640.0, 350.0)).expect("on the plane");
        assert!((centre - Vec2::new(1.0, 2.0)).length() < 1e-4, "{centre}");
        // The top edge of the view is tan(45 degrees) x 10 above the centre.
        let top = cursor_on_plane(&camera, &transform, Vec2::new(640.0, 0.0)).expect("on the plane");
        assert!((top - Vec2::new(1.0, 12.0)).length() < 1e-3, "{top}");
        let right = cursor_on_plane(&camera, &transform, Vec2::new(980.0, 350.0)).expect("on the plane");
        assert!((right.x - (1.0 + 10.0 * 680.0 / 700.0)).abs() < 1e-3, "{right}");
        // Over the panel: not in this view.
        assert_eq!(cursor_on_plane(&camera, &transform, Vec2::new(200.0, 350.0)), None);
    }
}
