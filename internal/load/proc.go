package load

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeakRSSMB is a running process's peak resident set size (VmHWM), in MB.
func PeakRSSMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS of %d: %w", pid, err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			return 0, fmt.Errorf("peak RSS of %d: %q: %w", pid, value, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("peak RSS of %d: no VmHWM in /proc/%d/status", pid, pid)
}

// clockTicks is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTicks = 100

// cpuTimes is the CPU time (user + system) used so far by each of the
// processes, and by this one: "driver+broker" when it started the system
// (the broker is embedded here).
func cpuTimes(pids map[string]int) (map[string]time.Duration, error) {
	var self syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		return nil, fmt.Errorf("cpu time: %w", err)
	}
	// Without pids the services either run here (in-process tests) or
	// elsewhere (--target): this process is all that is measured.
	selfName := "this process"
	if len(pids) > 0 {
		selfName = "driver+broker"
	}
	times := map[string]time.Duration{selfName: time.Duration(self.Utime.Nano() + self.Stime.Nano())}
	for name, pid := range pids {
		t, err := processCPU(pid)
		if err != nil {
			return nil, err
		}
		times[name] = t
	}
	return times, nil
}

func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	// Fields after the command name, which may hold spaces: state is the
	// 3rd field of the line, utime the 14th, stime the 15th.
	_, rest, _ := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0, fmt.Errorf("cpu time of %d: short /proc stat", pid)
	}
	var total time.Duration
	for _, f := range fields[11:13] {
		ticks, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
		}
		total += time.Duration(ticks) * time.Second / clockTicks
	}
	return total, nil
}
