// Package scenarios holds the talk's scenarios as tests: each starts the
// real services against an embedded broker and shows a problem at the
// stage before its fix and solved at the stage after.
package scenarios
