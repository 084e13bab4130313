package testkit

import (
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP relay to a server (memcached, Postgres) that a test can
// cut (connections refused) or hang (connections open, nothing answers) and
// restore on the same address: outages in which the server itself keeps
// running and keeps its data.
type Proxy struct {
	t      testing.TB
	Addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	hung   atomic.Bool
}

// StartProxy relays a free loopback port (Addr) to target until the test
// ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, Addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.Restore()
	p.Addr = p.ln.Addr().String()
	t.Cleanup(p.Cut)
	return p
}

// Restore listens again and relays new connections.
func (p *Proxy) Restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				return
			}
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst until either fails, dropping everything while hung.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.hung.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// Hang keeps connections open but swallows every byte both ways.
func (p *Proxy) Hang() { p.hung.Store(true) }

// Heal ends a hang: the connections it spoiled are reset.
func (p *Proxy) Heal() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	p.hung.Store(false)
}

// Cut closes the listener and every relayed connection: connections are
// refused until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	p.wg.Wait()
}

// DatabaseProxy starts a Proxy in front of the package database's server
// and returns it with the package database's URL through it: for tests of
// Postgres outages (cut, hang) that leave the server itself running.
func DatabaseProxy(t testing.TB) (*Proxy, *url.URL) {
	t.Helper()
	target, err := url.Parse(DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	p := StartProxy(t, target.Host)
	via := *target
	via.Host = p.Addr
	return p, &via
}
