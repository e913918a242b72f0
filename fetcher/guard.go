package fetcher

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// dialControl returns the net.Dialer.Control hook that refuses special-purpose
// destinations except those in allowed, or nil when private addresses are
// allowed.
//
// The check runs on the resolved IP right before connect(2), so it covers DNS
// names, IPv4-mapped IPv6 forms and every redirect hop a caller chooses to
// follow. The deny lists come from code.dny.dev/ssrf (IANA special-purpose
// registries; for IPv6 everything outside 2000::/3 is denied, which covers
// ::1, fe80::/10, fc00::/7, :: and ::ffff:0:0/96). Only the port check is
// disabled, since crawlers legitimately visit sites on other ports.
func dialControl(allowPrivate bool, allowed ...netip.Prefix) func(network, address string, c syscall.RawConn) error {
	guard := newGuard(allowPrivate, allowed...)
	if guard == nil {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		if err := guard.Safe(network, address, c); err != nil {
			return fmt.Errorf("%w: %w", ErrBlockedAddress, err)
		}
		return nil
	}
}

// newGuard returns the address guard dialControl applies: nil when
// private addresses are allowed.
func newGuard(allowPrivate bool, allowed ...netip.Prefix) *ssrf.Guardian {
	if allowPrivate {
		return nil
	}
	opts := []ssrf.Option{ssrf.WithAnyPort()}
	var v4, v6 []netip.Prefix
	for _, p := range allowed {
		switch {
		case !p.IsValid():
		case p.Addr().Is4():
			v4 = append(v4, p.Masked())
		default:
			v6 = append(v6, p.Masked())
		}
	}
	if len(v4) > 0 {
		opts = append(opts, ssrf.WithAllowedV4Prefixes(v4...))
	}
	if len(v6) > 0 {
		opts = append(opts, ssrf.WithAllowedV6Prefixes(v6...))
	}
	return ssrf.New(opts...)
}

// checkTarget is the guard for requests sent through a proxy, which
// connects to the target itself: the dial-time check sees only the
// proxy. It resolves host (an IP address is taken as it is) and refuses
// it when the guard refuses any of its addresses, so that a name whose
// records mix public and private addresses is refused whichever the proxy
// would pick. The proxy resolves the name again, so its own rules are the
// last word.
func checkTarget(ctx context.Context, guard *ssrf.Guardian, resolver *net.Resolver, host string) error {
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		if addrs, err = resolver.LookupNetIP(ctx, "ip", host); err != nil {
			return err
		}
	}
	for _, ip := range addrs {
		if err := guard.SafeAddr(ip.Unmap()); err != nil {
			return fmt.Errorf("%w: %s is %s: %w", ErrBlockedAddress, host, ip, err)
		}
	}
	return nil
}

// canonicalIPv4 reports the dotted-quad form of hostname when browsers
// interpret it as an IPv4 address but Go's resolver does not, such as
// "2130706433", "0x7f.1" or "127.1" (all 127.0.0.1). The WHATWG host parser
// decides what counts as an IPv4 address.
//
// Without this, such a host is sent to DNS as a name: the pure-Go resolver
// fails, but the cgo resolver (getaddrinfo/inet_aton) resolves it, so the
// outcome would depend on the build. Rewriting makes the request go to the
// address every browser would use, where the dial-time guard sees it.
func canonicalIPv4(hostname string) (string, bool) {
	if hostname == "" {
		return "", false
	}
	if _, err := netip.ParseAddr(hostname); err == nil {
		return "", false // already a literal net.Dial understands
	}
	trimmed := strings.TrimSuffix(hostname, ".")
	if !isIPv4NumberLike(trimmed[strings.LastIndexByte(trimmed, '.')+1:]) {
		return "", false // an ordinary domain name: skip the parser
	}
	u, err := whatwg.Parse("http://" + hostname + "/")
	if err != nil || !u.IsIPv4() {
		return "", false
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil || !addr.Is4() {
		return "", false
	}
	return addr.String(), true
}

// isIPv4NumberLike reports whether s could be a WHATWG IPv4 number part:
// decimal, octal (leading 0) or hexadecimal (0x prefix).
func isIPv4NumberLike(s string) bool {
	if s == "" {
		return false
	}
	if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
		for _, r := range s[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
		return true
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
