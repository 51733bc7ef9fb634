//! What makes an entity part of a run: the focus, the view slot, and the
//! relationship from a run's parts (points, arrows, previews) to the run.

use bevy::prelude::*;

/// The run the panels edit.
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct Focused;

/// Position of a run's view: 0 is the first (left or top-left).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ViewSlot(pub usize);

/// The run a point entity (or an arrow mesh, a brush preview) belongs to.
/// A relationship: despawning the run despawns its parts.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
#[relationship(relationship_target = RunParts)]
pub struct OfRun(pub Entity);

/// The entities of a run ([`OfRun`] pointing at it), kept by Bevy.
#[derive(Component, Debug, Default)]
#[relationship_target(relationship = OfRun, linked_spawn)]
pub struct RunParts(Vec<Entity>);
