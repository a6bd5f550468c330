package overlord

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"eventually/pkg/domain"
)

// Limits of a message list.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func (o *Overlord) routes() {
	e := o.HTTP
	e.GET("/", o.messagesPage)
	e.GET("/requests/:id", o.requestPage)
	e.GET("/orders/:guid", o.orderPage)
	e.GET("/transitions", o.transitionsPage)
	e.GET("/waiting", o.waitingPage)
	e.GET("/api/waiting", o.getWaiting)
	e.GET("/api/messages", o.listMessages)
	e.GET("/api/poison", o.listPoison)
	e.GET("/api/requests/:id", o.getRequest)
	e.GET("/api/orders/:guid", o.getOrder)
	e.POST("/api/reset", o.reset)
	o.serveDashboard()
}

// messageFilter reads the query of a message list.
func messageFilter(c echo.Context) (filter, error) {
	f := filter{RequestID: c.QueryParam("request_id"), EventName: c.QueryParam("event_name"), Limit: defaultLimit}
	if text := c.QueryParam("limit"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 || n > maxLimit {
			return f, fmt.Errorf("%w: limit must be a whole number from 1 to %d, not %q", domain.ErrInvalid, maxLimit, text)
		}
		f.Limit = n
	}
	return f, nil
}

func (o *Overlord) listMessages(c echo.Context) error { return o.list(c, false) }

func (o *Overlord) listPoison(c echo.Context) error { return o.list(c, true) }

// list answers the newest messages that match the query, the poisoned
// ones only when poisoned is set.
func (o *Overlord) list(c echo.Context, poisoned bool) error {
	f, err := messageFilter(c)
	if err != nil {
		return err
	}
	f.Poisoned = poisoned
	msgs, err := latest(o.DBFor(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, msgs)
}

// requestView is one request across services.
type requestView struct {
	RequestID string  `json:"request_id"`
	SpanMS    float64 `json:"span_ms"` // first to last message
	// TraceIDs are the traces its messages belong to (usually one): the
	// same request in a trace viewer.
	TraceIDs []string `json:"trace_ids"`
	Messages []Step   `json:"messages"`
}

func (o *Overlord) request(c echo.Context) (requestView, error) {
	id := c.Param("id")
	msgs, err := ofRequest(o.DBFor(c), id)
	if err != nil {
		return requestView{}, err
	}
	steps := timeline(msgs)
	return requestView{RequestID: id, SpanMS: float64(span(steps).Microseconds()) / 1000, TraceIDs: traceIDs(steps), Messages: steps}, nil
}

func (o *Overlord) getRequest(c echo.Context) error {
	v, err := o.request(c)
	if err != nil {
		return err
	}
	if len(v.Messages) == 0 {
		return fmt.Errorf("request %s: no message carries it: %w", v.RequestID, domain.ErrNotFound)
	}
	return c.JSON(http.StatusOK, v)
}

// orderView is one order across the requests that moved it on.
type orderView struct {
	GUID       string   `json:"guid"` // as asked: an order or a cart guid
	RequestIDs []string `json:"request_ids"`
	Messages   []Step   `json:"messages"`
}

func (o *Overlord) order(c echo.Context) (orderView, error) {
	guid := c.Param("guid")
	msgs, err := ofOrder(o.DBFor(c), guid)
	if err != nil {
		return orderView{}, err
	}
	steps := timeline(msgs)
	return orderView{GUID: guid, RequestIDs: requestIDs(steps), Messages: steps}, nil
}

func (o *Overlord) getOrder(c echo.Context) error {
	v, err := o.order(c)
	if err != nil {
		return err
	}
	if len(v.Messages) == 0 {
		return fmt.Errorf("order %s: no message is about it: %w", v.GUID, domain.ErrNotFound)
	}
	return c.JSON(http.StatusOK, v)
}
