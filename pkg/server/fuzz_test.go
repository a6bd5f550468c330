package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"eventually/pkg/logging"
	"eventually/pkg/stage"
)

// FuzzStageBody sends arbitrary bodies to PUT /api/stage through the whole
// middleware stack: never a panic or a 5xx; every refusal is a JSON error
// with a request ID, and a refused body leaves the stage as it was.
func FuzzStageBody(f *testing.F) {
	for _, s := range []string{`{"stage":3}`, `{"stage":9}`, `{"stage":-1}`, `{"stage":"2"}`, `{}`, `null`, `{`, ``, `{"stage":1,"x":2}`} {
		f.Add([]byte(s))
	}
	st, _ := stage.New(5)
	e := New(Config{Service: "test", Logger: logging.Discard(), Stage: st, Live: NewLive(),
		Browser: Browser{Hosts: []string{"example.com"}}}) // httptest's host
	f.Fuzz(func(t *testing.T, body []byte) {
		before := st.Get()
		req := httptest.NewRequest(http.MethodPut, "/api/stage", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			return
		case rec.Code >= 500:
			t.Fatalf("%q: status %d", body, rec.Code)
		}
		var answer ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Error == "" || answer.RequestID == "" {
			t.Fatalf("%q: status %d without a clear JSON error: %s", body, rec.Code, rec.Body)
		}
		if st.Get() != before {
			t.Fatalf("%q was refused but changed the stage", body)
		}
	})
}
