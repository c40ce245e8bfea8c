//! Where outbound webhooks may go. A webhook URL is chosen by a marketer, not by the
//! operator, so without a guard it could make this server post signed lead data to
//! itself, to the cloud metadata service or to anything else on the internal network
//! (server-side request forgery). This module decides, for one IP address and port,
//! whether a delivery may connect there:
//!
//! - addresses that are not globally routable are refused: loopback, unspecified,
//!   private, shared (CGNAT), link-local (incl. 169.254.169.254, the metadata
//!   service), unique-local, site-local, multicast, broadcast, documentation,
//!   benchmarking and reserved ranges;
//! - IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT,
//!   NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo) are judged by the IPv4 address inside;
//! - ports 80, 443 and 1024–65535 are allowed; other privileged ports (SMTP, SSH, …)
//!   are refused, so a webhook cannot talk to a mail or database server;
//! - an operator may allow networks explicitly (`AllowedNetworks`), which lifts the
//!   address rule (not the port rule) for addresses inside them.
//!
//! The service applies the same check when a webhook is saved and, what really
//! protects, on every address a delivery is about to connect to (DNS can change).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a permitted webhook destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    SharedAddressSpace,
    LinkLocal,
    SiteLocal,
    UniqueLocal,
    Multicast,
    Broadcast,
    Documentation,
    Benchmarking,
    Reserved,
    /// An IPv6 transition form (NAT64, 6to4, Teredo…) around a forbidden IPv4 address.
    Embeds(Forbidden4),
}

/// The reason an IPv4 address inside an IPv6 form is forbidden (kept apart so that
/// `Forbidden` does not nest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden4(pub Ipv4Addr);

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Forbidden::Unspecified => "the unspecified address",
            Forbidden::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Forbidden::Loopback => "a loopback address",
            Forbidden::Private => "a private-network address",
            Forbidden::SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
            Forbidden::LinkLocal => "a link-local address (incl. cloud metadata services)",
            Forbidden::SiteLocal => "a site-local address (fec0::/10)",
            Forbidden::UniqueLocal => "a unique-local address (fc00::/7)",
            Forbidden::Multicast => "a multicast address",
            Forbidden::Broadcast => "the broadcast address",
            Forbidden::Documentation => "a documentation address",
            Forbidden::Benchmarking => "a benchmarking address",
            Forbidden::Reserved => "a reserved address",
            Forbidden::Embeds(Forbidden4(v4)) => {
                return write!(
                    f,
                    "an IPv6 form of the internal IPv4 address {v4} ({})",
                    classify_v4(*v4).map_or("internal".to_string(), |r| r.to_string())
                )
            }
        };
        f.write_str(text)
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IANA's IPv4 special-purpose ranges that are not globally reachable (RFC 6890 and
/// successors), most specific first where ranges nest.
const V4_FORBIDDEN: &[(Ipv4Net, Forbidden)] = &[
    (v4(255, 255, 255, 255, 32), Forbidden::Broadcast),
    (v4(0, 0, 0, 0, 32), Forbidden::Unspecified),
    (v4(0, 0, 0, 0, 8), Forbidden::ThisNetwork),
    (v4(10, 0, 0, 0, 8), Forbidden::Private),
    (v4(100, 64, 0, 0, 10), Forbidden::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), Forbidden::Loopback),
    (v4(169, 254, 0, 0, 16), Forbidden::LinkLocal),
    (v4(172, 16, 0, 0, 12), Forbidden::Private),
    (v4(192, 0, 0, 0, 24), Forbidden::Reserved),
    (v4(192, 0, 2, 0, 24), Forbidden::Documentation),
    (v4(192, 88, 99, 0, 24), Forbidden::Reserved),
    (v4(192, 168, 0, 0, 16), Forbidden::Private),
    (v4(198, 18, 0, 0, 15), Forbidden::Benchmarking),
    (v4(198, 51, 100, 0, 24), Forbidden::Documentation),
    (v4(203, 0, 113, 0, 24), Forbidden::Documentation),
    (v4(224, 0, 0, 0, 4), Forbidden::Multicast),
    (v4(240, 0, 0, 0, 4), Forbidden::Reserved),
];

/// IPv6 ranges refused outright (those embedding IPv4 are handled before these).
const V6_FORBIDDEN: &[(Ipv6Net, Forbidden)] = &[
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), Forbidden::Unspecified),
    (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), Forbidden::Loopback),
    // Local-use NAT64 (RFC 8215): translates into the operator's own network.
    (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48), Forbidden::Reserved),
    // Discard-only (RFC 6666).
    (v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64), Forbidden::Reserved),
    (v6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48), Forbidden::Benchmarking),
    (
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32),
        Forbidden::Documentation,
    ),
    (
        v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20),
        Forbidden::Documentation,
    ),
    // IETF protocol assignments (ORCHID and others; Teredo is handled as embedding).
    (v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23), Forbidden::Reserved),
    // SRv6 segment identifiers (RFC 9602).
    (v6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16), Forbidden::Reserved),
    (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7), Forbidden::UniqueLocal),
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), Forbidden::LinkLocal),
    (v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10), Forbidden::SiteLocal),
    (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), Forbidden::Multicast),
];

/// Global unicast IPv6: everything outside it is unassigned or special.
const V6_GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 0, 0, 0, 0, 0, 0, 3);

/// Why an IPv4 address is not globally reachable, if it is not.
pub fn classify_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    V4_FORBIDDEN
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

/// The IPv4 address an IPv6 transition form carries, if it is one: IPv4-mapped
/// (::ffff:0:0/96), SIIT IPv4-translated (::ffff:0:0:0/96), IPv4-compatible (::/96,
/// deprecated), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32, the
/// client address, stored inverted).
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(low),
        // ::/96 holds :: and ::1 too; those are judged as IPv6.
        [0, 0, 0, 0, 0, 0, _, _] if ip != Ipv6Addr::UNSPECIFIED && ip != Ipv6Addr::LOCALHOST => {
            Some(low)
        }
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, a, b, ..] => Some(Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )),
        [0x2001, 0, ..] => Some(Ipv4Addr::from(!u32::from(low))),
        _ => None,
    }
}

/// Why an IPv6 address is not a permitted destination, if it is not.
pub fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    if let Some(inner) = embedded_v4(ip) {
        return classify_v4(inner).map(|_| Forbidden::Embeds(Forbidden4(inner)));
    }
    if let Some((_, why)) = V6_FORBIDDEN.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(*why);
    }
    (!V6_GLOBAL_UNICAST.contains(&ip)).then_some(Forbidden::Reserved)
}

/// Why an address is not a permitted destination before any operator exception.
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Networks the operator allows webhooks to reach although they are internal (e.g. a
/// receiver on the same host or LAN). Empty, the default, allows none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedNetworks(Vec<IpNet>);

/// A network the operator wrote that is not a CIDR or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a network: write an address with a prefix length, e.g. 10.0.0.0/8 or fd00::/8, or a single address")]
pub struct BadNetwork(pub String);

impl AllowedNetworks {
    /// Parses CIDR networks (`10.0.0.0/8`, `fd00::/8`) or single addresses; host bits
    /// are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<AllowedNetworks, BadNetwork> {
        let mut nets = Vec::new();
        for item in items {
            let text = item.as_ref().trim();
            if text.is_empty() {
                continue;
            }
            let net = match text.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(BadNetwork(text.to_string())),
                },
            };
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok(AllowedNetworks(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether `ip` (or, for an IPv4-mapped address, the IPv4 address it is) lies in an
    /// allowed network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.0
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|m| net.contains(&m)))
    }
}

impl fmt::Display for AllowedNetworks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let list: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&list.join(", "))
    }
}

/// Whether a delivery may connect to `ip`: globally reachable, or inside a network
/// the operator allowed.
pub fn check_address(ip: IpAddr, allowed: &AllowedNetworks) -> Result<(), Forbidden> {
    if allowed.contains(ip) {
        return Ok(());
    }
    match classify(ip) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// The ports webhooks may use: HTTP, HTTPS and the unprivileged range.
pub fn port_allowed(port: u16) -> bool {
    port == 80 || port == 443 || port >= 1024
}

/// A refused destination (address and port together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Address(IpAddr, Forbidden),
    Port(u16),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Address(ip, why) => write!(f, "{ip} is {why}"),
            Refused::Port(port) => write!(
                f,
                "port {port} is not allowed; webhooks use 80, 443 or a port from 1024 up"
            ),
        }
    }
}

/// Checks one socket address a delivery is about to connect to.
pub fn check_destination(ip: IpAddr, port: u16, allowed: &AllowedNetworks) -> Result<(), Refused> {
    if !port_allowed(port) {
        return Err(Refused::Port(port));
    }
    check_address(ip, allowed).map_err(|why| Refused::Address(ip, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn none() -> AllowedNetworks {
        AllowedNetworks::default()
    }

    #[test]
    fn public_addresses_are_allowed() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "169.253.255.255",
            "223.255.255.255",
            "11.0.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "1.0.0.0",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(classify(ip(a)), None, "{a}");
            assert_eq!(check_address(ip(a), &none()), Ok(()), "{a}");
        }
    }

    #[test]
    fn internal_ipv4_ranges_are_refused_with_their_reason() {
        use Forbidden::*;
        for (a, why) in [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("127.1.2.3", Loopback),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", ThisNetwork),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("192.0.0.8", Reserved),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("192.88.99.1", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("254.1.1.1", Reserved),
            ("255.255.255.255", Broadcast),
        ] {
            assert_eq!(classify(ip(a)), Some(why), "{a}");
            assert_eq!(check_address(ip(a), &none()), Err(why), "{a}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_are_refused() {
        use Forbidden::*;
        for (a, why) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456:789a::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("ff05::2", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001:10::1", Reserved),
            ("2001:20::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::a00:1", Reserved),
            ("5f00::1", Reserved),
            // Unassigned space outside 2000::/3.
            ("4000::1", Reserved),
            ("1::1", Reserved),
            ("e000::1", Reserved),
        ] {
            assert_eq!(classify(ip(a)), Some(why), "{a}");
        }
    }

    #[test]
    fn ipv6_forms_of_internal_ipv4_are_refused() {
        for (a, inner) in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::ffff:7f00:1", "127.0.0.1"),
            ("::ffff:169.254.169.254", "169.254.169.254"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("::ffff:0.0.0.0", "0.0.0.0"),
            ("::ffff:0:10.1.1.1", "10.1.1.1"),
            ("::127.0.0.1", "127.0.0.1"),
            ("::192.168.0.1", "192.168.0.1"),
            ("64:ff9b::127.0.0.1", "127.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
            ("2002:7f00:1::", "127.0.0.1"),
            ("2002:c0a8:101::1", "192.168.1.1"),
            ("2002:a9fe:a9fe:1::1", "169.254.169.254"),
            // Teredo stores the client address inverted: !127.0.0.1 = 128.255.255.254.
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
        ] {
            let inner: Ipv4Addr = inner.parse().unwrap();
            assert_eq!(
                classify(ip(a)),
                Some(Forbidden::Embeds(Forbidden4(inner))),
                "{a}"
            );
            assert!(
                classify(ip(a))
                    .unwrap()
                    .to_string()
                    .contains(&inner.to_string()),
                "{a}"
            );
        }
    }

    #[test]
    fn embedded_addresses_are_extracted() {
        let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert_eq!(
            embedded_v4(v6("::ffff:1.2.3.4")),
            Some(Ipv4Addr::new(1, 2, 3, 4))
        );
        assert_eq!(
            embedded_v4(v6("2002:102:304::")),
            Some(Ipv4Addr::new(1, 2, 3, 4))
        );
        assert_eq!(
            embedded_v4(v6("64:ff9b::1.2.3.4")),
            Some(Ipv4Addr::new(1, 2, 3, 4))
        );
        assert_eq!(embedded_v4(v6("::1")), None);
        assert_eq!(embedded_v4(v6("::")), None);
        assert_eq!(embedded_v4(v6("2606:4700::1")), None);
        assert_eq!(embedded_v4(v6("fe80::1")), None);
    }

    #[test]
    fn allowed_networks_lift_the_address_rule_inside_them_only() {
        let allowed = AllowedNetworks::parse(&["127.0.0.0/8", "10.1.0.0/16", "fd00::/8"]).unwrap();
        for a in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "fd00::5",
            "::ffff:127.0.0.1",
        ] {
            assert_eq!(check_address(ip(a), &allowed), Ok(()), "{a}");
        }
        for a in [
            "10.2.0.1",
            "169.254.169.254",
            "::1",
            "192.168.0.1",
            "fe80::1",
        ] {
            assert!(check_address(ip(a), &allowed).is_err(), "{a}");
        }
        // Public addresses stay allowed beside an allow list.
        assert_eq!(check_address(ip("8.8.8.8"), &allowed), Ok(()));
    }

    #[test]
    fn allowed_networks_parse_cidrs_and_addresses() {
        let n = AllowedNetworks::parse(&[" 10.1.2.3/8 ", "192.168.5.5", "::1", "", "10.0.0.0/8"])
            .unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/8, 192.168.5.5/32, ::1/128");
        assert!(n.contains(ip("10.200.0.1")));
        assert!(!n.contains(ip("192.168.5.6")));
        assert!(n.contains(ip("::1")));
        assert!(AllowedNetworks::parse::<&str>(&[]).unwrap().is_empty());
        assert_eq!(AllowedNetworks::default().to_string(), "none");
        for bad in ["10.0.0.0/33", "localhost", "10.0.0/8", "fd00::/129", "*"] {
            let err = AllowedNetworks::parse(&[bad]).unwrap_err();
            assert_eq!(err, BadNetwork(bad.to_string()));
        }
    }

    #[test]
    fn ports() {
        for p in [80, 443, 1024, 8080, 8443, 65535] {
            assert!(port_allowed(p), "{p}");
        }
        for p in [0, 1, 21, 22, 23, 25, 53, 110, 143, 465, 587, 993, 1023] {
            assert!(!port_allowed(p), "{p}");
        }
    }

    #[test]
    fn destinations_check_port_even_in_allowed_networks() {
        let allowed = AllowedNetworks::parse(&["127.0.0.0/8"]).unwrap();
        assert_eq!(check_destination(ip("127.0.0.1"), 8080, &allowed), Ok(()));
        assert_eq!(
            check_destination(ip("127.0.0.1"), 25, &allowed),
            Err(Refused::Port(25))
        );
        assert_eq!(
            check_destination(ip("127.0.0.1"), 8080, &none()),
            Err(Refused::Address(ip("127.0.0.1"), Forbidden::Loopback))
        );
        assert_eq!(check_destination(ip("8.8.8.8"), 443, &none()), Ok(()));
        assert_eq!(
            check_destination(ip("8.8.8.8"), 22, &none()),
            Err(Refused::Port(22))
        );
        let text = Refused::Address(ip("169.254.169.254"), Forbidden::LinkLocal).to_string();
        assert!(text.contains("metadata"), "{text}");
    }
}
