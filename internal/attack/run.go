package attack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// progressEvery is how often a progress line is written.
const progressEvery = 5 * time.Second

// Run runs one scenario against the server at cfg.Addr and reports what
// happened. It ends by itself: after the set-up (bounded), the attack
// phase (cfg.Duration or the scenario's default, at most) and the drain;
// cancelling ctx ends it early, with a partial report. It fails only when
// the configuration is wrong or the well-behaved pair cannot join before
// the attack.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	target, _ := cfg.target()
	rep := &Report{Scenario: cfg.Scenario, Addr: target.String(), Sources: cfg.Sources, Started: time.Now().UTC()}
	rep.Config = summarize(&cfg)
	nofile, err := raiseNoFile()
	rep.Harness.NoFile, rep.Harness.NoFileNeeded = nofile, cfg.connsNeeded()+64
	switch {
	case err != nil:
		rep.Harness.Notes = append(rep.Harness.Notes, "raising RLIMIT_NOFILE: "+err.Error())
	case nofile > 0 && nofile < uint64(rep.Harness.NoFileNeeded):
		rep.Harness.Notes = append(rep.Harness.Notes, fmt.Sprintf(
			"RLIMIT_NOFILE is %d, below the %d this run needs: some dials will fail (raise the hard limit, e.g. ulimit -Hn)", nofile, rep.Harness.NoFileNeeded))
	}
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "attack %s: "+format+"\n", append([]any{cfg.Scenario}, args...)...)
		}
	}
	tag := newTag()
	cpu0 := selfCPU()
	mon := startMonitor(cfg.ServerPID)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	p, err := startPair(runCtx, &cfg, target, tag)
	if err != nil {
		mon.finish(&rep.Server)
		return nil, err
	}
	cr := newCrowd(runCtx, &cfg, target, tag)
	sc := scenarioFor(cfg.Scenario)
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				progress("%d tried, %d accepted, %d open; the pair sent %d, received %d",
					cr.tried.Load(), cr.accepted.Load(), cr.open.Load(),
					p.users[0].sent.Load()+p.users[1].sent.Load(), p.users[0].received.Load()+p.users[1].received.Load())
			}
		}
	}()

	t0 := time.Now()
	if sc.setup != nil {
		progress("set-up")
		if err := sc.setup(cr); err != nil {
			rep.Harness.Notes = append(rep.Harness.Notes, "set-up: "+err.Error())
		}
	}
	t1 := time.Now()
	rep.SetupSeconds = t1.Sub(t0).Seconds()
	progress("attack (up to %v)", cfg.phase())
	p.startTraffic(runCtx)
	sc.attack(cr, t1.Add(cfg.phase()), &rep.Attack)
	rep.AttackSeconds = time.Since(t1).Seconds()
	p.stopTraffic()
	if sc.finish != nil {
		sc.finish(cr)
	}
	rep.Attack.OpenAtEnd = cr.open.Load()
	progress("draining the pair's messages (up to %v)", cfg.Drain)
	p.drain(cfg.Drain)
	close(stopProgress)
	cr.closeAll()
	p.finish(&rep.User)
	waitBounded(cr, 15*time.Second, rep)
	cr.report(&rep.Attack)
	mon.finish(&rep.Server)
	rep.Harness.CPUSeconds = selfCPU() - cpu0
	if ctx.Err() != nil {
		rep.Harness.Notes = append(rep.Harness.Notes, "interrupted: the report is partial")
	}
	rep.judge(&cfg)
	return rep, nil
}

// waitBounded waits for the attackers' goroutines (each is bounded by a
// deadline; this only guards against a bug).
func waitBounded(cr *crowd, d time.Duration, rep *Report) {
	done := make(chan struct{})
	go func() { cr.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		rep.Harness.Notes = append(rep.Harness.Notes, "some attacker goroutines had not ended "+d.String()+" after the run")
	}
}

func summarize(c *Config) ConfigSummary {
	s := ConfigSummary{InFlight: c.InFlight, UserRate: c.UserRate, UserSize: c.UserSize, DurationS: c.phase().Seconds()}
	switch c.Scenario {
	case "joinstorm":
		s.Joins = c.Joins
	case "rename":
		s.Renamers, s.NickRate = c.Renamers, c.NickRate
	case "churn":
		s.Workers, s.RoomSize = c.Workers, c.RoomSize
	case "slowloris":
		s.Conns, s.Partial, s.DripMS = c.Conns, c.Partial, c.Drip.Milliseconds()
	case "history-bomb":
		s.Bombs, s.NonReaders = c.Bombs, c.NonReaders
	case "one-address":
		s.Conns = c.Conns
	}
	return s
}

// newTag returns 4 hex digits that make this run's user names unique.
func newTag() string {
	var b [2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
