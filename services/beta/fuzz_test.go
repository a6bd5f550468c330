package beta

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"eventually/pkg/domain"
	"eventually/pkg/server"
)

// FuzzSubmissionBody feeds the cart submit body arbitrary bytes: decoding
// and validation never panic, and every refusal is a 4xx with a reason.
func FuzzSubmissionBody(f *testing.F) {
	for _, s := range []string{
		`{"product":"widget","price_cents":1000}`, `{"product":"widget"}`, `{"price_cents":-5}`,
		`{"product":"","price_cents":0}`, `{"product":"w","price_cents":"ten"}`, `{"product":"w","price_cents":1,"x":1}`,
		`{"product":"w","price_cents":1e30}`, `[]`, `null`, `{`, ``, `{"product":"w","price_cents":1}{}`,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c := e.NewContext(req, httptest.NewRecorder())
		var sub Submission
		err := server.BindJSON(c, &sub)
		if err == nil {
			err = sub.Validate()
			if err == nil && (sub.PriceCents == nil || *sub.PriceCents <= 0 || sub.Product == "") {
				t.Fatalf("accepted %q as %+v", body, sub)
			}
		}
		if err != nil && !clientError(err) {
			t.Fatalf("%q: not a clear client error: %v", body, err)
		}
	})
}

// clientError reports whether err is answered with a 4xx and a message.
func clientError(err error) bool {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code >= 400 && he.Code < 500 && he.Message != ""
	}
	return errors.Is(err, domain.ErrInvalid) && err.Error() != domain.ErrInvalid.Error()
}
