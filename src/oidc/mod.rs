//! OpenID Connect: the vocabulary of an OpenID Provider (the host's login
//! result, the OpenID parameters of an authorization request, the facts kept
//! with a grant, the `claims` request parameter, the host's claims about its
//! users, …). This folder only declares and re-exports; each concept has its
//! own file.

mod authentication;
mod claims_request;
mod grant;
pub(crate) mod id_token;
pub(crate) mod logout_token;
mod request;
pub(crate) mod signed_userinfo;
mod subject;
mod user_claims;

pub use authentication::{
    Authentication, LoginId, MAX_LOGIN_ID_LEN, MAX_SESSION_ID_LEN, SessionId,
};
pub use claims_request::{
    ClaimsRequest, ClaimsRequestError, MAX_CLAIM_NAME_LEN, MAX_CLAIMS_PER_MEMBER, RequestedClaim,
};
pub use grant::OpenIdGrant;
pub use id_token::{HintError, IdTokenClaims, MAX_ID_TOKEN_HINT_LEN, VerifiedHint, at_hash};
pub use logout_token::{BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_LIFETIME, LogoutSubject};
pub(crate) use request::RawOpenId;
pub use request::{
    DisplayMode, IdTokenHint, LanguageTag, LoginHint, MAX_ACR_LEN, MAX_ACR_VALUES, MAX_LOCALES,
    MAX_LOGIN_HINT_LEN, MAX_NONCE_LEN, Nonce, OpenIdRequest, Prompt, PromptSet,
};
pub use subject::{Subject, SubjectError, pairwise_subject, subject_for};
pub use user_claims::{
    ADDRESS_CLAIMS, ClaimsQuery, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS, UserClaims,
    WantedClaims, claim_scope, implied_scope, scope_claims, standard_claims,
};
