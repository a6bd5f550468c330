package alpha

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"eventually/pkg/domain"
	"eventually/pkg/server"
)

//go:embed templates/*.html
var templates embed.FS

var pages = server.Templates(templates, template.FuncMap{
	"deref":   func(p *bool) bool { return p != nil && *p },
	"deref64": func(p *int64) int64 { return *p },
})

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
	e.POST("/api/orders/:guid/review", a.finishReview)
	e.GET("/api/review", a.getReview)
	e.PUT("/api/review", a.putReview)
	e.POST("/api/reset", a.ResetHandler(a.fence, reseed, a.resetSwitches))
}

func (a *Alpha) finishReview(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(a.processing.FinishReview(c.Request().Context(), c.Param("guid")))
}

// reviewBody is the review step: whether charged orders are held for
// review, and after how many seconds the review timer passes them.
type reviewBody struct {
	Enabled          *bool  `json:"enabled"`
	PassAfterSeconds *int64 `json:"pass_after_seconds,omitempty"`
}

func (a *Alpha) review() reviewBody {
	enabled := a.processing.HoldForReview.Load()
	seconds := int64(time.Duration(a.processing.reviewTimeout.Load()) / time.Second)
	return reviewBody{Enabled: &enabled, PassAfterSeconds: &seconds}
}

func (a *Alpha) getReview(c echo.Context) error { return c.JSON(http.StatusOK, a.review()) }

func (a *Alpha) putReview(c echo.Context) error {
	var body reviewBody
	if err := server.BindJSON(c, &body); err != nil {
		return err
	}
	if body.Enabled == nil {
		return fmt.Errorf("%w: enabled is required", domain.ErrInvalid)
	}
	if s := body.PassAfterSeconds; s != nil && (*s < 1 || *s > 86400) {
		return fmt.Errorf("%w: pass_after_seconds must be from 1 to 86400", domain.ErrInvalid)
	}
	a.processing.HoldForReview.Store(*body.Enabled)
	if s := body.PassAfterSeconds; s != nil {
		a.processing.reviewTimeout.Store(int64(time.Duration(*s) * time.Second))
	}
	a.Logger.InfoContext(c.Request().Context(), "review step changed", "enabled", *body.Enabled)
	a.Live.Changed()
	return c.JSON(http.StatusOK, a.review())
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
	var pending, inReview []Order
	for _, o := range orders {
		switch o.Status {
		case StatusPending:
			pending = append(pending, o)
		case StatusInReview:
			inReview = append(inReview, o)
		}
	}
	return server.Render(c, pages, "transitions", struct {
		server.Page
		Pending, InReview, Orders []Order
		AutoApprove               bool
		Review                    reviewBody
	}{a.Page("transitions"), pending, inReview, orders, a.processing.AutoApprove.Load(), a.review()})
}
