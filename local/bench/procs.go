package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// startLimit bounds how long a process may take to accept connections.
	startLimit = 15 * time.Second
	// stopLimit is how long a process gets to exit after SIGTERM before it is killed.
	stopLimit = 10 * time.Second
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; 100 on every
	// Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
	clockTicks = 100
)

// proc is one server the benchmark started: the mock upstream, a proxy, nginx.
type proc struct {
	name   string
	url    string
	cmd    *exec.Cmd
	stderr *headBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done
}

// startProc runs cmd, which must listen on addr, and waits until addr accepts connections.
func startProc(name string, cmd *exec.Cmd, addr string) (*proc, error) {
	p := &proc{name: name, url: "http://" + addr, cmd: cmd, stderr: &headBuffer{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	setParentDeathSignal(cmd) // a killed benchmark leaves no servers behind
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	if err := waitListening(addr, p.done, startLimit); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s did not start: %w; its output:\n%s", name, err, p.stderr)
	}
	return p, nil
}

// stop asks the process to exit (SIGTERM: the gateway then shuts down gracefully and flushes its
// usage log) and kills it if it has not after stopLimit. It reports a failed exit.
func (p *proc) stop() error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopLimit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, stopLimit)
	}
	return p.exitErr()
}

func (p *proc) exitErr() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
		return nil // the role servers and nginx's workers die of the signal itself
	}
	if p.err != nil {
		return fmt.Errorf("%s exited: %w; its output:\n%s", p.name, p.err, p.stderr)
	}
	return nil
}

// pids is the process and its children (nginx's workers), read from /proc.
func (p *proc) pids() []int {
	root := p.cmd.Process.Pid
	return append([]int{root}, childrenOf(root)...)
}

// childrenOf lists the processes whose parent is pid, read from /proc.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if st, err := readStat(child); err == nil && int(st.ppid) == pid {
			out = append(out, child)
		}
	}
	return out
}

// cpu is the CPU time (user + system) the process and its children have used so far, from
// their own accounting in /proc/<pid>/stat; it is 10 ms granular.
func (p *proc) cpu() (time.Duration, error) {
	var ticks int64
	for _, pid := range p.pids() {
		st, err := readStat(pid)
		if err != nil {
			return 0, err
		}
		ticks += st.utime + st.stime
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// rss is the resident memory of the process and its children, and the sum of their peaks.
func (p *proc) rss() (rssSample, error) {
	var sum rssSample
	for _, pid := range p.pids() {
		s, err := readRSS(pid)
		if err != nil {
			return rssSample{}, err
		}
		sum.rss += s.rss
		sum.hwm += s.hwm
	}
	return sum, nil
}

// resetPeak sets each process's VmHWM back to its current RSS (Linux ≥ 4.0), so that the next
// reading is the peak of what follows.
func (p *proc) resetPeak() error {
	for _, pid := range p.pids() {
		if err := os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0); err != nil {
			return fmt.Errorf("reset peak RSS of %s: %w", p.name, err)
		}
	}
	return nil
}

type procStat struct{ ppid, utime, stime int64 }

// readStat parses /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses,
// so the fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat of %d: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat of %d: %d fields", pid, len(f)+2)
	}
	num := func(field int) int64 { v, _ := strconv.ParseInt(f[field-3], 10, 64); return v }
	return procStat{ppid: num(4), utime: num(14), stime: num(15)}, nil
}

type rssSample struct{ rss, hwm int64 } // bytes

// readRSS reads VmRSS and VmHWM from /proc/<pid>/status.
func readRSS(pid int) (rssSample, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return rssSample{}, fmt.Errorf("read process status: %w", err)
	}
	defer f.Close()
	var s rssSample
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return rssSample{}, fmt.Errorf("parse %s %q: %w", name, value, err)
		}
		if name == "VmRSS" {
			s.rss = kb << 10
		} else {
			s.hwm = kb << 10
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return rssSample{}, fmt.Errorf("read process status: %w", err)
	}
	if found != 2 {
		return rssSample{}, errors.New("VmRSS or VmHWM missing from /proc/<pid>/status")
	}
	return s, nil
}

// freeAddr returns a loopback address no one listens on right now, for a child to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitListening polls addr until it accepts a connection, the process exits, or limit.
func waitListening(addr string, exited <-chan struct{}, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp4", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on %s after %s", addr, limit)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// headBuffer keeps the first max bytes a process writes, for the error message if it fails.
type headBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *headBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - t.buf.Len(); room > 0 {
		t.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
