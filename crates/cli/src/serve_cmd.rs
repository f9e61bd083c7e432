//! `perf-fixer serve`, `perf-fixer worker` and `perf-fixer migrate`: the GitHub App service.

use clap::Args;
use perf_fixer_server::settings::{Role, ServiceArgs};

use crate::exit;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
}

/// Validates the settings for `role`; on a problem prints every one of them and returns exit 2.
fn settings(args: &ServiceArgs, role: Role) -> Result<perf_fixer_server::settings::Settings, u8> {
    args.validate(role).map_err(|err| {
        eprintln!("perf-fixer: {err}");
        exit::BAD_INPUT
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("perf-fixer: cannot start the async runtime: {e}");
            exit::ERROR
        })
}

fn finish(result: Result<(), perf_fixer_server::service::ServiceError>) -> u8 {
    match result {
        Ok(()) => exit::OK,
        Err(err) => {
            eprintln!("perf-fixer: {err}");
            exit::ERROR
        }
    }
}

pub fn serve(args: ServeArgs) -> u8 {
    let service = args.service.with_default_app_env_file();
    if service.setup {
        return setup(&service);
    }
    let settings = match settings(&service, Role::Serve) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    finish(rt.block_on(perf_fixer_server::service::serve(
        settings,
        perf_fixer_server::service::shutdown_signal(),
    )))
}

/// Setup mode (`PERF_FIXER_SETUP=1`): only /setup, to register the GitHub App. Chosen
/// explicitly, never because App settings are missing: a server whose secrets failed to mount
/// must stop with exit 2, not open a registration page to the internet.
fn setup(service: &ServiceArgs) -> u8 {
    let settings = match service.validate_setup() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("perf-fixer: {err}");
            return exit::BAD_INPUT;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    finish(rt.block_on(perf_fixer_server::setup::serve(
        settings,
        perf_fixer_server::service::shutdown_signal(),
    )))
}

pub fn worker(args: ServeArgs) -> u8 {
    let service = args.service.with_default_app_env_file();
    let settings = match settings(&service, Role::Worker) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    finish(rt.block_on(perf_fixer_server::service::run_workers(
        settings,
        perf_fixer_server::service::shutdown_signal(),
    )))
}

pub fn migrate(args: ServeArgs) -> u8 {
    let settings = match settings(&args.service, Role::Migrate) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(perf_fixer_server::service::migrate(&settings));
    if result.is_ok() {
        eprintln!("perf-fixer: migrations applied");
    }
    finish(result)
}

/// The service logs JSON lines (one object per event, with the span fields: delivery and job
/// IDs), at `info` unless `PERF_FIXER_LOG` says otherwise.
pub fn init_json_logging() {
    use tracing_subscriber::util::SubscriberInitExt;
    perf_fixer_server::logging::json_subscriber(
        perf_fixer_server::logging::filter_from_env(),
        std::io::stderr,
    )
    .init();
}
