package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Page is the stored record of one finished URL: a fetched page, a
// redirect, or a failure. Its JSON form is also the output format of the
// query CLI (`pages get --format json`, `pages list --format jsonl`,
// `export --format jsonl`), so field names are a contract.
type Page struct {
	URL          string            `json:"url"`                     // normalized URL, the key
	Host         string            `json:"host"`                    // host[:port]
	Status       int               `json:"status"`                  // final HTTP status; 0 when no response
	ContentType  string            `json:"content_type"`            // media type, lowercased
	Charset      string            `json:"charset,omitempty"`       // encoding the body was decoded from, HTML only
	Title        string            `json:"title"`                   // HTML <title>, UTF-8
	Description  string            `json:"description,omitempty"`   // <meta name=description>
	Canonical    string            `json:"canonical,omitempty"`     // <link rel=canonical>, normalized
	FetchedAt    time.Time         `json:"fetched_at"`              // when the fetch ended (RFC 3339 in JSON)
	DurationMS   int64             `json:"duration_ms"`             // request start to body end
	Depth        int               `json:"depth"`                   // link hops from a seed
	Parent       string            `json:"parent,omitempty"`        // the page this URL was discovered on
	RedirectTo   string            `json:"redirect_to,omitempty"`   // normalized Location of a 3xx
	Outlinks     int               `json:"outlinks"`                // links found on the page (before scope)
	TextLen      int               `json:"text_len"`                // visible text length in runes
	BodyBytes    int64             `json:"body_bytes"`              // decoded body size as stored (after truncation)
	WireBytes    int64             `json:"wire_bytes,omitempty"`    // bytes read from the network
	Hash         string            `json:"hash,omitempty"`          // sha256 of the body, hex
	Truncated    bool              `json:"truncated"`               // body cut at fetch.max_body_bytes
	Error        string            `json:"error"`                   // why the URL failed; "" on success
	Attempts     int               `json:"attempts,omitempty"`      // fetch attempts it took
	Changes      int               `json:"changes,omitempty"`       // recrawls that found the body changed
	PrevHash     string            `json:"prev_hash,omitempty"`     // hash of the body before the last change
	RecrawlMS    int64             `json:"recrawl_ms,omitempty"`    // current recrawl interval, milliseconds
	ETag         string            `json:"etag,omitempty"`          // for conditional recrawl
	LastModified string            `json:"last_modified,omitempty"` // for conditional recrawl
	Header       http.Header       `json:"header,omitempty"`        // response headers as received
	Fields       map[string]any    `json:"fields"`                  // extracted data (extraction rules)
	Extra        map[string]string `json:"extra,omitempty"`         // free-form notes (e.g. dropped link counts)

	// NotModifiedHeader holds the headers of the 304 Not Modified that
	// last confirmed the stored body on a recrawl; nil when the body came
	// with the last successful fetch. With it, FetchedAt is that 304's
	// time and Extra["body_fetched_at"], when known, the body's (RFC 3339,
	// nanoseconds).
	NotModifiedHeader http.Header `json:"not_modified_header,omitempty"`
}

// recordVersion prefixes every encoded record so the codec can evolve.
const recordVersion = 1

// MarshalRecord encodes p for storage.
func MarshalRecord(p *Page) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode page %s: %w", p.URL, err)
	}
	return append([]byte{recordVersion}, b...), nil
}

// recordWithBlob prefixes a stored record whose body is in the blobs
// bucket: recordWithBlob, the blob id (uvarint), then the JSON. The id is
// added by the store, not by MarshalRecord.
const recordWithBlob = 2

// splitRecord returns a stored record's body blob id (0: none) and JSON.
func splitRecord(data []byte) (blob uint64, js []byte, err error) {
	if len(data) == 0 {
		return 0, nil, fmt.Errorf("decode page: empty record: %w", ErrCorrupt)
	}
	switch data[0] {
	case recordVersion:
		return 0, data[1:], nil
	case recordWithBlob:
		id, n := binary.Uvarint(data[1:])
		if n <= 0 || id == 0 {
			return 0, nil, fmt.Errorf("decode page: bad blob id: %w", ErrCorrupt)
		}
		return id, data[1+n:], nil
	}
	return 0, nil, fmt.Errorf("decode page: unknown record version %d: %w", data[0], ErrCorrupt)
}

// joinRecord is the stored form of the record JSON js with body blob id
// (0: none).
func joinRecord(blob uint64, js []byte) []byte {
	if blob == 0 {
		return append([]byte{recordVersion}, js...)
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(js))
	b = binary.AppendUvarint(append(b, recordWithBlob), blob)
	return append(b, js...)
}

// UnmarshalRecord decodes a stored record. It never panics on bad input.
func UnmarshalRecord(data []byte) (*Page, error) {
	_, js, err := splitRecord(data)
	if err != nil {
		return nil, err
	}
	return decodePage(js)
}

// decodePage decodes a record's JSON (a MarshalRecord record without its
// version byte, as the value log holds it).
func decodePage(js []byte) (*Page, error) {
	p := new(Page)
	if err := json.Unmarshal(js, p); err != nil {
		return nil, fmt.Errorf("decode page: %v: %w", err, ErrCorrupt)
	}
	return p, nil
}
