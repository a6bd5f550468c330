package beta

import (
	_ "embed"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"eventually/pkg/server"
)

//go:embed templates/settings.html
var settingsPage string

//go:embed templates/transitions.html
var transitionsPage string

var pages = server.Templates(template.FuncMap{"cents": server.Cents}, settingsPage, transitionsPage)

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
}

func (b *Beta) getSettings(c echo.Context) error {
	s, err := loadCopy(b.DB.WithContext(c.Request().Context()))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (b *Beta) postCart(c echo.Context) error {
	v, err := b.NewCart(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (b *Beta) getCart(c echo.Context) error {
	cart, err := findCart(b.DB.WithContext(c.Request().Context()), c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(cart))
}

func (b *Beta) loadCart(c echo.Context) error {
	v, err := b.LoadCart(c.Request().Context(), c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (b *Beta) submitCart(c echo.Context) error {
	var sub Submission
	if err := server.BindJSON(c, &sub); err != nil {
		return err
	}
	v, err := b.Submit(c.Request().Context(), c.Param("guid"), sub)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, v)
}

func (b *Beta) resetCart(c echo.Context) error {
	v, err := b.ResetCart(c.Request().Context(), c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (b *Beta) settingsPage(c echo.Context) error {
	s, err := loadCopy(b.DB.WithContext(c.Request().Context()))
	if err != nil {
		return err
	}
	return server.Render(c, pages, "settings", struct {
		server.Page
		Settings any
	}{b.Page("settings copy"), s})
}

func (b *Beta) transitionsPage(c echo.Context) error {
	guid := c.QueryParam("cart")
	if guid == "" {
		guid = SeedCartGUID
	}
	cart, err := findCart(b.DB.WithContext(c.Request().Context()), guid)
	if err != nil {
		return err
	}
	return server.Render(c, pages, "transitions", struct {
		server.Page
		Cart         CartView
		IssueSolved4 bool
	}{b.Page("cart"), view(cart), b.Stage.Solved(4)})
}
