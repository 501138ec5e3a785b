//! The SSRF guard: inboxes, actor ids and WebFinger hosts come from remote
//! documents or from readers, so anyone could point us at
//! `http://127.0.0.1:5432/` or a cloud metadata address. Requests go only to
//! public addresses, unless the operator (or a test) allows private ones.
//! The check sits in the client's DNS resolver, so the address checked is the
//! address connected to (no DNS rebinding between a check and the
//! connection); IP literals never reach the resolver: [`check_url`] refuses
//! them before sending.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Every address a name resolved to was refused.
#[derive(Debug, thiserror::Error)]
#[error("refusing to connect to {host}: it resolves only to non-public addresses ({addrs})")]
pub struct ForbiddenAddress {
    pub host: String,
    pub addrs: String,
}

/// True when `ip` must not be connected to: loopback, private, link-local,
/// multicast, unspecified, shared (CGNAT), documentation, benchmarking,
/// reserved, unique-local; IPv4 embedded in IPv6 is judged as IPv4.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return forbidden_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unicast_link_local()
        || ip.is_unique_local()
        || s[..6] == [0; 6] // IPv4-compatible (deprecated) and the rest of ::/96
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
}

/// A resolver that drops forbidden addresses and fails when none is left.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all.iter().copied().filter(|a| !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                let addrs = all.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                return Err(Box::new(ForbiddenAddress { host, addrs }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Refuses a URL whose host is a non-public IP literal (names are checked
/// by the resolver when connecting).
pub fn check_url(url: &reqwest::Url) -> Result<(), ForbiddenAddress> {
    let Some(host) = url.host_str() else {
        return Ok(());
    };
    match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) if is_forbidden(ip) => Err(ForbiddenAddress {
            host: host.to_owned(),
            addrs: ip.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The [`ForbiddenAddress`] somewhere in an error's chain of causes.
pub fn find_forbidden<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a ForbiddenAddress> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(f) = e.downcast_ref::<ForbiddenAddress>() {
            return Some(f);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "100.64.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::101:101",
        ] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn resolver_refuses_localhost() {
        let err = GuardedResolver
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .unwrap();
        let forbidden = find_forbidden(err.as_ref()).unwrap();
        assert_eq!(forbidden.host, "localhost");
        assert!(forbidden.to_string().contains("127.0.0.1"), "{forbidden}");
    }

    #[test]
    fn ip_literals_are_checked_before_sending() {
        for url in ["http://127.0.0.1:8080/inbox", "http://[::1]/x", "https://10.0.0.1/"] {
            assert!(check_url(&url.parse().unwrap()).is_err(), "{url}");
        }
        for url in ["https://1.1.1.1/inbox", "https://social.example/inbox"] {
            assert!(check_url(&url.parse().unwrap()).is_ok(), "{url}");
        }
    }
}
