//! `keys generate | rotate | import | list`: through the server's own
//! rotation (`ensure_signing_keys`, `rotate_keys_for`, `rotate_in_key`), so
//! the timing rules are the library's. Each command works on the keys of
//! one algorithm (`--algorithm`): the ring keeps a current key per
//! algorithm, e.g. RS256 for ID Tokens beside ES256 for access tokens. A
//! private key is never printed.

use std::sync::Arc;
use std::time::Duration;

use portcullis::{
    Algorithm, AuthorizationServer, Clock as _, Config, KeyId, KeyRecord, MemoryStore,
    RandomSource as _, RotationError, SystemClock, SystemRandom, UnixTime,
};
use serde::Serialize;

use crate::output::{Output, fields, opt_time, table, time};
use crate::{Ctx, Failure, KeysCommand, ServerArgs};

/// A key as printed: its id, algorithm, life and state; no key material.
#[derive(Serialize)]
pub(crate) struct KeyView {
    kid: String,
    algorithm: &'static str,
    /// `pending`, `signing`, `retired` or `dropped`.
    state: &'static str,
    /// Whether the key is in the JWKS now.
    published: bool,
    created_at: u64,
    not_before: u64,
    not_after: Option<u64>,
    drop_after: Option<u64>,
}

/// Where a key is in its life at `now`.
pub(crate) fn state(k: &KeyRecord, now: UnixTime) -> &'static str {
    // A key retired before it ever signed will never sign: retired.
    let will_sign = k.not_after.is_none_or(|t| t > k.not_before);
    if !k.published_at(now) {
        "dropped"
    } else if k.signs_at(now) {
        "signing"
    } else if now < k.not_before && will_sign {
        "pending"
    } else {
        "retired"
    }
}

impl KeyView {
    fn of(k: &KeyRecord, now: UnixTime) -> Self {
        Self {
            kid: k.kid.to_string(),
            algorithm: k.alg.as_str(),
            state: state(k, now),
            published: k.published_at(now),
            created_at: k.created_at.as_secs(),
            not_before: k.not_before.as_secs(),
            not_after: k.not_after.map(UnixTime::as_secs),
            drop_after: k.drop_after.map(UnixTime::as_secs),
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("kid", self.kid.clone()),
            ("algorithm", self.algorithm.to_owned()),
            ("state", self.state.to_owned()),
            ("published", self.published.to_string()),
            ("created_at", time(self.created_at)),
            ("not_before", time(self.not_before)),
            ("not_after", opt_time(self.not_after)),
            ("drop_after", opt_time(self.drop_after)),
        ]
    }
}

/// `keys generate`.
#[derive(Serialize)]
struct Generated {
    #[serde(flatten)]
    key: KeyView,
    /// Whether a key was made (`false`: one already signed).
    generated: bool,
    /// The keys that stopped signing (only with `--force`).
    retired: Vec<String>,
}

/// `keys rotate` and `keys import`.
#[derive(Serialize)]
struct Rotated {
    #[serde(flatten)]
    key: KeyView,
    /// The keys that stop signing when this one starts.
    retired: Vec<String>,
}

/// The server configuration for key work, checked before the database is
/// opened (a bad issuer is bad input, whatever the database).
pub(crate) fn config(s: &ServerArgs, alg: Algorithm) -> Result<Config, Failure> {
    let mut c = Config::new(s.issuer.clone());
    c.signing_algorithm = alg;
    c.key_publish_lead = Duration::from_secs(s.publish_lead);
    c.jwt_max_lifetime = Duration::from_secs(s.jwt_max_lifetime);
    AuthorizationServer::builder(c.clone())
        .store(Arc::new(MemoryStore::new()))
        .build()
        .map_err(|e| Failure::Input(format!("--issuer {}: {e}", s.issuer)))?;
    Ok(c)
}

fn rotation_failure(context: &str) -> impl Fn(RotationError) -> Failure + '_ {
    move |e| match e {
        RotationError::Key(k) => Failure::Input(format!("{context}: {k}")),
        other => Failure::store(context, &other),
    }
}

async fn records(db: &crate::db::Db) -> Result<Vec<KeyRecord>, Failure> {
    let mut keys = db
        .keys()
        .keys()
        .await
        .map_err(|e| Failure::store("list keys", &e))?;
    keys.sort_by(|a, b| {
        (a.created_at, a.not_before, &a.kid).cmp(&(b.created_at, b.not_before, &b.kid))
    });
    Ok(keys)
}

async fn record(db: &crate::db::Db, kid: &KeyId) -> Result<KeyRecord, Failure> {
    records(db)
        .await?
        .into_iter()
        .find(|k| &k.kid == kid)
        .ok_or_else(|| Failure::Store(format!("key {kid} is not stored after all")))
}

fn new_kid() -> Result<KeyId, Failure> {
    let mut b = [0u8; 12];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|e| Failure::Store(format!("cannot generate a key id: {e}")))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    KeyId::parse(&hex).ok_or_else(|| Failure::Store("generated key id is invalid".into()))
}

pub(crate) async fn run(ctx: &Ctx, cmd: KeysCommand) -> Result<Output, Failure> {
    match cmd {
        KeysCommand::List => {
            let db = ctx.open(false).await?;
            let result = records(&db).await;
            db.close().await;
            let now = SystemClock.now();
            let views: Vec<KeyView> = result?.iter().map(|k| KeyView::of(k, now)).collect();
            let rows: Vec<Vec<String>> = views
                .iter()
                .map(|v| {
                    vec![
                        v.kid.clone(),
                        v.algorithm.to_owned(),
                        v.state.to_owned(),
                        time(v.created_at),
                        time(v.not_before),
                        opt_time(v.not_after),
                        opt_time(v.drop_after),
                    ]
                })
                .collect();
            let text = table(
                &[
                    "KID",
                    "ALGORITHM",
                    "STATE",
                    "CREATED_AT",
                    "NOT_BEFORE",
                    "NOT_AFTER",
                    "DROP_AFTER",
                ],
                &rows,
                "no keys",
            );
            Output::new(&views, text)
        }
        KeysCommand::Generate {
            server,
            algorithm,
            force,
        } => {
            let config = config(&server, algorithm)?;
            let db = ctx.open(false).await?;
            let result = generate(&db, config, algorithm, force).await;
            db.close().await;
            result
        }
        KeysCommand::Rotate { server, algorithm } => {
            let config = config(&server, algorithm)?;
            let db = ctx.open(false).await?;
            let result = async {
                let server = db.server(config)?;
                let current = current_kids(&db, algorithm).await?;
                let kid = server
                    .rotate_keys_for(algorithm)
                    .await
                    .map_err(rotation_failure("rotate keys"))?;
                rotated(&db, &kid, current).await
            }
            .await;
            db.close().await;
            result
        }
        KeysCommand::Import {
            server,
            algorithm,
            pkcs8,
        } => {
            let config = config(&server, algorithm)?;
            let der = std::fs::read(&pkcs8)
                .map_err(|e| Failure::Input(format!("cannot read {}: {e}", pkcs8.display())))?;
            let db = ctx.open(false).await?;
            let result = async {
                let server = db.server(config)?;
                let current = current_kids(&db, algorithm).await?;
                let now = SystemClock.now();
                // As a rotation: published now, signing after the lead when
                // a key (of any algorithm) is current already, at once
                // otherwise.
                let any_current = records(&db).await?.iter().any(|k| k.not_after.is_none());
                let starts = if !any_current {
                    now
                } else {
                    now.plus(server.config().key_publish_lead)
                };
                let key = KeyRecord::from_pkcs8(algorithm, new_kid()?, der, now, starts)
                    .map_err(|e| Failure::Input(format!("{}: {e}", pkcs8.display())))?;
                let kid = server
                    .rotate_in_key(key)
                    .await
                    .map_err(rotation_failure("import key"))?;
                rotated(&db, &kid, current).await
            }
            .await;
            db.close().await;
            result
        }
    }
}

/// The keys of `alg` without an end: the ones a rotation to a new key of
/// `alg` retires.
async fn current_kids(db: &crate::db::Db, alg: Algorithm) -> Result<Vec<String>, Failure> {
    Ok(records(db)
        .await?
        .iter()
        .filter(|k| k.alg == alg && k.not_after.is_none())
        .map(|k| k.kid.to_string())
        .collect())
}

async fn rotated(
    db: &crate::db::Db,
    kid: &KeyId,
    mut retired: Vec<String>,
) -> Result<Output, Failure> {
    retired.retain(|k| k != kid.as_str());
    let view = KeyView::of(&record(db, kid).await?, SystemClock.now());
    let mut pairs = view.fields();
    pairs.push(("retired", dash_list(&retired)));
    let text = fields(&pairs);
    Output::new(&Rotated { key: view, retired }, text)
}

async fn generate(
    db: &crate::db::Db,
    config: Config,
    algorithm: Algorithm,
    force: bool,
) -> Result<Output, Failure> {
    let max_lifetime = config.jwt_max_lifetime;
    let server = db.server(config)?;
    let before = records(db).await?;
    let mut retired = Vec::new();
    let kid = if force {
        let now = SystemClock.now();
        let key = KeyRecord::generate(algorithm, new_kid()?, now, now)
            .map_err(|e| Failure::Input(format!("generate key: {e}")))?;
        let kid = server
            .rotate_in_key(key)
            .await
            .map_err(rotation_failure("generate key"))?;
        // Every other key of the algorithm that signs now or would sign
        // later stops now, so only the new key signs for it; each stays
        // published as long as a token it signed may live. Keys of other
        // algorithms go on signing.
        for k in before.iter().filter(|k| k.alg == algorithm) {
            let active = k.published_at(now) && k.not_after.is_none_or(|t| t > now);
            if active && k.kid != kid {
                db.keys()
                    .retire_key(&k.kid, now, now.plus(max_lifetime))
                    .await
                    .map_err(|e| Failure::store("retire key", &e))?;
                retired.push(k.kid.to_string());
            }
        }
        kid
    } else {
        server
            .ensure_signing_keys(&[algorithm])
            .await
            .map_err(rotation_failure("generate key"))?
            .pop()
            .ok_or_else(|| Failure::Store("no key was ensured".into()))?
    };
    let generated = !before.iter().any(|k| k.kid == kid);
    let view = KeyView::of(&record(db, &kid).await?, SystemClock.now());
    let mut pairs = view.fields();
    pairs.push(("generated", generated.to_string()));
    pairs.push(("retired", dash_list(&retired)));
    let text = fields(&pairs);
    Output::new(
        &Generated {
            key: view,
            generated,
            retired,
        },
        text,
    )
}

fn dash_list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(" ")
    }
}
