//! Files dropped on the window: a CSV replaces the target cloud (through the
//! share tool), anything else is opened as a scene.

use bevy::prelude::*;
use bevy::window::FileDragAndDrop;

use crate::app::run::SceneRequest;
use crate::app::schedule::AppSet;
use crate::app::tools::share::{Opened, ShareRequest, open_request};
use crate::scene::SceneCloud;

/// Turns dropped files into requests.
pub struct DropsPlugin;

impl Plugin for DropsPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<FileDragAndDrop>().add_systems(Update, dropped_files.in_set(AppSet::Input));
    }
}

fn dropped_files(
    mut drops: MessageReader<FileDragAndDrop>,
    mut requests: MessageWriter<SceneRequest>,
    mut share: MessageWriter<ShareRequest>,
) {
    for drop in drops.read() {
        if let FileDragAndDrop::DroppedFile { path_buf, .. } = drop {
            // A dropped CSV replaces the target cloud; anything else is read as a scene.
            match open_request(path_buf, SceneCloud::Target) {
                Ok(Opened::Share(request)) => {
                    share.write(request);
                }
                _ => {
                    requests.write(SceneRequest::Open(path_buf.clone()));
                }
            }
        }
    }
}
