package cluster

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"pynet/internal/cluster/natstest"
	"pynet/internal/replog"
)

// BenchmarkPublish: asynchronous publishes, each acknowledged (done
// called), on one standalone server in this process. Reports entries per
// second.
func BenchmarkPublish(b *testing.B) {
	s := natstest.Start(b)
	l := openLog(b, Options{URLs: []string{s.URL()}})
	benchPublish(b, l, nil)
}

// BenchmarkPublishMsgID: the same with a Nats-Msg-Id on every entry.
func BenchmarkPublishMsgID(b *testing.B) {
	s := natstest.Start(b)
	l := openLog(b, Options{URLs: []string{s.URL()}})
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = "session-1:" + strconv.Itoa(i)
	}
	benchPublish(b, l, ids)
}

// benchPublish publishes b.N room entries without waiting for each ack
// (with ids[i] as the Nats-Msg-Id when ids is given) and reports entries
// acknowledged per second.
func benchPublish(b *testing.B, l *Log, ids []string) {
	subj := replog.RoomSubject(l.Prefix(), "lobby")
	data := roomMsg("lobby", "someone", "a message of an ordinary length, about sixty bytes")
	var wg sync.WaitGroup
	var failed sync.Once
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		id := ""
		if ids != nil {
			id = ids[i]
		}
		wg.Add(1)
		l.Publish(subj, id, data, func(a replog.PubAck, err error) {
			if err != nil || a.Duplicate {
				failed.Do(func() { b.Errorf("publish: %+v %v", a, err) })
			}
			wg.Done()
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkFollow: reading b.N stored entries with Follow from 0 until
// caught up.
func BenchmarkFollow(b *testing.B) {
	s := natstest.Start(b)
	l := openLog(b, Options{URLs: []string{s.URL()}})
	subj := replog.RoomSubject(l.Prefix(), "lobby")
	data := roomMsg("lobby", "someone", "a message of an ordinary length, about sixty bytes")
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		l.Publish(subj, "", data, func(_ replog.PubAck, err error) {
			if err != nil {
				b.Errorf("publish: %v", err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	b.ResetTimer()
	start := time.Now()
	n := 0
	caught := make(chan struct{})
	l.Follow(0, func(replog.Entry) { n++ }, func() { close(caught) }, func(err error) { b.Errorf("follow: %v", err) })
	select {
	case <-caught:
	case <-time.After(5 * time.Minute):
		b.Fatal("not caught up")
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("applied %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkPublishR3: acknowledged publishes to a stream with 3 replicas
// on a 3-server cluster, all in this process (so on the same cores).
func BenchmarkPublishR3(b *testing.B) {
	servers := natstest.StartCluster(b, 3)
	l := openLog(b, Options{URLs: natstest.URLs(servers), Replicas: 3})
	benchPublish(b, l, nil)
}

// BenchmarkPublishOneByOne: the ack latency of one entry at a time.
func BenchmarkPublishOneByOne(b *testing.B) {
	s := natstest.Start(b)
	l := openLog(b, Options{URLs: []string{s.URL()}})
	subj := replog.RoomSubject(l.Prefix(), "lobby")
	data := roomMsg("lobby", "someone", "a message of an ordinary length, about sixty bytes")
	done := make(chan error, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Publish(subj, "", data, func(_ replog.PubAck, err error) { done <- err })
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
