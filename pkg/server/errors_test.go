package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"eventually/pkg/domain"
	"eventually/pkg/logging"
	"eventually/pkg/stage"
)

// A domain error's kind chooses the status, and its text is the answer;
// an error of no kind is an internal error whose text is not shown.
func TestDomainErrorKindsMapToStatuses(t *testing.T) {
	st, _ := stage.New(stage.Max)
	e := New(Config{Service: "test", Logger: logging.Discard(), Stage: st, Live: NewLive(),
		Browser: Browser{Hosts: []string{"example.com"}}}) // httptest's requests are to example.com
	var failWith error
	e.GET("/fail", func(echo.Context) error { return failWith })
	for _, c := range []struct {
		err    error
		status int
		text   string
	}{
		{fmt.Errorf("cart c-1: %w", domain.ErrNotFound), http.StatusNotFound, "cart c-1: not found"},
		{fmt.Errorf("order is approved, not pending: %w", domain.ErrConflict), http.StatusConflict, "order is approved, not pending: conflict"},
		{fmt.Errorf("%w: fee_cents must not be negative", domain.ErrInvalid), http.StatusBadRequest, "invalid input: fee_cents must not be negative"},
		{fmt.Errorf("%w: the broker does not answer", domain.ErrUnavailable), http.StatusServiceUnavailable, "unavailable: the broker does not answer"},
		{errors.New("disk I/O error"), http.StatusInternalServerError, "internal error"},
	} {
		failWith = c.err
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fail", nil))
		var body ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != c.status || body.Error != c.text || body.RequestID == "" {
			t.Errorf("%v: %d %+v, want %d %q with a request ID", c.err, rec.Code, body, c.status, c.text)
		}
	}
}
