//! The SQLite store with the domain's ledger over it: the review queue, verdicts, the risk
//! history and a reopened database.

use xray_customs::{
    declaration::{
        Assessment, Channel, Declaration, DeclarationState, DeclaredItem, DetectionVerdict, HsCode,
        ScanDecision, StoredDetection, StoredScan, TransportMode,
    },
    ledger,
    risk::{RiskPolicy, Taxonomies},
    store::{
        Assess, AuditQuery, FlaggedQuery, FlaggedScan, ImageAt, KeptImage, NewScan, Purged,
        Registration, RiskOutcome, Store, StoreError, VerdictRecord,
    },
};
use xray_types::{BoxXyxy, Category, Encoding, View};

use crate::SqliteStore;

/// The domain's writes, each in one transaction of the store.
trait Ledger {
    fn register(
        &self,
        d: &Declaration,
        at_ms: i64,
        assess: Assess<'_>,
    ) -> Result<Registration, StoreError>;
    fn record_scan(&self, scan: &NewScan, assess: Assess<'_>) -> Result<RiskOutcome, StoreError>;
    fn record_verdict(
        &self,
        verdict: &VerdictRecord,
        assess: Assess<'_>,
    ) -> Result<(RiskOutcome, u64), StoreError>;
}

impl Ledger for SqliteStore {
    fn register(
        &self,
        d: &Declaration,
        at_ms: i64,
        assess: Assess<'_>,
    ) -> Result<Registration, StoreError> {
        (self as &dyn Store).transaction(|uow| ledger::register(uow, d, at_ms, "risk-1", assess))
    }

    fn record_scan(&self, scan: &NewScan, assess: Assess<'_>) -> Result<RiskOutcome, StoreError> {
        (self as &dyn Store).transaction(|uow| ledger::record_scan(uow, scan, "gate-1", assess))
    }

    fn record_verdict(
        &self,
        verdict: &VerdictRecord,
        assess: Assess<'_>,
    ) -> Result<(RiskOutcome, u64), StoreError> {
        (self as &dyn Store).transaction(|uow| ledger::record_verdict(uow, verdict, assess))
    }
}

fn declaration(id: &str, prior: f64) -> Declaration {
    Declaration {
        id: id.into(),
        declarant: "ACME".into(),
        origin_country: "CN".into(),
        destination_country: "DE".into(),
        transport_mode: TransportMode::Post,
        items: vec![DeclaredItem {
            hs_code: HsCode::parse("6109").expect("hs"),
            description: "shirts".into(),
            quantity: 1.0,
            value: 2.0,
        }],
        prior_risk: prior,
    }
}

fn assess(s: &DeclarationState) -> Assessment {
    RiskPolicy::default().assess(&s.declaration, &s.scans, &Taxonomies::new())
}

fn scan(id: &str, declaration: &str, portal: &str, at: i64, class: Option<Category>) -> NewScan {
    let detections = class
        .map(|category| StoredDetection {
            id: 0,
            class_name: category.to_string(),
            category,
            confidence: 0.5,
            bbox: BoxXyxy {
                x1: 1.0,
                y1: 2.0,
                x2: 3.0,
                y2: 4.0,
            },
            alarm: true,
            verdict: None,
            verdict_by: String::new(),
        })
        .into_iter()
        .collect::<Vec<_>>();
    NewScan {
        scan: StoredScan {
            scan_id: id.into(),
            declaration_id: declaration.into(),
            portal_id: portal.into(),
            view: View::Single,
            model: "m".into(),
            model_version: "1".into(),
            width: 10,
            height: 10,
            alarm: !detections.is_empty(),
            received_ms: at,
            decision: None,
            detections,
            digest: "d1".into(),
        },
        image: Some(KeptImage {
            encoding: Some(Encoding::Png),
            channels: 0,
            size: 3,
            at: ImageAt::Blob(format!("{id:0>64}")),
        }),
    }
}

fn ids(found: &[FlaggedScan]) -> Vec<&str> {
    found.iter().map(|f| f.scan_id.as_str()).collect()
}

#[test]
fn the_review_queue_orders_filters_and_pages() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path()).expect("open");
    for (id, prior) in [("LOW", 0.1), ("HIGH", 0.5)] {
        store
            .register(&declaration(id, prior), 1, &assess)
            .expect("registered");
    }
    let rows = [
        ("a", "LOW", "p1", 100, Some(Category::UndeclaredGoods)),
        ("b", "LOW", "p2", 200, Some(Category::Weapon)),
        ("c", "HIGH", "p1", 150, Some(Category::Drugs)),
        ("d", "HIGH", "p2", 300, None),
    ];
    for (id, d, portal, at, class) in rows {
        store
            .record_scan(&scan(id, d, portal, at, class), &assess)
            .expect("stored");
    }
    let all = |q: FlaggedQuery| {
        store
            .flagged(&FlaggedQuery { limit: 10, ..q })
            .expect("listed")
    };
    // Both declarations are RED (weapon, drugs); HIGH scores higher; then newest first.
    assert_eq!(ids(&all(FlaggedQuery::default())), ["c", "b", "a"]);
    assert_eq!(
        ids(&all(FlaggedQuery {
            portal_id: Some("p1".into()),
            ..Default::default()
        })),
        ["c", "a"]
    );
    assert_eq!(
        ids(&all(FlaggedQuery {
            category: Some(Category::Weapon),
            ..Default::default()
        })),
        ["b"]
    );
    assert_eq!(
        ids(&all(FlaggedQuery {
            from_ms: Some(150),
            to_ms: Some(250),
            ..Default::default()
        })),
        ["c", "b"]
    );
    assert_eq!(
        ids(&all(FlaggedQuery {
            channel: Some(Channel::Green),
            ..Default::default()
        })),
        Vec::<&str>::new()
    );
    let page = store
        .flagged(&FlaggedQuery {
            offset: 1,
            limit: 1,
            ..Default::default()
        })
        .expect("page");
    assert_eq!(ids(&page), ["b"]);

    // A decision takes the scan out of the default queue (a and b share LOW's score, so
    // the newer b comes first when decided scans are listed); verdicts feed the accuracy.
    let verdict = VerdictRecord {
        scan_id: "b".into(),
        detections: vec![(0, DetectionVerdict::FalseAlarm)],
        decision: Some(ScanDecision::Cleared),
        inspector_id: "insp".into(),
        comment: String::new(),
        at_ms: 400,
    };
    let (outcome, audit_seq) = store.record_verdict(&verdict, &assess).expect("verdict");
    // LOW keeps only a's goods: 1 - 0.9 x (1 - 0.35 x 0.5) = 0.2575, under YELLOW's 0.3.
    assert_eq!(outcome.state.risk.assessment.channel, Channel::Green);
    assert!((outcome.state.risk.assessment.score - 0.2575).abs() < 1e-9);
    assert_eq!(ids(&all(FlaggedQuery::default())), ["c", "a"]);
    assert_eq!(
        ids(&all(FlaggedQuery {
            include_decided: true,
            ..Default::default()
        })),
        ["c", "b", "a"]
    );
    let accuracy = store.accuracy(Some("m")).expect("accuracy");
    assert_eq!(accuracy.len(), 1);
    assert_eq!((accuracy[0].confirmed, accuracy[0].false_alarms), (0, 1));
    let audit = store
        .audit(&AuditQuery {
            scan_id: Some("b".into()),
            after: 0,
            limit: 10,
            ..Default::default()
        })
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.sequence == audit_seq && e.action == "verdict" && e.actor == "insp")
    );
    // Each entry names the principal that made it.
    assert!(
        audit
            .iter()
            .any(|e| e.action == "scan.stored" && e.actor == "gate-1"),
        "{audit:?}"
    );

    // Risk history in order, numbered from 1; images go after their retention.
    let changes = store.risk_changes_after(0, 100).expect("changes");
    let sequences: Vec<u64> = changes.iter().map(|c| c.sequence).collect();
    assert_eq!(sequences, (1..=changes.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        store.last_risk_sequence().expect("last"),
        changes.len() as u64
    );
    assert_eq!(store.purge_images(160).expect("purged").scans, 2);
    assert!(store.scan_image("a").expect("read").is_none());
    assert!(store.scan_image("b").expect("read").is_some());
}

#[test]
fn a_reopened_store_has_everything_and_refuses_a_taken_scan_id() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let store = SqliteStore::open(dir.path()).expect("open");
        store
            .register(&declaration("D", 0.2), 1, &assess)
            .expect("registered");
        store
            .record_scan(&scan("s", "D", "p", 5, Some(Category::Weapon)), &assess)
            .expect("stored");
    }
    let store = SqliteStore::open(dir.path()).expect("reopen");
    let state = store.declaration("D").expect("read").expect("there");
    assert_eq!(state.declaration, declaration("D", 0.2));
    assert_eq!(state.scans.len(), 1);
    assert_eq!(state.risk.assessment.channel, Channel::Red);
    assert!(matches!(
        store.record_scan(&scan("s", "D", "p", 6, None), &assess),
        Err(StoreError::DuplicateScan { .. })
    ));
    assert!(matches!(
        store.record_scan(&scan("t", "NOPE", "p", 6, None), &assess),
        Err(StoreError::UnknownDeclaration(_))
    ));
    match store
        .register(&declaration("D", 0.2), 9, &assess)
        .expect("again")
    {
        Registration::Existing(s) => assert_eq!(s.registered_ms, 1),
        Registration::New { .. } => panic!("registered twice"),
    }
}

#[test]
fn a_unit_of_work_that_fails_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path()).expect("open");
    store
        .register(&declaration("D", 0.2), 1, &assess)
        .expect("registered");
    let before = store.last_risk_sequence().expect("last");
    // The scan, its audit entry and the risk change are written, then the work fails.
    let failed: Result<(), StoreError> = (&store as &dyn Store).transaction(|uow| {
        ledger::record_scan(
            uow,
            &scan("s", "D", "p", 5, Some(Category::Weapon)),
            "gate-1",
            &assess,
        )?;
        Err(StoreError::Database("the caller changed its mind".into()))
    });
    assert!(matches!(failed, Err(StoreError::Database(m)) if m.contains("changed its mind")));
    assert!(store.scan("s").expect("read").is_none());
    assert_eq!(store.last_risk_sequence().expect("last"), before);
    let state = store.declaration("D").expect("read").expect("there");
    assert!(state.scans.is_empty());
    assert_eq!(state.risk.assessment.channel, Channel::Green);
    let audit = store
        .audit(&AuditQuery {
            after: 0,
            limit: 100,
            ..Default::default()
        })
        .expect("audit");
    assert!(audit.iter().all(|e| e.action == "declaration.registered"));
    // The same scan in a transaction that commits is kept.
    store
        .record_scan(&scan("s", "D", "p", 5, Some(Category::Weapon)), &assess)
        .expect("stored");
    assert!(store.scan("s").expect("read").is_some());
}

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
fn images_kept_before_blob_keys_stay_readable_and_purge_answers_unreferenced_blobs() {
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
    // Two new scans with the same bytes share one blob; a third has its own.
    let with_blob = |id: &str, at: i64, key: &str| {
        let mut s = scan(id, "D", "p", at, None);
        s.image = Some(KeptImage {
            encoding: None,
            channels: 0,
            size: 7,
            at: ImageAt::Blob(key.into()),
        });
        s
    };
    let (shared, own) = ("a".repeat(64), "b".repeat(64));
    for (id, at, key) in [("x", 10, &shared), ("y", 30, &shared), ("z", 10, &own)] {
        store
            .record_scan(&with_blob(id, at, key), &assess)
            .expect("stored");
    }
    assert_eq!(
        store.scan_image("x").expect("read").map(|i| (i.size, i.at)),
        Some((7, ImageAt::Blob(shared.clone())))
    );
    let asked = [shared.clone(), own.clone(), "c".repeat(64)];
    assert_eq!(
        store.referenced_images(&asked).expect("referenced"),
        [shared.clone(), own.clone()].into_iter().collect()
    );
    // Before 20: the inline image, x's and z's; the shared blob is still y's.
    let purged = store.purge_images(20).expect("purged");
    assert_eq!(purged.scans, 3);
    assert_eq!(purged.unreferenced, vec![own.clone()]);
    assert!(store.scan_image("old").expect("read").is_none());
    assert!(store.scan_image("y").expect("read").is_some());
    let purged = store.purge_images(40).expect("purged");
    assert_eq!((purged.scans, purged.unreferenced), (1, vec![shared]));
    assert_eq!(store.purge_images(40).expect("again"), Purged::default());
}
