//! OpenID Connect: the vocabulary of an OpenID Provider (the `claims`
//! request parameter, …). This folder only declares and re-exports; each
//! concept has its own file.

mod claims_request;

pub use claims_request::{
    ClaimsRequest, ClaimsRequestError, MAX_CLAIM_NAME_LEN, MAX_CLAIMS_PER_MEMBER, RequestedClaim,
};
