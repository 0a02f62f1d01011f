//! Which view of the scanned object an image is (multi-view scanners send a top and a side
//! image of the same bag).

/// The view a scan shows; mirrors `xray.v1.View`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum View {
    /// The scanner did not say.
    #[default]
    Unspecified,
    /// A single-view scanner's only image.
    Single,
    Top,
    Side,
}

impl View {
    /// Every view, for the store's codes and the wire's.
    pub const ALL: [View; 4] = [View::Unspecified, View::Single, View::Top, View::Side];
}
