package server

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io/fs"
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

// Templates parses a service's page templates (templates/*.html in fsys)
// together with the shared layout ("top" and "bottom") and funcs, which
// always include "cents".
func Templates(fsys fs.FS, funcs template.FuncMap) *template.Template {
	t := template.New("layout").Funcs(template.FuncMap{"cents": Cents}).Funcs(funcs)
	template.Must(t.Parse(layoutHTML))
	return template.Must(t.ParseFS(fsys, "templates/*.html"))
}

// Reply answers with v as JSON, or with err: handlers end with
// `return server.Reply(c, http.StatusOK)(load(...))`.
func Reply(c echo.Context, status int) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		return c.JSON(status, v)
	}
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
