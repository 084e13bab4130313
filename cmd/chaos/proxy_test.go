package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo serves a line echo on a loopback port until the test ends.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, wait time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// A hang swallows bytes on open and new connections; heal resets the
// connections that lost bytes and relays again.
func TestProxyHangAndHeal(t *testing.T) {
	p, err := startProxy(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, time.Second); err != nil || got != "ping\n" {
		t.Fatalf("before the hang: %q %v", got, err)
	}
	p.hang()
	if got, err := roundTrip(c, 200*time.Millisecond); err == nil {
		t.Fatalf("hung proxy answered %q", got)
	}
	fresh, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatalf("a hung proxy still accepts: %v", err)
	}
	defer fresh.Close()
	if got, err := roundTrip(fresh, 200*time.Millisecond); err == nil {
		t.Fatalf("hung proxy answered a new connection %q", got)
	}
	p.heal()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection that lost bytes was not reset by heal")
	}
	again, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, err := roundTrip(again, time.Second); err != nil || got != "ping\n" {
		t.Fatalf("after heal: %q %v", got, err)
	}
}
