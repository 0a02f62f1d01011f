//! Synthetic dual-energy X-ray scans of bags and parcels with labelled threats, for training
//! the default detector and for test images.
//!
//! Physically based: every object is a set of 2-D shapes with a thickness profile and a
//! material; attenuation `mu * thickness` adds per energy (Beer-Lambert), the detector adds
//! blur, gain errors and photon noise. Each scan `i` of a data set is seeded from
//! `(seed, i)`, so the output does not depend on thread count or order.

mod canvas;
mod dataset;
mod detector;
mod dicos;
mod material;
pub mod material_table;
mod objects;
pub mod pictures;
mod rng;
mod scene;
mod shape;
mod visibility;

use std::path::PathBuf;

pub use dataset::{DatasetSummary, write_dataset};
pub use material::Material;
pub use material_table::{MATERIALS, MaterialRow};
pub use scene::{Label, SceneOptions, SynthScan, generate_scan};
pub use visibility::Visibility;

use xray_types::Category;

/// Version of the generator, recorded in each data set's manifest: bump it when the same
/// seed starts giving different scans.
pub const GENERATOR_VERSION: &str = "2.0.0";

/// The classes the generator labels, in id order, with their customs category. The
/// trainer and `model.toml` use exactly these ids and names.
pub const CLASSES: [(&str, Category); 7] = [
    ("firearm", Category::Weapon),
    ("knife", Category::Weapon),
    ("ammunition", Category::Weapon),
    ("drug_package", Category::Drugs),
    ("cigarettes", Category::UndeclaredGoods),
    ("phone", Category::UndeclaredGoods),
    ("currency", Category::UndeclaredGoods),
];

/// `synth`: write a synthetic, labelled data set of dual-energy scans.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Data-set seed: the same seed and count always give the same files.
    #[arg(long, env = "XRAY_SYNTH_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Number of scans to generate.
    #[arg(long, env = "XRAY_SYNTH_COUNT")]
    pub count: usize,
    /// Output folder (created; existing files with the same names are overwritten).
    #[arg(long, env = "XRAY_SYNTH_OUT")]
    pub out: PathBuf,
    /// Index of the first scan (to extend a data set, or split one across machines).
    #[arg(long, env = "XRAY_SYNTH_START", default_value_t = 0)]
    pub start: u64,
    /// Share of scans with nothing but benign clutter and hard negatives: exactly this share
    /// of any run of consecutive scan indices (to within one scan).
    #[arg(long, env = "XRAY_SYNTH_BENIGN_FRACTION", default_value_t = scene::BENIGN_FRACTION)]
    pub benign_fraction: f32,
    /// Most threat groups in one scan (a group of phones or banknote bundles is one group).
    #[arg(long, env = "XRAY_SYNTH_MAX_THREATS", default_value_t = 4)]
    pub max_threats: usize,
    /// Smallest image width in pixels.
    #[arg(long, env = "XRAY_SYNTH_MIN_WIDTH", default_value_t = 400)]
    pub min_width: u32,
    /// Largest image width in pixels.
    #[arg(long, env = "XRAY_SYNTH_MAX_WIDTH", default_value_t = 1200)]
    pub max_width: u32,
    /// Skip the raw dual-energy TIFFs (raw/), which are large and uncompressed.
    #[arg(long, env = "XRAY_SYNTH_NO_RAW")]
    pub no_raw: bool,
    /// Also write each scan as DICOS objects in dicos/: a dual-energy DX (ID.dcm) and its
    /// labels as a GROUND_TRUTH Threat Detection Report (ID.tdr.dcm) referring to it.
    #[arg(long, env = "XRAY_SYNTH_DICOS")]
    pub dicos: bool,
    /// Worker threads (0: one per core).
    #[arg(long, env = "XRAY_SYNTH_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Also write each scan with its label boxes drawn (colour by category) into labelled/,
    /// to look at what the generator makes.
    #[arg(long, env = "XRAY_SYNTH_DRAW_LABELS")]
    pub draw_labels: bool,
    /// No progress bar (for logs and CI).
    #[arg(long, env = "XRAY_SYNTH_QUIET")]
    pub quiet: bool,
}

impl SynthArgs {
    /// The scene options these flags describe.
    pub fn scene_options(&self) -> SceneOptions {
        SceneOptions {
            min_width: self.min_width.min(self.max_width),
            max_width: self.max_width.max(self.min_width),
            benign_fraction: self.benign_fraction.clamp(0.0, 1.0),
            max_threats: self.max_threats.max(1),
            ..SceneOptions::default()
        }
    }
}

/// Runs the `synth` command: writes the data set, shows progress, prints a summary.
pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let summary = write_dataset(args)?;
    // The data set is written; a closed stdout (`synth ... | head`) is not an error.
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{summary}");
    Ok(())
}
