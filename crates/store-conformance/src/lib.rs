//! The store's test suite, the same assertions for every storage engine ([`checks`], run by
//! each store crate's tests through [`conformance_tests!`]), and [`TestCluster`]: the
//! PostgreSQL server the tests use (the store crates' and the end-to-end tests under
//! `tests/`). Only tests depend on this crate.

pub mod checks;
mod cluster;

pub use cluster::TestCluster;

/// Opens a store on the same storage each time it is called: a second call is the same
/// database reopened (by a restarted process, or by another node).
pub type Open<'a> = &'a dyn Fn() -> Box<dyn xray_customs::store::Store>;

/// One `#[test]` per check of [`checks`], each with the storage `$open` makes (an expression
/// giving a fresh `Fn() -> Box<dyn Store>` per test).
#[macro_export]
macro_rules! conformance_tests {
    ($open:expr) => {
        $crate::conformance_tests!(@each $open;
            the_review_queue_orders_filters_and_pages,
            a_reopened_store_has_everything_and_refuses_a_taken_scan_id,
            a_unit_of_work_that_fails_leaves_nothing_behind,
            purge_answers_the_blobs_no_scan_refers_to,
            principals_are_added_revoked_and_given_passwords,
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let open = $open;
                $crate::checks::$check(&open);
            }
        )*
    };
}
