//! Drawing detections onto a scan, coloured by category and labelled, for a person to check
//! a model by eye (`inspect --draw`).

use font8x8::{BASIC_FONTS, UnicodeFonts};
use image::{Rgb, RgbImage};

use crate::{detect::Detection, imaging::DecodedScan};
use xray_types::Category;

/// The colour of a category's boxes and labels.
pub fn category_colour(category: Category) -> Rgb<u8> {
    match category {
        Category::Weapon => Rgb([230, 20, 20]),
        Category::Drugs => Rgb([200, 0, 200]),
        Category::UndeclaredGoods => Rgb([240, 170, 0]),
        Category::Other => Rgb([110, 110, 110]),
    }
}

/// The scan with each detection's box and a "class 0.87" label drawn on it.
pub fn draw_detections(scan: &DecodedScan, detections: &[Detection]) -> Option<RgbImage> {
    let mut image = RgbImage::from_raw(scan.width, scan.height, scan.rgb.clone())?;
    let short_side = scan.width.min(scan.height);
    let thickness = (short_side / 300).max(2);
    let text_scale = (short_side / 500).max(1);
    for d in detections {
        let colour = category_colour(d.category);
        let (x1, y1) = (d.bbox.x1.floor() as i64, d.bbox.y1.floor() as i64);
        let (x2, y2) = (d.bbox.x2.ceil() as i64, d.bbox.y2.ceil() as i64);
        for t in 0..thickness as i64 {
            outline(&mut image, x1 - t, y1 - t, x2 + t, y2 + t, colour);
        }
        let label = format!("{} {:.2}", d.class_name, d.confidence);
        let label_h = 8 * text_scale as i64 + 4;
        // Above the box when there is room, inside it otherwise.
        let top = if y1 - label_h >= 0 { y1 - label_h } else { y1 };
        let label_w = label.chars().count() as i64 * 8 * text_scale as i64 + 4;
        fill(&mut image, x1, top, x1 + label_w, top + label_h, colour);
        text(
            &mut image,
            x1 + 2,
            top + 2,
            &label,
            text_scale as i64,
            Rgb([255, 255, 255]),
        );
    }
    Some(image)
}

fn put(image: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < image.width() && (y as u32) < image.height() {
        image.put_pixel(x as u32, y as u32, colour);
    }
}

fn outline(image: &mut RgbImage, x1: i64, y1: i64, x2: i64, y2: i64, colour: Rgb<u8>) {
    for x in x1..=x2 {
        put(image, x, y1, colour);
        put(image, x, y2, colour);
    }
    for y in y1..=y2 {
        put(image, x1, y, colour);
        put(image, x2, y, colour);
    }
}

fn fill(image: &mut RgbImage, x1: i64, y1: i64, x2: i64, y2: i64, colour: Rgb<u8>) {
    for y in y1..y2 {
        for x in x1..x2 {
            put(image, x, y, colour);
        }
    }
}

fn text(image: &mut RgbImage, x: i64, y: i64, s: &str, scale: i64, colour: Rgb<u8>) {
    for (i, ch) in s.chars().enumerate() {
        let Some(glyph) = BASIC_FONTS.get(ch).or_else(|| BASIC_FONTS.get('?')) else {
            continue;
        };
        let gx = x + i as i64 * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    fill(
                        image,
                        gx + col * scale,
                        y + row as i64 * scale,
                        gx + (col + 1) * scale,
                        y + (row as i64 + 1) * scale,
                        colour,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::ScanSource;
    use xray_types::BoxXyxy;

    #[test]
    fn box_is_drawn_in_the_category_colour() {
        let scan = DecodedScan {
            width: 100,
            height: 80,
            rgb: vec![255; 100 * 80 * 3],
            source: ScanSource::Rgb8,
        };
        let d = Detection {
            class_id: 0,
            class_name: "pistol".into(),
            category: Category::Weapon,
            confidence: 0.9,
            bbox: BoxXyxy {
                x1: 30.0,
                y1: 40.0,
                x2: 70.0,
                y2: 70.0,
            },
            alarm: true,
        };
        let img = draw_detections(&scan, &[d]).expect("sizes match");
        assert_eq!(
            *img.get_pixel(50, 70),
            category_colour(Category::Weapon),
            "bottom edge"
        );
        assert_eq!(
            *img.get_pixel(70, 55),
            category_colour(Category::Weapon),
            "right edge"
        );
        assert_eq!(
            *img.get_pixel(50, 55),
            Rgb([255, 255, 255]),
            "inside untouched"
        );
    }
}
