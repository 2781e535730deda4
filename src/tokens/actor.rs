//! `Actor`: the `act` claim of a delegated token (RFC 8693 §4.1): who acts
//! on behalf of the token's subject, with the prior actors of the chain
//! nested inside.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::client::ClientId;
use crate::conversions::ParseError;

/// The most actors one chain holds: a longer delegation chain is refused
/// where it would be built or read, so work and token size stay bounded.
pub const MAX_ACTOR_CHAIN: usize = 8;

/// An actor (RFC 8693 §4.1, the `act` claim): the party that acts on behalf
/// of a token's subject (`sub`, and the `client_id` it acts through when
/// known), and, nested, the actor before it (`act`): the outermost actor
/// is the current one, the nested ones are prior actors. At most
/// [`MAX_ACTOR_CHAIN`] actors deep. Its `sub` follows the rule of user ids
/// and subject identifiers (1 to 255 bytes, no control character).
///
/// ```
/// use portcullis::{Actor, ClientId};
/// let gateway = Actor::parse("gateway").unwrap();
/// let billing = Actor::parse("billing")
///     .unwrap()
///     .with_client_id(ClientId::parse("billing").unwrap())
///     .acting_after(gateway)
///     .unwrap();
/// assert_eq!(billing.subject(), "billing");
/// assert_eq!(billing.prior().map(|p| p.subject()), Some("gateway"));
/// assert_eq!(
///     billing.to_json().to_string(),
///     r#"{"act":{"sub":"gateway"},"client_id":"billing","sub":"billing"}"#
/// );
/// ```
///
/// One pointer wide (the chain is shared behind an `Arc`), so a token
/// record without an actor pays 8 bytes for the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(Arc<Link>);

/// One actor of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    sub: Arc<str>,
    client_id: Option<ClientId>,
    prior: Option<Actor>,
}

impl Actor {
    /// An actor with this subject identifier; `None` if it is not one.
    /// `str::parse` says what is wrong.
    pub fn parse(sub: &str) -> Option<Self> {
        sub.parse().ok()
    }

    /// A client acting for itself (no end-user): its `sub` is its client id
    /// (RFC 9068 §2.2), and so is its `client_id`.
    pub fn of_client(client: &ClientId) -> Self {
        Self(Arc::new(Link {
            sub: client.as_str().into(),
            client_id: Some(client.clone()),
            prior: None,
        }))
    }

    /// Sets the client the actor acts through.
    #[must_use]
    pub fn with_client_id(mut self, client: ClientId) -> Self {
        Arc::make_mut(&mut self.0).client_id = Some(client);
        self
    }

    /// Puts the chain `prior` after this actor's own chain: `prior`'s
    /// outermost actor becomes the innermost prior actor. `None` when the
    /// whole chain would be longer than [`MAX_ACTOR_CHAIN`].
    pub fn acting_after(self, prior: Self) -> Option<Self> {
        if self.len() + prior.len() > MAX_ACTOR_CHAIN {
            return None;
        }
        Some(self.append(prior))
    }

    fn append(mut self, tail: Self) -> Self {
        let link = Arc::make_mut(&mut self.0);
        link.prior = Some(match link.prior.take() {
            None => tail,
            Some(prior) => prior.append(tail),
        });
        self
    }

    /// The actor's subject identifier (`sub`).
    pub fn subject(&self) -> &str {
        &self.0.sub
    }

    /// The client the actor acts through, if known (`client_id`).
    pub fn client_id(&self) -> Option<&ClientId> {
        self.0.client_id.as_ref()
    }

    /// The prior actor (the nested `act`), if any.
    pub fn prior(&self) -> Option<&Self> {
        self.0.prior.as_ref()
    }

    /// How many actors the chain holds, this one included.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        1 + self.0.prior.as_ref().map_or(0, Self::len)
    }

    /// The claim's JSON object: `sub`, `client_id` when known, the nested
    /// `act` when there is a prior actor.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("sub".into(), Value::from(&*self.0.sub));
        if let Some(c) = &self.0.client_id {
            m.insert("client_id".into(), Value::from(c.as_str()));
        }
        if let Some(p) = &self.0.prior {
            m.insert("act".into(), p.to_json());
        }
        Value::Object(m)
    }

    /// Reads an `act` claim: an object with a string `sub`, an optional
    /// string `client_id` and an optional nested `act`, at most
    /// [`MAX_ACTOR_CHAIN`] deep; other members are ignored. `None` if it is
    /// not one.
    pub fn from_json(value: &Value) -> Option<Self> {
        Self::read(value, MAX_ACTOR_CHAIN)
    }

    fn read(value: &Value, depth: usize) -> Option<Self> {
        let depth = depth.checked_sub(1)?;
        let m = value.as_object()?;
        let client_id = match m.get("client_id") {
            Some(c) => Some(ClientId::parse(c.as_str()?)?),
            None => None,
        };
        let prior = match m.get("act") {
            Some(p) => Some(Self::read(p, depth)?),
            None => None,
        };
        Some(Self(Arc::new(Link {
            sub: crate::user::identifier("actor subject", m.get("sub")?.as_str()?).ok()?,
            client_id,
            prior,
        })))
    }
}

impl std::str::FromStr for Actor {
    type Err = ParseError;

    /// An actor with this `sub` and nothing else.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(Self(Arc::new(Link {
            sub: crate::user::identifier("actor subject", s)?,
            client_id: None,
            prior: None,
        })))
    }
}

/// The claim's JSON text (as stored by the SQL stores).
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_nest_round_trip_and_are_bounded() {
        let a = |s| Actor::parse(s).unwrap();
        let chain = a("c").acting_after(a("b")).unwrap();
        let chain = chain.acting_after(a("a")).unwrap();
        assert_eq!(chain.len(), 3);
        assert_eq!(
            chain.to_string(),
            r#"{"act":{"act":{"sub":"a"},"sub":"b"},"sub":"c"}"#
        );
        assert_eq!(Actor::from_json(&chain.to_json()), Some(chain));
        let mut long = a("x");
        for _ in 1..MAX_ACTOR_CHAIN {
            long = a("y").acting_after(long).unwrap();
        }
        assert_eq!(long.len(), MAX_ACTOR_CHAIN);
        assert!(a("z").acting_after(long.clone()).is_none());
        let mut deep = long.to_json();
        deep = serde_json::json!({"sub": "z", "act": deep});
        assert!(Actor::from_json(&deep).is_none());
        assert!(Actor::from_json(&serde_json::json!({"sub": ""})).is_none());
        assert!(Actor::from_json(&serde_json::json!({"sub": 1})).is_none());
        assert!(Actor::from_json(&serde_json::json!("x")).is_none());
    }
}
