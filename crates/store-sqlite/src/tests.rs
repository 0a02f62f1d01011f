//! What only the SQLite store has: its on-disk codes, and images kept in the database by
//! versions before blob keys. Everything every engine must do is in xray-store-conformance
//! (tests/conformance.rs).

use xray_customs::store::{ImageAt, KeptImage, Store};
use xray_store_conformance::checks::{assess, record_scan, scan};
use xray_types::{Encoding, View};

use crate::SqliteStore;

#[test]
fn views_and_encodings_keep_their_codes_on_disk() {
    use crate::codec::{encoding_code, parse_encoding, parse_view, view_code};
    for (view, code) in [
        (View::Unspecified, 0),
        (View::Single, 1),
        (View::Top, 2),
        (View::Side, 3),
    ] {
        assert_eq!(view_code(view), code);
        assert_eq!(parse_view(code).expect("known"), view);
    }
    for (encoding, code) in [
        (None, 0),
        (Some(Encoding::Png), 1),
        (Some(Encoding::Jpeg), 2),
        (Some(Encoding::Tiff), 3),
        (Some(Encoding::RawU16), 4),
    ] {
        assert_eq!(encoding_code(encoding), code);
        assert_eq!(parse_encoding(code).expect("known"), encoding);
    }
    assert!(parse_view(9).is_err());
    assert!(parse_encoding(-1).is_err());
}

#[test]
fn images_kept_before_blob_keys_stay_readable_and_are_purged() {
    let dir = tempfile::tempdir().expect("tmp");
    // A database as version 4 left it: one scan whose image bytes are in the database.
    {
        let mut conn =
            rusqlite::Connection::open(dir.path().join(crate::DATABASE_FILE)).expect("db");
        crate::schema::migrate_to(&mut conn, 4).expect("version 4");
        conn.execute_batch(
            "INSERT INTO declarations VALUES ('D', 'ACME', 'CN', 'DE', 'post', 0.2, 1, 0.2, 'green',
                '{\"score\":0.2,\"channel\":\"green\",\"reasons\":[],\"findings\":[]}', 0, 1);
             INSERT INTO scans (uid, scan_id, declaration_id, portal_id, view, model, model_version,
                width, height, alarm, received_ms, decision, categories, digest)
                VALUES (1, 'old', 'D', 'p', 1, 'm', '1', 10, 10, 0, 5, NULL, ',', 'd0');
             INSERT INTO scan_images (scan_uid, encoding, channels, bytes) VALUES (1, 1, 0, x'0102');",
        )
        .expect("version 4 rows");
    }
    let store = SqliteStore::open(dir.path()).expect("migrated");
    assert_eq!(
        store.scan_image("old").expect("read"),
        Some(KeptImage {
            encoding: Some(Encoding::Png),
            channels: 0,
            size: 2,
            at: ImageAt::Inline(vec![1, 2]),
        })
    );
    // A new scan names its blob; the declaration read from version 4's rows takes it.
    record_scan(&store, &scan("new", "D", "p", 30, None), &assess).expect("stored");
    assert_eq!(
        store.scan_image("new").expect("read").map(|i| i.at),
        Some(ImageAt::Blob(format!("{:0>64}", "new")))
    );
    // Inline bytes are purged with the rest; they name no blob.
    let purged = store.purge_images(20).expect("purged");
    assert_eq!(
        (purged.scans, purged.unreferenced),
        (1, Vec::<String>::new())
    );
    assert!(store.scan_image("old").expect("read").is_none());
    assert!(store.scan_image("new").expect("read").is_some());
}
