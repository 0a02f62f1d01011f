//! Finding the images and YOLO labels of an evaluation set: a folder written by `synth`, the
//! common YOLO layout (`images/` beside `labels/`, with or without `data.yaml`), a plain
//! folder of images with their `.txt` labels next to them, or a folder of DICOS DX objects
//! (`ID.dcm`) whose ground truth is a TDR beside each (`ID.tdr.dcm`, as `synth --dicos`
//! writes them: each threat's description its class name).

use std::path::{Path, PathBuf};

use super::visibility::{Band, bands_for};
use xray_types::Encoding;

/// Why an evaluation set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("{}:{line}: {reason}", path.display())]
    Label {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{}: {reason}", path.display())]
    DataYaml { path: PathBuf, reason: String },
    #[error("no images (PNG, JPEG, TIFF, DICOS) in {}", path.display())]
    Empty { path: PathBuf },
    #[error("{}: {reason}", path.display())]
    Tdr { path: PathBuf, reason: String },
}

/// One labelled object, in YOLO's normalised centre form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YoloBox {
    pub class: usize,
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
}

/// One image and its ground truth (empty: a benign scan).
#[derive(Debug, Clone)]
pub struct LabelledImage {
    pub image: PathBuf,
    pub truths: Vec<YoloBox>,
    /// False when no label file was found (counted as benign, and reported).
    pub has_label_file: bool,
    /// How plainly each truth shows, in label order, where a `synth` annotation says so.
    pub bands: Option<Vec<Band>>,
}

/// The images to evaluate and, when the set names them, its class names by id.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub images: Vec<LabelledImage>,
    pub class_names: Option<Vec<String>>,
}

/// Reads the set at `path`: a `data.yaml` file, a folder with one, a folder with `images/`,
/// or a folder of images. `split` picks the `data.yaml` entry (`val`, `test`, ...).
pub fn load(path: &Path, split: &str) -> Result<EvalSet, DatasetError> {
    let yaml = if path.is_file() {
        Some(path.to_path_buf())
    } else {
        ["data.yaml", "data.yml"]
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
    };
    let (image_dirs, mut class_names) = match yaml {
        Some(yaml) => {
            let data = read_data_yaml(&yaml, split)?;
            (data.image_dirs, data.names)
        }
        None if path.join("images").is_dir() => (vec![path.join("images")], None),
        None => (vec![path.to_path_buf()], None),
    };
    if class_names.is_none() {
        let root = if path.is_file() {
            path.parent().unwrap_or(Path::new("."))
        } else {
            path
        };
        // A DICOS folder of a `synth` set has its class list one level up.
        let classes_txt = [root.join("classes.txt"), root.join("../classes.txt")]
            .into_iter()
            .find(|p| p.is_file());
        if let Some(classes_txt) = classes_txt {
            let text = read(&classes_txt)?;
            class_names = Some(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
    }
    let mut files = Vec::new();
    for dir in &image_dirs {
        collect_images(dir, &mut files)?;
    }
    files.sort();
    if files.is_empty() {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    let images = files
        .into_iter()
        .map(|image| {
            let label = label_path(&image);
            let report = tdr_path(&image);
            let (truths, has_label_file) = if let Some(report) = report.filter(|r| r.is_file()) {
                (tdr_truths(&image, &report, class_names.as_deref())?, true)
            } else if label.is_file() {
                (parse_labels(&label, &read(&label)?)?, true)
            } else {
                (Vec::new(), false)
            };
            let bands = bands_for(&image, &truths);
            Ok(LabelledImage {
                image,
                truths,
                has_label_file,
                bands,
            })
        })
        .collect::<Result<_, DatasetError>>()?;
    Ok(EvalSet {
        images,
        class_names,
    })
}

fn read(path: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(path).map_err(|e| DatasetError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(Encoding::from_extension)
        .is_some_and(|e| e != Encoding::RawU16)
        && !is_tdr(path)
}

/// A DICOS ground-truth report, not an image.
fn is_tdr(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tdr.dcm"))
}

/// The TDR beside a DICOS image (`ID.dcm` -> `ID.tdr.dcm`).
fn tdr_path(image: &Path) -> Option<PathBuf> {
    let encoding = image
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Encoding::from_extension);
    (encoding == Some(Encoding::Dicos)).then(|| image.with_extension("tdr.dcm"))
}

/// The ground truth a TDR gives its DX: each potential threat object's polygon as a box,
/// its class from its description, by the set's class names.
fn tdr_truths(
    image: &Path,
    report: &Path,
    class_names: Option<&[String]>,
) -> Result<Vec<YoloBox>, DatasetError> {
    let bad = |path: &Path, reason: String| DatasetError::Tdr {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = |path: &Path| {
        std::fs::read(path).map_err(|e| DatasetError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    };
    let ids = xray_dicos::read_dx_ids(&bytes(image)?).map_err(|e| bad(image, e.to_string()))?;
    let tdr = xray_dicos::read_tdr(&bytes(report)?).map_err(|e| bad(report, e.to_string()))?;
    let names = class_names.ok_or_else(|| {
        bad(
            report,
            "a TDR names its threats' classes: the set needs classes.txt (or data.yaml names)"
                .into(),
        )
    })?;
    let (w, h) = (ids.width.max(1) as f32, ids.height.max(1) as f32);
    tdr.threats
        .iter()
        .map(|t| {
            let name = t.description.as_deref().unwrap_or_default();
            let class = names.iter().position(|n| n == name).ok_or_else(|| {
                bad(
                    report,
                    format!(
                        "threat {} is of class {name:?}, not in the set's classes",
                        t.id
                    ),
                )
            })?;
            let xs = t.polygon.iter().step_by(2);
            let ys = t.polygon.iter().skip(1).step_by(2);
            let (x1, x2) = xs.fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            let (y1, y2) = ys.fold((f32::MAX, f32::MIN), |(a, b), &y| (a.min(y), b.max(y)));
            if x2 < x1 || y2 < y1 {
                return Err(bad(
                    report,
                    format!("threat {} has no bounding polygon", t.id),
                ));
            }
            Ok(YoloBox {
                class,
                cx: (x1 + x2) * 0.5 / w,
                cy: (y1 + y2) * 0.5 / h,
                w: (x2 - x1) / w,
                h: (y2 - y1) / h,
            })
        })
        .collect()
}

/// Every image under `dir`, recursively (YOLO sets often split into `images/val/...`).
fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DatasetError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DatasetError::Io {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_images(&path, out)?;
        } else if is_image(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// YOLO's convention: the last `images` folder of the path becomes `labels`, the extension
/// `.txt`; with no `images` folder, the `.txt` beside the image.
pub fn label_path(image: &Path) -> PathBuf {
    sibling_path(image, "labels", "txt")
}

/// The file that goes with `image` in a data set: the last `images` folder of its path
/// replaced by `folder`, with `extension`; with no `images` folder, beside the image.
pub fn sibling_path(image: &Path, folder: &str, extension: &str) -> PathBuf {
    let components: Vec<_> = image.components().collect();
    let swap = components
        .iter()
        .rposition(|c| c.as_os_str() == "images")
        .filter(|&i| i + 1 < components.len());
    let mut path: PathBuf = components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if Some(i) == swap {
                std::ffi::OsStr::new(folder)
            } else {
                c.as_os_str()
            }
        })
        .collect();
    path.set_extension(extension);
    path
}

/// `class cx cy w h` a line, normalised to 0..1; blank lines are skipped.
pub fn parse_labels(path: &Path, text: &str) -> Result<Vec<YoloBox>, DatasetError> {
    let mut boxes = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let err = |reason: String| DatasetError::Label {
            path: path.to_path_buf(),
            line: n + 1,
            reason,
        };
        if fields.len() != 5 {
            return Err(err(format!(
                "expected `class cx cy w h`, found {} fields",
                fields.len()
            )));
        }
        let class = fields[0]
            .parse::<usize>()
            .map_err(|_| err(format!("class {:?} is not a class id", fields[0])))?;
        let mut v = [0f32; 4];
        for (slot, field) in v.iter_mut().zip(&fields[1..]) {
            *slot = field
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite() && (0.0..=1.0).contains(x))
                .ok_or_else(|| err(format!("{field:?} is not a number between 0 and 1")))?;
        }
        boxes.push(YoloBox {
            class,
            cx: v[0],
            cy: v[1],
            w: v[2],
            h: v[3],
        });
    }
    Ok(boxes)
}

/// What evaluation needs from a `data.yaml`.
struct DataYaml {
    image_dirs: Vec<PathBuf>,
    names: Option<Vec<String>>,
}

/// Reads the keys of a YOLO `data.yaml` that evaluation needs (`path`, the split, `names` as
/// a list or a map, inline or block). Not a general YAML parser: these files are flat.
fn read_data_yaml(path: &Path, split: &str) -> Result<DataYaml, DatasetError> {
    let text = read(path)?;
    let err = |reason: String| DatasetError::DataYaml {
        path: path.to_path_buf(),
        reason,
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut root = base.to_path_buf();
    let mut split_value = None;
    let mut names: Option<Vec<(usize, String)>> = None;
    let mut in_names = false;
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if indented && in_names {
            let item = line.trim();
            let list = names.get_or_insert_with(Vec::new);
            if let Some(name) = item.strip_prefix("- ") {
                list.push((list.len(), unquote(name)));
            } else if let Some((k, v)) = item.split_once(':') {
                let id = k
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("names key {k:?} is not a class id")))?;
                list.push((id, unquote(v)));
            }
            continue;
        }
        in_names = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "path" if !value.is_empty() => {
                let p = PathBuf::from(unquote(value));
                let p = if p.is_absolute() { p } else { base.join(p) };
                // A set that was moved or copied keeps a stale absolute `path`: its own
                // folder is then the root.
                if p.is_dir() {
                    root = p;
                }
            }
            "names" if value.is_empty() => in_names = true,
            "names" => names = Some(inline_names(value).map_err(err)?),
            k if k == split => split_value = Some(value.to_string()),
            _ => {}
        }
    }
    let split_value = split_value.ok_or_else(|| err(format!("no `{split}:` entry")))?;
    let image_dirs = list_values(&split_value)
        .into_iter()
        .map(|v| {
            let p = PathBuf::from(v);
            if p.is_absolute() { p } else { root.join(p) }
        })
        .collect();
    let names = names.map(|mut pairs| {
        pairs.sort_by_key(|(id, _)| *id);
        pairs.into_iter().map(|(_, n)| n).collect()
    });
    Ok(DataYaml { image_dirs, names })
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(['"', '\'']).to_string()
}

/// `[a, b]` or a single value.
fn list_values(value: &str) -> Vec<String> {
    match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(inner) => inner
            .split(',')
            .map(unquote)
            .filter(|s| !s.is_empty())
            .collect(),
        None => vec![unquote(value)],
    }
}

/// `[a, b]` or `{0: a, 1: b}`.
fn inline_names(value: &str) -> Result<Vec<(usize, String)>, String> {
    if let Some(inner) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
        inner
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|pair| {
                let (k, v) = pair
                    .split_once(':')
                    .ok_or_else(|| format!("names entry {pair:?} is not `id: name`"))?;
                let id = k
                    .trim()
                    .parse()
                    .map_err(|_| format!("names key {k:?} is not a class id"))?;
                Ok((id, unquote(v)))
            })
            .collect()
    } else {
        Ok(list_values(value).into_iter().enumerate().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_live_in_the_sibling_labels_folder() {
        assert_eq!(
            label_path(Path::new("/d/images/val/a.png")),
            PathBuf::from("/d/labels/val/a.txt")
        );
        assert_eq!(
            label_path(Path::new("/d/scans/a.jpg")),
            PathBuf::from("/d/scans/a.txt")
        );
    }

    #[test]
    fn label_lines_parse_and_refusals_name_the_line() {
        let p = Path::new("l.txt");
        let boxes = parse_labels(p, "0 0.5 0.5 0.2 0.1\n\n3 0.1 0.2 0.05 0.05\n").expect("ok");
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[1].class, 3);
        let err = parse_labels(p, "0 0.5 0.5 0.2 0.1\n1 0.5 1.5 0.2 0.1\n").unwrap_err();
        assert!(err.to_string().contains("l.txt:2"), "{err}");
        assert!(err.to_string().contains("\"1.5\""), "{err}");
        let err = parse_labels(p, "pistol 0.5 0.5 0.2 0.1").unwrap_err();
        assert!(err.to_string().contains("not a class id"), "{err}");
    }

    #[test]
    fn data_yaml_forms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |text: &str| {
            let p = dir.path().join("data.yaml");
            std::fs::write(&p, text).expect("write");
            p
        };
        std::fs::create_dir_all(dir.path().join("set")).expect("mkdir");
        let p = write(
            "path: set\ntrain: images/train\nval: images/val\nnames: {0: knife, 1: 'phone'}\n",
        );
        let d = read_data_yaml(&p, "val").expect("parses");
        assert_eq!(d.image_dirs, vec![dir.path().join("set/images/val")]);
        assert_eq!(d.names, Some(vec!["knife".into(), "phone".into()]));

        let p = write("path: /moved/away\nval: [a, b]\nnames:\n  1: phone\n  0: knife\n");
        let d = read_data_yaml(&p, "val").expect("parses");
        assert_eq!(
            d.image_dirs,
            vec![dir.path().join("a"), dir.path().join("b")]
        );
        assert_eq!(d.names, Some(vec!["knife".into(), "phone".into()]));

        let p = write("val: images\nnames:\n  - knife\n  - phone # comment\n");
        let d = read_data_yaml(&p, "val").expect("parses");
        assert_eq!(d.names, Some(vec!["knife".into(), "phone".into()]));
        assert!(read_data_yaml(&p, "test").is_err(), "no test split");
    }

    #[test]
    fn a_synth_style_folder_loads_with_benign_scans() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("images")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("labels")).expect("mkdir");
        std::fs::write(dir.path().join("classes.txt"), "firearm\nknife\n").expect("write");
        for (name, label) in [("a", "1 0.5 0.5 0.1 0.1\n"), ("b", "")] {
            std::fs::write(dir.path().join(format!("images/{name}.png")), b"x").expect("write");
            std::fs::write(dir.path().join(format!("labels/{name}.txt")), label).expect("write");
        }
        std::fs::write(dir.path().join("images/c.png"), b"x").expect("write");
        let set = load(dir.path(), "val").expect("loads");
        assert_eq!(
            set.class_names,
            Some(vec!["firearm".into(), "knife".into()])
        );
        assert_eq!(set.images.len(), 3);
        assert_eq!(set.images[0].truths.len(), 1);
        assert!(set.images[1].truths.is_empty() && set.images[1].has_label_file);
        assert!(!set.images[2].has_label_file);
    }
}
