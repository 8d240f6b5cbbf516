package attack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (fixed at 100 for user space on Linux).
const clockTicks = 100

// pageSize is the unit of the mem field of /proc/net/sockstat.
var pageSize = int64(os.Getpagesize())

// procCPU returns the CPU seconds (user + system, all threads) process pid
// has used.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat times")
	}
	return float64(ut+st) / clockTicks, nil
}

// procRSS returns process pid's VmRSS in KiB.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return fieldAfter(b, "VmRSS:", 0)
}

// tcpMemKiB returns the kernel's TCP buffer memory, the whole machine's,
// in KiB (/proc/net/sockstat, "TCP: … mem PAGES").
func tcpMemKiB() (int64, error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("TCP:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		for i := 0; i+1 < len(f); i++ {
			if string(f[i]) == "mem" {
				n, err := strconv.ParseInt(string(f[i+1]), 10, 64)
				return n * pageSize / 1024, err
			}
		}
	}
	return 0, errors.New("no TCP mem in /proc/net/sockstat")
}

// fieldAfter returns the index-th number after key at the start of a line.
func fieldAfter(b []byte, key string, index int) (int64, error) {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := bytes.Fields(rest)
			if len(f) <= index {
				break
			}
			return strconv.ParseInt(string(f[index]), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s", key)
}

// monitor polls the server's RSS and the machine's TCP memory every
// monitorEvery and keeps the peaks.
type monitor struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	peakRSS   int64 // KiB
	peakTCP   int64 // KiB
	rssErr    error
	cpuStart  float64
	cpuErr    error
	gone      bool
	startedAt time.Time
}

const monitorEvery = 100 * time.Millisecond

func startMonitor(pid int) *monitor {
	m := &monitor{pid: pid, stop: make(chan struct{}), done: make(chan struct{}), startedAt: time.Now()}
	if pid > 0 {
		m.cpuStart, m.cpuErr = procCPU(pid)
	}
	go m.run()
	return m
}

func (m *monitor) run() {
	defer close(m.done)
	t := time.NewTicker(monitorEvery)
	defer t.Stop()
	for {
		m.sample()
		select {
		case <-m.stop:
			m.sample()
			return
		case <-t.C:
		}
	}
}

func (m *monitor) sample() {
	tcp, _ := tcpMemKiB()
	var rss int64
	var err error
	if m.pid > 0 {
		rss, err = procRSS(m.pid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.peakTCP = max(m.peakTCP, tcp)
	if m.pid > 0 {
		if err != nil {
			m.rssErr = err
			if errors.Is(err, os.ErrNotExist) {
				m.gone = true
			}
			return
		}
		m.peakRSS = max(m.peakRSS, rss)
	}
}

// finish stops the polling and fills in r.
func (m *monitor) finish(r *ServerReport) {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	r.PID = m.pid
	r.PeakTCPMemMiB = float64(m.peakTCP) / 1024
	if m.pid <= 0 {
		return
	}
	r.PeakRSSMiB = float64(m.peakRSS) / 1024
	if m.gone {
		r.Notes = append(r.Notes, "the server process was gone before the end of the run")
	} else if m.rssErr != nil {
		r.Notes = append(r.Notes, "reading its RSS: "+m.rssErr.Error())
	}
	end, err := procCPU(m.pid)
	switch {
	case m.cpuErr != nil:
		r.Notes = append(r.Notes, "reading its CPU time: "+m.cpuErr.Error())
	case err != nil:
		r.Notes = append(r.Notes, "reading its CPU time at the end: "+err.Error())
	default:
		r.CPUSeconds = end - m.cpuStart
	}
}
