//! GitHub App installations and the repositories each can access, kept current from the
//! `installation` and `installation_repositories` webhooks.

use crate::model::{Installation, InstallationRepo, NewInstallation};
use crate::{Store, StoreError};

impl Store {
    /// Creates or updates an installation; a re-created installation is no longer deleted.
    pub async fn upsert_installation(
        &self,
        installation: &NewInstallation,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO installations (id, account_login, account_type) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE
             SET account_login = EXCLUDED.account_login, account_type = EXCLUDED.account_type,
                 deleted_at = NULL, updated_at = now()",
        )
        .bind(installation.id)
        .bind(&installation.account_login)
        .bind(&installation.account_type)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an installation suspended (or no longer suspended).
    pub async fn set_installation_suspended(
        &self,
        id: i64,
        suspended: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE installations
             SET suspended_at = CASE WHEN $2 THEN COALESCE(suspended_at, now()) END, updated_at = now()
             WHERE id = $1",
        )
        .bind(id)
        .bind(suspended)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The App was uninstalled: the installation is kept (marked deleted) for the job history,
    /// its repositories are forgotten.
    pub async fn remove_installation(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE installations SET deleted_at = now(), updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM installation_repositories WHERE installation_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies an `installation_repositories` change: `added` inserted (or renamed),
    /// `removed` (GitHub repository ids) deleted. The installation must exist.
    pub async fn set_installation_repositories(
        &self,
        installation_id: i64,
        added: &[InstallationRepo],
        removed: &[i64],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        add_repositories(&mut tx, installation_id, added).await?;
        sqlx::query("DELETE FROM installation_repositories WHERE installation_id = $1 AND repo_id = ANY($2)")
            .bind(installation_id)
            .bind(removed)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the whole repository list (the `installation created` event lists them all).
    pub async fn replace_installation_repositories(
        &self,
        installation_id: i64,
        repos: &[InstallationRepo],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM installation_repositories WHERE installation_id = $1")
            .bind(installation_id)
            .execute(&mut *tx)
            .await?;
        add_repositories(&mut tx, installation_id, repos).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn installation(&self, id: i64) -> Result<Option<Installation>, StoreError> {
        let installation =
            sqlx::query_as::<_, Installation>("SELECT * FROM installations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(installation)
    }

    /// The repositories of an installation, by name.
    pub async fn installation_repositories(
        &self,
        installation_id: i64,
    ) -> Result<Vec<InstallationRepo>, StoreError> {
        let repos = sqlx::query_as::<_, InstallationRepo>(
            "SELECT repo_id, full_name FROM installation_repositories
             WHERE installation_id = $1 ORDER BY full_name",
        )
        .bind(installation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(repos)
    }

    /// The live (not deleted, not suspended) installation that can access `full_name`.
    pub async fn installation_for_repo(&self, full_name: &str) -> Result<Option<i64>, StoreError> {
        let id = sqlx::query_scalar(
            "SELECT i.id FROM installation_repositories r JOIN installations i ON i.id = r.installation_id
             WHERE lower(r.full_name) = lower($1) AND i.deleted_at IS NULL AND i.suspended_at IS NULL
             ORDER BY i.id LIMIT 1",
        )
        .bind(full_name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }
}

async fn add_repositories(
    conn: &mut sqlx::PgConnection,
    installation_id: i64,
    repos: &[InstallationRepo],
) -> Result<(), StoreError> {
    if repos.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = repos.iter().map(|r| r.repo_id).collect();
    let names: Vec<&str> = repos.iter().map(|r| r.full_name.as_str()).collect();
    sqlx::query(
        "INSERT INTO installation_repositories (installation_id, repo_id, full_name)
         SELECT $1, repo_id, full_name FROM UNNEST($2::bigint[], $3::text[]) AS r (repo_id, full_name)
         ON CONFLICT (installation_id, repo_id) DO UPDATE SET full_name = EXCLUDED.full_name",
    )
    .bind(installation_id)
    .bind(&ids)
    .bind(&names)
    .execute(conn)
    .await?;
    Ok(())
}
