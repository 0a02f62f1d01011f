//! Any bytes as a scan's image, in any declared encoding: the header cost estimate and the
//! decoder answer a scan or a clear error, and never panic, hang or allocate past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_engine::imaging::{
    ImageLimits, Palette, PaletteName, RawLayout, decode_checked, decode_cost, decode_scan,
};
use xray_types::Encoding;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let declared = match selector % 6 {
        0 => None,
        1 => Some(Encoding::Png),
        2 => Some(Encoding::Jpeg),
        3 => Some(Encoding::Tiff),
        4 => Some(Encoding::Dicos),
        _ => Some(Encoding::RawU16),
    };
    // Raw data takes its geometry from the next three bytes.
    let (raw, image) = match (declared, rest) {
        (Some(Encoding::RawU16), [w, h, c, image @ ..]) => (
            Some(RawLayout {
                width: u32::from(*w),
                height: u32::from(*h),
                channels: u32::from(*c % 4),
            }),
            image,
        ),
        _ => (None, rest),
    };
    // Small limits keep each run fast; the checks are the same at any size.
    let limits = ImageLimits {
        max_bytes: 1 << 20,
        max_pixels: 1 << 20,
        min_side: 1,
    };
    let palette = Palette::new(PaletteName::Classic);
    let cost = decode_cost(image, declared, raw, &limits);
    let decoded = decode_scan(image, declared, raw, &limits, &palette);
    // The pipeline's path (checked once, then decoded) gives what decode_scan gives.
    if let Ok(cost) = &cost {
        let checked = decode_checked(image, cost, raw, &limits, &palette);
        match (&checked, &decoded) {
            (Ok(a), Ok(b)) => assert_eq!(a.rgb, b.rgb),
            (Err(_), Err(_)) => {}
            _ => panic!("decode_checked and decode_scan disagree"),
        }
    }
    if let Ok(scan) = decoded {
        assert_eq!(scan.rgb.len(), scan.width as usize * scan.height as usize * 3);
        assert!(u64::from(scan.width) * u64::from(scan.height) <= limits.max_pixels);
        // What decoded was admitted by its cost first.
        assert!(cost.is_ok(), "decoded but its cost was refused: {cost:?}");
    }
});
