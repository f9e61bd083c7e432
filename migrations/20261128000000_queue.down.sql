DROP TABLE IF EXISTS deliveries;
DROP TABLE IF EXISTS job_events;
DROP TABLE IF EXISTS jobs;
DROP TABLE IF EXISTS installation_repositories;
DROP TABLE IF EXISTS installations;
