package main

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The gate: a TLS handshake whose ClientHello has arrived waits while
// every slot is taken and completes once one is free; the slot is given
// back when the server has written its flight; a connection that sends
// nothing takes no slot.
func TestHandshakeGate(t *testing.T) {
	dir := t.TempDir()
	cert, err := makeSelfSigned(filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		g := &handshakeGate{slots: make(chan struct{}, 1)}
		conf := g.config(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})

		// A silent connection: no ClientHello, no slot.
		silentSrv, silentCli := net.Pipe()
		defer silentCli.Close()
		go func() { _ = tls.Server(g.conn(silentSrv), conf).Handshake() }()
		synctest.Wait()
		if n := len(g.slots); n != 0 {
			t.Fatalf("slots taken by a connection that sent nothing = %d, want 0", n)
		}

		g.slots <- struct{}{} // every slot busy
		srv, cli := net.Pipe()
		var done atomic.Bool
		go func() {
			if err := tls.Server(g.conn(srv), conf).Handshake(); err == nil {
				done.Store(true)
			}
		}()
		go func() {
			_ = tls.Client(cli, &tls.Config{InsecureSkipVerify: true}).Handshake()
		}()
		synctest.Wait()
		if done.Load() {
			t.Fatal("the handshake completed while every slot was taken")
		}
		<-g.slots // a slot frees up
		synctest.Wait()
		if !done.Load() {
			t.Fatal("the handshake did not complete once a slot was free")
		}
		if n := len(g.slots); n != 0 {
			t.Fatalf("slots still taken after the handshake = %d, want 0", n)
		}
		srv.Close()
		cli.Close()
		silentSrv.Close()
	})
}
