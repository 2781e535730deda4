//! Opaque tokens: their entropy and how stores keep them (TK-01, TK-02).

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::dangerous::DeterministicRandom;
use portcullis::{TokenHash, TokenStore};

use crate::support::*;

fn assert_256_bit_opaque(token: &str) {
    assert_eq!(token.len(), 43, "{token}");
    let raw = URL_SAFE_NO_PAD.decode(token).expect("base64url");
    assert_eq!(raw.len(), 32, "256 bits");
}

#[tokio::test]
async fn tk01_tokens_carry_256_random_bits_and_never_repeat() {
    // covers: TK-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let code = h.issue_code(CodeSpec::new(SVC)).await;
        let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
        let refresh = refresh.unwrap();
        let (cc, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        for t in [access, refresh, cc] {
            assert_256_bit_opaque(&t);
            assert!(seen.insert(t), "a token repeated");
        }
    }
    // Bytes are not constant: every byte position takes many values.
    let decoded: Vec<Vec<u8>> = seen
        .iter()
        .map(|t| URL_SAFE_NO_PAD.decode(t).unwrap())
        .collect();
    for i in 0..32 {
        let distinct: HashSet<u8> = decoded.iter().map(|d| d[i]).collect();
        assert!(distinct.len() > 50, "byte {i} looks fixed");
    }
}

#[tokio::test]
async fn tk01_tokens_come_from_the_injected_random_source() {
    // covers: TK-01
    // The default source is the OS CSPRNG; an injected one is used instead,
    // which shows every token byte is drawn from the RandomSource.
    let mint = |seed: u64| async move {
        let h = Harness::with(config(), |b| {
            b.random(Arc::new(DeterministicRandom::new(seed)))
        })
        .await;
        let svc = h.svc().await;
        let (a, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        let (b, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        (a, b)
    };
    let (a1, b1) = mint(7).await;
    let (a2, b2) = mint(7).await;
    let (a3, _) = mint(8).await;
    assert_eq!((&a1, &b1), (&a2, &b2));
    assert_ne!(a1, b1);
    assert_ne!(a1, a3);
    assert_256_bit_opaque(&a1);
}

#[tokio::test]
async fn tk02_stores_keep_only_hashes_of_tokens_and_codes() {
    // covers: TK-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();

    // What the store holds is keyed by, and carries, the SHA-256 only.
    let a = h
        .store
        .find_access(&TokenHash::of(&access))
        .await
        .unwrap()
        .unwrap();
    let r = h
        .store
        .find_refresh(&TokenHash::of(&refresh))
        .await
        .unwrap()
        .unwrap();
    let c = h
        .store
        .find_code(&TokenHash::of(&code.code))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.hash, TokenHash::of(&access));
    assert_eq!(r.hash, TokenHash::of(&refresh));
    assert!(c.used);
    let dump = format!("{a:?}{r:?}{c:?}");
    for secret in [&access, &refresh, &code.code] {
        assert!(!dump.contains(secret.as_str()), "{dump}");
    }

    // A copy of the database (hashes, as hex or base64) is no token.
    let stolen = [
        a.hash.to_hex(),
        r.hash.to_hex(),
        URL_SAFE_NO_PAD.encode(a.hash.as_bytes()),
        URL_SAFE_NO_PAD.encode(r.hash.as_bytes()),
    ];
    for s in &stolen {
        assert!(!h.active(s).await);
        assert_error(&h.refresh(Auth::Basic(&svc), s).await, 400, "invalid_grant");
    }
    let code2 = h.issue_code(CodeSpec::new(SVC)).await;
    let c2 = h
        .store
        .find_code(&TokenHash::of(&code2.code))
        .await
        .unwrap()
        .unwrap();
    let mut forged = code2.clone();
    forged.code = c2.hash.to_hex();
    assert_error(
        &h.redeem(Auth::Basic(&svc), &forged).await,
        400,
        "invalid_grant",
    );
    // The real ones still work.
    assert!(h.active(&access).await);
    assert_eq!(h.redeem(Auth::Basic(&svc), &code2).await.status(), 200);
}
