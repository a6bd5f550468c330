package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"eventually/internal/poll"
	st "eventually/internal/systemtest"
)

// stopDeadline is how long any command may take to exit after SIGINT.
const stopDeadline = 5 * time.Second

// Every command exits within 5 s of SIGINT whatever the broker does: when
// it was never there, when it froze (SIGSTOP) after the services had
// connected to it, and when it is well and orders are flowing.
func TestCommandsStopWithin5sWhateverTheBroker(t *testing.T) {
	bin := binary(t)
	commands := map[string][]string{
		"absent": {"alpha", "beta", "charlie", "overlord", "all", "boot"},
		"frozen": {"alpha", "beta", "charlie", "overlord", "all", "boot"},
		"busy":   {"all", "boot"}, // the whole system, mid-load
	}
	for _, broker := range []string{"absent", "frozen", "busy"} {
		for _, command := range commands[broker] {
			t.Run(broker+"/"+command, func(t *testing.T) {
				dir := t.TempDir()
				addrs := freeAddrs(t)
				natsAddr := freeAddr(t)
				env := append(os.Environ(),
					EnvDataDir+"="+filepath.Join(dir, "data"), EnvLogDir+"="+filepath.Join(dir, "logs"),
					EnvNATSURL+"=nats://"+natsAddr)
				env = append(env, addrEnv(addrs)...)
				var brokerProc *exec.Cmd
				if broker != "absent" {
					brokerProc = startBrokerProcess(t, bin, natsAddr, filepath.Join(dir, "broker"))
				}
				cmd := exec.Command(bin, command)
				cmd.Env = env
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // boot's children go with it
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

				// The first service up is enough: the command is running.
				first := "http://" + addrs["alpha"]
				if command != "all" && command != "boot" {
					first = "http://" + addrs[command]
				}
				switch broker {
				case "absent":
					st.Eventually(t, 20*time.Second, command+" serving", func() bool { return serving(first) })
				case "frozen":
					st.Eventually(t, 20*time.Second, command+" ready", func() bool { return ready(first) })
					if err := brokerProc.Process.Signal(syscall.SIGSTOP); err != nil {
						t.Fatal(err)
					}
				case "busy":
					for _, name := range []string{"alpha", "beta", "charlie", "overlord"} {
						st.Eventually(t, 20*time.Second, name+" ready", func() bool { return ready("http://" + addrs[name]) })
					}
					placing := placeOrdersUntilStopped(t, addrs)
					st.Eventually(t, 20*time.Second, "orders flowing", func() bool { return placing.Load() >= 20 })
				}

				start := time.Now()
				if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
				select {
				case <-exited:
					t.Logf("exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
				case <-time.After(stopDeadline):
					t.Fatalf("%s still running %s after SIGINT with the broker %s", command, stopDeadline, broker)
				}
			})
		}
	}
}

// placeOrdersUntilStopped turns alpha's auto-approve on and submits
// orders to beta from new carts until the test ends or beta stops
// answering; it counts the orders placed.
func placeOrdersUntilStopped(t *testing.T, addrs map[string]string) *atomic.Int64 {
	t.Helper()
	alpha, beta := "http://"+addrs["alpha"], "http://"+addrs["beta"]
	st.Must(t, st.Call(t, "PUT", alpha+"/api/auto-approve", map[string]bool{"enabled": true}), 200)
	var placed atomic.Int64
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			var cart struct{ GUID string }
			if postJSON(beta+"/api/carts", nil, &cart) != nil ||
				postJSON(beta+"/api/carts/"+cart.GUID+"/load", nil, nil) != nil ||
				postJSON(beta+"/api/carts/"+cart.GUID+"/submit", map[string]any{"product": "widget", "price_cents": 1000}, nil) != nil {
				return // stopping
			}
			placed.Add(1)
		}
	}()
	return &placed
}

// postJSON posts body (nil: none) and decodes a 2xx answer into out.
func postJSON(url string, body, out any) error {
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	res, err := httpClient.Post(url, "application/json", r)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// startBrokerProcess runs the embedded broker as a process of its own, so
// a test can freeze it; it is killed when the test ends.
func startBrokerProcess(t *testing.T, bin, addr, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "broker")
	cmd.Env = append(os.Environ(), EnvNATSAddr+"="+addr, EnvDataDir+"="+dir, EnvLogDir+"="+filepath.Join(dir, "logs"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if !poll.Until(20*time.Second, 20*time.Millisecond, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("broker not listening on %s", addr)
	}
	return cmd
}

// serving reports whether a service answers HTTP at all.
func serving(base string) bool {
	c, err := net.DialTimeout("tcp", base[len("http://"):], time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// httpClient gives up on a service that does not answer.
var httpClient = &http.Client{Timeout: 2 * time.Second}

// ready reports whether a service says it takes part in the message flow.
func ready(base string) bool {
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err := httpClient.Get(base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			return resp.StatusCode == 200
		}
	}
	return false
}
