//! The small vocabulary every layer of xray-screen shares: what a class means for customs
//! ([`Category`]), a box in an image's pixels ([`BoxXyxy`]), how a scan's bytes are encoded
//! ([`Encoding`]), how urgent a scan is ([`Priority`]) and which view of the object it is
//! ([`View`]). It depends on nothing of the service's own.

mod category;
mod encoding;
mod geometry;
mod priority;
mod view;

pub use category::Category;
pub use encoding::{Encoding, magic_hex};
pub use geometry::BoxXyxy;
pub use priority::Priority;
pub use view::View;
