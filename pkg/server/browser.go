package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Browser says which web pages may use a service.
//
// Every service binds to loopback, yet any page open in a browser on the
// same machine can send it requests: a cross-origin PUT after a
// preflight, a body-less POST without one, and, through DNS rebinding
// (a page's own host name re-pointed at 127.0.0.1), requests whose
// answers the page reads. So state changes are accepted only from the
// service's own pages and the dashboard's, and every request must be
// addressed to one of the service's own names.
type Browser struct {
	// DashboardOrigins are the origins ("http://127.0.0.1:3994") whose
	// pages may change the service's state and read its answers. "null"
	// (a page opened from disk, or a sandboxed frame) is never one.
	DashboardOrigins []string
	// Hosts are names the service answers to besides the address a
	// connection came in on and the loopback names with its port
	// (localhost, 127.0.0.1, [::1]): "alpha:3991" allows that port only,
	// "alpha" any port.
	Hosts []string
}

// middleware checks the host and the origin, then lets echo's CORS
// answer the dashboard's preflights and mark its answers readable.
// echo's CORS alone is not enough: it lets a request from any other
// origin through (it only leaves the headers out, so the page cannot read
// the answer, but the change is made), and answers its preflight 204.
func (b Browser) middleware() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		b.checkHost,
		b.checkOrigin,
		middleware.CORSWithConfig(middleware.CORSConfig{
			// A function rather than AllowOrigins, where an empty list
			// means "*".
			AllowOriginFunc: func(origin string) (bool, error) { return b.isDashboard(origin), nil },
			AllowMethods:    []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete},
			AllowHeaders:    []string{echo.HeaderContentType, echo.HeaderXRequestID},
			ExposeHeaders:   []string{echo.HeaderXRequestID},
		}),
	}
}

// checkHost refuses a request addressed to a name that is not the
// service's: after DNS rebinding the browser still sends the page's own
// host name.
func (b Browser) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); !b.isOwnHost(r) {
			return echo.NewHTTPError(http.StatusMisdirectedRequest,
				fmt.Sprintf("host %q is not an address of this service", r.Host))
		}
		return next(c)
	}
}

func (b Browser) isOwnHost(r *http.Request) bool {
	host := strings.ToLower(r.Host)
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, "" // no port: the scheme's default
	}
	if slices.Contains(b.Hosts, host) || slices.Contains(b.Hosts, name) {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	localIP, localPort, err := net.SplitHostPort(local.String())
	if err != nil || port != localPort {
		return false
	}
	switch name {
	case localIP, "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// checkOrigin refuses a state change, and the preflight that asks for
// one, from a page of any origin but the service's own and the
// dashboard's. Browsers name the page's origin on every such request;
// clients that are not browsers send none and are not refused. A GET
// from anywhere passes: it changes nothing, and CORS keeps its answer
// from the page.
func (b Browser) checkOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		origin := r.Header.Get(echo.HeaderOrigin)
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if origin == "" || safe || sameOrigin(origin, r.Host) || b.isDashboard(origin) {
			return next(c)
		}
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
			"a page from %s may not change this service; only the dashboard may (%s)",
			origin, strings.Join(b.DashboardOrigins, ", ")))
	}
}

func (b Browser) isDashboard(origin string) bool {
	return origin != "null" && slices.Contains(b.DashboardOrigins, strings.ToLower(origin))
}

// sameOrigin tells whether origin is that of the service's own pages,
// served at host (already checked to be one of its names), over HTTP or,
// behind a proxy, HTTPS.
func sameOrigin(origin, host string) bool {
	return strings.EqualFold(origin, "http://"+host) || strings.EqualFold(origin, "https://"+host)
}

// ParseOrigin reads an origin a browser would send, "http://host:port",
// and returns it in lower case.
func ParseOrigin(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "null" || text == "*" {
		return "", fmt.Errorf("origin %q: any page can have it (null: opened from disk or sandboxed); name the dashboard's origin, e.g. http://127.0.0.1:3994", text)
	}
	u, err := url.Parse(text)
	switch {
	case err != nil:
		return "", fmt.Errorf("origin %q: %w", text, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.User != nil,
		u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "", fmt.Errorf("origin %q: want scheme://host[:port], e.g. http://127.0.0.1:3994", text)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// DashboardOrigins are the origins of the dashboard that overlord serves
// at addr: http://addr, and when addr is on loopback or on every
// interface, the loopback names a browser on this machine may use.
func DashboardOrigins(addr string) ([]string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard address %q: %w", addr, err)
	}
	var origins []string
	ip := net.ParseIP(host)
	if host != "" && (ip == nil || !ip.IsUnspecified()) {
		origins = append(origins, "http://"+strings.ToLower(net.JoinHostPort(host, port)))
	}
	if host == "" || host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		for _, name := range []string{"127.0.0.1", "localhost", "::1"} {
			if o := "http://" + net.JoinHostPort(name, port); !slices.Contains(origins, o) {
				origins = append(origins, o)
			}
		}
	}
	return origins, nil
}
