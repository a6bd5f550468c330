package charlie

import (
	"embed"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"eventually/pkg/server"
)

//go:embed templates/*.html
var templates embed.FS

var pages = server.Templates(templates, template.FuncMap{
	"deref": func(p *int64) int64 { return *p },
	"onOff": func(p *bool) string {
		if *p {
			return "on"
		}
		return "off"
	},
})

// chargesShown is how many of the newest charges the page shows, and the
// API unless asked for up to maxChargesListed (?limit=).
const chargesShown, maxChargesListed = 100, 10000

func (c *Charlie) routes() {
	e := c.HTTP
	e.GET("/", c.settingsPage)
	e.GET("/transitions", c.transitionsPage)
	e.GET("/api/settings", c.getSettings)
	e.GET("/api/charges", c.listCharges)
	e.GET("/api/ledger", c.getLedger)
	e.POST("/api/reset", c.ResetHandler(c.fence, reseed, nil))
}

func (c *Charlie) getSettings(ec echo.Context) error {
	return server.Reply(ec, http.StatusOK)(loadFee(c.DBFor(ec)))
}

func (c *Charlie) listCharges(ec echo.Context) error {
	limit, err := server.Limit(ec, chargesShown, maxChargesListed)
	if err != nil {
		return err
	}
	return server.Reply(ec, http.StatusOK)(recentCharges(c.DBFor(ec), limit))
}

func (c *Charlie) getLedger(ec echo.Context) error {
	return server.Reply(ec, http.StatusOK)(loadLedger(c.DBFor(ec)))
}

func (c *Charlie) settingsPage(ec echo.Context) error {
	f, err := loadFee(c.DBFor(ec))
	if err != nil {
		return err
	}
	return server.Render(ec, pages, "settings", struct {
		server.Page
		Fee FeeSetting
	}{c.Page("fee setting copy"), f})
}

func (c *Charlie) transitionsPage(ec echo.Context) error {
	charges, err := recentCharges(c.DBFor(ec), chargesShown)
	if err != nil {
		return err
	}
	l, err := loadLedger(c.DBFor(ec))
	if err != nil {
		return err
	}
	return server.Render(ec, pages, "transitions", struct {
		server.Page
		Ledger  Ledger
		Charges []Charge
	}{c.Page("charges"), l, charges})
}
