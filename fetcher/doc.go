// Package fetcher performs single HTTP GET requests for the crawler, safely.
//
// A [Client] does exactly one request per [Client.Fetch] call and reports
// precisely what happened: status, headers, the content-decoded body (capped),
// whether the body was cut, how many bytes crossed the wire and how long it
// took. Deciding when to fetch (politeness, scheduling) is not this package's
// job.
//
// The open web is hostile, so every failure mode is bounded:
//
//   - Redirects are never followed; a 3xx is a result and its Location is
//     reported, resolved against the requested URL.
//   - [Options.Timeout] covers the whole exchange, including reading the body.
//     Once an encoded body's gzip, br or deflate stream has ended, Fetch
//     waits at most half a second more for the server to end the body
//     (another gzip member, the final chunk, the connection's close): a
//     body still open then is complete, and its connection is not reused.
//   - The body is capped twice: decoded bytes at MaxBodyBytes and wire bytes
//     slightly above it, so neither endless bodies nor compression bombs can
//     grow memory. With stacked content codings ("deflate, gzip") each inner
//     decoder's input is capped like the wire, so no layer can keep the
//     CPU busy decoding to nothing until Timeout. A br decoder's window is
//     limited to what MaxBodyBytes needs (less than twice that, or 256 KiB
//     for small caps), whatever the stream declares, and "br" may appear
//     only once; other stacks are kept raw like unknown codings.
//   - Over HTTP/2 the transport reads at most 256 KiB of a response ahead
//     of Fetch (the stream's flow-control window; Go's default is 4 MiB),
//     so what it buffers beyond [Options.BodyMemory], even for fetches
//     waiting for that memory, stays small.
//   - Unless [Options.AllowPrivateAddresses] is set, connections to loopback,
//     private, link-local and other special-purpose addresses are refused at
//     dial time, after DNS resolution, so names and redirects cannot be used to
//     reach internal services.
//
// Every error returned by Fetch is an [*Error] whose [Kind] classifies the
// failure. When the body fails part-way, Fetch returns the partial
// [*Response] together with the error.
package fetcher
