package extract

import "errors"

// These errors are returned (wrapped) by Set.ApplyRule. Match them with
// errors.Is.
var (
	// ErrUnknownRule is returned when no rule has the requested name.
	ErrUnknownRule = errors.New("no extract rule with that name")

	// ErrNoMatch is returned when the rule's match expression does not
	// accept the page URL, so the rule would not run on that page.
	ErrNoMatch = errors.New("rule does not match the page URL")
)
