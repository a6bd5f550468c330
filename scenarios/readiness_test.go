package scenarios

import (
	"context"
	"net/http"
	"testing"
	"time"

	st "eventually/internal/systemtest"
	"eventually/pkg/stream"
)

// readyWithin is how soon /readyz must tell an outage, and its end.
const readyWithin = 5 * time.Second

// /readyz answers 503 with the reason within 5 s of the broker stopping,
// and 200 within 5 s of its return; /healthz (liveness) stays 200.
func TestReadyzFollowsTheBroker(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"beta"}})
	s.StopBroker()
	waitReadyz(t, s, "beta", http.StatusServiceUnavailable)
	st.Must(t, st.Call(t, "GET", s.URL("beta")+"/healthz", nil), 200)
	s.StartBroker()
	waitReadyz(t, s, "beta", http.StatusOK)
}

// A durable consumer deleted behind a service's back is noticed (503), and
// created again (200), and the service goes on receiving.
func TestReadyzNoticesADeletedConsumer(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha", "beta"}})
	durable := stream.DurableName("beta", "settings.changed")
	if err := stream.DeleteConsumer(context.Background(), s.BrokerURL(), durable); err != nil {
		t.Fatal(err)
	}
	// Not ready until the next check has created it again (a second at
	// most): the poll looks every 10 ms.
	waitReadyz(t, s, "beta", http.StatusServiceUnavailable)
	waitReadyz(t, s, "beta", http.StatusOK)
	latest := putSettings(t, s, map[string]any{"fee_cents": 2600})
	st.Eventually(t, wait, "beta receives through the consumer created again", func() bool {
		return getSettings(t, s, "beta").Version == latest.Version
	})
}

func waitReadyz(t *testing.T, s *st.System, service string, status int) {
	t.Helper()
	st.Eventually(t, readyWithin, service+" /readyz "+http.StatusText(status), func() bool {
		return st.Call(t, "GET", s.URL(service)+"/readyz", nil).Status == status
	})
}
