package overlord

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"eventually/internal/supervisor"
	"eventually/pkg/domain"
	"eventually/pkg/server"
)

// Issue 6: a service is down. Overlord shows, per service, the messages
// the stream keeps for its durable consumers: while charlie is stopped
// the approvals pile up for it, and once it runs again (with the fix) they
// drain. It also passes the dashboard's stop and start on to whatever runs
// the services (boot), when that told it where.

// watchedServices are the services whose backlog the page shows.
var watchedServices = []string{"alpha", "beta", "charlie"}

// backlog is what waits in the stream for one service.
type backlog struct {
	Service   string            `json:"service"`
	Waiting   uint64            `json:"waiting"`  // over all its consumers
	ByTopic   map[string]uint64 `json:"by_topic"` // topic -> waiting
	Consumers int               `json:"consumers"`
}

// backlogs reads every watched service's consumers from the broker: the
// messages not delivered yet and those delivered but not acknowledged.
func (o *Overlord) backlogs(ctx context.Context) ([]backlog, error) {
	all, err := o.Bus.Consumers(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("read the consumers' backlog: %w", err)
	}
	out := make([]backlog, 0, len(watchedServices))
	for _, service := range watchedServices {
		b := backlog{Service: service, ByTopic: map[string]uint64{}}
		for _, c := range all {
			if c.Service != service {
				continue
			}
			n := c.Pending + uint64(c.AckPending)
			b.Waiting += n
			b.ByTopic[c.Topic] += n
			b.Consumers++
		}
		out = append(out, b)
	}
	return out, nil
}

func (o *Overlord) getWaiting(c echo.Context) error {
	b, err := o.backlogs(c.Request().Context())
	if err != nil {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return c.JSON(http.StatusOK, b)
}

// waitingPage shows the backlogs; it refreshes itself every second, since
// a backlog drains without overlord storing anything.
func (o *Overlord) waitingPage(c echo.Context) error {
	b, err := o.backlogs(c.Request().Context())
	problem := ""
	if err != nil {
		problem = err.Error()
	}
	type row struct {
		backlog
		Topics []string
	}
	rows := make([]row, len(b))
	for i, x := range b {
		rows[i] = row{backlog: x, Topics: slices.Sorted(maps.Keys(x.ByTopic))}
	}
	return server.Render(c, pages, "waiting", struct {
		server.Page
		Rows    []row
		Problem string
	}{o.Page("waiting"), rows, problem})
}

// routeProcesses passes /api/processes... on to the supervisor, or says
// that nothing supervises the services.
func (o *Overlord) routeProcesses(supervisorURL string) error {
	if supervisorURL == "" {
		o.HTTP.Any("/api/processes*", func(c echo.Context) error {
			return fmt.Errorf("%w: nothing here can stop or start a service: overlord runs without `eventually boot`, "+
				"which supervises the services for the dashboard", domain.ErrUnavailable)
		})
		return nil
	}
	proxy, err := supervisor.Proxy(supervisorURL)
	if err != nil {
		return err
	}
	o.HTTP.Any("/api/processes*", echo.WrapHandler(proxy))
	return nil
}
