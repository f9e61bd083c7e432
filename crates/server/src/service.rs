//! Running the service: `serve` (HTTP and in-process workers), `worker` (workers only) and
//! `migrate`, with a graceful shutdown on SIGTERM or Ctrl-C.

use std::sync::Arc;

use perf_fixer_engine::runner::SandboxMode;
use perf_fixer_github::{AppCredentials, GitHub, WebhookSecrets};
use perf_fixer_store::{Store, StoreError};
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::git::RemoteTemplate;
use crate::http::{AppState, router};
use crate::metrics::Metrics;
use crate::settings::{Sandbox, Settings};
use crate::worker::{Worker, WorkerConfig, worker_id};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    GitHub(String),
    #[error(
        "cannot listen on {addr}: {source}; is another process using the port? (PERF_FIXER_LISTEN)"
    )]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server stopped: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Settings(String),
}

/// Resolves when SIGTERM or Ctrl-C arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: no new jobs are claimed");
}

async fn store(settings: &Settings, extra_connections: usize) -> Result<Store, ServiceError> {
    // Each worker holds a LISTEN connection and uses one more at a time.
    let size = u32::try_from(16 + 2 * extra_connections).unwrap_or(u32::MAX);
    let pool = perf_fixer_store::connect_with(settings.database_url.expose_secret(), size).await?;
    Ok(Store::new(pool))
}

/// Applies the migrations.
pub async fn migrate(settings: &Settings) -> Result<(), ServiceError> {
    let store = store(settings, 0).await?;
    perf_fixer_store::migrate(store.pool()).await?;
    Ok(())
}

fn github(settings: &Settings) -> Result<GitHub, ServiceError> {
    let gh = settings
        .github
        .as_ref()
        .ok_or_else(|| ServiceError::Settings("GitHub App settings are missing".to_owned()))?;
    let credentials =
        AppCredentials::from_pem(gh.app_id, gh.private_key_pem.expose_secret().to_owned())
            .map_err(|e| ServiceError::GitHub(e.to_string()))?;
    GitHub::new(&credentials, &gh.api_url).map_err(|e| ServiceError::GitHub(e.to_string()))
}

fn worker_config(settings: &Settings, index: usize) -> WorkerConfig {
    let api = settings
        .github
        .as_ref()
        .map_or(perf_fixer_github::DEFAULT_API_URL, |g| g.api_url.as_str());
    let mut config = WorkerConfig::new(
        worker_id(index),
        settings.workdir.clone(),
        RemoteTemplate::from_api_url(api),
    );
    config.sandbox = match settings.sandbox {
        Sandbox::Bwrap => SandboxMode::Bwrap,
        Sandbox::None => SandboxMode::None,
    };
    config.public_url = settings.public_url.clone();
    config.delivery_retention = settings.delivery_retention;
    if let Some(github) = &settings.github {
        config.scrubber.add_secret(&github.private_key_pem);
        for secret in &github.webhook_secrets {
            config.scrubber.add_secret(secret);
        }
    }
    config
}

fn spawn_workers(
    settings: &Settings,
    store: &Store,
    github: &GitHub,
    metrics: &Arc<Metrics>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..settings.workers)
        .map(|i| {
            let worker = Worker::new(
                store.clone(),
                github.clone(),
                worker_config(settings, i),
                Arc::clone(metrics),
            );
            let rx = shutdown.clone();
            tokio::spawn(async move { worker.run(rx).await })
        })
        .collect()
}

/// `perf-fixer serve`: migrations, then the HTTP server and `settings.workers` workers, until
/// `shutdown` resolves; then the server stops accepting, and workers finish or re-queue.
pub async fn serve(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let store = store(&settings, settings.workers).await?;
    perf_fixer_store::migrate(store.pool()).await?;
    let github = github(&settings)?;
    let secrets = WebhookSecrets::from_secrets(
        settings
            .github
            .as_ref()
            .map(|g| g.webhook_secrets.clone())
            .unwrap_or_default(),
    )
    .map_err(|e| ServiceError::Settings(e.to_string()))?;
    let metrics = Arc::new(Metrics::default());
    let state = AppState {
        store: store.clone(),
        secrets,
        gate_checks: Arc::new(settings.gate_checks.clone()),
        app_id: settings.github.as_ref().map(|g| g.app_id),
        github: Some(github.clone()),
        metrics: Arc::clone(&metrics),
        public_url: settings.public_url.clone(),
    };
    let (tx, rx) = watch::channel(false);
    let workers = spawn_workers(&settings, &store, &github, &metrics, &rx);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| ServiceError::Bind {
            addr: settings.listen,
            source,
        })?;
    tracing::info!(listen = %settings.listen, workers = settings.workers, "perf-fixer serving");
    let mut http_rx = rx.clone();
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
        let _ = http_rx.wait_for(|stop| *stop).await;
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    server.await.map_err(ServiceError::Serve)?;
    for w in workers {
        let _ = w.await;
    }
    Ok(())
}

/// `perf-fixer worker`: workers only, until `shutdown` resolves.
pub async fn run_workers(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let store = store(&settings, settings.workers).await?;
    let github = github(&settings)?;
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = watch::channel(false);
    let workers = spawn_workers(&settings, &store, &github, &metrics, &rx);
    tracing::info!(workers = settings.workers, "perf-fixer workers running");
    shutdown.await;
    let _ = tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    Ok(())
}
