//! Driving a running server: concurrent unary callers or streams, for a duration or a
//! count, with a progress bar, and the report at the end.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, transport::Channel};

use super::{
    Bearer, FetchAuth, LoadArgs, LoadMode, LoadPriority, LoadReport, Samples, Target,
    ceiling::measure_ceiling,
    images::{self, LoadImage},
    report::{Latency, ServerView},
};
use xray_proto::{
    self as proto, Scan, declarations_client::DeclarationsClient,
    inspection_client::InspectionClient,
};

/// Registers `count` example declarations `load-0`, `load-1`, ... (kept when already there).
async fn register_declarations(target: &Target, count: usize) -> anyhow::Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut client =
        DeclarationsClient::with_interceptor(target.channel().await?, target.bearer()?);
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let id = format!("load-{i}");
        let declaration = proto::Declaration {
            id: id.clone(),
            declarant: "load generator".into(),
            transport_mode: proto::TransportMode::Courier as i32,
            items: vec![proto::DeclaredItem {
                hs_code: "6109.10".into(),
                description: "T-shirts".into(),
                quantity: 100.0,
                value: 500.0,
            }],
            prior_risk: 0.1,
            ..Default::default()
        };
        client
            .register_declaration(proto::RegisterDeclarationRequest {
                declaration: Some(declaration),
            })
            .await
            .with_context(|| format!("cannot register declaration {id}"))?;
        ids.push(id);
    }
    Ok(ids)
}

/// One finished call: its latency and gRPC code.
type Outcome = (Duration, Code);

/// What every client shares: the scans, the budget and the tally.
struct Plan {
    images: Vec<LoadImage>,
    model: Option<String>,
    /// The portal every scan names.
    portal: String,
    priority: proto::Priority,
    timeout: Option<Duration>,
    end: Option<Instant>,
    count: Option<usize>,
    issued: AtomicUsize,
    finished: AtomicUsize,
    /// With `--rate`: the shared pace every scan waits for before it is sent.
    pace: Option<tokio::sync::Mutex<tokio::time::Interval>>,
    /// With `--declarations`: the declarations scans go to, in turn.
    declarations: Vec<String>,
    /// Makes scan ids unique across runs (a stored scan id sent again is answered from the
    /// store without running the model).
    run: String,
}

impl Plan {
    /// The next scan to send, at the offered rate, or None once the duration or count is
    /// spent.
    async fn next_paced_scan(&self) -> Option<Scan> {
        if let Some(pace) = &self.pace {
            pace.lock().await.tick().await;
        }
        self.next_scan()
    }

    /// The next scan to send, or None once the duration or count is spent.
    fn next_scan(&self) -> Option<Scan> {
        if self.end.is_some_and(|end| Instant::now() >= end) {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        if self.count.is_some_and(|count| n >= count) {
            return None;
        }
        let image = &self.images[n % self.images.len()];
        let declaration_id = match self.declarations.len() {
            0 => String::new(),
            k => self.declarations[n % k].clone(),
        };
        Some(Scan {
            scan_id: format!(
                "load-{}{n}-{}",
                self.run,
                image.name.chars().take(64).collect::<String>()
            ),
            declaration_id,
            portal_id: self.portal.clone(),
            image: image.bytes.clone(),
            model: self.model.clone(),
            priority: self.priority as i32,
            ..Default::default()
        })
    }

    fn sent(&self) -> usize {
        let issued = self.issued.load(Ordering::Relaxed);
        self.count.map_or(issued, |c| issued.min(c))
    }
}

/// Runs the load described by `args` and returns its report (also printed by the caller).
pub async fn run_load(args: &LoadArgs) -> anyhow::Result<LoadReport> {
    let images = match args.generate {
        Some((w, h)) => images::generated(w, h, 8)?,
        None => images::from_folder(&args.images)?,
    };
    let ceiling = if args.ceiling {
        let ceiling_args = args.ceiling_args.clone();
        let model = args.model.clone();
        eprintln!("measuring the model's ceiling in-process ...");
        let ceiling = tokio::task::spawn_blocking(move || {
            measure_ceiling(&ceiling_args, model.as_deref(), |p| {
                eprintln!(
                    "  batch {:>2}: {:.2} images/s",
                    p.batch_size, p.images_per_second
                )
            })
        })
        .await
        .context("the ceiling measurement panicked")??;
        Some(ceiling)
    } else {
        None
    };

    let targets = args.servers();
    let target = targets.first().context("--target names no server")?.clone();
    let fetch_auth = FetchAuth {
        token: args.token.clone(),
        tls: if args.metrics_url.iter().any(|u| u.starts_with("https://")) {
            Some(target.metrics_tls()?)
        } else {
            None
        },
    };
    let declarations = register_declarations(&target, args.declarations).await?;
    let run = if declarations.is_empty() {
        String::new()
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("{now}-")
    };
    let before = scrape_all(&args.metrics_url, &fetch_auth).await;
    let plan = Arc::new(Plan {
        declarations,
        run,
        images,
        model: args.model.clone(),
        portal: args.portal.clone(),
        priority: match args.priority {
            LoadPriority::Live => proto::Priority::Live,
            LoadPriority::Backoffice => proto::Priority::Backoffice,
        },
        timeout: args.timeout_ms.map(Duration::from_millis),
        end: args
            .count
            .is_none()
            .then(|| Instant::now() + Duration::from_secs_f64(args.duration.max(0.1))),
        count: args.count,
        issued: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        pace: (args.rate > 0.0).then(|| {
            let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
            // A client that was late does not make up for it with a burst.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::sync::Mutex::new(interval)
        }),
    });

    let progress = progress_bar(args);
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..args.concurrency.max(1) {
        // Spread over the nodes in turn.
        let target = &targets[client % targets.len()];
        let channel = target.channel().await?;
        let (plan, bearer) = (Arc::clone(&plan), target.bearer()?);
        match args.mode {
            LoadMode::Unary => clients.spawn(unary_client(channel, bearer, plan)),
            LoadMode::Stream => clients.spawn(stream_client(
                channel,
                bearer,
                plan,
                args.stream_depth.max(1),
            )),
        };
    }
    let ticker = {
        let plan = Arc::clone(&plan);
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let done = plan.finished.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                match plan.count {
                    Some(_) => progress.set_position(done as u64),
                    None => progress.set_position((secs * 1000.0) as u64),
                }
                progress.set_message(format!("{done} done, {:.1} images/s", done as f64 / secs));
            }
        })
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    while let Some(done) = clients.join_next().await {
        outcomes.extend(done.context("a load client panicked")??);
    }
    let seconds = started.elapsed().as_secs_f64();
    ticker.abort();
    progress.finish_and_clear();
    let after = scrape_all(&args.metrics_url, &fetch_auth).await;

    let mut latencies = Vec::new();
    let mut errors = BTreeMap::new();
    for (latency, code) in &outcomes {
        if *code == Code::Ok {
            latencies.push(*latency);
        } else {
            *errors.entry(format!("{code:?}")).or_insert(0) += 1;
        }
    }
    let succeeded = latencies.len();
    let images_per_second = succeeded as f64 / seconds;
    let server = match (before, after) {
        (Some(before), Some(after)) => Some(server_view(&before, &after, args.model.as_deref())),
        _ => None,
    };
    let ratio_to_ceiling = ceiling
        .as_ref()
        .and_then(|c| c.best())
        .map(|best| images_per_second / best.images_per_second);
    Ok(LoadReport {
        target: args.target.join(","),
        mode: match args.mode {
            LoadMode::Unary => "unary".into(),
            LoadMode::Stream => format!("streams, {} in flight each", args.stream_depth.max(1)),
        },
        concurrency: args.concurrency.max(1),
        offered_rate: (args.rate > 0.0).then_some(args.rate),
        seconds,
        sent: plan.sent(),
        succeeded,
        images_per_second,
        latency_ms: Latency::of(&mut latencies),
        errors,
        server,
        ceiling,
        ratio_to_ceiling,
    })
}

fn progress_bar(args: &LoadArgs) -> ProgressBar {
    if args.quiet {
        return ProgressBar::hidden();
    }
    let (length, template) = match args.count {
        Some(count) => (count as u64, "{bar:40} {pos}/{len} scans  {msg}"),
        None => (
            (args.duration * 1000.0) as u64,
            "{bar:40} {elapsed}/{duration}  {msg}",
        ),
    };
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Every node's metrics, added up (None if one cannot be read).
async fn scrape_all(urls: &[String], auth: &FetchAuth) -> Option<Samples> {
    let mut all: Option<Samples> = None;
    for url in urls {
        let samples = scrape(url, auth).await?;
        all = Some(match all {
            Some(mut all) => {
                all.add(&samples);
                all
            }
            None => samples,
        });
    }
    all
}

async fn scrape(url: &str, auth: &FetchAuth) -> Option<Samples> {
    if url.is_empty() {
        return None;
    }
    match Samples::scrape(url, auth).await {
        Ok(samples) => Some(samples),
        Err(e) => {
            eprintln!("warning: cannot read the server's metrics ({e:#}); no batch sizes");
            None
        }
    }
}

fn server_view(before: &Samples, after: &Samples, model: Option<&str>) -> ServerView {
    let labels: Vec<(&str, &str)> = model.map(|m| ("model", m)).into_iter().collect();
    let delta = |name: &str| after.sum(name, &labels) - before.sum(name, &labels);
    let batches = delta("xray_batch_size_count");
    // Store writes are not per model.
    let stored = after.sum("xray_store_write_seconds_count", &[])
        - before.sum("xray_store_write_seconds_count", &[]);
    let stored_seconds = after.sum("xray_store_write_seconds_sum", &[])
        - before.sum("xray_store_write_seconds_sum", &[]);
    ServerView {
        stored,
        mean_store_write_ms: (stored > 0.0).then(|| stored_seconds / stored * 1000.0),
        batches,
        images_inferred: delta("xray_inferred_images_total"),
        mean_batch_size: (batches > 0.0).then(|| delta("xray_batch_size_sum") / batches),
    }
}

async fn unary_client(
    channel: Channel,
    bearer: Bearer,
    plan: Arc<Plan>,
) -> anyhow::Result<Vec<Outcome>> {
    let mut client =
        InspectionClient::with_interceptor(channel, bearer).max_decoding_message_size(64 << 20);
    let mut outcomes = Vec::new();
    while let Some(scan) = plan.next_paced_scan().await {
        let mut request = Request::new(scan);
        if let Some(timeout) = plan.timeout {
            request.set_timeout(timeout);
        }
        let sent = Instant::now();
        let code = match client.inspect(request).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        outcomes.push((sent.elapsed(), code));
        plan.finished.fetch_add(1, Ordering::Relaxed);
    }
    Ok(outcomes)
}

async fn stream_client(
    channel: Channel,
    bearer: Bearer,
    plan: Arc<Plan>,
    depth: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let mut client =
        InspectionClient::with_interceptor(channel, bearer).max_decoding_message_size(64 << 20);
    let (scans, outbound) = mpsc::channel::<Scan>(depth);
    let in_flight = Arc::new(Semaphore::new(depth));
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let sender = {
        let (plan, in_flight, sent_at) = (
            Arc::clone(&plan),
            Arc::clone(&in_flight),
            Arc::clone(&sent_at),
        );
        tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                    break;
                };
                let Some(scan) = plan.next_paced_scan().await else {
                    break;
                };
                if let Ok(mut map) = sent_at.lock() {
                    map.insert(scan.scan_id.clone(), Instant::now());
                }
                if scans.send(scan).await.is_err() {
                    break;
                }
                // The permit comes back when the scan's result does.
                permit.forget();
            }
        })
    };
    let mut results = client
        .stream_scans(ReceiverStream::new(outbound))
        .await
        .context("cannot open a scan stream")?
        .into_inner();
    let mut outcomes = Vec::new();
    loop {
        let result = match results.message().await {
            Ok(Some(result)) => result,
            Ok(None) => break,
            Err(status) => {
                outcomes.push((Duration::ZERO, status.code()));
                break;
            }
        };
        let sent = sent_at
            .lock()
            .ok()
            .and_then(|mut map| map.remove(&result.scan_id));
        let code = result.error.map_or(Code::Ok, |e| Code::from_i32(e.code));
        outcomes.push((sent.map_or(Duration::ZERO, |t| t.elapsed()), code));
        plan.finished.fetch_add(1, Ordering::Relaxed);
        in_flight.add_permits(1);
    }
    sender.abort();
    Ok(outcomes)
}
