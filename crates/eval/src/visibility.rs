//! Splitting recall by how plainly each object shows, from the visibility `synth` writes into
//! its annotations (`annotations/<id>.json`, or `<id>.json` beside the image).
//!
//! Screening data sets split their test objects into easy, hard and hidden ones; here the
//! split is the generator's signal-to-clutter ratio: the object's own attenuation over the
//! standard deviation of everything else over its pixels. It tells a class the model is weak
//! at from a class drawn too faint to find. Sets without annotations are evaluated as ever.

use std::path::{Path, PathBuf};

use super::dataset::{YoloBox, sibling_path};

/// Signal to clutter at or over which an object counts as plain.
pub const PLAIN_FROM: f32 = 1.0;
/// Signal to clutter under which an object counts as hidden.
pub const HIDDEN_UNDER: f32 = 0.4;

/// How plainly an object shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Darkens the image more than the background varies (signal to clutter >= 1).
    Plain,
    /// Darkens it by 0.4 to 1 times the background's variation.
    Faint,
    /// Under 0.4 times: lost in the clutter to a plain look.
    Hidden,
}

impl Band {
    pub const ALL: [Band; 3] = [Band::Plain, Band::Faint, Band::Hidden];

    pub fn of(signal_to_clutter: f32) -> Band {
        if signal_to_clutter >= PLAIN_FROM {
            Band::Plain
        } else if signal_to_clutter >= HIDDEN_UNDER {
            Band::Faint
        } else {
            Band::Hidden
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Band::Plain => "plain",
            Band::Faint => "faint",
            Band::Hidden => "hidden",
        }
    }
}

/// Where `synth` put an image's annotation: `annotations/` in place of the last `images/`,
/// or beside the image; the first that exists.
fn annotation_path(image: &Path) -> Option<PathBuf> {
    [
        sibling_path(image, "annotations", "json"),
        image.with_extension("json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Each truth's band, in label order, when the image has a `synth` annotation that lists the
/// same objects (same count, same class ids in the same order) with their visibility. Anything
/// else (no annotation, another tool's JSON, a mismatch) gives None: the bands are left out
/// for that image, never guessed.
pub fn bands_for(image: &Path, truths: &[YoloBox]) -> Option<Vec<Band>> {
    let text = std::fs::read_to_string(annotation_path(image)?).ok()?;
    parse_bands(&text, truths)
}

fn parse_bands(text: &str, truths: &[YoloBox]) -> Option<Vec<Band>> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let objects = json.get("objects")?.as_array()?;
    if objects.len() != truths.len() {
        return None;
    }
    objects
        .iter()
        .zip(truths)
        .map(|(o, t)| {
            let class = o.get("class_id")?.as_u64()?;
            let ratio = o.get("visibility")?.get("signal_to_clutter")?.as_f64()?;
            (class == t.class as u64 && ratio.is_finite()).then(|| Band::of(ratio as f32))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(class: usize) -> YoloBox {
        YoloBox {
            class,
            cx: 0.5,
            cy: 0.5,
            w: 0.1,
            h: 0.1,
        }
    }

    #[test]
    fn bands_split_at_the_documented_ratios() {
        assert_eq!(Band::of(3.0), Band::Plain);
        assert_eq!(Band::of(1.0), Band::Plain);
        assert_eq!(Band::of(0.99), Band::Faint);
        assert_eq!(Band::of(0.4), Band::Faint);
        assert_eq!(Band::of(0.39), Band::Hidden);
    }

    #[test]
    fn an_annotation_gives_bands_only_when_it_lists_the_same_objects() {
        let text = r#"{"objects": [
            {"class_id": 3, "visibility": {"signal_to_clutter": 2.3}},
            {"class_id": 4, "visibility": {"signal_to_clutter": 0.2}}]}"#;
        assert_eq!(
            parse_bands(text, &[truth(3), truth(4)]),
            Some(vec![Band::Plain, Band::Hidden])
        );
        // Another order, another count, no visibility, not JSON: no bands.
        assert_eq!(parse_bands(text, &[truth(4), truth(3)]), None);
        assert_eq!(parse_bands(text, &[truth(3)]), None);
        assert_eq!(
            parse_bands(r#"{"objects": [{"class_id": 3}]}"#, &[truth(3)]),
            None
        );
        assert_eq!(parse_bands("not json", &[]), None);
    }

    #[test]
    fn annotations_are_found_where_synth_writes_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).expect("images");
        std::fs::create_dir_all(dir.path().join("annotations")).expect("annotations");
        let image = images.join("s1_000000.png");
        assert_eq!(annotation_path(&image), None);
        let json = dir.path().join("annotations/s1_000000.json");
        std::fs::write(&json, "{}").expect("write");
        assert_eq!(annotation_path(&image), Some(json));
        // A flat folder (test-images/): the JSON beside the image.
        let flat = dir.path().join("s2_000000.png");
        let beside = dir.path().join("s2_000000.json");
        std::fs::write(&beside, "{}").expect("write");
        assert_eq!(annotation_path(&flat), Some(beside));
    }
}
