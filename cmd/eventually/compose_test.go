package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/labstack/echo/v4"

	"eventually/internal/system"
	"eventually/pkg/logging"
	"eventually/pkg/server"
	"eventually/pkg/stage"
)

// brokerService is the standalone NATS JetStream server in docker-compose.yml.
const brokerService = "nats"

// knownEnv is every configuration name the binary reads.
func knownEnv() []string {
	var names []string
	for _, v := range envVars() {
		names = append(names, v.name)
	}
	return names
}

// loadCompose loads docker-compose.yml with the compose-spec loader, as
// `docker compose [--profile ...]` does: with the .env file beside it and
// no other variables set; with no profiles, those .env names.
func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	return loadComposeWith(t, types.Mapping{}, profiles...)
}

// loadComposeWith loads docker-compose.yml with the given variables set
// and profiles enabled (compose_observability_test.go).
func loadComposeWith(t *testing.T, env types.Mapping, profiles ...string) *types.Project {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnvFiles(), cli.WithDotEnv, cli.WithEnv(vars), cli.WithDefaultProfiles(profiles...))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml (profiles %q): %v", profiles, err)
	}
	return project
}

// TestComposeMatchesCode checks docker-compose.yml against the table of
// services and the code's configuration names, so the two cannot drift apart.
func TestComposeMatchesCode(t *testing.T) {
	project := loadCompose(t)
	want := append([]string{brokerService}, system.Names...)
	slices.Sort(want)
	got := project.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("docker-compose.yml services = %v, want the broker and every service of the code: %v (the profile single, which COMPOSE_PROFILES in .env names)", got, want)
	}

	brokerURL := checkBroker(t, project.Services[brokerService], project)
	dataVolumes := map[string]string{} // volume -> service
	for _, s := range system.Table() {
		t.Run(s.Name, func(t *testing.T) {
			svc := project.Services[s.Name]
			checkService(t, svc, project.WorkingDir, s.Name, brokerService)
			cfg := checkEnvironment(t, svc, brokerURL)
			checkAddr(t, svc, cfg.Addrs[s.Name], s.DefaultAddr)
			checkHealthcheck(t, svc, s.DefaultAddr, cfg)
			overlord, _ := system.Lookup("overlord")
			checkBrowser(t, s.Name, cfg, s.DefaultAddr, overlord.DefaultAddr)
			vol := checkMounts(t, svc, cfg)
			if other, ok := dataVolumes[vol]; ok {
				t.Errorf("%s and %s share the data volume %q; each service owns its database", s.Name, other, vol)
			}
			dataVolumes[vol] = s.Name
		})
	}
}

// checkBroker checks the NATS service and returns the URL services must use.
func checkBroker(t *testing.T, nats types.ServiceConfig, project *types.Project) string {
	t.Helper()
	checkNATSServer(t, nats, project)
	// Clients connect to the port the code's default broker address uses,
	// published on the same host address.
	host, port := splitAddr(t, DefaultNATSAddr)
	if p := flagValue(nats.Command, "-p"); p != "" && p != port {
		t.Errorf("broker listens on %s, the code's default is %s", p, port)
	}
	checkPublished(t, nats, host, port)
	return "nats://" + nats.Name + ":" + port
}

// checkNATSServer checks what every NATS server of the file needs: the
// image of the server version in go.mod, JetStream on, its store on a
// named volume, a health check on its monitoring port.
func checkNATSServer(t *testing.T, nats types.ServiceConfig, project *types.Project) {
	t.Helper()
	if want := "nats:" + natsServerVersion(t) + "-alpine"; nats.Image != want {
		t.Errorf("%s: image %q, want %q: the server version in go.mod, which the embedded broker and the tests run", nats.Name, nats.Image, want)
	}
	args := []string(nats.Command)
	if !slices.Contains(args, "-js") {
		t.Errorf("%s: command %q: JetStream is off (want -js)", nats.Name, args)
	}
	store := flagValue(args, "-sd")
	if m := mountOf(nats, store); store == "" || m == nil || m.Type != types.VolumeTypeVolume {
		t.Errorf("%s: store dir %q (-sd) is not on a named volume", nats.Name, store)
	} else if _, ok := project.Volumes[m.Source]; !ok {
		t.Errorf("%s: volume %q is not declared under volumes:", nats.Name, m.Source)
	}
	monitor := flagValue(args, "-m")
	if monitor == "" {
		t.Errorf("%s: command %q: no monitoring port (-m) for the health check", nats.Name, args)
	}
	hc := healthURL(t, nats)
	if hc != nil && hc.Port() != monitor {
		t.Errorf("%s: health check asks port %s, monitoring is on %s", nats.Name, hc.Port(), monitor)
	}
}

// natsServerVersion is the nats-server version this code is built with
// (go.mod), as the nats image tags it: 2.15.2.
func natsServerVersion(t *testing.T) string {
	t.Helper()
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/nats-io/nats-server/v2" {
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	t.Fatal("no nats-server in the build info")
	return ""
}

// checkService checks how a service is built and started: the binary's
// command for it, once what it needs is healthy.
func checkService(t *testing.T, svc types.ServiceConfig, root, command string, needs ...string) {
	t.Helper()
	if svc.Build == nil || svc.Build.Context != root || filepath.Base(svc.Build.Dockerfile) != "Dockerfile" {
		t.Errorf("build = %+v, want the one Dockerfile at the repository root", svc.Build)
	}
	if cmd := []string(svc.Command); !slices.Equal(cmd, []string{command}) {
		t.Errorf("command = %q, want [%q] (the image's entrypoint is the eventually binary)", cmd, command)
	}
	if _, ok := system.Lookup(command); !ok {
		t.Errorf("command %q: the binary has no such service", command)
	}
	for _, need := range needs {
		dep, ok := svc.DependsOn[need]
		if !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("depends_on %s = %+v, want condition %s", need, dep, types.ServiceConditionHealthy)
		}
	}
}

// checkEnvironment reads the service's environment with the binary's own
// loadConfig and checks what it makes of it.
func checkEnvironment(t *testing.T, svc types.ServiceConfig, brokerURL string) config {
	t.Helper()
	env := map[string]string{}
	known := knownEnv()
	for k, v := range svc.Environment {
		if k == EnvDatabaseURL && !slices.Contains(known, k) {
			t.Logf("%s: this build has no Postgres store yet; the instances after the first would refuse to start", k)
		} else if !slices.Contains(known, k) {
			t.Errorf("environment %s: the code reads no such variable (known: %v)", k, known)
		}
		if v != nil {
			env[k] = *v
		}
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("environment: %v", err)
	}
	if cfg.NATSURL != brokerURL {
		t.Errorf("%s = %q, want %q (the standalone broker; empty would start an embedded one)", EnvNATSURL, cfg.NATSURL, brokerURL)
	}
	if cfg.Stage != stage.Max {
		t.Errorf("%s defaults to %d, want %d like the binary", EnvStage, cfg.Stage, stage.Max)
	}
	return cfg
}

// checkAddr checks the address the service listens on inside its container
// and the port published for it.
func checkAddr(t *testing.T, svc types.ServiceConfig, addr, defaultAddr string) {
	t.Helper()
	checkListen(t, addr, defaultAddr)
	defaultHost, defaultPort := splitAddr(t, defaultAddr)
	checkPublished(t, svc, defaultHost, defaultPort)
}

// checkListen checks the address the service listens on inside its
// container: every interface, on the code's default port.
func checkListen(t *testing.T, addr, defaultAddr string) {
	t.Helper()
	host, port := splitAddr(t, addr)
	_, defaultPort := splitAddr(t, defaultAddr)
	if host != "0.0.0.0" {
		t.Errorf("listens on %s: inside a container it must listen on 0.0.0.0 (loopback is unreachable from the published port); set its _ADDR variable", addr)
	}
	if port != defaultPort {
		t.Errorf("listens on port %s, the code's default is %s", port, defaultPort)
	}
}

// checkPublished checks that exactly port is published, on host's address.
func checkPublished(t *testing.T, svc types.ServiceConfig, host, port string) {
	t.Helper()
	for _, p := range svc.Ports {
		if strconv.Itoa(int(p.Target)) == port {
			if p.Published != port || p.HostIP != host {
				t.Errorf("port %s published as %s:%s, want %s:%s as the code's default", port, p.HostIP, p.Published, host, port)
			}
			return
		}
	}
	t.Errorf("%s: port %s is not published (ports: %+v)", svc.Name, port, svc.Ports)
}

// checkHealthcheck checks that the health check asks the service's own
// /readyz, and that the service, configured as compose configures it,
// answers it.
func checkHealthcheck(t *testing.T, svc types.ServiceConfig, defaultAddr string, cfg config) {
	t.Helper()
	u := healthURL(t, svc)
	if u == nil {
		return
	}
	_, port := splitAddr(t, defaultAddr)
	if u.Hostname() != "127.0.0.1" || u.Port() != port || u.Path != "/readyz" {
		t.Errorf("health check asks %s, want the service itself on 127.0.0.1:%s, its /readyz (healthy means it takes part)", u, port)
	}
	e := composedServer(svc.Name, cfg)
	if rec := inContainer(e, http.MethodGet, u.RequestURI(), u.Host, port, ""); rec.Code != http.StatusOK {
		t.Errorf("health check asks %s, the service answers it with %d: %s", u, rec.Code, rec.Body)
	}
	if !slices.Contains([]string(svc.HealthCheck.Test), "-f") && !slices.Contains([]string(svc.HealthCheck.Test), "-fsS") {
		t.Errorf("health check %q does not fail on an HTTP error (curl -f)", svc.HealthCheck.Test)
	}
}

// checkBrowser checks that the service, configured as compose configures
// it, answers the names it is reached by (the published port on the
// host's loopback, its name on the compose network) and takes a stage
// change from the dashboard overlord serves on its published port.
func checkBrowser(t *testing.T, name string, cfg config, defaultAddr, overlordAddr string) {
	t.Helper()
	_, port := splitAddr(t, defaultAddr)
	e := composedServer(name, cfg)
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, name + ":" + port} {
		if rec := inContainer(e, http.MethodGet, "/api/stage", host, port, ""); rec.Code != http.StatusOK {
			t.Errorf("GET addressed to %s: %d, want 200: %s", host, rec.Code, rec.Body)
		}
	}
	dashboard := "http://" + overlordAddr
	if rec := inContainer(e, http.MethodPut, "/api/stage", "127.0.0.1:"+port, port, dashboard); rec.Code != http.StatusOK {
		t.Errorf("the dashboard at %s cannot change the stage: %d %s", dashboard, rec.Code, rec.Body)
	}
}

// composedServer is a service's HTTP server as cfg configures it.
func composedServer(name string, cfg config) *echo.Echo {
	st, _ := stage.New(stage.Max)
	return server.New(server.Config{Service: name, Logger: logging.Discard(), Stage: st, Live: server.NewLive(), Browser: cfg.browser()})
}

// inContainer sends a request addressed to host to e as if it came in on
// port of the container's own address; with origin set, a stage change
// from a page of that origin.
func inContainer(e *echo.Echo, method, uri, host, port, origin string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, uri, nil)
	if origin != "" {
		req = httptest.NewRequest(method, uri, strings.NewReader(`{"stage":2}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
	}
	req.Host = host
	local, _ := net.ResolveTCPAddr("tcp", "172.18.0.5:"+port)
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, local))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// checkMounts checks that the data and log dirs are volumes, and returns
// the data volume's name.
func checkMounts(t *testing.T, svc types.ServiceConfig, cfg config) string {
	t.Helper()
	data, logs := mountOf(svc, cfg.DataDir), mountOf(svc, cfg.LogDir)
	if data == nil || data.Type != types.VolumeTypeVolume {
		t.Errorf("data dir %s is not on a named volume: the database would die with the container", cfg.DataDir)
		return ""
	}
	if logs == nil || logs.Type != types.VolumeTypeVolume {
		t.Errorf("log dir %s is not on a named volume", cfg.LogDir)
	}
	return data.Source
}

// healthURL is the URL a service's health check asks.
func healthURL(t *testing.T, svc types.ServiceConfig) *url.URL {
	t.Helper()
	hc := svc.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
		t.Errorf("%s: want a health check [CMD ...], got %+v", svc.Name, hc)
		return nil
	}
	for _, arg := range hc.Test[1:] {
		if strings.HasPrefix(arg, "http://") {
			u, err := url.Parse(arg)
			if err != nil {
				t.Errorf("%s: health check URL %q: %v", svc.Name, arg, err)
				return nil
			}
			return u
		}
	}
	t.Errorf("%s: health check %q asks no http:// URL", svc.Name, hc.Test)
	return nil
}

// mountOf is the volume mounted at target, or nil.
func mountOf(svc types.ServiceConfig, target string) *types.ServiceVolumeConfig {
	for i, v := range svc.Volumes {
		if v.Target == target {
			return &svc.Volumes[i]
		}
	}
	return nil
}

// flagValue is the argument after flag in args, or "".
func flagValue(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

func splitAddr(t *testing.T, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return host, port
}

// TestDockerfileBuildsTheBinary checks that the one image runs the binary
// the compose services name by command.
func TestDockerfileBuildsTheBinary(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(text)
	for _, want := range []string{
		"CGO_ENABLED=1",             // SQLite through mattn/go-sqlite3
		"go build",                  // built in the image, not copied in
		"./cmd/eventually",          // the one binary
		`ENTRYPOINT ["eventually"]`, // compose's command is the subcommand
	} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("Dockerfile has no %q", want)
		}
	}
	stages := 0
	for _, line := range strings.Split(dockerfile, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			stages++
		}
	}
	if stages < 2 {
		t.Errorf("Dockerfile has %d stage(s); want a multi-stage build (builder with cgo, slim final image)", stages)
	}
}
