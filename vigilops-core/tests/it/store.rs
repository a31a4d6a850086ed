use vigilops_core::store::conformance;
use vigilops_core::store::testing::{fresh_postgres, fresh_sqlite};

#[tokio::test]
async fn sqlite_store_conforms() {
    let sqlite = fresh_sqlite().await;
    conformance::run_all(&sqlite.store).await;
}

#[tokio::test]
async fn postgres_store_conforms() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    conformance::run_all(&postgres.store).await;
    postgres.drop_database().await;
}
