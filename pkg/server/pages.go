package server

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed assets/layout.html
var layoutHTML string

// Page is what the shared layout shows on every page.
type Page struct {
	Service string
	Title   string
	Stage   int
}

// Templates parses a service's page templates together with the shared
// layout ("top" and "bottom").
func Templates(funcs template.FuncMap, pages ...string) *template.Template {
	t := template.Must(template.New("layout").Funcs(funcs).Parse(layoutHTML))
	for _, p := range pages {
		template.Must(t.Parse(p))
	}
	return t
}

// Render renders the named template as an HTML page.
func Render(c echo.Context, t *template.Template, name string, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// Cents formats integer cents as money for pages.
func Cents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}
