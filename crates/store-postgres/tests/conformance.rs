//! The store's test suite (xray-store-conformance) on PostgreSQL: each test a database of
//! its own on the test cluster (XRAY_TEST_DATABASE_URL, or a private one started here).

use xray_customs::store::Store;
use xray_store_conformance::TestCluster;
use xray_store_postgres::{PgSettings, PgStore};

fn postgres() -> impl Fn() -> Box<dyn Store> {
    let url = TestCluster::shared().database();
    move || {
        Box::new(PgStore::connect(&url, PgSettings::default()).expect("connect")) as Box<dyn Store>
    }
}

xray_store_conformance::conformance_tests!(postgres());
