// Package natscluster starts a three-node NATS JetStream cluster on
// loopback for tests, and stops it when the test ends.
//
// Each node is a nats-server process, built from the nats-server module
// at the version in go.mod. Processes rather than servers in the test's
// own process, because a node must be able to die as a real one does:
// an in-process Shutdown first hands the leadership of every stream to
// another node (a graceful step-down), so a test of it would measure a
// handover, not the election that follows a crash. Kill sends SIGKILL.
package natscluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"eventually/internal/poll"
)

// Size is how many nodes a cluster has: the smallest that keeps a
// majority, and so its streams, when one node is lost.
const Size = 3

// clusterName is the name every node is started with.
const clusterName = "eventually"

// startWithin bounds how long a node, or the whole cluster, may take to
// be up and to agree on a JetStream meta leader.
const startWithin = 30 * time.Second

// Cluster is a running three-node cluster.
type Cluster struct {
	t     testing.TB
	bin   string
	nodes []*node
}

// node is one nats-server of the cluster. Its ports and store stay the
// same across a restart: clients and routes find it where it was.
type node struct {
	name        string
	clientPort  int
	clusterPort int
	monitorPort int
	config      string // the config file it is started with
	log         string // its log file
	cmd         *exec.Cmd
	exited      chan struct{} // closed when the process has been waited for
}

// Start builds nats-server, starts three clustered nodes on free
// loopback ports with their stores in the test's temp dir, and waits
// until every node is up and they agree on a JetStream meta leader.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts three nats-server processes")
	}
	dir := t.TempDir()
	c := &Cluster{t: t, bin: buildServer(t, dir)}
	t.Cleanup(c.stop)
	// A port picked as free can be taken by another test before the node
	// binds it; the node then exits, and another set of ports will do.
	for try := 1; ; try++ {
		err := c.start(filepath.Join(dir, fmt.Sprintf("try%d", try)))
		if err == nil {
			return c
		}
		c.stop()
		if try == 3 {
			t.Fatalf("start a NATS cluster: %v", err)
		}
		t.Logf("start a NATS cluster, try %d: %v", try, err)
	}
}

// buildServer builds the nats-server command of the module into dir.
func buildServer(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	return bin
}

func (c *Cluster) start(dir string) error {
	c.nodes = nil
	for i := range Size {
		n := &node{name: fmt.Sprintf("n%d", i+1)}
		for _, port := range []*int{&n.clientPort, &n.clusterPort, &n.monitorPort} {
			p, err := freePort()
			if err != nil {
				return err
			}
			*port = p
		}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if err := n.writeConfig(dir, c.nodes); err != nil {
			return err
		}
		if err := c.run(n); err != nil {
			return err
		}
	}
	return c.waitMetaLeader()
}

// writeConfig writes the node's config file: JetStream on, with a store
// of its own under dir, routes to every node of the cluster.
func (n *node) writeConfig(dir string, all []*node) error {
	var routes []string
	for _, other := range all {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", other.clusterPort))
	}
	store := filepath.Join(dir, n.name)
	if err := os.MkdirAll(store, 0o755); err != nil {
		return fmt.Errorf("store of %s: %w", n.name, err)
	}
	n.config, n.log = filepath.Join(dir, n.name+".conf"), filepath.Join(dir, n.name+".log")
	text := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 8GB
}
cluster {
  name: %s
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, n.name, n.clientPort, n.monitorPort, store, clusterName, n.clusterPort, strings.Join(routes, ", "))
	if err := os.WriteFile(n.config, []byte(text), 0o644); err != nil {
		return fmt.Errorf("config of %s: %w", n.name, err)
	}
	return nil
}

// run starts the node's process and waits until it takes clients.
func (c *Cluster) run(n *node) error {
	log, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log of %s: %w", n.name, err)
	}
	defer log.Close()
	cmd := exec.Command(c.bin, "-c", n.config)
	cmd.Stdout, cmd.Stderr = log, log
	// The node dies with the test process, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(n.exited)
	up := poll.Until(startWithin, 20*time.Millisecond, func() bool {
		return !n.running() || n.monitorOK("/healthz?js-server-only=true")
	})
	if !up || !n.running() {
		return fmt.Errorf("%s did not come up (log: %s):\n%s", n.name, n.log, tail(n.log))
	}
	return nil
}

// running says the node's process has not exited.
func (n *node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// metaLeader is the JetStream meta leader this node knows of, or "".
func (n *node) metaLeader() string {
	var jsz struct {
		Meta *struct {
			Leader string `json:"leader"`
		} `json:"meta_cluster"`
	}
	if !n.monitorJSON("/jsz", &jsz) || jsz.Meta == nil {
		return ""
	}
	return jsz.Meta.Leader
}

// waitMetaLeader waits until every running node knows the same JetStream
// meta leader: until then the cluster cannot create a stream.
func (c *Cluster) waitMetaLeader() error {
	var leaders []string
	ok := poll.Until(startWithin, 50*time.Millisecond, func() bool {
		leaders = leaders[:0]
		for _, n := range c.nodes {
			if n.running() {
				leaders = append(leaders, n.metaLeader())
			}
		}
		for _, l := range leaders {
			if l == "" || l != leaders[0] {
				return false
			}
		}
		return len(leaders) > 0
	})
	if !ok {
		return fmt.Errorf("no JetStream meta leader after %s (the nodes know of %q)", startWithin, leaders)
	}
	return nil
}

// URL is every node's client URL, comma-separated: the server list
// nats.go (and EVENTUALLY_NATS_URL) takes, so a client moves to another
// node when its own dies.
func (c *Cluster) URL() string {
	var urls []string
	for i := range c.nodes {
		urls = append(urls, c.NodeURL(i))
	}
	return strings.Join(urls, ",")
}

// NodeURL is one node's client URL.
func (c *Cluster) NodeURL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].clientPort)
}

// StreamLeader is the index of the node that leads the stream, or -1
// while it has none (or the stream does not exist).
func (c *Cluster) StreamLeader(stream string) int {
	c.t.Helper()
	nc, err := nats.Connect(c.URL(), nats.Name("natscluster"), nats.Timeout(2*time.Second))
	if err != nil {
		return -1
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := js.StreamInfo(stream, nats.Context(ctx))
	if err != nil || info.Cluster == nil {
		return -1
	}
	for i, n := range c.nodes {
		if n.name == info.Cluster.Leader {
			return i
		}
	}
	return -1
}

// WaitStreamLeader waits until a node leads the stream (after a kill, one
// of the others: a dead node answers nothing) and returns its index; it
// fails the test when none does within 30 s.
func (c *Cluster) WaitStreamLeader(stream string) int {
	c.t.Helper()
	leader := -1
	if !poll.Until(startWithin, 50*time.Millisecond, func() bool {
		leader = c.StreamLeader(stream)
		return leader >= 0
	}) {
		c.t.Fatalf("stream %s: no leader after %s", stream, startWithin)
	}
	return leader
}

// Kill ends node i at once with SIGKILL, as a crash or a lost machine
// would: it hands nothing over, and the others must notice it is gone.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if !n.running() {
		c.t.Fatalf("kill %s: not running", n.name)
	}
	if err := n.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Fatalf("kill %s: %v", n.name, err)
	}
	<-n.exited
}

// Restart starts node i again, on its ports and store, and waits until
// it takes clients and knows the meta leader.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if n.running() {
		c.t.Fatalf("restart %s: still running", n.name)
	}
	if err := c.run(n); err != nil {
		c.t.Fatalf("restart: %v", err)
	}
	if err := c.waitMetaLeader(); err != nil {
		c.t.Fatalf("restart %s: %v", n.name, err)
	}
}

// stop kills every node and waits for it.
func (c *Cluster) stop() {
	for _, n := range c.nodes {
		if n.running() {
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
}

func (n *node) monitorOK(path string) bool {
	resp, err := monitorGet(n.monitorPort, path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (n *node) monitorJSON(path string, v any) bool {
	resp, err := monitorGet(n.monitorPort, path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// monitorGet asks a node's monitoring port.
func monitorGet(port int, path string) (*http.Response, error) {
	client := http.Client{Timeout: time.Second}
	return client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
}

// freePort is a loopback port free right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail is the end of a log file, for a failure message.
func tail(path string) string {
	text, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const keep = 2000
	if len(text) > keep {
		text = text[len(text)-keep:]
	}
	return string(text)
}
