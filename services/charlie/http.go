package charlie

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"eventually/pkg/server"
)

//go:embed templates/settings.html
var settingsPage string

//go:embed templates/transitions.html
var transitionsPage string

var pages = server.Templates(template.FuncMap{
	"cents": server.Cents,
	"deref": func(p *int64) int64 { return *p },
	"onOff": func(p *bool) string {
		if *p {
			return "on"
		}
		return "off"
	},
}, settingsPage, transitionsPage)

func (c *Charlie) routes() {
	e := c.HTTP
	e.GET("/", c.settingsPage)
	e.GET("/transitions", c.transitionsPage)
	e.GET("/api/settings", c.getSettings)
	e.GET("/api/charges", c.listCharges)
	e.GET("/api/ledger", c.getLedger)
}

func (c *Charlie) getSettings(ec echo.Context) error {
	f, err := loadFee(c.DB.WithContext(ec.Request().Context()))
	if err != nil {
		return err
	}
	return ec.JSON(http.StatusOK, f)
}

func (c *Charlie) recentCharges(ec echo.Context) ([]Charge, error) {
	charges := []Charge{}
	if err := c.DB.WithContext(ec.Request().Context()).Order("id DESC").Limit(100).Find(&charges).Error; err != nil {
		return nil, fmt.Errorf("list charges: %w", err)
	}
	return charges, nil
}

func (c *Charlie) listCharges(ec echo.Context) error {
	charges, err := c.recentCharges(ec)
	if err != nil {
		return err
	}
	return ec.JSON(http.StatusOK, charges)
}

func (c *Charlie) getLedger(ec echo.Context) error {
	l, err := loadLedger(c.DB.WithContext(ec.Request().Context()))
	if err != nil {
		return err
	}
	return ec.JSON(http.StatusOK, l)
}

func (c *Charlie) settingsPage(ec echo.Context) error {
	f, err := loadFee(c.DB.WithContext(ec.Request().Context()))
	if err != nil {
		return err
	}
	return server.Render(ec, pages, "settings", struct {
		server.Page
		Fee FeeSetting
	}{c.Page("fee setting copy"), f})
}

func (c *Charlie) transitionsPage(ec echo.Context) error {
	charges, err := c.recentCharges(ec)
	if err != nil {
		return err
	}
	l, err := loadLedger(c.DB.WithContext(ec.Request().Context()))
	if err != nil {
		return err
	}
	return server.Render(ec, pages, "transitions", struct {
		server.Page
		Ledger  Ledger
		Charges []Charge
	}{c.Page("charges"), l, charges})
}
