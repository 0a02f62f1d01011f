//! The store's test suite (xray-store-conformance) on SQLite: each test a database file of
//! its own, reopened in the same folder.

use xray_customs::store::Store;
use xray_store_sqlite::SqliteStore;

fn sqlite() -> impl Fn() -> Box<dyn Store> {
    let dir = tempfile::tempdir().expect("tmp");
    move || Box::new(SqliteStore::open(dir.path()).expect("open")) as Box<dyn Store>
}

xray_store_conformance::conformance_tests!(sqlite());
