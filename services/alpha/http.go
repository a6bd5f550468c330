package alpha

import (
	"embed"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"eventually/pkg/domain"
	"eventually/pkg/server"
)

//go:embed templates/*.html
var templates embed.FS

var pages = server.Templates(templates, nil)

func (a *Alpha) routes() {
	e := a.HTTP
	e.GET("/", a.settingsPage)
	e.GET("/transitions", a.transitionsPage)
	e.GET("/api/settings", a.getSettings)
	e.PUT("/api/settings", a.putSettings)
	e.GET("/api/orders", a.listOrders)
	e.GET("/api/orders/:guid", a.getOrder)
	e.POST("/api/orders/:guid/approve", a.approveOrder)
	e.GET("/api/auto-approve", a.getAutoApprove)
	e.PUT("/api/auto-approve", a.putAutoApprove)
}

func (a *Alpha) getSettings(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(loadSettings(a.DBFor(c)))
}

func (a *Alpha) putSettings(c echo.Context) error {
	var change SettingsChange
	if err := server.BindJSON(c, &change); err != nil {
		return err
	}
	return server.Reply(c, http.StatusOK)(a.processing.UpdateSettings(c.Request().Context(), change))
}

func (a *Alpha) recentOrders(c echo.Context) ([]Order, error) {
	limit, err := server.Limit(c, 100, 10000)
	if err != nil {
		return nil, err
	}
	return recentOrders(a.DBFor(c), limit)
}

func (a *Alpha) listOrders(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(a.recentOrders(c))
}

func (a *Alpha) getOrder(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(findOrder(a.DBFor(c), c.Param("guid")))
}

func (a *Alpha) approveOrder(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(a.processing.Approve(c.Request().Context(), c.Param("guid")))
}

type autoApproveBody struct {
	Enabled *bool `json:"enabled"`
}

func (a *Alpha) getAutoApprove(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]bool{"enabled": a.processing.AutoApprove.Load()})
}

func (a *Alpha) putAutoApprove(c echo.Context) error {
	var body autoApproveBody
	if err := server.BindJSON(c, &body); err != nil {
		return err
	}
	if body.Enabled == nil {
		return fmt.Errorf("%w: enabled is required", domain.ErrInvalid)
	}
	a.processing.AutoApprove.Store(*body.Enabled)
	a.Logger.InfoContext(c.Request().Context(), "auto-approve changed", "enabled", *body.Enabled)
	a.Live.Changed()
	return c.JSON(http.StatusOK, map[string]bool{"enabled": *body.Enabled})
}

func (a *Alpha) settingsPage(c echo.Context) error {
	s, err := loadSettings(a.DBFor(c))
	if err != nil {
		return err
	}
	return server.Render(c, pages, "settings", struct {
		server.Page
		Settings    Settings
		AutoApprove bool
	}{a.Page("settings"), s, a.processing.AutoApprove.Load()})
}

func (a *Alpha) transitionsPage(c echo.Context) error {
	orders, err := a.recentOrders(c)
	if err != nil {
		return err
	}
	var pending []Order
	for _, o := range orders {
		if o.Status == StatusPending {
			pending = append(pending, o)
		}
	}
	return server.Render(c, pages, "transitions", struct {
		server.Page
		Pending, Orders []Order
		AutoApprove     bool
	}{a.Page("transitions"), pending, orders, a.processing.AutoApprove.Load()})
}
