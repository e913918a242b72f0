package urlnorm

import (
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// How a crawl groups hosts for politeness (fetch.politeness_key).
const (
	// ByHost keeps every host[:port] on its own: its own delay,
	// concurrency and throttle.
	ByHost = "host"
	// ByDomain puts the hosts of one registrable domain together: one
	// delay, concurrency and throttle for www.example.com,
	// docs.example.com and example.com:8080.
	ByDomain = "domain"
)

// PolitenessKey returns the politeness key of host, a canonical
// host[:port] as Host returns it. ByHost (and any other mode) returns
// host without a root dot (DropRootDot: "a.test." and "a.test" are one
// server). ByDomain returns its registrable domain under the public suffix
// list ("example.co.uk" for "shop.example.co.uk:8443"), without the port;
// an IP address without its port ("127.0.0.1", "[::1]"); and a name with
// no registrable domain (localhost, or a public suffix itself such as
// blogspot.com) without its port.
func PolitenessKey(mode, host string) string {
	if mode != ByDomain {
		return DropRootDot(host)
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		if ip.Is6() {
			return "[" + name + "]"
		}
		return name
	}
	name = strings.TrimSuffix(name, ".")
	if d, err := publicsuffix.EffectiveTLDPlusOne(name); err == nil {
		return d
	}
	return name
}
