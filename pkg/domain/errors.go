// Package domain is what the services' domain logic shares: the kinds of
// error it returns. Domain code says what went wrong in its own words and
// wraps one of these kinds,
//
//	fmt.Errorf("order %s is %s, not pending: %w", guid, status, domain.ErrConflict)
//
// and the edge that answers maps the kind: pkg/server to an HTTP status.
// An error of no kind is a failure of the service itself (a database
// error, say), answered as an internal error and logged there, once.
package domain

import "errors"

// The kinds of domain error. Check them with errors.Is.
var (
	// ErrNotFound: what was asked for does not exist (an unknown cart).
	ErrNotFound = errors.New("not found")
	// ErrConflict: it exists, but its state does not allow the change
	// (approving an order that is not pending, submitting a locked cart).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input can never be accepted, whatever the state
	// (a negative fee, a cart without a product).
	ErrInvalid = errors.New("invalid input")
	// ErrUnavailable: something the answer needs is not there for now
	// (the broker, or the process that runs the services); asking again
	// later may work.
	ErrUnavailable = errors.New("unavailable")
)
