//! [`PgStore`]: the store's own runtime, its pool, and the blocking [`Store`] over them.

use std::{collections::HashSet, future::Future, sync::mpsc, time::Duration};

use deadpool_postgres::{
    ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use tokio_postgres::{NoTls, config::Host};
use xray_customs::{
    declaration::{DeclarationState, RiskChange, StoredScan},
    principal::Principal,
    store::{
        AuditEntry, AuditQuery, ClassAccuracy, FlaggedQuery, FlaggedScan, KeptImage, NoticeSink,
        Purged, Store, StoreError, UnitOfWork,
    },
};

use crate::{
    error::{Failure, Result},
    listen, read, schema,
    write::Writer,
};

/// How many times a write the database aborted (a serialization failure or a deadlock
/// between nodes) is run; each run is a new transaction.
const WRITE_ATTEMPTS: u32 = 5;

/// How the store reaches its database.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// Connections in the pool (default 16): writes and reads in flight at once, per node.
    pub pool_size: usize,
    /// How long connecting, or waiting for a free pooled connection, may take (default 5 s).
    pub connect_timeout: Duration,
    /// How long one statement may run on the server (default 10 s; PostgreSQL's
    /// `statement_timeout`, which includes waiting for another node's lock).
    pub statement_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// What the store's calls share: the runtime's handle, the pool and the limits.
pub struct Inner {
    handle: tokio::runtime::Handle,
    pub pool: Pool,
    config: tokio_postgres::Config,
    /// HOST:PORT, for the sentences that say which database cannot be reached.
    target: String,
    /// The longest a caller waits for one step: a connection, then a statement.
    limit: Duration,
}

impl Inner {
    /// Runs `fut` on the store's runtime and waits for it on this thread, at most the call's
    /// limit (then the step is abandoned and [`Failure::Timeout`] answered). The caller's
    /// thread only waits on a channel: it never enters a runtime, so this works from any
    /// thread (a blocking task of the service's runtime, a plain CLI thread) and never panics
    /// with "Cannot start a runtime from within a runtime".
    pub fn wait<O: Send + 'static>(
        &self,
        fut: impl Future<Output = O> + Send + 'static,
    ) -> Result<O> {
        let (tx, rx) = mpsc::sync_channel(1);
        let task = self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv_timeout(self.limit) {
            Ok(out) => Ok(out),
            Err(_) => {
                task.abort();
                Err(Failure::Timeout(self.limit))
            }
        }
    }

    /// A read on a pooled connection.
    fn read<T, F, Fut>(&self, f: F) -> std::result::Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send,
    {
        let pool = self.pool.clone();
        self.wait(async move { f(pool.get().await?).await })
            .and_then(|r| r)
            .map_err(|e| self.error(e))
    }

    pub fn error(&self, f: Failure) -> StoreError {
        f.into_store_error(&self.target)
    }
}

/// A pooled connection that may be inside a transaction. One dropped inside a transaction
/// (its statement abandoned, or the transaction never ended) is closed, not given back to
/// the pool: the server rolls back what it had begun.
pub struct Conn {
    client: Option<Object>,
    in_transaction: bool,
}

impl Conn {
    pub async fn get(pool: &Pool) -> Result<Self> {
        Ok(Self {
            client: Some(pool.get().await?),
            in_transaction: false,
        })
    }

    pub fn db(&self) -> &ClientWrapper {
        // Present from `get` until dropped.
        self.client.as_deref().expect("a connection until dropped")
    }

    pub async fn begin(&mut self) -> Result<()> {
        self.in_transaction = true;
        self.db()
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?;
        Ok(())
    }

    /// COMMIT or ROLLBACK; the connection is back to the pool's when it went through.
    pub async fn end(&mut self, how: &'static str) -> Result<()> {
        self.db().batch_execute(how).await?;
        self.in_transaction = false;
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.in_transaction {
            if let Some(client) = self.client.take() {
                drop(Object::take(client));
            }
        }
    }
}

/// The PostgreSQL implementation of [`Store`]: several service nodes share one database.
pub struct PgStore {
    inner: Inner,
    /// Drives the pool's connections and the listener; shut down without waiting on drop
    /// (dropping a runtime blocks, which panics on an async worker).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`),
    /// migrated to the newest schema; `Unavailable` when it cannot be reached in time.
    pub fn connect(url: &str, settings: PgSettings) -> std::result::Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the database URL is not valid: {e}")))?;
        let target = target_of(&config);
        config
            .application_name("xray-screen")
            .connect_timeout(settings.connect_timeout)
            // A server that went away without closing the connection is noticed.
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            .options(format!(
                "-c statement_timeout={}",
                settings.statement_timeout.as_millis()
            ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xray-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database(format!("cannot start the store's runtime: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                // A connection's health is checked by its next statement (a broken one fails
                // with Unavailable and is dropped), not by a round trip at each checkout.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.connect_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .recycle_timeout(Some(settings.connect_timeout))
            .build()
            .map_err(|e| StoreError::Database(format!("cannot make the connection pool: {e}")))?;
        let store = Self {
            inner: Inner {
                handle: runtime.handle().clone(),
                pool,
                config,
                target,
                limit: settings.connect_timeout + settings.statement_timeout,
            },
            runtime: Some(runtime),
        };
        let pool = store.inner.pool.clone();
        store
            .inner
            .wait(async move {
                let mut client = pool.get().await?;
                schema::migrate(&mut client).await
            })
            .and_then(|r| r)
            .map_err(|e| store.inner.error(e))?;
        Ok(store)
    }

    /// HOST:PORT of the database.
    pub fn target(&self) -> &str {
        &self.inner.target
    }
}

fn target_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

impl Store for PgStore {
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> std::result::Result<(), StoreError>,
    ) -> std::result::Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut writer = Writer::begin(&self.inner)?;
            let result = match work(&mut writer) {
                Ok(()) => {
                    let r = writer.commit();
                    (r, false)
                }
                Err(e) => {
                    writer.rollback();
                    (Err(e), writer.retry)
                }
            };
            match result {
                (Err(e), true) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "write aborted by the database; again");
                    // Apart a little, so that the writers that collided do not again.
                    std::thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
                }
                (r, _) => return r,
            }
        }
    }

    fn declaration(&self, id: &str) -> std::result::Result<Option<DeclarationState>, StoreError> {
        let id = id.to_string();
        self.inner
            .read(move |db| async move { read::load_state(&db, &id).await })
    }

    fn is_registered(&self, id: &str) -> std::result::Result<bool, StoreError> {
        let id = id.to_string();
        self.inner
            .read(move |db| async move { read::is_registered(&db, &id).await })
    }

    fn scan(&self, scan_id: &str) -> std::result::Result<Option<StoredScan>, StoreError> {
        let id = scan_id.to_string();
        self.inner
            .read(move |db| async move { read::scan(&db, &id).await })
    }

    fn scan_image(&self, scan_id: &str) -> std::result::Result<Option<KeptImage>, StoreError> {
        let id = scan_id.to_string();
        self.inner
            .read(move |db| async move { read::scan_image(&db, &id).await })
    }

    fn risk_changes_after(
        &self,
        after: u64,
        limit: usize,
    ) -> std::result::Result<Vec<RiskChange>, StoreError> {
        self.inner
            .read(move |db| async move { read::risk_changes_after(&db, after, limit).await })
    }

    fn last_risk_sequence(&self) -> std::result::Result<u64, StoreError> {
        self.inner
            .read(|db| async move { read::last_risk_sequence(&db).await })
    }

    fn flagged(&self, q: &FlaggedQuery) -> std::result::Result<Vec<FlaggedScan>, StoreError> {
        let q = q.clone();
        self.inner
            .read(move |db| async move { read::flagged(&db, &q).await })
    }

    fn audit(&self, q: &AuditQuery) -> std::result::Result<Vec<AuditEntry>, StoreError> {
        let q = q.clone();
        self.inner
            .read(move |db| async move { read::audit(&db, &q).await })
    }

    fn accuracy(&self, model: Option<&str>) -> std::result::Result<Vec<ClassAccuracy>, StoreError> {
        let model = model.map(str::to_string);
        self.inner
            .read(move |db| async move { read::accuracy(&db, model.as_deref()).await })
    }

    fn purge_images(&self, before_ms: i64) -> std::result::Result<Purged, StoreError> {
        let pool = self.inner.pool.clone();
        self.inner
            .wait(async move {
                let mut conn = Conn::get(&pool).await?;
                conn.begin().await?;
                let purged = purge(conn.db(), before_ms).await?;
                conn.end("COMMIT").await?;
                Ok(purged)
            })
            .and_then(|r| r)
            .map_err(|e| self.inner.error(e))
    }

    fn referenced_images(
        &self,
        keys: &[String],
    ) -> std::result::Result<HashSet<String>, StoreError> {
        let keys = keys.to_vec();
        self.inner
            .read(move |db| async move { read::referenced_images(&db, &keys).await })
    }

    fn listen(&self, sink: NoticeSink) -> std::result::Result<bool, StoreError> {
        let (ready, first) = mpsc::sync_channel(1);
        self.inner.handle.spawn(listen::run(
            self.inner.config.clone(),
            self.inner.target.clone(),
            sink,
            ready,
        ));
        match first.recv_timeout(self.inner.limit) {
            Ok(Ok(())) => Ok(true),
            Ok(Err(e)) => Err(self.inner.error(e)),
            Err(_) => Err(self.inner.error(Failure::Timeout(self.inner.limit))),
        }
    }

    fn publish(&self, topic: &str, payload: &str) -> std::result::Result<(), StoreError> {
        let message = serde_json::json!({ "topic": topic, "payload": payload }).to_string();
        self.inner.read(move |db| async move {
            let stmt = db.prepare_cached("SELECT pg_notify($1, $2)::TEXT").await?;
            db.query(&stmt, &[&listen::MESSAGE_CHANNEL, &message])
                .await?;
            Ok(())
        })
    }

    fn principals(&self) -> std::result::Result<Vec<Principal>, StoreError> {
        self.inner
            .read(|db| async move { read::principals(&db).await })
    }

    fn principal_by_token(
        &self,
        token_sha256: &str,
    ) -> std::result::Result<Option<Principal>, StoreError> {
        let token = token_sha256.to_string();
        self.inner
            .read(move |db| async move { read::principal_by_token(&db, &token).await })
    }

    fn principal_by_name(&self, name: &str) -> std::result::Result<Option<Principal>, StoreError> {
        let name = name.to_string();
        self.inner
            .read(move |db| async move { read::principal_by_name(&db, &name).await })
    }

    fn password_of(&self, name: &str) -> std::result::Result<Option<String>, StoreError> {
        let name = name.to_string();
        self.inner
            .read(move |db| async move { read::password_of(&db, &name).await })
    }
}

/// Deletes the image rows of scans received before `before_ms` and answers which of their
/// blobs no row names any more (the same bytes kept for two scans are one blob).
async fn purge(db: &ClientWrapper, before_ms: i64) -> Result<Purged> {
    let rows = db
        .query(
            "WITH gone AS (
                 DELETE FROM scan_images i USING scans s
                 WHERE s.uid = i.scan_uid AND s.received_ms < $1
                 RETURNING i.blob_key)
             SELECT blob_key, COUNT(*) FROM gone GROUP BY blob_key",
            &[&before_ms],
        )
        .await?;
    let mut scans = 0usize;
    let mut keys = Vec::new();
    for r in rows {
        keys.push(r.try_get::<_, String>(0)?);
        scans += usize::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0);
    }
    let still = read::referenced_images(db, &keys).await?;
    let mut unreferenced: Vec<String> = keys.into_iter().filter(|k| !still.contains(k)).collect();
    unreferenced.sort();
    Ok(Purged {
        scans,
        unreferenced,
    })
}
