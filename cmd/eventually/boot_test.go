package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"eventually/internal/poll"
	"eventually/internal/system"
	st "eventually/internal/systemtest"
)

// The built binary's boot starts everything, prints the URLs once all are
// healthy, and leaves no process behind after Ctrl-C (SIGINT).
func TestBootStartsAllAndStopsCleanly(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "boot")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		EnvDataDir+"="+filepath.Join(dir, "data"),
		EnvLogDir+"="+filepath.Join(dir, "logs"),
		EnvNATSURL+"=",
		EnvNATSAddr+"="+freeAddr(t),
	)
	addrs := freeAddrs(t)
	cmd.Env = append(cmd.Env, addrEnv(addrs)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	var output strings.Builder
	healthy := false
	timeout := time.After(60 * time.Second)
	for !healthy {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("boot exited before all services were healthy:\n%s", output.String())
			}
			output.WriteString(line + "\n")
			healthy = strings.Contains(line, "all services ready")
		case <-timeout:
			t.Fatalf("no 'all services ready' within 60s:\n%s", output.String())
		}
	}
	children := childrenOf(t, cmd.Process.Pid)
	if len(children) < len(system.Names) {
		t.Fatalf("boot has %d child processes, want one per service (%d)", len(children), len(system.Names))
	}
	for _, name := range system.Names {
		if !strings.Contains(readUntil(lines, &output, "http://"), "http://") {
			t.Fatalf("no URL printed for %s", name)
		}
	}
	// The dashboard is the page overlord serves; from it, with the
	// default configuration, the services take a stage change, and from
	// any other page, not.
	line := readUntil(lines, &output, "dashboard")
	dashboard := strings.TrimSpace(line[strings.Index(line, "dashboard")+len("dashboard"):])
	if want := "http://" + addrs["overlord"] + "/eventually.html"; dashboard != want {
		t.Fatalf("dashboard line %q, want %s", line, want)
	}
	st.Must(t, st.Call(t, "GET", dashboard, nil), 200)
	origin := "http://" + addrs["overlord"]
	for _, name := range system.Names {
		stageURL := "http://" + addrs[name] + "/api/stage"
		st.Must(t, st.Call(t, "PUT", stageURL, map[string]int{"stage": 4}, "Origin", origin), 200)
		st.Must(t, st.Call(t, "PUT", stageURL, map[string]int{"stage": 1}, "Origin", "null"), 403)
		st.Must(t, st.Call(t, "PUT", stageURL, map[string]int{"stage": 1}, "Origin", "http://evil.example"), 403)
		var body struct{ Stage int }
		st.Must(t, st.Call(t, "GET", stageURL, nil), 200).JSON(t, &body)
		if body.Stage != 4 {
			t.Errorf("%s at stage %d, want the dashboard's 4", name, body.Stage)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range lines { // drain the output so boot is never blocked writing it
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("boot exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("boot did not exit within 30s of SIGINT")
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("child process %d is still running", pid)
		}
	}
}

func readUntil(lines chan string, output *strings.Builder, want string) string {
	for line := range lines {
		output.WriteString(line + "\n")
		if strings.Contains(line, want) {
			return line
		}
	}
	return ""
}

// childrenOf lists the PIDs whose parent is pid, from /proc.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	// Each thread lists the children it started.
	files, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	if err != nil || len(files) == 0 {
		t.Fatalf("read children of %d: %v", pid, err)
	}
	var all []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read children of %d: %v", pid, err)
		}
		all = append(all, strings.Fields(string(data))...)
	}
	var pids []int
	for _, f := range all {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("children of %d: %q", pid, f)
		}
		pids = append(pids, n)
	}
	return pids
}

// freeAddrs is a free loopback address for each service of the table.
func freeAddrs(t *testing.T) map[string]string {
	addrs := map[string]string{}
	for _, name := range system.Names {
		addrs[name] = freeAddr(t)
	}
	return addrs
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// envFakeServices, set, makes this test binary play a service when boot
// starts it as a child; its value lists the services that ignore SIGTERM.
const envFakeServices = "EVENTUALLY_TEST_FAKE_SERVICES"

// fakeService answers on the service's configured address until it is
// killed; a stubborn one ignores SIGTERM and SIGINT first, so once boot
// sees it ready only SIGKILL stops it. Its /readyz answers 503 while the
// file notReadyFile(data dir, name) exists, and appends a line to that
// file's ".asked" for each question. /api/stage answers the stage it was
// started at, and the fake overlord writes the supervisor's URL it was
// given into supervisorFile(data dir).
func fakeService(name string, stubborn []string) {
	if slices.Contains(stubborn, name) {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Fatalf("fake %s: %v", name, err)
	}
	if cfg.Supervisor != "" && name == "overlord" {
		if err := os.WriteFile(supervisorFile(cfg.DataDir), []byte(cfg.Supervisor), 0o644); err != nil {
			log.Fatalf("fake %s: %v", name, err)
		}
	}
	http.HandleFunc("/api/stage", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"stage":%d}`, cfg.Stage)
	})
	flag := notReadyFile(cfg.DataDir, name)
	http.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(flag); err != nil {
			return // 200
		}
		if f, err := os.OpenFile(flag+".asked", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			f.WriteString("asked\n")
			f.Close()
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"not ready","service":"` + name + `","reason":"the test says so"}`))
	})
	log.Fatalf("fake %s: %v", name, http.ListenAndServe(cfg.Addrs[name], nil))
}

// supervisorFile is where the fake overlord puts boot's supervisor URL.
func supervisorFile(dataDir string) string { return filepath.Join(dataDir, "supervisor.url") }

// notReadyFile is the file that makes a fake service not ready.
func notReadyFile(dataDir, name string) string { return filepath.Join(dataDir, name+".notready") }

// fakeConfig is boot's configuration for fake services in a temp dir.
func fakeConfig(t *testing.T) config {
	t.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.DataDir, cfg.LogDir, cfg.Addrs = filepath.Join(dir, "data"), filepath.Join(dir, "logs"), freeAddrs(t)
	cfg.NATSURL = "nats://127.0.0.1:1" // the fakes use no broker; boot starts none
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// bootFakes runs boot on fake services until the test ends; it returns
// boot's output, how to stop it (as Ctrl-C does), and its result.
func bootFakes(t *testing.T, cfg config, stubborn ...string) (out *lockedBuffer, stop func(), done <-chan error) {
	t.Helper()
	t.Setenv(envFakeServices, strings.Join(stubborn, ","))
	out = &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	result, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		result <- boot(ctx, cfg, nil, out)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return out, cancel, result
}

// waitOutput waits until boot's output has text.
func waitOutput(t *testing.T, out *lockedBuffer, text string) {
	t.Helper()
	if !poll.Until(30*time.Second, 20*time.Millisecond, func() bool { return strings.Contains(out.String(), text) }) {
		t.Fatalf("boot did not print %q within 30s:\n%s", text, out.String())
	}
}

// boot waits until every service is ready (/readyz), not merely alive;
// while it runs it says when one stops being ready, and when it is
// ready again.
func TestBootWaitsForReadinessAndWatchesIt(t *testing.T) {
	cfg := fakeConfig(t)
	flag := notReadyFile(cfg.DataDir, "beta")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ := bootFakes(t, cfg)
	// beta has been asked, and said no, a few times: boot still waits.
	asked := poll.Until(30*time.Second, 20*time.Millisecond, func() bool {
		asked, _ := os.ReadFile(flag + ".asked")
		return strings.Count(string(asked), "asked") >= 5
	})
	if !asked {
		t.Fatalf("boot did not ask beta whether it is ready:\n%s", out.String())
	}
	if strings.Contains(out.String(), "all services ready") {
		t.Fatalf("boot says all are ready while beta is not:\n%s", out.String())
	}
	os.Remove(flag)
	waitOutput(t, out, "all services ready")
	dashboard := "dashboard http://" + cfg.Addrs["overlord"] + "/eventually.html"
	if !strings.Contains(out.String(), dashboard) || strings.Contains(out.String(), "file://") {
		t.Errorf("boot does not point to the dashboard overlord serves (%q):\n%s", dashboard, out.String())
	}

	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, "beta is not ready: the test says so")
	os.Remove(flag)
	waitOutput(t, out, "beta is ready again")
}

// Ctrl-C stops boot within 5 s even when two children ignore SIGTERM:
// all children share one grace period, then the stragglers are killed
// and reaped.
func TestBootKillsChildrenThatIgnoreSIGTERM(t *testing.T) {
	stubborn := []string{"alpha", "charlie"}
	out, cancel, done := bootFakes(t, fakeConfig(t), stubborn...)
	waitOutput(t, out, "all services ready")
	children := fakesOf(t, os.Getpid())
	if len(children) != len(system.Names) {
		t.Fatalf("%d fake services running, want %d", len(children), len(system.Names))
	}

	start := time.Now()
	cancel() // what SIGINT does to boot
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("boot: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("boot did not return within 15s of the stop:\n%s", out.String())
	}
	took := time.Since(start)
	if took > 5*time.Second || took < stopGrace {
		t.Errorf("boot stopped in %s, want within 5s and after the %s grace (the stubborn ones had to be killed)", took, stopGrace)
	}
	for _, name := range system.Names {
		killed := strings.Contains(out.String(), name+" did not stop within")
		if want := slices.Contains(stubborn, name); killed != want {
			t.Errorf("%s killed: %v, want %v:\n%s", name, killed, want, out.String())
		}
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child %d is still there (not killed or not reaped): %v", pid, err)
		}
	}
}

// fakesOf lists the children of pid that run this test binary.
func fakesOf(t *testing.T, pid int) []int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var fakes []int
	for _, child := range childrenOf(t, pid) {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(child), "cmdline"))
		if err == nil && strings.HasPrefix(string(cmdline), self+"\x00") {
			fakes = append(fakes, child)
		}
	}
	return fakes
}

// lockedBuffer is what boot writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Issue 6: the dashboard stops a service and starts it again through
// boot's supervisor (overlord is told where it is). A service stopped on
// purpose is not the end of the run; it starts again at the stage it is
// given; a service that dies unasked still ends the run.
func TestBootStopsAndStartsAServiceOnPurpose(t *testing.T) {
	cfg := fakeConfig(t)
	out, _, done := bootFakes(t, cfg)
	waitOutput(t, out, "all services ready")
	sup, err := os.ReadFile(supervisorFile(cfg.DataDir))
	if err != nil {
		t.Fatalf("overlord was not told where boot's supervisor is: %v", err)
	}
	charlie := "http://" + cfg.Addrs["charlie"]

	st.Must(t, st.Call(t, "POST", string(sup)+"/processes/charlie/stop", nil), 200)
	waitOutput(t, out, "charlie stopped from the dashboard")
	if st.Call(t, "GET", charlie+"/readyz", nil).Status != 0 {
		t.Fatal("charlie still answers after it was stopped")
	}
	st.Must(t, st.Call(t, "POST", string(sup)+"/processes/charlie/start", map[string]int{"stage": 9}), 400)
	st.Must(t, st.Call(t, "POST", string(sup)+"/processes/overlord/stop", nil), 404)
	select {
	case err := <-done:
		t.Fatalf("boot ended when charlie was stopped on purpose: %v\n%s", err, out.String())
	default:
	}

	st.Must(t, st.Call(t, "POST", string(sup)+"/processes/charlie/start", map[string]int{"stage": 2}), 200)
	st.Eventually(t, 30*time.Second, "charlie answers again at stage 2", func() bool {
		r := st.Call(t, "GET", charlie+"/api/stage", nil)
		return r.Status == 200 && strings.TrimSpace(string(r.Body)) == `{"stage":2}`
	})
	var procs []struct {
		Name    string
		Running bool
	}
	st.Must(t, st.Call(t, "GET", string(sup)+"/processes", nil), 200).JSON(t, &procs)
	if fmt.Sprint(procs) != "[{alpha true} {beta true} {charlie true}]" {
		t.Errorf("processes: %v", procs)
	}

	// Killed from outside, not from the dashboard: the run ends.
	beta := fakeOf(t, "beta")
	if err := syscall.Kill(beta, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "beta exited") {
			t.Fatalf("boot ended with %v, want beta exited", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("boot still runs 30 s after beta was killed:\n%s", out.String())
	}
}

// fakeOf is the PID of the fake service name, a child of this test.
func fakeOf(t *testing.T, name string) int {
	t.Helper()
	for _, pid := range fakesOf(t, os.Getpid()) {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err == nil && strings.HasSuffix(string(cmdline), "\x00"+name+"\x00") {
			return pid
		}
	}
	t.Fatalf("no fake %s runs", name)
	return 0
}
