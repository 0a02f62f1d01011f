//! The scans a load run sends: read from a folder, or generated.

use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;
use image::{ImageBuffer, ImageFormat, Rgb};

/// One encoded scan to send.
#[derive(Debug, Clone)]
pub struct LoadImage {
    pub name: String,
    pub bytes: Bytes,
}

/// Every PNG, JPEG and TIFF file in `dir`, by name.
pub fn from_folder(dir: &Path) -> anyhow::Result<Vec<LoadImage>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read {} (pass --images DIR, e.g. data/synth-val/images, or --generate 1024x768)",
            dir.display()
        )
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg" | "tif" | "tiff"
                )
            })
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!(
            "no PNG, JPEG or TIFF scans in {} (pass --images DIR or --generate WIDTHxHEIGHT)",
            dir.display()
        );
    }
    paths
        .into_iter()
        .map(|path| {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(LoadImage {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                bytes: bytes.into(),
            })
        })
        .collect()
}

/// `count` different pseudo-colour PNG scans of `width` x `height`: an orange-blue gradient
/// with a few dense blocks, so that they compress like scans rather than like noise.
pub fn generated(width: u32, height: u32, count: usize) -> anyhow::Result<Vec<LoadImage>> {
    (0..count)
        .map(|i| {
            let seed = i as u32 * 97 + 13;
            let image = ImageBuffer::from_fn(width, height, |x, y| {
                let block = ((x / 64 + seed) * (y / 48 + 7)) % 11 == 0;
                let t = (x * 255 / width.max(1)) as u8;
                if block {
                    Rgb([30, 60, 160u8.saturating_add((seed % 50) as u8)])
                } else {
                    Rgb([
                        230 - t / 3,
                        150u8.saturating_sub(t / 4),
                        (y % 97) as u8 + 60,
                    ])
                }
            });
            let mut out = std::io::Cursor::new(Vec::new());
            image
                .write_to(&mut out, ImageFormat::Png)
                .context("cannot encode a generated scan")?;
            Ok(LoadImage {
                name: format!("generated-{i}.png"),
                bytes: out.into_inner().into(),
            })
        })
        .collect()
}
