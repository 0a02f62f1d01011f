//! The store's checks, each a `pub fn` over an [`Open`] so that every storage engine runs the
//! same assertions (see [`conformance_tests!`](crate::conformance_tests)).

use xray_customs::{
    declaration::{
        Assessment, Channel, Declaration, DeclarationState, DeclaredItem, DetectionVerdict, HsCode,
        ScanDecision, StoredDetection, StoredScan, TransportMode,
    },
    ledger,
    principal::{Principal, Role},
    risk::{RiskPolicy, Taxonomies},
    store::{
        Assess, AuditQuery, FlaggedQuery, FlaggedScan, ImageAt, KeptImage, NewScan, Purged,
        Registration, RiskOutcome, Store, StoreError, VerdictRecord,
    },
};
use xray_types::{BoxXyxy, Category, Encoding, View};

use crate::Open;

/// Registers a declaration in one transaction, as the risk system's principal.
pub fn register(
    store: &dyn Store,
    d: &Declaration,
    at_ms: i64,
    assess: Assess<'_>,
) -> Result<Registration, StoreError> {
    store.transaction(|uow| ledger::register(uow, d, at_ms, "risk-1", assess))
}

/// Stores a scan in one transaction, as a scanner's principal.
pub fn record_scan(
    store: &dyn Store,
    scan: &NewScan,
    assess: Assess<'_>,
) -> Result<RiskOutcome, StoreError> {
    store.transaction(|uow| ledger::record_scan(uow, scan, "gate-1", assess))
}

/// Records a verdict in one transaction.
pub fn record_verdict(
    store: &dyn Store,
    verdict: &VerdictRecord,
    assess: Assess<'_>,
) -> Result<(RiskOutcome, u64), StoreError> {
    store.transaction(|uow| ledger::record_verdict(uow, verdict, assess))
}

/// A blob key for tests (64 hex digits).
pub fn key(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

pub fn declaration(id: &str, prior: f64) -> Declaration {
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

pub fn assess(s: &DeclarationState) -> Assessment {
    RiskPolicy::default().assess(&s.declaration, &s.scans, &Taxonomies::new())
}

pub fn scan(
    id: &str,
    declaration: &str,
    portal: &str,
    at: i64,
    class: Option<Category>,
) -> NewScan {
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

/// The review queue's order, filters and pages; verdicts, accuracy, audit, risk history.
pub fn the_review_queue_orders_filters_and_pages(open: Open<'_>) {
    let store = open();
    let store = store.as_ref();
    for (id, prior) in [("LOW", 0.1), ("HIGH", 0.5)] {
        register(store, &declaration(id, prior), 1, &assess).expect("registered");
    }
    let rows = [
        ("a", "LOW", "p1", 100, Some(Category::UndeclaredGoods)),
        ("b", "LOW", "p2", 200, Some(Category::Weapon)),
        ("c", "HIGH", "p1", 150, Some(Category::Drugs)),
        ("d", "HIGH", "p2", 300, None),
    ];
    for (id, d, portal, at, class) in rows {
        record_scan(store, &scan(id, d, portal, at, class), &assess).expect("stored");
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
    let (outcome, audit_seq) = record_verdict(store, &verdict, &assess).expect("verdict");
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

/// What was committed is there when the store is opened again; a taken scan id is refused.
pub fn a_reopened_store_has_everything_and_refuses_a_taken_scan_id(open: Open<'_>) {
    {
        let store = open();
        let store = store.as_ref();
        register(store, &declaration("D", 0.2), 1, &assess).expect("registered");
        record_scan(
            store,
            &scan("s", "D", "p", 5, Some(Category::Weapon)),
            &assess,
        )
        .expect("stored");
    }
    let store = open();
    let store = store.as_ref();
    let state = store.declaration("D").expect("read").expect("there");
    assert_eq!(state.declaration, declaration("D", 0.2));
    assert_eq!(state.scans.len(), 1);
    assert_eq!(state.risk.assessment.channel, Channel::Red);
    assert!(matches!(
        record_scan(store, &scan("s", "D", "p", 6, None), &assess),
        Err(StoreError::DuplicateScan { .. })
    ));
    assert!(matches!(
        record_scan(store, &scan("t", "NOPE", "p", 6, None), &assess),
        Err(StoreError::UnknownDeclaration(_))
    ));
    match register(store, &declaration("D", 0.2), 9, &assess).expect("again") {
        Registration::Existing(s) => assert_eq!(s.registered_ms, 1),
        Registration::New { .. } => panic!("registered twice"),
    }
}

/// A unit of work that fails after writing leaves nothing behind.
pub fn a_unit_of_work_that_fails_leaves_nothing_behind(open: Open<'_>) {
    let store = open();
    let store = store.as_ref();
    register(store, &declaration("D", 0.2), 1, &assess).expect("registered");
    let before = store.last_risk_sequence().expect("last");
    // The scan, its audit entry and the risk change are written, then the work fails.
    let failed: Result<(), StoreError> = store.transaction(|uow| {
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
    record_scan(
        store,
        &scan("s", "D", "p", 5, Some(Category::Weapon)),
        &assess,
    )
    .expect("stored");
    assert!(store.scan("s").expect("read").is_some());
}

/// Purging answers how many scans lost their image and the blobs no scan names any more
/// (two scans with the same bytes share one blob).
pub fn purge_answers_the_blobs_no_scan_refers_to(open: Open<'_>) {
    let store = open();
    let store = store.as_ref();
    register(store, &declaration("D", 0.2), 1, &assess).expect("registered");
    let with_blob = |id: &str, at: i64, key: &str| {
        let mut s = scan(id, "D", "p", at, None);
        s.image = Some(KeptImage {
            encoding: Some(Encoding::Jpeg),
            channels: 0,
            size: 7,
            at: ImageAt::Blob(key.into()),
        });
        s
    };
    let (shared, own) = (key('a'), key('b'));
    for (id, at, k) in [("x", 10, &shared), ("y", 30, &shared), ("z", 10, &own)] {
        record_scan(store, &with_blob(id, at, k), &assess).expect("stored");
    }
    let mut without = scan("w", "D", "p", 10, None);
    without.image = None;
    record_scan(store, &without, &assess).expect("stored");
    assert_eq!(
        store.scan_image("x").expect("read"),
        Some(KeptImage {
            encoding: Some(Encoding::Jpeg),
            channels: 0,
            size: 7,
            at: ImageAt::Blob(shared.clone()),
        })
    );
    assert_eq!(store.scan_image("w").expect("read"), None);
    assert_eq!(store.scan_image("nope").expect("read"), None);
    assert_eq!(
        store
            .referenced_images(&[shared.clone(), own.clone(), key('c')])
            .expect("referenced"),
        [shared.clone(), own.clone()].into_iter().collect()
    );
    assert!(store.referenced_images(&[]).expect("none").is_empty());
    // Before 20: x's and z's; the shared blob is still y's.
    let purged = store.purge_images(20).expect("purged");
    assert_eq!(purged.scans, 2);
    assert_eq!(purged.unreferenced, vec![own.clone()]);
    assert!(store.scan_image("x").expect("read").is_none());
    assert!(store.scan_image("y").expect("read").is_some());
    let purged = store.purge_images(40).expect("purged");
    assert_eq!((purged.scans, purged.unreferenced), (1, vec![shared]));
    assert_eq!(store.purge_images(40).expect("again"), Purged::default());
    // The scans themselves stay.
    assert!(store.scan("x").expect("read").is_some());
}

/// Principals: added once (a second of the same name is refused), found by token and name,
/// given a password, revoked; each change in the audit log.
pub fn principals_are_added_revoked_and_given_passwords(open: Open<'_>) {
    let store = open();
    let store = store.as_ref();
    let principal = Principal {
        name: "insp-1".into(),
        roles: vec![Role::Inspector],
        portals: vec!["p1".into()],
        created_ms: 5,
        expires_ms: Some(99),
        revoked_ms: None,
    };
    store
        .transaction(|uow| ledger::add_principal(uow, &principal, &key('1'), "admin"))
        .expect("added");
    assert!(matches!(
        store.transaction(|uow| ledger::add_principal(uow, &principal, &key('2'), "admin")),
        Err(StoreError::DuplicatePrincipal(n)) if n == "insp-1"
    ));
    assert_eq!(
        store.principal_by_token(&key('1')).expect("read"),
        Some(principal.clone())
    );
    assert_eq!(store.principal_by_token(&key('2')).expect("read"), None);
    assert_eq!(store.principals().expect("all"), vec![principal.clone()]);
    assert_eq!(store.password_of("insp-1").expect("read"), None);
    assert!(
        store
            .transaction(|uow| ledger::set_password(uow, "insp-1", "$argon2id$x", 6, "admin"))
            .expect("set")
    );
    assert_eq!(
        store.password_of("insp-1").expect("read").as_deref(),
        Some("$argon2id$x")
    );
    assert!(
        store
            .transaction(|uow| ledger::revoke_principal(uow, "insp-1", 7, "admin"))
            .expect("revoked")
    );
    assert!(
        !store
            .transaction(|uow| ledger::revoke_principal(uow, "insp-1", 8, "admin"))
            .expect("once")
    );
    assert!(
        !store
            .transaction(|uow| ledger::set_password(uow, "insp-1", "$argon2id$y", 9, "admin"))
            .expect("not for a revoked one")
    );
    let found = store
        .principal_by_name("insp-1")
        .expect("read")
        .expect("kept");
    assert_eq!(found.revoked_ms, Some(7));
    let actions: Vec<String> = store
        .audit(&AuditQuery {
            after: 0,
            limit: 10,
            ..Default::default()
        })
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "principal.added",
            "principal.password_set",
            "principal.revoked"
        ]
    );
}
