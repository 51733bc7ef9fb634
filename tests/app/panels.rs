//! UI tests of the egui panels without a window (egui_kittest drives the
//! widgets through their accessibility tree, as a user would click them).

use bevy::prelude::Entity;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use sdflow::app::ui::runs::{CompareAction, RunEntry, compare_controls_ui};

fn entry(index: u32, name: &str, focused: bool) -> RunEntry {
    RunEntry {
        entity: Entity::from_raw_u32(index).expect("an index"),
        name: name.into(),
        slot: index as usize,
        focused,
    }
}

/// The controls with these runs; the state collects every action clicked.
fn harness(runs: Vec<RunEntry>) -> Harness<'static, Vec<CompareAction>> {
    Harness::new_ui_state(
        move |ui, actions: &mut Vec<CompareAction>| {
            let presets = [("scenes/grid25.ron".into(), "Grid of 25 Gaussians".to_string())];
            actions.extend(compare_controls_ui(ui, &runs, Some("Mmd"), &presets))
        },
        Vec::new(),
    )
}

#[test]
fn one_click_opens_the_twin() {
    let mut h = harness(vec![entry(1, "offset · Sd", true)]);
    h.run();
    // Alone, a run lists no others and offers nothing to close.
    assert!(h.query_by_label("Close other views").is_none());
    h.get_by_label("Compare with Mmd twin").click();
    h.run();
    assert_eq!(h.state(), &vec![CompareAction::Twin]);
    // Or any preset, from the list.
    h.get_by_value("Compare with a preset…").click();
    h.run();
    h.get_by_label("Grid of 25 Gaussians").click();
    h.run();
    assert_eq!(h.state().last(), Some(&CompareAction::File("scenes/grid25.ron".into())));
}

#[test]
fn runs_side_by_side_can_be_focused_and_closed() {
    let runs = vec![entry(1, "offset · Sd", true), entry(2, "offset · Mmd", false)];
    let second = runs[1].entity;
    let mut h = harness(runs);
    h.run();
    h.get_by_label("offset · Mmd").click();
    h.run();
    assert_eq!(h.state(), &vec![CompareAction::Focus(second)]);
    h.get_by_label("Close other views").click();
    h.run();
    assert_eq!(h.state().last(), Some(&CompareAction::CloseOthers));
}

#[test]
fn four_runs_is_the_most() {
    let runs: Vec<RunEntry> = (1..=4).map(|i| entry(i, &format!("run {i}"), i == 1)).collect();
    let mut h = harness(runs);
    h.run();
    h.get_by_label("4 views open: close one to compare another.");
    // The twin button is there but disabled: a click does nothing.
    h.get_by_label("Compare with Mmd twin").click();
    h.run();
    assert!(h.state().is_empty(), "{:?}", h.state());
}

mod timeline {
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use sdflow::app::ui::timeline::{TimelineAction, timeline_ui};
    use sdflow::app::worker::HistoryInfo;

    fn history(furthest: usize) -> HistoryInfo {
        HistoryInfo { first: 0, furthest, line: "history: 1.0 MiB of 256 MiB, every step".into() }
    }

    /// The timeline at step `shown`; the state collects the actions.
    fn harness(shown: usize, h: Option<HistoryInfo>) -> Harness<'static, Vec<TimelineAction>> {
        Harness::new_ui_state(
            move |ui, actions: &mut Vec<TimelineAction>| actions.extend(timeline_ui(ui, shown, h.as_ref())),
            Vec::new(),
        )
    }

    #[test]
    fn back_asks_for_the_step_before() {
        let mut h = harness(7, Some(history(10)));
        h.run();
        h.get_by_label("Back").click();
        h.run();
        assert_eq!(h.state(), &vec![TimelineAction::Seek(6)]);
        // Behind the furthest step, the panel warns that a change branches.
        h.get_by_label("Showing an earlier step: changing a setting here drops the steps after it.");
    }

    #[test]
    fn at_step_zero_there_is_nothing_before() {
        let mut h = harness(0, Some(history(10)));
        h.run();
        h.get_by_label("Back").click();
        h.run();
        assert!(h.state().is_empty(), "{:?}", h.state());
    }

    #[test]
    fn at_the_furthest_step_nothing_would_be_dropped() {
        let mut h = harness(10, Some(history(10)));
        h.run();
        assert!(
            h.query_by_label("Showing an earlier step: changing a setting here drops the steps after it.").is_none()
        );
    }

    #[test]
    fn generator_runs_say_they_have_no_timeline() {
        let mut h = harness(3, None);
        h.run();
        h.get_by_label("No timeline for generator runs (their history is not kept).");
        assert!(h.query_by_label("Back").is_none());
    }
}

mod lesson_panel {
    use std::path::Path;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use sdflow::app::lesson::LessonPlayer;
    use sdflow::app::lesson::OpenLesson;
    use sdflow::app::ui::lesson::{LessonAction, caption_ui, lessons_menu_ui, section, shows};
    use sdflow::lesson::check::Outcome;
    use sdflow::lesson::{Bound, LessonFile};

    fn sd_vs_mmd(step: usize, answer: Option<usize>) -> OpenLesson {
        let file = LessonFile::read(Path::new("lessons/sd_vs_mmd.ron")).expect("the shipped lesson");
        OpenLesson { file, step, answer }
    }

    fn claim(holds: bool) -> Outcome {
        Outcome {
            step_index: 1,
            check_index: 0,
            claim: "SD lands on the far target".into(),
            metric: "cfd".into(),
            run: 0,
            step: 500,
            bound: Bound::Below(0.06),
            value: if holds { 0.0123 } else { 0.25 },
            other: None,
            holds,
        }
    }

    /// The caption of `open`; the state collects every action clicked.
    fn harness(open: OpenLesson, claims: Vec<Outcome>) -> Harness<'static, Vec<LessonAction>> {
        Harness::new_ui_state(
            move |ui, actions: &mut Vec<LessonAction>| {
                let shown: Vec<&Outcome> = claims.iter().collect();
                actions.extend(caption_ui(ui, &open, Some(&shown), false, None, false))
            },
            Vec::new(),
        )
    }

    #[test]
    fn the_caption_shows_where_we_are_and_moves_on() {
        let mut h = harness(sd_vs_mmd(0, None), Vec::new());
        h.run();
        assert!(h.query_by_label_contains("1 / 2").is_some());
        assert!(h.query_by_label_contains("Fig. 1").is_some(), "the caption is shown");
        h.get_by_label("Next").click();
        h.run();
        assert_eq!(h.state(), &vec![LessonAction::Next]);
        h.get_by_label("Leave lesson").click();
        h.run();
        assert_eq!(h.state().last(), Some(&LessonAction::Leave));
    }

    #[test]
    fn a_question_is_answered_then_explained() {
        let mut h = harness(sd_vs_mmd(1, None), Vec::new());
        h.run();
        assert!(h.query_by_label_contains("wait for your answer").is_some());
        h.get_by_label("MMD (right)").click();
        h.run();
        assert_eq!(h.state(), &vec![LessonAction::Answer(1)]);
        let mut answered = harness(sd_vs_mmd(1, Some(1)), Vec::new());
        answered.run();
        assert!(answered.query_by_label_contains("Right.").is_some());
        let mut wrong = harness(sd_vs_mmd(1, Some(0)), Vec::new());
        wrong.run();
        assert!(wrong.query_by_label_contains("Not quite.").is_some());
    }

    #[test]
    fn claims_show_their_measured_values_with_a_tick_or_a_cross() {
        let mut h = harness(sd_vs_mmd(1, Some(1)), vec![claim(true)]);
        h.run();
        assert!(h.query_by_label_contains("✔ SD lands on the far target: cfd at step 500 = 0.0123 (< 0.06)").is_some());
        assert!(h.query_by_label_contains("3 more claim(s)").is_some(), "the others wait for their steps");
        let mut failing = harness(sd_vs_mmd(1, Some(1)), vec![claim(false)]);
        failing.run();
        assert!(failing.query_by_label_contains("✘ SD lands").is_some());
    }

    #[test]
    fn the_menu_opens_a_lesson() {
        let lessons =
            vec![("lessons/gan.ron".into(), "GANs follow the score difference".to_string(), "Section 4.3".to_string())];
        let mut h = Harness::new_ui_state(
            move |ui, actions: &mut Vec<LessonAction>| actions.extend(lessons_menu_ui(ui, &lessons, None, false)),
            Vec::new(),
        );
        h.run();
        h.get_by_label("GANs follow the score difference").click();
        h.run();
        assert_eq!(h.state(), &vec![LessonAction::Open("lessons/gan.ron".into())]);
    }

    #[test]
    fn a_section_the_step_hides_is_not_drawn() {
        // Step 1 of sd_vs_mmd shows only the timeline and the plots.
        let player = LessonPlayer { open: Some(sd_vs_mmd(0, None)), ..Default::default() };
        let mut h = Harness::new_ui(move |ui| {
            section(ui, shows(&player, "scene"), "Scene", true, |ui| ui.label("scene body"));
            section(ui, shows(&player, "plots"), "Plots", true, |ui| ui.label("plots body"));
        });
        h.run();
        assert!(h.query_by_label("Scene").is_none() && h.query_by_label("scene body").is_none());
        assert!(h.query_by_label("Plots").is_some() && h.query_by_label("plots body").is_some());
        // Outside a lesson every section is drawn.
        let lab = LessonPlayer::default();
        assert!(shows(&lab, "scene") && shows(&lab, "paint"));
    }
}
