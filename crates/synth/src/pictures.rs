//! Pictures of what the generator makes, for people: a catalogue of every threat family on an
//! empty belt (to judge shapes), and downscaled sample scans (the README's).

use std::{fs, path::PathBuf};

use anyhow::Context;
use image::RgbImage;

use super::{
    SceneOptions,
    canvas::Canvas,
    dataset::{PngEffort, write_png},
    detector, generate_scan,
    objects::{Group, Item, clutter, goods, hardware, lookalikes, weapons},
    rng::Rng,
    shape::Affine,
};
use xray_engine::imaging::{Palette, PaletteName};

/// Builds one random instance of a family.
type Builder = fn(&mut Rng) -> Group;

/// The catalogue's rows: each threat family, then benign clutter.
const FAMILIES: [(&str, Builder); 10] = [
    ("firearm", weapons::firearm),
    ("knife", weapons::knife),
    ("ammunition", weapons::ammunition),
    ("drug_package", goods::drug_package),
    ("cigarettes", goods::cigarettes),
    ("phones", goods::phones),
    ("currency", goods::currency),
    ("clutter", clutter_group),
    ("hard negatives", lookalike_group),
    ("pocket metal", pocket_metal_group),
];
/// Side of one catalogue cell in pixels, and cells a row.
const CELL: usize = 340;
const COLUMNS: usize = 5;

fn lookalike_group(rng: &mut Rng) -> Group {
    benign(lookalikes::any(rng))
}

fn pocket_metal_group(rng: &mut Rng) -> Group {
    // A handful, as it comes out of a pocket.
    let mut g = Group::default();
    for _ in 0..4 {
        let o = hardware::pocket_metal(rng);
        let frame = Affine::at(rng.range(-60.0, 60.0), rng.range(-60.0, 60.0), rng.angle());
        g.items.push(Item {
            object: o,
            frame,
            class: None,
        });
    }
    g
}

fn clutter_group(rng: &mut Rng) -> Group {
    benign(clutter::item(rng))
}

fn benign(object: crate::shape::Object) -> Group {
    Group {
        items: vec![Item {
            object,
            frame: Affine::IDENTITY,
            class: None,
        }],
        labelled_as_one: false,
    }
}

/// `synth-pictures`: pictures of what the generator makes, for people to look at.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PicturesCommand {
    /// Every threat family (and benign clutter), five random instances a row, on an empty
    /// belt: to judge shapes and sizes.
    Catalogue {
        /// PNG file to write.
        #[arg(long)]
        out: PathBuf,
        /// Seed for the instances.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Rows to draw, by index (0 firearm .. 6 currency, 7 clutter, 8 hard negatives,
        /// 9 pocket metal); default all.
        #[arg(long, value_delimiter = ',')]
        rows: Vec<usize>,
        /// Downscale to this width in pixels (0: full size).
        #[arg(long, default_value_t = 0)]
        width: u32,
    },
    /// Scans as a data set of that seed would hold them, downscaled: `<prefix>-<n>.png`.
    Samples {
        /// Folder to write into (created).
        #[arg(long)]
        out: PathBuf,
        /// Scans as `seed:index`, comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        scans: Vec<String>,
        /// Width of each picture in pixels (scans narrower than this keep their size).
        #[arg(long, default_value_t = 720)]
        width: u32,
        /// File name prefix.
        #[arg(long, default_value = "synth-sample")]
        prefix: String,
    },
}

/// Runs `synth-pictures`.
pub fn run(command: &PicturesCommand) -> anyhow::Result<()> {
    match command {
        PicturesCommand::Catalogue {
            out,
            seed,
            rows,
            width,
        } => {
            let mut img = catalogue(*seed, rows)?;
            if *width > 0 && *width < img.width() {
                let h = (img.height() as u64 * *width as u64 / img.width() as u64).max(1) as u32;
                img =
                    image::imageops::resize(&img, *width, h, image::imageops::FilterType::Triangle);
            }
            save(&img, out)?;
            println!("wrote {} ({}x{})", out.display(), img.width(), img.height());
        }
        PicturesCommand::Samples {
            out,
            scans,
            width,
            prefix,
        } => {
            fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
            for (n, id) in scans.iter().enumerate() {
                let (seed, index) = parse_scan_id(id)?;
                let img = sample(seed, index, *width)?;
                let path = out.join(format!("{prefix}-{}.png", n + 1));
                save(&img, &path)?;
                println!("wrote {} (seed {seed}, scan {index})", path.display());
            }
        }
    }
    Ok(())
}

/// The catalogue picture: one row per chosen family, [`COLUMNS`] instances each.
pub fn catalogue(seed: u64, rows: &[usize]) -> anyhow::Result<RgbImage> {
    let chosen: Vec<usize> = if rows.is_empty() {
        (0..FAMILIES.len()).collect()
    } else {
        rows.to_vec()
    };
    if let Some(bad) = chosen.iter().find(|&&r| r >= FAMILIES.len()) {
        anyhow::bail!(
            "no catalogue row {bad}: rows are 0..{} ({})",
            FAMILIES.len() - 1,
            FAMILIES.map(|(name, _)| name).join(", ")
        );
    }
    let mut rng = Rng::new(seed);
    let mut canvas = Canvas::new(CELL * COLUMNS, CELL * chosen.len());
    for (j, &row) in chosen.iter().enumerate() {
        let build = FAMILIES[row].1;
        for i in 0..COLUMNS {
            let group = build(&mut rng);
            let b = group.bounds();
            let size = (b[2] - b[0]).max(b[3] - b[1]).max(1.0);
            let ppm = (CELL as f32 * 0.9 / size).min(2.0);
            let pose = Affine::new(
                (i * CELL + CELL / 2) as f32,
                (j * CELL + CELL / 2) as f32,
                rng.range(-0.3, 0.3),
                ppm,
            );
            for item in &group.items {
                canvas.draw(&item.object, pose.then(item.frame), false);
            }
        }
    }
    let samples = detector::expose(&canvas, &mut rng);
    let mut rgb = Vec::new();
    Palette::new(PaletteName::Classic).render_dual(&samples, &mut rgb);
    RgbImage::from_raw(canvas.width as u32, canvas.height as u32, rgb)
        .context("catalogue buffer size")
}

/// Scan `index` of a data set with `seed` (default scene options) in its own palette,
/// downscaled to `width` pixels when wider.
pub fn sample(seed: u64, index: u64, width: u32) -> anyhow::Result<RgbImage> {
    let scan = generate_scan(seed, index, &SceneOptions::default());
    let mut rgb = Vec::new();
    Palette::new(scan.palette).render_dual(&scan.samples, &mut rgb);
    let img =
        RgbImage::from_raw(scan.width, scan.height, rgb).context("sample scan buffer size")?;
    let w = scan.width.min(width.max(1));
    let h = (scan.height as u64 * w as u64 / scan.width as u64).max(1) as u32;
    Ok(image::imageops::resize(
        &img,
        w,
        h,
        image::imageops::FilterType::Triangle,
    ))
}

fn parse_scan_id(id: &str) -> anyhow::Result<(u64, u64)> {
    let parsed = id
        .split_once(':')
        .and_then(|(s, i)| Some((s.trim().parse().ok()?, i.trim().parse().ok()?)));
    parsed.with_context(|| format!("scan {id:?} is not seed:index (for example 1:17)"))
}

fn save(img: &RgbImage, path: &std::path::Path) -> anyhow::Result<()> {
    write_png(
        path,
        img.as_raw(),
        img.width(),
        img.height(),
        PngEffort::Small,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Share of a cell's pixels that differ clearly from the empty belt (the image corner).
    fn drawn_share(img: &RgbImage, x0: u32, y0: u32) -> f64 {
        let belt = img.get_pixel(0, 0).0;
        let mut drawn = 0u64;
        for y in y0..y0 + CELL as u32 {
            for x in x0..x0 + CELL as u32 {
                let p = img.get_pixel(x, y).0;
                let diff: i32 = (0..3).map(|c| (p[c] as i32 - belt[c] as i32).abs()).sum();
                if diff > 60 {
                    drawn += 1;
                }
            }
        }
        drawn as f64 / (CELL * CELL) as f64
    }

    #[test]
    fn catalogue_draws_every_instance_of_the_chosen_rows() {
        let img = catalogue(3, &[0, 6]).expect("catalogue");
        assert_eq!(
            (img.width(), img.height()),
            ((CELL * COLUMNS) as u32, 2 * CELL as u32)
        );
        for row in 0..2u32 {
            for col in 0..COLUMNS as u32 {
                let share = drawn_share(&img, col * CELL as u32, row * CELL as u32);
                assert!(share > 0.02, "row {row} cell {col}: {share}");
            }
        }
        assert!(catalogue(3, &[10]).is_err());
    }

    #[test]
    fn samples_are_the_data_set_scans_downscaled() {
        let scan = generate_scan(1, 4, &SceneOptions::default());
        let img = sample(1, 4, 360).expect("sample");
        assert_eq!(img.width(), 360);
        let expected_h = scan.height * 360 / scan.width;
        assert_eq!(img.height(), expected_h);
        // Not downscaled past its own size.
        let big = sample(1, 4, 10_000).expect("sample");
        assert_eq!((big.width(), big.height()), (scan.width, scan.height));
        assert_eq!(parse_scan_id("7:12").expect("id"), (7, 12));
        assert!(parse_scan_id("7-12").is_err());
    }
}
