package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"eventually/internal/pgtest"
	"eventually/internal/system"
	st "eventually/internal/systemtest"
	"eventually/pkg/broker"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds this command once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs real processes")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eventually-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "eventually")
		out, err := exec.Command("go", "build", "-tags", "faultinject", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	// Re-executed by boot as one of its children: play that service.
	if stubborn, ok := os.LookupEnv(envFakeServices); ok && len(os.Args) > 1 {
		fakeService(os.Args[1], strings.Split(stubborn, ","))
		return
	}
	code := pgtest.Main(m)
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// processes runs services as separate processes of the built binary,
// against a broker embedded in the test process, as `boot` does.
type processes struct {
	t      *testing.T
	bin    string
	dir    string
	broker *broker.Broker
	addrs  map[string]string
	env    []string
	procs  map[string]*exec.Cmd
	exited map[string]chan error
}

func startProcesses(t *testing.T, env ...string) *processes {
	t.Helper()
	dir := t.TempDir()
	b, err := broker.Start("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	p := startProcessesOn(t, dir, b.URL(), env...)
	p.broker = b
	return p
}

// startProcessesOn is startProcesses on a broker of the test's own (a
// cluster's servers, comma-separated), in dir.
func startProcessesOn(t *testing.T, dir, brokerURL string, env ...string) *processes {
	t.Helper()
	p := &processes{t: t, bin: binary(t), dir: dir, procs: map[string]*exec.Cmd{}, exited: map[string]chan error{}}
	p.addrs = freeAddrs(t)
	p.env = append(os.Environ(),
		EnvDataDir+"="+filepath.Join(p.dir, "data"), EnvLogDir+"="+filepath.Join(p.dir, "logs"),
		EnvNATSURL+"="+brokerURL)
	p.env = append(append(p.env, addrEnv(p.addrs)...), env...)
	t.Cleanup(p.stopAll)
	return p
}

func (p *processes) url(name string) string { return "http://" + p.addrs[name] }

// start runs one service process and waits until it is ready.
func (p *processes) start(name string, env ...string) {
	p.t.Helper()
	p.startInstance(name, name, env...)
}

// startInstance runs one more process of a service, named key (its
// address, output and log file are its own), and waits until it is ready.
func (p *processes) startInstance(key, name string, env ...string) {
	p.t.Helper()
	if p.addrs[key] == "" {
		p.addrs[key] = freeAddr(p.t)
		spec, _ := system.Lookup(name)
		env = append([]string{spec.AddrEnv() + "=" + p.addrs[key], EnvInstance + "=" + key,
			EnvLogDir + "=" + filepath.Join(p.dir, "logs", key)}, env...)
	}
	cmd := exec.Command(p.bin, name)
	cmd.Env = append(append([]string{}, p.env...), env...)
	log, err := os.Create(filepath.Join(p.dir, key+".out"))
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); log.Close() }()
	p.procs[key], p.exited[key] = cmd, exited
	st.Eventually(p.t, 20*time.Second, key+" ready", func() bool {
		return st.Call(p.t, "GET", p.url(key)+"/readyz", nil).Status == 200
	})
}

// kill9 kills a service process the hard way and waits for it to be gone.
func (p *processes) kill9(name string) {
	p.t.Helper()
	_ = p.procs[name].Process.Signal(syscall.SIGKILL)
	p.waitExit(name)
}

// waitExit waits for a service process to exit and returns how it ended.
func (p *processes) waitExit(name string) error {
	p.t.Helper()
	select {
	case err := <-p.exited[name]:
		delete(p.procs, name)
		return err
	case <-time.After(60 * time.Second):
		p.t.Fatalf("%s did not exit within 60s", name)
		return nil
	}
}

func (p *processes) stopAll() {
	for name, cmd := range p.procs {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited[name]:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	if p.broker != nil {
		p.broker.Shutdown()
	}
}
