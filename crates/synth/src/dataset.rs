//! Writing a data set: images, raw scans, YOLO labels, JSON annotations, class list,
//! `data.yaml` and a manifest, generated in parallel on a rayon pool.

use std::{
    collections::BTreeMap,
    fmt, fs,
    io::BufWriter,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use anyhow::Context;
use image::{
    ImageEncoder,
    codecs::png::{CompressionType, FilterType, PngEncoder},
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use super::{CLASSES, GENERATOR_VERSION, SynthArgs, SynthScan, Visibility, generate_scan};
use xray_engine::imaging::{Palette, PaletteName, encode_dual_energy_tiff};

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct DatasetSummary {
    /// Output folder.
    pub out: PathBuf,
    /// Scans written.
    pub scans: usize,
    /// Scans with no label.
    pub benign: u64,
    /// Labelled objects per class, in class id order.
    pub class_counts: [u64; CLASSES.len()],
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl fmt::Display for DatasetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {} scans to {} in {:.1} s ({:.1} scans/s)",
            self.scans,
            self.out.display(),
            self.seconds,
            self.scans as f64 / self.seconds.max(1e-9)
        )?;
        writeln!(f, "  benign (no threat): {}", self.benign)?;
        for (i, (name, category)) in CLASSES.iter().enumerate() {
            writeln!(
                f,
                "  {i} {name:<13} {:<17} {}",
                category.to_string(),
                self.class_counts[i]
            )?;
        }
        write!(
            f,
            "  objects in total: {}",
            self.class_counts.iter().sum::<u64>()
        )
    }
}

#[derive(Serialize)]
struct Annotation<'a> {
    id: &'a str,
    seed: u64,
    index: u64,
    width: u32,
    height: u32,
    palette: String,
    pixels_per_mm: f32,
    objects: Vec<AnnotatedObject>,
}

#[derive(Serialize)]
struct AnnotatedObject {
    class_id: usize,
    class_name: &'static str,
    category: String,
    #[serde(rename = "box")]
    bbox: [u32; 4],
    visibility: AnnotatedVisibility,
}

/// A label's visibility as written (high-energy attenuation, 4 decimals).
#[derive(Serialize)]
struct AnnotatedVisibility {
    contrast: f64,
    cover: f64,
    clutter: f64,
    signal_to_clutter: f64,
}

impl From<Visibility> for AnnotatedVisibility {
    fn from(v: Visibility) -> Self {
        let round = |x: f32| (f64::from(x) * 1e4).round() / 1e4;
        Self {
            contrast: round(v.contrast),
            cover: round(v.cover),
            clutter: round(v.clutter),
            signal_to_clutter: round(v.signal_to_clutter()),
        }
    }
}

#[derive(Serialize)]
struct Manifest {
    generator_version: &'static str,
    seed: u64,
    start: u64,
    count: usize,
    benign: u64,
    benign_fraction: f32,
    min_width: u32,
    max_width: u32,
    classes: Vec<&'static str>,
    class_counts: BTreeMap<&'static str, u64>,
}

/// The file stem of a scan: `s{seed}_{index:06}`.
pub fn scan_id(seed: u64, index: u64) -> String {
    format!("s{seed}_{index:06}")
}

/// Generates and writes the whole data set described by `args`.
pub fn write_dataset(args: &SynthArgs) -> anyhow::Result<DatasetSummary> {
    let started = Instant::now();
    let out = args.out.clone();
    for sub in ["images", "labels", "annotations"] {
        fs::create_dir_all(out.join(sub))
            .with_context(|| format!("creating {}", out.join(sub).display()))?;
    }
    for (wanted, sub) in [
        (!args.no_raw, "raw"),
        (args.draw_labels, "labelled"),
        (args.dicos, "dicos"),
    ] {
        if wanted {
            fs::create_dir_all(out.join(sub))
                .with_context(|| format!("creating {}", out.join(sub).display()))?;
        }
    }
    let opts = args.scene_options();
    let palettes: Vec<Palette> = [
        PaletteName::Classic,
        PaletteName::HighContrast,
        PaletteName::Amber,
        PaletteName::Teal,
        PaletteName::Gray,
    ]
    .into_iter()
    .map(Palette::new)
    .collect();

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.count as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} scans ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let counts: Vec<AtomicU64> = (0..CLASSES.len()).map(|_| AtomicU64::new(0)).collect();
    let benign = AtomicU64::new(0);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("starting the worker threads")?;
    pool.install(|| {
        (0..args.count as u64)
            .into_par_iter()
            .try_for_each(|i| -> anyhow::Result<()> {
                let index = args.start + i;
                let scan = generate_scan(args.seed, index, &opts);
                let palette = palettes
                    .iter()
                    .find(|p| p.name() == scan.palette)
                    .unwrap_or(&palettes[0]);
                write_scan(&out, &scan, palette, !args.no_raw, args.draw_labels)?;
                if args.dicos {
                    write_dicos(&out, &scan)?;
                }
                if scan.labels.is_empty() {
                    benign.fetch_add(1, Ordering::Relaxed);
                }
                for l in &scan.labels {
                    counts[l.class_id].fetch_add(1, Ordering::Relaxed);
                }
                bar.inc(1);
                Ok(())
            })
    })?;
    bar.finish_and_clear();

    let class_counts: [u64; CLASSES.len()] =
        std::array::from_fn(|i| counts[i].load(Ordering::Relaxed));
    let benign = benign.load(Ordering::Relaxed);
    write_metadata(args, &class_counts, benign)?;
    Ok(DatasetSummary {
        out,
        scans: args.count,
        benign,
        class_counts,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes one scan as DICOS objects: dicos/ID.dcm (the DX) and dicos/ID.tdr.dcm (its
/// ground truth).
fn write_dicos(out: &Path, scan: &SynthScan) -> anyhow::Result<()> {
    let id = scan_id(scan.seed, scan.index);
    let (dx, tdr) = super::dicos::dicos_objects(scan).context("writing the DICOS objects")?;
    for (name, bytes) in [(format!("{id}.dcm"), dx), (format!("{id}.tdr.dcm"), tdr)] {
        let path = out.join("dicos").join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// How hard to compress a PNG: data sets are written fast; pictures for documents small.
#[derive(Debug, Clone, Copy)]
pub(super) enum PngEffort {
    Fast,
    Small,
}

/// Writes 8-bit RGB pixels as a PNG file.
pub(super) fn write_png(
    path: &Path,
    rgb: &[u8],
    w: u32,
    h: u32,
    effort: PngEffort,
) -> anyhow::Result<()> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let (compression, filter) = match effort {
        PngEffort::Fast => (CompressionType::Fast, FilterType::Sub),
        PngEffort::Small => (CompressionType::Best, FilterType::Adaptive),
    };
    PngEncoder::new_with_quality(BufWriter::new(file), compression, filter)
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .with_context(|| format!("writing {}", path.display()))
}

/// The scan's pixels with a one-pixel outline of each label box in its category's colour.
fn with_label_boxes(rgb: &[u8], scan: &SynthScan) -> Vec<u8> {
    let mut out = rgb.to_vec();
    let w = scan.width as usize;
    let mut put = |x: u32, y: u32, c: image::Rgb<u8>| {
        let i = (y as usize * w + x as usize) * 3;
        if let Some(px) = out.get_mut(i..i + 3) {
            px.copy_from_slice(&c.0);
        }
    };
    for l in &scan.labels {
        let c = xray_engine::draw::category_colour(CLASSES[l.class_id].1);
        let [x1, y1, x2, y2] = l.bbox;
        if x2 <= x1 || y2 <= y1 {
            continue;
        }
        for x in x1..x2 {
            put(x, y1, c);
            put(x, y2 - 1, c);
        }
        for y in y1..y2 {
            put(x1, y, c);
            put(x2 - 1, y, c);
        }
    }
    out
}

/// Writes one scan's image, raw TIFF, YOLO labels and JSON annotation (and, with
/// `labelled`, the image with its label boxes drawn).
fn write_scan(
    out: &Path,
    scan: &SynthScan,
    palette: &Palette,
    raw: bool,
    labelled: bool,
) -> anyhow::Result<()> {
    let id = scan_id(scan.seed, scan.index);
    let (w, h) = (scan.width, scan.height);

    let mut rgb = Vec::new();
    palette.render_dual(&scan.samples, &mut rgb);
    write_png(
        &out.join("images").join(format!("{id}.png")),
        &rgb,
        w,
        h,
        PngEffort::Fast,
    )?;
    if labelled {
        let boxed = with_label_boxes(&rgb, scan);
        write_png(
            &out.join("labelled").join(format!("{id}.png")),
            &boxed,
            w,
            h,
            PngEffort::Fast,
        )?;
    }

    if raw {
        let tiff = encode_dual_energy_tiff(w, h, &scan.samples).context("encoding the raw scan")?;
        let path = out.join("raw").join(format!("{id}.tiff"));
        fs::write(&path, tiff).with_context(|| format!("writing {}", path.display()))?;
    }

    let mut yolo = String::new();
    let mut objects = Vec::with_capacity(scan.labels.len());
    for l in &scan.labels {
        let [x1, y1, x2, y2] = l.bbox;
        let (fw, fh) = (w as f64, h as f64);
        yolo.push_str(&format!(
            "{} {:.6} {:.6} {:.6} {:.6}\n",
            l.class_id,
            (x1 + x2) as f64 * 0.5 / fw,
            (y1 + y2) as f64 * 0.5 / fh,
            (x2 - x1) as f64 / fw,
            (y2 - y1) as f64 / fh
        ));
        let (name, category) = CLASSES[l.class_id];
        objects.push(AnnotatedObject {
            class_id: l.class_id,
            class_name: name,
            category: category.to_string(),
            bbox: l.bbox,
            visibility: l.visibility.into(),
        });
    }
    let path = out.join("labels").join(format!("{id}.txt"));
    fs::write(&path, yolo).with_context(|| format!("writing {}", path.display()))?;

    let annotation = Annotation {
        id: &id,
        seed: scan.seed,
        index: scan.index,
        width: w,
        height: h,
        palette: scan.palette.to_string(),
        pixels_per_mm: scan.pixels_per_mm,
        objects,
    };
    let path = out.join("annotations").join(format!("{id}.json"));
    fs::write(&path, serde_json::to_vec_pretty(&annotation)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// classes.txt, data.yaml and manifest.json.
fn write_metadata(args: &SynthArgs, class_counts: &[u64], benign: u64) -> anyhow::Result<()> {
    let out = &args.out;
    let names: Vec<&'static str> = CLASSES.iter().map(|c| c.0).collect();
    let mut classes = names.join("\n");
    classes.push('\n');
    fs::write(out.join("classes.txt"), classes).context("writing classes.txt")?;

    let abs = std::path::absolute(out).unwrap_or_else(|_| out.clone());
    let mut yaml = format!(
        "# Synthetic dual-energy X-ray scans (xray-screen synth {GENERATOR_VERSION}, seed {})\npath: {}\ntrain: images\nval: images\nnc: {}\nnames:\n",
        args.seed,
        yaml_string(&abs.to_string_lossy()),
        CLASSES.len()
    );
    for (i, name) in names.iter().enumerate() {
        yaml.push_str(&format!("  {i}: {name}\n"));
    }
    fs::write(out.join("data.yaml"), yaml).context("writing data.yaml")?;

    let manifest = Manifest {
        generator_version: GENERATOR_VERSION,
        seed: args.seed,
        start: args.start,
        count: args.count,
        benign,
        benign_fraction: args.benign_fraction,
        min_width: args.min_width,
        max_width: args.max_width,
        classes: names.clone(),
        class_counts: names
            .iter()
            .zip(class_counts)
            .map(|(n, c)| (*n, *c))
            .collect(),
    };
    fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )
    .context("writing manifest.json")?;
    Ok(())
}

/// A YAML double-quoted scalar (paths may hold spaces or colons).
fn yaml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_expected_layout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = SynthArgs {
            seed: 4,
            count: 3,
            out: dir.path().join("ds"),
            start: 0,
            benign_fraction: 0.0,
            max_threats: 4,
            min_width: 300,
            max_width: 360,
            no_raw: false,
            dicos: true,
            threads: 2,
            draw_labels: true,
            quiet: true,
        };
        let summary = write_dataset(&args).expect("data set written");
        assert_eq!(summary.scans, 3);
        // The labelled copy is the image with each box's outline in its category's colour.
        let scan = generate_scan(4, 0, &args.scene_options());
        let id = scan_id(4, 0);
        let plain = image::open(args.out.join("images").join(format!("{id}.png")))
            .expect("image")
            .to_rgb8();
        let boxed = image::open(args.out.join("labelled").join(format!("{id}.png")))
            .expect("labelled image")
            .to_rgb8();
        assert_eq!(plain.dimensions(), boxed.dimensions());
        let label = scan
            .labels
            .first()
            .expect("a threat in a scan with no benign fraction");
        let colour = xray_engine::draw::category_colour(CLASSES[label.class_id].1);
        assert_eq!(*boxed.get_pixel(label.bbox[0], label.bbox[1]), colour);
        let inside = (label.bbox[0] + label.bbox[2]) / 2;
        let middle = (label.bbox[1] + label.bbox[3]) / 2;
        assert_eq!(
            boxed.get_pixel(inside, middle),
            plain.get_pixel(inside, middle)
        );
        let out = &args.out;
        for f in ["classes.txt", "data.yaml", "manifest.json"] {
            assert!(out.join(f).is_file(), "{f}");
        }
        for i in 0..3 {
            let id = scan_id(4, i);
            for (dir, ext) in [
                ("images", "png"),
                ("raw", "tiff"),
                ("labels", "txt"),
                ("annotations", "json"),
                ("dicos", "dcm"),
                ("dicos", "tdr.dcm"),
            ] {
                assert!(
                    out.join(dir).join(format!("{id}.{ext}")).is_file(),
                    "{dir}/{id}.{ext}"
                );
            }
            // The PNG decodes, and each YOLO line is a class and four normalised numbers.
            let img = image::open(out.join("images").join(format!("{id}.png"))).expect("png");
            assert!(img.width() >= 300);
            let labels =
                fs::read_to_string(out.join("labels").join(format!("{id}.txt"))).expect("labels");
            for line in labels.lines() {
                let v: Vec<f64> = line
                    .split(' ')
                    .map(|t| t.parse().expect("number"))
                    .collect();
                assert_eq!(v.len(), 5);
                assert!((v[0] as usize) < CLASSES.len());
                assert!(v[1..].iter().all(|x| (0.0..=1.0).contains(x)));
            }
            let json: serde_json::Value = serde_json::from_slice(
                &fs::read(out.join("annotations").join(format!("{id}.json"))).expect("json"),
            )
            .expect("valid json");
            assert_eq!(json["id"], id.as_str());
            assert_eq!(
                json["objects"].as_array().map(|a| a.len()),
                Some(labels.lines().count())
            );
        }
        let classes = fs::read_to_string(out.join("classes.txt")).expect("classes");
        assert_eq!(classes.lines().next(), Some("firearm"));
        assert_eq!(classes.lines().count(), 7);
        let yaml = fs::read_to_string(out.join("data.yaml")).expect("yaml");
        assert!(yaml.contains("  6: currency"));
    }

    #[test]
    fn dicos_objects_hold_the_scan_and_its_labels() {
        let opts = SynthArgs {
            seed: 9,
            count: 1,
            out: std::path::PathBuf::new(),
            start: 0,
            benign_fraction: 0.0,
            max_threats: 3,
            min_width: 300,
            max_width: 340,
            no_raw: true,
            dicos: true,
            threads: 1,
            draw_labels: false,
            quiet: true,
        }
        .scene_options();
        let scan = generate_scan(9, 0, &opts);
        let (dx, tdr) = super::super::dicos::dicos_objects(&scan).expect("written");
        let read = xray_dicos::read_dx(&dx, u64::MAX).expect("a DX");
        assert_eq!((read.width, read.height), (scan.width, scan.height));
        let interleaved: Vec<u16> = read.frames[0]
            .iter()
            .zip(&read.frames[1])
            .flat_map(|(&l, &h)| [l, h])
            .collect();
        assert_eq!(interleaved, scan.samples, "low then high, as generated");
        let truth = xray_dicos::read_tdr(&tdr).expect("a TDR");
        assert_eq!(truth.kind, Some(xray_dicos::TdrType::GroundTruth));
        assert_eq!(
            truth.referenced_dx_sop_instance_uid.as_deref(),
            Some(
                xray_dicos::read_dx_ids(&dx)
                    .expect("ids")
                    .sop_instance_uid
                    .as_str()
            )
        );
        assert_eq!(truth.threats.len(), scan.labels.len());
        for (threat, label) in truth.threats.iter().zip(&scan.labels) {
            let [x1, y1, x2, y2] = label.bbox.map(|v| v as f32);
            assert_eq!(threat.polygon, [x1, y1, x2, y1, x2, y2, x1, y2]);
            assert_eq!(
                threat.description.as_deref(),
                Some(CLASSES[label.class_id].0)
            );
        }
    }
}
