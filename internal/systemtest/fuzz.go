package systemtest

import (
	"bytes"
	"testing"
)

// FuzzSwitchBody fuzzes a switch of a running service: PUT url with an
// arbitrary body is either taken (2xx) or a clear refusal (Answered), and
// a refusal leaves what GET url answers as it was. Seeds are valid and
// broken bodies.
func FuzzSwitchBody(f *testing.F, url string, seeds ...string) {
	for _, body := range seeds {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := Must(t, Call(t, "GET", url, nil), 200).Body
		if Answered(t, "PUT "+url, Call(t, "PUT", url, body)) {
			return
		}
		if after := Must(t, Call(t, "GET", url, nil), 200).Body; !bytes.Equal(after, before) {
			t.Fatalf("%q refused, yet %s went from %s to %s", body, url, before, after)
		}
	})
}
