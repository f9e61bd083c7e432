-- perf-fixer storage: GitHub App installations, webhook deliveries, the job queue and its
-- event log. States and triggers are TEXT with CHECK constraints (not Postgres enums) so a
-- later migration can add a value without ALTER TYPE, which cannot run in a transaction.

CREATE TABLE installations (
    id            BIGINT PRIMARY KEY,            -- GitHub installation id
    account_login TEXT NOT NULL,
    account_type  TEXT NOT NULL,                 -- "User" or "Organization"
    suspended_at  TIMESTAMPTZ,
    deleted_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE installation_repositories (
    installation_id BIGINT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    repo_id         BIGINT NOT NULL,             -- GitHub repository id (stable across renames)
    full_name       TEXT NOT NULL,               -- "owner/name"
    added_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (installation_id, repo_id)
);
CREATE INDEX installation_repositories_full_name ON installation_repositories (full_name);

CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    state            TEXT NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    trigger          TEXT NOT NULL CHECK (trigger IN ('check_run', 'comment', 'manual')),
    installation_id  BIGINT,
    repo             TEXT NOT NULL,              -- "owner/name"
    pr_number        BIGINT,
    base_sha         TEXT,
    head_sha         TEXT NOT NULL,
    head_ref         TEXT,
    base_ref         TEXT,
    requested_by     TEXT,
    bench_filter     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after        TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    result           JSONB,
    error            TEXT,
    comment_id       BIGINT,
    check_run_id     BIGINT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    -- A running job always has a lease; any other state never has one.
    CONSTRAINT jobs_lease_matches_state CHECK (
        (state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)
    )
);

-- One active job per (repo, head SHA, trigger): a redelivered or repeated request joins the
-- job already queued or running instead of measuring the same commit twice.
CREATE UNIQUE INDEX jobs_one_active_per_key ON jobs (repo, head_sha, trigger)
    WHERE state IN ('queued', 'running');
-- The claim query: oldest due queued job first.
CREATE INDEX jobs_claimable ON jobs (run_after, id) WHERE state = 'queued';
-- The reaper: running jobs by lease expiry.
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- Superseded-head cancellation and `/perf-fix status`: jobs of one pull request.
CREATE INDEX jobs_repo_pr ON jobs (repo, pr_number, id);

CREATE TABLE job_events (
    id      BIGSERIAL PRIMARY KEY,
    job_id  BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    stage   TEXT NOT NULL,
    message TEXT NOT NULL,
    data    JSONB
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE deliveries (
    delivery_id     TEXT PRIMARY KEY,            -- X-GitHub-Delivery
    event           TEXT NOT NULL,               -- X-GitHub-Event
    action          TEXT,
    installation_id BIGINT,
    repo            TEXT,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    outcome         TEXT NOT NULL,
    job_id          BIGINT REFERENCES jobs (id) ON DELETE SET NULL
);
CREATE INDEX deliveries_received_at ON deliveries (received_at);
