//! The SQL stores' grant rows (`portcullis_grants`, schema 4), which let a
//! revocation win against the steps in flight in its grant (RB-05, issue 15
//! finding 1): what takes a row, what a revoked row refuses, and that
//! `purge_expired` forgets a row once nothing of its grant is stored. The
//! race itself is a conformance clause (`revocation_wins_against_*`).

use std::time::Duration;

use portcullis::RandomSource as _;
use portcullis::{
    AccessRecord, ClientId, CodeRecord, GrantId, NewTokens, RefreshRecord, ScopeSet, SystemRandom,
    TokenHash, UnixTime, UserId,
};

/// Far from the conformance clauses' times, so their purges and ours
/// remove nothing of each other's.
pub(crate) const NOW: u64 = 1_500_000_000;

/// A hash no other test (or earlier run on a shared database) has used.
pub(crate) fn fresh_hash() -> TokenHash {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).unwrap();
    TokenHash::of(&format!("grants-{bytes:?}"))
}

pub(crate) fn code(client: &ClientId, user: &UserId) -> CodeRecord {
    let hash = fresh_hash();
    CodeRecord {
        hash,
        grant: GrantId::derive(&hash),
        client_id: client.clone(),
        subject: user.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        redirect_uri: None,
        challenge: None,
        issued_at: UnixTime::from_secs(NOW),
        expires_at: UnixTime::from_secs(NOW + 60),
        used: false,
        openid: None,
        resources: Vec::new(),
        dpop_jkt: None,
    }
}

/// Tokens living an hour, joining `grant`, or starting their own grant (its
/// id derived from the access token's hash, as the server's `issue` does)
/// when `None`; with a refresh token when `refresh`.
pub(crate) fn tokens(grant: Option<GrantId>, client: &ClientId, refresh: bool) -> NewTokens {
    let now = UnixTime::from_secs(NOW);
    let later = now.plus(Duration::from_secs(3600));
    let hash = fresh_hash();
    let grant = grant.unwrap_or_else(|| GrantId::derive(&hash));
    NewTokens {
        access: AccessRecord {
            hash,
            grant,
            client_id: client.clone(),
            subject: None,
            scope: ScopeSet::parse("read").unwrap(),
            issued_at: now,
            expires_at: later,
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            act: None,
        },
        refresh: refresh.then(|| RefreshRecord {
            hash: fresh_hash(),
            grant,
            client_id: client.clone(),
            subject: None,
            scope: ScopeSet::parse("read").unwrap(),
            issued_at: now,
            expires_at: later,
            used: false,
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            successor: None,
        }),
    }
}

/// The tests, for a store made by `$store()` (an `Option`: `None` skips);
/// attributes before it go on every test. `$isolated()` makes a store on a
/// database of its own, for the test that asserts on what `purge_expired`
/// removes: it removes member-less grant rows of the whole database, so a
/// concurrent test's purge on a shared one would remove this test's
/// revoked row under it.
macro_rules! grant_row_tests {
    ($(#[$m:meta])* $store:path, isolated = $isolated:path) => {
        mod grant_rows {
            use portcullis::{ClientId, Exchange, TokenAdmin, TokenStore, UnixTime, UserId};

            use crate::grants::{NOW, code, fresh_hash, tokens};

            /// `portcullis_grants` rows for `grant`: (all, marked revoked).
            macro_rules! rows {
                ($s:expr, $grant:expr) => {{
                    let id = $grant.as_bytes().as_slice();
                    let all: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM portcullis_grants WHERE grant_id = $1")
                        .bind(id)
                        .fetch_one($s.pool())
                        .await
                        .unwrap();
                    let revoked: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM portcullis_grants WHERE grant_id = $1 AND revoked = TRUE")
                        .bind(id)
                        .fetch_one($s.pool())
                        .await
                        .unwrap();
                    (all.0, revoked.0)
                }};
            }

            fn ids() -> (ClientId, UserId) {
                let n = fresh_hash().to_string();
                (
                    ClientId::parse(&format!("client-{}", &n[..16])).unwrap(),
                    UserId::parse(&format!("user-{}", &n[..16])).unwrap(),
                )
            }

            /// A token that starts its own grant (every `client_credentials`
            /// and `password` token) takes no grant row: the hot path pays
            /// no extra statement. An exchange takes one, live.
            // covers: RB-05
            // issue 15 finding 1
            #[tokio::test]
            $(#[$m])*
            async fn only_steps_in_existing_grants_take_a_row() {
                let Some(s) = $store().await else { return };
                let (client, user) = ids();
                let alone = tokens(None, &client, false);
                s.issue(alone.clone()).await.unwrap();
                assert_eq!(rows!(s, alone.access.grant), (0, 0));
                let c = code(&client, &user);
                s.insert_code(c.clone()).await.unwrap();
                assert_eq!(rows!(s, c.grant), (0, 0), "a code takes no row until exchanged");
                assert_eq!(s.exchange_code(&c.hash, tokens(Some(c.grant), &client, true)).await.unwrap(), Exchange::Issued);
                assert_eq!(rows!(s, c.grant), (1, 0));
            }

            /// A revoked grant keeps its mark while it matters: tokens
            /// joining it are refused; `purge_expired` forgets the mark once
            /// nothing of the grant is stored, and keeps a live grant's row.
            // covers: RB-05
            // issue 15 finding 1
            #[tokio::test]
            $(#[$m])*
            async fn a_revoked_grant_refuses_tokens_and_its_mark_is_purged_with_it() {
                // Alone in its database: another test's purge would forget
                // the revoked mark (and the live grant's row, once its
                // tokens expire at that test's time) before the asserts.
                let Some(s) = $isolated().await else { return };
                let (client, user) = ids();
                let (revoked, live) = (code(&client, &user), code(&client, &user));
                for c in [&revoked, &live] {
                    s.insert_code(c.clone()).await.unwrap();
                    s.exchange_code(&c.hash, tokens(Some(c.grant), &client, true)).await.unwrap();
                }
                s.revoke_grant(&revoked.grant).await.unwrap();
                assert_eq!(rows!(s, revoked.grant), (1, 1), "revocation marks the grant");
                assert!(
                    s.issue(tokens(Some(revoked.grant), &client, true)).await.is_err(),
                    "tokens joining a revoked grant must be refused"
                );
                // Nothing has expired at NOW + 10: only member-less rows go.
                s.purge_expired(UnixTime::from_secs(NOW + 10)).await.unwrap();
                assert_eq!(rows!(s, revoked.grant), (0, 0), "a revoked grant with nothing stored is forgotten");
                assert_eq!(rows!(s, live.grant), (1, 0), "a live grant's row was purged");
            }
        }
    };
}
