package sqlstore

import (
	"context"
	"sync"
	"time"
)

// periodic is the lifecycle the batching recorders share: flush every
// interval (errors to onError) until closed, then once more, each flush
// bounded by timeout.
type periodic struct {
	flush    func(context.Context) error
	timeout  time.Duration
	onError  func(error)
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// startPeriodic starts the loop; flush must be safe to call while a
// recorder is in use.
func startPeriodic(interval, timeout time.Duration, flush func(context.Context) error, onError func(error)) *periodic {
	p := &periodic{flush: flush, timeout: timeout, onError: onError, stop: make(chan struct{}), done: make(chan struct{})}
	go p.loop(interval)
	return p
}

func (p *periodic) loop(interval time.Duration) {
	defer close(p.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if err := p.flushNow(); err != nil && p.onError != nil {
				p.onError(err)
			}
		}
	}
}

// flushNow runs one flush within the timeout.
func (p *periodic) flushNow() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	return p.flush(ctx)
}

// halt stops the loop and waits for it to end. It reports whether this
// call stopped it (false for every later call).
func (p *periodic) halt() bool {
	first := false
	p.stopOnce.Do(func() {
		first = true
		close(p.stop)
	})
	if first {
		<-p.done
	}
	return first
}
