//! The standard conversions of the public types (issue 14): `FromStr`,
//! `TryFrom<&str>`/`TryFrom<String>` and `Display` round-trip, errors say
//! what is wrong without repeating the input, and (feature `serde`) the
//! newtypes, the client model and `Config` serialise and deserialise through
//! the same validation.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use portcullis::{
    AccessTokenFormat, Algorithm, Audience, AuthMethod, ChallengeMethod, ClientId, CodeChallenge,
    CodeVerifier, ErrorCode, ExtensionGrantType, GrantId, GrantType, KeyId, ParseError,
    RedirectUri, Scope, ScopeSet, SecretHash, TokenHash, UserId,
};
use proptest::prelude::*;

/// With the `serde` feature, the string types are also `Serialize` and
/// `Deserialize`; without it, this asks nothing.
#[cfg(feature = "serde")]
trait Serde: serde::Serialize + serde::de::DeserializeOwned {}
#[cfg(feature = "serde")]
impl<T: serde::Serialize + serde::de::DeserializeOwned> Serde for T {}
#[cfg(not(feature = "serde"))]
trait Serde {}
#[cfg(not(feature = "serde"))]
impl<T> Serde for T {}

/// `text` parses through `FromStr`, both `TryFrom`s agree, `Display` gives
/// `canonical` back, and that parses to the same value; with `serde`, the
/// JSON form is that string and reads back to the same value.
fn round_trips<T>(text: &str, canonical: &str)
where
    T: FromStr<Err = ParseError> + Display + PartialEq + Debug + Serde,
    T: for<'a> TryFrom<&'a str, Error = ParseError> + TryFrom<String, Error = ParseError>,
{
    let v: T = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(T::try_from(text).as_ref(), Ok(&v), "{text:?}");
    assert_eq!(T::try_from(text.to_owned()).as_ref(), Ok(&v), "{text:?}");
    assert_eq!(v.to_string(), canonical, "{text:?}");
    assert_eq!(canonical.parse::<T>().as_ref(), Ok(&v), "{text:?}");
    #[cfg(feature = "serde")]
    serde_round_trips(&v, canonical);
}

#[cfg(feature = "serde")]
fn serde_round_trips<T>(v: &T, canonical: &str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_value(v).unwrap();
    assert_eq!(json, serde_json::Value::from(canonical));
    assert_eq!(&serde_json::from_value::<T>(json).unwrap(), v);
}

/// `text` is refused by `FromStr` and both `TryFrom`s with `message`; with
/// `serde`, deserialising it is refused with the same message.
fn refused<T>(text: &str, message: &str)
where
    T: FromStr<Err = ParseError> + Debug + Serde,
    T: for<'a> TryFrom<&'a str, Error = ParseError> + TryFrom<String, Error = ParseError>,
{
    let e = text.parse::<T>().unwrap_err();
    assert_eq!(e.to_string(), message, "{text:?}");
    assert_eq!(format!("{}: {}", e.what(), e.reason()), message);
    assert_eq!(T::try_from(text).unwrap_err(), e);
    assert_eq!(T::try_from(text.to_owned()).unwrap_err(), e);
    let _: &dyn std::error::Error = &e;
    #[cfg(feature = "serde")]
    serde_refuses::<T>(text, message);
}

#[cfg(feature = "serde")]
fn serde_refuses<T: Serde + Debug>(text: &str, message: &str) {
    let e = serde_json::from_value::<T>(serde_json::Value::from(text)).unwrap_err();
    assert_eq!(e.to_string(), message, "{text:?}");
}

#[test]
fn identifiers_round_trip_and_say_what_is_wrong() {
    round_trips::<ClientId>("billing service:1", "billing service:1");
    refused::<ClientId>("", "client id: is empty");
    refused::<ClientId>("a\tb", "client id: contains a control character");
    refused::<ClientId>("caf\u{e9}", "client id: contains a character outside ASCII");
    refused::<ClientId>(&"a".repeat(256), "client id: is longer than 255 bytes");

    round_trips::<UserId>("alice@example.com", "alice@example.com");
    round_trips::<UserId>("J\u{f6}rg", "J\u{f6}rg");
    refused::<UserId>("", "user id: is empty");
    refused::<UserId>("a\nb", "user id: contains a control character");
    refused::<UserId>(&"é".repeat(128), "user id: is longer than 255 bytes");

    round_trips::<KeyId>("2024-05_a", "2024-05_a");
    refused::<KeyId>("", "key id: is empty");
    refused::<KeyId>(&"k".repeat(65), "key id: is longer than 64 characters");
    refused::<KeyId>(
        "a.b",
        "key id: contains a character other than A-Z, a-z, 0-9, '-' and '_'",
    );
}

#[test]
fn scopes_round_trip_in_canonical_order() {
    round_trips::<Scope>("invoices:read", "invoices:read");
    refused::<Scope>("", "scope: is empty");
    refused::<Scope>(
        "a b",
        "scope: contains a space (scopes are separated by spaces)",
    );
    refused::<Scope>("a\"b", "scope: contains '\"' or '\\'");
    refused::<Scope>("a\\b", "scope: contains '\"' or '\\'");
    refused::<Scope>(
        "caf\u{e9}",
        "scope: contains a character outside visible ASCII",
    );

    // Sorted, deduplicated, single-spaced: the canonical form.
    round_trips::<ScopeSet>("write  read read", "read write");
    round_trips::<ScopeSet>("", "");
    refused::<ScopeSet>(
        "read wr\u{7f}ite",
        "scope: contains a character outside visible ASCII",
    );
}

#[test]
fn redirect_uris_round_trip_exactly() {
    round_trips::<RedirectUri>("https://app.example/cb?x=1", "https://app.example/cb?x=1");
    round_trips::<RedirectUri>("com.example.app:/cb", "com.example.app:/cb");
    round_trips::<RedirectUri>("urn:ietf:wg:oauth:2.0:oob", "urn:ietf:wg:oauth:2.0:oob");
    refused::<RedirectUri>("/cb", "redirect URI: is not an absolute URI");
    refused::<RedirectUri>("https://app.example/cb#x", "redirect URI: has a fragment");
    refused::<RedirectUri>(
        "javascript:alert(1)",
        "redirect URI: uses a javascript:, data:, vbscript: or file: scheme",
    );
    refused::<RedirectUri>(
        "mailto:a@example.com",
        "redirect URI: has no authority or path (only urn: URIs may)",
    );
    // issue 15 finding 7: a registered URI with whitespace came back from
    // the SQL stores as two URIs.
    for bad in [
        "https://app.example/cb https://evil.example/cb",
        "https://app.example/c\tb",
        "https://app.example/cb\n",
        "https://app.example/c\u{0}b",
    ] {
        refused::<RedirectUri>(
            bad,
            "redirect URI: contains whitespace or a control character",
        );
    }
}

#[test]
fn audiences_round_trip_exactly() {
    // covers: IN-01
    round_trips::<Audience>("https://api.example", "https://api.example");
    round_trips::<Audience>("urn:example:api", "urn:example:api");
    refused::<Audience>("", "audience: is empty");
    refused::<Audience>(
        "a b",
        "audience: contains whitespace or a control character",
    );
}

#[test]
fn wire_enums_round_trip_every_variant() {
    for g in GrantType::ALL {
        round_trips::<GrantType>(g.as_str(), g.as_str());
    }
    refused::<GrantType>(
        "implicit",
        "grant type: is not one of authorization_code, client_credentials, password, refresh_token, \
         urn:ietf:params:oauth:grant-type:device_code, \
         urn:ietf:params:oauth:grant-type:token-exchange, nor an absolute URI (an extension grant)",
    );
    // Any other absolute URI is an extension grant (RFC 6749 §4.5).
    round_trips::<GrantType>(
        "urn:example:grant-type:badge",
        "urn:example:grant-type:badge",
    );
    round_trips::<ExtensionGrantType>(
        "https://grants.example.com/badge",
        "https://grants.example.com/badge",
    );
    refused::<ExtensionGrantType>(
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "extension grant type: is a built-in grant type",
    );
    refused::<ExtensionGrantType>(
        "https://grants.example.com/#x",
        "extension grant type: has a fragment (an absolute URI has none, RFC 3986 §4.3)",
    );
    for m in [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::ClientSecretJwt,
    ] {
        round_trips::<AuthMethod>(m.as_str(), m.as_str());
    }
    refused::<AuthMethod>(
        "tls_client_auth",
        "token endpoint auth method: is not one of client_secret_basic, client_secret_post, none, private_key_jwt, client_secret_jwt",
    );
    for f in [AccessTokenFormat::Opaque, AccessTokenFormat::Jwt] {
        round_trips::<AccessTokenFormat>(f.as_str(), f.as_str());
    }
    refused::<AccessTokenFormat>("JWT", "access token format: is not opaque or jwt");
    for a in [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256] {
        round_trips::<Algorithm>(a.as_str(), a.as_str());
    }
    refused::<Algorithm>(
        "es256",
        "algorithm: is not ES256, EdDSA, RS256 or PS256 (names are case-sensitive)",
    );
    for m in [ChallengeMethod::S256, ChallengeMethod::Plain] {
        round_trips::<ChallengeMethod>(m.as_str(), m.as_str());
    }
    refused::<ChallengeMethod>("S512", "code challenge method: is not S256 or plain");
    for code in [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScope,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::UnsupportedTokenType,
        // OpenID Connect Core §3.1.2.6 (issue 16).
        ErrorCode::LoginRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::InteractionRequired,
        ErrorCode::AccountSelectionRequired,
        ErrorCode::RequestNotSupported,
        ErrorCode::RequestUriNotSupported,
        ErrorCode::RegistrationNotSupported,
        // RFC 9101, RFC 9126 (issue 17).
        ErrorCode::InvalidRequestObject,
        ErrorCode::InvalidRequestUri,
        // RFC 9449 (issue 17, DP-01).
        ErrorCode::InvalidDpopProof,
        ErrorCode::UseDpopNonce,
    ] {
        round_trips::<ErrorCode>(code.as_str(), code.as_str());
    }
    refused::<ErrorCode>(
        "not_an_error_code",
        "error code: is not an error code of RFC 6749, 6750, 7009, 9449 or OpenID Connect Core",
    );
}

#[test]
fn hashes_and_grant_ids_round_trip() {
    let h = TokenHash::of("abc");
    let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    round_trips::<TokenHash>(hex, hex);
    round_trips::<TokenHash>(&hex.to_uppercase(), hex);
    assert_eq!(h.to_string(), h.to_hex());
    refused::<TokenHash>(&hex[1..], "token hash: is not 64 hexadecimal digits");
    refused::<TokenHash>(
        &format!("{}g", &hex[1..]),
        "token hash: is not 64 hexadecimal digits",
    );
    refused::<TokenHash>(&"é".repeat(32), "token hash: is not 64 hexadecimal digits");
    assert_eq!(TokenHash::try_from(&h.as_bytes()[..]), Ok(h));
    assert_eq!(
        TokenHash::try_from(&[0u8; 31][..]).unwrap_err().to_string(),
        "token hash: is not 32 bytes"
    );

    let g = GrantId::from_bytes(*b"0123456789abcdef");
    round_trips::<GrantId>(&g.to_base64(), &g.to_base64());
    assert_eq!(g.to_string(), "MDEyMzQ1Njc4OWFiY2RlZg");
    for bad in [
        "MDEyMzQ1Njc4OWFiY2RlZg==",
        "MDEyMzQ1Njc4OWFiY2Rl",
        "MDEyMzQ1Njc4OWFiY2RlZh",
        "!",
    ] {
        refused::<GrantId>(bad, "grant id: is not 16 bytes in unpadded base64url");
    }
    assert_eq!(GrantId::try_from(&g.as_bytes()[..]), Ok(g));
    assert_eq!(
        GrantId::try_from(&[0u8; 17][..]).unwrap_err().to_string(),
        "grant id: is not 16 bytes"
    );
}

#[test]
fn secret_like_values_parse_but_never_print() {
    // covers: RB-03
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let v: CodeVerifier = verifier.parse().unwrap();
    assert!(CodeVerifier::try_from(verifier.to_owned()).is_ok());
    assert!(!format!("{v:?}").contains(verifier));
    let short = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r";
    let e = short.parse::<CodeVerifier>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "code verifier: is shorter than 43 characters"
    );
    let e = format!("{verifier}+").parse::<CodeVerifier>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "code verifier: contains a character other than A-Z, a-z, 0-9, '-', '.', '_' and '~'"
    );
    assert_eq!(
        "a".repeat(129)
            .parse::<CodeVerifier>()
            .unwrap_err()
            .to_string(),
        "code verifier: is longer than 128 characters"
    );

    // A challenge is two parameters, so it parses from the pair.
    let c = CodeChallenge::try_from((ChallengeMethod::Plain, verifier)).unwrap();
    assert!(c.verify(&v));
    assert_eq!(
        CodeChallenge::new(ChallengeMethod::S256, short)
            .unwrap_err()
            .to_string(),
        "code challenge: is shorter than 43 characters"
    );

    // A secret hash parses from its stored form; its errors never show it.
    let hash = SecretHash::sha256("s3cret");
    let encoded = hash.encode();
    assert_eq!(encoded.parse::<SecretHash>(), Ok(hash.clone()));
    assert_eq!(SecretHash::try_from(encoded.as_str()), Ok(hash));
    for (bad, reason) in [
        (
            "md5$abc",
            "is not sha256$HASH or pbkdf2-sha256$ITERATIONS$SALT$HASH",
        ),
        (
            "sha256$abc",
            "a salt or hash is not base64url of the right length",
        ),
        (
            "pbkdf2-sha256$0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "the iteration count is not a positive integer",
        ),
    ] {
        let e = bad.parse::<SecretHash>().unwrap_err();
        assert_eq!(e.to_string(), format!("secret hash: {reason}"));
    }
}

proptest! {
    /// Whatever the input, a value that parses prints back to a string that
    /// parses to the same value, and a refusal never repeats the input.
    #[test]
    fn any_string_round_trips_or_is_refused_without_echo(s in "\\PC{0,80}|[ -~]{0,80}") {
        fn check<T>(s: &str) -> Result<(), TestCaseError>
        where
            T: FromStr<Err = ParseError> + Display + PartialEq + Debug,
        {
            match s.parse::<T>() {
                Ok(v) => prop_assert_eq!(v.to_string().parse::<T>(), Ok(v)),
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(s.len() < 4 || !msg.contains(s), "{} echoed in {}", s, msg);
                }
            }
            Ok(())
        }
        check::<ClientId>(&s)?;
        check::<UserId>(&s)?;
        check::<Scope>(&s)?;
        check::<ScopeSet>(&s)?;
        check::<RedirectUri>(&s)?;
        check::<Audience>(&s)?;
        check::<KeyId>(&s)?;
        check::<TokenHash>(&s)?;
        check::<GrantId>(&s)?;
        check::<GrantType>(&s)?;
        check::<AuthMethod>(&s)?;
        check::<ErrorCode>(&s)?;
        if let Err(e) = s.parse::<CodeVerifier>() {
            prop_assert!(s.len() < 4 || !e.to_string().contains(&s));
        }
    }

    /// Well-formed values always parse, and print as given.
    #[test]
    fn well_formed_values_parse_and_print_as_given(
        id in "[ -~]{1,255}",
        kid in "[A-Za-z0-9_-]{1,64}",
        bytes in proptest::array::uniform16(any::<u8>()),
        scopes in proptest::collection::vec("[!#-\\[\\]-~]{1,10}", 0..6),
    ) {
        prop_assert_eq!(id.parse::<ClientId>().map(|v| v.to_string()), Ok(id.clone()));
        prop_assert_eq!(id.parse::<UserId>().map(|v| v.to_string()), Ok(id));
        prop_assert_eq!(kid.parse::<KeyId>().map(|v| v.to_string()), Ok(kid));
        let g = GrantId::from_bytes(bytes);
        prop_assert_eq!(g.to_string().parse::<GrantId>(), Ok(g));
        let set: ScopeSet = scopes.join(" ").parse().unwrap();
        let mut sorted = scopes;
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(set.to_string(), sorted.join(" "));
    }
}

#[cfg(feature = "serde")]
mod serde_forms {
    use std::time::Duration;

    use portcullis::{
        AccessTokenFormat, AuthMethod, Client, ClientId, CodeVerifier, Config, GrantType,
        RedirectUri, ScopeSet, SecretHash, SystemRandom,
    };
    use serde_json::{Value, json};

    #[test]
    fn newtypes_deserialise_only_valid_strings() {
        let e = serde_json::from_value::<ClientId>(json!("a\u{1}b")).unwrap_err();
        assert_eq!(e.to_string(), "client id: contains a control character");
        let e = serde_json::from_value::<GrantType>(json!("implicit")).unwrap_err();
        assert!(
            e.to_string().starts_with("grant type: is not one of"),
            "{e}"
        );
        assert!(serde_json::from_value::<ClientId>(json!(5)).is_err());
        // A verifier is read, never written.
        let v: CodeVerifier =
            serde_json::from_value(json!("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).unwrap();
        assert!(!format!("{v:?}").contains("dBjf"));
        // A secret hash is written in its encoded form.
        let h = SecretHash::sha256("x");
        assert_eq!(serde_json::to_value(&h).unwrap(), json!(h.encode()));
        assert_eq!(
            serde_json::from_value::<SecretHash>(json!(h.encode())).unwrap(),
            h
        );
    }

    /// Serialising, deserialising and serialising again gives the same
    /// document: nothing is lost or changed on the way.
    fn client_round_trips(c: &Client) -> Value {
        let doc = serde_json::to_value(c).unwrap();
        let back: Client =
            serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"));
        assert_eq!(serde_json::to_value(&back).unwrap(), doc);
        doc
    }

    #[test]
    fn clients_round_trip_as_rfc_7591_documents() {
        let id = |s: &str| ClientId::parse(s).unwrap();
        let iterations = std::num::NonZeroU32::new(2).unwrap();
        let web = Client::confidential(
            id("web"),
            SecretHash::pbkdf2("correct horse", iterations, &SystemRandom::new()).unwrap(),
        )
        .client_name("Web app")
        .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
        .redirect_uri(RedirectUri::parse("https://app.example/cb").unwrap())
        .redirect_uri(RedirectUri::parse("http://127.0.0.1/cb").unwrap())
        .grant_type(GrantType::AuthorizationCode)
        .grant_type(GrantType::RefreshToken)
        .scope(ScopeSet::parse("read write").unwrap())
        .default_scope(ScopeSet::parse("read").unwrap())
        .skip_consent(true)
        .access_token_format(AccessTokenFormat::Jwt)
        .access_token_lifetime(Duration::from_secs(600))
        .refresh_token_lifetime(Duration::from_secs(7200))
        .build()
        .unwrap();
        let doc = client_round_trips(&web);
        assert_eq!(
            doc,
            json!({
                "client_id": "web",
                "client_name": "Web app",
                "token_endpoint_auth_method": "client_secret_post",
                "client_secret_hash": web.secret_hash().unwrap().encode(),
                "redirect_uris": ["https://app.example/cb", "http://127.0.0.1/cb"],
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "read write",
                "default_scope": "read",
                "enabled": true,
                "skip_consent": true,
                "allow_plain_pkce": false,
                "dpop_bound_access_tokens": false,
                "access_token_format": "jwt",
                "access_token_lifetime": 600,
                "refresh_token_lifetime": 7200,
                "subject_type": "public",
                "backchannel_logout_session_required": false,
                "require_auth_time": false,
                // The full client model (issue 19): always written.
                "application_type": "web",
            })
        );
        assert!(!doc.to_string().contains("correct horse"));

        // The OpenID Connect registration fields, by their names (issue 16).
        let url = |s: &str| portcullis::WebUrl::parse(s).unwrap();
        let rp = web
            .into_builder()
            .id_token_signed_response_alg(portcullis::Algorithm::Rs256)
            .subject_type(portcullis::SubjectType::Pairwise)
            .sector_identifier_uri(url("https://app.example/sector.json"))
            .post_logout_redirect_uri(RedirectUri::parse("https://app.example/bye").unwrap())
            .backchannel_logout_uri(url("https://app.example/bcl"))
            .backchannel_logout_session_required(true)
            .default_max_age(Duration::from_secs(60))
            .tos_uri(url("https://app.example/terms"))
            .build()
            .unwrap();
        let doc = client_round_trips(&rp);
        for (field, value) in [
            ("id_token_signed_response_alg", json!("RS256")),
            ("subject_type", json!("pairwise")),
            (
                "sector_identifier_uri",
                json!("https://app.example/sector.json"),
            ),
            (
                "post_logout_redirect_uris",
                json!(["https://app.example/bye"]),
            ),
            ("backchannel_logout_uri", json!("https://app.example/bcl")),
            ("backchannel_logout_session_required", json!(true)),
            ("default_max_age", json!(60)),
            ("tos_uri", json!("https://app.example/terms")),
        ] {
            assert_eq!(doc[field], value, "{field}");
        }

        let spa = Client::public(id("spa"))
            .redirect_uri(RedirectUri::parse("com.example.app:/cb").unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .enabled(false)
            .build()
            .unwrap();
        assert_eq!(
            client_round_trips(&spa)["token_endpoint_auth_method"],
            "none"
        );

        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
        }]});
        let pk = Client::private_key_jwt(id("pk"), jwks.to_string())
            .grant_type(GrantType::ClientCredentials)
            .build()
            .unwrap();
        assert_eq!(client_round_trips(&pk)["jwks"], jwks);
    }

    #[test]
    fn config_round_trips_and_reads_durations_as_seconds_or_units() {
        let mut c = Config::new("https://auth.example.com");
        c.access_token_lifetime = Duration::from_secs(900);
        c.scopes_supported = Some(ScopeSet::parse("read write").unwrap());
        c.grant_types.push(GrantType::Password);
        c.jwt_audience = Some("https://api.example.com".into());
        let doc = serde_json::to_value(&c).unwrap();
        assert_eq!(doc["access_token_lifetime"], 900);
        assert_eq!(doc["refresh_token_lifetime"], 30 * 24 * 3600);
        assert_eq!(doc["leeway"], 30);
        assert_eq!(doc["signing_algorithm"], "ES256");
        assert_eq!(doc["scopes_supported"], "read write");
        assert_eq!(doc["paths"]["token"], "/token");
        assert_eq!(serde_json::from_value::<Config>(doc).unwrap(), c);

        // Only the issuer is required; durations may carry units.
        let read: Config = serde_json::from_value(json!({
            "issuer": "https://auth.example.com",
            "access_token_lifetime": "15m",
            "refresh_token_lifetime": "30d",
            "code_lifetime": 45,
            "key_publish_lead": "1h30m",
            "paths": {"token": "/oauth/token"},
        }))
        .unwrap();
        let mut expected = Config::new("https://auth.example.com");
        expected.access_token_lifetime = Duration::from_secs(900);
        expected.code_lifetime = Duration::from_secs(45);
        expected.key_publish_lead = Duration::from_secs(5400);
        expected.paths.token = "/oauth/token".into();
        assert_eq!(read, expected);
    }

    #[test]
    fn config_deserialisation_validates_like_build() {
        // covers: AC-01
        for (doc, message) in [
            (
                json!({"issuer": "https://a.example", "code_lifetime": "11m"}),
                "lifetime of authorization codes out of range",
            ),
            (
                json!({"issuer": "https://a.example", "access_token_lifetime": 0}),
                "lifetime of access tokens out of range",
            ),
            (
                json!({"issuer": "http://a.example"}),
                "issuer must be an https URL without query, fragment or trailing slash",
            ),
            (
                json!({"issuer": "https://a.example", "paths": {"token": "token"}}),
                "endpoint path for token must start with '/'",
            ),
            (
                json!({"issuer": "https://a.example", "leeway": "1 minute"}),
                "duration: expected a unit: s, m, h or d",
            ),
            (
                json!({"issuer": "https://a.example", "grant_types": ["implicit"]}),
                "grant type: is not one of authorization_code, client_credentials, password, refresh_token, \
         urn:ietf:params:oauth:grant-type:device_code, \
         urn:ietf:params:oauth:grant-type:token-exchange",
            ),
        ] {
            let e = serde_json::from_value::<Config>(doc.clone()).unwrap_err();
            assert!(e.to_string().starts_with(message), "{doc}: {e}");
        }
        let e = serde_json::from_value::<Config>(
            json!({"issuer": "https://a.example", "acess_token_lifetime": 5}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown field `acess_token_lifetime`"),
            "{e}"
        );
        let e = serde_json::from_value::<Config>(json!({})).unwrap_err();
        assert!(e.to_string().contains("missing field `issuer`"), "{e}");
    }
}
