//! OpenID Connect: the vocabulary of an OpenID Provider (the `claims`
//! request parameter, the host's claims about its users, …). This folder
//! only declares and re-exports; each concept has its own file.

mod claims_request;
mod user_claims;

pub use claims_request::{
    ClaimsRequest, ClaimsRequestError, MAX_CLAIM_NAME_LEN, MAX_CLAIMS_PER_MEMBER, RequestedClaim,
};
pub use user_claims::{
    ADDRESS_CLAIMS, ClaimsQuery, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS, UserClaims,
    WantedClaims, scope_claims, standard_claims,
};
