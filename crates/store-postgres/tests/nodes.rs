//! Two "nodes" (two PgStore instances) on one database: concurrent writes to one declaration
//! give the risk that the same writes give one at a time, numbers stay gap-free and ordered,
//! a scan id sent to both at once is stored once, notices reach the other node, and a
//! database that goes away answers Unavailable and is used again once it is back.

use std::{
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use xray_customs::store::{AuditQuery, Notice, Store, StoreError};
use xray_store_conformance::{
    TestCluster,
    checks::{assess, declaration, record_scan, register, scan},
};
use xray_store_postgres::{PgSettings, PgStore};
use xray_types::Category;

fn node(url: &str) -> Arc<PgStore> {
    Arc::new(PgStore::connect(url, PgSettings::default()).expect("connect"))
}

/// The scans of the concurrency tests: every category, so that the risk moves often.
fn scans_of(declaration: &str, n: usize) -> Vec<xray_customs::store::NewScan> {
    let classes = [
        None,
        Some(Category::UndeclaredGoods),
        Some(Category::Drugs),
        None,
        Some(Category::Weapon),
    ];
    (0..n)
        .map(|i| {
            let mut s = scan(
                &format!("{declaration}-{i}"),
                declaration,
                "p",
                100 + i as i64,
                classes[i % classes.len()],
            );
            s.image = None;
            // Each its own confidence: the strongest detection, which the reasons name, is
            // then the same whatever order the scans were stored in.
            for d in &mut s.scan.detections {
                d.confidence = 0.3 + i as f32 * 0.01;
            }
            s
        })
        .collect()
}

#[test]
fn two_nodes_writing_one_declaration_at_once_give_the_sequential_risk() {
    let cluster = TestCluster::shared();
    let url = cluster.database();
    let nodes = [node(&url), node(&url)];
    register(nodes[0].as_ref(), &declaration("D", 0.1), 1, &assess).expect("registered");
    register(nodes[1].as_ref(), &declaration("E", 0.1), 1, &assess).expect("registered");
    let scans = Arc::new(scans_of("D", 40));
    let others = Arc::new(scans_of("E", 10));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&nodes[t % 2]);
            let (scans, others) = (Arc::clone(&scans), Arc::clone(&others));
            std::thread::spawn(move || {
                for s in scans.iter().skip(t).step_by(8) {
                    record_scan(store.as_ref(), s, &assess).expect("stored");
                }
                // Writes to another declaration run beside them.
                if let Some(s) = others.get(t) {
                    record_scan(store.as_ref(), s, &assess).expect("stored");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    // The same scans one at a time, on a database of their own.
    let alone = node(&cluster.database());
    register(alone.as_ref(), &declaration("D", 0.1), 1, &assess).expect("registered");
    for s in scans.iter() {
        record_scan(alone.as_ref(), s, &assess).expect("stored");
    }
    let together = nodes[1].declaration("D").expect("read").expect("there");
    let sequential = alone.declaration("D").expect("read").expect("there");
    assert_eq!(together.scans.len(), 40);
    assert_eq!(
        together.risk.assessment.score,
        sequential.risk.assessment.score
    );
    assert_eq!(
        together.risk.assessment.channel,
        sequential.risk.assessment.channel
    );
    assert_eq!(
        together.risk.assessment.reasons,
        sequential.risk.assessment.reasons
    );

    // Risk changes: numbered 1..n in commit order, each one's previous score the one before
    // it for its declaration (the writes to one declaration were serialised).
    let changes = nodes[0].risk_changes_after(0, 1000).expect("changes");
    let sequences: Vec<u64> = changes.iter().map(|c| c.sequence).collect();
    assert_eq!(sequences, (1..=changes.len() as u64).collect::<Vec<_>>());
    for id in ["D", "E"] {
        let mine: Vec<_> = changes.iter().filter(|c| c.declaration_id == id).collect();
        for pair in mine.windows(2) {
            assert_eq!(
                pair[1].previous.map(|p| p.0),
                Some(pair[0].score),
                "{pair:?}"
            );
        }
        let state = nodes[0].declaration(id).expect("read").expect("there");
        assert_eq!(
            state.risk.sequence,
            mine.last().expect("changed").sequence,
            "the current risk is its newest change"
        );
    }
    // Audit entries: numbered 1..m, one scan.stored per scan.
    let audit = nodes[1]
        .audit(&AuditQuery {
            after: 0,
            limit: 10_000,
            ..Default::default()
        })
        .expect("audit");
    let numbers: Vec<u64> = audit.iter().map(|e| e.sequence).collect();
    assert_eq!(numbers, (1..=audit.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        audit.iter().filter(|e| e.action == "scan.stored").count(),
        48
    );
}

#[test]
fn a_scan_id_sent_to_both_nodes_at_once_is_stored_once() {
    let url = TestCluster::shared().database();
    let nodes = [node(&url), node(&url)];
    register(nodes[0].as_ref(), &declaration("D", 0.1), 1, &assess).expect("registered");
    let sent = scan("s", "D", "p", 5, Some(Category::Weapon));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&nodes[t % 2]);
            let sent = sent.clone();
            std::thread::spawn(move || record_scan(store.as_ref(), &sent, &assess))
        })
        .collect();
    let answers: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("writer"))
        .collect();
    assert_eq!(
        answers.iter().filter(|a| a.is_ok()).count(),
        1,
        "{answers:?}"
    );
    for a in answers.iter().filter(|a| a.is_err()) {
        assert!(
            matches!(a, Err(StoreError::DuplicateScan { declaration_id, .. }) if declaration_id == "D"),
            "{a:?}"
        );
    }
    let state = nodes[1].declaration("D").expect("read").expect("there");
    assert_eq!(state.scans.len(), 1);
    let stored = nodes[1]
        .audit(&AuditQuery {
            scan_id: Some("s".into()),
            after: 0,
            limit: 100,
            ..Default::default()
        })
        .expect("audit");
    assert_eq!(
        stored.iter().filter(|e| e.action == "scan.stored").count(),
        1
    );
    // Counted once: one risk change for the scan (GREEN to RED), after the registration's.
    assert_eq!(nodes[0].last_risk_sequence().expect("last"), 2);
}

/// A sink that hands notices to a channel.
fn sink() -> (xray_customs::store::NoticeSink, mpsc::Receiver<Notice>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let sink = Arc::new(move |n: Notice| {
        let _ = tx.lock().map(|tx| tx.send(n));
    });
    (sink, rx)
}

#[test]
fn notices_reach_the_other_node() {
    let url = TestCluster::shared().database();
    let (a, b) = (node(&url), node(&url));
    let (sink, notices) = sink();
    assert!(a.listen(sink).expect("listening"));
    register(b.as_ref(), &declaration("D", 0.1), 1, &assess).expect("registered");
    let outcome = record_scan(
        b.as_ref(),
        &scan("s", "D", "p", 5, Some(Category::Weapon)),
        &assess,
    )
    .expect("stored");
    let sequence = outcome.change.expect("risk moved").sequence;
    b.publish("review", "scan s").expect("published");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match notices.recv_timeout(Duration::from_secs(10)) {
            Ok(n) => seen.push(n),
            Err(e) => panic!("{e}: only {seen:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            Notice::RiskChanged { sequence: 1 },
            Notice::RiskChanged { sequence },
            Notice::Message {
                topic: "review".into(),
                payload: "scan s".into()
            }
        ]
    );
}

#[test]
fn a_database_that_goes_away_answers_unavailable_and_is_used_again_when_back() {
    // A cluster of its own: this test stops its server.
    let cluster = TestCluster::private();
    let url = cluster.database();
    let settings = PgSettings {
        pool_size: 4,
        connect_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(3),
    };
    let store = PgStore::connect(&url, settings.clone()).expect("connect");
    let (sink, notices) = sink();
    assert!(store.listen(sink).expect("listening"));
    register(&store, &declaration("D", 0.1), 1, &assess).expect("registered");

    cluster.pause();
    for _ in 0..2 {
        let started = Instant::now();
        let answer = record_scan(&store, &scan("s", "D", "p", 5, None), &assess);
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        match answer {
            Err(StoreError::Unavailable(m)) => {
                assert!(m.contains("the database at 127.0.0.1:"), "{m}");
                assert!(m.contains("cannot be reached"), "{m}");
            }
            other => panic!("not Unavailable: {other:?}"),
        }
        assert!(matches!(
            store.declaration("D"),
            Err(StoreError::Unavailable(_))
        ));
    }
    // A store cannot be opened either, within its timeout.
    let started = Instant::now();
    assert!(matches!(
        PgStore::connect(&url, settings),
        Err(StoreError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(8));

    cluster.resume();
    // The same store works again, without a restart (the pool makes new connections).
    record_scan(
        &store,
        &scan("s", "D", "p", 5, Some(Category::Drugs)),
        &assess,
    )
    .expect("stored");
    assert_eq!(
        store
            .declaration("D")
            .expect("read")
            .expect("there")
            .scans
            .len(),
        1
    );
    // The listener came back and says that it may have missed something.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match notices.recv_timeout(left) {
            Ok(Notice::Resync) => break,
            Ok(_) => {}
            Err(e) => panic!("no Resync after the database came back: {e}"),
        }
    }
}
