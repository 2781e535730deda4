//! `Source`: who sent a request, as the host knows it. The core never reads
//! a socket, so the host (or its adapter) tells it; the brute-force
//! [`Throttle`](crate::Throttle) then counts per source as well as per
//! account (RB-04).

use std::fmt;
use std::net::IpAddr;

/// Who sent a request: the peer's IP address, or a key the host chose.
///
/// The adapters set [`Source::Ip`] from the connection's peer address where
/// their framework gives it (see [`Request::with_source`](super::Request::with_source)).
/// Behind the host's own reverse proxy the peer is the proxy: the host then
/// sets the client's address from the header its proxy writes (e.g. the last
/// `X-Forwarded-For` entry the proxy appended), never from one a client could
/// have written itself.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source<'a> {
    /// The client's IP address.
    Ip(IpAddr),
    /// A key the host chose and vouches for (a device id, a tenant, an
    /// address its proxy resolved): opaque to portcullis, compared as bytes.
    Key(&'a str),
}

/// An address is shown; a host key is not (it may be a device cookie).
impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => f.debug_tuple("Ip").field(ip).finish(),
            Self::Key(_) => f.write_str("Key([redacted])"),
        }
    }
}

impl From<IpAddr> for Source<'_> {
    fn from(ip: IpAddr) -> Self {
        Self::Ip(ip)
    }
}

impl From<std::net::SocketAddr> for Source<'_> {
    fn from(addr: std::net::SocketAddr) -> Self {
        Self::Ip(addr.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_key_is_redacted_in_debug() {
        let ip: IpAddr = [192, 0, 2, 7].into();
        assert_eq!(format!("{:?}", Source::Ip(ip)), "Ip(192.0.2.7)");
        assert_eq!(
            format!("{:?}", Source::Key("device-cookie-123")),
            "Key([redacted])"
        );
    }
}
