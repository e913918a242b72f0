// Package robots decides, per origin, which URLs the crawler may fetch,
// following RFC 9309 (Robots Exclusion Protocol).
//
// # Use
//
// Fetch retrieves origin/robots.txt through a caller-supplied Get (the
// caller's HTTP client owns politeness, SSRF protection and timeouts) and
// returns an immutable *Rules. FetchFile fetches the same way but returns
// the file instead (final status and body, cut as Parse reads it), for a
// caller that keeps it and parses it again later. FromStatus and Parse build
// Rules from a response the caller already has. Rules.Allowed answers for
// one URL of that origin.
//
// # Status policy (RFC 9309 §2.3.1)
//
//   - 2xx: the body is parsed; only its parseable lines are used.
//   - 3xx: Fetch follows up to MaxRedirects hops, across authorities too; the
//     rules found apply to the initial origin. A redirect that cannot be
//     followed (too many hops, no Location) means "unavailable": allow all.
//   - 4xx except 429: "unavailable": allow all (401 and 403 included).
//   - 429, 5xx, network error, or any status that is not a valid final HTTP
//     status (below 100, 1xx, 600 and above): "unreachable": disallow all,
//     and Unreachable reports true so the caller retries later instead of
//     caching the verdict for long.
//
// # Why the matcher is hand-written
//
// The project depends on github.com/temoto/robotstxt v1.1.2. It is not used
// at run time because nearly every behaviour RFC 9309 pins down would have
// to be replaced around it: one bad line voids the whole file; its scanner
// cuts a value at the first space ("/a b" becomes "/a"); it matches user
// agents by prefix ("crawl" applies to "crawler") and forgets a group that
// has no rules; on equal length the first listed rule wins instead of
// Allow; a wildcard rule's length is that of its compiled regexp; wildcard
// regexps are not anchored, so "/fish*.php" matches "/x/fish.php"; percent-
// encoding is not normalised; and FindGroup(...).Test ignores the 5xx
// disallow (issue #40). What would remain, the status mapping, is a switch.
// The tests keep the library as a differential oracle on inputs where it is
// right, and pin each gap so a future upgrade is easy to re-judge.
//
// # Matching
//
// Paths are compared octet by octet after both sides are brought to one
// canonical form: percent-encoded unreserved characters (RFC 3986 §2.3) are
// decoded, every other percent-encoding gets upper-case hex, and octets that
// are neither unreserved nor reserved (non-ASCII, controls, space, '"', ...)
// are percent-encoded. A rule's "*" matches any run of octets and a final
// "$" anchors it at the end; a literal '*' or '$' in a URL equals "%2A" or
// "%24" in a rule. The longest matching pattern, counted in canonical
// octets, wins; on a tie Allow wins. Runs of '*' count as one and a final
// '*' as none, so equivalent patterns tie, but a pattern of only '*'
// counts as "/", the one octet every path starts with: "Allow: *" ties
// with "Disallow: /" and wins.
//
// A reserved character (RFC 3986 §2.2) and its %XX form stay apart, although
// RFC 9309 §2.2.2's table equates "/foo/bar?baz=https://foo.bar" with
// ".../baz=https%3A%2F%2Ffoo.bar": RFC 3986 §2.2 says such URIs are not
// equivalent ("/a%2Fb" is one path segment, "/a/b" two), so a rule for one
// must not block or allow the other. Google's parser, which site owners test
// their files with, keeps them apart too; TestAllowed_PercentEncoding pins it.
package robots
