//! The service's log format: one JSON object per line, with the fields of the current span
//! and of every span around it, so that each line of a delivery carries its `delivery_id` and
//! each line of a job its `job_id`. The binary and the tests that check this use the same
//! subscriber.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// `PERF_FIXER_LOG` when set (tracing's `EnvFilter` syntax), else `RUST_LOG` (what the
/// deployment files set), else `info`.
pub fn filter_from_env() -> EnvFilter {
    EnvFilter::try_from_env("PERF_FIXER_LOG")
        .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The JSON subscriber, writing to `writer`.
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}
