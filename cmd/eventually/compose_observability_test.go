package main

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"eventually/internal/system"
)

// The observability profile of docker-compose.yml: Jaeger, the NATS
// exporter and Prometheus.
const (
	profileObservability = "observability"
	jaegerService        = "jaeger"
	exporterService      = "nats-exporter"
	prometheusService    = "prometheus"
	// exporterPort is where the NATS exporter serves, its default.
	exporterPort = "7777"
	// otlpHTTPPort is the OTLP/HTTP port of a collector, Jaeger's included.
	otlpHTTPPort = "4318"
	// prometheusConfig is where Prometheus reads its configuration.
	prometheusConfig = "/etc/prometheus/prometheus.yml"
)

// pinned is an image with a version tag: not latest, not a bare major.
var pinned = regexp.MustCompile(`^[a-z0-9./_-]+:v?[0-9]+\.[0-9]+\.[0-9]+`)

// TestComposeObservabilityProfile checks the observability profile
// against the code and the rest of docker-compose.yml: it starts only when
// asked for, its images are pinned, Prometheus scrapes every service of
// the table at its compose name and port and the NATS server's monitoring
// through the exporter, and the services export traces to Jaeger when
// OTEL_EXPORTER_OTLP_ENDPOINT names it.
func TestComposeObservabilityProfile(t *testing.T) {
	plain := loadCompose(t)
	for _, name := range []string{jaegerService, exporterService, prometheusService} {
		if _, ok := plain.Services[name]; ok {
			t.Errorf("%s starts without the %s profile", name, profileObservability)
		}
	}
	endpoint := "http://" + jaegerService + ":" + otlpHTTPPort
	project := loadComposeWith(t, types.Mapping{EnvOTLPEndpoint: endpoint}, "single", profileObservability)
	for _, name := range []string{jaegerService, exporterService, prometheusService} {
		svc, ok := project.Services[name]
		if !ok {
			t.Fatalf("no %s in the %s profile", name, profileObservability)
		}
		if !pinned.MatchString(svc.Image) {
			t.Errorf("%s image %q is not pinned to a version", name, svc.Image)
		}
		if !slices.Equal(svc.Profiles, []string{profileObservability}) {
			t.Errorf("%s profiles %q, want [%s]", name, svc.Profiles, profileObservability)
		}
	}

	jaeger := project.Services[jaegerService]
	if !slices.ContainsFunc(jaeger.Ports, func(p types.ServicePortConfig) bool { return p.Target == 4318 }) {
		t.Errorf("jaeger does not expose OTLP/HTTP (%s)", otlpHTTPPort)
	}
	for _, s := range system.Table() {
		if got := project.Services[s.Name].Environment[EnvOTLPEndpoint]; got == nil || *got != endpoint {
			t.Errorf("%s: %s=%v, want %s when set", s.Name, EnvOTLPEndpoint, got, endpoint)
		}
		if got := plain.Services[s.Name].Environment[EnvOTLPEndpoint]; got != nil && *got != "" {
			t.Errorf("%s exports traces without the profile: %s=%s", s.Name, EnvOTLPEndpoint, *got)
		}
	}

	// The exporter reads the broker's monitoring port (its -m).
	monitor := flagValue([]string(project.Services[brokerService].Command), "-m")
	exporter := []string(project.Services[exporterService].Command)
	if want := "http://" + brokerService + ":" + monitor; len(exporter) == 0 || exporter[len(exporter)-1] != want {
		t.Errorf("nats-exporter command %q: want it to read %s", exporter, want)
	}

	want := []string{net.JoinHostPort(exporterService, exporterPort)}
	for _, s := range system.Table() {
		_, port := splitAddr(t, s.DefaultAddr)
		want = append(want, net.JoinHostPort(s.Name, port))
	}
	got := scrapeTargets(t, project.Services[prometheusService], project.WorkingDir)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("prometheus scrapes %q, want every service and the NATS exporter: %q", got, want)
	}
}

// scrapeTargets reads the Prometheus configuration that svc mounts and
// returns every target it scrapes; a job's metrics path must be /metrics.
func scrapeTargets(t *testing.T, svc types.ServiceConfig, root string) []string {
	t.Helper()
	m := mountOf(svc, prometheusConfig)
	if m == nil || m.Type != types.VolumeTypeBind {
		t.Fatalf("prometheus has no configuration file bound at %s", prometheusConfig)
	}
	path := m.Source
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var targets []string
	for _, job := range cfg.ScrapeConfigs {
		if job.MetricsPath != "" && job.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %s, the services serve /metrics", job.JobName, job.MetricsPath)
		}
		for _, sc := range job.StaticConfigs {
			for _, target := range sc.Targets {
				if _, err := url.Parse("http://" + target); err != nil || strings.Contains(target, "/") {
					t.Errorf("job %s: target %q is not host:port", job.JobName, target)
				}
				targets = append(targets, target)
			}
		}
	}
	return targets
}
