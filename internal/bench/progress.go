package bench

import (
	"fmt"
	"time"
)

// progressEvery is the period of the progress line.
const progressEvery = time.Second

// progress is the progress goroutine: once a second it rewrites one line on
// cfg.Progress, until done closes; then it clears the line.
func (r *run) progress(done <-chan struct{}) {
	w := r.cfg.Progress
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	lastT, lastD := r.now(), r.delivered.Load()
	width := 0
	for {
		select {
		case <-done:
			fmt.Fprintf(w, "\r%*s\r", width, "")
			return
		case <-tick.C:
		}
		now, d := r.now(), r.delivered.Load()
		rate := float64(d-lastD) / time.Duration(now-lastT).Seconds()
		lastT, lastD = now, d
		var line string
		switch ph := r.phase.Load(); ph {
		case phaseSetup:
			line = fmt.Sprintf("set-up  %d of %d joined", r.joined.Load(), r.cfg.Clients)
		case phaseDone:
			continue
		default:
			name := map[int32]string{phaseWarm: "warmup", phaseMeasure: "measure", phaseDrain: "drain"}[ph]
			at := time.Duration(now - r.trafficStart).Round(100 * time.Millisecond)
			total := r.cfg.Warmup + r.cfg.Duration
			line = fmt.Sprintf("%-7s %v/%v  sent %d  deliveries %s/s  errors %d  disconnects %d",
				name, at, total, r.gate.sent.Load(), si(rate), r.tally.errorCount(), r.disconnects.Load())
		}
		n := len(line)
		if n < width {
			line += fmt.Sprintf("%*s", width-n, "")
		}
		width = max(width, n)
		fmt.Fprintf(w, "\r%s", line)
	}
}
