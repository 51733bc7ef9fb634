//! Which of a scene's two clouds a tool works on: the target the flow aims
//! at or the source it moves (for a reverse flow the roles of the two swap,
//! see [`SceneCloud::is_fixed`]). The brush paints one of them, a CSV file
//! opened into a run replaces one of them.

use crate::engine::Direction;

/// The target or the source cloud of a scene.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SceneCloud {
    #[default]
    Target,
    Source,
}

impl SceneCloud {
    /// Both clouds, target first (the order of [`SceneCloud::index`]).
    pub const BOTH: [SceneCloud; 2] = [SceneCloud::Target, SceneCloud::Source];

    /// The name the scene file and the panels use.
    pub fn name(self) -> &'static str {
        match self {
            SceneCloud::Target => "target",
            SceneCloud::Source => "source",
        }
    }

    /// 0 for the target, 1 for the source: the index into a (target, source) pair.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether this cloud stays where it is in a scene of `direction` (a
    /// forward flow moves the source onto the target, a reverse one the target
    /// onto the source).
    pub fn is_fixed(self, direction: Direction) -> bool {
        (self == SceneCloud::Target) == (direction == Direction::Forward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_cloud_follows_the_direction() {
        assert!(SceneCloud::Target.is_fixed(Direction::Forward));
        assert!(!SceneCloud::Source.is_fixed(Direction::Forward));
        assert!(SceneCloud::Source.is_fixed(Direction::Reverse));
        assert!(!SceneCloud::Target.is_fixed(Direction::Reverse));
        assert_eq!(SceneCloud::BOTH.map(SceneCloud::index), [0, 1]);
        assert_eq!(SceneCloud::BOTH.map(SceneCloud::name), ["target", "source"]);
    }
}
