package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"eventually/internal/system"
)

// The cluster profile of docker-compose.yml: three NATS servers in one
// cluster, Postgres, and instances of each service.
const (
	clusterProfile  = "cluster"
	clusterNodes    = 3
	postgresService = "postgres"
)

// clusterInstances is how many instances of a service the profile runs:
// two of each, and one watcher, the one view of every message.
func clusterInstances(service string) int {
	if service == "overlord" {
		return 1
	}
	return 2
}

// TestComposeClusterProfileMatchesCode checks the cluster profile against
// the table of services and the code's configuration: every NATS server
// in the URL the services use and in every server's routes, the stream
// kept by all of them, each service's instances on Postgres with names of
// their own, and only the first instance of each on a fixed host port.
func TestComposeClusterProfileMatchesCode(t *testing.T) {
	project := loadCompose(t, clusterProfile)
	var nodes, want []string
	for i := 1; i <= clusterNodes; i++ {
		nodes = append(nodes, fmt.Sprintf("nats-%d", i))
	}
	want = append(append(want, nodes...), postgresService)
	for _, s := range system.Table() {
		for i := 1; i <= clusterInstances(s.Name); i++ {
			want = append(want, fmt.Sprintf("%s-%d", s.Name, i))
		}
	}
	slices.Sort(want)
	got := project.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("profile %s: services = %v, want %v (and none of the default profile's)", clusterProfile, got, want)
	}

	brokerURL := checkClusterNodes(t, project, nodes)
	databaseURL := checkPostgres(t, project.Services[postgresService])
	overlord, _ := system.Lookup("overlord")
	instances := map[string]string{} // EVENTUALLY_INSTANCE -> compose service
	for _, s := range system.Table() {
		for i := 1; i <= clusterInstances(s.Name); i++ {
			name := fmt.Sprintf("%s-%d", s.Name, i)
			t.Run(name, func(t *testing.T) {
				svc := project.Services[name]
				checkService(t, svc, project.WorkingDir, s.Name, append(slices.Clone(nodes), postgresService)...)
				cfg := checkEnvironment(t, svc, brokerURL)
				if cfg.Stream.Replicas != clusterNodes {
					t.Errorf("%s = %d, want %d: every server keeps the stream", EnvStreamReplicas, cfg.Stream.Replicas, clusterNodes)
				}
				if got := envOf(svc, EnvDatabaseURL); got != databaseURL {
					t.Errorf("%s = %q, want %q", EnvDatabaseURL, got, databaseURL)
				}
				if other, ok := instances[cfg.Instance]; ok {
					t.Errorf("%s = %q, as %s's: each instance needs a name of its own", EnvInstance, cfg.Instance, other)
				}
				instances[cfg.Instance] = name
				if i == 1 {
					checkAddr(t, svc, cfg.Addrs[s.Name], s.DefaultAddr)
				} else {
					checkListen(t, cfg.Addrs[s.Name], s.DefaultAddr)
					checkNoFixedHostPort(t, svc)
				}
				checkHealthcheck(t, svc, s.DefaultAddr, cfg)
				checkBrowser(t, name, cfg, s.DefaultAddr, overlord.DefaultAddr)
				if logs := mountOf(svc, cfg.LogDir); logs == nil || logs.Type != types.VolumeTypeVolume {
					t.Errorf("log dir %s is not on a named volume", cfg.LogDir)
				}
			})
		}
	}
}

// checkClusterNodes checks the NATS servers of the cluster: each a NATS
// server as the default broker is, named, in one cluster, with routes to
// every server. It returns the URL services must use: every server.
func checkClusterNodes(t *testing.T, project *types.Project, nodes []string) string {
	t.Helper()
	var routes, clients []string
	for _, n := range nodes {
		routes = append(routes, "nats://"+n+":6222")
		_, port := splitAddr(t, DefaultNATSAddr)
		clients = append(clients, "nats://"+n+":"+port)
	}
	clusterName := ""
	for _, n := range nodes {
		nats := project.Services[n]
		checkNATSServer(t, nats, project)
		args := []string(nats.Command)
		if got := flagValue(args, "--server_name"); got != n {
			t.Errorf("%s: --server_name %q, want its service name", n, got)
		}
		if got := flagValue(args, "--cluster"); got != "nats://0.0.0.0:6222" {
			t.Errorf("%s: --cluster %q, want nats://0.0.0.0:6222 (the port the routes name)", n, got)
		}
		name := flagValue(args, "--cluster_name")
		if name == "" || clusterName != "" && name != clusterName {
			t.Errorf("%s: --cluster_name %q, want one name for every server (%q)", n, name, clusterName)
		}
		clusterName = name
		if got := strings.Split(flagValue(args, "--routes"), ","); !slices.Equal(got, routes) {
			t.Errorf("%s: --routes %q, want every server's: %q", n, got, routes)
		}
		if hc := healthURL(t, nats); hc != nil && hc.Query().Has("js-enabled-only") {
			t.Errorf("%s: health check %s is healthy before the server has joined the cluster's JetStream", n, hc)
		}
	}
	return strings.Join(clients, ",")
}

// checkPostgres checks the database server and returns the URL services
// must use to reach it.
func checkPostgres(t *testing.T, pg types.ServiceConfig) string {
	t.Helper()
	image, tag, _ := strings.Cut(pg.Image, ":")
	if image != "postgres" || tag == "" || tag == "latest" {
		t.Errorf("%s: image %q, want the official postgres image at a pinned version", pg.Name, pg.Image)
	}
	if m := mountOf(pg, "/var/lib/postgresql/data"); m == nil || m.Type != types.VolumeTypeVolume {
		t.Errorf("%s: its data is not on a named volume", pg.Name)
	}
	if pg.HealthCheck == nil || !slices.Contains([]string(pg.HealthCheck.Test), "pg_isready") {
		t.Errorf("%s: health check %+v, want pg_isready: services start once it takes connections", pg.Name, pg.HealthCheck)
	}
	if len(pg.Ports) > 0 {
		t.Errorf("%s: publishes %+v; only the services reach it, on the compose network", pg.Name, pg.Ports)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(envOf(pg, "POSTGRES_USER"), envOf(pg, "POSTGRES_PASSWORD")),
		Host: pg.Name + ":5432", Path: "/" + envOf(pg, "POSTGRES_DB"), RawQuery: "sslmode=disable"}
	return u.String()
}

// checkNoFixedHostPort checks that an extra instance takes no fixed host
// port: it would clash with the first instance's.
func checkNoFixedHostPort(t *testing.T, svc types.ServiceConfig) {
	t.Helper()
	for _, p := range svc.Ports {
		if _, err := strconv.Atoi(p.Published); err == nil {
			t.Errorf("%s publishes port %d on the fixed host port %s", svc.Name, p.Target, p.Published)
		}
	}
}

// envOf is a variable of a service's environment, "" when unset.
func envOf(svc types.ServiceConfig, key string) string {
	if v := svc.Environment[key]; v != nil {
		return *v
	}
	return ""
}
