package beta

import (
	"embed"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"eventually/pkg/domain"
	"eventually/pkg/events"
	"eventually/pkg/seed"
	"eventually/pkg/server"
)

//go:embed templates/*.html
var templates embed.FS

var pages = server.Templates(templates, nil)

func (b *Beta) routes() {
	e := b.HTTP
	e.GET("/", b.settingsPage)
	e.GET("/transitions", b.transitionsPage)
	e.GET("/api/settings", b.getSettings)
	e.POST("/api/carts", b.postCart)
	e.GET("/api/carts/:guid", b.getCart)
	e.POST("/api/carts/:guid/load", b.loadCart)
	e.POST("/api/carts/:guid/submit", b.submitCart)
	e.POST("/api/carts/:guid/reset", b.resetCart)
	e.GET("/api/reopen-on", b.getReopenOn)
	e.PUT("/api/reopen-on", b.putReopenOn)
	e.POST("/api/reset", b.ResetHandler(b.fence, reseed, func() { b.capture.ReopenOnCharged.Store(false) }))
}

// reopenOnBody names the event beta reopens carts on.
type reopenOnBody struct {
	Event string `json:"event"`
}

func (b *Beta) getReopenOn(c echo.Context) error {
	return c.JSON(http.StatusOK, reopenOnBody{Event: b.capture.ReopenOn()})
}

// putReopenOn switches between the two designs of issue 4.
func (b *Beta) putReopenOn(c echo.Context) error {
	var body reopenOnBody
	if err := server.BindJSON(c, &body); err != nil {
		return err
	}
	switch body.Event {
	case events.NameOrderCharged, events.NameOrderFinalized:
	default:
		return fmt.Errorf("%w: event must be %s or %s", domain.ErrInvalid, events.NameOrderCharged, events.NameOrderFinalized)
	}
	b.capture.ReopenOnCharged.Store(body.Event == events.NameOrderCharged)
	b.Logger.InfoContext(c.Request().Context(), "reopen-on changed", "event", body.Event)
	b.Live.Changed()
	return c.JSON(http.StatusOK, reopenOnBody{Event: b.capture.ReopenOn()})
}

func (b *Beta) getSettings(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(loadCopy(b.DBFor(c)))
}

func (b *Beta) postCart(c echo.Context) error {
	return server.Reply(c, http.StatusCreated)(b.capture.NewCart(c.Request().Context()))
}

func (b *Beta) getCart(c echo.Context) error {
	cart, err := findCart(b.DBFor(c), c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(cart))
}

func (b *Beta) loadCart(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(b.capture.LoadCart(c.Request().Context(), c.Param("guid")))
}

func (b *Beta) submitCart(c echo.Context) error {
	var sub Submission
	if err := server.BindJSON(c, &sub); err != nil {
		return err
	}
	return server.Reply(c, http.StatusAccepted)(b.capture.Submit(c.Request().Context(), c.Param("guid"), sub))
}

func (b *Beta) resetCart(c echo.Context) error {
	return server.Reply(c, http.StatusOK)(b.capture.ResetCart(c.Request().Context(), c.Param("guid")))
}

func (b *Beta) settingsPage(c echo.Context) error {
	s, err := loadCopy(b.DBFor(c))
	if err != nil {
		return err
	}
	return server.Render(c, pages, "settings", struct {
		server.Page
		Settings Settings
	}{b.Page("settings copy"), s})
}

func (b *Beta) transitionsPage(c echo.Context) error {
	guid := c.QueryParam("cart")
	if guid == "" {
		guid = seed.CartGUID
	}
	cart, err := findCart(b.DBFor(c), guid)
	if err != nil {
		return err
	}
	return server.Render(c, pages, "transitions", struct {
		server.Page
		Cart         CartView
		IssueSolved4 bool
		ReopenOn     string
	}{b.Page("cart"), view(cart), b.Stage.Solved(4), b.capture.ReopenOn()})
}
