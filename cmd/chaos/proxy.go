package main

import (
	"net"
	"sync"
	"sync/atomic"
)

// proxy relays a loopback port to PostgreSQL so that the run can hang it:
// connections stay open (new ones are accepted too) and every byte is
// swallowed both ways, as when the database's machine freezes. The real
// server keeps running and keeps its data; heal resets the connections that
// lost bytes during the hang.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.RWMutex // hung, and the decision to drop a read's bytes
	hung  bool
	pairs map[*pair]struct{}
}

// pair is one relayed connection: the client's side and Postgres's.
type pair struct {
	client, server net.Conn
	spoiled        atomic.Bool // bytes were dropped: the protocol is out of step
}

func (c *pair) close() {
	c.client.Close()
	c.server.Close()
}

// startProxy relays a free loopback port to target until close.
func startProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, pairs: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		// While Postgres restarts the dial is refused and the client sees its
		// connection closed, as it would without the proxy.
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		cp := &pair{client: c, server: up}
		p.mu.Lock()
		p.pairs[cp] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(cp, up, c)
		go p.pipe(cp, c, up)
	}
}

// pipe copies src to dst until either fails, dropping everything while hung.
func (p *proxy) pipe(cp *pair, dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.RLock()
			drop := p.hung
			if drop {
				cp.spoiled.Store(true)
			}
			p.mu.RUnlock()
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	cp.close()
	p.mu.Lock()
	delete(p.pairs, cp)
	p.mu.Unlock()
}

// hang keeps connections open but answers nothing.
func (p *proxy) hang() {
	p.mu.Lock()
	p.hung = true
	p.mu.Unlock()
}

// heal ends a hang: connections that lost bytes are reset (their peers would
// wait forever for answers that were swallowed), the others relay again.
func (p *proxy) heal() {
	p.mu.Lock()
	p.hung = false
	var spoiled []*pair
	for cp := range p.pairs {
		if cp.spoiled.Load() {
			spoiled = append(spoiled, cp)
		}
	}
	p.mu.Unlock()
	for _, cp := range spoiled {
		cp.close()
	}
}

// close stops listening and closes every relayed connection.
func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for cp := range p.pairs {
		cp.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
