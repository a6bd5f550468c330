package scenarios

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"eventually/internal/natscluster"
	st "eventually/internal/systemtest"
	"eventually/pkg/stream"
)

// On a cluster, a stream kept by one node has no leader while that node
// is down: no service can publish to it or consume from it, and /readyz
// says so (503, with the reason) until the node is back.
func TestReadyzWhileTheStreamHasNoLeader(t *testing.T) {
	cluster := natscluster.Start(t)
	s := st.Start(t, st.Options{Stage: 5, Services: []string{"beta"}, BrokerURL: cluster.URL(), Stream: stream.Limits{Replicas: 1}})
	leader := cluster.StreamLeader(stream.Name)
	if leader < 0 {
		t.Fatal("the stream has no leader")
	}
	cluster.Kill(leader)
	var body string
	st.Eventually(t, 10*time.Second, "beta /readyz 503", func() bool {
		r := st.Call(t, "GET", s.URL("beta")+"/readyz", nil)
		body = string(r.Body)
		return r.Status == http.StatusServiceUnavailable
	})
	t.Logf("while the stream has no leader: %s", body)
	if !strings.Contains(body, "no leader answers") {
		t.Errorf("/readyz says %s, want the reason: the stream has no leader", body)
	}
	st.Must(t, st.Call(t, "GET", s.URL("beta")+"/healthz", nil), 200)
	cluster.Restart(leader)
	waitReadyz(t, s, "beta", http.StatusOK)
}
