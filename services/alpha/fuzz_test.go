package alpha

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

// FuzzSettingsBody feeds the settings change body arbitrary bytes:
// decoding never panics, and every refusal is a 4xx with a reason.
func FuzzSettingsBody(f *testing.F) {
	for _, s := range []string{
		`{"fee_enabled":true}`, `{"discount_cents":-1}`, `{"fee_enabled":"yes"}`, `{}`, `[]`, `null`, `{`,
		`{"fee_cents":9223372036854775808}`, `{"unknown":1}`, ``,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPut, "/", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c := e.NewContext(req, httptest.NewRecorder())
		var change SettingsChange
		err := server.BindJSON(c, &change)
		if err == nil {
			err = change.Validate()
		}
		var he *echo.HTTPError
		switch {
		case err == nil:
			if change == (SettingsChange{}) {
				t.Fatalf("accepted an empty change from %q", body)
			}
		case errors.As(err, &he):
			if he.Code < 400 || he.Code >= 500 {
				t.Fatalf("%q: status %d", body, he.Code)
			}
		case !errors.Is(err, domain.ErrInvalid):
			t.Fatalf("%q: not a clear client error: %v", body, err)
		}
	})
}
