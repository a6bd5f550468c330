package overlord

import (
	"embed"
	"html/template"
	"time"

	"github.com/labstack/echo/v4"

	"eventually/pkg/server"
)

//go:embed templates/*.html
var templates embed.FS

var pages = server.Templates(templates, template.FuncMap{
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05.000") },
	"short": func(id string) string {
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
})

// How many rows the pages show.
const (
	pageMessages = 100
	pageOrders   = 30
)

func (o *Overlord) messagesPage(c echo.Context) error {
	f, err := messageFilter(c)
	if err != nil {
		return err
	}
	f.Limit = pageMessages
	msgs, err := latest(o.DBFor(c), f)
	if err != nil {
		return err
	}
	return server.Render(c, pages, "messages", struct {
		server.Page
		Filter   filter
		Messages []Message
	}{o.Page("messages"), f, msgs})
}

// timelinePage shows one request or one order as a timeline. It is
// empty until messages arrive: the page is live and fills in as they do.
type timelinePage struct {
	server.Page
	Heading    string // "Request" or "Order"
	Subject    string // its ID or guid
	RequestIDs []string
	TraceIDs   []string // of a request
	Steps      []Step
}

func (o *Overlord) requestPage(c echo.Context) error {
	v, err := o.request(c)
	if err != nil {
		return err
	}
	return server.Render(c, pages, "timeline", timelinePage{
		o.Page("request " + v.RequestID), "Request", v.RequestID, []string{v.RequestID}, v.TraceIDs, v.Messages})
}

func (o *Overlord) orderPage(c echo.Context) error {
	v, err := o.order(c)
	if err != nil {
		return err
	}
	return server.Render(c, pages, "timeline", timelinePage{
		o.Page("order " + v.GUID), "Order", v.GUID, v.RequestIDs, nil, v.Messages})
}

func (o *Overlord) transitionsPage(c echo.Context) error {
	orders, err := recentOrders(o.DBFor(c), pageOrders)
	if err != nil {
		return err
	}
	return server.Render(c, pages, "transitions", struct {
		server.Page
		Orders []orderSummary
	}{o.Page("orders"), orders})
}
