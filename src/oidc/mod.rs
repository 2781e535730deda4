//! OpenID Connect: the vocabulary of an OpenID Provider (the `claims`
//! request parameter, the host's claims about its users, subject
//! identifiers, ID Tokens and `id_token_hint`, Logout Tokens, …). This
//! folder only declares and re-exports; each concept has its own file.

mod claims_request;
pub(crate) mod id_token;
pub(crate) mod logout_token;
mod subject;
mod user_claims;

pub use claims_request::{
    ClaimsRequest, ClaimsRequestError, MAX_CLAIM_NAME_LEN, MAX_CLAIMS_PER_MEMBER, RequestedClaim,
};
pub use id_token::{HintError, IdTokenClaims, MAX_ID_TOKEN_HINT_LEN, VerifiedHint, at_hash};
pub use logout_token::{BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_LIFETIME, LogoutSubject};
pub use subject::{Subject, SubjectError, pairwise_subject, subject_for};
pub use user_claims::{
    ADDRESS_CLAIMS, ClaimsQuery, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS, UserClaims,
    WantedClaims, scope_claims, standard_claims,
};
