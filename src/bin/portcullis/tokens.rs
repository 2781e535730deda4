//! `tokens purge | revoke` and `consent list | revoke`.

use portcullis::{Clock as _, SystemClock};
use serde::Serialize;

use crate::output::{Output, fields, table, time};
use crate::{ConsentCommand, Ctx, Failure, RevokeArgs, TokensCommand};

/// `tokens purge`: what was (or, with `--dry-run`, would be) deleted.
#[derive(Serialize)]
struct Purged {
    dry_run: bool,
    codes: u64,
    access_tokens: u64,
    refresh_tokens: u64,
    keys: u64,
}

/// `tokens revoke`: one of the ids is set.
#[derive(Serialize)]
struct Revoked {
    client_id: Option<String>,
    user_id: Option<String>,
    revoked: u64,
}

/// A consent as printed.
#[derive(Serialize)]
struct ConsentView {
    user_id: String,
    client_id: String,
    scope: String,
    granted_at: u64,
}

/// `consent revoke`.
#[derive(Serialize)]
struct ConsentRevoked {
    user_id: String,
    client_id: String,
    consent_revoked: bool,
    tokens_revoked: u64,
}

pub(crate) async fn run(ctx: &Ctx, cmd: TokensCommand) -> Result<Output, Failure> {
    match cmd {
        TokensCommand::Purge { server, dry_run } => {
            let config = crate::keys::config(&server, portcullis::Algorithm::Es256)?;
            let db = ctx.open(false).await?;
            let result = purge(&db, config, dry_run).await;
            db.close().await;
            result
        }
        TokensCommand::Revoke(args) => {
            let db = ctx.open(false).await?;
            let result = revoke(&db, args).await;
            db.close().await;
            result
        }
    }
}

async fn purge(
    db: &crate::db::Db,
    config: portcullis::Config,
    dry_run: bool,
) -> Result<Output, Failure> {
    let now = SystemClock.now();
    let (counts, keys) = if dry_run {
        let counts = db.count_expired(now).await?;
        let keys = db
            .keys()
            .keys()
            .await
            .map_err(|e| Failure::store("list keys", &e))?
            .iter()
            .filter(|k| !k.published_at(now))
            .count();
        (counts, u64::try_from(keys).unwrap_or(u64::MAX))
    } else {
        let server = db.server(config)?;
        let counts = db
            .tokens()
            .purge_expired(now)
            .await
            .map_err(|e| Failure::store("purge tokens", &e))?;
        db.replays()
            .purge_replays(now)
            .await
            .map_err(|e| Failure::store("purge the replay cache", &e))?;
        // The store-backed throttle's ended windows (schema 16).
        db.throttle()
            .purge_throttle(now)
            .await
            .map_err(|e| Failure::store("purge the throttle counts", &e))?;
        let keys = server
            .purge_keys()
            .await
            .map_err(|e| Failure::store("purge keys", &e))?;
        (counts, keys)
    };
    let out = Purged {
        dry_run,
        codes: counts.codes,
        access_tokens: counts.access_tokens,
        refresh_tokens: counts.refresh_tokens,
        keys,
    };
    let text = fields(&[
        ("dry_run", dry_run.to_string()),
        ("codes", out.codes.to_string()),
        ("access_tokens", out.access_tokens.to_string()),
        ("refresh_tokens", out.refresh_tokens.to_string()),
        ("keys", out.keys.to_string()),
    ]);
    let out = Output::new(&out, text)?;
    Ok(if dry_run {
        out.note("dry run: nothing was deleted")
    } else {
        out
    })
}

async fn revoke(db: &crate::db::Db, args: RevokeArgs) -> Result<Output, Failure> {
    let mut notes = Vec::new();
    let out = match (args.client, args.user) {
        (Some(client), None) => {
            // A deleted client may still have tokens: revoke them anyway,
            // but say so, in case the id was mistyped.
            let known = db
                .clients()
                .client(&client)
                .await
                .map_err(|e| Failure::store("find client", &e))?
                .is_some();
            if !known {
                notes.push(format!("no client {client} is registered"));
            }
            let revoked = db
                .tokens()
                .revoke_client(&client)
                .await
                .map_err(|e| Failure::store("revoke tokens", &e))?;
            Revoked {
                client_id: Some(client.to_string()),
                user_id: None,
                revoked,
            }
        }
        (None, Some(user)) => {
            let revoked = db
                .tokens()
                .revoke_user(&user)
                .await
                .map_err(|e| Failure::store("revoke tokens", &e))?;
            Revoked {
                client_id: None,
                user_id: Some(user.to_string()),
                revoked,
            }
        }
        _ => {
            return Err(Failure::Input(
                "give exactly one of --client and --user".into(),
            ));
        }
    };
    let mut pairs = Vec::new();
    if let Some(c) = &out.client_id {
        pairs.push(("client_id", c.clone()));
    }
    if let Some(u) = &out.user_id {
        pairs.push(("user_id", u.clone()));
    }
    pairs.push(("revoked", out.revoked.to_string()));
    let mut output = Output::new(&out, fields(&pairs))?;
    for n in notes {
        output = output.note(n);
    }
    Ok(output)
}

pub(crate) async fn consent(ctx: &Ctx, cmd: ConsentCommand) -> Result<Output, Failure> {
    match cmd {
        ConsentCommand::List { user } => {
            let db = ctx.open(false).await?;
            let result = db.consents().consents(&user).await;
            db.close().await;
            let consents = result.map_err(|e| Failure::store("list consent", &e))?;
            let views: Vec<ConsentView> = consents
                .iter()
                .map(|c| ConsentView {
                    user_id: c.user.to_string(),
                    client_id: c.client_id.to_string(),
                    scope: c.scope.to_string(),
                    granted_at: c.granted_at.as_secs(),
                })
                .collect();
            let rows: Vec<Vec<String>> = views
                .iter()
                .map(|v| {
                    vec![
                        v.client_id.clone(),
                        if v.scope.is_empty() {
                            "-".to_owned()
                        } else {
                            v.scope.clone()
                        },
                        time(v.granted_at),
                    ]
                })
                .collect();
            let text = table(
                &["CLIENT_ID", "SCOPE", "GRANTED_AT"],
                &rows,
                &format!("no consent stored for user {user}"),
            );
            Output::new(&views, text)
        }
        ConsentCommand::Revoke {
            user,
            client,
            keep_tokens,
        } => {
            let db = ctx.open(false).await?;
            let result = async {
                let consent_revoked = db
                    .consents()
                    .revoke_consent(&user, &client)
                    .await
                    .map_err(|e| Failure::store("withdraw consent", &e))?;
                let tokens_revoked = if keep_tokens {
                    0
                } else {
                    db.revoke_user_client(&user, &client).await?
                };
                Ok((consent_revoked, tokens_revoked))
            }
            .await;
            db.close().await;
            let (consent_revoked, tokens_revoked) = result?;
            if !consent_revoked && tokens_revoked == 0 {
                return Err(Failure::NotFound(format!(
                    "user {user} has no consent{} for client {client}",
                    if keep_tokens { "" } else { " and no tokens" }
                )));
            }
            let out = ConsentRevoked {
                user_id: user.to_string(),
                client_id: client.to_string(),
                consent_revoked,
                tokens_revoked,
            };
            let text = fields(&[
                ("user_id", out.user_id.clone()),
                ("client_id", out.client_id.clone()),
                ("consent_revoked", consent_revoked.to_string()),
                ("tokens_revoked", tokens_revoked.to_string()),
            ]);
            Output::new(&out, text)
        }
    }
}
