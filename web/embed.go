// Package web holds the presenter's dashboard, so overlord can serve it.
package web

import _ "embed"

// Dashboard is eventually.html: it opens from disk, and overlord serves it
// at /eventually.html.
//
//go:embed eventually.html
var Dashboard []byte
