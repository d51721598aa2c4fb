//! One adapter suite, run unchanged against SQLite and PostgreSQL: every
//! behaviour is a function in `suite`, instantiated once per engine.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test binary: a failed unwrap is a failed test

mod fixture;
mod suite;

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::suite::$name(crate::fixture::Engine::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::suite::$name(crate::fixture::Engine::Postgres).await;
                }
            )*
        }
    };
}

on_both_engines!(
    create_then_get_and_find_round_trip_every_field,
    case_insensitive_keys_make_the_database_refuse_case_variants,
    exact_keys_allow_case_variants_as_drr_does,
    booked_addresses_are_shared_until_one_account_confirms_its_entry,
    imported_address_books_keep_their_ids_and_later_entries_come_after_them,
    create_queues_its_announcement_and_a_failed_create_queues_nothing,
    update_applies_only_given_fields_and_queues_atomically,
    guarded_update_applies_once_and_reports_the_loser,
    concurrent_guarded_updates_let_exactly_one_win,
    concurrent_registrations_of_one_email_let_exactly_one_win,
    renaming_onto_a_taken_name_is_a_conflict,
    outbox_leases_retries_and_gives_up,
    an_expired_lease_is_claimed_again,
    the_backlog_counts_waiting_mail_and_dates_the_oldest,
    users_are_listed_page_by_page_and_can_be_disabled,
    live_credentials_are_counted_by_kind_and_expired_ones_are_not,
    concurrent_claims_never_share_a_row,
    tokens_are_issued_resolved_revoked_and_stored_only_as_digests,
    one_token_per_user_mode_returns_the_same_token_until_revoked,
    credentials_are_refused_after_their_lifetime,
    owners_list_their_live_credentials_and_revoke_one_by_its_public_id,
    credentials_unused_for_the_idle_timeout_are_refused_and_use_cannot_pass_the_lifetime,
    put_writes_a_user_under_its_own_id_and_replaces_it_on_a_rerun,
    an_adopted_token_authenticates_its_user_and_is_adopted_once,
    rekeying_for_case_insensitive_matching_reports_clashes_and_changes_nothing_until_none,
);

/// The embedded in-memory database has a single connection: a store
/// operation must never wait for a second one while holding the first.
#[tokio::test]
async fn an_in_memory_database_revokes_one_per_user_tokens_on_its_single_connection() {
    use auth_core::domain::UserId;
    use auth_core::ports::{CredentialKind, FixedClock, Matching, TokenManager};
    use auth_sql::{SqliteStore, TokenMode};

    let pool = SqliteStore::connect("sqlite::memory:").await.unwrap();
    SqliteStore::migrate(&pool).await.unwrap();
    sqlx::query("INSERT INTO users (username, username_key, password_hash, verified, date_joined) VALUES ('ann', 'ann', 'x', 1, 0)")
        .execute(&pool)
        .await
        .unwrap();
    let mode = TokenMode::OnePerUser {
        key: zeroize::Zeroizing::new(b"secret".to_vec()),
    };
    let clock = std::sync::Arc::new(FixedClock::new(time::OffsetDateTime::UNIX_EPOCH));
    let store = SqliteStore::new(pool, Matching::Exact, mode, clock);
    let user = UserId::new(1);
    let token = store.provide(user, CredentialKind::Token).await.unwrap();
    let revoked = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        store.revoke(&token, CredentialKind::Token),
    )
    .await
    .expect("revoke waited for a second connection");
    assert!(revoked.unwrap().is_some());
    let all = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        store.revoke_all(user, None, None),
    )
    .await
    .expect("revoke_all waited for a second connection");
    assert_eq!(all.unwrap(), 0);
}
