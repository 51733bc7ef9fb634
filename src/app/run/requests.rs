//! The messages that open, reload, close and focus runs, and the scenes the
//! app starts with.

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use crate::scene::Scene;

/// Where the default scene lives, relative to the working directory.
pub const DEFAULT_SCENE: &str = "scenes/swiss_to_mystery.ron";

/// The same scene, built in, for when the app runs from elsewhere.
const DEFAULT_SCENE_TEXT: &str = include_str!("../../../scenes/swiss_to_mystery.ron");

/// Ways to (re)load a scene.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum SceneRequest {
    /// Read a scene file from disk.
    Open(PathBuf),
    /// Parse scene text said to come from `path` (the built-in default, tests).
    Text { path: PathBuf, text: String },
    /// Rebuild the run from the edited scene (direction, points, seed);
    /// `new_seed` draws a fresh seed first.
    Restart { new_seed: bool },
    /// A scene built in the window (a twin to compare with, painted
    /// clouds), said to live at `path`.
    Scene { path: PathBuf, scene: Box<Scene> },
}

impl SceneRequest {
    /// The default scene: the file if it is there, else the built-in copy.
    pub fn default_scene() -> Self {
        if Path::new(DEFAULT_SCENE).is_file() {
            SceneRequest::Open(DEFAULT_SCENE.into())
        } else {
            SceneRequest::Text { path: format!("{DEFAULT_SCENE} (built in)").into(), text: DEFAULT_SCENE_TEXT.into() }
        }
    }
}

/// The first scene to load, sent at startup.
#[derive(Resource, Debug, Clone)]
pub struct InitialScene(pub SceneRequest);

/// Scenes to open beside the first one at startup (`--compare`).
#[derive(Resource, Debug, Clone, Default)]
pub struct InitialCompare(pub Vec<SceneRequest>);

/// A scene request aimed at one run. [`SceneRequest`]s go to the focused
/// run; a run opened for comparison gets its first scene this way, and is
/// closed again if that scene cannot load (`new_run`).
#[derive(Message, Debug, Clone, PartialEq)]
pub struct LoadInto {
    pub run: Entity,
    pub request: SceneRequest,
    pub new_run: bool,
}

/// Ways to change the set of runs.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum RunRequest {
    /// Open this scene as another run beside the others.
    Compare(SceneRequest),
    /// Close a run (the last one stays).
    Close(Entity),
    /// Close every run but the focused one.
    CloseOthers,
    /// Let the panels edit this run.
    Focus(Entity),
}
