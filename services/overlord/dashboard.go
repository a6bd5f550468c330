package overlord

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"eventually/web"
)

// serveDashboard serves the dashboard, embedded in the binary, so it also
// opens from a machine that has only the binary.
func (o *Overlord) serveDashboard() {
	o.HTTP.GET("/eventually.html", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMETextHTMLCharsetUTF8, web.Dashboard)
	})
}
