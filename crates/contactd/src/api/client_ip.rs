//! The client's address, for the per-address limits and the logs: the peer of the
//! connection, or, when that peer is a reverse proxy the operator trusts
//! (`--trusted-proxies`), the address the proxies say the request came from. Behind a proxy
//! every peer is the proxy, so without this one client's failures would count for all.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

/// The networks of the reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request whose connection comes from `peer`.
    ///
    /// `X-Forwarded-For` (or, without it, `Forwarded`) is read only when the peer is a
    /// trusted proxy, and from the right, as nginx's `real_ip_recursive on` does: each proxy
    /// appends the address it got the request from, so the right-most address that is not
    /// itself a trusted proxy is the client; what lies left of it is whatever the client
    /// wrote. A hop that does not parse ends the walk and the peer stands.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers);
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => continue,
                Some(ip) => return *ip,
                None => return peer,
            }
        }
        // Every hop is a trusted proxy: the left-most one is the client, as with nginx.
        hops.first().copied().flatten().unwrap_or(peer)
    }

    /// The client of a request as the server received it: `None` only when the request did
    /// not come through [`crate::server::serve`] (which records the peer).
    pub fn client_of(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        peer(extensions).map(|peer| self.client(peer, headers))
    }
}

/// The address of the connection's other end.
pub fn peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

/// An address for the logs; `unknown` only off the real server.
pub fn shown(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The forwarded addresses, left to right; `None` for a hop that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    // X-Forwarded-For first: most proxies write it, and a client's own `Forwarded` must
    // not win over what the proxy appended there.
    let (name, hop): (_, fn(&str) -> Option<IpAddr>) = if headers.contains_key("x-forwarded-for") {
        ("x-forwarded-for", parse_hop)
    } else {
        ("forwarded", forwarded_element)
    };
    headers
        .get_all(name)
        .iter()
        .flat_map(|line| match line.to_str() {
            Ok(line) => line.split(',').map(hop).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` address of one `Forwarded` element (RFC 7239: `for=192.0.2.60;proto=http`,
/// `for="[2001:db8::17]:4711"`); `None` when it has none or an obfuscated one.
fn forwarded_element(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value)
    })?;
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    parse_hop(value)
}

/// One hop: an address, with or without a port (`192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client(ip("192.0.2.1"), &h),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
    }

    #[test]
    fn the_right_most_address_that_is_not_a_trusted_proxy_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.9/32"]);
        let peer = ip("10.0.0.1");
        for (xff, client) in [
            ("203.0.113.7", "203.0.113.7"),
            ("203.0.113.7, 10.1.2.3", "203.0.113.7"),
            // The client wrote the first two; the proxy appended the last.
            ("1.1.1.1, 2.2.2.2, 203.0.113.7", "203.0.113.7"),
            ("not an address, 203.0.113.7, 192.0.2.9", "203.0.113.7"),
            ("203.0.113.7:5555", "203.0.113.7"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            // All trusted: the left-most.
            ("10.9.9.9, 10.8.8.8", "10.9.9.9"),
            // The hop that would decide does not parse: the peer stands.
            ("203.0.113.7, garbage", "10.0.0.1"),
            ("203.0.113.7,", "10.0.0.1"),
            ("", "10.0.0.1"),
        ] {
            let h = headers(&[("x-forwarded-for", xff)]);
            assert_eq!(trusted.client(peer, &h), ip(client), "{xff:?}");
        }
        let two_lines = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-for", "10.1.1.1"),
        ]);
        assert_eq!(trusted.client(peer, &two_lines), ip("203.0.113.7"));
        assert_eq!(trusted.client(peer, &HeaderMap::new()), peer);
        assert_eq!(
            trusted.client(
                ip("::ffff:10.0.0.1"),
                &headers(&[("x-forwarded-for", "203.0.113.7")])
            ),
            ip("203.0.113.7"),
            "an IPv4-mapped peer is its IPv4 address"
        );
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        for (forwarded, client) in [
            ("for=203.0.113.7", "203.0.113.7"),
            ("for=1.1.1.1, for=203.0.113.7;proto=https", "203.0.113.7"),
            ("For=\"[2001:db8::7]:4711\"", "2001:db8::7"),
            (
                "proto=https;for=\"203.0.113.7:80\";by=10.0.0.1",
                "203.0.113.7",
            ),
            ("for=203.0.113.7, for=10.2.2.2", "203.0.113.7"),
            ("for=unknown", "10.0.0.1"),
            ("for=_hidden", "10.0.0.1"),
            ("proto=https", "10.0.0.1"),
        ] {
            let h = headers(&[("forwarded", forwarded)]);
            assert_eq!(trusted.client(peer, &h), ip(client), "{forwarded:?}");
        }
        let both = headers(&[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(trusted.client(peer, &both), ip("203.0.113.7"));
    }
}
