//! Golden values: fixed scenes and seeds give recorded final points, bit for
//! bit. Each case runs a shipped preset for a few steps and hashes the f32
//! bits of the moving cloud (or of the generator's samples). A dependency
//! upgrade that changes a number anywhere on the path (the random streams,
//! the normal sampler, a kernel) fails here loudly instead of silently
//! changing a figure. If a change of numbers is intended, the failure
//! message gives the new value to record, and the README's reproducibility
//! promise says what that means for users.
//!
//! Every case runs on one and on two worker threads: the numbers must not
//! depend on the thread count.

use std::path::Path;

use sdflow::engine::Cloud;
use sdflow::scene::SceneFile;

/// FNV-1a over the coordinates' bit patterns: any change of any bit shows.
fn fingerprint(cloud: &Cloud) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in cloud.as_slice() {
        for b in x.to_bits().to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The moving cloud (or the generator's samples) after `steps` steps of the
/// preset, with its own seed, on a pool of `threads` threads.
fn final_points(preset: &str, steps: usize, threads: usize) -> Cloud {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes").join(preset);
    let mut file = SceneFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
    file.scene.steps = steps;
    let seed = file.scene.seed;
    let clouds = file.clouds().unwrap_or_else(|e| panic!("{e}"));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
    pool.install(|| match file.scene.trainer(&clouds, seed) {
        Some(trainer) => {
            let mut trainer = trainer.expect("the generator builds");
            while trainer.step().is_some() {}
            trainer.samples(256)
        }
        None => {
            let mut sim = file.scene.simulation(&clouds, seed);
            while sim.step().is_some() {}
            assert_eq!(sim.step_index(), steps, "{preset} ran every step");
            sim.moving().clone()
        }
    })
}

fn check(preset: &str, steps: usize, expected: u64) {
    for threads in [1, 2] {
        let points = final_points(preset, steps, threads);
        assert!(points.as_slice().iter().all(|x| x.is_finite()), "{preset}: every coordinate is finite");
        let got = fingerprint(&points);
        assert_eq!(
            got, expected,
            "{preset} after {steps} steps on {threads} thread(s) changed: fingerprint {got:#018x}, recorded {expected:#018x}"
        );
    }
}

#[test]
fn sd_flow_swiss_roll_to_mystery() {
    check("swiss_to_mystery.ron", 20, 0xb08d_7b6d_2cae_d9bd);
}

#[test]
fn mmd_flow_from_a_far_base() {
    check("mystery_offset_mmd.ron", 20, 0x52af_5c0c_4a54_d4d3);
}

#[test]
fn diffusion_reverse_process() {
    check("mystery_diffusion.ron", 20, 0x22c8_1f77_76fb_23e9);
}

#[test]
fn ideal_rectified_flow() {
    check("mystery_rectified.ron", 20, 0x7109_dbf2_1984_0341);
}

#[test]
fn sd_flow_with_batches() {
    check("mystery_offset_batch.ron", 20, 0xf84d_2e9d_6f58_d0b3);
}

#[test]
fn discriminator_driven_flow() {
    check("mystery_offset_disc_ns.ron", 10, 0x0927_8bb9_6930_1754);
}

#[test]
fn generator_training() {
    check("mlp_grid25.ron", 10, 0x1f68_698b_755f_c2f3);
}
